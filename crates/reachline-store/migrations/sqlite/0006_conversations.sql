-- Conversations with help-seekers: secure message threads (and, later, chats and
-- callbacks). Each has its own key, wrapped for staff by the content data key and, for
-- message threads, also by the key derived from the help-seeker's return code.
CREATE TABLE conversations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    channel           TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    who               TEXT    NOT NULL DEFAULT '',
    age_group         TEXT    NOT NULL DEFAULT '',
    area              TEXT    NOT NULL DEFAULT '',
    statement_version TEXT    NOT NULL DEFAULT '',
    lookup            TEXT,
    key_staff         BLOB,
    key_seeker        BLOB,
    claimed_by        INTEGER REFERENCES staff (id),
    awaiting_reply    INTEGER NOT NULL DEFAULT 1,
    last_seeker_at    INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    closed_at         INTEGER,
    purged_at         INTEGER
);
CREATE INDEX conversations_lookup ON conversations (lookup);
CREATE INDEX conversations_status ON conversations (status, last_seeker_at);

-- Messages, in order. A message exists (and is acknowledged) only once committed.
CREATE TABLE messages (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    seq             INTEGER NOT NULL,
    sender          TEXT    NOT NULL,
    staff_id        INTEGER REFERENCES staff (id),
    body_sealed     BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

-- The wrap-up of a contact: what reporting counts. No content, no identifiers.
ALTER TABLE contacts ADD COLUMN conversation_id INTEGER REFERENCES conversations (id);
ALTER TABLE contacts ADD COLUMN who TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN age_group TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN area TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN concerns TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN arrested TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN actions TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN signposting TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN first_this_year INTEGER NOT NULL DEFAULT 1;
ALTER TABLE contacts ADD COLUMN statement_version TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN wrapped_up INTEGER NOT NULL DEFAULT 0;
