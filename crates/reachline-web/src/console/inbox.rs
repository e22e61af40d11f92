//! The secure-message inbox: oldest first against the reply target, claim (atomic), reply,
//! close with the wrap-up that becomes the contact record.

use super::wrapup::{self, Defaults};
use super::{app_error, render, render_form, ConsoleChrome, Staff};
use crate::conversations::message_text;
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use reachline_app::Error;
use reachline_core::clock;
use reachline_core::vocabulary::Channel;
use reachline_store::ConversationRow;

pub struct ThreadRow {
    pub id: i64,
    pub waited: String,
    pub overdue: bool,
    pub awaiting: bool,
    pub claimed_by: String,
    pub who: String,
}

/// How long someone has waited: "3 h 20 min", or "2 d 4 h" from two days.
pub fn waited(seconds: i64) -> String {
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
    if let Err(e) = state.audit(&me.username, "inbox.list", "", "").await {
        return app_error(&state, &ctx.chrome, Some(&me), e.into());
    }
    let now = state.clock.now_unix();
    let target = state.config.helpline.message_reply_days as i64 * 86_400;
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(&me),
    };
    let threads = state
        .store
        .conversations_open(Channel::Message)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| ThreadRow {
            id: c.id,
            waited: waited(now - c.last_seeker_at),
            overdue: c.awaiting_reply && now - c.last_seeker_at > target,
            awaiting: c.awaiting_reply,
            claimed_by: c.claimed_by_name.unwrap_or_default(),
            who: super::seeker_answer(&k, "who", &c.who),
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
    w: wrapup::Form,
    max: usize,
}

async fn page(state: &AppState, ctx: &Ctx, me: &Staff, id: i64, error: Option<String>) -> Response {
    page_with(state, ctx, me, id, error, None, "").await
}

/// The thread page; after a refused wrap-up, `posted` refills the form and `error_field`
/// names the field the error is about.
async fn page_with(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    id: i64,
    error: Option<String>,
    posted: Option<&Fields>,
    error_field: &str,
) -> Response {
    let c = match state
        .conversation_view(me.actor(), me.is(super::SUPERVISORS), id)
        .await
    {
        Ok(c) => c,
        Err(e) => return app_error(state, &ctx.chrome, Some(me), e),
    };
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(me),
    };
    let messages = match state.staff_conversation_key(&c) {
        Some(key) => match state.conversation_lines(c.id, &key, 0).await {
            Ok(lines) => lines
                .into_iter()
                .map(|m| MessageRowView {
                    from_seeker: m.from_seeker,
                    who: if m.from_seeker {
                        k.t("console-thread-help-seeker")
                    } else {
                        m.staff_name.unwrap_or_default()
                    },
                    when: ctx.chrome.zone.minute(m.at),
                    text: m.text,
                })
                .collect(),
            Err(e) => return app_error(state, &ctx.chrome, Some(me), e),
        },
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
            open: c.status.not_closed(),
            is_chat: c.channel == Channel::Chat,
            mine: c.claimed_by == Some(me.id),
            claimed_by: c.claimed_by_name.clone().unwrap_or_default(),
            who: super::seeker_answer(&k, "who", &c.who),
            age: super::seeker_answer(&k, "age", &c.age_group),
            area: super::seeker_area(&k, &c.area),
            statement: c.statement_version.clone(),
            messages,
            error,
            w: wrapup::form(
                &k,
                posted,
                &wrapup_defaults(&c, earlier == 0),
                false,
                error_field,
            ),
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
    match state.thread_claim(me.actor(), id).await {
        Ok(()) => http::redirect(&format!("/console/inbox/{id}")),
        Err(e) => refused(&state, &ctx, &me, id, e).await,
    }
}

/// A refused change: the reason on the thread's page, or the error page.
async fn refused(state: &AppState, ctx: &Ctx, me: &Staff, id: i64, e: Error) -> Response {
    match e {
        Error::Invalid(key) => page(state, ctx, me, id, Some(ctx.chrome.t(key))).await,
        e => app_error(state, &ctx.chrome, Some(me), e),
    }
}

pub async fn reply(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let c = match state.thread_writable(me.actor(), id).await {
        Ok(c) => c,
        Err(e) => return refused(&state, &ctx, &me, id, e).await,
    };
    if c.channel == Channel::Chat {
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
    match state.thread_reply(me.actor(), &c, &text).await {
        Ok(_) => http::redirect(&format!("/console/inbox/{id}")),
        Err(e) => refused(&state, &ctx, &me, id, e).await,
    }
}

/// What the wrap-up of a thread starts with: what the help-seeker told us.
fn wrapup_defaults(c: &ConversationRow, first_this_year: bool) -> Defaults {
    Defaults {
        who: c.who.clone(),
        age_group: c.age_group.clone(),
        area: c.area.clone(),
        started: Some(c.created_at),
        ended: None,
        first_this_year,
    }
}

/// Closes the thread with its wrap-up; the contact record is what reporting counts.
pub async fn close(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let c = match state.thread_writable(me.actor(), id).await {
        Ok(c) => c,
        Err(e) => return refused(&state, &ctx, &me, id, e).await,
    };
    let now = state.clock.now_unix();
    let wrap = match wrapup::parse(
        &fields,
        c.channel,
        &c.statement_version,
        &wrapup_defaults(&c, true),
        false,
        now,
    ) {
        Ok(w) => w,
        Err(r) => {
            return page_with(
                &state,
                &ctx,
                &me,
                id,
                Some(ctx.chrome.t(r.message)),
                Some(&fields),
                r.field,
            )
            .await
        }
    };
    match state.thread_close(me.actor(), id, &wrap).await {
        Ok(contact) => {
            if c.channel == Channel::Chat {
                crate::chat::publish(&state, crate::chat::Event::Status { c: id }).await;
            }
            http::redirect(&format!("/console/contacts/{contact}"))
        }
        Err(e) => refused(&state, &ctx, &me, id, e).await,
    }
}
