//! Operator commands that run without the server: creating the first administrator and
//! verifying the audit chain. The binary only parses arguments and calls these.

use crate::{data_key, open_store, prepare_data_dir, StartError};
use reachline_core::audit;
use reachline_core::clock::SharedClock;
use reachline_core::config::Config;
use reachline_core::keys::Key;
use reachline_core::keys::MasterKey;
use reachline_core::staff::{self, Role};
use reachline_store::{StoreError, Tx};

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown role {0:?}: use practitioner, supervisor, admin or analyst")]
    Role(String),
    #[error("{0}")]
    Areas(String),
    #[error("a username has 3 to 40 letters, digits, dots, hyphens or underscores")]
    Username,
    #[error("the username {0:?} is already taken")]
    Taken(String),
    #[error("{0}")]
    Broken(audit::Broken),
    #[error("there is no master key at {0}: nothing can be verified without it")]
    NoKey(String),
}

/// Commits an operator command's transaction with its audit entry (actor `cli`).
async fn commit_cli(
    tx: Tx,
    audit_key: &Key,
    now: i64,
    action: &str,
    object: &str,
    detail: &str,
) -> Result<i64, StoreError> {
    crate::commit_entry(tx, audit_key, now, "cli", action, object, detail).await
}

/// Creates an account and returns the one-time enrolment link. Audited as done by `cli`.
pub async fn admin_create(
    config: &Config,
    clock: SharedClock,
    username: &str,
    role: &str,
) -> Result<String, OpsError> {
    admin_create_with_areas(config, clock, username, role, "").await
}

/// Creates an account (an analyst with their areas: police force area codes, comma-separated)
/// and returns its one-time enrolment link.
pub async fn admin_create_with_areas(
    config: &Config,
    clock: SharedClock,
    username: &str,
    role: &str,
    areas: &str,
) -> Result<String, OpsError> {
    Role::parse(role).ok_or_else(|| OpsError::Role(role.to_string()))?;
    let (role, areas) = crate::accounts::role_and_areas(role, areas).map_err(|_| {
        OpsError::Areas(if areas.trim().is_empty() {
            "an analyst sees reports for their own areas only: give them with --areas (police force area codes, e.g. E23000015)".into()
        } else {
            format!("{areas:?} holds a code that is not a police force area (e.g. E23000015)")
        })
    })?;
    if !crate::accounts::valid_username(username) {
        return Err(OpsError::Username);
    }
    prepare_data_dir(config)?;
    let (master, _) =
        MasterKey::load_or_create(&config.master_key_path()).map_err(StartError::Key)?;
    let store = open_store(config).await?;
    let now = clock.now_unix();
    let audit_key = data_key(&store, &master, "audit", now).await?;
    let mut tx = store.begin().await?;
    let id = match tx.staff_create(username, role, &areas, now).await {
        Ok(id) => id,
        Err(StoreError::Conflict) => return Err(OpsError::Taken(username.to_string())),
        Err(e) => return Err(e.into()),
    };
    let base = crate::accounts::link_base(config, &store).await?;
    let link = crate::accounts::enrolment_link(&mut tx, config, &base, id, now).await?;
    commit_cli(
        tx,
        &audit_key,
        now,
        "staff.create",
        &format!("staff:{id}"),
        role.as_str(),
    )
    .await?;
    store.close().await;
    Ok(link)
}

/// Checks the whole audit chain and its recorded head, and, with `expect`, that the chain
/// still holds a head the operator exported earlier. Returns how many entries passed, or
/// names the first broken entry.
pub async fn audit_verify(
    config: &Config,
    clock: SharedClock,
    expect: Option<(i64, Vec<u8>)>,
) -> Result<usize, OpsError> {
    let path = config.master_key_path();
    if !path.exists() {
        return Err(OpsError::NoKey(path.display().to_string()));
    }
    let master = MasterKey::load(&path).map_err(StartError::Key)?;
    let store = open_store(config).await?;
    let mut result = audit_verify_store(&store, &master, clock.now_unix()).await;
    if let (Ok(_), Some((seq, hash))) = (&result, expect) {
        match store.audit_all().await {
            Ok(entries) => {
                if let Err(b) = audit::holds(&entries, seq, &hash) {
                    result = Err(OpsError::Broken(b));
                }
            }
            Err(e) => result = Err(e.into()),
        }
    }
    store.close().await;
    result
}

/// The chain's head as an operator exports it to compare later: `SEQ:HASH` (hex).
pub async fn audit_head(config: &Config) -> Result<Option<String>, OpsError> {
    let store = open_store(config).await?;
    let head = store.audit_head().await;
    store.close().await;
    Ok(head?.map(|h| format!("{}:{}", h.seq, hex::encode(h.hash))))
}

/// Reads an exported head (`SEQ:HASH`).
pub fn parse_head(text: &str) -> Option<(i64, Vec<u8>)> {
    let (seq, hash) = text.trim().split_once(':')?;
    let hash = hex::decode(hash).ok()?;
    (hash.len() == 32).then_some(())?;
    Some((seq.parse().ok().filter(|s: &i64| *s > 0)?, hash))
}

/// Checks the whole audit chain of an open store with the given master key (also used to
/// check a restore before it is put in place).
pub async fn audit_verify_store(
    store: &reachline_store::Store,
    master: &MasterKey,
    now: i64,
) -> Result<usize, OpsError> {
    let entries = store.audit_all().await?;
    if entries.is_empty() && store.keyring_versions("audit").await?.is_empty() {
        return Ok(0);
    }
    let key = data_key(store, master, "audit", now).await?;
    let head = store.audit_head().await?;
    audit::verify_with_head(&key, &entries, head.as_ref()).map_err(OpsError::Broken)
}

/// Opens what the deterrence commands need: the store, the audit key and the lists key.
async fn open_for_lists(
    config: &Config,
    clock: &SharedClock,
) -> Result<
    (
        reachline_store::Store,
        reachline_core::keys::Key,
        reachline_core::keys::Key,
    ),
    OpsError,
> {
    prepare_data_dir(config)?;
    let (master, _) =
        MasterKey::load_or_create(&config.master_key_path()).map_err(StartError::Key)?;
    let store = open_store(config).await?;
    let now = clock.now_unix();
    let audit_key = data_key(&store, &master, "audit", now).await?;
    let lists_key = data_key(&store, &master, "lists", now).await?;
    Ok((store, audit_key, lists_key))
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayOpsError {
    #[error(transparent)]
    Ops(#[from] OpsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown list kind {0:?}: use keywords, urls or hashes")]
    Kind(String),
    #[error(transparent)]
    List(#[from] crate::deterrence::lists::ListError),
    #[error(transparent)]
    Load(#[from] crate::deterrence::LoadError),
    #[error("a partner named {0:?} already exists")]
    PartnerTaken(String),
    #[error("partner names are 1 to 64 letters, digits, dots, hyphens or underscores")]
    PartnerName,
    #[error("frame ancestors must be https:// origins separated by spaces")]
    FrameAncestors,
    #[error("no active partner named {0:?}")]
    NoPartner(String),
    #[error("{0}")]
    Check(String),
}

/// Imports a list as a new version; a running server swaps it in on its next tick.
/// Returns (version, entries).
pub async fn lists_import(
    config: &Config,
    clock: SharedClock,
    kind: &str,
    name: &str,
    category: &str,
    text: &str,
) -> Result<(i64, usize), GatewayOpsError> {
    lists_import_as(
        config,
        clock,
        kind,
        name,
        category,
        text,
        ImportAs::default(),
    )
    .await
}

/// How a list is imported.
#[derive(Debug, Default, Clone, Copy)]
pub struct ImportAs {
    /// A never-warn list: its matches override matches on the same input.
    pub never_warn: bool,
    /// Loaded in shadow: matched and counted, never warning, until promoted.
    pub shadow: bool,
    /// The PDQ distance within which this list's hashes match (hash lists only).
    pub pdq_distance: Option<u32>,
}

/// Imports a list as a new version, live or in shadow, as a warning or a never-warn list.
pub async fn lists_import_as(
    config: &Config,
    clock: SharedClock,
    kind: &str,
    name: &str,
    category: &str,
    text: &str,
    how: ImportAs,
) -> Result<(i64, usize), GatewayOpsError> {
    use crate::deterrence::lists;
    let kind = kind
        .parse::<lists::ListKind>()
        .map_err(|_| GatewayOpsError::Kind(kind.to_string()))?;
    if how.never_warn && how.shadow {
        return Err(GatewayOpsError::Check(
            "a never-warn list is loaded live; try it on a copy of the service first".into(),
        ));
    }
    if let Some(d) = how.pdq_distance {
        if kind != lists::ListKind::Hashes || d > 256 {
            return Err(GatewayOpsError::Check(
                "--pdq-distance is for hash lists, from 0 to 256 bits".into(),
            ));
        }
    }
    let prepared = lists::prepare(kind, name, category, text)?;
    let (store, audit_key, lists_key) = open_for_lists(config, &clock).await?;
    let now = clock.now_unix();
    let role = if how.never_warn { "never" } else { "warn" };
    let mut tx = store.begin().await?;
    let version = match tx
        .list_import_as(
            kind.as_str(),
            name,
            category,
            prepared.entries as i64,
            |v| lists::seal(&lists_key, kind.as_str(), name, v, &prepared.text),
            now,
            "cli",
            reachline_store::ListMode {
                role,
                shadow: how.shadow,
                pdq_distance: how.pdq_distance.map(i64::from),
            },
        )
        .await
    {
        Ok(v) => v,
        Err(StoreError::Conflict) => {
            return Err(GatewayOpsError::Check(format!(
                "{name} is already a {} list; a list keeps its role: import this one under another name",
                if how.never_warn { "warning" } else { "never-warn" }
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let object = format!("list:{}:{name}", kind.as_str());
    let detail = format!(
        "version {version}, {} entries{}{}",
        prepared.entries,
        if how.never_warn { ", never-warn" } else { "" },
        if how.shadow { ", in shadow" } else { "" }
    );
    commit_cli(tx, &audit_key, now, "lists.import", &object, &detail).await?;
    store.close().await;
    Ok((version, prepared.entries))
}

/// Makes a list's shadow version live; returns the version promoted.
pub async fn lists_promote(
    config: &Config,
    clock: SharedClock,
    kind: &str,
    name: &str,
) -> Result<i64, GatewayOpsError> {
    let (store, audit_key, _) = open_for_lists(config, &clock).await?;
    let now = clock.now_unix();
    let mut tx = store.begin().await?;
    let Some(version) = tx.list_promote(kind, name, now).await? else {
        return Err(GatewayOpsError::Check(format!(
            "{kind} list {name} has no version in shadow (import one with --shadow)"
        )));
    };
    let object = format!("list:{kind}:{name}");
    commit_cli(
        tx,
        &audit_key,
        now,
        "lists.promote",
        &object,
        &format!("version {version}"),
    )
    .await?;
    store.close().await;
    Ok(version)
}

/// Puts back the version that was live before the current one; returns (from, to).
pub async fn lists_rollback(
    config: &Config,
    clock: SharedClock,
    kind: &str,
    name: &str,
) -> Result<(i64, i64), GatewayOpsError> {
    let (store, audit_key, _) = open_for_lists(config, &clock).await?;
    let now = clock.now_unix();
    let mut tx = store.begin().await?;
    let Some((from, to)) = tx.list_rollback(kind, name, now).await? else {
        return Err(GatewayOpsError::Check(format!(
            "{kind} list {name} has no earlier live version to go back to"
        )));
    };
    let object = format!("list:{kind}:{name}");
    commit_cli(
        tx,
        &audit_key,
        now,
        "lists.rollback",
        &object,
        &format!("version {from} to {to}"),
    )
    .await?;
    store.close().await;
    Ok((from, to))
}

/// Matches per entry (or per category) over the last `days` days, as lines for the
/// operator: never an input, only counts.
pub async fn lists_stats(
    config: &Config,
    clock: SharedClock,
    days: u32,
    per_day: bool,
    by_category: bool,
) -> Result<Vec<String>, GatewayOpsError> {
    use crate::deterrence::outcome;
    let store = open_store(config).await.map_err(OpsError::from)?;
    let now = clock.now_unix();
    let from = reachline_core::clock::day_of(now - i64::from(days.max(1) - 1) * 86_400);
    let rows = store
        .deterrence_entry_counts(&from, &reachline_core::clock::day_of(now))
        .await?;
    store.close().await;
    let stats = crate::deterrence::summarise(&rows, per_day, by_category);
    let mut out = vec![format!(
        "{}{:<9} {:<32} {:<16} {}",
        if per_day { "day        " } else { "" },
        "kind",
        if by_category {
            ""
        } else {
            "entry (list:line) version"
        },
        "category",
        outcome::ALL
            .iter()
            .map(|o| format!("{o:>17}"))
            .collect::<String>()
    )];
    for s in &stats {
        out.push(format!(
            "{}{:<9} {:<32} {:<16} {}",
            s.day.as_ref().map(|d| format!("{d} ")).unwrap_or_default(),
            s.kind,
            if by_category {
                String::new()
            } else {
                format!("{} v{}", s.entry_id, s.version)
            },
            s.category,
            s.counts
                .iter()
                .map(|n| format!("{n:>17}"))
                .collect::<String>()
        ));
    }
    if stats.is_empty() {
        out.push(format!("no matches in the last {days} days"));
    }
    Ok(out)
}

/// Every list version, as lines for the operator.
pub async fn lists_list(
    config: &Config,
    clock: SharedClock,
) -> Result<Vec<String>, GatewayOpsError> {
    let (store, _, _) = open_for_lists(config, &clock).await?;
    let rows = store.lists_all().await?;
    let tombstones = store.tombstones().await?;
    store.close().await;
    Ok(rows
        .iter()
        .map(|r| {
            let disabled = tombstones
                .iter()
                .filter(|t| t.starts_with(&format!("{}:", r.name)))
                .count();
            format!(
                "{:<9} {:<24} v{:<4} {:>8} entries {:<7} {}{}",
                r.kind,
                r.name,
                r.version,
                r.entries,
                match (r.active, r.shadow, r.role.as_str()) {
                    (true, _, "never") => "active never-warn",
                    (true, _, _) => "active",
                    (_, true, _) => "shadow",
                    _ => "old",
                },
                crate::time::utc_minute(r.created_at),
                if r.active && disabled > 0 {
                    format!(" ({disabled} disabled)")
                } else {
                    String::new()
                }
            )
        })
        .collect())
}

/// Disables one entry (by its id, `NAME:LINE`) at once.
pub async fn lists_disable(
    config: &Config,
    clock: SharedClock,
    kind: &str,
    name: &str,
    entry: &str,
) -> Result<bool, GatewayOpsError> {
    let (store, audit_key, _) = open_for_lists(config, &clock).await?;
    let now = clock.now_unix();
    let entry_id = if entry.contains(':') {
        entry.to_string()
    } else {
        format!("{name}:{entry}")
    };
    let mut tx = store.begin().await?;
    let added = tx.tombstone_add(kind, name, &entry_id, now, "cli").await?;
    let object = format!("list:{kind}:{name}");
    commit_cli(
        tx,
        &audit_key,
        now,
        "lists.disable-entry",
        &object,
        &entry_id,
    )
    .await?;
    store.close().await;
    Ok(added)
}

/// Adds a partner and returns its key, shown once.
pub async fn partners_add(
    config: &Config,
    clock: SharedClock,
    name: &str,
    frame_ancestors: &str,
) -> Result<String, GatewayOpsError> {
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    if !valid {
        return Err(GatewayOpsError::PartnerName);
    }
    if !frame_ancestors
        .split_whitespace()
        .all(|o| o.starts_with("https://") && !o.contains(['\'', ';', '"']))
    {
        return Err(GatewayOpsError::FrameAncestors);
    }
    let (store, audit_key, _) = open_for_lists(config, &clock).await?;
    let now = clock.now_unix();
    let key = format!("rlk_{}", staff::new_token());
    let mut tx = store.begin().await?;
    let id = match tx
        .partner_create(name, &staff::token_hash(&key), frame_ancestors, now)
        .await
    {
        Ok(id) => id,
        Err(StoreError::Conflict) => return Err(GatewayOpsError::PartnerTaken(name.to_string())),
        Err(e) => return Err(e.into()),
    };
    commit_cli(
        tx,
        &audit_key,
        now,
        "partners.add",
        &format!("partner:{id}"),
        name,
    )
    .await?;
    store.close().await;
    Ok(key)
}

pub async fn partners_list(
    config: &Config,
    clock: SharedClock,
) -> Result<Vec<String>, GatewayOpsError> {
    let (store, _, _) = open_for_lists(config, &clock).await?;
    let rows = store.partners_all().await?;
    store.close().await;
    Ok(rows
        .iter()
        .map(|p| {
            format!(
                "p{:<4} {:<24} {:<8} added {}{}",
                p.id,
                p.name,
                if p.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                },
                crate::time::utc_minute(p.created_at),
                if p.frame_ancestors.is_empty() {
                    String::new()
                } else {
                    format!("  frames: {}", p.frame_ancestors)
                }
            )
        })
        .collect())
}

pub async fn partners_revoke(
    config: &Config,
    clock: SharedClock,
    name: &str,
) -> Result<(), GatewayOpsError> {
    let (store, audit_key, _) = open_for_lists(config, &clock).await?;
    let now = clock.now_unix();
    let mut tx = store.begin().await?;
    if !tx.partner_revoke(name, now).await? {
        return Err(GatewayOpsError::NoPartner(name.to_string()));
    }
    commit_cli(tx, &audit_key, now, "partners.revoke", "", name).await?;
    store.close().await;
    Ok(())
}

/// What `reachline deterrence check` asks.
pub enum CheckInput {
    Query(String),
    Url(String),
    Pdq(String),
}

/// The same verdict the API gives (without a warning), as JSON; with `explain`, the
/// normalisation steps for a query.
pub async fn deterrence_check(
    config: &Config,
    clock: SharedClock,
    input: CheckInput,
    explain: bool,
) -> Result<serde_json::Value, GatewayOpsError> {
    let (store, _, lists_key) = open_for_lists(config, &clock).await?;
    let gateway = crate::deterrence::Gateway::new(lists_key, 1, 1);
    gateway.reload(&store).await?;
    store.close().await;
    let loaded = gateway.loaded();
    let inputs = match &input {
        CheckInput::Query(q) => crate::deterrence::Inputs {
            query: Some(q),
            ..Default::default()
        },
        CheckInput::Url(u) => crate::deterrence::Inputs {
            url: Some(u),
            ..Default::default()
        },
        CheckInput::Pdq(h) => crate::deterrence::Inputs {
            pdq: Some(h),
            ..Default::default()
        },
    };
    let verdict = loaded
        .check(&inputs)
        .map_err(|(_, e)| GatewayOpsError::Check(e.to_string()))?;
    let matches = verdict.warn;
    let others: Vec<serde_json::Value> = verdict
        .counted
        .iter()
        .filter(|c| c.outcome != crate::deterrence::outcome::WARNED)
        .map(|c| {
            serde_json::json!({
                "outcome": c.outcome,
                "entry_id": c.matched.entry_id,
                "list": c.matched.list,
                "version": c.version,
            })
        })
        .collect();
    let mut out = serde_json::json!({
        "match": !matches.is_empty(),
        "signals": matches,
    });
    if !others.is_empty() {
        // What the shadow and never-warn lists did with this input.
        out["not_warning"] = serde_json::Value::Array(others);
    }
    if let (true, CheckInput::Query(q)) = (explain, &input) {
        let why = loaded
            .matcher
            .explain(q)
            .map_err(|e| GatewayOpsError::Check(e.to_string()))?;
        out["explain"] = serde_json::to_value(&why).unwrap_or_default();
    }
    Ok(out)
}

/// `reachline report`: the standard annual set for an area (or nationally).
pub async fn report(
    config: &Config,
    area: Option<&str>,
    period: crate::reporting::Period,
    format: &str,
    epsilon: Option<f64>,
) -> Result<String, GatewayOpsError> {
    if epsilon.is_some_and(|e| !(e.is_finite() && e > 0.0 && e <= 20.0)) {
        return Err(GatewayOpsError::Check(
            "epsilon must be a number above 0 and at most 20".into(),
        ));
    }
    let privacy = epsilon.map(|epsilon| reachline_core::disclosure::Privacy { epsilon });
    let store = open_store(config).await.map_err(OpsError::from)?;
    let report = crate::reporting::build(
        &store,
        area,
        period,
        reachline_core::disclosure::Rules::default(),
        privacy,
    )
    .await
    .map_err(|e| GatewayOpsError::Check(e.to_string()))?;
    store.close().await;
    Ok(match format {
        "csv" => crate::reporting::csv(&report).map_err(|e| {
            GatewayOpsError::Check(format!("the CSV report could not be written: {e}"))
        })?,
        "html" => crate::reporting::html(&report).map_err(|e| {
            GatewayOpsError::Check(format!("the HTML report could not be written: {e}"))
        })?,
        _ => serde_json::to_string_pretty(&report).map_err(|e| {
            GatewayOpsError::Check(format!("the JSON report could not be written: {e}"))
        })?,
    })
}

/// The account demo records are written by (never signed in to).
pub const DEMO_ACCOUNT: &str = "demo-data";

/// `reachline demo seed`: realistic synthetic contact records for one area and year, through
/// the same store path as wrap-ups, marked synthetic. `people` first contacts, plus repeats.
pub async fn demo_seed(
    config: &Config,
    clock: SharedClock,
    year: i32,
    area: &str,
    people: usize,
) -> Result<u64, GatewayOpsError> {
    use rand::{Rng, SeedableRng};
    if reachline_core::areas::find(area).is_none() {
        return Err(GatewayOpsError::Check(format!(
            "{area} is not a police force area code"
        )));
    }
    prepare_data_dir(config).map_err(OpsError::from)?;
    let store = open_store(config).await.map_err(OpsError::from)?;
    let now = clock.now_unix();
    let demo = match store.staff_by_username(DEMO_ACCOUNT).await? {
        Some(s) => s.id,
        None => {
            store
                .staff_create(DEMO_ACCOUNT, Role::Practitioner, "", now)
                .await?
        }
    };
    let start = time::Date::from_calendar_date(year, time::Month::January, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|e| GatewayOpsError::Check(e.to_string()))?;
    let end = time::Date::from_calendar_date(year + 1, time::Month::January, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|e| GatewayOpsError::Check(e.to_string()))?;
    let mut rng =
        rand::rngs::StdRng::seed_from_u64(u64::from(year.unsigned_abs()) * 7919 + people as u64);
    use reachline_core::vocabulary::Channel;
    let channels = [
        Channel::Phone,
        Channel::Phone,
        Channel::Phone,
        Channel::Chat,
        Channel::Chat,
        Channel::Message,
        Channel::Callback,
    ];
    let who = [
        "self",
        "self",
        "self",
        "someone-else",
        "someone-else",
        "professional",
    ];
    let concerns = crate::vocabulary::CONCERNS;
    let mut records = Vec::with_capacity(people * 2);
    for _ in 0..people {
        let repeats = if rng.gen_bool(0.35) {
            rng.gen_range(1..4)
        } else {
            0
        };
        // First contacts spread over the whole year; a repeat that would fall in the next
        // year is not written (it would be that year's), so December is like other months.
        let mut t = start + rng.gen_range(0..(end - start - 3_600));
        for i in 0..=repeats {
            if t >= end - 3_600 {
                break;
            }
            let c = concerns[rng.gen_range(0..concerns.len())];
            records.push(reachline_store::WrapUp {
                channel: channels[rng.gen_range(0..channels.len())],
                started_at: t,
                ended_at: t + rng.gen_range(300..3600),
                who: who[rng.gen_range(0..who.len())].to_string(),
                age_group: if rng.gen_bool(0.04) {
                    "under-18"
                } else {
                    "adult"
                }
                .to_string(),
                area: area.to_string(),
                concerns: c.to_string(),
                arrested: ["no", "arrested", "under-investigation", "not-asked"]
                    [rng.gen_range(0..4)]
                .to_string(),
                actions: "safety-plan".into(),
                signposting: "self-help-modules".into(),
                first_this_year: i == 0,
                statement_version: "demo".into(),
                synthetic: true,
            });
            t += rng.gen_range(86_400..(10 * 86_400));
        }
    }
    let mut total = 0;
    for chunk in records.chunks(5000) {
        total += store.demo_contacts(demo, chunk, now).await?;
    }
    store.close().await;
    Ok(total)
}

pub async fn demo_purge(config: &Config) -> Result<u64, GatewayOpsError> {
    let store = open_store(config).await.map_err(OpsError::from)?;
    let n = store.demo_purge().await?;
    store.close().await;
    Ok(n)
}

/// `reachline telephony twilio-token`: keeps the provider's auth token sealed with the
/// `telephony` data key (never printed or logged). Audited, without the token.
pub async fn telephony_set_twilio_token(
    config: &Config,
    clock: SharedClock,
    token: &str,
) -> Result<(), GatewayOpsError> {
    let token = token.trim();
    if token.is_empty() || token.len() > 256 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(GatewayOpsError::Check(
            crate::telephony::TelephonyError::BadToken.to_string(),
        ));
    }
    prepare_data_dir(config).map_err(OpsError::from)?;
    let (master, _) = MasterKey::load_or_create(&config.master_key_path())
        .map_err(|e| OpsError::from(StartError::Key(e)))?;
    let store = open_store(config).await.map_err(OpsError::from)?;
    let now = clock.now_unix();
    let key = data_key(&store, &master, "telephony", now)
        .await
        .map_err(OpsError::from)?;
    let audit_key = data_key(&store, &master, "audit", now)
        .await
        .map_err(OpsError::from)?;
    let sealed = key.seal(
        reachline_core::sealing::Context::TelephonySecret {
            name: crate::telephony::TWILIO_TOKEN,
        },
        token.as_bytes(),
    );
    // The token and its audit entry are stored together or not at all.
    let mut tx = store.begin().await?;
    tx.telephony_secret_set(crate::telephony::TWILIO_TOKEN, &sealed, now)
        .await?;
    commit_cli(tx, &audit_key, now, "telephony.token", "twilio", "set").await?;
    store.close().await;
    Ok(())
}

/// `reachline telephony import-queue-log`: applies an Asterisk `queue_log` once, or with
/// `follow`, keeps reading what the PBX appends (a rotated file is read from its start)
/// until interrupted. Prints nothing of a caller; returns the lines read.
pub async fn telephony_import_queue_log(
    config: &Config,
    clock: SharedClock,
    path: &std::path::Path,
    queue: &str,
    follow: bool,
    mut report: impl FnMut(crate::telephony::ImportSummary),
) -> Result<usize, GatewayOpsError> {
    prepare_data_dir(config).map_err(OpsError::from)?;
    let (master, _) = MasterKey::load_or_create(&config.master_key_path())
        .map_err(|e| OpsError::from(StartError::Key(e)))?;
    let store = open_store(config).await.map_err(OpsError::from)?;
    let key = data_key(&store, &master, "telephony", clock.now_unix())
        .await
        .map_err(OpsError::from)?;
    let count = config.telephony.count_repeat_callers;
    let read_err = |e: std::io::Error| {
        GatewayOpsError::Check(format!("could not read {}: {e}", path.display()))
    };
    let mut offset = 0usize;
    let mut total = 0;
    loop {
        let bytes = tokio::fs::read(path).await.map_err(read_err)?;
        if bytes.len() < offset {
            offset = 0; // rotated
        }
        // Only whole lines: the PBX may be writing the last one.
        let end = match bytes[offset..].iter().rposition(|b| *b == b'\n') {
            Some(i) => offset + i + 1,
            None if !follow => bytes.len(),
            None => offset,
        };
        if end > offset {
            let text = String::from_utf8_lossy(&bytes[offset..end]);
            let summary =
                crate::telephony::import_queue_log(&store, &key, count, queue, &text).await?;
            total += summary.lines;
            report(summary);
            offset = end;
        }
        if !follow {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    store.close().await;
    Ok(total)
}

/// `reachline telephony import-csv`: call records from any other system.
pub async fn telephony_import_csv(
    config: &Config,
    text: &str,
) -> Result<crate::telephony::ImportSummary, GatewayOpsError> {
    let store = open_store(config).await.map_err(OpsError::from)?;
    let result = crate::telephony::import_calls_csv(&store, text).await;
    store.close().await;
    result.map_err(GatewayOpsError::Check)
}
