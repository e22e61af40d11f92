//! The store: every SQL statement in Reachline lives in this crate.
//!
//! One [`Store`] type fronts either an embedded SQLite database (the default) or PostgreSQL.
//! Statements are written once in the SQL both understand (`$1` placeholders, `ON CONFLICT`)
//! and run on whichever pool is configured; where the dialects differ, the migrations do
//! (`migrations/sqlite`, `migrations/postgres`). Timestamps are Unix seconds passed in by the
//! caller, who owns the clock. No column holds an IP address, user agent or plaintext content.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

mod audit;
mod callbacks;
mod calls;
mod chat;
mod conversations;
mod deterrence;
mod ops;
mod overview;
mod reach;
mod safeguarding;
mod settings;
mod staff;
mod tx;
mod workbooks;

pub use audit::AuditFilter;
pub use callbacks::{CallbackRow, NewCallback};
pub use calls::{CallEvent, CallRow};
pub use chat::{Appended, ChatListener, MissedGroup, StaffAvailability, Take};
pub use conversations::{ContactGroup, ConversationRow, MessageRow, NewConversation, WrapUp};
pub use deterrence::{
    DeterrenceCount, EntryCount, FunnelCount, ListMode, ListRow, ListsGeneration, PartnerRow,
};
pub use ops::{KeyringRow, PgClientTarget, PoolStats, Rewrap};
pub use overview::{HeldChat, ShiftCounts, WorkCounts};
pub use reach::{DailyCount, FirstVisitCount, MonthlyCount};
pub use safeguarding::{ConcernEventRow, ConcernRow, ContactRow, NewConcernEvent};
pub use settings::{CannedRow, StatementRow};
pub use staff::{SessionRow, StaffRow};
pub use tx::{NewAudit, Tx};
pub use workbooks::WorkbookRow;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database address: {0}")]
    Url(String),
    #[error("that already exists")]
    Conflict,
    /// A write was cut off before it was confirmed: it may or may not have been stored.
    /// Whoever asked should try again the same way (chat messages carry a client id, so a
    /// second try is stored once).
    #[error("the write was interrupted before it was confirmed")]
    Interrupted,
    /// The database file's permissions could not be set.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

impl StoreError {
    /// PostgreSQL chose this transaction to break a deadlock: trying the whole transaction
    /// again is safe.
    pub fn is_deadlock(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(d)) if d.code().as_deref() == Some("40P01"))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which database a [`Store`] is using.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    /// The schema this store writes: the latest, except for a store opened at an older
    /// release's schema (upgrade tests), which writes what that release wrote.
    schema: i64,
    /// Chat messages waiting to be committed together (see [`Store::chat_append`]).
    appends: std::sync::Arc<chat::Appends>,
}

/// How a write transaction begins. On SQLite it takes the write lock at once (`IMMEDIATE`),
/// so a transaction that reads before writing waits for another writer (busy timeout)
/// instead of failing with "database is locked" when it tries to upgrade.
pub(crate) trait WriteTx {
    const BEGIN: &'static str;
}
impl WriteTx for sqlx::Sqlite {
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
}
impl WriteTx for sqlx::Postgres {
    const BEGIN: &'static str = "BEGIN";
}
pub(crate) fn begin_sql<DB: sqlx::Database + WriteTx>(_: &sqlx::Pool<DB>) -> &'static str {
    DB::BEGIN
}

/// Runs the same statement code on whichever pool the store has. The body is compiled once
/// per backend, so a statement that only one dialect accepts fails the shared test suite.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// The migration that added the audit chain's recorded head.
const AUDIT_HEAD_MIGRATION: i64 = 11;
/// The migration that added return-code hints.
pub(crate) const CODE_HINT_MIGRATION: i64 = 12;

/// The migration that added list roles, shadow versions and per-entry counts.
pub(crate) const LIST_MODES_MIGRATION: i64 = 14;
/// The migration that added calls.
pub(crate) const CALLS_MIGRATION: i64 = 15;
/// The migration that added the contacts' rollup for reports.
pub(crate) const CONTACT_ROLLUP_MIGRATION: i64 = 16;

impl Store {
    /// Whether lists have roles and shadow versions (every store but one opened at an older
    /// release's schema, which has only live warning lists).
    pub fn has_list_modes(&self) -> bool {
        self.schema >= LIST_MODES_MIGRATION
    }

    /// Whether this store has the phone line's tables (not one at an older release's schema).
    pub fn has_calls(&self) -> bool {
        self.schema >= CALLS_MIGRATION
    }

    /// Whether reports read the contacts' rollup (not a store at an older release's schema,
    /// which has none).
    pub fn has_contact_rollup(&self) -> bool {
        self.schema >= CONTACT_ROLLUP_MIGRATION
    }

    /// Whether this store records the audit chain's head (every store but one opened at an
    /// older release's schema).
    pub fn records_audit_head(&self) -> bool {
        self.schema >= AUDIT_HEAD_MIGRATION
    }

    /// Whether this store keeps return-code hints (see [`Store::code_may_open`]).
    pub fn keeps_code_hints(&self) -> bool {
        self.schema >= CODE_HINT_MIGRATION
    }

    fn with_pool(pool: Pool) -> Store {
        // Chat batches written at once: SQLite has one writer; PostgreSQL's pool has ten
        // connections, shared with everything else.
        let turns = match &pool {
            Pool::Sqlite(_) => 1,
            Pool::Postgres(_) => 4,
        };
        Store {
            pool,
            schema: i64::MAX,
            appends: std::sync::Arc::new(chat::Appends::new(turns)),
        }
    }

    /// Opens (creating if needed) the embedded SQLite database at `path`, in WAL mode with
    /// `secure_delete` on, and applies migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        let store = Self::connect_sqlite(path, true).await?;
        if let Pool::Sqlite(pool) = &store.pool {
            SQLITE_MIGRATIONS.run(pool).await?;
        }
        Ok(store)
    }

    /// Opens an existing SQLite database without creating it or applying migrations (for
    /// backups taken beside a running server, which owns the schema).
    pub async fn open_sqlite_existing(path: &Path) -> Result<Store> {
        Self::connect_sqlite(path, false).await
    }

    async fn connect_sqlite(path: &Path, create: bool) -> Result<Store> {
        if create {
            owner_only_file(path)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("secure_delete", "ON")
            .disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        // SQLite gives its -wal and -shm files the database file's mode; existing ones made
        // under a looser umask are tightened too.
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            tighten(Path::new(&name))?;
        }
        Ok(Store::with_pool(Pool::Sqlite(pool)))
    }

    /// Opens (creating if needed) an SQLite database and applies only the migrations up to
    /// and including version `last`: a database as an older release left it, for upgrade
    /// tests and fixtures. [`Store::open_sqlite`] later applies the rest.
    pub async fn open_sqlite_at_migration(path: &Path, last: i64) -> Result<Store> {
        let store = Self::connect_sqlite(path, true).await?;
        if let Pool::Sqlite(pool) = &store.pool {
            migrate_up_to(pool, &SQLITE_MIGRATIONS, last).await?;
        }
        Ok(Store {
            schema: last,
            ..store
        })
    }

    /// Like [`Store::open_postgres_in_schema`], but applies only the migrations up to and
    /// including version `last` (an older release's schema, for upgrade tests and fixtures).
    pub async fn open_postgres_in_schema_at_migration(
        url: &str,
        schema: &str,
        last: i64,
    ) -> Result<Store> {
        let base = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(e.to_string()))?
            .disable_statement_logging();
        let mut conn = sqlx::PgConnection::connect_with(&base).await?;
        sqlx::query(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\"",
            schema.replace('"', "")
        ))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(base.options([("search_path", schema)]))
            .await?;
        migrate_up_to(&pool, &POSTGRES_MIGRATIONS, last).await?;
        Ok(Store {
            schema: last,
            ..Store::with_pool(Pool::Postgres(pool))
        })
    }

    /// Connects to PostgreSQL without applying migrations (for `reachline doctor`, which
    /// reports pending migrations rather than applying them).
    pub async fn open_postgres_existing(url: &str) -> Result<Store> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(e.to_string()))?
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Store::with_pool(Pool::Postgres(pool)))
    }

    /// Connects to PostgreSQL and applies migrations.
    pub async fn open_postgres(url: &str) -> Result<Store> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(e.to_string()))?
            .disable_statement_logging();
        Self::open_postgres_with(options).await
    }

    /// Connects to PostgreSQL using (and creating) one schema, so several test runs can share
    /// a database without seeing each other.
    pub async fn open_postgres_in_schema(url: &str, schema: &str) -> Result<Store> {
        let base = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(e.to_string()))?
            .disable_statement_logging();
        let mut conn = sqlx::PgConnection::connect_with(&base).await?;
        sqlx::query(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\"",
            schema.replace('"', "")
        ))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        Self::open_postgres_with(base.options([("search_path", schema)])).await
    }

    /// Drops a schema made by [`Store::open_postgres_in_schema`].
    pub async fn drop_postgres_schema(url: &str, schema: &str) -> Result<()> {
        let base = PgConnectOptions::from_str(url).map_err(|e| StoreError::Url(e.to_string()))?;
        let mut conn = sqlx::PgConnection::connect_with(&base).await?;
        sqlx::query(&format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            schema.replace('"', "")
        ))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        Ok(())
    }

    async fn open_postgres_with(options: PgConnectOptions) -> Result<Store> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(Store::with_pool(Pool::Postgres(pool)))
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        on_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .is_ok())
    }

    /// SQLite's journal mode and `secure_delete` setting (for tests and `doctor`).
    pub async fn sqlite_pragmas(&self) -> Result<(String, i64)> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mode: String = sqlx::query("PRAGMA journal_mode")
                    .fetch_one(pool)
                    .await?
                    .try_get(0)?;
                let secure: i64 = sqlx::query("PRAGMA secure_delete")
                    .fetch_one(pool)
                    .await?
                    .try_get(0)?;
                Ok((mode, secure))
            }
            Pool::Postgres(_) => Ok((String::new(), 0)),
        }
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }

    // ---- keyring -------------------------------------------------------------------------

    /// The wrapped data keys for one purpose, newest version first.
    pub async fn keyring_versions(&self, purpose: &str) -> Result<Vec<(i64, Vec<u8>)>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT version, wrapped FROM keyring \
                 WHERE purpose = $1 AND retired_at IS NULL ORDER BY version DESC",
            )
            .bind(purpose)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<i64, _>("version")?,
                    r.try_get::<Vec<u8>, _>("wrapped")?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// Stores a wrapped data key. Returns false if that version already exists (another
    /// instance won the race), in which case the caller reads the stored one.
    pub async fn keyring_insert(
        &self,
        purpose: &str,
        version: i64,
        wrapped: &[u8],
        now: i64,
    ) -> Result<bool> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO keyring (purpose, version, wrapped, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (purpose, version) DO NOTHING",
            )
            .bind(purpose)
            .bind(version)
            .bind(wrapped)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }
}

/// Applies the embedded migrations up to and including version `last` that the database
/// has not applied yet, through sqlx's public `Migrate` interface (what `Migrator::run`
/// does, stopping early). A database made this way is the one an older release made.
async fn migrate_up_to<DB>(
    pool: &sqlx::Pool<DB>,
    all: &sqlx::migrate::Migrator,
    last: i64,
) -> Result<()>
where
    DB: sqlx::Database,
    DB::Connection: sqlx::migrate::Migrate,
{
    use sqlx::migrate::Migrate;
    let mut conn = pool.acquire().await?;
    conn.ensure_migrations_table().await?;
    let applied: Vec<i64> = conn
        .list_applied_migrations()
        .await?
        .iter()
        .map(|m| m.version)
        .collect();
    for m in all.iter().filter(|m| {
        m.version <= last && !m.migration_type.is_down_migration() && !applied.contains(&m.version)
    }) {
        conn.apply(m).await?;
    }
    Ok(())
}

/// The newest migration version this build embeds.
pub fn latest_migration() -> i64 {
    SQLITE_MIGRATIONS
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// `YYYY-MM` (UTC) of a Unix time: the month reports group contacts by.
pub fn month_of(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}

/// A fresh random name for an isolated PostgreSQL test schema.
pub fn random_schema_name(prefix: &str) -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("{prefix}_{}", hex::encode(n.to_be_bytes()))
}

/// Creates `path` readable and writable by its owner only if it does not exist, and makes
/// an existing file so, whatever the umask or an earlier release left.
fn owner_only_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(|e| StoreError::Io(path.display().to_string(), e))?;
        }
    }
    tighten(path)
}

/// Makes an existing file owner-only (0600); a missing one is left alone.
fn tighten(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| StoreError::Io(path.display().to_string(), e))?;
            }
        }
    }
    let _ = path;
    Ok(())
}
