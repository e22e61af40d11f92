//! The command line's arguments (clap): every subcommand and flag, with its help text.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "reachline",
    version,
    about = "A confidential prevention helpline and self-help platform"
)]
pub struct Cli {
    /// Configuration file (TOML). Also REACHLINE_CONFIG.
    #[arg(long, global = true, env = "REACHLINE_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// The phone line: the provider's auth token, Asterisk queue_log and CSV imports,
    /// call figures.
    Telephony {
        #[command(subcommand)]
        command: TelephonyCommand,
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
pub enum KeysCommand {
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
pub enum DemoCommand {
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
pub enum ListsCommand {
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
        /// A never-warn list (known innocent terms, URL expressions or images): a match on
        /// an input overrides every warning for that input.
        #[arg(long)]
        never_warn: bool,
        /// Load the version in shadow: matched and counted, never warning, until
        /// `lists promote`.
        #[arg(long)]
        shadow: bool,
        /// For hash lists: the PDQ distance (bits) within which an image matches.
        #[arg(long)]
        pdq_distance: Option<u32>,
        file: PathBuf,
    },
    /// Make a list's shadow version the live one (the previous one is kept for a rollback).
    Promote {
        #[command(flatten)]
        store: Store,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        name: String,
    },
    /// Go back at once to the version that was live before the current one.
    Rollback {
        #[command(flatten)]
        store: Store,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        name: String,
    },
    /// Matches per entry and outcome (warned, suppressed, shadow, reported wrong by
    /// partners…): counts only, never an input.
    Stats {
        #[command(flatten)]
        store: Store,
        /// How many days back, today included.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// One line per day.
        #[arg(long)]
        per_day: bool,
        /// Summed per category instead of per entry.
        #[arg(long)]
        by_category: bool,
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
pub enum TelephonyCommand {
    /// Keep the Twilio auth token, read from standard input (sealed; never printed or
    /// logged). Webhooks are refused until it is set.
    TwilioToken {
        #[command(flatten)]
        store: Store,
    },
    /// Apply an Asterisk queue_log (ENTERQUEUE, CONNECT, COMPLETEAGENT/COMPLETECALLER,
    /// ABANDON, EXITWITHTIMEOUT…): once, or following what the PBX appends.
    ImportQueueLog {
        #[command(flatten)]
        store: Store,
        /// Only this queue's calls.
        #[arg(long, default_value = "")]
        queue: String,
        /// Keep reading what is appended (a rotated file is read from its start) until
        /// interrupted.
        #[arg(long)]
        follow: bool,
        file: PathBuf,
    },
    /// Apply call records from any other system, as CSV with the header
    /// call_id,offered_at,outcome,wait_seconds,talk_seconds,agent.
    ImportCsv {
        #[command(flatten)]
        store: Store,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum PartnersCommand {
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
pub enum DeterrenceCommand {
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
pub enum UrlCommand {
    /// Print the canonical URL.
    Canonicalize { url: String },
    /// Print the lookup expressions, one per line.
    Expressions { url: String },
}

#[derive(Subcommand)]
pub enum PdqCommand {
    /// Print HEX QUALITY FILE for each image.
    Hash {
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
pub struct Store {
    /// Data directory (holds the master key, and the SQLite database unless --database-url).
    #[arg(long)]
    pub data_dir: Option<String>,
    /// PostgreSQL address instead of the embedded SQLite database.
    #[arg(long)]
    pub database_url: Option<String>,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an account and print its one-time enrolment link.
    Create {
        #[command(flatten)]
        store: Store,
        #[arg(long)]
        username: String,
        /// practitioner, supervisor, admin or analyst.
        #[arg(long, default_value = "admin")]
        role: String,
        /// An analyst's areas: police force area codes, comma-separated (e.g. E23000015).
        #[arg(long, default_value = "")]
        areas: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the whole hash chain and its recorded head; name the first broken entry and
    /// exit non-zero if any.
    Verify {
        #[command(flatten)]
        store: Store,
        /// A head printed earlier by `audit head` (SEQ:HASH): also check that the chain
        /// still holds it (the newest entries cannot have been cut off since).
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<String>,
    },
    /// Print the chain's head (SEQ:HASH) to keep somewhere else and compare later with
    /// `audit verify --expect-head`.
    Head {
        #[command(flatten)]
        store: Store,
    },
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print a complete, commented example configuration.
    Example,
    /// Print the effective configuration after files, environment and flags.
    Show {
        #[arg(long)]
        data_dir: Option<String>,
    },
}
