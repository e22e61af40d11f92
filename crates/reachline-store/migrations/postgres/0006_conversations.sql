-- Conversations with help-seekers: secure message threads (and, later, chats and
-- callbacks). Each has its own key, wrapped for staff by the content data key and, for
-- message threads, also by the key derived from the help-seeker's return code.
CREATE TABLE conversations (
    id                BIGSERIAL PRIMARY KEY,
    channel           TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    who               TEXT    NOT NULL DEFAULT '',
    age_group         TEXT    NOT NULL DEFAULT '',
    area              TEXT    NOT NULL DEFAULT '',
    statement_version TEXT    NOT NULL DEFAULT '',
    lookup            TEXT,
    key_staff         BYTEA,
    key_seeker        BYTEA,
    claimed_by        BIGINT REFERENCES staff (id),
    awaiting_reply    BIGINT NOT NULL DEFAULT 1,
    last_seeker_at    BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    closed_at         BIGINT,
    purged_at         BIGINT
);
CREATE INDEX conversations_lookup ON conversations (lookup);
CREATE INDEX conversations_status ON conversations (status, last_seeker_at);

-- Messages, in order. A message exists (and is acknowledged) only once committed.
CREATE TABLE messages (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    seq             BIGINT NOT NULL,
    sender          TEXT    NOT NULL,
    staff_id        BIGINT REFERENCES staff (id),
    body_sealed     BYTEA    NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

-- The wrap-up of a contact: what reporting counts. No content, no identifiers.
ALTER TABLE contacts ADD COLUMN conversation_id BIGINT REFERENCES conversations (id);
ALTER TABLE contacts ADD COLUMN who TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN age_group TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN area TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN concerns TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN arrested TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN actions TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN signposting TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN first_this_year BIGINT NOT NULL DEFAULT 1;
ALTER TABLE contacts ADD COLUMN statement_version TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN wrapped_up BIGINT NOT NULL DEFAULT 0;
