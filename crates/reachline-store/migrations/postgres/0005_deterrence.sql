-- Deterrence lists loaded by the operator. Each import is a new version; the content is
-- sealed (URL lists hold only SHA-256 digests of expressions even inside the seal).
CREATE TABLE deterrence_lists (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    version    BIGINT NOT NULL,
    category   TEXT    NOT NULL DEFAULT '',
    entries    BIGINT NOT NULL,
    active     BIGINT NOT NULL,
    sealed     BYTEA    NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT    NOT NULL,
    UNIQUE (kind, name, version)
);

-- Entries disabled at once (false positives), by entry id within a list.
CREATE TABLE deterrence_tombstones (
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    entry_id   TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT    NOT NULL,
    PRIMARY KEY (kind, name, entry_id)
);

-- Partner platforms that call the API. Only a hash of each key is kept.
CREATE TABLE partners (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    key_hash        TEXT    NOT NULL UNIQUE,
    frame_ancestors TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);

-- Counts only: per day, partner, list category and message variant. Never an input.
CREATE TABLE deterrence_daily (
    day      TEXT    NOT NULL,
    partner  BIGINT NOT NULL,
    category TEXT    NOT NULL,
    variant  TEXT    NOT NULL,
    metric   TEXT    NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, partner, category, variant, metric)
);
