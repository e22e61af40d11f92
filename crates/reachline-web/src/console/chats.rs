//! The practitioner's side of live chat: availability, the queue (atomic take, a limit of
//! simultaneous chats), the chat itself (socket with JavaScript, form and self-reloading
//! transcript without), canned responses, transfer to a colleague, ending; the wrap-up is
//! the inbox's (`/console/inbox/{id}`), so every channel's contact record is made alike.

use super::{app_error, render_form, ConsoleChrome, Staff};
use crate::chat::{self, Event, Peer};
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::state::AppState;
use askama::Template;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use reachline_core::vocabulary::{Channel, ConversationStatus};
use reachline_store::{ConversationRow, Take};

pub struct QueueRow {
    pub id: i64,
    pub waited: String,
    pub who: String,
    pub age: String,
    pub under_18: bool,
    pub language: String,
}

pub struct MyChat {
    pub id: i64,
    pub status: String,
    pub who: String,
}

#[derive(Template)]
#[template(path = "console/chats.html")]
struct QueuePage<'a> {
    k: ConsoleChrome<'a>,
    available: bool,
    queue: Vec<QueueRow>,
    mine: Vec<MyChat>,
    limit: i64,
    error: Option<String>,
    open_now: bool,
    /// How long each waiting caller has waited, longest first.
    calls: Vec<String>,
    /// The phone line rings practitioners from here.
    can_take_calls: bool,
    ringing: bool,
}

pub(super) fn minutes(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{} min {:02} s", s / 60, s % 60)
}

fn who_text(k: &ConsoleChrome<'_>, who: &str) -> String {
    super::seeker_answer(k, "who", who)
}

fn age_text(k: &ConsoleChrome<'_>, age: &str) -> String {
    super::seeker_answer(k, "age", age)
}

async fn queue_page(state: &AppState, ctx: &Ctx, me: &Staff, error: Option<String>) -> Response {
    queue_page_with(state, ctx, me, error, false).await
}

async fn queue_page_with(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    error: Option<String>,
    ringing: bool,
) -> Response {
    let now = state.clock.now_unix();
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(me),
    };
    let available = state
        .store
        .staff_availability()
        .await
        .unwrap_or_default()
        .iter()
        .any(|s| s.id == me.id && s.available);
    let queue = state
        .store
        .chat_queue()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| QueueRow {
            id: c.id,
            waited: minutes(now - c.created_at),
            who: who_text(&k, &c.who),
            age: age_text(&k, &c.age_group),
            under_18: c.age_group == "under-18",
            language: state
                .i18n
                .all()
                .iter()
                .find(|l| l.tag == c.language)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| c.language.clone()),
        })
        .collect();
    let mine = state
        .store
        .chats_of(me.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| MyChat {
            id: c.id,
            status: k.t(&format!("console-chat-state-{}", c.status)),
            who: who_text(&k, &c.who),
        })
        .collect();
    // Calls waiting, where the phone line's table exists; a store that cannot say is an
    // error page, not an empty queue.
    let calls = if state.store.has_calls() {
        match state.calls_waiting().await {
            Ok(rows) => rows
                .iter()
                .map(|c| minutes(now - c.enqueued_at.unwrap_or(c.offered_at)))
                .collect(),
            Err(e) => return app_error(state, &ctx.chrome, Some(me), e.into()),
        }
    } else {
        Vec::new()
    };
    let has_error = error.is_some();
    let mut resp = render_form(
        &QueuePage {
            available,
            queue,
            mine,
            limit: state.config.helpline.chat_max_per_practitioner as i64,
            error,
            open_now: state.live.open_at(now),
            calls,
            can_take_calls: !state.config.telephony.provider_api_url.is_empty(),
            ringing,
            k,
        },
        has_error,
    );
    // Without JavaScript the queue reloads itself; with it, console.js does.
    resp.headers_mut().insert(
        axum::http::header::REFRESH,
        axum::http::HeaderValue::from_static("15"),
    );
    resp
}

pub async fn queue(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    uri: axum::http::Uri,
) -> Response {
    let ringing = uri.query() == Some("call=ringing");
    queue_page_with(&state, &ctx, &me, None, ringing).await
}

/// "Take the next call": the provider rings the practitioner and, when they answer, puts
/// them through to the caller who has waited longest.
pub async fn take_call(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
) -> Response {
    let request = match state.take_call_request(me.actor()).await {
        Ok(r) => r,
        Err(reachline_app::Error::Invalid(key)) => {
            return queue_page(&state, &ctx, &me, Some(ctx.chrome.t(key))).await
        }
        Err(e) => return app_error(&state, &ctx.chrome, Some(&me), e),
    };
    match crate::telephony::provider_post(&request).await {
        Ok(status) if (200..300).contains(&status) => http::redirect("/console/chats?call=ringing"),
        Ok(status) => {
            tracing::warn!(
                status,
                "the telephony provider refused to ring a practitioner"
            );
            let msg = ctx.chrome.t("console-calls-provider-failed");
            queue_page(&state, &ctx, &me, Some(msg)).await
        }
        Err(e) => {
            tracing::warn!(error = %e, "the telephony provider could not be reached");
            let msg = ctx.chrome.t("console-calls-provider-failed");
            queue_page(&state, &ctx, &me, Some(msg)).await
        }
    }
}

pub async fn availability(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    fields: Fields,
) -> Response {
    let on = fields.get("available") == Some("yes");
    if let Err(e) = state.set_available(me.actor(), on).await {
        return app_error(&state, &ctx.chrome, Some(&me), e);
    }
    chat::publish(&state, Event::Queue).await;
    // From the console home, back there; otherwise the chats page.
    let back = match fields.get("next") {
        Some("/console") => "/console",
        _ => "/console/chats",
    };
    http::redirect(back)
}

pub async fn take(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    let limit = state.config.helpline.chat_max_per_practitioner as i64;
    let taken = state.chat_take(me.actor(), id).await;
    match taken {
        Ok(Take::Taken) => {
            chat::publish(&state, Event::Status { c: id }).await;
            http::redirect(&format!("/console/chats/{id}"))
        }
        Ok(Take::Gone) => {
            queue_page(&state, &ctx, &me, Some(ctx.chrome.t("console-chat-gone"))).await
        }
        Ok(Take::AtLimit) => {
            let msg = ctx.chrome.l.text(
                "console-chat-at-limit",
                &[("limit", fluent_bundle::FluentValue::from(limit))],
            );
            queue_page(&state, &ctx, &me, Some(msg)).await
        }
        Err(e) => {
            tracing::error!(error = %e, "chat take failed");
            state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server")
        }
    }
}

/// A chat this practitioner holds (or held, until wrap-up).
async fn held(state: &AppState, me: &Staff, id: i64) -> Option<ConversationRow> {
    let c = state.store.conversation_get(id).await.ok().flatten()?;
    (c.channel == Channel::Chat && c.claimed_by == Some(me.id)).then_some(c)
}

pub struct Colleague {
    pub id: i64,
    pub name: String,
}

pub struct CannedOption {
    pub title: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "console/chat.html")]
struct ChatPage<'a> {
    k: ConsoleChrome<'a>,
    id: i64,
    status: String,
    active: bool,
    who: String,
    age: String,
    under_18: bool,
    area: String,
    statement: String,
    language: String,
    error: Option<String>,
    text: String,
    max: usize,
    client_id: String,
    colleagues: Vec<Colleague>,
    canned: Vec<CannedOption>,
    /// The practitioner's chats, this one among them, for switching.
    held: Vec<HeldView>,
}

/// One of the practitioner's chats in the list beside the conversation.
pub struct HeldView {
    pub id: i64,
    pub current: bool,
    /// "Active" or "Ended: wrap-up to write".
    pub state: String,
    pub unread: i64,
    /// "Waiting for your reply for 3 min", or empty.
    pub waiting: String,
}

/// The chats `me` holds, for the list beside a conversation; the chat being shown (`current`)
/// counts as read.
pub async fn held_views(
    state: &AppState,
    k: &ConsoleChrome<'_>,
    me: &Staff,
    current: i64,
) -> Result<Vec<HeldView>, reachline_app::Error> {
    let now = state.clock.now_unix();
    Ok(state
        .store
        .held_chats(me.id)
        .await?
        .into_iter()
        .map(|h| HeldView {
            current: h.id == current,
            state: k.t(&format!("console-chat-held-{}", h.status)),
            unread: if h.id == current { 0 } else { h.unread },
            waiting: if h.awaiting_reply && h.status == "active" {
                k.ts(
                    "console-chat-held-waiting",
                    "wait",
                    &minutes(now - h.last_seeker_at),
                )
            } else {
                String::new()
            },
            id: h.id,
        })
        .collect())
}

async fn chat_page(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    id: i64,
    error: Option<String>,
    text: String,
) -> Response {
    let Some(c) = held(state, me, id).await else {
        // Not theirs to work in: the conversation page decides (a supervisor's audited
        // view, a colleague's refusal recorded in the audit log, or not found).
        return http::redirect(&format!("/console/inbox/{id}"));
    };
    if let Err(e) = state
        .audit(&me.username, "chat.view", &format!("conversation:{id}"), "")
        .await
    {
        return app_error(state, &ctx.chrome, Some(me), e.into());
    }
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(me),
    };
    let held = match held_views(state, &k, me, id).await {
        Ok(h) => h,
        Err(e) => return app_error(state, &ctx.chrome, Some(me), e),
    };
    let limit = state.config.helpline.chat_max_per_practitioner as i64;
    let colleagues = state
        .store
        .staff_availability()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.id != me.id && s.available && s.active_chats < limit)
        .map(|s| Colleague {
            id: s.id,
            name: s.username,
        })
        .collect();
    let canned = state
        .store
        .canned_search("")
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| CannedOption {
            body: super::settings::fill_placeholders(state, ctx, me, &r.body),
            title: r.title,
        })
        .collect();
    let has_error = error.is_some();
    render_form(
        &ChatPage {
            id,
            status: k.t(&format!("console-chat-state-{}", c.status)),
            active: c.status == ConversationStatus::Active,
            who: who_text(&k, &c.who),
            age: age_text(&k, &c.age_group),
            under_18: c.age_group == "under-18",
            area: super::seeker_area(&k, &c.area),
            statement: c.statement_version.clone(),
            language: c.language.clone(),
            error,
            text,
            max: state.config.helpline.max_message_chars as usize,
            client_id: chat::new_client_id(),
            colleagues,
            canned,
            held,
            k,
        },
        has_error,
    )
}

pub async fn show(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    chat_page(&state, &ctx, &me, id, None, String::new()).await
}

pub async fn send(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let Some(c) = held(&state, &me, id).await else {
        return chat_page(&state, &ctx, &me, id, None, String::new()).await;
    };
    let Some(key) = state.staff_conversation_key(&c) else {
        return state.message(&ctx, StatusCode::GONE, "not-found");
    };
    // Without JavaScript, choosing a canned response with an empty message sends it.
    let mut typed = fields.get("message").unwrap_or_default().to_string();
    if typed.trim().is_empty() {
        if let Some(title) = fields.get("canned").filter(|t| !t.is_empty()) {
            if let Some(r) = state
                .store
                .canned_search("")
                .await
                .unwrap_or_default()
                .into_iter()
                .find(|r| r.title == title)
            {
                typed = super::settings::fill_placeholders(&state, &ctx, &me, &r.body);
            }
        }
    }
    let cid = fields
        .get("cid")
        .map(str::to_string)
        .unwrap_or_else(chat::new_client_id);
    match chat::send(
        &state,
        id,
        &key,
        chat::ChatSender::Staff(me.actor()),
        &cid,
        &typed,
    )
    .await
    {
        Ok(_) => http::redirect(&format!("/console/chats/{id}#compose")),
        Err(e) => {
            let msg = chat::send_error_text(e, &state, &ctx.chrome.l);
            chat_page(&state, &ctx, &me, id, Some(msg), typed).await
        }
    }
}

pub async fn end(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    if held(&state, &me, id).await.is_some() {
        let ended = state.chat_end(me.actor(), id).await;
        match ended {
            Ok(Take::Taken) => chat::publish(&state, Event::Status { c: id }).await,
            // Already ended (the help-seeker left first): on to the wrap-up.
            Ok(_) => {}
            Err(e) => return app_error(&state, &ctx.chrome, Some(&me), e),
        }
    }
    http::redirect(&format!("/console/inbox/{id}#wrap-up"))
}

pub async fn transfer(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let Some(to) = fields.get("to").and_then(|v| v.parse::<i64>().ok()) else {
        return chat_page(
            &state,
            &ctx,
            &me,
            id,
            Some(ctx.chrome.t("console-chat-transfer-pick")),
            String::new(),
        )
        .await;
    };
    let transferred = state.chat_transfer(me.actor(), id, to).await;
    match transferred {
        Ok(Take::Taken) => {
            chat::publish(&state, Event::Status { c: id }).await;
            http::redirect("/console/chats")
        }
        Ok(_) => {
            chat_page(
                &state,
                &ctx,
                &me,
                id,
                Some(ctx.chrome.t("console-chat-transfer-failed")),
                String::new(),
            )
            .await
        }
        Err(e) => app_error(&state, &ctx.chrome, Some(&me), e),
    }
}

#[derive(Template)]
#[template(path = "console/chat_transcript.html")]
struct TranscriptPage<'a> {
    k: ConsoleChrome<'a>,
    lines: Vec<crate::conversations::MessageView>,
    status: String,
    live: bool,
}

pub async fn transcript(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(c) = held(&state, &me, id).await else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let Some(key) = state.staff_conversation_key(&c) else {
        return (StatusCode::GONE, "gone").into_response();
    };
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(&me),
    };
    let seeker = k.t("console-thread-help-seeker");
    let lines = match chat::lines(&state, id, &key, 0).await {
        Ok(lines) => lines,
        Err(e) => return app_error(&state, &ctx.chrome, Some(&me), e),
    };
    // The practitioner has it in front of them: all of it is read.
    if let Some(newest) = lines.iter().map(|m| m.seq).max() {
        if let Err(e) = state.store.chat_staff_read(id, me.id, newest).await {
            tracing::warn!(error = %e, "could not note a chat as read; its unread count stays");
        }
    }
    let lines = lines
        .into_iter()
        .map(|m| crate::conversations::MessageView {
            seq: m.seq,
            from_seeker: m.from_seeker,
            who: if m.from_seeker {
                seeker.clone()
            } else {
                m.staff_name.clone().unwrap_or_default()
            },
            when: ctx.chrome.zone.clock(m.at),
            text: m.text,
        })
        .collect();
    let live = c.status == ConversationStatus::Active && !q.contains_key("still");
    let page = TranscriptPage {
        status: k.t(&format!("console-chat-state-{}", c.status)),
        k,
        lines,
        live,
    };
    let mut resp =
        chat::transcript_response(&page, live, &format!("/console/chats/{id}/transcript"));
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    resp
}

pub async fn socket(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Query(after): Query<chat::After>,
    ws: WebSocketUpgrade,
) -> Response {
    if crate::http::foreign_socket(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site").into_response();
    }
    let Some(c) = held(&state, &me, id).await else {
        return (StatusCode::FORBIDDEN, "not your chat").into_response();
    };
    let Some(key) = state.staff_conversation_key(&c) else {
        return (StatusCode::GONE, "gone").into_response();
    };
    let peer = Peer {
        staff: Some((me.id, me.username.clone())),
        session: Some(me.session_hash.clone()),
        locale: ctx.chrome.l.clone(),
    };
    chat::upgrade(state.clone(), ws, id, key, peer, after.after)
}
