//! Staff accounts, enrolment links, recovery codes and console sessions.

use crate::tx::on_tx;
use crate::{on_pool, Result, Store, StoreError, Tx};
use reachline_core::staff::Role;
use sqlx::{FromRow, Row};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StaffRow {
    pub id: i64,
    pub username: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub areas: String,
    pub password_hash: Option<String>,
    pub totp_sealed: Option<Vec<u8>>,
    pub totp_last_step: i64,
    pub failed_logins: i64,
    pub locked_until: i64,
    pub disabled: bool,
    pub created_at: i64,
}

impl StaffRow {
    pub fn enrolled(&self) -> bool {
        self.password_hash.is_some() && self.totp_sealed.is_some()
    }
}

/// The columns of a [`StaffRow`], of the table named `p` (`""` or `"s."`).
fn staff_columns(p: &str) -> String {
    format!(
        "{p}id, {p}username, {p}role, {p}areas, {p}password_hash, {p}totp_sealed, {p}totp_last_step, \
         {p}failed_logins, {p}locked_until, ({p}disabled <> 0) AS disabled, {p}created_at"
    )
}

/// A session as read back with its account.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub staff: StaffRow,
    pub csrf: String,
    pub created_at: i64,
    pub last_seen: i64,
}

fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Store {
    pub async fn staff_by_username(&self, username: &str) -> Result<Option<StaffRow>> {
        let row = on_pool!(self, |pool| {
            match sqlx::query(&format!(
                "SELECT {} FROM staff WHERE username = $1",
                staff_columns("")
            ))
            .bind(username)
            .fetch_optional(pool)
            .await?
            {
                Some(r) => Some(StaffRow::from_row(&r)?),
                None => None,
            }
        });
        Ok(row)
    }

    pub async fn staff_by_id(&self, id: i64) -> Result<Option<StaffRow>> {
        let row = on_pool!(self, |pool| {
            match sqlx::query(&format!(
                "SELECT {} FROM staff WHERE id = $1",
                staff_columns("")
            ))
            .bind(id)
            .fetch_optional(pool)
            .await?
            {
                Some(r) => Some(StaffRow::from_row(&r)?),
                None => None,
            }
        });
        Ok(row)
    }

    pub async fn staff_list(&self) -> Result<Vec<StaffRow>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(&format!(
                "SELECT {} FROM staff ORDER BY username",
                staff_columns("")
            ))
            .fetch_all(pool)
            .await?
            {
                out.push(StaffRow::from_row(&r)?);
            }
            out
        });
        Ok(rows)
    }

    /// The stored hashes of an account's unused recovery codes.
    pub async fn staff_unused_recovery_hashes(&self, id: i64) -> Result<Vec<String>> {
        let rows = on_pool!(self, |p| {
            sqlx::query_scalar::<_, String>(
                "SELECT code_hash FROM staff_recovery_codes WHERE staff_id = $1 AND used_at IS NULL",
            )
            .bind(id)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    pub async fn staff_recovery_codes_left(&self, id: i64) -> Result<i64> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
            "SELECT COUNT(*) AS n FROM staff_recovery_codes WHERE staff_id = $1 AND used_at IS NULL"
        )
        .bind(id)
        .fetch_one(pool)
        .await?
        .try_get::<i64, _>("n")?
        });
        Ok(n)
    }

    // ---- enrolment links -----------------------------------------------------------------

    /// The account an unused, unexpired link belongs to, and the TOTP secret already shown
    /// for it (if the page was opened before).
    pub async fn enrolment_get(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(i64, Option<Vec<u8>>)>> {
        let row = on_pool!(self, |pool| {
            match sqlx::query(
                "SELECT staff_id, totp_pending FROM staff_enrolments \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
            {
                Some(r) => Some((
                    r.try_get::<i64, _>("staff_id")?,
                    r.try_get::<Option<Vec<u8>>, _>("totp_pending")?,
                )),
                None => None,
            }
        });
        Ok(row)
    }

    /// The account a link was made for, used or expired alike (to record a real link tried
    /// again; made-up links find nothing).
    pub async fn enrolment_owner(&self, token_hash: &str) -> Result<Option<i64>> {
        let id = on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT staff_id FROM staff_enrolments WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        Ok(id)
    }

    /// Remembers the TOTP secret shown for a link, unless one was stored first (two tabs).
    pub async fn enrolment_set_pending(&self, token_hash: &str, sealed: &[u8]) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE staff_enrolments SET totp_pending = $1 WHERE token_hash = $2 AND totp_pending IS NULL")
                .bind(sealed)
                .bind(token_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    // ---- sessions --------------------------------------------------------------------------

    pub async fn session_get(&self, token_hash: &str) -> Result<Option<SessionRow>> {
        let row = on_pool!(self, |pool| {
            let cols = staff_columns("s.");
            match sqlx::query(&format!(
                "SELECT {cols}, x.csrf, x.created_at AS session_created, x.last_seen \
                 FROM staff_sessions x JOIN staff s ON s.id = x.staff_id WHERE x.token_hash = $1"
            ))
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
            {
                Some(r) => Some(SessionRow {
                    staff: StaffRow::from_row(&r)?,
                    csrf: r.try_get("csrf")?,
                    created_at: r.try_get("session_created")?,
                    last_seen: r.try_get("last_seen")?,
                }),
                None => None,
            }
        });
        Ok(row)
    }

    pub async fn session_touch(&self, token_hash: &str, now: i64) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE staff_sessions SET last_seen = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(token_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Deletes sessions idle since `idle_before` or created before `created_before`.
    pub async fn sessions_purge(&self, idle_before: i64, created_before: i64) -> Result<u64> {
        let n = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM staff_sessions WHERE last_seen < $1 OR created_at < $2"
        )
        .bind(idle_before)
        .bind(created_before)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n)
    }
}

impl Store {
    /// Creates an account in a transaction of its own (operator set-up, tests, demo data).
    pub async fn staff_create(
        &self,
        username: &str,
        role: Role,
        areas: &str,
        now: i64,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = tx.staff_create(username, role, areas, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Opens a console session in a transaction of its own (tests and load tools set up
    /// signed-in staff this way; the console signs in through `Tx::session_create`).
    pub async fn session_create(
        &self,
        token_hash: &str,
        staff_id: i64,
        csrf: &str,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.session_create(token_hash, staff_id, csrf, now).await?;
        tx.commit().await
    }

    /// Records an enrolment link in a transaction of its own.
    pub async fn enrolment_create(
        &self,
        token_hash: &str,
        staff_id: i64,
        expires_at: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.enrolment_create(token_hash, staff_id, expires_at)
            .await?;
        tx.commit().await
    }
}

/// Account changes that are audited: the caller commits them with their audit entry.
impl Tx {
    pub async fn staff_create(
        &mut self,
        username: &str,
        role: Role,
        areas: &str,
        now: i64,
    ) -> Result<i64> {
        let result = on_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO staff (username, role, areas, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(username)
            .bind(role.as_str())
            .bind(areas)
            .bind(now)
            .fetch_one(&mut *c)
            .await
            .and_then(|r| r.try_get::<i64, _>("id"))
        });
        match result {
            Ok(id) => Ok(id),
            Err(e) if unique_violation(&e) => Err(StoreError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets an account's role and areas and ends its sessions, so the change takes effect at
    /// once. False if there is no such account.
    pub async fn staff_set_role(&mut self, id: i64, role: Role, areas: &str) -> Result<bool> {
        let n = on_tx!(self, |c| {
            let n = sqlx::query("UPDATE staff SET role = $1, areas = $2 WHERE id = $3")
                .bind(role.as_str())
                .bind(areas)
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1")
                .bind(id)
                .execute(&mut *c)
                .await?;
            n
        });
        Ok(n == 1)
    }

    /// Disables or re-enables an account; disabling ends its sessions.
    pub async fn staff_set_disabled(&mut self, id: i64, disabled: bool) -> Result<bool> {
        let n = on_tx!(self, |c| {
            let n = sqlx::query("UPDATE staff SET disabled = $1 WHERE id = $2")
                .bind(i64::from(disabled))
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected();
            if disabled {
                sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1")
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
            }
            n
        });
        Ok(n == 1)
    }

    /// Clears credentials so the person must enrol again; ends their sessions.
    pub async fn staff_reset_credentials(&mut self, id: i64) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
                "UPDATE staff SET password_hash = NULL, totp_sealed = NULL, totp_last_step = 0, \
                 failed_logins = 0, locked_until = 0 WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *c)
            .await?;
            for sql in [
                "DELETE FROM staff_recovery_codes WHERE staff_id = $1",
                "DELETE FROM staff_sessions WHERE staff_id = $1",
                "UPDATE staff_enrolments SET used_at = -1 WHERE staff_id = $1 AND used_at IS NULL",
            ] {
                sqlx::query(sql).bind(id).execute(&mut *c).await?;
            }
        });
        Ok(())
    }

    pub async fn enrolment_create(
        &mut self,
        token_hash: &str,
        staff_id: i64,
        expires_at: i64,
    ) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO staff_enrolments (token_hash, staff_id, expires_at) VALUES ($1, $2, $3)",
            )
            .bind(token_hash)
            .bind(staff_id)
            .bind(expires_at)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }
}

impl Tx {
    pub async fn session_create(
        &mut self,
        token_hash: &str,
        staff_id: i64,
        csrf: &str,
        now: i64,
    ) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO staff_sessions (token_hash, staff_id, csrf, created_at, last_seen) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(token_hash)
            .bind(staff_id)
            .bind(csrf)
            .bind(now)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    pub async fn staff_login_succeeded(&mut self, id: i64) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query("UPDATE staff SET failed_logins = 0, locked_until = 0 WHERE id = $1")
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Records a failed sign-in; returns the new failure count.
    pub async fn staff_login_failed(&mut self, id: i64, lock_until: Option<i64>) -> Result<i64> {
        let n = on_tx!(self, |c| {
            sqlx::query(
                "UPDATE staff SET failed_logins = failed_logins + 1, \
                 locked_until = CASE WHEN $1 > locked_until THEN $1 ELSE locked_until END \
                 WHERE id = $2 RETURNING failed_logins",
            )
            .bind(lock_until.unwrap_or(0))
            .bind(id)
            .fetch_one(&mut *c)
            .await?
            .try_get::<i64, _>("failed_logins")?
        });
        Ok(n)
    }

    /// Accepts a TOTP time step only if it is later than the last one accepted (so a code
    /// cannot be replayed within its step). Atomic across instances.
    pub async fn staff_accept_totp_step(&mut self, id: i64, step: i64) -> Result<bool> {
        let n = on_tx!(self, |c| {
            sqlx::query(
                "UPDATE staff SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
            )
            .bind(step)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Uses a recovery code once. False if unknown or already used.
    pub async fn staff_use_recovery_code(
        &mut self,
        id: i64,
        code_hash: &str,
        now: i64,
    ) -> Result<bool> {
        let n = on_tx!(self, |c| {
            sqlx::query(
                "UPDATE staff_recovery_codes SET used_at = $1 \
                 WHERE staff_id = $2 AND code_hash = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .bind(code_hash)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Completes enrolment: sets the password and TOTP secret, replaces the recovery codes,
    /// and uses up the enrolment link — all or nothing. False if the link was already used.
    pub async fn staff_enrol(
        &mut self,
        token_hash: &str,
        staff_id: i64,
        password_hash: &str,
        totp_sealed: &[u8],
        recovery_hashes: &[String],
        now: i64,
    ) -> Result<bool> {
        let done = on_tx!(self, |c| {
            let taken = sqlx::query(
                "UPDATE staff_enrolments SET used_at = $1, totp_pending = NULL \
                 WHERE token_hash = $2 AND staff_id = $3 AND used_at IS NULL AND expires_at > $1",
            )
            .bind(now)
            .bind(token_hash)
            .bind(staff_id)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if taken != 1 {
                false
            } else {
                sqlx::query(
                    "UPDATE staff SET password_hash = $1, totp_sealed = $2, totp_last_step = 0, \
                     failed_logins = 0, locked_until = 0 WHERE id = $3",
                )
                .bind(password_hash)
                .bind(totp_sealed)
                .bind(staff_id)
                .execute(&mut *c)
                .await?;
                sqlx::query("DELETE FROM staff_recovery_codes WHERE staff_id = $1")
                    .bind(staff_id)
                    .execute(&mut *c)
                    .await?;
                for h in recovery_hashes {
                    sqlx::query(
                        "INSERT INTO staff_recovery_codes (staff_id, code_hash) VALUES ($1, $2)",
                    )
                    .bind(staff_id)
                    .bind(h)
                    .execute(&mut *c)
                    .await?;
                }
                true
            }
        });
        Ok(done)
    }

    pub async fn session_delete(&mut self, token_hash: &str) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Ends every session of one account ("sign out everywhere").
    pub async fn sessions_delete_for(&mut self, staff_id: i64) -> Result<u64> {
        let n = on_tx!(self, |c| sqlx::query(
            "DELETE FROM staff_sessions WHERE staff_id = $1"
        )
        .bind(staff_id)
        .execute(&mut *c)
        .await?
        .rows_affected());
        Ok(n)
    }
}
