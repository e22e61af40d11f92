//! Staff accounts: invite (one-time, expiring enrolment links), roles and analyst areas,
//! disable and enable, reset enrolment. Each change commits with its audit entry.

use crate::{App, Error};
use reachline_core::areas;
use reachline_core::config::Config;
use reachline_core::staff::{self, Role};
use reachline_store::{StaffRow, StoreError, Tx};

/// The staff member acting.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub id: i64,
    pub username: &'a str,
}

/// A new account and the link its owner enrols with (shown once).
pub struct Invited {
    pub id: i64,
    pub username: String,
    pub link: String,
}

/// 3–40 letters, digits, dots, hyphens or underscores.
pub fn valid_username(u: &str) -> bool {
    (3..=40).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

/// Analyst areas: comma-separated police force area codes, normalised; `None` if any is
/// unknown.
pub fn parse_areas(input: &str) -> Option<String> {
    let codes: Vec<&str> = input
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    codes
        .iter()
        .all(|c| areas::find(c).is_some())
        .then(|| codes.join(","))
}

/// The address staff use, for links: `server.public_url` or the listen address.
pub fn public_url(config: &Config) -> String {
    if config.server.public_url.is_empty() {
        format!("http://{}", config.server.listen)
    } else {
        config.server.public_url.trim_end_matches('/').to_string()
    }
}

/// The setting where the running service notes the address it serves on.
pub const SERVED_URL: &str = "server.served_url";

/// The address for links made outside the service (`reachline admin create`):
/// `server.public_url` if set, otherwise the address the service last noted it serves on
/// (`serve --listen` may differ from the configuration), otherwise the configured one.
pub async fn link_base(
    config: &Config,
    store: &reachline_store::Store,
) -> Result<String, StoreError> {
    if !config.server.public_url.is_empty() {
        return Ok(public_url(config));
    }
    Ok(match store.setting_get(SERVED_URL).await? {
        Some(served) if !served.is_empty() => served,
        _ => public_url(config),
    })
}

/// Records a new enrolment link for an account inside `tx`; returns the full address, on
/// `base` (see [`public_url`] and [`link_base`]).
pub async fn enrolment_link(
    tx: &mut Tx,
    config: &Config,
    base: &str,
    staff_id: i64,
    now: i64,
) -> Result<String, StoreError> {
    let token = staff::new_token();
    let hours = config.console.enrolment_link_hours as i64;
    tx.enrolment_create(&staff::token_hash(&token), staff_id, now + hours * 3600)
        .await?;
    Ok(format!("{base}/console/enrol/{token}"))
}

/// Checks a role and its areas as a form gives them.
pub(crate) fn role_and_areas(role: &str, areas: &str) -> Result<(Role, String), Error> {
    let role = Role::parse(role).ok_or(Error::Invalid("console-staff-bad-role"))?;
    let areas = parse_areas(areas).ok_or(Error::Invalid("console-staff-bad-areas"))?;
    if role == Role::Analyst && areas.is_empty() {
        return Err(Error::Invalid("console-staff-analyst-needs-areas"));
    }
    Ok((role, areas))
}

impl App {
    /// Notes the address this service serves on, for links made by `reachline admin create`
    /// beside it (when `server.public_url` is not set). An unspecified address (0.0.0.0)
    /// names no host anyone can open: the note is cleared, and the CLI says to set
    /// `server.public_url`. A failure is logged: links then use the configured address.
    pub async fn note_served_address(&self, addr: std::net::SocketAddr) {
        let url = if addr.ip().is_unspecified() {
            String::new()
        } else {
            format!("http://{addr}")
        };
        let now = self.clock.now_unix();
        let noted = async {
            let mut tx = self.store.begin().await?;
            tx.setting_put(SERVED_URL, &url, now, "service").await?;
            tx.commit().await
        };
        if let Err(e) = noted.await {
            tracing::warn!(error = %e, "could not note the served address; enrolment links from the command line use the configured one");
        }
    }

    /// Records that an administrator opened the list of accounts.
    pub async fn staff_list_viewed(&self, actor: Actor<'_>) -> Result<(), Error> {
        self.audit(actor.username, "staff.list", "", "").await?;
        Ok(())
    }

    /// Every account, for administrators.
    pub async fn staff_accounts(&self) -> Result<Vec<StaffRow>, Error> {
        Ok(self.store.staff_list().await?)
    }

    pub async fn staff_account(&self, id: i64) -> Result<StaffRow, Error> {
        self.store.staff_by_id(id).await?.ok_or(Error::NotFound)
    }

    /// Creates an account (not yet enrolled) and its enrolment link.
    pub async fn staff_invite(
        &self,
        actor: Actor<'_>,
        username: &str,
        role: &str,
        areas: &str,
    ) -> Result<Invited, Error> {
        let username = username.trim();
        if !valid_username(username) {
            return Err(Error::Invalid("console-staff-bad-username"));
        }
        let (role, areas) = role_and_areas(role, areas)?;
        let now = self.clock.now_unix();
        let mut tx = self.store.begin().await?;
        let id = tx.staff_create(username, role, &areas, now).await?;
        let link =
            enrolment_link(&mut tx, &self.config, &public_url(&self.config), id, now).await?;
        self.commit_audited(
            tx,
            actor.username,
            "staff.invite",
            &format!("staff:{id}"),
            role.as_str(),
        )
        .await?;
        Ok(Invited {
            id,
            username: username.to_string(),
            link,
        })
    }

    /// Changes an account's role and areas; its sessions end, so it takes effect at once.
    /// Administrators cannot take their own administrator role away.
    pub async fn staff_set_role(
        &self,
        actor: Actor<'_>,
        id: i64,
        role: &str,
        areas: &str,
    ) -> Result<(), Error> {
        let account = self.staff_account(id).await?;
        let (role, areas) = role_and_areas(role, areas)?;
        if account.id == actor.id && role != Role::Administrator {
            return Err(Error::Invalid("console-staff-not-yourself"));
        }
        let mut tx = self.store.begin().await?;
        if !tx.staff_set_role(id, role, &areas).await? {
            return Err(Error::NotFound);
        }
        self.commit_audited(
            tx,
            actor.username,
            "staff.role",
            &format!("staff:{id}"),
            &format!("{} -> {} {}", account.role, role.as_str(), areas),
        )
        .await?;
        Ok(())
    }

    /// Disables an account (ending its sessions) or enables it again. Nobody disables
    /// their own account.
    pub async fn staff_set_disabled(
        &self,
        actor: Actor<'_>,
        id: i64,
        disabled: bool,
    ) -> Result<(), Error> {
        if disabled && id == actor.id {
            return Err(Error::Invalid("console-staff-not-yourself"));
        }
        let mut tx = self.store.begin().await?;
        if !tx.staff_set_disabled(id, disabled).await? {
            return Err(Error::NotFound);
        }
        let action = if disabled {
            "staff.disable"
        } else {
            "staff.enable"
        };
        self.commit_audited(tx, actor.username, action, &format!("staff:{id}"), "")
            .await?;
        Ok(())
    }

    /// Clears an account's password, TOTP and recovery codes and issues a new enrolment link.
    pub async fn staff_reset_enrolment(&self, actor: Actor<'_>, id: i64) -> Result<Invited, Error> {
        let account = self.staff_account(id).await?;
        let now = self.clock.now_unix();
        let mut tx = self.store.begin().await?;
        tx.staff_reset_credentials(id).await?;
        let link =
            enrolment_link(&mut tx, &self.config, &public_url(&self.config), id, now).await?;
        self.commit_audited(
            tx,
            actor.username,
            "staff.reset-enrolment",
            &format!("staff:{id}"),
            "",
        )
        .await?;
        Ok(Invited {
            id,
            username: account.username,
            link,
        })
    }
}
