//! The audit log's rows. Appending is done by `reachline_web::audit`, which holds the key;
//! this module only reads and inserts. There is no UPDATE or DELETE of audit rows anywhere.

use crate::{on_pool, Result, Store};
use reachline_core::audit::AuditEntry;
use sqlx::Row;

/// Filters for browsing the log; empty strings match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
    pub object: String,
    pub limit: i64,
}

macro_rules! entry_from_row {
    ($r:expr) => {
        AuditEntry {
            seq: $r.try_get("seq")?,
            at: $r.try_get("at")?,
            actor: $r.try_get("actor")?,
            action: $r.try_get("action")?,
            object: $r.try_get("object")?,
            detail: $r.try_get("detail")?,
            prev_hash: $r.try_get("prev_hash")?,
            hash: $r.try_get("hash")?,
        }
    };
}

impl Store {
    /// The last entry's sequence number and hash, if any.
    pub async fn audit_head(&self) -> Result<Option<(i64, Vec<u8>)>> {
        let row = on_pool!(self, |pool| {
            match sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some((
                    r.try_get::<i64, _>("seq")?,
                    r.try_get::<Vec<u8>, _>("hash")?,
                )),
                None => None,
            }
        });
        Ok(row)
    }

    /// Inserts the next entry. False if another writer took that sequence number first; the
    /// caller reads the new head and tries again.
    pub async fn audit_insert(&self, e: &AuditEntry) -> Result<bool> {
        let result = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO audit_log (seq, at, actor, action, object, detail, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(e.seq)
            .bind(e.at)
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.object)
            .bind(&e.detail)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .execute(pool)
            .await
            .map(|_| ())
        });
        match result {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The whole log in sequence order, for verification.
    pub async fn audit_all(&self) -> Result<Vec<AuditEntry>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT seq, at, actor, action, object, detail, prev_hash, hash FROM audit_log ORDER BY seq",
            )
            .fetch_all(pool)
            .await?
            {
                out.push(entry_from_row!(r));
            }
            out
        });
        Ok(rows)
    }

    /// The newest entries matching a filter.
    pub async fn audit_search(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT seq, at, actor, action, object, detail, prev_hash, hash FROM audit_log \
                 WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action LIKE $2 || '%') \
                 AND ($3 = '' OR object = $3) ORDER BY seq DESC LIMIT $4",
            )
            .bind(&f.actor)
            .bind(&f.action)
            .bind(&f.object)
            .bind(if f.limit > 0 { f.limit } else { 200 })
            .fetch_all(pool)
            .await?
            {
                out.push(entry_from_row!(r));
            }
            out
        });
        Ok(rows)
    }
}
