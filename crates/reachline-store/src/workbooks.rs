//! Self-help workbooks: sealed exercise answers.

use crate::{on_pool, Result, Store};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkbookRow {
    pub id: String,
    pub lookup: Option<String>,
    pub sealed: Vec<u8>,
    pub revision: i64,
    pub expires_at: i64,
}

fn row_to_workbook<R: Row>(r: &R) -> std::result::Result<WorkbookRow, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(WorkbookRow {
        id: r.try_get("id")?,
        lookup: r.try_get("lookup")?,
        sealed: r.try_get("sealed")?,
        revision: r.try_get("revision")?,
        expires_at: r.try_get("expires_at")?,
    })
}

impl Store {
    pub async fn workbook_create(
        &self,
        id: &str,
        sealed: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO workbooks (id, lookup, sealed, revision, created_at, updated_at, expires_at) \
                 VALUES ($1, NULL, $2, 1, $3, $3, $4)",
            )
            .bind(id)
            .bind(sealed)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The workbook with this id, if it exists and has not expired.
    pub async fn workbook_get(&self, id: &str, now: i64) -> Result<Option<WorkbookRow>> {
        let row = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT id, lookup, sealed, revision, expires_at FROM workbooks \
                 WHERE id = $1 AND expires_at > $2",
            )
            .bind(id)
            .bind(now)
            .fetch_optional(pool)
            .await?
            .map(|r| row_to_workbook(&r))
            .transpose()?
        });
        Ok(row)
    }

    /// The saved workbook with this lookup hash, if it exists and has not expired.
    pub async fn workbook_find(&self, lookup: &str, now: i64) -> Result<Option<WorkbookRow>> {
        let row = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT id, lookup, sealed, revision, expires_at FROM workbooks \
                 WHERE lookup = $1 AND expires_at > $2",
            )
            .bind(lookup)
            .bind(now)
            .fetch_optional(pool)
            .await?
            .map(|r| row_to_workbook(&r))
            .transpose()?
        });
        Ok(row)
    }

    /// Replaces a workbook's sealed answers if nobody changed it since `revision` was read
    /// (optimistic concurrency: two tabs saving at once never lose an answer silently).
    /// Returns false when the revision moved on; the caller reads again and retries.
    pub async fn workbook_update(
        &self,
        id: &str,
        revision: i64,
        lookup: Option<&str>,
        sealed: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE workbooks SET sealed = $1, lookup = $2, revision = revision + 1, \
                 updated_at = $3, expires_at = $4 WHERE id = $5 AND revision = $6",
            )
            .bind(sealed)
            .bind(lookup)
            .bind(now)
            .bind(expires_at)
            .bind(id)
            .bind(revision)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Records the hint of the code this workbook was saved under.
    pub async fn workbook_set_hint(&self, id: &str, hint: &str) -> Result<()> {
        if !self.keeps_code_hints() {
            return Ok(());
        }
        on_pool!(self, |pool| {
            sqlx::query("UPDATE workbooks SET hint = $1 WHERE id = $2")
                .bind(hint)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Whether a code with this hint might open something: a saved workbook or a secure
    /// message thread with this hint, or one from before hints were kept (found the slow
    /// way). `false` means the code opens nothing.
    pub async fn code_may_open(&self, hint: &str, now: i64) -> Result<bool> {
        if !self.keeps_code_hints() {
            return Ok(true);
        }
        let found = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT (EXISTS (SELECT 1 FROM workbooks WHERE expires_at > $2 AND lookup IS NOT NULL \
                    AND (hint = $1 OR hint IS NULL)) \
                 OR EXISTS (SELECT 1 FROM conversations WHERE channel = 'message' AND lookup IS NOT NULL \
                    AND (hint = $1 OR hint IS NULL))) AS found",
            )
            .bind(hint)
            .bind(now)
            .fetch_one(pool)
            .await?
            .try_get::<bool, _>("found")?
        });
        Ok(found)
    }

    pub async fn workbook_delete(&self, id: &str) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM workbooks WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Deletes every workbook whose time is up. Returns how many went.
    pub async fn workbooks_purge(&self, now: i64) -> Result<u64> {
        let n = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM workbooks WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }

    pub async fn workbooks_count(&self) -> Result<i64> {
        let n = on_pool!(self, |pool| {
            sqlx::query("SELECT COUNT(*) AS n FROM workbooks")
                .fetch_one(pool)
                .await?
                .try_get::<i64, _>("n")?
        });
        Ok(n)
    }
}
