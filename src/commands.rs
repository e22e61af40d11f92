//! One small function per subcommand: load the configuration, call `reachline-app` (or, to
//! serve, `reachline-web`), print the outcome. Nothing here decides anything.

use crate::cli::{
    DemoCommand, KeysCommand, ListsCommand, PartnersCommand, PdqCommand, Store, TelephonyCommand,
    UrlCommand,
};
use anyhow::Context;
use reachline_app::{backup, doctor, keys, ops, reporting};
use reachline_core::clock::{SharedClock, SystemClock};
use reachline_core::config::{Config, Overrides};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn clock() -> SharedClock {
    Arc::new(SystemClock)
}

fn env_pairs() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("REACHLINE_"))
        .collect()
}

/// The configuration from the file, `REACHLINE_*` variables and the command's flags.
fn load(file: Option<&Path>, overrides: Overrides) -> anyhow::Result<Config> {
    Ok(Config::load(file, &env_pairs(), &overrides)?)
}

/// The configuration for a command that works on the service's data (`--data-dir`,
/// `--database-url`).
fn load_store(file: Option<&Path>, store: Store) -> anyhow::Result<Config> {
    load(
        file,
        Overrides {
            data_dir: store.data_dir,
            database_url: store.database_url,
            ..Overrides::default()
        },
    )
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    Ok(runtime()?.block_on(f))
}

pub fn serve(
    file: Option<&Path>,
    data_dir: Option<String>,
    listen: Option<String>,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    let config = load(
        file,
        Overrides {
            data_dir,
            listen,
            database_url,
        },
    )?;
    crate::process::init_logging(&config.log.filter);
    crate::process::quiet_panics();
    block_on(async {
        let listen = config.server.listen.clone();
        let state = reachline_web::AppState::open(config, clock())
            .await
            .context("could not start")?;
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("could not listen on {listen}"))?;
        let addr = listener.local_addr()?;
        println!("Reachline is listening on http://{addr}");
        tracing::info!(%addr, backend = ?state.store.backend(), "listening");
        reachline_web::serve(state, listener, crate::process::shutdown_signal()).await?;
        anyhow::Ok(())
    })?
}

pub fn lists(file: Option<&Path>, command: ListsCommand) -> anyhow::Result<()> {
    match command {
        ListsCommand::Import {
            store,
            kind,
            name,
            category,
            never_warn,
            shadow,
            pdq_distance,
            file: list,
        } => {
            let text = std::fs::read_to_string(&list)
                .with_context(|| format!("could not read {}", list.display()))?;
            let config = load_store(file, store)?;
            let (version, entries) = block_on(ops::lists_import_as(
                &config,
                clock(),
                &kind,
                &name,
                &category,
                &text,
                ops::ImportAs {
                    never_warn,
                    shadow,
                    pdq_distance,
                },
            ))??;
            println!(
                "imported {}{kind} list {name} version {version}: {entries} entries{}",
                if never_warn { "never-warn " } else { "" },
                if shadow {
                    " (in shadow: counted, never warning, until `reachline lists promote`)"
                } else {
                    ""
                }
            );
        }
        ListsCommand::Promote { store, kind, name } => {
            let config = load_store(file, store)?;
            let version = block_on(ops::lists_promote(&config, clock(), &kind, &name))??;
            println!("{kind} list {name} version {version} is live");
        }
        ListsCommand::Rollback { store, kind, name } => {
            let config = load_store(file, store)?;
            let (from, to) = block_on(ops::lists_rollback(&config, clock(), &kind, &name))??;
            println!("{kind} list {name}: version {to} is live again (was version {from})");
        }
        ListsCommand::Stats {
            store,
            days,
            per_day,
            by_category,
        } => {
            let config = load_store(file, store)?;
            for line in block_on(ops::lists_stats(
                &config,
                clock(),
                days,
                per_day,
                by_category,
            ))?? {
                println!("{line}");
            }
        }
        ListsCommand::List { store } => {
            let config = load_store(file, store)?;
            for line in block_on(ops::lists_list(&config, clock()))?? {
                println!("{line}");
            }
        }
        ListsCommand::Disable {
            store,
            kind,
            name,
            entry,
        } => {
            let config = load_store(file, store)?;
            let added = block_on(ops::lists_disable(&config, clock(), &kind, &name, &entry))??;
            println!(
                "{}",
                if added {
                    "disabled"
                } else {
                    "already disabled"
                }
            );
        }
    }
    Ok(())
}

pub fn telephony(file: Option<&Path>, command: TelephonyCommand) -> anyhow::Result<()> {
    match command {
        TelephonyCommand::TwilioToken { store } => {
            let mut token = zeroize::Zeroizing::new(String::new());
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut token)
                .context("could not read the auth token from standard input")?;
            let config = load_store(file, store)?;
            block_on(ops::telephony_set_twilio_token(&config, clock(), &token))??;
            println!("the Twilio auth token is kept (sealed); webhooks signed with it are taken");
        }
        TelephonyCommand::ImportQueueLog {
            store,
            queue,
            follow,
            file: log,
        } => {
            let config = load_store(file, store)?;
            let lines = block_on(ops::telephony_import_queue_log(
                &config,
                clock(),
                &log,
                &queue,
                follow,
                |s| {
                    println!(
                        "{} lines: {} call events applied, {} lines not understood",
                        s.lines, s.events, s.skipped
                    )
                },
            ))??;
            println!("done: {lines} lines read");
        }
        TelephonyCommand::ImportCsv { store, file: csv } => {
            let text = std::fs::read_to_string(&csv)
                .with_context(|| format!("could not read {}", csv.display()))?;
            let config = load_store(file, store)?;
            let s = block_on(ops::telephony_import_csv(&config, &text))??;
            println!("{} calls applied", s.events);
        }
    }
    Ok(())
}

pub fn partners(file: Option<&Path>, command: PartnersCommand) -> anyhow::Result<()> {
    match command {
        PartnersCommand::Add {
            store,
            name,
            frame_ancestors,
        } => {
            let config = load_store(file, store)?;
            let key = block_on(ops::partners_add(&config, clock(), &name, &frame_ancestors))??;
            println!("Partner {name} added. Its API key (shown once; keep it secret):");
            println!("{key}");
        }
        PartnersCommand::List { store } => {
            let config = load_store(file, store)?;
            for line in block_on(ops::partners_list(&config, clock()))?? {
                println!("{line}");
            }
        }
        PartnersCommand::Revoke { store, name } => {
            let config = load_store(file, store)?;
            block_on(ops::partners_revoke(&config, clock(), &name))??;
            println!("revoked {name}");
        }
    }
    Ok(())
}

pub fn deterrence_check(
    file: Option<&Path>,
    store: Store,
    input: (Option<String>, Option<String>, Option<String>),
    explain: bool,
) -> anyhow::Result<()> {
    let input = match input {
        (Some(q), _, _) => ops::CheckInput::Query(q),
        (_, Some(u), _) => ops::CheckInput::Url(u),
        (_, _, Some(p)) => ops::CheckInput::Pdq(p),
        _ => anyhow::bail!("give one of --query, --url or --pdq"),
    };
    let config = load_store(file, store)?;
    let out = block_on(ops::deterrence_check(&config, clock(), input, explain))??;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// `reachline report`: the period as the flags give it, then the report in one format.
pub struct ReportArgs {
    pub area: Option<String>,
    pub year: Option<i32>,
    pub period: String,
    pub month: Option<u32>,
    pub quarter: Option<u32>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub format: String,
    pub epsilon: Option<f64>,
}

pub fn report(file: Option<&Path>, store: Store, a: ReportArgs) -> anyhow::Result<()> {
    if !["csv", "json", "html"].contains(&a.format.as_str()) {
        anyhow::bail!("--format is csv, json or html");
    }
    let period = reporting::Period::from_parts(
        &a.period,
        a.year,
        a.month,
        a.quarter,
        a.from.as_deref(),
        a.to.as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    let config = load_store(file, store)?;
    let out = block_on(ops::report(
        &config,
        a.area.as_deref(),
        period,
        &a.format,
        a.epsilon,
    ))??;
    print!("{out}");
    Ok(())
}

pub fn demo(file: Option<&Path>, command: DemoCommand) -> anyhow::Result<()> {
    match command {
        DemoCommand::Seed {
            store,
            year,
            area,
            people,
        } => {
            let config = load_store(file, store)?;
            let n = block_on(ops::demo_seed(&config, clock(), year, &area, people))??;
            println!("seeded {n} synthetic contact records ({people} people) in {area} for {year}");
        }
        DemoCommand::Purge { store } => {
            let config = load_store(file, store)?;
            let n = block_on(ops::demo_purge(&config))??;
            println!("removed {n} synthetic contact records");
        }
    }
    Ok(())
}

pub fn backup(
    file: Option<&Path>,
    store: Store,
    out: PathBuf,
    recipients: Vec<String>,
) -> anyhow::Result<()> {
    let recipients = backup::parse_recipients(&recipients)?;
    let config = load_store(file, store)?;
    let summary = block_on(backup::backup(&config, clock(), &out, &recipients))??;
    println!(
        "backup written to {} ({} database, {} bytes before encryption; the master key is not in it)",
        out.display(),
        summary.backend,
        summary.bytes
    );
    if let Some(why) = summary.not_noted {
        eprintln!("warning: the backup is complete, but its time could not be noted in the database for `reachline doctor`: {why}");
    }
    Ok(())
}

pub fn restore(
    file: Option<&Path>,
    store: Store,
    from: PathBuf,
    master_key: Option<PathBuf>,
    identity: PathBuf,
) -> anyhow::Result<()> {
    let Some(master_key) = master_key else {
        anyhow::bail!(
            "restore needs --master-key KEYFILE (the key written by `reachline keys export`): \
             a backup never contains the master key, and without it nothing can be read. Nothing was restored."
        );
    };
    let config = load_store(file, store)?;
    let summary = block_on(backup::restore(
        &config,
        clock(),
        &from,
        &master_key,
        &identity,
    ))??;
    println!(
        "restored into {} ({} database): migrations current, {} data keys unwrap, audit log intact ({} entries)",
        config.data_dir().display(),
        summary.backend,
        summary.data_keys,
        summary.audit_entries
    );
    Ok(())
}

pub fn keys(file: Option<&Path>, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Export { store, out } => {
            let config = load_store(file, store)?;
            backup::keys_export(&config, &out)?;
            println!(
                "master key written to {} (mode 0600): keep it offline, apart from the backups",
                out.display()
            );
        }
        KeysCommand::Rotate { store } => {
            let config = load_store(file, store)?;
            let summary = block_on(keys::rotate(&config, clock()))??;
            let path = config.master_key_path();
            if summary.undid_interrupted {
                println!("an interrupted rotation had not reached the database: its unused key was removed");
            }
            if summary.finished_interrupted {
                println!(
                    "finished an interrupted rotation: {} data keys open with the key in {}; the previous key is retired",
                    summary.data_keys,
                    path.display()
                );
            }
            if summary.rotated {
                println!(
                    "new master key in {}: {} data keys re-wrapped and checked; the previous key is retired",
                    path.display(),
                    summary.data_keys
                );
            }
            println!(
                "Next: `reachline keys export` the new key to keep offline, and keep the previous export \
                 as long as you keep backups made before now (they need it). Other instances that \
                 keep their own copy of the key file need the new one before they next start."
            );
        }
        KeysCommand::BackupIdentity { out } => {
            let public = backup::new_identity(&out)?;
            println!(
                "backup identity written to {} (mode 0600): keep it offline; it opens backups",
                out.display()
            );
            println!("public key (give it to `reachline backup --recipient`):");
            println!("{public}");
        }
    }
    Ok(())
}

/// Exits 1 when a check fails.
pub fn doctor(file: Option<&Path>, store: Store) -> anyhow::Result<()> {
    let config = load_store(file, store)?;
    let checks = block_on(doctor::run(&config, clock()))?;
    for c in &checks {
        println!("{c}");
    }
    if !doctor::passed(&checks) {
        std::process::exit(1);
    }
    Ok(())
}

pub fn url(command: UrlCommand) -> anyhow::Result<()> {
    match command {
        UrlCommand::Canonicalize { url } => {
            println!("{}", reachline_matcher::url::canonicalize(&url)?)
        }
        UrlCommand::Expressions { url } => {
            for e in reachline_matcher::url::lookup_expressions(&url)? {
                println!("{e}");
            }
        }
    }
    Ok(())
}

/// Prints `HASH QUALITY PATH` per image; exits 1 if any could not be hashed.
pub fn pdq(command: PdqCommand) -> anyhow::Result<()> {
    let PdqCommand::Hash { images } = command;
    let mut failed = false;
    for path in images {
        let result = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                reachline_matcher::pdq::hash_image_bytes(&b, 50_000_000).map_err(|e| e.to_string())
            });
        match result {
            Ok(d) => println!("{} {} {}", d.hash.to_hex(), d.quality, path.display()),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

pub fn admin_create(
    file: Option<&Path>,
    store: Store,
    username: String,
    role: String,
    areas: String,
) -> anyhow::Result<()> {
    let config = load_store(file, store)?;
    let link = block_on(ops::admin_create_with_areas(
        &config,
        clock(),
        &username,
        &role,
        &areas,
    ))??;
    if config.server.public_url.is_empty() {
        eprintln!(
            "note: server.public_url is not set, so the link below uses the address the service last served on (or the configured listen address). If staff reach the service at another address, set server.public_url and use that address instead."
        );
    }
    println!("Created {username}. One-time enrolment link (keep it private):");
    println!("{link}");
    Ok(())
}

/// Exits 1 and names the first broken entry when the chain does not verify.
pub fn audit_verify(
    file: Option<&Path>,
    store: Store,
    expect_head: Option<String>,
) -> anyhow::Result<()> {
    let config = load_store(file, store)?;
    let expect = match expect_head {
        Some(text) => Some(ops::parse_head(&text).ok_or_else(|| {
            anyhow::anyhow!("--expect-head takes SEQ:HASH as `audit head` prints it")
        })?),
        None => None,
    };
    match block_on(ops::audit_verify(&config, clock(), expect))? {
        Ok(n) => {
            println!("audit log intact: {n} entries verified");
            Ok(())
        }
        Err(ops::OpsError::Broken(e)) => {
            eprintln!("audit log BROKEN: {e}");
            std::process::exit(1);
        }
        Err(e) => Err(e.into()),
    }
}

/// Prints the chain's head for the operator to keep apart from the database.
pub fn audit_head(file: Option<&Path>, store: Store) -> anyhow::Result<()> {
    let config = load_store(file, store)?;
    match block_on(ops::audit_head(&config))?? {
        Some(head) => println!("{head}"),
        None => println!("the audit log is empty"),
    }
    Ok(())
}

pub fn config_example() -> anyhow::Result<()> {
    print!("{}", Config::example());
    Ok(())
}

/// The effective configuration as JSON (a PostgreSQL address, which may hold a password,
/// is shown as `(set)`).
pub fn config_show(file: Option<&Path>, data_dir: Option<String>) -> anyhow::Result<()> {
    let mut config = load(
        file,
        Overrides {
            data_dir,
            ..Overrides::default()
        },
    )?;
    if !config.storage.database_url.is_empty() {
        config.storage.database_url = "(set)".into();
    }
    println!("{}", serde_json::to_string_pretty(&config)?);
    Ok(())
}
