//! HTTP plumbing shared by every route: security headers, the body-size limit, same-origin
//! checks for forms, request logging without identifiers, cookies.

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use http_body_util::BodyExt;
use std::time::{Duration, Instant};

/// The route a request matched (its template, never the raw path), carried on the response
/// for the request log and the metrics.
#[derive(Clone)]
pub struct RouteName(pub MatchedPath);

impl RouteName {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Inner layer: copies the matched route onto the response (a shared string, not a copy).
pub async fn tag_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let mut resp = next.run(req).await;
    if let Some(route) = route {
        resp.extensions_mut().insert(RouteName(route));
    }
    resp
}

/// One log line per request with method, route, status and latency. Never the raw path or
/// query, never an address or user agent. (Nothing is formatted when the level is off.)
pub fn log_request(method: &Method, route: &str, status: StatusCode, started: Instant) {
    tracing::info!(
        target: "reachline::http",
        method = %method,
        route = %route,
        status = status.as_u16(),
        latency_ms = format!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
        "request"
    );
}

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'none'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Shown if even the error template fails: plain, static, with the quick exit.
pub const FALLBACK_ERROR_PAGE: &str =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Something went wrong</title><link rel=\"stylesheet\" href=\"/static/site.css\"></head><body>\
<nav class=\"exit-bar\" aria-label=\"Leave this site quickly\"><a href=\"/exit\" class=\"quick-exit\">Quick exit</a></nav><main>\
<h1>Something went wrong</h1><p>Sorry, something went wrong on our side. Please try again.</p>\
<p><a href=\"/\">Home</a></p></main></body></html>";

/// The one way every HTML page is rendered (public pages, the console, the partner widget):
/// UTF-8 HTML, or, if the template fails, a logged error and the plain fallback page with its
/// quick exit.
pub fn render<T: askama::Template>(t: &T) -> Response {
    match t.render() {
        Ok(page) => html(page),
        Err(e) => template_failed(&e),
    }
}

/// A page's HTML as a response (UTF-8).
pub fn html(body: impl Into<axum::body::Body>) -> Response {
    let mut resp = Response::new(body.into());
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// A template that failed to render: logged, and the plain fallback page with its quick exit.
pub fn template_failed(e: &askama::Error) -> Response {
    tracing::error!(error = %e, "template failed to render");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        FALLBACK_ERROR_PAGE,
    )
        .into_response()
}

/// A form page: 422 when it shows an error, so a refused form is never mistaken for success.
pub fn render_form<T: askama::Template>(t: &T, has_error: bool) -> Response {
    let mut resp = render(t);
    if has_error && resp.status() == StatusCode::OK {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    resp
}

/// Marks a response as meant to be framed (by the partner's own origins only): the
/// security headers then leave out `X-Frame-Options`.
#[derive(Clone)]
pub struct Framable;

/// Security headers on every response; `no-store` unless a route chose otherwise.
pub fn security_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, name: HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // The embeddable warning sets its own frame-ancestors for the partner's origins.
    if resp.extensions().get::<Framable>().is_none() {
        set(resp.headers_mut(), header::X_FRAME_OPTIONS, "DENY");
    }
    let h = resp.headers_mut();
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=(), browsing-topics=()",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(h, header::CACHE_CONTROL, "no-store");
}

/// The body length a request declares (`Content-Length`), if it declares one that parses.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Reads a body and drops it, up to `cap` bytes and 15 seconds, so that a client refused
/// for an over-long body sees the answer rather than a reset connection.
pub async fn drain(mut body: Body, cap: u64) {
    let mut seen = 0u64;
    let deadline = Instant::now() + Duration::from_secs(15);
    while seen < cap && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    seen += data.len() as u64;
                }
            }
            _ => break,
        }
    }
}

/// What the `Origin` header says of a request, compared with `Host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// No `Origin` header.
    Absent,
    /// `Origin: null` (a privacy-sensitive context; under `Referrer-Policy: no-referrer`
    /// browsers send it for same-site forms too).
    Null,
    /// This site.
    Same,
    /// Another site (or no `Host` to compare with).
    Foreign,
}

/// The one origin check: `Origin` against `Host`.
pub fn origin(headers: &HeaderMap) -> Origin {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        host,
    ) {
        (None, _) => Origin::Absent,
        (Some("null"), _) => Origin::Null,
        (Some(origin), Some(host))
            if origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(origin)
                == host =>
        {
            Origin::Same
        }
        (Some(_), _) => Origin::Foreign,
    }
}

/// True when a state-changing request did not come from this site's own pages. Browsers
/// say so in `Sec-Fetch-Site`; without it, the [`origin`] is checked. `Origin: null` alone
/// proves nothing either way (SameSite=Strict cookies still protect answers).
pub fn cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    origin(headers) == Origin::Foreign
}

/// A WebSocket opened from another site (browsers always send `Origin` on one; a `null`
/// origin is not this site either).
pub fn foreign_socket(headers: &HeaderMap) -> bool {
    matches!(origin(headers), Origin::Foreign | Origin::Null)
}

/// The value of one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .and_then(|c| c.value_raw())
}

/// Whether the request arrived over TLS, as far as we may know: only a trusted proxy's
/// `X-Forwarded-Proto` says so (the service itself speaks plain HTTP on loopback).
pub fn is_https(headers: &HeaderMap, trust_proxy: bool) -> bool {
    trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

pub struct CookieSpec<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub max_age: Option<i64>,
    pub same_site_strict: bool,
    pub http_only: bool,
    pub secure: bool,
}

pub fn set_cookie(resp: &mut Response, spec: CookieSpec<'_>) {
    let mut c = Cookie::build((spec.name, spec.value))
        .path("/")
        .same_site(if spec.same_site_strict {
            SameSite::Strict
        } else {
            SameSite::Lax
        })
        .http_only(spec.http_only)
        .secure(spec.secure);
    if let Some(age) = spec.max_age {
        c = c.max_age(time::Duration::seconds(age));
    }
    // A cookie value is only ever ours (codes, keys, a year): it is always a valid header.
    if let Ok(v) = HeaderValue::from_str(&c.build().encoded().to_string()) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub fn redirect(to: &str) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Only paths on this site may be redirect targets: `next` (already decoded once from the
/// query) must be printable ASCII without spaces or backslashes, start with one `/`, and stay
/// so when decoded again and stripped of what browsers strip (tabs, line breaks, spaces):
/// `//host`, `/\host`, `/%09/host`, `/%2F/host`, `\/host`, `javascript:` all become `/`.
pub fn local_path(next: &str) -> &str {
    let printable = next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    let decoded: String = percent_encoding::percent_decode_str(next)
        .decode_utf8_lossy()
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    let one_slash = |p: &str| {
        p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") && !p.contains('\\')
    };
    if next.len() < 512 && printable && one_slash(next) && one_slash(&decoded) {
        next
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_redirect_targets() {
        for good in ["/", "/modules/x?y=1#z", "/get-help", "/a%20b"] {
            assert_eq!(local_path(good), good);
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "\\/evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/ /evil.example",
            "/\n/evil.example",
            "",
        ] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn cross_site_posts_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!cross_site(&Method::POST, &h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(!cross_site(&Method::POST, &h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(cross_site(&Method::POST, &h));
        assert!(!cross_site(&Method::GET, &h));
        let mut h2 = HeaderMap::new();
        h2.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&Method::POST, &h2));
        h2.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(cross_site(&Method::POST, &h2));
        // What a browser sends for our own form under no-referrer.
        let mut h3 = HeaderMap::new();
        h3.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h3.insert(header::ORIGIN, HeaderValue::from_static("null"));
        h3.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!cross_site(&Method::POST, &h3));
        h3.remove("sec-fetch-site");
        assert!(!cross_site(&Method::POST, &h3));
        // A socket must name this site.
        assert!(foreign_socket(&h3), "a null origin is not this site");
        assert!(foreign_socket(&h), "another site");
        let mut h4 = HeaderMap::new();
        h4.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(
            !foreign_socket(&h4),
            "no Origin: not a browser on another site"
        );
        h4.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(!foreign_socket(&h4));
    }

    #[test]
    fn only_local_redirects() {
        assert_eq!(local_path("/modules"), "/modules");
        assert_eq!(local_path("//evil.example"), "/");
        assert_eq!(local_path("https://evil.example"), "/");
        assert_eq!(local_path("/\\evil"), "/");
    }

    #[test]
    fn cookies_are_found() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; rl_year=2026;b=2"),
        );
        assert_eq!(cookie(&h, "rl_year"), Some("2026"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
