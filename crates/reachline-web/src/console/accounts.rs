//! Staff accounts, for administrators: invite (one-time, expiring links), change roles and
//! analyst areas, disable and enable, reset enrolment.

use super::{app_error, render_form, ConsoleChrome, Staff};
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use reachline_app::accounts::Invited;
use reachline_app::Error;
use reachline_core::staff::Role;
use reachline_store::StaffRow;

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
        role_key: s.role.to_string(),
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
    let rows = match state.staff_accounts().await {
        Ok(rows) => rows,
        Err(e) => return app_error(state, &ctx.chrome, Some(me), e),
    };
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

/// The staff page again with the outcome of an action: a refusal shown on the form, or the
/// error page for what the form cannot show.
async fn outcome(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    result: Result<Option<Invited>, Error>,
) -> Response {
    match result {
        Ok(None) => http::redirect("/console/staff"),
        Ok(Some(invited)) => {
            page(state, ctx, me, None, Some((invited.username, invited.link))).await
        }
        Err(Error::Invalid(code)) => page(state, ctx, me, Some(ctx.chrome.t(code)), None).await,
        Err(Error::Conflict) => {
            page(
                state,
                ctx,
                me,
                Some(ctx.chrome.t("console-staff-taken")),
                None,
            )
            .await
        }
        Err(e) => app_error(state, &ctx.chrome, Some(me), e),
    }
}

pub async fn list(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
) -> Response {
    // The list itself is recorded as viewed; pages shown after an action are not (the
    // action is).
    if let Err(e) = state.staff_list_viewed(me.actor()).await {
        return app_error(&state, &ctx.chrome, Some(&me), e);
    }
    page(&state, &ctx, &me, None, None).await
}

pub async fn invite(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    fields: Fields,
) -> Response {
    let result = state
        .staff_invite(
            me.actor(),
            fields.get("username").unwrap_or_default(),
            fields.get("role").unwrap_or_default(),
            fields.get("areas").unwrap_or_default(),
        )
        .await;
    outcome(&state, &ctx, &me, result.map(Some)).await
}

pub async fn set_role(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let result = state
        .staff_set_role(
            me.actor(),
            id,
            fields.get("role").unwrap_or_default(),
            fields.get("areas").unwrap_or_default(),
        )
        .await;
    outcome(&state, &ctx, &me, result.map(|()| None)).await
}

pub async fn disable(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    let result = state.staff_set_disabled(me.actor(), id, true).await;
    outcome(&state, &ctx, &me, result.map(|()| None)).await
}

pub async fn enable(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    let result = state.staff_set_disabled(me.actor(), id, false).await;
    outcome(&state, &ctx, &me, result.map(|()| None)).await
}

pub async fn reset(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    let result = state.staff_reset_enrolment(me.actor(), id).await;
    outcome(&state, &ctx, &me, result.map(Some)).await
}
