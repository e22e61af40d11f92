//! Secure messages, both sides: a help-seeker writes without an account and comes back with
//! a return code; practitioners claim (atomically), reply and close with a wrap-up.

use crate::common::{between, post_form as post, walk_files, TestResult, TestServer};
use crate::console::session_for;
use reachline_core::staff::Role;
use reachline_core::vocabulary::Channel;
use reqwest::{Client, StatusCode};

const MARKER: &str = "bluepineapple marker sentence 4471";

/// A help-seeker writes a first message; returns their browser and return code.
async fn write_first(s: &TestServer, text: &str) -> (Client, String) {
    let seeker = s.browser();
    let page = seeker
        .get(s.url("/contact/message"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"statement\"") && page.contains("href=\"/exit\""));
    let resp = post(
        &seeker,
        s.url("/contact/message"),
        &[
            ("statement", "read"),
            ("who", "self"),
            ("age", "adult"),
            ("area", "E23000015"),
            ("message", text),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    let code = crate::common::return_code(&html)
        .expect("a return code")
        .to_string();
    (seeker, code)
}

#[tokio::test]
async fn a_help_seeker_and_a_practitioner_exchange_messages_without_javascript() -> TestResult {
    let s = TestServer::start().await;
    let (seeker, code) = write_first(&s, MARKER).await;
    let thread = seeker
        .get(s.url("/contact/thread"))
        .send()
        .await?
        .text()
        .await?;
    assert!(thread.contains(MARKER));

    // Two practitioners try to claim at once: exactly one wins.
    let (p1, c1, _) = session_for(&s, Role::Practitioner, 1).await;
    let (p2, c2, _) = session_for(&s, Role::Practitioner, 2).await;
    let inbox = p1.get(s.url("/console/inbox")).send().await?.text().await?;
    let id = between(&inbox, "<a href=\"/console/inbox/", "\"")
        .unwrap()
        .to_string();
    let (f1, f2) = ([("csrf", c1.as_str())], [("csrf", c2.as_str())]);
    let (a, b) = tokio::join!(
        post(&p1, s.url(&format!("/console/inbox/{id}/claim")), &f1),
        post(&p2, s.url(&format!("/console/inbox/{id}/claim")), &f2),
    );
    let wins = [a.status(), b.status()]
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(wins, 1, "{} {}", a.status(), b.status());
    let (owner, owner_csrf, other, other_csrf) = if a.status() == StatusCode::SEE_OTHER {
        (p1, c1, p2, c2)
    } else {
        (p2, c2, p1, c1)
    };
    let page = owner
        .get(s.url(&format!("/console/inbox/{id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains(MARKER));
    let resp = post(
        &other,
        s.url(&format!("/console/inbox/{id}/reply")),
        &[("csrf", &other_csrf), ("message", "hello")],
    )
    .await;
    // A thread someone holds is theirs: a colleague can neither write in it nor read it.
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await?.contains("with a colleague"));
    assert_eq!(
        other
            .get(s.url(&format!("/console/inbox/{id}")))
            .send()
            .await?
            .status(),
        StatusCode::FORBIDDEN
    );
    let resp = post(
        &owner,
        s.url(&format!("/console/inbox/{id}/reply")),
        &[
            ("csrf", &owner_csrf),
            (
                "message",
                "Thank you for writing. See http://quietharbour.example/x for nothing.",
            ),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    // The help-seeker reads the reply in a new browser, with the code; links are inert.
    let later = s.browser();
    let resp = post(
        &later,
        s.url("/contact/continue"),
        &[("code", &code.to_lowercase())],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await?;
    assert!(html.contains("Thank you for writing") && html.contains(MARKER));
    assert!(
        !html.contains("href=\"http://quietharbour"),
        "a link was made live"
    );
    let resp = post(
        &later,
        s.url("/contact/thread"),
        &[("message", "Thank you, that helps.")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Wrap-up: a concern is required; then the contact record exists and the thread is closed.
    let resp = post(
        &owner,
        s.url(&format!("/console/inbox/{id}/close")),
        &[("csrf", &owner_csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = post(
        &owner,
        s.url(&format!("/console/inbox/{id}/close")),
        &[
            ("csrf", &owner_csrf),
            ("concern-viewing-images", "on"),
            ("arrested", "no"),
            ("action-safety-plan", "on"),
            ("signpost-self-help-modules", "on"),
            ("first_this_year", "on"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let contact_path = resp.headers()["location"].to_str()?.to_string();
    assert!(contact_path.starts_with("/console/contacts/"));
    let contact_id: i64 = contact_path.rsplit('/').next().unwrap().parse()?;
    let contact = s.state.store.contact_get(contact_id).await?.unwrap();
    assert_eq!(contact.channel, Channel::Message);
    let log = s.state.store.audit_all().await?;
    for a in [
        "conversation.view",
        "conversation.claim",
        "conversation.reply",
        "conversation.close",
    ] {
        assert!(log.iter().any(|e| e.action == a), "{a} not audited");
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn bad_messages_are_refused_clearly_and_lose_nothing() -> TestResult {
    let s = TestServer::start_with(|c| c.helpline.max_message_chars = 100).await;
    let seeker = s.browser();
    let resp = post(&seeker, s.url("/contact/message"), &[("message", "hello")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await?;
    assert!(html.contains("confirm you have read") && html.contains(">hello</textarea>"));
    let long = "x".repeat(150);
    let resp = post(
        &seeker,
        s.url("/contact/message"),
        &[("statement", "read"), ("message", &long)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await?;
    assert!(html.contains("under 100 characters") && html.contains(&long));
    let resp = post(
        &seeker,
        s.url("/contact/message"),
        &[("statement", "read"), ("message", "   ")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Uploads are impossible: there is no file field, and multipart bodies are refused.
    let form = reqwest::multipart::Form::new()
        .text("statement", "read")
        .text("message", "hi")
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![0u8; 100]).file_name("a.jpg"),
        );
    let resp = seeker
        .post(s.url("/contact/message"))
        .multipart(form)
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = seeker
        .get(s.url("/contact/message"))
        .send()
        .await?
        .text()
        .await?;
    assert!(!page.contains("type=\"file\"") && !page.contains("multipart"));
    assert_eq!(s.state.store.messages_count().await?, 0);
    // A wrong code finds nothing, calmly.
    let resp = post(
        &seeker,
        s.url("/contact/continue"),
        &[(
            "code",
            &reachline_core::return_code::ReturnCode::generate().display(),
        )],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.text().await?.contains("could not find"));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn message_text_is_sealed_at_rest_and_purged_after_retention() -> TestResult {
    let s = TestServer::start_with(|c| c.helpline.conversation_retention_days = 30).await;
    let (_seeker, code) = write_first(&s, MARKER).await;
    let (p, csrf, _) = session_for(&s, Role::Practitioner, 1).await;
    let id = s.state.store.conversations_open(Channel::Message).await?[0].id;
    post(
        &p,
        s.url(&format!("/console/inbox/{id}/reply")),
        &[("csrf", &csrf), ("message", "reply quietharbour 4471")],
    )
    .await;
    if crate::common::postgres_url().is_none() {
        for file in walk_files(s.dir.path()) {
            let bytes = std::fs::read(&file)?;
            for m in [
                MARKER.as_bytes(),
                b"quietharbour 4471",
                code.replace('-', "").as_bytes(),
            ] {
                assert!(
                    !bytes.windows(m.len()).any(|w| w == m),
                    "{} holds plaintext",
                    file.display()
                );
            }
        }
    }
    let resp = post(
        &p,
        s.url(&format!("/console/inbox/{id}/close")),
        &[("csrf", &csrf), ("concern-other", "on")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.state.store.messages_count().await?, 2);
    s.clock.advance(29 * 86_400);
    reachline_web::housekeeping(&s.state).await;
    assert_eq!(s.state.store.messages_count().await?, 2, "purged too early");
    s.clock.advance(2 * 86_400);
    reachline_web::housekeeping(&s.state).await;
    assert_eq!(s.state.store.messages_count().await?, 0);
    // The contact record remains; the code no longer opens anything.
    assert_eq!(s.state.store.contacts_recent(10).await?.len(), 1);
    let resp = post(&s.browser(), s.url("/contact/continue"), &[("code", &code)]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    s.stop().await;
    Ok(())
}
