//! The listener: every accepted connection is served by hyper with a header-read timeout
//! (which also ends an idle keep-alive connection: the timer runs whenever the server waits
//! for a request's headers), within a bounded number of connections.
//!
//! At the bound, a connection that is waiting for a request (slow headers, or idle between
//! requests) is closed to make room, oldest first: a stranger holding many half-open
//! connections cannot keep a help-seeker out. Only when every connection is busy with a
//! request does a new one get a plain `503` and close. Upgraded WebSockets leave the count
//! once upgraded (they have their own ping and dead-peer timeout).

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

/// What a served connection needs to know of the service's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once (upgraded WebSockets not counted).
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and how long a kept-alive
    /// connection may wait for its next request.
    pub header_timeout: Duration,
}

impl Limits {
    /// The bound when none is configured: three quarters of the open-file limit (leaving
    /// room for the database, logs and WebSockets), at least 64.
    pub fn automatic_max_connections() -> usize {
        let files = rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(1024);
        ((files as usize).saturating_mul(3) / 4).max(64)
    }
}

/// Raises the soft open-file limit to the hard one (a slow-header flood is then bounded by
/// [`Limits`], not by running out of files). Returns the limit in force.
pub fn raise_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024)
        }
    }
}

struct Tracked {
    /// A request is in progress on this connection.
    busy: Arc<AtomicBool>,
    /// Told to close (to make room).
    evict: Arc<Notify>,
}

/// The connections being served, in the order they were accepted.
#[derive(Default)]
struct Table {
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, Tracked>>,
}

impl Table {
    /// Admits a connection, closing the oldest waiting one if the table is full. `None`:
    /// every connection is busy, so this one is refused.
    fn admit(&self, max: usize) -> Option<(u64, Arc<AtomicBool>, Arc<Notify>)> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= max {
            let waiting = open
                .iter()
                .find(|(_, t)| !t.busy.load(Ordering::Acquire))
                .map(|(id, _)| *id)?;
            if let Some(t) = open.remove(&waiting) {
                t.evict.notify_one();
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let busy = Arc::new(AtomicBool::new(false));
        let evict = Arc::new(Notify::new());
        open.insert(
            id,
            Tracked {
                busy: busy.clone(),
                evict: evict.clone(),
            },
        );
        Some((id, busy, evict))
    }

    fn leave(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Marks the connection busy for as long as a request is being answered.
struct BusyGuard(Arc<AtomicBool>);

impl BusyGuard {
    fn new(flag: &Arc<AtomicBool>) -> Self {
        flag.store(true, Ordering::Release);
        BusyGuard(flag.clone())
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
Retry-After: 5\r\nConnection: close\r\nContent-Length: 54\r\n\r\n\
The service is very busy. Please try again in a moment.";

/// Completes once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: nobody can ask to stop any more, which ends the
    // wait just the same.
    let _ = stop.wait_for(|s| *s).await;
}

/// Serves `app` on `listener` until `stop` turns true, then lets connections finish for up
/// to `grace`. Accepted sockets set `TCP_NODELAY` (chat frames are small and go out at once).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) -> std::io::Result<()> {
    let table = Arc::new(Table::default());
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of files or a reset before accept: wait a moment, keep serving.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let Some((id, busy, evict)) = table.admit(limits.max_connections) else {
            tokio::spawn(async move {
                let mut tcp = tcp;
                // A client that has already gone cannot be told it was busy: nothing to do.
                let _ = tcp.write_all(BUSY).await;
                let _ = tcp.shutdown().await;
            });
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let guard = BusyGuard::new(&busy);
            let mut req = req.map(axum::body::Body::new);
            // As axum's own server does: the peer address rides in memory with the request
            // for the optional GeoIP lookup (`reach::Reach::area_for`) and goes nowhere else;
            // no table, log line or error message holds it.
            req.extensions_mut().insert(ConnectInfo(peer));
            let call = app.clone().oneshot(req);
            async move {
                let resp = call.await;
                drop(guard);
                resp
            }
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .keep_alive(true);
        let conn = http
            .serve_connection(TokioIo::new(tcp), service)
            .with_upgrades();
        let table = table.clone();
        let mut stopping = stop.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let mut draining = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    _ = evict.notified() => {
                        tracing::debug!("closed a waiting connection to make room");
                        break;
                    }
                    // Shutting down: finish the request in progress, then close.
                    _ = stopped(&mut stopping), if !draining => {
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            table.leave(id);
        });
    }
    drop(listener);
    let deadline = tokio::time::Instant::now() + grace;
    while table.len() > 0 {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                open = table.len(),
                "in-flight requests did not finish within the grace period"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_table_makes_room_from_waiting_connections_and_refuses_only_when_all_are_busy() {
        let t = Table::default();
        let (first, busy_first, _) = t.admit(2).unwrap();
        let (_, busy_second, evict_second) = t.admit(2).unwrap();
        busy_first.store(true, Ordering::Release);
        // Full: the waiting one (the second) is told to close; the newcomer is in.
        let (_, busy_third, _) = t.admit(2).unwrap();
        let told = tokio::time::timeout(Duration::from_millis(50), evict_second.notified()).await;
        assert!(told.is_ok(), "the waiting connection was not told to close");
        assert_eq!(t.len(), 2);
        // Every connection busy: refused.
        busy_third.store(true, Ordering::Release);
        assert!(t.admit(2).is_none());
        t.leave(first);
        assert!(t.admit(2).is_some());
        drop(busy_second);
    }
}
