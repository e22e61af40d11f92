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

    let csv = reachline_web::ops::report(c, Some("E23000015"), Period::Year(2021), "csv").await?;
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
    let html = reachline_web::ops::report(c, Some("E23000015"), Period::Year(2021), "html").await?;
    assert!(
        html.contains("In 2021, about 1,855 people from Staffordshire sought help"),
        "{html:.400}"
    );
    assert!(html.contains("fewer than 8") || html.contains("rounded to the nearest 5"));

    // A small area: every figure is "fewer than 8", never the count.
    let small = reachline_web::ops::report(c, Some("E23000002"), Period::Year(2021), "csv").await?;
    for line in small.lines().skip(1).filter(|l| l.contains("People")) {
        assert!(
            line.ends_with(",fewer than 8") || line.ends_with(",0"),
            "{line}"
        );
    }
    let json: serde_json::Value = serde_json::from_str(
        &reachline_web::ops::report(c, Some("E23000002"), Period::Year(2021), "json").await?,
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
        &reachline_web::ops::report(c, None, Period::Year(2021), "json").await?,
    )?;
    assert_eq!(national["tables"][0]["total"], 1858);

    // Another period holds none of it; purge removes exactly the synthetic records.
    let fy: serde_json::Value = serde_json::from_str(
        &reachline_web::ops::report(c, Some("E23000015"), Period::FinancialYear(2022), "json")
            .await?,
    )?;
    assert_eq!(fy["tables"][0]["total"], 0);
    let removed = reachline_web::ops::demo_purge(c).await?;
    assert!(removed >= 1858);
    assert!(s.state.store.contact_get(real).await?.is_some());
    s.stop().await;
    Ok(())
}
