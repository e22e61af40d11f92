//! The counts a console home shows: one read each, no content, nothing about a help-seeker.

use crate::{on_pool, Result, Store};
use sqlx::FromRow;

/// A practitioner's work at a glance (`me` is the staff member asking).
#[derive(Debug, Clone, Default, PartialEq, Eq, FromRow)]
pub struct WorkCounts {
    /// Chats in the queue whose help-seeker has the page open.
    pub chats_waiting: i64,
    /// When the longest-waiting of them joined the queue.
    pub oldest_chat: Option<i64>,
    /// Chats `me` holds that are going on now.
    pub my_chats_active: i64,
    /// Chats `me` held that have ended and wait for their wrap-up.
    pub my_wrapups: i64,
    /// Secure-message threads no one has taken.
    pub threads_waiting: i64,
    /// When the oldest of them arrived.
    pub oldest_thread: Option<i64>,
    /// Threads `me` has taken that are still open.
    pub my_threads: i64,
    /// Callback requests still to be made that no one else has taken.
    pub callbacks_waiting: i64,
    /// When the oldest of them was asked for.
    pub oldest_callback: Option<i64>,
    /// Safeguarding concerns awaiting a decision that someone else raised (the two-person
    /// rule: these are the ones `me` could decide, if a supervisor).
    pub concerns_to_decide: i64,
    /// Concerns `me` raised that still await a decision.
    pub my_concerns_open: i64,
}

/// A shift's figures since `since` (the start of the helpline's day).
#[derive(Debug, Clone, Default, PartialEq, Eq, FromRow)]
pub struct ShiftCounts {
    /// Chats a practitioner took.
    pub chats_answered: i64,
    /// Chats active now, all practitioners.
    pub chats_active: i64,
    /// Contacts missed (left the queue or timed out), every channel.
    pub missed: i64,
    /// Contacts wrapped up into a record.
    pub contacts: i64,
    /// Concerns raised.
    pub concerns_raised: i64,
}

const OPEN_CONCERN: &str = "status IN ('open', 'more-information')";
const QUEUED_CHAT: &str = "channel = 'chat' AND status = 'waiting' AND seeker_seen_at IS NOT NULL";
const WAITING_THREAD: &str = "channel = 'message' AND status = 'open' AND claimed_by IS NULL";
const WAITING_CALLBACK: &str = "status = 'pending' AND (claimed_by IS NULL OR claimed_by = $1)";

impl Store {
    /// The counts for `me`'s console home, read in one statement.
    pub async fn work_counts(&self, me: i64) -> Result<WorkCounts> {
        let sql = format!(
            "SELECT \
             (SELECT COUNT(*) FROM conversations WHERE {QUEUED_CHAT}) AS chats_waiting, \
             (SELECT MIN(created_at) FROM conversations WHERE {QUEUED_CHAT}) AS oldest_chat, \
             (SELECT COUNT(*) FROM conversations WHERE channel = 'chat' AND status = 'active' AND claimed_by = $1) AS my_chats_active, \
             (SELECT COUNT(*) FROM conversations WHERE channel = 'chat' AND status = 'ended' AND claimed_by = $1) AS my_wrapups, \
             (SELECT COUNT(*) FROM conversations WHERE {WAITING_THREAD}) AS threads_waiting, \
             (SELECT MIN(created_at) FROM conversations WHERE {WAITING_THREAD}) AS oldest_thread, \
             (SELECT COUNT(*) FROM conversations WHERE channel = 'message' AND status = 'open' AND claimed_by = $1) AS my_threads, \
             (SELECT COUNT(*) FROM callbacks WHERE {WAITING_CALLBACK}) AS callbacks_waiting, \
             (SELECT MIN(created_at) FROM callbacks WHERE {WAITING_CALLBACK}) AS oldest_callback, \
             (SELECT COUNT(*) FROM concerns WHERE {OPEN_CONCERN} AND raised_by <> $1) AS concerns_to_decide, \
             (SELECT COUNT(*) FROM concerns WHERE {OPEN_CONCERN} AND raised_by = $1) AS my_concerns_open"
        );
        let counts = on_pool!(self, |pool| {
            sqlx::query_as::<_, WorkCounts>(&sql)
                .bind(me)
                .fetch_one(pool)
                .await?
        });
        Ok(counts)
    }

    /// The shift's figures since `since`, read in one statement.
    pub async fn shift_counts(&self, since: i64) -> Result<ShiftCounts> {
        let counts = on_pool!(self, |pool| {
            sqlx::query_as::<_, ShiftCounts>(
                "SELECT \
                 (SELECT COUNT(*) FROM conversations WHERE channel = 'chat' AND taken_at >= $1) AS chats_answered, \
                 (SELECT COUNT(*) FROM conversations WHERE channel = 'chat' AND status = 'active') AS chats_active, \
                 (SELECT COUNT(*) FROM missed_contacts WHERE created_at >= $1) AS missed, \
                 (SELECT COUNT(*) FROM contacts WHERE created_at >= $1 AND synthetic = 0) AS contacts, \
                 (SELECT COUNT(*) FROM concerns WHERE created_at >= $1) AS concerns_raised",
            )
            .bind(since)
            .fetch_one(pool)
            .await?
        });
        Ok(counts)
    }
}

/// One of a practitioner's chats in the list beside a conversation.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct HeldChat {
    pub id: i64,
    /// `active` or `ended` (awaiting the wrap-up).
    pub status: String,
    /// Messages from the help-seeker the practitioner has not seen yet.
    pub unread: i64,
    /// Whether the help-seeker wrote last (waiting for a reply), and since when.
    pub awaiting_reply: bool,
    pub last_seeker_at: i64,
}

impl Store {
    /// The chats `staff_id` holds (active, or ended and awaiting wrap-up), in the order taken,
    /// with their unread counts.
    pub async fn held_chats(&self, staff_id: i64) -> Result<Vec<HeldChat>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, HeldChat>(
                "SELECT c.id, c.status, \
                 (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id \
                  AND m.sender = 'seeker' AND m.seq > c.staff_read_seq) AS unread, \
                 (c.awaiting_reply <> 0) AS awaiting_reply, c.last_seeker_at \
                 FROM conversations c WHERE c.channel = 'chat' AND c.claimed_by = $1 \
                 AND c.status IN ('active', 'ended') ORDER BY c.taken_at, c.id",
            )
            .bind(staff_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Notes that `staff_id`, while holding chat `id`, has seen it up to message `seq` (only
    /// ever forward; a former holder's screen changes nothing).
    pub async fn chat_staff_read(&self, id: i64, staff_id: i64, seq: i64) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE conversations SET staff_read_seq = $1 WHERE id = $2 AND claimed_by = $3 \
                 AND staff_read_seq < $1",
            )
            .bind(seq)
            .bind(id)
            .bind(staff_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }
}
