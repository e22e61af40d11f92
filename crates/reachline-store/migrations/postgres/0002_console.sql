-- Staff accounts. Passwords are Argon2id PHC strings; TOTP secrets are sealed with a data
-- key; nothing here holds an IP address.
CREATE TABLE staff (
    id             BIGSERIAL PRIMARY KEY,
    username       TEXT    NOT NULL UNIQUE,
    role           TEXT    NOT NULL,
    areas          TEXT    NOT NULL DEFAULT '',
    password_hash  TEXT,
    totp_sealed    BYTEA,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    failed_logins  BIGINT NOT NULL DEFAULT 0,
    locked_until   BIGINT NOT NULL DEFAULT 0,
    disabled       BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);

-- One-time enrolment links: only a hash of the token is kept.
CREATE TABLE staff_enrolments (
    token_hash TEXT    PRIMARY KEY,
    staff_id   BIGINT NOT NULL REFERENCES staff (id),
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    -- The TOTP secret shown on the enrolment page, sealed, until enrolment completes.
    totp_pending BYTEA
);

CREATE TABLE staff_recovery_codes (
    staff_id  BIGINT NOT NULL REFERENCES staff (id),
    code_hash TEXT    NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (staff_id, code_hash)
);

-- Console sessions: only a hash of the cookie token is kept.
CREATE TABLE staff_sessions (
    token_hash TEXT    PRIMARY KEY,
    staff_id   BIGINT NOT NULL REFERENCES staff (id),
    csrf       TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

-- Append-only, hash-chained audit log (see reachline_core::audit).
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    object    TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    prev_hash BYTEA    NOT NULL,
    hash      BYTEA    NOT NULL
);
