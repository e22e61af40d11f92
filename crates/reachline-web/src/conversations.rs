//! The help-seeker's side of secure messages: write without an account, get a return code
//! (or use the one from self-help), come back to read replies and continue the thread.
//! Works with plain form posts; nothing here needs JavaScript.
//!
//! Each conversation has its own key. It is wrapped for staff by the content data key and
//! for the help-seeker by the key derived from their return code; bodies are sealed with
//! it, bound to the conversation and sequence number.

use crate::http::{self, CookieSpec};
use crate::site::{Chrome, Ctx, Fields, Shared};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fluent_bundle::FluentValue;
use reachline_app::workbook::WorkbookError;
use reachline_core::keys::Key;
use reachline_core::return_code::{CodeError, ReturnCode};
use reachline_core::vocabulary::AgeGroup;
use reachline_store::ConversationRow;

pub const THREAD_COOKIE: &str = "rl_thread";

/// A message as shown to either side.
pub struct MessageView {
    pub seq: i64,
    pub from_seeker: bool,
    pub who: String,
    pub when: String,
    pub text: String,
}

/// The posted message, as the application will store it (or which rule it breaks).
pub fn message_text(fields: &Fields, max: usize) -> Result<String, &'static str> {
    reachline_app::messages::message_body(fields.get("message").unwrap_or_default(), max)
        .map_err(|e| e.code())
}

#[derive(Template)]
#[template(path = "contact_message.html")]
struct WritePage<'a> {
    c: &'a Chrome,
    intake: crate::intake::IntakeForm,
    error: Option<String>,
    text: String,
    max: usize,
    reply: String,
    /// A return code issued at the end of a chat, filled in.
    code: String,
}

async fn write_page(state: &AppState, ctx: &Ctx, error: Option<String>, text: String) -> Response {
    write_page_full(state, ctx, error, text, String::new()).await
}

/// The secure-message form with a return code just issued (after a chat) filled in.
pub async fn write_page_with_code(state: &AppState, ctx: &Ctx, code: String) -> Response {
    write_page_full(state, ctx, None, String::new(), code).await
}

async fn write_page_full(
    state: &AppState,
    ctx: &Ctx,
    error: Option<String>,
    text: String,
    code: String,
) -> Response {
    let has_error = error.is_some();
    crate::site::render_form(
        &WritePage {
            c: &ctx.chrome,
            intake: crate::intake::IntakeForm::new(state, None, false, "contact-error").await,
            error,
            text,
            max: state.config.helpline.max_message_chars as usize,
            reply: ctx.chrome.l.text(
                "helpline-reply-days",
                &[(
                    "days",
                    FluentValue::from(state.config.helpline.message_reply_days),
                )],
            ),
            code,
        },
        has_error,
    )
}

pub async fn write_form(State(state): State<Shared>, ctx: Ctx) -> Response {
    write_page(&state, &ctx, None, String::new()).await
}

#[derive(Template)]
#[template(path = "contact_sent.html")]
struct SentPage<'a> {
    c: &'a Chrome,
    code: Option<String>,
    under_18: bool,
}

fn thread_cookie(resp: &mut Response, ctx: &Ctx, value: Option<(i64, &Key)>) {
    let v = value
        .map(|(id, k)| format!("{id}.{}", URL_SAFE_NO_PAD.encode(k.as_bytes())))
        .unwrap_or_default();
    http::set_cookie(
        resp,
        CookieSpec {
            name: THREAD_COOKIE,
            value: &v,
            max_age: if value.is_some() { None } else { Some(0) },
            same_site_strict: true,
            http_only: true,
            secure: ctx.https,
        },
    );
}

fn parse_thread_cookie(ctx_value: Option<&str>) -> Option<(i64, Key)> {
    let (id, key) = ctx_value?.split_once('.')?;
    Some((
        id.parse().ok()?,
        Key::from_slice(&URL_SAFE_NO_PAD.decode(key).ok()?)?,
    ))
}

fn failure(state: &AppState, ctx: &Ctx, e: WorkbookError) -> Response {
    match e {
        WorkbookError::Throttled => state.message(ctx, StatusCode::TOO_MANY_REQUESTS, "throttled"),
        WorkbookError::Busy | WorkbookError::Conflict => {
            state.message(ctx, StatusCode::SERVICE_UNAVAILABLE, "busy")
        }
        WorkbookError::Store(e) => {
            tracing::error!(error = %e, "conversation store error");
            state.message(ctx, StatusCode::INTERNAL_SERVER_ERROR, "server")
        }
    }
}

/// Sends the first message of a thread.
pub async fn send_first(State(state): State<Shared>, ctx: Ctx, fields: Fields) -> Response {
    let max = state.config.helpline.max_message_chars as usize;
    let typed = fields.get("message").unwrap_or_default().to_string();
    if !crate::intake::statement_confirmed(&fields) {
        return write_page(
            &state,
            &ctx,
            Some(ctx.chrome.t("contact-statement-needed")),
            typed,
        )
        .await;
    }
    let text = match message_text(&fields, max) {
        Ok(t) => t,
        Err(key) => {
            let msg = ctx.chrome.l.text(
                &format!("contact-{key}"),
                &[("max", FluentValue::from(max))],
            );
            return write_page(&state, &ctx, Some(msg), typed).await;
        }
    };
    // A code from self-help links this thread to it; otherwise a new code is issued.
    let existing = fields.get("code").map(str::trim).filter(|c| !c.is_empty());
    let (code, shown) = match existing {
        Some(c) => match ReturnCode::parse(c) {
            Ok(code) => (code, None),
            Err(e) => {
                let key = match e {
                    CodeError::Length => "resume-code-length",
                    CodeError::Symbol => "resume-code-symbol",
                    CodeError::Check => "resume-code-check",
                };
                return write_page(&state, &ctx, Some(ctx.chrome.t(key)), typed).await;
            }
        },
        None => {
            let code = ReturnCode::generate();
            let display = code.display();
            (code, Some(display))
        }
    };
    let intake = crate::intake::posted(&state, &fields).await;
    let (id, key) = match state.start_thread(&intake, code, &text).await {
        Ok(started) => started,
        Err(reachline_app::Error::Throttled) => {
            return failure(&state, &ctx, WorkbookError::Throttled)
        }
        Err(reachline_app::Error::Busy) => return failure(&state, &ctx, WorkbookError::Busy),
        Err(reachline_app::Error::Full) => {
            // What they wrote stays in the form, with other ways to reach us.
            let mut resp = write_page(
                &state,
                &ctx,
                Some(ctx.chrome.t("contact-threads-full")),
                typed,
            )
            .await;
            *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            return resp;
        }
        Err(e) => {
            tracing::error!(error = %e, "thread not created");
            return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
        }
    };
    let mut resp = crate::site::render(&SentPage {
        c: &ctx.chrome,
        code: shown,
        under_18: intake.age_group == Some(AgeGroup::Under18),
    });
    thread_cookie(&mut resp, &ctx, Some((id, &key)));
    resp
}

#[derive(Template)]
#[template(path = "contact_thread.html")]
struct ThreadPage<'a> {
    c: &'a Chrome,
    messages: Vec<MessageView>,
    error: Option<String>,
    max: usize,
    reply: String,
}

/// The thread and its key, from the thread cookie. `Err` when the store failed (the page
/// says so), `Ok(None)` when there is no thread for this cookie.
async fn opened(
    state: &AppState,
    cookie: Option<&str>,
) -> Result<Option<(ConversationRow, Key)>, reachline_app::Error> {
    let Some((id, seeker_key)) = parse_thread_cookie(cookie) else {
        return Ok(None);
    };
    state.seeker_thread(id, &seeker_key).await
}

/// The thread's messages as the help-seeker sees them.
async fn message_views(
    state: &AppState,
    chrome: &Chrome,
    c: i64,
    key: &Key,
) -> Result<Vec<MessageView>, reachline_app::Error> {
    Ok(state
        .conversation_lines(c, key, 0)
        .await?
        .into_iter()
        .map(|m| MessageView {
            seq: m.seq,
            from_seeker: m.from_seeker,
            who: if m.from_seeker {
                chrome.t("contact-you")
            } else {
                chrome.t("contact-practitioner")
            },
            when: chrome.zone.minute(m.at),
            text: m.text,
        })
        .collect())
}

async fn thread_page(
    state: &AppState,
    ctx: &Ctx,
    headers: &axum::http::HeaderMap,
    error: Option<String>,
) -> Response {
    let (c, key) = match opened(state, http::cookie(headers, THREAD_COOKIE)).await {
        Ok(Some(found)) => found,
        Ok(None) => return http::redirect("/contact/continue"),
        Err(e) => {
            tracing::error!(error = %e, "could not open a help-seeker's thread");
            return state.message(ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
        }
    };
    let messages = match message_views(state, &ctx.chrome, c.id, &key).await {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "could not read a help-seeker's thread");
            return state.message(ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
        }
    };
    let has_error = error.is_some();
    crate::site::render_form(
        &ThreadPage {
            c: &ctx.chrome,
            messages,
            error,
            max: state.config.helpline.max_message_chars as usize,
            reply: ctx.chrome.l.text(
                "helpline-reply-days",
                &[(
                    "days",
                    FluentValue::from(state.config.helpline.message_reply_days),
                )],
            ),
        },
        has_error,
    )
}

pub async fn thread(
    State(state): State<Shared>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
) -> Response {
    thread_page(&state, &ctx, &headers, None).await
}

pub async fn reply(
    State(state): State<Shared>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    fields: Fields,
) -> Response {
    let max = state.config.helpline.max_message_chars as usize;
    let (c, key) = match opened(&state, http::cookie(&headers, THREAD_COOKIE)).await {
        Ok(Some(found)) => found,
        Ok(None) => return http::redirect("/contact/continue"),
        Err(e) => {
            tracing::error!(error = %e, "could not open a help-seeker's thread");
            return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
        }
    };
    match state
        .seeker_reply(&c, &key, fields.get("message").unwrap_or_default())
        .await
    {
        Ok(Some(_)) => http::redirect("/contact/thread#latest"),
        Ok(None) => http::redirect("/contact/message"),
        Err(reachline_app::Error::Invalid(k)) => {
            let msg = ctx
                .chrome
                .l
                .text(&format!("contact-{k}"), &[("max", FluentValue::from(max))]);
            thread_page(&state, &ctx, &headers, Some(msg)).await
        }
        Err(e) => {
            tracing::error!(error = %e, "a help-seeker's reply was not stored");
            state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server")
        }
    }
}

#[derive(Template)]
#[template(path = "contact_continue.html")]
struct ContinuePage<'a> {
    c: &'a Chrome,
    error: Option<String>,
}

pub async fn continue_form(State(_state): State<Shared>, ctx: Ctx) -> Response {
    crate::site::render(&ContinuePage {
        c: &ctx.chrome,
        error: None,
    })
}

/// Finds the newest thread for a return code and opens it in this browser.
pub async fn continue_thread(State(state): State<Shared>, ctx: Ctx, fields: Fields) -> Response {
    let refuse = |key: &str, status: StatusCode| {
        let mut resp = crate::site::render(&ContinuePage {
            c: &ctx.chrome,
            error: Some(ctx.chrome.t(key)),
        });
        *resp.status_mut() = status;
        resp
    };
    let code = match ReturnCode::parse(fields.get("code").unwrap_or_default()) {
        Ok(c) => c,
        Err(CodeError::Length) => return refuse("resume-code-length", StatusCode::BAD_REQUEST),
        Err(CodeError::Symbol) => return refuse("resume-code-symbol", StatusCode::BAD_REQUEST),
        Err(CodeError::Check) => return refuse("resume-code-check", StatusCode::BAD_REQUEST),
    };
    match state.seeker_find_thread(code).await {
        Ok(Some((id, key))) => {
            let mut resp = http::redirect("/contact/thread");
            thread_cookie(&mut resp, &ctx, Some((id, &key)));
            resp
        }
        Ok(None) => refuse("contact-no-thread", StatusCode::NOT_FOUND),
        Err(e) => failure(&state, &ctx, e),
    }
}
