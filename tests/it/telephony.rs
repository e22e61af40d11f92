//! The phone line as a telephony provider meets it: Twilio-compatible webhooks signed with
//! the auth token, answered with TwiML; calls become one record each, missed calls one
//! missed contact each, and the caller's number is kept nowhere.

use crate::common::{walk_files, BinaryServer, TestResult, TestServer};
use reachline_app::telephony::twilio_signature;
use reqwest::StatusCode;
use std::sync::Arc;

const TOKEN: &str = "an-invented-auth-token-7731";
/// An invented number (UK drama range); it must appear nowhere.
const CALLER: &str = "+447700900731";

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Posts a webhook as the provider does, signed for `public` + `path` (or not signed).
async fn hook(
    base: &str,
    public: &str,
    path: &str,
    params: &[(String, String)],
    token: Option<&str>,
) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut req = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(t) = token {
        req = req.header(
            "X-Twilio-Signature",
            twilio_signature(t, &format!("{public}{path}"), params),
        );
    }
    req.send().await.unwrap()
}

async fn calls(s: &TestServer) -> Vec<reachline_store::CallRow> {
    s.state.store.calls_between(0, i64::MAX).await.unwrap()
}

#[tokio::test]
async fn a_signed_incoming_call_is_answered_with_twiml_and_an_unsigned_one_changes_nothing(
) -> TestResult {
    let s = TestServer::start().await;
    let public = s.state.public_url();
    let base = s.url("");
    let voice = "/telephony/twilio/voice";
    let params = form(&[
        ("CallSid", "CA00000000000000000000000000000001"),
        ("From", CALLER),
        ("To", "+441632960001"),
        ("CallStatus", "ringing"),
    ]);
    // No token set yet: refused.
    let resp = hook(&base, &public, voice, &params, Some(TOKEN)).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    reachline_app::ops::telephony_set_twilio_token(
        &s.state.config,
        Arc::new(s.clock.clone()),
        &format!("{TOKEN}\n"),
    )
    .await?;
    // Unsigned, signed with another token, signed for other parameters: 403, nothing made.
    assert_eq!(
        hook(&base, &public, voice, &params, None).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        hook(&base, &public, voice, &params, Some("another-token"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let mut forged = reqwest::Client::new()
        .post(format!("{base}{voice}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "X-Twilio-Signature",
            twilio_signature(
                TOKEN,
                &format!("{public}{voice}"),
                &form(&[("CallSid", "CAother")]),
            ),
        )
        .body("CallSid=CA00000000000000000000000000000001&From=%2B447700900731")
        .send()
        .await?;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    forged = reqwest::Client::new()
        .get(format!("{base}{voice}"))
        .send()
        .await?;
    assert_ne!(forged.status(), StatusCode::OK);
    assert!(calls(&s).await.is_empty(), "a refused request made a call");

    // Signed: TwiML that queues the caller (Monday 10:00, in hours), with a welcome.
    let resp = hook(&base, &public, voice, &params, Some(TOKEN)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()?
        .starts_with("text/xml"));
    let twiml = resp.text().await?;
    assert!(
        twiml.starts_with("<?xml") && twiml.contains("<Response>"),
        "{twiml}"
    );
    assert!(twiml.contains("<Say language=\"en-GB\">Thank you for calling."));
    assert!(
        twiml.contains(&format!(
            "<Enqueue action=\"{public}/telephony/twilio/queue\" method=\"POST\" waitUrl=\"{public}/telephony/twilio/queue\""
        )) && twiml.contains(">helpline</Enqueue>"),
        "{twiml}"
    );
    // The same request again (a replay): refused, nothing changes.
    assert_eq!(
        hook(&base, &public, voice, &params, Some(TOKEN))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let now = calls(&s).await;
    assert_eq!(now.len(), 1);
    assert_eq!(
        (now[0].outcome.as_str(), now[0].enqueued_at.is_some()),
        ("pending", true)
    );
    // Repeat callers are not counted unless the operator says so: no hash.
    assert_eq!(now[0].caller_hash, None);

    // The wait URL tells the caller their place and expected wait.
    let queue = "/telephony/twilio/queue";
    let wait = form(&[
        ("CallSid", "CA00000000000000000000000000000001"),
        ("QueuePosition", "3"),
        ("QueueTime", "40"),
        ("AvgQueueTime", "60"),
    ]);
    let twiml = hook(&base, &public, queue, &wait, Some(TOKEN))
        .await
        .text()
        .await?;
    assert!(twiml.contains("You are number 3 in the queue."), "{twiml}");
    assert!(twiml.contains("<Pause length=\"20\"/>"));

    // Out of hours (Sunday night): told where to find help, recorded as missed at once.
    s.clock.advance(6 * 86_400 - 10 * 3600 + 3 * 3600);
    let night = form(&[
        ("CallSid", "CA00000000000000000000000000000002"),
        ("From", "anonymous"),
    ]);
    let twiml = hook(&base, &public, voice, &night, Some(TOKEN))
        .await
        .text()
        .await?;
    assert!(twiml.contains("The helpline is closed now."), "{twiml}");
    assert!(twiml.contains("We open again") && twiml.contains(&public));
    assert!(twiml.contains("<Hangup/>") && !twiml.contains("Enqueue"));
    let night_call = calls(&s)
        .await
        .into_iter()
        .find(|c| c.external_id.ends_with('2'))
        .expect("night call");
    assert_eq!(night_call.outcome, "out-of-hours");
    s.stop().await;
    Ok(())
}

/// The must-show of the phone line: a call that ends in the queue is one missed contact,
/// whatever order and however often its callbacks come, and the number is nowhere.
#[test]
fn a_call_abandoned_in_the_queue_is_one_missed_contact_and_its_number_is_kept_nowhere() {
    let mut server = BinaryServer::start(&[
        ("REACHLINE_LOG_FILTER", "trace"),
        ("REACHLINE_HELPLINE_OPENING_HOURS", "mon-sun 00:00-24:00"),
        ("REACHLINE_TELEPHONY_COUNT_REPEAT_CALLERS", "true"),
    ]);
    let bin = env!("CARGO_BIN_EXE_reachline");
    let mut set = std::process::Command::new(bin)
        .args(["telephony", "twilio-token", "--data-dir"])
        .arg(&server.data_dir)
        .env_remove("REACHLINE_DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(set.stdin.as_mut().unwrap(), TOKEN.as_bytes()).unwrap();
    drop(set.stdin.take());
    let out = set.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(TOKEN));
    let base = server.url("");
    // The binary serves on --listen; its public address is that.
    let public = base.clone();
    let sid = "CA00000000000000000000000000000731";
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ok = |r: reqwest::Response| {
            let status = r.status();
            assert!(status.is_success(), "{status}");
        };
        ok(hook(
            &base,
            &public,
            "/telephony/twilio/voice",
            &form(&[
                ("CallSid", sid),
                ("From", CALLER),
                ("CallStatus", "ringing"),
            ]),
            Some(TOKEN),
        )
        .await);
        // Out of order: the status callback first, then the queue result, then the queue
        // result again as a retry (refused as a replay), and once more with other figures.
        ok(hook(
            &base,
            &public,
            "/telephony/twilio/status",
            &form(&[
                ("CallSid", sid),
                ("From", CALLER),
                ("CallStatus", "completed"),
                ("CallDuration", "95"),
            ]),
            Some(TOKEN),
        )
        .await);
        let hangup = form(&[
            ("CallSid", sid),
            ("QueueResult", "hangup"),
            ("QueueTime", "93"),
        ]);
        ok(hook(
            &base,
            &public,
            "/telephony/twilio/queue",
            &hangup,
            Some(TOKEN),
        )
        .await);
        assert_eq!(
            hook(
                &base,
                &public,
                "/telephony/twilio/queue",
                &hangup,
                Some(TOKEN)
            )
            .await
            .status(),
            StatusCode::FORBIDDEN
        );
        let again = form(&[
            ("CallSid", sid),
            ("QueueResult", "hangup"),
            ("QueueTime", "94"),
        ]);
        ok(hook(
            &base,
            &public,
            "/telephony/twilio/queue",
            &again,
            Some(TOKEN),
        )
        .await);
    });
    assert!(server.terminate().success());
    // The data directory and the log first, as the server left them (opening the database
    // afterwards makes and removes its own journal files).
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.contains("route=/telephony/twilio/queue"),
        "no request log"
    );
    for needle in ["447700900731", "7700 900731", TOKEN] {
        assert!(!log.contains(needle), "the log holds {needle}");
        for file in walk_files(&server.data_dir) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} holds {needle}",
                file.display()
            );
        }
    }
    let db = server.data_dir.join("reachline.db");
    let (rows, missed) = rt.block_on(async {
        let store = reachline_store::Store::open_sqlite(&db).await.unwrap();
        let rows = store.calls_between(0, i64::MAX).await.unwrap();
        let missed = store
            .report_missed("0000-00", "9999-99", None)
            .await
            .unwrap();
        store.close().await;
        (rows, missed)
    });
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "abandoned");
    assert_eq!(rows[0].wait_seconds, Some(93));
    assert!(rows[0].caller_hash.as_ref().is_some_and(|h| h.len() == 64));
    let phone: i64 = missed
        .iter()
        .filter(|m| m.channel == "phone")
        .map(|m| m.n)
        .sum();
    assert_eq!(phone, 1, "{missed:?}");
}

/// A stand-in for the provider's REST API (its side only): takes one request, answers 201,
/// and hands over what it got (request line and headers, body).
async fn provider_stand_in() -> (String, tokio::sync::oneshot::Receiver<(String, String)>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= len || n == 0 {
                    let reply = "{\"sid\":\"CA00000000000000000000000000000999\"}";
                    let _ = sock
                        .write_all(
                            format!(
                                "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
                                reply.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                    let _ = tx.send((head.to_string(), body.to_string()));
                    return;
                }
            }
        }
    });
    (format!("http://{addr}"), rx)
}

#[tokio::test]
async fn a_practitioner_takes_the_next_call_from_the_console_through_the_providers_api(
) -> TestResult {
    use reachline_core::staff::Role;
    let (api, got) = provider_stand_in().await;
    let s = TestServer::start_with(|c| {
        c.telephony.provider_api_url = api.clone();
        c.telephony.account_sid = "ACinvented0001".into();
        c.telephony.caller_id = "+441632960000".into();
    })
    .await;
    reachline_app::ops::telephony_set_twilio_token(
        &s.state.config,
        Arc::new(s.clock.clone()),
        TOKEN,
    )
    .await?;
    let public = s.state.public_url();
    let base = s.url("");
    let sid = "CA00000000000000000000000000000042";
    let resp = hook(
        &base,
        &public,
        "/telephony/twilio/voice",
        &form(&[("CallSid", sid), ("From", CALLER)]),
        Some(TOKEN),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    s.clock.advance(45);

    // The practitioner sees the waiting call beside the chat queue, and takes it.
    let (c, csrf, staff_id) = crate::console::session_for(&s, Role::Practitioner, 0).await;
    let page = c.get(s.url("/console/chats")).send().await?.text().await?;
    assert!(
        page.contains("Calls waiting") && page.contains("Take the next call"),
        "{page}"
    );
    let resp = crate::common::post_form(&c, s.url("/console/calls/take"), &[("csrf", &csrf)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/console/chats?call=ringing");
    let (head, body) = got.await?;
    assert!(
        head.starts_with("POST /2010-04-01/Accounts/ACinvented0001/Calls.json HTTP/1.1"),
        "{head}"
    );
    let auth = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("ACinvented0001:{TOKEN}")
        )
    );
    assert!(head
        .to_ascii_lowercase()
        .contains(&format!("authorization: {}", auth.to_ascii_lowercase())));
    let sent: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |n: &str| sent.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(field("To").as_deref(), Some("client:practitioner0"));
    assert_eq!(field("From").as_deref(), Some("+441632960000"));
    let answered_url = format!("{public}/telephony/twilio/queue?answered_by={staff_id}");
    assert_eq!(
        field("Twiml").as_deref(),
        Some(
            format!(
                "<Response><Dial><Queue url=\"{answered_url}\">helpline</Queue></Dial></Response>"
            )
            .as_str()
        )
    );
    // The caller must never reach the provider's API: only the practitioner's address.
    assert!(!body.contains("447700900731"));

    // The provider dequeues the caller and asks the Queue url (signed): answered by them.
    let path = format!("/telephony/twilio/queue?answered_by={staff_id}");
    let dequeued = form(&[
        ("CallSid", sid),
        ("QueueTime", "45"),
        ("DequeingCallSid", "CA00000000000000000000000000000999"),
    ]);
    let twiml = hook(&base, &public, &path, &dequeued, Some(TOKEN))
        .await
        .text()
        .await?;
    assert!(
        twiml.contains("You are through to a practitioner"),
        "{twiml}"
    );
    // A forged answer naming someone else is refused (the signature covers the URL).
    let forged = reqwest::Client::new()
        .post(format!("{base}/telephony/twilio/queue?answered_by=999"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "X-Twilio-Signature",
            twilio_signature(TOKEN, &format!("{public}{path}"), &dequeued),
        )
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&dequeued)
                .finish(),
        )
        .send()
        .await?;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    s.clock.advance(300);
    let done = form(&[
        ("CallSid", sid),
        ("CallStatus", "completed"),
        ("CallDuration", "345"),
    ]);
    assert_eq!(
        hook(
            &base,
            &public,
            "/telephony/twilio/status",
            &done,
            Some(TOKEN)
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let waiting = s.state.store.calls_to_wrap_up(staff_id).await?;
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (
            waiting[0].outcome.as_str(),
            waiting[0].wait_seconds,
            waiting[0].talk_seconds
        ),
        ("answered", Some(45), Some(345))
    );
    s.stop().await;
    Ok(())
}

/// An invented Asterisk queue_log: an answered call, one abandoned, one timed out (the
/// same number as the first), and lines that are not about calls.
const QUEUE_LOG: &str = "\
1772445000|NONE|NONE|NONE|QUEUESTART|
1772445500|NONE|helpline|SIP/practitioner0|AGENTLOGIN|
1772445600|1772445600.1|helpline|NONE|ENTERQUEUE||+447700900731|1
1772445630|1772445600.1|helpline|SIP/practitioner0|CONNECT|30|1772445630.2|3
1772445930|1772445600.1|helpline|SIP/practitioner0|COMPLETECALLER|30|300|1
1772445700|1772445700.3|helpline|NONE|ENTERQUEUE||anonymous|1
1772445790|1772445700.3|helpline|NONE|ABANDON|1|1|90
1772445800|1772445800.4|helpline|NONE|ENTERQUEUE||+447700900731|1
1772446400|1772445800.4|helpline|NONE|EXITWITHTIMEOUT|1|1|600
1772445810|1772445810.5|otherqueue|NONE|ENTERQUEUE||+447700900999|1
this line is not a queue_log line
";

#[tokio::test]
async fn an_asterisk_queue_log_and_a_csv_of_call_records_become_the_same_calls() -> TestResult {
    use reachline_core::staff::Role;
    let s = TestServer::start_with(|c| c.telephony.count_repeat_callers = true).await;
    let (_, _, staff_id) = crate::console::session_for(&s, Role::Practitioner, 0).await;
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("queue_log");
    std::fs::write(&log, QUEUE_LOG)?;
    let clock: reachline_core::clock::SharedClock = Arc::new(s.clock.clone());
    let c = &s.state.config;
    // Imported twice (a rerun after a crash): the same calls, the same missed contacts.
    for _ in 0..2 {
        reachline_app::ops::telephony_import_queue_log(
            c,
            clock.clone(),
            &log,
            "helpline",
            false,
            |_| {},
        )
        .await?;
    }
    let mut rows = calls(&s).await;
    rows.sort_by_key(|r| r.external_id.clone());
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        (
            rows[0].outcome.as_str(),
            rows[0].answered_by,
            rows[0].wait_seconds,
            rows[0].talk_seconds
        ),
        ("answered", Some(staff_id), Some(30), Some(300))
    );
    assert_eq!(
        (rows[1].outcome.as_str(), rows[1].wait_seconds),
        ("abandoned", Some(90))
    );
    assert_eq!(
        (rows[2].outcome.as_str(), rows[2].wait_seconds),
        ("abandoned", Some(600))
    );
    // The same number twice in a year is one person; a withheld one is unknown.
    assert!(rows[0].caller_hash.is_some());
    assert_eq!(rows[0].caller_hash, rows[2].caller_hash);
    assert_eq!(rows[1].caller_hash, None);
    let missed = s
        .state
        .store
        .report_missed("2026-01", "2026-12", None)
        .await?;
    assert_eq!(
        missed
            .iter()
            .filter(|m| m.channel == "phone")
            .map(|m| m.n)
            .sum::<i64>(),
        2
    );
    // Following the file: what the PBX appends is picked up.
    let follow = {
        let (c, clock, log) = (c.clone(), clock.clone(), log.clone());
        tokio::spawn(async move {
            reachline_app::ops::telephony_import_queue_log(
                &c,
                clock,
                &log,
                "helpline",
                true,
                |_| {},
            )
            .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut more = std::fs::OpenOptions::new().append(true).open(&log)?;
    std::io::Write::write_all(
        &mut more,
        b"1772447000|1772447000.9|helpline|NONE|ENTERQUEUE||+447700900123|1\n1772447060|1772447000.9|helpline|NONE|ABANDON|1|1|60\n",
    )?;
    let mut seen = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if calls(&s)
            .await
            .iter()
            .any(|r| r.external_id == "1772447000.9" && r.outcome == "abandoned")
        {
            seen = true;
            break;
        }
    }
    follow.abort();
    assert!(seen, "an appended line was not followed");

    // CSV from another system; a file with a column for numbers is refused whole.
    let bad = "call_id,offered_at,outcome,wait_seconds,talk_seconds,agent,caller\nx1,1772450000,abandoned,20,,,+447700900731\n";
    assert!(reachline_app::ops::telephony_import_csv(c, bad)
        .await
        .is_err());
    let half_bad = "call_id,offered_at,outcome,wait_seconds,talk_seconds,agent\nx1,1772450000,abandoned,20,,\nx2,yesterday,answered,,,\n";
    let err = reachline_app::ops::telephony_import_csv(c, half_bad)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("line 3"), "{err}");
    let before = calls(&s).await.len();
    assert_eq!(before, 4, "a refused file changed nothing");
    let good = "call_id,offered_at,outcome,wait_seconds,talk_seconds,agent\n\
                x1,1772450000,abandoned,20,,\n\
                x2,2026-03-02T12:00:00Z,answered,15,240,someone\n\
                x3,1772470000,out-of-hours,,,\n";
    let summary = reachline_app::ops::telephony_import_csv(c, good).await?;
    assert_eq!(summary.events, 3);
    let csv: Vec<_> = calls(&s)
        .await
        .into_iter()
        .filter(|r| r.source == "csv")
        .collect();
    assert_eq!(
        csv.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>(),
        ["abandoned", "answered", "out-of-hours"]
    );
    // History: nobody is asked to wrap these up.
    assert!(csv.iter().all(|r| r.answered_by.is_none()));

    // The national report counts them: by outcome, by month, abandoned by wait, by hour of
    // the week, and people where repeat callers are counted.
    use reachline_core::disclosure::Published::Exact;
    let report = reachline_app::reporting::build(
        &s.state.store,
        None,
        reachline_app::reporting::Period::Year(2026),
        reachline_core::disclosure::Rules::default(),
        None,
    )
    .await?;
    let table = |m: &str| {
        report
            .tables
            .iter()
            .find(|t| t.measure == m)
            .unwrap_or_else(|| panic!("no table {m}"))
            .clone()
    };
    let cell = |t: &reachline_app::reporting::Table, c: &str| {
        t.rows.iter().find(|r| r.category == c).map(|r| r.value)
    };
    let outcome = table("Phone calls offered, by outcome");
    assert_eq!(outcome.total, Exact(7));
    assert_eq!(cell(&outcome, "answered"), Some(Exact(2)));
    assert_eq!(cell(&outcome, "abandoned"), Some(Exact(4)));
    assert_eq!(cell(&outcome, "out-of-hours"), Some(Exact(1)));
    let waits = table("Abandoned calls, by how long the caller waited");
    assert_eq!(cell(&waits, "1 under 1 minute"), Some(Exact(1)));
    assert_eq!(cell(&waits, "2 1 to 5 minutes"), Some(Exact(2)));
    assert_eq!(cell(&waits, "3 5 to 15 minutes"), Some(Exact(1)));
    assert_eq!(
        cell(&table("Phone calls offered, by month"), "2026-03"),
        Some(Exact(7))
    );
    let hours = table("Phone calls offered, by hour of the week");
    assert_eq!(hours.total, Exact(7));
    assert!(cell(&hours, "1 Mon 10:00").is_some(), "{:?}", hours.rows);
    // Two numbers seen (one of them twice), four calls without one.
    assert_eq!(
        table("People who called (repeat callers counted once a year)").total,
        Exact(6)
    );
    s.stop().await;
    Ok(())
}

/// The replay protection and the token's audit entry are writes that must not be dropped:
/// when one cannot be made, the request is refused and nothing is half done.
#[tokio::test]
async fn a_replay_record_or_an_audit_entry_that_cannot_be_written_is_not_skipped() -> TestResult {
    let s = TestServer::start().await;
    let clock = Arc::new(s.clock.clone());
    // The token without its audit entry: refused, and no token is kept.
    crate::console::inserts_fail(&s, "audit_log", true).await;
    assert!(
        reachline_app::ops::telephony_set_twilio_token(&s.state.config, clock.clone(), TOKEN)
            .await
            .is_err()
    );
    assert_eq!(s.state.store.telephony_secret("twilio").await?, None);
    crate::console::inserts_fail(&s, "audit_log", false).await;
    reachline_app::ops::telephony_set_twilio_token(&s.state.config, clock, TOKEN).await?;

    // The call is taken but its signature cannot be remembered: 503, so the provider sends
    // it again; then it is taken (not refused as a replay) and is still one call.
    let public = s.state.public_url();
    let base = s.url("");
    let params = form(&[
        ("CallSid", "CA00000000000000000000000000000077"),
        ("From", CALLER),
    ]);
    crate::console::inserts_fail(&s, "telephony_seen", true).await;
    let resp = hook(
        &base,
        &public,
        "/telephony/twilio/voice",
        &params,
        Some(TOKEN),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    crate::console::inserts_fail(&s, "telephony_seen", false).await;
    let resp = hook(
        &base,
        &public,
        "/telephony/twilio/voice",
        &params,
        Some(TOKEN),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await?.contains("<Enqueue"));
    assert_eq!(
        hook(
            &base,
            &public,
            "/telephony/twilio/voice",
            &params,
            Some(TOKEN)
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(calls(&s).await.len(), 1);
    s.stop().await;
    Ok(())
}
