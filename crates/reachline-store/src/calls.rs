//! The phone line: calls offered by a telephony provider or a PBX, as times and outcomes.
//! Events about a call may come late, twice or out of order; each is applied so that a call
//! is decided once (answered, abandoned or out of hours) and a missed call leaves exactly one
//! missed-contact record. No caller number is ever stored: at most a keyed hash of it.

use crate::{on_pool, Result, Store};
use sqlx::Row;

/// A call as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CallRow {
    pub id: i64,
    pub source: String,
    pub external_id: String,
    pub offered_at: i64,
    pub enqueued_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub wait_seconds: Option<i64>,
    pub talk_seconds: Option<i64>,
    pub outcome: String,
    pub answered_by: Option<i64>,
    pub agent: String,
    pub caller_hash: Option<String>,
    pub contact_id: Option<i64>,
    pub month: String,
}

const CALL_COLUMNS: &str =
    "id, source, external_id, offered_at, enqueued_at, answered_at, ended_at, \
     wait_seconds, talk_seconds, outcome, answered_by, agent, caller_hash, contact_id, month";

/// What happened to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEvent<'a> {
    /// The call reached the helpline; out of hours it is decided missed at once.
    Offered {
        out_of_hours: bool,
        caller_hash: Option<&'a str>,
    },
    /// It joined the queue.
    Enqueued,
    /// Someone answered it (a staff member, or an agent name from a PBX), after `wait`.
    Answered {
        by: Option<i64>,
        agent: &'a str,
        wait: Option<i64>,
    },
    /// The caller left the queue unanswered after `wait`.
    Abandoned { wait: Option<i64> },
    /// The call ended; `talk` is how long it was answered for.
    Ended { talk: Option<i64> },
}

impl crate::Tx {
    /// Keeps a provider secret (sealed by the caller), in the transaction that audits it.
    pub async fn telephony_secret_set(
        &mut self,
        name: &str,
        sealed: &[u8],
        now: i64,
    ) -> Result<()> {
        crate::tx::on_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO telephony_secrets (name, sealed, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET sealed = $2, created_at = $3",
            )
            .bind(name)
            .bind(sealed)
            .bind(now)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Links an answered call to the contact its wrap-up became; false unless the call was
    /// answered by this staff member and not yet wrapped up.
    pub async fn call_link_contact(&mut self, call: i64, staff: i64, contact: i64) -> Result<bool> {
        let n = crate::tx::on_tx!(self, |c| sqlx::query(
            "UPDATE calls SET contact_id = $1 WHERE id = $2 AND answered_by = $3 \
             AND outcome = 'answered' AND contact_id IS NULL"
        )
        .bind(contact)
        .bind(call)
        .bind(staff)
        .execute(&mut *c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }
}

impl Store {
    /// Applies one event to the call `external_id` from `source`, creating its row if this is
    /// the first event heard of it. Returns the call as it now stands.
    pub async fn call_event(
        &self,
        source: &str,
        external_id: &str,
        at: i64,
        event: CallEvent<'_>,
    ) -> Result<CallRow> {
        let row = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
            sqlx::query(
                "INSERT INTO calls (source, external_id, offered_at, month) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (source, external_id) DO NOTHING",
            )
            .bind(source)
            .bind(external_id)
            .bind(at)
            .bind(crate::month_of(at))
            .execute(&mut *tx)
            .await?;
            let id: i64 =
                sqlx::query_scalar("SELECT id FROM calls WHERE source = $1 AND external_id = $2")
                    .bind(source)
                    .bind(external_id)
                    .fetch_one(&mut *tx)
                    .await?;
            // A missed call is decided once; only that statement leaves the missed record.
            let mut missed: Option<&str> = None;
            match event {
                CallEvent::Offered {
                    out_of_hours,
                    caller_hash,
                } => {
                    sqlx::query(
                        "UPDATE calls SET caller_hash = COALESCE(caller_hash, $2), \
                         offered_at = CASE WHEN offered_at > $3 THEN $3 ELSE offered_at END WHERE id = $1",
                    )
                    .bind(id)
                    .bind(caller_hash)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    if out_of_hours {
                        let n = sqlx::query(
                            "UPDATE calls SET outcome = 'out-of-hours', ended_at = COALESCE(ended_at, $2) \
                             WHERE id = $1 AND outcome = 'pending'",
                        )
                        .bind(id)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if n == 1 {
                            missed = Some("out-of-hours");
                        }
                    }
                }
                CallEvent::Enqueued => {
                    sqlx::query(
                        "UPDATE calls SET enqueued_at = COALESCE(enqueued_at, $2) WHERE id = $1",
                    )
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                CallEvent::Answered { by, agent, wait } => {
                    sqlx::query(
                        "UPDATE calls SET outcome = 'answered', answered_at = COALESCE(answered_at, $2), \
                         answered_by = COALESCE(answered_by, $3), \
                         agent = CASE WHEN agent = '' THEN $4 ELSE agent END, \
                         wait_seconds = COALESCE(wait_seconds, $5) \
                         WHERE id = $1 AND outcome IN ('pending', 'answered')",
                    )
                    .bind(id)
                    .bind(at)
                    .bind(by)
                    .bind(agent)
                    .bind(wait)
                    .execute(&mut *tx)
                    .await?;
                }
                CallEvent::Abandoned { wait } => {
                    let n = sqlx::query(
                        "UPDATE calls SET outcome = 'abandoned', wait_seconds = COALESCE(wait_seconds, $3), \
                         ended_at = COALESCE(ended_at, $2) WHERE id = $1 AND outcome = 'pending'",
                    )
                    .bind(id)
                    .bind(at)
                    .bind(wait)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if n == 1 {
                        missed = Some("abandoned");
                    }
                }
                CallEvent::Ended { talk } => {
                    sqlx::query(
                        "UPDATE calls SET ended_at = COALESCE(ended_at, $2), \
                         talk_seconds = COALESCE(talk_seconds, $3) WHERE id = $1",
                    )
                    .bind(id)
                    .bind(at)
                    .bind(talk)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            if let Some(reason) = missed {
                sqlx::query(
                    "INSERT INTO missed_contacts (channel, reason, month, created_at) \
                     SELECT 'phone', $1, month, $2 FROM calls WHERE id = $3",
                )
                .bind(reason)
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            let row: CallRow =
                sqlx::query_as(&format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = $1"))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            tx.commit().await?;
            row
        });
        Ok(row)
    }

    /// Calls still undecided that ended before `ended_before`, or were offered before
    /// `offered_before` and never heard of again: abandoned (their queue result never came).
    pub async fn calls_settle(&self, ended_before: i64, offered_before: i64) -> Result<usize> {
        let pending: Vec<(String, String, Option<i64>)> = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT source, external_id, ended_at FROM calls WHERE outcome = 'pending' \
                 AND ((ended_at IS NOT NULL AND ended_at < $1) OR offered_at < $2)",
            )
            .bind(ended_before)
            .bind(offered_before)
            .fetch_all(pool)
            .await?
            {
                out.push((
                    r.try_get("source")?,
                    r.try_get("external_id")?,
                    r.try_get("ended_at")?,
                ));
            }
            out
        });
        let mut n = 0;
        for (source, id, ended) in pending {
            let at = ended.unwrap_or(offered_before);
            let row = self
                .call_event(&source, &id, at, CallEvent::Abandoned { wait: None })
                .await?;
            n += usize::from(row.outcome == "abandoned");
        }
        Ok(n)
    }

    /// Calls answered by this staff member that wait for their wrap-up, oldest first.
    pub async fn calls_to_wrap_up(&self, staff: i64) -> Result<Vec<CallRow>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, CallRow>(&format!(
                "SELECT {CALL_COLUMNS} FROM calls WHERE answered_by = $1 AND outcome = 'answered' \
                 AND contact_id IS NULL ORDER BY answered_at, id"
            ))
            .bind(staff)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn call_by_id(&self, id: i64) -> Result<Option<CallRow>> {
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, CallRow>(&format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// Every call offered between two instants (`[from, to)`), for reports.
    pub async fn calls_between(&self, from: i64, to: i64) -> Result<Vec<CallRow>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, CallRow>(&format!(
                "SELECT {CALL_COLUMNS} FROM calls WHERE offered_at >= $1 AND offered_at < $2 ORDER BY offered_at, id"
            ))
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Calls waiting in the queue now (offered, enqueued, not decided, not ended).
    pub async fn calls_waiting(&self) -> Result<Vec<CallRow>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, CallRow>(&format!(
                "SELECT {CALL_COLUMNS} FROM calls WHERE outcome = 'pending' AND enqueued_at IS NOT NULL \
                 AND ended_at IS NULL ORDER BY enqueued_at, id"
            ))
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    // ---- provider secrets and replay protection -------------------------------------------

    pub async fn telephony_secret(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let sealed = on_pool!(self, |pool| {
            sqlx::query_scalar::<_, Vec<u8>>("SELECT sealed FROM telephony_secrets WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        Ok(sealed)
    }

    /// Whether a request's signature digest was recorded (a replay).
    pub async fn telephony_was_seen(&self, sig_hash: &str) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM telephony_seen WHERE sig_hash = $1")
                .bind(sig_hash)
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }

    /// Records a request's signature digest; false when it was seen before (a replay).
    /// Forgets digests older than `forget_before`.
    pub async fn telephony_seen(
        &self,
        sig_hash: &str,
        now: i64,
        forget_before: i64,
    ) -> Result<bool> {
        let fresh = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM telephony_seen WHERE at < $1")
                .bind(forget_before)
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO telephony_seen (sig_hash, at) VALUES ($1, $2) ON CONFLICT (sig_hash) DO NOTHING",
            )
            .bind(sig_hash)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
                == 1
        });
        Ok(fresh)
    }
}
