//! The help-seeker's side of callback requests: leave a phone number and the times that
//! suit, without an account, with plain form posts (nothing here needs JavaScript).
//!
//! Times are recurring windows (weekday mornings, afternoons, evenings, weekends) rather
//! than dated slots: they stay true however long the request waits, need no calendar
//! arithmetic in the help-seeker's time zone, and are quick to choose in a hurry. Only the
//! windows that overlap the helpline's opening hours are offered.
//!
//! The number is sealed with the content data key, bound to the request's id, and deleted
//! once the call is done or the request expires (`helpline.callback_retention_days`).

use crate::site::{Chrome, Ctx, Fields, Shared};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use fluent_bundle::FluentValue;
use reachline_core::opening_hours::OpeningSpan;
use reachline_core::vocabulary::AgeGroup;

/// Call windows: id, first and last day (0 = Monday), minutes after midnight (local time).
pub const WINDOWS: &[(&str, usize, usize, u32, u32)] = &[
    ("weekday-morning", 0, 4, 9 * 60, 12 * 60),
    ("weekday-afternoon", 0, 4, 12 * 60, 17 * 60),
    ("weekday-evening", 0, 4, 17 * 60, 21 * 60),
    ("weekend", 5, 6, 9 * 60, 21 * 60),
];

pub const MIN_DIGITS: usize = 7;
pub const MAX_DIGITS: usize = 15;

/// The windows offered: those that overlap the opening hours (all of them if none does,
/// so the form never offers nothing).
pub fn offered(spans: &[OpeningSpan]) -> Vec<&'static str> {
    let overlaps = |&&(_, d1, d2, from, to): &&(&str, usize, usize, u32, u32)| {
        spans
            .iter()
            .any(|s| s.from_day <= d2 && d1 <= s.to_day && s.open < to && from < s.close)
    };
    let some: Vec<_> = WINDOWS.iter().filter(overlaps).map(|w| w.0).collect();
    if some.is_empty() {
        WINDOWS.iter().map(|w| w.0).collect()
    } else {
        some
    }
}

/// A list of window ids ("a,b") in words.
pub fn window_words(c: &Chrome, list: &str) -> String {
    list.split(',')
        .filter(|w| WINDOWS.iter().any(|x| x.0 == *w))
        .map(|w| c.t(&format!("callback-window-{w}")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks a phone number as people type them: digits, spaces, `+` (first only), `-` and
/// parentheses, with 7 to 15 digits. Returns it with runs of spaces collapsed.
pub fn phone_number(typed: &str) -> Result<String, &'static str> {
    let t = typed.trim();
    if t.is_empty() {
        return Err("callback-phone-empty");
    }
    let allowed = t.chars().enumerate().all(|(i, ch)| {
        ch.is_ascii_digit() || matches!(ch, ' ' | '-' | '(' | ')') || (ch == '+' && i == 0)
    });
    if !allowed {
        return Err("callback-phone-characters");
    }
    let digits = t.chars().filter(char::is_ascii_digit).count();
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
        return Err("callback-phone-length");
    }
    Ok(t.split(' ')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" "))
}

pub struct WindowChoice {
    pub id: String,
    pub label: String,
    pub on: bool,
}

#[derive(Template)]
#[template(path = "contact_callback.html")]
struct RequestPage<'a> {
    c: &'a Chrome,
    intake: crate::intake::IntakeForm,
    error: Option<String>,
    error_field: String,
    phone: String,
    windows: Vec<WindowChoice>,
    hours: Vec<String>,
    zone: String,
}

fn zone(state: &AppState, c: &Chrome) -> String {
    c.l.text(
        "hours-zone",
        &[(
            "zone",
            FluentValue::from(state.config.helpline.time_zone.as_str()),
        )],
    )
}

/// The form, empty or (after a refused post) as it was sent, with the error and the field
/// it is about.
async fn request_page(
    state: &AppState,
    ctx: &Ctx,
    posted: Option<&Fields>,
    error: Option<(&str, &str)>,
) -> Response {
    let c = &ctx.chrome;
    let get = |name: &str| {
        posted
            .and_then(|f| f.get(name))
            .unwrap_or_default()
            .to_string()
    };
    let spans = state.live.hours().1;
    let windows = offered(&spans)
        .into_iter()
        .map(|w| WindowChoice {
            id: w.to_string(),
            label: c.t(&format!("callback-window-{w}")),
            on: posted.is_some_and(|f| f.get(&format!("window-{w}")).is_some()),
        })
        .collect();
    let has_error = error.is_some();
    let (error, error_field) = match error {
        Some((key, field)) => (
            Some(c.l.text(
                key,
                &[
                    ("min", FluentValue::from(MIN_DIGITS)),
                    ("max", FluentValue::from(MAX_DIGITS)),
                ],
            )),
            field.to_string(),
        ),
        None => (None, String::new()),
    };
    crate::site::render_form(
        &RequestPage {
            c,
            intake: crate::intake::IntakeForm::new(
                state,
                posted,
                error_field == "statement",
                "callback-error",
            )
            .await,
            error,
            error_field,
            phone: get("phone"),
            windows,
            hours: crate::site::hours_lines(c, &spans),
            zone: zone(state, c),
        },
        has_error,
    )
}

pub async fn request_form(State(state): State<Shared>, ctx: Ctx) -> Response {
    request_page(&state, &ctx, None, None).await
}

#[derive(Template)]
#[template(path = "contact_callback_sent.html")]
struct SentPage<'a> {
    c: &'a Chrome,
    windows: Vec<String>,
    zone: String,
    deleted: String,
    under_18: bool,
}

/// Records a callback request; the number is sealed before it reaches the store.
pub async fn request(State(state): State<Shared>, ctx: Ctx, fields: Fields) -> Response {
    let phone = match phone_number(fields.get("phone").unwrap_or_default()) {
        Ok(p) => p,
        Err(key) => return request_page(&state, &ctx, Some(&fields), Some((key, "phone"))).await,
    };
    let offered = offered(&state.live.hours().1);
    let windows: Vec<&str> = offered
        .iter()
        .copied()
        .filter(|w| fields.get(&format!("window-{w}")).is_some())
        .collect();
    if windows.is_empty() {
        let first = format!("window-{}", offered.first().copied().unwrap_or_default());
        return request_page(
            &state,
            &ctx,
            Some(&fields),
            Some(("callback-windows-needed", first.as_str())),
        )
        .await;
    }
    if !crate::intake::statement_confirmed(&fields) {
        return request_page(
            &state,
            &ctx,
            Some(&fields),
            Some(("contact-statement-needed", "statement")),
        )
        .await;
    }
    let intake = crate::intake::posted(&state, &fields).await;
    match state.request_callback(&intake, &windows, &phone).await {
        Ok(_) => {}
        Err(reachline_app::Error::Full) => {
            // What they gave stays in the form, with other ways to reach us.
            let mut resp = request_page(
                &state,
                &ctx,
                Some(&fields),
                Some(("callback-full", "callback-error")),
            )
            .await;
            *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            return resp;
        }
        Err(e) => {
            tracing::error!(error = %e, "callback store error");
            return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
        }
    }
    let c = &ctx.chrome;
    crate::site::render(&SentPage {
        c,
        windows: windows
            .iter()
            .map(|w| c.t(&format!("callback-window-{w}")))
            .collect(),
        zone: zone(&state, c),
        deleted: c.l.text(
            "callback-sent-deleted",
            &[(
                "days",
                FluentValue::from(state.config.helpline.callback_retention_days),
            )],
        ),
        under_18: intake.age_group == Some(AgeGroup::Under18),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_as_people_type_them() {
        assert_eq!(
            phone_number(" +44 (0)20  7946-0000 "),
            Ok("+44 (0)20 7946-0000".into())
        );
        assert_eq!(phone_number("0161 496 0000"), Ok("0161 496 0000".into()));
        assert_eq!(phone_number(""), Err("callback-phone-empty"));
        assert_eq!(phone_number("call me"), Err("callback-phone-characters"));
        assert_eq!(
            phone_number("44+ 1234567"),
            Err("callback-phone-characters")
        );
        assert_eq!(phone_number("123 456"), Err("callback-phone-length"));
        assert_eq!(
            phone_number("1234567890123456"),
            Err("callback-phone-length")
        );
        assert!(phone_number("1234567").is_ok());
    }

    #[test]
    fn only_windows_inside_opening_hours_are_offered() {
        let spans = reachline_core::opening_hours::parse(&[
            "mon-thu 09:00-21:00".to_string(),
            "fri 09:00-17:00".to_string(),
        ])
        .unwrap_or_default();
        assert_eq!(
            offered(&spans),
            ["weekday-morning", "weekday-afternoon", "weekday-evening"]
        );
        let spans = reachline_core::opening_hours::parse(&["sat 10:00-14:00".to_string()])
            .unwrap_or_default();
        assert_eq!(offered(&spans), ["weekend"]);
        assert_eq!(offered(&[]).len(), WINDOWS.len());
    }
}
