//! `reachline doctor`: checks a deployment and says what to fix, one line per check.
//!
//! Read-only: it opens the database without applying migrations and changes nothing. Each
//! check is `ok`, `warn` (works, but look at it) or `fail` (fix before running a service
//! people rely on); the command exits 1 if any check fails.

use reachline_core::clock::SharedClock;
use reachline_core::config::Config;
use reachline_core::keys::MasterKey;
use reachline_store::Store;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

/// How far in the future (seconds) the newest stored timestamp may be before the clock is
/// called wrong.
pub const CLOCK_SLACK_SECONDS: i64 = 300;
/// Housekeeping runs every ten seconds while the service runs.
const HEARTBEAT_FRESH_SECONDS: i64 = 120;
const HEARTBEAT_STALE_SECONDS: i64 = 86_400;
/// A backup older than this (8 days: a weekly backup that ran late still passes) is flagged.
const BACKUP_STALE_SECONDS: i64 = 8 * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Check {
    pub level: Level,
    pub name: &'static str,
    pub message: String,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<5} {:<15} {}",
            self.level.as_str(),
            self.name,
            self.message
        )
    }
}

fn check(level: Level, name: &'static str, message: impl Into<String>) -> Check {
    Check {
        level,
        name,
        message: message.into(),
    }
}

/// True if no check failed.
pub fn passed(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.level != Level::Fail)
}

/// The user this process runs as (the owner of `/proc/self`), where the system says.
#[cfg(unix)]
fn running_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Mode bits and owner of a path.
#[cfg(unix)]
fn mode_and_owner(path: &Path) -> std::io::Result<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path)?;
    Ok((m.mode() & 0o7777, m.uid()))
}

#[cfg(not(unix))]
fn running_uid() -> Option<u32> {
    None
}

#[cfg(not(unix))]
fn mode_and_owner(path: &Path) -> std::io::Result<(u32, u32)> {
    std::fs::metadata(path).map(|_| (0o600, 0))
}

fn owner_problem(path: &Path, owner: u32) -> Option<String> {
    let me = running_uid()?;
    (owner != me).then(|| {
        format!(
            "{} is owned by uid {owner} but this runs as uid {me}: run doctor as the service's user, or `chown` it to that user",
            path.display()
        )
    })
}

fn key_file(config: &Config) -> Check {
    let path = config.master_key_path();
    let (mode, owner) = match mode_and_owner(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return check(
                Level::Fail,
                "key file",
                format!(
                    "no master key at {}: start the service once (it creates one) or restore with `reachline restore --master-key`",
                    path.display()
                ),
            )
        }
        Err(e) => {
            return check(
                Level::Fail,
                "key file",
                format!("cannot read {}: {e}", path.display()),
            )
        }
    };
    if mode & 0o077 != 0 {
        return check(
            Level::Fail,
            "key file",
            format!(
                "{} has mode {mode:04o}: other users may read it; run `chmod 600 {}`",
                path.display(),
                path.display()
            ),
        );
    }
    if let Some(problem) = owner_problem(&path, owner) {
        return check(Level::Fail, "key file", problem);
    }
    for leftover in ["new", "old"] {
        let p = crate::keys::beside(&path, leftover);
        if p.exists() {
            return check(
                Level::Warn,
                "key file",
                format!(
                    "{} exists: a key rotation was interrupted; run `reachline keys rotate` to finish or undo it",
                    p.display()
                ),
            );
        }
    }
    check(
        Level::Ok,
        "key file",
        format!("{} is {mode:04o} and owned by this user", path.display()),
    )
}

fn data_dir(config: &Config) -> Check {
    let dir = config.data_dir();
    let (mode, owner) = match mode_and_owner(&dir) {
        Ok(m) => m,
        Err(e) => {
            return check(
                Level::Fail,
                "data directory",
                format!(
                    "cannot read {}: {e}; start the service once to create it",
                    dir.display()
                ),
            )
        }
    };
    if let Some(problem) = owner_problem(&dir, owner) {
        return check(Level::Fail, "data directory", problem);
    }
    if mode & 0o077 != 0 {
        return check(
            Level::Fail,
            "data directory",
            format!(
                "{} has mode {mode:04o}: run `chmod 700 {}` (systemd: StateDirectoryMode=0700)",
                dir.display(),
                dir.display()
            ),
        );
    }
    check(
        Level::Ok,
        "data directory",
        format!("{} is {mode:04o} and owned by this user", dir.display()),
    )
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// `scheme://host[:port]/…` -> (scheme, host).
fn scheme_and_host(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if authority.starts_with('[') {
        authority
            .split_once(']')
            .map(|(h, _)| format!("{h}]"))
            .unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or("").to_string()
    };
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

fn transport(config: &Config) -> Vec<Check> {
    let s = &config.server;
    let mut out = Vec::new();
    let listen: Option<SocketAddr> = s.listen.parse().ok();
    let listen_loopback = listen.is_some_and(|a| a.ip().is_loopback());
    let url = s.public_url.trim();
    let parsed = scheme_and_host(url);
    let onion = parsed.as_ref().is_some_and(|(_, h)| h.ends_with(".onion"));
    let https = parsed.as_ref().is_some_and(|(sch, _)| sch == "https");
    out.push(match &parsed {
        _ if url.is_empty() && listen_loopback => check(
            Level::Warn,
            "https",
            format!(
                "server.public_url is not set: fine for a trial on {}; for a real service put a TLS proxy in front (deploy/nginx) and set server.public_url = \"https://…\"",
                s.listen
            ),
        ),
        _ if url.is_empty() => check(
            Level::Fail,
            "https",
            format!(
                "the service listens on {} without server.public_url: Reachline does not terminate TLS; put a TLS proxy in front (deploy/nginx), listen on 127.0.0.1 and set server.public_url = \"https://…\"",
                s.listen
            ),
        ),
        Some(_) if https => check(
            Level::Ok,
            "https",
            format!("public address {url}"),
        ),
        Some(_) if onion => check(
            Level::Ok,
            "https",
            format!("public address {url} is an onion service (Tor encrypts it end to end)"),
        ),
        Some((_, host)) if is_loopback_host(host) => check(
            Level::Warn,
            "https",
            format!("public address {url} is this machine only; use https:// for a real service"),
        ),
        _ => check(
            Level::Fail,
            "https",
            format!(
                "server.public_url = {url:?} is not https: staff would sign in and help-seekers write over plain HTTP; serve it through a TLS proxy and set https://…"
            ),
        ),
    });
    out.push(if s.trust_forwarded_proto {
        check(
            Level::Ok,
            "secure cookies",
            "cookies are marked Secure when the proxy sends X-Forwarded-Proto: https (server.trust_forwarded_proto)",
        )
    } else if https {
        check(
            Level::Fail,
            "secure cookies",
            "server.public_url is https but server.trust_forwarded_proto is false, so cookies are never marked Secure: set it to true and have the proxy send X-Forwarded-Proto (deploy/nginx does)",
        )
    } else if onion {
        check(
            Level::Ok,
            "secure cookies",
            "an onion service: cookies are not marked Secure (no TLS), Tor protects them",
        )
    } else {
        check(
            Level::Warn,
            "secure cookies",
            "cookies are not marked Secure without TLS: behind a TLS proxy set server.trust_forwarded_proto = true",
        )
    });
    out.push(match listen {
        None => check(
            Level::Warn,
            "listen",
            format!("server.listen = {:?} is not an address and port", s.listen),
        ),
        Some(a) if a.ip().is_loopback() => check(
            Level::Ok,
            "listen",
            format!("{a}: only this machine (its proxy) can reach the service directly"),
        ),
        Some(a) if s.trust_forwarded_proto => check(
            Level::Warn,
            "listen",
            format!(
                "{a} is reachable from other machines and X-Forwarded-Proto is trusted: anyone who reaches it can claim https; listen on 127.0.0.1 or firewall it to the proxy only"
            ),
        ),
        Some(a) => check(
            Level::Warn,
            "listen",
            format!("{a} is reachable from other machines over plain HTTP; listen on 127.0.0.1 behind a TLS proxy"),
        ),
    });
    out
}

fn private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

fn metrics(config: &Config) -> Check {
    let listen = config.metrics.listen.trim();
    if listen.is_empty() {
        return check(
            Level::Ok,
            "metrics",
            "no metrics listener (metrics.listen is empty)",
        );
    }
    match listen.parse::<SocketAddr>() {
        Ok(a) if a.ip().is_loopback() => check(
            Level::Ok,
            "metrics",
            format!("/metrics on {a}: this machine only"),
        ),
        Ok(a) if private_ip(a.ip()) => check(
            Level::Warn,
            "metrics",
            format!("/metrics on {a}, an internal address: keep it behind the firewall"),
        ),
        Ok(a) => check(
            Level::Fail,
            "metrics",
            format!(
                "/metrics on {a} is reachable from anywhere: set metrics.listen to 127.0.0.1:PORT or an internal address"
            ),
        ),
        Err(_) => check(
            Level::Warn,
            "metrics",
            format!("metrics.listen = {listen:?} is not an address and port"),
        ),
    }
}

fn ago(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3_600),
        s => format!("{} days", s / 86_400),
    }
}

async fn database(config: &Config, now: i64, out: &mut Vec<Check>) {
    let store = match crate::open_existing(config).await {
        Ok(s) => s,
        Err(e) => {
            out.push(check(Level::Fail, "database", e));
            return;
        }
    };
    on_store(config, &store, now, out).await;
    store.close().await;
}

/// The checks made through the database: that it answers, its migrations, that the master
/// key opens every data key, the clock, and when housekeeping and the last backup ran. The
/// running service's administrators see these on their console home.
pub async fn on_store(config: &Config, store: &Store, now: i64, out: &mut Vec<Check>) {
    if !store.ping().await {
        out.push(check(
            Level::Fail,
            "database",
            "the database does not answer",
        ));
        return;
    }
    let backend = match store.backend() {
        reachline_store::Backend::Sqlite => "SQLite",
        reachline_store::Backend::Postgres => "PostgreSQL",
    };
    out.push(check(Level::Ok, "database", format!("{backend} answers")));
    match store.pending_migrations().await {
        Ok(p) if p.is_empty() => out.push(check(
            Level::Ok,
            "migrations",
            format!(
                "current (schema version {})",
                reachline_store::latest_migration()
            ),
        )),
        Ok(p) => out.push(check(
            Level::Warn,
            "migrations",
            format!(
                "{p:?} not applied yet: the service applies them when it starts (take a backup first); a running service is an older release"
            ),
        )),
        Err(e) => {
            out.push(check(
                Level::Fail,
                "migrations",
                format!("cannot read the migration history ({e}): start the service once"),
            ));
            return;
        }
    }
    let key_path = config.master_key_path();
    match (MasterKey::load(&key_path), store.keyring_all().await) {
        (Ok(master), Ok(rows)) => {
            let bad: Vec<String> = rows
                .iter()
                .filter(|r| {
                    master
                        .unwrap_key(&r.purpose, r.version, &r.wrapped)
                        .is_err()
                })
                .map(|r| format!("{} v{}", r.purpose, r.version))
                .collect();
            out.push(if bad.is_empty() {
                check(
                    Level::Ok,
                    "keyring",
                    format!("the master key opens all {} data keys", rows.len()),
                )
            } else {
                check(
                    Level::Fail,
                    "keyring",
                    format!(
                        "the master key does not open {}: wrong key file for this database? (an interrupted `keys rotate` is finished by running it again)",
                        bad.join(", ")
                    ),
                )
            });
        }
        // Also said by the key-file check when `doctor` runs; the console home has only this.
        (Err(e), _) => out.push(check(
            Level::Fail,
            "keyring",
            format!("the master key could not be loaded ({e}): no data key can be opened"),
        )),
        (_, Err(e)) => out.push(check(Level::Fail, "keyring", e.to_string())),
    }
    match store.newest_timestamp().await {
        Ok(Some(t)) if t > now + CLOCK_SLACK_SECONDS => out.push(check(
            Level::Fail,
            "clock",
            format!(
                "the database holds times {} ahead of this machine's clock: is the clock right (NTP)? Retention, sessions and sign-in codes depend on it",
                ago(t - now)
            ),
        )),
        Ok(_) => out.push(check(
            Level::Ok,
            "clock",
            format!(
                "{}; nothing stored lies in the future",
                crate::time::utc_minute(now)
            ),
        )),
        Err(e) => out.push(check(Level::Warn, "clock", e.to_string())),
    }
    match store.heartbeat_get("housekeeping").await {
        Ok(None) => out.push(check(
            Level::Warn,
            "retention job",
            "housekeeping has never run: start the service (it deletes content past retention every ten seconds)",
        )),
        Ok(Some(t)) => {
            let age = now - t;
            out.push(if age <= HEARTBEAT_FRESH_SECONDS {
                check(
                    Level::Ok,
                    "retention job",
                    format!("housekeeping ran {} ago", ago(age.max(0))),
                )
            } else if age <= HEARTBEAT_STALE_SECONDS {
                check(
                    Level::Warn,
                    "retention job",
                    format!(
                        "housekeeping last ran {} ago: is the service running?",
                        ago(age)
                    ),
                )
            } else {
                check(
                    Level::Fail,
                    "retention job",
                    format!(
                        "housekeeping last ran {} ago: content past retention is deleted only while the service runs; start it",
                        ago(age)
                    ),
                )
            });
        }
        Err(e) => out.push(check(Level::Warn, "retention job", e.to_string())),
    }
    match store.heartbeat_get(crate::backup::HEARTBEAT).await {
        Ok(None) => out.push(check(
            Level::Warn,
            "backup",
            "no backup has been taken of this database: run `reachline backup` (see the README)",
        )),
        Ok(Some(t)) if now - t > BACKUP_STALE_SECONDS => out.push(check(
            Level::Warn,
            "backup",
            format!("the last backup was taken {} ago", ago(now - t)),
        )),
        Ok(Some(t)) => out.push(check(
            Level::Ok,
            "backup",
            format!("the last backup was taken {} ago", ago((now - t).max(0))),
        )),
        Err(e) => out.push(check(Level::Warn, "backup", e.to_string())),
    }
}

/// Runs every check. Changes nothing.
pub async fn run(config: &Config, clock: SharedClock) -> Vec<Check> {
    let now = clock.now_unix();
    let mut out = vec![key_file(config), data_dir(config)];
    database(config, now, &mut out).await;
    out.extend(transport(config));
    out.push(metrics(config));
    out
}
