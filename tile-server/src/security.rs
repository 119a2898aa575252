//! The server's defences that hold state: login throttle, password-hashing
//! pool, per-address limits on bad tokens, the budget of audit rows for
//! repeated denials, and the cached health check. All bounded in memory
//! whatever arrives (issue #14). Refused tokens are remembered by the token
//! cache ([`crate::auth::cache`]), which notifications keep coherent.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::hash_pool::HashPool;
use crate::auth::throttle::{BoundedBuckets, LoginThrottle, ThrottleConfig};
use crate::config::Settings;

/// Requests with a bad token per minute from one address before it must wait.
pub const BAD_TOKENS_PER_MINUTE: u32 = 60;
/// Audit rows per minute for repeated security events of one key (denials,
/// throttled logins); beyond, they are counted into the next row.
pub const AUDIT_ROWS_PER_MINUTE: u32 = 30;
/// How long a health answer is reused.
pub const HEALTH_TTL: Duration = Duration::from_secs(1);
/// Longest accepted user name or client id (as in the store).
pub const MAX_NAME_CHARS: usize = 64;
/// Longest accepted password or secret, in bytes (argon2 input stays small).
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Stateful defences, shared by all requests.
#[derive(Debug)]
pub struct Security {
    /// Login throttle (per address: refuse; per name: delay).
    pub logins: LoginThrottle,
    /// Where argon2 runs.
    pub hashing: HashPool,
    /// Addresses presenting bad tokens.
    pub bad_tokens: BoundedBuckets,
    /// Rate of audit rows per repeated security event.
    audit_budget: BoundedBuckets,
    suppressed: Mutex<HashMap<u64, u32>>,
    health: Mutex<Option<(Instant, bool)>>,
    health_gate: tokio::sync::Mutex<()>,
}

impl Security {
    /// Defences configured from the settings.
    pub fn new(settings: &Settings) -> Self {
        Self {
            logins: LoginThrottle::new(ThrottleConfig {
                per_address_per_minute: settings.login_attempts_per_minute_per_address,
                ..ThrottleConfig::default()
            }),
            hashing: HashPool::for_this_machine(),
            bad_tokens: BoundedBuckets::new(BAD_TOKENS_PER_MINUTE, 10_000),
            audit_budget: BoundedBuckets::new(AUDIT_ROWS_PER_MINUTE, 10_000),
            suppressed: Mutex::new(HashMap::new()),
            health: Mutex::new(None),
            health_gate: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether a repeated security event of `key` gets its own audit row now;
    /// `Some(n)`: yes, and `n` earlier ones were left out since the last row.
    pub fn audit_allowed(&self, key: &str, now: Instant) -> Option<u32> {
        let hashed = {
            use std::hash::{Hash, Hasher};
            // The key only groups a counter: a fixed hasher will do.
            let mut d = std::collections::hash_map::DefaultHasher::new();
            key.hash(&mut d);
            d.finish()
        };
        let mut suppressed = self.suppressed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.audit_budget.take(key.as_bytes(), now).is_ok() {
            Some(suppressed.remove(&hashed).unwrap_or(0))
        } else {
            if suppressed.len() >= 10_000 && !suppressed.contains_key(&hashed) {
                suppressed.clear();
            }
            *suppressed.entry(hashed).or_insert(0) += 1;
            None
        }
    }

    /// The cached health answer, if fresh.
    pub fn health_cached(&self, now: Instant) -> Option<bool> {
        let h = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        h.filter(|(at, _)| now.saturating_duration_since(*at) < HEALTH_TTL).map(|(_, ok)| ok)
    }

    /// Runs `check` unless another request is running it (then waits for its answer).
    pub async fn health<F, Fut>(&self, check: F) -> bool
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        if let Some(ok) = self.health_cached(Instant::now()) {
            return ok;
        }
        let _gate = self.health_gate.lock().await;
        if let Some(ok) = self.health_cached(Instant::now()) {
            return ok;
        }
        let ok = check().await;
        *self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((Instant::now(), ok));
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_events_are_counted_into_the_next_row() {
        let s = Security::new(&Settings::default());
        let t0 = Instant::now();
        for _ in 0..AUDIT_ROWS_PER_MINUTE {
            assert_eq!(s.audit_allowed("k", t0), Some(0));
        }
        assert_eq!(s.audit_allowed("k", t0), None);
        assert_eq!(s.audit_allowed("k", t0), None);
        assert_eq!(s.audit_allowed("other", t0), Some(0));
        assert_eq!(s.audit_allowed("k", t0 + Duration::from_secs(60)), Some(2));
    }
}
