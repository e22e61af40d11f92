//! Prometheus metrics, served on their own listener (`metrics.listen`).
//!
//! Counts only. Label values come from a closed set: matched route *templates* (never a raw
//! path), the HTTP method (a fixed list), the status code, list kinds and names the operator
//! chose. Never an address, user agent, return code or message text. Metric names are
//! `&'static str`, so nothing a request carries can become one.
//!
//! Extending: `state.metrics.set_gauge("reachline_chats_waiting", "Chats waiting.", n)` or
//! `state.metrics.add_counter("reachline_messages_total", "Messages sent.", 1)` from anywhere
//! that holds the state; the series appears on the next scrape.

use crate::Shared;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Latency {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Requests {
    /// (route template, method, status) -> count
    counts: BTreeMap<(String, &'static str, u16), u64>,
    /// route template -> latency histogram
    latency: BTreeMap<String, Latency>,
}

/// The metrics registry, one per server (in [`crate::AppState`]).
pub struct Metrics {
    started: Instant,
    requests: Mutex<Requests>,
    housekeeping_runs: AtomicU64,
    housekeeping_last_seconds: Mutex<f64>,
    gauges: Mutex<BTreeMap<&'static str, (&'static str, f64)>>,
    counters: Mutex<BTreeMap<&'static str, (&'static str, u64)>>,
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

/// Escapes a label value for the text format.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        && !name.as_bytes()[0].is_ascii_digit()
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            started: Instant::now(),
            requests: Mutex::new(Requests::default()),
            housekeeping_runs: AtomicU64::new(0),
            housekeeping_last_seconds: Mutex::new(0.0),
            gauges: Mutex::new(BTreeMap::new()),
            counters: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records one request under its matched route template (or `unmatched`).
    pub fn observe_request(
        &self,
        route: &str,
        method: &axum::http::Method,
        status: u16,
        seconds: f64,
    ) {
        let Ok(mut r) = self.requests.lock() else {
            return;
        };
        *r.counts
            .entry((route.to_string(), method_label(method), status))
            .or_insert(0) += 1;
        let l = r.latency.entry(route.to_string()).or_default();
        l.count += 1;
        l.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                l.buckets[i] += 1;
            }
        }
    }

    /// Records one run of the housekeeping task and how long it took.
    pub fn housekeeping_ran(&self, seconds: f64) {
        self.housekeeping_runs.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut s) = self.housekeeping_last_seconds.lock() {
            *s = seconds;
        }
    }

    /// Sets a gauge (created on first use). `name` must be a valid Prometheus name; an
    /// invalid one is ignored.
    pub fn set_gauge(&self, name: &'static str, help: &'static str, value: f64) {
        if !valid_name(name) {
            return;
        }
        if let Ok(mut g) = self.gauges.lock() {
            g.insert(name, (help, value));
        }
    }

    /// Adds to a counter (created at zero on first use). Prometheus convention: end the
    /// name in `_total`.
    pub fn add_counter(&self, name: &'static str, help: &'static str, by: u64) {
        if !valid_name(name) {
            return;
        }
        if let Ok(mut c) = self.counters.lock() {
            c.entry(name).or_insert((help, 0)).1 += by;
        }
    }

    /// The Prometheus text exposition of everything this registry holds, plus the figures
    /// read from the state at scrape time.
    pub fn render(&self, state: &crate::AppState) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP reachline_uptime_seconds Seconds since this server started.\n\
             # TYPE reachline_uptime_seconds gauge\n\
             reachline_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        if let Ok(r) = self.requests.lock() {
            out.push_str(
                "# HELP reachline_http_requests_total HTTP requests by matched route template, method and status.\n\
                 # TYPE reachline_http_requests_total counter\n",
            );
            for ((route, method, status), n) in &r.counts {
                let _ = writeln!(
                    out,
                    "reachline_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                    esc(route)
                );
            }
            out.push_str(
                "# HELP reachline_http_request_duration_seconds Time to answer, by matched route template.\n\
                 # TYPE reachline_http_request_duration_seconds histogram\n",
            );
            for (route, l) in &r.latency {
                let route = esc(route);
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "reachline_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                        l.buckets[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "reachline_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n\
                     reachline_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                     reachline_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    l.count, l.sum, l.count
                );
            }
        }
        let pool = state.store.pool_stats();
        let _ = writeln!(
            out,
            "# HELP reachline_db_pool_connections Database connections held by the pool.\n\
             # TYPE reachline_db_pool_connections gauge\n\
             reachline_db_pool_connections {}\n\
             # HELP reachline_db_pool_idle_connections Idle database connections in the pool.\n\
             # TYPE reachline_db_pool_idle_connections gauge\n\
             reachline_db_pool_idle_connections {}",
            pool.size, pool.idle
        );
        let loaded = state.gateway.loaded();
        let _ = writeln!(
            out,
            "# HELP reachline_deterrence_lists Deterrence lists in force.\n\
             # TYPE reachline_deterrence_lists gauge\n\
             reachline_deterrence_lists {}\n\
             # HELP reachline_deterrence_list_entries Entries across the deterrence lists in force.\n\
             # TYPE reachline_deterrence_list_entries gauge\n\
             reachline_deterrence_list_entries {}\n\
             # HELP reachline_deterrence_list_version Version in force of each deterrence list.\n\
             # TYPE reachline_deterrence_list_version gauge",
            loaded.lists, loaded.entries
        );
        for (kind, name, version) in &loaded.versions {
            let _ = writeln!(
                out,
                "reachline_deterrence_list_version{{kind=\"{}\",name=\"{}\"}} {version}",
                esc(kind),
                esc(name)
            );
        }
        let last = self
            .housekeeping_last_seconds
            .lock()
            .map(|s| *s)
            .unwrap_or(0.0);
        let _ = writeln!(
            out,
            "# HELP reachline_housekeeping_runs_total Runs of the housekeeping task (counts, purges, reloads).\n\
             # TYPE reachline_housekeeping_runs_total counter\n\
             reachline_housekeeping_runs_total {}\n\
             # HELP reachline_housekeeping_last_duration_seconds How long the last housekeeping run took.\n\
             # TYPE reachline_housekeeping_last_duration_seconds gauge\n\
             reachline_housekeeping_last_duration_seconds {last}",
            self.housekeeping_runs.load(Ordering::Relaxed)
        );
        if let Ok(g) = self.gauges.lock() {
            for (name, (help, v)) in g.iter() {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
            }
        }
        if let Ok(c) = self.counters.lock() {
            for (name, (help, v)) in c.iter() {
                let _ = writeln!(
                    out,
                    "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
                );
            }
        }
        out
    }
}

/// Outermost layer: counts every request under its matched route template.
pub async fn track(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let started = Instant::now();
    let resp = next.run(req).await;
    let route = resp
        .extensions()
        .get::<crate::http::RouteName>()
        .map(|r| r.0.as_str())
        .unwrap_or("unmatched");
    state.metrics.observe_request(
        route,
        &method,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}

async fn scrape(State(state): State<Shared>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&state),
    )
        .into_response()
}

/// The metrics listener's whole router: `/metrics` and nothing else.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_labels_escaped() {
        assert!(valid_name("reachline_chats_waiting"));
        assert!(!valid_name("1abc"));
        assert!(!valid_name("a b"));
        assert!(!valid_name(""));
        assert_eq!(esc("a\"b\\c\n"), "a\\\"b\\\\c\\n");
    }
}
