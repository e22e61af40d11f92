//! Staff sign-in (password and a current TOTP code, or a single-use recovery code), console
//! sessions with idle and absolute timeouts, signing out here or everywhere, and enrolment
//! through one-time links. Every outcome is audited; an action commits with its entry.

use crate::accounts::Actor;
use crate::{App, Error};
use reachline_core::sealing::Context;
use reachline_core::staff::{self, totp, Role};
use reachline_store::StaffRow;

/// What keeps sign-in both open to staff and slow to guess, without addresses and without
/// anything a stranger can turn into a lockout:
/// - every name tried (an account or not, alike) has a [`Backoff`](crate::limits::Backoff):
///   after a few wrong tries each try on it waits before it is checked (doubling, capped),
///   but is then checked, so the owner's right password and code still get in;
/// - password checks (Argon2) run through their own bounded queue, apart from help-seekers'
///   code derivations; a full queue answers "busy" at once;
/// - the second factor: only someone who gave the right password can spend the account's
///   allowance of wrong codes; when it is spent, codes are paused (doubling, capped) and the
///   account is flagged in the audit log, since its password is known to someone.
pub struct SignInGuard {
    pub names: crate::limits::Backoff,
    pub work: crate::limits::SlowWork,
}

impl SignInGuard {
    pub fn new(
        config: &reachline_core::config::Console,
        clock: reachline_core::clock::SharedClock,
    ) -> SignInGuard {
        SignInGuard {
            names: crate::limits::Backoff::new(
                clock,
                u32::try_from(config.failures_before_lock).unwrap_or(u32::MAX),
                std::time::Duration::from_secs(config.sign_in_max_wait_seconds),
                BACKOFF_WINDOW,
            ),
            work: crate::limits::SlowWork::new(2, 64),
        }
    }

    pub fn tidy(&self) {
        self.names.tidy();
    }
}

/// Wrong tries against a name are forgotten this long after the last one.
const BACKOFF_WINDOW: i64 = 15 * 60;

/// Why a sign-in was refused (what the person is told; the audit log says more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Too many password checks are queued: try again in a moment.
    Busy,
    /// The username, password or code was wrong (which one is not said, and an unknown
    /// username reads exactly as a known one).
    Wrong,
    /// The password was right but too many wrong codes were tried: codes are paused until
    /// the given Unix time. Only someone who knows the password is ever told this.
    CodesPaused(i64),
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
        let name: String = username.trim().chars().take(100).collect();
        let wait = self.sign_in_guard.names.wait(&name);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let now = self.clock.now_unix();
        let found = self.store.staff_by_username(&name).await?;
        let known = found.as_ref().map(|a| (a.id, a.username.clone()));
        let account = found.filter(|a| a.enrolled() && !a.disabled);
        // The password is checked for a name with no account too, as slowly, so neither
        // the answer nor its timing tells which usernames exist.
        let phc = account
            .as_ref()
            .and_then(|a| a.password_hash.clone())
            .unwrap_or_default();
        let pw = password.to_string();
        let real = account.is_some();
        let password_ok = match self
            .sign_in_guard
            .work
            .run(move || {
                if real {
                    staff::verify_password(&phc, &pw)
                } else {
                    staff::dummy_password_check(&pw);
                    false
                }
            })
            .await
        {
            Ok(ok) => ok,
            Err(_) => return Ok(Err(Refused::Busy)),
        };
        let Some(account) = account.filter(|_| password_ok) else {
            let failures = self.sign_in_guard.names.failed(&name);
            // Wrong tries against an account are recorded for its staff until the name's
            // back-off begins, then once; a name with no account changes nothing for anyone
            // and leaves no audit row (a flood of made-up names cannot fill the log).
            if let Some((id, username)) = known {
                let free = self.config.console.failures_before_lock;
                let object = format!("staff:{id}");
                if u64::from(failures) < free {
                    self.audit(&username, "sign-in.failed", &object, "password")
                        .await?;
                } else if u64::from(failures) == free {
                    self.audit(
                        &username,
                        "sign-in.backoff",
                        &object,
                        "repeated wrong passwords: each further try waits before it is checked",
                    )
                    .await?;
                }
            }
            return Ok(Err(Refused::Wrong));
        };
        let object = format!("staff:{}", account.id);
        if account.locked_until > now {
            self.audit(&account.username, "sign-in.codes-paused", &object, "")
                .await?;
            return Ok(Err(Refused::CodesPaused(account.locked_until)));
        }
        let code = code.trim();
        let mut tx = self.store.begin().await?;
        let second_factor =
            if code.chars().filter(|c| c.is_ascii_digit()).count() == 6 && code.len() <= 8 {
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
                match self.use_recovery_code(&mut tx, &account, code, now).await? {
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
                self.sign_in_guard.names.succeeded(&name);
                Ok(Ok(SignedIn { token }))
            }
            Err(why) => {
                let failures = account.failed_logins + 1;
                let free = self.config.console.failures_before_lock as i64;
                // Each pause after the allowance is spent is twice the last, at most 16×.
                let lock = (failures >= free).then(|| {
                    let doublings = (failures - free).clamp(0, 4) as u32;
                    now + self.config.console.lock_minutes as i64 * 60 * (1i64 << doublings)
                });
                tx.staff_login_failed(account.id, lock).await?;
                let action = if lock.is_some() {
                    "account.codes-paused"
                } else {
                    "sign-in.failed"
                };
                self.commit_audited(tx, &account.username, action, &object, why)
                    .await?;
                Ok(Err(match lock {
                    Some(until) => Refused::CodesPaused(until),
                    None => Refused::Wrong,
                }))
            }
        }
    }

    /// Uses one of the account's unused recovery codes if `typed` is one (checked against
    /// each salted hash in the slow queue), within `tx`.
    async fn use_recovery_code(
        &self,
        tx: &mut reachline_store::Tx,
        account: &StaffRow,
        typed: &str,
        now: i64,
    ) -> Result<bool, Error> {
        let stored = self.store.staff_unused_recovery_hashes(account.id).await?;
        let typed = typed.to_string();
        let found = self
            .sign_in_guard
            .work
            .run(move || {
                stored
                    .into_iter()
                    .find(|h| staff::recovery_code_matches(h, &typed))
            })
            .await
            .map_err(|_| Error::Busy)?;
        match found {
            Some(hash) => Ok(tx.staff_use_recovery_code(account.id, &hash, now).await?),
            None => Ok(false),
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
    ///
    /// `fresh` reads the database now (before a message is sent). Otherwise every socket of
    /// one session shares one reading at most [`SOCKET_ACCESS_FRESH`] old: a practitioner
    /// with many chats open costs two statements a reading, not two a socket a second.
    pub async fn chat_socket_revoked(
        &self,
        session_hash: &str,
        staff_id: i64,
        chat: i64,
        fresh: bool,
    ) -> Result<Option<Revoked>, Error> {
        let entry = self.socket_access.entry(session_hash);
        let mut standing = entry.lock().await;
        let now = std::time::Instant::now();
        standing.asked.insert(chat, now);
        let stale = fresh
            || !standing.read.contains(&chat)
            || standing
                .read_at
                .is_none_or(|at| now.duration_since(at) >= SOCKET_ACCESS_FRESH);
        if stale {
            standing
                .asked
                .retain(|_, at| now.duration_since(*at) < SOCKET_ACCESS_FORGET);
            let chats: Vec<i64> = standing.asked.keys().copied().collect();
            // A failed read leaves the last reading marked stale, so the next asks again.
            standing.read_at = None;
            let me = self
                .session_by_hash(session_hash.to_string(), false)
                .await?;
            standing.staff = me.as_ref().map(|m| m.id);
            standing.theirs = match &me {
                Some(me) => {
                    self.store
                        .conversations_claimed_among(me.id, &chats)
                        .await?
                }
                None => Default::default(),
            };
            standing.read = chats.into_iter().collect();
            standing.read_at = Some(now);
        }
        if standing.staff != Some(staff_id) {
            return Ok(Some(Revoked::SignedOut));
        }
        Ok((!standing.theirs.contains(&chat)).then_some(Revoked::NotYours))
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
            // A real link tried again (used or expired) is recorded against its account;
            // made-up links change nothing for staff and leave no row (a stranger could
            // fill the log with them).
            _ => {
                if let Some(owner) = self.store.enrolment_owner(hash).await? {
                    self.audit(
                        "unknown",
                        "enrol.refused",
                        &format!("staff:{owner}"),
                        "link expired or used",
                    )
                    .await?;
                }
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
        let to_hash = codes.clone();
        let hashes: Vec<String> = self
            .sign_in_guard
            .work
            .run(move || {
                to_hash
                    .iter()
                    .map(|c| staff::recovery_code_hash(c))
                    .collect()
            })
            .await
            .map_err(|_| Error::Busy)?;
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

/// How old a reading of a session's standing may be when an open chat socket's periodic
/// re-check uses it (a message's own check always reads afresh). With the sockets' one-second
/// re-check, a revoked session's sockets close within about a second and a half.
pub const SOCKET_ACCESS_FRESH: std::time::Duration = std::time::Duration::from_millis(500);
/// A chat (or a whole session) no socket has asked about for this long is no longer read.
const SOCKET_ACCESS_FORGET: std::time::Duration = std::time::Duration::from_secs(5);

/// The last reading, per console session, of whether its open chat sockets may act: the
/// session's staff member (none if it may not act) and which of the chats its sockets asked
/// about are claimed by them. Nothing here outlives [`SOCKET_ACCESS_FORGET`] unused.
#[derive(Default)]
pub struct SocketAccess {
    sessions: std::sync::Mutex<SocketSessions>,
}

type Standing = std::sync::Arc<tokio::sync::Mutex<SessionStanding>>;

#[derive(Default)]
struct SocketSessions {
    by_hash: std::collections::HashMap<String, (Standing, std::time::Instant)>,
    swept_at: Option<std::time::Instant>,
}

#[derive(Default)]
struct SessionStanding {
    read_at: Option<std::time::Instant>,
    staff: Option<i64>,
    /// Chats a socket asked about, and when it last did.
    asked: std::collections::HashMap<i64, std::time::Instant>,
    /// The chats the last reading covered, and which of them were the staff member's.
    read: std::collections::HashSet<i64>,
    theirs: std::collections::HashSet<i64>,
}

impl SocketAccess {
    fn entry(&self, session_hash: &str) -> Standing {
        let now = std::time::Instant::now();
        // The map holds only whole values (a reading is replaced, never half-written under
        // this lock), so a lock poisoned by a panic elsewhere is used as it is.
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if sessions
            .swept_at
            .is_none_or(|at| now.duration_since(at) >= SOCKET_ACCESS_FORGET)
        {
            sessions
                .by_hash
                .retain(|_, (_, used)| now.duration_since(*used) < SOCKET_ACCESS_FORGET);
            sessions.swept_at = Some(now);
        }
        let (standing, used) = sessions
            .by_hash
            .entry(session_hash.to_string())
            .or_insert_with(|| (Standing::default(), now));
        *used = now;
        standing.clone()
    }
}
