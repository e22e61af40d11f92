//! Write transactions that the application composes: an action's statements and the audit
//! entry that records it commit together or not at all.
//!
//! [`Store::begin`] opens a [`Tx`] (on SQLite `BEGIN IMMEDIATE`, so it holds the write lock
//! from the start); store methods on `Tx` run inside it; [`Tx::commit_audited`] appends the
//! audit entry as the last statement and commits. Dropping a `Tx` without committing rolls
//! it back, so an action whose audit entry cannot be written never happens.

use crate::{Result, Store};
use reachline_core::audit::{head_mac, link, GENESIS};
use reachline_core::keys::Key;
use sqlx::Row;

/// An open write transaction on either database.
pub struct Tx {
    pub(crate) inner: Inner,
    /// Record the chain's head with each audit entry (see [`Store::records_audit_head`]).
    records_head: bool,
    /// Keep return-code hints (see [`Store::keeps_code_hints`]).
    pub(crate) keeps_hints: bool,
    /// Lists have roles and shadow versions (see [`Store::has_list_modes`]).
    pub(crate) list_modes: bool,
}

pub(crate) enum Inner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs the same statement code on whichever connection a [`Tx`] holds (see `on_pool!`).
/// Inside the body, `$c` is a `&mut` connection: pass `&mut *$c` to each query.
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match &mut $tx.inner {
            $crate::tx::Inner::Sqlite(t) => {
                let $c: &mut sqlx::SqliteConnection = &mut *t;
                $body
            }
            $crate::tx::Inner::Postgres(t) => {
                let $c: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

/// What an audit entry says; the chain fields (sequence, previous hash, hash) are filled in
/// inside the transaction.
#[derive(Debug, Clone, Copy)]
pub struct NewAudit<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub object: &'a str,
    pub detail: &'a str,
}

/// Serialises audit appends on PostgreSQL for the rest of the transaction (SQLite's
/// `BEGIN IMMEDIATE` already does), so two instances never link to the same head.
const AUDIT_LOCK: i64 = 0x5265_6163_6841_7564; // "ReachAud"

impl Store {
    /// Begins a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &self.pool {
            crate::Pool::Sqlite(pool) => {
                Inner::Sqlite(pool.begin_with(crate::begin_sql(pool)).await?)
            }
            crate::Pool::Postgres(pool) => {
                Inner::Postgres(pool.begin_with(crate::begin_sql(pool)).await?)
            }
        };
        Ok(Tx {
            inner,
            records_head: self.records_audit_head(),
            keeps_hints: self.keeps_code_hints(),
            list_modes: self.has_list_modes(),
        })
    }
}

impl Tx {
    /// Commits without an audit entry (for actions that are not audited). A transaction in
    /// which a statement failed is refused: PostgreSQL would answer COMMIT by rolling back
    /// and reporting success, so a statement runs first to surface the failure.
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            Inner::Sqlite(t) => t.commit().await?,
            Inner::Postgres(mut t) => {
                sqlx::query("SELECT 1").execute(&mut *t).await?;
                t.commit().await?
            }
        }
        Ok(())
    }

    /// Commits right after a statement that succeeded (so the transaction is not failed).
    async fn commit_now(self) -> Result<()> {
        match self.inner {
            Inner::Sqlite(t) => t.commit().await?,
            Inner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Appends the audit entry, linked after the newest one with `key`, as the last statement
    /// of the transaction, and commits: the action and its entry are stored together or not
    /// at all. Returns the entry's sequence number.
    #[must_use = "an audit entry that is not checked can vanish: the action must fail with it"]
    pub async fn commit_audited(mut self, key: &Key, e: NewAudit<'_>) -> Result<i64> {
        if let Inner::Postgres(t) = &mut self.inner {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(AUDIT_LOCK)
                .execute(&mut **t)
                .await?;
        }
        let records_head = self.records_head;
        let seq = on_tx!(self, |c| {
            let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *c)
                .await?;
            let recorded = if records_head {
                sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_optional(&mut *c)
                    .await?
            } else {
                None
            };
            // The new entry follows the recorded head when there is one: if the newest
            // entries were deleted, the next entry leaves a visible gap instead of quietly
            // closing it.
            let (seq, prev) = match (recorded, last) {
                (Some(h), Some(l)) => {
                    let (hs, ls) = (h.try_get::<i64, _>("seq")?, l.try_get::<i64, _>("seq")?);
                    if hs >= ls {
                        (hs + 1, h.try_get::<Vec<u8>, _>("hash")?)
                    } else {
                        (ls + 1, l.try_get::<Vec<u8>, _>("hash")?)
                    }
                }
                (Some(h), None) => (
                    h.try_get::<i64, _>("seq")? + 1,
                    h.try_get::<Vec<u8>, _>("hash")?,
                ),
                (None, Some(l)) => (
                    l.try_get::<i64, _>("seq")? + 1,
                    l.try_get::<Vec<u8>, _>("hash")?,
                ),
                (None, None) => (1, GENESIS.to_vec()),
            };
            let hash = link(key, &prev, seq, e.at, e.actor, e.action, e.object, e.detail);
            sqlx::query(
                "INSERT INTO audit_log (seq, at, actor, action, object, detail, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(seq)
            .bind(e.at)
            .bind(e.actor)
            .bind(e.action)
            .bind(e.object)
            .bind(e.detail)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *c)
            .await?;
            if records_head {
                sqlx::query(
                    "INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, $1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac",
                )
                .bind(seq)
                .bind(&hash)
                .bind(head_mac(key, seq, &hash))
                .execute(&mut *c)
                .await?;
            }
            seq
        });
        // The insert just succeeded, so the transaction has not failed.
        self.commit_now().await?;
        Ok(seq)
    }

    /// Records the chain's head from its newest entry when none is recorded (a database
    /// from a release before heads were kept). Returns whether it wrote one.
    pub async fn audit_anchor_if_missing(&mut self, key: &Key) -> Result<bool> {
        let wrote = on_tx!(self, |c| {
            let recorded = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
                .fetch_optional(&mut *c)
                .await?;
            let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *c)
                .await?;
            match (recorded, last) {
                (None, Some(l)) => {
                    let seq: i64 = l.try_get("seq")?;
                    let hash: Vec<u8> = l.try_get("hash")?;
                    sqlx::query(
                        "INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, $1, $2, $3)",
                    )
                    .bind(seq)
                    .bind(&hash)
                    .bind(head_mac(key, seq, &hash))
                    .execute(&mut *c)
                    .await?;
                    true
                }
                _ => false,
            }
        });
        Ok(wrote)
    }
}
