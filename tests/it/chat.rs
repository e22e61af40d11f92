//! Live chat, both sides, through the running server: over WebSocket and with plain forms;
//! atomic take, limits, transfer, missed contacts, flood limits, text only; two instances
//! on one PostgreSQL; and a server killed mid-chat loses no acknowledged message.

use crate::common::{between, post_form as post, walk_files, BinaryServer, TestResult, TestServer};
use crate::console::{session_for, session_with_token};
use futures_util::{SinkExt, StreamExt};
use reachline_core::staff::Role;
use reachline_core::vocabulary::Channel;
use reachline_core::vocabulary::ConversationStatus;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const MARKER: &str = "bluepineapple chat marker sentence 90210";

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a socket as a browser on this site would (its cookie, its origin).
pub async fn socket(base: &str, path: &str, cookie: &str) -> Ws {
    let url = format!("{}{}", base.replacen("http://", "ws://", 1), path);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    req.headers_mut().insert("origin", base.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws
}

/// The next frame of type `t` (skipping others), within five seconds.
pub async fn next(ws: &mut Ws, t: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {t:?} frame within five seconds"))
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["t"] == t {
                return v;
            }
        }
    }
}

/// Frames that arrive within `wait`.
async fn drain(ws: &mut Ws, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(wait, ws.next()).await {
        if let Message::Text(text) = msg {
            out.push(serde_json::from_str(text.as_str()).unwrap());
        }
    }
    out
}

/// Waits for a status frame saying `status` (the queue place may be updated before it).
async fn status_becomes(ws: &mut Ws, status: &str) {
    loop {
        if next(ws, "status").await["status"] == status {
            return;
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// Starts a chat with the plain form; returns the help-seeker's client and cookie.
pub async fn start_chat(base: &str, age: &str) -> (Client, String) {
    let seeker = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = seeker
        .get(format!("{base}/chat"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("action=\"/chat/start\""), "chat is not open");
    assert!(page.contains("href=\"/exit\""));
    let resp = post(
        &seeker,
        format!("{base}/chat/start"),
        &[
            ("statement", "read"),
            ("who", "self"),
            ("age", age),
            ("area", "E23000015"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("rl_chat="))
        .expect("chat cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // As a browser does: follow the redirect to the chat page (which puts the chat in the
    // queue; a chat started and never opened does not count).
    let page = seeker.get(format!("{base}/chat")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    (seeker, cookie)
}

async fn chat_id(s: &TestServer) -> i64 {
    s.state.store.chat_queue().await.unwrap()[0].id
}

#[tokio::test]
async fn help_seeker_and_practitioner_chat_over_websockets_and_the_contact_is_saved() -> TestResult
{
    let s = TestServer::start().await;
    let (_seeker, cookie) = start_chat(&s.base, "adult").await;
    let id = chat_id(&s).await;
    let mut hs = socket(&s.base, "/chat/ws", &cookie).await;
    let status = next(&mut hs, "status").await;
    assert_eq!(status["status"], "waiting");
    assert!(status["text"].as_str().unwrap().contains("number 1"));

    // Help-seekers may write while they wait; the practitioner reads it on taking the chat.
    send(&mut hs, json!({"t": "send", "cid": "a1", "text": MARKER})).await;
    let ack = next(&mut hs, "ack").await;
    assert_eq!(ack["seq"], 1);

    // Two practitioners take at once: exactly one gets it.
    let (p1, csrf1, _, token1) = session_with_token(&s, Role::Practitioner, 1).await;
    let (p2, csrf2, _, token2) = session_with_token(&s, Role::Practitioner, 2).await;
    post(
        &p1,
        s.url("/console/chats/availability"),
        &[("csrf", &csrf1), ("available", "yes")],
    )
    .await;
    let queue = p1.get(s.url("/console/chats")).send().await?.text().await?;
    assert!(queue.contains(&format!("/console/chats/{id}/take")));
    let take = |c: Client, csrf: String| {
        let url = s.url(&format!("/console/chats/{id}/take"));
        async move { post(&c, url, &[("csrf", &csrf)]).await.status() }
    };
    let (a, b) = tokio::join!(
        take(p1.clone(), csrf1.clone()),
        take(p2.clone(), csrf2.clone())
    );
    let wins = [a, b]
        .iter()
        .filter(|st| **st == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(wins, 1, "{a} {b}");
    let (p, csrf, token) = if a == StatusCode::SEE_OTHER {
        (p1, csrf1, token1)
    } else {
        (p2, csrf2, token2)
    };
    status_becomes(&mut hs, "active").await;

    let mut ps = socket(
        &s.base,
        &format!("/console/chats/{id}/ws"),
        &format!("rl_console={token}"),
    )
    .await;
    let first = next(&mut ps, "msg").await;
    assert_eq!(first["text"], MARKER);
    assert_eq!(first["mine"], false);
    // Delivery state: the practitioner's client says it has seq 1; the help-seeker hears so.
    send(&mut ps, json!({"t": "seen", "seq": 1})).await;
    assert_eq!(next(&mut hs, "delivered").await["seq"], 1);
    // "Seen" again and again for the same message is not passed on (no flood of the other
    // side); typing reaches the other side only.
    for _ in 0..200 {
        send(&mut ps, json!({"t": "seen", "seq": 1})).await;
    }
    send(&mut ps, json!({"t": "typing"})).await;
    let mut repeats = 0;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), hs.next())
            .await?
            .expect("socket open")?;
        let Message::Text(text) = msg else { continue };
        let v: Value = serde_json::from_str(text.as_str())?;
        match v["t"].as_str() {
            Some("typing") => break,
            Some("delivered") => repeats += 1,
            _ => {}
        }
    }
    assert_eq!(repeats, 0, "repeated seen frames reached the help-seeker");
    send(&mut ps, json!({"t": "send", "cid": "p1", "text": "Hello, I am here to listen. See https://quietharbour.example"})).await;
    assert_eq!(next(&mut ps, "ack").await["seq"], 2);
    let reply = next(&mut hs, "msg").await;
    assert_eq!(reply["seq"], 2);
    assert!(reply["text"]
        .as_str()
        .unwrap()
        .contains("https://quietharbour.example"));

    // The help-seeker's connection drops; two messages arrive meanwhile; on reconnect with
    // the last sequence number they get exactly those, once.
    drop(hs);
    for (cid, text) in [("p2", "Are you still there?"), ("p3", "Take your time.")] {
        send(&mut ps, json!({"t": "send", "cid": cid, "text": text})).await;
        next(&mut ps, "ack").await;
    }
    let mut hs = socket(&s.base, "/chat/ws?after=2", &cookie).await;
    let frames = drain(&mut hs, Duration::from_millis(700)).await;
    let seqs: Vec<i64> = frames
        .iter()
        .filter(|f| f["t"] == "msg")
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![3, 4]);
    // A message re-sent after a lost acknowledgement is stored once.
    send(
        &mut hs,
        json!({"t": "send", "cid": "a2", "text": "I am back"}),
    )
    .await;
    let first_ack = next(&mut hs, "ack").await;
    send(
        &mut hs,
        json!({"t": "send", "cid": "a2", "text": "I am back"}),
    )
    .await;
    let again = next(&mut hs, "ack").await;
    assert_eq!(first_ack["seq"], again["seq"]);
    assert_eq!(s.state.store.messages(id, 0).await?.len(), 5);

    // The practitioner ends the chat; the help-seeker is told, and offered what comes next.
    let resp = post(
        &p,
        s.url(&format!("/console/chats/{id}/end")),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    status_becomes(&mut hs, "ended").await;
    let page = reqwest::Client::new()
        .get(s.url("/chat"))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("action=\"/chat/continue\""));

    // Wrap-up makes the contact record.
    let resp = post(
        &p,
        s.url(&format!("/console/inbox/{id}/close")),
        &[
            ("csrf", &csrf),
            ("concern-viewing-images", "on"),
            ("arrested", "no"),
            ("action-safety-plan", "on"),
            ("first_this_year", "on"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let contact_id: i64 = resp.headers()["location"]
        .to_str()?
        .rsplit('/')
        .next()
        .unwrap()
        .parse()?;
    let contact = s.state.store.contact_get(contact_id).await?.unwrap();
    assert_eq!(contact.channel, Channel::Chat);
    let log = s.state.store.audit_all().await?;
    for a in [
        "chat.available",
        "chat.take",
        "chat.end",
        "conversation.close",
    ] {
        assert!(log.iter().any(|e| e.action == a), "{a} not audited");
    }

    // The marker sentence is nowhere in plain text at rest.
    if crate::common::postgres_url().is_none() {
        for file in walk_files(s.dir.path()) {
            let bytes = std::fs::read(&file)?;
            assert!(
                !bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
                "{} holds the chat text",
                file.display()
            );
        }
    } else {
        for m in s.state.store.messages(id, 0).await? {
            assert!(!m
                .body_sealed
                .windows(MARKER.len())
                .any(|w| w == MARKER.as_bytes()));
        }
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_same_chat_works_without_javascript() -> TestResult {
    let s = TestServer::start_with(|c| c.helpline.max_message_chars = 200).await;
    let (seeker, _cookie) = start_chat(&s.base, "under-18").await;
    let id = chat_id(&s).await;
    let page = seeker.get(s.url("/chat")).send().await?.text().await?;
    assert!(page.contains("number 1 in the queue"));
    assert!(
        page.contains("href=\"/under-18\""),
        "under-18 pathway offered"
    );
    assert!(page.contains("<iframe") && page.contains("src=\"/chat/transcript#latest\""));
    let cid = between(&page, "name=\"cid\" value=\"", "\"")
        .unwrap()
        .to_string();
    // The transcript frame reloads itself while the chat is on, and is framable only here.
    let t = seeker.get(s.url("/chat/transcript")).send().await?;
    assert!(t.headers()["refresh"]
        .to_str()?
        .starts_with("4; url=/chat/transcript?r="));
    assert!(t.headers()["content-security-policy"]
        .to_str()?
        .contains("frame-ancestors 'self'"));

    // A form post sends; posting the same form twice stores it once.
    for _ in 0..2 {
        let resp = post(
            &seeker,
            s.url("/chat/send"),
            &[("cid", &cid), ("message", MARKER)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(s.state.store.messages(id, 0).await?.len(), 1);
    // Too long: a clear error, and the text is kept.
    let long = "x".repeat(201);
    let resp = post(
        &seeker,
        s.url("/chat/send"),
        &[("cid", "f2"), ("message", &long)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await?;
    assert!(html.contains("too long") && html.contains(&long));
    // Empty: refused.
    let resp = post(
        &seeker,
        s.url("/chat/send"),
        &[("cid", "f3"), ("message", "   ")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // No uploads: a multipart body is refused and nothing is stored.
    let form = reqwest::multipart::Form::new()
        .text("message", "with a file")
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![0x89, b'P', b'N', b'G']).file_name("a.png"),
        );
    let resp = seeker
        .post(s.url("/chat/send"))
        .multipart(form)
        .send()
        .await?;
    assert!(resp.status().is_client_error(), "{}", resp.status());
    assert_eq!(s.state.store.messages(id, 0).await?.len(), 1);

    // The practitioner answers with plain forms too; a canned response can be sent by name.
    let (p, csrf, _) = session_for(&s, Role::Practitioner, 1).await;
    let mut tx = s.state.store.begin().await?;
    tx.canned_save(
        None,
        "Welcome",
        "Thank you for reaching out. We are open {opening_hours}.",
        s.now(),
        "sup",
    )
    .await?;
    tx.commit().await?;
    let resp = post(
        &p,
        s.url(&format!("/console/chats/{id}/take")),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let chat = p
        .get(s.url(&format!("/console/chats/{id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(chat.contains("under-18 pathway"));
    let t = p
        .get(s.url(&format!("/console/chats/{id}/transcript")))
        .send()
        .await?
        .text()
        .await?;
    assert!(t.contains(MARKER));
    let resp = post(
        &p,
        s.url(&format!("/console/chats/{id}/send")),
        &[
            ("csrf", &csrf),
            ("cid", "s1"),
            (
                "message",
                "<a href=\"https://quietharbour.example\">click</a> www.quietharbour.example",
            ),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = post(
        &p,
        s.url(&format!("/console/chats/{id}/send")),
        &[
            ("csrf", &csrf),
            ("cid", "s2"),
            ("message", ""),
            ("canned", "Welcome"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let t = seeker
        .get(s.url("/chat/transcript"))
        .send()
        .await?
        .text()
        .await?;
    assert!(t.contains("You are talking with a practitioner"));
    assert!(
        t.contains("click&#60;/a&#62;") || t.contains("click&lt;/a&gt;"),
        "{t}"
    );
    assert!(
        !t.contains("<a href=\"https://quietharbour")
            && !t.contains("href=\"http://www.quietharbour")
    );
    assert!(t.contains("Thank you for reaching out. We are open"));
    assert!(!t.contains("{opening_hours}"));

    // The help-seeker ends the chat; then a return code continues it by secure message.
    let resp = post(&seeker, s.url("/chat/end"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let page = seeker.get(s.url("/chat")).send().await?.text().await?;
    assert!(page.contains("This chat has ended"));
    let resp = post(
        &seeker,
        s.url("/chat/send"),
        &[("cid", "f9"), ("message", "late")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = post(&seeker, s.url("/chat/continue"), &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await?;
    let code = crate::common::return_code(&html)
        .expect("a return code")
        .to_string();
    assert!(html.contains(&format!("value=\"{code}\"")));
    assert!(s
        .state
        .store
        .conversation_get(id)
        .await?
        .unwrap()
        .lookup
        .is_some());
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn out_of_hours_offers_a_message_or_a_callback_and_takes_no_chat() -> TestResult {
    let s = TestServer::start().await;
    // Saturday 7 March 2026, noon in London: closed by the default hours.
    s.clock.advance(5 * 86_400 + 2 * 3600);
    let page = s.browser().get(s.url("/chat")).send().await?.text().await?;
    assert!(
        page.contains("href=\"/contact/message\"") && page.contains("href=\"/contact/callback\"")
    );
    assert!(!page.contains("action=\"/chat/start\""));
    post(&s.client(), s.url("/chat/start"), &[("statement", "read")]).await;
    assert!(s.state.store.chat_queue().await?.is_empty());
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn chats_left_unanswered_become_missed_contacts() -> TestResult {
    let s = TestServer::start_with(|c| c.helpline.chat_queue_timeout_minutes = 30).await;
    let (seeker, _) = start_chat(&s.base, "adult").await;
    let id = chat_id(&s).await;
    // They write while they wait.
    let resp = post(
        &seeker,
        s.url("/chat/send"),
        &[("cid", "w1"), ("message", MARKER)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // The help-seeker keeps the page open (the transcript frame reloads) for 31 minutes.
    for _ in 0..31 {
        s.clock.advance(60);
        seeker.get(s.url("/chat/transcript")).send().await?;
        reachline_web::housekeeping(&s.state).await;
    }
    let c = s.state.store.conversation_get(id).await?.unwrap();
    assert_eq!(c.status, ConversationStatus::Missed);
    let page = seeker.get(s.url("/chat")).send().await?.text().await?;
    assert!(page.contains("nobody was free"));
    assert!(page.contains("href=\"/contact/callback\""));
    // Someone who closes the page leaves the queue too.
    let (_gone, _) = start_chat(&s.base, "adult").await;
    s.clock.advance(150);
    reachline_web::housekeeping(&s.state).await;
    assert!(s.state.store.chat_queue().await?.is_empty());
    let month = reachline_store::month_of(s.now());
    assert_eq!(
        s.state
            .store
            .missed_contacts_count(&month, &month, None)
            .await?,
        2
    );
    // What they wrote goes after the retention period, like any chat's content.
    assert_eq!(s.state.store.messages(id, 0).await?.len(), 1);
    s.clock.advance(31 * 86_400);
    reachline_web::housekeeping(&s.state).await;
    let c = s.state.store.conversation_get(id).await?.unwrap();
    assert!(
        c.key_staff.is_none() && c.key_seeker.is_none(),
        "keys kept past retention"
    );
    assert!(s.state.store.messages(id, 0).await?.is_empty());
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn limits_transfer_floods_and_foreign_sockets() -> TestResult {
    let s = TestServer::start_with(|c| c.helpline.chat_max_per_practitioner = 1).await;
    let (_a, cookie_a) = start_chat(&s.base, "adult").await;
    let (_b, _cookie_b) = start_chat(&s.base, "adult").await;
    let queue = s.state.store.chat_queue().await?;
    let (first, second) = (queue[0].id, queue[1].id);
    let (p1, csrf1, _) = session_for(&s, Role::Practitioner, 1).await;
    let (p2, csrf2, p2_id) = session_for(&s, Role::Practitioner, 2).await;
    assert_eq!(
        post(
            &p1,
            s.url(&format!("/console/chats/{first}/take")),
            &[("csrf", &csrf1)]
        )
        .await
        .status(),
        StatusCode::SEE_OTHER
    );
    // At the limit of one chat, a second take is refused with a clear message.
    let resp = post(
        &p1,
        s.url(&format!("/console/chats/{second}/take")),
        &[("csrf", &csrf1)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await?.contains("already have 1"));
    // Transfer to a colleague who is available and has room.
    post(
        &p2,
        s.url("/console/chats/availability"),
        &[("csrf", &csrf2), ("available", "yes")],
    )
    .await;
    let resp = post(
        &p1,
        s.url(&format!("/console/chats/{first}/transfer")),
        &[("csrf", &csrf1), ("to", &p2_id.to_string())],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        s.state
            .store
            .conversation_get(first)
            .await?
            .unwrap()
            .claimed_by,
        Some(p2_id)
    );
    // The first practitioner can no longer write in it.
    let resp = post(
        &p1,
        s.url(&format!("/console/chats/{first}/send")),
        &[("csrf", &csrf1), ("message", "hi")],
    )
    .await;
    // Sent to the conversation page, which refuses them: it is a colleague's now.
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        format!("/console/inbox/{first}").as_str()
    );
    let page = p1
        .get(s.url(&format!("/console/inbox/{first}")))
        .send()
        .await?;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);

    // Flooding: a burst past the allowance is refused, and says so.
    let mut ws = socket(&s.base, "/chat/ws", &cookie_a).await;
    for i in 0..12 {
        send(
            &mut ws,
            json!({"t": "send", "cid": format!("c{i}"), "text": format!("message {i}")}),
        )
        .await;
    }
    let frames = drain(&mut ws, Duration::from_millis(800)).await;
    let acks = frames.iter().filter(|f| f["t"] == "ack").count();
    let floods = frames
        .iter()
        .filter(|f| f["t"] == "error" && f["code"] == "chat-flood")
        .count();
    assert!(
        acks >= 5 && floods >= 4 && acks + floods == 12,
        "{acks} acks, {floods} refused"
    );
    // Text only: binary frames are refused; oversized frames close the socket.
    ws.send(Message::Binary(vec![0x89, b'P', b'N', b'G'].into()))
        .await?;
    let e = next(&mut ws, "error").await;
    assert_eq!(e["code"], "text-only");
    send(&mut ws, json!({"t": "nonsense"})).await;
    assert_eq!(next(&mut ws, "error").await["code"], "bad-frame");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let huge = "y".repeat(5000);
    send(&mut ws, json!({"t": "send", "cid": "big", "text": huge})).await;
    let e = next(&mut ws, "error").await;
    assert_eq!(e["code"], "message-too-long");
    assert!(e["text"].as_str().unwrap().contains("4000"));

    // A socket opened from another site is refused.
    let mut req = s
        .base
        .replacen("http://", "ws://", 1)
        .add_path("/chat/ws")
        .into_client_request()?;
    req.headers_mut().insert("cookie", cookie_a.parse()?);
    req.headers_mut()
        .insert("origin", "https://evil.example".parse()?);
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
    // And no socket without a chat.
    let mut req = s
        .base
        .replacen("http://", "ws://", 1)
        .add_path("/chat/ws")
        .into_client_request()?;
    req.headers_mut().insert("origin", s.base.parse()?);
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
    s.stop().await;
    Ok(())
}

trait AddPath {
    fn add_path(self, p: &str) -> String;
}
impl AddPath for String {
    fn add_path(self, p: &str) -> String {
        format!("{self}{p}")
    }
}

#[tokio::test]
async fn two_instances_on_one_postgresql_chat_normally() -> TestResult {
    if crate::common::postgres_url().is_none() {
        // Instances share chats through PostgreSQL's LISTEN/NOTIFY: this runs in the
        // PostgreSQL pass, and .ci/run fails if that pass did not run it.
        eprintln!(
            "not on SQLite: two instances run in the PostgreSQL pass (REACHLINE_TEST_POSTGRES_URL)"
        );
        return Ok(());
    }
    let a = TestServer::start().await;
    let b = a.start_beside().await;
    let (_seeker, cookie) = start_chat(&a.base, "adult").await;
    let id = a.state.store.chat_queue().await?[0].id;
    let mut hs = socket(&a.base, "/chat/ws", &cookie).await;
    assert_eq!(next(&mut hs, "status").await["status"], "waiting");
    // The practitioner is on the other instance.
    let (p, csrf, _, token) = session_with_token(&b, Role::Practitioner, 1).await;
    let resp = post(
        &p,
        b.url(&format!("/console/chats/{id}/take")),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    status_becomes(&mut hs, "active").await;
    let mut ps = socket(
        &b.base,
        &format!("/console/chats/{id}/ws"),
        &format!("rl_console={token}"),
    )
    .await;
    next(&mut ps, "status").await;
    send(
        &mut hs,
        json!({"t": "send", "cid": "x1", "text": "hello from instance a"}),
    )
    .await;
    assert_eq!(next(&mut ps, "msg").await["text"], "hello from instance a");
    send(&mut ps, json!({"t": "typing"})).await;
    next(&mut hs, "typing").await;
    send(
        &mut ps,
        json!({"t": "send", "cid": "y1", "text": "hello from instance b"}),
    )
    .await;
    assert_eq!(next(&mut hs, "msg").await["text"], "hello from instance b");
    b.stop().await;
    a.stop().await;
    Ok(())
}

#[tokio::test]
async fn killing_the_server_mid_chat_loses_no_acknowledged_message() -> TestResult {
    const ALWAYS: &[(&str, &str)] = &[("REACHLINE_HELPLINE_OPENING_HOURS", "mon-sun 00:00-24:00")];
    let mut server = BinaryServer::start(ALWAYS);
    let (_seeker, cookie) = start_chat(&server.base, "adult").await;
    let mut ws = socket(&server.base, "/chat/ws", &cookie).await;
    next(&mut ws, "status").await;
    // Send steadily (within the flood allowance) and kill the server part-way.
    let mut acked = Vec::new();
    for i in 0..6 {
        send(
            &mut ws,
            json!({"t": "send", "cid": format!("k{i}"), "text": format!("durable message {i}")}),
        )
        .await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while acked.len() < 3 && tokio::time::Instant::now() < deadline {
        let f = next(&mut ws, "ack").await;
        acked.push((
            f["cid"].as_str().unwrap().to_string(),
            f["seq"].as_i64().unwrap(),
        ));
    }
    let _ = std::process::Command::new("kill")
        .arg("-KILL")
        .arg(server.child.id().to_string())
        .status();
    let _ = server.child.wait();
    // Whatever else was acknowledged before the kill counts too.
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(200), ws.next()).await
    {
        let f: Value = serde_json::from_str(t.as_str())?;
        if f["t"] == "ack" {
            acked.push((
                f["cid"].as_str().unwrap().to_string(),
                f["seq"].as_i64().unwrap(),
            ));
        }
    }
    assert!(acked.len() >= 3);

    // Restart on the same data; the client reconnects from the start and finds every
    // acknowledged message, each once.
    let restarted = server.restart(ALWAYS);
    let mut ws = socket(&restarted.base, "/chat/ws?after=0", &cookie).await;
    let frames = drain(&mut ws, Duration::from_millis(800)).await;
    let got: Vec<(i64, String)> = frames
        .iter()
        .filter(|f| f["t"] == "msg")
        .map(|f| {
            (
                f["seq"].as_i64().unwrap(),
                f["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (cid, seq) in &acked {
        let n: usize = cid[1..].parse()?;
        assert!(
            got.contains(&(*seq, format!("durable message {n}"))),
            "acknowledged message {cid} (seq {seq}) lost after the kill: {got:?}"
        );
    }
    let mut seqs: Vec<i64> = got.iter().map(|g| g.0).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), got.len(), "a message came twice");
    Ok(())
}

/// Waits for the practitioner's socket to be told why it closes, then for it to close; a
/// frame sent after that is not acknowledged.
async fn revoked_then_closed(ws: &mut Ws, code: &str) {
    let v = next(ws, "revoked").await;
    assert_eq!(v["code"], code, "{v}");
    assert!(!v["text"].as_str().unwrap_or_default().is_empty());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(Message::Close(_)))) => break,
            Ok(Some(Ok(Message::Text(t)))) => {
                assert!(
                    !t.as_str().contains("\"ack\""),
                    "a revoked socket acknowledged {t}"
                )
            }
            Ok(Some(Ok(_))) => {}
            Err(_) => panic!("the revoked socket stayed open"),
        }
    }
    // Whatever is still sent is not stored.
    let _ = ws
        .send(Message::Text(
            json!({"t": "send", "cid": "late1", "text": "after revocation"})
                .to_string()
                .into(),
        ))
        .await;
}

/// A practitioner's open chat socket does not outlive their session: "sign out everywhere",
/// a disabled account and a role change each close it within a second or two with a
/// reason, and nothing it sends afterwards is stored.
#[tokio::test]
async fn a_revoked_practitioner_loses_their_open_chat_socket() -> TestResult {
    let s = TestServer::start().await;
    let (admin, admin_csrf, _) = session_for(&s, Role::Administrator, 9).await;
    for (n, how) in [(1, "everywhere"), (2, "disable"), (3, "role")] {
        let (_seeker, cookie) = start_chat(&s.base, "adult").await;
        let id = chat_id(&s).await;
        let (p, csrf, pid, token) = session_with_token(&s, Role::Practitioner, n).await;
        post(
            &p,
            s.url("/console/chats/availability"),
            &[("csrf", &csrf), ("available", "yes")],
        )
        .await;
        let taken = post(
            &p,
            s.url(&format!("/console/chats/{id}/take")),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(taken.status(), StatusCode::SEE_OTHER, "{how}");
        let mut hs = socket(&s.base, "/chat/ws", &cookie).await;
        let mut ps = socket(
            &s.base,
            &format!("/console/chats/{id}/ws"),
            &format!("rl_console={token}"),
        )
        .await;
        send(
            &mut ps,
            json!({"t": "send", "cid": format!("b{n}"), "text": "before"}),
        )
        .await;
        next(&mut ps, "ack").await;
        next(&mut hs, "msg").await;
        let resp = match how {
            "everywhere" => {
                post(
                    &p,
                    s.url("/console/sign-out-everywhere"),
                    &[("csrf", &csrf)],
                )
                .await
            }
            "disable" => {
                post(
                    &admin,
                    s.url(&format!("/console/staff/{pid}/disable")),
                    &[("csrf", &admin_csrf)],
                )
                .await
            }
            _ => {
                post(
                    &admin,
                    s.url(&format!("/console/staff/{pid}/role")),
                    &[("csrf", &admin_csrf), ("role", "supervisor"), ("areas", "")],
                )
                .await
            }
        };
        assert!(
            resp.status().is_redirection() || resp.status().is_success(),
            "{how}: {}",
            resp.status()
        );
        revoked_then_closed(&mut ps, "signed-out").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let stored = s.state.store.messages(id, 0).await?;
        assert_eq!(stored.len(), 1, "{how}: a revoked socket stored a message");
        // Reconnecting with the revoked session is refused at the door.
        let url = format!(
            "{}/console/chats/{id}/ws",
            s.base.replacen("http://", "ws://", 1)
        );
        let mut req = url.into_client_request()?;
        req.headers_mut()
            .insert("cookie", format!("rl_console={token}").parse()?);
        req.headers_mut().insert("origin", s.base.parse()?);
        assert!(
            tokio_tungstenite::connect_async(req).await.is_err(),
            "{how}"
        );
    }
    s.stop().await;
    Ok(())
}

/// A practitioner's open sockets share one reading of their session's standing: a chat
/// transferred away closes only its own socket ("not-yours"), while the practitioner's other
/// chat, read in the same reading, goes on.
#[tokio::test]
async fn a_transfer_closes_only_the_transferred_chats_socket() -> TestResult {
    let s = TestServer::start().await;
    let (_a, cookie_a) = start_chat(&s.base, "adult").await;
    let first = chat_id(&s).await;
    let (_b, cookie_b) = start_chat(&s.base, "adult").await;
    let second = s
        .state
        .store
        .chat_queue()
        .await?
        .iter()
        .map(|c| c.id)
        .find(|id| *id != first)
        .unwrap();
    let (p1, csrf1, _, token) = session_with_token(&s, Role::Practitioner, 1).await;
    let (p2, csrf2, p2_id) = session_for(&s, Role::Practitioner, 2).await;
    for (c, csrf) in [(&p1, &csrf1), (&p2, &csrf2)] {
        post(
            c,
            s.url("/console/chats/availability"),
            &[("csrf", csrf), ("available", "yes")],
        )
        .await;
    }
    for id in [first, second] {
        let taken = post(
            &p1,
            s.url(&format!("/console/chats/{id}/take")),
            &[("csrf", &csrf1)],
        )
        .await;
        assert_eq!(taken.status(), StatusCode::SEE_OTHER);
    }
    let console = format!("rl_console={token}");
    let mut ps_first = socket(&s.base, &format!("/console/chats/{first}/ws"), &console).await;
    let mut ps_second = socket(&s.base, &format!("/console/chats/{second}/ws"), &console).await;
    let mut hs_first = socket(&s.base, "/chat/ws", &cookie_a).await;
    let mut hs_second = socket(&s.base, "/chat/ws", &cookie_b).await;
    for (ps, hs, cid) in [
        (&mut ps_first, &mut hs_first, "f1"),
        (&mut ps_second, &mut hs_second, "s1"),
    ] {
        send(ps, json!({"t": "send", "cid": cid, "text": "hello"})).await;
        next(ps, "ack").await;
        next(hs, "msg").await;
    }
    let moved = post(
        &p1,
        s.url(&format!("/console/chats/{first}/transfer")),
        &[("csrf", &csrf1), ("to", &p2_id.to_string())],
    )
    .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    revoked_then_closed(&mut ps_first, "not-yours").await;
    // The other chat's socket was re-checked meanwhile, by the same reading, and stays.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    send(
        &mut ps_second,
        json!({"t": "send", "cid": "s2", "text": "still here"}),
    )
    .await;
    next(&mut ps_second, "ack").await;
    assert_eq!(next(&mut hs_second, "msg").await["text"], "still here");
    assert_eq!(s.state.store.messages(first, 0).await?.len(), 1);
    s.stop().await;
    Ok(())
}

/// Even at `trace`, and even when the operator's filter asks for the WebSocket library at
/// `trace`, no log line carries chat text: the libraries that would log frames are capped.
#[tokio::test]
async fn chat_text_never_reaches_the_log_even_at_trace() -> TestResult {
    let env = [
        ("REACHLINE_HELPLINE_OPENING_HOURS", "mon-sun 00:00-24:00"),
        (
            "REACHLINE_LOG_FILTER",
            "trace,tungstenite=trace,tokio_tungstenite=trace,hyper=trace",
        ),
    ];
    let mut server = BinaryServer::start(&env);
    let (_seeker, cookie) = start_chat(&server.base, "adult").await;
    let mut ws = socket(&server.base, "/chat/ws", &cookie).await;
    send(&mut ws, json!({"t": "send", "cid": "m1", "text": MARKER})).await;
    next(&mut ws, "ack").await;
    drop(ws);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(&server.log)?;
    assert!(
        log.contains("route=/chat/start"),
        "the request log is missing: {log}"
    );
    assert!(!log.contains("bluepineapple"), "the log holds chat text");
    assert!(!log.contains("90210"), "the log holds chat text");
    Ok(())
}

/// While one client floods the service with chats it never opens and codes that open
/// nothing, a help-seeker with the right code gets back in, and a help-seeker who starts a
/// chat is told a true place in the queue (the flood's chats are not in it).
#[tokio::test]
async fn a_flood_of_unopened_chats_and_wrong_codes_does_not_push_out_a_real_help_seeker(
) -> TestResult {
    let s = TestServer::start_with(|c| c.selfhelp.failed_codes_per_minute = 3).await;
    // A help-seeker who wrote to us earlier has a return code.
    let writer = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let sent = post(
        &writer,
        s.url("/contact/message"),
        &[
            ("statement", "read"),
            ("message", "I would like to talk about something."),
        ],
    )
    .await
    .text()
    .await?;
    let code = crate::common::return_code(&sent)
        .unwrap_or_default()
        .to_string();
    assert_eq!(code.len(), 24, "{sent}");

    // The flood: chats started and never opened, and well-formed codes that open nothing.
    let flooder = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let base = s.base.clone();
    let flood = tokio::spawn(async move {
        for i in 0..300 {
            let _ = post(
                &flooder,
                format!("{base}/chat/start"),
                &[("statement", "read"), ("who", "self")],
            )
            .await;
            if i % 5 == 0 {
                let wrong = reachline_core::return_code::ReturnCode::generate().display();
                let _ = post(
                    &flooder,
                    format!("{base}/contact/continue"),
                    &[("code", &wrong)],
                )
                .await;
                let _ = post(
                    &flooder,
                    format!("{base}/progress/resume"),
                    &[("code", &wrong)],
                )
                .await;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The help-seeker with the right code continues their thread.
    let back = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let resp = post(&back, s.url("/contact/continue"), &[("code", &code)]).await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "the right code was refused"
    );
    let thread = back
        .get(s.url("/contact/thread"))
        .send()
        .await?
        .text()
        .await?;
    assert!(thread.contains("I would like to talk about something."));

    // A new help-seeker opens a chat: they are next, whatever the flood started.
    let (_seeker, cookie) = start_chat(&s.base, "adult").await;
    let mut ws = socket(&s.base, "/chat/ws", &cookie).await;
    let status = next(&mut ws, "status").await;
    assert_eq!(status["status"], "waiting", "{status}");
    assert_eq!(
        status["ahead"], 0,
        "told a place behind chats nobody opened: {status}"
    );
    flood.await?;
    let status = match tokio::time::timeout(Duration::from_secs(3), next(&mut ws, "status")).await {
        Ok(v) => v,
        Err(_) => status,
    };
    assert_eq!(status["ahead"], 0, "{status}");
    // The practitioners' queue shows the one real chat.
    assert_eq!(s.state.store.chat_queue().await?.len(), 1);
    // The never-opened chats leave no trace a minute later: no missed contacts.
    s.clock.advance(61);
    reachline_web::housekeeping(&s.state).await;
    let waiting = s.state.store.chats_waiting_count().await?;
    assert_eq!(waiting, 1);
    s.stop().await;
    Ok(())
}

/// A chat is open only to the practitioner it is assigned to; a colleague asking for it by
/// id is refused (and that is recorded), a supervisor's view is recorded as supervision.
#[tokio::test]
async fn a_chat_is_opened_only_by_its_practitioner_or_a_supervisor() -> TestResult {
    let s = TestServer::start().await;
    let (_seeker, _cookie) = start_chat(&s.base, "adult").await;
    let id = chat_id(&s).await;
    let (p1, csrf1, _) = session_for(&s, Role::Practitioner, 1).await;
    let (p2, _, _) = session_for(&s, Role::Practitioner, 2).await;
    let (sup, _, _) = session_for(&s, Role::Supervisor, 3).await;
    post(
        &p1,
        s.url("/console/chats/availability"),
        &[("csrf", &csrf1), ("available", "yes")],
    )
    .await;
    let taken = post(
        &p1,
        s.url(&format!("/console/chats/{id}/take")),
        &[("csrf", &csrf1)],
    )
    .await;
    assert_eq!(taken.status(), StatusCode::SEE_OTHER);
    let url = s.url(&format!("/console/inbox/{id}"));
    assert_eq!(p1.get(&url).send().await?.status(), StatusCode::OK);
    let refused = p2.get(&url).send().await?;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await?.contains("with a colleague"));
    assert_eq!(sup.get(&url).send().await?.status(), StatusCode::OK);
    let log = s.state.store.audit_all().await?;
    assert!(log
        .iter()
        .any(|e| e.action == "conversation.view.refused" && e.actor == "practitioner2"));
    assert!(log
        .iter()
        .any(|e| e.action == "conversation.supervise" && e.actor == "supervisor3"));
    s.stop().await;
    Ok(())
}

/// What can change about a conversation: its state, who holds it, how many messages exist.
async fn footprint(s: &TestServer, id: i64) -> (String, Option<i64>, i64) {
    let c = s.state.store.conversation_get(id).await.unwrap().unwrap();
    (
        c.status.to_string(),
        c.claimed_by,
        s.state.store.messages_count().await.unwrap(),
    )
}

/// A secure-message thread written by a help-seeker and claimed by `staff`; its id.
async fn claimed_thread(s: &TestServer, staff: &Client, csrf: &str) -> i64 {
    let resp = post(
        &s.browser(),
        s.url("/contact/message"),
        &[
            ("statement", "read"),
            ("message", "bluepineapple matrix thread"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let id = s
        .state
        .store
        .conversations_open(Channel::Message)
        .await
        .unwrap()
        .iter()
        .filter(|c| c.claimed_by.is_none())
        .map(|c| c.id)
        .max()
        .unwrap();
    let resp = post(
        staff,
        s.url(&format!("/console/inbox/{id}/claim")),
        &[("csrf", csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    id
}

/// A chat started by a help-seeker and taken by `staff` (who is available); its id.
async fn taken_chat(s: &TestServer, staff: &Client, csrf: &str) -> i64 {
    let (_seeker, _) = start_chat(&s.base, "adult").await;
    let id = s.state.store.chat_queue().await.unwrap().last().unwrap().id;
    let resp = post(
        staff,
        s.url(&format!("/console/chats/{id}/take")),
        &[("csrf", csrf)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    id
}

#[tokio::test]
async fn conversation_routes_by_role_and_by_assignment() -> TestResult {
    // The route × role matrix (console.rs) says which roles reach a route at all; this adds
    // the second dimension for every route that acts on one conversation: whether it is
    // assigned to the one asking. Views: the assigned practitioner, or a supervisor (an
    // audited supervision view); actions: the assigned practitioner only. "Acted" is judged
    // by what changed in the store, whatever the status code.
    let s = TestServer::start_with(|c| c.helpline.chat_max_per_practitioner = 10).await;
    let (p, p_csrf, p_id) = session_for(&s, Role::Practitioner, 1).await;
    let (q, q_csrf, q_id, q_token) = session_with_token(&s, Role::Practitioner, 2).await;
    let (sup, sup_csrf, _, sup_token) = session_with_token(&s, Role::Supervisor, 3).await;
    for (c, t) in [(&p, &p_csrf), (&q, &q_csrf)] {
        post(
            c,
            s.url("/console/chats/availability"),
            &[("csrf", t), ("available", "yes")],
        )
        .await;
    }
    let chat = taken_chat(&s, &p, &p_csrf).await;
    let thread = claimed_thread(&s, &p, &p_csrf).await;
    let not_assigned = [
        ("practitioner, not assigned", &q, &q_csrf, false),
        ("supervisor, not assigned", &sup, &sup_csrf, true),
    ];

    // Views. The live chat page and its transcript are the assigned practitioner's working
    // surface; anyone else asking for the chat page is sent to the conversation page, which
    // is the supervisor's audited view and a colleague's recorded refusal.
    async fn view(s: &TestServer, c: &Client, path: &str) -> StatusCode {
        let resp = c.get(s.url(path)).send().await.unwrap();
        let to = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        match to {
            Some(to)
                if resp.status() == StatusCode::SEE_OTHER && to.starts_with("/console/inbox/") =>
            {
                c.get(s.url(&to)).send().await.unwrap().status()
            }
            _ => resp.status(),
        }
    }
    // (The transcript frame answers "not found" to anyone else: there is no chat of theirs
    // with that number.)
    for (path, supervisor_sees, refused) in [
        (
            format!("/console/chats/{chat}"),
            true,
            StatusCode::FORBIDDEN,
        ),
        (
            format!("/console/chats/{chat}/transcript"),
            false,
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/console/inbox/{chat}"),
            true,
            StatusCode::FORBIDDEN,
        ),
        (
            format!("/console/inbox/{thread}"),
            true,
            StatusCode::FORBIDDEN,
        ),
    ] {
        assert_eq!(
            view(&s, &p, &path).await,
            StatusCode::OK,
            "assigned: {path}"
        );
        for (who, c, _, supervisor) in not_assigned {
            let expected = if supervisor && supervisor_sees {
                StatusCode::OK
            } else {
                refused
            };
            assert_eq!(view(&s, c, &path).await, expected, "{who}: GET {path}");
        }
    }
    // The live socket is the working surface too: only the assigned practitioner opens it
    // (a supervisor follows the chat through the conversation page).
    for (who, token) in [
        ("practitioner, not assigned", &q_token),
        ("supervisor, not assigned", &sup_token),
    ] {
        let url = format!(
            "{}/console/chats/{chat}/ws",
            s.base.replacen("http://", "ws://", 1)
        );
        let mut req = url.into_client_request()?;
        req.headers_mut()
            .insert("cookie", format!("rl_console={token}").parse()?);
        req.headers_mut().insert("origin", s.base.parse()?);
        let opened = tokio_tungstenite::connect_async(req).await;
        assert!(opened.is_err(), "{who} opened the chat's socket");
    }

    // Actions: nobody but the assigned practitioner changes anything.
    type Action<'a> = (String, i64, Vec<(&'a str, String)>);
    let actions: Vec<Action> = vec![
        (
            format!("/console/chats/{chat}/send"),
            chat,
            vec![("message", "not theirs".into())],
        ),
        (
            format!("/console/chats/{chat}/transfer"),
            chat,
            vec![("to", q_id.to_string())],
        ),
        (format!("/console/chats/{chat}/end"), chat, vec![]),
        (
            format!("/console/inbox/{thread}/reply"),
            thread,
            vec![("message", "not theirs".into())],
        ),
        (
            format!("/console/inbox/{thread}/close"),
            thread,
            vec![("concern-none", "on".into())],
        ),
        (
            format!("/console/inbox/{chat}/reply"),
            chat,
            vec![("message", "not theirs".into())],
        ),
    ];
    for (path, id, extra) in &actions {
        for (who, c, csrf, _) in not_assigned {
            let before = footprint(&s, *id).await;
            let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
            form.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
            let status = post(c, s.url(path), &form).await.status();
            assert!(
                status.is_client_error() || status == StatusCode::SEE_OTHER,
                "{who}: POST {path}: {status}"
            );
            assert_eq!(
                footprint(&s, *id).await,
                before,
                "{who}: POST {path} changed the conversation"
            );
        }
    }
    // The assigned practitioner does act.
    for (path, id, extra) in [
        (
            format!("/console/chats/{chat}/send"),
            chat,
            vec![("message", "Hello, I am here.")],
        ),
        (
            format!("/console/inbox/{thread}/reply"),
            thread,
            vec![("message", "Thank you for writing.")],
        ),
        (format!("/console/chats/{chat}/end"), chat, vec![]),
    ] {
        let before = footprint(&s, id).await;
        let mut form = vec![("csrf", p_csrf.as_str())];
        form.extend(extra);
        let status = post(&p, s.url(&path), &form).await.status();
        assert_eq!(status, StatusCode::SEE_OTHER, "assigned: POST {path}");
        assert_ne!(
            footprint(&s, id).await,
            before,
            "assigned: POST {path} changed nothing"
        );
    }
    let second = taken_chat(&s, &p, &p_csrf).await;
    let resp = post(
        &p,
        s.url(&format!("/console/chats/{second}/transfer")),
        &[("csrf", &p_csrf), ("to", &q_id.to_string())],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(footprint(&s, second).await.1, Some(q_id));
    assert_ne!(q_id, p_id);
    s.stop().await;
    Ok(())
}

/// Polls `path` until its page contains `text` (the queue is read at most every two
/// seconds, so a change shows within that).
async fn page_says(s: &TestServer, c: &Client, path: &str, text: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let html = c
            .get(s.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if html.contains(text) {
            return html;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path} never said {text:?}: {html}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn the_wait_is_told_before_and_after_starting_a_chat() -> TestResult {
    let s = TestServer::start().await;
    let visitor = s.browser();
    // Nobody available: "Get help now" and the home page say how long the wait is.
    page_says(
        &s,
        &visitor,
        "/get-help",
        "The wait to chat is about 10 minutes",
    )
    .await;
    page_says(&s, &visitor, "/", "The wait to chat is about").await;
    let (seeker, _) = start_chat(&s.base, "adult").await;
    page_says(
        &s,
        &seeker,
        "/chat",
        "number 1 in the queue. Expected wait: about 10 minutes",
    )
    .await;
    // A practitioner becomes available with room: nobody is told ten minutes any more.
    let (p, csrf, _) = session_for(&s, Role::Practitioner, 1).await;
    post(
        &p,
        s.url("/console/chats/availability"),
        &[("csrf", &csrf), ("available", "yes")],
    )
    .await;
    page_says(
        &s,
        &seeker,
        "/chat",
        "A practitioner will be with you shortly",
    )
    .await;
    page_says(
        &s,
        &visitor,
        "/get-help",
        "A practitioner is free to talk now",
    )
    .await;
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_practitioner_sees_their_other_chats_with_unread_messages_and_waits() -> TestResult {
    let s = TestServer::start().await;
    let (a_seeker, _) = start_chat(&s.base, "adult").await;
    let a = chat_id(&s).await;
    let (_b_seeker, _) = start_chat(&s.base, "adult").await;
    let b = s.state.store.chat_queue().await?[1].id;
    let (p, csrf, _) = session_for(&s, Role::Practitioner, 1).await;
    post(
        &p,
        s.url("/console/chats/availability"),
        &[("csrf", &csrf), ("available", "yes")],
    )
    .await;
    for id in [a, b] {
        let resp = post(
            &p,
            s.url(&format!("/console/chats/{id}/take")),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    }
    // The help-seeker in chat A writes twice while the practitioner is in chat B.
    let page = a_seeker.get(s.url("/chat")).send().await?.text().await?;
    let cid = between(&page, "name=\"cid\" value=\"", "\"")
        .unwrap()
        .to_string();
    post(
        &a_seeker,
        s.url("/chat/send"),
        &[("cid", &cid), ("message", MARKER)],
    )
    .await;
    post(
        &a_seeker,
        s.url("/chat/send"),
        &[("cid", "second"), ("message", MARKER)],
    )
    .await;

    let in_b = p
        .get(s.url(&format!("/console/chats/{b}")))
        .send()
        .await?
        .text()
        .await?;
    let list = between(&in_b, "id=\"held-chats\"", "</ul>").expect("the list of chats");
    let item = |id: i64| {
        between(list, &format!("href=\"/console/chats/{id}\""), "</li>")
            .unwrap_or_else(|| panic!("chat {id} is not listed: {list}"))
            .to_string()
    };
    assert!(item(b).contains("aria-current=\"page\""));
    let a_item = item(a);
    assert!(
        a_item.contains("2 new messages") && !a_item.contains("hidden"),
        "{a_item}"
    );
    assert!(
        a_item.contains("waiting for your reply for 0 min"),
        "{a_item}"
    );
    // The live counts say the same, for the console's script.
    let live: Value = p.get(s.url("/console/live")).send().await?.json().await?;
    let held = live["held"].as_array().unwrap();
    assert_eq!(held.len(), 2);
    assert!(held
        .iter()
        .any(|h| h["id"] == a && h["unread"] == 2 && h["text"] == "2 new messages"));

    // Reading chat A (its transcript, as the page without JavaScript shows it) clears them.
    let t = p
        .get(s.url(&format!("/console/chats/{a}/transcript")))
        .send()
        .await?;
    assert_eq!(t.status(), StatusCode::OK);
    let in_b = p
        .get(s.url(&format!("/console/chats/{b}")))
        .send()
        .await?
        .text()
        .await?;
    let list = between(&in_b, "id=\"held-chats\"", "</ul>").unwrap();
    let a_item = between(list, &format!("href=\"/console/chats/{a}\""), "</li>").unwrap();
    assert!(
        a_item.contains("data-unread=\"") && a_item.contains(" hidden>"),
        "{a_item}"
    );
    let live: Value = p.get(s.url("/console/live")).send().await?.json().await?;
    assert!(live["held"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["unread"] == 0));
    s.stop().await;
    Ok(())
}
