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
    /// `warn`, or `never` for a never-warn list.
    pub role: String,
    /// Loaded in shadow: matched and counted, never warns.
    pub shadow: bool,
    /// When this version last went live.
    pub live_at: Option<i64>,
    /// The PDQ distance for this list's hashes, when not the service's default.
    pub pdq_distance: Option<i64>,
}

/// How a list version is loaded: its role, in shadow or live, and its PDQ distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListMode<'a> {
    /// `warn` (the default when empty) or `never`.
    pub role: &'a str,
    pub shadow: bool,
    pub pdq_distance: Option<i64>,
}

/// Matches of one list entry on one day with one outcome (never an input).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryCount {
    pub day: String,
    pub kind: String,
    pub name: String,
    pub version: i64,
    pub entry_id: String,
    pub category: String,
    pub outcome: String,
    pub n: i64,
}

/// What changes when the lists in force change: the versions in use (id, active, shadow)
/// and the number of disabled entries.
pub type ListsGeneration = (Vec<(i64, i64, i64)>, i64);

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

const LIST_COLUMNS: &str = "id, kind, name, version, category, entries, (active <> 0) AS active, \
     created_at, created_by, role, (shadow <> 0) AS shadow, live_at, pdq_distance";
/// The same, from an older release's schema: every list a live warning list.
const OLD_LIST_COLUMNS: &str =
    "id, kind, name, version, category, entries, (active <> 0) AS active, \
     created_at, created_by, 'warn' AS role, (active <> active) AS shadow, created_at AS live_at, \
     CAST(NULL AS BIGINT) AS pdq_distance";

impl Store {
    fn list_columns(&self) -> &'static str {
        if self.has_list_modes() {
            LIST_COLUMNS
        } else {
            OLD_LIST_COLUMNS
        }
    }

    fn in_use(&self) -> &'static str {
        if self.has_list_modes() {
            "active = 1 OR shadow = 1"
        } else {
            "active = 1"
        }
    }
}

impl Store {
    /// Every version of every list, newest first.
    pub async fn lists_all(&self) -> Result<Vec<ListRow>> {
        let columns = self.list_columns();
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(&format!(
                "SELECT {columns} FROM deterrence_lists ORDER BY kind, name, version DESC"
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

    /// The versions in use (live or in shadow) with their sealed content.
    pub async fn lists_active(&self) -> Result<Vec<(ListRow, Vec<u8>)>> {
        let (columns, in_use) = (self.list_columns(), self.in_use());
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(&format!(
                "SELECT {columns}, sealed FROM deterrence_lists WHERE {in_use} ORDER BY id"
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

    /// Changes whenever the versions in use or the tombstones change.
    pub async fn lists_generation(&self) -> Result<ListsGeneration> {
        let sql = if self.has_list_modes() {
            "SELECT id, active, shadow FROM deterrence_lists WHERE active = 1 OR shadow = 1 ORDER BY id"
        } else {
            "SELECT id, active, active - active AS shadow FROM deterrence_lists WHERE active = 1 ORDER BY id"
        };
        let g = on_pool!(self, |pool| {
            let mut a = Vec::new();
            for r in sqlx::query(sql).fetch_all(pool).await? {
                a.push((r.try_get("id")?, r.try_get("active")?, r.try_get("shadow")?));
            }
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

/// Within a transaction: adds each [`EntryCount`] to its day's row.
macro_rules! add_entry_counts {
    ($tx:expr, $counts:expr) => {
        for c in $counts {
            sqlx::query(
                "INSERT INTO deterrence_entry_daily (day, kind, name, version, entry_id, category, outcome, n) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (day, kind, name, version, entry_id, outcome) DO UPDATE SET n = deterrence_entry_daily.n + $8",
            )
            .bind(&c.day)
            .bind(&c.kind)
            .bind(&c.name)
            .bind(c.version)
            .bind(&c.entry_id)
            .bind(&c.category)
            .bind(&c.outcome)
            .bind(c.n)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

impl Store {
    /// Adds matches per entry (buffered by the gateway), in one transaction.
    pub async fn deterrence_entries_add(&self, counts: &[EntryCount]) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
            add_entry_counts!(tx, counts);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Counts a partner's report that a warning was wrong, once per match identifier
    /// (`id_hash`, a digest of it); forgets identifiers seen before `forget_before`.
    /// False when this identifier was already reported.
    pub async fn deterrence_feedback(
        &self,
        id_hash: &str,
        forget_before: &str,
        counts: &[EntryCount],
    ) -> Result<bool> {
        let counted = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
            sqlx::query("DELETE FROM deterrence_feedback_seen WHERE day < $1")
                .bind(forget_before)
                .execute(&mut *tx)
                .await?;
            let day = counts
                .first()
                .map(|c| c.day.as_str())
                .unwrap_or(forget_before);
            let fresh = sqlx::query(
                "INSERT INTO deterrence_feedback_seen (id_hash, day) VALUES ($1, $2) ON CONFLICT (id_hash) DO NOTHING",
            )
            .bind(id_hash)
            .bind(day)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if fresh {
                add_entry_counts!(tx, counts);
            }
            tx.commit().await?;
            fresh
        });
        Ok(counted)
    }

    /// Matches per entry, day and outcome between two days inclusive.
    pub async fn deterrence_entry_counts(
        &self,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<EntryCount>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT day, kind, name, version, entry_id, category, outcome, n FROM deterrence_entry_daily \
                 WHERE day >= $1 AND day <= $2 ORDER BY day, kind, name, version, entry_id, outcome",
            )
            .bind(from_day)
            .bind(to_day)
            .fetch_all(pool)
            .await?
            {
                out.push(EntryCount {
                    day: r.try_get("day")?,
                    kind: r.try_get("kind")?,
                    name: r.try_get("name")?,
                    version: r.try_get("version")?,
                    entry_id: r.try_get("entry_id")?,
                    category: r.try_get("category")?,
                    outcome: r.try_get("outcome")?,
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
        self.list_import_as(
            kind,
            name,
            category,
            entries,
            seal,
            now,
            by,
            ListMode::default(),
        )
        .await
    }

    /// Adds a new version of a list: live (replacing the live version) or in shadow
    /// (replacing an earlier shadow version, the live one untouched). A list keeps one role:
    /// importing a never-warn list under a warning list's name (or the reverse) is a
    /// [`StoreError::Conflict`].
    #[allow(clippy::too_many_arguments)]
    pub async fn list_import_as(
        &mut self,
        kind: &str,
        name: &str,
        category: &str,
        entries: i64,
        seal: impl Fn(i64) -> Vec<u8>,
        now: i64,
        by: &str,
        mode: ListMode<'_>,
    ) -> Result<i64> {
        let role = if mode.role.is_empty() {
            "warn"
        } else {
            mode.role
        };
        if !self.list_modes {
            if role != "warn" || mode.shadow || mode.pdq_distance.is_some() {
                return Err(StoreError::Conflict);
            }
            let version = on_tx!(self, |c| {
                let version: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM deterrence_lists WHERE kind = $1 AND name = $2",
                )
                .bind(kind)
                .bind(name)
                .fetch_one(&mut *c)
                .await?;
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
            return Ok(version);
        }
        let version = on_tx!(self, |c| {
            let other_role: Option<String> = sqlx::query_scalar(
                "SELECT role FROM deterrence_lists WHERE kind = $1 AND name = $2 AND role <> $3 LIMIT 1",
            )
            .bind(kind)
            .bind(name)
            .bind(role)
            .fetch_optional(&mut *c)
            .await?;
            if other_role.is_some() {
                return Err(StoreError::Conflict);
            }
            let version: i64 = sqlx::query(
                "SELECT COALESCE(MAX(version), 0) + 1 AS v FROM deterrence_lists WHERE kind = $1 AND name = $2",
            )
            .bind(kind)
            .bind(name)
            .fetch_one(&mut *c)
            .await?
            .try_get("v")?;
            let replaced = if mode.shadow {
                "UPDATE deterrence_lists SET shadow = 0 WHERE kind = $1 AND name = $2"
            } else {
                "UPDATE deterrence_lists SET active = 0 WHERE kind = $1 AND name = $2"
            };
            sqlx::query(replaced)
                .bind(kind)
                .bind(name)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO deterrence_lists (kind, name, version, category, entries, active, sealed, created_at, created_by, \
                 role, shadow, live_at, pdq_distance) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(kind)
            .bind(name)
            .bind(version)
            .bind(category)
            .bind(entries)
            .bind(i64::from(!mode.shadow))
            .bind(seal(version))
            .bind(now)
            .bind(by)
            .bind(role)
            .bind(i64::from(mode.shadow))
            .bind((!mode.shadow).then_some(now))
            .bind(mode.pdq_distance)
            .execute(&mut *c)
            .await?;
            version
        });
        Ok(version)
    }

    /// Makes a list's shadow version the live one (the live version is kept for a
    /// rollback). The version promoted, or `None` when there is no shadow version.
    pub async fn list_promote(&mut self, kind: &str, name: &str, now: i64) -> Result<Option<i64>> {
        let promoted = on_tx!(self, |c| {
            let shadow: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM deterrence_lists WHERE kind = $1 AND name = $2 AND shadow = 1",
            )
            .bind(kind)
            .bind(name)
            .fetch_optional(&mut *c)
            .await?;
            if let Some(v) = shadow {
                sqlx::query("UPDATE deterrence_lists SET active = 0 WHERE kind = $1 AND name = $2")
                    .bind(kind)
                    .bind(name)
                    .execute(&mut *c)
                    .await?;
                sqlx::query(
                    "UPDATE deterrence_lists SET active = 1, shadow = 0, live_at = $4 WHERE kind = $1 AND name = $2 AND version = $3",
                )
                .bind(kind)
                .bind(name)
                .bind(v)
                .bind(now)
                .execute(&mut *c)
                .await?;
            }
            shadow
        });
        Ok(promoted)
    }

    /// Puts back the newest earlier version that was live. (from, to), or `None` when the
    /// list has no live version or none was live before it.
    pub async fn list_rollback(
        &mut self,
        kind: &str,
        name: &str,
        now: i64,
    ) -> Result<Option<(i64, i64)>> {
        let done = on_tx!(self, |c| {
            let live: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM deterrence_lists WHERE kind = $1 AND name = $2 AND active = 1",
            )
            .bind(kind)
            .bind(name)
            .fetch_optional(&mut *c)
            .await?;
            let earlier: Option<i64> = match live {
                Some(v) => sqlx::query_scalar(
                    "SELECT MAX(version) FROM deterrence_lists WHERE kind = $1 AND name = $2 AND version < $3 \
                     AND live_at IS NOT NULL AND shadow = 0",
                )
                .bind(kind)
                .bind(name)
                .bind(v)
                .fetch_one(&mut *c)
                .await?,
                None => None,
            };
            match (live, earlier) {
                (Some(from), Some(to)) => {
                    sqlx::query(
                        "UPDATE deterrence_lists SET active = 0 WHERE kind = $1 AND name = $2",
                    )
                    .bind(kind)
                    .bind(name)
                    .execute(&mut *c)
                    .await?;
                    sqlx::query(
                        "UPDATE deterrence_lists SET active = 1, live_at = $4 WHERE kind = $1 AND name = $2 AND version = $3",
                    )
                    .bind(kind)
                    .bind(name)
                    .bind(to)
                    .bind(now)
                    .execute(&mut *c)
                    .await?;
                    Some((from, to))
                }
                _ => None,
            }
        });
        Ok(done)
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
