//! The deterrence gateway as a partner platform meets it: lists imported by the operator,
//! a partner key, `POST /api/v1/check`, warnings, help-link arrivals, the widget.

use crate::common::{walk_files, BinaryServer, TestResult, TestServer};
use reachline_core::config::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

const KEYWORDS: &str = "term,category,match,language\nbluepineapple,test-terms,word,en\nquiet harbour,test-terms,phrase,en\n";
const BRIDGE_PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

/// A server with invented lists and one partner; returns the partner's key.
async fn gateway(tweak: impl FnOnce(&mut Config)) -> (TestServer, String) {
    // Lists and the partner are made with the operator commands, before the server starts,
    // exactly as an operator would.
    let s = TestServer::start_with(tweak).await;
    let clock = Arc::new(s.clock.clone());
    let c = &s.state.config;
    reachline_app::ops::lists_import(c, clock.clone(), "keywords", "invented-terms", "", KEYWORDS)
        .await
        .unwrap();
    reachline_app::ops::lists_import(
        c,
        clock.clone(),
        "urls",
        "invented-urls",
        "test-urls",
        "# invented, on a reserved domain\nhttp://quietharbour.example/gallery/\n",
    )
    .await
    .unwrap();
    let hashes = format!(
        "kind,hash,category\npdq,{BRIDGE_PDQ},test-images\nmd5,{},test-files\n",
        md5_hex(b"benign test file")
    );
    reachline_app::ops::lists_import(c, clock.clone(), "hashes", "invented-hashes", "", &hashes)
        .await
        .unwrap();
    let key = reachline_app::ops::partners_add(c, clock, "searchco", "https://search.example")
        .await
        .unwrap();
    reachline_web::housekeeping(&s.state).await;
    (s, key)
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}

async fn check(s: &TestServer, key: &str, body: Value) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(s.url("/api/v1/check"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A PDQ hash as the API takes it, from four big-endian words.
fn pdq_hex(words: [u64; 4]) -> String {
    words.iter().map(|w| format!("{w:016x}")).collect()
}

/// A list of thousands of invented PDQ hashes (enough that the matcher searches it through
/// its multi-index, not a scan), checked over HTTP: a hash 31 bits from a listed one, the
/// bits spread two to every 16-bit half but one (the case only one of the index's tables
/// can find), matches at distance 31; one bit more does not; the hashes never leak.
#[tokio::test]
async fn a_large_hash_list_is_searched_exactly() -> TestResult {
    let s = TestServer::start_with(|_| {}).await;
    let clock = Arc::new(s.clock.clone());
    let c = &s.state.config;
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let listed: Vec<[u64; 4]> = (0..6000)
        .map(|_| [next(), next(), next(), next()])
        .collect();
    let mut csv = String::from("kind,hash,category\n");
    for w in &listed {
        csv.push_str(&format!("pdq,{},test-images\n", pdq_hex(*w)));
    }
    reachline_app::ops::lists_import(c, clock.clone(), "hashes", "invented-images", "", &csv)
        .await?;
    let key =
        reachline_app::ops::partners_add(c, clock, "searchco", "https://search.example").await?;
    reachline_web::housekeeping(&s.state).await;

    for (n, single) in [(17usize, 0usize), (2024, 7), (5999, 15)] {
        let mut spread = listed[n];
        for half in 0..16 {
            let (word, base) = (half / 4, 48 - 16 * (half % 4) as u32);
            spread[word] ^= 1 << (base + 12);
            if half != single {
                spread[word] ^= 1 << (base + 4);
            }
        }
        let (status, v) = check(&s, &key, json!({ "pdq": pdq_hex(spread) })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["match"], true, "{n}: {v}");
        assert_eq!(v["signals"][0]["kind"], "pdq", "{v}");
        assert_eq!(v["signals"][0]["distance"], 31, "{v}");
        assert!(!v.to_string().contains(&pdq_hex(listed[n])), "{v}");
        spread[single / 4] ^= 1 << (48 - 16 * (single % 4) as u32 + 4);
        let (_, v) = check(&s, &key, json!({ "pdq": pdq_hex(spread) })).await;
        assert_eq!(v["match"], false, "{n} at 32 bits: {v}");
        let (_, v) = check(&s, &key, json!({ "pdq": pdq_hex(listed[n]) })).await;
        assert_eq!(v["signals"][0]["distance"], 0, "{v}");
    }
    Ok(())
}

#[tokio::test]
async fn evasive_spellings_match_and_warn_with_a_help_link() -> TestResult {
    let (s, key) = gateway(|_| {}).await;
    for q in [
        "bluepineapple",
        "BLUE PINE APPLE",
        "b.l.u.e-p.i.n.e.a.p.p.l.e",
        "blu\u{0435}pine\u{0430}pple", // Cyrillic е and а
        "b1u3p1n3app13",
        "blue\u{200B}pine\u{200D}apple", // zero-width characters
        "bluuuuuepineeeapple",
        "where to find bluepineapple pictures",
    ] {
        let (status, v) = check(&s, &key, json!({ "query": q })).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert_eq!(v["match"], true, "{q}: {v}");
        assert_eq!(v["signals"][0]["kind"], "keyword");
        assert_eq!(v["signals"][0]["category"], "test-terms");
        let w = &v["warning"];
        let variant = w["variant"].as_str().unwrap();
        assert!(
            ["illegal", "traceable", "harm"].contains(&variant),
            "{variant}"
        );
        assert!(w["help_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/help?c=p1-{variant}")));
        assert!(!w["message"].as_str().unwrap().is_empty());
        assert!(
            !v.to_string().contains("bluepineapple"),
            "the listed term leaked: {v}"
        );
    }
    for q in [
        "bluepineapples are a fruit",
        "pineapple",
        "quietharbour tours",
        "nothing to see here",
    ] {
        let (status, v) = check(&s, &key, json!({ "query": q })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["match"], false, "{q}: {v}");
        assert!(v.get("warning").is_none());
    }
    assert_eq!(
        check(&s, &key, json!({ "query": "Quiet   HARBOUR guide" }))
            .await
            .1["match"],
        true
    );
    // URLs by host suffix and path prefix; hashes by PDQ distance and MD5.
    let (_, v) = check(
        &s,
        &key,
        json!({ "url": "https://www.QUIETHARBOUR.example/gallery/2024/a.html?x=1#y" }),
    )
    .await;
    assert_eq!(
        (v["match"].clone(), v["signals"][0]["kind"].clone()),
        (json!(true), json!("url"))
    );
    assert_eq!(
        check(
            &s,
            &key,
            json!({ "url": "https://quietharbour.example/about" })
        )
        .await
        .1["match"],
        false
    );
    let near = format!("{}3", &BRIDGE_PDQ[..63]);
    let (_, v) = check(&s, &key, json!({ "pdq": near })).await;
    assert_eq!(v["signals"][0]["distance"], 1);
    let (_, v) = check(&s, &key, json!({ "md5": md5_hex(b"benign test file") })).await;
    assert_eq!(v["signals"][0]["kind"], "md5");
    // Repeats step up to an offer to talk; the locale is honoured.
    let (_, v) = check(&s, &key, json!({ "query": "bluepineapple", "repeat": 3 })).await;
    assert_eq!(v["warning"]["variant"], "talk");
    assert_eq!(v["warning"]["offer_to_talk"], true);
    let (_, en) = check(&s, &key, json!({ "query": "bluepineapple", "repeat": 5 })).await;
    let (_, xa) = check(
        &s,
        &key,
        json!({ "query": "bluepineapple", "repeat": 5, "locale": "en-XA" }),
    )
    .await;
    assert_ne!(en["warning"]["title"], xa["warning"]["title"]);
    assert_eq!(xa["warning"]["locale"], "en-XA");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn bad_input_gets_clear_json_errors() -> TestResult {
    let (s, key) = gateway(|c| {
        c.deterrence.key_cache_seconds = 0;
        c.deterrence.batch_max = 3;
    })
    .await;
    let client = reqwest::Client::new();
    let post = |path: &str, key: Option<&str>, body: String| {
        let mut r = client
            .post(s.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send()
    };
    let cases: Vec<(Option<&str>, String, StatusCode, &str)> = vec![
        (
            None,
            json!({"query": "x"}).to_string(),
            StatusCode::UNAUTHORIZED,
            "no_key",
        ),
        (
            Some("rlk_nope"),
            json!({"query": "x"}).to_string(),
            StatusCode::FORBIDDEN,
            "bad_key",
        ),
        (
            Some(&key),
            "{not json".into(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Some(&key),
            json!({}).to_string(),
            StatusCode::BAD_REQUEST,
            "empty",
        ),
        (
            Some(&key),
            json!({"query": "x", "colour": 1}).to_string(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Some(&key),
            json!({"pdq": "zz"}).to_string(),
            StatusCode::BAD_REQUEST,
            "bad_pdq",
        ),
        (
            Some(&key),
            json!({"md5": "abc"}).to_string(),
            StatusCode::BAD_REQUEST,
            "bad_md5",
        ),
        (
            Some(&key),
            json!({"url": "http://"}).to_string(),
            StatusCode::BAD_REQUEST,
            "bad_url",
        ),
        (
            Some(&key),
            json!({"query": "q".repeat(5000)}).to_string(),
            StatusCode::BAD_REQUEST,
            "bad_query",
        ),
    ];
    for (k, body, status, code) in cases {
        let resp = post("/api/v1/check", k, body.clone()).await?;
        assert_eq!(resp.status(), status, "{body:.60}");
        let v: Value = resp.json().await?;
        assert_eq!(v["error"], code, "{v}");
        assert!(!v["message"].as_str().unwrap().is_empty());
        assert!(!v.to_string().contains("zz\""), "echoed input: {v}");
    }
    // Errors say what is wrong without repeating what was sent (values or unknown names).
    for body in [
        json!({"query": "x", "bluepineapple": 1}),
        json!({"query": ["bluepineapple"]}),
        json!({"repeat": "bluepineapple"}),
        json!({"items": "bluepineapple"}),
    ] {
        let resp = post("/api/v1/check", Some(&key), body.to_string()).await?;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let v: Value = resp.json().await?;
        assert!(
            !v.to_string().contains("bluepineapple"),
            "echoed input: {v}"
        );
        assert!(!v["message"].as_str().unwrap().is_empty(), "{v}");
    }
    let big = format!("{{\"query\": \"{}\"}}", "a".repeat(10 * 1024 * 1024));
    let resp = post("/api/v1/check", Some(&key), big).await?;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_eq!(resp.json::<Value>().await?["error"], "too_large");
    // Batches: in order, bounded.
    let resp = post(
        "/api/v1/check/batch",
        Some(&key),
        json!({"items": [{"query": "bluepineapple"}, {"query": "hello"}, {"pdq": BRIDGE_PDQ}]})
            .to_string(),
    )
    .await?;
    let v: Value = resp.json().await?;
    let matched: Vec<bool> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["match"].as_bool().unwrap())
        .collect();
    assert_eq!(matched, vec![true, false, true]);
    let resp = post(
        "/api/v1/check/batch",
        Some(&key),
        json!({"items": [{"query": "a"}, {"query": "b"}, {"query": "c"}, {"query": "d"}]})
            .to_string(),
    )
    .await?;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = post(
        "/api/v1/check/batch",
        Some(&key),
        json!({"items": [{"query": "a"}, {"md5": "x"}]}).to_string(),
    )
    .await?;
    assert!(resp.json::<Value>().await?["message"]
        .as_str()
        .unwrap()
        .starts_with("item 1"));
    // A revoked key stops working.
    reachline_app::ops::partners_revoke(&s.state.config, Arc::new(s.clock.clone()), "searchco")
        .await?;
    let resp = post(
        "/api/v1/check",
        Some(&key),
        json!({"query": "x"}).to_string(),
    )
    .await?;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(resp.json::<Value>().await?["error"], "key_revoked");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn partners_are_rate_limited() -> TestResult {
    let (s, key) = gateway(|c| {
        c.deterrence.requests_per_second = 1;
        c.deterrence.burst = 3;
    })
    .await;
    let mut statuses = Vec::new();
    let mut waits = Vec::new();
    for _ in 0..6 {
        let resp = reqwest::Client::new()
            .post(s.url("/api/v1/check"))
            .bearer_auth(&key)
            .json(&json!({"query": "hello"}))
            .send()
            .await?;
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            // A 429 says how long to wait, in whole seconds.
            let wait: u64 = resp.headers()["retry-after"].to_str()?.parse()?;
            waits.push(wait);
        }
        statuses.push(resp.status());
    }
    assert!(
        !waits.is_empty() && waits.iter().all(|w| (1..=2).contains(w)),
        "{waits:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        3,
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn new_list_versions_and_disabled_entries_take_effect_without_failing_requests() -> TestResult
{
    let (s, key) = gateway(|_| {}).await;
    let s = Arc::new(s);
    // Keep checking while a new version is imported and swapped in, at a partner's pace
    // (within the default 200 checks a second, whose excess is refused with 429 by design,
    // however long the rebuild takes on a busy machine).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let worker = {
        let (s, key, stop) = (s.clone(), key.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let (status, _) = check(&s, &key, json!({"query": "bluepineapple"})).await;
                assert_eq!(status, StatusCode::OK);
                n += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            n
        })
    };
    let mut big = String::from("term,category,match,language\n");
    for i in 0..5000 {
        big.push_str(&format!("invented{i}term,test-terms,word,en\n"));
    }
    big.push_str("zebrafig,test-terms,word,en\n");
    let clock = Arc::new(s.clock.clone());
    reachline_app::ops::lists_import(
        &s.state.config,
        clock.clone(),
        "keywords",
        "invented-terms",
        "",
        &big,
    )
    .await?;
    reachline_web::housekeeping(&s.state).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(worker.await? > 0);
    assert_eq!(
        check(&s, &key, json!({"query": "zebrafig"})).await.1["match"],
        true
    );
    assert_eq!(
        check(&s, &key, json!({"query": "bluepineapple"})).await.1["match"],
        false,
        "old version still active"
    );
    // A false positive is disabled at once by its entry id (the file's line number).
    reachline_app::ops::lists_disable(&s.state.config, clock, "keywords", "invented-terms", "5002")
        .await?;
    reachline_web::housekeeping(&s.state).await;
    assert_eq!(
        check(&s, &key, json!({"query": "zebrafig"})).await.1["match"],
        false
    );
    let listed = reachline_app::ops::lists_list(&s.state.config, Arc::new(s.clock.clone())).await?;
    assert!(
        listed
            .iter()
            .any(|l| l.contains("v2") && l.contains("active") && l.contains("1 disabled")),
        "{listed:?}"
    );
    Ok(())
}

#[tokio::test]
async fn counts_are_kept_and_help_links_record_arrivals() -> TestResult {
    let (s, key) = gateway(|_| {}).await;
    let warned = check(&s, &key, json!({"query": "bluepineapple"})).await.1;
    let variant = warned["warning"]["variant"].as_str().unwrap().to_string();
    check(&s, &key, json!({"query": "hello"})).await;
    s.state.gateway.flush(&s.state.store).await?;
    let link = format!("/help?c=p1-{variant}");
    let resp = s.client().get(s.url(&link)).send().await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/get-help");
    assert!(resp.headers().get("set-cookie").is_none());
    // Arrivals never outnumber the warnings that carried the link: visiting a real link
    // again and again, or with another variant, moves nothing more.
    for _ in 0..20 {
        s.client().get(s.url(&link)).send().await?;
    }
    let other = ["illegal", "traceable", "harm"]
        .into_iter()
        .find(|v| *v != variant)
        .unwrap();
    s.client()
        .get(s.url(&format!("/help?c=p1-{other}")))
        .send()
        .await?;
    s.client().get(s.url("/help?c=nonsense")).send().await?;
    s.client().get(s.url("/help?c=p99-harm")).send().await?;
    s.state.gateway.flush(&s.state.store).await?;
    let counts = s
        .state
        .store
        .deterrence_counts("2026-01-01", "2026-12-31")
        .await?;
    let sum = |metric: &str| {
        counts
            .iter()
            .filter(|c| c.metric == metric)
            .map(|c| c.n)
            .sum::<i64>()
    };
    assert_eq!(
        (sum("check"), sum("match"), sum("warning"), sum("arrival")),
        (2, 1, 1, 1),
        "{counts:?}"
    );
    assert!(counts
        .iter()
        .any(|c| c.metric == "arrival" && c.variant == variant && c.partner == 1));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_openapi_document_and_the_widget_are_served() -> TestResult {
    let (s, key) = gateway(|_| {}).await;
    let doc: Value = reqwest::get(s.url("/api/v1/openapi.json"))
        .await?
        .json()
        .await?;
    assert!(doc["paths"]["/api/v1/check"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/check/batch"]["post"].is_object());
    assert!(doc["components"]["schemas"]["CheckRequest"].is_object());
    // The security scheme the paths name is defined: the partner key as a bearer token.
    let scheme = &doc["components"]["securitySchemes"]["partner_key"];
    assert_eq!(
        (scheme["type"].as_str(), scheme["scheme"].as_str()),
        (Some("http"), Some("bearer")),
        "{scheme}"
    );
    assert!(doc["paths"]["/api/v1/check"]["post"]["security"][0]["partner_key"].is_array());
    // Hash inputs are constrained as the service enforces them.
    let props = &doc["components"]["schemas"]["CheckRequest"]["properties"];
    assert_eq!(props["pdq"]["pattern"], "^[0-9A-Fa-f]{64}$", "{props}");
    assert_eq!(props["md5"]["maxLength"], 32);
    assert_eq!(props["sha256"]["minLength"], 64);
    let resp429 = &doc["paths"]["/api/v1/check"]["post"]["responses"]["429"];
    assert!(resp429["headers"]["Retry-After"].is_object(), "{resp429}");

    // A GET where POST is expected, and a path that does not exist, answer JSON.
    let resp = reqwest::get(s.url("/api/v1/check")).await?;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "POST");
    let body: Value = resp.json().await?;
    assert_eq!(body["error"], "method_not_allowed");
    let resp = reqwest::get(s.url("/api/v1/nothing-here")).await?;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Every API error is RFC 9457 problem details.
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let p: Value = resp.json().await?;
    assert_eq!(
        (p["type"].as_str(), p["status"].as_u64()),
        (Some("about:blank"), Some(404))
    );
    assert_eq!(p["title"], "Not Found");
    // A check needs at least one input, and the batch size is bounded, in the document too.
    let req = &doc["components"]["schemas"]["CheckRequest"];
    assert_eq!(req["anyOf"].as_array().map(Vec::len), Some(5), "{req}");
    assert_eq!(req["additionalProperties"], false);
    assert_eq!(
        doc["components"]["schemas"]["BatchRequest"]["properties"]["items"]["maxItems"],
        100
    );
    assert!(doc["paths"]["/api/v1/feedback"]["post"].is_object());
    let bad = &doc["paths"]["/api/v1/check"]["post"]["responses"]["400"]["content"];
    assert!(bad["application/problem+json"].is_object(), "{bad}");

    // The bearer scheme's name is case-insensitive.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let resp = reqwest::Client::new()
            .post(s.url("/api/v1/check"))
            .header("authorization", format!("{scheme} {key}"))
            .json(&json!({"query": "hello"}))
            .send()
            .await?;
        assert_eq!(resp.status(), StatusCode::OK, "{scheme}");
    }
    let resp = reqwest::Client::new()
        .post(s.url("/api/v1/check"))
        .header("authorization", format!("Basic {key}"))
        .json(&json!({"query": "hello"}))
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let resp = reqwest::get(s.url("/widget/warning?c=p1-harm&lang=en-GB")).await?;
    assert_eq!(resp.status(), StatusCode::OK);
    let csp = resp.headers()["content-security-policy"]
        .to_str()?
        .to_string();
    assert!(
        csp.contains("frame-ancestors https://search.example"),
        "{csp}"
    );
    assert!(resp.headers().get("x-frame-options").is_none());
    let html = resp.text().await?;
    assert!(
        html.contains("Children are harmed") && html.contains("talk to someone confidentially")
    );
    assert!(html.contains("href=\"/help?c=p1-harm\""));
    assert_eq!(
        reqwest::get(s.url("/widget/warning?c=p9-harm"))
            .await?
            .status(),
        StatusCode::NOT_FOUND
    );
    // Other pages still refuse to be framed.
    let home = reqwest::get(s.url("/")).await?;
    assert_eq!(home.headers()["x-frame-options"], "DENY");
    s.stop().await;
    Ok(())
}

#[test]
fn nothing_a_partner_sends_is_written_to_disk_or_logs() {
    let marker_query = "bluepineapple markerquery7731";
    let marker_url = "http://quietharbour.example/gallery/markerpath7731";
    let marker_hash = "0123456789abcdef7731aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut server = BinaryServer::start(&[("REACHLINE_LOG_FILTER", "trace")]);
    let bin = env!("CARGO_BIN_EXE_reachline");
    let list = server.dir.path().join("kw.csv");
    std::fs::write(&list, KEYWORDS).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(args)
            .arg("--data-dir")
            .arg(&server.data_dir)
            .env_remove("REACHLINE_DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&[
        "lists",
        "import",
        "--kind",
        "keywords",
        "--name",
        "invented-terms",
        list.to_str().unwrap(),
    ]);
    let key = run(&["partners", "add", "searchco"])
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    // The running server picks the list up on its next tick.
    std::thread::sleep(std::time::Duration::from_millis(10_500));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let send = |body: Value| {
            c.post(server.url("/api/v1/check"))
                .bearer_auth(&key)
                .json(&body)
                .send()
        };
        let v: Value = send(json!({"query": marker_query}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["match"], true, "list not loaded: {v}");
        send(json!({"url": marker_url})).await.unwrap();
        send(json!({"sha256": marker_hash})).await.unwrap();
        send(json!({"pdq": marker_hash})).await.unwrap();
        send(json!({"md5": "markerbadhash7731"})).await.unwrap();
        send(json!({"query": marker_query, "colour": "markerfield7731"}))
            .await
            .unwrap();
    });
    assert!(server.terminate().success());
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("route=/api/v1/check"), "no request log");
    for marker in [
        "markerquery7731",
        "markerpath7731",
        "markerbadhash7731",
        "markerfield7731",
        "0123456789abcdef7731",
    ] {
        assert!(!log.contains(marker), "log holds {marker}");
        for file in walk_files(&server.data_dir) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "{} holds {marker}",
                file.display()
            );
        }
    }
}

/// `reachline lists stats` as lines; the one for `entry` (list:line), if any.
async fn stats_line(s: &TestServer, by_category: bool, needle: &str) -> Option<String> {
    reachline_app::ops::lists_stats(
        &s.state.config,
        Arc::new(s.clock.clone()),
        30,
        false,
        by_category,
    )
    .await
    .unwrap()
    .into_iter()
    .find(|l| l.contains(needle))
}

/// The counts of a stats line, in the order of `outcome::ALL`.
fn counts(line: &str) -> Vec<i64> {
    let fields: Vec<i64> = line
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    fields[fields.len() - 6..].to_vec()
}

#[tokio::test]
async fn a_shadow_version_counts_matches_without_warning_until_promoted_and_rolls_back_at_once(
) -> TestResult {
    let (s, key) = gateway(|_| {}).await;
    let clock = Arc::new(s.clock.clone());
    let c = &s.state.config;
    // Version 2 in shadow: it drops bluepineapple and adds zebrafig.
    let v2 = "term,category,match,language\nzebrafig,test-shadow,word,en\nquiet harbour,test-terms,phrase,en\n";
    let shadow = reachline_app::ops::ImportAs {
        shadow: true,
        ..Default::default()
    };
    let (version, _) = reachline_app::ops::lists_import_as(
        c,
        clock.clone(),
        "keywords",
        "invented-terms",
        "",
        v2,
        shadow,
    )
    .await?;
    assert_eq!(version, 2);
    reachline_web::housekeeping(&s.state).await;
    // Real traffic: the shadow version matches but never warns; the live one still does.
    for _ in 0..3 {
        let (status, v) = check(&s, &key, json!({"query": "a zebrafig search"})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["match"], false, "{v}");
        assert!(
            v.get("warning").is_none() && v.get("match_id").is_none(),
            "{v}"
        );
    }
    let (_, v) = check(&s, &key, json!({"query": "bluepineapple"})).await;
    assert_eq!(v["match"], true, "{v}");
    reachline_web::housekeeping(&s.state).await;
    // Counted per entry, per category and per day: 3 shadow matches of entry 2 (line 2).
    let line = stats_line(&s, false, "invented-terms:2 v2")
        .await
        .expect("shadow entry");
    assert_eq!(counts(&line), [0, 0, 3, 0, 0, 0], "{line}");
    let line = stats_line(&s, false, "invented-terms:2 v1")
        .await
        .expect("live entry");
    assert_eq!(counts(&line), [1, 0, 0, 0, 0, 0], "{line}");
    let line = stats_line(&s, true, "test-shadow").await.expect("category");
    assert_eq!(counts(&line), [0, 0, 3, 0, 0, 0], "{line}");
    let per_day = reachline_app::ops::lists_stats(c, clock.clone(), 7, true, false).await?;
    let today = reachline_core::clock::day_of(s.state.clock.now_unix());
    assert!(
        per_day
            .iter()
            .any(|l| l.starts_with(&today) && l.contains("invented-terms:2 v2")),
        "{per_day:?}"
    );
    let listed = reachline_app::ops::lists_list(c, clock.clone()).await?;
    assert!(
        listed
            .iter()
            .any(|l| l.contains("v2") && l.contains("shadow")),
        "{listed:?}"
    );

    // Promoted with one command: now it warns, and the old version no longer does.
    assert_eq!(
        reachline_app::ops::lists_promote(c, clock.clone(), "keywords", "invented-terms").await?,
        2
    );
    reachline_web::housekeeping(&s.state).await;
    assert_eq!(
        check(&s, &key, json!({"query": "zebrafig"})).await.1["match"],
        true
    );
    assert_eq!(
        check(&s, &key, json!({"query": "bluepineapple"})).await.1["match"],
        false
    );
    // Nothing more to promote.
    assert!(
        reachline_app::ops::lists_promote(c, clock.clone(), "keywords", "invented-terms")
            .await
            .is_err()
    );
    // Rolled back at once to the version that was live before.
    assert_eq!(
        reachline_app::ops::lists_rollback(c, clock.clone(), "keywords", "invented-terms").await?,
        (2, 1)
    );
    reachline_web::housekeeping(&s.state).await;
    assert_eq!(
        check(&s, &key, json!({"query": "bluepineapple"})).await.1["match"],
        true
    );
    assert_eq!(
        check(&s, &key, json!({"query": "zebrafig"})).await.1["match"],
        false
    );
    // Version 1 was never preceded by a live version: no further rollback.
    assert!(
        reachline_app::ops::lists_rollback(c, clock.clone(), "keywords", "invented-terms")
            .await
            .is_err()
    );
    s.stop().await;
    Ok(())
}

/// The PDQ hash with the bits at `positions` flipped.
fn flip(hex_hash: &str, positions: std::ops::Range<usize>) -> String {
    let mut bytes = hex::decode(hex_hash).unwrap();
    for p in positions {
        bytes[p / 8] ^= 1 << (p % 8);
    }
    hex::encode(bytes)
}

#[tokio::test]
async fn never_warn_entries_suppress_matches_on_the_same_input() -> TestResult {
    let (s, key) = gateway(|_| {}).await;
    let clock = Arc::new(s.clock.clone());
    let c = &s.state.config;
    let never = reachline_app::ops::ImportAs {
        never_warn: true,
        ..Default::default()
    };
    // Invented innocent phrase, URL expression and image.
    reachline_app::ops::lists_import_as(
        c,
        clock.clone(),
        "keywords",
        "innocent-terms",
        "",
        "term,category,match,language\nbluepineapple festival,innocent,phrase,en\n",
        never,
    )
    .await?;
    reachline_app::ops::lists_import_as(
        c,
        clock.clone(),
        "urls",
        "innocent-urls",
        "innocent",
        "http://quietharbour.example/gallery/museum/\n",
        never,
    )
    .await?;
    let innocent_image = flip(BRIDGE_PDQ, 0..4);
    reachline_app::ops::lists_import_as(
        c,
        clock.clone(),
        "hashes",
        "innocent-images",
        "",
        &format!("kind,hash,category\npdq,{innocent_image},innocent\n"),
        reachline_app::ops::ImportAs {
            never_warn: true,
            pdq_distance: Some(8),
            ..Default::default()
        },
    )
    .await?;
    // A never-warn list keeps its role: a warning list cannot take its name.
    assert!(reachline_app::ops::lists_import(
        c,
        clock.clone(),
        "keywords",
        "innocent-terms",
        "",
        "term,category,match,language\nzebrafig,test-terms,word,en\n",
    )
    .await
    .is_err());
    reachline_web::housekeeping(&s.state).await;

    let cases = [
        (json!({"query": "bluepineapple festival tickets"}), false),
        (json!({"query": "bluepineapple"}), true),
        (
            json!({"url": "http://quietharbour.example/gallery/museum/room1.html"}),
            false,
        ),
        (
            json!({"url": "http://quietharbour.example/gallery/room1.html"}),
            true,
        ),
        // The listed image itself is within 8 bits of the innocent one: suppressed.
        (json!({"pdq": BRIDGE_PDQ}), false),
        // 20 bits from the listed image (it still matches at 31) and 24 from the innocent one.
        (json!({"pdq": flip(BRIDGE_PDQ, 100..120)}), true),
        // The override is per input: an innocent query does not hide a listed URL.
        (
            json!({"query": "bluepineapple festival", "url": "http://quietharbour.example/gallery/a"}),
            true,
        ),
    ];
    for (body, warns) in cases {
        let (status, v) = check(&s, &key, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["match"], warns, "{body}: {v}");
        assert_eq!(v.get("warning").is_some(), warns, "{body}: {v}");
    }
    reachline_web::housekeeping(&s.state).await;
    // The suppressed entries and the never-warn entries that overrode them are counted.
    // (bluepineapple was suppressed twice: alone and beside a listed URL.)
    let line = stats_line(&s, false, "invented-terms:2 v1")
        .await
        .expect("term");
    assert_eq!(counts(&line), [1, 2, 0, 0, 0, 0], "{line}");
    let line = stats_line(&s, false, "innocent-terms:2 v1")
        .await
        .expect("never term");
    assert_eq!(counts(&line), [0, 0, 0, 0, 2, 0], "{line}");
    let line = stats_line(&s, false, "innocent-images:2 v1")
        .await
        .expect("never image");
    assert_eq!(counts(&line), [0, 0, 0, 0, 1, 0], "{line}");
    let line = stats_line(&s, false, "innocent-urls:1 v1")
        .await
        .expect("never url");
    assert_eq!(counts(&line), [0, 0, 0, 0, 1, 0], "{line}");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn partners_report_a_wrong_warning_by_its_match_id_and_it_counts_once() -> TestResult {
    let (s, key) = gateway(|_| {}).await;
    let other =
        reachline_app::ops::partners_add(&s.state.config, Arc::new(s.clock.clone()), "otherco", "")
            .await?;
    let (_, v) = check(&s, &key, json!({"query": "bluepineapple markerq"})).await;
    let id = v["match_id"].as_str().expect("match id").to_string();
    // The identifier holds no input.
    assert!(!id.contains("bluepineapple") && !id.contains("markerq"));
    let (_, none) = check(&s, &key, json!({"query": "hello"})).await;
    assert!(none.get("match_id").is_none());
    let report = |k: &str, body: Value| {
        reqwest::Client::new()
            .post(s.url("/api/v1/feedback"))
            .bearer_auth(k)
            .json(&body)
            .send()
    };
    let resp = report(&key, json!({"match_id": id})).await?;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await?["counted"], true);
    // Sent again (a retry): not counted twice.
    let resp = report(&key, json!({"match_id": id})).await?;
    assert_eq!(resp.json::<Value>().await?["counted"], false);
    // Another partner cannot report it; a made-up identifier is refused; as problem details.
    for (k, body) in [
        (&other, json!({"match_id": id})),
        (&key, json!({"match_id": "bluepineapple"})),
        (&key, json!({"match_id": ""})),
        (&key, json!({"match_id": id, "query": "x"})),
    ] {
        let resp = report(k, body.clone()).await?;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let p: Value = resp.json().await?;
        assert_eq!(p["status"], 400, "{p}");
        assert!(!p["detail"].as_str().unwrap().is_empty(), "{p}");
        assert!(!p.to_string().contains("bluepineapple"), "{p}");
    }
    reachline_web::housekeeping(&s.state).await;
    let line = stats_line(&s, false, "invented-terms:2 v1")
        .await
        .expect("entry");
    assert_eq!(counts(&line), [1, 0, 0, 0, 0, 1], "{line}");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn administrators_see_matches_per_entry_and_disable_a_misfiring_one_in_the_console(
) -> TestResult {
    use reachline_core::staff::Role;
    let (s, key) = gateway(|_| {}).await;
    for _ in 0..2 {
        check(&s, &key, json!({"query": "bluepineapple"})).await;
    }
    reachline_web::housekeeping(&s.state).await;
    let (admin, csrf, _) = crate::console::session_for(&s, Role::Administrator, 0).await;
    // From the console home, as an administrator reaches it.
    let home = admin.get(s.url("/console")).send().await?.text().await?;
    assert!(
        home.contains("href=\"/console/lists\""),
        "no link on the home"
    );
    let page = admin
        .get(s.url("/console/lists"))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("invented-terms:2"), "{page}");
    assert!(page.contains("Live: warns"));
    assert!(page.contains("<td>2</td>"), "two warnings counted");
    let resp = crate::common::post_form(
        &admin,
        s.url("/console/lists/disable"),
        &[
            ("csrf", &csrf),
            ("kind", "keywords"),
            ("name", "invented-terms"),
            ("entry", "invented-terms:2"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // In force at once, and audited.
    assert_eq!(
        check(&s, &key, json!({"query": "bluepineapple"})).await.1["match"],
        false
    );
    let page = admin
        .get(s.url("/console/lists?disabled=1"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        page.contains("no longer warns") && page.contains("Disabled"),
        "{page}"
    );
    let audit = s.state.store.audit_all().await?;
    assert!(audit
        .iter()
        .any(|e| e.action == "lists.disable-entry" && e.detail == "invented-terms:2"));
    // Nonsense is refused and changes nothing.
    let resp = crate::common::post_form(
        &admin,
        s.url("/console/lists/disable"),
        &[
            ("csrf", &csrf),
            ("kind", "keywords"),
            ("name", "invented-terms"),
            ("entry", "x"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Other roles cannot see it.
    let (practitioner, _, _) = crate::console::session_for(&s, Role::Practitioner, 1).await;
    assert_eq!(
        practitioner
            .get(s.url("/console/lists"))
            .send()
            .await?
            .status(),
        StatusCode::FORBIDDEN
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_platform_integrated_with_hasher_matcher_actioner_looks_up_hashes_unchanged() -> TestResult
{
    let (s, key) = gateway(|_| {}).await;
    // A bank exported with ThreatExchange's signal-type names loads as it is.
    reachline_app::ops::lists_import(
        &s.state.config,
        Arc::new(s.clock.clone()),
        "hashes",
        "exported-bank",
        "",
        &format!(
            "kind,hash,category\nvideo_md5,{},test-files\n",
            md5_hex(b"another benign file")
        ),
    )
    .await?;
    reachline_web::housekeeping(&s.state).await;
    let lookup = |q: String, k: Option<&str>| {
        let mut req = reqwest::Client::new().get(s.url(&format!("/m/lookup?{q}")));
        if let Some(k) = k {
            req = req.bearer_auth(k);
        }
        req.send()
    };
    let near = {
        let mut b = hex::decode(BRIDGE_PDQ)?;
        b[0] ^= 0b111;
        hex::encode(b)
    };
    let v: Value = lookup(format!("signal_type=pdq&signal={near}"), Some(&key))
        .await?
        .json()
        .await?;
    assert_eq!(
        v,
        json!({"invented-hashes": [{"bank_content_id": "invented-hashes:2", "distance": "3"}]})
    );
    let v: Value = lookup(
        format!(
            "signal_type=video_md5&signal={}",
            md5_hex(b"another benign file")
        ),
        Some(&key),
    )
    .await?
    .json()
    .await?;
    assert_eq!(
        v,
        json!({"exported-bank": [{"bank_content_id": "exported-bank:2", "distance": "0"}]})
    );
    let v: Value = lookup(
        format!("signal_type=md5&signal={}", md5_hex(b"nothing")),
        Some(&key),
    )
    .await?
    .json()
    .await?;
    assert_eq!(v, json!({}));
    for (q, status) in [
        (
            "signal_type=tmk&signal=00".to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "signal_type=pdq&signal=zz".to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (String::new(), StatusCode::BAD_REQUEST),
    ] {
        let resp = lookup(q.clone(), Some(&key)).await?;
        assert_eq!(resp.status(), status, "{q}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(
        lookup(format!("signal_type=pdq&signal={near}"), None)
            .await?
            .status(),
        StatusCode::UNAUTHORIZED
    );
    s.stop().await;
    Ok(())
}

/// A version imported by another process (`reachline lists import` beside the running
/// server) goes live by itself within about a second: the server watches the lists'
/// generation, without waiting for housekeeping's ten-second tick (not run here).
#[tokio::test]
async fn a_new_list_version_goes_live_without_housekeeping() -> TestResult {
    let (s, key) = gateway(|_| {}).await;
    assert_eq!(
        check(&s, &key, json!({"query": "zebrafig"})).await.1["match"],
        false
    );
    // Past the first ticks of both timers, so housekeeping's next one is ten seconds away.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    reachline_app::ops::lists_import(
        &s.state.config,
        Arc::new(s.clock.clone()),
        "keywords",
        "invented-terms",
        "",
        "term,category,match,language\nzebrafig,test-terms,word,en\n",
    )
    .await?;
    let imported = std::time::Instant::now();
    let mut live = false;
    while imported.elapsed() < std::time::Duration::from_secs(5) {
        if check(&s, &key, json!({"query": "zebrafig"})).await.1["match"] == true {
            live = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        live,
        "the new version was not live five seconds after the import"
    );
    Ok(())
}
