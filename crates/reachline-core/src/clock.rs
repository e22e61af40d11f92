//! Time is a parameter. `SystemClock` is the only reader of the wall clock in the code base
//! (`clippy.toml` bans `SystemTime::now` and `OffsetDateTime::now_utc` elsewhere).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use time::OffsetDateTime;

/// A source of the current time, in whole seconds since the Unix epoch (UTC).
pub trait Clock: Send + Sync + 'static {
    fn now_unix(&self) -> i64;

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.now_unix()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now_unix(&self) -> i64 {
        OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// A clock that tests move by hand.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(unix: i64) -> Self {
        Self(AtomicI64::new(unix))
    }
    pub fn set(&self, unix: i64) {
        self.0.store(unix, Ordering::SeqCst);
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Clock for Arc<ManualClock> {
    fn now_unix(&self) -> i64 {
        self.as_ref().now_unix()
    }
}

/// The calendar day (UTC) of a timestamp, as `YYYY-MM-DD`.
pub fn day_of(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// The day before a `YYYY-MM-DD` day (the day itself if it does not parse).
pub fn day_before(day: &str) -> String {
    let parsed = time::Date::parse(
        day,
        time::macros::format_description!("[year]-[month]-[day]"),
    );
    match parsed.ok().and_then(|d| d.previous_day()) {
        Some(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
        None => day.to_string(),
    }
}

/// The calendar year (UTC) of a timestamp.
pub fn year_of(unix: i64) -> i32 {
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .year()
}

/// The calendar year and month (UTC, 1–12) of a timestamp.
pub fn year_month_of(unix: i64) -> (i32, u32) {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    (t.year(), u32::from(u8::from(t.month())))
}

/// Seconds from `unix` to the first second of the next calendar year (UTC).
pub fn seconds_to_year_end(unix: i64) -> i64 {
    let year = year_of(unix);
    let next = time::Date::from_calendar_date(year + 1, time::Month::January, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .unwrap_or(unix + 86_400);
    (next - unix).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_years() {
        // 2021-03-04T05:06:07Z
        let t = 1_614_834_367;
        assert_eq!(day_of(t), "2021-03-04");
        assert_eq!(year_month_of(t), (2021, 3));
        assert_eq!(year_of(t), 2021);
        let left = seconds_to_year_end(t);
        assert_eq!(year_of(t + left), 2022);
        assert_eq!(year_of(t + left - 1), 2021);
    }

    #[test]
    fn manual_clock_moves() {
        let c = ManualClock::new(100);
        c.advance(50);
        assert_eq!(c.now_unix(), 150);
        c.set(7);
        assert_eq!(c.now_unix(), 7);
    }
}
