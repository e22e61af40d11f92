-- Callback requests: a help-seeker leaves a phone number and the times that suit them. The
-- number is sealed with the content data key, bound to the row, and deleted as soon as the
-- call is done or the request expires. Windows are ids such as "weekday-morning".
CREATE TABLE callbacks (
    id                BIGSERIAL PRIMARY KEY,
    status            TEXT    NOT NULL DEFAULT 'pending',
    windows           TEXT    NOT NULL,
    who               TEXT    NOT NULL DEFAULT '',
    age_group         TEXT    NOT NULL DEFAULT '',
    area              TEXT    NOT NULL DEFAULT '',
    statement_version TEXT    NOT NULL DEFAULT '',
    phone_sealed      BYTEA,
    claimed_by        BIGINT REFERENCES staff (id),
    attempts          BIGINT NOT NULL DEFAULT 0,
    last_attempt_at   BIGINT,
    created_at        BIGINT NOT NULL,
    closed_at         BIGINT,
    contact_id        BIGINT REFERENCES contacts (id)
);
CREATE INDEX callbacks_status ON callbacks (status, created_at);
