//! The reporting benchmark (run by `bench/report.sh`): seeds 1,000,000 synthetic contact
//! records and five years of daily counters into a fresh SQLite database and a fresh
//! PostgreSQL schema, through the store's own statements, then times the annual area report
//! (`reporting::build`, the function behind `reachline report`, plus its CSV and HTML with
//! charts) on each, and prints both times and their ratio.
//!
//! Environment: `BENCH_CONTACTS` (1000000), `BENCH_PG_URL`
//! (postgres://postgres@127.0.0.1:5432/test; empty to skip PostgreSQL), `BENCH_RUNS` (5).

use reachline_app::reporting::{self, Period};
use reachline_core::disclosure::Rules;
use reachline_core::staff::Role;
use reachline_store::{Store, WrapUp};
use std::time::{Duration, Instant};

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
        }
    }
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

/// Times the annual area report `runs` times; returns every time, sorted, and the people total.
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
    times.sort();
    Ok((times, total))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let contacts: usize = std::env::var("BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let pg_url = std::env::var("BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    println!(
        "seeding {contacts} contacts ({FIRST_YEAR}-{}) in {AREA} and {YEARS} years of daily counters; \
         timing the {REPORT_YEAR} report for {AREA} ({runs} runs: build + CSV + HTML with charts)",
        FIRST_YEAR + YEARS - 1
    );

    let dir = tempfile::tempdir()?;
    let sqlite = Store::open_sqlite(&dir.path().join("reachline.db")).await?;
    let seeded = seed(&sqlite, contacts).await?;
    let (s_times, s_total) = time_report(&sqlite, runs).await?;
    sqlite.close().await;
    let s_median = s_times[s_times.len() / 2];
    println!(
        "sqlite:     seeded in {:.1} s; report median {:.0} ms (best {:.0}, worst {:.0}); {s_total}",
        seeded.as_secs_f64(),
        ms(s_median),
        ms(s_times[0]),
        ms(s_times[s_times.len() - 1])
    );

    if pg_url.is_empty() {
        println!("postgresql: skipped (BENCH_PG_URL is empty)");
        return Ok(());
    }
    let schema = reachline_store::random_schema_name("bench");
    let result = async {
        let pg = Store::open_postgres_in_schema(&pg_url, &schema).await?;
        let seeded = seed(&pg, contacts).await?;
        let timed = time_report(&pg, runs).await?;
        pg.close().await;
        anyhow::Ok((seeded, timed))
    }
    .await;
    Store::drop_postgres_schema(&pg_url, &schema).await?;
    let (seeded, (p_times, p_total)) = result?;
    let p_median = p_times[p_times.len() / 2];
    println!(
        "postgresql: seeded in {:.1} s; report median {:.0} ms (best {:.0}, worst {:.0}); {p_total}",
        seeded.as_secs_f64(),
        ms(p_median),
        ms(p_times[0]),
        ms(p_times[p_times.len() - 1])
    );
    println!(
        "ratio postgresql/sqlite (medians): {:.2}; goal under 1000 ms each: {}",
        ms(p_median) / ms(s_median),
        if s_median.as_millis() < 1000 && p_median.as_millis() < 1000 {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}
