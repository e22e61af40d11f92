//! Live chat: the queue, atomic take, transfer, ending, missed contacts, availability, and
//! the cross-instance event channel (PostgreSQL LISTEN/NOTIFY). Bodies arrive sealed.

use crate::conversations::CONV_SELECT;
use crate::tx::on_tx;
use crate::{on_pool, ConversationRow, Pool, Result, Store, StoreError, Tx};
use sqlx::FromRow;
use sqlx::Row;

/// Within a transaction: a waiting chat becomes missed and leaves a missed-contact record.
/// Evaluates to whether it did.
macro_rules! missed_in {
    ($tx:expr, $id:expr, $reason:expr, $now:expr) => {{
        let n = sqlx::query(
            "UPDATE conversations SET status = 'missed', ended_at = $1 \
             WHERE id = $2 AND channel = 'chat' AND status = 'waiting'",
        )
        .bind($now)
        .bind($id)
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        if n == 1 {
            let row = sqlx::query("SELECT who, age_group, area FROM conversations WHERE id = $1")
                .bind($id)
                .fetch_one(&mut *$tx)
                .await?;
            sqlx::query(
                "INSERT INTO missed_contacts (channel, reason, who, age_group, area, month, created_at) \
                 VALUES ('chat', $1, $2, $3, $4, $5, $6)",
            )
            .bind($reason)
            .bind(row.try_get::<String, _>("who")?)
            .bind(row.try_get::<String, _>("age_group")?)
            .bind(row.try_get::<String, _>("area")?)
            .bind(crate::month_of($now))
            .bind($now)
            .execute(&mut *$tx)
            .await?;
            true
        } else {
            false
        }
    }};
}

/// Within a transaction: locks a practitioner's staff row (PostgreSQL; SQLite's BEGIN
/// IMMEDIATE already serialises writers) so concurrent takes and transfers to them count each
/// other, then evaluates to how many chats they hold.
macro_rules! active_chats_locked {
    ($tx:expr, $staff:expr) => {{
        sqlx::query("UPDATE staff SET available = available WHERE id = $1")
            .bind($staff)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(
            "SELECT COUNT(*) AS n FROM conversations WHERE claimed_by = $1 AND channel = 'chat' \
             AND status = 'active'",
        )
        .bind($staff)
        .fetch_one(&mut *$tx)
        .await?
        .try_get::<i64, _>("n")?
    }};
}

/// Within a transaction: appends one queued chat message (see [`Store::chat_append`]) with
/// three statements: whether the chat is open to the sender, whether this client id was
/// stored before, and the next sequence number are read at once. Evaluates to `None` when
/// the insert met a unique key (another batch took the number, or stored this client id,
/// meanwhile): it then did nothing, and the message is read again.
macro_rules! append_one {
    ($tx:expr, $job:expr) => {{
        async {
            let job: &AppendJob = $job;
            let sender = side_of(job);
            let Some(row) = sqlx::query(
                "SELECT c.status, c.claimed_by, \
                 (SELECT m.seq FROM messages m WHERE m.conversation_id = c.id AND m.sender = $2 \
                  AND m.client_id = $3) AS again, \
                 (SELECT COALESCE(MAX(m.seq), 0) + 1 FROM messages m WHERE m.conversation_id = c.id) AS next \
                 FROM conversations c WHERE c.id = $1 AND c.channel = 'chat'",
            )
            .bind(job.conversation)
            .bind(sender)
            .bind(&job.client_id)
            .fetch_optional(&mut *$tx)
            .await?
            else {
                return Ok::<Option<Appended>, sqlx::Error>(Some(Appended::Closed));
            };
            if let Some(seq) = row.try_get::<Option<i64>, _>("again")? {
                return Ok(Some(Appended::Again(seq)));
            }
            let status: String = row.try_get("status")?;
            let claimed: Option<i64> = row.try_get("claimed_by")?;
            if !open_to(&status, claimed, job.staff_id) {
                return Ok(Some(Appended::Closed));
            }
            let seq: i64 = row.try_get("next")?;
            let inserted = sqlx::query(
                "INSERT INTO messages (conversation_id, seq, sender, staff_id, body_sealed, created_at, client_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(job.conversation)
            .bind(seq)
            .bind(sender)
            .bind(job.staff_id)
            .bind((job.seal)(seq))
            .bind(job.now)
            .bind(&job.client_id)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(None);
            }
            sqlx::query(
                "UPDATE conversations SET awaiting_reply = $1, \
                 last_seeker_at = CASE WHEN $1 = 1 THEN $2 ELSE last_seeker_at END WHERE id = $3",
            )
            .bind(i64::from(job.staff_id.is_none()))
            .bind(job.now)
            .bind(job.conversation)
            .execute(&mut *$tx)
            .await?;
            Ok(Some(Appended::New(seq)))
        }
        .await
    }};
}

/// The side a queued message is from, as the `messages.sender` column has it.
fn side_of(job: &AppendJob) -> &'static str {
    if job.staff_id.is_some() {
        "staff"
    } else {
        "seeker"
    }
}

/// Whether a chat in this state takes a message from this sender: a help-seeker's while it
/// waits or is active, a practitioner's only while it is active and theirs.
fn open_to(status: &str, claimed: Option<i64>, staff_id: Option<i64>) -> bool {
    match staff_id {
        None => status == "waiting" || status == "active",
        Some(s) => status == "active" && claimed == Some(s),
    }
}

/// The distinct chats of a batch, in id order (the order every batch locks them in).
fn chats_of(jobs: &[AppendJob]) -> Vec<i64> {
    let mut ids: Vec<i64> = jobs.iter().map(|j| j.conversation).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The pool as PostgreSQL's, if it is (for the one path that differs: [`append_set`]).
fn as_postgres<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> Option<&sqlx::PgPool> {
    (pool as &dyn std::any::Any).downcast_ref::<sqlx::PgPool>()
}

/// PostgreSQL: locks the chats of a batch written a savepoint a message, in id order, before
/// anything of it is written, as [`append_set`] does. Otherwise a batch on that path could
/// insert a message (which only share-locks its chat) while a batch on the set path locks the
/// chat, then wait for that lock to update the chat, while the other waits for its insert's
/// number: a deadlock. SQLite has one writer at a time and needs nothing.
async fn lock_chats<DB: sqlx::Database>(
    tx: &mut sqlx::Transaction<'static, DB>,
    jobs: &[AppendJob],
) -> std::result::Result<(), sqlx::Error> {
    let Some(tx) =
        (tx as &mut dyn std::any::Any).downcast_mut::<sqlx::Transaction<'static, sqlx::Postgres>>()
    else {
        return Ok(());
    };
    sqlx::query("SELECT id FROM conversations WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
        .bind(chats_of(jobs))
        .fetch_all(&mut **tx)
        .await?;
    Ok(())
}

/// PostgreSQL: a batch of chat messages in one transaction of five statements however many
/// messages it holds, as each statement is a round trip to a server that shares the machine
/// (three a message made 6,000 round trips a second at 2,000 messages a second). The batch's
/// chats are locked first, in id order (so batches running at once wait for each other
/// chat by chat and cannot deadlock), and only then is each chat's last number read, so no
/// other batch can take a number meanwhile. Then the client ids already stored are read; each
/// message is decided in order as [`append_one!`] decides it; the new ones are inserted with
/// one statement and the chats' reply state set with another. Anything unexpected (a
/// unique key met after all, a message the database refuses) fails the whole batch, which
/// its caller then writes again a savepoint a message.
async fn append_set(
    pool: &sqlx::PgPool,
    jobs: &[AppendJob],
) -> std::result::Result<Vec<Result<Appended>>, sqlx::Error> {
    use std::collections::HashMap;
    let mut tx = pool.begin().await?;
    let ids = chats_of(jobs);
    let mut chats: HashMap<i64, (String, Option<i64>, i64)> = HashMap::new();
    for r in sqlx::query(
        "SELECT id, status, claimed_by FROM conversations \
         WHERE id = ANY($1) AND channel = 'chat' ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    {
        chats.insert(
            r.try_get("id")?,
            (r.try_get("status")?, r.try_get("claimed_by")?, 0),
        );
    }
    // Each chat's last number from the end of its primary key (one index entry a chat, however
    // long the chat; a `GROUP BY` over the chats' messages reads them all).
    for r in sqlx::query(
        "SELECT k.c AS conversation_id, \
         (SELECT MAX(m.seq) FROM messages m WHERE m.conversation_id = k.c) AS last \
         FROM UNNEST($1::bigint[]) AS k(c)",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    {
        let id: i64 = r.try_get("conversation_id")?;
        if let Some(chat) = chats.get_mut(&id) {
            // NULL for a chat without messages: 0, the number before the first.
            chat.2 = r.try_get::<Option<i64>, _>("last")?.unwrap_or(0);
        }
    }
    let mut stored: HashMap<(i64, &str, String), i64> = HashMap::new();
    for r in sqlx::query(
        "SELECT m.conversation_id, m.sender, m.client_id, m.seq FROM messages m \
         JOIN UNNEST($1::bigint[], $2::text[], $3::text[]) AS k(c, s, cid) \
         ON m.conversation_id = k.c AND m.sender = k.s AND m.client_id = k.cid",
    )
    .bind(jobs.iter().map(|j| j.conversation).collect::<Vec<i64>>())
    .bind(jobs.iter().map(side_of).collect::<Vec<&str>>())
    .bind(
        jobs.iter()
            .map(|j| j.client_id.as_str())
            .collect::<Vec<&str>>(),
    )
    .fetch_all(&mut *tx)
    .await?
    {
        let side = if r.try_get::<String, _>("sender")? == "staff" {
            "staff"
        } else {
            "seeker"
        };
        stored.insert(
            (r.try_get("conversation_id")?, side, r.try_get("client_id")?),
            r.try_get("seq")?,
        );
    }
    let mut results = Vec::with_capacity(jobs.len());
    let mut rows = NewRows::default();
    // Per chat, the reply state after its last message here: awaiting a reply (the last
    // message was the help-seeker's), and when the help-seeker last wrote.
    let mut replies: Vec<(i64, i64, Option<i64>)> = Vec::new();
    for job in jobs {
        let side = side_of(job);
        let key = (job.conversation, side, job.client_id.clone());
        if let Some(seq) = stored.get(&key) {
            results.push(Ok(Appended::Again(*seq)));
            continue;
        }
        let Some((status, claimed, last)) = chats.get_mut(&job.conversation) else {
            results.push(Ok(Appended::Closed));
            continue;
        };
        if !open_to(status, *claimed, job.staff_id) {
            results.push(Ok(Appended::Closed));
            continue;
        }
        *last += 1;
        let seq = *last;
        stored.insert(key, seq);
        rows.push(job, side, seq);
        let seeker = job.staff_id.is_none();
        match replies.last_mut() {
            Some(r) if r.0 == job.conversation => {
                r.1 = i64::from(seeker);
                r.2 = if seeker { Some(job.now) } else { r.2 };
            }
            _ => replies.push((
                job.conversation,
                i64::from(seeker),
                seeker.then_some(job.now),
            )),
        }
        results.push(Ok(Appended::New(seq)));
    }
    if !rows.conversation.is_empty() {
        let expected = rows.conversation.len() as u64;
        let inserted = sqlx::query(
            "INSERT INTO messages (conversation_id, seq, sender, staff_id, body_sealed, created_at, client_id) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bytea[], $6::bigint[], $7::text[])",
        )
        .bind(rows.conversation)
        .bind(rows.seq)
        .bind(rows.sender)
        .bind(rows.staff_id)
        .bind(rows.body)
        .bind(rows.at)
        .bind(rows.client_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted != expected {
            return Err(sqlx::Error::Protocol(format!(
                "{inserted} of {expected} chat messages inserted"
            )));
        }
        sqlx::query(
            "UPDATE conversations c SET awaiting_reply = u.a, \
             last_seeker_at = COALESCE(u.t, c.last_seeker_at) \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[]) AS u(id, a, t) WHERE c.id = u.id",
        )
        .bind(replies.iter().map(|r| r.0).collect::<Vec<i64>>())
        .bind(replies.iter().map(|r| r.1).collect::<Vec<i64>>())
        .bind(replies.iter().map(|r| r.2).collect::<Vec<Option<i64>>>())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(results)
}

/// The columns of the messages [`append_set`] inserts.
#[derive(Default)]
struct NewRows {
    conversation: Vec<i64>,
    seq: Vec<i64>,
    sender: Vec<&'static str>,
    staff_id: Vec<Option<i64>>,
    body: Vec<Vec<u8>>,
    at: Vec<i64>,
    client_id: Vec<String>,
}

impl NewRows {
    fn push(&mut self, job: &AppendJob, sender: &'static str, seq: i64) {
        self.conversation.push(job.conversation);
        self.seq.push(seq);
        self.sender.push(sender);
        self.staff_id.push(job.staff_id);
        self.body.push((job.seal)(seq));
        self.at.push(job.now);
        self.client_id.push(job.client_id.clone());
    }
}

/// How many times a message is read again after its insert met a unique key, before its
/// caller is told of a conflict.
const APPEND_TRIES: usize = 20;

/// A chat message waiting for its batch (see [`Store::chat_append`]).
struct AppendJob {
    conversation: i64,
    staff_id: Option<i64>,
    client_id: String,
    seal: Box<dyn Fn(i64) -> Vec<u8> + Send + Sync>,
    now: i64,
    reply: tokio::sync::oneshot::Sender<Result<Appended>>,
}

/// Chat messages queued for the next batch, and the turns to write one: one at a time on
/// SQLite (one writer), a few at once on PostgreSQL, whose batches then overlap their round
/// trips to the server.
pub(crate) struct Appends {
    queued: std::sync::Mutex<Vec<AppendJob>>,
    turns: tokio::sync::Semaphore,
}

impl Appends {
    pub(crate) fn new(turns: usize) -> Self {
        Appends {
            queued: Default::default(),
            turns: tokio::sync::Semaphore::new(turns),
        }
    }
}

impl std::fmt::Debug for Appends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Appends")
    }
}

/// One group of missed contacts, as reporting reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissedGroup {
    pub month: String,
    pub channel: String,
    pub reason: String,
    pub who: String,
    pub age_group: String,
    pub n: i64,
}

/// What a take attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    Taken,
    /// Someone else took it first, or it left the queue.
    Gone,
    /// This practitioner already has as many chats as allowed.
    AtLimit,
}

/// What appending a chat message came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored with this sequence number.
    New(i64),
    /// The same client id was stored before (a re-send after a lost acknowledgement).
    Again(i64),
    /// The chat is not open for this sender.
    Closed,
}

/// A practitioner and their chats, for transfer and the expected wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAvailability {
    pub id: i64,
    pub username: String,
    pub available: bool,
    pub active_chats: i64,
}

/// The channel chat events travel on between instances.
pub const CHAT_CHANNEL: &str = "reachline_chat";

impl Store {
    /// Chats waiting in the queue, longest-waiting first.
    pub async fn chat_queue(&self) -> Result<Vec<ConversationRow>> {
        self.chats_where(
            "c.channel = 'chat' AND c.status = 'waiting' AND c.seeker_seen_at IS NOT NULL \
             ORDER BY c.created_at, c.id",
            None,
        )
        .await
    }

    /// A practitioner's chats that are active or ended but not yet wrapped up.
    pub async fn chats_of(&self, staff_id: i64) -> Result<Vec<ConversationRow>> {
        self.chats_where(
            "c.channel = 'chat' AND c.claimed_by = $1 AND c.status IN ('active', 'ended') ORDER BY c.taken_at, c.id",
            Some(staff_id),
        )
        .await
    }

    async fn chats_where(&self, clause: &str, bind: Option<i64>) -> Result<Vec<ConversationRow>> {
        let sql = format!("{CONV_SELECT} WHERE {clause}");
        let rows = on_pool!(self, |pool| {
            let mut q = sqlx::query(&sql);
            if let Some(b) = bind {
                q = q.bind(b);
            }
            let mut out = Vec::new();
            for r in q.fetch_all(pool).await? {
                out.push(ConversationRow::from_row(&r)?);
            }
            out
        });
        Ok(rows)
    }

    /// How many chats are ahead of this one in the queue (0 = next).
    pub async fn chat_ahead(&self, id: i64) -> Result<i64> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT COUNT(*) AS n FROM conversations q, conversations me WHERE me.id = $1 \
                 AND q.channel = 'chat' AND q.status = 'waiting' AND q.seeker_seen_at IS NOT NULL \
                 AND (q.created_at < me.created_at OR (q.created_at = me.created_at AND q.id < me.id))",
            )
            .bind(id)
            .fetch_one(pool)
            .await?
            .try_get::<i64, _>("n")?
        });
        Ok(n)
    }

    /// Moves waiting chats that have waited longer than `queue_before` allows, or whose
    /// help-seeker has not been seen since `seen_before`, to missed. Returns their ids.
    pub async fn chats_expire(
        &self,
        queue_before: i64,
        seen_before: i64,
        now: i64,
    ) -> Result<Vec<i64>> {
        let candidates = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT id, created_at FROM conversations WHERE channel = 'chat' AND status = 'waiting' \
                 AND (created_at < $1 OR COALESCE(seeker_seen_at, created_at) < $2)",
            )
            .bind(queue_before)
            .bind(seen_before)
            .fetch_all(pool)
            .await?
            {
                let id: i64 = r.try_get("id")?;
                let created: i64 = r.try_get("created_at")?;
                out.push((id, created < queue_before));
            }
            out
        });
        let mut missed = Vec::new();
        for (id, timed_out) in candidates {
            let reason = if timed_out {
                "queue-timeout"
            } else {
                "left-queue"
            };
            let done = on_pool!(self, |pool| {
                let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
                let done = missed_in!(tx, id, reason, now);
                tx.commit().await?;
                done
            });
            if done {
                missed.push(id);
            }
        }
        Ok(missed)
    }

    /// Drops waiting chats whose help-seeker never opened them (no page, no socket, no
    /// message) since before `before`: a script's, most likely. They never counted in the
    /// queue and leave no missed-contact record. Returns how many.
    pub async fn chats_drop_unopened(&self, before: i64) -> Result<u64> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "DELETE FROM conversations WHERE channel = 'chat' AND status = 'waiting' \
                 AND seeker_seen_at IS NULL AND created_at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id)",
            )
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n)
    }

    /// How many help-seekers are waiting with their chat open (the queue's length).
    pub async fn chats_waiting_count(&self) -> Result<i64> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT COUNT(*) AS n FROM conversations WHERE channel = 'chat' \
                 AND status = 'waiting' AND seeker_seen_at IS NOT NULL",
            )
            .fetch_one(pool)
            .await?
            .try_get::<i64, _>("n")?
        });
        Ok(n)
    }

    /// How many secure-message threads wait for a practitioner to take them (unanswered).
    pub async fn threads_unclaimed_count(&self) -> Result<i64> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT COUNT(*) AS n FROM conversations WHERE channel = 'message' \
                 AND status = 'open' AND claimed_by IS NULL",
            )
            .fetch_one(pool)
            .await?
            .try_get::<i64, _>("n")?
        });
        Ok(n)
    }

    /// How many chats are active now (for metrics).
    pub async fn chats_active_count(&self) -> Result<i64> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
            "SELECT COUNT(*) AS n FROM conversations WHERE channel = 'chat' AND status = 'active'"
        )
        .fetch_one(pool)
        .await?
        .try_get::<i64, _>("n")?
        });
        Ok(n)
    }

    /// Notes many waiting help-seekers as present at once.
    pub async fn chats_seen(&self, ids: &[i64], now: i64) -> Result<()> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        // Short statements: each holds SQLite's write lock only briefly.
        for chunk in ids.chunks(100) {
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            // Integers only, formatted here: nothing from outside reaches this text.
            match &self.pool {
                Pool::Sqlite(pool) => {
                    let sql = format!(
                        "UPDATE conversations SET seeker_seen_at = $1 WHERE id IN ({list})"
                    );
                    sqlx::query(&sql).bind(now).execute(pool).await?;
                }
                // Rows are locked in id order, as a batch of chat messages locks them, so the
                // two cannot deadlock.
                Pool::Postgres(pool) => {
                    let sql = format!(
                        "UPDATE conversations SET seeker_seen_at = $1 WHERE id IN \
                         (SELECT id FROM conversations WHERE id IN ({list}) ORDER BY id FOR UPDATE)"
                    );
                    sqlx::query(&sql).bind(now).execute(pool).await?;
                }
            }
        }
        Ok(())
    }

    /// Sets the lookup of a return code on a conversation (a chat continued by message).
    pub async fn conversation_set_lookup(&self, id: i64, lookup: &str) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE conversations SET lookup = $1 WHERE id = $2")
                .bind(lookup)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Appends a chat message, once per client id, only while the chat is open to the
    /// sender: a help-seeker may write while waiting or active, a practitioner only in a
    /// chat they hold. Acknowledge only what this returns as stored.
    ///
    /// Concurrent appends are committed together: the first caller to get a turn writes every
    /// message queued so far in one transaction and wakes their callers. SQLite has one
    /// writer, and writers that queue on its lock sleep in growing steps; one batch at a time
    /// keeps them from queueing there at all. On PostgreSQL a few batches run at once. Should
    /// a batch fail, its messages are written again one savepoint each, so one failing
    /// message does not affect the others. `seal` encrypts the text for the sequence number
    /// it is given (it may be called more than once if a number is taken meanwhile).
    pub async fn chat_append(
        &self,
        conversation: i64,
        staff_id: Option<i64>,
        client_id: &str,
        seal: impl Fn(i64) -> Vec<u8> + Send + Sync + 'static,
        now: i64,
    ) -> Result<Appended> {
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        self.appends
            .queued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(AppendJob {
                conversation,
                staff_id,
                client_id: client_id.to_string(),
                seal: Box::new(seal),
                now,
                reply,
            });
        let turn = self
            .appends
            .turns
            .acquire()
            .await
            .map_err(|_| StoreError::Interrupted)?;
        // The batch before ours may have taken this message along.
        match answer.try_recv() {
            Ok(done) => return done,
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                return Err(StoreError::Interrupted)
            }
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {}
        }
        let jobs = std::mem::take(
            &mut *self
                .appends
                .queued
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        // Empty when a batch running beside this one took our message along.
        if !jobs.is_empty() {
            // On a task of its own, so that a caller who goes away mid-batch (a closed
            // connection) does not cut off everyone else's messages. A panic there leaves
            // the callers' answers dropped, which they read as interrupted.
            let store = self.clone();
            let _ = tokio::spawn(async move { store.append_batch(jobs).await }).await;
        }
        drop(turn);
        answer.await.unwrap_or(Err(StoreError::Interrupted))
    }

    async fn append_batch(&self, mut jobs: Vec<AppendJob>) {
        // Rows are locked in one order by every batch (conversation, then arrival), so
        // batches running at once on PostgreSQL cannot deadlock; a chat's messages keep
        // their order.
        jobs.sort_by_key(|j| j.conversation);
        let outcome: std::result::Result<Vec<Result<Appended>>, sqlx::Error> = on_pool!(
            self,
            |pool| {
                async {
                    // Every message in one transaction: on PostgreSQL five statements for
                    // the whole batch, on SQLite (in-process, no round trips) three a message.
                    let together = async {
                        if let Some(pg) = as_postgres(pool) {
                            return append_set(pg, &jobs).await;
                        }
                        let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
                        let mut results: Vec<Result<Appended>> = Vec::with_capacity(jobs.len());
                        for job in &jobs {
                            let mut result = Err(StoreError::Conflict);
                            for _ in 0..APPEND_TRIES {
                                if let Some(a) = append_one!(tx, job)? {
                                    result = Ok(a);
                                    break;
                                }
                            }
                            results.push(result);
                        }
                        tx.commit().await?;
                        Ok::<_, sqlx::Error>(results)
                    }
                    .await;
                    let e = match together {
                        Ok(results) => return Ok(results),
                        Err(e) => e,
                    };
                    // Nothing of it was stored. Again, a savepoint each, so that the message
                    // that failed is the only one told so.
                    tracing::warn!(error = %e, messages = jobs.len(), "a batch of chat messages failed; storing them one by one");
                    let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
                    lock_chats(&mut tx, &jobs).await?;
                    let mut results: Vec<Result<Appended>> = Vec::with_capacity(jobs.len());
                    for job in &jobs {
                        let mut result = Err(StoreError::Conflict);
                        for _ in 0..APPEND_TRIES {
                            let mut sp = sqlx::Connection::begin(&mut *tx).await?;
                            match append_one!(sp, job) {
                                Ok(Some(a)) => {
                                    sp.commit().await?;
                                    result = Ok(a);
                                    break;
                                }
                                Ok(None) => sp.rollback().await?,
                                Err(e) => {
                                    sp.rollback().await?;
                                    result = Err(e.into());
                                    break;
                                }
                            }
                        }
                        results.push(result);
                    }
                    tx.commit().await?;
                    Ok(results)
                }
                .await
            }
        );
        match outcome {
            Ok(results) => {
                for (job, result) in jobs.into_iter().zip(results) {
                    // The caller may have gone (a closed connection); what was stored stays.
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, messages = jobs.len(), "chat messages not stored");
                for job in jobs {
                    // As above: a caller that has gone needs no answer.
                    let _ = job
                        .reply
                        .send(Err(StoreError::Database(sqlx::Error::Protocol(format!(
                            "the batch of chat messages was not stored: {e}"
                        )))));
                }
            }
        }
    }

    /// Practitioners and supervisors who can chat, with their availability and load.
    pub async fn staff_availability(&self) -> Result<Vec<StaffAvailability>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT s.id, s.username, s.available, \
                 (SELECT COUNT(*) FROM conversations c WHERE c.claimed_by = s.id AND c.channel = 'chat' \
                  AND c.status = 'active') AS active_chats \
                 FROM staff s WHERE s.disabled = 0 AND s.role IN ('practitioner', 'supervisor') \
                 ORDER BY s.username",
            )
            .fetch_all(pool)
            .await?
            {
                out.push(StaffAvailability {
                    id: r.try_get("id")?,
                    username: r.try_get("username")?,
                    available: r.try_get::<i64, _>("available")? != 0,
                    active_chats: r.try_get("active_chats")?,
                });
            }
            out
        });
        Ok(rows)
    }

    /// Missed contacts per month (and area), for reporting.
    pub async fn missed_contacts_count(
        &self,
        from_month: &str,
        to_month: &str,
        area: Option<&str>,
    ) -> Result<i64> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT COUNT(*) AS n FROM missed_contacts WHERE month >= $1 AND month <= $2 AND ($3 = '' OR area = $3)",
            )
            .bind(from_month)
            .bind(to_month)
            .bind(area.unwrap_or(""))
            .fetch_one(pool)
            .await?
            .try_get::<i64, _>("n")?
        });
        Ok(n)
    }

    /// Missed contacts grouped by month, channel, reason, who is asking and age group, for
    /// months in `[from_month, to_month]`, optionally in one area.
    pub async fn report_missed(
        &self,
        from_month: &str,
        to_month: &str,
        area: Option<&str>,
    ) -> Result<Vec<MissedGroup>> {
        let sql = match area {
            Some(_) => "SELECT month, channel, reason, who, age_group, COUNT(*) AS n FROM missed_contacts \
                 WHERE month >= $1 AND month <= $2 AND area = $3 GROUP BY month, channel, reason, who, age_group",
            None => "SELECT month, channel, reason, who, age_group, COUNT(*) AS n FROM missed_contacts \
                 WHERE month >= $1 AND month <= $2 GROUP BY month, channel, reason, who, age_group",
        };
        let rows = on_pool!(self, |pool| {
            let mut q = sqlx::query(sql).bind(from_month).bind(to_month);
            if let Some(a) = area {
                q = q.bind(a);
            }
            let mut out = Vec::new();
            for r in q.fetch_all(pool).await? {
                out.push(MissedGroup {
                    month: r.try_get("month")?,
                    channel: r.try_get("channel")?,
                    reason: r.try_get("reason")?,
                    who: r.try_get("who")?,
                    age_group: r.try_get("age_group")?,
                    n: r.try_get("n")?,
                });
            }
            out
        });
        Ok(rows)
    }

    /// Tells every instance about a chat event (PostgreSQL NOTIFY; nothing to do on SQLite,
    /// which has one instance). The payload never carries content.
    pub async fn chat_notify(&self, payload: &str) -> Result<()> {
        if let Pool::Postgres(pool) = &self.pool {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHAT_CHANNEL)
                .bind(payload)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// A listener for other instances' chat events (PostgreSQL only).
    pub async fn chat_listener(&self) -> Result<Option<ChatListener>> {
        match &self.pool {
            Pool::Postgres(pool) => {
                let mut l = sqlx::postgres::PgListener::connect_with(pool).await?;
                l.listen(CHAT_CHANNEL).await?;
                Ok(Some(ChatListener(l)))
            }
            Pool::Sqlite(_) => Ok(None),
        }
    }
}

/// Receives chat event payloads from every instance (including this one).
pub struct ChatListener(sqlx::postgres::PgListener);

impl ChatListener {
    /// The next payload. After a dropped connection sqlx reconnects and this returns `None`
    /// once, so the caller can resynchronise.
    pub async fn recv(&mut self) -> Result<Option<String>> {
        Ok(self.0.try_recv().await?.map(|n| n.payload().to_string()))
    }
}

impl Store {
    /// Opens a waiting chat in a transaction of its own (tests and load tools); the service
    /// opens one with its keys through `Tx::chat_create`.
    pub async fn chat_create(
        &self,
        who: &str,
        age_group: &str,
        area: &str,
        statement_version: &str,
        language: &str,
        now: i64,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = tx
            .chat_create(who, age_group, area, statement_version, language, now)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Takes a waiting chat in a transaction of its own (see [`Tx::chat_take`]), trying again
    /// if PostgreSQL picks it to break a deadlock.
    pub async fn chat_take(&self, id: i64, staff_id: i64, limit: i64, now: i64) -> Result<Take> {
        for _ in 0..20 {
            let attempt = async {
                let mut tx = self.begin().await?;
                let take = tx.chat_take(id, staff_id, limit, now).await?;
                tx.commit().await?;
                Ok::<_, StoreError>(take)
            };
            match attempt.await {
                Err(e) if e.is_deadlock() => continue,
                other => return other,
            }
        }
        Err(StoreError::Conflict)
    }

    /// Ends a chat in a transaction of its own (the help-seeker leaving, tests); see
    /// [`Tx::chat_end`].
    pub async fn chat_end(&self, id: i64, reason: &str, now: i64) -> Result<Option<String>> {
        let mut tx = self.begin().await?;
        let status = tx.chat_end(id, reason, now).await?;
        tx.commit().await?;
        Ok(status)
    }
}

/// Chat changes a practitioner makes, audited by the caller in the same transaction.
impl Tx {
    /// Takes a waiting chat for `staff_id` unless they already hold `limit` active chats: the
    /// practitioner's own row is locked first, so two takes by one person are counted one
    /// after the other, and the conditional update lets only one practitioner have a chat.
    pub async fn chat_take(
        &mut self,
        id: i64,
        staff_id: i64,
        limit: i64,
        now: i64,
    ) -> Result<Take> {
        let take = on_tx!(self, |c| {
            let mine = active_chats_locked!(c, staff_id);
            if mine >= limit {
                Take::AtLimit
            } else {
                let n = sqlx::query(
                    "UPDATE conversations SET claimed_by = $1, status = 'active', taken_at = $2 \
                     WHERE id = $3 AND channel = 'chat' AND status = 'waiting' AND claimed_by IS NULL",
                )
                .bind(staff_id)
                .bind(now)
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 1 {
                    Take::Taken
                } else {
                    Take::Gone
                }
            }
        });
        Ok(take)
    }

    /// Hands an active chat from one practitioner to another who has room for it.
    pub async fn chat_transfer(&mut self, id: i64, from: i64, to: i64, limit: i64) -> Result<Take> {
        let take = on_tx!(self, |c| {
            let theirs = active_chats_locked!(c, to);
            if theirs >= limit {
                Take::AtLimit
            } else {
                let n = sqlx::query(
                    // The new holder has read none of it yet.
                    "UPDATE conversations SET claimed_by = $1, staff_read_seq = 0 WHERE id = $2 AND claimed_by = $3 \
                     AND channel = 'chat' AND status = 'active' \
                     AND EXISTS (SELECT 1 FROM staff WHERE id = $1 AND disabled = 0)",
                )
                .bind(to)
                .bind(id)
                .bind(from)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 1 {
                    Take::Taken
                } else {
                    Take::Gone
                }
            }
        });
        Ok(take)
    }

    /// Ends a chat. A waiting chat that ends has left the queue unanswered: it becomes a
    /// missed contact. Returns the status it ended in, or `None` if it had already ended.
    pub async fn chat_end(&mut self, id: i64, reason: &str, now: i64) -> Result<Option<String>> {
        let status = on_tx!(self, |c| {
            let active = sqlx::query(
                "UPDATE conversations SET status = 'ended', ended_at = $1 \
                 WHERE id = $2 AND channel = 'chat' AND status = 'active'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected();
            let out = if active == 1 {
                Some("ended".to_string())
            } else if missed_in!(c, id, reason, now) {
                Some("missed".to_string())
            } else {
                None
            };
            out
        });
        Ok(status)
    }

    pub async fn staff_set_available(&mut self, staff_id: i64, available: bool) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query("UPDATE staff SET available = $1 WHERE id = $2")
                .bind(i64::from(available))
                .bind(staff_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }
}

impl Tx {
    /// Creates a chat waiting in the queue.
    pub async fn chat_create(
        &mut self,
        who: &str,
        age_group: &str,
        area: &str,
        statement_version: &str,
        language: &str,
        now: i64,
    ) -> Result<i64> {
        let id = on_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO conversations (channel, status, who, age_group, area, statement_version, language, \
                 awaiting_reply, last_seeker_at, created_at) \
                 VALUES ('chat', 'waiting', $1, $2, $3, $4, $5, 1, $6, $6) RETURNING id",
            )
            .bind(who)
            .bind(age_group)
            .bind(area)
            .bind(statement_version)
            .bind(language)
            .bind(now)
            .fetch_one(&mut *c)
            .await?
            .try_get::<i64, _>("id")?
        });
        Ok(id)
    }
}
