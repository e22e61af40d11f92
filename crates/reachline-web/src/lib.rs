//! Reachline's HTTP server.
//!
//! [`AppState::open`] wires configuration, clock, keys, store, content and locales;
//! [`router`] is the whole site; [`serve`] runs it until a shutdown signal and flushes
//! buffered counts on the way out. Nothing here reads the wall clock directly.

pub mod backup;
pub mod callbacks;
pub mod charts;
pub mod chat;
pub mod console;
pub mod content;
pub mod conversations;
pub mod deterrence;
pub mod doctor;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod metrics;
pub mod ops;
pub mod reach;
pub mod reporting;
pub mod settings;
pub mod site;
pub mod workbook;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use reachline_core::clock::{self, SharedClock};
use reachline_core::config::Config;
use reachline_core::keys::{Key, KeyError, MasterKey};
use reachline_store::{Store, StoreError};
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use site::Shared;

/// Shown if even the error template fails: plain, static, with the quick exit.
pub const FALLBACK_ERROR_PAGE: &str =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Something went wrong</title><link rel=\"stylesheet\" href=\"/static/site.css\"></head><body>\
<nav class=\"exit-bar\" aria-label=\"Leave this site quickly\"><a href=\"/exit\" class=\"quick-exit\">Quick exit</a></nav><main>\
<h1>Something went wrong</h1><p>Sorry, something went wrong on our side. Please try again.</p>\
<p><a href=\"/\">Home</a></p></main></body></html>";

static SITE_CSS: &str = include_str!("../static/site.css");
static SITE_JS: &str = include_str!("../static/site.js");
static CONSOLE_CSS: &str = include_str!("../static/console.css");
static CONSOLE_JS: &str = include_str!("../static/console.js");
static WIDGET_CSS: &str = include_str!("../static/widget.css");
static WIDGET_JS: &str = include_str!("../static/widget.js");
static CHAT_JS: &str = include_str!("../static/chat.js");

pub struct AppState {
    pub config: Config,
    pub clock: SharedClock,
    pub store: Store,
    pub i18n: i18n::Localiser,
    pub languages: Vec<(String, String)>,
    pub content: content::Library,
    pub workbooks: workbook::Workbooks,
    pub reach: reach::Reach,
    pub live: Arc<settings::Live>,
    /// Seals staff-side content: TOTP secrets, contact notes, concern facts.
    pub content_key: Key,
    /// Keys the audit chain.
    pub audit_key: Key,
    pub sign_in_guard: console::auth::SignInGuard,
    pub gateway: deterrence::Gateway,
    /// Live chat events, here and across instances.
    pub chat: chat::Hub,
    /// Prometheus counters and gauges (served on `metrics.listen`).
    pub metrics: metrics::Metrics,
    /// When housekeeping last recorded its heartbeat (for `reachline doctor`).
    heartbeat_at: std::sync::atomic::AtomicI64,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the master key does not open this database's keys: is this the right key file for this data? ({0})")]
    WrongMasterKey(KeyError),
    #[error(transparent)]
    Content(#[from] content::ContentError),
    #[error(transparent)]
    I18n(#[from] i18n::I18nError),
    #[error(transparent)]
    GeoIp(#[from] reach::GeoIpError),
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    #[error("deterrence lists: {0}")]
    Lists(#[from] deterrence::LoadError),
}

/// Opens the store the configuration names: PostgreSQL if `database_url` is set, else the
/// embedded SQLite database in the data directory.
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    if config.storage.database_url.is_empty() {
        Ok(Store::open_sqlite(&config.data_dir().join("reachline.db")).await?)
    } else {
        Ok(Store::open_postgres(&config.storage.database_url).await?)
    }
}

/// Creates the data directory (owner-only) if needed.
pub fn prepare_data_dir(config: &Config) -> Result<(), StartError> {
    let dir = config.data_dir();
    let fail = |e| StartError::DataDir(dir.display().to_string(), e);
    if !dir.exists() {
        std::fs::create_dir_all(&dir).map_err(fail)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
        }
    }
    Ok(())
}

/// The current data key for `purpose`, created (and wrapped by the master key) on first use.
pub async fn data_key(
    store: &Store,
    master: &MasterKey,
    purpose: &str,
    now: i64,
) -> Result<Key, StartError> {
    for _ in 0..2 {
        if let Some((version, wrapped)) = store.keyring_versions(purpose).await?.first() {
            return master
                .unwrap_key(purpose, *version, wrapped)
                .map_err(StartError::WrongMasterKey);
        }
        let key = Key::random();
        if store
            .keyring_insert(purpose, 1, &master.wrap(purpose, 1, &key), now)
            .await?
        {
            return Ok(key);
        }
    }
    Err(StartError::WrongMasterKey(KeyError::SealedFormat))
}

impl AppState {
    /// Opens everything the server needs, creating the data directory, master key and
    /// database on first run.
    pub async fn open(config: Config, clock: SharedClock) -> Result<Arc<AppState>, StartError> {
        prepare_data_dir(&config)?;
        let (master, created) = MasterKey::load_or_create(&config.master_key_path())?;
        if created {
            tracing::warn!(
                path = %config.master_key_path().display(),
                "created a new master key: keep a copy offline, without it the data cannot be read"
            );
        }
        let store = open_store(&config).await?;
        Self::with_store(config, clock, store, &master).await
    }

    pub async fn with_store(
        config: Config,
        clock: SharedClock,
        store: Store,
        master: &MasterKey,
    ) -> Result<Arc<AppState>, StartError> {
        let now = clock.now_unix();
        let live = Arc::new(settings::Live::new(&config)?);
        live.reload(&store).await;
        let pepper = data_key(&store, master, "return-code-pepper", now).await?;
        let content_key = data_key(&store, master, "content", now).await?;
        let audit_key = data_key(&store, master, "audit", now).await?;
        let lists_key = data_key(&store, master, "lists", now).await?;
        let gateway = deterrence::Gateway::new(lists_key);
        gateway.reload(&store).await?;
        let i18n = i18n::Localiser::new(&config.site.default_locale, true)?;
        let languages = i18n
            .all()
            .iter()
            .filter(|l| config.site.pseudo_locales || i18n::pseudo_transform(&l.tag).is_none())
            .map(|l| (l.tag.clone(), l.name.clone()))
            .collect();
        let locales: Vec<_> = i18n
            .all()
            .iter()
            .map(|l| {
                (
                    l.tag.clone(),
                    l.content_tag.clone(),
                    i18n::pseudo_transform(&l.tag),
                )
            })
            .collect();
        let operator_dir = (!config.site.content_dir.is_empty())
            .then(|| std::path::PathBuf::from(&config.site.content_dir));
        let content = content::Library::load(
            operator_dir.as_deref(),
            &locales,
            &config.site.default_locale,
        )?;
        let geoip = if config.reach.geoip_database.is_empty() {
            None
        } else {
            Some(reach::GeoIp::open(
                &config.reach.geoip_database,
                &config.reach.geoip_field,
                &config.reach.geoip_areas,
            )?)
        };
        let workbooks = workbook::Workbooks {
            store: store.clone(),
            pepper,
            guard: workbook::CodeGuard::new(config.selfhelp.failed_codes_per_minute),
            live: live.clone(),
        };
        Ok(Arc::new(AppState {
            clock,
            store,
            i18n,
            languages,
            content,
            workbooks,
            reach: reach::Reach::new(geoip),
            live,
            content_key,
            audit_key,
            gateway,
            chat: chat::Hub::new(),
            metrics: metrics::Metrics::new(),
            heartbeat_at: std::sync::atomic::AtomicI64::new(i64::MIN),
            sign_in_guard: console::auth::SignInGuard::new(
                config.console.failed_sign_ins_per_minute,
            ),
            config,
        }))
    }

    /// Appends an entry to the hash-chained audit log. Concurrent appends (other requests,
    /// other instances) are retried until this one is linked after the newest entry.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        object: &str,
        detail: &str,
    ) -> Result<i64, StoreError> {
        audit_append(
            &self.store,
            &self.audit_key,
            self.clock.now_unix(),
            actor,
            action,
            object,
            detail,
        )
        .await
    }

    /// The address staff use, for links: `server.public_url` or the listen address.
    pub fn public_url(&self) -> String {
        if self.config.server.public_url.is_empty() {
            format!("http://{}", self.config.server.listen)
        } else {
            self.config
                .server
                .public_url
                .trim_end_matches('/')
                .to_string()
        }
    }

    /// Writes buffered counts and deletes what is past retention: conversation content,
    /// callback numbers, contact notes, sessions, expired answers.
    pub async fn housekeeping(&self) {
        if let Err(e) = self.reach.flush(&self.store).await {
            tracing::warn!(error = %e, "could not write reach counts; will retry");
        }
        self.live.reload(&self.store).await;
        if let Err(e) = self.gateway.reload(&self.store).await {
            tracing::error!(error = %e, "could not reload deterrence lists; keeping the ones in force");
        }
        if let Err(e) = self.gateway.flush(&self.store).await {
            tracing::warn!(error = %e, "could not write deterrence counts; will retry");
        }
        let now = self.clock.now_unix();
        let content_before =
            now - (self.config.helpline.conversation_retention_days as i64) * 86_400;
        match self.store.conversations_purge(content_before, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "deleted conversation content past retention"),
            Err(e) => tracing::warn!(error = %e, "could not purge conversation content"),
        }
        self.chat.flush_seen(&self.store, now).await;
        let queue_before = now - (self.config.helpline.chat_queue_timeout_minutes as i64) * 60;
        match self
            .store
            .chats_expire(queue_before, now - chat::GONE_AFTER_SECONDS, now)
            .await
        {
            Ok(missed) => {
                for c in missed {
                    chat::publish(self, chat::Event::Status { c }).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not move unanswered chats to missed"),
        }
        self.chat.tidy();
        let waiting = chat::queue_snapshot(self).await.ahead.len();
        self.metrics.set_gauge(
            "reachline_chats_waiting",
            "Chats waiting in the queue.",
            waiting as f64,
        );
        if let Ok(n) = self.store.chats_active_count().await {
            self.metrics
                .set_gauge("reachline_chats_active", "Chats in progress.", n as f64);
        }
        self.metrics.set_gauge(
            "reachline_chat_sockets",
            "Chat WebSockets open on this instance.",
            self.chat.listeners() as f64,
        );
        let callbacks_before = now - (self.config.helpline.callback_retention_days as i64) * 86_400;
        match self.store.callbacks_purge(callbacks_before, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired callback requests past retention"),
            Err(e) => tracing::warn!(error = %e, "could not purge callback numbers"),
        }
        let notes_before = now - (self.live.retention().contact_note_days as i64) * 86_400;
        match self.store.contact_notes_purge(notes_before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "deleted contact notes past retention"),
            Err(e) => tracing::warn!(error = %e, "could not purge contact notes"),
        }
        let idle = self.config.console.session_idle_minutes as i64 * 60;
        let max = self.config.console.session_max_hours as i64 * 3600;
        if let Err(e) = self.store.sessions_purge(now - idle, now - max).await {
            tracing::warn!(error = %e, "could not purge expired console sessions");
        }
        match self.store.workbooks_purge(self.clock.now_unix()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "deleted expired self-help answers"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired answers"),
        }
        // A heartbeat for `reachline doctor` (retention runs), written at most once a minute.
        use std::sync::atomic::Ordering;
        let last = self.heartbeat_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 60 || now < last {
            match self.store.heartbeat_put("housekeeping", now).await {
                Ok(()) => self.heartbeat_at.store(now, Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, "could not record the housekeeping heartbeat"),
            }
        }
    }
}

/// Appends one audit entry (see [`AppState::audit`]); also used by the CLI.
pub async fn audit_append(
    store: &Store,
    key: &Key,
    now: i64,
    actor: &str,
    action: &str,
    object: &str,
    detail: &str,
) -> Result<i64, StoreError> {
    use reachline_core::audit::{link, AuditEntry, GENESIS};
    for _ in 0..50 {
        let (seq, prev) = match store.audit_head().await? {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS.to_vec()),
        };
        let hash = link(key, &prev, seq, now, actor, action, object, detail);
        let entry = AuditEntry {
            seq,
            at: now,
            actor: actor.to_string(),
            action: action.to_string(),
            object: object.to_string(),
            detail: detail.to_string(),
            prev_hash: prev,
            hash,
        };
        if store.audit_insert(&entry).await? {
            return Ok(seq);
        }
        tokio::task::yield_now().await;
    }
    Err(StoreError::Conflict)
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

/// Counts a first visit of the year for HTML pages, and sets the year-only cookie.
async fn count_first_visit(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let year = clock::year_of(state.clock.now_unix());
    let year_s = year.to_string();
    let counted = http::cookie(req.headers(), reach::YEAR_COOKIE) == Some(year_s.as_str());
    let is_page = req.method() == axum::http::Method::GET
        && !req.uri().path().starts_with("/static/")
        && req.uri().path() != "/exit"
        && req.uri().path() != "/language"
        && req.uri().path() != "/healthz"
        && req.uri().path() != "/readyz";
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
    if is_page && !counted && resp.status() == StatusCode::OK && html {
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

async fn same_origin_forms(State(state): State<Shared>, req: Request, next: Next) -> Response {
    if http::cross_site(req.method(), req.headers()) {
        let ctx = state.ctx(req.headers(), req.uri().path());
        return state.message(&ctx, StatusCode::FORBIDDEN, "cross-site");
    }
    next.run(req).await
}

async fn body_limit(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let ctx = state.ctx(req.headers(), req.uri().path());
    let api = req.uri().path().starts_with("/api/");
    match http::limit_body(state.config.site.max_body_bytes, req, next).await {
        Ok(resp) => resp,
        Err(_) if api => deterrence::api::api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is too large",
        ),
        Err(_) => {
            let mut resp = state.message(&ctx, StatusCode::PAYLOAD_TOO_LARGE, "too-large");
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
    }
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
        .route("/api/v1/check", post(deterrence::api::check))
        .route("/api/v1/check/batch", post(deterrence::api::check_batch))
        .route("/api/v1/openapi.json", get(deterrence::api::openapi))
        .route("/help", get(deterrence::api::help))
        .route("/widget/warning", get(deterrence::api::widget))
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
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_first_visit,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            same_origin_forms,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), body_limit))
        .layer(middleware::from_fn(http::security_headers))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            move |_: Box<dyn std::any::Any + Send>| {
                panic_state.message_default(StatusCode::INTERNAL_SERVER_ERROR, "server")
            },
        ))
        .layer(middleware::from_fn(http::log_request))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
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
    let housekeeping = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                let started = std::time::Instant::now();
                state.housekeeping().await;
                state
                    .metrics
                    .housekeeping_ran(started.elapsed().as_secs_f64());
            }
        })
    };
    let relay = tokio::spawn(chat::relay(state.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let metrics_server = if state.config.metrics.listen.is_empty() {
        None
    } else {
        let listener = tokio::net::TcpListener::bind(&state.config.metrics.listen).await?;
        tracing::info!(addr = %listener.local_addr()?, "metrics listening");
        let mut stop = stop_rx.clone();
        let app = metrics::router(state.clone());
        Some(tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        }))
    };
    let grace = Duration::from_secs(state.config.server.shutdown_grace_seconds);
    let mut stop_rx2 = stop_rx.clone();
    // No Nagle delay: chat frames are small and must go out at once (with it, a frame
    // written in two parts waits for the client's delayed ACK, some 40 ms).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop_rx2.wait_for(|s| *s).await;
    });
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
    let mut server = Box::pin(server.into_future());
    let result = tokio::select! {
        r = &mut server => r,
        _ = async {
            let mut rx = stop_rx.clone();
            let _ = rx.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("in-flight requests did not finish within the grace period");
            Ok(())
        }
    };
    housekeeping.abort();
    relay.abort();
    if let Some(m) = metrics_server {
        m.abort();
    }
    if let Err(e) = state.reach.flush(&state.store).await {
        tracing::error!(error = %e, "could not write reach counts at shutdown");
    }
    if let Err(e) = state.gateway.flush(&state.store).await {
        tracing::error!(error = %e, "could not write deterrence counts at shutdown");
    }
    state.store.close().await;
    result
}

/// Whole-page HTML budget (HTML + CSS + JS), checked by tests.
pub const PAGE_BUDGET_BYTES: usize = 60 * 1024;

pub fn static_bytes() -> usize {
    SITE_CSS.len() + SITE_JS.len()
}
