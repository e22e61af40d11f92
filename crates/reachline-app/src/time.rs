//! How times are written for staff and operators.

/// A Unix time as `YYYY-MM-DD HH:MM UTC` (staff pages, operator listings); empty if out of
/// range.
pub fn utc_minute(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// A Unix time as `HH:MM UTC` (the time beside a chat message); empty if out of range.
pub fn utc_clock(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!("[hour]:[minute] UTC"))
                .ok()
        })
        .unwrap_or_default()
}

/// The helpline's time zone (an IANA name), for writing times as staff read them: the zone
/// the opening hours are in, with its daylight-saving rules. An unknown name (refused when
/// settings are saved, so only from an edited database) falls back to UTC.
#[derive(Debug, Clone)]
pub struct Zone(jiff::tz::TimeZone);

impl Zone {
    pub fn new(name: &str) -> Zone {
        Zone(jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC))
    }

    fn at(&self, unix: i64) -> Option<jiff::ZonedDateTime> {
        jiff::Timestamp::from_second(unix)
            .ok()
            .map(|t| t.to_zoned_datetime(self.0.clone()))
    }

    /// `YYYY-MM-DD HH:MM` and the zone's abbreviation (`2026-07-02 10:00 BST`); empty if out
    /// of range (a time beyond jiff's years -9999..9999 cannot come from the service's clock,
    /// only from an edited row; a blank is shown rather than a made-up time).
    pub fn minute(&self, unix: i64) -> String {
        self.at(unix)
            .map(|z| z.strftime("%Y-%m-%d %H:%M %Z").to_string())
            .unwrap_or_default()
    }

    /// `HH:MM` and the zone's abbreviation (`10:00 BST`), beside a chat message; empty if out
    /// of range (as for [`Zone::minute`]).
    pub fn clock(&self, unix: i64) -> String {
        self.at(unix)
            .map(|z| z.strftime("%H:%M %Z").to_string())
            .unwrap_or_default()
    }

    /// The local year and month (1–12) of `unix`.
    pub fn year_month(&self, unix: i64) -> (i32, u32) {
        self.at(unix)
            .map(|z| (i32::from(z.year()), u32::from(z.month().unsigned_abs())))
            .unwrap_or_else(|| reachline_core::clock::year_month_of(unix))
    }

    /// The start of the local day `unix` falls in (the shift's "today").
    pub fn day_start(&self, unix: i64) -> i64 {
        self.at(unix)
            .and_then(|z| z.start_of_day().ok())
            .map(|z| z.timestamp().as_second())
            .unwrap_or(unix - unix.rem_euclid(86_400))
    }
}

#[cfg(test)]
mod tests {
    use super::Zone;

    #[test]
    fn writes_times_in_the_helpline_zone_with_its_summer_time() {
        let london = Zone::new("Europe/London");
        // 2 March 2026 10:00 UTC is GMT; 2 July 2026 09:00 UTC is 10:00 BST.
        assert_eq!(london.minute(1_772_445_600), "2026-03-02 10:00 GMT");
        assert_eq!(london.clock(1_782_982_800), "10:00 BST");
        assert_eq!(london.day_start(1_782_982_800), 1_782_946_800);
        // 30 June 2026 23:30 UTC is already July in London.
        assert_eq!(london.year_month(1_782_862_200), (2026, 7));
        let unknown = Zone::new("Europe/Atlantis");
        assert_eq!(unknown.clock(1_772_445_600), "10:00 UTC");
    }

    #[test]
    fn writes_minutes_in_utc() {
        assert_eq!(super::utc_minute(1_772_445_600), "2026-03-02 10:00 UTC");
        assert_eq!(super::utc_clock(1_772_445_600), "10:00 UTC");
    }
}
