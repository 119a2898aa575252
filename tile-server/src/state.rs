//! Shared state of all handlers.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

use crate::auth::cache::PrincipalCache;
use crate::cache_sync::{CacheSync, SyncedCache};
use crate::config::Settings;
use crate::crypto::PiiCipher;
use crate::http::table_cache::TableCache;
use crate::middleware::rate_limit::RateLimiter;
use crate::security::Security;
use crate::tile_cache::TileCache;

/// What every handler can reach: the pool, settings, the PII cipher and the rate limiter.
///
/// One `Arc` around all of it: axum clones the state for every middleware layer
/// and the handler of each request, and cloning (then dropping) ten shared
/// counters per clone took about a quarter of a perf profile of the
/// cached-tile path (BENCHMARKS.md, issue #12). Fields are reached through `Deref`.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The contents of [`AppState`].
#[derive(Debug)]
pub struct Shared {
    /// PostgreSQL/PostGIS pool.
    pub db: PgPool,
    /// The thread that runs accepts behind the API calls (its own runtime and sessions at
    /// [`crate::review::worker::BACKGROUND_NICE`]); `None` if it could not start, and the
    /// accepts run on the request's thread then.
    pub background: Option<crate::review::background::Background>,
    /// Resolved settings.
    pub settings: Arc<Settings>,
    /// Cipher for owner names and ID numbers.
    pub pii: Arc<PiiCipher>,
    /// Per-principal token buckets.
    pub limiter: Arc<RateLimiter>,
    /// Recently resolved tokens (only when `token_cache_seconds` > 0).
    pub principals: Option<Arc<PrincipalCache>>,
    /// Serialized building tables by version.
    pub tables: Arc<TableCache>,
    /// Rendered vector tiles.
    pub tiles: Arc<TileCache>,
    /// The listener keeping both caches coherent; stops with the last clone.
    pub sync: Arc<CacheSync>,
    /// Login throttle, hashing pool and other bounded defences (issue #14).
    pub security: Arc<Security>,
}

/// The tile cache of the settings; without its directory (unwritable) the disk
/// tier is off and the server runs on memory alone, saying so.
fn tile_cache(db: &PgPool, settings: &Settings) -> TileCache {
    let bytes = settings.tile_cache_mb << 20;
    let Some(dir) = &settings.tile_cache_dir else { return TileCache::new(bytes) };
    TileCache::with_disk(bytes, dir, db.clone()).unwrap_or_else(|e| {
        tracing::error!(dir = %dir.display(), error = %e, "tile_cache_dir unusable: tiles kept in memory only");
        TileCache::new(bytes)
    })
}

impl AppState {
    /// Builds the state; the rate limiter uses the settings' default limit.
    ///
    /// Called inside a Tokio runtime, it starts the cache listener
    /// ([`crate::cache_sync`]) for the caches that are on; until it listens,
    /// they are bypassed.
    pub fn new(db: PgPool, settings: Settings, pii: PiiCipher) -> Self {
        let limiter = Arc::new(RateLimiter::new(settings.default_rate_limit_per_minute));
        let principals = (settings.token_cache_seconds > 0)
            .then(|| Arc::new(PrincipalCache::new(Duration::from_secs(settings.token_cache_seconds))));
        let tables = Arc::new(TableCache::new(Duration::from_millis(settings.table_revalidate_ms)));
        // A table cache with a zero window checks every request: it needs no notifications.
        let mut synced: Vec<Arc<dyn SyncedCache>> = Vec::new();
        if settings.table_revalidate_ms > 0 {
            synced.push(tables.clone());
        }
        if let Some(p) = &principals {
            synced.push(p.clone());
        }
        let tiles = Arc::new(tile_cache(&db, &settings));
        crate::tile_cache::spawn_log_pruning(db.clone());
        // Registered even when off: the consoles' change events come from its notices.
        synced.push(tiles.clone());
        let sync = Arc::new(CacheSync::start(&db, synced, Duration::from_millis(settings.cache_listen_retry_ms)));
        let security = Arc::new(Security::new(&settings));
        let background =
            crate::review::background::Background::start((*db.connect_options()).clone(), "tile-server accept", 4)
                .inspect_err(|e| tracing::error!(error = %e, "no background thread: accepts run on the request's"))
                .ok();
        Self(Arc::new(Shared {
            db,
            background,
            settings: Arc::new(settings),
            pii: Arc::new(pii),
            limiter,
            principals,
            tables,
            tiles,
            sync,
            security,
        }))
    }
}
