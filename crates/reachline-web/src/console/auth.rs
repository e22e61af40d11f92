//! Signing in (password and a current TOTP code, or a recovery code), sessions with idle and
//! absolute timeouts, enrolment through one-time links, signing out (here or everywhere).

use super::{
    console_message, render, session_cookie, session_hash, ConsoleChrome, Staff, SESSION_COOKIE,
};
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use reachline_core::staff::{self, totp, Role};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A service-wide budget of failed sign-ins per minute: guessing across many accounts is
/// slowed without relying on IP addresses.
pub struct SignInGuard {
    per_minute: u64,
    window: AtomicI64,
    failures: AtomicU64,
}

impl SignInGuard {
    pub fn new(per_minute: u64) -> Self {
        SignInGuard {
            per_minute,
            window: AtomicI64::new(0),
            failures: AtomicU64::new(0),
        }
    }
    fn roll(&self, now: i64) {
        let start = self.window.load(Ordering::SeqCst);
        if now - start >= 60
            && self
                .window
                .compare_exchange(start, now, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.failures.store(0, Ordering::SeqCst);
        }
    }
    pub fn open(&self, now: i64) -> bool {
        self.roll(now);
        self.failures.load(Ordering::SeqCst) < self.per_minute
    }
    pub fn failed(&self, now: i64) {
        self.roll(now);
        self.failures.fetch_add(1, Ordering::SeqCst);
    }
}

/// The signed-in staff member for a request, if the session is valid. Expired sessions are
/// deleted on sight.
pub async fn current_staff(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Staff>, Response> {
    let Some(token) = http::cookie(headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let hash = session_hash(token);
    let session = match state.store.session_get(&hash).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            return Err(state.message_default(StatusCode::INTERNAL_SERVER_ERROR, "server"));
        }
    };
    let Some(session) = session else {
        return Ok(None);
    };
    let now = state.clock.now_unix();
    let idle = state.config.console.session_idle_minutes as i64 * 60;
    let max = state.config.console.session_max_hours as i64 * 3600;
    let role = Role::parse(&session.staff.role);
    if session.staff.disabled
        || now - session.last_seen > idle
        || now - session.created_at > max
        || role.is_none()
    {
        let _ = state.store.session_delete(&hash).await;
        return Ok(None);
    }
    if now - session.last_seen >= 30 {
        let _ = state.store.session_touch(&hash, now).await;
    }
    Ok(Some(Staff {
        id: session.staff.id,
        username: session.staff.username.clone(),
        role: role.unwrap_or(Role::Analyst),
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

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage<'a> {
    k: ConsoleChrome<'a>,
    error: Option<String>,
    username: String,
}

pub async fn sign_in_form(State(_state): State<Shared>, ctx: Ctx) -> Response {
    render(&SignInPage {
        k: ConsoleChrome {
            c: &ctx.chrome,
            staff: None,
        },
        error: None,
        username: String::new(),
    })
}

pub async fn sign_in(State(state): State<Shared>, ctx: Ctx, fields: Fields) -> Response {
    let username = fields
        .get("username")
        .unwrap_or_default()
        .trim()
        .to_string();
    let password = fields.get("password").unwrap_or_default().to_string();
    let code = fields.get("code").unwrap_or_default().trim().to_string();
    let now = state.clock.now_unix();
    let refuse = |key: &str, status: StatusCode| {
        let mut resp = render(&SignInPage {
            k: ConsoleChrome {
                c: &ctx.chrome,
                staff: None,
            },
            error: Some(ctx.chrome.t(key)),
            username: username.chars().take(100).collect(),
        });
        *resp.status_mut() = status;
        resp
    };
    if !state.sign_in_guard.open(now) {
        let _ = state
            .audit(
                "system",
                "sign-in.throttled",
                "",
                "too many failed sign-ins this minute",
            )
            .await;
        return refuse("console-sign-in-throttled", StatusCode::TOO_MANY_REQUESTS);
    }
    let account = match state.store.staff_by_username(&username).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "staff lookup failed");
            return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
        }
    };
    let Some(account) = account.filter(|a| a.enrolled() && !a.disabled) else {
        let pw = password.clone();
        let _ = tokio::task::spawn_blocking(move || staff::dummy_password_check(&pw)).await;
        state.sign_in_guard.failed(now);
        let _ = state
            .audit(
                "unknown",
                "sign-in.failed",
                "",
                "no such enrolled, active account",
            )
            .await;
        return refuse("console-sign-in-wrong", StatusCode::UNAUTHORIZED);
    };
    let object = format!("staff:{}", account.id);
    if account.locked_until > now {
        let _ = state
            .audit(&account.username, "sign-in.locked", &object, "")
            .await;
        return refuse("console-sign-in-locked", StatusCode::TOO_MANY_REQUESTS);
    }
    let phc = account.password_hash.clone().unwrap_or_default();
    let pw = password.clone();
    let password_ok = tokio::task::spawn_blocking(move || staff::verify_password(&phc, &pw))
        .await
        .unwrap_or(false);
    let second_factor = if !password_ok {
        Err("password")
    } else if code.chars().filter(|c| c.is_ascii_digit()).count() == 6 && code.len() <= 8 {
        let secret = account.totp_sealed.as_deref().and_then(|s| {
            state
                .content_key
                .open(totp_context(account.id).as_bytes(), s)
                .ok()
        });
        match secret.and_then(|s| totp::check(&s, &code, now)) {
            Some(step) => match state.store.staff_accept_totp_step(account.id, step).await {
                Ok(true) => Ok("totp"),
                _ => Err("code already used"),
            },
            None => Err("code"),
        }
    } else {
        let hash = staff::token_hash(&staff::normalise_recovery_code(&code));
        match state
            .store
            .staff_use_recovery_code(account.id, &hash, now)
            .await
        {
            Ok(true) => Ok("recovery code"),
            _ => Err("recovery code"),
        }
    };
    match second_factor {
        Ok(how) => {
            let _ = state.store.staff_login_succeeded(account.id).await;
            let token = staff::new_token();
            let csrf = staff::new_token();
            if let Err(e) = state
                .store
                .session_create(&session_hash(&token), account.id, &csrf, now)
                .await
            {
                tracing::error!(error = %e, "session create failed");
                return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
            }
            let _ = state
                .audit(&account.username, "sign-in", &object, how)
                .await;
            let mut resp = http::redirect("/console");
            session_cookie(&mut resp, Some(&token), ctx.https);
            resp
        }
        Err(why) => {
            state.sign_in_guard.failed(now);
            let failures = account.failed_logins + 1;
            let lock = (failures >= state.config.console.failures_before_lock as i64)
                .then(|| now + state.config.console.lock_minutes as i64 * 60);
            let _ = state.store.staff_login_failed(account.id, lock).await;
            let _ = state
                .audit(&account.username, "sign-in.failed", &object, why)
                .await;
            if lock.is_some() {
                let _ = state
                    .audit(&account.username, "account.locked", &object, "")
                    .await;
            }
            refuse("console-sign-in-wrong", StatusCode::UNAUTHORIZED)
        }
    }
}

pub fn totp_context(staff_id: i64) -> String {
    format!("reachline staff {staff_id} totp")
}

fn pending_context(token_hash: &str) -> String {
    format!("reachline enrolment {token_hash}")
}

#[derive(Template)]
#[template(path = "console/enrol.html")]
struct EnrolPage<'a> {
    k: ConsoleChrome<'a>,
    username: String,
    qr_svg: String,
    secret: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/recovery.html")]
struct RecoveryPage<'a> {
    k: ConsoleChrome<'a>,
    codes: Vec<String>,
}

/// The secret to show on an enrolment page: the one already shown for this link, or a new
/// one remembered (sealed) for it.
async fn pending_secret(state: &AppState, hash: &str, stored: Option<Vec<u8>>) -> Option<Vec<u8>> {
    if let Some(sealed) = stored {
        return state
            .content_key
            .open(pending_context(hash).as_bytes(), &sealed)
            .ok();
    }
    let secret = totp::new_secret();
    let sealed = state
        .content_key
        .seal(pending_context(hash).as_bytes(), &secret);
    state
        .store
        .enrolment_set_pending(hash, &sealed)
        .await
        .ok()?;
    let (_, stored) = state
        .store
        .enrolment_get(hash, state.clock.now_unix())
        .await
        .ok()??;
    state
        .content_key
        .open(pending_context(hash).as_bytes(), &stored?)
        .ok()
}

fn qr_svg(url: &str) -> String {
    qrcode::QrCode::new(url.as_bytes())
        .map(|q| {
            q.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
        .replace("<?xml version=\"1.0\" standalone=\"yes\"?>", "")
}

async fn enrolment_page(
    state: &AppState,
    ctx: &Ctx,
    token: &str,
    error: Option<String>,
) -> Response {
    let hash = staff::token_hash(token);
    let now = state.clock.now_unix();
    let found = state.store.enrolment_get(&hash, now).await.ok().flatten();
    let Some((staff_id, stored)) = found else {
        let _ = state
            .audit(
                "unknown",
                "enrol.refused",
                "",
                "link expired, used or unknown",
            )
            .await;
        return console_message(state, &ctx.chrome, None, StatusCode::GONE, "enrol-link");
    };
    let account = state.store.staff_by_id(staff_id).await.ok().flatten();
    let (Some(account), Some(secret)) = (account, pending_secret(state, &hash, stored).await)
    else {
        return state.message(ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
    };
    let url = totp::url(&secret, &account.username);
    let mut resp = render(&EnrolPage {
        k: ConsoleChrome {
            c: &ctx.chrome,
            staff: None,
        },
        username: account.username,
        qr_svg: qr_svg(&url),
        secret: totp::secret_base32(&secret),
        error,
    });
    if resp.status() == StatusCode::OK && token.is_empty() {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    resp
}

pub async fn enrol_form(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Response {
    enrolment_page(&state, &ctx, &token, None).await
}

pub async fn enrol(
    State(state): State<Shared>,
    ctx: Ctx,
    Path(token): Path<String>,
    fields: Fields,
) -> Response {
    let hash = staff::token_hash(&token);
    let now = state.clock.now_unix();
    let Some((staff_id, Some(stored))) = state.store.enrolment_get(&hash, now).await.ok().flatten()
    else {
        let _ = state
            .audit(
                "unknown",
                "enrol.refused",
                "",
                "link expired, used or unknown",
            )
            .await;
        return console_message(&state, &ctx.chrome, None, StatusCode::GONE, "enrol-link");
    };
    let Some(account) = state.store.staff_by_id(staff_id).await.ok().flatten() else {
        return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
    };
    let password = fields.get("password").unwrap_or_default().to_string();
    let again = fields.get("password_again").unwrap_or_default();
    let problem = if password != again {
        Some(staff::PasswordProblem::Mismatch)
    } else {
        staff::password_problem(&password, &account.username)
    };
    if let Some(p) = problem {
        let msg = ctx.chrome.t(match p {
            staff::PasswordProblem::TooShort => "console-password-short",
            staff::PasswordProblem::TooLong => "console-password-long",
            staff::PasswordProblem::Guessable => "console-password-guessable",
            staff::PasswordProblem::Mismatch => "console-password-mismatch",
        });
        let mut resp = enrolment_page(&state, &ctx, &token, Some(msg)).await;
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return resp;
    }
    let Ok(secret) = state
        .content_key
        .open(pending_context(&hash).as_bytes(), &stored)
    else {
        return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
    };
    let Some(step) = totp::check(&secret, fields.get("code").unwrap_or_default(), now) else {
        let _ = state
            .audit(
                &account.username,
                "enrol.failed",
                &format!("staff:{staff_id}"),
                "wrong code",
            )
            .await;
        let msg = ctx.chrome.t("console-enrol-wrong-code");
        let mut resp = enrolment_page(&state, &ctx, &token, Some(msg)).await;
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return resp;
    };
    let pw = password.clone();
    let Ok(phc) = tokio::task::spawn_blocking(move || staff::hash_password(&pw)).await else {
        return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
    };
    let codes = staff::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| staff::token_hash(c)).collect();
    let sealed = state
        .content_key
        .seal(totp_context(staff_id).as_bytes(), &secret);
    match state
        .store
        .staff_enrol(&hash, staff_id, &phc, &sealed, &hashes, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            let _ = state
                .audit("unknown", "enrol.refused", "", "link already used")
                .await;
            return console_message(&state, &ctx.chrome, None, StatusCode::GONE, "enrol-link");
        }
        Err(e) => {
            tracing::error!(error = %e, "enrolment failed");
            return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
        }
    }
    // The code used to enrol cannot also be used to sign in.
    let _ = state.store.staff_accept_totp_step(staff_id, step).await;
    let _ = state
        .audit(
            &account.username,
            "enrol",
            &format!("staff:{staff_id}"),
            "password and TOTP set",
        )
        .await;
    render(&RecoveryPage {
        k: ConsoleChrome {
            c: &ctx.chrome,
            staff: None,
        },
        codes,
    })
}

pub async fn sign_out(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(staff): Extension<Staff>,
) -> Response {
    let _ = state.store.session_delete(&staff.session_hash).await;
    let _ = state
        .audit(
            &staff.username,
            "sign-out",
            &format!("staff:{}", staff.id),
            "",
        )
        .await;
    let mut resp = http::redirect("/console/sign-in");
    session_cookie(&mut resp, None, ctx.https);
    resp
}

pub async fn sign_out_everywhere(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(staff): Extension<Staff>,
) -> Response {
    let n = state.store.sessions_delete_for(staff.id).await.unwrap_or(0);
    let _ = state
        .audit(
            &staff.username,
            "sign-out.everywhere",
            &format!("staff:{}", staff.id),
            &format!("{n} sessions ended"),
        )
        .await;
    let mut resp = http::redirect("/console/sign-in");
    session_cookie(&mut resp, None, ctx.https);
    resp
}
