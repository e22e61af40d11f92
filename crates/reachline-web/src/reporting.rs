//! Campaign reporting: how many people sought help, where and how, published with
//! disclosure control. Every table says what it counts (people or contacts, which channels).

use reachline_core::areas;
use reachline_core::disclosure::{Level, Privacy, Published, Rules};
use reachline_store::{ContactGroup, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Which months a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// January to December.
    Year(i32),
    /// April to March, starting in the given year.
    FinancialYear(i32),
}

impl Period {
    pub fn months(&self) -> (String, String) {
        match self {
            Period::Year(y) => (format!("{y:04}-01"), format!("{y:04}-12")),
            Period::FinancialYear(y) => (format!("{y:04}-04"), format!("{:04}-03", y + 1)),
        }
    }
    pub fn label(&self) -> String {
        match self {
            Period::Year(y) => y.to_string(),
            Period::FinancialYear(y) => format!("{y}/{:02}", (y + 1) % 100),
        }
    }
    pub fn parse(year: i32, kind: &str) -> Option<Period> {
        match kind {
            "year" | "" => Some(Period::Year(year)),
            "financial-year" | "fy" => Some(Period::FinancialYear(year)),
            _ => None,
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
    pub measure: String,
    /// What is counted: "people" or "contacts" (or "devices" for self-help).
    pub counts: String,
    pub channels: String,
    pub breakdown: String,
    pub rows: Vec<Row>,
    pub total: Published,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub area_code: String,
    pub area_name: String,
    pub period: String,
    pub headline: String,
    pub tables: Vec<Table>,
    pub monthly_contacts: Vec<Row>,
    pub method: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} is not a police force area code")]
    Area(String),
}

const CHANNELS: &str = "phone, live chat, secure messages, callbacks";

/// What a table is: its measure, what it counts, its breakdown and a note.
struct Labels<'a>(&'a str, &'a str, &'a str, &'a str);

/// Applies differential privacy (if on) to a count, then disclosure control.
struct Publisher {
    rules: Rules,
    level: Level,
    privacy: Option<Privacy>,
    rng: std::sync::Mutex<rand::rngs::StdRng>,
}

impl Publisher {
    fn publish(&self, n: i64) -> Published {
        let n = match (self.privacy, self.rng.lock()) {
            (Some(p), Ok(mut rng)) => p.apply(n, &mut *rng),
            _ => n,
        };
        self.rules.publish(n, self.level)
    }
}

fn table(p: &Publisher, labels: Labels<'_>, cells: BTreeMap<String, i64>, total: i64) -> Table {
    let Labels(measure, counts, breakdown, note) = labels;
    Table {
        measure: measure.into(),
        counts: counts.into(),
        channels: CHANNELS.into(),
        breakdown: breakdown.into(),
        rows: cells
            .into_iter()
            .map(|(category, n)| Row {
                category,
                value: p.publish(n),
            })
            .collect(),
        total: p.publish(total),
        note: note.into(),
    }
}

fn label(s: &str) -> String {
    if s.is_empty() {
        "not recorded".into()
    } else {
        s.to_string()
    }
}

/// Builds the standard annual set for an area (or nationally when `area` is `None`).
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
    let (from, to) = period.months();
    let groups: Vec<ContactGroup> = store.report_contacts(&from, &to, area).await?;
    let mut by_channel = BTreeMap::new();
    let mut contacts_by_channel = BTreeMap::new();
    let mut by_who = BTreeMap::new();
    let mut by_concern = BTreeMap::new();
    let mut monthly = BTreeMap::new();
    let (mut people, mut contacts) = (0i64, 0i64);
    for g in &groups {
        contacts += g.n;
        *contacts_by_channel.entry(g.channel.clone()).or_insert(0) += g.n;
        *monthly.entry(g.month.clone()).or_insert(0) += g.n;
        if g.first_this_year {
            people += g.n;
            *by_channel.entry(g.channel.clone()).or_insert(0) += g.n;
            *by_who.entry(label(&g.who)).or_insert(0) += g.n;
            // With differential privacy each person adds to one concern only (sensitivity 1).
            let limit = if privacy.is_some() { 1 } else { usize::MAX };
            for c in g.concerns.split(',').filter(|c| !c.is_empty()).take(limit) {
                *by_concern.entry(c.to_string()).or_insert(0) += g.n;
            }
        }
    }
    // Every month of the period appears, zero or not.
    let (fy, fm) = (
        from[..4].parse::<i32>().unwrap_or(0),
        from[5..].parse::<u32>().unwrap_or(1),
    );
    for i in 0..12 {
        let m = fm + i;
        let key = format!("{:04}-{:02}", fy + ((m - 1) / 12) as i32, (m - 1) % 12 + 1);
        monthly.entry(key).or_insert(0);
    }
    let year = match period {
        Period::Year(y) | Period::FinancialYear(y) => i64::from(y),
    };
    let visits: i64 = store
        .reach_first_visits(year)
        .await?
        .iter()
        .filter(|v| area.is_none_or(|a| v.area == a))
        .map(|v| v.n)
        .sum();
    let p = Publisher {
        rules,
        level,
        privacy,
        rng: std::sync::Mutex::new(rand::SeedableRng::from_entropy()),
    };
    let mut tables = vec![
        table(
            &p,
            Labels(
                "People who sought help, by channel",
                "people",
                "channel",
                "A person is counted once a year, at their first contact; a returning help-seeker recognised by their return code is not counted again.",
            ),
            by_channel,
            people,
        ),
        table(&p, Labels("People, by who is asking", "people", "who is asking", ""), by_who, people),
        table(
            &p,
            Labels(
                "People, by concern",
                "people",
                "concern",
                "A person can have more than one concern, so the rows add up to more than the total.",
            ),
            by_concern,
            people,
        ),
        table(
            &p,
            Labels(
                "Contacts, by channel",
                "contacts",
                "channel",
                "Every call, chat, message thread and callback, including repeat contacts.",
            ),
            contacts_by_channel,
            contacts,
        ),
    ];
    tables.push(Table {
        measure: "Self-help website: first visits of the year".into(),
        counts: "devices".into(),
        channels: "self-help website".into(),
        breakdown: "none".into(),
        rows: Vec::new(),
        total: p.publish(visits),
        note: "Counted per browser with a cookie that holds only the year: one person on two devices counts twice.".into(),
    });
    let people_pub = tables[0].total;
    let headline = headline(&people_pub, &area_name, area.is_some(), &period.label());
    Ok(Report {
        area_code,
        area_name,
        period: period.label(),
        headline,
        tables,
        monthly_contacts: monthly
            .into_iter()
            .map(|(m, n)| Row {
                category: m,
                value: p.publish(n),
            })
            .collect(),
        method: rules.method_with(privacy),
    })
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

/// CSV: a header row, then one row per published cell. Every value is an integer or words.
pub fn csv(r: &Report) -> String {
    let mut out = String::from("area,period,measure,counts,breakdown,category,value\n");
    let esc = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    for t in &r.tables {
        for row in &t.rows {
            out.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                r.area_code,
                r.period,
                esc(&t.measure),
                t.counts,
                esc(&t.breakdown),
                esc(&row.category),
                row.value.text()
            ));
        }
        out.push_str(&format!(
            "{},{},{},{},{},total,{}\n",
            r.area_code,
            r.period,
            esc(&t.measure),
            t.counts,
            esc(&t.breakdown),
            t.total.text()
        ));
    }
    for row in &r.monthly_contacts {
        out.push_str(&format!(
            "{},{},Contacts by month,contacts,month,{},{}\n",
            r.area_code,
            r.period,
            row.category,
            row.value.text()
        ));
    }
    out
}

#[derive(askama::Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    r: &'a Report,
}

/// A printable HTML summary for partners.
pub fn html(r: &Report) -> String {
    askama::Template::render(&ReportPage { r }).unwrap_or_default()
}
