//! Browsing the audit log (supervisors and administrators). Browsing is itself audited.

use super::{render, ConsoleChrome, Staff};
use crate::site::{Ctx, Shared};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use reachline_store::AuditFilter;

#[derive(serde::Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: String,
}

pub struct EntryView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage<'a> {
    k: ConsoleChrome<'a>,
    entries: Vec<EntryView>,
    actor: String,
    action: String,
    object: String,
}

pub async fn browse(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    uri: axum::http::Uri,
) -> Response {
    let f = Query::<Filter>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let clip = |s: &str| s.chars().take(100).collect::<String>();
    let filter = AuditFilter {
        actor: clip(f.actor.trim()),
        action: clip(f.action.trim()),
        object: clip(f.object.trim()),
        limit: 200,
    };
    if let Err(e) = state
        .audit(
            &me.username,
            "audit.browse",
            "",
            &format!(
                "actor={} action={} object={}",
                filter.actor, filter.action, filter.object
            ),
        )
        .await
    {
        return super::app_error(&state, &ctx.chrome, Some(&me), e.into());
    }
    let entries = state
        .store
        .audit_search(&filter)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| EntryView {
            seq: e.seq,
            at: ctx.chrome.zone.minute(e.at),
            actor: e.actor,
            action: e.action,
            object: e.object,
            detail: e.detail,
        })
        .collect();
    render(&AuditPage {
        k: ConsoleChrome {
            c: &ctx.chrome,
            staff: Some(&me),
        },
        entries,
        actor: filter.actor,
        action: filter.action,
        object: filter.object,
    })
}
