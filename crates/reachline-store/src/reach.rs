//! Reach counters: per-day module views and exercise completions, and first visits of the
//! year by area. Counts only; nothing here identifies a person or a device.

use crate::{on_pool, Result, Store};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyCount {
    pub day: String,
    pub metric: String,
    pub subject: String,
    pub n: i64,
}

/// A counter summed over a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyCount {
    pub month: String,
    pub metric: String,
    pub n: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstVisitCount {
    pub year: i64,
    pub area: String,
    pub n: i64,
}

impl Store {
    /// Adds `n` to a daily counter.
    pub async fn reach_add_daily(
        &self,
        day: &str,
        metric: &str,
        subject: &str,
        n: i64,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO reach_daily (day, metric, subject, n) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (day, metric, subject) DO UPDATE SET n = reach_daily.n + $4",
            )
            .bind(day)
            .bind(metric)
            .bind(subject)
            .bind(n)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Adds `n` (which may be negative) to the first visits of `year` in `area`, never going
    /// below zero.
    pub async fn reach_add_first_visits(&self, year: i64, area: &str, n: i64) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO reach_first_visits (year, area, n) VALUES ($1, $2, $3) \
                 ON CONFLICT (year, area) DO UPDATE SET n = \
                 CASE WHEN reach_first_visits.n + $4 < 0 THEN 0 ELSE reach_first_visits.n + $4 END",
            )
            .bind(year)
            .bind(area)
            .bind(n.max(0))
            .bind(n)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Adds one to a daily counter.
    pub async fn reach_count_daily(&self, day: &str, metric: &str, subject: &str) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO reach_daily (day, metric, subject, n) VALUES ($1, $2, $3, 1) \
                 ON CONFLICT (day, metric, subject) DO UPDATE SET n = reach_daily.n + 1",
            )
            .bind(day)
            .bind(metric)
            .bind(subject)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Adds one first visit of `year` in `area`.
    pub async fn reach_count_first_visit(&self, year: i64, area: &str) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO reach_first_visits (year, area, n) VALUES ($1, $2, 1) \
                 ON CONFLICT (year, area) DO UPDATE SET n = reach_first_visits.n + 1",
            )
            .bind(year)
            .bind(area)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Moves one first visit of `year` from area `from` to area `to` (when a person tells us
    /// their area after their first page). Never takes a count below zero.
    pub async fn reach_move_first_visit(&self, year: i64, from: &str, to: &str) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
            let moved = sqlx::query(
                "UPDATE reach_first_visits SET n = n - 1 WHERE year = $1 AND area = $2 AND n > 0",
            )
            .bind(year)
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 1 {
                sqlx::query(
                    "INSERT INTO reach_first_visits (year, area, n) VALUES ($1, $2, 1) \
                     ON CONFLICT (year, area) DO UPDATE SET n = reach_first_visits.n + 1",
                )
                .bind(year)
                .bind(to)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?
        });
        Ok(())
    }

    /// Daily counters between two days inclusive (`YYYY-MM-DD`).
    pub async fn reach_daily(&self, from_day: &str, to_day: &str) -> Result<Vec<DailyCount>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT day, metric, subject, n FROM reach_daily WHERE day >= $1 AND day <= $2 \
                 ORDER BY day, metric, subject",
            )
            .bind(from_day)
            .bind(to_day)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok(DailyCount {
                    day: r.try_get("day")?,
                    metric: r.try_get("metric")?,
                    subject: r.try_get("subject")?,
                    n: r.try_get("n")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// Daily counters summed by month and metric between two days inclusive (`YYYY-MM-DD`):
    /// what reports publish (module views, exercise completions).
    pub async fn reach_monthly(&self, from_day: &str, to_day: &str) -> Result<Vec<MonthlyCount>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT SUBSTR(day, 1, 7) AS month, metric, CAST(SUM(n) AS BIGINT) AS n FROM reach_daily \
                 WHERE day >= $1 AND day <= $2 GROUP BY SUBSTR(day, 1, 7), metric ORDER BY month, metric",
            )
            .bind(from_day)
            .bind(to_day)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok(MonthlyCount {
                    month: r.try_get("month")?,
                    metric: r.try_get("metric")?,
                    n: r.try_get("n")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// First visits of a year by area.
    pub async fn reach_first_visits(&self, year: i64) -> Result<Vec<FirstVisitCount>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT year, area, n FROM reach_first_visits WHERE year = $1 ORDER BY area",
            )
            .bind(year)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok(FirstVisitCount {
                    year: r.try_get("year")?,
                    area: r.try_get("area")?,
                    n: r.try_get("n")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }
}
