//! Prometheus metrics, served on their own listener (`metrics.listen`), through the
//! `prometheus-client` crate (OpenMetrics text).
//!
//! Counts only. Label values come from a closed set: matched route *templates* (never a raw
//! path), the HTTP method (a fixed list), the status code, list kinds and names the operator
//! chose. Never an address, user agent, return code or message text. Every series is a
//! field here, registered once: nothing a request carries can become a metric name.
//!
//! The request middleware and the `/metrics` route are wired in the crate root. Extending:
//! add a field, register it in [`Metrics::new`], and set it where the figure is known.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListLabels {
    kind: String,
    name: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The metrics registry, one per server (in [`crate::state::AppState`]).
pub struct Metrics {
    started: Instant,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    uptime: FloatGauge,
    pool_connections: Gauge,
    pool_idle: Gauge,
    lists: Gauge,
    list_entries: Gauge,
    list_version: Family<ListLabels, Gauge>,
    housekeeping_runs: Counter,
    housekeeping_last: FloatGauge,
    /// Chats waiting in the queue (set by housekeeping).
    pub chats_waiting: Gauge,
    /// Chats in progress (set by housekeeping).
    pub chats_active: Gauge,
    /// Chat WebSockets open on this instance (set by housekeeping).
    pub chat_sockets: Gauge,
    /// Chat messages stored, both sides.
    pub chat_messages: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            started: Instant::now(),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            uptime: FloatGauge::default(),
            pool_connections: Gauge::default(),
            pool_idle: Gauge::default(),
            lists: Gauge::default(),
            list_entries: Gauge::default(),
            list_version: Family::default(),
            housekeeping_runs: Counter::default(),
            housekeeping_last: FloatGauge::default(),
            chats_waiting: Gauge::default(),
            chats_active: Gauge::default(),
            chat_sockets: Gauge::default(),
            chat_messages: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "reachline_uptime_seconds",
            "Seconds since this server started",
            m.uptime.clone(),
        );
        registry.register(
            "reachline_http_requests",
            "HTTP requests by matched route template, method and status",
            m.requests.clone(),
        );
        registry.register(
            "reachline_http_request_duration_seconds",
            "Time to answer, by matched route template",
            m.latency.clone(),
        );
        registry.register(
            "reachline_db_pool_connections",
            "Database connections held by the pool",
            m.pool_connections.clone(),
        );
        registry.register(
            "reachline_db_pool_idle_connections",
            "Idle database connections in the pool",
            m.pool_idle.clone(),
        );
        registry.register(
            "reachline_deterrence_lists",
            "Deterrence lists in force",
            m.lists.clone(),
        );
        registry.register(
            "reachline_deterrence_list_entries",
            "Entries across the deterrence lists in force",
            m.list_entries.clone(),
        );
        registry.register(
            "reachline_deterrence_list_version",
            "Version in force of each deterrence list",
            m.list_version.clone(),
        );
        registry.register(
            "reachline_housekeeping_runs",
            "Runs of the housekeeping task (counts, purges, reloads)",
            m.housekeeping_runs.clone(),
        );
        registry.register(
            "reachline_housekeeping_last_duration_seconds",
            "How long the last housekeeping run took",
            m.housekeeping_last.clone(),
        );
        registry.register(
            "reachline_chats_waiting",
            "Chats waiting in the queue",
            m.chats_waiting.clone(),
        );
        registry.register(
            "reachline_chats_active",
            "Chats in progress",
            m.chats_active.clone(),
        );
        registry.register(
            "reachline_chat_sockets",
            "Chat WebSockets open on this instance",
            m.chat_sockets.clone(),
        );
        registry.register(
            "reachline_chat_messages",
            "Chat messages stored (both sides)",
            m.chat_messages.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Records one request under its matched route template (or `unmatched`).
    pub fn observe_request(
        &self,
        route: &str,
        method: &axum::http::Method,
        status: u16,
        seconds: f64,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method: method_label(method),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// Records one run of the housekeeping task and how long it took.
    pub fn housekeeping_ran(&self, seconds: f64) {
        self.housekeeping_runs.inc();
        self.housekeeping_last.set(seconds);
    }

    /// The OpenMetrics text of every series, with the figures read from the application at
    /// scrape time (pool, lists in force, uptime).
    pub fn render(&self, app: &reachline_app::App) -> Result<String, std::fmt::Error> {
        self.uptime.set(self.started.elapsed().as_secs_f64());
        let pool = app.store.pool_stats();
        self.pool_connections.set(i64::from(pool.size));
        self.pool_idle.set(pool.idle as i64);
        let loaded = app.gateway.loaded();
        self.lists.set(loaded.lists as i64);
        self.list_entries.set(loaded.entries);
        self.list_version.clear();
        for (kind, name, version) in &loaded.versions {
            self.list_version
                .get_or_create(&ListLabels {
                    kind: kind.to_string(),
                    name: name.to_string(),
                })
                .set(*version);
        }
        let mut out = String::with_capacity(4096);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
