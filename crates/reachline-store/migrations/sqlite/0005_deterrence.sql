-- Deterrence lists loaded by the operator. Each import is a new version; the content is
-- sealed (URL lists hold only SHA-256 digests of expressions even inside the seal).
CREATE TABLE deterrence_lists (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    category   TEXT    NOT NULL DEFAULT '',
    entries    INTEGER NOT NULL,
    active     INTEGER NOT NULL,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    UNIQUE (kind, name, version)
);

-- Entries disabled at once (false positives), by entry id within a list.
CREATE TABLE deterrence_tombstones (
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    entry_id   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    PRIMARY KEY (kind, name, entry_id)
);

-- Partner platforms that call the API. Only a hash of each key is kept.
CREATE TABLE partners (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    key_hash        TEXT    NOT NULL UNIQUE,
    frame_ancestors TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);

-- Counts only: per day, partner, list category and message variant. Never an input.
CREATE TABLE deterrence_daily (
    day      TEXT    NOT NULL,
    partner  INTEGER NOT NULL,
    category TEXT    NOT NULL,
    variant  TEXT    NOT NULL,
    metric   TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, partner, category, variant, metric)
);
