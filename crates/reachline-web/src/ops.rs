//! Operator commands that run without the server: creating the first administrator and
//! verifying the audit chain. The binary only parses arguments and calls these.

use crate::{audit_append, data_key, open_store, prepare_data_dir, StartError};
use reachline_core::audit;
use reachline_core::clock::SharedClock;
use reachline_core::config::Config;
use reachline_core::keys::MasterKey;
use reachline_core::staff::{self, Role};
use reachline_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown role {0:?}: use practitioner, supervisor, admin or analyst")]
    Role(String),
    #[error("a username has 3 to 40 letters, digits, dots, hyphens or underscores")]
    Username,
    #[error("the username {0:?} is already taken")]
    Taken(String),
    #[error("{0}")]
    Broken(audit::Broken),
    #[error("there is no master key at {0}: nothing can be verified without it")]
    NoKey(String),
}

/// Creates an account and returns the one-time enrolment link. Audited as done by `cli`.
pub async fn admin_create(
    config: &Config,
    clock: SharedClock,
    username: &str,
    role: &str,
) -> Result<String, OpsError> {
    let role = Role::parse(role).ok_or_else(|| OpsError::Role(role.to_string()))?;
    let valid = (3..=40).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    if !valid {
        return Err(OpsError::Username);
    }
    prepare_data_dir(config)?;
    let (master, _) =
        MasterKey::load_or_create(&config.master_key_path()).map_err(StartError::Key)?;
    let store = open_store(config).await?;
    let now = clock.now_unix();
    let audit_key = data_key(&store, &master, "audit", now).await?;
    let id = match store.staff_create(username, role.as_str(), "", now).await {
        Ok(id) => id,
        Err(StoreError::Conflict) => return Err(OpsError::Taken(username.to_string())),
        Err(e) => return Err(e.into()),
    };
    let token = staff::new_token();
    let hours = config.console.enrolment_link_hours as i64;
    store
        .enrolment_create(&staff::token_hash(&token), id, now + hours * 3600)
        .await?;
    audit_append(
        &store,
        &audit_key,
        now,
        "cli",
        "staff.create",
        &format!("staff:{id}"),
        role.as_str(),
    )
    .await?;
    store.close().await;
    let base = if config.server.public_url.is_empty() {
        format!("http://{}", config.server.listen)
    } else {
        config.server.public_url.trim_end_matches('/').to_string()
    };
    Ok(format!("{base}/console/enrol/{token}"))
}

/// Checks the whole audit chain. Returns how many entries passed, or names the first broken
/// entry.
pub async fn audit_verify(config: &Config, clock: SharedClock) -> Result<usize, OpsError> {
    let path = config.master_key_path();
    if !path.exists() {
        return Err(OpsError::NoKey(path.display().to_string()));
    }
    let master = MasterKey::load(&path).map_err(StartError::Key)?;
    let store = open_store(config).await?;
    let entries = store.audit_all().await?;
    if entries.is_empty() && store.keyring_versions("audit").await?.is_empty() {
        store.close().await;
        return Ok(0);
    }
    let key = data_key(&store, &master, "audit", clock.now_unix()).await?;
    store.close().await;
    audit::verify(&key, &entries).map_err(OpsError::Broken)
}
