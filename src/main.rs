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
    match cli.command {
        Command::Admin {
            command:
                AdminCommand::Create {
                    store,
                    username,
                    role,
                },
        } => {
            let config = load(cli.config.as_deref(), store)?;
            let link = runtime()?.block_on(reachline_web::ops::admin_create(
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
            match runtime()?.block_on(reachline_web::ops::audit_verify(
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
