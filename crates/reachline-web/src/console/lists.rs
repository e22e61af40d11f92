//! The deterrence lists as administrators see them: the versions in use (live, in shadow,
//! never-warn) and matches per entry and outcome over the last days, counts only, with a
//! button to disable an entry that misfires. Disabling is audited.

use super::{app_error, ConsoleChrome, Staff};
use crate::http::{self, render};
use crate::site::{Ctx, Fields, Shared};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use reachline_app::deterrence::{outcome, EntryStat, InUse};
use std::collections::HashSet;

#[derive(serde::Deserialize, Default)]
pub struct Span {
    #[serde(default)]
    days: Option<u32>,
}

#[derive(Template)]
#[template(path = "console/lists.html")]
struct ListsPage<'a> {
    k: ConsoleChrome<'a>,
    in_use: Vec<InUse>,
    entries: Vec<EntryStat>,
    categories: Vec<EntryStat>,
    days: u32,
    outcomes: [&'static str; 6],
    disabled: HashSet<String>,
    done: Option<&'static str>,
}

impl ListsPage<'_> {
    /// Only entries of a live warning list can be disabled from here.
    fn can_disable(&self, e: &EntryStat) -> bool {
        !self.disabled.contains(&e.entry_id)
            && self.in_use.iter().any(|l| {
                l.kind == e.kind
                    && l.name == e.name
                    && l.version == e.version
                    && l.role == "warn"
                    && !l.shadow
            })
    }
}

pub async fn show(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    uri: axum::http::Uri,
) -> Response {
    // A malformed span falls back to the default 30 days.
    let span = Query::<Span>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let done = match uri.query() {
        Some(q) if q.contains("disabled=1") => Some("console-lists-disabled-done"),
        Some(q) if q.contains("disabled=0") => Some("console-lists-disabled-already"),
        _ => None,
    };
    let overview = match state.lists_overview(span.days.unwrap_or(30)).await {
        Ok(o) => o,
        Err(e) => return app_error(&state, &ctx.chrome, Some(&me), e.into()),
    };
    render(&ListsPage {
        k: ConsoleChrome {
            c: &ctx.chrome,
            staff: Some(&me),
        },
        in_use: overview.in_use,
        entries: overview.entries.into_iter().take(200).collect(),
        categories: overview.categories,
        days: overview.days,
        outcomes: outcome::ALL,
        disabled: overview.disabled,
        done,
    })
}

pub async fn disable(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    fields: Fields,
) -> Response {
    // A missing field is empty, which `lists_disable_entry` refuses (404, nothing changed).
    let get = |name: &str| fields.get(name).unwrap_or_default().trim();
    match state
        .lists_disable_entry(&me.username, get("kind"), get("name"), get("entry"))
        .await
    {
        Ok(added) => http::redirect(if added {
            "/console/lists?disabled=1"
        } else {
            "/console/lists?disabled=0"
        }),
        Err(e) => app_error(&state, &ctx.chrome, Some(&me), e),
    }
}
