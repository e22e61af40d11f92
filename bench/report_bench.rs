//! The reporting benchmark (run by `bench/report.sh`): seeds 10,000,000 synthetic contact
//! records and five years of daily counters into a fresh SQLite database or PostgreSQL
//! schema, through the store's own statements; then, in a fresh process, times the annual
//! area report (`reporting::build`, the function behind `reachline report`, plus its CSV
//! and HTML with charts): first cold, then warm.
//!
//! Environment: `BENCH_CONTACTS` (10000000), `BENCH_RUNS` (5 reports timed in the fresh
//! process; the first is the cold one).

use reachline_app::reporting::{self, Period};
use reachline_core::disclosure::Rules;
use reachline_core::staff::Role;
use reachline_store::{Store, WrapUp};
use std::time::{Duration, Instant};

// The service's allocator (src/main.rs), so the report is timed as `reachline report` runs it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const AREA: &str = "E23000015";
const FIRST_YEAR: i32 = 2021;
const YEARS: i32 = 5;
const REPORT_YEAR: i32 = 2024;

/// A small deterministic generator (xorshift64*), so both stores get the same records.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

fn unix(year: i32) -> i64 {
    // Days from 1970 to 1 January of `year` (Gregorian).
    let y = i64::from(year) - 1;
    let days = y * 365 + y / 4 - y / 100 + y / 400 - 719_162;
    days * 86_400
}

async fn seed(store: &Store, contacts: usize) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let staff = store
        .staff_create("demo-data", Role::Practitioner, "", 0)
        .await?;
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    use reachline_core::vocabulary::Channel;
    let channels = [
        Channel::Phone,
        Channel::Phone,
        Channel::Phone,
        Channel::Chat,
        Channel::Chat,
        Channel::Message,
        Channel::Callback,
    ];
    let who = [
        "self",
        "self",
        "self",
        "someone-else",
        "someone-else",
        "professional",
    ];
    let concerns = [
        "viewing-images",
        "sexual-communication",
        "contact-offending",
        "ai-or-drawn-images",
        "someone-elses-behaviour",
        "other",
        "viewing-images,sexual-communication",
    ];
    let actions = [
        "safety-plan",
        "device-changes",
        "safety-plan,therapy",
        "talk-to-someone",
        "",
    ];
    let signposts = [
        "self-help-modules",
        "gp-or-mental-health",
        "samaritans",
        "legal-advice",
    ];
    let arrested = ["no", "arrested", "under-investigation", "not-asked"];
    let (start, span) = (
        unix(FIRST_YEAR),
        unix(FIRST_YEAR + YEARS) - unix(FIRST_YEAR),
    );
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..contacts {
        let at = start + (rng.below(span as u64) as i64);
        batch.push(WrapUp {
            channel: rng.pick(&channels),
            started_at: at,
            ended_at: at + 600 + rng.below(3000) as i64,
            who: rng.pick(&who).into(),
            age_group: if rng.below(25) == 0 {
                "under-18"
            } else {
                "adult"
            }
            .into(),
            area: AREA.into(),
            concerns: rng.pick(&concerns).into(),
            arrested: rng.pick(&arrested).into(),
            actions: rng.pick(&actions).into(),
            signposting: rng.pick(&signposts).into(),
            first_this_year: rng.below(100) < 60,
            statement_version: "bench".into(),
            synthetic: true,
        });
        if batch.len() == 10_000 || i + 1 == contacts {
            store.demo_contacts(staff, &batch, 0).await?;
            batch.clear();
            if (i + 1) % 1_000_000 == 0 {
                eprintln!(
                    "[report-bench] {} contacts seeded, {:.0} a second",
                    i + 1,
                    (i + 1) as f64 / t.elapsed().as_secs_f64()
                );
            }
        }
    }
    eprintln!(
        "[report-bench] {contacts} contacts seeded in {:.1} s, {:.0} a second",
        t.elapsed().as_secs_f64(),
        contacts as f64 / t.elapsed().as_secs_f64()
    );
    // Five years of daily counters: module views and exercise completions, and a deterrence
    // funnel for two partners (checks, then warnings and arrivals per campaign code).
    let mut partners = Vec::new();
    for name in ["searchco", "hostco"] {
        partners.push(
            store
                .partner_create(name, &format!("bench-{name}"), "", 0)
                .await?,
        );
    }
    let modules = [
        "understanding-thoughts",
        "making-a-personal-plan",
        "managing-urges",
        "the-law",
        "staying-safe-online",
        "talking-to-someone",
        "after-arrest",
        "for-family",
        "under-18",
    ];
    let mut day = unix(FIRST_YEAR);
    while day < unix(FIRST_YEAR + YEARS) {
        let d = reachline_store::month_of(day) + &format!("-{:02}", day_of_month(day));
        for m in modules {
            store
                .reach_add_daily(&d, "module_view", m, 20 + rng.below(200) as i64)
                .await?;
        }
        for e in ["reflection", "checklist", "plan"] {
            store
                .reach_add_daily(&d, "exercise_completion", e, rng.below(40) as i64)
                .await?;
        }
        for p in &partners {
            store
                .deterrence_add(&d, *p, "", "", "check", 5_000 + rng.below(5_000) as i64)
                .await?;
            for v in ["illegal", "help", "talk"] {
                store
                    .deterrence_add(&d, *p, "c1", v, "warning", rng.below(60) as i64)
                    .await?;
                store
                    .deterrence_add(&d, *p, "", v, "arrival", rng.below(6) as i64)
                    .await?;
            }
        }
        day += 86_400;
    }
    Ok(t.elapsed())
}

fn day_of_month(unix: i64) -> u32 {
    let month = reachline_store::month_of(unix);
    let mut first = unix - unix.rem_euclid(86_400);
    while reachline_store::month_of(first - 86_400) == month {
        first -= 86_400;
    }
    ((unix - first) / 86_400) as u32 + 1
}

/// Times the annual area report `runs` times: the first is the cold one (a fresh process,
/// after the database restarted and the OS page cache was dropped, when report.sh could);
/// returns every time in order, and what the report held.
async fn time_report(store: &Store, runs: usize) -> anyhow::Result<(Vec<Duration>, String)> {
    let mut times = Vec::new();
    let mut total = String::new();
    for _ in 0..runs {
        let t = Instant::now();
        let r = reporting::build(
            store,
            Some(AREA),
            Period::Year(REPORT_YEAR),
            Rules::default(),
            None,
        )
        .await?;
        let csv = reporting::csv(&r)?;
        let html = reporting::html(&r)?;
        times.push(t.elapsed());
        total = format!(
            "{} people, {} CSV lines, {} KB of HTML",
            r.tables[0].total.text(),
            csv.lines().count(),
            html.len() / 1024
        );
    }
    Ok((times, total))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn open(store: &str, at: &str, schema: &str) -> anyhow::Result<Store> {
    Ok(match store {
        "sqlite" => Store::open_sqlite(std::path::Path::new(at)).await?,
        "postgres" => Store::open_postgres_in_schema(at, schema).await?,
        other => anyhow::bail!("store is sqlite or postgres, not {other}"),
    })
}

/// `report-bench seed STORE AT [SCHEMA]`, `report-bench time STORE AT [SCHEMA]`,
/// `report-bench drop postgres URL SCHEMA`: bench/report.sh seeds in one process, restarts
/// the database, and times in another.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let contacts: usize = std::env::var("BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    const USAGE: &str = "usage: report-bench seed|time STORE AT [SCHEMA], or drop postgres URL SCHEMA (bench/report.sh runs it)";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let (Some(command), Some(store_kind), Some(at)) = (arg(0), arg(1), arg(2)) else {
        anyhow::bail!(USAGE);
    };
    // The schema is PostgreSQL's only: SQLite takes none, PostgreSQL must be given one (an
    // empty name would not be a schema of the benchmark's own, to drop afterwards).
    let schema = match (store_kind, arg(3)) {
        ("postgres", Some(s)) if !s.is_empty() => s,
        ("postgres", _) => anyhow::bail!(USAGE),
        _ => "",
    };
    match command {
        "seed" => {
            let store = open(store_kind, at, schema).await?;
            let seeded = seed(&store, contacts).await?;
            store.close().await;
            println!(
                "{store_kind}: seeded {contacts} contacts ({FIRST_YEAR}-{}) in {AREA} and {YEARS} years of daily counters in {:.1} s",
                FIRST_YEAR + YEARS - 1,
                seeded.as_secs_f64()
            );
        }
        "time" => {
            let t = Instant::now();
            let store = open(store_kind, at, schema).await?;
            let opened = t.elapsed();
            let (times, total) = time_report(&store, runs).await?;
            store.close().await;
            let mut warm = times[1..].to_vec();
            warm.sort();
            let warm_text = match warm.len() {
                0 => String::new(),
                n => format!(
                    "; then warm: median {:.0} ms (best {:.0}, worst {:.0})",
                    ms(warm[n / 2]),
                    ms(warm[0]),
                    ms(warm[n - 1])
                ),
            };
            println!(
                "{store_kind}: the {REPORT_YEAR} report for {AREA}, cold in a fresh process: {:.0} ms (opening the store {:.0} ms before it){warm_text}; {total}",
                ms(times[0]),
                ms(opened),
            );
            println!(
                "RESULT {store_kind} cold_ms={:.0} goal={}",
                ms(times[0]),
                if times[0].as_millis() < 1000 {
                    "met"
                } else {
                    "NOT-met"
                }
            );
        }
        "drop" => Store::drop_postgres_schema(at, schema).await?,
        _ => anyhow::bail!(USAGE),
    }
    Ok(())
}
