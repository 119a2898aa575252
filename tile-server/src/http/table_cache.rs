//! The serialized building table (楼盘表) of each building, kept by version.
//!
//! Pulling a building table is the registration system's hot path: three queries,
//! a few hundred households to decrypt, mask and serialize, and an ETag to
//! hash. The cache keeps the finished JSON and its ETag per (building, masked or
//! not), keyed by a *fingerprint* of the rows it was built from (see
//! [`crate::db::buildings::table_fingerprint`]): one cheap aggregate query per
//! request tells whether the cached bytes are still the current table.
//!
//! With `table_revalidate_ms` > 0 an entry checked less than that long ago is
//! served without the query; writes through this server invalidate their
//! building at once ([`TableCache::invalidate`]).
//!
//! ```
//! use tile_server::http::table_cache::TableCache;
//! let cache = TableCache::default();
//! let first = cache.insert("B", false, "1:10/1:11/2:23".into(), b"{}".to_vec());
//! assert!(cache.get("B", false, "1:10/1:11/2:23").is_some());
//! assert!(cache.get("B", false, "1:10/1:11/2:24").is_none()); // rows changed
//! assert!(cache.get("B", true, "1:10/1:11/2:23").is_none());  // unmasked is another entry
//! assert!(first.etag.to_str().is_ok_and(|t| t.starts_with("W/")));
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderValue;

use crate::middleware::etag::etag_of;

/// How long other requests keep getting a stale entry while one revalidates it
/// (if that request fails, the next one after this tries again).
pub const REVALIDATION_GRACE: Duration = Duration::from_secs(2);
/// Entries kept at most; beyond, the cache starts over (a table is rebuilt on demand).
const MAX_ENTRIES: usize = 4_096;

/// One cached table.
#[derive(Debug, Clone)]
pub struct CachedTable {
    /// Fingerprint of the rows it was built from.
    pub fingerprint: String,
    /// The JSON body.
    pub body: Bytes,
    /// Its weak ETag (the same the ETag middleware would compute).
    pub etag: HeaderValue,
    /// When the fingerprint was last seen to match.
    pub checked_at: Instant,
    /// Set while one request re-checks the fingerprint.
    pub revalidating_since: Option<Instant>,
}

/// (ZRZH, owner data shown) → cached table.
#[derive(Debug, Default)]
pub struct TableCache {
    revalidate_after: Duration,
    entries: Mutex<HashMap<(String, bool), CachedTable>>,
}

impl TableCache {
    /// A cache whose entries are served unchecked for `revalidate_after` (zero:
    /// the caller checks the fingerprint on every request).
    pub fn new(revalidate_after: Duration) -> Self {
        Self { revalidate_after, entries: Mutex::new(HashMap::new()) }
    }

    /// The cached table if it was checked within the revalidation window.
    ///
    /// Past the window, the first caller gets `None` and revalidates; callers
    /// arriving meanwhile still get the entry, for up to [`REVALIDATION_GRACE`]
    /// (one fingerprint query per window, not one per waiting request: with
    /// hundreds of concurrent clients the herd would queue on the pool).
    pub fn get_fresh(&self, zrzh: &str, show_pii: bool, now: Instant) -> Option<CachedTable> {
        if self.revalidate_after.is_zero() {
            return None;
        }
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = entries.get_mut(&(zrzh.to_owned(), show_pii))?;
        if now.saturating_duration_since(entry.checked_at) < self.revalidate_after {
            return Some(entry.clone());
        }
        match entry.revalidating_since {
            Some(since) if now.saturating_duration_since(since) < REVALIDATION_GRACE => Some(entry.clone()),
            _ => {
                entry.revalidating_since = Some(now);
                None
            }
        }
    }

    /// The cached table, if it was built from rows with this fingerprint (and
    /// marks it checked now).
    pub fn get(&self, zrzh: &str, show_pii: bool, fingerprint: &str) -> Option<CachedTable> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = entries.get_mut(&(zrzh.to_owned(), show_pii)).filter(|c| c.fingerprint == fingerprint)?;
        entry.checked_at = Instant::now();
        entry.revalidating_since = None;
        Some(entry.clone())
    }

    /// Forgets both variants of a building's table (after a write to it).
    pub fn invalidate(&self, zrzh: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.remove(&(zrzh.to_owned(), false));
        entries.remove(&(zrzh.to_owned(), true));
    }

    /// Stores a freshly built table and returns the entry.
    pub fn insert(&self, zrzh: &str, show_pii: bool, fingerprint: String, body: Vec<u8>) -> CachedTable {
        let etag = HeaderValue::from_str(&etag_of(&body)).unwrap_or_else(|_| HeaderValue::from_static("W/\"0\""));
        let entry = CachedTable {
            fingerprint,
            body: Bytes::from(body),
            etag,
            checked_at: Instant::now(),
            revalidating_since: None,
        };
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert((zrzh.to_owned(), show_pii), entry.clone());
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revalidation_window_and_invalidation() {
        let cache = TableCache::new(Duration::from_millis(1000));
        let t0 = Instant::now();
        assert!(cache.get_fresh("B", false, t0).is_none());
        cache.insert("B", false, "f1".into(), b"[1]".to_vec());
        assert!(cache.get_fresh("B", false, Instant::now()).is_some());
        assert!(cache.get_fresh("B", false, Instant::now() + Duration::from_millis(1500)).is_none());
        assert!(cache.get_fresh("B", true, Instant::now()).is_none());
        cache.invalidate("B");
        assert!(cache.get_fresh("B", false, Instant::now()).is_none());
        assert!(cache.get("B", false, "f1").is_none());
    }

    #[test]
    fn one_request_revalidates_while_others_get_the_entry() {
        let cache = TableCache::new(Duration::from_millis(100));
        cache.insert("B", false, "f1".into(), b"[1]".to_vec());
        let later = Instant::now() + Duration::from_millis(200);
        assert!(cache.get_fresh("B", false, later).is_none(), "the first caller revalidates");
        assert!(cache.get_fresh("B", false, later).is_some(), "the others are served meanwhile");
        assert!(cache.get_fresh("B", false, later + Duration::from_millis(10)).is_some());
        // The revalidating request never came back: after the grace, someone else tries.
        assert!(cache.get_fresh("B", false, later + REVALIDATION_GRACE).is_none());
        // A successful check ends the revalidation.
        assert!(cache.get("B", false, "f1").is_some());
        assert!(cache.get_fresh("B", false, Instant::now()).is_some());
    }

    #[test]
    fn zero_window_always_checks() {
        let cache = TableCache::new(Duration::ZERO);
        cache.insert("B", false, "f1".into(), b"[1]".to_vec());
        assert!(cache.get_fresh("B", false, Instant::now()).is_none());
        assert_eq!(cache.get("B", false, "f1").map(|c| c.body), Some(Bytes::from_static(b"[1]")));
    }
}
