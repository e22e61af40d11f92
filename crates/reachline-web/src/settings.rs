//! Settings that staff change in the console without a restart: opening hours (weekly
//! schedule, bank holidays, time zone) and retention periods. The configuration file gives
//! the starting values; once saved in the console, the stored values win. Every instance
//! re-reads them on its housekeeping tick, so a change reaches all instances within seconds.

use reachline_core::config::Config;
use reachline_core::opening_hours::{self, OpeningSpan};
use reachline_store::Store;
use serde::{Deserialize, Serialize};
use std::sync::RwLock;

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
        if !tz_ok {
            return Err(SettingsError::TimeZone(self.time_zone.clone()));
        }
        Ok(spans)
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
    retention: RwLock<Retention>,
}

impl Live {
    pub fn new(config: &Config) -> Result<Live, SettingsError> {
        let hours = Hours::from_config(config);
        let spans = hours.validate()?;
        Ok(Live {
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

    pub fn retention(&self) -> Retention {
        self.retention
            .read()
            .map(|r| *r)
            .unwrap_or_else(|e| *e.into_inner())
    }

    pub fn set_hours(&self, hours: Hours) -> Result<(), SettingsError> {
        let spans = hours.validate()?;
        if let Ok(mut h) = self.hours.write() {
            *h = (hours, spans);
        }
        Ok(())
    }

    pub fn set_retention(&self, r: Retention) -> Result<(), SettingsError> {
        r.validate()?;
        if let Ok(mut slot) = self.retention.write() {
            *slot = r;
        }
        Ok(())
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
