//! A short-lived in-process cache of resolved tokens, so a busy client does not
//! cost two database lookups per request.
//!
//! Off by default (`token_cache_seconds = 0`). Trade-off when on: a token
//! revoked or an account disabled *through another server instance* (or directly
//! in SQL) keeps working here for at most the configured time; a logout through
//! this instance evicts at once. Expiry is exact: the token's `expires_at` is
//! cached with it.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tile_server::auth::cache::PrincipalCache;
//! let cache = PrincipalCache::new(Duration::from_secs(5));
//! assert!(cache.get_at("tok", Instant::now()).is_none());
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::auth::token::hash_token;
use crate::auth::Principal;

/// How long a stale entry is still served while one request re-resolves it.
const REFRESH_GRACE: Duration = Duration::from_secs(1);
/// Entries kept at most; beyond, the cache is emptied (tokens are cheap to re-resolve).
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, Clone)]
struct Entry {
    principal: Principal,
    token_expires_at: DateTime<Utc>,
    cached_at: Instant,
    refreshing_since: Option<Instant>,
}

/// Token hash → principal, for a fixed time.
#[derive(Debug)]
pub struct PrincipalCache {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl PrincipalCache {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// The cached principal of `token` at `now`, if fresh and the token unexpired.
    ///
    /// When an entry outlives the TTL, the first caller gets `None` (and
    /// re-resolves); concurrent callers with the same token keep the cached
    /// principal for up to one more second meanwhile, so a busy client's
    /// connections do not all hit the database at once.
    pub fn get_at(&self, token: &str, now: Instant) -> Option<Principal> {
        let key = hash_token(token);
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = entries.get_mut(&key)?;
        if entry.token_expires_at <= Utc::now() {
            entries.remove(&key);
            return None;
        }
        let age = now.saturating_duration_since(entry.cached_at);
        if age < self.ttl {
            return Some(entry.principal.clone());
        }
        match entry.refreshing_since {
            Some(since) if now.saturating_duration_since(since) < REFRESH_GRACE => Some(entry.principal.clone()),
            _ => {
                entry.refreshing_since = Some(now);
                None
            }
        }
    }

    /// Remembers a resolved token.
    pub fn insert_at(&self, token: &str, principal: Principal, token_expires_at: DateTime<Utc>, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries
            .insert(hash_token(token), Entry { principal, token_expires_at, cached_at: now, refreshing_since: None });
    }

    /// Forgets a token (logout).
    pub fn remove(&self, token: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.remove(&hash_token(token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{PrincipalKind, Role};

    fn principal() -> Principal {
        Principal {
            kind: PrincipalKind::Client { client_pk: 1, client_id: "reg".into() },
            role: Role::Registration,
            counties: vec!["330102".into()],
            home_county: "330102".into(),
            rate_limit_per_minute: None,
            allowed_ips: vec![],
        }
    }

    #[test]
    fn entries_live_ttl_then_go() {
        let cache = PrincipalCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        cache.insert_at("a", principal(), Utc::now() + chrono::Duration::hours(1), t0);
        assert!(cache.get_at("a", t0 + Duration::from_secs(4)).is_some());
        assert!(cache.get_at("b", t0).is_none());
        let stale = t0 + Duration::from_secs(6);
        assert!(cache.get_at("a", stale).is_none(), "the first caller re-resolves");
        assert!(cache.get_at("a", stale).is_some(), "others are served meanwhile");
        assert!(cache.get_at("a", stale + Duration::from_secs(2)).is_none(), "but not forever");
    }

    #[test]
    fn expired_tokens_and_logouts_are_not_served() {
        let cache = PrincipalCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        cache.insert_at("old", principal(), Utc::now() - chrono::Duration::seconds(1), t0);
        assert!(cache.get_at("old", t0).is_none());
        cache.insert_at("gone", principal(), Utc::now() + chrono::Duration::hours(1), t0);
        cache.remove("gone");
        assert!(cache.get_at("gone", t0).is_none());
    }
}
