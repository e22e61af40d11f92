//! The callback worklist: pending requests oldest first, claim (atomic), see the number
//! (only the practitioner holding the claim, and audited), record an attempt that did not
//! get through, or mark done with the wrap-up, which records the contact and deletes the
//! number in one transaction.

use super::inbox::waited;
use super::wrapup::{self, Defaults};
use super::{app_error, render, render_form, ConsoleChrome, Staff};
use crate::callbacks::window_words;
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use reachline_app::Error;
use reachline_core::areas;
use reachline_core::vocabulary::CallbackStatus;
use reachline_core::vocabulary::Channel;
use reachline_store::CallbackRow;

pub struct CallbackView {
    pub id: i64,
    pub waited: String,
    pub windows: String,
    pub attempts: i64,
    pub claimed_by: String,
    pub who: String,
}

#[derive(Template)]
#[template(path = "console/callbacks.html")]
struct ListPage<'a> {
    k: ConsoleChrome<'a>,
    callbacks: Vec<CallbackView>,
    retention_days: i64,
}

pub async fn list(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
) -> Response {
    let pending = match state.callbacks_worklist(me.actor()).await {
        Ok(rows) => rows,
        Err(e) => return app_error(&state, &ctx.chrome, Some(&me), e),
    };
    let now = state.clock.now_unix();
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(&me),
    };
    let callbacks = pending
        .into_iter()
        .map(|c| CallbackView {
            id: c.id,
            waited: waited(now - c.created_at),
            windows: window_words(&ctx.chrome, &c.windows),
            attempts: c.attempts,
            claimed_by: c.claimed_by_name.unwrap_or_default(),
            who: if c.who.is_empty() {
                String::new()
            } else {
                k.t(&format!("wrapup-who-{}", c.who))
            },
        })
        .collect();
    render(&ListPage {
        k,
        callbacks,
        retention_days: state.config.helpline.callback_retention_days as i64,
    })
}

#[derive(Template)]
#[template(path = "console/callback.html")]
struct CallbackPage<'a> {
    k: ConsoleChrome<'a>,
    id: i64,
    pending: bool,
    mine: bool,
    status: String,
    claimed_by: String,
    requested: String,
    windows: String,
    who: String,
    age: String,
    area: String,
    statement: String,
    attempts: i64,
    last_attempt: String,
    phone: Option<String>,
    error: Option<String>,
    w: wrapup::Form,
}

/// What the wrap-up of a callback starts with: what the help-seeker told us; the call
/// happened just now.
fn wrapup_defaults(c: &CallbackRow, now: i64) -> Defaults {
    Defaults {
        who: c.who.clone(),
        age_group: c.age_group.clone(),
        area: c.area.clone(),
        started: Some(now),
        ended: Some(now),
        first_this_year: true,
    }
}

async fn page(state: &AppState, ctx: &Ctx, me: &Staff, id: i64, error: Option<String>) -> Response {
    page_with(state, ctx, me, id, error, None, "").await
}

async fn page_with(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    id: i64,
    error: Option<String>,
    posted: Option<&Fields>,
    error_field: &str,
) -> Response {
    let view = match state.callback_view(me.actor(), id).await {
        Ok(v) => v,
        Err(e) => return app_error(state, &ctx.chrome, Some(me), e),
    };
    let (c, phone) = (view.row, view.phone);
    let pending = c.status == CallbackStatus::Pending;
    let mine = c.claimed_by == Some(me.id);
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(me),
    };
    let one = |prefix: &str, v: &str| {
        if v.is_empty() {
            k.t("console-wrapup-not-known")
        } else {
            k.t(&format!("{prefix}-{v}"))
        }
    };
    let has_error = error.is_some();
    let now = state.clock.now_unix();
    render_form(
        &CallbackPage {
            id,
            pending,
            mine,
            status: k.t(&format!("console-callback-status-{}", c.status)),
            claimed_by: c.claimed_by_name.clone().unwrap_or_default(),
            requested: ctx.chrome.zone.minute(c.created_at),
            windows: window_words(&ctx.chrome, &c.windows),
            who: one("wrapup-who", &c.who),
            age: one("wrapup-age", &c.age_group),
            area: areas::find(&c.area)
                .map(|a| a.name.to_string())
                .unwrap_or_else(|| k.t("console-wrapup-not-known")),
            statement: c.statement_version.clone(),
            attempts: c.attempts,
            // No attempt yet: nothing to show (an absent value, not a failure).
            last_attempt: c
                .last_attempt_at
                .map(|t| ctx.chrome.zone.minute(t))
                .unwrap_or_default(),
            phone,
            error,
            w: wrapup::form(&k, posted, &wrapup_defaults(&c, now), true, error_field),
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
    match state.callback_claim(me.actor(), id).await {
        Ok(()) => http::redirect(&format!("/console/callbacks/{id}")),
        Err(e) => refused(&state, &ctx, &me, id, e).await,
    }
}

/// A call that did not get through: counted, the claim released, the request stays listed.
pub async fn attempt(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    match state.callback_attempt(me.actor(), id).await {
        Ok(()) => http::redirect("/console/callbacks"),
        Err(e) => refused(&state, &ctx, &me, id, e).await,
    }
}

/// A refused change: the reason on the request's page, or the error page (404 when there
/// is no such request).
async fn refused(state: &AppState, ctx: &Ctx, me: &Staff, id: i64, e: Error) -> Response {
    match e {
        Error::Invalid(key) => page(state, ctx, me, id, Some(ctx.chrome.t(key))).await,
        e => app_error(state, &ctx.chrome, Some(me), e),
    }
}

/// The call happened: the wrap-up becomes the contact record and the number is deleted, in
/// one transaction.
pub async fn done(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let c = match state.callback_held(me.actor(), id).await {
        Ok(c) => c,
        Err(e) => return refused(&state, &ctx, &me, id, e).await,
    };
    let now = state.clock.now_unix();
    let wrap = match wrapup::parse(
        &fields,
        Channel::Callback,
        &c.statement_version,
        &wrapup_defaults(&c, now),
        true,
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
    match state.callback_done(me.actor(), id, &wrap).await {
        Ok(contact) => http::redirect(&format!("/console/contacts/{contact}")),
        Err(e) => refused(&state, &ctx, &me, id, e).await,
    }
}
