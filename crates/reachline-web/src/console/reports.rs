//! The analyst dashboard: the same disclosure-controlled report as `reachline report`, for
//! the analyst's own areas only, with period filters and CSV download. Never a record.
//! Every view and download is audited.

use super::{console_message, render, ConsoleChrome, Staff};
use crate::site::{Ctx, Shared};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use reachline_app::reporting::{self, Period, Report};
use reachline_core::staff::Role;
use reachline_core::{areas, clock, disclosure::Rules};

#[derive(serde::Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    area: String,
    #[serde(default)]
    year: Option<i32>,
    #[serde(default)]
    period: String,
    #[serde(default)]
    month: Option<u32>,
    #[serde(default)]
    quarter: Option<u32>,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    dimension: String,
}

#[derive(Template)]
#[template(path = "console/reports.html")]
struct ReportsPage<'a> {
    k: ConsoleChrome<'a>,
    areas: Vec<(String, String)>,
    area: String,
    year: i32,
    period: String,
    month: u32,
    quarter: u32,
    from: String,
    to: String,
    dimension: String,
    periods: Vec<(&'static str, String)>,
    months: Vec<(u32, String)>,
    quarters: Vec<(u32, String)>,
    dimensions: Vec<(&'static str, String)>,
    report: Option<Report>,
    csv_link: String,
}

/// What was asked for, checked.
struct Asked {
    area: String,
    period: Period,
    dimension: String,
}

impl Asked {
    fn query(&self) -> String {
        let (from, to) = self.period.months();
        let (y, m) = self.period.bounds().0;
        let quarter = match self.period {
            Period::Quarter(_, q) => q,
            _ => 1,
        };
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("area", &self.area)
            .append_pair("period", self.period.kind())
            .append_pair("year", &y.to_string())
            .append_pair("month", &m.to_string())
            .append_pair("quarter", &quarter.to_string())
            .append_pair("from", &from)
            .append_pair("to", &to)
            .append_pair("dimension", &self.dimension);
        q.finish()
    }
}

/// The areas this person may see: an analyst's own; everyone else's all (plus national).
fn allowed(me: &Staff) -> Vec<(String, String)> {
    let all = areas::all();
    match me.role {
        Role::Analyst => all
            .into_iter()
            .filter(|a| me.areas.iter().any(|m| m == a.code))
            .map(|a| (a.code.to_string(), a.name.to_string()))
            .collect(),
        _ => std::iter::once(("national".to_string(), "England and Wales".to_string()))
            .chain(
                all.into_iter()
                    .map(|a| (a.code.to_string(), a.name.to_string())),
            )
            .collect(),
    }
}

async fn build(
    state: &crate::state::AppState,
    me: &Staff,
    f: &Filter,
) -> Result<(Asked, Report), StatusCode> {
    let areas = allowed(me);
    let area = if f.area.is_empty() {
        areas
            .first()
            .map(|a| a.0.clone())
            .ok_or(StatusCode::FORBIDDEN)?
    } else {
        f.area.clone()
    };
    if !areas.iter().any(|a| a.0 == area) {
        return Err(StatusCode::FORBIDDEN);
    }
    let year = f
        .year
        .unwrap_or_else(|| clock::year_of(state.clock.now_unix()));
    let nonempty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let period = Period::from_parts(
        &f.period,
        Some(year),
        f.month,
        f.quarter,
        nonempty(&f.from).as_deref(),
        nonempty(&f.to).as_deref(),
    )
    .map_err(|_| StatusCode::BAD_REQUEST)?;
    let dimension = match f.dimension.as_str() {
        "" | "all" => "all".to_string(),
        d if reporting::DIMENSIONS.contains(&d) => d.to_string(),
        _ => return Err(StatusCode::BAD_REQUEST),
    };
    let scope = (area != "national").then_some(area.as_str());
    let report = reporting::build(&state.store, scope, period, Rules::default(), None)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .only(&dimension);
    Ok((
        Asked {
            area,
            period,
            dimension,
        },
        report,
    ))
}

pub async fn show(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    uri: axum::http::Uri,
) -> Response {
    let f = Query::<Filter>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    if allowed(&me).is_empty() {
        // An analyst whose account has no areas yet: say what to do, refuse nothing.
        return console_message(&state, &ctx.chrome, Some(&me), StatusCode::OK, "no-areas");
    }
    match build(&state, &me, &f).await {
        Ok((asked, report)) => {
            if let Err(e) = state
                .audit(
                    &me.username,
                    "report.view",
                    &format!("area:{}", asked.area),
                    &format!("{} {}", asked.period.slug(), asked.dimension),
                )
                .await
            {
                return super::app_error(&state, &ctx.chrome, Some(&me), e.into());
            }
            let t = |id: &str| ctx.chrome.t(id);
            let (y, m) = asked.period.bounds().0;
            let (from, to) = asked.period.months();
            render(&ReportsPage {
                areas: allowed(&me),
                csv_link: format!("/console/reports.csv?{}", asked.query()),
                periods: reporting::PERIOD_KINDS
                    .iter()
                    .map(|k| (*k, t(&format!("console-reports-period-{k}"))))
                    .collect(),
                months: (1..=12)
                    .map(|m| (m, reporting::month_name(m).to_string()))
                    .collect(),
                quarters: (1..=4)
                    .map(|q| (q, t(&format!("console-reports-quarter-{q}"))))
                    .collect(),
                dimensions: std::iter::once("all")
                    .chain(reporting::DIMENSIONS)
                    .map(|d| (d, t(&format!("console-reports-dimension-{d}"))))
                    .collect(),
                k: ConsoleChrome {
                    c: &ctx.chrome,
                    staff: Some(&me),
                },
                year: y,
                month: m,
                quarter: match asked.period {
                    Period::Quarter(_, q) => q,
                    _ => 1,
                },
                from,
                to,
                period: asked.period.kind().to_string(),
                dimension: asked.dimension,
                area: asked.area,
                report: Some(report),
            })
        }
        Err(StatusCode::FORBIDDEN) => {
            super::audit_refusal(
                &state,
                &me.username,
                "report.refused",
                &format!("area:{}", f.area),
                "outside the analyst's areas",
            )
            .await;
            console_message(
                &state,
                &ctx.chrome,
                Some(&me),
                StatusCode::FORBIDDEN,
                "forbidden",
            )
        }
        Err(status) => console_message(&state, &ctx.chrome, Some(&me), status, "not-found"),
    }
}

pub async fn csv(
    State(state): State<Shared>,
    ctx: Ctx,
    Extension(me): Extension<Staff>,
    uri: axum::http::Uri,
) -> Response {
    let f = Query::<Filter>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    match build(&state, &me, &f).await {
        Ok((asked, report)) => {
            if let Err(e) = state
                .audit(
                    &me.username,
                    "report.export",
                    &format!("area:{}", asked.area),
                    &format!("{} {} csv", asked.period.slug(), asked.dimension),
                )
                .await
            {
                return super::app_error(&state, &ctx.chrome, Some(&me), e.into());
            }
            let csv = match reporting::csv(&report) {
                Ok(csv) => csv,
                Err(e) => {
                    let e = reachline_app::Error::Internal(e.to_string());
                    return super::app_error(&state, &ctx.chrome, Some(&me), e);
                }
            };
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"reachline-{}-{}.csv\"",
                            asked.area,
                            asked.period.slug()
                        ),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                csv,
            )
                .into_response()
        }
        Err(StatusCode::FORBIDDEN) => {
            super::audit_refusal(
                &state,
                &me.username,
                "report.refused",
                &format!("area:{}", f.area),
                "outside the analyst's areas",
            )
            .await;
            console_message(
                &state,
                &ctx.chrome,
                Some(&me),
                StatusCode::FORBIDDEN,
                "forbidden",
            )
        }
        Err(status) => console_message(&state, &ctx.chrome, Some(&me), status, "not-found"),
    }
}
