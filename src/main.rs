//! `reachline`: the command line. It owns the runtime, the CLI and signals; everything else
//! lives in the library crates.

use anyhow::Context;
use clap::{Parser, Subcommand};
use reachline_core::clock::SystemClock;
use reachline_core::config::{Config, Overrides};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "reachline",
    version,
    about = "A confidential prevention helpline and self-help platform"
)]
struct Cli {
    /// Configuration file (TOML). Also REACHLINE_CONFIG.
    #[arg(long, global = true, env = "REACHLINE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        /// Data directory (created if missing).
        #[arg(long)]
        data_dir: Option<String>,
        /// Address and port to listen on.
        #[arg(long)]
        listen: Option<String>,
        /// PostgreSQL address instead of the embedded SQLite database.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Staff accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Deterrence lists (the repository ships none; operators import their own).
    Lists {
        #[command(subcommand)]
        command: ListsCommand,
    },
    /// Partner platforms that call the deterrence API.
    Partners {
        #[command(subcommand)]
        command: PartnersCommand,
    },
    /// Check an input against the loaded lists, as the API would.
    Deterrence {
        #[command(subcommand)]
        command: DeterrenceCommand,
    },
    /// Safe Browsing URL canonicalisation.
    Url {
        #[command(subcommand)]
        command: UrlCommand,
    },
    /// PDQ image hashes.
    Pdq {
        #[command(subcommand)]
        command: PdqCommand,
    },
    /// Reach figures with disclosure control (people or contacts, by area and period).
    Report {
        #[command(flatten)]
        store: Store,
        /// Police force area code (e.g. E23000015); omit for national figures (exact).
        #[arg(long)]
        area: Option<String>,
        /// The year (for every period but custom; a financial year starts in April of it).
        #[arg(long)]
        year: Option<i32>,
        /// month (with --month), quarter (with --quarter), year (January to December),
        /// financial-year (April to March) or custom (with --from and --to).
        #[arg(long, default_value = "year")]
        period: String,
        /// With --period month: the month, 1 to 12.
        #[arg(long)]
        month: Option<u32>,
        /// With --period quarter: 1 (January to March) to 4 (October to December).
        #[arg(long)]
        quarter: Option<u32>,
        /// With --period custom: the first month, YYYY-MM.
        #[arg(long)]
        from: Option<String>,
        /// With --period custom: the last month, YYYY-MM (at most 120 months after --from).
        #[arg(long)]
        to: Option<String>,
        /// csv, json or html.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Add differential-privacy noise with this epsilon (the method note states it).
        #[arg(long)]
        epsilon: Option<f64>,
    },
    /// Synthetic demo data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Take a consistent, encrypted backup while the service runs (never holds the master key).
    Backup {
        #[command(flatten)]
        store: Store,
        /// Where to write the backup (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Who can open it: an age1… public key, or a file of public keys or age identities
        /// (e.g. from `reachline keys backup-identity`). Repeat for several.
        #[arg(long = "recipient")]
        recipients: Vec<String>,
    },
    /// Restore a backup into an empty data directory, checking it before it is put in place.
    Restore {
        #[command(flatten)]
        store: Store,
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// The master key file exported with `reachline keys export`.
        #[arg(long)]
        master_key: Option<PathBuf>,
        /// The age identity file that opens the backup.
        #[arg(long)]
        identity: PathBuf,
    },
    /// The master key and backup identities.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Check a deployment: key and directory permissions, database, TLS, clock, jobs.
    /// One line per check (ok, warn, fail); exits 1 if any check fails. Changes nothing.
    Doctor {
        #[command(flatten)]
        store: Store,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write a copy of the master key (0600) to keep offline, apart from the backups.
    Export {
        #[command(flatten)]
        store: Store,
        /// Where to write it (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Make a new master key and re-wrap every data key under it (in one transaction; a
    /// running server keeps serving). Run it again to finish or undo an interrupted rotation.
    Rotate {
        #[command(flatten)]
        store: Store,
    },
    /// Create an age identity for encrypting backups; prints its public key.
    BackupIdentity {
        /// Where to write the identity (0600, must not exist).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Write synthetic contact records (marked as such) for an area and year.
    Seed {
        #[command(flatten)]
        store: Store,
        #[arg(long)]
        year: i32,
        #[arg(long)]
        area: String,
        /// How many people (first contacts of the year); repeat contacts are added.
        #[arg(long, default_value_t = 100)]
        people: usize,
    },
    /// Remove exactly the synthetic records.
    Purge {
        #[command(flatten)]
        store: Store,
    },
}

#[derive(Subcommand)]
enum ListsCommand {
    /// Import a list file as a new version (swapped in atomically by running servers).
    Import {
        #[command(flatten)]
        store: Store,
        /// keywords (CSV term,category,match,language), urls (one per line, or sha256:HEX),
        /// hashes (CSV kind,hash,category with kind pdq|md5|sha256).
        #[arg(long)]
        kind: String,
        #[arg(long)]
        name: String,
        /// Category for URL lists (keyword and hash lists carry theirs per line).
        #[arg(long, default_value = "listed")]
        category: String,
        file: PathBuf,
    },
    /// Show every list version and its size.
    List {
        #[command(flatten)]
        store: Store,
    },
    /// Disable one entry at once (a false positive), by its id NAME:LINE or line number.
    Disable {
        #[command(flatten)]
        store: Store,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        entry: String,
    },
}

#[derive(Subcommand)]
enum PartnersCommand {
    /// Add a partner and print its API key (shown once).
    Add {
        #[command(flatten)]
        store: Store,
        name: String,
        /// Origins allowed to frame the warning widget, e.g. "https://search.example".
        #[arg(long, default_value = "")]
        frame_ancestors: String,
    },
    List {
        #[command(flatten)]
        store: Store,
    },
    /// Revoke a partner's key.
    Revoke {
        #[command(flatten)]
        store: Store,
        name: String,
    },
}

#[derive(Subcommand)]
enum DeterrenceCommand {
    /// Print the verdict as JSON.
    Check {
        #[command(flatten)]
        store: Store,
        #[arg(long, group = "input")]
        query: Option<String>,
        #[arg(long, group = "input")]
        url: Option<String>,
        #[arg(long, group = "input")]
        pdq: Option<String>,
        /// Show every normalisation step (queries).
        #[arg(long)]
        explain: bool,
    },
}

#[derive(Subcommand)]
enum UrlCommand {
    /// Print the canonical URL.
    Canonicalize { url: String },
    /// Print the lookup expressions, one per line.
    Expressions { url: String },
}

#[derive(Subcommand)]
enum PdqCommand {
    /// Print HEX QUALITY FILE for each image.
    Hash {
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
struct Store {
    /// Data directory (holds the master key, and the SQLite database unless --database-url).
    #[arg(long)]
    data_dir: Option<String>,
    /// PostgreSQL address instead of the embedded SQLite database.
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account and print its one-time enrolment link.
    Create {
        #[command(flatten)]
        store: Store,
        #[arg(long)]
        username: String,
        /// practitioner, supervisor, admin or analyst.
        #[arg(long, default_value = "admin")]
        role: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the whole hash chain; name the first broken entry and exit non-zero if any.
    Verify {
        #[command(flatten)]
        store: Store,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a complete, commented example configuration.
    Example,
    /// Print the effective configuration after files, environment and flags.
    Show {
        #[arg(long)]
        data_dir: Option<String>,
    },
}

fn env_pairs() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("REACHLINE_"))
        .collect()
}

fn init_logging(filter: &str) {
    // Request and error logs never carry addresses, user agents, codes or content; sqlx's
    // statement logging is off in the store.
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

fn quiet_panics() {
    // A panic message could echo input; log only where it happened.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(location = %at, "internal error (panic)");
    }));
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn load(config: Option<&std::path::Path>, store: Store) -> anyhow::Result<Config> {
    Ok(Config::load(
        config,
        &env_pairs(),
        &Overrides {
            data_dir: store.data_dir,
            database_url: store.database_url,
            ..Overrides::default()
        },
    )?)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let clock = || -> reachline_core::clock::SharedClock { Arc::new(SystemClock) };
    match cli.command {
        Command::Lists { command } => match command {
            ListsCommand::Import {
                store,
                kind,
                name,
                category,
                file,
            } => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("could not read {}", file.display()))?;
                let config = load(cli.config.as_deref(), store)?;
                let (version, entries) = runtime()?.block_on(reachline_app::ops::lists_import(
                    &config,
                    clock(),
                    &kind,
                    &name,
                    &category,
                    &text,
                ))?;
                println!("imported {kind} list {name} version {version}: {entries} entries");
                Ok(())
            }
            ListsCommand::List { store } => {
                let config = load(cli.config.as_deref(), store)?;
                for line in runtime()?.block_on(reachline_app::ops::lists_list(&config, clock()))? {
                    println!("{line}");
                }
                Ok(())
            }
            ListsCommand::Disable {
                store,
                kind,
                name,
                entry,
            } => {
                let config = load(cli.config.as_deref(), store)?;
                let added = runtime()?.block_on(reachline_app::ops::lists_disable(
                    &config,
                    clock(),
                    &kind,
                    &name,
                    &entry,
                ))?;
                println!(
                    "{}",
                    if added {
                        "disabled"
                    } else {
                        "already disabled"
                    }
                );
                Ok(())
            }
        },
        Command::Partners { command } => match command {
            PartnersCommand::Add {
                store,
                name,
                frame_ancestors,
            } => {
                let config = load(cli.config.as_deref(), store)?;
                let key = runtime()?.block_on(reachline_app::ops::partners_add(
                    &config,
                    clock(),
                    &name,
                    &frame_ancestors,
                ))?;
                println!("Partner {name} added. Its API key (shown once; keep it secret):");
                println!("{key}");
                Ok(())
            }
            PartnersCommand::List { store } => {
                let config = load(cli.config.as_deref(), store)?;
                for line in
                    runtime()?.block_on(reachline_app::ops::partners_list(&config, clock()))?
                {
                    println!("{line}");
                }
                Ok(())
            }
            PartnersCommand::Revoke { store, name } => {
                let config = load(cli.config.as_deref(), store)?;
                runtime()?.block_on(reachline_app::ops::partners_revoke(
                    &config,
                    clock(),
                    &name,
                ))?;
                println!("revoked {name}");
                Ok(())
            }
        },
        Command::Deterrence {
            command:
                DeterrenceCommand::Check {
                    store,
                    query,
                    url,
                    pdq,
                    explain,
                },
        } => {
            use reachline_app::ops::CheckInput;
            let input = match (query, url, pdq) {
                (Some(q), _, _) => CheckInput::Query(q),
                (_, Some(u), _) => CheckInput::Url(u),
                (_, _, Some(p)) => CheckInput::Pdq(p),
                _ => anyhow::bail!("give one of --query, --url or --pdq"),
            };
            let config = load(cli.config.as_deref(), store)?;
            let out = runtime()?.block_on(reachline_app::ops::deterrence_check(
                &config,
                clock(),
                input,
                explain,
            ))?;
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Report {
            store,
            area,
            year,
            period,
            month,
            quarter,
            from,
            to,
            format,
            epsilon,
        } => {
            if !["csv", "json", "html"].contains(&format.as_str()) {
                anyhow::bail!("--format is csv, json or html");
            }
            let period = reachline_app::reporting::Period::from_parts(
                &period,
                year,
                month,
                quarter,
                from.as_deref(),
                to.as_deref(),
            )
            .map_err(anyhow::Error::msg)?;
            let config = load(cli.config.as_deref(), store)?;
            let out = runtime()?.block_on(reachline_app::ops::report(
                &config,
                area.as_deref(),
                period,
                &format,
                epsilon,
            ))?;
            print!("{out}");
            Ok(())
        }
        Command::Demo { command } => {
            match command {
                DemoCommand::Seed {
                    store,
                    year,
                    area,
                    people,
                } => {
                    let config = load(cli.config.as_deref(), store)?;
                    let n = runtime()?.block_on(reachline_app::ops::demo_seed(
                        &config,
                        clock(),
                        year,
                        &area,
                        people,
                    ))?;
                    println!("seeded {n} synthetic contact records ({people} people) in {area} for {year}");
                    Ok(())
                }
                DemoCommand::Purge { store } => {
                    let config = load(cli.config.as_deref(), store)?;
                    let n = runtime()?.block_on(reachline_app::ops::demo_purge(&config))?;
                    println!("removed {n} synthetic contact records");
                    Ok(())
                }
            }
        }
        Command::Backup {
            store,
            out,
            recipients,
        } => {
            let recipients = reachline_app::backup::parse_recipients(&recipients)?;
            let config = load(cli.config.as_deref(), store)?;
            let summary = runtime()?.block_on(reachline_app::backup::backup(
                &config,
                clock(),
                &out,
                &recipients,
            ))?;
            println!(
                "backup written to {} ({} database, {} bytes before encryption; the master key is not in it)",
                out.display(),
                summary.backend,
                summary.bytes
            );
            Ok(())
        }
        Command::Restore {
            store,
            from,
            master_key,
            identity,
        } => {
            let Some(master_key) = master_key else {
                anyhow::bail!(
                    "restore needs --master-key KEYFILE (the key written by `reachline keys export`): \
                     a backup never contains the master key, and without it nothing can be read. Nothing was restored."
                );
            };
            let config = load(cli.config.as_deref(), store)?;
            let summary = runtime()?.block_on(reachline_app::backup::restore(
                &config,
                clock(),
                &from,
                &master_key,
                &identity,
            ))?;
            println!(
                "restored into {} ({} database): migrations current, {} data keys unwrap, audit log intact ({} entries)",
                config.data_dir().display(),
                summary.backend,
                summary.data_keys,
                summary.audit_entries
            );
            Ok(())
        }
        Command::Keys { command } => {
            match command {
                KeysCommand::Export { store, out } => {
                    let config = load(cli.config.as_deref(), store)?;
                    reachline_app::backup::keys_export(&config, &out)?;
                    println!(
                    "master key written to {} (mode 0600): keep it offline, apart from the backups",
                    out.display()
                );
                    Ok(())
                }
                KeysCommand::Rotate { store } => {
                    let config = load(cli.config.as_deref(), store)?;
                    let summary =
                        runtime()?.block_on(reachline_app::keys::rotate(&config, clock()))?;
                    if summary.undid_interrupted {
                        println!("an interrupted rotation had not reached the database: its unused key was removed");
                    }
                    if summary.finished_interrupted {
                        println!(
                            "finished an interrupted rotation: {} data keys open with the key in {}; the previous key is retired",
                            summary.data_keys,
                            config.master_key_path().display()
                        );
                    }
                    if summary.rotated {
                        println!(
                            "new master key in {}: {} data keys re-wrapped and checked; the previous key is retired",
                            config.master_key_path().display(),
                            summary.data_keys
                        );
                    }
                    println!(
                        "Next: `reachline keys export` the new key to keep offline, and keep the previous export \
                         as long as you keep backups made before now (they need it). Other instances that \
                         keep their own copy of the key file need the new one before they next start."
                    );
                    Ok(())
                }
                KeysCommand::BackupIdentity { out } => {
                    let public = reachline_app::backup::new_identity(&out)?;
                    println!("backup identity written to {} (mode 0600): keep it offline; it opens backups", out.display());
                    println!("public key (give it to `reachline backup --recipient`):");
                    println!("{public}");
                    Ok(())
                }
            }
        }
        Command::Doctor { store } => {
            let config = load(cli.config.as_deref(), store)?;
            let checks = runtime()?.block_on(reachline_app::doctor::run(&config, clock()));
            for c in &checks {
                println!("{c}");
            }
            if !reachline_app::doctor::passed(&checks) {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Url { command } => {
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
        Command::Pdq {
            command: PdqCommand::Hash { images },
        } => {
            let mut failed = false;
            for path in images {
                let result = std::fs::read(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|b| {
                        reachline_matcher::pdq::hash_image_bytes(&b, 50_000_000)
                            .map_err(|e| e.to_string())
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
        Command::Admin {
            command:
                AdminCommand::Create {
                    store,
                    username,
                    role,
                },
        } => {
            let config = load(cli.config.as_deref(), store)?;
            let link = runtime()?.block_on(reachline_app::ops::admin_create(
                &config,
                Arc::new(SystemClock),
                &username,
                &role,
            ))?;
            println!("Created {username}. One-time enrolment link (keep it private):");
            println!("{link}");
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { store },
        } => {
            let config = load(cli.config.as_deref(), store)?;
            match runtime()?.block_on(reachline_app::ops::audit_verify(
                &config,
                Arc::new(SystemClock),
            )) {
                Ok(n) => {
                    println!("audit log intact: {n} entries verified");
                    Ok(())
                }
                Err(e) => {
                    eprintln!("audit log BROKEN: {e}");
                    std::process::exit(1);
                }
            }
        }
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", Config::example());
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Show { data_dir },
        } => {
            let config = Config::load(
                cli.config.as_deref(),
                &env_pairs(),
                &Overrides {
                    data_dir,
                    ..Overrides::default()
                },
            )?;
            print!("{}", toml_string(&config));
            Ok(())
        }
        Command::Serve {
            data_dir,
            listen,
            database_url,
        } => {
            let config = Config::load(
                cli.config.as_deref(),
                &env_pairs(),
                &Overrides {
                    data_dir,
                    listen,
                    database_url,
                },
            )?;
            init_logging(&config.log.filter);
            quiet_panics();
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(serve(config))
        }
    }
}

fn toml_string(config: &Config) -> String {
    let mut c = config.clone();
    if !c.storage.database_url.is_empty() {
        c.storage.database_url = "(set)".into();
    }
    serde_json::to_string_pretty(&c).unwrap_or_default()
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.server.listen.clone();
    let state = reachline_web::AppState::open(config, Arc::new(SystemClock))
        .await
        .context("could not start")?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("could not listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!("Reachline is listening on http://{addr}");
    tracing::info!(%addr, backend = ?state.store.backend(), "listening");
    reachline_web::serve(state, listener, shutdown_signal()).await?;
    Ok(())
}
