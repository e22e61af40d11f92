//! Console-managed settings, confidentiality statement versions and canned responses.

use crate::tx::on_tx;
use crate::{on_pool, Result, Store, Tx};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    pub version: i64,
    pub body: String,
    pub created_at: i64,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedRow {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub updated_at: i64,
    pub updated_by: String,
}

impl Store {
    pub async fn setting_get(&self, key: &str) -> Result<Option<String>> {
        let v = on_pool!(self, |pool| {
            match sqlx::query("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some(r.try_get::<String, _>("value")?),
                None => None,
            }
        });
        Ok(v)
    }

    pub async fn statement_latest(&self) -> Result<Option<StatementRow>> {
        let row = on_pool!(self, |pool| {
            match sqlx::query(
                "SELECT version, body, created_at, created_by FROM confidentiality_statements \
                 ORDER BY version DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await?
            {
                Some(r) => Some(StatementRow {
                    version: r.try_get("version")?,
                    body: r.try_get("body")?,
                    created_at: r.try_get("created_at")?,
                    created_by: r.try_get("created_by")?,
                }),
                None => None,
            }
        });
        Ok(row)
    }

    pub async fn statement_versions(&self) -> Result<Vec<StatementRow>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT version, body, created_at, created_by FROM confidentiality_statements ORDER BY version DESC",
            )
            .fetch_all(pool)
            .await?
            {
                out.push(StatementRow {
                    version: r.try_get("version")?,
                    body: r.try_get("body")?,
                    created_at: r.try_get("created_at")?,
                    created_by: r.try_get("created_by")?,
                });
            }
            out
        });
        Ok(rows)
    }

    /// Canned responses whose title or body contains `q` (case-insensitive); all when empty.
    pub async fn canned_search(&self, q: &str) -> Result<Vec<CannedRow>> {
        let pattern = format!("%{}%", q.to_lowercase().replace(['%', '_'], ""));
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT id, title, body, updated_at, updated_by FROM canned_responses \
                 WHERE LOWER(title) LIKE $1 OR LOWER(body) LIKE $1 ORDER BY title",
            )
            .bind(&pattern)
            .fetch_all(pool)
            .await?
            {
                out.push(CannedRow {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    body: r.try_get("body")?,
                    updated_at: r.try_get("updated_at")?,
                    updated_by: r.try_get("updated_by")?,
                });
            }
            out
        });
        Ok(rows)
    }

    /// Forgets contact notes recorded before `before` (retention). Returns how many.
    pub async fn contact_notes_purge(&self, before: i64) -> Result<u64> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
            "UPDATE contacts SET note_sealed = NULL WHERE note_sealed IS NOT NULL AND created_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(n)
    }
}

impl Tx {
    pub async fn setting_put(&mut self, key: &str, value: &str, now: i64, by: &str) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE SET value = $2, updated_at = $3, updated_by = $4",
            )
            .bind(key)
            .bind(value)
            .bind(now)
            .bind(by)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Adds a new version of the statement; returns its number.
    pub async fn statement_add(&mut self, body: &str, now: i64, by: &str) -> Result<i64> {
        for _ in 0..10 {
            let inserted = on_tx!(self, |c| {
                let next: i64 = sqlx::query(
                    "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM confidentiality_statements",
                )
                .fetch_one(&mut *c)
                .await?
                .try_get("next")?;
                let n = sqlx::query(
                    "INSERT INTO confidentiality_statements (version, body, created_at, created_by) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING",
                )
                .bind(next)
                .bind(body)
                .bind(now)
                .bind(by)
                .execute(&mut *c)
                .await?
                .rows_affected();
                (n == 1).then_some(next)
            });
            if let Some(version) = inserted {
                return Ok(version);
            }
        }
        Err(crate::StoreError::Conflict)
    }

    pub async fn canned_save(
        &mut self,
        id: Option<i64>,
        title: &str,
        body: &str,
        now: i64,
        by: &str,
    ) -> Result<i64> {
        let id = on_tx!(self, |c| {
            match id {
            Some(id) => {
                sqlx::query(
                    "UPDATE canned_responses SET title = $1, body = $2, updated_at = $3, updated_by = $4 WHERE id = $5",
                )
                .bind(title)
                .bind(body)
                .bind(now)
                .bind(by)
                .bind(id)
                .execute(&mut *c)
                .await?;
                id
            }
            None => sqlx::query(
                "INSERT INTO canned_responses (title, body, updated_at, updated_by) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(title)
            .bind(body)
            .bind(now)
            .bind(by)
            .fetch_one(&mut *c)
            .await?
            .try_get::<i64, _>("id")?,
        }
        });
        Ok(id)
    }

    pub async fn canned_delete(&mut self, id: i64) -> Result<bool> {
        let n = on_tx!(self, |c| sqlx::query(
            "DELETE FROM canned_responses WHERE id = $1"
        )
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }
}
