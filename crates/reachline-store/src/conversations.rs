//! Conversations and their messages. Bodies arrive sealed; this module never sees text.

use crate::tx::on_tx;
use crate::{on_pool, Result, Store, Tx};
use reachline_core::vocabulary::{Channel, ConversationStatus, Sender};
use sqlx::{FromRow, Row};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    #[sqlx(try_from = "String")]
    pub status: ConversationStatus,
    pub who: String,
    pub age_group: String,
    pub area: String,
    pub statement_version: String,
    pub lookup: Option<String>,
    pub key_staff: Option<Vec<u8>>,
    pub key_seeker: Option<Vec<u8>>,
    pub claimed_by: Option<i64>,
    pub claimed_by_name: Option<String>,
    pub awaiting_reply: bool,
    pub last_seeker_at: i64,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub language: String,
    pub taken_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub seeker_seen_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageRow {
    pub seq: i64,
    #[sqlx(try_from = "String")]
    pub sender: Sender,
    #[sqlx(rename = "username")]
    pub staff_name: Option<String>,
    pub body_sealed: Vec<u8>,
    pub created_at: i64,
}

/// What a new conversation starts with.
#[derive(Debug, Clone)]
pub struct NewConversation<'a> {
    pub channel: Channel,
    pub who: &'a str,
    pub age_group: &'a str,
    pub area: &'a str,
    pub statement_version: &'a str,
    pub lookup: Option<&'a str>,
}

/// A contact record's wrap-up: what reporting counts.
#[derive(Debug, Clone)]
pub struct WrapUp {
    pub channel: Channel,
    pub started_at: i64,
    pub ended_at: i64,
    pub who: String,
    pub age_group: String,
    pub area: String,
    pub concerns: String,
    pub arrested: String,
    pub actions: String,
    pub signposting: String,
    pub first_this_year: bool,
    pub statement_version: String,
    /// Demo data (`reachline demo seed`); removed by `demo purge`.
    pub synthetic: bool,
}

pub(crate) const CONV_SELECT: &str = "SELECT c.id, c.channel, c.status, c.who, c.age_group, c.area, c.statement_version, \
     c.lookup, c.key_staff, c.key_seeker, c.claimed_by, s.username AS claimed_by_name, (c.awaiting_reply <> 0) AS awaiting_reply, \
     c.last_seeker_at, c.created_at, c.closed_at, c.language, c.taken_at, c.ended_at, c.seeker_seen_at FROM conversations c LEFT JOIN staff s ON s.id = c.claimed_by";

/// Inserts a wrapped-up contact record inside a transaction and evaluates to its id. One
/// statement for every channel (messages, callbacks, phone contacts logged by hand).
macro_rules! insert_contact {
    ($tx:expr, $w:expr, $staff:expr, $now:expr, $conversation:expr) => {{
        let w: &WrapUp = $w;
        sqlx::query(
            "INSERT INTO contacts (channel, started_at, ended_at, created_by, created_at, conversation_id, \
             who, age_group, area, concerns, arrested, actions, signposting, first_this_year, \
             statement_version, wrapped_up, month, synthetic) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $17) RETURNING id",
        )
        .bind(w.channel.as_str())
        .bind(w.started_at)
        .bind(w.ended_at)
        .bind($staff)
        .bind($now)
        .bind($conversation)
        .bind(&w.who)
        .bind(&w.age_group)
        .bind(&w.area)
        .bind(&w.concerns)
        .bind(&w.arrested)
        .bind(&w.actions)
        .bind(&w.signposting)
        .bind(i64::from(w.first_this_year))
        .bind(&w.statement_version)
        .bind(crate::month_of(w.started_at))
        .bind(i64::from(w.synthetic))
        .fetch_one($tx)
        .await?
        .try_get::<i64, _>("id")?
    }};
}
pub(crate) use insert_contact;

impl Store {
    pub async fn conversation_get(&self, id: i64) -> Result<Option<ConversationRow>> {
        let row = on_pool!(self, |pool| {
            match sqlx::query(&format!("{CONV_SELECT} WHERE c.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some(ConversationRow::from_row(&r)?),
                None => None,
            }
        });
        Ok(row)
    }

    /// Which of `chats` are claimed by `staff`: one statement for every open chat socket of
    /// a practitioner's session (their standing is re-read about once a second).
    pub async fn conversations_claimed_among(
        &self,
        staff: i64,
        chats: &[i64],
    ) -> Result<std::collections::HashSet<i64>> {
        let mut out = std::collections::HashSet::new();
        // Bound the statement's parameters (SQLite allows 32,766, PostgreSQL 65,535).
        for chunk in chats.chunks(500) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT id FROM conversations WHERE claimed_by = $1 AND id IN ({})",
                list.join(", ")
            );
            on_pool!(self, |pool| {
                let mut q = sqlx::query(&sql).bind(staff);
                for id in chunk {
                    q = q.bind(*id);
                }
                for r in q.fetch_all(pool).await? {
                    out.insert(r.try_get::<i64, _>("id")?);
                }
            });
        }
        Ok(out)
    }

    /// The conversations a return code has, newest first.
    pub async fn conversations_by_lookup(&self, lookup: &str) -> Result<Vec<ConversationRow>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(&format!(
                "{CONV_SELECT} WHERE c.lookup = $1 ORDER BY c.created_at DESC, c.id DESC"
            ))
            .bind(lookup)
            .fetch_all(pool)
            .await?
            {
                out.push(ConversationRow::from_row(&r)?);
            }
            out
        });
        Ok(rows)
    }

    /// Open threads of a channel, the longest-waiting first.
    pub async fn conversations_open(&self, channel: Channel) -> Result<Vec<ConversationRow>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(&format!(
                "{CONV_SELECT} WHERE c.channel = $1 AND c.status = 'open' \
                 ORDER BY c.awaiting_reply DESC, c.last_seeker_at, c.id"
            ))
            .bind(channel.as_str())
            .fetch_all(pool)
            .await?
            {
                out.push(ConversationRow::from_row(&r)?);
            }
            out
        });
        Ok(rows)
    }

    /// Messages after `after_seq`, in order.
    pub async fn messages(&self, conversation: i64, after_seq: i64) -> Result<Vec<MessageRow>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT m.seq, m.sender, s.username, m.body_sealed, m.created_at FROM messages m \
                 LEFT JOIN staff s ON s.id = m.staff_id WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq",
            )
            .bind(conversation)
            .bind(after_seq)
            .fetch_all(pool)
            .await?
            {
                out.push(MessageRow::from_row(&r)?);
            }
            out
        });
        Ok(rows)
    }

    /// How many earlier conversations this return code had since `since` (for "first contact
    /// this year").
    pub async fn conversations_since(&self, lookup: &str, since: i64, except: i64) -> Result<i64> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
            "SELECT COUNT(*) AS n FROM conversations WHERE lookup = $1 AND created_at >= $2 AND id <> $3"
        )
        .bind(lookup)
        .bind(since)
        .bind(except)
        .fetch_one(pool)
        .await?
        .try_get::<i64, _>("n")?
        });
        Ok(n)
    }

    /// Deletes the content of conversations closed before `closed_before` (messages and
    /// keys), and of chats missed before then; the conversation row, its contact record and
    /// any safeguarding timeline remain.
    pub async fn conversations_purge(&self, closed_before: i64, now: i64) -> Result<u64> {
        let n = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
            sqlx::query(
                "DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations \
                 WHERE ((status = 'closed' AND closed_at < $1) OR (status = 'missed' AND ended_at < $1)) AND purged_at IS NULL)",
            )
            .bind(closed_before)
            .execute(&mut *tx)
            .await?;
            let n = sqlx::query(
                "UPDATE conversations SET key_staff = NULL, key_seeker = NULL, lookup = NULL, purged_at = $2 \
                 WHERE ((status = 'closed' AND closed_at < $1) OR (status = 'missed' AND ended_at < $1)) AND purged_at IS NULL",
            )
            .bind(closed_before)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n)
    }

    pub async fn messages_count(&self) -> Result<i64> {
        let n = on_pool!(self, |pool| sqlx::query(
            "SELECT COUNT(*) AS n FROM messages"
        )
        .fetch_one(pool)
        .await?
        .try_get::<i64, _>("n")?);
        Ok(n)
    }
}

/// One group of wrapped-up contacts, as reporting reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactGroup {
    pub month: String,
    pub channel: String,
    pub who: String,
    pub age_group: String,
    pub area: String,
    pub concerns: String,
    /// Protective actions agreed (comma-separated).
    pub actions: String,
    /// Where the person was signposted (comma-separated).
    pub signposting: String,
    pub first_this_year: bool,
    pub n: i64,
}

/// The columns a report groups contacts by, as the rollup (migration 0016) holds them.
const REPORT_GROUP: &str =
    "month, area, channel, who, age_group, first_this_year, concerns, actions, signposting";

impl Store {
    /// Contacts grouped by everything reports break them down by, for months in
    /// `[from_month, to_month]` (`YYYY-MM`), optionally in one area: read from
    /// `contacts_rollup` (migration 0016), where triggers keep one count a group and month,
    /// so a year is tens of thousands of rows however many contacts it holds. A store at an
    /// older release's schema counts the contacts themselves.
    pub async fn report_contacts(
        &self,
        from_month: &str,
        to_month: &str,
        area: Option<&str>,
    ) -> Result<Vec<ContactGroup>> {
        if !self.has_contact_rollup() {
            return self
                .report_contacts_counted(from_month, to_month, area)
                .await;
        }
        // Each row is already one group; two statement texts rather than
        // `($3 = '' OR area = $3)`, which keeps either planner from using the key on area.
        let sql = match area {
            Some(_) => format!(
                "SELECT {REPORT_GROUP}, n FROM contacts_rollup \
                 WHERE area = $3 AND month >= $1 AND month <= $2 AND n > 0"
            ),
            None => format!(
                "SELECT {REPORT_GROUP}, n FROM contacts_rollup \
                 WHERE month >= $1 AND month <= $2 AND n > 0"
            ),
        };
        self.report_groups(&sql, from_month, to_month, area).await
    }

    /// The same groups as [`Store::report_contacts`], counted from the contacts themselves
    /// (an older release's schema; and the storage suite's check of the rollup).
    pub async fn report_contacts_counted(
        &self,
        from_month: &str,
        to_month: &str,
        area: Option<&str>,
    ) -> Result<Vec<ContactGroup>> {
        let sql = match area {
            Some(_) => format!(
                "SELECT {REPORT_GROUP}, COUNT(*) AS n FROM contacts \
                 WHERE area = $3 AND month >= $1 AND month <= $2 GROUP BY {REPORT_GROUP}"
            ),
            None => format!(
                "SELECT {REPORT_GROUP}, COUNT(*) AS n FROM contacts \
                 WHERE month >= $1 AND month <= $2 GROUP BY {REPORT_GROUP}"
            ),
        };
        self.report_groups(&sql, from_month, to_month, area).await
    }

    async fn report_groups(
        &self,
        sql: &str,
        from_month: &str,
        to_month: &str,
        area: Option<&str>,
    ) -> Result<Vec<ContactGroup>> {
        let rows = on_pool!(self, |pool| {
            let mut q = sqlx::query(sql).bind(from_month).bind(to_month);
            if let Some(a) = area {
                q = q.bind(a);
            }
            let mut out = Vec::new();
            for r in q.fetch_all(pool).await? {
                out.push(ContactGroup {
                    month: r.try_get("month")?,
                    channel: r.try_get("channel")?,
                    who: r.try_get("who")?,
                    age_group: r.try_get("age_group")?,
                    area: r.try_get("area")?,
                    concerns: r.try_get("concerns")?,
                    actions: r.try_get("actions")?,
                    signposting: r.try_get("signposting")?,
                    first_this_year: r.try_get::<i64, _>("first_this_year")? != 0,
                    n: r.try_get("n")?,
                });
            }
            out
        });
        Ok(rows)
    }

    /// Inserts many synthetic contact records in one transaction (demo data), a hundred rows
    /// to a statement.
    pub async fn demo_contacts(&self, staff_id: i64, records: &[WrapUp], now: i64) -> Result<u64> {
        const COLUMNS: usize = 15;
        const ROWS: usize = 100;
        let statement = |rows: usize| {
            let mut sql = String::from(
                "INSERT INTO contacts (channel, started_at, ended_at, created_by, created_at, who, age_group, area, \
                 concerns, arrested, actions, signposting, first_this_year, statement_version, month, wrapped_up, synthetic) VALUES ",
            );
            for r in 0..rows {
                if r > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for c in 0..COLUMNS {
                    sql.push_str(&format!("${},", r * COLUMNS + c + 1));
                }
                sql.push_str("1, 1)");
            }
            sql
        };
        let n = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
            for chunk in records.chunks(ROWS) {
                let sql = statement(chunk.len());
                let mut q = sqlx::query(&sql);
                for w in chunk {
                    q = q
                        .bind(w.channel.as_str())
                        .bind(w.started_at)
                        .bind(w.ended_at)
                        .bind(staff_id)
                        .bind(now)
                        .bind(&w.who)
                        .bind(&w.age_group)
                        .bind(&w.area)
                        .bind(&w.concerns)
                        .bind(&w.arrested)
                        .bind(&w.actions)
                        .bind(&w.signposting)
                        .bind(i64::from(w.first_this_year))
                        .bind(&w.statement_version)
                        .bind(crate::month_of(w.started_at));
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            records.len() as u64
        });
        Ok(n)
    }

    /// Removes exactly the synthetic records.
    pub async fn demo_purge(&self) -> Result<u64> {
        let n = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM contacts WHERE synthetic = 1"
        )
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n)
    }
}

impl Store {
    /// Opens a conversation in a transaction of its own (tests); the service opens one with
    /// its keys through `Tx::conversation_create` and `Tx::conversation_set_keys`.
    pub async fn conversation_create(&self, c: &NewConversation<'_>, now: i64) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = tx.conversation_create(c, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Appends a message in a transaction of its own (the help-seeker's side, which is not
    /// audited); see [`Tx::message_append`].
    pub async fn message_append(
        &self,
        conversation: i64,
        sender: Sender,
        staff_id: Option<i64>,
        seal: impl Fn(i64) -> Vec<u8>,
        now: i64,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let seq = tx
            .message_append(conversation, sender, staff_id, seal, now)
            .await?;
        tx.commit().await?;
        Ok(seq)
    }
}

impl Tx {
    /// Claims a conversation for one practitioner. Atomic: of two claims, one wins.
    pub async fn conversation_claim(&mut self, id: i64, staff_id: i64) -> Result<bool> {
        let n = on_tx!(self, |c| {
            sqlx::query(
            "UPDATE conversations SET claimed_by = $1 WHERE id = $2 AND claimed_by IS NULL AND status = 'open'"
        )
        .bind(staff_id)
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    /// Closes a conversation and records its wrap-up as a contact, in one transaction.
    pub async fn conversation_close(
        &mut self,
        id: i64,
        staff_id: i64,
        w: &WrapUp,
        now: i64,
    ) -> Result<Option<i64>> {
        let contact = on_tx!(self, |c| {
            let closed = sqlx::query(
                "UPDATE conversations SET status = 'closed', closed_at = $1, ended_at = COALESCE(ended_at, $1) \
                 WHERE id = $2 AND status IN ('open', 'active', 'ended')",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if closed != 1 {
                None
            } else {
                let contact: i64 = insert_contact!(&mut *c, w, staff_id, now, Some(id));
                Some(contact)
            }
        });
        Ok(contact)
    }
    /// Appends a message: the next sequence number of its conversation, the body sealed by
    /// the caller for that number. The conversation's row is updated first, which locks it
    /// (PostgreSQL; SQLite's write lock covers the whole transaction), so appends to one
    /// conversation are numbered one after another.
    pub async fn message_append(
        &mut self,
        conversation: i64,
        sender: Sender,
        staff_id: Option<i64>,
        seal: impl Fn(i64) -> Vec<u8>,
        now: i64,
    ) -> Result<i64> {
        let from_seeker = sender == Sender::Seeker;
        let seq = on_tx!(self, |c| {
            sqlx::query(
                "UPDATE conversations SET awaiting_reply = $1, \
                 last_seeker_at = CASE WHEN $1 = 1 THEN $2 ELSE last_seeker_at END, \
                 status = CASE WHEN $1 = 1 AND channel = 'message' THEN 'open' ELSE status END WHERE id = $3",
            )
            .bind(i64::from(from_seeker))
            .bind(now)
            .bind(conversation)
            .execute(&mut *c)
            .await?;
            let seq: i64 = sqlx::query(
                "SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM messages WHERE conversation_id = $1",
            )
            .bind(conversation)
            .fetch_one(&mut *c)
            .await?
            .try_get("s")?;
            sqlx::query(
                "INSERT INTO messages (conversation_id, seq, sender, staff_id, body_sealed, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(conversation)
            .bind(seq)
            .bind(sender.as_str())
            .bind(staff_id)
            .bind(seal(seq))
            .bind(now)
            .execute(&mut *c)
            .await?;
            seq
        });
        Ok(seq)
    }
}

impl Tx {
    /// Records the hint of the return code a thread was opened with.
    pub async fn conversation_set_hint(&mut self, id: i64, hint: &str) -> Result<()> {
        if !self.keeps_hints {
            return Ok(());
        }
        on_tx!(self, |c| {
            sqlx::query("UPDATE conversations SET hint = $1 WHERE id = $2")
                .bind(hint)
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    pub async fn conversation_set_keys(
        &mut self,
        id: i64,
        key_staff: &[u8],
        key_seeker: Option<&[u8]>,
    ) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query("UPDATE conversations SET key_staff = $1, key_seeker = $2 WHERE id = $3")
                .bind(key_staff)
                .bind(key_seeker)
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Creates a conversation. Its key is wrapped by the caller once the id is known
    /// (see [`Tx::conversation_set_keys`]), in the same transaction.
    pub async fn conversation_create(&mut self, c: &NewConversation<'_>, now: i64) -> Result<i64> {
        let id = on_tx!(self, |conn| {
            sqlx::query(
            "INSERT INTO conversations (channel, status, who, age_group, area, statement_version, lookup, \
             awaiting_reply, last_seeker_at, created_at) VALUES ($1, 'open', $2, $3, $4, $5, $6, 1, $7, $7) RETURNING id"
        )
        .bind(c.channel.as_str())
        .bind(c.who)
        .bind(c.age_group)
        .bind(c.area)
        .bind(c.statement_version)
        .bind(c.lookup)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>("id")?
        });
        Ok(id)
    }
}
