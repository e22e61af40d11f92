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
use reachline_core::sealing::Context;
use reachline_core::vocabulary::AgeGroup;
use reachline_core::vocabulary::Sender;
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

/// Opens the messages of a conversation with its key.
pub async fn read_messages(
    state: &AppState,
    c: &ConversationRow,
    key: &Key,
    after: i64,
) -> Vec<(i64, bool, Option<String>, i64, String)> {
    state
        .store
        .messages(c.id, after)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let text = key
                .open(
                    Context::MessageBody {
                        conversation: c.id,
                        seq: m.seq,
                    },
                    &m.body_sealed,
                )
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            (
                m.seq,
                m.sender == Sender::Seeker,
                m.staff_name,
                m.created_at,
                text,
            )
        })
        .collect()
}

/// Checks a message's text: not empty, not over the limit. Links stay text.
pub fn message_text(fields: &Fields, max: usize) -> Result<String, &'static str> {
    let text = fields
        .get("message")
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        Err("message-empty")
    } else if text.chars().count() > max {
        Err("message-too-long")
    } else {
        Ok(text.to_string())
    }
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
    let derived = match state
        .workbooks
        .guard
        .derive(code, state.workbooks.pepper.clone())
        .await
    {
        Ok(d) => d,
        Err(e) => return failure(&state, &ctx, e),
    };
    let lookup = hex::encode(derived.lookup);
    let intake = crate::intake::posted(&state, &fields).await;
    let id = match state
        .start_thread(&intake, &lookup, &derived.key, &text)
        .await
    {
        Ok(id) => id,
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
    thread_cookie(&mut resp, &ctx, Some((id, &derived.key)));
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

/// The conversation and its key, from the thread cookie.
async fn opened(state: &AppState, cookie: Option<&str>) -> Option<(ConversationRow, Key)> {
    let (id, seeker_key) = parse_thread_cookie(cookie)?;
    let c = state.store.conversation_get(id).await.ok().flatten()?;
    let wrapped = c.key_seeker.clone()?;
    let key = seeker_key
        .open(Context::ConversationKey { conversation: id }, &wrapped)
        .ok()?;
    Some((c, Key::from_slice(&key)?))
}

async fn thread_page(
    state: &AppState,
    ctx: &Ctx,
    headers: &axum::http::HeaderMap,
    error: Option<String>,
) -> Response {
    let Some((c, key)) = opened(state, http::cookie(headers, THREAD_COOKIE)).await else {
        return http::redirect("/contact/continue");
    };
    let messages = read_messages(state, &c, &key, 0)
        .await
        .into_iter()
        .map(|(seq, from_seeker, _staff, at, text)| MessageView {
            seq,
            from_seeker,
            who: if from_seeker {
                ctx.chrome.t("contact-you")
            } else {
                ctx.chrome.t("contact-practitioner")
            },
            when: reachline_app::time::utc_minute(at),
            text,
        })
        .collect::<Vec<_>>();
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
    let Some((c, key)) = opened(&state, http::cookie(&headers, THREAD_COOKIE)).await else {
        return http::redirect("/contact/continue");
    };
    let text = match message_text(&fields, max) {
        Ok(t) => t,
        Err(k) => {
            let msg = ctx
                .chrome
                .l
                .text(&format!("contact-{k}"), &[("max", FluentValue::from(max))]);
            return thread_page(&state, &ctx, &headers, Some(msg)).await;
        }
    };
    if c.closed_at.is_some() && c.key_staff.is_none() {
        return http::redirect("/contact/message");
    }
    let id = c.id;
    let sealed = |seq: i64| {
        key.seal(
            Context::MessageBody {
                conversation: id,
                seq,
            },
            text.as_bytes(),
        )
    };
    match state
        .store
        .message_append(id, Sender::Seeker, None, sealed, state.clock.now_unix())
        .await
    {
        Ok(_) => http::redirect("/contact/thread#latest"),
        Err(e) => failure(&state, &ctx, WorkbookError::Store(e)),
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
    if let Err(e) = state.workbooks.guard.check() {
        return failure(&state, &ctx, e);
    }
    let derived = match state
        .workbooks
        .guard
        .derive(code, state.workbooks.pepper.clone())
        .await
    {
        Ok(d) => d,
        Err(e) => return failure(&state, &ctx, e),
    };
    let threads = state
        .store
        .conversations_by_lookup(&hex::encode(derived.lookup))
        .await
        .unwrap_or_default();
    match threads.into_iter().find(|c| c.key_seeker.is_some()) {
        Some(c) => {
            let mut resp = http::redirect("/contact/thread");
            thread_cookie(&mut resp, &ctx, Some((c.id, &derived.key)));
            resp
        }
        None => {
            state.workbooks.guard.failed();
            refuse("contact-no-thread", StatusCode::NOT_FOUND)
        }
    }
}
