-- How far the practitioner holding a chat has read it (a message sequence number), so that
-- their list of chats can mark the ones with unread messages from the help-seeker.
ALTER TABLE conversations ADD COLUMN staff_read_seq BIGINT NOT NULL DEFAULT 0;
-- Chats going on at the upgrade count as read so far, rather than all unread at once.
UPDATE conversations SET staff_read_seq = COALESCE((SELECT MAX(m.seq) FROM messages m WHERE m.conversation_id = conversations.id), 0);
