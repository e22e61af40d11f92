//! Settings that staff change in the console without a restart: opening hours (weekly
//! schedule, bank holidays, time zone) and retention periods. The configuration file gives
//! the starting values; once saved in the console, the stored values win. Every instance
//! re-reads them on its housekeeping tick, so a change reaches all instances within seconds.

use reachline_core::config::Config;
use reachline_core::opening_hours::{self, OpeningSpan};
use reachline_store::Store;
use serde::{Deserialize, Serialize};
use std::sync::RwLock;

use crate::accounts::Actor;
use crate::Error;

pub const HOURS_KEY: &str = "opening_hours";
pub const RETENTION_KEY: &str = "retention";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hours {
    pub weekly: Vec<String>,
    /// Closed all day, `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    pub time_zone: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub selfhelp_saved_days: u64,
    pub selfhelp_unsaved_hours: u64,
    pub contact_note_days: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error(transparent)]
    Hours(#[from] opening_hours::HoursError),
    #[error("bank holiday {0:?} is not a date like 2026-12-25")]
    Holiday(String),
    #[error("time zone {0:?} is not a name like Europe/London")]
    TimeZone(String),
    #[error("retention periods must be between 1 and 3650 days (or 1 and 8760 hours)")]
    Retention,
}

impl Hours {
    pub fn from_config(c: &Config) -> Hours {
        Hours {
            weekly: c.helpline.opening_hours.clone(),
            holidays: Vec::new(),
            time_zone: c.helpline.time_zone.clone(),
        }
    }

    /// Checks every part; returns the parsed weekly spans.
    pub fn validate(&self) -> Result<Vec<OpeningSpan>, SettingsError> {
        let spans = opening_hours::parse(&self.weekly)?;
        let date = time::macros::format_description!("[year]-[month]-[day]");
        for h in &self.holidays {
            if time::Date::parse(h, date).is_err() {
                return Err(SettingsError::Holiday(h.clone()));
            }
        }
        let tz_ok = self.time_zone == "UTC"
            || (self.time_zone.contains('/')
                && self.time_zone.len() <= 64
                && self.time_zone.split('/').all(|p| {
                    !p.is_empty()
                        && p.bytes().all(|b| {
                            b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'+'
                        })
                }));
        if !tz_ok || jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return Err(SettingsError::TimeZone(self.time_zone.clone()));
        }
        Ok(spans)
    }

    /// Whether the helpline is open at `unix`, in the schedule's own time zone (with its
    /// daylight-saving rules, from the time zone database built into the binary). Closed on
    /// bank holidays and if the zone is unknown.
    pub fn open_at(&self, spans: &[OpeningSpan], unix: i64) -> bool {
        let Ok(tz) = jiff::tz::TimeZone::get(&self.time_zone) else {
            return false;
        };
        let Ok(at) = jiff::Timestamp::from_second(unix) else {
            return false;
        };
        let local = at.to_zoned_datetime(tz);
        let date = local.date().to_string();
        if self.holidays.contains(&date) {
            return false;
        }
        let day = usize::from(local.weekday().to_monday_zero_offset().unsigned_abs());
        let minute =
            u32::from(local.hour().unsigned_abs()) * 60 + u32::from(local.minute().unsigned_abs());
        spans
            .iter()
            .any(|s| s.from_day <= day && day <= s.to_day && s.open <= minute && minute < s.close)
    }
}

/// When the helpline next opens, in its own time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextOpening {
    /// Days from today (in the helpline's zone): 0 today, 1 tomorrow.
    pub days_ahead: u32,
    /// Monday = 0.
    pub weekday: usize,
    /// `YYYY-MM-DD`, local.
    pub date: String,
    /// `HH:MM`, local.
    pub time: String,
}

impl Hours {
    /// The first opening after `unix` within the next fortnight (bank holidays skipped);
    /// `None` if the schedule opens on no day in that time or the zone is unknown.
    pub fn next_opening(&self, spans: &[OpeningSpan], unix: i64) -> Option<NextOpening> {
        let tz = jiff::tz::TimeZone::get(&self.time_zone).ok()?;
        let now = jiff::Timestamp::from_second(unix).ok()?;
        let today = now.to_zoned_datetime(tz.clone()).date();
        let mut date = today;
        for days_ahead in 0..15u32 {
            if !self.holidays.contains(&date.to_string()) {
                let day = usize::from(date.weekday().to_monday_zero_offset().unsigned_abs());
                let mut opens: Vec<u32> = spans
                    .iter()
                    .filter(|s| s.from_day <= day && day <= s.to_day && s.open < s.close)
                    .map(|s| s.open)
                    .collect();
                opens.sort_unstable();
                for open in opens {
                    let (h, m) = ((open / 60) as i8, (open % 60) as i8);
                    let Ok(at) = date.at(h, m, 0, 0).to_zoned_datetime(tz.clone()) else {
                        continue;
                    };
                    if at.timestamp() > now {
                        return Some(NextOpening {
                            days_ahead,
                            weekday: day,
                            date: date.to_string(),
                            time: format!("{h:02}:{m:02}"),
                        });
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

impl Retention {
    pub fn from_config(c: &Config) -> Retention {
        Retention {
            selfhelp_saved_days: c.selfhelp.saved_retention_days,
            selfhelp_unsaved_hours: c.selfhelp.unsaved_retention_hours,
            contact_note_days: c.console.contact_note_retention_days,
        }
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let days = 1..=3650;
        if days.contains(&self.selfhelp_saved_days)
            && days.contains(&self.contact_note_days)
            && (1..=8760).contains(&self.selfhelp_unsaved_hours)
        {
            Ok(())
        } else {
            Err(SettingsError::Retention)
        }
    }
}

/// The settings in force, shared by every request.
pub struct Live {
    hours: RwLock<(Hours, Vec<OpeningSpan>)>,
    /// The hours' time zone, looked up once per change.
    zone: RwLock<crate::time::Zone>,
    retention: RwLock<Retention>,
}

impl Live {
    pub fn new(config: &Config) -> Result<Live, SettingsError> {
        let hours = Hours::from_config(config);
        let spans = hours.validate()?;
        Ok(Live {
            zone: RwLock::new(crate::time::Zone::new(&hours.time_zone)),
            hours: RwLock::new((hours, spans)),
            retention: RwLock::new(Retention::from_config(config)),
        })
    }

    pub fn hours(&self) -> (Hours, Vec<OpeningSpan>) {
        self.hours
            .read()
            .map(|h| h.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The helpline's time zone, for writing times as staff read them.
    pub fn zone(&self) -> crate::time::Zone {
        self.zone
            .read()
            .map(|z| z.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    pub fn retention(&self) -> Retention {
        self.retention
            .read()
            .map(|r| *r)
            .unwrap_or_else(|e| *e.into_inner())
    }

    pub fn set_hours(&self, hours: Hours) -> Result<(), SettingsError> {
        let spans = hours.validate()?;
        // Whole values are replaced, so a poisoned lock is used as it is.
        *self.zone.write().unwrap_or_else(|e| e.into_inner()) =
            crate::time::Zone::new(&hours.time_zone);
        *self.hours.write().unwrap_or_else(|e| e.into_inner()) = (hours, spans);
        Ok(())
    }

    pub fn set_retention(&self, r: Retention) -> Result<(), SettingsError> {
        r.validate()?;
        *self.retention.write().unwrap_or_else(|e| e.into_inner()) = r;
        Ok(())
    }

    /// Whether the helpline is open now (`unix`).
    pub fn open_at(&self, unix: i64) -> bool {
        let (hours, spans) = self.hours();
        hours.open_at(&spans, unix)
    }

    /// When the helpline next opens after `unix` (see [`Hours::next_opening`]).
    pub fn next_opening(&self, unix: i64) -> Option<NextOpening> {
        let (hours, spans) = self.hours();
        hours.next_opening(&spans, unix)
    }

    /// Re-reads stored settings (ignoring any that no longer validate).
    pub async fn reload(&self, store: &Store) {
        if let Ok(Some(json)) = store.setting_get(HOURS_KEY).await {
            if let Ok(h) = serde_json::from_str::<Hours>(&json) {
                let _ = self.set_hours(h);
            }
        }
        if let Ok(Some(json)) = store.setting_get(RETENTION_KEY).await {
            if let Ok(r) = serde_json::from_str::<Retention>(&json) {
                let _ = self.set_retention(r);
            }
        }
    }
}

/// Console settings as use cases: each change is stored with its audit entry, then put in
/// force on this instance (other instances pick it up on their next housekeeping tick).
impl crate::App {
    pub async fn save_hours(&self, actor: Actor<'_>, hours: Hours) -> Result<(), Error> {
        hours
            .validate()
            .map_err(|e| Error::Rejected(e.to_string()))?;
        let json = serde_json::to_string(&hours).map_err(|e| Error::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        tx.setting_put(HOURS_KEY, &json, self.clock.now_unix(), actor.username)
            .await?;
        self.commit_audited(
            tx,
            actor.username,
            "settings.hours",
            "settings:opening_hours",
            "",
        )
        .await?;
        self.live
            .set_hours(hours)
            .map_err(|e| Error::Rejected(e.to_string()))
    }

    pub async fn save_retention(&self, actor: Actor<'_>, r: Retention) -> Result<(), Error> {
        r.validate().map_err(|e| Error::Rejected(e.to_string()))?;
        let json = serde_json::to_string(&r).map_err(|e| Error::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        tx.setting_put(RETENTION_KEY, &json, self.clock.now_unix(), actor.username)
            .await?;
        self.commit_audited(
            tx,
            actor.username,
            "settings.retention",
            "settings:retention",
            &json,
        )
        .await?;
        self.live
            .set_retention(r)
            .map_err(|e| Error::Rejected(e.to_string()))
    }

    /// Publishes a new version of the confidentiality statement; returns its number.
    pub async fn publish_statement(&self, actor: Actor<'_>, body: &str) -> Result<i64, Error> {
        let body = body.replace("\r\n", "\n");
        let body = body.trim();
        if body.is_empty() || body.chars().count() > 20_000 {
            return Err(Error::Invalid("console-statement-invalid"));
        }
        let mut tx = self.store.begin().await?;
        let version = tx
            .statement_add(body, self.clock.now_unix(), actor.username)
            .await?;
        self.commit_audited(
            tx,
            actor.username,
            "settings.confidentiality",
            &format!("statement:{version}"),
            "new version",
        )
        .await?;
        Ok(version)
    }

    /// Adds a canned response (`id` None) or changes one; returns its id.
    pub async fn save_canned(
        &self,
        actor: Actor<'_>,
        id: Option<i64>,
        title: &str,
        body: &str,
    ) -> Result<i64, Error> {
        let title = title.trim();
        let body = body.replace("\r\n", "\n");
        let body = body.trim();
        if title.is_empty()
            || title.chars().count() > 200
            || body.is_empty()
            || body.chars().count() > 4000
        {
            return Err(Error::Invalid("console-canned-invalid"));
        }
        let mut tx = self.store.begin().await?;
        let id = tx
            .canned_save(id, title, body, self.clock.now_unix(), actor.username)
            .await?;
        self.commit_audited(
            tx,
            actor.username,
            "canned.save",
            &format!("canned:{id}"),
            "",
        )
        .await?;
        Ok(id)
    }

    pub async fn delete_canned(&self, actor: Actor<'_>, id: i64) -> Result<(), Error> {
        let mut tx = self.store.begin().await?;
        if !tx.canned_delete(id).await? {
            return Err(Error::NotFound);
        }
        self.commit_audited(
            tx,
            actor.username,
            "canned.delete",
            &format!("canned:{id}"),
            "",
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(weekly: &[&str], holidays: &[&str], tz: &str) -> (Hours, Vec<OpeningSpan>) {
        let h = Hours {
            weekly: weekly.iter().map(|s| s.to_string()).collect(),
            holidays: holidays.iter().map(|s| s.to_string()).collect(),
            time_zone: tz.into(),
        };
        let spans = h.validate().unwrap();
        (h, spans)
    }

    fn unix(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_second()
    }

    #[test]
    fn open_now_follows_the_zone_and_its_summer_time() {
        let (h, spans) = hours(&["mon-fri 09:00-17:00"], &[], "Europe/London");
        // Monday 2 March 2026 (GMT): 08:59 closed, 09:00 open, 16:59 open, 17:00 closed.
        assert!(!h.open_at(&spans, unix("2026-03-02T08:59:00Z")));
        assert!(h.open_at(&spans, unix("2026-03-02T09:00:00Z")));
        assert!(h.open_at(&spans, unix("2026-03-02T16:59:00Z")));
        assert!(!h.open_at(&spans, unix("2026-03-02T17:00:00Z")));
        // Monday 6 July 2026 (BST, UTC+1): 08:30 UTC is 09:30 local.
        assert!(h.open_at(&spans, unix("2026-07-06T08:30:00Z")));
        assert!(!h.open_at(&spans, unix("2026-07-06T16:30:00Z")));
        // Saturday closed.
        assert!(!h.open_at(&spans, unix("2026-03-07T12:00:00Z")));
    }

    #[test]
    fn next_opening_is_later_today_tomorrow_or_after_the_weekend_and_holidays() {
        let (h, spans) = hours(&["mon-fri 09:00-17:00"], &["2026-03-09"], "Europe/London");
        let next = |at: &str| {
            h.next_opening(&spans, unix(at))
                .map(|n| (n.days_ahead, n.weekday, n.date, n.time))
        };
        // Monday 2 March 2026, early: today at 09:00.
        assert_eq!(
            next("2026-03-02T07:00:00Z"),
            Some((0, 0, "2026-03-02".into(), "09:00".into()))
        );
        // Monday evening: Tuesday.
        assert_eq!(
            next("2026-03-02T18:00:00Z"),
            Some((1, 1, "2026-03-03".into(), "09:00".into()))
        );
        // Friday evening: the Monday after is a bank holiday, so Tuesday.
        assert_eq!(
            next("2026-03-06T18:00:00Z"),
            Some((4, 1, "2026-03-10".into(), "09:00".into()))
        );
        // Summer time: 09:00 local is 08:00 UTC, and 07:30 UTC is before it.
        assert_eq!(
            next("2026-07-06T07:30:00Z"),
            Some((0, 0, "2026-07-06".into(), "09:00".into()))
        );
        let (none, spans) = hours(&[], &[], "Europe/London");
        assert_eq!(
            none.next_opening(&spans, unix("2026-03-02T07:00:00Z")),
            None
        );
    }

    #[test]
    fn bank_holidays_close_the_whole_day_and_unknown_zones_are_refused() {
        let (h, spans) = hours(&["mon-sun 00:00-24:00"], &["2026-12-25"], "Europe/London");
        assert!(h.open_at(&spans, unix("2026-12-24T23:59:00Z")));
        assert!(!h.open_at(&spans, unix("2026-12-25T12:00:00Z")));
        let bad = Hours {
            weekly: vec!["mon 09:00-10:00".into()],
            holidays: vec![],
            time_zone: "Europe/Atlantis".into(),
        };
        assert!(matches!(bad.validate(), Err(SettingsError::TimeZone(_))));
    }
}
