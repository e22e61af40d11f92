//! Callback requests. The phone number arrives sealed (bound to the row's id by the caller)
//! and is deleted when the call is done or the request expires; this module never sees it.

use crate::conversations::insert_contact;
use crate::tx::on_tx;
use crate::{on_pool, Result, Store, Tx, WrapUp};
use reachline_core::vocabulary::CallbackStatus;
use sqlx::{FromRow, Row};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CallbackRow {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub status: CallbackStatus,
    /// Comma-separated window ids, e.g. `weekday-morning,weekend`.
    pub windows: String,
    pub who: String,
    pub age_group: String,
    pub area: String,
    pub statement_version: String,
    pub phone_sealed: Option<Vec<u8>>,
    pub claimed_by: Option<i64>,
    pub claimed_by_name: Option<String>,
    pub attempts: i64,
    pub last_attempt_at: Option<i64>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub contact_id: Option<i64>,
}

/// What a help-seeker asks for (everything but the number).
#[derive(Debug, Clone, Default)]
pub struct NewCallback<'a> {
    pub windows: &'a str,
    pub who: &'a str,
    pub age_group: &'a str,
    pub area: &'a str,
    pub statement_version: &'a str,
}

const CALLBACK_SELECT: &str = "SELECT c.id, c.status, c.windows, c.who, c.age_group, c.area, \
     c.statement_version, c.phone_sealed, c.claimed_by, s.username AS claimed_by_name, c.attempts, \
     c.last_attempt_at, c.created_at, c.closed_at, c.contact_id FROM callbacks c \
     LEFT JOIN staff s ON s.id = c.claimed_by";

impl Store {
    /// Records a callback request with its number, sealed by `seal` for the new row's id,
    /// in one transaction: no row ever exists without its number, nor a number unbound.
    pub async fn callback_create(
        &self,
        c: &NewCallback<'_>,
        seal: impl Fn(i64) -> Vec<u8> + Send + Sync,
        now: i64,
    ) -> Result<i64> {
        let id = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
            let id: i64 = sqlx::query(
                "INSERT INTO callbacks (status, windows, who, age_group, area, statement_version, created_at) \
                 VALUES ('pending', $1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(c.windows)
            .bind(c.who)
            .bind(c.age_group)
            .bind(c.area)
            .bind(c.statement_version)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            sqlx::query("UPDATE callbacks SET phone_sealed = $1 WHERE id = $2")
                .bind(seal(id))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn callback_get(&self, id: i64) -> Result<Option<CallbackRow>> {
        let row = on_pool!(self, |pool| {
            match sqlx::query(&format!("{CALLBACK_SELECT} WHERE c.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some(CallbackRow::from_row(&r)?),
                None => None,
            }
        });
        Ok(row)
    }

    /// Pending callbacks, oldest first.
    /// How many callback requests wait to be made.
    pub async fn callbacks_pending_count(&self) -> Result<i64> {
        let n = on_pool!(self, |pool| {
            sqlx::query("SELECT COUNT(*) AS n FROM callbacks WHERE status = 'pending'")
                .fetch_one(pool)
                .await?
                .try_get::<i64, _>("n")?
        });
        Ok(n)
    }

    pub async fn callbacks_pending(&self) -> Result<Vec<CallbackRow>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(&format!(
                "{CALLBACK_SELECT} WHERE c.status = 'pending' ORDER BY c.created_at, c.id"
            ))
            .fetch_all(pool)
            .await?
            {
                out.push(CallbackRow::from_row(&r)?);
            }
            out
        });
        Ok(rows)
    }

    /// Expires callbacks still pending that were requested before `created_before`, deleting
    /// their numbers; also deletes any number left on a callback that is no longer pending.
    /// Returns how many requests expired.
    pub async fn callbacks_purge(&self, created_before: i64, now: i64) -> Result<u64> {
        let n = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
            let n = sqlx::query(
                "UPDATE callbacks SET status = 'expired', phone_sealed = NULL, claimed_by = NULL, closed_at = $2 \
                 WHERE status = 'pending' AND created_at < $1",
            )
            .bind(created_before)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "UPDATE callbacks SET phone_sealed = NULL \
                 WHERE status <> 'pending' AND phone_sealed IS NOT NULL",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            n
        });
        Ok(n)
    }
}

impl Tx {
    /// Claims a pending callback for one practitioner. Atomic: of two claims, one wins.
    pub async fn callback_claim(&mut self, id: i64, staff_id: i64) -> Result<bool> {
        let n = on_tx!(self, |c| {
            sqlx::query(
                "UPDATE callbacks SET claimed_by = $1 \
                 WHERE id = $2 AND claimed_by IS NULL AND status = 'pending'",
            )
            .bind(staff_id)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Records a call that did not get through: the attempt is counted, the claim released,
    /// and the request stays pending. Only the practitioner holding the claim can do this.
    pub async fn callback_attempt(&mut self, id: i64, staff_id: i64, now: i64) -> Result<bool> {
        let n = on_tx!(self, |c| {
            sqlx::query(
                "UPDATE callbacks SET attempts = attempts + 1, last_attempt_at = $1, claimed_by = NULL \
                 WHERE id = $2 AND claimed_by = $3 AND status = 'pending'",
            )
            .bind(now)
            .bind(id)
            .bind(staff_id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Marks a claimed callback done: deletes the number and records the wrap-up as a
    /// contact, in one transaction. `None` if it is not pending or not claimed by `staff_id`.
    pub async fn callback_done(
        &mut self,
        id: i64,
        staff_id: i64,
        w: &WrapUp,
        now: i64,
    ) -> Result<Option<i64>> {
        let contact = on_tx!(self, |c| {
            let done = sqlx::query(
                "UPDATE callbacks SET status = 'done', phone_sealed = NULL, closed_at = $1 \
                 WHERE id = $2 AND claimed_by = $3 AND status = 'pending'",
            )
            .bind(now)
            .bind(id)
            .bind(staff_id)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if done != 1 {
                None
            } else {
                let contact: i64 = insert_contact!(&mut *c, w, staff_id, now, None::<i64>);
                sqlx::query("UPDATE callbacks SET contact_id = $1 WHERE id = $2")
                    .bind(contact)
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
                Some(contact)
            }
        });
        Ok(contact)
    }
}
