//! `POST /api/v1/check` and `/api/v1/check/batch` for partner platforms, the OpenAPI
//! document, help-link arrivals (`/help?c=CODE`) and the embeddable warning widget.

use crate::site::Shared;
use crate::state::AppState;
use askama::Template;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fluent_bundle::FluentValue;
use rand::seq::SliceRandom;
use reachline_app::deterrence::{code, parse_code, Loaded, ARRIVAL, TALK, VARIANTS};
use reachline_core::staff::token_hash;
use reachline_matcher::{Error as MatchError, Match, Signal};
use reachline_store::PartnerRow;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{OpenApi, ToSchema};

/// What a partner asks about. Give at least one of `query`, `url`, `pdq`, `md5`, `sha256`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// A search query as the person typed it.
    pub query: Option<String>,
    /// A URL the person asked for.
    pub url: Option<String>,
    /// A PDQ hash (64 hexadecimal digits).
    #[schema(min_length = 64, max_length = 64, pattern = "^[0-9A-Fa-f]{64}$")]
    pub pdq: Option<String>,
    /// The MD5 of a file (32 hexadecimal digits).
    #[schema(min_length = 32, max_length = 32, pattern = "^[0-9A-Fa-f]{32}$")]
    pub md5: Option<String>,
    /// The SHA-256 of a file (64 hexadecimal digits).
    #[schema(min_length = 64, max_length = 64, pattern = "^[0-9A-Fa-f]{64}$")]
    pub sha256: Option<String>,
    /// The language for the warning, e.g. `en-GB`.
    pub locale: Option<String>,
    /// How many times this session has already been warned (kept by the partner).
    pub repeat: Option<u32>,
}

/// One list entry that matched (never the listed term, URL or hash itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct SignalOut {
    /// keyword, url, pdq, md5 or sha256.
    pub kind: String,
    pub list: String,
    pub category: String,
    /// Hamming distance, for PDQ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
}

/// The message to show, and where it leads.
#[derive(Debug, Serialize, ToSchema)]
pub struct Warning {
    /// Which wording was chosen (illegal, traceable, harm; talk after repeats).
    pub variant: String,
    pub locale: String,
    pub title: String,
    pub message: String,
    pub help_text: String,
    /// A link to confidential help; its code names the partner and variant, never a person.
    pub help_url: String,
    /// True when the warning steps up to an offer to talk.
    pub offer_to_talk: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    #[serde(rename = "match")]
    pub matched: bool,
    pub signals: Vec<SignalOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<Warning>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub items: Vec<CheckRequest>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    pub results: Vec<CheckResponse>,
}

/// Every error: a stable code and a plain reason. Never echoes what was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    pub error: String,
    pub message: String,
}

pub fn api_error(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(ApiError {
            error: error.to_string(),
            message: message.into(),
        }),
    )
        .into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Reachline deterrence gateway",
        description = "Ask whether to show a warning for a search query, a URL or an image hash. Authenticate with `Authorization: Bearer <partner key>`. Inputs are never stored or logged."
    ),
    paths(check, check_batch),
    modifiers(&PartnerKey),
    components(schemas(
        CheckRequest,
        CheckResponse,
        SignalOut,
        Warning,
        BatchRequest,
        BatchResponse,
        ApiError
    ))
)]
pub struct ApiDoc;

/// The security scheme the paths name: the partner key as an HTTP bearer token.
struct PartnerKey;

impl utoipa::Modify for PartnerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "partner_key",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "The partner key given by `reachline partners add`, as `Authorization: Bearer <key>` (the scheme name in any case).",
                        ))
                        .build(),
                ),
            );
    }
}

/// A JSON answer for a method an API path does not take (e.g. `GET /api/v1/check`).
pub async fn method_not_allowed() -> Response {
    let mut r = api_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path takes POST with a JSON body",
    );
    r.headers_mut()
        .insert(header::ALLOW, axum::http::HeaderValue::from_static("POST"));
    r
}

/// A JSON answer for an API path that does not exist.
pub async fn not_found() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such API path: see /api/v1/openapi.json",
    )
}

/// 429 with how long to wait.
fn rate_limited(wait: reachline_app::limits::RetryAfter) -> Response {
    let mut r = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many checks; please slow down",
    );
    r.headers_mut().insert(
        header::RETRY_AFTER,
        axum::http::HeaderValue::from(wait.seconds()),
    );
    r
}

pub async fn openapi() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(_) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "could not produce the document",
        ),
    }
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<PartnerRow, Response> {
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(api_error(
            StatusCode::UNAUTHORIZED,
            "no_key",
            "send your partner key as Authorization: Bearer <key>",
        ));
    };
    // The scheme name is case-insensitive (RFC 9110 §11.1).
    let key = match auth.split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => key.trim(),
        _ => "",
    };
    if key.is_empty() || key.len() > 200 {
        return Err(api_error(
            StatusCode::UNAUTHORIZED,
            "no_key",
            "send your partner key as Authorization: Bearer <key>",
        ));
    }
    let ttl = Duration::from_secs(state.config.deterrence.key_cache_seconds);
    match state
        .gateway
        .partner(&state.store, &token_hash(key), ttl)
        .await
    {
        Ok(Some(p)) if p.revoked_at.is_none() => Ok(p),
        Ok(Some(_)) => Err(api_error(
            StatusCode::FORBIDDEN,
            "key_revoked",
            "this partner key has been revoked",
        )),
        Ok(None) => Err(api_error(
            StatusCode::FORBIDDEN,
            "bad_key",
            "this partner key is not known",
        )),
        Err(e) => {
            tracing::error!(error = %e, "partner lookup failed");
            Err(api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "please try again",
            ))
        }
    }
}

fn reason(field: &str, e: &MatchError) -> String {
    match e {
        MatchError::BadHex { .. } => format!("{field} must be hexadecimal of the right length"),
        MatchError::MalformedUrl(_) => format!("{field} is not a URL that can be checked"),
        MatchError::InputTooLong { .. } => format!("{field} is too long"),
        MatchError::LowQuality { .. } => format!("{field} is below the quality threshold"),
        other => format!("{field}: {other}"),
    }
}

/// Runs one check against a snapshot of the lists.
fn run(loaded: &Loaded, req: &CheckRequest) -> Result<Vec<Match>, (String, String)> {
    let mut matches = Vec::new();
    let mut add =
        |field: &str, r: Result<Vec<Match>, MatchError>| -> Result<(), (String, String)> {
            match r {
                Ok(m) => {
                    matches.extend(m);
                    Ok(())
                }
                Err(e) => Err((format!("bad_{field}"), reason(field, &e))),
            }
        };
    if let Some(q) = &req.query {
        add("query", loaded.matcher.check_query(q))?;
    }
    if let Some(u) = &req.url {
        add("url", loaded.matcher.check_url(u))?;
    }
    if let Some(h) = &req.pdq {
        add("pdq", loaded.matcher.check_pdq_hex(h))?;
    }
    if let Some(h) = &req.md5 {
        add("md5", loaded.matcher.check_md5(h))?;
    }
    if let Some(h) = &req.sha256 {
        add("sha256", loaded.matcher.check_sha256(h))?;
    }
    matches.retain(|m| !loaded.tombstones.contains(&m.entry_id));
    Ok(matches)
}

fn signal_kind(s: &Signal) -> (&'static str, Option<u32>) {
    match s {
        Signal::Keyword { .. } => ("keyword", None),
        Signal::Url => ("url", None),
        Signal::Pdq { distance } => ("pdq", Some(*distance)),
        Signal::Md5 => ("md5", None),
        Signal::Sha256 => ("sha256", None),
    }
}

/// The warning in a locale, for a partner and variant.
pub fn warning(state: &AppState, partner: i64, variant: &str, locale: Option<&str>) -> Warning {
    let l = state.i18n.choose(locale, None);
    let t = |id: &str| l.text(id, &[]);
    Warning {
        variant: variant.to_string(),
        locale: l.tag.clone(),
        title: t(&format!("warning-{variant}-title")),
        message: t(&format!("warning-{variant}-message")),
        help_text: t(if variant == TALK {
            "warning-talk-help"
        } else {
            "warning-help"
        }),
        help_url: format!("{}/help?c={}", state.public_url(), code(partner, variant)),
        offer_to_talk: variant == TALK,
    }
}

fn respond(
    state: &AppState,
    partner: i64,
    req: &CheckRequest,
    matches: Vec<Match>,
) -> CheckResponse {
    let now = state.clock.now_unix();
    let gw = &state.gateway;
    gw.count(now, partner, "", "", "check");
    let mut categories: Vec<&str> = matches.iter().map(|m| m.category.as_str()).collect();
    categories.sort_unstable();
    categories.dedup();
    for c in &categories {
        gw.count(now, partner, c, "", "match");
    }
    let warning = (!matches.is_empty()).then(|| {
        let repeats = u64::from(req.repeat.unwrap_or(0));
        let variant = if repeats >= state.config.deterrence.talk_after_repeats {
            TALK
        } else {
            VARIANTS
                .choose(&mut rand::thread_rng())
                .copied()
                .unwrap_or("illegal")
        };
        gw.count(
            now,
            partner,
            categories.first().copied().unwrap_or(""),
            variant,
            "warning",
        );
        warning(state, partner, variant, req.locale.as_deref())
    });
    CheckResponse {
        matched: !matches.is_empty(),
        signals: matches
            .into_iter()
            .map(|m| {
                let (kind, distance) = signal_kind(&m.signal);
                SignalOut {
                    kind: kind.into(),
                    list: m.list,
                    category: m.category,
                    distance,
                }
            })
            .collect(),
        warning,
    }
}

fn has_input(r: &CheckRequest) -> bool {
    r.query.is_some() || r.url.is_some() || r.pdq.is_some() || r.md5.is_some() || r.sha256.is_some()
}

/// What was wrong with a well-formed body that does not fit the request, in words that
/// never repeat what the caller sent: serde's own message can carry the value sent or an
/// unknown field's name, so only its kind, our field names and what we expect are kept.
fn data_error_message(text: &str) -> String {
    let ours = |s: &str| {
        !s.is_empty()
            && s.len() <= 40
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c))
    };
    // A path is kept only when every step is one of the request's own fields or an index.
    let known = |p: &str| {
        p.split('.').all(|step| {
            let name = step.split('[').next().unwrap_or(step);
            [
                "query", "url", "pdq", "md5", "sha256", "locale", "repeat", "items", "",
            ]
            .contains(&name)
        }) && ours(p)
    };
    let rest = text.split_once(": ").map_or(text, |(_, m)| m);
    let (path, message) = match rest.split_once(": ") {
        Some((p, m)) if known(p) => (Some(p), m),
        Some((p, m)) if ours(p) => (None, m),
        _ => (None, rest),
    };
    let message = message.rsplit_once(" at line ").map_or(message, |(m, _)| m);
    let expected = message
        .split_once(", expected ")
        .map(|(_, e)| e)
        .filter(|e| !e.contains('"') && e.len() <= 200);
    let field = |m: &str| m.split('`').nth(1).filter(|f| ours(f)).map(str::to_string);
    let what = if message.starts_with("missing field") {
        match field(message) {
            Some(f) => format!("the field `{f}` is required"),
            None => "a required field is missing".to_string(),
        }
    } else if message.starts_with("unknown field") {
        "a field was sent that this request does not take".to_string()
    } else if message.starts_with("invalid type") {
        "a value has the wrong type".to_string()
    } else if message.starts_with("unknown variant") || message.starts_with("invalid value") {
        "a value is not one of those allowed".to_string()
    } else if message.starts_with("invalid length") {
        "a list or value has the wrong length".to_string()
    } else {
        "the body does not have the fields this request takes".to_string()
    };
    let mut out = match path {
        Some(p) => format!("{p}: {what}"),
        None => what,
    };
    if let Some(e) = expected {
        out.push_str(&format!(" (expected {e})"));
    }
    out
}

fn json_rejection(r: JsonRejection) -> Response {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is too large",
        );
    }
    let msg = match &r {
        JsonRejection::MissingJsonContentType(_) => {
            "send Content-Type: application/json".to_string()
        }
        JsonRejection::JsonSyntaxError(_) => "the body is not valid JSON".to_string(),
        JsonRejection::JsonDataError(e) => data_error_message(&e.body_text()),
        _ => "the body could not be read".to_string(),
    };
    api_error(StatusCode::BAD_REQUEST, "bad_request", msg)
}

/// Check one input.
#[utoipa::path(
    post,
    path = "/api/v1/check",
    request_body = CheckRequest,
    responses(
        (status = 200, description = "The verdict, with a warning when something matched", body = CheckResponse),
        (status = 400, description = "Malformed input, with the reason", body = ApiError),
        (status = 401, description = "No partner key", body = ApiError),
        (status = 403, description = "Unknown or revoked partner key", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 429, description = "Too many checks; slow down", body = ApiError,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))
    ),
    security(("partner_key" = []))
)]
pub async fn check(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<CheckRequest>, JsonRejection>,
) -> Response {
    let partner = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Json(req) = match body {
        Ok(b) => b,
        Err(r) => return json_rejection(r),
    };
    if let Err(wait) = state.gateway.allow(partner.id, 1) {
        return rate_limited(wait);
    }
    if !has_input(&req) {
        return api_error(
            StatusCode::BAD_REQUEST,
            "empty",
            "give at least one of query, url, pdq, md5, sha256",
        );
    }
    let loaded = state.gateway.loaded();
    match run(&loaded, &req) {
        Ok(matches) => no_store(Json(respond(&state, partner.id, &req, matches)).into_response()),
        Err((code, reason)) => api_error(StatusCode::BAD_REQUEST, &code, reason),
    }
}

/// Check many inputs at once (at most `deterrence.batch_max`).
#[utoipa::path(
    post,
    path = "/api/v1/check/batch",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One verdict per item, in order", body = BatchResponse),
        (status = 400, description = "Malformed input, naming the item", body = ApiError),
        (status = 401, description = "No partner key", body = ApiError),
        (status = 403, description = "Unknown or revoked partner key", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 429, description = "Too many checks", body = ApiError,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))
    ),
    security(("partner_key" = []))
)]
pub async fn check_batch(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<BatchRequest>, JsonRejection>,
) -> Response {
    let partner = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Json(batch) = match body {
        Ok(b) => b,
        Err(r) => return json_rejection(r),
    };
    let d = &state.config.deterrence;
    if batch.items.is_empty() || batch.items.len() as u64 > d.batch_max {
        return api_error(
            StatusCode::BAD_REQUEST,
            "batch_size",
            format!("a batch holds 1 to {} items", d.batch_max),
        );
    }
    if let Err(wait) = state.gateway.allow(partner.id, batch.items.len() as u64) {
        return rate_limited(wait);
    }
    let loaded = state.gateway.loaded();
    let mut all = Vec::with_capacity(batch.items.len());
    for (i, item) in batch.items.iter().enumerate() {
        if !has_input(item) {
            return api_error(
                StatusCode::BAD_REQUEST,
                "empty",
                format!("item {i}: give at least one input"),
            );
        }
        match run(&loaded, item) {
            Ok(m) => all.push(m),
            Err((code, reason)) => {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    &code,
                    format!("item {i}: {reason}"),
                )
            }
        }
    }
    let results = batch
        .items
        .iter()
        .zip(all)
        .map(|(req, m)| respond(&state, partner.id, req, m))
        .collect();
    no_store(Json(BatchResponse { results }).into_response())
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Deserialize, Default)]
pub struct HelpQuery {
    #[serde(default)]
    c: String,
    #[serde(default)]
    lang: String,
}

/// Arrival from a warning: counted by campaign code (partner and variant), then on to help.
pub async fn help(State(state): State<Shared>, uri: axum::http::Uri) -> Response {
    let q = Query::<HelpQuery>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    if let Some((partner, variant)) = parse_code(&q.c) {
        // Only codes of real partners count, so made-up links cannot inflate the funnel.
        if let Ok(Some(p)) = state.store.partner_by_id(partner).await {
            state
                .gateway
                .count(state.clock.now_unix(), p.id, "", variant, ARRIVAL);
        }
    }
    crate::http::redirect("/get-help")
}

#[derive(Template)]
#[template(path = "widget.html")]
struct WidgetPage {
    lang: String,
    dir: &'static str,
    w: Warning,
    yes: String,
    no: String,
    question: String,
    chat: String,
    message: String,
    selfhelp: String,
    not_now: String,
    code: String,
}

/// The warning as a small page a partner can frame.
pub async fn widget(State(state): State<Shared>, uri: axum::http::Uri) -> Response {
    let q = Query::<HelpQuery>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let Some((partner_id, variant)) = parse_code(&q.c) else {
        return state.message_default(StatusCode::NOT_FOUND, "not-found");
    };
    let partner = state.store.partner_by_id(partner_id).await.ok().flatten();
    let Some(partner) = partner.filter(|p| p.revoked_at.is_none()) else {
        return state.message_default(StatusCode::NOT_FOUND, "not-found");
    };
    let lang = (!q.lang.is_empty()).then_some(q.lang.as_str());
    let w = warning(&state, partner.id, variant, lang);
    let l = state.i18n.choose(lang, None);
    let t = |id: &str| l.text(id, &[("partner", FluentValue::from(partner.name.as_str()))]);
    let page = WidgetPage {
        lang: l.tag.clone(),
        dir: if l.rtl { "rtl" } else { "ltr" },
        yes: t("widget-yes"),
        no: t("widget-no"),
        question: t("widget-question"),
        chat: t("widget-chat"),
        message: t("widget-message"),
        selfhelp: t("widget-selfhelp"),
        not_now: t("widget-not-now"),
        code: code(partner.id, variant),
        w,
    };
    let mut resp = crate::http::render(&page);
    if resp.status() != StatusCode::OK {
        return resp;
    }
    let ancestors: Vec<&str> = partner
        .frame_ancestors
        .split_whitespace()
        .filter(|o| o.starts_with("https://") && !o.contains(['\'', ';', '"']))
        .collect();
    let frame = if ancestors.is_empty() {
        "'none'".to_string()
    } else {
        ancestors.join(" ")
    };
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors {frame}"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp.extensions_mut().insert(crate::http::Framable);
    resp
}

#[cfg(test)]
mod tests {
    use super::data_error_message;

    #[test]
    fn data_errors_never_repeat_what_was_sent() {
        let prefix = "Failed to deserialize the JSON body into the target type: ";
        for (serde, want) in [
            (
                "query: invalid type: string \"bluepineapple\", expected u64 at line 1 column 9",
                "query: a value has the wrong type (expected u64)",
            ),
            (
                "unknown field `bluepineapple`, expected one of `query`, `url` at line 1 column 20",
                "a field was sent that this request does not take (expected one of `query`, `url`)",
            ),
            (
                "missing field `query` at line 1 column 2",
                "the field `query` is required",
            ),
            (
                "items[0].url: unknown variant `bluepineapple`, expected `pdq` at line 1 column 30",
                "items[0].url: a value is not one of those allowed (expected `pdq`)",
            ),
            (
                "bluepineapple: weird",
                "the body does not have the fields this request takes",
            ),
        ] {
            let got = data_error_message(&format!("{prefix}{serde}"));
            assert_eq!(got, want);
            assert!(!got.contains("bluepineapple"));
        }
    }
}
