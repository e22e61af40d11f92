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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let file = cli.config.as_deref();
    match cli.command {
        Command::Serve {
            data_dir,
            listen,
            database_url,
        } => commands::serve(file, data_dir, listen, database_url),
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
