//! Callback requests, both sides: a help-seeker leaves a number and times without an account
//! or JavaScript; practitioners claim (atomically), see the number (audited), record failed
//! attempts and finish with the shared wrap-up; numbers are sealed at rest and deleted after
//! the call or on expiry. Also phone contacts logged by hand with the same wrap-up.

use crate::common::{between, post_form as post, walk_files, TestResult, TestServer};
use crate::console::session_for;
use reachline_core::staff::Role;
use reachline_core::vocabulary::CallbackStatus;
use reachline_core::vocabulary::Channel;
use reqwest::StatusCode;

/// A number nobody else uses (Ofcom's drama range), typed as people do.
const PHONE: &str = "+44 (0)7700 900461";
const PHONE_FORMS: &[&str] = &["7700 900461", "7700900461", "447700900461"];

/// Every row of every table in the test server's PostgreSQL schema, as text.
async fn postgres_text(s: &TestServer) -> String {
    use sqlx::Row;
    let pool = sqlx::PgPool::connect(&s.state.config.storage.database_url)
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query(
        "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("t"))
    .collect();
    assert!(tables.iter().any(|t| t == "callbacks"), "{tables:?}");
    let mut text = String::new();
    for t in tables {
        let row = sqlx::query(&format!(
            "SELECT COALESCE(string_agg(x::text, E'\\n'), '') AS rows FROM \"{t}\" x"
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
        text.push_str(&row.get::<String, _>("rows"));
    }
    pool.close().await;
    text
}

/// The number appears nowhere at rest: not in any file of the data directory (SQLite, WAL,
/// key file), nor in any PostgreSQL row.
async fn assert_number_not_at_rest(s: &TestServer) {
    if crate::common::postgres_url().is_some() {
        let text = postgres_text(s).await;
        for m in PHONE_FORMS {
            assert!(!text.contains(m), "PostgreSQL holds the number");
        }
    }
    for file in walk_files(s.dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        for m in PHONE_FORMS {
            assert!(
                !bytes.windows(m.len()).any(|w| w == m.as_bytes()),
                "{} holds the number",
                file.display()
            );
        }
    }
}

/// A help-seeker asks for a call with plain form posts; returns the confirmation page.
async fn request_callback(s: &TestServer, age: &str) -> String {
    let seeker = s.browser();
    let help = seeker
        .get(s.url("/get-help"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(help.contains("href=\"/contact/callback\""));
    let page = seeker
        .get(s.url("/contact/callback"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("href=\"/exit\"") && page.contains("name=\"statement\""));
    assert!(page.contains("<legend>When can we call you?"));
    assert!(page.contains("<label for=\"phone\">") && page.contains("autocomplete=\"tel\""));
    assert!(!page.contains("<script>"), "no inline script");
    let resp = post(
        &seeker,
        s.url("/contact/callback"),
        &[
            ("statement", "read"),
            ("phone", PHONE),
            ("window-weekday-morning", "on"),
            ("window-weekday-evening", "on"),
            ("who", "self"),
            ("age", age),
            ("area", "E23000015"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.unwrap()
}

#[tokio::test]
async fn a_callback_is_requested_without_javascript_sealed_claimed_once_and_done() -> TestResult {
    let s = TestServer::start().await;
    let sent = request_callback(&s, "under-18").await;
    assert!(sent.contains("Weekday mornings") && sent.contains("Weekday evenings"));
    assert!(!sent.contains("Weekday afternoons"));
    assert!(sent.contains("delete your number as soon as we have spoken"));
    assert!(sent.contains("within 7 days"));
    assert!(sent.contains("class=\"notice\""), "under-18 pathway");
    assert!(!sent.contains("7700"), "the number is not echoed back");
    assert_number_not_at_rest(&s).await;

    // The worklist, oldest first, with the windows; no number until claimed.
    let (p1, c1, _) = session_for(&s, Role::Practitioner, 1).await;
    let (p2, c2, _) = session_for(&s, Role::Practitioner, 2).await;
    let list = p1
        .get(s.url("/console/callbacks"))
        .send()
        .await?
        .text()
        .await?;
    assert!(list.contains("Weekday mornings, 09:00 to 12:00; Weekday evenings"));
    assert!(list.contains("0 h 0 min"));
    let id = between(&list, "<a href=\"/console/callbacks/", "\"")
        .unwrap()
        .to_string();
    let unclaimed = p1
        .get(s.url(&format!("/console/callbacks/{id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(!unclaimed.contains("7700") && unclaimed.contains("/claim\""));

    // Two practitioners claim at once: exactly one wins.
    let claim = format!("/console/callbacks/{id}/claim");
    let (f1, f2) = ([("csrf", c1.as_str())], [("csrf", c2.as_str())]);
    let (a, b) = tokio::join!(post(&p1, s.url(&claim), &f1), post(&p2, s.url(&claim), &f2),);
    let wins = [a.status(), b.status()]
        .iter()
        .filter(|st| **st == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(wins, 1, "{} {}", a.status(), b.status());
    let ((owner, owner_csrf), (other, other_csrf)) = if a.status() == StatusCode::SEE_OTHER {
        ((p1, c1), (p2, c2))
    } else {
        ((p2, c2), (p1, c1))
    };
    let loser = if a.status() == StatusCode::SEE_OTHER {
        b
    } else {
        a
    };
    assert_eq!(loser.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(loser
        .text()
        .await?
        .contains("Another practitioner has claimed"));
    let page = owner
        .get(s.url(&format!("/console/callbacks/{id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        page.contains("+44 (0)7700 900461"),
        "the claimer sees the number"
    );
    let log = s.state.store.audit_all().await?;
    assert!(log
        .iter()
        .any(|e| e.action == "callback.view" && e.detail == "number shown"));
    let seen = other
        .get(s.url(&format!("/console/callbacks/{id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(!seen.contains("7700"), "only the claimer sees the number");

    // No answer: only the claimer can record it; it stays listed with the count, unclaimed.
    let attempt = format!("/console/callbacks/{id}/attempt");
    let resp = post(&other, s.url(&attempt), &[("csrf", &other_csrf)]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = post(&owner, s.url(&attempt), &[("csrf", &owner_csrf)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let row = s.state.store.callback_get(id.parse()?).await?.unwrap();
    assert_eq!((row.attempts, row.claimed_by), (1, None));
    let list = other
        .get(s.url("/console/callbacks"))
        .send()
        .await?
        .text()
        .await?;
    assert!(list.contains(&format!("/console/callbacks/{id}\"")) && list.contains("<td>1</td>"));

    // The other practitioner claims and calls; the wrap-up needs a concern and keeps what
    // was typed; then the contact exists and the number is gone, in one step.
    let resp = post(&other, s.url(&claim), &[("csrf", &other_csrf)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let done = format!("/console/callbacks/{id}/done");
    let resp = post(
        &other,
        s.url(&done),
        &[
            ("csrf", &other_csrf),
            ("started", "2026-03-02T09:30"),
            ("ended", "2026-03-02T09:55"),
            ("action-safety-plan", "on"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await?;
    assert!(html.contains("Choose at least one concern"));
    assert!(html.contains("href=\"#concern-viewing-images\""));
    assert!(html.contains("name=\"action-safety-plan\" checked"));
    assert!(html.contains("value=\"2026-03-02T09:30\""));
    let resp = post(
        &other,
        s.url(&done),
        &[
            ("csrf", &other_csrf),
            ("started", "2026-03-02T09:30"),
            ("ended", "2026-03-02T09:55"),
            ("who", "self"),
            ("age", "under-18"),
            ("area", "E23000015"),
            ("concern-viewing-images", "on"),
            ("arrested", "no"),
            ("action-safety-plan", "on"),
            ("signpost-self-help-modules", "on"),
            ("first_this_year", "on"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()["location"].to_str()?.to_string();
    let contact_id: i64 = location
        .strip_prefix("/console/contacts/")
        .unwrap()
        .parse()?;
    let contact = s.state.store.contact_get(contact_id).await?.unwrap();
    assert_eq!(contact.channel, Channel::Callback);
    assert_eq!(contact.concerns, "viewing-images");
    assert_eq!(contact.age_group, "under-18");
    assert_eq!(contact.actions, "safety-plan");
    assert_eq!(contact.ended_at.unwrap() - contact.started_at, 25 * 60);
    assert!(contact.wrapped_up);
    let row = s.state.store.callback_get(id.parse()?).await?.unwrap();
    assert_eq!(row.status, CallbackStatus::Done);
    assert_eq!(row.phone_sealed, None);
    assert_eq!(row.contact_id, Some(contact_id));
    // Done once: a second wrap-up is refused and records nothing.
    let resp = post(
        &other,
        s.url(&done),
        &[
            ("csrf", &other_csrf),
            ("started", "2026-03-02T09:30"),
            ("ended", "2026-03-02T09:55"),
            ("concern-other", "on"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s.state.store.contacts_recent(10).await?.len(), 1);
    assert!(s.state.store.callbacks_pending().await?.is_empty());
    assert_number_not_at_rest(&s).await;
    let log = s.state.store.audit_all().await?;
    for a in [
        "callback.list",
        "callback.view",
        "callback.claim",
        "callback.attempt",
        "callback.done",
    ] {
        assert!(log.iter().any(|e| e.action == a), "{a} not audited");
    }
    assert!(
        log.iter().all(|e| !e.detail.contains("7700")),
        "the number is not in the audit log"
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn bad_numbers_get_422_with_a_clear_message_and_keep_what_was_typed() -> TestResult {
    let s = TestServer::start().await;
    let seeker = s.browser();
    let base = [
        ("statement", "read"),
        ("window-weekday-afternoon", "on"),
        ("who", "someone-else"),
        ("age", "adult"),
        ("area", "E23000015"),
    ];
    let with = |phone: &'static str| {
        let mut v = base.to_vec();
        v.push(("phone", phone));
        v
    };
    for (phone, message) in [
        ("call me maybe", "can only have digits"),
        ("0161 496 00+00", "can only have digits"),
        ("123 45", "7 to 15 digits"),
        ("+44 1234 5678 9012 3456", "7 to 15 digits"),
        ("", "Enter the phone number"),
    ] {
        let resp = post(&seeker, s.url("/contact/callback"), &with(phone)).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{phone}");
        let html = resp.text().await?;
        assert!(html.contains(message), "{phone}: {message}");
        assert!(html.contains("href=\"#phone\"") && html.contains("aria-invalid=\"true\""));
        assert!(html.contains(&format!("value=\"{phone}\"")), "{phone} kept");
        assert!(html.contains("name=\"window-weekday-afternoon\" checked"));
        assert!(html.contains("value=\"someone-else\" checked"));
        assert!(html.contains("value=\"E23000015\" selected"));
        assert!(html.contains("name=\"statement\" value=\"read\" required checked"));
    }
    let resp = post(
        &seeker,
        s.url("/contact/callback"),
        &[("statement", "read"), ("phone", "0161 496 0000")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await?;
    assert!(html.contains("Choose at least one time") && html.contains("value=\"0161 496 0000\""));
    assert!(html.contains("href=\"#window-weekday-morning\""));
    let resp = post(
        &seeker,
        s.url("/contact/callback"),
        &[("phone", "0161 496 0000"), ("window-weekday-morning", "on")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await?.contains("confirm you have read"));
    // Only windows within opening hours count (the default hours have no weekend).
    let resp = post(
        &seeker,
        s.url("/contact/callback"),
        &[
            ("statement", "read"),
            ("phone", "0161 496 0000"),
            ("window-weekend", "on"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await?;
    assert!(html.contains("Choose at least one time") && !html.contains("window-weekend"));
    assert!(s.state.store.callbacks_pending().await?.is_empty());
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn pending_callbacks_expire_after_retention_and_lose_their_number() -> TestResult {
    let s = TestServer::start_with(|c| c.helpline.callback_retention_days = 3).await;
    let sent = request_callback(&s, "adult").await;
    assert!(sent.contains("within 3 days") && !sent.contains("class=\"notice\""));
    let id = s.state.store.callbacks_pending().await?[0].id;
    s.clock.advance(2 * 86_400);
    reachline_web::housekeeping(&s.state).await;
    let row = s.state.store.callback_get(id).await?.unwrap();
    assert_eq!(row.status, CallbackStatus::Pending, "expired too early");
    assert!(row.phone_sealed.is_some());
    s.clock.advance(86_400 + 60);
    reachline_web::housekeeping(&s.state).await;
    let row = s.state.store.callback_get(id).await?.unwrap();
    assert_eq!(row.status, CallbackStatus::Expired);
    assert_eq!(row.phone_sealed, None);
    assert!(s.state.store.callbacks_pending().await?.is_empty());
    // An expired request cannot be claimed.
    let (p, csrf, _) = session_for(&s, Role::Practitioner, 1).await;
    let resp = post(
        &p,
        s.url(&format!("/console/callbacks/{id}/claim")),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await?.contains("no longer waiting"));
    assert_number_not_at_rest(&s).await;
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_phone_contact_logged_by_hand_carries_the_wrap_up_into_reporting() -> TestResult {
    let s = TestServer::start().await;
    let (p, csrf, _) = session_for(&s, Role::Practitioner, 1).await;
    let page = p
        .get(s.url("/console/contacts"))
        .send()
        .await?
        .text()
        .await?;
    for field in [
        "name=\"started\"",
        "name=\"ended\"",
        "name=\"who\"",
        "name=\"age\"",
        "name=\"area\"",
        "name=\"concern-other\"",
        "name=\"arrested\"",
        "name=\"action-therapy\"",
        "name=\"signpost-samaritans\"",
        "name=\"first_this_year\" checked",
        "name=\"note\"",
    ] {
        assert!(page.contains(field), "{field} missing");
    }
    // No concern: refused, nothing lost.
    let resp = post(
        &p,
        s.url("/console/contacts"),
        &[
            ("csrf", &csrf),
            ("started", "2026-03-02T09:00"),
            ("ended", "2026-03-02T09:20"),
            ("who", "someone-else"),
            ("note", "quiet note 5521"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await?;
    assert!(html.contains("Choose at least one concern") && html.contains(">quiet note 5521<"));
    assert!(html.contains("value=\"someone-else\" checked"));
    // Bad times: refused.
    let resp = post(
        &p,
        s.url("/console/contacts"),
        &[
            ("csrf", &csrf),
            ("started", "2026-03-02T09:30"),
            ("ended", "2026-03-02T09:20"),
            ("concern-other", "on"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = post(
        &p,
        s.url("/console/contacts"),
        &[
            ("csrf", &csrf),
            ("started", "2026-03-02T09:00"),
            ("ended", "2026-03-02T09:20"),
            ("who", "someone-else"),
            ("age", "adult"),
            ("area", "E23000015"),
            ("concern-someone-elses-behaviour", "on"),
            ("arrested", "under-investigation"),
            ("signpost-family-support", "on"),
            ("note", "quiet note 5521"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let id: i64 = resp.headers()["location"]
        .to_str()?
        .rsplit('/')
        .next()
        .unwrap()
        .parse()?;
    let c = s.state.store.contact_get(id).await?.unwrap();
    assert_eq!(c.channel, Channel::Phone);
    assert_eq!(
        (c.who.as_str(), c.age_group.as_str(), c.area.as_str()),
        ("someone-else", "adult", "E23000015")
    );
    assert_eq!(c.concerns, "someone-elses-behaviour");
    assert_eq!(c.arrested, "under-investigation");
    assert_eq!(c.signposting, "family-support");
    assert!(!c.first_this_year && c.wrapped_up);
    assert!(c.note_sealed.is_some());
    let list = p
        .get(s.url("/console/contacts"))
        .send()
        .await?
        .text()
        .await?;
    assert!(list.contains(&format!("/console/contacts/{id}\"")));
    assert!(list.contains("<td>Phone</td>") && list.contains("Someone else"));
    let detail = p
        .get(s.url(&format!("/console/contacts/{id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(detail.contains("quiet note 5521") && detail.contains("Under investigation"));
    // Reporting counts it like any other wrapped-up contact.
    let groups = s
        .state
        .store
        .report_contacts("2026-03", "2026-03", Some("E23000015"))
        .await?;
    assert!(groups
        .iter()
        .any(|g| g.channel == "phone" && g.concerns == "someone-elses-behaviour" && g.n == 1));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn anonymous_requests_stop_at_their_bounds_keep_what_was_typed_and_leave_no_audit_rows(
) -> TestResult {
    let s = TestServer::start_with(|c: &mut reachline_core::config::Config| {
        c.helpline.max_pending_callbacks = 3;
        c.helpline.max_unanswered_threads = 2;
    })
    .await;
    let audit_before = s.state.store.audit_all().await?.len();
    let seeker = s.browser();
    let mut statuses = Vec::new();
    for i in 0..5 {
        let phone = format!("07700 90047{i}");
        let resp = post(
            &seeker,
            s.url("/contact/callback"),
            &[
                ("statement", "read"),
                ("phone", &phone),
                ("window-weekday-morning", "on"),
            ],
        )
        .await;
        statuses.push(resp.status());
        if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
            let html = resp.text().await?;
            assert!(html.contains("could not take this one"), "{html}");
            assert!(
                html.contains(&format!("value=\"{phone}\"")),
                "the number was lost"
            );
            assert!(html.contains("checked"), "the chosen times were lost");
        }
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::SERVICE_UNAVAILABLE
        ]
    );
    assert_eq!(s.state.store.callbacks_pending_count().await?, 3);

    let mut statuses = Vec::new();
    for i in 0..4 {
        let text = format!("bluepineapple bounded thread {i}");
        let resp = post(
            &seeker,
            s.url("/contact/message"),
            &[("statement", "read"), ("message", &text)],
        )
        .await;
        statuses.push(resp.status());
        if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
            let html = resp.text().await?;
            assert!(html.contains("could not send this one"), "{html}");
            assert!(html.contains(&text), "what was written was lost");
        }
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::SERVICE_UNAVAILABLE
        ]
    );
    // A practitioner taking a thread makes room for the next help-seeker.
    let (staff, csrf, _) = session_for(&s, Role::Practitioner, 1).await;
    let first = s.state.store.threads_unclaimed_count().await?;
    assert_eq!(first, 2);
    let inbox = staff
        .get(s.url("/console/inbox"))
        .send()
        .await?
        .text()
        .await?;
    let id = between(&inbox, "href=\"/console/inbox/", "\"")
        .expect("a thread to claim")
        .to_string();
    let resp = post(
        &staff,
        s.url(&format!("/console/inbox/{id}/claim")),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = post(
        &seeker,
        s.url("/contact/message"),
        &[
            ("statement", "read"),
            ("message", "bluepineapple after room was made"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    // Nothing a stranger posted wrote to the staff audit log; the claim did.
    let audit = s.state.store.audit_all().await?;
    assert!(
        audit[audit_before..]
            .iter()
            .all(|e| e.actor != "unknown" && !e.actor.is_empty()),
        "{:?}",
        &audit[audit_before..]
    );
    s.stop().await;
    Ok(())
}
