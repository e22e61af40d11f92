//! The practitioner console: accounts, sign-in with TOTP, sessions, the route × role matrix,
//! the audit chain and the two-person rule for safeguarding concerns.

use crate::common::{between, post_form as post, TestResult, TestServer};
use reachline_core::config::Config;
use reachline_core::staff::{self, totp, Role};
use reachline_core::vocabulary::Channel;
use reqwest::{Client, StatusCode};
use std::sync::Arc;

const PASSWORD: &str = "violet kettle harbour 71";

/// An account made the way an operator makes the first one, enrolled over HTTP.
struct Enrolled {
    username: String,
    secret: Vec<u8>,
    recovery: Vec<String>,
}

async fn create_and_enrol(s: &TestServer, username: &str, role: &str) -> Enrolled {
    let link = reachline_app::ops::admin_create(
        &s.state.config,
        Arc::new(s.clock.clone()),
        username,
        role,
    )
    .await
    .unwrap();
    let path = link
        .split_once("/console/")
        .map(|(_, p)| format!("/console/{p}"))
        .unwrap();
    enrol(s, &path, username).await
}

async fn enrol(s: &TestServer, path: &str, username: &str) -> Enrolled {
    let c = s.client();
    let html = c
        .get(s.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<svg"), "no QR code: {html}");
    let secret_text = between(&html, "<code id=\"totp-secret\">", "</code>").unwrap();
    let secret = totp::secret_from_base32(secret_text).unwrap();
    // Reloading the page shows the same secret (two tabs, a refresh).
    let again = c
        .get(s.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains(secret_text));
    let code = totp::code_at(&secret, s.now());
    let resp = post(
        &c,
        s.url(path),
        &[
            ("password", PASSWORD),
            ("password_again", PASSWORD),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    let list = between(
        &html,
        "<ul class=\"recovery-codes\" id=\"recovery-codes\">",
        "</ul>",
    )
    .unwrap();
    let recovery: Vec<String> = list
        .split("<code>")
        .skip(1)
        .filter_map(|p| p.split("</code>").next().map(str::to_string))
        .collect();
    assert_eq!(recovery.len(), 10);
    // The code used to enrol is spent; move to the next step for sign-in.
    s.clock.advance(30);
    Enrolled {
        username: username.into(),
        secret,
        recovery,
    }
}

async fn sign_in(s: &TestServer, who: &Enrolled) -> Client {
    let c = s.client();
    let code = totp::code_at(&who.secret, s.now());
    let resp = post(
        &c,
        s.url("/console/sign-in"),
        &[
            ("username", &who.username),
            ("password", PASSWORD),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "sign-in failed for {}",
        who.username
    );
    s.clock.advance(30);
    c
}

async fn csrf(s: &TestServer, c: &Client) -> String {
    let html = c
        .get(s.url("/console"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    between(&html, "name=\"csrf\" value=\"", "\"")
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn admin_create_then_sign_in_needs_password_and_a_current_totp() -> TestResult {
    let s = TestServer::start().await;
    let admin = create_and_enrol(&s, "ada", "admin").await;
    let c = s.client();
    let now_code = totp::code_at(&admin.secret, s.now());
    for (password, code, why) in [
        (PASSWORD, "", "no code"),
        (PASSWORD, "000000", "wrong code"),
        (
            "violet kettle harbour 72",
            now_code.as_str(),
            "wrong password",
        ),
    ] {
        let resp = post(
            &c,
            s.url("/console/sign-in"),
            &[("username", "ada"), ("password", password), ("code", code)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{why}");
        assert!(resp.text().await?.contains("not right"), "{why}");
    }
    // A code from five minutes ago is refused.
    let old = totp::code_at(&admin.secret, s.now() - 300);
    let resp = post(
        &c,
        s.url("/console/sign-in"),
        &[("username", "ada"), ("password", PASSWORD), ("code", &old)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // Password and current code: in.
    let resp = post(
        &c,
        s.url("/console/sign-in"),
        &[
            ("username", "ada"),
            ("password", PASSWORD),
            ("code", &now_code),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp.headers()["set-cookie"].to_str()?;
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let home = c.get(s.url("/console")).send().await?;
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await?.contains("ada (Administrator)"));
    // The same code again, within its step, is a replay.
    let other = s.client();
    let resp = post(
        &other,
        s.url("/console/sign-in"),
        &[
            ("username", "ada"),
            ("password", PASSWORD),
            ("code", &now_code),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // Everything was audited, and the chain holds.
    let log = s.state.store.audit_all().await?;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for a in ["staff.create", "enrol", "sign-in.failed", "sign-in"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert!(log.iter().any(|e| e.detail == "code already used"));
    let n =
        reachline_app::ops::audit_verify(&s.state.config, Arc::new(s.clock.clone()), None).await?;
    assert_eq!(n, log.len());
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn recovery_codes_work_once_and_enrolment_links_once() -> TestResult {
    let s = TestServer::start().await;
    let link = reachline_app::ops::admin_create(
        &s.state.config,
        Arc::new(s.clock.clone()),
        "bob",
        "supervisor",
    )
    .await?;
    let path = format!("/console/{}", link.split_once("/console/").unwrap().1);
    let bo = enrol(&s, &path, "bob").await;
    // The link cannot be used again.
    let resp = s.client().get(s.url(&path)).send().await?;
    assert_eq!(resp.status(), StatusCode::GONE);
    let resp = post(
        &s.client(),
        s.url(&path),
        &[
            ("password", PASSWORD),
            ("password_again", PASSWORD),
            ("code", "123456"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::GONE);
    let code = bo.recovery[3].to_uppercase();
    let c = s.client();
    let resp = post(
        &c,
        s.url("/console/sign-in"),
        &[("username", "bob"), ("password", PASSWORD), ("code", &code)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = post(
        &s.client(),
        s.url("/console/sign-in"),
        &[("username", "bob"), ("password", PASSWORD), ("code", &code)],
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "a recovery code worked twice"
    );
    // An expired link is refused too.
    let link = reachline_app::ops::admin_create(
        &s.state.config,
        Arc::new(s.clock.clone()),
        "cyd",
        "practitioner",
    )
    .await?;
    s.clock.advance(73 * 3600);
    let path = format!("/console/{}", link.split_once("/console/").unwrap().1);
    assert_eq!(
        s.client().get(s.url(&path)).send().await?.status(),
        StatusCode::GONE
    );
    let log = s.state.store.audit_all().await?;
    // A real link tried again is recorded against its account; a made-up one leaves no row.
    let made_up = format!("/console/enrol/{}", "ab".repeat(32));
    assert_eq!(
        s.client().get(s.url(&made_up)).send().await?.status(),
        StatusCode::GONE
    );
    let refused: Vec<_> = log.iter().filter(|e| e.action == "enrol.refused").collect();
    assert!(refused.len() >= 3, "{refused:?}");
    assert!(
        refused.iter().all(|e| e.object.starts_with("staff:")),
        "{refused:?}"
    );
    assert_eq!(
        s.state.store.audit_all().await?.len(),
        log.len(),
        "a made-up link was audited"
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn weak_passwords_and_wrong_codes_are_refused_at_enrolment() -> TestResult {
    let s = TestServer::start().await;
    let link = reachline_app::ops::admin_create(
        &s.state.config,
        Arc::new(s.clock.clone()),
        "dee",
        "practitioner",
    )
    .await?;
    let path = format!("/console/{}", link.split_once("/console/").unwrap().1);
    let c = s.client();
    let html = c.get(s.url(&path)).send().await?.text().await?;
    let secret =
        totp::secret_from_base32(between(&html, "<code id=\"totp-secret\">", "</code>").unwrap())
            .unwrap();
    let code = totp::code_at(&secret, s.now());
    for (pw, again, code, words) in [
        ("short", "short", code.as_str(), "at least 12"),
        ("password1234", "password1234", code.as_str(), "too common"),
        (
            PASSWORD,
            "something else entirely",
            code.as_str(),
            "not the same",
        ),
        (PASSWORD, PASSWORD, "999999", "code is not right"),
    ] {
        let resp = post(
            &c,
            s.url(&path),
            &[("password", pw), ("password_again", again), ("code", code)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{words}");
        assert!(resp.text().await?.contains(words), "{words}");
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn sessions_expire_when_idle_or_old_and_can_end_everywhere() -> TestResult {
    let s = TestServer::start().await;
    let who = create_and_enrol(&s, "eve", "practitioner").await;
    let a = sign_in(&s, &who).await;
    assert_eq!(
        a.get(s.url("/console")).send().await?.status(),
        StatusCode::OK
    );
    s.clock.advance(31 * 60);
    let resp = a.get(s.url("/console")).send().await?;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "idle session still valid"
    );
    // Active but older than 12 hours.
    let b = sign_in(&s, &who).await;
    for _ in 0..25 {
        s.clock.advance(29 * 60);
        if b.get(s.url("/console")).send().await?.status() != StatusCode::OK {
            break;
        }
    }
    assert!(s.now() - common_t0() < 13 * 3600 + 3600);
    assert_eq!(
        b.get(s.url("/console")).send().await?.status(),
        StatusCode::SEE_OTHER
    );
    // Sign out everywhere ends every session.
    let c1 = sign_in(&s, &who).await;
    let c2 = sign_in(&s, &who).await;
    let token = csrf(&s, &c1).await;
    let resp = post(
        &c1,
        s.url("/console/sign-out-everywhere"),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        c2.get(s.url("/console")).send().await?.status(),
        StatusCode::SEE_OTHER
    );
    s.stop().await;
    Ok(())
}

fn common_t0() -> i64 {
    crate::common::T0
}

/// What a sign-in attempt was told: its status and the error paragraph (the rest of the
/// page echoes the username typed, so only the message is compared).
async fn sign_in_answer(
    c: &Client,
    s: &TestServer,
    name: &str,
    password: &str,
    code: &str,
) -> (StatusCode, String) {
    let resp = post(
        c,
        s.url("/console/sign-in"),
        &[("username", name), ("password", password), ("code", code)],
    )
    .await;
    let status = resp.status();
    let html = resp.text().await.unwrap_or_default();
    let message = between(&html, "id=\"sign-in-error\">", "</p>")
        .unwrap_or("")
        .to_string();
    (status, message)
}

#[tokio::test]
async fn a_stranger_guessing_cannot_lock_staff_out_or_learn_which_usernames_exist() -> TestResult {
    let s = TestServer::start_with(|c: &mut Config| {
        c.console.failures_before_lock = 3;
        c.console.sign_in_max_wait_seconds = 1;
    })
    .await;
    let who = create_and_enrol(&s, "fay", "practitioner").await;
    // A stranger floods wrong passwords at a real username and at a made-up one, at once.
    let mut tries = Vec::new();
    for i in 0..24 {
        let (c, s2) = (s.client(), &s);
        let name = if i % 2 == 0 { "fay" } else { "nobody-here" };
        tries.push(async move {
            (
                name,
                sign_in_answer(&c, s2, name, &format!("wrong guess {i}"), "123456").await,
            )
        });
    }
    let answers = futures_util::future::join_all(tries).await;
    let known: Vec<_> = answers
        .iter()
        .filter(|(n, _)| *n == "fay")
        .map(|(_, a)| a.clone())
        .collect();
    let unknown: Vec<_> = answers
        .iter()
        .filter(|(n, _)| *n != "fay")
        .map(|(_, a)| a.clone())
        .collect();
    assert!(
        known.iter().chain(&unknown).all(|a| a == &known[0]),
        "answers differ: {answers:?}"
    );
    assert_eq!(known[0].0, StatusCode::UNAUTHORIZED);
    assert!(known[0].1.contains("not right"), "{:?}", known[0]);
    // The owner, with the right password and code, still gets in (after a short wait).
    sign_in(&s, &who).await;
    // The flood left a bounded trace: a few failures and one back-off entry for fay's
    // account, nothing at all for the made-up name.
    let log = s.state.store.audit_all().await?;
    let failed = log.iter().filter(|e| e.action == "sign-in.failed").count();
    assert!(failed <= 3, "{failed} failure entries");
    assert_eq!(
        log.iter().filter(|e| e.action == "sign-in.backoff").count(),
        1
    );
    assert!(
        !log.iter()
            .any(|e| e.object.is_empty() && e.action.starts_with("sign-in")),
        "an unknown name was audited"
    );

    // Someone who knows the password but not the codes spends the account's allowance of
    // wrong codes; only they are told the codes are paused, and a right code waits too.
    let c = s.client();
    for _ in 0..2 {
        assert_eq!(
            sign_in_answer(&c, &s, "fay", PASSWORD, "000000").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, message) = sign_in_answer(&c, &s, "fay", PASSWORD, "000001").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        message.contains("paused") && message.contains("administrator"),
        "{message}"
    );
    let code = totp::code_at(&who.secret, s.now());
    assert_eq!(
        sign_in_answer(&c, &s, "fay", PASSWORD, &code).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A wrong password while codes are paused reads as any wrong sign-in.
    assert_eq!(
        sign_in_answer(&c, &s, "fay", "not her password", &code)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    s.clock.advance(16 * 60);
    sign_in(&s, &who).await;
    let log = s.state.store.audit_all().await?;
    assert!(log.iter().any(|e| e.action == "account.codes-paused"));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn recovery_codes_are_stored_salted_and_slow() -> TestResult {
    let s = TestServer::start().await;
    let who = create_and_enrol(&s, "gil", "practitioner").await;
    let id = s.state.store.staff_by_username("gil").await?.unwrap().id;
    let stored = s.state.store.staff_unused_recovery_hashes(id).await?;
    assert_eq!(stored.len(), 10);
    assert!(
        stored.iter().all(|h| h.starts_with("$argon2id$")),
        "{stored:?}"
    );
    let plain = staff::token_hash(&staff::normalise_recovery_code(&who.recovery[0]));
    assert!(
        !stored.contains(&plain),
        "a recovery code stored as a bare hash"
    );
    let (status, _) = sign_in_answer(&s.client(), &s, "gil", PASSWORD, &who.recovery[0]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        s.state.store.staff_unused_recovery_hashes(id).await?.len(),
        9
    );
    s.stop().await;
    Ok(())
}

/// Makes a signed-in session for a role directly in the store (for the matrix).
pub(crate) async fn session_for(s: &TestServer, role: Role, n: usize) -> (Client, String, i64) {
    let (c, csrf, id, _) = session_with_token(s, role, n).await;
    (c, csrf, id)
}

/// A signed-in staff member's client, CSRF token, id and session token (for a socket).
pub(crate) async fn session_with_token(
    s: &TestServer,
    role: Role,
    n: usize,
) -> (Client, String, i64, String) {
    let name = format!("{}{n}", role.as_str());
    let areas = if role == Role::Analyst {
        "E23000015"
    } else {
        ""
    };
    let id = s
        .state
        .store
        .staff_create(&name, role, areas, s.now())
        .await
        .unwrap();
    let token = staff::new_token();
    let csrf = staff::new_token();
    s.state
        .store
        .session_create(&staff::token_hash(&token), id, &csrf, s.now())
        .await
        .unwrap();
    let jar = Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&format!("rl_console={token}"), &s.url("/").parse().unwrap());
    let c = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (c, csrf, id, token)
}

const ROUTES_SNAPSHOT: &str = "tests/snapshots/console-routes.txt";

/// One line of the reviewed route table: `METHOD PATH ROLES` (`ROLES` is `public` or a
/// comma-separated list).
struct ReviewedRoute {
    method: String,
    path: String,
    allowed: Option<Vec<Role>>,
}

fn routes_as_text() -> String {
    let mut out = String::from(
        "# Every console route and the roles it allows (public: no sign-in). Reviewed: a change\n\
         # here is a change to who may do what. Regenerate with REACHLINE_UPDATE_SNAPSHOTS=1.\n",
    );
    for r in reachline_web::console::routes() {
        let roles = match r.allowed {
            None => "public".to_string(),
            Some(roles) => roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(","),
        };
        out.push_str(&format!("{} {} {roles}\n", r.method, r.path));
    }
    out
}

fn reviewed_routes() -> Vec<ReviewedRoute> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(ROUTES_SNAPSHOT);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let (method, path, roles) = (
                parts.next().unwrap().to_string(),
                parts.next().unwrap().to_string(),
                parts.next().unwrap(),
            );
            let allowed = (roles != "public")
                .then(|| roles.split(',').map(|r| Role::parse(r).unwrap()).collect());
            ReviewedRoute {
                method,
                path,
                allowed,
            }
        })
        .collect()
}

#[test]
fn console_routes_match_the_reviewed_snapshot() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(ROUTES_SNAPSHOT);
    let now = routes_as_text();
    if std::env::var("REACHLINE_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &now).unwrap();
    }
    let reviewed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        reviewed == now,
        "the console's routes or their roles changed. Review the difference, then run with \
         REACHLINE_UPDATE_SNAPSHOTS=1 and commit {ROUTES_SNAPSHOT}.\nreviewed:\n{reviewed}\nnow:\n{now}"
    );
}

#[tokio::test]
async fn every_console_route_allows_exactly_the_roles_it_declares() -> TestResult {
    let s = TestServer::start().await;
    // Something to point {id} at.
    let (p, _, pid) = session_for(&s, Role::Practitioner, 0).await;
    let contact = s
        .state
        .store
        .contact_create(Channel::Phone, s.now() - 600, Some(s.now()), pid, s.now())
        .await?;
    let mut tx = s.state.store.begin().await?;
    let concern = tx
        .concern_create(contact, pid, "other", b"x", s.now())
        .await?;
    tx.commit().await?;
    drop(p);
    // The reviewed table, not the one the router is built from: widening a role or adding a
    // route changes the router, and `console_routes_match_the_reviewed_snapshot` fails until
    // the snapshot is changed too, where review sees it.
    // (A route in the snapshot that the router does not serve answers 404 to anonymous
    // requests instead of sending them to sign in, and fails below.)
    let routes = reviewed_routes();
    assert!(routes.len() >= 20);
    let mut n = 1;
    for r in &routes {
        let Some(allowed) = &r.allowed else { continue };
        let id = if r.path.contains("/staff/") {
            pid
        } else if r.path.contains("/concerns/") {
            concern
        } else {
            contact
        };
        let path = r.path.replace("{id}", &id.to_string());
        for role in Role::ALL.iter().map(Some).chain([None]) {
            n += 1;
            let (client, token) = match role {
                Some(role) => {
                    let (c, t, _) = session_for(&s, *role, n).await;
                    (c, t)
                }
                None => (s.client(), String::new()),
            };
            let resp = if r.method == "GET" {
                client.get(s.url(&path)).send().await?
            } else {
                post(&client, s.url(&path), &[("csrf", &token)]).await
            };
            let status = resp.status();
            let location = resp
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let denied = status == StatusCode::FORBIDDEN
                || (status == StatusCode::SEE_OTHER
                    && location == "/console/sign-in"
                    && !path.contains("sign-out"));
            let should = role.is_some_and(|role| allowed.contains(role));
            assert_eq!(
                !denied,
                should,
                "{} {} as {:?}: {status} {location}",
                r.method,
                path,
                role.map(|r| r.as_str())
            );
        }
    }
    // Anonymous and analyst requests never reach a contact or a concern.
    let (analyst, _, _) = session_for(&s, Role::Analyst, 999).await;
    for path in [
        "/console/contacts",
        &format!("/console/contacts/{contact}"),
        &format!("/console/concerns/{concern}"),
    ] {
        assert_eq!(
            analyst.get(s.url(path)).send().await?.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
        let anon = s.client().get(s.url(path)).send().await?;
        assert_eq!(anon.status(), StatusCode::SEE_OTHER);
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() -> TestResult {
    let s = TestServer::start().await;
    let (c, _, _) = session_for(&s, Role::Practitioner, 1).await;
    let resp = post(
        &c,
        s.url("/console/contacts"),
        &[
            ("started", "2026-03-02T09:00"),
            ("ended", "2026-03-02T09:20"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = post(
        &c,
        s.url("/console/contacts"),
        &[
            ("csrf", "forged"),
            ("started", "2026-03-02T09:00"),
            ("ended", "2026-03-02T09:20"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(s.state.store.contacts_recent(10).await?.is_empty());
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_concern_is_decided_only_by_a_supervisor_who_did_not_raise_it() -> TestResult {
    let s = TestServer::start().await;
    let (prac, prac_csrf, _) = session_for(&s, Role::Practitioner, 1).await;
    let (sup1, sup1_csrf, _) = session_for(&s, Role::Supervisor, 2).await;
    let (sup2, sup2_csrf, _) = session_for(&s, Role::Supervisor, 3).await;

    // A practitioner logs a phone contact with a note, and raises a concern on it.
    let resp = post(
        &prac,
        s.url("/console/contacts"),
        &[
            ("csrf", &prac_csrf),
            ("started", "2026-03-02T09:00"),
            ("ended", "2026-03-02T09:25"),
            ("concern-other", "on"),
            ("note", "caller described bluepineapple worries"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let contact_path = resp.headers()["location"].to_str()?.to_string();
    let html = prac.get(s.url(&contact_path)).send().await?.text().await?;
    assert!(html.contains("bluepineapple worries"));
    let resp = post(
        &prac,
        s.url(&format!("{contact_path}/concerns")),
        &[
            ("csrf", &prac_csrf),
            ("category", "child-at-risk"),
            ("facts", "named child at risk (test facts quietharbour)"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let concern_path = resp.headers()["location"].to_str()?.to_string();

    // The practitioner cannot decide (role), and a supervisor's own concern needs another.
    let decide = format!("{concern_path}/decision");
    let resp = post(
        &prac,
        s.url(&decide),
        &[
            ("csrf", &prac_csrf),
            ("decision", "no-referral"),
            ("reason", "x"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let contact_id: i64 = contact_path.rsplit('/').next().unwrap().parse()?;
    let resp = post(
        &sup1,
        s.url(&format!("/console/contacts/{contact_id}/concerns")),
        &[
            ("csrf", &sup1_csrf),
            ("category", "risk-to-person"),
            ("facts", "supervisor's own concern"),
        ],
    )
    .await;
    let own = resp.headers()["location"].to_str()?.to_string();
    let resp = post(
        &sup1,
        s.url(&format!("{own}/decision")),
        &[
            ("csrf", &sup1_csrf),
            ("decision", "no-referral"),
            ("reason", "mine"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp
        .text()
        .await?
        .contains("cannot be decided by the person who raised it"));

    // Open concerns are prominent for supervisors.
    let home = sup2.get(s.url("/console")).send().await?.text().await?;
    assert_eq!(home_count(&home, "work-concerns"), 2, "{home}");
    assert!(home.contains("safeguarding concerns waiting for a decision"));
    let live = sup2
        .get(s.url("/console/live"))
        .send()
        .await?
        .text()
        .await?;
    assert_eq!(
        live,
        "{\"held\":[],\"open_concerns\":2,\"waiting_chats\":0}"
    );

    // Another supervisor asks for more, the practitioner adds it, then it is referred.
    let page = sup2.get(s.url(&concern_path)).send().await?.text().await?;
    assert!(page.contains("quietharbour") && page.contains("Record decision"));
    let resp = post(
        &sup2,
        s.url(&decide),
        &[
            ("csrf", &sup2_csrf),
            ("decision", "refer"),
            ("destination", "police"),
            ("reason", ""),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = post(
        &sup2,
        s.url(&decide),
        &[
            ("csrf", &sup2_csrf),
            ("decision", "more-information"),
            ("reason", "Which school?"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = post(
        &prac,
        s.url(&format!("{concern_path}/information")),
        &[
            ("csrf", &prac_csrf),
            ("information", "The caller named the school."),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = post(
        &sup2,
        s.url(&decide),
        &[
            ("csrf", &sup2_csrf),
            ("decision", "refer"),
            ("destination", "childrens-social-care"),
            ("reason", "Identifiable child at risk."),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let page = sup2.get(s.url(&concern_path)).send().await?.text().await?;
    assert!(page.contains("id=\"concern-status\">Referred<"), "{page}");
    for step in [
        "Raised",
        "Viewed by a supervisor",
        "More information requested",
        "Information added",
        "Children&#39;s social care",
    ] {
        assert!(page.contains(step), "timeline lacks {step}");
    }
    // A decided concern cannot be decided again.
    let resp = post(
        &sup2,
        s.url(&decide),
        &[
            ("csrf", &sup2_csrf),
            ("decision", "no-referral"),
            ("reason", "change"),
        ],
    )
    .await;
    assert!(
        resp.status() == StatusCode::FORBIDDEN || resp.status() == StatusCode::UNPROCESSABLE_ENTITY
    );

    // Notes and facts are sealed in the database.
    let facts = s.state.store.concern_get(1).await?.unwrap().facts_sealed;
    assert!(!String::from_utf8_lossy(&facts).contains("quietharbour"));
    let log = s.state.store.audit_all().await?;
    for a in [
        "contact.create",
        "contact.view",
        "concern.raise",
        "concern.view",
        "concern.decide",
        "concern.decide.refused",
        "concern.information",
    ] {
        assert!(log.iter().any(|e| e.action == a), "{a} not audited");
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_analyst_sees_figures_for_their_own_areas_only() -> TestResult {
    let s = TestServer::start().await;
    s.state
        .store
        .reach_add_first_visits(2026, "E23000015", 12)
        .await?;
    s.state
        .store
        .reach_add_first_visits(2026, "E23000001", 40)
        .await?;
    let (analyst, _, _) = session_for(&s, Role::Analyst, 1).await;
    let html = analyst
        .get(s.url("/console/reach"))
        .send()
        .await?
        .text()
        .await?;
    assert!(html.contains("Staffordshire (E23000015)") && html.contains("<td>12</td>"));
    assert!(!html.contains("E23000001") && !html.contains("<td>40</td>"));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn administrators_invite_change_roles_and_disable_accounts() -> TestResult {
    let s = TestServer::start().await;
    let admin = create_and_enrol(&s, "ada", "admin").await;
    let c = sign_in(&s, &admin).await;
    let token = csrf(&s, &c).await;
    for (username, role, areas, words) in [
        ("x", "practitioner", "", "3 to 40"),
        ("ok.name", "boss", "", "Choose a role"),
        ("an.alyst", "analyst", "", "at least one area"),
        (
            "an.alyst",
            "analyst",
            "E23000099",
            "police force area codes",
        ),
    ] {
        let resp = post(
            &c,
            s.url("/console/staff"),
            &[
                ("csrf", &token),
                ("username", username),
                ("role", role),
                ("areas", areas),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(resp.text().await?.contains(words), "{words}");
    }
    let resp = post(
        &c,
        s.url("/console/staff"),
        &[
            ("csrf", &token),
            ("username", "pat"),
            ("role", "practitioner"),
            ("areas", ""),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await?;
    let link = between(&html, "<code id=\"enrolment-link\">", "</code>").unwrap();
    let path = format!("/console/{}", link.split_once("/console/").unwrap().1);
    let pat = enrol(&s, &path, "pat").await;
    let pc = sign_in(&s, &pat).await;
    let pat_id = s.state.store.staff_by_username("pat").await?.unwrap().id;
    // Disabling ends the session at once.
    let resp = post(
        &c,
        s.url(&format!("/console/staff/{pat_id}/disable")),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        pc.get(s.url("/console")).send().await?.status(),
        StatusCode::SEE_OTHER
    );
    // An administrator cannot disable themselves.
    let me = s.state.store.staff_by_username("ada").await?.unwrap().id;
    let resp = post(
        &c,
        s.url(&format!("/console/staff/{me}/disable")),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        c.get(s.url("/console/staff")).send().await?.status(),
        StatusCode::OK
    );
    let log = s.state.store.audit_all().await?;
    for a in ["staff.invite", "staff.disable", "staff.list"] {
        assert!(log.iter().any(|e| e.action == a), "{a} not audited");
    }
    s.stop().await;
    Ok(())
}

/// Runs raw SQL against the test server's database, as someone with database access would.
async fn tamper(s: &TestServer, sql: &str) {
    if crate::common::postgres_url().is_some() {
        let pool = sqlx::PgPool::connect(&s.state.config.storage.database_url)
            .await
            .unwrap();
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let path = s.state.config.data_dir().join("reachline.db");
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

/// Runs `reachline ARGS --data-dir … [--database-url …]` against a test server's data;
/// whether it succeeded, and what it printed.
fn reachline_cli(s: &TestServer, args: &[&str]) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_reachline"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(s.state.config.data_dir())
        .env_remove("REACHLINE_DATABASE_URL")
        .env_remove("REACHLINE_CONFIG");
    if !s.state.config.storage.database_url.is_empty() {
        cmd.arg("--database-url")
            .arg(&s.state.config.storage.database_url);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn verify_with_binary(s: &TestServer) -> (bool, String) {
    reachline_cli(s, &["audit", "verify"])
}

#[tokio::test]
async fn altering_deleting_inserting_or_reordering_audit_rows_is_detected() -> TestResult {
    let scenarios: [(&str, &str, i64); 7] = [
        ("truncated at the end", "DELETE FROM audit_log WHERE seq >= 4", 4),
        (
            "truncated at the end with its head",
            "DELETE FROM audit_log WHERE seq >= 4; DELETE FROM audit_head",
            4,
        ),
        ("altered", "UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 3", 3),
        ("deleted", "DELETE FROM audit_log WHERE seq = 3", 4),
        (
            "inserted",
            "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3; UPDATE audit_log SET seq = seq - 99 WHERE seq >= 103; \
             INSERT INTO audit_log (seq, at, actor, action, object, detail, prev_hash, hash) \
             SELECT 3, at, actor, action, object, detail, prev_hash, hash FROM audit_log WHERE seq = 2",
            3,
        ),
        (
            "reordered",
            "UPDATE audit_log SET seq = -2 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = -2",
            2,
        ),
        ("truncated in the middle", "DELETE FROM audit_log WHERE seq IN (2, 3)", 4),
    ];
    for (what, sql, broken) in scenarios {
        let s = TestServer::start().await;
        for i in 0..5 {
            s.state
                .audit("ada", "test.event", &format!("thing:{i}"), "")
                .await?;
        }
        let (ok, out) = verify_with_binary(&s);
        assert!(ok, "intact log refused: {out}");
        assert!(out.contains("5 entries verified"), "{out}");
        tamper(&s, sql).await;
        let err =
            reachline_app::ops::audit_verify(&s.state.config, Arc::new(s.clock.clone()), None)
                .await;
        let seq = match err {
            Err(reachline_app::ops::OpsError::Broken(b)) => b.seq,
            other => panic!("{what}: not detected: {other:?}"),
        };
        assert_eq!(seq, broken, "{what}");
        let (ok, out) = verify_with_binary(&s);
        assert!(!ok, "{what}: binary accepted a broken log");
        assert!(
            out.contains(&format!("audit entry {broken} is broken")),
            "{what}: {out}"
        );
        s.stop().await;
    }
    Ok(())
}

#[tokio::test]
async fn settings_change_hours_retention_statement_and_canned_responses() -> TestResult {
    let s = TestServer::start().await;
    let (admin, admin_csrf, _) = session_for(&s, Role::Administrator, 1).await;

    // Opening hours: a typo is refused with the reason; a good schedule shows on Get help now.
    let resp = post(
        &admin,
        s.url("/console/settings/hours"),
        &[
            ("csrf", &admin_csrf),
            ("weekly", "mon-fri 9-5"),
            ("holidays", ""),
            ("time_zone", "Europe/London"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await?.contains("mon-fri 9-5"));
    let resp = post(
        &admin,
        s.url("/console/settings/hours"),
        &[
            ("csrf", &admin_csrf),
            ("weekly", "mon-wed 10:00-16:00\r\nsat 10:00-12:00"),
            ("holidays", "2026-12-25\n2025-01-01"),
            ("time_zone", "Europe/London"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let help = reqwest::get(s.url("/get-help")).await?.text().await?;
    assert!(
        help.contains("Monday to Wednesday, 10:00 to 16:00")
            && help.contains("Saturday, 10:00 to 12:00")
    );
    assert!(
        help.contains("2026-12-25") && !help.contains("2025-01-01"),
        "past holidays shown"
    );

    // Retention: out-of-range refused, a good value used for new saves.
    let resp = post(
        &admin,
        s.url("/console/settings/retention"),
        &[
            ("csrf", &admin_csrf),
            ("selfhelp_saved_days", "0"),
            ("selfhelp_unsaved_hours", "24"),
            ("contact_note_days", "30"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = post(
        &admin,
        s.url("/console/settings/retention"),
        &[
            ("csrf", &admin_csrf),
            ("selfhelp_saved_days", "30"),
            ("selfhelp_unsaved_hours", "2"),
            ("contact_note_days", "30"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.state.live.retention().selfhelp_unsaved_hours, 2);
    // A contact note older than the retention period is purged; the contact stays.
    let (_, _, pid) = session_for(&s, Role::Practitioner, 4).await;
    let old = s
        .state
        .store
        .contact_create(Channel::Phone, s.now() - 600, Some(s.now()), pid, s.now())
        .await?;
    s.state.store.contact_set_note(old, b"sealed note").await?;
    s.clock.advance(31 * 86_400);
    reachline_web::housekeeping(&s.state).await;
    let contact = s.state.store.contact_get(old).await?.unwrap();
    assert!(contact.note_sealed.is_none(), "note kept past retention");
    // A month has passed: sign in afresh.
    let (admin, admin_csrf, _) = session_for(&s, Role::Administrator, 11).await;
    let (sup, sup_csrf, _) = session_for(&s, Role::Supervisor, 12).await;
    let (prac, _, _) = session_for(&s, Role::Practitioner, 13).await;

    // A new confidentiality statement version is what help-seekers see.
    let resp = post(&admin, s.url("/console/settings/confidentiality"), &[
        ("csrf", &admin_csrf), ("statement", "## Our promise\n\nWe keep what you say private, except where a child is at risk (bluepineapple)."),
    ]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let page = reqwest::get(s.url("/confidentiality"))
        .await?
        .text()
        .await?;
    assert!(page.contains("Our promise") && page.contains("bluepineapple"));
    assert!(page.contains("Version 1,"), "version not shown");

    // Canned responses: supervisors write them, practitioners find them with placeholders filled.
    let resp = post(
        &sup,
        s.url("/console/canned"),
        &[
            ("csrf", &sup_csrf),
            ("title", "Opening hours"),
            (
                "body",
                "We are open {opening_hours} ({time_zone}). — {practitioner}",
            ),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let html = prac
        .get(s.url("/console/canned?q=opening"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        html.contains("We are open Monday to Wednesday, 10:00 to 16:00"),
        "{html}"
    );
    assert!(html.contains("practitioner13"));
    assert!(
        !html.contains("New canned response"),
        "practitioners cannot edit"
    );
    let none = prac
        .get(s.url("/console/canned?q=zebra"))
        .send()
        .await?
        .text()
        .await?;
    assert!(none.contains("No canned responses found"));
    let log = s.state.store.audit_all().await?;
    for a in [
        "settings.hours",
        "settings.retention",
        "settings.confidentiality",
        "canned.save",
    ] {
        assert!(log.iter().any(|e| e.action == a), "{a} not audited");
    }
    s.stop().await;
    Ok(())
}

/// Makes every insert into the audit log fail (a full disk, a broken replica, a tampered
/// trigger), on either database; `false` removes it again.
async fn audit_log_fails(s: &TestServer, fails: bool) {
    inserts_fail(s, "audit_log", fails).await;
}

/// Makes every insert into `table` fail (a trigger), or stop failing, on either database.
pub(crate) async fn inserts_fail(s: &TestServer, table: &str, fails: bool) {
    let sql = match (crate::common::postgres_url().is_some(), fails) {
        (true, true) => format!(
            "CREATE FUNCTION {table}_fails() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION '{table} unavailable'; END $$; \
             CREATE TRIGGER {table}_fails BEFORE INSERT ON {table} \
             FOR EACH ROW EXECUTE FUNCTION {table}_fails();"
        ),
        (true, false) => {
            format!("DROP TRIGGER {table}_fails ON {table}; DROP FUNCTION {table}_fails();")
        }
        (false, true) => format!(
            "CREATE TRIGGER {table}_fails BEFORE INSERT ON {table} \
             BEGIN SELECT RAISE(ABORT, '{table} unavailable'); END;"
        ),
        (false, false) => format!("DROP TRIGGER {table}_fails;"),
    };
    tamper(s, &sql).await;
}

#[tokio::test]
async fn an_action_whose_audit_entry_cannot_be_written_does_not_happen() -> TestResult {
    let s = TestServer::start().await;
    let (admin, csrf, _) = session_for(&s, Role::Administrator, 1).await;
    let (pat, _, pat_id) = session_for(&s, Role::Practitioner, 2).await;
    let entries = s.state.store.audit_all().await?.len();
    audit_log_fails(&s, true).await;

    // Disabling an account: the administrator is told, and the account stays as it was.
    let resp = post(
        &admin,
        s.url(&format!("/console/staff/{pat_id}/disable")),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(resp.text().await?.contains("nothing was changed"));
    let row = s.state.store.staff_by_id(pat_id).await?.unwrap();
    assert!(!row.disabled, "disabled without an audit entry");
    assert_eq!(
        pat.get(s.url("/console")).send().await?.status(),
        StatusCode::OK
    );

    // A role change is not applied either, and the sessions it would end go on.
    let resp = post(
        &admin,
        s.url(&format!("/console/staff/{pat_id}/role")),
        &[("csrf", &csrf), ("role", "supervisor"), ("areas", "")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        s.state.store.staff_by_id(pat_id).await?.unwrap().role,
        Role::Practitioner
    );

    // A view whose entry cannot be written is not shown.
    let resp = admin.get(s.url("/console/staff")).send().await?;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);

    // Nothing reached the log, and the chain is whole.
    audit_log_fails(&s, false).await;
    assert_eq!(s.state.store.audit_all().await?.len(), entries);
    let resp = post(
        &admin,
        s.url(&format!("/console/staff/{pat_id}/disable")),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(s.state.store.staff_by_id(pat_id).await?.unwrap().disabled);
    let log = s.state.store.audit_all().await?;
    assert_eq!(log.len(), entries + 1);
    assert_eq!(log.last().map(|e| e.action.as_str()), Some("staff.disable"));
    assert_eq!(
        pat.get(s.url("/console")).send().await?.status(),
        StatusCode::SEE_OTHER
    );
    assert!(verify_with_binary(&s).0);
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_safeguarding_text_that_does_not_open_is_said_not_shown_empty() -> TestResult {
    let s = TestServer::start().await;
    let (_, _, pid) = session_for(&s, Role::Practitioner, 1).await;
    let (sup, _, _) = session_for(&s, Role::Supervisor, 2).await;
    let contact = s
        .state
        .store
        .contact_create(Channel::Phone, s.now() - 600, Some(s.now()), pid, s.now())
        .await?;
    // Facts that are there but damaged (not sealed under this concern's context).
    let mut tx = s.state.store.begin().await?;
    let concern = tx
        .concern_create(contact, pid, "other", b"damaged sealed bytes", s.now())
        .await?;
    tx.commit().await?;
    let html = sup
        .get(s.url(&format!("/console/concerns/{concern}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(html.contains("This text could not be opened"), "{html}");
    s.stop().await;
    Ok(())
}

/// A stored value outside its closed set (a role no release ever wrote, a thread in a state
/// that does not exist) is an error the practitioner sees, never read as some default.
#[tokio::test]
async fn a_stored_value_outside_its_set_is_refused_not_guessed() -> TestResult {
    let s = TestServer::start().await;
    let (pat, _, pat_id) = session_for(&s, Role::Practitioner, 1).await;
    assert_eq!(
        pat.get(s.url("/console")).send().await?.status(),
        StatusCode::OK
    );
    tamper(
        &s,
        &format!("UPDATE staff SET role = 'overlord' WHERE id = {pat_id}"),
    )
    .await;
    let resp = pat.get(s.url("/console")).send().await?;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!resp.text().await?.contains("overlord"));
    let err = s.state.store.staff_by_id(pat_id).await.unwrap_err();
    assert!(err.to_string().contains("role"), "{err}");
    s.stop().await;
    Ok(())
}

/// An operator who kept the head `audit head` printed sees a truncation even when whoever
/// truncated the log also put back the head row of that older moment.
#[tokio::test]
async fn an_exported_head_catches_a_truncation_with_an_old_head_put_back() -> TestResult {
    let s = TestServer::start().await;
    for i in 0..3 {
        s.state
            .audit("ada", "test.event", &format!("thing:{i}"), "")
            .await?;
    }
    // An old copy of the head row, as someone with database access might keep one.
    let old = s.state.store.audit_head().await?.unwrap();
    for i in 3..6 {
        s.state
            .audit("ada", "test.event", &format!("thing:{i}"), "")
            .await?;
    }
    let (ok, exported) = reachline_cli(&s, &["audit", "head"]);
    assert!(ok, "{exported}");
    let exported = exported.trim().to_string();
    assert!(exported.starts_with("6:"), "{exported}");
    let verify = |s: &TestServer, expect: &str| {
        reachline_cli(s, &["audit", "verify", "--expect-head", expect])
    };
    let (ok, out) = verify(&s, &exported);
    assert!(ok, "{out}");
    let (hash, mac) = (hex::encode(&old.hash), hex::encode(&old.mac));
    let put_back = if crate::common::postgres_url().is_some() {
        format!(
            "DELETE FROM audit_log WHERE seq > 3; UPDATE audit_head SET seq = 3, \
             hash = decode('{hash}', 'hex'), mac = decode('{mac}', 'hex')"
        )
    } else {
        format!(
            "DELETE FROM audit_log WHERE seq > 3; UPDATE audit_head SET seq = 3, \
             hash = X'{hash}', mac = X'{mac}'"
        )
    };
    tamper(&s, &put_back).await;
    // The chain and the old head agree with each other...
    let (ok, out) = verify_with_binary(&s);
    assert!(ok, "{out}");
    // ...but not with what the operator kept.
    let (ok, out) = verify(&s, &exported);
    assert!(!ok, "a truncation went unseen: {out}");
    assert!(out.contains("audit entry 6 is broken"), "{out}");
    let (ok, out) = verify(&s, "six:zz");
    assert!(!ok && out.contains("SEQ:HASH"), "{out}");
    s.stop().await;
    Ok(())
}

/// The number a console home shows in the item with `id`.
fn home_count(html: &str, id: &str) -> i64 {
    let item = between(html, &format!("id=\"{id}\""), "</li>")
        .unwrap_or_else(|| panic!("the home page has no {id}"));
    between(item, "<span class=\"count\">", "</span>")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{id} shows no count: {item}"))
}

#[tokio::test]
async fn each_role_sees_its_own_work_on_the_console_home() -> TestResult {
    let s = TestServer::start().await;
    let (pat, pat_csrf, pat_id) = session_for(&s, Role::Practitioner, 1).await;
    let (sam, _, _) = session_for(&s, Role::Supervisor, 1).await;
    let (ada, _, _) = session_for(&s, Role::Administrator, 1).await;
    let (ana, _, _) = session_for(&s, Role::Analyst, 1).await;
    let home = |c: &Client| {
        let c = c.clone();
        let url = s.url("/console");
        async move {
            let resp = c.get(url).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.text().await.unwrap()
        }
    };

    // Nothing yet: every count is 0, and the practitioner is away.
    let h = home(&pat).await;
    for id in [
        "work-chats-waiting",
        "work-my-chats",
        "work-wrapups",
        "work-threads-waiting",
        "work-callbacks",
    ] {
        assert_eq!(home_count(&h, id), 0, "{id}");
    }
    assert!(h.contains("You are away"), "{h}");
    assert!(!h.contains("id=\"home-shift\"") && !h.contains("id=\"home-health\""));

    // Work arrives: two chats queue, a secure message and a callback request wait.
    let (_a, _) = crate::chat::start_chat(&s.base, "adult").await;
    let (_b, _) = crate::chat::start_chat(&s.base, "adult").await;
    let seeker = s.browser();
    let resp = post(
        &seeker,
        s.url("/contact/message"),
        &[
            ("statement", "read"),
            ("message", "bluepineapple home count"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = post(
        &seeker,
        s.url("/contact/callback"),
        &[
            ("statement", "read"),
            ("phone", "07700 900123"),
            ("window-weekday-morning", "on"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);

    // The practitioner becomes available from the home page and takes one chat.
    let resp = post(
        &pat,
        s.url("/console/chats/availability"),
        &[
            ("csrf", &pat_csrf),
            ("available", "yes"),
            ("next", "/console"),
        ],
    )
    .await;
    assert_eq!(resp.headers()["location"], "/console");
    let id = s.state.store.chat_queue().await?[0].id;
    let resp = post(
        &pat,
        s.url(&format!("/console/chats/{id}/take")),
        &[("csrf", &pat_csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let h = home(&pat).await;
    assert!(h.contains("You are available"));
    assert_eq!(home_count(&h, "work-chats-waiting"), 1);
    assert_eq!(home_count(&h, "work-my-chats"), 1);
    assert_eq!(home_count(&h, "work-threads-waiting"), 1);
    assert_eq!(home_count(&h, "work-callbacks"), 1);
    assert!(h.contains("the longest for 0 min"), "the wait is shown");
    assert!(
        h.contains("href=\"/console/chats\"")
            && h.contains("href=\"/console/inbox\"")
            && h.contains("href=\"/console/callbacks\"")
    );

    // A concern the practitioner raises waits for the supervisor, not for its raiser.
    let contact = s
        .state
        .store
        .contact_create(
            Channel::Phone,
            s.now() - 600,
            Some(s.now()),
            pat_id,
            s.now(),
        )
        .await?;
    let mut tx = s.state.store.begin().await?;
    tx.concern_create(contact, pat_id, "child-at-risk", b"", s.now())
        .await?;
    tx.commit().await?;
    let h = home(&pat).await;
    assert_eq!(home_count(&h, "work-concerns"), 1);
    assert!(h.contains("concern you raised"));
    let h = home(&sam).await;
    assert_eq!(home_count(&h, "work-concerns"), 1);
    assert!(h.contains("concern waiting for a decision"));
    // The supervisor sees the shift: who is on, what the day has brought.
    assert!(h.contains("id=\"home-shift\""));
    let team = between(&h, "id=\"home-team\"", "</table>").expect("the team table");
    assert!(
        team.contains("practitioner1</td><td>Available</td><td>1</td>"),
        "{team}"
    );
    assert!(
        team.contains("supervisor1</td><td>Away</td><td>0</td>"),
        "{team}"
    );
    assert!(h.contains("1</span> chat answered"), "{h}");

    // The administrator sees the service's health, not casework.
    let h = home(&ada).await;
    assert!(!h.contains("id=\"home-work\""));
    let checks = between(&h, "id=\"health-checks\"", "</table>").expect("the checks");
    for name in [
        "database",
        "migrations",
        "keyring",
        "retention job",
        "backup",
    ] {
        assert!(
            checks.contains(&format!("<td>{name}</td>")),
            "no {name} check: {checks}"
        );
    }
    assert!(checks.contains("no backup has been taken"));
    assert!(h.contains("No deterrence list is loaded"));

    // The analyst sees their own area's reports, and each link opens.
    let h = home(&ana).await;
    assert!(!h.contains("id=\"home-work\"") && !h.contains("id=\"home-health\""));
    let reports = between(&h, "id=\"home-reports\"", "</section>").expect("the reports");
    assert!(reports.contains("Staffordshire"));
    let links: Vec<&str> = reports
        .split("href=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    assert_eq!(links.len(), 3, "{reports}");
    for link in links {
        let resp = ana.get(s.url(&link.replace("&amp;", "&"))).send().await?;
        assert_eq!(resp.status(), StatusCode::OK, "{link}");
    }
    s.stop().await;
    Ok(())
}
