//! Reachline's HTTP server.
//!
//! [`AppState::open`] wires configuration, clock, keys, store, content and locales;
//! [`router`] is the whole site; [`serve`] runs it until a shutdown signal and flushes
//! buffered counts on the way out. Nothing here reads the wall clock directly.

pub mod callbacks;
pub mod chat;
pub mod connections;
pub mod console;
pub mod content;
pub mod conversations;
pub mod gateway_api;
pub mod http;
pub mod i18n;
pub mod intake;
pub mod metrics;
pub mod page_cache;
pub mod site;
pub mod state;
pub mod telephony;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use reachline_app::reach;
use reachline_core::clock::{self};
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub use state::{AppState, Shared, StartError};

static SITE_CSS: &str = include_str!("../static/site.css");
static SITE_JS: &str = include_str!("../static/site.js");
static CONSOLE_CSS: &str = include_str!("../static/console.css");
static CONSOLE_JS: &str = include_str!("../static/console.js");
static WIDGET_CSS: &str = include_str!("../static/widget.css");
static WIDGET_JS: &str = include_str!("../static/widget.js");
static CHAT_JS: &str = include_str!("../static/chat.js");
/// A plain, neutral mark (nothing that says what the site is about on a shared screen).
static FAVICON: &str = include_str!("../static/favicon.svg");

/// How often the server looks for new deterrence list versions written by another process
/// (one small query); with the rebuild, a new version answers within about a second.
const LISTS_WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// The application's housekeeping, then live chat's: chats left unanswered become
/// missed (and their sockets are told), and the chat gauges are refreshed.
pub async fn housekeeping(state: &AppState) {
    state.app.housekeeping().await;
    let now = state.clock.now_unix();
    state.chat.flush_seen(&state.store, now).await;
    match state
        .store
        .chats_drop_unopened(now - chat::UNOPENED_AFTER_SECONDS)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            dropped = n,
            "dropped chats that were started but never opened"
        ),
        Err(e) => tracing::warn!(error = %e, "could not drop chats that were never opened"),
    }
    let queue_before = now - (state.config.helpline.chat_queue_timeout_minutes as i64) * 60;
    match state
        .store
        .chats_expire(queue_before, now - chat::GONE_AFTER_SECONDS, now)
        .await
    {
        Ok(missed) => {
            for c in missed {
                chat::publish(state, chat::Event::Status { c }).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not move unanswered chats to missed"),
    }
    state.chat.tidy();
    let waiting = chat::queue_snapshot(state).await.ahead.len();
    state.metrics.chats_waiting.set(waiting as i64);
    match state.store.chats_active_count().await {
        Ok(n) => {
            state.metrics.chats_active.set(n);
        }
        Err(e) => tracing::warn!(error = %e, "could not count the chats in progress"),
    }
    state
        .metrics
        .chat_sockets
        .set(state.chat.listeners() as i64);
}

async fn static_file(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The one layer around every request, outermost: it refuses an over-long body or a
/// cross-site form before any handler runs, counts a first visit of the year on HTML pages,
/// sets the security headers on every answer (the panic page's too), then logs the request
/// and counts it under its route. One layer rather than six: each `from_fn` layer costs a
/// boxed service and a boxed future on every request (bench/README.md, `run.sh`).
async fn edge(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let started = Instant::now();
    let mut resp = answer(&state, req, next).await;
    http::security_headers(&mut resp);
    let route = resp
        .extensions()
        .get::<http::RouteName>()
        .map_or("unmatched", http::RouteName::as_str);
    http::log_request(&method, route, resp.status(), started);
    state.metrics.observe_request(
        route,
        &method,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}

/// The answer to a request, past the body limit and the same-origin rule for forms.
async fn answer(state: &AppState, req: Request, next: Next) -> Response {
    if http::declared_length(req.headers())
        .is_some_and(|len| len > state.config.site.max_body_bytes)
    {
        return too_large(state, req).await;
    }
    if http::cross_site(req.method(), req.headers()) {
        let ctx = state.ctx(req.headers(), req.uri().path());
        return state.message(&ctx, StatusCode::FORBIDDEN, "cross-site");
    }
    let path = req.uri().path();
    let is_page = req.method() == axum::http::Method::GET
        && !path.starts_with("/static/")
        && !["/exit", "/language", "/healthz", "/readyz"].contains(&path);
    if !is_page {
        return next.run(req).await;
    }
    count_first_visit(state, req, next).await
}

/// A request whose declared body is over the limit gets 413 without reaching a handler,
/// once its body has been read and dropped (up to a bound).
async fn too_large(state: &AppState, req: Request) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let ctx = (!api).then(|| state.ctx(req.headers(), req.uri().path()));
    http::drain(req.into_body(), 64 * 1024 * 1024).await;
    match ctx {
        None => gateway_api::api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is too large",
        ),
        Some(ctx) => {
            let mut resp = state.message(&ctx, StatusCode::PAYLOAD_TOO_LARGE, "too-large");
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
    }
}

/// Counts a first visit of the year for an HTML page, and sets the year-only cookie.
async fn count_first_visit(state: &AppState, req: Request, next: Next) -> Response {
    let year = clock::year_of(state.clock.now_unix());
    let year_s = year.to_string();
    if http::cookie(req.headers(), reach::YEAR_COOKIE) == Some(year_s.as_str()) {
        return next.run(req).await;
    }
    let https = http::is_https(req.headers(), state.config.server.trust_forwarded_proto);
    // Only the GeoIP lookup ever sees the address; it is not kept.
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let mut resp = next.run(req).await;
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if resp.status() == StatusCode::OK && html {
        state
            .reach
            .count_first_visit(i64::from(year), &state.reach.area_for(peer));
        http::set_cookie(
            &mut resp,
            http::CookieSpec {
                name: reach::YEAR_COOKIE,
                value: &year_s,
                max_age: Some(clock::seconds_to_year_end(state.clock.now_unix())),
                same_site_strict: false,
                http_only: true,
                secure: https,
            },
        );
    }
    resp
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready to serve: the database answers, its migrations are current and the deterrence
/// lists are loaded. 503 with a short plain reason otherwise (for load balancers).
async fn readyz(State(state): State<Shared>) -> Response {
    let not_ready = |reason: &'static str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            reason,
        )
            .into_response()
    };
    if !state.store.ping().await {
        return not_ready("database unreachable\n");
    }
    match state.store.pending_migrations().await {
        Ok(p) if p.is_empty() => {}
        Ok(_) => return not_ready("database migrations pending\n"),
        Err(_) => return not_ready("database migrations unknown\n"),
    }
    if !state.gateway.is_loaded() {
        return not_ready("deterrence lists not loaded\n");
    }
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ready\n",
    )
        .into_response()
}

/// The whole site.
pub fn router(state: Shared) -> Router {
    let page =
        |slug: &'static str| get(move |s: State<Shared>, ctx: site::Ctx| site::page(s, ctx, slug));
    let panic_state = state.clone();
    Router::new()
        .route("/", get(site::home))
        .route("/modules", get(site::modules))
        .route("/modules/{slug}", get(site::module))
        .route("/modules/{slug}/{chapter}", get(site::chapter))
        .route("/modules/{slug}/exercises/{id}", post(site::save_exercise))
        .route("/get-help", page("get-help"))
        .route("/confidentiality", page("confidentiality"))
        .route(
            "/worried-about-someone-else",
            page("worried-about-someone-else"),
        )
        .route("/under-18", page("under-18"))
        .route("/the-law", page("the-law"))
        .route("/progress", get(site::progress))
        .route("/progress/save", post(site::save_progress))
        .route(
            "/progress/resume",
            get(site::resume_form).post(site::resume),
        )
        .route(
            "/progress/delete",
            get(site::delete_form).post(site::delete),
        )
        .route("/area", post(site::choose_area))
        .route("/language", get(site::language))
        .route("/exit", get(site::exit))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/static/site.css",
            get(|| static_file(SITE_CSS, "text/css; charset=utf-8")),
        )
        .route(
            "/static/favicon.svg",
            get(|| static_file(FAVICON, "image/svg+xml")),
        )
        .route(
            "/favicon.ico",
            get(|| static_file(FAVICON, "image/svg+xml")),
        )
        .route(
            "/static/console.css",
            get(|| static_file(CONSOLE_CSS, "text/css; charset=utf-8")),
        )
        .route(
            "/contact/message",
            get(conversations::write_form).post(conversations::send_first),
        )
        .route(
            "/contact/callback",
            get(callbacks::request_form).post(callbacks::request),
        )
        .route(
            "/contact/thread",
            get(conversations::thread).post(conversations::reply),
        )
        .route("/chat", get(chat::page))
        .route("/chat/start", post(chat::start))
        .route("/chat/send", post(chat::send_form))
        .route("/chat/end", post(chat::end))
        .route("/chat/continue", post(chat::continue_by_message))
        .route("/chat/transcript", get(chat::transcript))
        .route("/chat/ws", get(chat::socket))
        .route(
            "/static/chat.js",
            get(|| static_file(CHAT_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/contact/continue",
            get(conversations::continue_form).post(conversations::continue_thread),
        )
        .route(
            "/api/v1/check",
            post(gateway_api::check).fallback(gateway_api::method_not_allowed),
        )
        .route(
            "/api/v1/check/batch",
            post(gateway_api::check_batch).fallback(gateway_api::method_not_allowed),
        )
        .route(
            "/api/v1/feedback",
            post(gateway_api::feedback).fallback(gateway_api::method_not_allowed),
        )
        .route("/api/v1/openapi.json", get(gateway_api::openapi))
        .route("/m/lookup", get(gateway_api::hma_lookup))
        .route("/telephony/twilio/voice", post(telephony::voice))
        .route("/telephony/twilio/queue", post(telephony::queue))
        .route("/telephony/twilio/status", post(telephony::status))
        .route("/api/{*rest}", axum::routing::any(gateway_api::not_found))
        .route("/help", get(gateway_api::help))
        .route("/widget/warning", get(gateway_api::widget))
        .route(
            "/static/widget.css",
            get(|| static_file(WIDGET_CSS, "text/css; charset=utf-8")),
        )
        .route(
            "/static/widget.js",
            get(|| static_file(WIDGET_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/static/console.js",
            get(|| static_file(CONSOLE_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/static/site.js",
            get(|| static_file(SITE_JS, "text/javascript; charset=utf-8")),
        )
        .merge(console::router(state.clone()))
        .fallback(site::not_found)
        .method_not_allowed_fallback(site::method_not_allowed)
        .route_layer(middleware::from_fn(http::tag_route))
        .layer(DefaultBodyLimit::max(
            state.config.site.max_body_bytes as usize,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            move |_: Box<dyn std::any::Any + Send>| {
                panic_state.message_default(StatusCode::INTERNAL_SERVER_ERROR, "server")
            },
        ))
        .layer(middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}

async fn scrape(State(state): State<Shared>) -> Response {
    match state.metrics.render(&state.app) {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => {
            tracing::error!("could not write the metrics text");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The metrics listener's whole router: `/metrics` and nothing else.
fn metrics_router(state: Shared) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

/// Serves until `shutdown` completes, then lets in-flight requests finish (up to the grace
/// period) and flushes buffered counts.
pub async fn serve(
    state: Shared,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    if let Ok(addr) = listener.local_addr() {
        state.note_served_address(addr).await;
    }
    let housekeeping = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                let started = std::time::Instant::now();
                housekeeping(&state).await;
                state
                    .metrics
                    .housekeeping_ran(started.elapsed().as_secs_f64());
            }
        })
    };
    // A new list version, promotion, rollback or disabled entry written by another process
    // (`reachline lists ...`) goes live within a second: the check is one small query
    // (the lists' generation), and a rebuild happens off the request threads only when it
    // changed. Housekeeping's ten-second tick would leave it up to ten seconds behind.
    let lists_watch = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(LISTS_WATCH_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // A failure is logged when it starts and when it ends, not every second
            // (housekeeping keeps logging it on its own tick meanwhile).
            let mut failing = false;
            loop {
                tick.tick().await;
                match state.app.gateway.reload(&state.store).await {
                    Err(e) if !failing => {
                        failing = true;
                        tracing::error!(error = %e, "could not reload deterrence lists; keeping the ones in force");
                    }
                    Err(_) => {}
                    Ok(_) if failing => {
                        failing = false;
                        tracing::info!("deterrence lists can be reloaded again");
                    }
                    Ok(_) => {}
                }
            }
        })
    };
    let relay = {
        let state = state.clone();
        tokio::spawn(async move { state.chat.relay(&state.store).await })
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let metrics_server = if state.config.metrics.listen.is_empty() {
        None
    } else {
        let listener = tokio::net::TcpListener::bind(&state.config.metrics.listen).await?;
        tracing::info!(addr = %listener.local_addr()?, "metrics listening");
        let mut stop = stop_rx.clone();
        let app = metrics_router(state.clone());
        Some(tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        }))
    };
    let grace = Duration::from_secs(state.config.server.shutdown_grace_seconds);
    let files = connections::raise_file_limit();
    let limits = connections::Limits {
        max_connections: match state.config.server.max_connections {
            0 => connections::Limits::automatic_max_connections(),
            n => usize::try_from(n).unwrap_or(usize::MAX),
        },
        header_timeout: Duration::from_secs(state.config.server.header_timeout_seconds.max(1)),
    };
    tracing::info!(
        max_connections = limits.max_connections,
        open_files = files,
        "serving"
    );
    let signal = {
        let state = state.clone();
        async move {
            shutdown.await;
            // Chat sockets are told to reconnect (to another instance, or to this one
            // when it is back) and closed, so the server is not kept waiting for them.
            state.chat.close_all();
            let _ = stop_tx.send(true);
        }
    };
    tokio::spawn(signal);
    let result = connections::serve(listener, app, limits, stop_rx.clone(), grace).await;
    housekeeping.abort();
    lists_watch.abort();
    relay.abort();
    if let Some(m) = metrics_server {
        m.abort();
    }
    state.flush_counts().await;
    state.store.close().await;
    result
}
