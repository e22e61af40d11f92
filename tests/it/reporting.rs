//! Campaign reporting: seeded data of a known size is published rounded as the rules say,
//! the headline uses the published figure, and no sub-national value is small or off base.

use crate::common::{TestResult, TestServer};
use reachline_web::reporting::Period;
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
        .staff_create("pat", "practitioner", "", s.now())
        .await?;
    let real = s
        .state
        .store
        .contact_create("phone", s.now() - 600, Some(s.now()), staff, s.now())
        .await?;
    reachline_web::ops::demo_seed(c, clock.clone(), 2021, "E23000015", 1853).await?;
    reachline_web::ops::demo_seed(c, clock.clone(), 2021, "E23000002", 5).await?;

    let csv =
        reachline_web::ops::report(c, Some("E23000015"), Period::Year(2021), "csv", None).await?;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("area,period,measure,counts,breakdown,category,value")
    );
    let mut people_total = None;
    for line in lines {
        let value = line.rsplit(',').next().unwrap();
        if value != "fewer than 8" {
            let n: i64 = value.parse().map_err(|_| format!("not a number: {line}"))?;
            assert!(n == 0 || (n >= 10 && n % 5 == 0), "{line}");
        }
        if line.contains("People who sought help, by channel") && line.contains(",total,") {
            people_total = Some(value.to_string());
        }
    }
    assert_eq!(people_total.as_deref(), Some("1855"));
    let html =
        reachline_web::ops::report(c, Some("E23000015"), Period::Year(2021), "html", None).await?;
    assert!(
        html.contains("In 2021, about 1,855 people from Staffordshire sought help"),
        "{html:.400}"
    );
    assert!(html.contains("fewer than 8") || html.contains("rounded to the nearest 5"));

    // A small area: every figure is "fewer than 8", never the count.
    let small =
        reachline_web::ops::report(c, Some("E23000002"), Period::Year(2021), "csv", None).await?;
    for line in small.lines().skip(1).filter(|l| l.contains("People")) {
        assert!(
            line.ends_with(",fewer than 8") || line.ends_with(",0"),
            "{line}"
        );
    }
    let json: serde_json::Value = serde_json::from_str(
        &reachline_web::ops::report(c, Some("E23000002"), Period::Year(2021), "json", None).await?,
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
        &reachline_web::ops::report(c, None, Period::Year(2021), "json", None).await?,
    )?;
    assert_eq!(national["tables"][0]["total"], 1858);

    // With differential privacy the method says so and every value still passes the rules.
    let noisy =
        reachline_web::ops::report(c, Some("E23000015"), Period::Year(2021), "json", Some(1.0))
            .await?;
    let noisy: serde_json::Value = serde_json::from_str(&noisy)?;
    assert!(noisy["method"].as_str().unwrap().contains("epsilon = 1"));
    let total = noisy["tables"][0]["total"].as_i64().unwrap();
    assert!(total % 5 == 0 && (1800..=1910).contains(&total), "{total}");
    assert!(
        reachline_web::ops::report(c, None, Period::Year(2021), "csv", Some(-1.0))
            .await
            .is_err()
    );

    // Another period holds none of it; purge removes exactly the synthetic records.
    let fy: serde_json::Value = serde_json::from_str(
        &reachline_web::ops::report(
            c,
            Some("E23000015"),
            Period::FinancialYear(2022),
            "json",
            None,
        )
        .await?,
    )?;
    assert_eq!(fy["tables"][0]["total"], 0);
    let removed = reachline_web::ops::demo_purge(c).await?;
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
    reachline_web::ops::demo_seed(&s.state.config, clock.clone(), 2026, "E23000015", 40).await?;
    reachline_web::ops::demo_seed(&s.state.config, clock, 2026, "E23000001", 90).await?;
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
