//! The contact wrap-up form: one form, rendered by `templates/console/wrapup.html` and read by
//! [`parse`], for every channel (secure messages, callbacks, phone contacts logged by hand),
//! so every contact feeds reporting the same way.

use super::ConsoleChrome;
use crate::site::Fields;
use reachline_app::vocabulary::{ACTIONS, AGE_GROUPS, ARRESTED, CONCERNS, SIGNPOSTS, WHO};
use reachline_core::areas;
use reachline_core::vocabulary::Channel;
use reachline_store::WrapUp;

/// One choice in the form: value, label, chosen.
pub struct Choice {
    /// For element ids: the value, or `unknown` for the empty one.
    pub id: String,
    pub value: String,
    pub label: String,
    pub on: bool,
}

/// What the form starts with: what the help-seeker told us, and when the contact happened.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub who: String,
    pub age_group: String,
    pub area: String,
    /// Start and end (Unix seconds); `None` leaves the time fields empty.
    pub started: Option<i64>,
    pub ended: Option<i64>,
    pub first_this_year: bool,
}

/// The form as the template renders it.
pub struct Form {
    /// Ask for the start and end of the contact (calls); secure messages take them from
    /// the thread.
    pub times: bool,
    pub started: String,
    pub ended: String,
    pub who: Vec<Choice>,
    pub age: Vec<Choice>,
    pub areas: Vec<Choice>,
    pub concerns: Vec<Choice>,
    pub arrested: Vec<Choice>,
    pub actions: Vec<Choice>,
    pub signposts: Vec<Choice>,
    pub first_this_year: bool,
    /// Which field an error is about (its id), for the error summary's link.
    pub error_field: String,
}

/// `YYYY-MM-DDTHH:MM` (an HTML datetime-local value), read as UTC.
pub fn parse_local(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    time::PrimitiveDateTime::parse(s.trim(), fmt)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// A Unix time as a datetime-local value (UTC).
pub fn local_value(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

fn choices(
    k: &ConsoleChrome<'_>,
    prefix: &str,
    values: &[&str],
    on: impl Fn(&str) -> bool,
) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            id: v.to_string(),
            value: v.to_string(),
            label: k.t(&format!("{prefix}-{v}")),
            on: on(v),
        })
        .collect()
}

/// One value of a single-choice field: the posted one if the form sent the field, else the
/// default. An empty value means "not known".
fn single(fields: Option<&Fields>, name: &str, allowed: &[&str], default: &str) -> String {
    let v = match fields {
        Some(f) => match f.get(name) {
            Some(v) => v,
            None => default,
        },
        None => default,
    };
    if allowed.contains(&v) {
        v.to_string()
    } else {
        String::new()
    }
}

fn area_value(fields: Option<&Fields>, default: &str) -> String {
    let v = fields.and_then(|f| f.get("area")).unwrap_or(default);
    if areas::find(v).is_some() {
        v.to_string()
    } else {
        String::new()
    }
}

fn picked(fields: &Fields, prefix: &str, allowed: &[&str]) -> String {
    allowed
        .iter()
        .filter(|v| fields.get(&format!("{prefix}-{v}")).is_some())
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}

/// The form, filled with the defaults or, after a refused post, with what was posted.
pub fn form(
    k: &ConsoleChrome<'_>,
    posted: Option<&Fields>,
    d: &Defaults,
    times: bool,
    error_field: &str,
) -> Form {
    let who = single(posted, "who", WHO, &d.who);
    let age = single(posted, "age", AGE_GROUPS, &d.age_group);
    let area = area_value(posted, &d.area);
    let checked = |prefix: &'static str| {
        move |v: &str| posted.is_some_and(|f| f.get(&format!("{prefix}-{v}")).is_some())
    };
    let arrested = posted
        .and_then(|f| f.get("arrested"))
        .filter(|a| ARRESTED.contains(a))
        .unwrap_or("not-asked")
        .to_string();
    let time_value = |name: &str, default: Option<i64>| match posted {
        Some(f) => f.get(name).unwrap_or_default().trim().to_string(),
        None => default.map(local_value).unwrap_or_default(),
    };
    let not_known = |on: bool| Choice {
        id: "unknown".into(),
        value: String::new(),
        label: k.t("console-wrapup-not-known"),
        on,
    };
    let with_unknown = |chosen: &str, rest: Vec<Choice>| {
        let mut all = vec![not_known(chosen.is_empty())];
        all.extend(rest);
        all
    };
    let area_choices = with_unknown(
        &area,
        areas::all()
            .into_iter()
            .map(|a| Choice {
                id: a.code.to_string(),
                on: a.code == area,
                value: a.code.to_string(),
                label: a.name.to_string(),
            })
            .collect(),
    );
    Form {
        times,
        started: time_value("started", d.started),
        ended: time_value("ended", d.ended),
        who: with_unknown(&who, choices(k, "wrapup-who", WHO, |v| v == who)),
        age: with_unknown(&age, choices(k, "wrapup-age", AGE_GROUPS, |v| v == age)),
        areas: area_choices,
        concerns: choices(k, "wrapup-concern", CONCERNS, checked("concern")),
        arrested: choices(k, "wrapup-arrested", ARRESTED, |v| v == arrested),
        actions: choices(k, "wrapup-action", ACTIONS, checked("action")),
        signposts: choices(k, "wrapup-signpost", SIGNPOSTS, checked("signpost")),
        first_this_year: match posted {
            Some(f) => f.get("first_this_year").is_some(),
            None => d.first_this_year,
        },
        error_field: error_field.to_string(),
    }
}

/// A refused wrap-up: the message id and the field it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub message: &'static str,
    pub field: &'static str,
}

/// Reads a posted wrap-up. With `times`, the start and end come from the form and must be
/// sensible; otherwise from the defaults (or now).
pub fn parse(
    fields: &Fields,
    channel: Channel,
    statement_version: &str,
    d: &Defaults,
    times: bool,
    now: i64,
) -> Result<WrapUp, Refused> {
    let (started_at, ended_at) = if times {
        let started = parse_local(fields.get("started").unwrap_or_default());
        let ended = parse_local(fields.get("ended").unwrap_or_default());
        match (started, ended) {
            (Some(s), Some(e)) if e >= s && s <= now + 300 => (s, e),
            (None, _) | (Some(_), Some(_)) => {
                return Err(Refused {
                    message: "console-contact-bad-times",
                    field: "started",
                })
            }
            (Some(_), None) => {
                return Err(Refused {
                    message: "console-contact-bad-times",
                    field: "ended",
                })
            }
        }
    } else {
        (d.started.unwrap_or(now), d.ended.unwrap_or(now))
    };
    let concerns = picked(fields, "concern", CONCERNS);
    if concerns.is_empty() {
        return Err(Refused {
            message: "console-wrapup-needs-concern",
            field: "concern-viewing-images",
        });
    }
    Ok(WrapUp {
        channel,
        started_at,
        ended_at,
        who: single(Some(fields), "who", WHO, &d.who),
        age_group: single(Some(fields), "age", AGE_GROUPS, &d.age_group),
        area: area_value(Some(fields), &d.area),
        concerns,
        arrested: fields
            .get("arrested")
            .filter(|a| ARRESTED.contains(a))
            .unwrap_or("not-asked")
            .to_string(),
        actions: picked(fields, "action", ACTIONS),
        signposting: picked(fields, "signpost", SIGNPOSTS),
        first_this_year: fields.get("first_this_year").is_some(),
        statement_version: statement_version.to_string(),
        synthetic: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_concern_is_required_and_unknown_values_are_dropped() {
        let d = Defaults {
            who: "self".into(),
            age_group: "adult".into(),
            area: "E23000015".into(),
            ..Defaults::default()
        };
        let refused = parse(&fields(&[]), Channel::Phone, "", &d, false, 100);
        assert_eq!(
            refused.err().map(|r| r.message),
            Some("console-wrapup-needs-concern")
        );
        let w = parse(
            &fields(&[
                ("concern-other", "on"),
                ("concern-made-up", "on"),
                ("arrested", "maybe"),
                ("who", "nobody"),
            ]),
            Channel::Phone,
            "v1",
            &d,
            false,
            100,
        )
        .unwrap();
        assert_eq!(w.concerns, "other");
        assert_eq!(w.arrested, "not-asked");
        // A posted unknown value is "not known"; an absent field keeps the default.
        assert_eq!(w.who, "");
        assert_eq!(w.age_group, "adult");
        assert_eq!(w.area, "E23000015");
        assert_eq!((w.started_at, w.ended_at), (100, 100));
    }

    #[test]
    fn times_must_be_in_order_and_not_in_the_future() {
        let d = Defaults::default();
        let at = |s: &str, e: &str| {
            parse(
                &fields(&[("concern-other", "on"), ("started", s), ("ended", e)]),
                Channel::Phone,
                "",
                &d,
                true,
                1_772_445_600,
            )
        };
        assert!(at("2026-03-02T09:00", "2026-03-02T09:20").is_ok());
        assert!(at("2026-03-02T09:30", "2026-03-02T09:20").is_err());
        assert!(at("2026-03-03T09:00", "2026-03-03T09:20").is_err());
        assert!(at("yesterday", "2026-03-02T09:20").is_err());
        assert_eq!(local_value(1_772_445_600), "2026-03-02T10:00");
    }
}
