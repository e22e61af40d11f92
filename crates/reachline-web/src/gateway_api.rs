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
use reachline_app::deterrence::{
    code, parse_code, FeedbackError, Inputs, Loaded, Verdict, ARRIVAL, TALK, VARIANTS,
};
use reachline_matcher::{Error as MatchError, Match, Signal};

/// The longest query checked, in characters (the matcher's own limit is 4096 bytes, which
/// 1024 characters of any script stay within).
pub const MAX_QUERY_CHARS: usize = 1024;
/// The longest URL checked, in characters.
pub const MAX_URL_CHARS: usize = 8192;
/// The longest match identifier taken back (one names at most
/// [`reachline_app::deterrence::MATCH_ID_ENTRIES`] entries, which stays well within it).
pub const MAX_MATCH_ID_CHARS: usize = 4096;
use reachline_store::PartnerRow;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{OpenApi, ToSchema};

/// What a partner asks about. Give at least one of `query`, `url`, `pdq`, `md5`, `sha256`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// A search query as the person typed it (at most 1024 characters).
    #[schema(max_length = 1024)]
    pub query: Option<String>,
    /// An http or https URL the person asked for (at most 8192 characters); other schemes
    /// are refused.
    #[schema(min_length = 1, max_length = 8192)]
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
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
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
    /// With a warning: an opaque identifier of the list entries behind it (never the
    /// input), to send to `/api/v1/feedback` within 30 days if the warning was wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_id: Option<String>,
}

/// A report that a warning was wrong.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// The `match_id` of the response that carried the warning.
    #[schema(min_length = 1, max_length = 4096)]
    pub match_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackResponse {
    /// True when this report was counted; false when this identifier was already reported.
    pub counted: bool,
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

/// Every error, as RFC 9457 problem details (`application/problem+json`) with a stable
/// code and a plain reason. Never echoes what was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    /// Always `about:blank`: the kind of problem is the HTTP status and `error`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: String,
    /// The HTTP status phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What was wrong, in plain words.
    pub detail: String,
    /// A stable code for programs, e.g. `bad_url`, `rate_limited`.
    pub error: String,
    /// The same as `detail` (kept for clients written before problem details).
    pub message: String,
}

/// The media type of every API error.
pub const PROBLEM_JSON: &str = "application/problem+json";

pub fn api_error(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    let message = message.into();
    let body = ApiError {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail: message.clone(),
        error: error.to_string(),
        message,
    };
    // Serialising strings and a number cannot fail.
    let json = serde_json::to_vec(&body).unwrap_or_default();
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_TYPE, PROBLEM_JSON),
        ],
        json,
    )
        .into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Reachline deterrence gateway",
        description = "Ask whether to show a warning for a search query, a URL or an image hash. Authenticate with `Authorization: Bearer <partner key>`. Inputs are never stored or logged."
    ),
    paths(check, check_batch, feedback),
    modifiers(&PartnerKey),
    components(schemas(
        CheckRequest,
        CheckResponse,
        SignalOut,
        Warning,
        BatchRequest,
        BatchResponse,
        FeedbackRequest,
        FeedbackResponse,
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

/// The OpenAPI document, with what the derive cannot say: a check needs at least one
/// input, and a batch holds at most `batch_max` items.
pub fn document(batch_max: u64) -> serde_json::Value {
    // The document is plain data built at compile time; serialising it cannot fail.
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let schemas = &mut doc["components"]["schemas"];
    if let Some(req) = schemas.get_mut("CheckRequest") {
        req["anyOf"] = ["query", "url", "pdq", "md5", "sha256"]
            .iter()
            .map(|f| serde_json::json!({ "required": [f] }))
            .collect();
        req["additionalProperties"] = false.into();
    }
    for name in ["BatchRequest", "FeedbackRequest"] {
        if let Some(req) = schemas.get_mut(name) {
            req["additionalProperties"] = false.into();
        }
    }
    if let Some(items) = schemas
        .get_mut("BatchRequest")
        .map(|b| &mut b["properties"]["items"])
    {
        items["minItems"] = 1.into();
        items["maxItems"] = batch_max.into();
    }
    doc
}

pub async fn openapi(State(state): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        Json(document(state.config.deterrence.batch_max)),
    )
        .into_response()
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<std::sync::Arc<PartnerRow>, Response> {
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
    match state.gateway.partner(&state.store, key, ttl).await {
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

/// The partner and the request body, or the answer for a missing key or a bad body.
async fn admit<T>(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Json<T>, JsonRejection>,
) -> Result<(std::sync::Arc<PartnerRow>, T), Response> {
    let partner = authenticate(state, headers).await?;
    match body {
        Ok(Json(b)) => Ok((partner, b)),
        Err(r) => Err(json_rejection(r)),
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
fn run(loaded: &Loaded, req: &CheckRequest) -> Result<Verdict, (String, String)> {
    if req
        .query
        .as_ref()
        .is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS)
    {
        return Err((
            "bad_query".into(),
            format!("query is longer than {MAX_QUERY_CHARS} characters"),
        ));
    }
    if req
        .url
        .as_ref()
        .is_some_and(|u| u.chars().count() > MAX_URL_CHARS)
    {
        return Err((
            "bad_url".into(),
            format!("url is longer than {MAX_URL_CHARS} characters"),
        ));
    }
    let inputs = Inputs {
        query: req.query.as_deref(),
        url: req.url.as_deref(),
        pdq: req.pdq.as_deref(),
        md5: req.md5.as_deref(),
        sha256: req.sha256.as_deref(),
    };
    loaded
        .check(&inputs)
        .map_err(|(field, e)| (format!("bad_{field}"), reason(field, &e)))
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

fn respond(state: &AppState, partner: i64, req: &CheckRequest, verdict: Verdict) -> CheckResponse {
    let now = state.clock.now_unix();
    let gw = &state.gateway;
    gw.count(now, partner, "", "", "check");
    gw.count_entries(now, &verdict.counted);
    let matches: Vec<Match> = verdict.warn;
    let match_id = (!matches.is_empty()).then(|| gw.match_id(partner, now, &verdict.counted));
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
        match_id,
    }
}

fn has_input(r: &CheckRequest) -> bool {
    r.query.is_some() || r.url.is_some() || r.pdq.is_some() || r.md5.is_some() || r.sha256.is_some()
}

#[derive(Deserialize, Default)]
pub struct LookupQuery {
    #[serde(default)]
    signal_type: String,
    #[serde(default)]
    signal: String,
}

/// `GET /m/lookup?signal_type=pdq&signal=HEX`, shaped like Hasher-Matcher-Actioner's
/// lookup so a platform already integrated with it can point here unchanged: the lists
/// ("banks") whose entries match, each with the matching entries and their distances.
/// Behind the same partner key and allowance as `/api/v1/check`; never-warn entries and
/// disabled entries apply as there, shadow versions do not answer. Signal types: `pdq`,
/// `md5` and `video_md5` (ThreatExchange's name for an MD5 of the file).
pub async fn hma_lookup(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let partner = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let q = Query::<LookupQuery>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    if let Err(wait) = state.gateway.allow(partner.id, 1) {
        return rate_limited(wait);
    }
    let signal = q.signal.trim();
    let inputs = match q.signal_type.as_str() {
        "pdq" => Inputs {
            pdq: Some(signal),
            ..Default::default()
        },
        "md5" | "video_md5" => Inputs {
            md5: Some(signal),
            ..Default::default()
        },
        _ => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "bad_signal_type",
                "signal_type is pdq, md5 or video_md5",
            )
        }
    };
    let loaded = state.gateway.loaded();
    let verdict = match loaded.check(&inputs) {
        Ok(v) => v,
        Err((_, e)) => {
            return api_error(StatusCode::BAD_REQUEST, "bad_signal", reason("signal", &e))
        }
    };
    let now = state.clock.now_unix();
    state.gateway.count(now, partner.id, "", "", "check");
    state.gateway.count_entries(now, &verdict.counted);
    let mut banks: std::collections::BTreeMap<String, Vec<serde_json::Value>> = Default::default();
    for m in &verdict.warn {
        let distance = match m.signal {
            Signal::Pdq { distance } => distance,
            _ => 0,
        };
        banks
            .entry(m.list.clone())
            .or_default()
            .push(serde_json::json!({
                "bank_content_id": m.entry_id,
                "distance": distance.to_string(),
            }));
    }
    no_store(Json(banks).into_response())
}

/// Report that a warning was wrong.
#[utoipa::path(
    post,
    path = "/api/v1/feedback",
    request_body = FeedbackRequest,
    responses(
        (status = 200, description = "Counted against the list entries behind the warning (once per identifier)", body = FeedbackResponse),
        (status = 400, description = "Not a match identifier given to this partner, or older than 30 days", body = ApiError, content_type = "application/problem+json"),
        (status = 401, description = "No partner key", body = ApiError, content_type = "application/problem+json"),
        (status = 403, description = "Unknown or revoked partner key", body = ApiError, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ApiError, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests; slow down", body = ApiError, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 503, description = "The service cannot answer just now; try again", body = ApiError, content_type = "application/problem+json")
    ),
    security(("partner_key" = []))
)]
pub async fn feedback(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<FeedbackRequest>, JsonRejection>,
) -> Response {
    let (partner, req) = match admit(&state, &headers, body).await {
        Ok(admitted) => admitted,
        Err(r) => return r,
    };
    if let Err(wait) = state.gateway.allow(partner.id, 1) {
        return rate_limited(wait);
    }
    if req.match_id.is_empty() || req.match_id.chars().count() > MAX_MATCH_ID_CHARS {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_match_id",
            FeedbackError::Unknown.to_string(),
        );
    }
    let now = state.clock.now_unix();
    match state
        .gateway
        .report_wrong(&state.store, partner.id, now, &req.match_id)
        .await
    {
        Ok(counted) => no_store(Json(FeedbackResponse { counted }).into_response()),
        Err(e @ (FeedbackError::Unknown | FeedbackError::Expired)) => {
            api_error(StatusCode::BAD_REQUEST, "bad_match_id", e.to_string())
        }
        Err(FeedbackError::Store(e)) => {
            tracing::error!(error = %e, "feedback could not be counted");
            api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "please try again",
            )
        }
    }
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
        (status = 400, description = "Malformed input, with the reason", body = ApiError, content_type = "application/problem+json"),
        (status = 401, description = "No partner key", body = ApiError, content_type = "application/problem+json"),
        (status = 403, description = "Unknown or revoked partner key", body = ApiError, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ApiError, content_type = "application/problem+json"),
        (status = 429, description = "Too many checks; slow down", body = ApiError, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 503, description = "The service cannot answer just now; try again", body = ApiError, content_type = "application/problem+json")
    ),
    security(("partner_key" = []))
)]
pub async fn check(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<CheckRequest>, JsonRejection>,
) -> Response {
    let (partner, req) = match admit(&state, &headers, body).await {
        Ok(admitted) => admitted,
        Err(r) => return r,
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
        (status = 400, description = "Malformed input, naming the item", body = ApiError, content_type = "application/problem+json"),
        (status = 401, description = "No partner key", body = ApiError, content_type = "application/problem+json"),
        (status = 403, description = "Unknown or revoked partner key", body = ApiError, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ApiError, content_type = "application/problem+json"),
        (status = 429, description = "Too many checks", body = ApiError, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 503, description = "The service cannot answer just now; try again", body = ApiError, content_type = "application/problem+json")
    ),
    security(("partner_key" = []))
)]
pub async fn check_batch(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<BatchRequest>, JsonRejection>,
) -> Response {
    let (partner, batch) = match admit(&state, &headers, body).await {
        Ok(admitted) => admitted,
        Err(r) => return r,
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
