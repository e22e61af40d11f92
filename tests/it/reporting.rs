//! Campaign reporting: seeded data of a known size is published rounded as the rules say,
//! the headline uses the published figure, and no sub-national value is small or off base.

use crate::common::{TestResult, TestServer};
use reachline_app::reporting::Period;
use reachline_core::staff::Role;
use reachline_core::vocabulary::Channel;
use reachline_store::WrapUp;
use std::sync::Arc;

#[tokio::test]
async fn a_seeded_area_report_is_rounded_and_the_headline_uses_it() -> TestResult {
    let s = TestServer::start().await;
    let clock = Arc::new(s.clock.clone());
    let c = &s.state.config;
    // A real contact, logged by hand, must survive `demo purge`.
    let staff = s
        .state
        .store
        .staff_create("pat", Role::Practitioner, "", s.now())
        .await?;
    let real = s
        .state
        .store
        .contact_create(Channel::Phone, s.now() - 600, Some(s.now()), staff, s.now())
        .await?;
    reachline_app::ops::demo_seed(c, clock.clone(), 2021, "E23000015", 1853).await?;
    reachline_app::ops::demo_seed(c, clock.clone(), 2021, "E23000002", 5).await?;

    let csv =
        reachline_app::ops::report(c, Some("E23000015"), Period::Year(2021), "csv", None).await?;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("area,period,measure,counts,breakdown,category,value")
    );
    let mut people_total = None;
    for line in lines {
        let value = line.rsplit(',').next().unwrap();
        if value == "hidden" {
            assert!(line.contains("who is asking and age group"), "{line}");
        } else if value != "fewer than 8" {
            let n: i64 = value.parse().map_err(|_| format!("not a number: {line}"))?;
            assert!(n == 0 || (n >= 10 && n % 5 == 0), "{line}");
        }
        if line.contains("People who sought help, by channel") && line.contains(",total,") {
            people_total = Some(value.to_string());
        }
    }
    assert_eq!(people_total.as_deref(), Some("1855"));
    let html =
        reachline_app::ops::report(c, Some("E23000015"), Period::Year(2021), "html", None).await?;
    assert!(
        html.contains("In 2021, about 1,855 people from Staffordshire sought help"),
        "{html:.400}"
    );
    assert!(html.contains("fewer than 8") || html.contains("rounded to the nearest 5"));

    // A small area: every figure is "fewer than 8", never the count.
    let small =
        reachline_app::ops::report(c, Some("E23000002"), Period::Year(2021), "csv", None).await?;
    for line in small.lines().skip(1).filter(|l| l.contains("People")) {
        assert!(
            line.ends_with(",fewer than 8")
                || line.ends_with(",0")
                || (line.ends_with(",hidden") && line.contains("who is asking and age group")),
            "{line}"
        );
    }
    let json: serde_json::Value = serde_json::from_str(
        &reachline_app::ops::report(c, Some("E23000002"), Period::Year(2021), "json", None).await?,
    )?;
    assert_eq!(
        json["headline"],
        "In 2021, fewer than 8 people from Cumbria sought help from the helpline."
    );
    assert!(json["method"]
        .as_str()
        .unwrap()
        .contains("rounded to the nearest 5"));

    // Nationally the figures are exact.
    let national: serde_json::Value = serde_json::from_str(
        &reachline_app::ops::report(c, None, Period::Year(2021), "json", None).await?,
    )?;
    assert_eq!(national["tables"][0]["total"], 1858);
    // The demo data spreads first contacts over the whole year: December is like June.
    let month = |m: u32| async move {
        let r = reachline_app::ops::report(c, None, Period::Month(2021, m), "json", None)
            .await
            .unwrap();
        serde_json::from_str::<serde_json::Value>(&r).unwrap()["tables"][0]["total"]
            .as_i64()
            .unwrap()
    };
    let (june, december) = (month(6).await, month(12).await);
    assert!(
        december * 2 >= june && june * 2 >= december,
        "June {june}, December {december}"
    );

    // With differential privacy the method says so and every value still passes the rules.
    let noisy =
        reachline_app::ops::report(c, Some("E23000015"), Period::Year(2021), "json", Some(1.0))
            .await?;
    let noisy: serde_json::Value = serde_json::from_str(&noisy)?;
    assert!(noisy["method"].as_str().unwrap().contains("epsilon = 1"));
    let total = noisy["tables"][0]["total"].as_i64().unwrap();
    assert!(total % 5 == 0 && (1800..=1910).contains(&total), "{total}");
    assert!(
        reachline_app::ops::report(c, None, Period::Year(2021), "csv", Some(-1.0))
            .await
            .is_err()
    );

    // Another period holds none of it; purge removes exactly the synthetic records.
    let fy: serde_json::Value = serde_json::from_str(
        &reachline_app::ops::report(
            c,
            Some("E23000015"),
            Period::FinancialYear(2022),
            "json",
            None,
        )
        .await?,
    )?;
    assert_eq!(fy["tables"][0]["total"], 0);
    let removed = reachline_app::ops::demo_purge(c).await?;
    assert!(removed >= 1858);
    assert!(s.state.store.contact_get(real).await?.is_some());
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_analyst_gets_their_own_area_only_and_never_a_record() -> TestResult {
    use crate::console::session_for;
    use reachline_core::staff::Role;
    use reqwest::StatusCode;
    let s = TestServer::start().await;
    let clock = Arc::new(s.clock.clone());
    reachline_app::ops::demo_seed(&s.state.config, clock.clone(), 2026, "E23000015", 40).await?;
    reachline_app::ops::demo_seed(&s.state.config, clock, 2026, "E23000001", 90).await?;
    let (analyst, _, _) = session_for(&s, Role::Analyst, 1).await; // scoped to E23000015
    let page = analyst
        .get(s.url("/console/reports"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        page.contains("about 40 people from Staffordshire"),
        "{page:.600}"
    );
    assert!(!page.contains("Metropolitan"), "another area offered");
    let other = analyst
        .get(s.url("/console/reports?area=E23000001&year=2026"))
        .send()
        .await?;
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let national = analyst
        .get(s.url("/console/reports?area=national&year=2026"))
        .send()
        .await?;
    assert_eq!(national.status(), StatusCode::FORBIDDEN);
    let csv = analyst
        .get(s.url("/console/reports.csv?area=E23000015&year=2026"))
        .send()
        .await?;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-disposition"]
        .to_str()?
        .contains("attachment"));
    let body = csv.text().await?;
    assert!(body.starts_with("area,period,measure,counts,breakdown,category,value\n"));
    for line in body.lines().skip(1) {
        let v = line.rsplit(',').next().unwrap();
        assert!(
            v == "fewer than 8"
                || (v == "hidden" && line.contains("who is asking and age group"))
                || v.parse::<i64>()
                    .is_ok_and(|n| n == 0 || (n >= 10 && n % 5 == 0)),
            "{line}"
        );
    }
    let csv_other = analyst
        .get(s.url("/console/reports.csv?area=E23000001&year=2026"))
        .send()
        .await?;
    assert_eq!(csv_other.status(), StatusCode::FORBIDDEN);
    // No record routes at all for analysts.
    assert_eq!(
        analyst
            .get(s.url("/console/contacts"))
            .send()
            .await?
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        analyst.get(s.url("/console/inbox")).send().await?.status(),
        StatusCode::FORBIDDEN
    );
    // A supervisor sees national figures, exact.
    let (sup, _, _) = session_for(&s, Role::Supervisor, 2).await;
    let page = sup
        .get(s.url("/console/reports?area=national&year=2026"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        page.contains("In 2026, 130 people sought help"),
        "{page:.600}"
    );
    let log = s.state.store.audit_all().await?;
    for a in ["report.view", "report.export", "report.refused"] {
        assert!(log.iter().any(|e| e.action == a), "{a} not audited");
    }
    s.stop().await;
    Ok(())
}

/// 00:00 UTC on the given day of 2021 (month 1–12).
fn at(month: u32, day: u32) -> i64 {
    // Days before each month in 2021 (not a leap year); 2021-01-01 is 1_609_459_200.
    const BEFORE: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    1_609_459_200 + (BEFORE[(month - 1) as usize] + i64::from(day) - 1) * 86_400
}

fn record(channel: &str, who: &str, age: &str, area: &str, t: i64, first: bool) -> WrapUp {
    WrapUp {
        channel: channel.parse().unwrap(),
        started_at: t,
        ended_at: t + 900,
        who: who.into(),
        age_group: age.into(),
        area: area.into(),
        concerns: "viewing-images".into(),
        arrested: "no".into(),
        actions: "safety-plan".into(),
        signposting: "samaritans".into(),
        first_this_year: first,
        statement_version: "test".into(),
        synthetic: true,
    }
}

/// A known data set for Staffordshire in 2021: contacts of every channel, missed chats,
/// self-help counters and a deterrence funnel for one partner.
async fn seed_known(s: &TestServer) -> TestResult {
    let store = &s.state.store;
    let staff = store
        .staff_create("demo-data", Role::Practitioner, "", s.now())
        .await?;
    let a = "E23000015";
    let mut rows = Vec::new();
    let mut add = |n: usize, channel: &str, who: &str, age: &str, month: u32, first: bool| {
        for i in 0..n {
            rows.push(record(
                channel,
                who,
                age,
                a,
                at(month, 1 + (i as u32 % 28)),
                first,
            ));
        }
    };
    add(5, "phone", "self", "adult", 1, true);
    add(3, "callback", "professional", "under-18", 2, true);
    add(8, "phone", "self", "adult", 4, true);
    add(20, "phone", "self", "adult", 4, false);
    add(9, "chat", "self", "adult", 5, true);
    add(12, "message", "someone-else", "adult", 6, true);
    add(40, "phone", "self", "adult", 9, true);
    store.demo_contacts(staff, &rows, s.now()).await?;
    // Somewhere else, which an area report never counts.
    store
        .demo_contacts(
            staff,
            &[record(
                "phone",
                "self",
                "adult",
                "E23000001",
                at(5, 2),
                true,
            )],
            s.now(),
        )
        .await?;
    // Three chats left the queue unanswered in May (and one elsewhere). A chat is created at
    // the test clock's time so the server's housekeeping, which moves stale waiting chats to
    // missed at its own time, cannot race the ending here; its month is the ending's.
    for area in [a, a, a, "E23000001"] {
        let id = store
            .chat_create("self", "adult", area, "1", "en-GB", s.now())
            .await?;
        assert_eq!(
            store.chat_end(id, "left", at(5, 10) + 60).await?.as_deref(),
            Some("missed")
        );
    }
    store
        .reach_add_daily("2021-05-03", "module_view", "m", 1234)
        .await?;
    store
        .reach_add_daily("2021-05-04", "exercise_completion", "e", 7)
        .await?;
    store
        .reach_add_daily("2021-07-01", "module_view", "m", 500)
        .await?;
    let p = store.partner_create("searchco", "h", "", s.now()).await?;
    store
        .deterrence_add("2021-05-03", p, "", "", "check", 1234)
        .await?;
    store
        .deterrence_add("2021-05-03", p, "c", "illegal", "warning", 12)
        .await?;
    store
        .deterrence_add("2021-05-04", p, "", "illegal", "arrival", 7)
        .await?;
    store
        .deterrence_add("2021-06-04", p, "c", "talk", "warning", 3)
        .await?;
    store
        .deterrence_add("2021-03-04", p, "", "", "check", 999)
        .await?;
    Ok(())
}

/// The second quarter of 2021 in Staffordshire, as published: every value worked out by hand
/// from `seed_known`. Both database passes compare against this one text, so they agree.
const Q2_CSV: &str = "\
area,period,measure,counts,breakdown,category,value
E23000015,April to June 2021,\"People who sought help, by channel\",people,channel,chat,10
E23000015,April to June 2021,\"People who sought help, by channel\",people,channel,message,10
E23000015,April to June 2021,\"People who sought help, by channel\",people,channel,phone,10
E23000015,April to June 2021,\"People who sought help, by channel\",people,channel,total,30
E23000015,April to June 2021,\"People, by who is asking\",people,who is asking,self,15
E23000015,April to June 2021,\"People, by who is asking\",people,who is asking,someone-else,10
E23000015,April to June 2021,\"People, by who is asking\",people,who is asking,total,30
E23000015,April to June 2021,\"People, by concern\",people,concern,viewing-images,30
E23000015,April to June 2021,\"People, by concern\",people,concern,total,30
E23000015,April to June 2021,\"People, by age group\",people,age group,adult,30
E23000015,April to June 2021,\"People, by age group\",people,age group,total,30
E23000015,April to June 2021,\"People, by protective actions agreed\",people,protective action,safety-plan,30
E23000015,April to June 2021,\"People, by protective actions agreed\",people,protective action,total,30
E23000015,April to June 2021,\"People, by where they were signposted\",people,signposted to,samaritans,30
E23000015,April to June 2021,\"People, by where they were signposted\",people,signposted to,total,30
E23000015,April to June 2021,\"People, by channel, who is asking and age group\",people,channel / who is asking / age group,chat / self / adult,hidden
E23000015,April to June 2021,\"People, by channel, who is asking and age group\",people,channel / who is asking / age group,chat / someone-else / adult,0
E23000015,April to June 2021,\"People, by channel, who is asking and age group\",people,channel / who is asking / age group,message / self / adult,0
E23000015,April to June 2021,\"People, by channel, who is asking and age group\",people,channel / who is asking / age group,message / someone-else / adult,10
E23000015,April to June 2021,\"People, by channel, who is asking and age group\",people,channel / who is asking / age group,phone / self / adult,hidden
E23000015,April to June 2021,\"People, by channel, who is asking and age group\",people,channel / who is asking / age group,phone / someone-else / adult,0
E23000015,April to June 2021,\"People, by channel, who is asking and age group\",people,channel / who is asking / age group,total,30
E23000015,April to June 2021,\"Contacts, by channel\",contacts,channel,chat,10
E23000015,April to June 2021,\"Contacts, by channel\",contacts,channel,message,10
E23000015,April to June 2021,\"Contacts, by channel\",contacts,channel,phone,30
E23000015,April to June 2021,\"Contacts, by channel\",contacts,channel,total,50
E23000015,April to June 2021,\"Missed contacts, by channel\",missed contacts,channel,chat,fewer than 8
E23000015,April to June 2021,\"Missed contacts, by channel\",missed contacts,channel,total,fewer than 8
E23000015,April to June 2021,Self-help website: module views,module views,none,total,1235
E23000015,April to June 2021,Self-help website: exercise completions,exercise completions,none,total,fewer than 8
E23000015,April to June 2021,Contacts by month,contacts,month,2021-04,30
E23000015,April to June 2021,Contacts by month,contacts,month,2021-05,10
E23000015,April to June 2021,Contacts by month,contacts,month,2021-06,10
E23000015,April to June 2021,Missed contacts by month,missed contacts,month,2021-04,0
E23000015,April to June 2021,Missed contacts by month,missed contacts,month,2021-05,fewer than 8
E23000015,April to June 2021,Missed contacts by month,missed contacts,month,2021-06,0
E23000015,April to June 2021,Deterrence funnel,checks,campaign code,p1,1235
E23000015,April to June 2021,Deterrence funnel,warnings issued,campaign code,p1,15
E23000015,April to June 2021,Deterrence funnel,help-link arrivals,campaign code,p1,fewer than 8
E23000015,April to June 2021,Deterrence funnel,warnings issued,campaign code,p1-illegal,10
E23000015,April to June 2021,Deterrence funnel,help-link arrivals,campaign code,p1-illegal,fewer than 8
E23000015,April to June 2021,Deterrence funnel,warnings issued,campaign code,p1-talk,fewer than 8
E23000015,April to June 2021,Deterrence funnel,help-link arrivals,campaign code,p1-talk,0
E23000015,April to June 2021,Deterrence funnel,checks,campaign code,total,1235
E23000015,April to June 2021,Deterrence funnel,warnings issued,campaign code,total,15
E23000015,April to June 2021,Deterrence funnel,help-link arrivals,campaign code,total,fewer than 8
";

#[tokio::test]
async fn a_known_quarter_is_published_exactly_as_worked_out_on_either_database() -> TestResult {
    let s = TestServer::start().await;
    seed_known(&s).await?;
    let c = &s.state.config;
    let q2 = Period::from_parts("quarter", Some(2021), None, Some(2), None, None)?;
    let csv = reachline_app::ops::report(c, Some("E23000015"), q2, "csv", None).await?;
    assert_eq!(csv, Q2_CSV);

    // The same figures for the whole year: the 3-dimension table uses the 10-5 rule.
    let year: serde_json::Value = serde_json::from_str(
        &reachline_app::ops::report(c, Some("E23000015"), Period::Year(2021), "json", None).await?,
    )?;
    let cross = year["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["dimension"] == "channel-who-age")
        .unwrap();
    let cell = |k: &str| {
        cross["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["category"] == k)
            .map(|r| r["value"].clone())
    };
    assert_eq!(cell("phone / self / adult"), Some(55.into())); // 5 + 8 + 40 = 53
    assert_eq!(
        cell("callback / professional / under-18"),
        Some("hidden".into())
    ); // 3
    assert_eq!(cell("chat / self / adult"), Some("hidden".into())); // 9
    assert_eq!(cell("message / someone-else / adult"), Some(10.into())); // 12
    assert_eq!(cell("phone / professional / adult"), Some(0.into()));
    assert_eq!(cross["total"], 75); // 77
    assert!(cross["rule"].as_str().unwrap().contains("under 10 hidden"));
    // The same cell at the two-dimension level uses the NHS rule instead.
    let by_channel = &year["tables"][0];
    assert_eq!(by_channel["rows"][0]["category"], "callback");
    assert_eq!(by_channel["rows"][0]["value"], "fewer than 8");
    // Self-help first visits are counted per calendar year, so only year reports have them.
    assert!(year["tables"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["measure"] == "Self-help website: first visits of the year"));
    assert!(!csv.contains("first visits"));

    // Nationally every figure is exact, including the other area's contact and missed chat.
    let national: serde_json::Value =
        serde_json::from_str(&reachline_app::ops::report(c, None, q2, "json", None).await?)?;
    assert_eq!(national["tables"][0]["total"], 30); // 29 + 1
    let missed = national["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["measure"] == "Missed contacts, by channel")
        .unwrap();
    assert_eq!(missed["total"], 4);
    assert_eq!(national["funnel"][0]["checks"], 1234);
    assert_eq!(national["funnel"][1]["code"], "p1-illegal");
    assert_eq!(national["funnel"][1]["arrivals"], 7);
    assert_eq!(national["monthly_missed"][1]["value"], 4);

    // The HTML summary inlines both charts, named and described, with the data as tables.
    let html = reachline_app::ops::report(c, Some("E23000015"), q2, "html", None).await?;
    assert_eq!(html.matches("<svg ").count(), 2, "{html:.2000}");
    assert!(html.contains("<title id=\"chart-trend-title\">Contacts and missed contacts by month, Staffordshire, April to June 2021</title>"));
    assert!(html.contains("aria-labelledby=\"chart-channels-title chart-channels-desc\""));
    assert!(!html.contains(" style=\""));
    assert!(html.contains("@media print"));
    assert!(html.contains("<caption>Contacts and missed contacts by month</caption>"));
    assert!(html.contains("In April to June 2021, about 30 people from Staffordshire sought help"));
    s.stop().await;
    Ok(())
}

/// The months a national report lists ("YYYY-MM=n …") and its contacts total.
async fn months_of(store: &reachline_store::Store, p: Period) -> (String, String) {
    let r = reachline_app::reporting::build(
        store,
        None,
        p,
        reachline_core::disclosure::Rules::default(),
        None,
    )
    .await
    .unwrap();
    let contacts = r
        .tables
        .iter()
        .find(|t| t.measure == "Contacts, by channel")
        .unwrap()
        .total
        .text();
    (
        r.monthly_contacts
            .iter()
            .map(|m| format!("{}={}", m.category, m.value.text()))
            .collect::<Vec<_>>()
            .join(" "),
        contacts,
    )
}

#[tokio::test]
async fn periods_select_exactly_their_months() -> TestResult {
    let s = TestServer::start().await;
    let store = &s.state.store;
    let staff = store
        .staff_create("demo-data", Role::Practitioner, "", s.now())
        .await?;
    let a = "E23000015";
    // One contact on the first and the last day of every month from 2020-10 to 2021-04.
    let mut rows = Vec::new();
    for t in [
        1_601_510_400, // 2020-10-01
        1_606_780_799, // 2020-11-30 23:59:59
        1_606_780_800, // 2020-12-01
        at(1, 1),
        at(1, 31) + 86_399,
        at(2, 1),
        at(3, 31) + 86_399,
        at(4, 1),
    ] {
        rows.push(record("phone", "self", "adult", a, t, true));
    }
    store.demo_contacts(staff, &rows, s.now()).await?;
    let months = |p: Period| months_of(&s.state.store, p);
    let custom = Period::from_parts("custom", None, None, None, Some("2020-11"), Some("2021-02"))?;
    assert_eq!(
        months(custom).await,
        (
            "2020-11=1 2020-12=1 2021-01=2 2021-02=1".to_string(),
            "5".to_string()
        )
    );
    let q1 = Period::from_parts("quarter", Some(2021), None, Some(1), None, None)?;
    assert_eq!(
        months(q1).await,
        ("2021-01=2 2021-02=1 2021-03=1".to_string(), "4".to_string())
    );
    let april = Period::from_parts("month", Some(2021), Some(4), None, None, None)?;
    assert_eq!(
        months(april).await,
        ("2021-04=1".to_string(), "1".to_string())
    );
    let q4 = Period::from_parts("quarter", Some(2020), None, Some(4), None, None)?;
    assert_eq!(months(q4).await.1, "3");
    // The financial year 2020/21 is April 2020 to March 2021.
    let (fy, total) = months(Period::FinancialYear(2020)).await;
    assert!(
        fy.starts_with("2020-04=0 ") && fy.ends_with(" 2021-03=1"),
        "{fy}"
    );
    assert_eq!(total, "7");
    // Bad periods are refused with a reason.
    for (kind, y, m, q, f, t) in [
        ("quarter", Some(2021), None, Some(5), None, None),
        ("month", Some(2021), Some(13), None, None, None),
        ("custom", None, None, None, Some("2021-05"), Some("2021-04")),
        ("custom", None, None, None, Some("2011-01"), Some("2021-04")),
        ("custom", None, None, None, Some("2021-1"), Some("2021-04")),
        ("week", Some(2021), None, None, None, None),
        ("year", None, None, None, None, None),
    ] {
        assert!(
            Period::from_parts(kind, y, m, q, f, t).is_err(),
            "{kind} {q:?} {f:?}"
        );
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn no_sub_national_csv_value_is_small_or_off_base_whatever_the_size() -> TestResult {
    let s = TestServer::start().await;
    let store = &s.state.store;
    let staff = store
        .staff_create("demo-data", Role::Practitioner, "", s.now())
        .await?;
    let channels = ["phone", "chat", "message", "callback"];
    let who = ["self", "someone-else", "professional", ""];
    let ages = ["adult", "under-18", ""];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let areas = reachline_core::areas::all();
    let mut rows = Vec::new();
    let mut sizes = Vec::new();
    for (i, area) in areas.iter().enumerate() {
        // 0, 1, 2 … then ever larger sizes, so every small count and many rounding edges
        // occur in some table.
        let n = if i < 16 { i } else { (i * i * 7) % 400 };
        sizes.push(n);
        for _ in 0..n {
            let t = at(1 + rnd(12) as u32, 1 + rnd(28) as u32) + rnd(86_400) as i64;
            let mut r = record(
                channels[rnd(4) as usize],
                who[rnd(4) as usize],
                ages[rnd(3) as usize],
                area.code,
                t,
                rnd(3) > 0,
            );
            r.concerns = ["viewing-images", "other,viewing-images", ""][rnd(3) as usize].into();
            rows.push(r);
        }
        for _ in 0..rnd(12) {
            let id = store
                .chat_create("self", "adult", area.code, "1", "en-GB", s.now())
                .await?;
            store
                .chat_end(id, "left", at(1 + rnd(12) as u32, 5))
                .await?;
        }
    }
    for chunk in rows.chunks(2000) {
        store.demo_contacts(staff, chunk, s.now()).await?;
    }
    store
        .reach_add_daily("2021-03-03", "module_view", "m", 3)
        .await?;
    let p = store.partner_create("searchco", "h", "", s.now()).await?;
    store
        .deterrence_add("2021-03-03", p, "", "", "check", 6)
        .await?;
    store
        .deterrence_add("2021-03-03", p, "c", "harm", "warning", 13)
        .await?;
    let c = &s.state.config;
    let periods = [
        Period::Year(2021),
        Period::from_parts("quarter", Some(2021), None, Some(3), None, None)?,
        Period::from_parts("custom", None, None, None, Some("2021-02"), Some("2021-11"))?,
    ];
    let mut checked = 0;
    for area in &areas {
        for period in periods {
            let csv = reachline_app::ops::report(c, Some(area.code), period, "csv", None).await?;
            for line in csv.lines().skip(1) {
                let v = line.rsplit(',').next().unwrap();
                checked += 1;
                if v == "fewer than 8" {
                    continue;
                }
                if v == "hidden" {
                    assert!(line.contains("who is asking and age group"), "{line}");
                    continue;
                }
                let n: i64 = v.parse().map_err(|_| format!("not a number: {line}"))?;
                assert!(n == 0 || (n >= 10 && n % 5 == 0), "{}: {line}", area.code);
            }
        }
    }
    assert!(checked > 5000, "{checked}");
    assert!(sizes.contains(&1) && sizes.contains(&7) && sizes.iter().any(|n| *n > 300));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_dashboard_filters_by_period_and_dimension_and_draws_controlled_charts() -> TestResult {
    use crate::console::session_for;
    use reachline_core::staff::Role;
    use reqwest::StatusCode;
    let s = TestServer::start().await;
    seed_known(&s).await?;
    let (analyst, _, _) = session_for(&s, Role::Analyst, 1).await; // scoped to E23000015
    let get = |q: &str| analyst.get(s.url(&format!("/console/reports?{q}"))).send();
    let page = get("area=E23000015&period=quarter&year=2021&quarter=2")
        .await?
        .text()
        .await?;
    assert!(
        page.contains("In April to June 2021, about 30 people from Staffordshire sought help"),
        "{page:.800}"
    );
    assert_eq!(page.matches("<svg ").count(), 2);
    assert!(page.contains("role=\"img\" aria-labelledby=\"chart-trend-title chart-trend-desc\""));
    assert!(
        !page.contains(" style=\""),
        "inline style would break the CSP"
    );
    assert!(page.contains("<table id=\"monthly\">") && page.contains("<table id=\"funnel\">"));
    assert!(page.contains("People, by concern") && page.contains("People, by age group"));
    // The 3-dimension table with its stricter rule.
    assert!(page.contains("under 10 hidden"));
    // One dimension only.
    let page = get("area=E23000015&period=quarter&year=2021&quarter=2&dimension=age-group")
        .await?
        .text()
        .await?;
    assert!(page.contains("People, by age group") && !page.contains("People, by concern"));
    // A custom range of the same months is the same report.
    let page = get("area=E23000015&period=custom&from=2021-04&to=2021-06")
        .await?
        .text()
        .await?;
    assert!(page.contains("about 30 people"), "{page:.800}");
    // The CSV download carries the filters and equals the CLI's output.
    let csv = analyst
        .get(s.url(
            "/console/reports.csv?area=E23000015&period=quarter&year=2021&quarter=2&dimension=all",
        ))
        .send()
        .await?;
    assert!(csv.headers()["content-disposition"]
        .to_str()?
        .contains("reachline-E23000015-2021-q2.csv"));
    assert_eq!(csv.text().await?, Q2_CSV);
    for bad in [
        "area=E23000015&period=quarter&year=2021&quarter=5",
        "area=E23000015&period=custom&from=2021-07&to=2021-06",
        "area=E23000015&period=week&year=2021",
        "area=E23000015&dimension=postcode",
    ] {
        assert_eq!(get(bad).await?.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(
        get("area=E23000001&period=quarter&year=2021&quarter=2")
            .await?
            .status(),
        StatusCode::FORBIDDEN
    );
    let log = s.state.store.audit_all().await?;
    assert!(log
        .iter()
        .any(|e| e.action == "report.export" && e.detail.contains("2021-q2")));
    s.stop().await;
    Ok(())
}
