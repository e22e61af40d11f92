//! The public self-help website: pages, modules, exercises, save and resume.

use crate::content::{Audience, Chapter, Exercise, ExerciseKind, Module, Page, Part};
use crate::http::{self, CookieSpec};
use crate::i18n::Locale;
use crate::state::AppState;
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use fluent_bundle::FluentValue;
use reachline_app::reach;
use reachline_app::workbook::{self, Answer, Answers, Handle, WorkbookError};
use reachline_core::areas::{self, Area};
use reachline_core::clock;
use reachline_core::opening_hours::{self, OpeningSpan};
use reachline_core::return_code::{CodeError, ReturnCode};
use std::collections::HashMap;
use std::sync::Arc;

pub use crate::state::Shared;

/// What every page template needs: the locale, the current path, the language list.
pub struct Chrome {
    pub l: Arc<Locale>,
    pub path: String,
    pub languages: Arc<[(String, String)]>,
    /// The helpline's time zone: every time on a page is written in it.
    pub zone: reachline_app::time::Zone,
}

impl Chrome {
    pub fn t(&self, id: &str) -> String {
        self.l.text(id, &[])
    }
    pub fn dir(&self) -> &'static str {
        if self.l.rtl {
            "rtl"
        } else {
            "ltr"
        }
    }
    pub fn section(&self, prefix: &str) -> bool {
        self.path == prefix || self.path.starts_with(&format!("{prefix}/"))
    }
    pub fn minutes(&self, n: &u32) -> String {
        self.l
            .text("module-minutes", &[("minutes", FluentValue::from(*n))])
    }
    pub fn chapter_of(&self, n: &usize, total: usize) -> String {
        self.l.text(
            "chapter-of",
            &[
                ("number", FluentValue::from(*n)),
                ("total", FluentValue::from(total)),
            ],
        )
    }
    /// A message with one numeric argument.
    pub fn t1(&self, id: &str, name: &str, value: &usize) -> String {
        self.l.text(id, &[(name, FluentValue::from(*value))])
    }
    pub fn version(&self, v: &str) -> String {
        self.l
            .text("page-version", &[("version", FluentValue::from(v))])
    }
    pub fn audience(&self, a: &Audience) -> String {
        self.t(match a {
            Audience::Myself => "audience-self",
            Audience::SomeoneElse => "audience-someone-else",
            Audience::Under18 => "audience-under-18",
            Audience::Everyone => "audience-everyone",
        })
    }
}

/// Per-request context, extracted from headers.
pub struct Ctx {
    pub chrome: Chrome,
    pub workbook: Option<Handle>,
    pub https: bool,
    pub area_chosen: bool,
}

impl FromRequestParts<Shared> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Shared,
    ) -> Result<Self, Self::Rejection> {
        Ok(state.ctx(&parts.headers, parts.uri.path()))
    }
}

impl AppState {
    pub fn ctx(&self, headers: &axum::http::HeaderMap, path: &str) -> Ctx {
        let chosen = http::cookie(headers, "rl_lang");
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let l = self.i18n.choose(chosen, accept);
        Ctx {
            chrome: Chrome {
                l,
                path: http::local_path(path).to_string(),
                languages: self.languages.clone(),
                zone: self.live.zone(),
            },
            workbook: http::cookie(headers, workbook::COOKIE).and_then(Handle::parse),
            https: http::is_https(headers, self.config.server.trust_forwarded_proto),
            area_chosen: http::cookie(headers, reach::AREA_COOKIE)
                .is_some_and(|y| y == clock::year_of(self.clock.now_unix()).to_string()),
        }
    }

    /// A calm page for errors and refusals, with the quick exit like every page.
    pub fn message(&self, ctx: &Ctx, status: StatusCode, key: &str) -> Response {
        let page = MessagePage {
            title: ctx.chrome.t(&format!("error-{key}-title")),
            body: ctx.chrome.t(&format!("error-{key}-body")),
            c: &ctx.chrome,
        };
        (status, render(&page)).into_response()
    }

    pub fn message_default(&self, status: StatusCode, key: &str) -> Response {
        let ctx = self.ctx(&axum::http::HeaderMap::new(), "/");
        self.message(&ctx, status, key)
    }
}

pub use crate::http::{render, render_form};

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    c: &'a Chrome,
    title: String,
    body: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    c: &'a Chrome,
    now: HelplineNow,
    areas: Vec<Area>,
    area_chosen: bool,
}

#[derive(Template)]
#[template(path = "modules.html")]
struct ModulesPage<'a> {
    c: &'a Chrome,
    modules: &'a [Module],
}

#[derive(Template)]
#[template(path = "module.html")]
struct ModulePage<'a> {
    c: &'a Chrome,
    module: &'a Module,
}

/// Answers as the chapter template reads them.
pub struct AnswerView<'a> {
    module: &'a str,
    answers: &'a Answers,
    /// Submitted values to show again after a refused save, so nothing typed is lost.
    overlay: Option<(String, Answer)>,
}

impl AnswerView<'_> {
    fn get(&self, ex: &str) -> Option<&Answer> {
        match &self.overlay {
            Some((id, a)) if id == ex => Some(a),
            _ => self.answers.get(self.module, ex),
        }
    }
    pub fn text(&self, ex: &str) -> String {
        self.get(ex).map(|a| a.text.clone()).unwrap_or_default()
    }
    pub fn checked(&self, ex: &str, i: &usize) -> bool {
        self.get(ex).is_some_and(|a| a.checked.contains(i))
    }
    pub fn section(&self, ex: &str, s: &str) -> String {
        self.get(ex)
            .and_then(|a| a.sections.get(s).cloned())
            .unwrap_or_default()
    }
}

impl Exercise {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ExerciseKind::Reflection => "reflection",
            ExerciseKind::Checklist => "checklist",
            ExerciseKind::Plan => "plan",
        }
    }
}

#[derive(Template)]
#[template(path = "chapter.html")]
struct ChapterPage<'a> {
    c: &'a Chrome,
    module: &'a Module,
    chapter: &'a Chapter,
    answers: AnswerView<'a>,
    saved: String,
    error_for: String,
    error: String,
}

#[derive(Template)]
#[template(path = "page.html")]
struct ContentPage<'a> {
    c: &'a Chrome,
    page: &'a Page,
    now: HelplineNow,
    hours: Vec<String>,
    holidays: Vec<String>,
    phone: &'a str,
    reply: String,
    zone: String,
}

/// Whether the helpline is open now, and if not, when it opens next (in its time zone):
/// what the home page, "Get help now", the family-and-friends and under-18 pages and the
/// chat page say before anyone commits to a channel.
pub struct HelplineNow {
    pub open: bool,
    /// "We are closed now. We open again tomorrow at 09:00." (empty when open)
    pub closed_text: String,
    /// While open, the wait someone starting a chat now can expect (from the same queue
    /// model the chat page uses).
    pub wait_text: String,
}

pub async fn helpline_now(state: &AppState, c: &Chrome) -> HelplineNow {
    let now = state.clock.now_unix();
    if state.live.open_at(now) {
        let helpline = &state.config.helpline;
        let snap = state
            .chat
            .queue_snapshot(&state.store, helpline.chat_max_per_practitioner as i64)
            .await;
        let waiting = snap.ahead.len() as i64;
        let wait_text = match snap.expected_wait(waiting, helpline.chat_minutes_per_person as i64) {
            None => c.t("helpline-wait-none"),
            Some(minutes) => c.l.text(
                "helpline-wait-minutes",
                &[("minutes", FluentValue::from(minutes))],
            ),
        };
        return HelplineNow {
            open: true,
            closed_text: String::new(),
            wait_text,
        };
    }
    let next = next_opening_text(state, &c.l, now);
    HelplineNow {
        open: false,
        closed_text: format!("{} {next}", c.t("helpline-closed-now")),
        wait_text: String::new(),
    }
}

/// When the helpline opens again, in words ("We open again tomorrow at 09:00.").
pub fn next_opening_text(state: &AppState, l: &crate::i18n::Locale, now: i64) -> String {
    let time = |t: &str| ("time", FluentValue::from(t.to_string()));
    match state.live.next_opening(now) {
        Some(n) if n.days_ahead == 0 => l.text("helpline-opens-today", &[time(&n.time)]),
        Some(n) if n.days_ahead == 1 => l.text("helpline-opens-tomorrow", &[time(&n.time)]),
        Some(n) if n.days_ahead < 7 => {
            let day = l.text(
                &format!("day-{}", opening_hours::DAYS[n.weekday.min(6)]),
                &[],
            );
            l.text(
                "helpline-opens-day",
                &[("day", FluentValue::from(day)), time(&n.time)],
            )
        }
        Some(n) => l.text(
            "helpline-opens-date",
            &[("date", FluentValue::from(n.date)), time(&n.time)],
        ),
        None => l.text("helpline-opens-unknown", &[]),
    }
}

/// Bank holidays from today on, soonest first (at most six).
fn upcoming_holidays(hours: &reachline_app::settings::Hours, now: i64) -> Vec<String> {
    let today = clock::day_of(now);
    let mut days: Vec<String> = hours
        .holidays
        .iter()
        .filter(|d| d.as_str() >= today.as_str())
        .cloned()
        .collect();
    days.sort();
    days.truncate(6);
    days
}

/// Opening hours as sentences in the page's language ("Monday to Thursday, 09:00 to 21:00").
pub fn hours_lines(c: &Chrome, spans: &[OpeningSpan]) -> Vec<String> {
    let day = |d: usize| c.t(&format!("day-{}", opening_hours::DAYS[d.min(6)]));
    spans
        .iter()
        .map(|s| {
            let days = if s.from_day == s.to_day {
                day(s.from_day)
            } else {
                c.l.text(
                    "hours-days",
                    &[
                        ("from", FluentValue::from(day(s.from_day))),
                        ("to", FluentValue::from(day(s.to_day))),
                    ],
                )
            };
            c.l.text(
                "hours-line",
                &[
                    ("days", FluentValue::from(days)),
                    ("open", FluentValue::from(s.open_text())),
                    ("close", FluentValue::from(s.close_text())),
                ],
            )
        })
        .collect()
}

pub struct ProgressEntry {
    pub module_title: String,
    pub exercise_title: String,
    pub link: String,
}

#[derive(Template)]
#[template(path = "progress.html")]
struct ProgressPage<'a> {
    c: &'a Chrome,
    entries: Vec<ProgressEntry>,
    saved: bool,
    has_workbook: bool,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage<'a> {
    c: &'a Chrome,
    code: String,
}

#[derive(Template)]
#[template(path = "resume.html")]
struct ResumePage<'a> {
    c: &'a Chrome,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "delete.html")]
struct DeletePage<'a> {
    c: &'a Chrome,
    done: bool,
}

/// A form body as name/value pairs; malformed or oversized bodies get a clear page.
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl axum::extract::FromRequest<Shared> for Fields {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &Shared) -> Result<Self, Response> {
        let ctx = state.ctx(req.headers(), req.uri().path());
        match Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(Form(v)) => Ok(Fields(v)),
            Err(FormRejection::BytesRejection(r))
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(state.message(&ctx, StatusCode::PAYLOAD_TOO_LARGE, "too-large"))
            }
            Err(_) => Err(state.message(&ctx, StatusCode::BAD_REQUEST, "bad-form")),
        }
    }
}

fn workbook_cookie(resp: &mut Response, ctx: &Ctx, handle: Option<&Handle>) {
    let value = handle.map(|h| h.cookie_value()).unwrap_or_default();
    http::set_cookie(
        resp,
        CookieSpec {
            name: workbook::COOKIE,
            value: &value,
            max_age: if handle.is_some() { None } else { Some(0) },
            same_site_strict: true,
            http_only: true,
            secure: ctx.https,
        },
    );
}

fn workbook_failure(state: &AppState, ctx: &Ctx, e: WorkbookError) -> Response {
    match e {
        WorkbookError::Throttled => state.message(ctx, StatusCode::TOO_MANY_REQUESTS, "throttled"),
        WorkbookError::Busy | WorkbookError::Conflict => {
            state.message(ctx, StatusCode::SERVICE_UNAVAILABLE, "busy")
        }
        WorkbookError::Store(e) => {
            tracing::error!(error = %e, "workbook store error");
            state.message(ctx, StatusCode::INTERNAL_SERVER_ERROR, "server")
        }
    }
}

// ---- handlers ------------------------------------------------------------------------------

pub async fn home(State(state): State<Shared>, ctx: Ctx) -> Response {
    render(&HomePage {
        now: helpline_now(&state, &ctx.chrome).await,
        c: &ctx.chrome,
        areas: areas::all(),
        area_chosen: ctx.area_chosen,
    })
}

pub async fn modules(State(state): State<Shared>, ctx: Ctx) -> Response {
    let content = state.content.locale(&ctx.chrome.l.tag);
    let page = || ModulesPage {
        c: &ctx.chrome,
        modules: &content.modules,
    };
    if ctx.chrome.path == "/modules" {
        state.pages.page(&ctx.chrome.l.tag, "/modules", page)
    } else {
        render(&page())
    }
}

pub async fn module(State(state): State<Shared>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    let content = state.content.locale(&ctx.chrome.l.tag);
    let Some(module) = content.module(&slug) else {
        return state.message(&ctx, StatusCode::NOT_FOUND, "not-found");
    };
    state.reach.count_daily(
        clock::day_of(state.clock.now_unix()),
        reach::MODULE_VIEW,
        &module.slug,
    );
    let page = || ModulePage {
        c: &ctx.chrome,
        module,
    };
    let path = format!("/modules/{}", module.slug);
    if ctx.chrome.path == path {
        state.pages.page(&ctx.chrome.l.tag, &path, page)
    } else {
        render(&page())
    }
}

#[derive(serde::Deserialize)]
pub struct ChapterQuery {
    #[serde(default)]
    saved: String,
}

pub async fn chapter(
    State(state): State<Shared>,
    ctx: Ctx,
    Path((slug, number)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Response {
    let content = state.content.locale(&ctx.chrome.l.tag);
    let found = content.module(&slug).and_then(|m| {
        let n: usize = number.parse().ok()?;
        m.chapters.iter().find(|c| c.number == n).map(|c| (m, c))
    });
    let Some((module, chapter)) = found else {
        return state.message(&ctx, StatusCode::NOT_FOUND, "not-found");
    };
    // Reads only: a workbook that cannot be opened (expired, deleted, unreadable) shows the
    // chapter without answers and changes nothing stored; saving an exercise opens it again
    // and reports its own failure.
    let answers = match &ctx.workbook {
        Some(h) => state
            .workbooks
            .open(h, state.clock.now_unix())
            .await
            .ok()
            .flatten()
            .map(|wb| wb.answers)
            .unwrap_or_default(),
        None => Answers::default(),
    };
    // A query that does not parse only leaves out the "saved" notice.
    let saved = Query::<ChapterQuery>::try_from_uri(&uri)
        .map(|q| q.0.saved)
        .unwrap_or_default();
    let page = || ChapterPage {
        c: &ctx.chrome,
        module,
        chapter,
        answers: AnswerView {
            module: &module.slug,
            answers: &answers,
            overlay: None,
        },
        saved: saved.clone(),
        error_for: String::new(),
        error: String::new(),
    };
    // A visitor without a workbook, on the chapter's own address with nothing asked of it,
    // sees what every such visitor in their locale sees.
    let path = format!("/modules/{}/{}", module.slug, chapter.number);
    if ctx.workbook.is_none() && uri.query().is_none() && ctx.chrome.path == path {
        state.pages.page(&ctx.chrome.l.tag, &path, page)
    } else {
        render(&page())
    }
}

/// Reads an exercise form into an answer; `Err` holds the answer as typed and the message.
fn read_answer(ex: &Exercise, fields: &Fields, max_chars: usize) -> Result<Answer, Answer> {
    let mut answer = Answer {
        text: fields.get("text").unwrap_or_default().replace("\r\n", "\n"),
        ..Answer::default()
    };
    if ex.kind == ExerciseKind::Checklist {
        for i in 0..ex.items.len() {
            if fields.get(&format!("item-{i}")).is_some() {
                answer.checked.push(i);
            }
        }
    }
    if ex.kind == ExerciseKind::Plan {
        for s in &ex.sections {
            let v = fields
                .get(&format!("section-{}", s.id))
                .unwrap_or_default()
                .replace("\r\n", "\n");
            if !v.trim().is_empty() {
                answer.sections.insert(s.id.clone(), v);
            }
        }
    }
    let too_long = answer.text.chars().count() > max_chars
        || answer
            .sections
            .values()
            .any(|v| v.chars().count() > max_chars);
    if too_long {
        Err(answer)
    } else {
        Ok(answer)
    }
}

pub async fn save_exercise(
    State(state): State<Shared>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    fields: Fields,
) -> Response {
    let content = state.content.locale(&ctx.chrome.l.tag);
    let Some(module) = content.module(&slug) else {
        return state.message(&ctx, StatusCode::NOT_FOUND, "not-found");
    };
    let Some((chapter, ex)) = module.exercise(&id) else {
        return state.message(&ctx, StatusCode::NOT_FOUND, "not-found");
    };
    let max = state.config.selfhelp.max_answer_chars as usize;
    let answer = match read_answer(ex, &fields, max) {
        Ok(a) => a,
        Err(typed) => {
            let empty = Answers::default();
            let mut resp = render(&ChapterPage {
                c: &ctx.chrome,
                module,
                chapter,
                answers: AnswerView {
                    module: &module.slug,
                    answers: &empty,
                    overlay: Some((ex.id.clone(), typed)),
                },
                saved: String::new(),
                error_for: ex.id.clone(),
                error: ctx
                    .chrome
                    .l
                    .text("exercise-too-long", &[("max", FluentValue::from(max))]),
            });
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return resp;
        }
    };
    let key = format!("{}/{}", module.slug, ex.id);
    let now = state.clock.now_unix();
    let result = state
        .workbooks
        .update(ctx.workbook.as_ref(), now, |answers| {
            let before = answers.answers.get(&key).is_some_and(|a| !a.is_empty());
            if answer.is_empty() {
                answers.answers.remove(&key);
            } else {
                answers.answers.insert(key.clone(), answer.clone());
            }
            !before && !answer.is_empty()
        })
        .await;
    match result {
        Ok((handle, added)) => {
            if added {
                state.reach.count_daily(
                    clock::day_of(now),
                    reach::EXERCISE_COMPLETION,
                    &format!("{}/{}", module.slug, ex.id),
                );
            }
            let mut resp = http::redirect(&format!(
                "/modules/{}/{}?saved={}#ex-{}",
                module.slug, chapter.number, ex.id, ex.id
            ));
            workbook_cookie(&mut resp, &ctx, Some(&handle));
            resp
        }
        Err(e) => workbook_failure(&state, &ctx, e),
    }
}

pub async fn page(State(state): State<Shared>, ctx: Ctx, slug: &'static str) -> Response {
    let content = state.content.locale(&ctx.chrome.l.tag);
    // A statement published in the console replaces the built-in one.
    let published = if slug == "confidentiality" {
        state
            .store
            .statement_latest()
            .await
            .ok()
            .flatten()
            .and_then(|s| {
                content.page(slug).map(|base| Page {
                    html: crate::content::render_markdown(&s.body),
                    version: Some(format!("{}, {}", s.version, clock::day_of(s.created_at))),
                    ..base.clone()
                })
            })
    } else {
        None
    };
    match published.as_ref().or(content.page(slug)) {
        Some(page) => render(&ContentPage {
            now: helpline_now(&state, &ctx.chrome).await,
            c: &ctx.chrome,
            page,
            hours: hours_lines(&ctx.chrome, &state.live.hours().1),
            holidays: upcoming_holidays(&state.live.hours().0, state.clock.now_unix()),
            phone: &state.config.helpline.phone_number,
            reply: ctx.chrome.l.text(
                "helpline-reply-days",
                &[(
                    "days",
                    FluentValue::from(state.config.helpline.message_reply_days),
                )],
            ),
            zone: ctx.chrome.l.text(
                "hours-zone",
                &[(
                    "zone",
                    FluentValue::from(state.config.helpline.time_zone.as_str()),
                )],
            ),
        }),
        None => state.message(&ctx, StatusCode::NOT_FOUND, "not-found"),
    }
}

async fn progress_page(state: &AppState, ctx: &Ctx, notice: Option<String>) -> Response {
    let opened = match &ctx.workbook {
        Some(h) => match state.workbooks.open(h, state.clock.now_unix()).await {
            Ok(wb) => wb,
            Err(e) => return workbook_failure(state, ctx, e),
        },
        None => None,
    };
    let content = state.content.locale(&ctx.chrome.l.tag);
    let mut entries = Vec::new();
    if let Some(wb) = &opened {
        for key in wb.answers.answers.keys() {
            let Some((m, e)) = key.split_once('/') else {
                continue;
            };
            if let Some((module, (chapter, ex))) = content
                .module(m)
                .and_then(|module| module.exercise(e).map(|found| (module, found)))
            {
                entries.push(ProgressEntry {
                    module_title: module.title.clone(),
                    exercise_title: ex.title.clone(),
                    link: format!("/modules/{}/{}#ex-{}", module.slug, chapter.number, ex.id),
                });
            }
        }
    }
    let mut resp = render(&ProgressPage {
        c: &ctx.chrome,
        entries,
        saved: opened.as_ref().is_some_and(|w| w.saved),
        has_workbook: opened.is_some(),
        notice,
    });
    if ctx.workbook.is_some() && opened.is_none() {
        // The cookie points at nothing (deleted or expired): forget it.
        workbook_cookie(&mut resp, ctx, None);
    }
    resp
}

pub async fn progress(State(state): State<Shared>, ctx: Ctx, uri: axum::http::Uri) -> Response {
    let notice = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .ok()
        .and_then(|q| q.0.get("resumed").map(|_| ctx.chrome.t("progress-resumed")));
    progress_page(&state, &ctx, notice).await
}

pub async fn save_progress(State(state): State<Shared>, ctx: Ctx, _fields: Fields) -> Response {
    match state
        .workbooks
        .save(ctx.workbook.as_ref(), state.clock.now_unix())
        .await
    {
        Ok((code, handle)) => {
            let mut resp = render(&CodePage {
                c: &ctx.chrome,
                code: code.display(),
            });
            workbook_cookie(&mut resp, &ctx, Some(&handle));
            resp
        }
        Err(e) => workbook_failure(&state, &ctx, e),
    }
}

pub async fn resume_form(State(_state): State<Shared>, ctx: Ctx) -> Response {
    render(&ResumePage {
        c: &ctx.chrome,
        error: None,
    })
}

pub async fn resume(State(state): State<Shared>, ctx: Ctx, fields: Fields) -> Response {
    let refuse = |key: &str| {
        let mut resp = render(&ResumePage {
            c: &ctx.chrome,
            error: Some(ctx.chrome.t(key)),
        });
        *resp.status_mut() = StatusCode::BAD_REQUEST;
        resp
    };
    let code = match ReturnCode::parse(fields.get("code").unwrap_or_default()) {
        Ok(c) => c,
        Err(CodeError::Length) => return refuse("resume-code-length"),
        Err(CodeError::Symbol) => return refuse("resume-code-symbol"),
        Err(CodeError::Check) => return refuse("resume-code-check"),
    };
    match state.workbooks.resume(code, state.clock.now_unix()).await {
        Ok(Some(wb)) => {
            let mut resp = http::redirect("/progress?resumed=1");
            workbook_cookie(&mut resp, &ctx, Some(&wb.handle));
            resp
        }
        Ok(None) => {
            let mut resp = refuse("resume-not-found");
            *resp.status_mut() = StatusCode::NOT_FOUND;
            resp
        }
        Err(e) => workbook_failure(&state, &ctx, e),
    }
}

pub async fn delete_form(State(_state): State<Shared>, ctx: Ctx) -> Response {
    render(&DeletePage {
        c: &ctx.chrome,
        done: false,
    })
}

pub async fn delete(State(state): State<Shared>, ctx: Ctx, fields: Fields) -> Response {
    if fields.get("confirm") != Some("yes") {
        return render(&DeletePage {
            c: &ctx.chrome,
            done: false,
        });
    }
    if let Some(h) = &ctx.workbook {
        if let Err(e) = state.workbooks.delete(h).await {
            return workbook_failure(&state, &ctx, e);
        }
    }
    let mut resp = render(&DeletePage {
        c: &ctx.chrome,
        done: true,
    });
    workbook_cookie(&mut resp, &ctx, None);
    resp
}

pub async fn choose_area(
    State(state): State<Shared>,
    ctx: Ctx,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    fields: Fields,
) -> Response {
    let code = fields.get("area").unwrap_or_default();
    let mut resp = http::redirect("/#h-area");
    if code.is_empty() || ctx.area_chosen {
        return resp;
    }
    if areas::find(code).is_none() {
        return state.message(&ctx, StatusCode::BAD_REQUEST, "bad-form");
    }
    let now = state.clock.now_unix();
    let year = clock::year_of(now);
    // The first visit was counted under the GeoIP area (or unknown) and marked by the
    // year cookie; only such a visit is moved. A post without it moves nothing (it counted
    // nothing), and the store never lets a count fall below zero.
    let counted = http::cookie(&headers, reach::YEAR_COOKIE) == Some(year.to_string().as_str());
    if counted {
        let from = state.reach.area_for(Some(peer.ip()));
        state.reach.move_first_visit(i64::from(year), &from, code);
    }
    http::set_cookie(
        &mut resp,
        CookieSpec {
            name: reach::AREA_COOKIE,
            value: &year.to_string(),
            max_age: Some(clock::seconds_to_year_end(now)),
            same_site_strict: false,
            http_only: true,
            secure: ctx.https,
        },
    );
    resp
}

#[derive(serde::Deserialize)]
pub struct LanguageQuery {
    #[serde(default)]
    l: String,
    #[serde(default)]
    next: String,
}

pub async fn language(State(state): State<Shared>, ctx: Ctx, uri: axum::http::Uri) -> Response {
    let Ok(Query(q)) = Query::<LanguageQuery>::try_from_uri(&uri) else {
        return http::redirect("/");
    };
    let mut resp = http::redirect(http::local_path(&q.next));
    if state.i18n.get(&q.l).is_some() {
        http::set_cookie(
            &mut resp,
            CookieSpec {
                name: "rl_lang",
                value: &q.l,
                max_age: Some(365 * 86_400),
                same_site_strict: false,
                http_only: true,
                secure: ctx.https,
            },
        );
    }
    resp
}

/// Leaves for the neutral site, asking the browser to forget everything from this one.
pub async fn exit(State(state): State<Shared>) -> Response {
    let mut resp = http::redirect(&state.config.site.quick_exit_url);
    resp.headers_mut().insert(
        "clear-site-data",
        HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""),
    );
    resp
}

pub async fn not_found(State(state): State<Shared>, ctx: Ctx) -> Response {
    state.message(&ctx, StatusCode::NOT_FOUND, "not-found")
}

pub async fn method_not_allowed(State(state): State<Shared>, ctx: Ctx) -> Response {
    state.message(&ctx, StatusCode::METHOD_NOT_ALLOWED, "method")
}
