//! Reachline's application layer: every use case as a function or a method on [`App`], for
//! the web server and the command line alike.
//!
//! This crate knows nothing of HTTP or templates (no axum, hyper, tower or askama in its
//! dependency tree): the web crate translates requests into calls here and errors into
//! pages; the binary parses arguments and calls the same functions. It depends on the core
//! (domain types, crypto, clock), the store (all SQL) and the matcher.

pub mod accounts;
pub mod backup;
pub mod callbacks;
pub mod charts;
pub mod chat;
pub mod deterrence;
pub mod doctor;
pub mod error;
pub mod intake;
pub mod keys;
pub mod limits;
pub mod messages;
pub mod ops;
pub mod overview;
pub mod reach;
pub mod reporting;
pub mod safeguarding;
pub mod sessions;
pub mod settings;
pub mod telephony;
pub mod time;
pub mod vocabulary;
pub mod workbook;

use reachline_core::clock::SharedClock;
use reachline_core::config::Config;
use reachline_core::keys::{Key, KeyError, MasterKey};
use reachline_store::{NewAudit, Store, StoreError, Tx};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub use error::Error;

/// The service's database as it is, for a command run beside it (`doctor`, `backup`): no
/// migration is applied and nothing is created.
pub(crate) async fn open_existing(config: &Config) -> Result<Store, String> {
    if config.storage.database_url.is_empty() {
        let db = config.data_dir().join("reachline.db");
        if !db.exists() {
            return Err(format!(
                "there is no database at {}: start the service once",
                db.display()
            ));
        }
        Store::open_sqlite_existing(&db)
            .await
            .map_err(|e| e.to_string())
    } else {
        Store::open_postgres_existing(&config.storage.database_url)
            .await
            .map_err(|e| format!("{e}: is PostgreSQL running and the address right?"))
    }
}

/// The application: configuration, clock, store, keys and the state every use case shares.
/// One per process, shared by every request and command.
pub struct App {
    pub config: Config,
    pub clock: SharedClock,
    pub store: Store,
    pub workbooks: workbook::Workbooks,
    pub reach: reach::Reach,
    pub live: Arc<settings::Live>,
    /// Seals staff-side content: TOTP secrets, contact notes, concern facts.
    pub content_key: Key,
    /// Keys the audit chain.
    pub audit_key: Key,
    /// Seals telephony secrets and keys the yearly caller hashes.
    pub telephony_key: Key,
    pub gateway: deterrence::Gateway,
    pub sign_in_guard: sessions::SignInGuard,
    /// Each side of each live chat's allowance of messages.
    pub chat_flood: limits::Rate<(i64, bool)>,
    /// When housekeeping last recorded its heartbeat (for `reachline doctor`).
    heartbeat_at: AtomicI64,
    /// Open chat sockets' shared readings of their sessions' standing.
    socket_access: sessions::SocketAccess,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the master key does not open this database's keys: is this the right key file for this data? ({0})")]
    WrongMasterKey(KeyError),
    #[error(transparent)]
    GeoIp(#[from] reach::GeoIpError),
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    #[error("deterrence lists: {0}")]
    Lists(#[from] deterrence::LoadError),
}

/// Opens the store the configuration names: PostgreSQL if `database_url` is set, else the
/// embedded SQLite database in the data directory.
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    if config.storage.database_url.is_empty() {
        Ok(Store::open_sqlite(&config.data_dir().join("reachline.db")).await?)
    } else {
        Ok(Store::open_postgres(&config.storage.database_url).await?)
    }
}

/// Creates the data directory if needed and makes it owner-only (0700).
pub fn prepare_data_dir(config: &Config) -> Result<(), StartError> {
    let dir = config.data_dir();
    let fail = |e| StartError::DataDir(dir.display().to_string(), e);
    if !dir.exists() {
        std::fs::create_dir_all(&dir).map_err(fail)?;
    }
    // Owner-only whatever existed before (a directory made by hand or by a package is
    // often 0755).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).map_err(fail)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
        }
    }
    Ok(())
}

/// The current data key for `purpose`, created (and wrapped by the master key) on first use.
pub async fn data_key(
    store: &Store,
    master: &MasterKey,
    purpose: &str,
    now: i64,
) -> Result<Key, StartError> {
    for _ in 0..2 {
        if let Some((version, wrapped)) = store.keyring_versions(purpose).await?.first() {
            return master
                .unwrap_key(purpose, *version, wrapped)
                .map_err(StartError::WrongMasterKey);
        }
        let key = Key::random();
        if store
            .keyring_insert(purpose, 1, &master.wrap(purpose, 1, &key), now)
            .await?
        {
            return Ok(key);
        }
    }
    Err(StartError::WrongMasterKey(KeyError::SealedFormat))
}

impl App {
    /// Opens everything the application needs, creating the data directory, master key and
    /// database on first run.
    pub async fn open(config: Config, clock: SharedClock) -> Result<App, StartError> {
        prepare_data_dir(&config)?;
        let (master, created) = MasterKey::load_or_create(&config.master_key_path())?;
        if created {
            tracing::warn!(
                path = %config.master_key_path().display(),
                "created a new master key: keep a copy offline, without it the data cannot be read"
            );
        }
        let store = open_store(&config).await?;
        Self::with_store(config, clock, store, &master).await
    }

    pub async fn with_store(
        config: Config,
        clock: SharedClock,
        store: Store,
        master: &MasterKey,
    ) -> Result<App, StartError> {
        let now = clock.now_unix();
        let live = Arc::new(settings::Live::new(&config)?);
        live.reload(&store).await;
        let pepper = data_key(&store, master, "return-code-pepper", now).await?;
        let content_key = data_key(&store, master, "content", now).await?;
        let audit_key = data_key(&store, master, "audit", now).await?;
        // A database from before the chain's head was recorded gets one now, from its
        // newest entry; from here on every entry moves it.
        if store.records_audit_head() {
            let mut tx = store.begin().await?;
            if tx.audit_anchor_if_missing(&audit_key).await? {
                tracing::info!("recorded the audit chain's head");
            }
            tx.commit().await?;
        }
        let lists_key = data_key(&store, master, "lists", now).await?;
        let telephony_key = data_key(&store, master, "telephony", now).await?;
        let gateway = deterrence::Gateway::new(
            lists_key,
            config.deterrence.requests_per_second,
            config.deterrence.burst,
        );
        gateway.reload(&store).await?;
        let geoip = if config.reach.geoip_database.is_empty() {
            None
        } else {
            Some(reach::GeoIp::open(
                &config.reach.geoip_database,
                &config.reach.geoip_field,
                &config.reach.geoip_areas,
            )?)
        };
        let workbooks = workbook::Workbooks {
            store: store.clone(),
            pepper,
            guard: workbook::CodeGuard::new(config.selfhelp.failed_codes_per_minute, clock.clone()),
            live: live.clone(),
        };
        let sign_in_guard = sessions::SignInGuard::new(&config.console, clock.clone());
        Ok(App {
            clock,
            store,
            workbooks,
            reach: reach::Reach::new(geoip),
            live,
            content_key,
            audit_key,
            telephony_key,
            gateway,
            sign_in_guard,
            chat_flood: limits::Rate::new(limits::per_second(
                chat::FLOOD_PER_SECOND,
                chat::FLOOD_BURST,
            )),
            heartbeat_at: AtomicI64::new(i64::MIN),
            socket_access: sessions::SocketAccess::default(),
            config,
        })
    }

    /// Appends an entry to the hash-chained audit log on its own (for what changes nothing
    /// but is recorded: views, lists, refusals). The caller must act on a failure: a view
    /// whose audit entry cannot be written is not shown.
    #[must_use = "an audit entry that is not checked can vanish"]
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        object: &str,
        detail: &str,
    ) -> Result<i64, StoreError> {
        let tx = self.store.begin().await?;
        self.commit_audited(tx, actor, action, object, detail).await
    }

    /// Commits an action's transaction with the audit entry that records it: both are stored
    /// or neither is.
    #[must_use = "an audit entry that is not checked can vanish"]
    pub async fn commit_audited(
        &self,
        tx: Tx,
        actor: &str,
        action: &str,
        object: &str,
        detail: &str,
    ) -> Result<i64, StoreError> {
        commit_entry(
            tx,
            &self.audit_key,
            self.clock.now_unix(),
            actor,
            action,
            object,
            detail,
        )
        .await
    }

    /// The address staff use, for links: `server.public_url` or the listen address.
    pub fn public_url(&self) -> String {
        accounts::public_url(&self.config)
    }

    /// Writes buffered counts, reloads settings and lists, and deletes what is past
    /// retention: conversation content, callback numbers, contact notes, sessions, expired
    /// answers. (Live chat's own expiry is the web's, which holds the sockets to tell.)
    pub async fn housekeeping(&self) {
        if let Err(e) = self.reach.flush(&self.store).await {
            tracing::warn!(error = %e, "could not write reach counts; will retry");
        }
        self.live.reload(&self.store).await;
        if let Err(e) = self.gateway.reload(&self.store).await {
            tracing::error!(error = %e, "could not reload deterrence lists; keeping the ones in force");
        }
        if let Err(e) = self.gateway.flush(&self.store).await {
            tracing::warn!(error = %e, "could not write deterrence counts; will retry");
        }
        self.gateway.tidy();
        if self.store.has_calls() {
            // (A store at an older release's schema has no calls table.)
            if let Err(e) = self.calls_settle().await {
                tracing::warn!(error = %e, "could not settle calls whose queue result never came; will retry");
            }
        }
        self.sign_in_guard.tidy();
        self.workbooks.guard.tidy();
        self.chat_tidy();
        let now = self.clock.now_unix();
        let content_before =
            now - (self.config.helpline.conversation_retention_days as i64) * 86_400;
        match self.store.conversations_purge(content_before, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "deleted conversation content past retention"),
            Err(e) => tracing::warn!(error = %e, "could not purge conversation content"),
        }
        let callbacks_before = now - (self.config.helpline.callback_retention_days as i64) * 86_400;
        match self.store.callbacks_purge(callbacks_before, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired callback requests past retention"),
            Err(e) => tracing::warn!(error = %e, "could not purge callback numbers"),
        }
        let notes_before = now - (self.live.retention().contact_note_days as i64) * 86_400;
        match self.store.contact_notes_purge(notes_before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "deleted contact notes past retention"),
            Err(e) => tracing::warn!(error = %e, "could not purge contact notes"),
        }
        let idle = self.config.console.session_idle_minutes as i64 * 60;
        let max = self.config.console.session_max_hours as i64 * 3600;
        if let Err(e) = self.store.sessions_purge(now - idle, now - max).await {
            tracing::warn!(error = %e, "could not purge expired console sessions");
        }
        match self.store.workbooks_purge(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "deleted expired self-help answers"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired answers"),
        }
        // A heartbeat for `reachline doctor` (retention runs), written at most once a minute.
        let last = self.heartbeat_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 60 || now < last {
            match self.store.heartbeat_put("housekeeping", now).await {
                Ok(()) => self.heartbeat_at.store(now, Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, "could not record the housekeeping heartbeat"),
            }
        }
    }

    /// Writes buffered counters (at shutdown; housekeeping writes them on every tick).
    pub async fn flush_counts(&self) {
        if let Err(e) = self.reach.flush(&self.store).await {
            tracing::error!(error = %e, "could not write reach counts at shutdown");
        }
        if let Err(e) = self.gateway.flush(&self.store).await {
            tracing::error!(error = %e, "could not write deterrence counts at shutdown");
        }
    }
}

/// Appends one audit entry on its own (see [`App::audit`]); for operator commands, which
/// have a store and key but no [`App`].
#[must_use = "an audit entry that is not checked can vanish"]
pub async fn audit_append(
    store: &Store,
    key: &Key,
    now: i64,
    actor: &str,
    action: &str,
    object: &str,
    detail: &str,
) -> Result<i64, StoreError> {
    let tx = store.begin().await?;
    commit_entry(tx, key, now, actor, action, object, detail).await
}

/// Commits `tx` with the audit entry that records it (see [`reachline_store::Tx::commit_audited`]).
#[must_use = "an audit entry that is not checked can vanish"]
pub async fn commit_entry(
    tx: Tx,
    key: &Key,
    now: i64,
    actor: &str,
    action: &str,
    object: &str,
    detail: &str,
) -> Result<i64, StoreError> {
    let entry = NewAudit {
        at: now,
        actor,
        action,
        object,
        detail,
    };
    tx.commit_audited(key, entry).await
}
