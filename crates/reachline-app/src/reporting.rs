//! Campaign reporting: how many people sought help, where and how, published with
//! disclosure control. Every table says what it counts (people or contacts, which channels).

use reachline_core::areas;
use reachline_core::disclosure::{Level, Privacy, Published, Rules};
use reachline_store::{ContactGroup, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The longest custom range, in months (ten years).
pub const MAX_MONTHS: usize = 120;

/// Which months a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// One calendar month (1–12).
    Month(i32, u32),
    /// A calendar quarter (1 = January to March … 4 = October to December).
    Quarter(i32, u32),
    /// January to December.
    Year(i32),
    /// April to March, starting in the given year.
    FinancialYear(i32),
    /// From one month to another, both included.
    Custom { from: (i32, u32), to: (i32, u32) },
}

fn month_key((y, m): (i32, u32)) -> String {
    format!("{y:04}-{m:02}")
}

fn parse_month(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.trim().split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
    ((2000..=2100).contains(&y) && (1..=12).contains(&m)).then_some((y, m))
}

/// The English name of month `m` (1–12).
pub fn month_name(m: u32) -> &'static str {
    MONTH_NAMES
        .get((m.max(1) - 1) as usize)
        .copied()
        .unwrap_or("")
}

/// The period kinds, as `--period` and the dashboard's filter spell them.
pub const PERIOD_KINDS: [&str; 5] = ["month", "quarter", "year", "financial-year", "custom"];

impl Period {
    /// The first and last month, as (year, month).
    pub fn bounds(&self) -> ((i32, u32), (i32, u32)) {
        match *self {
            Period::Month(y, m) => ((y, m), (y, m)),
            Period::Quarter(y, q) => ((y, q * 3 - 2), (y, q * 3)),
            Period::Year(y) => ((y, 1), (y, 12)),
            Period::FinancialYear(y) => ((y, 4), (y + 1, 3)),
            Period::Custom { from, to } => (from, to),
        }
    }

    /// The first and last month as `YYYY-MM`.
    pub fn months(&self) -> (String, String) {
        let (a, b) = self.bounds();
        (month_key(a), month_key(b))
    }

    /// Every month of the period in order, as (year, month).
    pub fn month_list(&self) -> Vec<(i32, u32)> {
        let (mut at, end) = self.bounds();
        let mut out = Vec::new();
        while at <= end && out.len() < MAX_MONTHS {
            out.push(at);
            at = if at.1 == 12 {
                (at.0 + 1, 1)
            } else {
                (at.0, at.1 + 1)
            };
        }
        out
    }

    /// How the period reads in a sentence: "2021", "2021/22", "March 2021", "January to
    /// March 2021", "April 2020 to June 2021".
    pub fn label(&self) -> String {
        let span = |(fy, fm): (i32, u32), (ty, tm): (i32, u32)| {
            if (fy, fm) == (ty, tm) {
                format!("{} {fy}", month_name(fm))
            } else if fy == ty {
                format!("{} to {} {ty}", month_name(fm), month_name(tm))
            } else {
                format!("{} {fy} to {} {ty}", month_name(fm), month_name(tm))
            }
        };
        match *self {
            Period::Year(y) => y.to_string(),
            Period::FinancialYear(y) => format!("{y}/{:02}", (y + 1) % 100),
            _ => {
                let (a, b) = self.bounds();
                span(a, b)
            }
        }
    }

    /// A short name for files and the audit log: "2021", "fy2021-22", "2021-03", "2021-q1",
    /// "2020-04-to-2021-06".
    pub fn slug(&self) -> String {
        match *self {
            Period::Year(y) => y.to_string(),
            Period::FinancialYear(y) => format!("fy{y}-{:02}", (y + 1) % 100),
            Period::Month(y, m) => month_key((y, m)),
            Period::Quarter(y, q) => format!("{y}-q{q}"),
            Period::Custom { from, to } => format!("{}-to-{}", month_key(from), month_key(to)),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Period::Month(..) => "month",
            Period::Quarter(..) => "quarter",
            Period::Year(_) => "year",
            Period::FinancialYear(_) => "financial-year",
            Period::Custom { .. } => "custom",
        }
    }

    /// Builds a period from the CLI's (and the dashboard's) parts: `kind` is one of
    /// [`PERIOD_KINDS`] (empty means year); `year` is needed for every kind but custom;
    /// `month` (1–12) for month, `quarter` (1–4) for quarter; `from` and `to` (`YYYY-MM`)
    /// for custom. The error says what is missing or wrong.
    pub fn from_parts(
        kind: &str,
        year: Option<i32>,
        month: Option<u32>,
        quarter: Option<u32>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Period, String> {
        let year = || {
            year.filter(|y| (2000..=2100).contains(y))
                .ok_or_else(|| "--year must be a year from 2000 to 2100".to_string())
        };
        match kind {
            "year" | "" => Ok(Period::Year(year()?)),
            "financial-year" | "fy" => Ok(Period::FinancialYear(year()?)),
            "month" => {
                let m = month
                    .filter(|m| (1..=12).contains(m))
                    .ok_or("--period month needs --month 1 to 12")?;
                Ok(Period::Month(year()?, m))
            }
            "quarter" => {
                let q = quarter
                    .filter(|q| (1..=4).contains(q))
                    .ok_or("--period quarter needs --quarter 1 to 4")?;
                Ok(Period::Quarter(year()?, q))
            }
            "custom" => {
                let from = from.and_then(parse_month);
                let to = to.and_then(parse_month);
                let (Some(from), Some(to)) = (from, to) else {
                    return Err("--period custom needs --from YYYY-MM and --to YYYY-MM".into());
                };
                if from > to {
                    return Err("--from must not be after --to".into());
                }
                let p = Period::Custom { from, to };
                let months = (to.0 - from.0) * 12 + to.1 as i32 - from.1 as i32 + 1;
                if months as usize > MAX_MONTHS {
                    return Err(format!("a custom range is at most {MAX_MONTHS} months"));
                }
                Ok(p)
            }
            _ => Err("--period is month, quarter, year, financial-year or custom".into()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub category: String,
    pub value: Published,
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// What the table breaks its figures down by, for the dashboard's filter: one of
    /// [`DIMENSIONS`] or `none`.
    pub dimension: String,
    pub measure: String,
    /// What is counted: "people", "contacts", "missed contacts", "devices", "module views"…
    pub counts: String,
    pub channels: String,
    pub breakdown: String,
    /// Which disclosure rule the table's figures passed.
    pub rule: String,
    pub rows: Vec<Row>,
    pub total: Published,
    pub note: String,
}

/// One line of the deterrence funnel: a partner (all its campaign codes; checks are counted
/// before a message variant is chosen) or one campaign code (`p<partner>-<variant>`).
#[derive(Debug, Clone, Serialize)]
pub struct FunnelRow {
    pub code: String,
    pub partner: String,
    /// Only on partner lines and the total.
    pub checks: Option<Published>,
    pub warnings: Published,
    pub arrivals: Published,
}

/// Charts as inline SVG (not in JSON or CSV, which carry the same figures as tables).
#[derive(Debug, Clone, Default)]
pub struct Charts {
    pub trend: String,
    pub channels: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub area_code: String,
    pub area_name: String,
    pub period: String,
    pub period_kind: String,
    pub from_month: String,
    pub to_month: String,
    pub headline: String,
    pub tables: Vec<Table>,
    pub monthly_contacts: Vec<Row>,
    pub monthly_missed: Vec<Row>,
    pub funnel: Vec<FunnelRow>,
    pub method: String,
    #[serde(skip)]
    pub charts: Charts,
}

impl Report {
    /// Month, contacts, missed contacts: the trend chart's figures as a table.
    pub fn monthly(&self) -> Vec<(&str, &Published, &Published)> {
        self.monthly_contacts
            .iter()
            .zip(&self.monthly_missed)
            .map(|(c, m)| (c.category.as_str(), &c.value, &m.value))
            .collect()
    }

    /// The same report with only one dimension's tables (for the dashboard's filter).
    pub fn only(mut self, dimension: &str) -> Report {
        if !(dimension.is_empty() || dimension == "all") {
            self.tables.retain(|t| t.dimension == dimension);
        }
        self
    }
}

/// Dimensions a table can break figures down by, as the dashboard's filter spells them.
pub const DIMENSIONS: [&str; 7] = [
    "channel",
    "who",
    "concern",
    "age-group",
    "actions",
    "signposting",
    "channel-who-age",
];

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} is not a police force area code")]
    Area(String),
}

const CHANNELS: &str = "phone, live chat, secure messages, callbacks";
const WHOLE_SERVICE: &str = "Not recorded by area: this is the whole service's figure, published with the same disclosure control as the rest of this report.";

/// Applies differential privacy (if on) to a count, then disclosure control.
struct Publisher {
    rules: Rules,
    level: Level,
    privacy: Option<Privacy>,
    rng: std::sync::Mutex<rand::rngs::StdRng>,
}

impl Publisher {
    fn publish(&self, n: i64) -> Published {
        self.publish_at(n, self.level)
    }

    fn publish_at(&self, n: i64, level: Level) -> Published {
        // Noise is never skipped: a generator whose lock a panic poisoned is still a
        // generator, so it is used as it is.
        let n = match self.privacy {
            Some(p) => p.apply(n, &mut *self.rng.lock().unwrap_or_else(|e| e.into_inner())),
            None => n,
        };
        self.rules.publish(n, level)
    }

    fn rule(&self, level: Level) -> String {
        match level {
            Level::National => "national: exact",
            Level::SubNational => "sub-national: fewer than 8, rounded to 5",
            Level::CrossTab => "three dimensions: under 10 hidden, rounded to 5",
        }
        .into()
    }
}

/// What a table is, before its figures are published.
struct Spec<'a> {
    dimension: &'a str,
    measure: &'a str,
    counts: &'a str,
    channels: &'a str,
    breakdown: &'a str,
    note: &'a str,
}

fn table(p: &Publisher, spec: Spec<'_>, cells: BTreeMap<String, i64>, total: i64) -> Table {
    table_at(p, p.level, spec, cells, total)
}

fn table_at(
    p: &Publisher,
    level: Level,
    spec: Spec<'_>,
    cells: BTreeMap<String, i64>,
    total: i64,
) -> Table {
    Table {
        dimension: spec.dimension.into(),
        measure: spec.measure.into(),
        counts: spec.counts.into(),
        channels: spec.channels.into(),
        breakdown: spec.breakdown.into(),
        rule: p.rule(level),
        rows: cells
            .into_iter()
            .map(|(category, n)| Row {
                category,
                value: p.publish_at(n, level),
            })
            .collect(),
        total: p.publish_at(total, level),
        note: spec.note.into(),
    }
}

fn label(s: &str) -> String {
    if s.is_empty() {
        "not recorded".into()
    } else {
        s.to_string()
    }
}

/// Adds `n` to each listed value (comma-separated); with differential privacy to the first
/// only, so each person adds one unit to the table.
fn add_each(map: &mut BTreeMap<String, i64>, list: &str, n: i64, dp: bool) {
    let limit = if dp { 1 } else { usize::MAX };
    let mut any = false;
    for v in list.split(',').filter(|v| !v.is_empty()).take(limit) {
        *map.entry(v.to_string()).or_insert(0) += n;
        any = true;
    }
    if !any {
        *map.entry(label("")).or_insert(0) += n;
    }
}

/// Builds the standard set for an area (or nationally when `area` is `None`) and a period.
pub async fn build(
    store: &Store,
    area: Option<&str>,
    period: Period,
    rules: Rules,
    privacy: Option<Privacy>,
) -> Result<Report, ReportError> {
    let (area_code, area_name, level) = match area {
        Some(code) => {
            let a = areas::find(code).ok_or_else(|| ReportError::Area(code.to_string()))?;
            (a.code.to_string(), a.name.to_string(), Level::SubNational)
        }
        None => (
            "national".into(),
            "England and Wales".into(),
            Level::National,
        ),
    };
    let cross_level = if level == Level::National {
        Level::National
    } else {
        Level::CrossTab
    };
    let (from, to) = period.months();
    let dp = privacy.is_some();
    let groups: Vec<ContactGroup> = store.report_contacts(&from, &to, area).await?;
    let mut by_channel = BTreeMap::new();
    let mut contacts_by_channel = BTreeMap::new();
    let mut by_who = BTreeMap::new();
    let mut by_concern = BTreeMap::new();
    let mut by_age = BTreeMap::new();
    let mut by_actions = BTreeMap::new();
    let mut by_signposting = BTreeMap::new();
    let mut cross: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    let mut monthly: BTreeMap<String, i64> = BTreeMap::new();
    let mut monthly_missed: BTreeMap<String, i64> = BTreeMap::new();
    for m in period.month_list() {
        monthly.insert(month_key(m), 0);
        monthly_missed.insert(month_key(m), 0);
    }
    let (mut people, mut contacts) = (0i64, 0i64);
    for g in &groups {
        contacts += g.n;
        *contacts_by_channel.entry(g.channel.clone()).or_insert(0) += g.n;
        *monthly.entry(g.month.clone()).or_insert(0) += g.n;
        if g.first_this_year {
            people += g.n;
            *by_channel.entry(g.channel.clone()).or_insert(0) += g.n;
            *by_who.entry(label(&g.who)).or_insert(0) += g.n;
            *by_age.entry(label(&g.age_group)).or_insert(0) += g.n;
            *cross
                .entry((g.channel.clone(), label(&g.who), label(&g.age_group)))
                .or_insert(0) += g.n;
            add_each(&mut by_concern, &g.concerns, g.n, dp);
            add_each(&mut by_actions, &g.actions, g.n, dp);
            add_each(&mut by_signposting, &g.signposting, g.n, dp);
        }
    }
    // The 3-dimension table lists every combination of the values seen, zero or not.
    let mut cross_cells = BTreeMap::new();
    {
        let set = |f: fn(&(String, String, String)) -> &String| {
            let mut v: Vec<String> = cross.keys().map(|k| f(k).clone()).collect();
            v.sort();
            v.dedup();
            v
        };
        let (chs, whos, ages) = (set(|k| &k.0), set(|k| &k.1), set(|k| &k.2));
        for c in &chs {
            for w in &whos {
                for a in &ages {
                    let key = (c.clone(), w.clone(), a.clone());
                    let n = cross.get(&key).copied().unwrap_or(0);
                    cross_cells.insert(format!("{c} / {w} / {a}"), n);
                }
            }
        }
    }
    let missed = store.report_missed(&from, &to, area).await?;
    let mut missed_by_channel = BTreeMap::new();
    let mut missed_total = 0;
    for m in &missed {
        missed_total += m.n;
        *missed_by_channel.entry(m.channel.clone()).or_insert(0) += m.n;
        *monthly_missed.entry(m.month.clone()).or_insert(0) += m.n;
    }
    let (from_day, to_day) = (format!("{from}-01"), format!("{to}-31"));
    let (mut views, mut completions) = (0i64, 0i64);
    for c in store.reach_monthly(&from_day, &to_day).await? {
        match c.metric.as_str() {
            crate::reach::MODULE_VIEW => views += c.n,
            crate::reach::EXERCISE_COMPLETION => completions += c.n,
            _ => {}
        }
    }
    let p = Publisher {
        rules,
        level,
        privacy,
        rng: std::sync::Mutex::new(rand::SeedableRng::from_entropy()),
    };
    let whole = if area.is_some() { WHOLE_SERVICE } else { "" };
    let mut tables = vec![
        table(
            &p,
            Spec {
                dimension: "channel",
                measure: "People who sought help, by channel",
                counts: "people",
                channels: CHANNELS,
                breakdown: "channel",
                note: "A person is counted once a year, at their first contact; a returning help-seeker recognised by their return code is not counted again.",
            },
            by_channel,
            people,
        ),
        table(
            &p,
            Spec {
                dimension: "who",
                measure: "People, by who is asking",
                counts: "people",
                channels: CHANNELS,
                breakdown: "who is asking",
                note: "",
            },
            by_who,
            people,
        ),
        table(
            &p,
            Spec {
                dimension: "concern",
                measure: "People, by concern",
                counts: "people",
                channels: CHANNELS,
                breakdown: "concern",
                note: "A person can have more than one concern, so the rows add up to more than the total.",
            },
            by_concern,
            people,
        ),
        table(
            &p,
            Spec {
                dimension: "age-group",
                measure: "People, by age group",
                counts: "people",
                channels: CHANNELS,
                breakdown: "age group",
                note: "",
            },
            by_age,
            people,
        ),
        table(
            &p,
            Spec {
                dimension: "actions",
                measure: "People, by protective actions agreed",
                counts: "people",
                channels: CHANNELS,
                breakdown: "protective action",
                note: "As recorded at the person's first contact of the year. More than one action can be agreed, so the rows add up to more than the total.",
            },
            by_actions,
            people,
        ),
        table(
            &p,
            Spec {
                dimension: "signposting",
                measure: "People, by where they were signposted",
                counts: "people",
                channels: CHANNELS,
                breakdown: "signposted to",
                note: "As recorded at the person's first contact of the year. A person can be signposted to more than one place.",
            },
            by_signposting,
            people,
        ),
        table_at(
            &p,
            cross_level,
            Spec {
                dimension: "channel-who-age",
                measure: "People, by channel, who is asking and age group",
                counts: "people",
                channels: CHANNELS,
                breakdown: "channel / who is asking / age group",
                note: "A table with three dimensions: below national level, values under 10 are hidden and the rest rounded to the nearest 5.",
            },
            cross_cells,
            people,
        ),
        table(
            &p,
            Spec {
                dimension: "channel",
                measure: "Contacts, by channel",
                counts: "contacts",
                channels: CHANNELS,
                breakdown: "channel",
                note: "Every call, chat, message thread and callback, including repeat contacts.",
            },
            contacts_by_channel,
            contacts,
        ),
        table(
            &p,
            Spec {
                dimension: "channel",
                measure: "Missed contacts, by channel",
                counts: "missed contacts",
                channels: "live chat",
                breakdown: "channel",
                note: "Help-seekers who left the queue, or were still waiting at closing time, without being answered.",
            },
            missed_by_channel,
            missed_total,
        ),
    ];
    if let Period::Year(y) = period {
        let visits: i64 = store
            .reach_first_visits(i64::from(y))
            .await?
            .iter()
            .filter(|v| area.is_none_or(|a| v.area == a))
            .map(|v| v.n)
            .sum();
        tables.push(total_only(
            &p,
            "Self-help website: first visits of the year",
            "devices",
            visits,
            "Counted per browser with a cookie that holds only the year: one person on two devices counts twice. Counted per calendar year, so shown in calendar-year reports only.",
        ));
    }
    tables.push(total_only(
        &p,
        "Self-help website: module views",
        "module views",
        views,
        whole,
    ));
    tables.push(total_only(
        &p,
        "Self-help website: exercise completions",
        "exercise completions",
        completions,
        whole,
    ));
    if area.is_none() && store.has_calls() {
        tables.extend(phone_tables(store, &p, period).await?);
    }
    let funnel = funnel(store, &p, &from_day, &to_day).await?;
    let people_pub = tables[0].total;
    let label = period.label();
    let headline = headline(&people_pub, &area_name, area.is_some(), &label);
    let publish_rows = |m: BTreeMap<String, i64>| -> Vec<Row> {
        m.into_iter()
            .map(|(category, n)| Row {
                category,
                value: p.publish(n),
            })
            .collect()
    };
    let mut report = Report {
        area_code,
        area_name,
        period: label,
        period_kind: period.kind().into(),
        from_month: from,
        to_month: to,
        headline,
        tables,
        monthly_contacts: publish_rows(monthly),
        monthly_missed: publish_rows(monthly_missed),
        funnel,
        method: rules.method_with(privacy),
        charts: Charts::default(),
    };
    report.charts = charts(&report);
    Ok(report)
}

/// The first instant of a month (UTC). Months come from a validated [`Period`]; one that is
/// not a calendar month gives the epoch, which only widens the span read.
fn month_start((y, m): (i32, u32)) -> i64 {
    u8::try_from(m)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .and_then(|m| time::Date::from_calendar_date(y, m, 1).ok())
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .unwrap_or(0)
}

/// The phone line's figures (national: calls carry no area): calls offered by month and by
/// outcome, abandoned calls by how long they waited, calls offered by hour of the week in the
/// helpline's time zone, and people (where repeat callers are counted).
async fn phone_tables(
    store: &Store,
    p: &Publisher,
    period: Period,
) -> Result<Vec<Table>, ReportError> {
    let (first, last) = period.bounds();
    let after = if last.1 == 12 {
        (last.0 + 1, 1)
    } else {
        (last.0, last.1 + 1)
    };
    let calls = store
        .calls_between(month_start(first), month_start(after))
        .await?;
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    // The zone set in the console; a stored value that no longer reads is ignored as the live
    // settings ignore it (`settings::Live::reload`), and the table says UTC then.
    let zone_name = match store.setting_get(crate::settings::HOURS_KEY).await? {
        Some(json) => serde_json::from_str::<crate::settings::Hours>(&json)
            .map(|h| h.time_zone)
            .unwrap_or_else(|_| "UTC".into()),
        None => "UTC".into(),
    };
    let zone = jiff::tz::TimeZone::get(&zone_name).unwrap_or(jiff::tz::TimeZone::UTC);
    const DAYS: [&str; 7] = [
        "1 Mon", "2 Tue", "3 Wed", "4 Thu", "5 Fri", "6 Sat", "7 Sun",
    ];
    let mut by_month = BTreeMap::new();
    for m in period.month_list() {
        by_month.insert(month_key(m), 0);
    }
    let mut by_outcome = BTreeMap::new();
    let mut by_wait = BTreeMap::new();
    let mut by_hour = BTreeMap::new();
    let mut people = std::collections::HashSet::new();
    let mut unknown_people = 0i64;
    for c in &calls {
        *by_month.entry(c.month.clone()).or_insert(0) += 1;
        *by_outcome.entry(c.outcome.clone()).or_insert(0) += 1;
        if c.outcome == "abandoned" {
            // A wait the source never gave (a call settled by housekeeping) is counted as
            // not known, not as a short one.
            let bucket = match c.wait_seconds {
                None => "5 wait not known",
                Some(..60) => "1 under 1 minute",
                Some(60..300) => "2 1 to 5 minutes",
                Some(300..900) => "3 5 to 15 minutes",
                Some(_) => "4 15 minutes or more",
            };
            *by_wait.entry(bucket.to_string()).or_insert(0) += 1;
        }
        if let Ok(t) = jiff::Timestamp::from_second(c.offered_at) {
            let z = t.to_zoned_datetime(zone.clone());
            let day = DAYS[usize::from(z.weekday().to_monday_zero_offset().unsigned_abs()).min(6)];
            *by_hour
                .entry(format!("{day} {:02}:00", z.hour()))
                .or_insert(0) += 1;
        }
        match &c.caller_hash {
            Some(h) => {
                people.insert(h.clone());
            }
            None => unknown_people += 1,
        }
    }
    let total = calls.len() as i64;
    let spec = |measure: &'static str,
                counts: &'static str,
                breakdown: &'static str,
                note: &'static str| Spec {
        dimension: "none",
        measure,
        counts,
        channels: "phone",
        breakdown,
        note,
    };
    let mut out = vec![
        table(
            p,
            spec(
                "Phone calls offered, by outcome",
                "calls",
                "outcome",
                "Every call that reached the helpline: answered, abandoned in the queue (the caller left before an answer), or out of hours. Phone calls carry no area, so they are counted nationally.",
            ),
            by_outcome,
            total,
        ),
        table(
            p,
            spec("Phone calls offered, by month", "calls", "month", ""),
            by_month,
            total,
        ),
        table(
            p,
            spec(
                "Abandoned calls, by how long the caller waited",
                "calls",
                "wait",
                "",
            ),
            by_wait.clone(),
            by_wait.values().sum(),
        ),
        table(
            p,
            spec(
                "Phone calls offered, by hour of the week",
                "calls",
                "hour of the week",
                "In the helpline's time zone as set in the console (UTC if none is set).",
            ),
            by_hour,
            total,
        ),
    ];
    if !people.is_empty() {
        out.push(table(
            p,
            spec(
                "People who called (repeat callers counted once a year)",
                "people",
                "none",
                "Counted from a keyed hash of each caller's number that changes every calendar year; callers who withheld their number are counted once per call.",
            ),
            BTreeMap::new(),
            people.len() as i64 + unknown_people,
        ));
    }
    Ok(out)
}

fn total_only(p: &Publisher, measure: &str, counts: &str, n: i64, note: &str) -> Table {
    Table {
        dimension: "none".into(),
        measure: measure.into(),
        counts: counts.into(),
        channels: "self-help website".into(),
        breakdown: "none".into(),
        rule: p.rule(p.level),
        rows: Vec::new(),
        total: p.publish(n),
        note: note.into(),
    }
}

/// Checks, warnings and help-link arrivals per partner and campaign code, published with
/// the report's rule.
async fn funnel(
    store: &Store,
    p: &Publisher,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<FunnelRow>, ReportError> {
    let counts = store.deterrence_funnel(from_day, to_day).await?;
    if counts.is_empty() {
        return Ok(Vec::new());
    }
    let names: BTreeMap<i64, String> = store
        .partners_all()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    /// A partner's checks, and warnings and arrivals by message variant.
    type Partner = (i64, BTreeMap<String, (i64, i64)>);
    let mut by_partner: BTreeMap<i64, Partner> = BTreeMap::new();
    let (mut checks, mut warnings, mut arrivals) = (0i64, 0i64, 0i64);
    for c in counts {
        let entry = by_partner.entry(c.partner).or_default();
        match c.metric.as_str() {
            "check" => {
                entry.0 += c.n;
                checks += c.n;
            }
            "warning" => {
                entry.1.entry(c.variant).or_default().0 += c.n;
                warnings += c.n;
            }
            "arrival" => {
                entry.1.entry(c.variant).or_default().1 += c.n;
                arrivals += c.n;
            }
            _ => {}
        }
    }
    let mut rows = Vec::new();
    for (partner, (checks, codes)) in by_partner {
        let name = names.get(&partner).cloned().unwrap_or_default();
        let (w, a) = codes
            .values()
            .fold((0, 0), |(w, a), (cw, ca)| (w + cw, a + ca));
        rows.push(FunnelRow {
            code: format!("p{partner}"),
            partner: name.clone(),
            checks: Some(p.publish(checks)),
            warnings: p.publish(w),
            arrivals: p.publish(a),
        });
        for (variant, (w, a)) in codes {
            rows.push(FunnelRow {
                code: crate::deterrence::code(partner, &variant),
                partner: name.clone(),
                checks: None,
                warnings: p.publish(w),
                arrivals: p.publish(a),
            });
        }
    }
    rows.push(FunnelRow {
        code: "total".into(),
        partner: String::new(),
        checks: Some(p.publish(checks)),
        warnings: p.publish(warnings),
        arrivals: p.publish(arrivals),
    });
    Ok(rows)
}

/// The monthly trend (contacts as bars, missed contacts as a line) and the channel mix
/// (people by channel), from published values only.
fn charts(r: &Report) -> Charts {
    let short = r.monthly_contacts.len() <= 12;
    let labels: Vec<String> = r
        .monthly_contacts
        .iter()
        .map(|row| {
            let m = parse_month(&row.category).unwrap_or((0, 1));
            let name = month_name(m.1).get(..3).unwrap_or("");
            if short {
                name.to_string()
            } else {
                format!("{name} {:02}", m.0 % 100)
            }
        })
        .collect();
    let values =
        |rows: &[Row]| -> Vec<Option<i64>> { rows.iter().map(|r| r.value.value()).collect() };
    let contacts = values(&r.monthly_contacts);
    let missed = values(&r.monthly_missed);
    let words = "Values published as words (fewer than 8, hidden) are not drawn; the table gives every value.";
    let trend = crate::charts::bars(
        &crate::charts::Described {
            id: "chart-trend",
            title: &format!("Contacts and missed contacts by month, {}, {}", r.area_name, r.period),
            desc: &format!("Bars show contacts in each month and the line shows missed contacts, from {} to {}. {words}", r.from_month, r.to_month),
        },
        &labels,
        crate::charts::Series {
            name: "contacts",
            values: &contacts,
        },
        Some(crate::charts::Series {
            name: "missed contacts",
            values: &missed,
        }),
    );
    let (labels, mix): (Vec<String>, Vec<Option<i64>>) = r
        .tables
        .first()
        .map(|t| {
            t.rows
                .iter()
                .map(|row| (row.category.clone(), row.value.value()))
                .unzip()
        })
        .unwrap_or_default();
    let channels = crate::charts::bars(
        &crate::charts::Described {
            id: "chart-channels",
            title: &format!(
                "People who sought help, by channel, {}, {}",
                r.area_name, r.period
            ),
            desc: &format!("One bar per channel: {}. {words}", labels.join(", ")),
        },
        &labels,
        crate::charts::Series {
            name: "people",
            values: &mix,
        },
        None,
    );
    Charts { trend, channels }
}

fn thousands(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "In 2021, about 1,855 people from Staffordshire sought help from the helpline." — the
/// wording follows the published (rounded) figure, never the raw count.
pub fn headline(people: &Published, area_name: &str, sub_national: bool, period: &str) -> String {
    let place = if sub_national {
        format!(" from {area_name}")
    } else {
        String::new()
    };
    match people {
        Published::Exact(0) => format!("In {period}, no one{place} contacted the helpline."),
        Published::Exact(1) => {
            format!("In {period}, one person{place} sought help from the helpline.")
        }
        Published::Exact(n) => format!(
            "In {period}, {} people{place} sought help from the helpline.",
            thousands(*n)
        ),
        Published::Rounded(n) => format!(
            "In {period}, about {} people{place} sought help from the helpline.",
            thousands(*n)
        ),
        Published::FewerThan(k) => {
            format!("In {period}, fewer than {k} people{place} sought help from the helpline.")
        }
        Published::Hidden => {
            format!("In {period}, a small number of people{place} sought help from the helpline.")
        }
    }
}

/// CSV: a header row, then one row per published cell. Every value is an integer or words
/// ("fewer than 8"; "hidden" in the three-dimension table).
pub fn csv(r: &Report) -> Result<String, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record([
        "area",
        "period",
        "measure",
        "counts",
        "breakdown",
        "category",
        "value",
    ])?;
    let mut line = |measure: &str, counts: &str, breakdown: &str, category: &str, v: &Published| {
        let value = v.text();
        w.write_record(
            [
                r.area_code.as_str(),
                &r.period,
                measure,
                counts,
                breakdown,
                category,
                &value,
            ]
            .map(|c| spreadsheet_safe(c).into_owned()),
        )
    };
    for t in &r.tables {
        for row in &t.rows {
            line(
                &t.measure,
                &t.counts,
                &t.breakdown,
                &row.category,
                &row.value,
            )?;
        }
        line(&t.measure, &t.counts, &t.breakdown, "total", &t.total)?;
    }
    for row in &r.monthly_contacts {
        line(
            "Contacts by month",
            "contacts",
            "month",
            &row.category,
            &row.value,
        )?;
    }
    for row in &r.monthly_missed {
        line(
            "Missed contacts by month",
            "missed contacts",
            "month",
            &row.category,
            &row.value,
        )?;
    }
    for f in &r.funnel {
        if let Some(c) = &f.checks {
            line("Deterrence funnel", "checks", "campaign code", &f.code, c)?;
        }
        line(
            "Deterrence funnel",
            "warnings issued",
            "campaign code",
            &f.code,
            &f.warnings,
        )?;
        line(
            "Deterrence funnel",
            "help-link arrivals",
            "campaign code",
            &f.code,
            &f.arrivals,
        )?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    // Every cell was written from a `&str`, so the bytes are UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A cell a spreadsheet would not run as a formula: text that starts with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a leading `'` (numbers are left as they are).
fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err();
    if risky {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A printable HTML document for partners (`report --format html`): one self-contained file
/// (inline style, inline SVG charts), written here rather than through a template engine so
/// that the command line needs no web crate. Every value is escaped; the SVG charts are made
/// by [`crate::charts`] from published values only.
pub fn html(r: &Report) -> Result<String, std::fmt::Error> {
    use std::fmt::Write;
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let mut o = String::with_capacity(32 * 1024);
    write!(
        o,
        "<!doctype html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{area}, {period}: people who sought help</title>\n<style>\n{style}</style>\n</head>\n<body>\n<main>\n\
<h1>{area} ({code}), {period}</h1>\n<p class=\"headline\" id=\"headline\">{headline}</p>\n<h2>Charts</h2>\n",
        area = e(&r.area_name),
        code = e(&r.area_code),
        period = e(&r.period),
        headline = e(&r.headline),
        style = REPORT_STYLE,
    )?;
    if !r.charts.trend.is_empty() {
        write!(
            o,
            "<figure>\n{}\n<figcaption class=\"note\">Contacts (bars) and missed contacts (line) by month; \
the table \"Contacts and missed contacts by month\" gives every value.</figcaption>\n</figure>\n",
            r.charts.trend
        )?;
    }
    if !r.charts.channels.is_empty() {
        write!(
            o,
            "<figure>\n{}\n<figcaption class=\"note\">People who sought help, by channel; the first table \
gives every value.</figcaption>\n</figure>\n",
            r.charts.channels
        )?;
    }
    o.push_str("<h2>Tables</h2>\n");
    for t in &r.tables {
        writeln!(
            o,
            "<table>\n<caption>{} <span class=\"note\">(counts {}; {}; {})</span></caption>",
            e(&t.measure),
            e(&t.counts),
            e(&t.channels),
            e(&t.rule)
        )?;
        if !t.rows.is_empty() {
            writeln!(
                o,
                "<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>",
                e(&t.breakdown),
                e(&t.counts)
            )?;
        }
        o.push_str("<tbody>\n");
        for row in &t.rows {
            writeln!(
                o,
                "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td></tr>",
                e(&row.category),
                e(&row.value.text())
            )?;
        }
        writeln!(
            o,
            "<tr><th scope=\"row\">Total</th><td class=\"n\">{}</td></tr>\n</tbody>\n</table>",
            e(&t.total.text())
        )?;
        if !t.note.is_empty() {
            writeln!(o, "<p class=\"note\">{}</p>", e(&t.note))?;
        }
    }
    o.push_str(
        "<table>\n<caption>Contacts and missed contacts by month</caption>\n<thead><tr><th scope=\"col\">month</th>\
<th scope=\"col\">contacts</th><th scope=\"col\">missed contacts</th></tr></thead>\n<tbody>",
    );
    for (month, contacts, missed) in r.monthly() {
        writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            e(month),
            e(&contacts.text()),
            e(&missed.text())
        )?;
    }
    o.push_str("</tbody>\n</table>\n<h2>Deterrence funnel</h2>\n");
    if r.funnel.is_empty() {
        o.push_str("<p>No checks from partner platforms in this period.</p>");
    } else {
        o.push_str(
            "<table>\n<caption>Checks, warnings issued and help-link arrivals, by partner and campaign code</caption>\n\
<thead><tr><th scope=\"col\">campaign code</th><th scope=\"col\">partner</th><th scope=\"col\">checks</th>\
<th scope=\"col\">warnings issued</th><th scope=\"col\">help-link arrivals</th></tr></thead>\n<tbody>",
        );
        for f in &r.funnel {
            let checks = f
                .checks
                .as_ref()
                .map(|c| e(&c.text()))
                .unwrap_or_else(|| "–".into());
            writeln!(
                o,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td></tr>",
                e(&f.code),
                e(&f.partner),
                checks,
                e(&f.warnings.text()),
                e(&f.arrivals.text())
            )?;
        }
        o.push_str(
            "</tbody>\n</table>\n<p class=\"note\">Checks are counted per partner, before a message is chosen; \
warnings and arrivals per campaign code (partner and message). Not recorded by area.</p>",
        );
    }
    writeln!(
        o,
        "\n<h2>Method</h2>\n<p class=\"method\">{}</p>\n</main>\n</body>\n</html>",
        e(&r.method)
    )?;
    Ok(o)
}

const REPORT_STYLE: &str = "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,sans-serif;color:#1b1b1b;max-width:50rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
.headline{font-size:1.5rem;font-weight:700}
table{border-collapse:collapse;width:100%;margin:1rem 0 2rem}
caption{text-align:left;font-weight:700;padding:.5rem 0}
th,td{border-bottom:1px solid #b1b4b6;padding:.35rem .5rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.note,.method{color:#3d3d3d;font-size:.95rem}
figure{margin:1rem 0}
svg.chart{display:block;width:100%;height:auto;border:1px solid #b1b4b6}
@page{margin:15mm}
@media print{body{margin:0;max-width:none;font-size:10.5pt}figure,table{break-inside:avoid}h2{break-after:avoid}}
";

#[cfg(test)]
mod csv_tests {
    #[test]
    fn cells_a_spreadsheet_would_run_are_defused_and_quoting_is_right() {
        use super::spreadsheet_safe as safe;
        assert_eq!(safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe("+1+1"), "'+1+1");
        assert_eq!(safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe("-2+3"), "'-2+3");
        assert_eq!(safe("\tx"), "'\tx");
        assert_eq!(safe("-5"), "-5");
        assert_eq!(safe("fewer than 8"), "fewer than 8");
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        w.write_record(["a,b", "line\rbreak", "say \"hi\""])
            .unwrap();
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(out, "\"a,b\",\"line\rbreak\",\"say \"\"hi\"\"\"\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_cover_their_months_and_read_well() {
        let p = |k, y, m, q, f, t| Period::from_parts(k, y, m, q, f, t).unwrap();
        let q2 = p("quarter", Some(2021), None, Some(2), None, None);
        assert_eq!(q2.months(), ("2021-04".into(), "2021-06".into()));
        assert_eq!(
            (q2.label(), q2.slug()),
            ("April to June 2021".into(), "2021-q2".into())
        );
        let q4 = p("quarter", Some(2021), None, Some(4), None, None);
        assert_eq!(q4.months(), ("2021-10".into(), "2021-12".into()));
        let m = p("month", Some(2021), Some(3), None, None, None);
        assert_eq!(
            (m.label(), m.slug()),
            ("March 2021".into(), "2021-03".into())
        );
        assert_eq!(m.month_list(), vec![(2021, 3)]);
        let fy = p("financial-year", Some(2021), None, None, None, None);
        assert_eq!(fy.months(), ("2021-04".into(), "2022-03".into()));
        assert_eq!(
            (fy.label(), fy.slug()),
            ("2021/22".into(), "fy2021-22".into())
        );
        assert_eq!(fy.month_list().len(), 12);
        let c = p("custom", None, None, None, Some("2020-11"), Some("2021-02"));
        assert_eq!(
            c.month_list(),
            vec![(2020, 11), (2020, 12), (2021, 1), (2021, 2)]
        );
        assert_eq!(c.label(), "November 2020 to February 2021");
        assert_eq!(c.slug(), "2020-11-to-2021-02");
        let same = p("custom", None, None, None, Some("2021-05"), Some("2021-05"));
        assert_eq!(same.label(), "May 2021");
        let long = p("custom", None, None, None, Some("2011-01"), Some("2020-12"));
        assert_eq!(long.month_list().len(), MAX_MONTHS);
        assert_eq!(
            p("", Some(2024), None, None, None, None),
            Period::Year(2024)
        );
        let err = Period::from_parts("custom", None, None, None, Some("2011-01"), Some("2021-01"));
        assert!(err.unwrap_err().contains("120 months"));
        let err = Period::from_parts("quarter", Some(2021), None, None, None, None);
        assert!(err.unwrap_err().contains("--quarter"));
    }

    #[test]
    fn headline_follows_the_published_figure_for_every_period() {
        let q = Period::Quarter(2021, 1).label();
        assert_eq!(
            headline(&Published::Rounded(35), "Cumbria", true, &q),
            "In January to March 2021, about 35 people from Cumbria sought help from the helpline."
        );
    }
}
