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
    // Counters name the day of every check and message: the last day written out is kept
    // for each thread, so a day is formatted once rather than once a count. The day is a
    // function of the day's number alone (the range `from_unix_timestamp` takes ends at a
    // midnight), so the copy is always the day `unix` falls in.
    thread_local! {
        static LAST: std::cell::RefCell<Option<(i64, String)>> = const { std::cell::RefCell::new(None) };
    }
    let number = unix.div_euclid(86_400);
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((n, day)) if *n == number => day.clone(),
            _ => {
                let t =
                    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let day = format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day());
                *last = Some((number, day.clone()));
                day
            }
        }
    })
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
    fn the_day_kept_from_the_last_call_is_never_another_days() {
        // Alternating days, the seconds either side of midnight, before 1970, and out of
        // range (the epoch's day, as always), each asked twice in a row.
        let midnight = 1_614_816_000; // 2021-03-04 00:00:00 UTC
        for (t, day) in [
            (midnight - 1, "2021-03-03"),
            (midnight, "2021-03-04"),
            (midnight - 1, "2021-03-03"),
            (midnight + 86_399, "2021-03-04"),
            (midnight + 86_400, "2021-03-05"),
            (-1, "1969-12-31"),
            (0, "1970-01-01"),
            (i64::MAX, "1970-01-01"),
            (i64::MIN, "1970-01-01"),
            (midnight, "2021-03-04"),
        ] {
            assert_eq!(day_of(t), day, "{t}");
            assert_eq!(day_of(t), day, "{t}, again");
        }
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
