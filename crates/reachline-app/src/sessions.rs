//! Staff sign-in (password and a current TOTP code, or a single-use recovery code), console
//! sessions with idle and absolute timeouts, signing out here or everywhere, and enrolment
//! through one-time links. Every outcome is audited; an action commits with its entry.

use crate::accounts::Actor;
use crate::{App, Error};
use reachline_core::sealing::Context;
use reachline_core::staff::{self, totp, Role};
use reachline_store::StaffRow;

/// A service-wide budget of failed sign-ins per minute: guessing across many accounts is
/// slowed without relying on IP addresses.
pub type SignInGuard = crate::limits::FailureBudget<crate::limits::Whole>;

/// Why a sign-in was refused (what the person is told; the audit log says more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Too many failed sign-ins across the service this minute.
    Throttled,
    /// The username, password or code was wrong (which one is not said).
    Wrong,
    /// The account is locked for a while after repeated failures.
    Locked,
}

/// Why a practitioner's open socket may no longer act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// The session ended: signed out (here or everywhere), expired, the account disabled,
    /// or its role changed.
    SignedOut,
    /// The chat is no longer theirs (transferred).
    NotYours,
}

impl Revoked {
    /// The stable code and message id suffix.
    pub fn code(self) -> &'static str {
        match self {
            Revoked::SignedOut => "signed-out",
            Revoked::NotYours => "not-yours",
        }
    }
}

/// A new console session: the token goes into the person's cookie and is stored only as a
/// hash.
pub struct SignedIn {
    pub token: String,
}

/// A valid session's staff member.
#[derive(Debug, Clone)]
pub struct SessionStaff {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub areas: Vec<String>,
    pub csrf: String,
    pub session_hash: String,
}

impl SessionStaff {
    /// This staff member as the actor of a use case.
    pub fn actor(&self) -> Actor<'_> {
        Actor {
            id: self.id,
            username: &self.username,
        }
    }

    /// Whether their role is one of `roles`.
    pub fn is(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }
}

/// What an enrolment page shows: whose account, and the TOTP secret to add to an app.
pub struct Enrolment {
    pub username: String,
    pub secret: Vec<u8>,
}

impl App {
    /// Signs a staff member in. `Ok(Err(_))` is a refusal to show; `Err` a failure of the
    /// service (nothing was changed).
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        code: &str,
    ) -> Result<Result<SignedIn, Refused>, Error> {
        let now = self.clock.now_unix();
        if !self.sign_in_guard.open(&()) {
            self.audit(
                "system",
                "sign-in.throttled",
                "",
                "too many failed sign-ins this minute",
            )
            .await?;
            return Ok(Err(Refused::Throttled));
        }
        let account = self.store.staff_by_username(username.trim()).await?;
        let Some(account) = account.filter(|a| a.enrolled() && !a.disabled) else {
            let pw = password.to_string();
            // As slow as a real check, so timing does not tell which usernames exist; a
            // failure of the blocking task changes nothing.
            let _ = tokio::task::spawn_blocking(move || staff::dummy_password_check(&pw)).await;
            self.sign_in_guard.failed(&());
            self.audit(
                "unknown",
                "sign-in.failed",
                "",
                "no such enrolled, active account",
            )
            .await?;
            return Ok(Err(Refused::Wrong));
        };
        let object = format!("staff:{}", account.id);
        if account.locked_until > now {
            self.audit(&account.username, "sign-in.locked", &object, "")
                .await?;
            return Ok(Err(Refused::Locked));
        }
        // An enrolled account has a hash; an empty one verifies nothing.
        let phc = account.password_hash.clone().unwrap_or_default();
        let pw = password.to_string();
        let password_ok = tokio::task::spawn_blocking(move || staff::verify_password(&phc, &pw))
            .await
            .unwrap_or(false);
        let code = code.trim();
        let mut tx = self.store.begin().await?;
        let second_factor = if !password_ok {
            Err("password")
        } else if code.chars().filter(|c| c.is_ascii_digit()).count() == 6 && code.len() <= 8 {
            let secret = account.totp_sealed.as_deref().and_then(|s| {
                self.content_key
                    .open(Context::StaffTotp { staff: account.id }, s)
                    .ok()
            });
            match secret.and_then(|s| totp::check(&s, code, now)) {
                Some(step) => match tx.staff_accept_totp_step(account.id, step).await? {
                    true => Ok("totp"),
                    false => Err("code already used"),
                },
                None => Err("code"),
            }
        } else {
            let hash = staff::token_hash(&staff::normalise_recovery_code(code));
            match tx.staff_use_recovery_code(account.id, &hash, now).await? {
                true => Ok("recovery code"),
                false => Err("recovery code"),
            }
        };
        match second_factor {
            Ok(how) => {
                tx.staff_login_succeeded(account.id).await?;
                let token = staff::new_token();
                let csrf = staff::new_token();
                tx.session_create(&staff::token_hash(&token), account.id, &csrf, now)
                    .await?;
                self.commit_audited(tx, &account.username, "sign-in", &object, how)
                    .await?;
                Ok(Ok(SignedIn { token }))
            }
            Err(why) => {
                self.sign_in_guard.failed(&());
                let failures = account.failed_logins + 1;
                let lock = (failures >= self.config.console.failures_before_lock as i64)
                    .then(|| now + self.config.console.lock_minutes as i64 * 60);
                tx.staff_login_failed(account.id, lock).await?;
                // The failure that locks the account is recorded as the lock.
                let action = if lock.is_some() {
                    "account.locked"
                } else {
                    "sign-in.failed"
                };
                self.commit_audited(tx, &account.username, action, &object, why)
                    .await?;
                Ok(Err(Refused::Wrong))
            }
        }
    }

    /// The staff member a session token belongs to, if the session is still valid; expired
    /// sessions and those of disabled accounts are deleted on sight.
    pub async fn session(&self, token: &str) -> Result<Option<SessionStaff>, Error> {
        self.session_by_hash(staff::token_hash(token), true).await
    }

    /// A session from its hash; `touch` records the activity (a request does, a socket's
    /// re-check does not, so an open socket alone never keeps a session from going idle).
    async fn session_by_hash(
        &self,
        hash: String,
        touch: bool,
    ) -> Result<Option<SessionStaff>, Error> {
        let Some(session) = self.store.session_get(&hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now_unix();
        let idle = self.config.console.session_idle_minutes as i64 * 60;
        let max = self.config.console.session_max_hours as i64 * 3600;
        let role = Some(session.staff.role);
        let Some(role) = role.filter(|_| {
            !session.staff.disabled
                && now - session.last_seen <= idle
                && now - session.created_at <= max
        }) else {
            let mut tx = self.store.begin().await?;
            tx.session_delete(&hash).await?;
            tx.commit().await?;
            return Ok(None);
        };
        if touch && now - session.last_seen >= 30 {
            self.store.session_touch(&hash, now).await?;
        }
        Ok(Some(SessionStaff {
            id: session.staff.id,
            username: session.staff.username.clone(),
            role,
            areas: session
                .staff
                .areas
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
            csrf: session.csrf,
            session_hash: hash,
        }))
    }

    /// Whether a practitioner's open chat socket may still act: their session is valid
    /// (not signed out here or everywhere, not expired, the account not disabled, the role
    /// not changed: each of those ends the session) and the chat is still theirs. `Some`
    /// names why not.
    pub async fn chat_socket_revoked(
        &self,
        session_hash: &str,
        staff_id: i64,
        chat: i64,
    ) -> Result<Option<Revoked>, Error> {
        let Some(me) = self
            .session_by_hash(session_hash.to_string(), false)
            .await?
        else {
            return Ok(Some(Revoked::SignedOut));
        };
        if me.id != staff_id {
            return Ok(Some(Revoked::SignedOut));
        }
        let theirs = self
            .store
            .conversation_get(chat)
            .await?
            .is_some_and(|c| c.claimed_by == Some(staff_id));
        Ok((!theirs).then_some(Revoked::NotYours))
    }

    /// Ends this session.
    pub async fn sign_out(&self, me: Actor<'_>, session_hash: &str) -> Result<(), Error> {
        let mut tx = self.store.begin().await?;
        tx.session_delete(session_hash).await?;
        self.commit_audited(tx, me.username, "sign-out", &format!("staff:{}", me.id), "")
            .await?;
        Ok(())
    }

    /// Ends every session of this staff member, on every device; returns how many.
    pub async fn sign_out_everywhere(&self, me: Actor<'_>) -> Result<u64, Error> {
        let mut tx = self.store.begin().await?;
        let n = tx.sessions_delete_for(me.id).await?;
        self.commit_audited(
            tx,
            me.username,
            "sign-out.everywhere",
            &format!("staff:{}", me.id),
            &format!("{n} sessions ended"),
        )
        .await?;
        Ok(n)
    }

    /// The account an enrolment link is for and the TOTP secret to show (the same one each
    /// time the page is opened). `Invalid("enrol-link")` if the link is expired, used or
    /// unknown (audited).
    pub async fn enrolment(&self, token: &str) -> Result<Enrolment, Error> {
        let hash = staff::token_hash(token);
        let (account, stored) = self.enrolment_account(&hash).await?;
        let secret = match stored {
            Some(sealed) => self
                .content_key
                .open(Context::EnrolmentTotp { token_hash: &hash }, &sealed)
                .map_err(|_| Error::Invalid("enrol-link"))?,
            None => {
                let secret = totp::new_secret();
                let sealed = self
                    .content_key
                    .seal(Context::EnrolmentTotp { token_hash: &hash }, &secret);
                // Two tabs opening the page at once keep whichever secret was stored first.
                self.store.enrolment_set_pending(&hash, &sealed).await?;
                let (_, stored) = self.enrolment_account(&hash).await?;
                let sealed = stored.ok_or(Error::Invalid("enrol-link"))?;
                self.content_key
                    .open(Context::EnrolmentTotp { token_hash: &hash }, &sealed)
                    .map_err(|_| Error::Invalid("enrol-link"))?
            }
        };
        Ok(Enrolment {
            username: account.username,
            secret,
        })
    }

    async fn enrolment_account(&self, hash: &str) -> Result<(StaffRow, Option<Vec<u8>>), Error> {
        let now = self.clock.now_unix();
        let found = self.store.enrolment_get(hash, now).await?;
        let account = match found {
            Some((staff_id, _)) => self.store.staff_by_id(staff_id).await?,
            None => None,
        };
        match (found, account) {
            (Some((_, stored)), Some(account)) => Ok((account, stored)),
            _ => {
                self.audit(
                    "unknown",
                    "enrol.refused",
                    "",
                    "link expired, used or unknown",
                )
                .await?;
                Err(Error::Invalid("enrol-link"))
            }
        }
    }

    /// Completes enrolment: a password that passes the policy and a current code from the
    /// TOTP app. Returns the ten recovery codes, shown once. Refusals are `Invalid` with the
    /// message to show: `enrol-link`, `console-password-*` or `console-enrol-wrong-code`.
    pub async fn enrol(
        &self,
        token: &str,
        password: &str,
        password_again: &str,
        code: &str,
    ) -> Result<Vec<String>, Error> {
        let hash = staff::token_hash(token);
        let now = self.clock.now_unix();
        let (account, stored) = self.enrolment_account(&hash).await?;
        let stored = stored.ok_or(Error::Invalid("enrol-link"))?;
        let problem = if password != password_again {
            Some(staff::PasswordProblem::Mismatch)
        } else {
            staff::password_problem(password, &account.username)
        };
        if let Some(p) = problem {
            return Err(Error::Invalid(match p {
                staff::PasswordProblem::TooShort => "console-password-short",
                staff::PasswordProblem::TooLong => "console-password-long",
                staff::PasswordProblem::Guessable => "console-password-guessable",
                staff::PasswordProblem::Mismatch => "console-password-mismatch",
            }));
        }
        let secret = self
            .content_key
            .open(Context::EnrolmentTotp { token_hash: &hash }, &stored)
            .map_err(|_| Error::Invalid("enrol-link"))?;
        let object = format!("staff:{}", account.id);
        let Some(step) = totp::check(&secret, code, now) else {
            self.audit(&account.username, "enrol.failed", &object, "wrong code")
                .await?;
            return Err(Error::Invalid("console-enrol-wrong-code"));
        };
        let pw = password.to_string();
        let phc = tokio::task::spawn_blocking(move || staff::hash_password(&pw))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let codes = staff::new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| staff::token_hash(c)).collect();
        let sealed = self
            .content_key
            .seal(Context::StaffTotp { staff: account.id }, &secret);
        let mut tx = self.store.begin().await?;
        if !tx
            .staff_enrol(&hash, account.id, &phc, &sealed, &hashes, now)
            .await?
        {
            drop(tx);
            self.audit("unknown", "enrol.refused", "", "link already used")
                .await?;
            return Err(Error::Invalid("enrol-link"));
        }
        // The code used to enrol cannot also be used to sign in.
        tx.staff_accept_totp_step(account.id, step).await?;
        self.commit_audited(
            tx,
            &account.username,
            "enrol",
            &object,
            "password and TOTP set",
        )
        .await?;
        Ok(codes)
    }
}
