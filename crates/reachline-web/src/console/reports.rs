//! The analyst dashboard: the same disclosure-controlled report as `reachline report`, for
//! the analyst's own areas only, with period filters and CSV download. Never a record.
//! Every view and download is audited.

use super::{console_message, render, ConsoleChrome, Staff};
use crate::reporting::{self, Period, Report};
use crate::site::{Ctx, Shared};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
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
}

#[derive(Template)]
#[template(path = "console/reports.html")]
struct ReportsPage<'a> {
    k: ConsoleChrome<'a>,
    areas: Vec<(String, String)>,
    area: String,
    year: i32,
    period: String,
    report: Option<Report>,
    csv_link: String,
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
    state: &crate::AppState,
    me: &Staff,
    f: &Filter,
) -> Result<(String, i32, String, Report), StatusCode> {
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
    if !(2000..=2100).contains(&year) {
        return Err(StatusCode::BAD_REQUEST);
    }
    let period_kind = if f.period.is_empty() {
        "year".to_string()
    } else {
        f.period.clone()
    };
    let period = Period::parse(year, &period_kind).ok_or(StatusCode::BAD_REQUEST)?;
    let scope = (area != "national").then_some(area.as_str());
    let report = reporting::build(&state.store, scope, period, Rules::default(), None)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok((area, year, period_kind, report))
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
    match build(&state, &me, &f).await {
        Ok((area, year, period, report)) => {
            let _ = state
                .audit(
                    &me.username,
                    "report.view",
                    &format!("area:{area}"),
                    &format!("{year} {period}"),
                )
                .await;
            render(&ReportsPage {
                areas: allowed(&me),
                csv_link: format!("/console/reports.csv?area={area}&year={year}&period={period}"),
                k: ConsoleChrome {
                    c: &ctx.chrome,
                    staff: Some(&me),
                },
                area,
                year,
                period,
                report: Some(report),
            })
        }
        Err(StatusCode::FORBIDDEN) => {
            let _ = state
                .audit(
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
        Ok((area, year, period, report)) => {
            let _ = state
                .audit(
                    &me.username,
                    "report.export",
                    &format!("area:{area}"),
                    &format!("{year} {period} csv"),
                )
                .await;
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"reachline-{area}-{year}.csv\""),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                reporting::csv(&report),
            )
                .into_response()
        }
        Err(StatusCode::FORBIDDEN) => {
            let _ = state
                .audit(
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
