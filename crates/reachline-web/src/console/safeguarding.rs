//! Contacts and safeguarding concerns. A practitioner raises a concern on a contact; a
//! supervisor who did not raise it decides (refer, no referral, or ask for more
//! information). Every step is an event on the concern's timeline and an audit entry.

use super::wrapup::{self, Defaults};
use super::{
    app_error, console_message, render, render_form, when, ConsoleChrome, Staff, SUPERVISORS,
};
use crate::http;
use crate::site::{Ctx, Fields, Shared};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use reachline_core::sealing::Context;
use reachline_core::{areas, clock};
use reachline_store::{ConcernRow, NewConcernEvent, StoreError};

pub const CATEGORIES: &[&str] = &[
    "child-at-risk",
    "risk-to-person",
    "offence-in-progress",
    "other",
];
pub const DESTINATIONS: &[&str] = &["police", "childrens-social-care", "other"];
const MAX_TEXT: usize = 8000;

fn open_text(state: &AppState, context: Context<'_>, sealed: Option<&[u8]>) -> String {
    sealed
        .and_then(|s| state.content_key.open(context, s).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn text_field(fields: &Fields, name: &str) -> Option<String> {
    let v = fields.get(name).unwrap_or_default().replace("\r\n", "\n");
    let v = v.trim().to_string();
    (!v.is_empty() && v.chars().count() <= MAX_TEXT).then_some(v)
}

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
        started: when(&c.started_at),
        ended: c.ended_at.as_ref().map(when).unwrap_or_default(),
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
    let contacts = state
        .store
        .contacts_recent(100)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| contact_view(&k, c))
        .collect();
    let has_error = error.is_some();
    let (error, field) = match error {
        Some((e, f)) => (Some(e), f),
        None => (None, ""),
    };
    let w = wrapup::form(&k, posted, &phone_defaults(), true, field);
    let note = posted
        .and_then(|f| f.get("note"))
        .unwrap_or_default()
        .to_string();
    render_form(
        &ContactsPage {
            k,
            contacts,
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
) -> Response {
    if let Err(e) = state.audit(&me.username, "contact.list", "", "").await {
        return app_error(&state, &ctx.chrome, Some(&me), e.into());
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
    let note = fields
        .get("note")
        .unwrap_or_default()
        .replace("\r\n", "\n")
        .trim()
        .to_string();
    let parsed = if note.chars().count() > MAX_TEXT {
        Err(wrapup::Refused {
            message: "console-text-too-long",
            field: "note",
        })
    } else {
        wrapup::parse(&fields, "phone", "", &phone_defaults(), true, now)
    };
    let wrap = match parsed {
        Ok(w) => w,
        Err(r) => {
            let error = (ctx.chrome.t(r.message), r.field);
            return contacts_page(&state, &ctx, &me, Some(error), Some(&fields)).await;
        }
    };
    let content_key = &state.content_key;
    let seal = |id: i64| content_key.seal(Context::ContactNote { contact: id }, note.as_bytes());
    let seal_note: Option<&(dyn Fn(i64) -> Vec<u8> + Sync)> =
        if note.is_empty() { None } else { Some(&seal) };
    let logged = async {
        let mut tx = state.store.begin().await?;
        let id = tx.contact_log(&wrap, me.id, seal_note, now).await?;
        state
            .commit_audited(
                tx,
                &me.username,
                "contact.create",
                &format!("contact:{id}"),
                "phone",
            )
            .await?;
        Ok::<_, StoreError>(id)
    };
    match logged.await {
        Ok(id) => http::redirect(&format!("/console/contacts/{id}")),
        Err(e) => app_error(&state, &ctx.chrome, Some(&me), e.into()),
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
        status_key: c.status.clone(),
        raised_by: c.raised_by_name.clone(),
        raised: when(&c.created_at),
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
    let Some(c) = state.store.contact_get(id).await.ok().flatten() else {
        return console_message(
            state,
            &ctx.chrome,
            Some(me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    };
    if let Err(e) = state
        .audit(&me.username, "contact.view", &format!("contact:{id}"), "")
        .await
    {
        return app_error(state, &ctx.chrome, Some(me), e.into());
    }
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(me),
    };
    let note = open_text(
        state,
        Context::ContactNote { contact: id },
        c.note_sealed.as_deref(),
    );
    let concerns = state
        .store
        .concerns_list(Some(id))
        .await
        .unwrap_or_default()
        .iter()
        .map(|x| concern_view(&k, x))
        .collect();
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
    if state.store.contact_get(id).await.ok().flatten().is_none() {
        return console_message(
            &state,
            &ctx.chrome,
            Some(&me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    }
    let category = fields.get("category").unwrap_or_default();
    let Some(facts) = text_field(&fields, "facts") else {
        return contact_page(
            &state,
            &ctx,
            &me,
            id,
            Some(ctx.chrome.t("console-concern-needs-facts")),
        )
        .await;
    };
    if !CATEGORIES.contains(&category) {
        return contact_page(
            &state,
            &ctx,
            &me,
            id,
            Some(ctx.chrome.t("console-concern-needs-category")),
        )
        .await;
    }
    let now = state.clock.now_unix();
    // Facts are sealed with the concern's id in their context, and the id exists only after
    // the insert: insert with an empty sealed value, then store the real one (one
    // transaction, with the audit entry).
    let raised = async {
        let mut tx = state.store.begin().await?;
        let placeholder = state.content_key.seal(Context::Pending, b"");
        let concern_id = tx
            .concern_create(id, me.id, category, &placeholder, now)
            .await?;
        let sealed = state.content_key.seal(
            Context::ConcernFacts {
                concern: concern_id,
            },
            facts.as_bytes(),
        );
        tx.concern_set_facts(concern_id, &sealed).await?;
        state
            .commit_audited(
                tx,
                &me.username,
                "concern.raise",
                &format!("concern:{concern_id}"),
                category,
            )
            .await?;
        Ok::<_, StoreError>(concern_id)
    };
    match raised.await {
        Ok(concern_id) => http::redirect(&format!("/console/concerns/{concern_id}")),
        Err(e) => app_error(&state, &ctx.chrome, Some(&me), e.into()),
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
    if let Err(e) = state.audit(&me.username, "concern.list", "", "").await {
        return app_error(&state, &ctx.chrome, Some(&me), e.into());
    }
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(&me),
    };
    let concerns = state
        .store
        .concerns_list(None)
        .await
        .unwrap_or_default()
        .iter()
        .map(|c| concern_view(&k, c))
        .collect();
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
    let Some(c) = state.store.concern_get(id).await.ok().flatten() else {
        return console_message(
            state,
            &ctx.chrome,
            Some(me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    };
    let now = state.clock.now_unix();
    let object = format!("concern:{id}");
    // The view is audited, and a supervisor's view is also on the concern's timeline; a
    // concern is not shown if that cannot be recorded.
    let recorded = async {
        let mut tx = state.store.begin().await?;
        if me.is(SUPERVISORS) && c.raised_by != me.id {
            let viewed = NewConcernEvent {
                kind: "viewed",
                ..NewConcernEvent::default()
            };
            tx.concern_event(id, me.id, viewed, now).await?;
        }
        state
            .commit_audited(tx, &me.username, "concern.view", &object, "")
            .await
    };
    if let Err(e) = recorded.await {
        return app_error(state, &ctx.chrome, Some(me), e.into());
    }
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(me),
    };
    let facts = open_text(
        state,
        Context::ConcernFacts { concern: id },
        Some(&c.facts_sealed),
    );
    let events = state
        .store
        .concern_events(id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| EventView {
            at: when(&e.at),
            actor: e.actor,
            kind: k.t(&format!("concern-event-{}", e.kind)),
            destination: if e.destination.is_empty() {
                String::new()
            } else {
                k.t(&format!("concern-destination-{}", e.destination))
            },
            text: open_text(
                state,
                Context::ConcernEvent { concern: id },
                e.text_sealed.as_deref(),
            ),
        })
        .collect();
    let awaiting = c.status == "open" || c.status == "more-information";
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
    let Some(c) = state.store.concern_get(id).await.ok().flatten() else {
        return console_message(
            &state,
            &ctx.chrome,
            Some(&me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    };
    let object = format!("concern:{id}");
    if c.raised_by == me.id {
        if let Err(e) = state
            .audit(
                &me.username,
                "concern.decide.refused",
                &object,
                "raised by the same person",
            )
            .await
        {
            return app_error(&state, &ctx.chrome, Some(&me), e.into());
        }
        return console_message(
            &state,
            &ctx.chrome,
            Some(&me),
            StatusCode::FORBIDDEN,
            "two-person",
        );
    }
    let decision = fields.get("decision").unwrap_or_default();
    let text = text_field(&fields, "reason");
    let destination = fields.get("destination").unwrap_or_default();
    let other = fields.get("destination_other").unwrap_or_default().trim();
    let (kind, status, dest) = match decision {
        "refer" if DESTINATIONS.contains(&destination) => ("referred", "referred", destination),
        "no-referral" => ("no-referral", "no-referral", ""),
        "more-information" => ("more-information-requested", "more-information", ""),
        _ => {
            return concern_page(
                &state,
                &ctx,
                &me,
                id,
                Some(ctx.chrome.t("console-decision-needs-choice")),
            )
            .await
        }
    };
    let Some(text) = text else {
        return concern_page(
            &state,
            &ctx,
            &me,
            id,
            Some(ctx.chrome.t("console-decision-needs-reason")),
        )
        .await;
    };
    let text = if dest == "other" {
        if other.is_empty() {
            return concern_page(
                &state,
                &ctx,
                &me,
                id,
                Some(ctx.chrome.t("console-decision-needs-destination")),
            )
            .await;
        }
        format!("{other}: {text}")
    } else {
        text
    };
    let sealed = state
        .content_key
        .seal(Context::ConcernEvent { concern: id }, text.as_bytes());
    let event = NewConcernEvent {
        kind,
        destination: dest,
        text_sealed: Some(&sealed),
        new_status: Some(status),
    };
    let detail = format!("{kind} {dest}");
    let result = record_event(&state, &me, id, event, "concern.decide", &detail).await;
    event_outcome(&state, &ctx, &me, id, result).await
}

/// Appends an event to a concern's timeline with its audit entry, in one transaction.
/// False if the concern is no longer awaiting a decision (nothing is stored).
async fn record_event(
    state: &AppState,
    me: &Staff,
    id: i64,
    event: NewConcernEvent<'_>,
    action: &str,
    detail: &str,
) -> Result<bool, StoreError> {
    let mut tx = state.store.begin().await?;
    if !tx
        .concern_event(id, me.id, event, state.clock.now_unix())
        .await?
    {
        return Ok(false);
    }
    state
        .commit_audited(tx, &me.username, action, &format!("concern:{id}"), detail)
        .await?;
    Ok(true)
}

async fn event_outcome(
    state: &AppState,
    ctx: &Ctx,
    me: &Staff,
    id: i64,
    result: Result<bool, StoreError>,
) -> Response {
    match result {
        Ok(true) => http::redirect(&format!("/console/concerns/{id}")),
        Ok(false) => {
            concern_page(
                state,
                ctx,
                me,
                id,
                Some(ctx.chrome.t("console-decision-already")),
            )
            .await
        }
        Err(e) => app_error(state, &ctx.chrome, Some(me), e.into()),
    }
}

pub async fn add_information(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    Path(id): Path<i64>,
    fields: Fields,
) -> Response {
    if state.store.concern_get(id).await.ok().flatten().is_none() {
        return console_message(
            &state,
            &ctx.chrome,
            Some(&me),
            StatusCode::NOT_FOUND,
            "not-found",
        );
    }
    let Some(text) = text_field(&fields, "information") else {
        return concern_page(
            &state,
            &ctx,
            &me,
            id,
            Some(ctx.chrome.t("console-concern-needs-facts")),
        )
        .await;
    };
    let sealed = state
        .content_key
        .seal(Context::ConcernEvent { concern: id }, text.as_bytes());
    let event = NewConcernEvent {
        kind: "information-added",
        destination: "",
        text_sealed: Some(&sealed),
        new_status: Some("open"),
    };
    let result = record_event(&state, &me, id, event, "concern.information", "").await;
    event_outcome(&state, &ctx, &me, id, result).await
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
