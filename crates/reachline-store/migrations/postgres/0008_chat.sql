-- Live chat. A chat waits in the queue ('waiting'), is taken by one practitioner
-- ('active'), ends ('ended') and is closed with its wrap-up ('closed'); a chat that leaves
-- the queue unanswered is 'missed' and leaves a missed-contact record behind.
ALTER TABLE conversations ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN seeker_seen_at BIGINT;
ALTER TABLE conversations ADD COLUMN taken_at BIGINT;
ALTER TABLE conversations ADD COLUMN ended_at BIGINT;
CREATE INDEX conversations_claimed ON conversations (claimed_by, status);

-- The sender's own id for a message, so a message re-sent after a lost acknowledgement is
-- stored once.
ALTER TABLE messages ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX messages_client ON messages (conversation_id, sender, client_id);

-- Practitioners' availability for chats.
ALTER TABLE staff ADD COLUMN available BIGINT NOT NULL DEFAULT 0;

-- Contacts the service could not answer: no content, no identifiers.
CREATE TABLE missed_contacts (
    id          BIGSERIAL PRIMARY KEY,
    channel     TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    who         TEXT    NOT NULL DEFAULT '',
    age_group   TEXT    NOT NULL DEFAULT '',
    area        TEXT    NOT NULL DEFAULT '',
    month       TEXT    NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX missed_contacts_month ON missed_contacts (month, area);
