//! Deterrence lists (sealed, versioned), tombstones, partners and their daily counters.

use crate::tx::on_tx;
use crate::{on_pool, Result, Store, StoreError, Tx};
use reachline_core::vocabulary::ListKind;
use sqlx::{FromRow, Row};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ListRow {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: ListKind,
    pub name: String,
    pub version: i64,
    pub category: String,
    pub entries: i64,
    pub active: bool,
    pub created_at: i64,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRow {
    pub id: i64,
    pub name: String,
    pub frame_ancestors: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeterrenceCount {
    pub day: String,
    pub partner: i64,
    pub category: String,
    pub variant: String,
    pub metric: String,
    pub n: i64,
}

/// Deterrence counts summed by partner, variant and metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelCount {
    pub partner: i64,
    pub variant: String,
    pub metric: String,
    pub n: i64,
}

const LIST_COLUMNS: &str =
    "id, kind, name, version, category, entries, (active <> 0) AS active, created_at, created_by";

impl Store {
    /// Every version of every list, newest first.
    pub async fn lists_all(&self) -> Result<Vec<ListRow>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(&format!(
                "SELECT {LIST_COLUMNS} FROM deterrence_lists ORDER BY kind, name, version DESC"
            ))
            .fetch_all(pool)
            .await?
            {
                out.push(ListRow::from_row(&r)?);
            }
            out
        });
        Ok(rows)
    }

    /// The active versions with their sealed content.
    pub async fn lists_active(&self) -> Result<Vec<(ListRow, Vec<u8>)>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(&format!(
                "SELECT {LIST_COLUMNS}, sealed FROM deterrence_lists WHERE active = 1 ORDER BY id"
            ))
            .fetch_all(pool)
            .await?
            {
                out.push((ListRow::from_row(&r)?, r.try_get::<Vec<u8>, _>("sealed")?));
            }
            out
        });
        Ok(rows)
    }

    /// Changes whenever lists or tombstones change: (newest list row id, tombstone count).
    pub async fn lists_generation(&self) -> Result<(i64, i64)> {
        let g = on_pool!(self, |pool| {
            let a: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS g FROM deterrence_lists")
                .fetch_one(pool)
                .await?
                .try_get("g")?;
            let b: i64 = sqlx::query("SELECT COUNT(*) AS g FROM deterrence_tombstones")
                .fetch_one(pool)
                .await?
                .try_get("g")?;
            (a, b)
        });
        Ok(g)
    }

    /// Every disabled entry id.
    pub async fn tombstones(&self) -> Result<Vec<String>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query("SELECT entry_id FROM deterrence_tombstones")
                .fetch_all(pool)
                .await?
            {
                out.push(r.try_get::<String, _>("entry_id")?);
            }
            out
        });
        Ok(rows)
    }

    // ---- partners ----------------------------------------------------------------------

    /// The active partner holding this key hash.
    pub async fn partner_by_key(&self, key_hash: &str) -> Result<Option<PartnerRow>> {
        let row = on_pool!(self, |pool| {
            match sqlx::query(
                "SELECT id, name, frame_ancestors, created_at, revoked_at FROM partners WHERE key_hash = $1",
            )
            .bind(key_hash)
            .fetch_optional(pool)
            .await?
            {
                Some(r) => Some(PartnerRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    frame_ancestors: r.try_get("frame_ancestors")?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                }),
                None => None,
            }
        });
        Ok(row)
    }

    pub async fn partner_by_id(&self, id: i64) -> Result<Option<PartnerRow>> {
        let row = on_pool!(self, |pool| {
            match sqlx::query(
                "SELECT id, name, frame_ancestors, created_at, revoked_at FROM partners WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
            {
                Some(r) => Some(PartnerRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    frame_ancestors: r.try_get("frame_ancestors")?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                }),
                None => None,
            }
        });
        Ok(row)
    }

    pub async fn partners_all(&self) -> Result<Vec<PartnerRow>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query("SELECT id, name, frame_ancestors, created_at, revoked_at FROM partners ORDER BY name")
                .fetch_all(pool)
                .await?
            {
                out.push(PartnerRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    frame_ancestors: r.try_get("frame_ancestors")?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                });
            }
            out
        });
        Ok(rows)
    }

    // ---- counters -----------------------------------------------------------------------

    pub async fn deterrence_add(
        &self,
        day: &str,
        partner: i64,
        category: &str,
        variant: &str,
        metric: &str,
        n: i64,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO deterrence_daily (day, partner, category, variant, metric, n) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (day, partner, category, variant, metric) DO UPDATE SET n = deterrence_daily.n + $6",
            )
            .bind(day)
            .bind(partner)
            .bind(category)
            .bind(variant)
            .bind(metric)
            .bind(n)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Adds arrivals through a partner's help link, but never more than that partner's
    /// warnings with the same message variant shown that day and the day before, so a
    /// made-up stream of visits to a real link cannot inflate the funnel. Returns how many
    /// were counted.
    pub async fn deterrence_add_arrivals(
        &self,
        day: &str,
        day_before: &str,
        partner: i64,
        variant: &str,
        n: i64,
    ) -> Result<i64> {
        let added = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
            let sum = |metric: &'static str| {
                sqlx::query_scalar::<_, i64>(
                    "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM deterrence_daily \
                     WHERE partner = $1 AND variant = $2 AND metric = $3 AND day IN ($4, $5)",
                )
                .bind(partner)
                .bind(variant)
                .bind(metric)
                .bind(day)
                .bind(day_before)
            };
            let warnings = sum("warning").fetch_one(&mut *tx).await?;
            let arrivals = sum("arrival").fetch_one(&mut *tx).await?;
            let add = n.min(warnings - arrivals).max(0);
            if add > 0 {
                sqlx::query(
                    "INSERT INTO deterrence_daily (day, partner, category, variant, metric, n) \
                     VALUES ($1, $2, '', $3, 'arrival', $4) \
                     ON CONFLICT (day, partner, category, variant, metric) DO UPDATE SET n = deterrence_daily.n + $4",
                )
                .bind(day)
                .bind(partner)
                .bind(variant)
                .bind(add)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            add
        });
        Ok(added)
    }

    pub async fn deterrence_counts(
        &self,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<DeterrenceCount>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT day, partner, category, variant, metric, n FROM deterrence_daily \
                 WHERE day >= $1 AND day <= $2 ORDER BY day, partner, category, variant, metric",
            )
            .bind(from_day)
            .bind(to_day)
            .fetch_all(pool)
            .await?
            {
                out.push(DeterrenceCount {
                    day: r.try_get("day")?,
                    partner: r.try_get("partner")?,
                    category: r.try_get("category")?,
                    variant: r.try_get("variant")?,
                    metric: r.try_get("metric")?,
                    n: r.try_get("n")?,
                });
            }
            out
        });
        Ok(rows)
    }

    /// The deterrence funnel between two days inclusive: checks, warnings and help-link
    /// arrivals summed by partner and message variant (a campaign code is partner and
    /// variant; checks are counted before a variant is chosen, so they have none).
    pub async fn deterrence_funnel(
        &self,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<FunnelCount>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT partner, variant, metric, CAST(SUM(n) AS BIGINT) AS n FROM deterrence_daily \
                 WHERE day >= $1 AND day <= $2 AND metric IN ('check', 'warning', 'arrival') \
                 GROUP BY partner, variant, metric ORDER BY partner, variant, metric",
            )
            .bind(from_day)
            .bind(to_day)
            .fetch_all(pool)
            .await?
            {
                out.push(FunnelCount {
                    partner: r.try_get("partner")?,
                    variant: r.try_get("variant")?,
                    metric: r.try_get("metric")?,
                    n: r.try_get("n")?,
                });
            }
            out
        });
        Ok(rows)
    }
}

impl Store {
    /// Adds a partner in a transaction of its own (tests, demo and benchmark data); the
    /// operator command adds one with its audit entry through [`Tx::partner_create`].
    pub async fn partner_create(
        &self,
        name: &str,
        key_hash: &str,
        frame_ancestors: &str,
        now: i64,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = tx
            .partner_create(name, key_hash, frame_ancestors, now)
            .await?;
        tx.commit().await?;
        Ok(id)
    }
}

impl Tx {
    /// Adds a new version of a list and makes it the active one, in one transaction.
    /// `seal` gets the version number (for the sealing context) and returns the sealed bytes.
    #[allow(clippy::too_many_arguments)]
    pub async fn list_import(
        &mut self,
        kind: &str,
        name: &str,
        category: &str,
        entries: i64,
        seal: impl Fn(i64) -> Vec<u8>,
        now: i64,
        by: &str,
    ) -> Result<i64> {
        let version = on_tx!(self, |c| {
            let version: i64 = sqlx::query(
                "SELECT COALESCE(MAX(version), 0) + 1 AS v FROM deterrence_lists WHERE kind = $1 AND name = $2",
            )
            .bind(kind)
            .bind(name)
            .fetch_one(&mut *c)
            .await?
            .try_get("v")?;
            sqlx::query("UPDATE deterrence_lists SET active = 0 WHERE kind = $1 AND name = $2")
                .bind(kind)
                .bind(name)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO deterrence_lists (kind, name, version, category, entries, active, sealed, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8)",
            )
            .bind(kind)
            .bind(name)
            .bind(version)
            .bind(category)
            .bind(entries)
            .bind(seal(version))
            .bind(now)
            .bind(by)
            .execute(&mut *c)
            .await?;
            version
        });
        Ok(version)
    }

    /// Disables one entry at once. False if it was already disabled.
    pub async fn tombstone_add(
        &mut self,
        kind: &str,
        name: &str,
        entry_id: &str,
        now: i64,
        by: &str,
    ) -> Result<bool> {
        let n = on_tx!(self, |c| sqlx::query(
            "INSERT INTO deterrence_tombstones (kind, name, entry_id, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, name, entry_id) DO NOTHING"
        )
        .bind(kind)
        .bind(name)
        .bind(entry_id)
        .bind(now)
        .bind(by)
        .execute(&mut *c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    pub async fn partner_create(
        &mut self,
        name: &str,
        key_hash: &str,
        frame_ancestors: &str,
        now: i64,
    ) -> Result<i64> {
        let result = on_tx!(self, |c| {
            sqlx::query(
            "INSERT INTO partners (name, key_hash, frame_ancestors, created_at) VALUES ($1, $2, $3, $4) RETURNING id"
        )
        .bind(name)
        .bind(key_hash)
        .bind(frame_ancestors)
        .bind(now)
        .fetch_one(&mut *c)
        .await
        .and_then(|r| r.try_get::<i64, _>("id"))
        });
        match result {
            Ok(id) => Ok(id),
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Err(StoreError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn partner_revoke(&mut self, name: &str, now: i64) -> Result<bool> {
        let n = on_tx!(self, |c| sqlx::query(
            "UPDATE partners SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL"
        )
        .bind(now)
        .bind(name)
        .execute(&mut *c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }
}
