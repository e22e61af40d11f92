//! Chat load: N help-seekers and M practitioners on WebSockets against a running
//! `reachline serve`, a steady message rate, delivery latency (p50/p99) and the server's
//! resident memory per idle connection. Run by `bench/chat.sh`, which starts the server.
//!
//! The baseline, measured in the same run on the same server and sockets, is a bare
//! WebSocket ping/pong round trip; the ratio says what the chat path (seal, commit,
//! event, read, open, send) costs on top of the transport.
//!
//! Latency is timed from each message's scheduled send time (start + n / rate), not from
//! when the client got round to sending it, so a stall anywhere, the client's own
//! included, counts against the figures (no coordinated omission). With `--base2` the
//! practitioners use a second instance on the same PostgreSQL database: every message
//! crosses from one instance to the other.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use reachline_core::staff;
use reachline_core::staff::Role;
use reachline_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type Tx = SplitSink<Ws, Message>;

struct Args {
    base: String,
    base2: String,
    data_dir: String,
    database_url: String,
    pid: u32,
    seekers: usize,
    practitioners: usize,
    per_practitioner: usize,
    rate: u64,
    seconds: u64,
}

fn args() -> Args {
    let mut a = Args {
        base: String::new(),
        base2: String::new(),
        data_dir: String::new(),
        database_url: String::new(),
        pid: 0,
        seekers: 20_000,
        practitioners: 300,
        per_practitioner: 67,
        rate: 2000,
        seconds: 20,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    for pair in v.chunks(2) {
        let (k, val) = (pair[0].as_str(), pair.get(1).cloned().unwrap_or_default());
        match k {
            "--base" => a.base = val,
            "--base2" => a.base2 = val,
            "--data-dir" => a.data_dir = val,
            "--database-url" => a.database_url = val,
            "--pid" => a.pid = val.parse().unwrap(),
            "--seekers" => a.seekers = val.parse().unwrap(),
            "--practitioners" => a.practitioners = val.parse().unwrap(),
            "--per-practitioner" => a.per_practitioner = val.parse().unwrap(),
            "--rate" => a.rate = val.parse().unwrap(),
            "--seconds" => a.seconds = val.parse().unwrap(),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        !a.base.is_empty() && a.pid != 0,
        "--base and --pid are required"
    );
    a
}

/// A figure of `/proc/PID/status` in KiB (`VmRSS`, `RssAnon`, `RssFile`, `RssShmem`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.split(':').next() == Some(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS")
}

/// The resident memory's parts: the heap and stacks (anonymous), mapped files (with SQLite,
/// its WAL index, a file mapped shared) and shared memory, in MiB.
fn rss_parts(pid: u32) -> String {
    let mib = |field| status_kib(pid, field) as f64 / 1024.0;
    format!(
        "anonymous {:.1}, file {:.1}, shared {:.1} MiB",
        mib("RssAnon"),
        mib("RssFile"),
        mib("RssShmem")
    )
}

/// A WebSocket as a browser opens one (browsers turn Nagle's algorithm off for them).
async fn socket(base: &str, path: &str, cookie: &str) -> Ws {
    let url = format!("{}{}", base.replacen("http://", "ws://", 1), path);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    req.headers_mut().insert("origin", base.parse().unwrap());
    for attempt in 0..5 {
        match tokio_tungstenite::connect_async_with_config(req.clone(), None, true).await {
            Ok((ws, _)) => return ws,
            Err(e) if attempt < 4 => {
                eprintln!("connect retry: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot connect {path}: {e}"),
        }
    }
    unreachable!()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
        .collect::<Vec<_>>()
        .join("&")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Sent messages waiting for delivery: id -> when sent.
type Outstanding = Arc<Mutex<HashMap<String, Instant>>>;

/// Delivered messages: when each was sent, and its delivery latency in milliseconds.
type Latencies = Arc<Mutex<Vec<(Instant, f64)>>>;

fn reader(mut rx: SplitStream<Ws>, outstanding: Outstanding, latencies: Latencies) {
    tokio::spawn(async move {
        while let Some(Ok(msg)) = rx.next().await {
            if let Message::Text(t) = msg {
                let text = t.as_str();
                if !text.contains("\"t\":\"msg\"") {
                    continue;
                }
                if let Some(i) = text.find("bench-") {
                    let id: String = text[i..].chars().take_while(|c| *c != '"').collect();
                    let sent = outstanding.lock().unwrap().remove(&id);
                    if let Some(sent) = sent {
                        latencies
                            .lock()
                            .unwrap()
                            .push((sent, sent.elapsed().as_secs_f64() * 1000.0));
                    }
                }
            }
        }
    });
}

#[tokio::main]
async fn main() {
    let a = args();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let store = if a.database_url.is_empty() {
        Store::open_sqlite(&std::path::Path::new(&a.data_dir).join("reachline.db")).await
    } else {
        Store::open_postgres(&a.database_url).await
    }
    .expect("the server's database");

    // Practitioners: accounts and sessions written through the store, as sign-in would.
    let mut staff_sessions = Vec::new();
    let now = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let suffix = now % 100_000;
    for i in 0..a.practitioners {
        let id = store
            .staff_create(&format!("bench{suffix}p{i}"), Role::Practitioner, "", now)
            .await
            .unwrap();
        let token = staff::new_token();
        let csrf = staff::new_token();
        store
            .session_create(&staff::token_hash(&token), id, &csrf, now)
            .await
            .unwrap();
        staff_sessions.push((format!("rl_console={token}"), csrf));
    }

    // Help-seekers start chats (the real form), a few at a time, and each opens the chat
    // page's socket at once (as the page does: a chat never opened is dropped after a
    // minute). Server memory before, halfway and after: memory per idle connection.
    let rss_before = rss_kib(a.pid);
    let parts_before = rss_parts(a.pid);
    let started = Instant::now();
    // One start at a time (the semaphore is fair: in spawn order), so chat ids ascend in
    // the order of the sockets; the sockets open concurrently.
    let gate = Arc::new(Semaphore::new(1));
    let outstanding: Outstanding = Arc::new(Mutex::new(HashMap::new()));
    let latencies: Latencies = Arc::new(Mutex::new(Vec::new()));
    // In two halves, the server's memory read after each: the first half also fills what
    // does not grow with the connections (the database's page caches, the allocator's first
    // pages, thread stacks), so the second half alone is what one more connection costs.
    let half = a.seekers / 2;
    let mut seeker_tx: Vec<Tx> = Vec::new();
    let mut rss_half = 0;
    for count in [half, a.seekers - half] {
        let mut joins = Vec::new();
        for _ in 0..count {
            let (http, base, gate) = (http.clone(), a.base.clone(), gate.clone());
            let (outstanding, latencies) = (outstanding.clone(), latencies.clone());
            joins.push(tokio::spawn(async move {
                let permit = gate.acquire().await.unwrap();
                let resp = http
                    .post(format!("{base}/chat/start"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("origin", &base)
                    .body(form(&[("statement", "read"), ("who", "self")]))
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let cookie = resp
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find(|v| v.starts_with("rl_chat="))
                    .unwrap_or_else(|| panic!("no chat cookie (status {status})"))
                    .split(';')
                    .next()
                    .unwrap()
                    .to_string();
                drop(permit);
                // Read from the moment the socket opens, as a browser does: the server pings
                // every 20 s and closes a socket that has answered nothing for a minute, which
                // a slow setup (minutes on PostgreSQL) would otherwise trip for the first
                // sockets.
                let (tx, rx) = socket(&base, "/chat/ws", &cookie).await.split();
                reader(rx, outstanding, latencies);
                tx
            }));
        }
        for j in joins {
            seeker_tx.push(j.await.unwrap());
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        if rss_half == 0 {
            rss_half = rss_kib(a.pid);
        }
    }
    println!(
        "started {} chats and opened their sockets in {:.1} s",
        seeker_tx.len(),
        started.elapsed().as_secs_f64()
    );
    let rss_after = rss_kib(a.pid);
    let kib_per = |kib: u64, n: usize| kib as f64 / n.max(1) as f64;
    let per_conn = kib_per(rss_after.saturating_sub(rss_before), a.seekers);
    let per_more = kib_per(rss_after.saturating_sub(rss_half), a.seekers - half);
    println!(
        "server RSS {} MiB -> {} MiB with {} idle help-seeker sockets (and their chats): {:.1} KiB per connection on average",
        rss_before / 1024,
        rss_after / 1024,
        a.seekers,
        per_conn
    );
    println!(
        "  the second half alone ({} MiB -> {} MiB): {:.1} KiB per connection",
        rss_half / 1024,
        rss_after / 1024,
        per_more
    );
    println!("  before: {parts_before}; after: {}", rss_parts(a.pid));

    // Practitioners go available and take chats (oldest first), then open a socket each;
    // on the second instance when there is one.
    let staff_base = if a.base2.is_empty() {
        a.base.clone()
    } else {
        a.base2.clone()
    };
    let queue: Vec<i64> = store
        .chat_queue()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    // Sockets are in start order; chats too (ids ascend), so index i = queue[i].
    let mut pairs: Vec<(usize, Tx)> = Vec::new();
    let mut next = 0;
    for (cookie, csrf) in &staff_sessions {
        http.post(format!("{staff_base}/console/chats/availability"))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("csrf", csrf), ("available", "yes")]))
            .send()
            .await
            .unwrap();
        for _ in 0..a.per_practitioner {
            let Some(id) = queue.get(next) else { break };
            let resp = http
                .post(format!("{}/console/chats/{id}/take", staff_base))
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&[("csrf", csrf)]))
                .send()
                .await
                .unwrap();
            if resp.status() != 303 {
                // Say what the console said (its alert), then stop: the run is not comparable.
                let status = resp.status();
                // Only for the message: an unreadable body (or one with no alert) leaves the
                // status alone to say what happened, and the run stops either way. Nothing
                // here is an audit entry or a security write: this is the load tool's side.
                let body = resp.text().await.unwrap_or_default();
                let said = body
                    .split("role=\"alert\"")
                    .nth(1)
                    .map(|rest| rest.chars().take(400).collect::<String>())
                    .unwrap_or_default();
                panic!("take of chat {id} answered {status}: {said}");
            }
            let ws = socket(&staff_base, &format!("/console/chats/{id}/ws"), cookie).await;
            let (tx, rx) = ws.split();
            reader(rx, outstanding.clone(), latencies.clone());
            pairs.push((next, tx));
            next += 1;
        }
    }
    println!(
        "{} chats active, {} waiting",
        pairs.len(),
        a.seekers - pairs.len()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Baseline: a bare WebSocket round trip (ping/pong) on one of the same sockets.
    let base_lat = {
        let (cookie, _) = &staff_sessions[0];
        let id = queue[0];
        let mut ws = socket(&staff_base, &format!("/console/chats/{id}/ws"), cookie).await;
        let mut v = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            ws.send(Message::Ping(b"b".to_vec().into())).await.unwrap();
            while let Some(Ok(m)) = ws.next().await {
                if matches!(m, Message::Pong(_)) {
                    break;
                }
            }
            v.push(t.elapsed().as_secs_f64() * 1000.0);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        v.sort_by(|x, y| x.partial_cmp(y).unwrap());
        v
    };

    // The message rate: alternate sides, spread over the active chats.
    let total = a.rate * a.seconds;
    let interval = Duration::from_secs_f64(1.0 / a.rate as f64);
    let drive = Instant::now();
    let mut tick = tokio::time::interval_at(drive.into(), interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    // Sends refused because the socket had closed: help-seekers', practitioners'.
    let mut closed = [0u64; 2];
    for n in 0..total {
        tick.tick().await;
        let scheduled = drive + interval.mul_f64(n as f64);
        let k = (n as usize) % pairs.len();
        let id = format!("bench-{n}");
        let frame =
            format!("{{\"t\":\"send\",\"cid\":\"c{n}\",\"text\":\"load test message {id}\"}}");
        outstanding.lock().unwrap().insert(id, scheduled);
        // Even rounds from the help-seeker, odd from the practitioner.
        let from_seeker = (n as usize / pairs.len()).is_multiple_of(2);
        // A socket the server has closed is counted, not fatal: its messages stay
        // outstanding, so they show as not delivered.
        let sent = if from_seeker {
            let i = pairs[k].0;
            seeker_tx[i].send(Message::Text(frame.into())).await
        } else {
            pairs[k].1.send(Message::Text(frame.into())).await
        };
        if sent.is_err() {
            closed[usize::from(!from_seeker)] += 1;
        }
    }
    let drove = drive.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let timed = latencies.lock().unwrap().clone();
    // The slowest delivery of each second of the run: shows whether slow ones cluster.
    // And how many of each second's messages took over the goal's 20 ms: whether the p99
    // comes from a few bad seconds or from every second.
    let mut worst: Vec<f64> = vec![0.0; a.seconds as usize + 1];
    let mut over: Vec<usize> = vec![0; a.seconds as usize + 1];
    for (sent, ms) in &timed {
        let s = (sent.duration_since(drive).as_secs() as usize).min(a.seconds as usize);
        worst[s] = worst[s].max(*ms);
        over[s] += usize::from(*ms > 20.0);
    }
    let joined = |v: Vec<String>| v.join(" ");
    println!(
        "slowest delivery per second (ms): {}",
        joined(worst.iter().map(|w| format!("{w:.0}")).collect())
    );
    println!(
        "deliveries over 20 ms per second: {}",
        joined(over.iter().map(|n| n.to_string()).collect())
    );
    let mut lat: Vec<f64> = timed.iter().map(|(_, ms)| *ms).collect();
    lat.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let lost = outstanding.lock().unwrap().len();
    let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    let (b50, b99) = (percentile(&base_lat, 0.5), percentile(&base_lat, 0.99));
    println!(
        "sent {total} messages in {drove:.1} s ({:.0}/s); delivered {} ({lost} not delivered)",
        total as f64 / drove,
        lat.len()
    );
    if closed != [0, 0] {
        println!(
            "sends on a socket the server had closed: {} help-seekers', {} practitioners' (counted as not delivered)",
            closed[0], closed[1]
        );
    }
    println!("delivery latency from the scheduled send time: p50 {p50:.2} ms, p99 {p99:.2} ms (goal: p99 < 20 ms)");
    println!("baseline WebSocket round trip p50 {b50:.2} ms, p99 {b99:.2} ms");
    println!(
        "ratio delivery/baseline: p50 {:.1}x, p99 {:.1}x",
        p50 / b50,
        p99 / b99
    );
    println!(
        "memory per idle connection {per_more:.1} KiB for each one more (goal: < 16 KiB); {per_conn:.1} KiB on average with what the first ones filled"
    );
}
