//! Login throttling that an attacker cannot use to grow memory or lock people out.
//!
//! Two kinds of keys, each in a [`BoundedBuckets`] map (fixed-size keys, a cap on
//! entries, idle entries forgotten):
//!
//! * **per source address**: every login attempt takes a token; an empty bucket
//!   refuses (429). This stops one address from guessing, whatever names it tries.
//! * **per account name**: only *failures* take a token, and an empty bucket does
//!   not refuse: it *delays* the next attempt on that name (at most
//!   [`ThrottleConfig::max_name_delay`]). Guessing from many addresses is slowed,
//!   but the real user, from an address of their own, still gets in. A success
//!   clears the name's bucket.
//!
//! Names are never stored: keys are 64-bit keyed hashes (SipHash with a random
//! per-process key, so collisions cannot be chosen from outside).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tile_server::auth::throttle::{LoginThrottle, ThrottleConfig};
//! let t = LoginThrottle::new(ThrottleConfig { per_address_per_minute: 2, ..ThrottleConfig::default() });
//! let now = Instant::now();
//! let addr = Some("10.0.0.1".parse().unwrap());
//! assert!(t.check_address(addr, now).is_ok());
//! assert!(t.check_address(addr, now).is_ok());
//! assert!(t.check_address(addr, now).is_err()); // third attempt this minute
//! assert!(t.check_address(Some("10.0.0.2".parse().unwrap()), now).is_ok());
//! ```

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits of the login throttle.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleConfig {
    /// Login attempts per minute from one source address (burst of as many).
    pub per_address_per_minute: u32,
    /// Failed logins per minute on one name before attempts on it are delayed.
    pub failures_per_name_per_minute: u32,
    /// Longest delay put on an attempt on a name under attack.
    pub max_name_delay: Duration,
    /// Entries kept per map (addresses, names).
    pub max_entries: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            per_address_per_minute: 60,
            failures_per_name_per_minute: 10,
            max_name_delay: Duration::from_secs(3),
            max_entries: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets under a fixed-size key, at most `cap` of them.
///
/// When full, entries idle long enough to have refilled completely (they carry
/// no information) are dropped; if that frees nothing, the least recently used
/// tenth goes. Memory is therefore bounded by `cap` whatever keys arrive.
#[derive(Debug)]
pub struct BoundedBuckets {
    per_minute: f64,
    cap: usize,
    hasher: RandomState,
    map: Mutex<HashMap<u64, Bucket>>,
    /// Entries held, kept under the lock: [`Self::wait`] on an empty map (no bad
    /// token seen lately, the usual case) answers without taking the lock, which
    /// every authenticated request would otherwise contend for.
    held: AtomicUsize,
}

impl BoundedBuckets {
    /// Buckets of `per_minute` tokens (and as many in a burst), at most `cap` entries.
    pub fn new(per_minute: u32, cap: usize) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            cap: cap.max(16),
            hasher: RandomState::new(),
            map: Mutex::new(HashMap::new()),
            held: AtomicUsize::new(0),
        }
    }

    fn key(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn per_sec(&self) -> f64 {
        self.per_minute / 60.0
    }

    /// Time for an empty bucket to fill up again: an entry idle that long is forgettable.
    fn refill_time(&self) -> Duration {
        Duration::from_secs_f64(self.per_minute / self.per_sec())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Bucket>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes room for one more entry.
    fn evict(&self, map: &mut HashMap<u64, Bucket>, now: Instant) {
        if map.len() < self.cap {
            return;
        }
        let idle = self.refill_time();
        map.retain(|_, b| now.saturating_duration_since(b.last) < idle);
        if map.len() >= self.cap {
            let mut ages: Vec<Instant> = map.values().map(|b| b.last).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 10];
            map.retain(|_, b| b.last > cutoff);
        }
    }

    /// The refilled bucket of `key` at `now`, created full if missing.
    fn refilled<'m>(&self, map: &'m mut HashMap<u64, Bucket>, key: u64, now: Instant) -> &'m mut Bucket {
        if !map.contains_key(&key) {
            self.evict(map, now);
        }
        let b = map.entry(key).or_insert(Bucket { tokens: self.per_minute, last: now });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_sec()).min(self.per_minute);
        b.last = now;
        b
    }

    /// Takes a token; `Err(seconds)` until one is available (the bucket is left as is).
    pub fn take(&self, key: &[u8], now: Instant) -> Result<(), u64> {
        let k = self.key(key);
        let per_sec = self.per_sec();
        let mut map = self.lock();
        let b = self.refilled(&mut map, k, now);
        let taken = if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / per_sec).ceil().clamp(1.0, 3600.0) as u64)
        };
        self.held.store(map.len(), Ordering::Release);
        taken
    }

    /// How long until `key` has a token again (zero when it has one now).
    pub fn wait(&self, key: &[u8], now: Instant) -> Duration {
        if self.held.load(Ordering::Acquire) == 0 {
            return Duration::ZERO;
        }
        let k = self.key(key);
        let mut map = self.lock();
        let Some(b) = map.get_mut(&k) else { return Duration::ZERO };
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        let tokens = (b.tokens + elapsed * self.per_sec()).min(self.per_minute);
        if tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - tokens) / self.per_sec())
        }
    }

    /// Takes a token even from an empty bucket (down to `-floor`), so repeated
    /// failures push the delay further out, up to a bound.
    pub fn charge(&self, key: &[u8], floor: f64, now: Instant) {
        let k = self.key(key);
        let mut map = self.lock();
        let b = self.refilled(&mut map, k, now);
        b.tokens = (b.tokens - 1.0).max(-floor);
        self.held.store(map.len(), Ordering::Release);
    }

    /// Forgets a key (e.g. after a successful login).
    pub fn clear(&self, key: &[u8]) {
        let k = self.key(key);
        let mut map = self.lock();
        map.remove(&k);
        self.held.store(map.len(), Ordering::Release);
    }

    /// Number of entries held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The key of a source address for per-address limits; no address (in-process
/// calls) is one key of its own.
pub fn address_key(addr: Option<IpAddr>) -> Vec<u8> {
    match addr.map(|ip| match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }) {
        Some(IpAddr::V4(v4)) => v4.octets().to_vec(),
        // An IPv6 host controls its whole /64: throttle the prefix, not the address.
        Some(IpAddr::V6(v6)) => v6.octets()[..8].to_vec(),
        None => Vec::new(),
    }
}

/// The login throttle: per source address (refuse) and per name (delay).
#[derive(Debug)]
pub struct LoginThrottle {
    config: ThrottleConfig,
    addresses: BoundedBuckets,
    names: BoundedBuckets,
}

impl LoginThrottle {
    /// A throttle with these limits.
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            addresses: BoundedBuckets::new(config.per_address_per_minute, config.max_entries),
            names: BoundedBuckets::new(config.failures_per_name_per_minute, config.max_entries),
            config,
        }
    }

    /// Counts one attempt from `addr`; `Err(seconds)` when the address must wait.
    pub fn check_address(&self, addr: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        self.addresses.take(&address_key(addr), now)
    }

    /// How long an attempt on `name` is held back before its password is checked.
    pub fn name_delay(&self, name: &str, now: Instant) -> Duration {
        self.names.wait(name.as_bytes(), now).min(self.config.max_name_delay)
    }

    /// Records a failed attempt on `name`.
    pub fn failed(&self, name: &str, now: Instant) {
        let floor = self.config.max_name_delay.as_secs_f64() * self.names.per_sec();
        self.names.charge(name.as_bytes(), floor, now);
    }

    /// Records a successful login: the name's failures are forgotten.
    pub fn succeeded(&self, name: &str) {
        self.names.clear(name.as_bytes());
    }

    /// Entries held per map: (addresses, names).
    pub fn sizes(&self) -> (usize, usize) {
        (self.addresses.len(), self.names.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn name_failures_delay_but_never_refuse_and_success_clears() {
        let t = LoginThrottle::new(ThrottleConfig { failures_per_name_per_minute: 2, ..ThrottleConfig::default() });
        let t0 = Instant::now();
        assert_eq!(t.name_delay("alice", t0), Duration::ZERO);
        for _ in 0..50 {
            t.failed("alice", t0);
        }
        let d = t.name_delay("alice", t0);
        assert!(d > Duration::ZERO && d <= ThrottleConfig::default().max_name_delay, "{d:?}");
        assert_eq!(t.name_delay("bob", t0), Duration::ZERO, "other names unaffected");
        // The delay wears off with time.
        assert_eq!(t.name_delay("alice", t0 + Duration::from_secs(120)), Duration::ZERO);
        t.succeeded("alice");
        assert_eq!(t.name_delay("alice", t0), Duration::ZERO);
    }

    #[test]
    fn ipv6_hosts_share_their_slash_64() {
        let t = LoginThrottle::new(ThrottleConfig { per_address_per_minute: 1, ..ThrottleConfig::default() });
        let now = Instant::now();
        assert!(t.check_address(Some("2001:db8::1".parse().unwrap_or(IpAddr::from([0u8; 16]))), now).is_ok());
        assert!(t.check_address(Some("2001:db8::2".parse().unwrap_or(IpAddr::from([0u8; 16]))), now).is_err());
        let mapped = "::ffff:10.0.0.9".parse().unwrap_or(IpAddr::from([0u8; 16]));
        assert!(t.check_address(Some(mapped), now).is_ok());
        assert!(t.check_address(Some(IpAddr::from([10, 0, 0, 9])), now).is_err(), "mapped v4 is the v4 address");
    }

    proptest! {
        /// Whatever keys and times arrive, no map holds more than its cap.
        #[test]
        fn maps_stay_within_their_cap(names in proptest::collection::vec("\\PC{1,64}", 1..400), step in 0u64..5000) {
            let cap = 50;
            let t = LoginThrottle::new(ThrottleConfig { max_entries: cap, ..ThrottleConfig::default() });
            let t0 = Instant::now();
            for (i, n) in names.iter().enumerate() {
                let now = t0 + Duration::from_millis(step * i as u64);
                t.failed(n, now);
                let _ = t.check_address(Some(IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8])), now);
                let (a, b) = t.sizes();
                prop_assert!(a <= cap && b <= cap, "{} {}", a, b);
            }
        }

        /// No more attempts pass per address than the limit plus what refilled.
        #[test]
        fn address_limit_holds(limit in 1u32..30, gaps in proptest::collection::vec(0u64..4000, 1..150)) {
            let t = LoginThrottle::new(ThrottleConfig { per_address_per_minute: limit, ..ThrottleConfig::default() });
            let t0 = Instant::now();
            let mut now = t0;
            let mut passed = 0u32;
            for g in gaps {
                now += Duration::from_millis(g);
                if t.check_address(None, now).is_ok() {
                    passed += 1;
                }
            }
            let bound = f64::from(limit) + now.duration_since(t0).as_secs_f64() * f64::from(limit) / 60.0;
            prop_assert!(f64::from(passed) <= bound + 1e-9);
        }
    }
}
