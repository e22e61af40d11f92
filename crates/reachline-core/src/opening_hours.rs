//! Helpline opening hours as operators write them: `"mon-thu 09:00-21:00"`, `"fri 09:00-17:00"`.
//! Parsed once at start-up so a typo stops the service with a clear message instead of
//! showing help-seekers wrong hours.

pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningSpan {
    /// First and last day, 0 = Monday.
    pub from_day: usize,
    pub to_day: usize,
    /// Minutes after midnight, local time.
    pub open: u32,
    pub close: u32,
}

impl OpeningSpan {
    pub fn open_text(&self) -> String {
        format!("{:02}:{:02}", self.open / 60, self.open % 60)
    }
    pub fn close_text(&self) -> String {
        format!("{:02}:{:02}", self.close / 60, self.close % 60)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("opening hours entry {entry:?}: {reason} (expected e.g. \"mon-fri 09:00-17:00\")")]
pub struct HoursError {
    pub entry: String,
    pub reason: &'static str,
}

fn day(s: &str) -> Option<usize> {
    DAYS.iter().position(|d| d.eq_ignore_ascii_case(s))
}

fn minutes(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

pub fn parse(entries: &[String]) -> Result<Vec<OpeningSpan>, HoursError> {
    entries
        .iter()
        .map(|entry| {
            let fail = |reason| HoursError {
                entry: entry.clone(),
                reason,
            };
            let (days, times) = entry
                .trim()
                .split_once(char::is_whitespace)
                .ok_or_else(|| fail("needs days and times"))?;
            let (from, to) = days.split_once('-').unwrap_or((days, days));
            let (from_day, to_day) = (
                day(from).ok_or_else(|| fail("unknown day"))?,
                day(to).ok_or_else(|| fail("unknown day"))?,
            );
            if to_day < from_day {
                return Err(fail("days run backwards"));
            }
            let (open, close) = times
                .trim()
                .split_once('-')
                .ok_or_else(|| fail("needs opening and closing times"))?;
            let (open, close) = (
                minutes(open.trim()).ok_or_else(|| fail("times are HH:MM"))?,
                minutes(close.trim()).ok_or_else(|| fail("times are HH:MM"))?,
            );
            if close <= open {
                return Err(fail("closes before it opens"));
            }
            Ok(OpeningSpan {
                from_day,
                to_day,
                open,
                close,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_operators_write() {
        let spans =
            parse(&["mon-thu 09:00-21:00".into(), "Fri 09:30-17:00".into()]).unwrap_or_default();
        assert_eq!(spans.len(), 2);
        assert_eq!(
            (
                spans[0].from_day,
                spans[0].to_day,
                spans[0].open,
                spans[0].close
            ),
            (0, 3, 540, 1260)
        );
        assert_eq!(spans[1].open_text(), "09:30");
        for bad in [
            "",
            "mon",
            "mon 9-5",
            "xyz 09:00-10:00",
            "fri-mon 09:00-10:00",
            "mon 10:00-09:00",
            "mon 25:00-26:00",
        ] {
            assert!(parse(&[bad.to_string()]).is_err(), "{bad}");
        }
    }
}
