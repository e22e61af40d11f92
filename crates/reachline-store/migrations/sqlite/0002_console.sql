-- Staff accounts. Passwords are Argon2id PHC strings; TOTP secrets are sealed with a data
-- key; nothing here holds an IP address.
CREATE TABLE staff (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    username       TEXT    NOT NULL UNIQUE,
    role           TEXT    NOT NULL,
    areas          TEXT    NOT NULL DEFAULT '',
    password_hash  TEXT,
    totp_sealed    BLOB,
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER NOT NULL DEFAULT 0,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

-- One-time enrolment links: only a hash of the token is kept.
CREATE TABLE staff_enrolments (
    token_hash TEXT    PRIMARY KEY,
    staff_id   INTEGER NOT NULL REFERENCES staff (id),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    -- The TOTP secret shown on the enrolment page, sealed, until enrolment completes.
    totp_pending BLOB
);

CREATE TABLE staff_recovery_codes (
    staff_id  INTEGER NOT NULL REFERENCES staff (id),
    code_hash TEXT    NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (staff_id, code_hash)
);

-- Console sessions: only a hash of the cookie token is kept.
CREATE TABLE staff_sessions (
    token_hash TEXT    PRIMARY KEY,
    staff_id   INTEGER NOT NULL REFERENCES staff (id),
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

-- Append-only, hash-chained audit log (see reachline_core::audit).
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    object    TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    prev_hash BLOB    NOT NULL,
    hash      BLOB    NOT NULL
);
