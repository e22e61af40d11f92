//! The deterrence gateway: the operator's lists held as an immutable matcher that is swapped
//! atomically when lists change, partner keys, warnings, and counters.
//!
//! Nothing a partner sends is stored or logged: inputs live only for the duration of a
//! check. Only counts are kept, per day × partner × list category × message variant, and per
//! day × list entry × outcome.
//!
//! Three matchers are held: the live warning lists, the warning lists' shadow versions
//! (matched and counted, never warning, until `reachline lists promote`) and the never-warn
//! lists. A never-warn entry that matches an input overrides every match on that input (the
//! same query, URL or hash): the warning is not shown, and the overridden entries are counted
//! as suppressed.

pub mod lists;

use base64::Engine;
use reachline_core::clock;
use reachline_core::keys::Key;
use reachline_core::sealing::Context;
use reachline_core::vocabulary::ListKind;
use reachline_matcher::{Error as MatchError, Match, Matcher, MatcherBuilder, Signal};
use reachline_store::{EntryCount, ListsGeneration, PartnerRow, Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Warning variants, assigned at random per request; `talk` steps up after repeats.
pub const VARIANTS: &[&str] = &["illegal", "traceable", "harm"];
pub const TALK: &str = "talk";

/// The lists in force.
pub struct Loaded {
    /// The live warning lists.
    pub matcher: Matcher,
    /// The warning lists' shadow versions, if any.
    pub shadow: Option<Matcher>,
    /// The never-warn lists, if any.
    pub never: Option<Matcher>,
    pub tombstones: HashSet<String>,
    pub lists: usize,
    pub entries: i64,
    /// (kind, name, version) of each live list (warning and never-warn).
    pub versions: Vec<(String, String, i64)>,
    /// Every version in use, with its role and whether it is in shadow.
    pub in_use: Vec<InUse>,
    /// (kind, name) → version, for each matcher: live, shadow, never.
    live_versions: HashMap<(&'static str, String), i64>,
    shadow_versions: HashMap<(&'static str, String), i64>,
    never_versions: HashMap<(&'static str, String), i64>,
}

/// A list version in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InUse {
    pub kind: String,
    pub name: String,
    pub version: i64,
    /// `warn` or `never`.
    pub role: String,
    pub shadow: bool,
    pub entries: i64,
    pub category: String,
    pub pdq_distance: Option<i64>,
}

/// The inputs of one check; at least one is given.
#[derive(Debug, Default, Clone, Copy)]
pub struct Inputs<'a> {
    pub query: Option<&'a str>,
    pub url: Option<&'a str>,
    pub pdq: Option<&'a str>,
    pub md5: Option<&'a str>,
    pub sha256: Option<&'a str>,
}

impl Inputs<'_> {
    pub fn is_empty(&self) -> bool {
        self.query.is_none()
            && self.url.is_none()
            && self.pdq.is_none()
            && self.md5.is_none()
            && self.sha256.is_none()
    }
}

/// What an entry's match came to.
pub mod outcome {
    /// A live entry matched and the warning was shown.
    pub const WARNED: &str = "warned";
    /// A live entry matched, but a never-warn entry overrode it.
    pub const SUPPRESSED: &str = "suppressed";
    /// A shadow version's entry matched (it would have warned).
    pub const SHADOW: &str = "shadow";
    /// A shadow version's entry matched, but a never-warn entry would have overridden it.
    pub const SHADOW_SUPPRESSED: &str = "shadow-suppressed";
    /// A never-warn entry matched and overrode at least one match.
    pub const OVERRODE: &str = "overrode";
    /// A partner reported that a warning from this entry was wrong.
    pub const REPORTED: &str = "reported";
    /// Every outcome, in the order reports show them.
    pub const ALL: [&str; 6] = [
        WARNED,
        SUPPRESSED,
        SHADOW,
        SHADOW_SUPPRESSED,
        OVERRODE,
        REPORTED,
    ];
}

/// One entry's part in a check: the match, its list version and its outcome.
#[derive(Debug, Clone)]
pub struct Counted {
    pub kind: &'static str,
    pub version: i64,
    pub matched: Match,
    pub outcome: &'static str,
}

/// The result of one check.
#[derive(Debug, Default)]
pub struct Verdict {
    /// The live matches that warn (none when a never-warn entry overrode them).
    pub warn: Vec<Match>,
    /// Every entry that took part, for the per-entry counts.
    pub counted: Vec<Counted>,
}

/// The list kind an entry of this signal belongs to.
pub fn kind_of(signal: &Signal) -> &'static str {
    match signal {
        Signal::Keyword { .. } => ListKind::Keywords.as_str(),
        Signal::Url => ListKind::Urls.as_str(),
        Signal::Pdq { .. } | Signal::Md5 | Signal::Sha256 => ListKind::Hashes.as_str(),
    }
}

#[derive(Clone, Copy)]
enum Field {
    Query,
    Url,
    Pdq,
    Md5,
    Sha256,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Query => "query",
            Field::Url => "url",
            Field::Pdq => "pdq",
            Field::Md5 => "md5",
            Field::Sha256 => "sha256",
        }
    }

    fn check(self, m: &Matcher, input: &str) -> Result<Vec<Match>, MatchError> {
        match self {
            Field::Query => m.check_query(input),
            Field::Url => m.check_url(input),
            Field::Pdq => m.check_pdq_hex(input),
            Field::Md5 => m.check_md5(input),
            Field::Sha256 => m.check_sha256(input),
        }
    }
}

impl Loaded {
    fn empty() -> Loaded {
        Loaded {
            matcher: Matcher::empty(),
            shadow: None,
            never: None,
            tombstones: HashSet::new(),
            lists: 0,
            entries: 0,
            versions: Vec::new(),
            in_use: Vec::new(),
            live_versions: HashMap::new(),
            shadow_versions: HashMap::new(),
            never_versions: HashMap::new(),
        }
    }

    /// Checks every input against the live, shadow and never-warn lists. An input that
    /// cannot be checked is an error naming its field; nothing is counted then.
    pub fn check(&self, inputs: &Inputs<'_>) -> Result<Verdict, (&'static str, MatchError)> {
        let mut verdict = Verdict::default();
        let fields = [
            (Field::Query, inputs.query),
            (Field::Url, inputs.url),
            (Field::Pdq, inputs.pdq),
            (Field::Md5, inputs.md5),
            (Field::Sha256, inputs.sha256),
        ];
        for (field, input) in fields {
            let Some(input) = input else { continue };
            let live = field
                .check(&self.matcher, input)
                .map_err(|e| (field.name(), e))?;
            let live: Vec<Match> = live
                .into_iter()
                .filter(|m| !self.tombstones.contains(&m.entry_id))
                .collect();
            // The shadow and never-warn matchers share the live one's configuration, so an
            // input the live one took cannot fail in them; if one did, it found nothing.
            let shadow: Vec<Match> = self
                .shadow
                .as_ref()
                .and_then(|m| field.check(m, input).ok())
                .unwrap_or_default()
                .into_iter()
                .filter(|m| !self.tombstones.contains(&m.entry_id))
                .collect();
            let never = if live.is_empty() && shadow.is_empty() {
                Vec::new()
            } else {
                self.never
                    .as_ref()
                    .and_then(|m| field.check(m, input).ok())
                    .unwrap_or_default()
            };
            let overridden = !never.is_empty();
            let mut count = |versions: &HashMap<(&'static str, String), i64>,
                             m: Match,
                             outcome: &'static str| {
                let kind = kind_of(&m.signal);
                // Each matcher is built from the rows its map is, so every list is in it;
                // 0 (no version) could only show in the counts, never change the verdict.
                let version = versions.get(&(kind, m.list.clone())).copied().unwrap_or(0);
                verdict.counted.push(Counted {
                    kind,
                    version,
                    matched: m,
                    outcome,
                });
            };
            for m in live {
                if overridden {
                    count(&self.live_versions, m, outcome::SUPPRESSED);
                } else {
                    count(&self.live_versions, m.clone(), outcome::WARNED);
                    verdict.warn.push(m);
                }
            }
            for m in shadow {
                let o = if overridden {
                    outcome::SHADOW_SUPPRESSED
                } else {
                    outcome::SHADOW
                };
                count(&self.shadow_versions, m, o);
            }
            for m in never {
                count(&self.never_versions, m, outcome::OVERRODE);
            }
        }
        Ok(verdict)
    }
}

type CounterKey = (String, i64, String, String, &'static str);
/// (day, kind, name, version, entry id, category, outcome)
type EntryKey = (
    String,
    &'static str,
    String,
    i64,
    String,
    String,
    &'static str,
);

/// What a match identifier holds: the partner, the day and the entries that warned.
#[derive(serde::Serialize, serde::Deserialize)]
struct MatchIdBody {
    p: i64,
    d: String,
    /// (kind, name, version, entry id, category)
    e: Vec<(String, String, i64, String, String)>,
}

/// Why a report of a wrong warning was not taken.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error("this is not a match identifier given to this partner")]
    Unknown,
    #[error("this match identifier is more than {MATCH_ID_DAYS} days old")]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The most entries a match identifier names (the first that warned); enough to find the
/// entries that misfire, and it keeps identifiers short.
pub const MATCH_ID_ENTRIES: usize = 20;

/// How long a partner may report a warning as wrong.
pub const MATCH_ID_DAYS: i64 = 30;

/// A partner key's holder as last read (none for a key nobody holds), and when.
type KnownKey = (Option<Arc<PartnerRow>>, Instant);

pub struct Gateway {
    current: RwLock<Arc<Loaded>>,
    generation: tokio::sync::Mutex<Option<ListsGeneration>>,
    counters: Mutex<HashMap<CounterKey, i64>>,
    entry_counters: Mutex<HashMap<EntryKey, i64>>,
    keys: Mutex<HashMap<[u8; 32], KnownKey>>,
    /// Each partner's allowance of checks.
    rate: crate::limits::Rate<i64>,
    lists_key: Key,
    /// True once lists have been loaded from the store at least once.
    ready: std::sync::atomic::AtomicBool,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("list {0} could not be opened with this master key")]
    Seal(String),
    #[error("list {0} is not valid: {1}")]
    List(String, String),
}

impl Gateway {
    /// A gateway with no lists yet; each partner may check `per_second` a second, in
    /// bursts of `burst`.
    pub fn new(lists_key: Key, per_second: u64, burst: u64) -> Gateway {
        Gateway {
            current: RwLock::new(Arc::new(Loaded::empty())),
            generation: tokio::sync::Mutex::new(None),
            counters: Mutex::new(HashMap::new()),
            entry_counters: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
            rate: crate::limits::Rate::new(crate::limits::per_second(per_second, burst)),
            lists_key,
            ready: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// True once the lists in the store (possibly none) have been loaded.
    pub fn is_loaded(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The lists in force; a check keeps using this snapshot even if a reload swaps in a
    /// new one meanwhile.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.current
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Rebuilds the matcher if lists or tombstones changed since the last load. The new
    /// matcher is built off the request threads and swapped in at once.
    pub async fn reload(&self, store: &Store) -> Result<bool, LoadError> {
        let mut generation = self.generation.lock().await;
        let now_gen = store.lists_generation().await?;
        if generation.as_ref() == Some(&now_gen) {
            return Ok(false);
        }
        let active = store.lists_active().await?;
        let tombstones: HashSet<String> = store.tombstones().await?.into_iter().collect();
        let mut texts = Vec::with_capacity(active.len());
        let mut entries = 0;
        for (row, sealed) in &active {
            let text = self
                .lists_key
                .open(
                    Context::ListVersion {
                        kind: row.kind.as_str(),
                        name: &row.name,
                        version: row.version,
                    },
                    sealed,
                )
                .map_err(|_| LoadError::Seal(row.name.clone()))?;
            if row.active {
                entries += row.entries;
            }
            texts.push((row.clone(), String::from_utf8_lossy(&text).into_owned()));
        }
        let lists = texts.iter().filter(|(row, _)| row.active).count();
        let versions = texts
            .iter()
            .filter(|(row, _)| row.active)
            .map(|(row, _)| (row.kind.to_string(), row.name.clone(), row.version))
            .collect();
        let in_use = texts
            .iter()
            .map(|(row, _)| InUse {
                kind: row.kind.to_string(),
                name: row.name.clone(),
                version: row.version,
                role: row.role.clone(),
                shadow: row.shadow,
                entries: row.entries,
                category: row.category.clone(),
                pdq_distance: row.pdq_distance,
            })
            .collect();
        let mut live_versions = HashMap::new();
        let mut shadow_versions = HashMap::new();
        let mut never_versions = HashMap::new();
        for (row, _) in &texts {
            let key = (row.kind.as_str(), row.name.clone());
            let map = match (row.role.as_str(), row.shadow) {
                ("never", _) => &mut never_versions,
                (_, true) => &mut shadow_versions,
                _ => &mut live_versions,
            };
            map.insert(key, row.version);
        }
        let (matcher, shadow, never) = at_low_priority(
            move || -> Result<(Matcher, Option<Matcher>, Option<Matcher>), LoadError> {
                let build = |pick: &dyn Fn(&reachline_store::ListRow) -> bool| {
                    let mut builder = MatcherBuilder::new();
                    let mut any = false;
                    for (row, text) in texts.iter().filter(|(row, _)| pick(row)) {
                        any = true;
                        let result = match row.kind {
                            ListKind::Keywords => {
                                builder.add_keywords_csv(&row.name, text).map(|_| ())
                            }
                            ListKind::Urls => builder
                                .add_url_lines(&row.name, &row.category, text)
                                .map(|_| ()),
                            ListKind::Hashes => builder.add_hashes_csv(&row.name, text).map(|_| ()),
                        };
                        result.map_err(|e| LoadError::List(row.name.clone(), e.to_string()))?;
                        if let Some(d) = row.pdq_distance {
                            builder
                                .pdq_threshold(&row.name, u32::try_from(d).unwrap_or(u32::MAX))
                                .map_err(|e| LoadError::List(row.name.clone(), e.to_string()))?;
                        }
                    }
                    let matcher = builder
                        .build()
                        .map_err(|e| LoadError::List("(all)".into(), e.to_string()))?;
                    Ok::<_, LoadError>(any.then_some(matcher))
                };
                let live =
                    build(&|r| r.role != "never" && r.active)?.unwrap_or_else(Matcher::empty);
                let shadow = build(&|r| r.role != "never" && r.shadow)?;
                let never = build(&|r| r.role == "never" && r.active)?;
                Ok((live, shadow, never))
            },
        )
        .await
        .map_err(|e| LoadError::List("(all)".into(), e))??;
        let loaded = Arc::new(Loaded {
            matcher,
            shadow,
            never,
            tombstones,
            lists,
            entries,
            versions,
            in_use,
            live_versions,
            shadow_versions,
            never_versions,
        });
        // Replacing the Arc cannot be left half done, so a lock poisoned by a panic elsewhere
        // is used as it is: the new lists always take effect. The lists replaced are let go
        // of after the lock (see `retire`).
        let replaced = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(|e| e.into_inner()),
            loaded,
        );
        retire(replaced);
        *generation = Some(now_gen);
        self.ready.store(true, std::sync::atomic::Ordering::Release);
        tracing::info!(lists, entries, "deterrence lists loaded");
        Ok(true)
    }

    /// The partner holding a key, remembered for `ttl` (so a revoked key stops within it).
    /// Remembered by the key's digest; its hexadecimal form, which the store looks up, is
    /// written only when the partner is read from the store.
    pub async fn partner(
        &self,
        store: &Store,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<Arc<PartnerRow>>, StoreError> {
        let digest = reachline_core::staff::token_digest(key);
        if let Ok(cache) = self.keys.lock() {
            if let Some((p, at)) = cache.get(&digest) {
                if at.elapsed() < ttl {
                    return Ok(p.clone());
                }
            }
        }
        let p = store
            .partner_by_key(&hex::encode(digest))
            .await?
            .map(Arc::new);
        if let Ok(mut cache) = self.keys.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(digest, (p.clone(), Instant::now()));
        }
        Ok(p)
    }

    /// Spends `cost` of the partner's allowance of checks, or says when to come back.
    pub fn allow(&self, partner: i64, cost: u64) -> Result<(), crate::limits::RetryAfter> {
        self.rate.check_n(&partner, cost)
    }

    /// Forgets partners whose allowance is full again.
    pub fn tidy(&self) {
        self.rate.tidy();
    }

    pub fn count(
        &self,
        now: i64,
        partner: i64,
        category: &str,
        variant: &str,
        metric: &'static str,
    ) {
        // Counts are plain numbers: a panic elsewhere cannot leave them inconsistent, so a
        // poisoned lock is used as it is rather than dropping the count.
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry((
            clock::day_of(now),
            partner,
            category.to_string(),
            variant.to_string(),
            metric,
        ))
        .or_default() += 1;
    }

    /// Counts each entry's part in a check (per day, never the input).
    pub fn count_entries(&self, now: i64, counted: &[Counted]) {
        if counted.is_empty() {
            return;
        }
        let day = clock::day_of(now);
        let mut c = self
            .entry_counters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for x in counted {
            *c.entry((
                day.clone(),
                x.kind,
                x.matched.list.clone(),
                x.version,
                x.matched.entry_id.clone(),
                x.matched.category.clone(),
                x.outcome,
            ))
            .or_default() += 1;
        }
    }

    /// The identifier a partner gets with a warning: the entries that warned, sealed (the
    /// partner can read nothing in it and it holds no input), for reporting it as wrong.
    pub fn match_id(&self, partner: i64, now: i64, counted: &[Counted]) -> String {
        let body = MatchIdBody {
            p: partner,
            d: clock::day_of(now),
            e: counted
                .iter()
                .filter(|c| c.outcome == outcome::WARNED)
                .take(MATCH_ID_ENTRIES)
                .map(|c| {
                    (
                        c.kind.to_string(),
                        c.matched.list.clone(),
                        c.version,
                        c.matched.entry_id.clone(),
                        c.matched.category.clone(),
                    )
                })
                .collect(),
        };
        // Serialising strings and integers cannot fail.
        let json = serde_json::to_vec(&body).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.lists_key.seal(Context::MatchId, &json))
    }

    /// Counts a partner's report that the warning behind `id` was wrong, against each
    /// entry that warned; once per identifier. True when counted, false when already
    /// reported.
    pub async fn report_wrong(
        &self,
        store: &Store,
        partner: i64,
        now: i64,
        id: &str,
    ) -> Result<bool, FeedbackError> {
        let body = (id.len() <= 4096)
            .then(|| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(id)
                    .ok()
            })
            .flatten()
            .and_then(|sealed| self.lists_key.open(Context::MatchId, &sealed).ok())
            .and_then(|json| serde_json::from_slice::<MatchIdBody>(&json).ok())
            .filter(|b| b.p == partner)
            .ok_or(FeedbackError::Unknown)?;
        let oldest = clock::day_of(now - MATCH_ID_DAYS * 86_400);
        if body.d < oldest {
            return Err(FeedbackError::Expired);
        }
        let day = clock::day_of(now);
        let counts: Vec<EntryCount> = body
            .e
            .into_iter()
            .map(|(kind, name, version, entry_id, category)| EntryCount {
                day: day.clone(),
                kind,
                name,
                version,
                entry_id,
                category,
                outcome: outcome::REPORTED.to_string(),
                n: 1,
            })
            .collect();
        use sha2::Digest;
        let id_hash = hex::encode(sha2::Sha256::digest(id.as_bytes()));
        let forget_before = clock::day_of(now - (MATCH_ID_DAYS + 10) * 86_400);
        Ok(store
            .deterrence_feedback(&id_hash, &forget_before, &counts)
            .await?)
    }

    /// Writes buffered counts; on failure they are kept for the next try.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let entries = std::mem::take(
            &mut *self
                .entry_counters
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        if !entries.is_empty() {
            let rows: Vec<EntryCount> = entries
                .iter()
                .map(
                    |((day, kind, name, version, entry_id, category, outcome), n)| EntryCount {
                        day: day.clone(),
                        kind: kind.to_string(),
                        name: name.clone(),
                        version: *version,
                        entry_id: entry_id.clone(),
                        category: category.clone(),
                        outcome: outcome.to_string(),
                        n: *n,
                    },
                )
                .collect();
            if let Err(e) = store.deterrence_entries_add(&rows).await {
                let mut c = self
                    .entry_counters
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                for (k, n) in entries {
                    *c.entry(k).or_default() += n;
                }
                return Err(e);
            }
        }
        let taken = std::mem::take(&mut *self.counters.lock().unwrap_or_else(|e| e.into_inner()));
        // Arrivals are written last: each is counted only against warnings already stored.
        let mut taken: Vec<_> = taken.into_iter().collect();
        taken.sort_by_key(|(k, _)| k.4 == ARRIVAL);
        let mut failed = HashMap::new();
        let mut result = Ok(());
        for (k, n) in taken {
            if result.is_ok() {
                let written = if k.4 == ARRIVAL {
                    store
                        .deterrence_add_arrivals(&k.0, &clock::day_before(&k.0), k.1, &k.3, n)
                        .await
                        .map(|_| ())
                } else {
                    store.deterrence_add(&k.0, k.1, &k.2, &k.3, k.4, n).await
                };
                match written {
                    Ok(()) => continue,
                    Err(e) => result = Err(e),
                }
            }
            failed.insert(k, n);
        }
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        for (k, n) in failed {
            *c.entry(k).or_default() += n;
        }
        result
    }
}

/// Matches of one entry (or one category) with each outcome, in [`outcome::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryStat {
    /// The day, when counts are shown per day.
    pub day: Option<String>,
    pub kind: String,
    pub name: String,
    pub version: i64,
    /// Empty when counts are summed per category.
    pub entry_id: String,
    pub category: String,
    pub counts: [i64; 6],
}

impl EntryStat {
    pub fn count(&self, outcome: &str) -> i64 {
        outcome::ALL
            .iter()
            .position(|o| *o == outcome)
            .map_or(0, |i| self.counts[i])
    }
}

/// Sums per-entry counts per entry (or per category and whether shadow, with
/// `by_category`), per day or over the whole span; the entries reported wrong most come
/// first, then those that matched most.
pub fn summarise(rows: &[EntryCount], per_day: bool, by_category: bool) -> Vec<EntryStat> {
    /// (day, kind, name, version, entry id, category)
    type Key = (Option<String>, String, String, i64, String, String);
    let mut map: std::collections::BTreeMap<Key, [i64; 6]> = std::collections::BTreeMap::new();
    for r in rows {
        let Some(i) = outcome::ALL.iter().position(|o| *o == r.outcome) else {
            continue;
        };
        let day = per_day.then(|| r.day.clone());
        let key = if by_category {
            (
                day,
                r.kind.clone(),
                String::new(),
                0,
                String::new(),
                r.category.clone(),
            )
        } else {
            (
                day,
                r.kind.clone(),
                r.name.clone(),
                r.version,
                r.entry_id.clone(),
                r.category.clone(),
            )
        };
        map.entry(key).or_default()[i] += r.n;
    }
    let mut out: Vec<EntryStat> = map
        .into_iter()
        .map(
            |((day, kind, name, version, entry_id, category), counts)| EntryStat {
                day,
                kind,
                name,
                version,
                entry_id,
                category,
                counts,
            },
        )
        .collect();
    out.sort_by(|a, b| {
        a.day
            .cmp(&b.day)
            .then(b.count(outcome::REPORTED).cmp(&a.count(outcome::REPORTED)))
            .then(
                b.counts
                    .iter()
                    .sum::<i64>()
                    .cmp(&a.counts.iter().sum::<i64>()),
            )
    });
    out
}

/// What an administrator sees of the lists: the versions in use and the matches per entry.
pub struct ListsOverview {
    pub in_use: Vec<InUse>,
    /// Per entry over the span, the entries reported wrong most first.
    pub entries: Vec<EntryStat>,
    /// Per category over the span.
    pub categories: Vec<EntryStat>,
    pub days: u32,
    /// Entry ids disabled at once.
    pub disabled: HashSet<String>,
}

impl crate::App {
    /// The lists in use and their matches over the last `days` days (counts only).
    pub async fn lists_overview(&self, days: u32) -> Result<ListsOverview, StoreError> {
        let now = self.clock.now_unix();
        let days = days.clamp(1, 366);
        let from = clock::day_of(now - i64::from(days - 1) * 86_400);
        let rows = self
            .store
            .deterrence_entry_counts(&from, &clock::day_of(now))
            .await?;
        let disabled = self.store.tombstones().await?.into_iter().collect();
        Ok(ListsOverview {
            in_use: self.gateway.loaded().in_use.clone(),
            entries: summarise(&rows, false, false),
            categories: summarise(&rows, false, true),
            days,
            disabled,
        })
    }

    /// Disables one entry of a list at once (a false positive), audited as done by `actor`.
    /// False when it was already disabled.
    pub async fn lists_disable_entry(
        &self,
        actor: &str,
        kind: &str,
        name: &str,
        entry_id: &str,
    ) -> Result<bool, crate::Error> {
        let valid = kind.parse::<ListKind>().is_ok()
            && lists::valid_name(name)
            && entry_id
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(':'))
                .is_some_and(|line| line.parse::<u32>().is_ok());
        if !valid {
            return Err(crate::Error::NotFound);
        }
        let now = self.clock.now_unix();
        let mut tx = self.store.begin().await?;
        let added = tx.tombstone_add(kind, name, entry_id, now, actor).await?;
        self.commit_audited(
            tx,
            actor,
            "lists.disable-entry",
            &format!("list:{kind}:{name}"),
            entry_id,
        )
        .await?;
        // In force at once, not at the next tick.
        if let Err(e) = self.gateway.reload(&self.store).await {
            tracing::warn!(error = %e, "lists not reloaded after disabling an entry; the next tick will");
        }
        Ok(added)
    }
}

/// The metric of a visit through a partner's help link.
pub const ARRIVAL: &str = "arrival";

/// Parses a help-link campaign code `p<partner>-<variant>`.
pub fn parse_code(code: &str) -> Option<(i64, &str)> {
    let (p, variant) = code.strip_prefix('p')?.split_once('-')?;
    let id = p.parse::<i64>().ok().filter(|id| *id > 0)?;
    (VARIANTS.contains(&variant) || variant == TALK).then_some((id, variant))
}

pub fn code(partner: i64, variant: &str) -> String {
    format!("p{partner}-{variant}")
}

/// Runs `work` on a thread of its own at the lowest CPU priority (niceness 19 on Linux) and
/// awaits its result. Building the matchers for a new list version keeps a core busy for up
/// to seconds; at the lowest priority it takes only what the request threads leave, so checks
/// answered during a reload are not slowed (bench/api.sh measures it). Under a load that
/// leaves nothing, the build still gets the kernel's minimum share and finishes, later.
/// A thread of its own, because a lowered priority cannot be raised again without privilege
/// and would stay with a pooled thread. `Err` if the thread could not start or `work` panicked.
async fn at_low_priority<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("lists-build".into())
        .spawn(move || {
            lowest_priority("the list build");
            // The receiver is gone only if the reload awaiting it was dropped (the server
            // stopping): the lists in force stay as they were and the new generation is not
            // recorded, so the next reload builds again. No audit entry or security write is
            // involved; the built matchers are simply not needed.
            let _ = tx.send(work());
        })
        .map_err(|e| format!("could not start the list build: {e}"))?;
    rx.await
        .map_err(|_| "the list build stopped without a result".to_string())
}

/// Lowers the calling thread to the lowest CPU priority; where it cannot be lowered, the
/// work runs at the usual one.
fn lowest_priority(work: &str) {
    if let Err(e) =
        thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    {
        tracing::debug!(error = ?e, work, "could not lower the thread's priority");
    }
}

/// Frees lists a reload replaced away from the checks being answered: on a thread of its
/// own at the lowest priority, once no check still holds them (a check keeps its snapshot
/// to its end); not inside the write lock every check reads through, nor by whichever
/// request lets go of them last: freeing a 50,000-term matcher is many small frees. Still
/// held after a minute, the last holder frees them after all. Where no thread can start,
/// they are freed here.
fn retire(replaced: Arc<Loaded>) {
    let started = std::thread::Builder::new()
        .name("lists-retire".into())
        .spawn(move || {
            lowest_priority("freeing replaced lists");
            let mut held = replaced;
            for _ in 0..6_000 {
                match Arc::try_unwrap(held) {
                    Ok(alone) => return drop(alone),
                    Err(shared) => held = shared,
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
    if let Err(e) = started {
        tracing::debug!(error = %e, "the replaced lists are freed where they were replaced");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn counts_survive_a_lock_poisoned_by_a_panic() {
        let gw = Gateway::new(Key::random(), 10, 2);
        // Counts survive a poisoned lock too.
        let counting = std::thread::scope(|s| {
            s.spawn(|| {
                let _held = gw.counters.lock();
                panic!("a panic while counting");
            })
            .join()
        });
        assert!(counting.is_err());
        gw.count(0, 1, "test-terms", "illegal", "checks");
        assert_eq!(
            gw.counters.lock().unwrap_or_else(|e| e.into_inner()).len(),
            1
        );
    }
}
