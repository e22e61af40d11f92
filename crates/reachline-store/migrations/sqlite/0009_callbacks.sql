-- Callback requests: a help-seeker leaves a phone number and the times that suit them. The
-- number is sealed with the content data key, bound to the row, and deleted as soon as the
-- call is done or the request expires. Windows are ids such as "weekday-morning".
CREATE TABLE callbacks (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    status            TEXT    NOT NULL DEFAULT 'pending',
    windows           TEXT    NOT NULL,
    who               TEXT    NOT NULL DEFAULT '',
    age_group         TEXT    NOT NULL DEFAULT '',
    area              TEXT    NOT NULL DEFAULT '',
    statement_version TEXT    NOT NULL DEFAULT '',
    phone_sealed      BLOB,
    claimed_by        INTEGER REFERENCES staff (id),
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_attempt_at   INTEGER,
    created_at        INTEGER NOT NULL,
    closed_at         INTEGER,
    contact_id        INTEGER REFERENCES contacts (id)
);
CREATE INDEX callbacks_status ON callbacks (status, created_at);
