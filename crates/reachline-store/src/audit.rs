//! The audit log's rows, read. Entries are appended only by `Tx::commit_audited` (`tx.rs`),
//! as the last statement of the action they record. There is no UPDATE or DELETE of audit
//! rows anywhere.

use crate::{on_pool, Result, Store};
use reachline_core::audit::{AuditEntry, Head};
use sqlx::{FromRow, Row};

/// Filters for browsing the log; empty strings match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
    pub object: String,
    pub limit: i64,
}

/// An audit row as stored; [`AuditEntry`] (core) knows nothing of the database.
#[derive(sqlx::FromRow)]
struct AuditRow {
    seq: i64,
    at: i64,
    actor: String,
    action: String,
    object: String,
    detail: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> AuditEntry {
        AuditEntry {
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            action: r.action,
            object: r.object,
            detail: r.detail,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

impl Store {
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
                out.push(AuditEntry::from(AuditRow::from_row(&r)?));
            }
            out
        });
        Ok(rows)
    }

    /// The chain's recorded head, if any.
    pub async fn audit_head(&self) -> Result<Option<Head>> {
        let head = on_pool!(self, |pool| {
            match sqlx::query("SELECT seq, hash, mac FROM audit_head WHERE id = 1")
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some(Head {
                    seq: r.try_get("seq")?,
                    hash: r.try_get("hash")?,
                    mac: r.try_get("mac")?,
                }),
                None => None,
            }
        });
        Ok(head)
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
                out.push(AuditEntry::from(AuditRow::from_row(&r)?));
            }
            out
        });
        Ok(rows)
    }
}
