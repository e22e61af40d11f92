//! The practitioner console: staff sign-in, accounts, the audit log, contacts and
//! safeguarding concerns.
//!
//! Every console route is declared once in [`routes`] with the roles allowed to use it;
//! anything not declared is denied, and a test walks every route × every role. Sessions,
//! CSRF and role checks happen in [`guard`] before a handler runs.

pub mod accounts;
pub mod audit_view;
pub mod auth;
pub mod callbacks;
pub mod chats;
pub mod inbox;
pub mod lists;
pub mod reports;
pub mod safeguarding;
pub mod settings;
pub mod wrapup;

use crate::http::{self, CookieSpec};
use crate::site::{Chrome, Shared};
use crate::state::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use http_body_util::BodyExt;
use reachline_core::areas;
use reachline_core::staff::{token_hash, Role};

pub const SESSION_COOKIE: &str = "rl_console";

/// Who is signed in (the application's session), put into request extensions by [`guard`].
pub use reachline_app::sessions::SessionStaff as Staff;

const ALL: &[Role] = &[
    Role::Practitioner,
    Role::Supervisor,
    Role::Administrator,
    Role::Analyst,
];
const CASEWORK: &[Role] = &[Role::Practitioner, Role::Supervisor];
const SUPERVISORS: &[Role] = &[Role::Supervisor];
const ADMINS: &[Role] = &[Role::Administrator];
const OVERSIGHT: &[Role] = &[Role::Supervisor, Role::Administrator];
const FIGURES: &[Role] = &[Role::Analyst, Role::Supervisor, Role::Administrator];

/// One console route and who may use it. `None` means it is open to anyone (sign-in and
/// enrolment pages).
pub struct ConsoleRoute {
    pub method: Method,
    pub path: &'static str,
    pub allowed: Option<&'static [Role]>,
    handler: MethodRouter<Shared>,
}

fn route(
    method: Method,
    path: &'static str,
    allowed: Option<&'static [Role]>,
    handler: MethodRouter<Shared>,
) -> ConsoleRoute {
    ConsoleRoute {
        method,
        path,
        allowed,
        handler,
    }
}

/// Every console route. This table is the single declaration of access.
pub fn routes() -> Vec<ConsoleRoute> {
    use Method as M;
    vec![
        route(M::GET, "/console/sign-in", None, get(auth::sign_in_form)),
        route(M::POST, "/console/sign-in", None, post(auth::sign_in)),
        route(
            M::GET,
            "/console/enrol/{token}",
            None,
            get(auth::enrol_form),
        ),
        route(M::POST, "/console/enrol/{token}", None, post(auth::enrol)),
        route(M::GET, "/console", Some(ALL), get(home)),
        route(
            M::POST,
            "/console/sign-out",
            Some(ALL),
            post(auth::sign_out),
        ),
        route(
            M::POST,
            "/console/sign-out-everywhere",
            Some(ALL),
            post(auth::sign_out_everywhere),
        ),
        route(M::GET, "/console/staff", Some(ADMINS), get(accounts::list)),
        route(M::GET, "/console/lists", Some(ADMINS), get(lists::show)),
        route(
            M::POST,
            "/console/lists/disable",
            Some(ADMINS),
            post(lists::disable),
        ),
        route(
            M::POST,
            "/console/staff",
            Some(ADMINS),
            post(accounts::invite),
        ),
        route(
            M::POST,
            "/console/staff/{id}/role",
            Some(ADMINS),
            post(accounts::set_role),
        ),
        route(
            M::POST,
            "/console/staff/{id}/disable",
            Some(ADMINS),
            post(accounts::disable),
        ),
        route(
            M::POST,
            "/console/staff/{id}/enable",
            Some(ADMINS),
            post(accounts::enable),
        ),
        route(
            M::POST,
            "/console/staff/{id}/reset",
            Some(ADMINS),
            post(accounts::reset),
        ),
        route(
            M::GET,
            "/console/audit",
            Some(OVERSIGHT),
            get(audit_view::browse),
        ),
        route(
            M::GET,
            "/console/contacts",
            Some(CASEWORK),
            get(safeguarding::contacts),
        ),
        route(
            M::POST,
            "/console/contacts",
            Some(CASEWORK),
            post(safeguarding::log_contact),
        ),
        route(
            M::GET,
            "/console/contacts/{id}",
            Some(CASEWORK),
            get(safeguarding::contact),
        ),
        route(
            M::POST,
            "/console/contacts/{id}/concerns",
            Some(CASEWORK),
            post(safeguarding::raise),
        ),
        route(
            M::GET,
            "/console/concerns",
            Some(CASEWORK),
            get(safeguarding::concerns),
        ),
        route(
            M::GET,
            "/console/concerns/{id}",
            Some(CASEWORK),
            get(safeguarding::concern),
        ),
        route(
            M::POST,
            "/console/concerns/{id}/decision",
            Some(SUPERVISORS),
            post(safeguarding::decide),
        ),
        route(
            M::POST,
            "/console/concerns/{id}/information",
            Some(CASEWORK),
            post(safeguarding::add_information),
        ),
        route(
            M::GET,
            "/console/reach",
            Some(FIGURES),
            get(safeguarding::reach),
        ),
        route(
            M::GET,
            "/console/settings",
            Some(ADMINS),
            get(settings::show),
        ),
        route(
            M::POST,
            "/console/settings/hours",
            Some(ADMINS),
            post(settings::save_hours),
        ),
        route(
            M::POST,
            "/console/settings/retention",
            Some(ADMINS),
            post(settings::save_retention),
        ),
        route(
            M::POST,
            "/console/settings/confidentiality",
            Some(ADMINS),
            post(settings::save_statement),
        ),
        route(
            M::GET,
            "/console/canned",
            Some(CASEWORK),
            get(settings::canned),
        ),
        route(
            M::POST,
            "/console/canned",
            Some(SUPERVISORS),
            post(settings::canned_save),
        ),
        route(
            M::POST,
            "/console/canned/{id}/delete",
            Some(SUPERVISORS),
            post(settings::canned_delete),
        ),
        route(M::GET, "/console/live", Some(CASEWORK), get(live)),
        route(
            M::GET,
            "/console/reports",
            Some(FIGURES),
            get(reports::show),
        ),
        route(
            M::GET,
            "/console/reports.csv",
            Some(FIGURES),
            get(reports::csv),
        ),
        route(M::GET, "/console/chats", Some(CASEWORK), get(chats::queue)),
        route(
            M::POST,
            "/console/calls/take",
            Some(CASEWORK),
            post(chats::take_call),
        ),
        route(
            M::POST,
            "/console/chats/availability",
            Some(CASEWORK),
            post(chats::availability),
        ),
        route(
            M::POST,
            "/console/chats/{id}/take",
            Some(CASEWORK),
            post(chats::take),
        ),
        route(
            M::GET,
            "/console/chats/{id}",
            Some(CASEWORK),
            get(chats::show),
        ),
        route(
            M::GET,
            "/console/chats/{id}/transcript",
            Some(CASEWORK),
            get(chats::transcript),
        ),
        route(
            M::GET,
            "/console/chats/{id}/ws",
            Some(CASEWORK),
            get(chats::socket),
        ),
        route(
            M::POST,
            "/console/chats/{id}/send",
            Some(CASEWORK),
            post(chats::send),
        ),
        route(
            M::POST,
            "/console/chats/{id}/end",
            Some(CASEWORK),
            post(chats::end),
        ),
        route(
            M::POST,
            "/console/chats/{id}/transfer",
            Some(CASEWORK),
            post(chats::transfer),
        ),
        route(M::GET, "/console/inbox", Some(CASEWORK), get(inbox::list)),
        route(
            M::GET,
            "/console/inbox/{id}",
            Some(CASEWORK),
            get(inbox::show),
        ),
        route(
            M::POST,
            "/console/inbox/{id}/claim",
            Some(CASEWORK),
            post(inbox::claim),
        ),
        route(
            M::POST,
            "/console/inbox/{id}/reply",
            Some(CASEWORK),
            post(inbox::reply),
        ),
        route(
            M::POST,
            "/console/inbox/{id}/close",
            Some(CASEWORK),
            post(inbox::close),
        ),
        route(
            M::GET,
            "/console/callbacks",
            Some(CASEWORK),
            get(callbacks::list),
        ),
        route(
            M::GET,
            "/console/callbacks/{id}",
            Some(CASEWORK),
            get(callbacks::show),
        ),
        route(
            M::POST,
            "/console/callbacks/{id}/claim",
            Some(CASEWORK),
            post(callbacks::claim),
        ),
        route(
            M::POST,
            "/console/callbacks/{id}/attempt",
            Some(CASEWORK),
            post(callbacks::attempt),
        ),
        route(
            M::POST,
            "/console/callbacks/{id}/done",
            Some(CASEWORK),
            post(callbacks::done),
        ),
    ]
}

/// The console's part of the router.
pub fn router(state: Shared) -> Router<Shared> {
    let mut router = Router::new();
    for r in routes() {
        let handler = match r.allowed {
            Some(roles) => r.handler.route_layer(middleware::from_fn_with_state(
                (state.clone(), roles),
                guard,
            )),
            None => r.handler,
        };
        router = router.route(r.path, handler);
    }
    router
}

/// Resolves the session, enforces timeouts, role and CSRF, then runs the handler.
async fn guard(
    State((state, roles)): State<(Shared, &'static [Role])>,
    req: Request,
    next: Next,
) -> Response {
    let ctx = state.ctx(req.headers(), req.uri().path());
    let staff = match auth::current_staff(&state, req.headers()).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return if req.method() == Method::GET {
                http::redirect("/console/sign-in")
            } else {
                console_message(
                    &state,
                    &ctx.chrome,
                    None,
                    StatusCode::FORBIDDEN,
                    "signed-out",
                )
            };
        }
        Err(resp) => return resp,
    };
    if !staff.is(roles) {
        audit_refusal(
            &state,
            &staff.username,
            "access.denied",
            req.uri().path(),
            "",
        )
        .await;
        return console_message(
            &state,
            &ctx.chrome,
            Some(&staff),
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    }
    let mut req = req;
    if req.method() == Method::POST {
        let (parts, body) = req.into_parts();
        let limit = state.config.site.max_body_bytes as usize;
        let bytes = match http_body_util::Limited::new(body, limit).collect().await {
            Ok(c) => c.to_bytes(),
            Err(_) => {
                return console_message(
                    &state,
                    &ctx.chrome,
                    Some(&staff),
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-large",
                )
            }
        };
        let token = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if token.is_empty() || !constant_eq(token.as_bytes(), staff.csrf.as_bytes()) {
            audit_refusal(
                &state,
                &staff.username,
                "csrf.refused",
                parts.uri.path(),
                "",
            )
            .await;
            return console_message(
                &state,
                &ctx.chrome,
                Some(&staff),
                StatusCode::FORBIDDEN,
                "csrf",
            );
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    req.extensions_mut().insert(staff);
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// What every console page shows around its content.
pub struct ConsoleChrome<'a> {
    pub c: &'a Chrome,
    pub staff: Option<&'a Staff>,
}

impl ConsoleChrome<'_> {
    pub fn t(&self, id: &str) -> String {
        self.c.t(id)
    }
    /// A message with one numeric argument.
    pub fn t1(&self, id: &str, name: &str, value: &i64) -> String {
        self.c
            .l
            .text(id, &[(name, fluent_bundle::FluentValue::from(*value))])
    }
    /// A message with two numeric arguments.
    pub fn t2(&self, id: &str, a: &str, av: &i64, b: &str, bv: &i64) -> String {
        self.c.l.text(
            id,
            &[
                (a, fluent_bundle::FluentValue::from(*av)),
                (b, fluent_bundle::FluentValue::from(*bv)),
            ],
        )
    }
    /// A message with one text argument.
    pub fn ts(&self, id: &str, name: &str, value: &str) -> String {
        self.c
            .l
            .text(id, &[(name, fluent_bundle::FluentValue::from(value))])
    }
    pub fn can(&self, what: &str) -> bool {
        let Some(s) = self.staff else { return false };
        match what {
            "casework" => s.is(CASEWORK),
            "staff" => s.is(ADMINS),
            "settings" | "lists" => s.is(ADMINS),
            "audit" => s.is(OVERSIGHT),
            "figures" => s.is(FIGURES),
            _ => false,
        }
    }
    pub fn csrf(&self) -> &str {
        self.staff.map(|s| s.csrf.as_str()).unwrap_or_default()
    }
    pub fn username(&self) -> &str {
        self.staff.map(|s| s.username.as_str()).unwrap_or_default()
    }
    pub fn role(&self) -> String {
        self.staff
            .map(|s| self.c.t(&format!("role-{}", s.role.as_str())))
            .unwrap_or_default()
    }
}

pub use crate::http::{render, render_form};

/// A help-seeker's optional answer as a practitioner reads it: "Someone else", or "not
/// given" when they left it blank. `question` is `who` or `age`.
pub fn seeker_answer(k: &ConsoleChrome<'_>, question: &str, value: &str) -> String {
    if value.is_empty() {
        k.t("console-not-given")
    } else {
        k.t(&format!("console-seeker-{question}-{value}"))
    }
}

/// A help-seeker's area by name, or "not given".
pub fn seeker_area(k: &ConsoleChrome<'_>, code: &str) -> String {
    areas::find(code)
        .map(|a| a.name.to_string())
        .unwrap_or_else(|| k.t("console-not-given"))
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    k: ConsoleChrome<'a>,
    title: String,
    body: String,
}

pub fn console_message(
    _state: &AppState,
    c: &Chrome,
    staff: Option<&Staff>,
    status: StatusCode,
    key: &str,
) -> Response {
    let page = MessagePage {
        title: c.t(&format!("console-error-{key}-title")),
        body: c.t(&format!("console-error-{key}-body")),
        k: ConsoleChrome { c, staff },
    };
    let mut resp = render(&page);
    *resp.status_mut() = status;
    resp
}

/// Records a refusal. The request is refused whether or not the entry can be written; a
/// failure to write it goes to the operator's log, as an error.
pub async fn audit_refusal(
    state: &AppState,
    actor: &str,
    action: &str,
    object: &str,
    detail: &str,
) {
    if let Err(e) = state.audit(actor, action, object, detail).await {
        tracing::error!(error = %e, action, "could not record a refusal in the audit log");
    }
}

/// The page for an application error that the handler has no form to show it on: not found,
/// or a store failure (logged with its cause; the person sees a calm message and nothing was
/// changed).
pub fn app_error(
    state: &AppState,
    c: &Chrome,
    staff: Option<&Staff>,
    e: reachline_app::Error,
) -> Response {
    use reachline_app::Error;
    match e {
        Error::NotFound => console_message(state, c, staff, StatusCode::NOT_FOUND, "not-found"),
        Error::Forbidden(key) => console_message(state, c, staff, StatusCode::FORBIDDEN, key),
        Error::Invalid(_) | Error::Rejected(_) | Error::Conflict => {
            console_message(state, c, staff, StatusCode::UNPROCESSABLE_ENTITY, "invalid")
        }
        Error::Throttled => {
            console_message(state, c, staff, StatusCode::TOO_MANY_REQUESTS, "throttled")
        }
        Error::Busy | Error::Full => {
            console_message(state, c, staff, StatusCode::SERVICE_UNAVAILABLE, "busy")
        }
        e @ (Error::Store(_) | Error::Internal(_)) => {
            tracing::error!(error = %e, "console action failed; nothing was changed");
            console_message(state, c, staff, StatusCode::INTERNAL_SERVER_ERROR, "server")
        }
    }
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage<'a> {
    k: ConsoleChrome<'a>,
    home: reachline_app::overview::Home,
    /// Times written in the helpline's time zone.
    zone: reachline_app::time::Zone,
    now: i64,
    /// Analysts: (area name, links to this year's, last month's and the financial year's
    /// reports).
    report_links: Vec<(String, Vec<(String, String)>)>,
}

impl HomePage<'_> {
    /// How long content is kept, in one sentence.
    fn retention(&self, r: &reachline_app::settings::Retention) -> String {
        use fluent_bundle::FluentValue;
        self.k.c.l.text(
            "console-home-retention",
            &[
                ("saved", FluentValue::from(r.selfhelp_saved_days)),
                ("unsaved", FluentValue::from(r.selfhelp_unsaved_hours)),
                ("notes", FluentValue::from(r.contact_note_days)),
            ],
        )
    }

    /// `HH:MM` in the helpline's time zone.
    fn clock(&self, at: &i64) -> String {
        self.zone.clock(*at)
    }

    /// "4 min" since `at` (a wait), empty when there is none (nothing waiting: an absent
    /// value, not a failure).
    fn waited(&self, at: &Option<i64>) -> String {
        at.map(|t| {
            let s = (self.now - t).max(0);
            match s {
                s if s < 3_600 => format!("{} min", s / 60),
                s if s < 172_800 => format!("{} h {} min", s / 3_600, s % 3_600 / 60),
                s => format!("{} days", s / 86_400),
            }
        })
        .unwrap_or_default()
    }
}

/// Links to an analyst's usual reports for `area`: this year so far, last month, and the
/// financial year we are in.
fn report_links(k: &ConsoleChrome<'_>, area: &str, now: i64) -> Vec<(String, String)> {
    use reachline_app::reporting::Period;
    let (y, m) = k.c.zone.year_month(now);
    let last = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    let fy = if m >= 4 { y } else { y - 1 };
    [
        (Period::Year(y), "year"),
        (Period::Month(last.0, last.1), "month"),
        (Period::FinancialYear(fy), "financial-year"),
    ]
    .into_iter()
    .map(|(p, kind)| {
        let ((py, pm), _) = p.bounds();
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("area", area)
            .append_pair("period", kind)
            .append_pair("year", &py.to_string())
            .append_pair("month", &pm.to_string());
        (
            format!("/console/reports?{}", q.finish()),
            k.c.l.text(
                "console-home-report",
                &[("period", fluent_bundle::FluentValue::from(p.label()))],
            ),
        )
    })
    .collect()
}

async fn home(
    State(state): State<Shared>,
    ctx: crate::site::Ctx,
    axum::Extension(staff): axum::Extension<Staff>,
) -> Response {
    let home = match state.home(staff.id, staff.role, &staff.areas).await {
        Ok(h) => h,
        Err(e) => return app_error(&state, &ctx.chrome, Some(&staff), e),
    };
    let now = state.clock.now_unix();
    let k = ConsoleChrome {
        c: &ctx.chrome,
        staff: Some(&staff),
    };
    let report_links = home
        .report_areas
        .iter()
        .flatten()
        .map(|code| {
            let name = areas::all()
                .into_iter()
                .find(|a| a.code == code)
                .map(|a| a.name.to_string())
                .unwrap_or_else(|| code.clone());
            (name, report_links(&k, code, now))
        })
        .collect();
    render(&HomePage {
        k,
        home,
        zone: state.live.zone(),
        now,
        report_links,
    })
}

/// Counts for the console's live updates (no content, nothing about anyone): concerns and
/// chats waiting, and the unread messages in each chat this person holds (with the words
/// for them, in their language).
async fn live(
    State(state): State<Shared>,
    ctx: crate::site::Ctx,
    axum::Extension(staff): axum::Extension<Staff>,
) -> Response {
    let n = state.store.concerns_open_count().await.unwrap_or(0);
    // The shared queue snapshot (at most two seconds old): every open console page asks.
    let waiting = crate::chat::queue_snapshot(&state).await.ahead.len();
    let held = state.store.held_chats(staff.id).await.unwrap_or_else(|e| {
        // The counts are a convenience; the pages themselves show the truth.
        tracing::warn!(error = %e, "live counts could not read the held chats");
        Vec::new()
    });
    let held: Vec<serde_json::Value> = held
        .into_iter()
        .map(|h| {
            serde_json::json!({
                "id": h.id,
                "unread": h.unread,
                "text": ctx.chrome.l.text(
                    "console-chat-unread",
                    &[("n", fluent_bundle::FluentValue::from(h.unread))],
                ),
            })
        })
        .collect();
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({"open_concerns": n, "waiting_chats": waiting, "held": held}).to_string(),
    )
        .into_response()
}

/// Sets or clears the console session cookie (HttpOnly, SameSite=Strict, Secure over TLS).
pub fn session_cookie(resp: &mut Response, token: Option<&str>, https: bool) {
    http::set_cookie(
        resp,
        CookieSpec {
            name: SESSION_COOKIE,
            value: token.unwrap_or_default(),
            max_age: if token.is_some() { None } else { Some(0) },
            same_site_strict: true,
            http_only: true,
            secure: https,
        },
    );
}

pub fn session_hash(token: &str) -> String {
    token_hash(token)
}
