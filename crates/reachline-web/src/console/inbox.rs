//! The secure-message inbox: oldest first against the reply target, claim (atomic), reply,
//! close with the wrap-up that becomes the contact record.

use super::{console_message, render, render_form, when, ConsoleChrome, Staff};
use crate::conversations::{body_context, key_context, message_text, read_messages};
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use reachline_core::keys::Key;
use reachline_core::{areas, clock};
use reachline_store::{ConversationRow, WrapUp};

pub const CONCERNS: &[&str] = &[
    "viewing-images",
    "sexual-communication",
    "contact-offending",
    "ai-or-drawn-images",
    "someone-elses-behaviour",
    "other",
];
pub const ACTIONS: &[&str] = &[
    "safety-plan",
    "device-changes",
    "avoid-situations",
    "talk-to-someone",
    "therapy",
];
pub const SIGNPOSTS: &[&str] = &[
    "self-help-modules",
    "gp-or-mental-health",
    "samaritans",
    "legal-advice",
    "family-support",
];
const ARRESTED: &[&str] = &["no", "arrested", "under-investigation", "not-asked"];

pub struct ThreadRow {
    pub id: i64,
    pub waited: String,
    pub overdue: bool,
    pub awaiting: bool,
    pub claimed_by: String,
    pub who: String,
}

fn waited(seconds: i64) -> String {
    let h = seconds.max(0) / 3600;
    if h >= 48 {
        format!("{} d {} h", h / 24, h % 24)
    } else {
        format!("{h} h {} min", (seconds.max(0) % 3600) / 60)
    }
}

#[derive(Template)]
#[template(path = "console/inbox.html")]
struct InboxPage<'a> {
    k: ConsoleChrome<'a>,
    threads: Vec<ThreadRow>,
    target_days: i64,
}

pub async fn list(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
) -> Response {
    let _ = state.audit(&me.username, "inbox.list", "", "").await;
    let now = state.clock.now_unix();
    let target = state.config.helpline.message_reply_days as i64 * 86_400;
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(&me),
    };
    let threads = state
        .store
        .conversations_open("message")
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| ThreadRow {
            id: c.id,
            waited: waited(now - c.last_seeker_at),
            overdue: c.awaiting_reply && now - c.last_seeker_at > target,
            awaiting: c.awaiting_reply,
            claimed_by: c.claimed_by_name.unwrap_or_default(),
            who: if c.who.is_empty() {
                String::new()
            } else {
                k.t(&format!("contact-who-{}", c.who))
            },
        })
        .collect();
    render(&InboxPage {
        k,
        threads,
        target_days: state.config.helpline.message_reply_days as i64,
    })
}

pub struct MessageRowView {
    pub from_seeker: bool,
    pub who: String,
    pub when: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "console/thread.html")]
struct ThreadPage<'a> {
    k: ConsoleChrome<'a>,
    id: i64,
    open: bool,
    is_chat: bool,
    mine: bool,
    claimed_by: String,
    who: String,
    age: String,
    area: String,
    statement: String,
    messages: Vec<MessageRowView>,
    error: Option<String>,
    concerns: Vec<(String, String)>,
    actions: Vec<(String, String)>,
    signposts: Vec<(String, String)>,
    arrested: Vec<(String, String)>,
    first_this_year: bool,
    max: usize,
}

fn staff_key(state: &AppState, c: &ConversationRow) -> Option<Key> {
    let wrapped = c.key_staff.as_deref()?;
    let raw = state
        .content_key
        .open(key_context(c.id).as_bytes(), wrapped)
        .ok()?;
    Key::from_slice(&raw)
}

fn options(k: &ConsoleChrome<'_>, prefix: &str, values: &[&str]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|v| (v.to_string(), k.t(&format!("{prefix}-{v}"))))
        .collect()
}

async fn page(state: &AppState, ctx: &Ctx, me: &Staff, id: i64, error: Option<String>) -> Response {
    let Some(c) = state.store.conversation_get(id).await.ok().flatten() else {
        return console_message(
            state,
            &ctx.chrome,
            Some(me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    };
    let _ = state
        .audit(
            &me.username,
            "conversation.view",
            &format!("conversation:{id}"),
            "",
        )
        .await;
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(me),
    };
    let messages = match staff_key(state, &c) {
        Some(key) => read_messages(state, &c, &key, 0)
            .await
            .into_iter()
            .map(|(_, from_seeker, staff, at, text)| MessageRowView {
                from_seeker,
                who: if from_seeker {
                    k.t("console-thread-help-seeker")
                } else {
                    staff.unwrap_or_default()
                },
                when: when(&at),
                text,
            })
            .collect(),
        None => Vec::new(),
    };
    let year_start =
        time::Date::from_calendar_date(clock::year_of(c.created_at), time::Month::January, 1)
            .map(|d| d.midnight().assume_utc().unix_timestamp())
            .unwrap_or(0);
    let earlier = match &c.lookup {
        Some(l) => state
            .store
            .conversations_since(l, year_start, c.id)
            .await
            .unwrap_or(0),
        None => 0,
    };
    let has_error = error.is_some();
    render_form(
        &ThreadPage {
            id,
            open: matches!(c.status.as_str(), "open" | "active" | "ended"),
            is_chat: c.channel == "chat",
            mine: c.claimed_by == Some(me.id),
            claimed_by: c.claimed_by_name.clone().unwrap_or_default(),
            who: c.who.clone(),
            age: c.age_group.clone(),
            area: areas::find(&c.area)
                .map(|a| a.name.to_string())
                .unwrap_or_default(),
            statement: c.statement_version.clone(),
            messages,
            error,
            concerns: options(&k, "wrapup-concern", CONCERNS),
            actions: options(&k, "wrapup-action", ACTIONS),
            signposts: options(&k, "wrapup-signpost", SIGNPOSTS),
            arrested: options(&k, "wrapup-arrested", ARRESTED),
            first_this_year: earlier == 0,
            max: state.config.helpline.max_message_chars as usize,
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
    page(&state, &ctx, &me, id, None).await
}

pub async fn claim(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    match state.store.conversation_claim(id, me.id).await {
        Ok(true) => {
            let _ = state
                .audit(
                    &me.username,
                    "conversation.claim",
                    &format!("conversation:{id}"),
                    "",
                )
                .await;
            http::redirect(&format!("/console/inbox/{id}"))
        }
        Ok(false) => {
            page(
                &state,
                &ctx,
                &me,
                id,
                Some(ctx.chrome.t("console-thread-taken")),
            )
            .await
        }
        Err(_) => state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server"),
    }
}

/// The conversation if this practitioner may write in it (claiming it first if nobody has).
async fn writable(state: &AppState, me: &Staff, id: i64) -> Result<ConversationRow, &'static str> {
    let c = state
        .store
        .conversation_get(id)
        .await
        .ok()
        .flatten()
        .ok_or("console-thread-gone")?;
    if !matches!(c.status.as_str(), "open" | "active" | "ended") {
        return Err("console-thread-closed");
    }
    if c.claimed_by.is_none()
        && state
            .store
            .conversation_claim(id, me.id)
            .await
            .unwrap_or(false)
    {
        let _ = state
            .audit(
                &me.username,
                "conversation.claim",
                &format!("conversation:{id}"),
                "",
            )
            .await;
        return state
            .store
            .conversation_get(id)
            .await
            .ok()
            .flatten()
            .ok_or("console-thread-gone");
    }
    if c.claimed_by != Some(me.id) {
        return Err("console-thread-taken");
    }
    Ok(c)
}

pub async fn reply(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let c = match writable(&state, &me, id).await {
        Ok(c) => c,
        Err(key) => return page(&state, &ctx, &me, id, Some(ctx.chrome.t(key))).await,
    };
    if c.channel == "chat" {
        // A chat is answered in the chat, where the help-seeker is.
        return http::redirect(&format!("/console/chats/{id}"));
    }
    let max = state.config.helpline.max_message_chars as usize;
    let text = match message_text(&fields, max) {
        Ok(t) => t,
        Err(k) => {
            let msg = ctx.chrome.l.text(
                &format!("contact-{k}"),
                &[("max", fluent_bundle::FluentValue::from(max))],
            );
            return page(&state, &ctx, &me, id, Some(msg)).await;
        }
    };
    let Some(key) = staff_key(&state, &c) else {
        return page(
            &state,
            &ctx,
            &me,
            id,
            Some(ctx.chrome.t("console-thread-gone")),
        )
        .await;
    };
    let sealed = |seq: i64| key.seal(body_context(id, seq).as_bytes(), text.as_bytes());
    match state
        .store
        .message_append(id, "staff", Some(me.id), sealed, state.clock.now_unix())
        .await
    {
        Ok(seq) => {
            let _ = state
                .audit(
                    &me.username,
                    "conversation.reply",
                    &format!("conversation:{id}"),
                    &format!("message {seq}"),
                )
                .await;
            http::redirect(&format!("/console/inbox/{id}"))
        }
        Err(_) => state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server"),
    }
}

fn picked(fields: &Fields, prefix: &str, allowed: &[&str]) -> String {
    allowed
        .iter()
        .filter(|v| fields.get(&format!("{prefix}-{v}")).is_some())
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}

/// Closes the thread with its wrap-up; the contact record is what reporting counts.
pub async fn close(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let c = match writable(&state, &me, id).await {
        Ok(c) => c,
        Err(key) => return page(&state, &ctx, &me, id, Some(ctx.chrome.t(key))).await,
    };
    let concerns = picked(&fields, "concern", CONCERNS);
    if concerns.is_empty() {
        return page(
            &state,
            &ctx,
            &me,
            id,
            Some(ctx.chrome.t("console-wrapup-needs-concern")),
        )
        .await;
    }
    let arrested = fields
        .get("arrested")
        .filter(|a| ARRESTED.contains(a))
        .unwrap_or("not-asked")
        .to_string();
    let area = fields
        .get("area")
        .filter(|a| areas::find(a).is_some())
        .map(str::to_string)
        .unwrap_or_else(|| c.area.clone());
    let now = state.clock.now_unix();
    let wrap = WrapUp {
        channel: c.channel.clone(),
        started_at: c.created_at,
        ended_at: now,
        who: c.who.clone(),
        age_group: c.age_group.clone(),
        area,
        concerns,
        arrested,
        actions: picked(&fields, "action", ACTIONS),
        signposting: picked(&fields, "signpost", SIGNPOSTS),
        first_this_year: fields.get("first_this_year").is_some(),
        statement_version: c.statement_version.clone(),
        synthetic: false,
    };
    match state.store.conversation_close(id, me.id, &wrap, now).await {
        Ok(Some(contact)) => {
            if c.channel == "chat" {
                crate::chat::publish(&state, crate::chat::Event::Status { c: id }).await;
            }
            let _ = state
                .audit(
                    &me.username,
                    "conversation.close",
                    &format!("conversation:{id}"),
                    &format!("contact:{contact}"),
                )
                .await;
            http::redirect(&format!("/console/contacts/{contact}"))
        }
        Ok(None) => {
            page(
                &state,
                &ctx,
                &me,
                id,
                Some(ctx.chrome.t("console-thread-closed")),
            )
            .await
        }
        Err(_) => state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server"),
    }
}
