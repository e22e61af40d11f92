-- Data keys, wrapped by the master key (which never enters the database).
CREATE TABLE keyring (
    purpose    TEXT    NOT NULL,
    version    BIGINT NOT NULL,
    wrapped    BYTEA    NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    PRIMARY KEY (purpose, version)
);

-- Self-help answers, sealed. `lookup` is the peppered slow hash of a return code (NULL until
-- the person saves); the code itself and the key derived from it are never stored.
CREATE TABLE workbooks (
    id         TEXT    PRIMARY KEY,
    lookup     TEXT    UNIQUE,
    sealed     BYTEA    NOT NULL,
    revision   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX workbooks_expires_at ON workbooks (expires_at);

-- Counts only: no row here can be tied to a person.
CREATE TABLE reach_daily (
    day     TEXT    NOT NULL,
    metric  TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (day, metric, subject)
);

CREATE TABLE reach_first_visits (
    year BIGINT NOT NULL,
    area TEXT    NOT NULL,
    n    BIGINT NOT NULL,
    PRIMARY KEY (year, area)
);
