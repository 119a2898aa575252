//! The serialized building table (楼盘表) of each building, kept by version.
//!
//! Pulling a building table is the registration system's hot path: three queries,
//! a few hundred households to decrypt, mask and serialize, and an ETag to
//! hash. The cache keeps the finished JSON and its ETag per (building, masked or
//! not), keyed by a *fingerprint* of the rows it was built from (see
//! [`crate::db::buildings::table_fingerprint`]): one cheap aggregate query tells
//! whether the cached bytes are still the current table.
//!
//! With `table_revalidate_ms` > 0 and the cache *coherent* (a listener is
//! receiving change notifications, [`crate::cache_sync`]), an entry is served
//! without that query: a change committed anywhere drops the building's entries
//! when its notification arrives, and the window (checked less than that long
//! ago) is only a safety net. While incoherent every request checks the
//! fingerprint. Writes through this server invalidate their building at once
//! ([`TableCache::invalidate`]). Fills are guarded by a generation
//! [`Ticket`] taken before the fingerprint query.
//!
//! ```
//! use tile_server::http::table_cache::TableCache;
//! let cache = TableCache::default();
//! let ticket = cache.ticket();
//! let first = cache.insert("B", false, "1:10/1:11/2:23".into(), b"{}".to_vec(), ticket);
//! assert!(cache.get("B", false, "1:10/1:11/2:23", cache.ticket()).is_some());
//! assert!(cache.get("B", false, "1:10/1:11/2:24", cache.ticket()).is_none()); // rows changed
//! assert!(cache.get("B", true, "1:10/1:11/2:23", cache.ticket()).is_none());  // unmasked is another entry
//! assert!(first.etag.to_str().is_ok_and(|t| t.starts_with("W/")));
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderValue;

use crate::cache_sync::{Coherence, SyncedCache, Ticket, TABLES_CHANNEL};
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
    /// The same body gzip-compressed, made at the first request that accepts gzip
    /// and shared by every copy of this entry: a big table compressed per request
    /// (the router's compression layer) would cost more than serving it.
    gzip: std::sync::Arc<std::sync::OnceLock<Bytes>>,
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
    coherence: Coherence,
}

impl TableCache {
    /// A cache whose entries are served unchecked for `revalidate_after` while
    /// coherent (zero: the caller checks the fingerprint on every request).
    /// Starts incoherent, until [`SyncedCache::set_coherent`].
    pub fn new(revalidate_after: Duration) -> Self {
        Self { revalidate_after, entries: Mutex::new(HashMap::new()), coherence: Coherence::default() }
    }

    /// The generation to pass to [`Self::get`] and [`Self::insert`]; take it
    /// before the fingerprint query.
    pub fn ticket(&self) -> Ticket {
        self.coherence.ticket()
    }

    /// The cached table if the cache is coherent and the entry was checked
    /// within the revalidation window.
    ///
    /// Past the window, the first caller gets `None` and revalidates; callers
    /// arriving meanwhile still get the entry, for up to [`REVALIDATION_GRACE`]
    /// (one fingerprint query per window, not one per waiting request: with
    /// hundreds of concurrent clients the herd would queue on the pool).
    pub fn get_fresh(&self, zrzh: &str, show_pii: bool, now: Instant) -> Option<CachedTable> {
        if self.revalidate_after.is_zero() || !self.coherence.is_coherent() {
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

    /// The cached table, if it was built from rows with this fingerprint. Marks
    /// it checked now, unless an invalidation happened since `ticket` (the
    /// fingerprint may predate it).
    pub fn get(&self, zrzh: &str, show_pii: bool, fingerprint: &str, ticket: Ticket) -> Option<CachedTable> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.coherence.is_current(ticket);
        let entry = entries.get_mut(&(zrzh.to_owned(), show_pii)).filter(|c| c.fingerprint == fingerprint)?;
        if current {
            entry.checked_at = Instant::now();
            entry.revalidating_since = None;
        }
        Some(entry.clone())
    }

    /// Forgets both variants of a building's table (after a write to it).
    pub fn invalidate(&self, zrzh: &str) {
        self.invalidate_many(std::iter::once(zrzh));
    }

    /// Forgets the tables of these buildings; one generation bump for all.
    pub fn invalidate_many<'a>(&self, zrzhs: impl IntoIterator<Item = &'a str>) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for zrzh in zrzhs {
            entries.remove(&(zrzh.to_owned(), false));
            entries.remove(&(zrzh.to_owned(), true));
        }
        // Under the lock: see Coherence::is_current.
        self.coherence.bump();
    }

    /// Stores a freshly built table, unless an invalidation happened since
    /// `ticket`, and returns the entry either way (it is right for its request).
    pub fn insert(
        &self,
        zrzh: &str,
        show_pii: bool,
        fingerprint: String,
        body: Vec<u8>,
        ticket: Ticket,
    ) -> CachedTable {
        let etag = HeaderValue::from_str(&etag_of(&body)).unwrap_or_else(|_| HeaderValue::from_static("W/\"0\""));
        let entry = CachedTable {
            fingerprint,
            gzip: std::sync::Arc::default(),
            body: Bytes::from(body),
            etag,
            checked_at: Instant::now(),
            revalidating_since: None,
        };
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !self.coherence.is_current(ticket) {
            return entry;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert((zrzh.to_owned(), show_pii), entry.clone());
        entry
    }
}

impl CachedTable {
    /// The body gzip-compressed, compressed on the first call; `None` if
    /// compression failed (writing into a Vec does not), so the caller sends the JSON.
    pub fn gzip(&self) -> Option<Bytes> {
        let zipped = self.gzip.get_or_init(|| {
            use std::io::Write;
            let mut enc =
                flate2::write::GzEncoder::new(Vec::with_capacity(self.body.len() / 8), flate2::Compression::default());
            let out = enc.write_all(&self.body).and_then(|()| enc.finish()).unwrap_or_default();
            Bytes::from(out)
        });
        (!zipped.is_empty()).then(|| zipped.clone())
    }
}

/// Payload: ZRZH, comma-separated; empty = every building.
impl SyncedCache for TableCache {
    fn channel(&self) -> &'static str {
        TABLES_CHANNEL
    }

    fn on_notification(&self, payload: &str) {
        if payload.trim().is_empty() {
            self.invalidate_all();
        } else {
            self.invalidate_many(payload.split(',').map(str::trim));
        }
    }

    fn invalidate_all(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.clear();
        self.coherence.bump();
    }

    fn coherence(&self) -> &Coherence {
        &self.coherence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coherent(window: Duration) -> TableCache {
        let cache = TableCache::new(window);
        cache.set_coherent(true);
        cache
    }

    fn put(cache: &TableCache, zrzh: &str, fingerprint: &str) {
        cache.insert(zrzh, false, fingerprint.into(), b"[1]".to_vec(), cache.ticket());
    }

    #[test]
    fn revalidation_window_and_invalidation() {
        let cache = coherent(Duration::from_millis(1000));
        let t0 = Instant::now();
        assert!(cache.get_fresh("B", false, t0).is_none());
        put(&cache, "B", "f1");
        assert!(cache.get_fresh("B", false, Instant::now()).is_some());
        assert!(cache.get_fresh("B", false, Instant::now() + Duration::from_millis(1500)).is_none());
        assert!(cache.get_fresh("B", true, Instant::now()).is_none());
        cache.invalidate("B");
        assert!(cache.get_fresh("B", false, Instant::now()).is_none());
        assert!(cache.get("B", false, "f1", cache.ticket()).is_none());
    }

    #[test]
    fn one_request_revalidates_while_others_get_the_entry() {
        let cache = coherent(Duration::from_millis(100));
        put(&cache, "B", "f1");
        let later = Instant::now() + Duration::from_millis(200);
        assert!(cache.get_fresh("B", false, later).is_none(), "the first caller revalidates");
        assert!(cache.get_fresh("B", false, later).is_some(), "the others are served meanwhile");
        assert!(cache.get_fresh("B", false, later + Duration::from_millis(10)).is_some());
        // The revalidating request never came back: after the grace, someone else tries.
        assert!(cache.get_fresh("B", false, later + REVALIDATION_GRACE).is_none());
        // A successful check ends the revalidation.
        assert!(cache.get("B", false, "f1", cache.ticket()).is_some());
        assert!(cache.get_fresh("B", false, Instant::now()).is_some());
    }

    #[test]
    fn zero_window_always_checks() {
        let cache = coherent(Duration::ZERO);
        put(&cache, "B", "f1");
        assert!(cache.get_fresh("B", false, Instant::now()).is_none());
        assert_eq!(cache.get("B", false, "f1", cache.ticket()).map(|c| c.body), Some(Bytes::from_static(b"[1]")));
    }

    #[test]
    fn incoherent_cache_is_bypassed_but_fingerprint_hits_still_work() {
        let cache = TableCache::new(Duration::from_secs(60));
        put(&cache, "B", "f1");
        assert!(cache.get_fresh("B", false, Instant::now()).is_none(), "no listener: never served unchecked");
        assert!(cache.get("B", false, "f1", cache.ticket()).is_some(), "the fingerprint check is exact");
        cache.set_coherent(true);
        assert!(cache.get_fresh("B", false, Instant::now()).is_none(), "coming back flushed the entry");
        put(&cache, "B", "f1");
        assert!(cache.get_fresh("B", false, Instant::now()).is_some());
        cache.set_coherent(false);
        assert!(cache.get_fresh("B", false, Instant::now()).is_none());
        assert!(cache.get("B", false, "f1", cache.ticket()).is_none(), "losing the listener flushed too");
    }

    #[test]
    fn a_fill_that_raced_with_a_notification_is_not_stored() {
        let cache = coherent(Duration::from_secs(60));
        // Request: takes its ticket, runs the fingerprint query (old rows)...
        let ticket = cache.ticket();
        // ...meanwhile a commit elsewhere is announced (nothing cached yet to drop)...
        cache.on_notification("B");
        // ...then the request stores what it read: it gets its answer, the cache does not keep it.
        let served = cache.insert("B", false, "old".into(), b"[old]".to_vec(), ticket);
        assert_eq!(served.body, Bytes::from_static(b"[old]"));
        assert!(cache.get_fresh("B", false, Instant::now()).is_none());
        assert!(cache.get("B", false, "old", cache.ticket()).is_none());
        // A notification about another building also discards it (one counter for all: cheap, safe).
        let ticket = cache.ticket();
        cache.on_notification("OTHER1,OTHER2");
        cache.insert("B", false, "f".into(), b"[1]".to_vec(), ticket);
        assert!(cache.get_fresh("B", false, Instant::now()).is_none());
    }

    #[test]
    fn a_fingerprint_check_that_raced_does_not_renew_the_window() {
        let cache = coherent(Duration::from_millis(50));
        put(&cache, "B", "f");
        std::thread::sleep(Duration::from_millis(60)); // the entry is past its window
        let ticket = cache.ticket();
        cache.on_notification("OTHER");
        let now = Instant::now();
        assert!(cache.get("B", false, "f", ticket).is_some(), "its request is still answered");
        assert!(cache.get_fresh("B", false, now).is_none(), "but the stale check did not count");
        let now = Instant::now();
        assert!(cache.get("B", false, "f", cache.ticket()).is_some());
        assert!(cache.get_fresh("B", false, now).is_some(), "a current check does");
    }

    #[test]
    fn notifications_drop_named_buildings_or_everything() {
        let cache = coherent(Duration::from_secs(60));
        for b in ["A", "B", "C"] {
            put(&cache, b, "f");
            cache.insert(b, true, "f".into(), b"[2]".to_vec(), cache.ticket());
        }
        cache.on_notification("A,C");
        let now = Instant::now();
        assert!(cache.get_fresh("A", false, now).is_none());
        assert!(cache.get_fresh("A", true, now).is_none());
        assert!(cache.get_fresh("B", false, now).is_some());
        assert!(cache.get_fresh("C", true, now).is_none());
        cache.on_notification("");
        assert!(cache.get_fresh("B", false, now).is_none());
        assert!(cache.get_fresh("B", true, now).is_none());
    }
}
