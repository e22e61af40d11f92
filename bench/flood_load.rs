//! Flood load: how real users fare while strangers flood the service. Run by
//! `bench/flood.sh`, which starts the release server on SQLite with the helpline open.
//!
//! Four kinds of legitimate journey run at a steady rate, each in a fresh client (a new
//! browser: no cookies, a new connection): a help-seeker resumes self-help with their own
//! return code; a new help-seeker starts a chat and is told their place in the queue; a
//! staff member signs in with the right password and a current TOTP code; a help-seeker asks
//! for a callback. They run three times: alone (baseline), while attackers flood the server
//! (wrong return codes, chats started and never opened, wrong sign-ins against real and
//! made-up usernames, callback requests, slow-header connections), and alone again after a
//! cooldown. The report compares each phase with the baseline of the same run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reachline_core::clock::SystemClock;
use reachline_core::config::{Config, Overrides};
use reachline_core::return_code::ReturnCode;
use reachline_core::staff::totp;
use reachline_store::Store;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

/// The staff password (passes the password policy; the accounts exist only for the run).
const PASSWORD: &str = "violet kettle harbour 71";
/// A legitimate journey gives up after this long (counted as a failure: "timeout").
const JOURNEY_TIMEOUT: Duration = Duration::from_secs(30);
/// A legitimate chat's queue place may exceed the legitimate chats open by this much (the
/// page's snapshot of the queue may be a moment old).
const PLACE_SLACK: i64 = 2;

struct Args {
    base: String,
    data_dir: String,
    pid: u32,
    seconds: u64,
    after_seconds: u64,
    rate_ms: u64,
    signin_ms: u64,
    attackers: usize,
    slow: usize,
    cooldown: u64,
    staff: usize,
    workbooks: usize,
    clk_tck: f64,
}

fn args() -> Args {
    let mut a = Args {
        base: String::new(),
        data_dir: String::new(),
        pid: 0,
        seconds: 15,
        after_seconds: 15,
        rate_ms: 200,
        signin_ms: 1000,
        attackers: 64,
        slow: 500,
        cooldown: 75,
        staff: 40,
        workbooks: 20,
        clk_tck: 100.0,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    for pair in v.chunks(2) {
        let k = pair[0].as_str();
        let val = pair
            .get(1)
            .cloned()
            .unwrap_or_else(|| panic!("{k} needs a value"));
        match k {
            "--base" => a.base = val,
            "--data-dir" => a.data_dir = val,
            "--pid" => a.pid = val.parse().unwrap(),
            "--seconds" => a.seconds = val.parse().unwrap(),
            "--after-seconds" => a.after_seconds = val.parse().unwrap(),
            "--rate-ms" => a.rate_ms = val.parse().unwrap(),
            "--signin-ms" => a.signin_ms = val.parse().unwrap(),
            "--attackers" => a.attackers = val.parse().unwrap(),
            "--slow" => a.slow = val.parse().unwrap(),
            "--cooldown" => a.cooldown = val.parse().unwrap(),
            "--staff" => a.staff = val.parse().unwrap(),
            "--workbooks" => a.workbooks = val.parse().unwrap(),
            "--clk-tck" => a.clk_tck = val.parse().unwrap(),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        !a.base.is_empty() && !a.data_dir.is_empty() && a.pid != 0,
        "--base, --data-dir and --pid are required"
    );
    assert!(a.rate_ms > 0 && a.signin_ms > 0 && a.seconds > 0 && a.workbooks > 0);
    // Each account's TOTP code can be used once per 30 s step.
    let per_step = 30_000 / a.signin_ms + 2;
    assert!(
        a.staff as u64 >= per_step,
        "--staff {} is too few for a sign-in every {} ms (each account signs in at most once \
         per 30 s): at least {per_step}",
        a.staff,
        a.signin_ms
    );
    a
}

fn log(msg: &str) {
    eprintln!("[flood-bench] {msg}");
}

/// CPU time so far, in clock ticks: the whole machine's busy and total time, the server's
/// and this tool's own.
#[derive(Clone, Copy)]
struct Cpu {
    at: Instant,
    busy: u64,
    server: u64,
    tool: u64,
}

fn process_ticks(stat: &str) -> u64 {
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    let (_, rest) = stat
        .rsplit_once(')')
        .expect("a /proc/<pid>/stat line names the command in parentheses");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

fn cpu(pid: u32) -> Cpu {
    // Without /proc the CPU figures would be made up: stop rather than print them.
    let stat = std::fs::read_to_string("/proc/stat").expect("read /proc/stat");
    let t: Vec<u64> = stat
        .lines()
        .next()
        .expect("/proc/stat starts with the cpu line")
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    let busy = t.iter().take(8).sum::<u64>() - t.get(3).unwrap_or(&0) - t.get(4).unwrap_or(&0);
    // The server's stat is gone only if the server died: the run cannot go on.
    let read = |p: String| {
        let stat = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {p}: {e}"));
        process_ticks(&stat)
    };
    Cpu {
        at: Instant::now(),
        busy,
        server: read(format!("/proc/{pid}/stat")),
        tool: read("/proc/self/stat".into()),
    }
}

/// Cores used between two readings: (machine, server, this tool).
fn cores(from: Cpu, to: Cpu, clk_tck: f64) -> (f64, f64, f64) {
    let secs = to.at.duration_since(from.at).as_secs_f64().max(0.001) * clk_tck;
    (
        to.busy.saturating_sub(from.busy) as f64 / secs,
        to.server.saturating_sub(from.server) as f64 / secs,
        to.tool.saturating_sub(from.tool) as f64 / secs,
    )
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

fn now_unix() -> i64 {
    std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
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

fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = html.find(start)? + start.len();
    let j = html[i..].find(end)? + i;
    Some(&html[i..j])
}

/// A small fast generator for made-up names and numbers (nothing here needs to be secret).
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// A browser as a help-seeker or staff member arrives with: no cookies yet, a new
/// connection, redirects not followed (each step is checked).
fn fresh_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(JOURNEY_TIMEOUT)
        .build()
        .unwrap()
}

/// A form post as a browser on this site sends it (its own origin).
async fn post(
    c: &reqwest::Client,
    base: &str,
    path: &str,
    pairs: &[(&str, &str)],
) -> reqwest::Result<reqwest::Response> {
    c.post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", base)
        .body(form(pairs))
        .send()
        .await
}

/// Why a request failed, in a word or two.
fn why(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect error".into()
    } else {
        "connection error".into()
    }
}

/// Where a response redirects to; empty when it does not (no `Location`), which the
/// callers read as "not the redirect expected".
fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

// ---- setup ----------------------------------------------------------------------------------

struct Workbook {
    code: String,
    exercise: String,
}

struct StaffAccount {
    username: String,
    secret: Vec<u8>,
    /// The TOTP step its enrolment code used (sign-in needs a later one).
    enrolled_step: i64,
}

/// Form actions of exercises (`/modules/x/exercises/y`) on the chapters of the modules.
async fn exercise_actions(base: &str) -> Vec<(String, String)> {
    let c = fresh_browser();
    let get = |p: String| {
        let c = c.clone();
        async move {
            c.get(format!("{base}{p}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let modules = get("/modules".into()).await;
    let mut slugs: Vec<String> = Vec::new();
    for part in modules.split("href=\"/modules/").skip(1) {
        let slug: String = part.chars().take_while(|c| *c != '"').collect();
        if !slug.contains('/') && !slugs.contains(&slug) {
            slugs.push(slug);
        }
    }
    let mut out = Vec::new();
    for slug in slugs {
        let module = get(format!("/modules/{slug}")).await;
        let prefix = format!("href=\"/modules/{slug}/");
        let mut chapters: Vec<String> = Vec::new();
        for part in module.split(&prefix).skip(1) {
            let n: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
            if !n.is_empty() && !chapters.contains(&n) {
                chapters.push(n);
            }
        }
        for n in chapters {
            let chapter_path = format!("/modules/{slug}/{n}");
            let page = get(chapter_path.clone()).await;
            for part in page.split("<form method=\"post\" action=\"").skip(1) {
                let action: String = part.chars().take_while(|c| *c != '"').collect();
                if action.contains("/exercises/") {
                    out.push((chapter_path.clone(), action));
                }
            }
        }
        if out.len() >= 8 {
            break;
        }
    }
    assert!(!out.is_empty(), "no exercise found on the site");
    out
}

/// A help-seeker answers an exercise and saves their progress, as in a browser: returns the
/// code shown on the page.
async fn make_workbook(base: &str, chapter: &str, action: &str, n: usize) -> Workbook {
    let c = fresh_browser();
    let page = c.get(format!("{base}{chapter}")).send().await.unwrap();
    assert_eq!(page.status(), 200, "{chapter}");
    let answer = format!("What helps me is walking the dog, note {n} (floodbench).");
    let resp = post(&c, base, action, &[("text", &answer)]).await.unwrap();
    assert_eq!(resp.status(), 303, "saving an answer at {action}");
    let resp = post(&c, base, "/progress/save", &[]).await.unwrap();
    assert_eq!(resp.status(), 200, "saving progress");
    let html = resp.text().await.unwrap();
    // The groups carry <wbr> break points; the code is the text.
    let code = between(&html, "<code>", "</code>")
        .expect("the return code on the page")
        .replace("<wbr>", "");
    assert_eq!(code.len(), 24, "{code}");
    let exercise = action.rsplit('/').next().unwrap().to_string();
    Workbook { code, exercise }
}

/// A staff account made as an operator does (`reachline admin create`), enrolled through
/// its one-time link over HTTP: password, the TOTP secret shown on the page, a first code.
async fn make_staff(config: &Config, base: &str, username: &str) -> StaffAccount {
    let link =
        reachline_app::ops::admin_create(config, Arc::new(SystemClock), username, "practitioner")
            .await
            .expect("admin create");
    let path = link
        .split_once("/console/")
        .map(|(_, p)| format!("/console/{p}"))
        .expect("an enrolment link");
    let c = fresh_browser();
    let html = c
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret_text = between(&html, "<code id=\"totp-secret\">", "</code>").expect("secret");
    let secret = totp::secret_from_base32(secret_text).expect("base32 secret");
    let now = now_unix();
    let code = totp::code_at(&secret, now);
    let resp = post(
        &c,
        base,
        &path,
        &[
            ("password", PASSWORD),
            ("password_again", PASSWORD),
            ("code", &code),
        ],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200, "enrolment of {username}");
    StaffAccount {
        username: username.to_string(),
        secret,
        enrolled_step: now / 30,
    }
}

// ---- legitimate journeys ------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Resume,
    Chat,
    SignIn,
    Callback,
}

const KINDS: [Kind; 4] = [Kind::Resume, Kind::Chat, Kind::SignIn, Kind::Callback];

impl Kind {
    fn legit_name(self) -> &'static str {
        match self {
            Kind::Resume => "resume with right code",
            Kind::Chat => "start chat, told place",
            Kind::SignIn => "staff sign-in",
            Kind::Callback => "request a callback",
        }
    }
    fn attack_name(self) -> &'static str {
        match self {
            Kind::Resume => "wrong return codes",
            Kind::Chat => "chats never opened",
            Kind::SignIn => "wrong sign-ins",
            Kind::Callback => "callback requests",
        }
    }
}

struct Outcome {
    kind: Kind,
    /// `None`: succeeded; otherwise why not.
    failed: Option<String>,
    ms: f64,
}

struct World {
    base: String,
    workbooks: Vec<Workbook>,
    staff: Vec<StaffAccount>,
    /// Per account: the last TOTP step it signed in with (a code is accepted once).
    staff_steps: Mutex<Vec<i64>>,
    /// Legitimate chats started and not yet ended (the most that can be ahead of one).
    legit_chats: AtomicI64,
    seq: AtomicU64,
}

impl World {
    fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }
}

/// A help-seeker types their own code in a new browser; it must open their answers.
async fn resume(w: &World) -> Result<(), String> {
    let n = w.next() as usize;
    let wb = &w.workbooks[n % w.workbooks.len()];
    let c = fresh_browser();
    let resp = post(&c, &w.base, "/progress/resume", &[("code", &wb.code)])
        .await
        .map_err(|e| why(&e))?;
    if resp.status() != 303 {
        return Err(resp.status().as_u16().to_string());
    }
    let to = location(&resp);
    let page = c
        .get(format!("{}{to}", w.base))
        .send()
        .await
        .map_err(|e| why(&e))?;
    if page.status() != 200 {
        return Err(format!("progress {}", page.status().as_u16()));
    }
    let html = page.text().await.map_err(|e| why(&e))?;
    if !html.contains("Welcome back") || !html.contains(&format!("#ex-{}\"", wb.exercise)) {
        return Err("answers not shown".into());
    }
    Ok(())
}

/// A new help-seeker starts a chat and opens it; their place must be no further back than
/// the legitimate chats waiting (chats started and never opened do not count). They then
/// leave the queue, so it does not grow over the run (not timed: returns the outcome and the
/// milliseconds until the page was read).
async fn chat(w: &World) -> (Result<(), String>, f64) {
    let c = fresh_browser();
    let started = Instant::now();
    let before = w.legit_chats.fetch_add(1, Ordering::SeqCst) + 1;
    let outcome = async {
        let resp = post(
            &c,
            &w.base,
            "/chat/start",
            &[("statement", "read"), ("who", "self")],
        )
        .await
        .map_err(|e| why(&e))?;
        if resp.status() != 303 {
            return Err(resp.status().as_u16().to_string());
        }
        let page = c
            .get(format!("{}/chat", w.base))
            .send()
            .await
            .map_err(|e| why(&e))?;
        if page.status() != 200 {
            return Err(format!("chat page {}", page.status().as_u16()));
        }
        let html = page.text().await.map_err(|e| why(&e))?;
        let after = w.legit_chats.load(Ordering::SeqCst);
        // "You are number N in the queue."
        let place: i64 = html
            .find(" in the queue")
            .and_then(|j| {
                let head = &html[..j];
                head[head.rfind("number ")? + "number ".len()..]
                    .parse()
                    .ok()
            })
            .ok_or_else(|| "no queue place".to_string())?;
        if place > before.max(after) + PLACE_SLACK {
            return Err("place too far back".into());
        }
        Ok(())
    }
    .await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    // Ending the chat only keeps the legitimate queue short; it is not a journey. If it
    // fails, the chat stays waiting, which the place check allows for (PLACE_SLACK) and the
    // "server holds" lines at the end show.
    if let Err(e) = c
        .post(format!("{}/chat/end", w.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &w.base)
        .send()
        .await
    {
        eprintln!("[flood-bench] a legitimate chat could not be ended: {e}");
    }
    w.legit_chats.fetch_sub(1, Ordering::SeqCst);
    (outcome, ms)
}

/// An account whose TOTP code for this 30 s step has not been used yet (the oldest used).
fn pick_account(w: &World) -> Option<(usize, i64)> {
    let now = now_unix();
    let step = now / 30;
    let mut steps = w.staff_steps.lock().unwrap();
    let (i, last) = steps
        .iter()
        .enumerate()
        .min_by_key(|(_, s)| **s)
        .map(|(i, s)| (i, *s))?;
    if last >= step {
        return None;
    }
    steps[i] = step;
    Some((i, now))
}

/// A staff member signs in with their password and current code.
async fn sign_in(w: &World, account: usize, now: i64) -> Result<(), String> {
    let a = &w.staff[account];
    let code = totp::code_at(&a.secret, now);
    let c = fresh_browser();
    let resp = post(
        &c,
        &w.base,
        "/console/sign-in",
        &[
            ("username", &a.username),
            ("password", PASSWORD),
            ("code", &code),
        ],
    )
    .await
    .map_err(|e| why(&e))?;
    if resp.status() != 303 || location(&resp) != "/console" {
        return Err(resp.status().as_u16().to_string());
    }
    Ok(())
}

/// A help-seeker leaves a number and a time to call.
async fn callback(w: &World) -> Result<(), String> {
    let n = w.next();
    let phone = format!("07700 9{:05}", n % 100_000);
    let c = fresh_browser();
    let resp = post(
        &c,
        &w.base,
        "/contact/callback",
        &[
            ("statement", "read"),
            ("phone", &phone),
            ("window-weekday-evening", "on"),
            ("window-weekend", "on"),
            ("who", "self"),
        ],
    )
    .await
    .map_err(|e| why(&e))?;
    let status = resp.status().as_u16();
    let html = resp.text().await.map_err(|e| why(&e))?;
    match status {
        200 if html.contains("We will call you") => Ok(()),
        200 => Err("200 without confirmation".into()),
        503 if html.contains("more callback requests waiting") => Err("503 full".into()),
        s => Err(s.to_string()),
    }
}

/// Every legitimate journey for `seconds`: each kind on its own steady schedule, each
/// journey in its own task (people arrive whether or not the last one was served).
async fn legit_phase(w: Arc<World>, a: &Args, seconds: u64) -> Vec<Outcome> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut schedulers = Vec::new();
    for (k, kind) in KINDS.into_iter().enumerate() {
        let every = Duration::from_millis(if kind == Kind::SignIn {
            a.signin_ms
        } else {
            a.rate_ms
        });
        let (w, log) = (w.clone(), log.clone());
        schedulers.push(tokio::spawn(async move {
            // Kinds are staggered within the interval so they do not arrive together.
            tokio::time::sleep(Duration::from_millis(stagger_ms(k, every))).await;
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut journeys = Vec::new();
            loop {
                tick.tick().await;
                if Instant::now() >= end {
                    break;
                }
                let (w, log) = (w.clone(), log.clone());
                journeys.push(tokio::spawn(async move {
                    let started = Instant::now();
                    let took = || started.elapsed().as_secs_f64() * 1000.0;
                    let (failed, ms) = match kind {
                        Kind::Resume => (resume(&w).await.err(), took()),
                        Kind::Chat => {
                            let (outcome, ms) = chat(&w).await;
                            (outcome.err(), ms)
                        }
                        Kind::Callback => (callback(&w).await.err(), took()),
                        Kind::SignIn => match pick_account(&w) {
                            Some((i, now)) => (sign_in(&w, i, now).await.err(), took()),
                            None => (Some("no unused TOTP step (skipped)".into()), 0.0),
                        },
                    };
                    log.lock().unwrap().push(Outcome { kind, failed, ms });
                }));
            }
            // A journey that panicked would lose its outcome: stop the run instead.
            for j in journeys {
                j.await.expect("a journey task panicked");
            }
        }));
    }
    for s in schedulers {
        s.await.unwrap();
    }
    Arc::try_unwrap(log)
        .ok()
        .expect("all journeys done")
        .into_inner()
        .unwrap()
}

fn stagger_ms(k: usize, every: Duration) -> u64 {
    every.as_millis() as u64 * k as u64 / 4
}

// ---- attackers ----------------------------------------------------------------------------

/// What one attacker task sent and what it got back: status (or error) -> count.
type Answers = BTreeMap<String, u64>;

/// One attacker: the same kind of request as fast as the server answers, on a kept-alive
/// connection, until told to stop.
async fn attacker(
    base: String,
    kind: Kind,
    seed: u64,
    usernames: Arc<Vec<String>>,
    stop: Arc<AtomicBool>,
) -> (Kind, Answers) {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(JOURNEY_TIMEOUT)
        .build()
        .unwrap();
    let mut rng = XorShift::new(seed);
    let mut got = Answers::new();
    while !stop.load(Ordering::Relaxed) {
        let r = rng.next();
        let sent = match kind {
            Kind::Resume => {
                let code = ReturnCode::generate().display();
                post(&c, &base, "/progress/resume", &[("code", &code)]).await
            }
            Kind::Chat => post(&c, &base, "/chat/start", &[("statement", "read")]).await,
            Kind::SignIn => {
                // Half against the real staff usernames, half against made-up ones (a new
                // name each time, so no name's back-off ever starts).
                let name = if r.is_multiple_of(2) {
                    usernames[(r / 2) as usize % usernames.len()].clone()
                } else {
                    format!("staff{:x}", r >> 16)
                };
                let password = format!("guess {:x}", rng.next());
                post(
                    &c,
                    &base,
                    "/console/sign-in",
                    &[
                        ("username", &name),
                        ("password", &password),
                        ("code", "123456"),
                    ],
                )
                .await
            }
            Kind::Callback => {
                let phone = format!("07700 9{:05}", r % 100_000);
                post(
                    &c,
                    &base,
                    "/contact/callback",
                    &[
                        ("statement", "read"),
                        ("phone", &phone),
                        ("window-weekend", "on"),
                    ],
                )
                .await
            }
        };
        let key = match sent {
            Ok(resp) => {
                let s = resp.status().as_u16().to_string();
                // Read to the end only so the connection can be reused; the attacker's
                // tally is the status, and a body cut short changes nothing in it.
                let _ = resp.bytes().await;
                s
            }
            Err(e) => {
                let w = why(&e);
                if w != "timeout" {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                w
            }
        };
        *got.entry(key).or_default() += 1;
    }
    (kind, got)
}

/// A slow-header connection: a request line and part of a header, then one byte a second;
/// when the server closes it (header timeout, or room made for a newcomer), another.
/// Returns (connections opened, closed by the server).
async fn slow_header(addr: String, delay: Duration, stop: Arc<AtomicBool>) -> (u64, u64) {
    tokio::time::sleep(delay).await;
    let (mut opened, mut closed) = (0u64, 0u64);
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut tcp) = tokio::net::TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        opened += 1;
        if tcp.write_all(b"GET / HTTP/1.1\r\nHo").await.is_err() {
            closed += 1;
            continue;
        }
        let mut buf = [0u8; 512];
        loop {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            tokio::select! {
                _ = tcp.read(&mut buf) => {
                    // Answered (408/503) or closed: either way the server ended it.
                    closed += 1;
                    break;
                }
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if tcp.write_all(b"s").await.is_err() {
                        closed += 1;
                        break;
                    }
                }
            }
        }
    }
    (opened, closed)
}

// ---- figures ------------------------------------------------------------------------------

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Figures {
    attempts: usize,
    ok: usize,
    p50: f64,
    p99: f64,
    failures: BTreeMap<String, usize>,
}

fn figures(outcomes: &[Outcome], kind: Kind) -> Figures {
    let mine: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.kind == kind)
        .filter(|o| {
            !o.failed
                .as_deref()
                .is_some_and(|f| f.ends_with("(skipped)"))
        })
        .collect();
    let mut ms: Vec<f64> = mine
        .iter()
        .filter(|o| o.failed.is_none())
        .map(|o| o.ms)
        .collect();
    ms.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let mut failures = BTreeMap::new();
    for o in &mine {
        if let Some(f) = &o.failed {
            *failures.entry(f.clone()).or_default() += 1;
        }
    }
    Figures {
        attempts: mine.len(),
        ok: ms.len(),
        p50: percentile(&ms, 0.5),
        p99: percentile(&ms, 0.99),
        failures,
    }
}

fn pct(f: &Figures) -> String {
    if f.attempts == 0 {
        "-".into()
    } else {
        format!("{:.0}%", f.ok as f64 * 100.0 / f.attempts as f64)
    }
}

fn ms(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v < 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn counts<K: std::fmt::Display, V: std::fmt::Display>(m: &BTreeMap<K, V>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} ×{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the server holds that a flood can pile up (read from the database).
struct Held {
    waiting: i64,
    unopened: i64,
    callbacks: i64,
}

async fn held(store: &Store, db: &sqlx::SqlitePool) -> Held {
    let unopened: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM conversations WHERE channel = 'chat' AND status = 'waiting' \
         AND seeker_seen_at IS NULL",
    )
    .fetch_one(db)
    .await
    .unwrap_or(-1);
    Held {
        waiting: store.chats_waiting_count().await.unwrap_or(-1),
        unopened,
        callbacks: store.callbacks_pending_count().await.unwrap_or(-1),
    }
}

impl std::fmt::Display for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chats waiting {}, chats never opened {}, callbacks pending {}",
            self.waiting, self.unopened, self.callbacks
        )
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    let rss_start = rss_kib(a.pid);
    let data = PathBuf::from(&a.data_dir);
    let db_path = data.join("reachline.db");
    let store = Store::open_sqlite(&db_path)
        .await
        .expect("the server's database");
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db_path.display()))
        .await
        .expect("the server's database, read-only");
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("REACHLINE_"))
        .collect();
    let config = Config::load(
        None,
        &env,
        &Overrides {
            data_dir: Some(a.data_dir.clone()),
            ..Overrides::default()
        },
    )
    .expect("configuration");
    let cap_chats = config.helpline.max_waiting_chats;
    let cap_callbacks = config.helpline.max_pending_callbacks;

    // Setup: staff accounts (as an operator and the staff member would make them) and
    // saved workbooks (as help-seekers would), a few at a time.
    let t = Instant::now();
    let suffix = now_unix() % 100_000;
    let mut staff = Vec::new();
    let gate = Arc::new(Semaphore::new(4));
    let mut joins = Vec::new();
    for i in 0..a.staff {
        let (config, base, gate) = (config.clone(), a.base.clone(), gate.clone());
        joins.push(tokio::spawn(async move {
            let _p = gate.acquire().await.unwrap();
            make_staff(&config, &base, &format!("flood{suffix}s{i}")).await
        }));
    }
    for j in joins {
        staff.push(j.await.unwrap());
    }
    let actions = exercise_actions(&a.base).await;
    let mut joins = Vec::new();
    for i in 0..a.workbooks {
        let (chapter, action) = actions[i % actions.len()].clone();
        let (base, gate) = (a.base.clone(), gate.clone());
        joins.push(tokio::spawn(async move {
            let _p = gate.acquire().await.unwrap();
            make_workbook(&base, &chapter, &action, i).await
        }));
    }
    let mut workbooks = Vec::new();
    for j in joins {
        workbooks.push(j.await.unwrap());
    }
    log(&format!(
        "setup: {} staff enrolled, {} workbooks saved with codes in {:.1} s",
        staff.len(),
        workbooks.len(),
        t.elapsed().as_secs_f64()
    ));
    let usernames: Arc<Vec<String>> = Arc::new(staff.iter().map(|s| s.username.clone()).collect());
    let w = Arc::new(World {
        base: a.base.clone(),
        workbooks,
        staff_steps: Mutex::new(staff.iter().map(|s| s.enrolled_step).collect()),
        staff,
        legit_chats: AtomicI64::new(0),
        seq: AtomicU64::new(0),
    });

    // Idle a moment, and until every account's enrolment code is in the past (a TOTP code
    // is accepted once, so a sign-in in the step of the enrolment would be refused).
    let enrolled = w.staff.iter().map(|s| s.enrolled_step).max().unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    while now_unix() / 30 <= enrolled {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let rss_idle = rss_kib(a.pid);

    // A: baseline.
    log(&format!("phase A (baseline): {} s", a.seconds));
    let cpu_a = cpu(a.pid);
    let phase_a = legit_phase(w.clone(), &a, a.seconds).await;
    let cpu_a = (cpu_a, cpu(a.pid));
    let held_a = held(&store, &db).await;

    // B: the same journeys under flood. The attackers start first and run a little
    // longer than the journeys, so every journey meets the flood at full strength.
    log(&format!(
        "phase B (under flood): {} s, {} attacker tasks, {} slow-header connections",
        a.seconds, a.attackers, a.slow
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak, pid) = (stop.clone(), peak.clone(), a.pid);
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
        })
    };
    let addr = a.base.trim_start_matches("http://").to_string();
    let slow: Vec<_> = (0..a.slow)
        .map(|i| {
            // Spread over the first second, as a botnet's connections arrive.
            let delay = Duration::from_millis((i as u64 * 1000) / a.slow.max(1) as u64);
            tokio::spawn(slow_header(addr.clone(), delay, stop.clone()))
        })
        .collect();
    let flood_started = Instant::now();
    let cpu_b = cpu(a.pid);
    let attackers: Vec<_> = (0..a.attackers)
        .map(|i| {
            tokio::spawn(attacker(
                a.base.clone(),
                KINDS[i % KINDS.len()],
                i as u64 + 1,
                usernames.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let phase_b = legit_phase(w.clone(), &a, a.seconds).await;
    let held_b = held(&store, &db).await;
    let cpu_b = (cpu_b, cpu(a.pid));
    stop.store(true, Ordering::Relaxed);
    let flood_secs = flood_started.elapsed().as_secs_f64();
    let mut attack: BTreeMap<Kind, (usize, Answers)> = BTreeMap::new();
    for j in attackers {
        let (kind, got) = j.await.unwrap();
        let e = attack.entry(kind).or_default();
        e.0 += 1;
        for (k, v) in got {
            *e.1.entry(k).or_default() += v;
        }
    }
    let (mut opened, mut closed) = (0u64, 0u64);
    for j in slow {
        let (o, c) = j.await.unwrap();
        opened += o;
        closed += c;
    }
    sampler.await.unwrap();
    let rss_peak = peak.load(Ordering::Relaxed);

    // C: after the flood and a cooldown (housekeeping drops unopened chats after a minute).
    log(&format!("cooldown: {} s", a.cooldown));
    tokio::time::sleep(Duration::from_secs(a.cooldown)).await;
    let rss_after = rss_kib(a.pid);
    let held_cooled = held(&store, &db).await;
    log(&format!("phase C (after): {} s", a.after_seconds));
    let cpu_c = cpu(a.pid);
    let phase_c = legit_phase(w.clone(), &a, a.after_seconds).await;
    let cpu_c = (cpu_c, cpu(a.pid));
    let held_c = held(&store, &db).await;

    // The report.
    println!();
    println!(
        "real users: a journey of each kind every {} ms (staff sign-in every {} ms); phases of \
         {} s (after: {} s)",
        a.rate_ms, a.signin_ms, a.seconds, a.after_seconds
    );
    println!(
        "the flood: {} attacker tasks + {} slow-header connections; cooldown {} s before \
         the after phase",
        a.attackers, a.slow, a.cooldown
    );
    println!(
        "ok = journeys that got what they came for / attempts; p50/p99 in ms over the \
         successful ones; flood/base = under-flood p50 / baseline p50"
    );
    println!();
    println!(
        "{:<23}|{:^26}|{:^26}|{:^26}| flood/",
        "", "baseline", "under flood", "after cooldown"
    );
    println!(
        "{:<23}|{:>11} {:>6} {:>6} |{:>11} {:>6} {:>6} |{:>11} {:>6} {:>6} | base",
        "journey", "ok", "p50", "p99", "ok", "p50", "p99", "ok", "p50", "p99"
    );
    let mut notes = Vec::new();
    // Under the flood: every journey's success and p99, for the goals line.
    let (mut flood_ok, mut flood_attempts, mut flood_p99) = (0, 0, 0.0f64);
    for kind in KINDS {
        let fa = figures(&phase_a, kind);
        let fb = figures(&phase_b, kind);
        flood_ok += fb.ok;
        flood_attempts += fb.attempts;
        if !fb.p99.is_nan() {
            flood_p99 = flood_p99.max(fb.p99);
        }
        let fc = figures(&phase_c, kind);
        let cell = |f: &Figures| {
            format!(
                "{:>11} {:>6} {:>6} ",
                format!("{} {}/{}", pct(f), f.ok, f.attempts),
                ms(f.p50),
                ms(f.p99)
            )
        };
        println!(
            "{:<23}|{}|{}|{}| {}",
            kind.legit_name(),
            cell(&fa),
            cell(&fb),
            cell(&fc),
            if fa.p50.is_nan() || fb.p50.is_nan() {
                "-".to_string()
            } else {
                format!("{:.1}x", fb.p50 / fa.p50)
            }
        );
        for (phase, f) in [("baseline", &fa), ("flood", &fb), ("after", &fc)] {
            if !f.failures.is_empty() {
                notes.push(format!(
                    "  {} ({phase}) failed: {}",
                    kind.legit_name(),
                    counts(&f.failures)
                ));
            }
        }
    }
    for n in &notes {
        println!("{n}");
    }
    println!();
    let total: u64 = attack.values().flat_map(|(_, g)| g.values()).sum();
    println!(
        "attackers: {total} requests in {flood_secs:.1} s ({:.0}/s)",
        total as f64 / flood_secs
    );
    for (kind, (tasks, got)) in &attack {
        let n: u64 = got.values().sum();
        println!(
            "  {:<20} {:>3} tasks {:>7} requests {:>6.0}/s   got {}",
            kind.attack_name(),
            tasks,
            n,
            n as f64 / flood_secs,
            counts(got)
        );
    }
    println!(
        "  {:<20} {:>3} held   {:>7} opened, {} closed by the server",
        "slow headers", a.slow, opened, closed
    );
    println!();
    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "server memory (VmRSS): idle {:.1} MiB (at start {:.1}, before setup), peak under flood \
         {:.1} MiB, after cooldown {:.1} MiB (after/idle {:.2})",
        mib(rss_idle),
        mib(rss_start),
        mib(rss_peak),
        mib(rss_after),
        rss_after as f64 / rss_idle as f64
    );
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "goals: real users' success under flood 100%: {flood_ok}/{flood_attempts} {}; their p99 under flood < 1 s: {:.0} ms (slowest journey) {}; RSS after cooldown within 1.5x idle: {:.2}x {}",
        met(flood_ok == flood_attempts),
        flood_p99,
        met(flood_p99 < 1000.0),
        rss_after as f64 / rss_idle as f64,
        met((rss_after as f64) <= 1.5 * rss_idle as f64),
    );
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let line = |(from, to): (Cpu, Cpu)| {
        let (machine, server, tool) = cores(from, to, a.clk_tck);
        format!(
            "server {server:.2}, load tool {tool:.2}, other {:.2}",
            (machine - server - tool).max(0.0)
        )
    };
    println!(
        "CPU in cores of {cpus}: baseline {}; flood {}; after {}",
        line(cpu_a),
        line(cpu_b),
        line(cpu_c)
    );
    println!("server holds (caps: {cap_chats} waiting chats, {cap_callbacks} pending callbacks):");
    println!("  after baseline:  {held_a}");
    println!("  end of flood:    {held_b}");
    println!("  after cooldown:  {held_cooled}");
    println!("  after phase C:   {held_c}");
}
