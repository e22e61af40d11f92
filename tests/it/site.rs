//! The public site as a help-seeker meets it: real HTTP against a real server.

use crate::common;
use crate::common::{between, form, references, BinaryServer, TestResult, TestServer};
use reqwest::StatusCode;

const PUBLIC_PAGES: &[&str] = &[
    "/",
    "/modules",
    "/get-help",
    "/confidentiality",
    "/worried-about-someone-else",
    "/under-18",
    "/the-law",
    "/progress",
    "/progress/resume",
    "/progress/delete",
];

async fn module_slugs(s: &TestServer) -> Vec<String> {
    let html = reqwest::get(s.url("/modules"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    references(&html)
        .into_iter()
        .filter_map(|r| r.strip_prefix("/modules/").map(str::to_string))
        .filter(|r| !r.contains('/'))
        .collect()
}

/// Every public page: the module index, each module, each chapter, the other pages.
async fn all_pages(s: &TestServer) -> Vec<String> {
    let mut pages: Vec<String> = PUBLIC_PAGES.iter().map(|p| p.to_string()).collect();
    for slug in module_slugs(s).await {
        let html = reqwest::get(s.url(&format!("/modules/{slug}")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        pages.push(format!("/modules/{slug}"));
        for r in references(&html) {
            if r.starts_with(&format!("/modules/{slug}/")) && !pages.contains(&r) {
                pages.push(r);
            }
        }
    }
    pages
}

#[tokio::test]
async fn home_answers_with_the_security_headers() -> TestResult {
    let s = TestServer::start().await;
    let resp = reqwest::get(s.url("/")).await?;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    let csp = h["content-security-policy"].to_str()?;
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.contains_key("permissions-policy"));
    assert_eq!(h["cache-control"], "no-store");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn at_least_eight_modules_are_listed_and_every_chapter_renders() -> TestResult {
    let s = TestServer::start().await;
    let slugs = module_slugs(&s).await;
    assert!(slugs.len() >= 8, "modules listed: {slugs:?}");
    let pages = all_pages(&s).await;
    let chapters = pages.iter().filter(|p| p.matches('/').count() == 3).count();
    assert!(chapters >= 8 * 3, "only {chapters} chapters");
    for p in &pages {
        let resp = reqwest::get(s.url(p)).await?;
        assert_eq!(resp.status(), StatusCode::OK, "{p}");
        let html = resp.text().await?;
        assert!(html.contains("<h1>"), "{p} has no heading");
    }
    // A plan exercise renders as a form with one field per section.
    let mut plan_fields = 0;
    for p in pages
        .iter()
        .filter(|p| p.starts_with("/modules/making-a-personal-plan/"))
    {
        let html = reqwest::get(s.url(p)).await?.text().await?;
        plan_fields += html.matches("name=\"section-").count();
    }
    assert_eq!(plan_fields, 6, "the personal plan should have six sections");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn every_page_has_a_quick_exit_stays_on_this_origin_and_is_small() -> TestResult {
    let s = TestServer::start().await;
    let css = reqwest::get(s.url("/static/site.css"))
        .await?
        .bytes()
        .await?
        .len();
    let js = reqwest::get(s.url("/static/site.js"))
        .await?
        .bytes()
        .await?
        .len();
    let mut pages = all_pages(&s).await;
    pages.push("/no-such-page".into());
    for p in &pages {
        let resp = reqwest::get(s.url(p)).await?;
        let html = resp.text().await?;
        assert!(html.contains("href=\"/exit\""), "{p} has no quick exit");
        for r in references(&html) {
            assert!(
                r.starts_with('/') && !r.starts_with("//") || r.starts_with('#'),
                "{p} refers elsewhere: {r}"
            );
        }
        let total = html.len() + css + js;
        assert!(total < 60 * 1024, "{p} weighs {total} bytes");
    }
    // The error pages too.
    let resp = reqwest::Client::new()
        .post(s.url("/progress/resume"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("%%%=&&&code=%ZZ")
        .send()
        .await?;
    assert!(resp.status().is_client_error());
    assert!(resp.text().await?.contains("href=\"/exit\""));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn quick_exit_clears_the_site_and_leaves() -> TestResult {
    let s = TestServer::start().await;
    let resp = s.client().get(s.url("/exit")).send().await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        "https://www.example.org/weather"
    );
    let csd = resp.headers()["clear-site-data"].to_str()?;
    assert!(
        csd.contains("\"cookies\"") && csd.contains("\"storage\"") && csd.contains("\"cache\"")
    );
    let js = reqwest::get(s.url("/static/site.js")).await?.text().await?;
    assert!(js.contains("location.replace") && js.contains("Escape"));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn unknown_paths_get_a_helpful_404_with_the_quick_exit() -> TestResult {
    let s = TestServer::start().await;
    for p in [
        "/nope",
        "/modules/no-such-module",
        "/modules/understanding-what-is-happening/999",
        "/modules/x/y/z",
    ] {
        let resp = reqwest::get(s.url(p)).await?;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{p}");
        let html = resp.text().await?;
        assert!(
            html.contains("Page not found") && html.contains("href=\"/exit\""),
            "{p}"
        );
        assert!(html.contains("href=\"/get-help\""));
    }
    s.stop().await;
    Ok(())
}

pub async fn first_exercise(s: &TestServer) -> (String, String, String) {
    // (chapter path, form action, field name) of the first reflection exercise.
    for p in all_pages(s).await {
        if p.matches('/').count() != 3 {
            continue;
        }
        let html = reqwest::get(s.url(&p)).await.unwrap().text().await.unwrap();
        if let Some(action) = between(&html, "<form method=\"post\" action=\"", "\"") {
            if action.contains("/exercises/") && html.contains("name=\"text\" rows=\"6\"") {
                return (p, action.to_string(), "text".into());
            }
        }
    }
    panic!("no reflection exercise found");
}

async fn post(c: &reqwest::Client, url: String, body: String) -> reqwest::Response {
    c.post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn save_resume_in_another_browser_then_delete_without_javascript() -> TestResult {
    let s = TestServer::start().await;
    let (chapter, action, field) = first_exercise(&s).await;
    let answer = "I notice it gets worse late at night when I am alone (bluepineapple).";

    // Before answering anything there is nothing to save, and the page says so.
    let a = s.browser();
    let progress = a.get(s.url("/progress")).send().await?.text().await?;
    assert!(
        progress.contains("id=\"nothing-to-save\"")
            && !progress.contains("action=\"/progress/save\"")
    );

    // Browser A answers an exercise.
    let resp = post(&a, s.url(&action), form(&[(&field, answer)])).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await?;
    assert!(page.contains("has been saved"), "no confirmation");
    assert!(page.contains("bluepineapple"), "answer not shown back");
    let progress = a.get(s.url("/progress")).send().await?.text().await?;
    assert!(
        progress.contains("action=\"/progress/save\"") && !progress.contains("nothing-to-save")
    );

    // ... and saves its progress, receiving a code once.
    let resp = post(&a, s.url("/progress/save"), String::new()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await?;
    let code = crate::common::return_code(&html)
        .expect("code shown")
        .to_string();
    assert_eq!(code.len(), 24, "{code}");
    let raw: String = code.chars().filter(|c| *c != '-').collect();
    assert!(raw.len() * 5 >= 80 + 5);

    // Browser B, with nothing, types the code sloppily and gets the answer back.
    let b = s.browser();
    let sloppy = code.to_lowercase().replace('-', " ");
    let resp = post(&b, s.url("/progress/resume"), form(&[("code", &sloppy)])).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await?;
    assert!(html.contains("Welcome back"), "{html}");
    let html = b.get(s.url(&chapter)).send().await?.text().await?;
    assert!(
        html.contains("bluepineapple"),
        "answer not restored in browser B"
    );

    // B deletes; the code stops working everywhere.
    let resp = post(&b, s.url("/progress/delete"), form(&[("confirm", "yes")])).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await?.contains("have been deleted"));
    let html = b.get(s.url(&chapter)).send().await?.text().await?;
    assert!(!html.contains("bluepineapple"));
    let c = s.browser();
    let resp = post(&c, s.url("/progress/resume"), form(&[("code", &code)])).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let html = resp.text().await?;
    assert!(html.contains("role=\"alert\"") && html.contains("could not find"));
    assert_eq!(s.state.store.workbooks_count().await?, 0);
    s.stop().await;
    Ok(())
}

/// The self-help pages are rendered once and then sent as they are (`page_cache.rs`): what is
/// sent from there must be byte for byte what a fresh render gives, one visitor's answers or
/// locale must never reach another, and no address a stranger makes up may add a page.
#[tokio::test]
async fn kept_pages_are_the_pages_rendered_afresh_and_carry_nothing_of_another_visitor(
) -> TestResult {
    let s = TestServer::start().await;
    let (chapter, action, field) = first_exercise(&s).await;
    let get = |c: reqwest::Client, path: String| {
        let url = s.url(&path);
        async move {
            let resp = c.get(url).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            resp.text().await.unwrap()
        }
    };
    let module = chapter.rsplit_once('/').unwrap().0.to_string();
    for path in [chapter.clone(), module.clone(), "/modules".to_string()] {
        let kept = get(s.browser(), path.clone()).await;
        assert_eq!(kept, get(s.browser(), path.clone()).await, "{path}");
        // With a query the page is rendered afresh, and must be the same page.
        let fresh = get(s.browser(), format!("{path}?saved=")).await;
        assert_eq!(
            kept, fresh,
            "{path}: the kept page differs from a fresh render"
        );
    }
    let anonymous = get(s.browser(), chapter.clone()).await;

    // A visitor with answers sees them; the next visitor without a workbook does not.
    let a = s.browser();
    let resp = post(
        &a,
        s.url(&action),
        form(&[(&field, "bluepineapple at night")]),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(get(a.clone(), chapter.clone())
        .await
        .contains("bluepineapple"));
    assert_eq!(get(s.browser(), chapter.clone()).await, anonymous);

    // A visitor in another locale gets their own page, and does not change anyone else's.
    let xa = s.browser();
    xa.get(s.url(&format!("/language?l=en-XA&next={chapter}")))
        .send()
        .await?;
    let theirs = get(xa.clone(), chapter.clone()).await;
    assert!(theirs.contains("lang=\"en-XA\"") && !theirs.contains("Quick exit"));
    assert_eq!(get(xa, chapter.clone()).await, theirs);
    assert_eq!(get(s.browser(), chapter.clone()).await, anonymous);

    // Other spellings of a page's address are answered, each with its own address in the
    // language form, and none of them is kept.
    let kept = s.state.pages.len();
    let (module_path, number) = chapter.rsplit_once('/').unwrap();
    for other in [
        format!("{module_path}/0{number}"),
        format!("{module_path}/00{number}"),
        format!("{module_path}/+{number}"),
    ] {
        let html = get(s.browser(), other.clone()).await;
        assert!(
            html.contains(&format!("name=\"next\" value=\"{other}\"")),
            "{other}"
        );
    }
    assert_eq!(s.state.pages.len(), kept, "a made-up address was kept");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn answers_are_sealed_and_the_code_is_never_stored() -> TestResult {
    let s = TestServer::start().await;
    let (_, action, field) = first_exercise(&s).await;
    let a = s.browser();
    post(
        &a,
        s.url(&action),
        form(&[(&field, "marker sentence bluepineapple orchard")]),
    )
    .await;
    let html = post(&a, s.url("/progress/save"), String::new())
        .await
        .text()
        .await?;
    let code = crate::common::return_code(&html).unwrap().replace('-', "");
    s.state.reach.flush(&s.state.store).await?;
    if common::postgres_url().is_none() {
        // Everything on disk: database, WAL, key file.
        for entry in common::walk_files(s.dir.path()) {
            let bytes = std::fs::read(&entry)?;
            for needle in ["bluepineapple".as_bytes(), code.as_bytes()] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "{} holds plaintext",
                    entry.display()
                );
            }
        }
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn wrong_and_malformed_codes_get_calm_errors_and_guessing_is_throttled() -> TestResult {
    let s = TestServer::start_with(|c| c.selfhelp.failed_codes_per_minute = 3).await;
    let c = s.browser();
    for (input, status, words) in [
        ("", StatusCode::BAD_REQUEST, "20 letters and numbers"),
        ("hello", StatusCode::BAD_REQUEST, "20 letters and numbers"),
        (
            "ABCD-EFGH-JKMN-PQRS-TVW!",
            StatusCode::BAD_REQUEST,
            "only letters and numbers",
        ),
        (
            "ABCD-EFGH-JKMN-PQRS-TVWX",
            StatusCode::BAD_REQUEST,
            "mistyped",
        ),
    ] {
        let resp = post(&c, s.url("/progress/resume"), form(&[("code", input)])).await;
        assert_eq!(resp.status(), status, "{input}");
        let html = resp.text().await?;
        assert!(html.contains(words), "{input}: {html}");
        assert!(html.contains("name=\"code\""), "form not offered again");
    }
    // Someone guessing: many well-formed codes that open nothing. Each is told so, and
    // nobody else is made to wait for it (the budget is per code, never per service).
    for _ in 0..40 {
        let code = reachline_core::return_code::ReturnCode::generate().display();
        let resp = post(&c, s.url("/progress/resume"), form(&[("code", &code)])).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
    // A help-seeker with the right code gets back in meanwhile.
    let real = s.browser();
    let (_, action, field) = first_exercise(&s).await;
    post(&real, s.url(&action), form(&[(&field, "my own words")])).await;
    let saved = post(&real, s.url("/progress/save"), String::new())
        .await
        .text()
        .await?;
    let mine = crate::common::return_code(&saved)
        .unwrap_or_default()
        .to_string();
    assert_eq!(mine.len(), 24, "{saved}");
    let other = s.browser();
    let resp = post(&other, s.url("/progress/resume"), form(&[("code", &mine)])).await;
    assert!(
        resp.status().is_success() || resp.status().is_redirection(),
        "{}",
        resp.status()
    );
    // The same wrong code tried again and again is refused for a while.
    let code = reachline_core::return_code::ReturnCode::generate().display();
    for _ in 0..3 {
        let resp = post(&c, s.url("/progress/resume"), form(&[("code", &code)])).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
    let resp = post(&other, s.url("/progress/resume"), form(&[("code", &code)])).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.text().await?.contains("Please wait a minute"));
    s.clock.advance(61);
    let resp = post(&other, s.url("/progress/resume"), form(&[("code", &code)])).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_ten_megabyte_post_gets_413_and_the_server_keeps_serving() -> TestResult {
    let s = TestServer::start().await;
    let big = vec![b'a'; 10 * 1024 * 1024];
    for path in [
        "/progress/resume",
        "/",
        "/modules/making-a-personal-plan/exercises/x",
    ] {
        let resp = reqwest::Client::new()
            .post(s.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .await?;
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert!(resp.text().await?.contains("too large"));
    }
    // Without a declared length (chunked), the form reader refuses it too.
    let stream = futures_stream(big);
    let resp = reqwest::Client::new()
        .post(s.url("/progress/resume"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reqwest::get(s.url("/")).await?.status(), StatusCode::OK);
    s.stop().await;
    Ok(())
}

fn futures_stream(
    data: Vec<u8>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    tokio_stream::iter(chunks)
}

#[tokio::test]
async fn oversized_answers_are_refused_without_losing_the_text() -> TestResult {
    let s = TestServer::start_with(|c| c.selfhelp.max_answer_chars = 50).await;
    let (_, action, field) = first_exercise(&s).await;
    let long = "bluepineapple ".repeat(10);
    let resp = post(&s.browser(), s.url(&action), form(&[(&field, &long)])).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await?;
    assert!(html.contains("too long") && html.contains("role=\"alert\""));
    assert!(html.contains(long.trim()), "typed text was lost");
    assert_eq!(s.state.store.workbooks_count().await?, 0);
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn malformed_and_cross_site_forms_are_refused_clearly() -> TestResult {
    let s = TestServer::start().await;
    let resp = reqwest::Client::new()
        .post(s.url("/progress/resume"))
        .header("content-type", "application/json")
        .body("{\"code\": 1}")
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await?.contains("could not read what was sent"));
    let resp = reqwest::Client::new()
        .post(s.url("/progress/delete"))
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("confirm=yes")
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = reqwest::Client::new()
        .delete(s.url("/progress"))
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(resp.text().await?.contains("href=\"/exit\""));
    let resp = reqwest::get(s.url("/language?next=//evil.example&l=en-XA")).await?;
    assert_eq!(resp.url().host_str(), Some("127.0.0.1"));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn two_tabs_saving_at_once_lose_no_answer() -> TestResult {
    let s = TestServer::start().await;
    let a = s.browser();
    // Find several reflection exercises in one module.
    let mut actions = Vec::new();
    for p in all_pages(&s).await {
        if p.matches('/').count() == 3 {
            let html = a.get(s.url(&p)).send().await?.text().await?;
            let mut rest = html.as_str();
            while let Some(act) = between(rest, "<form method=\"post\" action=\"", "\"") {
                if act.contains("/exercises/") {
                    actions.push(act.to_string());
                }
                let i = rest.find("<form method=\"post\"").unwrap() + 10;
                rest = &rest[i..];
            }
        }
    }
    actions.truncate(8);
    assert!(actions.len() >= 4);
    // Create the workbook first so every request shares it.
    post(&a, s.url(&actions[0]), form(&[("text", "first answer")])).await;
    let mut tasks = Vec::new();
    for (i, action) in actions.iter().enumerate().skip(1) {
        let a = a.clone();
        let url = s.url(action);
        tasks.push(tokio::spawn(async move {
            post(
                &a,
                url,
                form(&[
                    ("text", &format!("answer number {i}")),
                    ("item-0", "on"),
                    ("section-warning-signs", "x"),
                ]),
            )
            .await
            .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await?, StatusCode::OK);
    }
    let html = a.get(s.url("/progress")).send().await?.text().await?;
    let listed = html.matches("<li><a href=\"/modules/").count();
    assert_eq!(listed, actions.len(), "{html}");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn reach_is_counted_without_identifiers() -> TestResult {
    let s = TestServer::start().await;
    let a = s.browser();
    a.get(s.url("/")).send().await?;
    a.get(s.url("/modules/understanding-what-is-happening"))
        .send()
        .await?;
    a.get(s.url("/modules")).send().await?;
    // A second device, which tells us its area.
    let b = s.browser();
    b.get(s.url("/modules/understanding-what-is-happening"))
        .send()
        .await?;
    let resp = post(&b, s.url("/area"), form(&[("area", "E23000015")])).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await?.contains("Your area has been counted"));
    // Choosing again does not count twice; nonsense is refused.
    post(&b, s.url("/area"), form(&[("area", "E23000001")])).await;
    let c = s.browser();
    let resp = post(&c, s.url("/area"), form(&[("area", "nowhere")])).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // A post from someone whose visit was never counted moves nothing: "unknown" cannot be
    // driven down nor an area up by posting the form again and again without cookies.
    for _ in 0..5 {
        post(&s.client(), s.url("/area"), form(&[("area", "E23000001")])).await;
    }
    s.state.reach.flush(&s.state.store).await?;
    let visits = s.state.store.reach_first_visits(2026).await?;
    let count = |area: &str| {
        visits
            .iter()
            .find(|v| v.area == area)
            .map(|v| v.n)
            .unwrap_or(0)
    };
    assert_eq!(count("unknown"), 1, "{visits:?}");
    assert_eq!(count("E23000015"), 1, "{visits:?}");
    assert_eq!(count("E23000001"), 0, "{visits:?}");
    let daily = s
        .state
        .store
        .reach_daily("2026-03-02", "2026-03-02")
        .await?;
    let views: i64 = daily
        .iter()
        .filter(|d| d.metric == "module_view" && d.subject == "understanding-what-is-happening")
        .map(|d| d.n)
        .sum();
    assert_eq!(views, 2);
    // The year cookie holds only the year.
    let resp = reqwest::get(s.url("/")).await?;
    let cookie = resp.headers()["set-cookie"].to_str()?;
    assert!(cookie.starts_with("rl_year=2026;"), "{cookie}");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn pseudo_locales_change_every_string_and_mirror_the_layout() -> TestResult {
    let s = TestServer::start().await;
    let en = s.browser().get(s.url("/")).send().await?.text().await?;
    let xa = s.browser();
    xa.get(s.url("/language?l=en-XA&next=/")).send().await?;
    let xa = xa.get(s.url("/")).send().await?.text().await?;
    let xb = s.browser();
    xb.get(s.url("/language?l=ar-XB&next=/")).send().await?;
    let xb = xb.get(s.url("/modules")).send().await?.text().await?;
    assert!(en.contains("dir=\"ltr\"") && xb.contains("dir=\"rtl\""));
    for label in [
        "Quick exit",
        "Self-help",
        "Get help now",
        "My answers",
        "Skip to main content",
    ] {
        assert!(en.contains(label), "{label}");
        assert!(!xa.contains(label), "en-XA still shows {label:?}");
        assert!(!xb.contains(label), "ar-XB still shows {label:?}");
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn operators_can_add_and_replace_content_without_code() -> TestResult {
    let content = tempfile::tempdir()?;
    let modules = content.path().join("en-GB/modules");
    std::fs::create_dir_all(&modules)?;
    std::fs::write(
        modules.join("local-services.md"),
        "+++\ntitle = \"Local services near you\"\nsummary = \"Added by the operator.\"\norder = 50\n\
         reading_minutes = 3\naudience = \"everyone\"\n+++\nIntro.\n\n## Where to go\n\nOur local partners.\n",
    )?;
    let dir = content.path().display().to_string();
    let s = TestServer::start_with(move |c| c.site.content_dir = dir).await;
    let html = reqwest::get(s.url("/modules")).await?.text().await?;
    assert!(html.contains("Local services near you"));
    let resp = reqwest::get(s.url("/modules/local-services/1")).await?;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await?.contains("Our local partners."));
    s.stop().await;
    Ok(())
}

#[test]
fn the_binary_starts_with_nothing_configured_and_stops_on_sigterm() {
    let mut server = BinaryServer::start(&[]);
    let resp = blocking_status(&server.url("/"));
    assert_eq!(resp, 200);
    assert!(server.data_dir.join("reachline.db").exists());
    let key = server.data_dir.join("master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Started with nothing set, `serve` runs as the same process with glibc held to one
    // malloc arena (what SQLite frees is not kept once per pool thread).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    assert_eq!(
        environment_value(server.child.id(), "MALLOC_ARENA_MAX").as_deref(),
        Some("1"),
        "serve did not restart itself with one malloc arena"
    );
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

/// The value of `name` in a running process's environment.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn environment_value(pid: u32, name: &str) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let prefix = format!("{name}=");
    environ
        .split(|b| *b == 0)
        .find_map(|v| v.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn an_operators_own_malloc_arena_limit_is_kept() {
    let mut server = BinaryServer::start(&[("MALLOC_ARENA_MAX", "3")]);
    assert_eq!(blocking_status(&server.url("/healthz")), 200);
    assert_eq!(
        environment_value(server.child.id(), "MALLOC_ARENA_MAX").as_deref(),
        Some("3")
    );
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn no_marker_address_or_user_agent_reaches_disk_or_logs() {
    let ip = "203.0.113.77";
    let ua = "MarkerAgent/9.9 (uniquely-identifying-ua-5f3a)";
    let rt = tokio::runtime::Runtime::new().unwrap();
    // On the PostgreSQL pass the binary writes to a fresh schema, searched afterwards.
    let pg = common::postgres_url().map(|url| {
        let schema = reachline_store::random_schema_name("marker");
        rt.block_on(async {
            reachline_store::Store::open_postgres_in_schema(&url, &schema)
                .await
                .unwrap()
                .close()
                .await
        });
        let sep = if url.contains('?') { '&' } else { '?' };
        (
            url.clone(),
            schema.clone(),
            format!("{url}{sep}options[search_path]={schema}"),
        )
    });
    let mut env = vec![("REACHLINE_LOG_FILTER", "trace")];
    if let Some((_, _, db)) = &pg {
        env.push(("REACHLINE_DATABASE_URL", db.as_str()));
    }
    let mut server = BinaryServer::start(&env);
    rt.block_on(async {
        let c = reqwest::Client::builder()
            .cookie_store(true)
            .user_agent(ua)
            .build()
            .unwrap();
        let send = |method: reqwest::Method, path: &str, body: &str| {
            c.request(method, server.url(path))
                .header("x-forwarded-for", ip)
                .header("x-real-ip", ip)
                .header("forwarded", format!("for={ip}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_string())
                .send()
        };
        use reqwest::Method;
        for p in [
            "/",
            "/modules",
            "/modules/making-a-personal-plan/2",
            "/nope",
            "/progress",
        ] {
            send(Method::GET, p, "").await.unwrap();
        }
        send(
            Method::POST,
            "/modules/understanding-what-is-happening/exercises/what-brought-me-here",
            "text=hello",
        )
        .await
        .unwrap();
        send(Method::POST, "/progress/save", "").await.unwrap();
        send(Method::POST, "/progress/resume", "code=ABCD")
            .await
            .unwrap();
        send(Method::POST, "/progress/resume", &format!("code={ip}"))
            .await
            .unwrap();
        send(Method::POST, "/area", "area=E23000015").await.unwrap();
        send(Method::POST, "/progress/resume", &"x".repeat(200_000))
            .await
            .unwrap();
        send(Method::DELETE, "/", "").await.unwrap();
    });
    let status = server.terminate();
    assert!(status.success());
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.contains("route=/progress/save"),
        "request log missing: {log}"
    );
    let mut database_text = String::new();
    if let Some((url, schema, db)) = &pg {
        assert!(log.contains("backend=Postgres"), "{log}");
        database_text = rt.block_on(dump_schema(db, schema));
        assert!(database_text.contains("E23000015") || database_text.contains("module_view"));
        rt.block_on(async {
            reachline_store::Store::drop_postgres_schema(url, schema)
                .await
                .unwrap()
        });
    }
    for marker in [ip, "203.0.113", "MarkerAgent", "uniquely-identifying-ua"] {
        assert!(!log.contains(marker), "log holds {marker}");
        assert!(!database_text.contains(marker), "PostgreSQL holds {marker}");
        for file in common::walk_files(&server.data_dir) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "{} holds {marker}",
                file.display()
            );
        }
    }
}

fn blocking_status(url: &str) -> u16 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        reqwest::get(url)
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    })
}

/// Every row of every table in a PostgreSQL schema, as text.
async fn dump_schema(url: &str, schema: &str) -> String {
    use sqlx::Row;
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query(
        "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(schema)
    .fetch_all(&pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("t"))
    .collect();
    assert!(tables.len() >= 4, "{tables:?}");
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

#[tokio::test]
async fn a_geoip_database_places_first_visits_and_the_address_is_dropped() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("areas.mmdb");
    std::fs::write(
        &db,
        common::mmdb::single_address([127, 0, 0, 1].into(), "STS"),
    )?;
    let path = db.display().to_string();
    let s = TestServer::start_with(move |c| {
        c.reach.geoip_database = path;
        c.reach.geoip_areas = vec!["STS=E23000015".into()];
    })
    .await;
    s.browser().get(s.url("/")).send().await?;
    s.browser().get(s.url("/modules")).send().await?;
    s.state.reach.flush(&s.state.store).await?;
    let visits = s.state.store.reach_first_visits(2026).await?;
    assert_eq!(visits.len(), 1, "{visits:?}");
    assert_eq!((visits[0].area.as_str(), visits[0].n), ("E23000015", 2));
    s.stop().await;

    // A broken database or mapping stops start-up with a clear message.
    let cfg = {
        let mut c = reachline_core::config::Config::default();
        c.reach.geoip_database = db.display().to_string();
        c.reach.geoip_areas = vec!["STS=nowhere".into()];
        c
    };
    let err = reachline_app::reach::GeoIp::open(
        &cfg.reach.geoip_database,
        &cfg.reach.geoip_field,
        &cfg.reach.geoip_areas,
    );
    assert!(err
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
        .contains("not a police force area"));
    Ok(())
}

#[tokio::test]
async fn get_help_shows_the_configured_hours_phone_and_reply_time() -> TestResult {
    let s = TestServer::start_with(|c| {
        c.helpline.phone_number = "0800 000 1111".into();
        c.helpline.opening_hours = vec!["mon-fri 08:30-20:00".into(), "sun 10:00-14:00".into()];
        c.helpline.message_reply_days = 2;
    })
    .await;
    let html = reqwest::get(s.url("/get-help")).await?.text().await?;
    assert!(html.contains("Monday to Friday, 08:30 to 20:00"), "{html}");
    assert!(html.contains("Sunday, 10:00 to 14:00"));
    assert!(html.contains("0800 000 1111"));
    assert!(html.contains("within 2 days"));
    s.stop().await;

    // A typo in the hours stops start-up with a message naming it.
    let dir = tempfile::tempdir()?;
    let mut config = reachline_core::config::Config::default();
    config.storage.data_dir = dir.path().display().to_string();
    config.helpline.opening_hours = vec!["mon-fri 9-5".into()];
    let clock = std::sync::Arc::new(reachline_core::clock::ManualClock::new(common::T0));
    let err = reachline_web::AppState::open(config, clock)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(err.unwrap_or_default().contains("mon-fri 9-5"));
    Ok(())
}

#[tokio::test]
async fn the_chat_is_offered_where_people_look_while_open_and_the_next_opening_while_closed(
) -> TestResult {
    // Default hours: mon-thu 09:00-21:00, fri 09:00-17:00, Europe/London. T0 is Monday 10:00.
    let s = TestServer::start().await;
    let pages = ["/", "/get-help", "/worried-about-someone-else", "/under-18"];
    for path in pages {
        let html = reqwest::get(s.url(path)).await?.text().await?;
        assert!(
            html.contains(r#"href="/chat""#),
            "{path} links to the chat: {html}"
        );
        assert!(html.contains("We are open now"), "{path}");
    }
    // The link leads to the start form.
    let chat = reqwest::get(s.url("/chat")).await?.text().await?;
    assert!(chat.contains(r#"action="/chat/start""#));

    // Friday 18:00: closed until Monday (days named), no chat link.
    s.clock.set(common::T0 + 4 * 86_400 + 8 * 3_600);
    for path in pages.iter().chain(&["/chat"]) {
        let html = reqwest::get(s.url(path)).await?.text().await?;
        assert!(
            !html.contains(r#"href="/chat""#),
            "{path} offers no chat while closed"
        );
        assert!(
            html.contains("We are closed now. We open again on Monday at 09:00."),
            "{path}: {html}"
        );
    }
    // Monday 22:00: tomorrow; Tuesday 07:00: today.
    s.clock.set(common::T0 + 12 * 3_600);
    let html = reqwest::get(s.url("/")).await?.text().await?;
    assert!(html.contains("We open again tomorrow at 09:00."), "{html}");
    s.clock.set(common::T0 + 21 * 3_600);
    let html = reqwest::get(s.url("/get-help")).await?.text().await?;
    assert!(html.contains("We open again today at 09:00."), "{html}");
    s.stop().await;
    Ok(())
}

/// The language switch's `next` is a redirect target: every usual bypass form (as a browser
/// or a crafted link sends it, percent-encoded in the query) stays on this site.
#[tokio::test]
async fn redirect_bypass_forms_stay_on_this_site() -> TestResult {
    let s = TestServer::start().await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    for (next, expected) in [
        ("%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("%2F%09%2Fevil.example", "/"),
        ("%2F%252F%2Fevil.example", "/"),
        ("%2F%2F%2Fevil.example", "/"),
        ("%5C%2Fevil.example", "/"),
        ("https%3A%2F%2Fevil.example", "/"),
        ("javascript%3Aalert(1)", "/"),
        ("%2F%0A%2Fevil.example", "/"),
        ("%2F%20%2Fevil.example", "/"),
        ("%2Fget-help", "/get-help"),
    ] {
        let resp = c
            .get(s.url(&format!("/language?l=en-GB&next={next}")))
            .send()
            .await?;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{next}");
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert_eq!(location, expected, "next={next}");
    }
    s.stop().await;
    Ok(())
}

/// Connections that send their headers a byte at a time (or nothing at all) do not make the
/// server unreachable: when the connection table is full, a waiting one is closed to make
/// room for the newcomer, and each is closed anyway once the header timeout has passed.
#[tokio::test]
async fn slow_header_connections_do_not_keep_help_seekers_out() -> TestResult {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start_with(|c| {
        c.server.max_connections = 32;
        c.server.header_timeout_seconds = 2;
    })
    .await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut tcp = tokio::net::TcpStream::connect(&addr).await?;
        tcp.write_all(b"GET / HTTP/1.1\r\nHo").await?;
        slow.push(tcp);
    }
    // A help-seeker arriving now is served, many times over.
    let c = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    for _ in 0..20 {
        let resp = c.get(s.url("/get-help")).send().await?;
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.text().await?.contains("href=\"/exit\""));
        // The slow clients keep dribbling.
        for tcp in slow.iter_mut().take(10) {
            let _ = tcp.write_all(b"s").await;
        }
    }
    // Every slow connection is closed by the server: made room for, or timed out.
    for mut tcp in slow {
        let mut buf = [0u8; 256];
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(10), tcp.read(&mut buf)).await;
        match read {
            Ok(Ok(_)) | Ok(Err(_)) => {}
            Err(_) => panic!("a slow-header connection was left open"),
        }
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn pages_carry_a_description_and_an_icon_that_is_served() -> TestResult {
    let s = TestServer::start().await;
    let c = s.client();
    for path in ["/", "/get-help", "/modules", "/chat"] {
        let html = c.get(s.url(path)).send().await?.text().await?;
        let description =
            between(&html, "<meta name=\"description\" content=\"", "\"").unwrap_or_default();
        assert!(description.len() > 50, "{path}: {description:?}");
        assert!(
            html.contains("<link rel=\"icon\" href=\"/static/favicon.svg\""),
            "{path}"
        );
    }
    for path in ["/favicon.ico", "/static/favicon.svg"] {
        let resp = c.get(s.url(path)).send().await?;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(resp.headers()["content-type"], "image/svg+xml");
        assert!(resp.text().await?.starts_with("<svg"));
    }
    s.stop().await;
    Ok(())
}
