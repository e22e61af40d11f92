//! Every rate limit in the service, on one mechanism: `governor`'s GCRA limiter, keyed by
//! what is being protected (a partner, one side of a chat, the whole sign-in form, the
//! return-code form). None is keyed by an address: Tor users share one, and none is kept.
//!
//! Two shapes:
//! - [`Rate`]: every attempt spends from the key's allowance (partner checks, chat
//!   messages); measured on the monotonic clock.
//! - [`FailureBudget`]: only failures spend; when a key's budget is spent it stays shut
//!   until the allowance has come back (failed sign-ins, failed return codes); measured on
//!   the service's [`Clock`](reachline_core::clock::Clock), so tests can move time.
//!
//! Keyed state is pruned as allowances refill ([`Rate::tidy`]), so a stream of new keys
//! cannot grow memory without bound.

use governor::clock::{Clock as GovernorClock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use reachline_core::clock::SharedClock;
use std::collections::HashMap;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

fn non_zero(n: u64) -> NonZeroU32 {
    NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX).max(1)).unwrap_or(NonZeroU32::MIN)
}

/// `per_second` attempts a second with bursts of `burst` (each at least 1).
pub fn per_second(per_second: u64, burst: u64) -> Quota {
    Quota::per_second(non_zero(per_second)).allow_burst(non_zero(burst))
}

/// `n` a minute, all of them at once if need be (each at least 1).
pub fn per_minute(n: u64) -> Quota {
    Quota::per_minute(non_zero(n)).allow_burst(non_zero(n))
}

/// How long until the next attempt would be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, at least 1 (for a `Retry-After` header).
    pub fn seconds(self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0).max(u64::from(self.0.is_zero()))
    }
}

/// A keyed limit that every attempt spends from.
pub struct Rate<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> Rate<K> {
    pub fn new(quota: Quota) -> Rate<K> {
        let clock = DefaultClock::default();
        Rate {
            limiter: RateLimiter::dashmap_with_clock(quota, clock.clone()),
            clock,
        }
    }

    /// Spends one attempt for `key`, or says how long until one is allowed.
    pub fn check(&self, key: &K) -> Result<(), RetryAfter> {
        self.check_n(key, 1)
    }

    /// Spends `n` attempts at once (a batch); more than the burst is never allowed.
    pub fn check_n(&self, key: &K, n: u64) -> Result<(), RetryAfter> {
        match self.limiter.check_key_n(key, non_zero(n)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(RetryAfter(not_until.wait_time_from(self.clock.now()))),
            Err(_) => Err(RetryAfter(Duration::from_secs(1))),
        }
    }

    /// Forgets keys whose allowance is full again (call from housekeeping).
    pub fn tidy(&self) {
        self.limiter.retain_recent();
    }

    /// Keys remembered now.
    pub fn keys(&self) -> usize {
        self.limiter.len()
    }
}

/// The service's clock, as `governor` reads time (whole seconds are enough for budgets
/// counted per minute).
#[derive(Clone)]
struct ServiceClock(SharedClock);

impl GovernorClock for ServiceClock {
    type Instant = Nanos;
    fn now(&self) -> Nanos {
        Nanos::from(Duration::from_secs(
            u64::try_from(self.0.now_unix()).unwrap_or(0),
        ))
    }
}

/// A budget that only failures spend. While it is spent the key is shut: `open` says no
/// until an allowance has come back.
pub struct FailureBudget<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K, DefaultKeyedStateStore<K>, ServiceClock, StateInformationMiddleware>,
    clock: ServiceClock,
    /// When each spent key opens again, in Unix seconds.
    shut_until: Mutex<HashMap<K, i64>>,
    /// How long one failure takes to come back, in whole seconds.
    refill_seconds: i64,
}

impl<K: Hash + Eq + Clone> FailureBudget<K> {
    pub fn new(quota: Quota, clock: SharedClock) -> FailureBudget<K> {
        let clock = ServiceClock(clock);
        let refill = quota.replenish_interval();
        FailureBudget {
            limiter: RateLimiter::dashmap_with_clock(quota, clock.clone())
                .with_middleware::<StateInformationMiddleware>(),
            clock,
            shut_until: Mutex::new(HashMap::new()),
            refill_seconds: i64::try_from(refill.as_secs()).unwrap_or(60)
                + i64::from(refill.subsec_nanos() > 0),
        }
    }

    /// Whether `key` may try now. A poisoned lock fails closed.
    pub fn open(&self, key: &K) -> bool {
        let now = self.clock.0.now_unix();
        let Ok(mut shut) = self.shut_until.lock() else {
            return false;
        };
        match shut.get(key) {
            Some(until) if *until > now => false,
            Some(_) => {
                shut.remove(key);
                true
            }
            None => true,
        }
    }

    /// Spends one failure for `key`; the last one shuts `key` until one has come back.
    pub fn failed(&self, key: &K) {
        let now = self.clock.0.now_unix();
        let until = match self.limiter.check_key(key) {
            Ok(left) if left.remaining_burst_capacity() > 0 => return,
            Ok(_) => now + self.refill_seconds,
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                now + i64::try_from(wait.as_secs()).unwrap_or(60) + 1
            }
        };
        let mut shut = self.shut_until.lock().unwrap_or_else(|e| e.into_inner());
        shut.retain(|_, u| *u > now);
        shut.insert(key.clone(), until);
    }

    /// Forgets keys whose allowance is full again (call from housekeeping).
    pub fn tidy(&self) {
        self.limiter.retain_recent();
    }
}

/// A bounded queue for slow blocking work (Argon2): at most `workers` run at once and at
/// most `queue` wait; past that the caller is told the service is busy at once rather than
/// waiting behind a flood. Waiters are served in arrival order (tokio's semaphore is fair).
/// Help-seekers' code derivations and staff password checks each have their own, so a flood
/// of one cannot crowd out the other.
pub struct SlowWork {
    workers: std::sync::Arc<tokio::sync::Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
    queue: usize,
}

/// The slow work could not be queued (the queue is full) or did not finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl SlowWork {
    pub fn new(workers: usize, queue: usize) -> SlowWork {
        SlowWork {
            workers: std::sync::Arc::new(tokio::sync::Semaphore::new(workers.max(1))),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            queue,
        }
    }

    /// Runs `work` on a blocking thread once a worker is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy);
        }
        let permit = self.workers.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let _permit = permit.map_err(|_| Busy)?;
        tokio::task::spawn_blocking(work).await.map_err(|_| Busy)
    }
}

/// Failed tries against one name (a staff username, known or not), forgotten `window`
/// seconds after the last one. From the `free`-th failure on, every try on that name waits
/// before it is checked: 1 s, then doubling, at most `max_wait`. A try is never refused
/// unchecked, so a stranger's wrong guesses can slow the owner by at most `max_wait` and can
/// never lock them out, while guessing one account's password runs at a crawl.
pub struct Backoff {
    names: Mutex<HashMap<[u8; 16], (u32, i64)>>,
    clock: SharedClock,
    free: u32,
    max_wait: Duration,
    window: i64,
    capacity: usize,
}

impl Backoff {
    pub fn new(clock: SharedClock, free: u32, max_wait: Duration, window: i64) -> Backoff {
        Backoff {
            names: Mutex::new(HashMap::new()),
            clock,
            free: free.max(1),
            max_wait,
            window: window.max(1),
            capacity: 100_000,
        }
    }

    fn key(name: &str) -> [u8; 16] {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(name.to_lowercase().as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }

    /// Recent failures against `name`.
    pub fn failures(&self, name: &str) -> u32 {
        let now = self.clock.now_unix();
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        match names.get(&Self::key(name)) {
            Some((n, last)) if now - last <= self.window => *n,
            _ => 0,
        }
    }

    /// How long a try on `name` waits before it is checked.
    pub fn wait(&self, name: &str) -> Duration {
        let over = self.failures(name).checked_sub(self.free);
        match over {
            None => Duration::ZERO,
            Some(k) => Duration::from_secs(1u64 << k.min(16)).min(self.max_wait),
        }
    }

    /// A failed try on `name`; returns the failures now counted.
    pub fn failed(&self, name: &str) -> u32 {
        let now = self.clock.now_unix();
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if names.len() >= self.capacity {
            let window = self.window;
            names.retain(|_, (_, last)| now - *last <= window);
        }
        let key = Self::key(name);
        if names.len() >= self.capacity && !names.contains_key(&key) {
            // Full of fresh names: this one goes uncounted rather than memory growing.
            return 0;
        }
        let entry = names.entry(key).or_insert((0, now));
        if now - entry.1 > self.window {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        entry.0
    }

    /// A successful try: `name` starts afresh.
    pub fn succeeded(&self, name: &str) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.remove(&Self::key(name));
    }

    /// Forgets names whose failures are older than the window (call from housekeeping).
    pub fn tidy(&self) {
        let now = self.clock.now_unix();
        let window = self.window;
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.retain(|_, (_, last)| now - *last <= window);
    }

    /// Names remembered now.
    pub fn names(&self) -> usize {
        self.names.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reachline_core::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn a_failure_budget_shuts_when_spent_and_opens_as_it_refills() {
        let clock = Arc::new(ManualClock::new(1_000));
        let budget: FailureBudget<&str> = FailureBudget::new(per_minute(3), clock.clone());
        for _ in 0..3 {
            assert!(budget.open(&"a"));
            budget.failed(&"a");
        }
        assert!(!budget.open(&"a"), "three failures a minute were allowed");
        assert!(budget.open(&"b"), "another key is not shut by the first");
        clock.advance(20);
        assert!(budget.open(&"a"), "one failure has come back after 20 s");
        budget.failed(&"a");
        assert!(!budget.open(&"a"));
        clock.advance(61);
        assert!(budget.open(&"a"));
    }

    #[test]
    fn a_backoff_slows_a_name_without_ever_refusing_it_and_forgets() {
        let clock = Arc::new(ManualClock::new(1_000));
        let b = Backoff::new(clock.clone(), 3, Duration::from_secs(8), 900);
        for _ in 0..3 {
            assert_eq!(b.wait("Fay"), Duration::ZERO);
            b.failed("fay");
        }
        assert_eq!(
            b.wait("FAY"),
            Duration::from_secs(1),
            "names are case-blind"
        );
        b.failed("fay");
        assert_eq!(b.wait("fay"), Duration::from_secs(2));
        for _ in 0..20 {
            b.failed("fay");
        }
        assert_eq!(b.wait("fay"), Duration::from_secs(8), "the wait is capped");
        assert_eq!(b.wait("gus"), Duration::ZERO, "other names are apart");
        clock.advance(901);
        assert_eq!(b.wait("fay"), Duration::ZERO, "forgotten after the window");
        b.tidy();
        assert_eq!(b.names(), 0);
        b.failed("fay");
        b.succeeded("fay");
        assert_eq!(b.failures("fay"), 0);
    }

    #[test]
    fn a_rate_refuses_past_the_burst_and_says_when_to_come_back() {
        let rate: Rate<i64> = Rate::new(per_second(1, 2));
        assert!(rate.check(&1).is_ok());
        assert!(rate.check(&1).is_ok());
        let wait = rate.check(&1).unwrap_err();
        assert!(
            wait.0 <= Duration::from_secs(1) && wait.seconds() == 1,
            "{wait:?}"
        );
        assert!(rate.check(&2).is_ok(), "keys are apart");
        assert!(
            rate.check_n(&3, 3).is_err(),
            "more than the burst is never allowed"
        );
        assert_eq!(
            rate.keys(),
            2,
            "a request past the burst leaves no state behind"
        );
    }
}
