//! An in-process cache of resolved tokens, so a busy client does not cost a
//! database lookup per request.
//!
//! On by default (`token_cache_seconds = 60`; 0 = off). Entries are trusted only
//! while the cache is *coherent*: a listener receives the notifications that
//! migration 0010 sends when tokens, users or API clients change
//! ([`crate::cache_sync`]), and each one flushes the cache. So a token revoked or
//! an account disabled anywhere (another instance, SQL) stops working here as
//! soon as the notification arrives; a logout through this instance evicts at
//! once. While the listener is down the cache is bypassed. Expiry is exact: the
//! token's `expires_at` is cached with it. Fills take a generation [`Ticket`]
//! before the lookup, so a lookup that raced with a revocation is not stored.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tile_server::auth::cache::PrincipalCache;
//! use tile_server::cache_sync::SyncedCache;
//! let cache = PrincipalCache::new(Duration::from_secs(60));
//! cache.set_coherent(true); // the listener does this once it is listening
//! assert!(cache.get_at("tok", Instant::now()).is_none());
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::auth::token::hash_token;
use crate::auth::Principal;
use crate::cache_sync::{Coherence, SyncedCache, Ticket, AUTH_CHANNEL};

/// How long a token the store refused is refused again without asking it.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Refused tokens remembered at most (beyond, the expired ones go, then all).
const MAX_NEGATIVE: usize = 10_000;
/// How long a stale entry is still served while one request re-resolves it.
const REFRESH_GRACE: Duration = Duration::from_secs(1);
/// Entries kept at most; beyond, the cache is emptied (tokens are cheap to re-resolve).
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, Clone)]
struct Entry {
    /// Shared, so a hit costs a reference count, not a copy of the county list.
    principal: Arc<Principal>,
    token_expires_at: DateTime<Utc>,
    cached_at: Instant,
    refreshing_since: Option<Instant>,
}

/// Token hash → principal, for a fixed time.
#[derive(Debug)]
pub struct PrincipalCache {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    /// Tokens the store did not accept, and when: a flood of bogus or revoked
    /// tokens costs one lookup per token per [`NEGATIVE_TTL`], not one per request.
    refused: Mutex<HashMap<[u8; 32], Instant>>,
    coherence: Coherence,
}

impl PrincipalCache {
    /// An empty cache whose entries live `ttl`; incoherent (bypassed) until
    /// [`SyncedCache::set_coherent`].
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
            coherence: Coherence::default(),
        }
    }

    /// Whether the store refused `token` within [`NEGATIVE_TTL`] (and the cache is coherent).
    pub fn is_refused_at(&self, token: &str, now: Instant) -> bool {
        if !self.coherence.is_coherent() {
            return false;
        }
        let refused = self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        refused.get(&hash_token(token)).is_some_and(|at| now.saturating_duration_since(*at) < NEGATIVE_TTL)
    }

    /// Remembers that the store refused `token`, unless invalidated since `ticket`.
    pub fn insert_refused_at(&self, token: &str, now: Instant, ticket: Ticket) {
        let mut refused = self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !self.coherence.is_coherent() || !self.coherence.is_current(ticket) {
            return;
        }
        if refused.len() >= MAX_NEGATIVE {
            refused.retain(|_, at| now.saturating_duration_since(*at) < NEGATIVE_TTL);
            if refused.len() >= MAX_NEGATIVE {
                refused.clear();
            }
        }
        refused.insert(hash_token(token), now);
    }

    /// The generation to pass to [`Self::insert_at`]; take it before the lookup.
    pub fn ticket(&self) -> Ticket {
        self.coherence.ticket()
    }

    /// The cached principal of `token` at `now`, if the cache is coherent, the
    /// entry fresh and the token unexpired.
    ///
    /// When an entry outlives the TTL, the first caller gets `None` (and
    /// re-resolves); concurrent callers with the same token keep the cached
    /// principal for up to one more second meanwhile, so a busy client's
    /// connections do not all hit the database at once.
    pub fn get_at(&self, token: &str, now: Instant) -> Option<Arc<Principal>> {
        if !self.coherence.is_coherent() {
            return None;
        }
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

    /// Remembers a resolved token, unless the cache is incoherent or was
    /// invalidated since `ticket`.
    pub fn insert_at(
        &self,
        token: &str,
        principal: Arc<Principal>,
        token_expires_at: DateTime<Utc>,
        now: Instant,
        ticket: Ticket,
    ) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !self.coherence.is_coherent() || !self.coherence.is_current(ticket) {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries
            .insert(hash_token(token), Entry { principal, token_expires_at, cached_at: now, refreshing_since: None });
    }

    /// Forgets a token (logout); a lookup of it in flight is not stored.
    pub fn remove(&self, token: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.remove(&hash_token(token));
        self.coherence.bump();
    }
}

/// Any notification flushes everything: revocations and account changes are rare.
impl SyncedCache for PrincipalCache {
    fn channel(&self) -> &'static str {
        AUTH_CHANNEL
    }

    fn on_notification(&self, _payload: &str) {
        self.invalidate_all();
    }

    fn invalidate_all(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.clear();
        // A re-enabled account makes its tokens good again.
        self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        self.coherence.bump();
    }

    fn coherence(&self) -> &Coherence {
        &self.coherence
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{PrincipalKind, Role};

    fn principal() -> Arc<Principal> {
        Arc::new(Principal {
            kind: PrincipalKind::Client { client_pk: 1, client_id: "reg".into() },
            role: Role::Registration,
            counties: vec!["330102".into()],
            home_county: "330102".into(),
            rate_limit_per_minute: None,
            allowed_ips: vec![],
        })
    }

    fn coherent() -> PrincipalCache {
        let cache = PrincipalCache::new(Duration::from_secs(5));
        cache.set_coherent(true);
        cache
    }

    fn hour() -> DateTime<Utc> {
        Utc::now() + chrono::Duration::hours(1)
    }

    #[test]
    fn entries_live_ttl_then_go() {
        let cache = coherent();
        let t0 = Instant::now();
        cache.insert_at("a", principal(), hour(), t0, cache.ticket());
        assert!(cache.get_at("a", t0 + Duration::from_secs(4)).is_some());
        assert!(cache.get_at("b", t0).is_none());
        let stale = t0 + Duration::from_secs(6);
        assert!(cache.get_at("a", stale).is_none(), "the first caller re-resolves");
        assert!(cache.get_at("a", stale).is_some(), "others are served meanwhile");
        assert!(cache.get_at("a", stale + Duration::from_secs(2)).is_none(), "but not forever");
    }

    #[test]
    fn expired_tokens_and_logouts_are_not_served() {
        let cache = coherent();
        let t0 = Instant::now();
        cache.insert_at("old", principal(), Utc::now() - chrono::Duration::seconds(1), t0, cache.ticket());
        assert!(cache.get_at("old", t0).is_none());
        cache.insert_at("gone", principal(), hour(), t0, cache.ticket());
        cache.remove("gone");
        assert!(cache.get_at("gone", t0).is_none());
    }

    #[test]
    fn a_lookup_that_raced_with_a_revocation_is_not_stored() {
        let cache = coherent();
        let t0 = Instant::now();
        let ticket = cache.ticket(); // before the token query, which still sees the token valid
        cache.on_notification("tokens"); // the revocation commits elsewhere and is announced
        cache.insert_at("a", principal(), hour(), t0, ticket);
        assert!(cache.get_at("a", t0).is_none());
        // The same through a local logout.
        let ticket = cache.ticket();
        cache.remove("a");
        cache.insert_at("a", principal(), hour(), t0, ticket);
        assert!(cache.get_at("a", t0).is_none());
        // Without a race it is stored.
        cache.insert_at("a", principal(), hour(), t0, cache.ticket());
        assert!(cache.get_at("a", t0).is_some());
    }

    #[test]
    fn incoherent_cache_neither_serves_nor_stores() {
        let cache = PrincipalCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        cache.insert_at("a", principal(), hour(), t0, cache.ticket());
        cache.set_coherent(true);
        assert!(cache.get_at("a", t0).is_none(), "nothing stored while incoherent");
        cache.insert_at("a", principal(), hour(), t0, cache.ticket());
        assert!(cache.get_at("a", t0).is_some());
        cache.set_coherent(false);
        assert!(cache.get_at("a", t0).is_none());
        cache.set_coherent(true);
        assert!(cache.get_at("a", t0).is_none(), "the listener's loss flushed it");
    }

    #[test]
    fn refused_tokens_are_remembered_briefly_and_flushed_by_notifications() {
        let cache = coherent();
        let t0 = Instant::now();
        assert!(!cache.is_refused_at("x", t0));
        cache.insert_refused_at("x", t0, cache.ticket());
        assert!(cache.is_refused_at("x", t0 + Duration::from_secs(1)));
        assert!(!cache.is_refused_at("x", t0 + NEGATIVE_TTL));
        cache.insert_refused_at("x", t0, cache.ticket());
        cache.on_notification("users");
        assert!(!cache.is_refused_at("x", t0));
        let ticket = cache.ticket();
        cache.on_notification("users");
        cache.insert_refused_at("x", t0, ticket);
        assert!(!cache.is_refused_at("x", t0), "a refusal that raced with a change is not stored");
    }

    #[test]
    fn every_auth_notification_flushes_everything() {
        let cache = coherent();
        let t0 = Instant::now();
        for t in ["a", "b"] {
            cache.insert_at(t, principal(), hour(), t0, cache.ticket());
        }
        cache.on_notification("users");
        assert!(cache.get_at("a", t0).is_none());
        assert!(cache.get_at("b", t0).is_none());
    }
}
