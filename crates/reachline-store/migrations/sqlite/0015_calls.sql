-- The phone line (issue 18): every call offered by a telephony provider or a PBX, as counts
-- and times only. Never the caller's number: at most a keyed hash of it (HMAC with a key
-- that changes each reporting year), when the operator counts repeat callers.
CREATE TABLE calls (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- twilio, asterisk or csv; external_id is that system's id of the call (a CallSid, a
    -- queue_log unique id), never a number.
    source       TEXT    NOT NULL,
    external_id  TEXT    NOT NULL,
    offered_at   INTEGER NOT NULL,
    enqueued_at  INTEGER,
    answered_at  INTEGER,
    ended_at     INTEGER,
    wait_seconds INTEGER,
    talk_seconds INTEGER,
    -- pending, answered, abandoned or out-of-hours; decided once.
    outcome      TEXT    NOT NULL DEFAULT 'pending',
    answered_by  INTEGER,
    -- The agent name a PBX reported, for an answer no staff account is known for.
    agent        TEXT    NOT NULL DEFAULT '',
    caller_hash  TEXT,
    -- The contact its wrap-up became.
    contact_id   INTEGER,
    month        TEXT    NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX calls_month ON calls (month, outcome);
CREATE INDEX calls_wrapup ON calls (answered_by, contact_id);

-- Provider credentials, sealed with the `telephony` data key (the Twilio auth token).
CREATE TABLE telephony_secrets (
    name       TEXT    NOT NULL PRIMARY KEY,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Digests of webhook signatures already taken, so a replayed request changes nothing;
-- kept two days.
CREATE TABLE telephony_seen (
    sig_hash TEXT    NOT NULL PRIMARY KEY,
    at       INTEGER NOT NULL
);
