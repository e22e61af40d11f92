//! The deployment recipes in `deploy/`, run for real: nginx (Debian's package) with the
//! shipped configuration in front of `reachline serve` on loopback, checked through TLS with
//! `openssl s_client`; the systemd unit checked by `systemd-analyze verify`. A missing tool
//! fails the test (`.ci/run` installs them); outside CI, `REACHLINE_TEST_SKIP_MISSING=1`
//! lets it skip instead, saying so.

use crate::common::{free_port, walk_files, BinaryServer, TestResult};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SPOOFED_IP: &str = "203.0.113.77";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tool(name: &str) -> Option<PathBuf> {
    [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ]
    .iter()
    .map(|d| Path::new(d).join(name))
    .find(|p| p.exists())
}

/// Replaces `from` with `to`, insisting that `from` is there (so the shipped file and this
/// test cannot drift apart unnoticed).
fn subst(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the shipped file no longer contains {from:?}"
    );
    text.replace(from, to)
}

/// Sends `request` through TLS (`openssl s_client`) and collects what comes back until the
/// server closes or `done` says enough (then the connection is dropped).
fn through_tls(port: u16, request: &[u8], done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-servername", "localhost", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_client");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(request).expect("write request");
    stdin.flush().expect("flush");
    let mut stdout = child.stdout.take().expect("stdout");
    let buf = Arc::new(Mutex::new(Vec::new()));
    let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (buf, closed) = (buf.clone(), closed.clone());
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = stdout.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
            closed.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline
        && !closed.load(std::sync::atomic::Ordering::SeqCst)
        && !done(&buf.lock().unwrap())
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    let out = buf.lock().unwrap().clone();
    out
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn parse(raw: &[u8]) -> Response {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8_lossy(&raw[..end]).to_string();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Response {
            status,
            headers,
            body: raw[end + 4..].to_vec(),
        }
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.as_str())
            .find(|v| v.starts_with(&format!("{name}=")))
    }
}

fn get(port: u16, path: &str, extra: &str) -> Response {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n"
    );
    Response::parse(&through_tls(port, req.as_bytes(), |_| false))
}

struct Nginx {
    child: Child,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("nothing listens on {port}");
}

#[tokio::test]
async fn nginx_with_the_shipped_config_serves_tls_secure_cookies_and_websockets_and_logs_no_address(
) -> TestResult {
    let (Some(nginx), Some(openssl)) = (tool("nginx"), tool("openssl")) else {
        crate::common::missing_tool(
            "nginx and openssl (Debian: apt-get install nginx-light openssl)",
        );
        return Ok(());
    };
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::create_dir(dir.join("logs"))?;

    // A self-signed certificate for the loopback address.
    let o = Command::new(&openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()?;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // The service, as the recipe configures it: loopback, trusting X-Forwarded-Proto only.
    let mut service = BinaryServer::start(&[
        ("REACHLINE_SERVER_TRUST_FORWARDED_PROTO", "true"),
        ("REACHLINE_HELPLINE_OPENING_HOURS", "mon-sun 00:00-24:00"),
        ("REACHLINE_LOG_FILTER", "trace"),
    ]);
    let service_port: u16 = service.base.rsplit(':').next().unwrap().parse()?;
    let (tls, http, onion) = (free_port(), free_port(), free_port());

    // The shipped files, with ports and paths substituted.
    let snippet = std::fs::read_to_string(repo().join("deploy/nginx/reachline-proxy.conf"))?;
    let snippet = subst(
        &snippet,
        "proxy_pass http://127.0.0.1:8080;",
        &format!("proxy_pass http://127.0.0.1:{service_port};"),
    );
    std::fs::write(dir.join("reachline-proxy.conf"), snippet)?;
    let mut site = std::fs::read_to_string(repo().join("deploy/nginx/reachline.conf"))?;
    let d = dir.display();
    for (from, to) in [
        (
            "listen 443 ssl http2;",
            format!("listen 127.0.0.1:{tls} ssl http2;"),
        ),
        ("listen [::]:443 ssl http2;", String::new()),
        ("listen 80;", format!("listen 127.0.0.1:{http};")),
        ("listen [::]:80;", String::new()),
        (
            "listen 127.0.0.1:8081;",
            format!("listen 127.0.0.1:{onion};"),
        ),
        (
            "/etc/letsencrypt/live/help.example.org/fullchain.pem",
            format!("{d}/cert.pem"),
        ),
        (
            "/etc/letsencrypt/live/help.example.org/privkey.pem",
            format!("{d}/key.pem"),
        ),
        (
            "/etc/nginx/snippets/reachline-proxy.conf",
            format!("{d}/reachline-proxy.conf"),
        ),
        (
            "/var/log/nginx/reachline.error.log",
            format!("{d}/logs/reachline.error.log"),
        ),
    ] {
        site = subst(&site, from, &to);
    }
    std::fs::write(dir.join("reachline.conf"), site)?;
    // The rest of an nginx.conf, as Debian's: logging on at the http level (the site must turn
    // it off), temporary files in the temp dir, one process as the current user.
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "master_process off;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log error;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log {d}/logs/access.log;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  \
             scgi_temp_path {d}/scgi;\n  include {d}/reachline.conf;\n}}\n"
        ),
    )?;
    let args = |c: &mut Command| {
        c.arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("logs/startup.log"));
    };
    let mut test = Command::new(&nginx);
    args(&mut test);
    let o = test.arg("-t").output()?;
    assert!(
        o.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut cmd = Command::new(&nginx);
    args(&mut cmd);
    let _nginx = Nginx {
        child: cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?,
    };
    wait_for_port(tls);
    wait_for_port(onion);

    let (tls_c, spoof) = (
        tls,
        format!("X-Forwarded-For: {SPOOFED_IP}\r\nX-Real-IP: {SPOOFED_IP}\r\nForwarded: for={SPOOFED_IP}\r\nX-Forwarded-Proto: http\r\n"),
    );
    let (home, chat_page, started, upgrade) = tokio::task::spawn_blocking(move || {
        // Security headers, and cookies marked Secure because nginx says https (whatever
        // the client claimed).
        let home = get(tls_c, "/", &spoof);
        let chat_page = get(tls_c, "/chat", "");
        let body = "statement=read&who=self&age=adult&area=E23000015";
        // The spoofed address rides on a request that writes rows (a chat, a first visit).
        let req = format!(
            "POST /chat/start HTTP/1.1\r\nHost: 127.0.0.1:{tls_c}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             {spoof}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let started = Response::parse(&through_tls(tls_c, req.as_bytes(), |_| false));
        let cookie = started
            .cookie("rl_chat")
            .and_then(|c| c.split(';').next())
            .unwrap_or_default()
            .to_string();
        // The WebSocket handshake through nginx, then the service's first frame.
        let req = format!(
            "GET /chat/ws HTTP/1.1\r\nHost: 127.0.0.1:{tls_c}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Origin: https://127.0.0.1:{tls_c}\r\nCookie: {cookie}\r\n\r\n"
        );
        let raw = through_tls(tls_c, req.as_bytes(), |b| {
            b.windows(4)
                .position(|w| w == b"\r\n\r\n")
                .is_some_and(|i| {
                    let f = &b[i + 4..];
                    match f.get(1) {
                        Some(126) => {
                            f.len() >= 4 && f.len() >= 4 + u16::from_be_bytes([f[2], f[3]]) as usize
                        }
                        Some(n) => f.len() >= 2 + *n as usize,
                        None => false,
                    }
                })
        });
        (home, chat_page, started, Response::parse(&raw))
    })
    .await?;

    assert_eq!(home.status, 200);
    for (name, want) in [
        ("content-security-policy", "default-src 'self'"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("strict-transport-security", "max-age="),
        ("cache-control", "no-store"),
    ] {
        let v = home.header(name).unwrap_or_default();
        assert!(v.contains(want), "{name}: {v:?}");
    }
    assert!(
        home.header("server").is_some_and(|v| !v.contains('/')),
        "nginx version shown"
    );
    let year = home.cookie("rl_year").expect("year cookie");
    assert!(year.contains("; Secure"), "{year}");
    assert_eq!(chat_page.status, 200);
    assert!(String::from_utf8_lossy(&chat_page.body).contains("action=\"/chat/start\""));
    assert_eq!(started.status, 303);
    let chat_cookie = started.cookie("rl_chat").expect("chat cookie");
    assert!(chat_cookie.contains("; Secure"), "{chat_cookie}");
    assert_eq!(upgrade.status, 101);
    assert_eq!(
        upgrade.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    let frame = &upgrade.body;
    assert_eq!(frame[0], 0x81, "not a text frame: {frame:?}");
    let (start, len) = match frame[1] {
        126 => (4, u16::from_be_bytes([frame[2], frame[3]]) as usize),
        n => (2, n as usize),
    };
    let payload: serde_json::Value = serde_json::from_slice(&frame[start..start + len])
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(frame)));
    assert_eq!(payload["t"], "status", "{payload}");

    // The onion block: plain HTTP on loopback, no Secure cookies.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", onion))?;
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: abc.onion\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n",
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let onion_home = Response::parse(&raw);
    assert_eq!(onion_home.status, 200);
    let year = onion_home.cookie("rl_year").expect("year cookie");
    assert!(!year.contains("Secure"), "{year}");

    // Plain HTTP redirects to https.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", http))?;
    s.write_all(b"GET /modules HTTP/1.1\r\nHost: help.example.org\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let redirect = Response::parse(&raw);
    assert_eq!(redirect.status, 301);
    assert_eq!(
        redirect.header("location"),
        Some("https://help.example.org/modules")
    );

    // nginx wrote no client address anywhere; the service did not see the spoofed one.
    drop(_nginx);
    service.terminate();
    let files = walk_files(&dir.join("logs"));
    assert!(files.iter().any(|f| f.ends_with("access.log")));
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        assert!(
            !text.contains("127.0.0.1"),
            "{} holds an address:\n{text}",
            f.display()
        );
        assert!(
            !text.contains(SPOOFED_IP),
            "{} holds an address:\n{text}",
            f.display()
        );
        if f.ends_with("access.log") {
            assert!(text.is_empty(), "access log written:\n{text}");
        }
    }
    let log = std::fs::read_to_string(&service.log)?;
    assert!(
        !log.contains(SPOOFED_IP),
        "the service saw a client address"
    );
    // Nor did it store one: the database, its WAL and every other file in the data directory.
    let stored = walk_files(&service.data_dir);
    assert!(!stored.is_empty(), "the data directory is empty");
    for f in stored {
        let bytes = std::fs::read(&f)?;
        assert!(
            !bytes
                .windows(SPOOFED_IP.len())
                .any(|w| w == SPOOFED_IP.as_bytes()),
            "{} holds a client address",
            f.display()
        );
    }
    Ok(())
}

#[test]
fn the_systemd_unit_is_hardened_and_verifies() -> TestResult {
    let unit = std::fs::read_to_string(repo().join("deploy/systemd/reachline.service"))?;
    for want in [
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes",
        "\nCapabilityBoundingSet=\n",
        "StateDirectory=reachline",
        "StateDirectoryMode=0700",
        "UMask=0077",
    ] {
        assert!(unit.contains(want), "the unit lacks {want:?}");
    }
    let Some(analyze) = tool("systemd-analyze") else {
        crate::common::missing_tool("systemd-analyze (Debian: apt-get install systemd)");
        return Ok(());
    };
    let tmp = tempfile::tempdir()?;
    let path = tmp.path().join("reachline.service");
    std::fs::write(
        &path,
        subst(
            &unit,
            "/usr/local/bin/reachline",
            env!("CARGO_BIN_EXE_reachline"),
        ),
    )?;
    let o = Command::new(analyze).arg("verify").arg(&path).output()?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
    Ok(())
}
