//! Backups and restores (`reachline backup`, `reachline restore`, `reachline keys …`).
//!
//! A backup is one [age](https://age-encryption.org) file encrypted to the operator's X25519
//! recipients (`age1…` public keys). Inside: a first line `reachline-backup 1`, a JSON
//! manifest line (backend, time, size, SHA-256 of the payload), then the payload: a
//! consistent copy of the SQLite database made with `VACUUM INTO` while the service runs, or
//! a `pg_dump --format=custom` archive for PostgreSQL. The master key is never in a backup:
//! it is exported once with `reachline keys export` and kept offline, apart from the backups.
//!
//! A restore needs three things: the backup, an age identity that can open it, and the
//! master key. It works in a staging directory beside the target, checks everything (the
//! database opens, migrations are current, every wrapped data key in `keyring` unwraps with
//! the master key, the audit chain verifies) and only then moves the result into place, so
//! a failed restore leaves nothing behind.

use crate::ops::{audit_verify_store, OpsError};
use crate::{open_store, StartError};
use reachline_core::clock::SharedClock;
use reachline_core::config::Config;
use reachline_core::keys::MasterKey;
use reachline_store::{Backend, PgClientTarget, Store};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

const MAGIC: &str = "reachline-backup 1";
const DB_FILE: &str = "reachline.db";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Ops(#[from] OpsError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] reachline_store::StoreError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} already exists; choose another name (nothing is overwritten)")]
    Exists(String),
    #[error("give at least one --recipient (an age1… public key, or a file holding public keys or an age identity); create one with `reachline keys backup-identity --out FILE`")]
    NoRecipient,
    #[error("not an age recipient: {0:?} (expected age1… or a file of them)")]
    Recipient(String),
    #[error("{0} holds no age identity (AGE-SECRET-KEY-1…)")]
    NoIdentity(String),
    #[error("there is no database at {0}: nothing to back up")]
    NoDatabase(String),
    #[error("there is no master key at {0}: nothing to export")]
    NoMasterKey(String),
    #[error("{0} is not empty: a restore goes only into an empty data directory (or database)")]
    NotEmpty(String),
    #[error("this backup cannot be opened with that identity (not encrypted for it, or not an age file): {0}")]
    Decrypt(String),
    #[error("this is not a Reachline backup, or it is damaged: {0}")]
    Corrupt(String),
    #[error("the master key does not open this backup's data keys ({0}): is it the key exported from the same installation? Nothing was restored")]
    WrongMasterKey(String),
    #[error("the restored database failed a check: {0}. Nothing was restored")]
    Check(String),
    #[error("a {0} backup cannot be restored into a {1} configuration")]
    Backend(String, String),
    #[error("{0}")]
    Tool(String),
}

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.to_string();
    move |e| BackupError::Io(what, e)
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Manifest {
    backend: String,
    created_at: i64,
    reachline: String,
    bytes: u64,
    sha256: String,
}

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupSummary {
    pub backend: &'static str,
    pub bytes: u64,
    /// Why the time of this backup could not be noted in the database (the backup itself is
    /// made and complete); `None` when it was.
    pub not_noted: Option<String>,
}

/// What a restore checked.
#[derive(Debug)]
pub struct RestoreSummary {
    pub backend: &'static str,
    pub data_keys: usize,
    pub audit_entries: usize,
}

/// Creates a file only its owner can read; fails if it exists.
fn create_private(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            BackupError::Exists(path.display().to_string())
        } else {
            BackupError::Io(path.display().to_string(), e)
        }
    })
}

fn random_suffix() -> String {
    use rand::Rng;
    hex::encode(rand::thread_rng().gen::<[u8; 6]>())
}

/// Removes a file or directory when dropped, unless disarmed.
struct Cleanup(Option<PathBuf>);
impl Cleanup {
    fn disarm(&mut self) {
        self.0 = None;
    }
}
impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

/// `reachline keys backup-identity`: a new age X25519 identity for encrypting backups,
/// written (0600, never overwriting) in the format `age-keygen` uses. Returns its public key.
pub fn new_identity(out: &Path) -> Result<String, BackupError> {
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    let public = identity.to_public().to_string();
    let mut f = create_private(out)?;
    let text = format!(
        "# Reachline backup identity: opens backups. Keep it offline, apart from the backups.\n\
         # public key: {public}\n{}\n",
        identity.to_string().expose_secret()
    );
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(io(out.display()))?;
    Ok(public)
}

/// `reachline keys export`: a copy of the master key for the operator to keep offline
/// (0600; an existing file is never overwritten).
pub fn keys_export(config: &Config, out: &Path) -> Result<(), BackupError> {
    let path = config.master_key_path();
    if !path.exists() {
        return Err(BackupError::NoMasterKey(path.display().to_string()));
    }
    let master = MasterKey::load(&path).map_err(StartError::Key)?;
    let mut f = create_private(out)?;
    let text = format!("{}\n", hex::encode(master.key_bytes()));
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(io(out.display()))?;
    Ok(())
}

/// Reads recipients: each argument is an `age1…` public key or a file holding public keys
/// (one per line) or age identities (whose public keys are used).
pub fn parse_recipients(args: &[String]) -> Result<Vec<age::x25519::Recipient>, BackupError> {
    let mut out = Vec::new();
    for arg in args {
        let arg = arg.trim();
        if arg.starts_with("age1") {
            out.push(
                arg.parse::<age::x25519::Recipient>()
                    .map_err(|_| BackupError::Recipient(arg.to_string()))?,
            );
            continue;
        }
        let text = std::fs::read_to_string(arg).map_err(|_| BackupError::Recipient(arg.into()))?;
        let before = out.len();
        for line in text.lines().map(str::trim) {
            if line.starts_with("age1") {
                out.push(
                    line.parse::<age::x25519::Recipient>()
                        .map_err(|_| BackupError::Recipient(arg.to_string()))?,
                );
            } else if line.starts_with("AGE-SECRET-KEY-1") {
                let id = line
                    .parse::<age::x25519::Identity>()
                    .map_err(|_| BackupError::Recipient(arg.to_string()))?;
                out.push(id.to_public());
            }
        }
        if out.len() == before {
            return Err(BackupError::Recipient(arg.to_string()));
        }
    }
    if out.is_empty() {
        return Err(BackupError::NoRecipient);
    }
    Ok(out)
}

fn load_identities(path: &Path) -> Result<Vec<age::x25519::Identity>, BackupError> {
    let text = std::fs::read_to_string(path).map_err(io(path.display()))?;
    let ids: Vec<_> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .filter_map(|l| l.parse::<age::x25519::Identity>().ok())
        .collect();
    if ids.is_empty() {
        return Err(BackupError::NoIdentity(path.display().to_string()));
    }
    Ok(ids)
}

fn run_tool(mut cmd: Command, target: &PgClientTarget, name: &str) -> Result<Vec<u8>, BackupError> {
    // The connection (password included) goes in libpq's environment, never the command line.
    cmd.envs(target.env.iter().map(|(k, v)| (k, v)));
    let out = cmd.output().map_err(|e| {
        BackupError::Tool(format!(
            "could not run {name} ({e}); PostgreSQL backups need the PostgreSQL client tools \
             (Debian: apt-get install postgresql-client) of the server's major version or newer"
        ))
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(BackupError::Tool(format!(
            "{name} failed: {}",
            err.lines().take(5).collect::<Vec<_>>().join(" / ")
        )));
    }
    Ok(out.stdout)
}

/// Hashes a file: (size, SHA-256 hex).
fn digest_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut f = std::fs::File::open(path).map_err(io(path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(io(path.display()))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, hex::encode(h.finalize())))
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// The heartbeat that records when the last backup was taken.
pub const HEARTBEAT: &str = "backup";

/// `reachline backup`: a consistent online copy of the database, encrypted to `recipients`,
/// written atomically to `out` (which must not exist).
pub async fn backup(
    config: &Config,
    clock: SharedClock,
    out: &Path,
    recipients: &[age::x25519::Recipient],
) -> Result<BackupSummary, BackupError> {
    if recipients.is_empty() {
        return Err(BackupError::NoRecipient);
    }
    if out.exists() {
        return Err(BackupError::Exists(out.display().to_string()));
    }
    let sqlite = config.storage.database_url.is_empty();
    let (payload, _cleanup_payload) = if sqlite {
        let db = config.data_dir().join(DB_FILE);
        if !db.exists() {
            return Err(BackupError::NoDatabase(db.display().to_string()));
        }
        let tmp = config
            .data_dir()
            .join(format!(".backup-{}.db", random_suffix()));
        let cleanup = Cleanup(Some(tmp.clone()));
        let store = Store::open_sqlite_existing(&db).await?;
        let result = store.sqlite_backup_into(&tmp).await;
        store.close().await;
        result?;
        (tmp, cleanup)
    } else {
        let target = PgClientTarget::from_url(&config.storage.database_url)?;
        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = dir.join(format!(".reachline-dump-{}.pgc", random_suffix()));
        let cleanup = Cleanup(Some(tmp.clone()));
        let mut cmd = Command::new("pg_dump");
        cmd.arg("--format=custom")
            .arg("--no-owner")
            .arg("--no-privileges")
            .arg(format!("--file={}", tmp.display()));
        if let Some(schema) = &target.schema {
            cmd.arg(format!("--schema={schema}"));
        }
        cmd.arg(format!("--dbname={}", target.database));
        run_tool(cmd, &target, "pg_dump")?;
        (tmp, cleanup)
    };
    let (bytes, sha256) = digest_file(&payload)?;
    let manifest = Manifest {
        backend: if sqlite { "sqlite" } else { "postgres" }.into(),
        created_at: clock.now_unix(),
        reachline: env!("CARGO_PKG_VERSION").into(),
        bytes,
        sha256,
    };
    let partial = PathBuf::from(format!("{}.partial-{}", out.display(), random_suffix()));
    let mut cleanup_partial = Cleanup(Some(partial.clone()));
    {
        let file = create_private(&partial)?;
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| BackupError::Tool(format!("age: {e}")))?;
        let mut w = encryptor
            .wrap_output(std::io::BufWriter::new(file))
            .map_err(io(partial.display()))?;
        let header = format!(
            "{MAGIC}\n{}\n",
            serde_json::to_string(&manifest).unwrap_or_default()
        );
        w.write_all(header.as_bytes())
            .map_err(io(partial.display()))?;
        let mut src = std::fs::File::open(&payload).map_err(io(payload.display()))?;
        std::io::copy(&mut src, &mut w).map_err(io(partial.display()))?;
        let buffered = w.finish().map_err(io(partial.display()))?;
        let file = buffered
            .into_inner()
            .map_err(|e| BackupError::Io(partial.display().to_string(), e.into_error()))?;
        file.sync_all().map_err(io(partial.display()))?;
    }
    if out.exists() {
        return Err(BackupError::Exists(out.display().to_string()));
    }
    std::fs::rename(&partial, out).map_err(io(out.display()))?;
    cleanup_partial.disarm();
    // When it was taken, for `reachline doctor` and the administrators' console home. The
    // backup is made and safe; a database that cannot take the note is said, not hidden.
    let not_noted = match crate::open_existing(config).await {
        Ok(store) => {
            let noted = store.heartbeat_put(HEARTBEAT, clock.now_unix()).await;
            store.close().await;
            noted.err().map(|e| e.to_string())
        }
        Err(e) => Some(e),
    };
    Ok(BackupSummary {
        not_noted,
        backend: if sqlite { "sqlite" } else { "postgres" },
        bytes,
    })
}

/// True if `dir` does not exist or is an empty directory.
fn empty_or_missing(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Wrapped keys from a `pg_restore --data-only --table=keyring --file=-` script.
fn keyring_from_copy(script: &str) -> Vec<(String, i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cols: Option<Vec<String>> = None;
    for line in script.lines() {
        if let Some(c) = &cols {
            if line == "\\." {
                cols = None;
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let get = |name: &str| {
                c.iter()
                    .position(|x| x == name)
                    .and_then(|i| fields.get(i).copied())
            };
            let (Some(p), Some(v), Some(w)) = (get("purpose"), get("version"), get("wrapped"))
            else {
                continue;
            };
            let hexed = w.trim_start_matches("\\\\x").trim_start_matches("\\x");
            if let (Ok(v), Ok(w)) = (v.parse::<i64>(), hex::decode(hexed)) {
                out.push((p.to_string(), v, w));
            }
        } else if line.starts_with("COPY ") && line.contains("keyring (") {
            let inside = line
                .split_once('(')
                .and_then(|(_, r)| r.split_once(')'))
                .map(|(c, _)| c)
                .unwrap_or("");
            cols = Some(
                inside
                    .split(',')
                    .map(|s| s.trim().trim_matches('"').to_string())
                    .collect(),
            );
        }
    }
    out
}

/// Checks a restored store: migrations current, every data key unwraps, the audit chain
/// verifies. Returns (data keys, audit entries).
async fn verify_store(
    store: &Store,
    master: &MasterKey,
    now: i64,
) -> Result<(usize, usize), BackupError> {
    let pending = store.pending_migrations().await?;
    if !pending.is_empty() {
        return Err(BackupError::Check(format!(
            "migrations {pending:?} are not applied"
        )));
    }
    let keys = store.keyring_all().await?;
    for k in &keys {
        master
            .unwrap_key(&k.purpose, k.version, &k.wrapped)
            .map_err(|_| {
                BackupError::WrongMasterKey(format!("{} v{} does not unwrap", k.purpose, k.version))
            })?;
    }
    let entries = audit_verify_store(store, master, now)
        .await
        .map_err(|e| BackupError::Check(format!("audit chain: {e}")))?;
    Ok((keys.len(), entries))
}

/// `reachline restore`: into an empty data directory (and, for PostgreSQL, a database or
/// schema without tables), checked before anything is put in place.
pub async fn restore(
    config: &Config,
    clock: SharedClock,
    from: &Path,
    master_key: &Path,
    identity: &Path,
) -> Result<RestoreSummary, BackupError> {
    let ids = load_identities(identity)?;
    if !master_key.exists() {
        return Err(BackupError::WrongMasterKey(format!(
            "there is no key file at {}",
            master_key.display()
        )));
    }
    let master = MasterKey::load(master_key).map_err(StartError::Key)?;
    let data_dir = config.data_dir();
    if !empty_or_missing(&data_dir) {
        return Err(BackupError::NotEmpty(data_dir.display().to_string()));
    }
    let key_elsewhere = !config.storage.master_key_file.is_empty();
    if key_elsewhere && config.master_key_path().exists() {
        return Err(BackupError::Exists(
            config.master_key_path().display().to_string(),
        ));
    }
    let sqlite = config.storage.database_url.is_empty();
    if !sqlite && Store::postgres_table_count(&config.storage.database_url).await? > 0 {
        return Err(BackupError::NotEmpty(
            "the PostgreSQL database (schema) named by database_url".into(),
        ));
    }
    // Stage beside the target so the final move is a rename on one filesystem.
    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent).map_err(io(parent.display()))?;
    let name = data_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    let staging = parent.join(format!(".{name}.restoring-{}", random_suffix()));
    std::fs::create_dir(&staging).map_err(io(staging.display()))?;
    let mut cleanup = Cleanup(Some(staging.clone()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o700))
            .map_err(io(staging.display()))?;
    }

    // Decrypt into the staging directory, checking size and digest.
    let file = std::fs::File::open(from).map_err(io(from.display()))?;
    let decryptor = age::Decryptor::new_buffered(BufReader::new(file))
        .map_err(|e| BackupError::Decrypt(e.to_string()))?;
    let reader = decryptor
        .decrypt(ids.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| BackupError::Decrypt(e.to_string()))?;
    let mut reader = BufReader::new(reader);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| BackupError::Corrupt(e.to_string()))?;
    if line.trim_end() != MAGIC {
        return Err(BackupError::Corrupt("no backup header".into()));
    }
    line.clear();
    reader
        .read_line(&mut line)
        .map_err(|e| BackupError::Corrupt(e.to_string()))?;
    let manifest: Manifest =
        serde_json::from_str(line.trim_end()).map_err(|e| BackupError::Corrupt(e.to_string()))?;
    let wanted = if sqlite { "sqlite" } else { "postgres" };
    if manifest.backend != wanted {
        return Err(BackupError::Backend(manifest.backend, wanted.into()));
    }
    let payload = staging.join(if sqlite { DB_FILE } else { "dump.pgc" });
    {
        let mut f = create_private(&payload)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut n = 0u64;
        loop {
            let k = reader
                .read(&mut buf)
                .map_err(|e| BackupError::Corrupt(e.to_string()))?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            f.write_all(&buf[..k]).map_err(io(payload.display()))?;
            n += k as u64;
        }
        f.sync_all().map_err(io(payload.display()))?;
        if n != manifest.bytes || hex::encode(h.finalize()) != manifest.sha256 {
            return Err(BackupError::Corrupt(
                "the payload does not match its digest".into(),
            ));
        }
    }

    let now = clock.now_unix();
    let (data_keys, audit_entries) = if sqlite {
        let store = Store::open_sqlite(&payload).await?;
        let checked = verify_store(&store, &master, now).await;
        store.close().await;
        checked?
    } else {
        let target = PgClientTarget::from_url(&config.storage.database_url)?;
        // Check the master key against the dump's keyring before touching the database.
        let mut cmd = Command::new("pg_restore");
        cmd.arg("--data-only")
            .arg("--table=keyring")
            .arg("--file=-")
            .arg(&payload);
        let script = run_tool(cmd, &target, "pg_restore")?;
        let keys = keyring_from_copy(&String::from_utf8_lossy(&script));
        if keys.is_empty() {
            return Err(BackupError::Corrupt("the dump holds no keyring".into()));
        }
        for (purpose, version, wrapped) in &keys {
            master.unwrap_key(purpose, *version, wrapped).map_err(|_| {
                BackupError::WrongMasterKey(format!("{purpose} v{version} does not unwrap"))
            })?;
        }
        if let Some(schema) = &target.schema {
            Store::postgres_drop_empty_schema(&config.storage.database_url, schema).await?;
        }
        let mut cmd = Command::new("pg_restore");
        cmd.arg("--no-owner")
            .arg("--no-privileges")
            .arg("--exit-on-error")
            .arg("--single-transaction")
            .arg(format!("--dbname={}", target.database))
            .arg(&payload);
        run_tool(cmd, &target, "pg_restore")?;
        let checked = match open_store(config).await {
            Ok(store) => {
                let c = verify_store(&store, &master, now).await;
                store.close().await;
                c
            }
            Err(e) => Err(e.into()),
        };
        match checked {
            Ok(c) => c,
            Err(e) => {
                // Undo: the schema was empty before, so dropping it removes only the restore.
                if let Some(schema) = &target.schema {
                    let _ = Store::drop_postgres_schema(&config.storage.database_url, schema).await;
                }
                return Err(e);
            }
        }
    };

    // Install the master key, then move everything into place.
    if !sqlite {
        std::fs::remove_file(&payload).map_err(io(payload.display()))?;
    }
    let staged_key = staging.join("master.key");
    let key_path = if key_elsewhere {
        config.master_key_path()
    } else {
        staged_key
    };
    {
        let mut f = create_private(&key_path)?;
        f.write_all(format!("{}\n", hex::encode(master.key_bytes())).as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(io(key_path.display()))?;
    }
    if data_dir.exists() {
        std::fs::remove_dir(&data_dir).map_err(io(data_dir.display()))?;
    }
    std::fs::rename(&staging, &data_dir).map_err(io(data_dir.display()))?;
    cleanup.disarm();
    Ok(RestoreSummary {
        backend: backend_name(if sqlite {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }),
        data_keys,
        audit_entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_rows_are_read_from_a_copy_script() {
        let script = "SET x;\nCOPY s.keyring (purpose, version, wrapped, created_at, retired_at) FROM stdin;\n\
                      audit\t1\t\\\\x0102ff\t5\t\\N\n\\.\n";
        assert_eq!(
            keyring_from_copy(script),
            vec![("audit".to_string(), 1, vec![1, 2, 255])]
        );
    }

    #[test]
    fn recipients_come_from_keys_or_files() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let id = dir.path().join("id.txt");
        let public = new_identity(&id)?;
        assert!(matches!(new_identity(&id), Err(BackupError::Exists(_))));
        assert_eq!(parse_recipients(std::slice::from_ref(&public))?.len(), 1);
        assert_eq!(
            parse_recipients(&[id.display().to_string()])?[0].to_string(),
            public
        );
        assert!(parse_recipients(&["nonsense".into()]).is_err());
        assert!(matches!(
            parse_recipients(&[]),
            Err(BackupError::NoRecipient)
        ));
        assert_eq!(load_identities(&id)?.len(), 1);
        Ok(())
    }
}
