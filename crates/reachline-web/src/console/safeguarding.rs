//! Contacts and safeguarding concerns. A practitioner raises a concern on a contact; a
//! supervisor who did not raise it decides (refer, no referral, or ask for more
//! information). Every step is an event on the concern's timeline and an audit entry.

use super::wrapup::{self, Defaults};
use super::{app_error, console_message, render, render_form, ConsoleChrome, Staff, SUPERVISORS};
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use reachline_app::safeguarding::Decision;
use reachline_app::Error;
use reachline_core::vocabulary::Channel;
use reachline_core::{areas, clock};
use reachline_store::ConcernRow;

pub use reachline_app::safeguarding::{CATEGORIES, DESTINATIONS};

pub struct ContactView {
    pub id: i64,
    pub channel: String,
    pub started: String,
    pub ended: String,
    pub by: String,
    /// The wrap-up, in words (empty for contacts logged before it existed).
    pub who: String,
    pub age: String,
    pub area: String,
    pub concerns: String,
    pub arrested: String,
    pub actions: String,
    pub signposting: String,
    pub first_this_year: bool,
    pub wrapped_up: bool,
}

/// A list of wrap-up values ("a,b") in words.
fn words(k: &ConsoleChrome<'_>, prefix: &str, list: &str) -> String {
    list.split(',')
        .filter(|v| !v.is_empty())
        .map(|v| k.t(&format!("{prefix}-{v}")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn contact_view(k: &ConsoleChrome<'_>, c: reachline_store::ContactRow) -> ContactView {
    let one = |prefix: &str, v: &str| {
        if v.is_empty() {
            k.t("console-wrapup-not-known")
        } else {
            k.t(&format!("{prefix}-{v}"))
        }
    };
    ContactView {
        id: c.id,
        channel: k.t(&format!("channel-{}", c.channel)),
        started: k.c.zone.minute(c.started_at),
        // A contact still going on has no end time: shown blank (an absent value, not a failure).
        ended: c.ended_at.map(|t| k.c.zone.minute(t)).unwrap_or_default(),
        who: one("wrapup-who", &c.who),
        age: one("wrapup-age", &c.age_group),
        area: areas::find(&c.area)
            .map(|a| a.name.to_string())
            .unwrap_or_else(|| k.t("console-wrapup-not-known")),
        concerns: words(k, "wrapup-concern", &c.concerns),
        arrested: if c.arrested.is_empty() {
            String::new()
        } else {
            k.t(&format!("wrapup-arrested-{}", c.arrested))
        },
        actions: words(k, "wrapup-action", &c.actions),
        signposting: words(k, "wrapup-signpost", &c.signposting),
        first_this_year: c.first_this_year,
        wrapped_up: c.wrapped_up,
        by: c.created_by_name,
    }
}

#[derive(Template)]
#[template(path = "console/contacts.html")]
struct ContactsPage<'a> {
    k: ConsoleChrome<'a>,
    contacts: Vec<ContactView>,
    /// Calls this practitioner answered that wait for their wrap-up: (id, answered, talk).
    calls: Vec<(i64, String, String)>,
    /// The call being wrapped up, if any.
    call: Option<i64>,
    error: Option<String>,
    w: wrapup::Form,
    note: String,
}

/// A phone contact logged by hand starts with nothing known but that it is probably the
/// caller's first contact this year.
fn phone_defaults() -> Defaults {
    Defaults {
        first_this_year: true,
        ..Defaults::default()
    }
}

async fn contacts_page(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    error: Option<(String, &str)>,
    posted: Option<&Fields>,
) -> Response {
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(me),
    };
    let contacts = match state.recent_contacts().await {
        Ok(rows) => rows.into_iter().map(|c| contact_view(&k, c)).collect(),
        Err(e) => return app_error(state, &ctx.chrome, Some(me), e),
    };
    let has_error = error.is_some();
    let (error, field) = match error {
        Some((e, f)) => (Some(e), f),
        None => (None, ""),
    };
    // Answered calls waiting for this practitioner's wrap-up; a store that cannot say is an
    // error page, not an empty list.
    let calls = if state.store.has_calls() {
        let rows = match state.store.calls_to_wrap_up(me.id).await {
            Ok(rows) => rows,
            Err(e) => return app_error(state, &ctx.chrome, Some(me), e.into()),
        };
        rows.into_iter()
            .map(|c| {
                (
                    c.id,
                    k.c.zone.minute(c.answered_at.unwrap_or(c.offered_at)),
                    // A call whose end has not been reported yet has no length: blank.
                    c.talk_seconds
                        .map(super::chats::minutes)
                        .unwrap_or_default(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let call = posted
        .and_then(|f| f.get("call"))
        .and_then(|c| c.parse::<i64>().ok());
    let w = wrapup::form(&k, posted, &phone_defaults(), true, field);
    let note = posted
        .and_then(|f| f.get("note"))
        .unwrap_or_default()
        .to_string();
    render_form(
        &ContactsPage {
            k,
            contacts,
            calls,
            call,
            error,
            w,
            note,
        },
        has_error,
    )
}

pub async fn contacts(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    uri: axum::http::Uri,
) -> Response {
    if let Err(e) = state.contacts(me.actor()).await {
        return app_error(&state, &ctx.chrome, Some(&me), e);
    }
    // "Wrap up" beside an answered call: the form starts with that call's times.
    let call = uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "call")
            .and_then(|(_, v)| v.parse::<i64>().ok())
    });
    if let Some(id) = call {
        if let Ok(Some(c)) = state.store.call_by_id(id).await {
            if c.answered_by == Some(me.id) && c.contact_id.is_none() {
                let started = c.answered_at.unwrap_or(c.offered_at);
                let ended = c.ended_at.unwrap_or(started);
                let prefill = Fields(vec![
                    ("call".into(), id.to_string()),
                    ("started".into(), wrapup::local_value(started)),
                    ("ended".into(), wrapup::local_value(ended)),
                    ("first_this_year".into(), "yes".into()),
                ]);
                return contacts_page(&state, &ctx, &me, None, Some(&prefill)).await;
            }
        }
    }
    contacts_page(&state, &ctx, &me, None, None).await
}

/// Records a phone contact with the same wrap-up as every other channel, and an optional
/// note (sealed for the new row, in the same transaction).
pub async fn log_contact(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    fields: Fields,
) -> Response {
    let now = state.clock.now_unix();
    let wrap = match wrapup::parse(&fields, Channel::Phone, "", &phone_defaults(), true, now) {
        Ok(w) => w,
        Err(r) => {
            let error = (ctx.chrome.t(r.message), r.field);
            return contacts_page(&state, &ctx, &me, Some(error), Some(&fields)).await;
        }
    };
    let note = fields.get("note").unwrap_or_default();
    let call = fields.get("call").and_then(|c| c.parse::<i64>().ok());
    match state
        .log_contact_for_call(me.actor(), &wrap, note, call)
        .await
    {
        Ok(id) => http::redirect(&format!("/console/contacts/{id}")),
        Err(Error::Invalid(key)) => {
            let error = (ctx.chrome.t(key), "note");
            contacts_page(&state, &ctx, &me, Some(error), Some(&fields)).await
        }
        Err(e) => app_error(&state, &ctx.chrome, Some(&me), e),
    }
}

pub struct ConcernView {
    pub id: i64,
    pub contact_id: i64,
    pub category: String,
    pub status: String,
    pub status_key: String,
    pub raised_by: String,
    pub raised: String,
}

fn concern_view(k: &ConsoleChrome<'_>, c: &ConcernRow) -> ConcernView {
    ConcernView {
        id: c.id,
        contact_id: c.contact_id,
        category: k.t(&format!("concern-category-{}", c.category)),
        status: k.t(&format!("concern-status-{}", c.status)),
        status_key: c.status.to_string(),
        raised_by: c.raised_by_name.clone(),
        raised: k.c.zone.minute(c.created_at),
    }
}

#[derive(Template)]
#[template(path = "console/contact.html")]
struct ContactPage<'a> {
    k: ConsoleChrome<'a>,
    contact: ContactView,
    note: String,
    concerns: Vec<ConcernView>,
    categories: Vec<(String, String)>,
    error: Option<String>,
}

async fn contact_page(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    id: i64,
    error: Option<String>,
) -> Response {
    let (c, note, concerns) = match state.contact(me.actor(), id).await {
        Ok((c, note, concerns)) => (
            c,
            note.unwrap_or_else(|| ctx.chrome.t("console-text-unreadable")),
            concerns,
        ),
        Err(e) => return app_error(state, &ctx.chrome, Some(me), e),
    };
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(me),
    };
    let concerns = concerns.iter().map(|x| concern_view(&k, x)).collect();
    let categories = CATEGORIES
        .iter()
        .map(|c| (c.to_string(), k.t(&format!("concern-category-{c}"))))
        .collect();
    let contact = contact_view(&k, c);
    let has_error = error.is_some();
    render_form(
        &ContactPage {
            k,
            contact,
            note,
            concerns,
            categories,
            error,
        },
        has_error,
    )
}

pub async fn contact(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    contact_page(&state, &ctx, &me, id, None).await
}

pub async fn raise(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let raised = state
        .raise_concern(
            me.actor(),
            id,
            fields.get("category").unwrap_or_default(),
            fields.get("facts").unwrap_or_default(),
        )
        .await;
    match raised {
        Ok(concern) => http::redirect(&format!("/console/concerns/{concern}")),
        Err(Error::Invalid(key)) => {
            contact_page(&state, &ctx, &me, id, Some(ctx.chrome.t(key))).await
        }
        Err(e) => app_error(&state, &ctx.chrome, Some(&me), e),
    }
}

#[derive(Template)]
#[template(path = "console/concerns.html")]
struct ConcernsPage<'a> {
    k: ConsoleChrome<'a>,
    concerns: Vec<ConcernView>,
}

pub async fn concerns(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
) -> Response {
    let rows = match state.concerns(me.actor()).await {
        Ok(rows) => rows,
        Err(e) => return app_error(&state, &ctx.chrome, Some(&me), e),
    };
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(&me),
    };
    let concerns = rows.iter().map(|c| concern_view(&k, c)).collect();
    render(&ConcernsPage { k, concerns })
}

pub struct EventView {
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub destination: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "console/concern.html")]
struct ConcernPage<'a> {
    k: ConsoleChrome<'a>,
    concern: ConcernView,
    facts: String,
    events: Vec<EventView>,
    can_decide: bool,
    raised_by_me: bool,
    awaiting: bool,
    destinations: Vec<(String, String)>,
    error: Option<String>,
}

async fn concern_page(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    id: i64,
    error: Option<String>,
) -> Response {
    let detail = match state.concern(me.actor(), me.is(SUPERVISORS), id).await {
        Ok(d) => d,
        Err(e) => return app_error(state, &ctx.chrome, Some(me), e),
    };
    let unreadable = || ctx.chrome.t("console-text-unreadable");
    let (c, facts) = (detail.concern, detail.facts.unwrap_or_else(unreadable));
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(me),
    };
    let events = detail
        .events
        .into_iter()
        .map(|(e, text)| EventView {
            at: ctx.chrome.zone.minute(e.at),
            actor: e.actor,
            kind: k.t(&format!("concern-event-{}", e.kind)),
            destination: if e.destination.is_empty() {
                String::new()
            } else {
                k.t(&format!("concern-destination-{}", e.destination))
            },
            text: text.unwrap_or_else(unreadable),
        })
        .collect();
    let awaiting = c.status.awaiting_decision();
    let destinations = DESTINATIONS
        .iter()
        .map(|d| (d.to_string(), k.t(&format!("concern-destination-{d}"))))
        .collect();
    let has_error = error.is_some();
    render_form(
        &ConcernPage {
            concern: concern_view(&k, &c),
            can_decide: me.is(SUPERVISORS) && c.raised_by != me.id && awaiting,
            raised_by_me: c.raised_by == me.id,
            k,
            facts,
            events,
            awaiting,
            destinations,
            error,
        },
        has_error,
    )
}

pub async fn concern(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    concern_page(&state, &ctx, &me, id, None).await
}

pub async fn decide(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let destination = fields.get("destination").unwrap_or_default();
    let decision = match fields.get("decision").unwrap_or_default() {
        "refer" => Decision::Refer { destination },
        "no-referral" => Decision::NoReferral,
        "more-information" => Decision::MoreInformation,
        _ => {
            let msg = ctx.chrome.t("console-decision-needs-choice");
            return concern_page(&state, &ctx, &me, id, Some(msg)).await;
        }
    };
    let decided = state
        .decide_concern(
            me.actor(),
            id,
            decision,
            fields.get("reason").unwrap_or_default(),
            fields.get("destination_other").unwrap_or_default(),
        )
        .await;
    outcome(&state, &ctx, &me, id, decided).await
}

/// Back to the concern, or the concern again with why not.
async fn outcome(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    id: i64,
    result: Result<(), Error>,
) -> Response {
    match result {
        Ok(()) => http::redirect(&format!("/console/concerns/{id}")),
        Err(Error::Invalid(key)) => concern_page(state, ctx, me, id, Some(ctx.chrome.t(key))).await,
        Err(Error::Forbidden(key)) => {
            console_message(state, &ctx.chrome, Some(me), StatusCode::FORBIDDEN, key)
        }
        Err(e) => app_error(state, &ctx.chrome, Some(me), e),
    }
}

pub async fn add_information(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    let added = state
        .add_concern_information(
            me.actor(),
            id,
            fields.get("information").unwrap_or_default(),
        )
        .await;
    outcome(&state, &ctx, &me, id, added).await
}

pub struct AreaFigure {
    pub name: String,
    pub code: String,
    pub first_visits: i64,
}

#[derive(Template)]
#[template(path = "console/reach.html")]
struct ReachPage<'a> {
    k: ConsoleChrome<'a>,
    year_i64: i64,
    figures: Vec<AreaFigure>,
}

/// First visits of the year by area: analysts see only their own areas. Counts only.
pub async fn reach(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
) -> Response {
    let year = clock::year_of(state.clock.now_unix());
    let scoped = me.role == reachline_core::staff::Role::Analyst;
    if let Err(e) = state
        .audit(
            &me.username,
            "reach.view",
            "",
            &format!("{year} {}", me.areas.join(",")),
        )
        .await
    {
        return app_error(&state, &ctx.chrome, Some(&me), e.into());
    }
    let figures = state
        .store
        .reach_first_visits(i64::from(year))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|f| !scoped || me.areas.contains(&f.area))
        .map(|f| AreaFigure {
            name: areas::find(&f.area)
                .map(|a| a.name.to_string())
                .unwrap_or_else(|| ctx.chrome.t("area-unknown")),
            code: f.area,
            first_visits: f.n,
        })
        .collect();
    render(&ReachPage {
        k: ConsoleChrome {
            c: &ctx.chrome,
            staff: Some(&me),
        },
        year_i64: i64::from(year),
        figures,
    })
}
