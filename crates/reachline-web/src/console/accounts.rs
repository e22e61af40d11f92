//! Staff accounts, for administrators: invite (one-time, expiring links), change roles and
//! analyst areas, disable and enable, reset enrolment.

use super::{console_message, render_form, ConsoleChrome, Staff};
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use reachline_core::areas;
use reachline_core::staff::{self, Role};
use reachline_store::{StaffRow, StoreError};

pub struct StaffView {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub role_key: String,
    pub areas: String,
    pub state: String,
}

#[derive(Template)]
#[template(path = "console/staff.html")]
struct StaffPage<'a> {
    k: ConsoleChrome<'a>,
    staff: Vec<StaffView>,
    roles: Vec<(String, String)>,
    error: Option<String>,
    invited: Option<(String, String)>,
}

fn view(k: &ConsoleChrome<'_>, s: &StaffRow) -> StaffView {
    let state = if s.disabled {
        "console-staff-disabled"
    } else if s.enrolled() {
        "console-staff-active"
    } else {
        "console-staff-invited"
    };
    StaffView {
        id: s.id,
        username: s.username.clone(),
        role: k.t(&format!("role-{}", s.role)),
        role_key: s.role.clone(),
        areas: s.areas.clone(),
        state: k.t(state),
    }
}

async fn page(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    error: Option<String>,
    invited: Option<(String, String)>,
) -> Response {
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(me),
    };
    let rows = state.store.staff_list().await.unwrap_or_default();
    let staff = rows.iter().map(|s| view(&k, s)).collect();
    let roles = Role::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), k.t(&format!("role-{}", r.as_str()))))
        .collect();
    let has_error = error.is_some();
    render_form(
        &StaffPage {
            k,
            staff,
            roles,
            error,
            invited,
        },
        has_error,
    )
}

pub async fn list(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
) -> Response {
    let _ = state.audit(&me.username, "staff.list", "", "").await;
    page(&state, &ctx, &me, None, None).await
}

/// Validates a username: 3–40 letters, digits, dots, hyphens or underscores.
fn valid_username(u: &str) -> bool {
    (3..=40).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

/// Validates analyst areas: comma-separated police force area codes.
fn parse_areas(input: &str) -> Option<String> {
    let codes: Vec<&str> = input
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    codes
        .iter()
        .all(|c| areas::find(c).is_some())
        .then(|| codes.join(","))
}

/// Creates an enrolment link for an account and returns the full address.
pub async fn enrolment_link(state: &AppState, staff_id: i64) -> Result<String, StoreError> {
    let token = staff::new_token();
    let hours = state.config.console.enrolment_link_hours as i64;
    state
        .store
        .enrolment_create(
            &staff::token_hash(&token),
            staff_id,
            state.clock.now_unix() + hours * 3600,
        )
        .await?;
    Ok(format!("{}/console/enrol/{token}", state.public_url()))
}

pub async fn invite(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    fields: Fields,
) -> Response {
    let username = fields
        .get("username")
        .unwrap_or_default()
        .trim()
        .to_string();
    let role = Role::parse(fields.get("role").unwrap_or_default());
    let areas = parse_areas(fields.get("areas").unwrap_or_default());
    let error = if !valid_username(&username) {
        Some("console-staff-bad-username")
    } else if role.is_none() {
        Some("console-staff-bad-role")
    } else if areas.is_none() {
        Some("console-staff-bad-areas")
    } else if role == Some(Role::Analyst) && areas.as_deref() == Some("") {
        Some("console-staff-analyst-needs-areas")
    } else {
        None
    };
    if let Some(e) = error {
        return page(&state, &ctx, &me, Some(ctx.chrome.t(e)), None).await;
    }
    let (role, areas) = (
        role.unwrap_or(Role::Practitioner),
        areas.unwrap_or_default(),
    );
    let now = state.clock.now_unix();
    let id = match state
        .store
        .staff_create(&username, role.as_str(), &areas, now)
        .await
    {
        Ok(id) => id,
        Err(StoreError::Conflict) => {
            return page(
                &state,
                &ctx,
                &me,
                Some(ctx.chrome.t("console-staff-taken")),
                None,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "staff create failed");
            return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
        }
    };
    let Ok(link) = enrolment_link(&state, id).await else {
        return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
    };
    let _ = state
        .audit(
            &me.username,
            "staff.invite",
            &format!("staff:{id}"),
            role.as_str(),
        )
        .await;
    page(&state, &ctx, &me, None, Some((username, link))).await
}

async fn target(state: &AppState, id: i64) -> Option<StaffRow> {
    state.store.staff_by_id(id).await.ok().flatten()
}

pub async fn set_role(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let Some(account) = target(&state, id).await else {
        return console_message(
            &state,
            &ctx.chrome,
            Some(&me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    };
    let role = Role::parse(fields.get("role").unwrap_or_default());
    let areas = parse_areas(fields.get("areas").unwrap_or_default());
    let (Some(role), Some(areas)) = (role, areas) else {
        return page(
            &state,
            &ctx,
            &me,
            Some(ctx.chrome.t("console-staff-bad-areas")),
            None,
        )
        .await;
    };
    if role == Role::Analyst && areas.is_empty() {
        return page(
            &state,
            &ctx,
            &me,
            Some(ctx.chrome.t("console-staff-analyst-needs-areas")),
            None,
        )
        .await;
    }
    if account.id == me.id && role != Role::Administrator {
        return page(
            &state,
            &ctx,
            &me,
            Some(ctx.chrome.t("console-staff-not-yourself")),
            None,
        )
        .await;
    }
    let _ = state.store.staff_set_role(id, role.as_str(), &areas).await;
    // A changed role takes effect at once: end the person's sessions.
    let _ = state.store.sessions_delete_for(id).await;
    let _ = state
        .audit(
            &me.username,
            "staff.role",
            &format!("staff:{id}"),
            &format!("{} -> {} {}", account.role, role.as_str(), areas),
        )
        .await;
    http::redirect("/console/staff")
}

pub async fn disable(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    if id == me.id {
        return page(
            &state,
            &ctx,
            &me,
            Some(ctx.chrome.t("console-staff-not-yourself")),
            None,
        )
        .await;
    }
    if target(&state, id).await.is_none() {
        return console_message(
            &state,
            &ctx.chrome,
            Some(&me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    }
    let _ = state.store.staff_set_disabled(id, true).await;
    let _ = state
        .audit(&me.username, "staff.disable", &format!("staff:{id}"), "")
        .await;
    http::redirect("/console/staff")
}

pub async fn enable(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    if target(&state, id).await.is_none() {
        return console_message(
            &state,
            &ctx.chrome,
            Some(&me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    }
    let _ = state.store.staff_set_disabled(id, false).await;
    let _ = state
        .audit(&me.username, "staff.enable", &format!("staff:{id}"), "")
        .await;
    http::redirect("/console/staff")
}

pub async fn reset(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    let Some(account) = target(&state, id).await else {
        return console_message(
            &state,
            &ctx.chrome,
            Some(&me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    };
    if state.store.staff_reset_credentials(id).await.is_err() {
        return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
    }
    let Ok(link) = enrolment_link(&state, id).await else {
        return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
    };
    let _ = state
        .audit(
            &me.username,
            "staff.reset-enrolment",
            &format!("staff:{id}"),
            "",
        )
        .await;
    page(&state, &ctx, &me, None, Some((account.username, link))).await
}
