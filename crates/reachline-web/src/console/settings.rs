//! The settings area: opening hours and retention (administrators), the versioned
//! confidentiality statement (administrators), canned responses (supervisors manage,
//! practitioners search and use). Every change is audited.

use super::{app_error, render_form, ConsoleChrome, Staff};
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Extension;
use reachline_app::settings::{Hours, Retention};
use reachline_app::Error;

pub struct StatementView {
    pub version: i64,
    pub when: String,
    pub by: String,
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage<'a> {
    k: ConsoleChrome<'a>,
    weekly: String,
    holidays: String,
    time_zone: String,
    retention: Retention,
    statement: String,
    versions: Vec<StatementView>,
    error: Option<String>,
    saved: bool,
}

async fn page(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    error: Option<String>,
    saved: bool,
) -> Response {
    let (hours, _) = state.live.hours();
    let versions = state.store.statement_versions().await.unwrap_or_default();
    let statement = versions.first().map(|s| s.body.clone()).unwrap_or_default();
    let has_error = error.is_some();
    render_form(
        &SettingsPage {
            k: ConsoleChrome {
                c: &ctx.chrome,
                staff: Some(me),
            },
            weekly: hours.weekly.join("\n"),
            holidays: hours.holidays.join("\n"),
            time_zone: hours.time_zone,
            retention: state.live.retention(),
            statement,
            versions: versions
                .iter()
                .map(|v| StatementView {
                    version: v.version,
                    when: ctx.chrome.zone.minute(v.created_at),
                    by: v.created_by.clone(),
                })
                .collect(),
            error,
            saved,
        },
        has_error,
    )
}

pub async fn show(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    uri: axum::http::Uri,
) -> Response {
    let saved = uri.query().is_some_and(|q| q.contains("saved"));
    page(&state, &ctx, &me, None, saved).await
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

pub async fn save_hours(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    fields: Fields,
) -> Response {
    let hours = Hours {
        weekly: lines(fields.get("weekly").unwrap_or_default()),
        holidays: lines(fields.get("holidays").unwrap_or_default()),
        time_zone: fields
            .get("time_zone")
            .unwrap_or_default()
            .trim()
            .to_string(),
    };
    let result = state.save_hours(me.actor(), hours).await;
    settings_outcome(&state, &ctx, &me, result).await
}

/// Back to the settings page, saved; or the page again with what was wrong.
async fn settings_outcome(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    result: Result<(), Error>,
) -> Response {
    match result {
        Ok(()) => http::redirect("/console/settings?saved=1"),
        Err(Error::Rejected(why)) => page(state, ctx, me, Some(why), false).await,
        Err(Error::Invalid(code)) => page(state, ctx, me, Some(ctx.chrome.t(code)), false).await,
        Err(e) => app_error(state, &ctx.chrome, Some(me), e),
    }
}

pub async fn save_retention(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    fields: Fields,
) -> Response {
    let num = |name: &str| {
        fields
            .get(name)
            .unwrap_or_default()
            .trim()
            .parse::<u64>()
            .unwrap_or(0)
    };
    let r = Retention {
        selfhelp_saved_days: num("selfhelp_saved_days"),
        selfhelp_unsaved_hours: num("selfhelp_unsaved_hours"),
        contact_note_days: num("contact_note_days"),
    };
    let result = state.save_retention(me.actor(), r).await;
    settings_outcome(&state, &ctx, &me, result).await
}

pub async fn save_statement(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    fields: Fields,
) -> Response {
    let result = state
        .publish_statement(me.actor(), fields.get("statement").unwrap_or_default())
        .await
        .map(|_| ());
    settings_outcome(&state, &ctx, &me, result).await
}

pub struct CannedView {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub preview: String,
}

#[derive(Template)]
#[template(path = "console/canned.html")]
struct CannedPage<'a> {
    k: ConsoleChrome<'a>,
    q: String,
    items: Vec<CannedView>,
    can_edit: bool,
    error: Option<String>,
}

/// Placeholders a canned response may use, filled in when it is inserted.
pub fn fill_placeholders(state: &AppState, ctx: &Ctx, staff: &Staff, body: &str) -> String {
    let (hours, spans) = state.live.hours();
    let hours_text = crate::site::hours_lines(&ctx.chrome, &spans).join("; ");
    body.replace("{opening_hours}", &hours_text)
        .replace("{time_zone}", &hours.time_zone)
        .replace(
            "{reply_days}",
            &state.config.helpline.message_reply_days.to_string(),
        )
        .replace("{practitioner}", &staff.username)
}

#[derive(serde::Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    q: String,
}

async fn canned_page(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    q: &str,
    error: Option<String>,
) -> Response {
    let items = state
        .store
        .canned_search(q)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| CannedView {
            preview: fill_placeholders(state, ctx, me, &c.body),
            id: c.id,
            title: c.title,
            body: c.body,
        })
        .collect();
    let has_error = error.is_some();
    render_form(
        &CannedPage {
            k: ConsoleChrome {
                c: &ctx.chrome,
                staff: Some(me),
            },
            q: q.to_string(),
            items,
            can_edit: me.is(super::SUPERVISORS),
            error,
        },
        has_error,
    )
}

pub async fn canned(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    uri: axum::http::Uri,
) -> Response {
    let q = Query::<Search>::try_from_uri(&uri)
        .map(|q| q.0.q)
        .unwrap_or_default();
    let q: String = q.trim().chars().take(100).collect();
    canned_page(&state, &ctx, &me, &q, None).await
}

pub async fn canned_save(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    fields: Fields,
) -> Response {
    let id = fields.get("id").and_then(|v| v.parse::<i64>().ok());
    let result = state
        .save_canned(
            me.actor(),
            id,
            fields.get("title").unwrap_or_default(),
            fields.get("body").unwrap_or_default(),
        )
        .await;
    match result {
        Ok(_) => http::redirect("/console/canned"),
        Err(Error::Invalid(code)) => {
            canned_page(&state, &ctx, &me, "", Some(ctx.chrome.t(code))).await
        }
        Err(e) => app_error(&state, &ctx.chrome, Some(&me), e),
    }
}

pub async fn canned_delete(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    match state.delete_canned(me.actor(), id).await {
        // Already gone (another tab, another supervisor): the list shows what is left.
        Ok(()) | Err(Error::NotFound) => http::redirect("/console/canned"),
        Err(e) => app_error(&state, &ctx.chrome, Some(&me), e),
    }
}
