//! Master-key rotation (`reachline keys rotate`).
//!
//! The master key only wraps the data keys in `keyring`; content is sealed with the data keys,
//! which do not change. Rotating therefore re-wraps a handful of rows in one transaction,
//! and a running server (which unwrapped its data keys at start-up and keeps them in memory)
//! goes on reading and writing throughout.
//!
//! The order makes every interruption recoverable: at each moment one of the files
//! `master.key`, `master.key.new` or `master.key.old` (beside the key file) opens every data
//! key, and running `reachline keys rotate` again finds it and finishes or undoes the
//! rotation.
//!
//! 1. The new key is written to `master.key.new` (0600, flushed to disk) *before* the
//!    database changes: a database wrapped under a key that exists nowhere cannot happen.
//! 2. One transaction re-wraps every row, and only if the keyring is exactly what was read
//!    (a row added or changed meanwhile, e.g. by a server starting for the first time, makes
//!    it start over).
//! 3. The current key is kept as `master.key.old` (a hard link) and `master.key.new` is
//!    renamed over `master.key` (atomic).
//! 4. The key is read back from `master.key` and must open every data key; any row still
//!    wrapped under the old key (written by a server that started during the rotation) is
//!    re-wrapped too. Only then is `master.key.old` deleted.
//! 5. The rotation is appended to the audit chain.
//!
//! Recovery (step 0 of every run): if `master.key.new` opens a data key, the transaction
//! committed, so the rotation is finished (installed, checked, old key removed); if not, it
//! never committed and `master.key.new` is deleted. A leftover `master.key.old` is deleted
//! once `master.key` is shown to open every data key.

use crate::{audit_append, data_key, open_store, StartError};
use reachline_core::clock::SharedClock;
use reachline_core::config::Config;
use reachline_core::keys::{Key, MasterKey};
use reachline_store::{Rewrap, Store, StoreError};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("there is no master key at {0}: nothing to rotate")]
    NoMasterKey(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("the data key {0} opens with none of the master keys found ({1}); nothing was changed. Is this the key file for this database?")]
    Unopenable(String, String),
    #[error("the keyring kept changing while it was being re-wrapped; run `reachline keys rotate` again")]
    Busy,
}

/// What a run of `reachline keys rotate` did.
#[derive(Debug, Default)]
pub struct RotateSummary {
    /// Data keys now wrapped under the key in the key file.
    pub data_keys: usize,
    /// An interrupted rotation was found and finished (its new key installed).
    pub finished_interrupted: bool,
    /// An interrupted rotation was found that had not reached the database; undone.
    pub undid_interrupted: bool,
    /// A new master key was made and installed by this run.
    pub rotated: bool,
}

fn io(what: &Path) -> impl FnOnce(std::io::Error) -> KeysError {
    let what = what.display().to_string();
    move |e| KeysError::Io(what, e)
}

/// `master.key` -> `master.key.<suffix>`, in the same directory.
pub fn beside(key: &Path, suffix: &str) -> PathBuf {
    let name = key
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "master.key".into());
    key.with_file_name(format!("{name}.{suffix}"))
}

fn dir_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Flushes a directory's entries (a rename or unlink) to disk.
fn sync_dir(dir: &Path) -> Result<(), KeysError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// Writes a key file only its owner can read; never overwrites; flushed before returning.
fn write_key_file(path: &Path, key: &MasterKey) -> Result<(), KeysError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(format!("{}\n", hex::encode(key.key_bytes())).as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(io(path))?;
    sync_dir(&dir_of(path))
}

fn remove_if_exists(path: &Path) -> Result<(), KeysError> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(&dir_of(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(KeysError::Io(path.display().to_string(), e)),
    }
}

/// A leftover key file, if it exists and holds a key (a torn write holds none: it was never
/// used, since the database changes only after the file is complete).
fn load_leftover(path: &Path) -> Option<MasterKey> {
    if path.exists() {
        MasterKey::load(path).ok()
    } else {
        None
    }
}

fn opens(key: &MasterKey, row: &reachline_store::KeyringRow) -> Option<Key> {
    key.unwrap_key(&row.purpose, row.version, &row.wrapped).ok()
}

/// Makes every row of `keyring` open with `target`, re-wrapping (in one transaction per
/// pass) the rows that open with one of `sources`. Returns how many data keys there are.
async fn converge(
    store: &Store,
    target: &MasterKey,
    sources: &[&MasterKey],
) -> Result<usize, KeysError> {
    for _ in 0..20 {
        let rows = store.keyring_all().await?;
        let mut changes = Vec::new();
        for row in &rows {
            if opens(target, row).is_some() {
                continue;
            }
            let Some(data_key) = sources.iter().find_map(|s| opens(s, row)) else {
                return Err(KeysError::Unopenable(
                    format!("{} v{}", row.purpose, row.version),
                    format!("{} key(s) tried", sources.len() + 1),
                ));
            };
            changes.push(Rewrap {
                purpose: row.purpose.clone(),
                version: row.version,
                old: row.wrapped.clone(),
                new: target.wrap(&row.purpose, row.version, &data_key),
            });
        }
        if changes.is_empty() {
            return Ok(rows.len());
        }
        // Applied only if the keyring is still what was read; either way, read it again.
        store.keyring_rewrap(&changes, rows.len()).await?;
    }
    Err(KeysError::Busy)
}

/// Installs `new_path` as `key_path` (keeping the current key as `old_path` until the new
/// one is proven), then checks the installed file opens every data key and removes the rest.
async fn install(
    store: &Store,
    key_path: &Path,
    new_path: &Path,
    old_path: &Path,
    previous: &[&MasterKey],
) -> Result<usize, KeysError> {
    if key_path.exists() && !old_path.exists() {
        std::fs::hard_link(key_path, old_path).map_err(io(old_path))?;
    }
    std::fs::rename(new_path, key_path).map_err(io(key_path))?;
    sync_dir(&dir_of(key_path))?;
    // Proven from the file as it is now on disk.
    let installed = MasterKey::load(key_path).map_err(StartError::Key)?;
    let n = converge(store, &installed, previous).await?;
    remove_if_exists(old_path)?;
    Ok(n)
}

/// `reachline keys rotate`: finishes or undoes an interrupted rotation if there is one;
/// otherwise makes a new master key, re-wraps every data key under it and retires the old
/// one. Audited.
pub async fn rotate(config: &Config, clock: SharedClock) -> Result<RotateSummary, KeysError> {
    let key_path = config.master_key_path();
    let new_path = beside(&key_path, "new");
    let old_path = beside(&key_path, "old");
    if !key_path.exists() && !new_path.exists() {
        return Err(KeysError::NoMasterKey(key_path.display().to_string()));
    }
    let store = open_store(config).await?;
    let result = rotate_store(&store, clock, &key_path, &new_path, &old_path).await;
    store.close().await;
    result
}

async fn rotate_store(
    store: &Store,
    clock: SharedClock,
    key_path: &Path,
    new_path: &Path,
    old_path: &Path,
) -> Result<RotateSummary, KeysError> {
    let mut summary = RotateSummary::default();
    let current = load_leftover(key_path);
    let leftover_new = load_leftover(new_path);
    let leftover_old = load_leftover(old_path);

    // Step 0: an interrupted rotation.
    let rows = store.keyring_all().await?;
    if let Some(new) = &leftover_new {
        if rows.iter().any(|r| opens(new, r).is_some()) {
            // The database changed: finish with the new key.
            let previous: Vec<&MasterKey> = current.iter().chain(leftover_old.iter()).collect();
            converge(store, new, &previous).await?;
            summary.data_keys = install(store, key_path, new_path, old_path, &previous).await?;
            summary.finished_interrupted = true;
        }
    }
    if !summary.finished_interrupted {
        if new_path.exists() {
            summary.undid_interrupted = true;
            remove_if_exists(new_path)?;
        }
        let Some(current) = &current else {
            return Err(KeysError::NoMasterKey(key_path.display().to_string()));
        };
        // The current key must open everything (re-wrapping rows a crashed run left under
        // the old key) before the old one may go.
        let previous: Vec<&MasterKey> = leftover_old.iter().collect();
        converge(store, current, &previous).await?;
        remove_if_exists(old_path)?;

        // Steps 1 to 4: a new key.
        let new = MasterKey::from_key(Key::random());
        write_key_file(new_path, &new)?;
        converge(store, &new, &[current]).await?;
        summary.data_keys = install(store, key_path, new_path, old_path, &[current]).await?;
        summary.rotated = true;
    }

    // Step 5: the audit chain (its data key is unchanged; only its wrapping changed).
    let installed = MasterKey::load(key_path).map_err(StartError::Key)?;
    let now = clock.now_unix();
    let audit_key = data_key(store, &installed, "audit", now).await?;
    let detail = if summary.rotated {
        format!(
            "new master key; {} data keys re-wrapped; old key retired",
            summary.data_keys
        )
    } else {
        format!(
            "finished an interrupted rotation; {} data keys re-wrapped; old key retired",
            summary.data_keys
        )
    };
    audit_append(
        store,
        &audit_key,
        now,
        "cli",
        "keys.rotate",
        "keyring",
        &detail,
    )
    .await?;
    Ok(summary)
}
