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

#[cfg(test)]
mod tests {
    #[test]
    fn writes_minutes_in_utc() {
        assert_eq!(super::utc_minute(1_772_445_600), "2026-03-02 10:00 UTC");
        assert_eq!(super::utc_clock(1_772_445_600), "10:00 UTC");
    }
}
