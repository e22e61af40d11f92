//! Signing in (password and a current TOTP code, or a recovery code), sessions with idle and
//! absolute timeouts, enrolment through one-time links, signing out (here or everywhere).

use super::{
    app_error, console_message, render, session_cookie, ConsoleChrome, Staff, SESSION_COOKIE,
};
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use reachline_app::sessions::Refused;
use reachline_app::Error;
use reachline_core::staff::totp;

/// The signed-in staff member for a request, if the session is valid. Expired sessions are
/// deleted on sight.
pub async fn current_staff(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Staff>, Response> {
    let Some(token) = http::cookie(headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match state.session(token).await {
        Ok(s) => Ok(s),
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            Err(state.message_default(StatusCode::INTERNAL_SERVER_ERROR, "server"))
        }
    }
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
    let username = fields.get("username").unwrap_or_default().trim();
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
    let outcome = state
        .sign_in(
            username,
            fields.get("password").unwrap_or_default(),
            fields.get("code").unwrap_or_default(),
        )
        .await;
    match outcome {
        Ok(Ok(signed_in)) => {
            let mut resp = http::redirect("/console");
            session_cookie(&mut resp, Some(&signed_in.token), ctx.https);
            resp
        }
        Ok(Err(Refused::Busy)) => {
            let mut resp = refuse("console-sign-in-busy", StatusCode::SERVICE_UNAVAILABLE);
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("2"),
            );
            resp
        }
        Ok(Err(Refused::CodesPaused(until))) => {
            let mut resp = render(&SignInPage {
                k: ConsoleChrome {
                    c: &ctx.chrome,
                    staff: None,
                },
                error: Some(ctx.chrome.l.text(
                    "console-sign-in-codes-paused",
                    &[(
                        "until",
                        fluent_bundle::FluentValue::from(ctx.chrome.zone.minute(until)),
                    )],
                )),
                username: username.chars().take(100).collect(),
            });
            *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            resp
        }
        Ok(Err(Refused::Wrong)) => refuse("console-sign-in-wrong", StatusCode::UNAUTHORIZED),
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server")
        }
    }
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
    let enrolment = match state.enrolment(token).await {
        Ok(e) => e,
        Err(e) => return enrol_error(state, ctx, e),
    };
    let url = totp::url(&enrolment.secret, &enrolment.username);
    let mut resp = render(&EnrolPage {
        k: ConsoleChrome {
            c: &ctx.chrome,
            staff: None,
        },
        username: enrolment.username,
        qr_svg: qr_svg(&url),
        secret: totp::secret_base32(&enrolment.secret),
        error,
    });
    if resp.status() == StatusCode::OK && token.is_empty() {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    resp
}

/// A link that is expired, used or unknown gets 410; anything else is the server's fault.
fn enrol_error(state: &AppState, ctx: &Ctx, e: Error) -> Response {
    match e {
        Error::Invalid("enrol-link") | Error::NotFound => {
            console_message(state, &ctx.chrome, None, StatusCode::GONE, "enrol-link")
        }
        e => {
            tracing::error!(error = %e, "enrolment failed");
            state.message(ctx, StatusCode::INTERNAL_SERVER_ERROR, "server")
        }
    }
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
    let result = state
        .enrol(
            &token,
            fields.get("password").unwrap_or_default(),
            fields.get("password_again").unwrap_or_default(),
            fields.get("code").unwrap_or_default(),
        )
        .await;
    match result {
        Ok(codes) => render(&RecoveryPage {
            k: ConsoleChrome {
                c: &ctx.chrome,
                staff: None,
            },
            codes,
        }),
        Err(Error::Invalid(message)) if message != "enrol-link" => {
            let msg = ctx.chrome.t(message);
            let mut resp = enrolment_page(&state, &ctx, &token, Some(msg)).await;
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            resp
        }
        Err(e) => enrol_error(&state, &ctx, e),
    }
}

pub async fn sign_out(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(staff): Extension<Staff>,
) -> Response {
    if let Err(e) = state.sign_out(staff.actor(), &staff.session_hash).await {
        return app_error(&state, &ctx.chrome, Some(&staff), e);
    }
    let mut resp = http::redirect("/console/sign-in");
    session_cookie(&mut resp, None, ctx.https);
    // Drafts of chat messages kept in this browser's tab go with the session.
    resp.headers_mut().insert(
        "clear-site-data",
        axum::http::HeaderValue::from_static("\"storage\""),
    );
    resp
}

pub async fn sign_out_everywhere(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(staff): Extension<Staff>,
) -> Response {
    if let Err(e) = state.sign_out_everywhere(staff.actor()).await {
        return app_error(&state, &ctx.chrome, Some(&staff), e);
    }
    let mut resp = http::redirect("/console/sign-in");
    session_cookie(&mut resp, None, ctx.https);
    // Drafts of chat messages kept in this browser's tab go with the session.
    resp.headers_mut().insert(
        "clear-site-data",
        axum::http::HeaderValue::from_static("\"storage\""),
    );
    resp
}
