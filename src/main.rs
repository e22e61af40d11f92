//! `reachline`: the command line. It owns the runtime, the arguments (`cli`), logging and
//! signals; each subcommand is one small function in `commands` that calls the application.

mod cli;
mod commands;
mod process;

use clap::Parser;
use cli::{AdminCommand, AuditCommand, Cli, Command, ConfigCommand, DeterrenceCommand};

/// mimalloc gives freed memory back to the system: Argon2's 19 MiB blocks (sign-ins, return
/// codes) and a flood's buffers would otherwise stay with the process under glibc's malloc,
/// which raises its mmap threshold after the first large free and keeps such blocks in
/// per-thread arenas (bench/flood.sh measures memory before, during and after a flood).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The variable that tells glibc's malloc how many arenas it may make.
const MALLOC_ARENA_MAX: &str = "MALLOC_ARENA_MAX";

/// Only SQLite's C code still allocates through glibc's malloc (Rust's allocations go to
/// mimalloc), on each of the pool's threads; glibc gives each such thread an arena of its own,
/// and the arenas keep what SQLite frees, by amounts that vary from run to run (the memory per
/// idle chat connection and its spread, with and without: `bench/README.md`, chat.sh). glibc
/// takes the limit only from its environment at start (setting it from within needs
/// `mallopt`, and this workspace forbids `unsafe`), so `serve` starts itself again, once, with
/// `MALLOC_ARENA_MAX=1`: `exec` keeps the process, its id, open files and arguments, and
/// replaces only the program image. An operator who set the variable keeps their value; if
/// the `exec` fails, the server runs on as it is.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(MALLOC_ARENA_MAX).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut again = std::process::Command::new(exe);
    if let Some(name) = args.next() {
        again.arg0(name);
    }
    // `exec` returns only if it failed.
    let failed = again.args(args).env(MALLOC_ARENA_MAX, "1").exec();
    eprintln!("reachline: running with glibc's default malloc arenas ({failed})");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let file = cli.config.as_deref();
    match cli.command {
        Command::Serve {
            data_dir,
            listen,
            database_url,
        } => {
            one_malloc_arena();
            commands::serve(file, data_dir, listen, database_url)
        }
        Command::Lists { command } => commands::lists(file, command),
        Command::Partners { command } => commands::partners(file, command),
        Command::Telephony { command } => commands::telephony(file, command),
        Command::Deterrence {
            command:
                DeterrenceCommand::Check {
                    store,
                    query,
                    url,
                    pdq,
                    explain,
                },
        } => commands::deterrence_check(file, store, (query, url, pdq), explain),
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
            let args = commands::ReportArgs {
                area,
                year,
                period,
                month,
                quarter,
                from,
                to,
                format,
                epsilon,
            };
            commands::report(file, store, args)
        }
        Command::Demo { command } => commands::demo(file, command),
        Command::Backup {
            store,
            out,
            recipients,
        } => commands::backup(file, store, out, recipients),
        Command::Restore {
            store,
            from,
            master_key,
            identity,
        } => commands::restore(file, store, from, master_key, identity),
        Command::Keys { command } => commands::keys(file, command),
        Command::Doctor { store } => commands::doctor(file, store),
        Command::Url { command } => commands::url(command),
        Command::Pdq { command } => commands::pdq(command),
        Command::Admin {
            command:
                AdminCommand::Create {
                    store,
                    username,
                    role,
                    areas,
                },
        } => commands::admin_create(file, store, username, role, areas),
        Command::Audit {
            command: AuditCommand::Verify { store, expect_head },
        } => commands::audit_verify(file, store, expect_head),
        Command::Audit {
            command: AuditCommand::Head { store },
        } => commands::audit_head(file, store),
        Command::Config {
            command: ConfigCommand::Example,
        } => commands::config_example(),
        Command::Config {
            command: ConfigCommand::Show { data_dir },
        } => commands::config_show(file, data_dir),
    }
}
