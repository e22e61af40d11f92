//! The callback worklist: pending requests oldest first, claim (atomic), see the number
//! (only the practitioner holding the claim, and audited), record an attempt that did not
//! get through, or mark done with the wrap-up, which records the contact and deletes the
//! number in one transaction.

use super::inbox::waited;
use super::wrapup::{self, Defaults};
use super::{app_error, console_message, render, render_form, when, ConsoleChrome, Staff};
use crate::callbacks::window_words;
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use reachline_core::areas;
use reachline_core::sealing::Context;
use reachline_store::{CallbackRow, StoreError};

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
    if let Err(e) = state.audit(&me.username, "callback.list", "", "").await {
        return app_error(&state, &ctx.chrome, Some(&me), e.into());
    }
    let now = state.clock.now_unix();
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(&me),
    };
    let callbacks = state
        .store
        .callbacks_pending()
        .await
        .unwrap_or_default()
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
    let Some(c) = state.store.callback_get(id).await.ok().flatten() else {
        return console_message(
            state,
            &ctx.chrome,
            Some(me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    };
    let pending = c.status == "pending";
    let mine = c.claimed_by == Some(me.id);
    // The number is shown only to the practitioner who claimed the call.
    let phone = if pending && mine {
        c.phone_sealed.as_deref().and_then(|s| {
            state
                .content_key
                .open(Context::CallbackPhone { callback: id }, s)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        })
    } else {
        None
    };
    if let Err(e) = state
        .audit(
            &me.username,
            "callback.view",
            &format!("callback:{id}"),
            if phone.is_some() { "number shown" } else { "" },
        )
        .await
    {
        return app_error(state, &ctx.chrome, Some(me), e.into());
    }
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
            requested: when(&c.created_at),
            windows: window_words(&ctx.chrome, &c.windows),
            who: one("wrapup-who", &c.who),
            age: one("wrapup-age", &c.age_group),
            area: areas::find(&c.area)
                .map(|a| a.name.to_string())
                .unwrap_or_else(|| k.t("console-wrapup-not-known")),
            statement: c.statement_version.clone(),
            attempts: c.attempts,
            last_attempt: c.last_attempt_at.as_ref().map(when).unwrap_or_default(),
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

/// Commits a change to a callback with its audit entry, or drops it (rolling back) when the
/// change did not apply: `Ok(None)`.
async fn audited<T>(
    state: &AppState,
    me: &Staff,
    tx: reachline_store::Tx,
    applied: Option<T>,
    action: &str,
    object: &str,
    detail: &str,
) -> Result<Option<T>, StoreError> {
    let Some(v) = applied else {
        return Ok(None);
    };
    state
        .commit_audited(tx, &me.username, action, object, detail)
        .await?;
    Ok(Some(v))
}

pub async fn claim(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    let object = format!("callback:{id}");
    let claimed = async {
        let mut tx = state.store.begin().await?;
        let applied = tx.callback_claim(id, me.id).await?.then_some(());
        audited(&state, &me, tx, applied, "callback.claim", &object, "").await
    };
    match claimed.await {
        Ok(Some(())) => http::redirect(&format!("/console/callbacks/{id}")),
        Ok(None) => refused(&state, &ctx, &me, id).await,
        Err(e) => app_error(&state, &ctx.chrome, Some(&me), e.into()),
    }
}

/// A call that did not get through: counted, the claim released, the request stays listed.
pub async fn attempt(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    let object = format!("callback:{id}");
    let attempted = async {
        let mut tx = state.store.begin().await?;
        let applied = tx
            .callback_attempt(id, me.id, state.clock.now_unix())
            .await?
            .then_some(());
        audited(
            &state,
            &me,
            tx,
            applied,
            "callback.attempt",
            &object,
            "no answer",
        )
        .await
    };
    match attempted.await {
        Ok(Some(())) => http::redirect("/console/callbacks"),
        Ok(None) => refused(&state, &ctx, &me, id).await,
        Err(e) => app_error(&state, &ctx.chrome, Some(&me), e.into()),
    }
}

/// Why an action on a callback was refused, shown on its page (or 404 if there is none).
async fn refused(state: &AppState, ctx: &Ctx, me: &Staff, id: i64) -> Response {
    let key = match state.store.callback_get(id).await.ok().flatten() {
        None => {
            return console_message(
                state,
                &ctx.chrome,
                Some(me),
                StatusCode::NOT_FOUND,
                "not-found",
            )
        }
        Some(c) if c.status != "pending" => "console-callback-closed",
        Some(c) if c.claimed_by.is_none() => "console-callback-claim-first",
        Some(_) => "console-callback-taken",
    };
    page(state, ctx, me, id, Some(ctx.chrome.t(key))).await
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
    let Some(c) = state.store.callback_get(id).await.ok().flatten() else {
        return console_message(
            &state,
            &ctx.chrome,
            Some(&me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    };
    if c.status != "pending" || c.claimed_by != Some(me.id) {
        return refused(&state, &ctx, &me, id).await;
    }
    let now = state.clock.now_unix();
    let wrap = match wrapup::parse(
        &fields,
        "callback",
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
    let object = format!("callback:{id}");
    let done = async {
        let mut tx = state.store.begin().await?;
        let contact = tx.callback_done(id, me.id, &wrap, now).await?;
        let detail = contact.map(|c| format!("contact:{c}")).unwrap_or_default();
        audited(&state, &me, tx, contact, "callback.done", &object, &detail).await
    };
    match done.await {
        Ok(Some(contact)) => http::redirect(&format!("/console/contacts/{contact}")),
        Ok(None) => refused(&state, &ctx, &me, id).await,
        Err(e) => app_error(&state, &ctx.chrome, Some(&me), e.into()),
    }
}
