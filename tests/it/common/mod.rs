//! The test kit: boots a real Reachline server on a free port, in-process (for tests that
//! need the state or an injected clock) or as the real binary (for tests of the process:
//! logs, signals, files on disk). The store is SQLite, or PostgreSQL in a fresh schema
//! when `REACHLINE_TEST_POSTGRES_URL` is set.

#![allow(dead_code)]

pub mod mmdb;

use reachline_core::clock::{Clock, ManualClock, SharedClock};
use reachline_core::config::Config;
use reachline_store::Store;
use reachline_web::{AppState, Shared};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use tokio::sync::oneshot;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub fn postgres_url() -> Option<String> {
    std::env::var("REACHLINE_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// 2026-03-02T10:00:00Z: a fixed start for injected clocks.
pub const T0: i64 = 1_772_445_600;

pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub state: Shared,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    schema: Option<String>,
}

pub struct Options {
    pub tweak: Box<dyn FnOnce(&mut Config) + Send>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tweak: Box::new(|_| {}),
        }
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_inner(tweak, None).await
    }

    /// A second instance on this one's database and master key (PostgreSQL: the same
    /// schema), as an operator runs several behind a load balancer.
    pub async fn start_beside(&self) -> TestServer {
        let url = self.state.config.storage.database_url.clone();
        let key = self.state.config.master_key_path();
        Self::start_inner(|_| {}, Some((url, key))).await
    }

    async fn start_inner(
        tweak: impl FnOnce(&mut Config),
        share: Option<(String, PathBuf)>,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.storage.data_dir = dir.path().join("data").display().to_string();
        config.site.pseudo_locales = true;
        config.site.quick_exit_url = "https://www.example.org/weather".into();
        config.server.shutdown_grace_seconds = 2;
        tweak(&mut config);
        let clock = Arc::new(ManualClock::new(T0));
        let shared: SharedClock = Arc::new(clock.clone());
        // On the PostgreSQL pass every test gets its own schema, named in the database URL
        // so that the server and the operator commands (`ops`) all use it.
        let schema = match (postgres_url(), share) {
            (_, Some((url, key))) => {
                config.storage.database_url = url;
                config.storage.master_key_file = key.display().to_string();
                None
            }
            (Some(url), None) => {
                let schema = reachline_store::random_schema_name("t");
                Store::open_postgres_in_schema(&url, &schema)
                    .await
                    .expect("postgres")
                    .close()
                    .await;
                config.storage.database_url = schema_url(&url, &schema);
                Some(schema)
            }
            (None, None) => None,
        };
        let state = AppState::open(config, shared).await.expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(reachline_web::serve(state.clone(), listener, async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            base: format!("http://{addr}"),
            state,
            clock,
            dir,
            shutdown: Some(tx),
            task: Some(task),
            schema,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// A client that keeps cookies and follows redirects.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client")
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let (Some(url), Some(schema)) = (postgres_url(), self.schema.take()) {
            let _ = Store::drop_postgres_schema(&url, &schema).await;
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// Stops the server and starts it again on the same configuration and data (and, on
    /// PostgreSQL, the same schema), as an operator restarts the service.
    pub async fn restart(mut self) -> TestServer {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let config = self.state.config.clone();
        let shared: SharedClock = Arc::new(self.clock.clone());
        let state = AppState::open(config, shared).await.expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(reachline_web::serve(state.clone(), listener, async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            base: format!("http://{addr}"),
            state,
            clock: self.clock,
            dir: self.dir,
            shutdown: Some(tx),
            task: Some(task),
            schema: self.schema.take(),
        }
    }
}

/// The real `reachline` binary, serving a fresh data directory on a free port, with its
/// log (stderr) captured to a file.
pub struct BinaryServer {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    pub dir: tempfile::TempDir,
}

impl BinaryServer {
    pub fn start(extra_env: &[(&str, &str)]) -> BinaryServer {
        Self::start_in(tempfile::tempdir().expect("temp dir"), extra_env)
    }

    /// Starts the binary again on this one's data (after it was stopped or killed).
    pub fn restart(mut self, extra_env: &[(&str, &str)]) -> BinaryServer {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        Self::start_in(dir, extra_env)
    }

    pub fn start_in(dir: tempfile::TempDir, extra_env: &[(&str, &str)]) -> BinaryServer {
        let data_dir = dir.path().join("data");
        let log = dir.path().join("server.log");
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_reachline"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env_remove("REACHLINE_DATABASE_URL")
            .env_remove("REACHLINE_CONFIG")
            .env_remove("MALLOC_ARENA_MAX")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn reachline");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
        assert!(
            first.contains("listening on http://127.0.0.1:"),
            "server did not start: {first:?}; log: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        BinaryServer {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
            log,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().expect("wait")
    }
}

impl Drop for BinaryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL URL whose connections use one schema.
pub fn schema_url(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options[search_path]={schema}")
}

/// A test's tool is missing. In CI that fails the test; elsewhere too, unless
/// `REACHLINE_TEST_SKIP_MISSING=1` says to skip (then it says SKIPPED and returns).
pub fn missing_tool(what: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    let allowed = std::env::var("REACHLINE_TEST_SKIP_MISSING").is_ok_and(|v| v == "1");
    if allowed && !ci {
        eprintln!("SKIPPED: {what} not found (REACHLINE_TEST_SKIP_MISSING=1)");
        return;
    }
    panic!(
        "{what} not found: this test needs it (.ci/run installs it). Outside CI, \
         REACHLINE_TEST_SKIP_MISSING=1 skips the test instead."
    );
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Every `href`, `src` and `action` attribute value in a page.
pub fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\"", "action=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
    }
    out
}

/// The value of an `<input>`/`<code>`-free bit of text between two markers.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = html.find(start)? + start.len();
    let j = html[i..].find(end)? + i;
    Some(&html[i..j])
}

/// The return code a page shows once (its groups may carry `<wbr>` break points).
pub fn return_code(html: &str) -> Option<String> {
    between(html, "<code>", "</code>").map(|c| c.replace("<wbr>", ""))
}

/// Every file under a directory.
pub fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A form body, percent-encoded as a browser sends it.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Posts a form as a browser does.
pub async fn post_form(
    c: &reqwest::Client,
    url: String,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    c.post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
        .expect("request")
}
