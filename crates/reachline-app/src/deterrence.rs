//! The deterrence gateway: the operator's lists held as an immutable matcher that is swapped
//! atomically when lists change, partner keys, warnings, and counters.
//!
//! Nothing a partner sends is stored or logged: inputs live only for the duration of a
//! check. Only counts are kept, per day × partner × list category × message variant.

pub mod lists;

use reachline_core::clock;
use reachline_core::keys::Key;
use reachline_core::sealing::Context;
use reachline_core::vocabulary::ListKind;
use reachline_matcher::{Matcher, MatcherBuilder};
use reachline_store::{PartnerRow, Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Warning variants, assigned at random per request; `talk` steps up after repeats.
pub const VARIANTS: &[&str] = &["illegal", "traceable", "harm"];
pub const TALK: &str = "talk";

/// The lists in force.
pub struct Loaded {
    pub matcher: Matcher,
    pub tombstones: HashSet<String>,
    pub lists: usize,
    pub entries: i64,
    /// (kind, name, version) of each list in force.
    pub versions: Vec<(String, String, i64)>,
}

type CounterKey = (String, i64, String, String, &'static str);

pub struct Gateway {
    current: RwLock<Arc<Loaded>>,
    generation: tokio::sync::Mutex<Option<(i64, i64)>>,
    counters: Mutex<HashMap<CounterKey, i64>>,
    keys: Mutex<HashMap<String, (Option<PartnerRow>, Instant)>>,
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
            current: RwLock::new(Arc::new(Loaded {
                matcher: Matcher::empty(),
                tombstones: HashSet::new(),
                lists: 0,
                entries: 0,
                versions: Vec::new(),
            })),
            generation: tokio::sync::Mutex::new(None),
            counters: Mutex::new(HashMap::new()),
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
        if *generation == Some(now_gen) {
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
            entries += row.entries;
            texts.push((row.clone(), String::from_utf8_lossy(&text).into_owned()));
        }
        let lists = texts.len();
        let versions = texts
            .iter()
            .map(|(row, _)| (row.kind.to_string(), row.name.clone(), row.version))
            .collect();
        let matcher = tokio::task::spawn_blocking(move || -> Result<Matcher, LoadError> {
            let mut builder = MatcherBuilder::new();
            for (row, text) in &texts {
                let result = match row.kind {
                    ListKind::Keywords => builder.add_keywords_csv(&row.name, text).map(|_| ()),
                    ListKind::Urls => builder
                        .add_url_lines(&row.name, &row.category, text)
                        .map(|_| ()),
                    ListKind::Hashes => builder.add_hashes_csv(&row.name, text).map(|_| ()),
                };
                result.map_err(|e| LoadError::List(row.name.clone(), e.to_string()))?;
            }
            builder
                .build()
                .map_err(|e| LoadError::List("(all)".into(), e.to_string()))
        })
        .await
        .map_err(|e| LoadError::List("(all)".into(), e.to_string()))??;
        let loaded = Arc::new(Loaded {
            matcher,
            tombstones,
            lists,
            entries,
            versions,
        });
        // Replacing the Arc cannot be left half done, so a lock poisoned by a panic elsewhere
        // is used as it is: the new lists always take effect.
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        *generation = Some(now_gen);
        self.ready.store(true, std::sync::atomic::Ordering::Release);
        tracing::info!(lists, entries, "deterrence lists loaded");
        Ok(true)
    }

    /// The partner holding a key, remembered for `ttl` (so a revoked key stops within it).
    pub async fn partner(
        &self,
        store: &Store,
        key_hash: &str,
        ttl: Duration,
    ) -> Result<Option<PartnerRow>, StoreError> {
        if let Ok(cache) = self.keys.lock() {
            if let Some((p, at)) = cache.get(key_hash) {
                if at.elapsed() < ttl {
                    return Ok(p.clone());
                }
            }
        }
        let p = store.partner_by_key(key_hash).await?;
        if let Ok(mut cache) = self.keys.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(key_hash.to_string(), (p.clone(), Instant::now()));
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

    /// Writes buffered counts; on failure they are kept for the next try.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
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
