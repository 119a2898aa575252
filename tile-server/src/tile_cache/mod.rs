//! The vector-tile cache: rendered tiles in memory (moka, bounded by bytes),
//! dropped for exactly the tiles an edit touches.
//!
//! # Invalidation
//!
//! Statement triggers (migration 0020) announce every committed change to a mapped
//! layer on channel [`TILES_CHANNEL`] with the Web Mercator boxes of the old and
//! new rows. The listener of [`crate::cache_sync`] hands each notice to
//! [`TileCache::on_notification`], which drops the cached tiles whose buffered
//! extent meets a box, at every zoom that has cached tiles, for every scope (set
//! of counties) that holds the county. A notice for more tiles than
//! [`DIRECT_LIMIT`] (a whole import batch) is applied by one pass over the cache
//! instead of tile by tile. Then the notice goes out to the consoles
//! ([`TileCache::subscribe`], `/tiles/events`), which re-fetch those tiles.
//!
//! # Never stale
//!
//! A tile rendering while an edit commits may have read the old rows, and the
//! edit's invalidation may run before that render is stored. So each layer has a
//! generation counter: a render takes the generation before its query, and is
//! stored only if no notice touching its tile arrived since (the recent notices
//! are kept per layer; if they no longer reach back that far, it is not stored).
//! The check and the insert run under the layer's lock that invalidation takes
//! to bump the generation and drop tiles, so nothing slips between them. A
//! request that joins a render already in flight (one render per tile at a
//! time) re-renders if a notice touching the tile arrived since that render
//! started.
//!
//! # When the listener is down
//!
//! As for the other caches: the cache is flushed and bypassed (every request
//! renders) until the listener listens again, then flushed once more, and the
//! consoles are told to refresh everything.
//!
//! ```
//! use tile_server::tile_cache::TileCache;
//! use tile_server::cache_sync::SyncedCache;
//! use tile_server::db::tiles::{TileCoord, TileLayer};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let cache = TileCache::new(64 << 20);
//! cache.set_coherent(true); // a listener is listening
//! let tile = TileCoord::new(18, 219_000, 107_000).unwrap();
//! let counties = ["330102".to_owned()];
//! let render = || async { Ok::<_, tile_server::AppError>(b"mvt".to_vec()) };
//! cache.tile(TileLayer::Parcels, tile, &counties, render).await.unwrap();
//! let (_, how) = cache.tile(TileLayer::Parcels, tile, &counties, render).await.unwrap();
//! assert_eq!(how, tile_server::tile_cache::Lookup::Hit);
//! # });
//! ```

pub mod grid;
pub mod notice;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use axum::body::Bytes;
use axum::http::HeaderValue;
use tokio::sync::{broadcast, OnceCell};

use crate::cache_sync::{Coherence, SyncedCache};
use crate::db::tiles::{TileCoord, TileLayer, MAX_ZOOM};
use crate::error::AppError;
use crate::middleware::etag::etag_of;
use notice::{Extent, Notice};

/// Channel announcing changed tiles (migration 0020).
pub const TILES_CHANNEL: &str = "cadastre_tiles";
/// A notice touching more cached keys than this is applied by a pass over the
/// cache rather than key by key.
pub const DIRECT_LIMIT: u64 = 4096;
/// Recent notices kept per layer to judge renders that overlapped them.
pub const NOTICE_LOG: usize = 1024;
/// Distinct county sets with tiles in the cache; callers beyond it are served
/// uncached (a safety bound, far above real use).
pub const MAX_SCOPES: usize = 4096;
/// Notices queued per console connection before it is told to refresh all.
const EVENT_QUEUE: usize = 1024;

/// A tile as served: the MVT bytes, a gzip copy made at the first request that
/// accepts gzip, and the ETag.
#[derive(Debug)]
pub struct CachedTile {
    /// MVT bytes; empty for a tile without features.
    pub body: Bytes,
    gzip: OnceLock<Bytes>,
    /// Weak ETag of the MVT bytes.
    pub etag: HeaderValue,
    /// The layer generation the render started in.
    generation: u64,
}

impl CachedTile {
    fn new(body: Vec<u8>, generation: u64) -> Self {
        let etag = HeaderValue::from_str(&etag_of(&body)).unwrap_or_else(|_| HeaderValue::from_static("W/\"0\""));
        Self { body: Bytes::from(body), gzip: OnceLock::new(), etag, generation }
    }

    /// The tile gzip-compressed (compressed once, then kept).
    pub fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| {
                use std::io::Write;
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.body.len() / 2 + 32),
                    flate2::Compression::fast(),
                );
                // Writing into a Vec cannot fail.
                let out = enc.write_all(&self.body).and_then(|()| enc.finish()).unwrap_or_default();
                Bytes::from(out)
            })
            .clone()
    }

    /// Bytes held, for the cache's size bound (the gzip copy is about half).
    fn weight(&self) -> u32 {
        u32::try_from(self.body.len() + self.body.len() / 2 + 256).unwrap_or(u32::MAX)
    }
}

/// How a tile was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// From the cache.
    Hit,
    /// Rendered (and stored, unless an edit overlapped the render).
    Rendered,
    /// Rendered by a concurrent request for the same tile.
    Joined,
    /// Rendered without the cache (no listener, cache off, or too many scopes).
    Bypassed,
}

/// Counters, for tests and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TileCacheStats {
    /// Requests answered from the cache.
    pub hits: u64,
    /// Renders (stored or not).
    pub renders: u64,
    /// Renders not stored because an edit touching the tile overlapped them.
    pub discarded: u64,
    /// Requests served by another request's render.
    pub joined: u64,
    /// Requests that bypassed the cache.
    pub bypassed: u64,
    /// Notices applied.
    pub notices: u64,
    /// Tiles dropped by notices (key by key; scans count what they found).
    pub dropped: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    renders: AtomicU64,
    discarded: AtomicU64,
    joined: AtomicU64,
    bypassed: AtomicU64,
    notices: AtomicU64,
    dropped: AtomicU64,
}

/// The cache key: layer, tile and the caller's county set (interned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TileKey {
    layer: TileLayer,
    tile: TileCoord,
    scope: u32,
}

/// Per layer: the generation and the notices since recent generations.
#[derive(Debug, Default)]
struct LayerLog {
    generation: u64,
    /// (generation the notice started, notice), oldest first.
    recent: VecDeque<(u64, Arc<Notice>)>,
}

impl LayerLog {
    /// Whether a notice after generation `since` touches the tile, or the log no
    /// longer reaches back to `since` (then assume it does).
    fn touched_since(&self, since: u64, layer: TileLayer, tile: TileCoord, counties: &[String]) -> bool {
        if self.generation == since {
            return false;
        }
        match self.recent.front() {
            Some((first, _)) if *first <= since + 1 => {}
            _ => return true,
        }
        self.recent.iter().filter(|(g, _)| *g > since).any(|(_, n)| n.touches(layer, tile, counties))
    }
}

/// Interned county sets.
#[derive(Debug, Default)]
struct Scopes {
    ids: HashMap<Arc<[String]>, u32>,
    list: Vec<Arc<[String]>>,
}

/// The tile cache of one server; see the module documentation.
#[derive(Debug)]
pub struct TileCache {
    cache: moka::sync::Cache<TileKey, Arc<CachedTile>>,
    enabled: bool,
    layers: [RwLock<LayerLog>; 4],
    /// Each layer's generation, also set under its lock: a hit reads it without
    /// taking the lock (a read lock still writes to the lock word, which two cores
    /// serving cached tiles then pass back and forth).
    generations: [AtomicU64; 4],
    /// Per layer, a bit per zoom that ever had a tile stored (notices skip the others).
    zooms: [AtomicU32; 4],
    coherence: Coherence,
    scopes: RwLock<Scopes>,
    inflight: Mutex<HashMap<TileKey, Arc<OnceCell<Arc<CachedTile>>>>>,
    events: broadcast::Sender<Arc<Notice>>,
    counters: Counters,
}

impl Default for TileCache {
    fn default() -> Self {
        Self::new(crate::config::DEFAULT_TILE_CACHE_MB << 20)
    }
}

fn lock_read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock_write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TileCache {
    /// A cache holding at most `max_bytes` of tiles (0 = off: every request renders).
    pub fn new(max_bytes: u64) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_k: &TileKey, v: &Arc<CachedTile>| v.weight())
            .build();
        Self {
            cache,
            enabled: max_bytes > 0,
            layers: Default::default(),
            generations: Default::default(),
            zooms: Default::default(),
            coherence: Coherence::default(),
            scopes: RwLock::default(),
            inflight: Mutex::default(),
            events: broadcast::channel(EVENT_QUEUE).0,
            counters: Counters::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> TileCacheStats {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TileCacheStats {
            hits: l(&c.hits),
            renders: l(&c.renders),
            discarded: l(&c.discarded),
            joined: l(&c.joined),
            bypassed: l(&c.bypassed),
            notices: l(&c.notices),
            dropped: l(&c.dropped),
        }
    }

    /// Whether cached tiles are served (a listener is listening and the cache is on).
    pub fn is_active(&self) -> bool {
        self.enabled && self.coherence.is_coherent()
    }

    /// Notices as they are applied, for the consoles (`/tiles/events`).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notice>> {
        self.events.subscribe()
    }

    /// Drops every cached tile (for the benchmark's cold runs and tests).
    pub fn clear(&self) {
        self.invalidate_all();
    }

    fn generation(&self, layer: TileLayer) -> u64 {
        self.generations[layer.index()].load(Ordering::Acquire)
    }

    /// The interned id of a county set (sorted, deduplicated by the caller), or
    /// `None` when [`MAX_SCOPES`] are taken.
    fn scope(&self, counties: &[String]) -> Option<u32> {
        if let Some(id) = lock_read(&self.scopes).ids.get(counties) {
            return Some(*id);
        }
        let mut s = lock_write(&self.scopes);
        if let Some(id) = s.ids.get(counties) {
            return Some(*id);
        }
        if s.list.len() >= MAX_SCOPES {
            return None;
        }
        let id = u32::try_from(s.list.len()).ok()?;
        let key: Arc<[String]> = counties.into();
        s.ids.insert(key.clone(), id);
        s.list.push(key);
        Some(id)
    }

    /// A tile for a caller whose scope is `counties` (sorted and deduplicated):
    /// from the cache, or from `render`, stored unless an edit overlapped it.
    pub async fn tile<F, Fut>(
        &self,
        layer: TileLayer,
        tile: TileCoord,
        counties: &[String],
        render: F,
    ) -> Result<(Arc<CachedTile>, Lookup), AppError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, AppError>>,
    {
        let scope = if self.is_active() { self.scope(counties) } else { None };
        let Some(scope) = scope else {
            self.counters.bypassed.fetch_add(1, Ordering::Relaxed);
            return Ok((Arc::new(CachedTile::new(render().await?, 0)), Lookup::Bypassed));
        };
        let key = TileKey { layer, tile, scope };
        // Taken before the lookup: a notice after it must be reflected in the answer.
        let arrival = self.generation(layer);
        if let Some(hit) = self.cache.get(&key) {
            self.counters.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((hit, Lookup::Hit));
        }
        let cell = {
            let mut inflight = self.inflight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            inflight.entry(key).or_default().clone()
        };
        let rendered_here = AtomicBool::new(false);
        let result = cell
            .get_or_try_init(|| async {
                rendered_here.store(true, Ordering::Relaxed);
                self.render_and_store(key, counties, &render).await
            })
            .await
            .cloned();
        {
            let mut inflight = self.inflight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if inflight.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                inflight.remove(&key);
            }
        }
        let tile_found = result?;
        if rendered_here.load(Ordering::Relaxed) {
            return Ok((tile_found, Lookup::Rendered));
        }
        // Joined another request's render: good unless an edit touching the tile
        // was announced between that render's start and this request's arrival.
        let stale = lock_read(&self.layers[layer.index()]).touched_since(tile_found.generation, layer, tile, counties)
            && tile_found.generation < arrival;
        if stale {
            self.counters.renders.fetch_add(1, Ordering::Relaxed);
            return Ok((Arc::new(CachedTile::new(render().await?, arrival)), Lookup::Rendered));
        }
        self.counters.joined.fetch_add(1, Ordering::Relaxed);
        Ok((tile_found, Lookup::Joined))
    }

    async fn render_and_store<F, Fut>(
        &self,
        key: TileKey,
        counties: &[String],
        render: &F,
    ) -> Result<Arc<CachedTile>, AppError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, AppError>>,
    {
        let ticket = self.generation(key.layer);
        let tile = Arc::new(CachedTile::new(render().await?, ticket));
        self.counters.renders.fetch_add(1, Ordering::Relaxed);
        // Under the layer's lock: an invalidation either ran before (and is in the
        // log) or runs after (and drops what is inserted here).
        let log = lock_read(&self.layers[key.layer.index()]);
        if log.touched_since(ticket, key.layer, key.tile, counties) || !self.coherence.is_coherent() {
            self.counters.discarded.fetch_add(1, Ordering::Relaxed);
        } else {
            self.zooms[key.layer.index()].fetch_or(1 << key.tile.z, Ordering::Relaxed);
            self.cache.insert(key, tile.clone());
        }
        drop(log);
        Ok(tile)
    }

    /// Applies one notice: bump the layer's generation, log the notice, drop the
    /// tiles it touches, tell the consoles.
    pub fn apply(&self, notice: Notice) {
        let notice = Arc::new(notice);
        let layer = notice.layer;
        {
            let mut log = lock_write(&self.layers[layer.index()]);
            log.generation += 1;
            let generation = log.generation;
            self.generations[layer.index()].store(generation, Ordering::Release);
            log.recent.push_back((generation, notice.clone()));
            while log.recent.len() > NOTICE_LOG {
                log.recent.pop_front();
            }
            let dropped = self.drop_touched(&notice);
            self.counters.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        self.counters.notices.fetch_add(1, Ordering::Relaxed);
        let _ = self.events.send(notice);
    }

    /// Drops the cached tiles `notice` touches; returns how many were dropped.
    fn drop_touched(&self, notice: &Notice) -> u64 {
        let scopes: Vec<(u32, Arc<[String]>)> = {
            let s = lock_read(&self.scopes);
            s.list.iter().enumerate().filter(|(_, c)| notice.concerns(c)).map(|(i, c)| (i as u32, c.clone())).collect()
        };
        if scopes.is_empty() {
            return 0;
        }
        let layer = notice.layer;
        let zooms = self.zooms[layer.index()].load(Ordering::Relaxed);
        let cached_zooms = || (0..=MAX_ZOOM).filter(move |z| zooms & (1 << z) != 0);
        if let Extent::Boxes(boxes) = &notice.extent {
            let keys: u64 = cached_zooms()
                .map(|z| boxes.iter().map(|b| grid::tiles_touching(*b, z).len()).sum::<u64>())
                .sum::<u64>()
                .saturating_mul(scopes.len() as u64);
            if keys <= DIRECT_LIMIT {
                let mut dropped = 0;
                for z in cached_zooms() {
                    for b in boxes {
                        for tile in grid::tiles_touching(*b, z).tiles() {
                            for (scope, _) in &scopes {
                                if self.cache.remove(&TileKey { layer, tile, scope: *scope }).is_some() {
                                    dropped += 1;
                                }
                            }
                        }
                    }
                }
                return dropped;
            }
        }
        let scope_ids: HashMap<u32, Arc<[String]>> = scopes.into_iter().collect();
        let mut dropped = 0;
        for (key, _) in self.cache.iter() {
            if key.layer == layer
                && scope_ids.get(&key.scope).is_some_and(|c| notice.touches(layer, key.tile, c))
                && self.cache.remove(&*key).is_some()
            {
                dropped += 1;
            }
        }
        dropped
    }
}

/// Payload: see [`Notice::parse`]. A payload that does not parse flushes every
/// layer (never trust a cache after a change it could not read).
impl SyncedCache for TileCache {
    fn channel(&self) -> &'static str {
        TILES_CHANNEL
    }

    fn on_notification(&self, payload: &str) {
        match Notice::parse(payload) {
            Ok(notice) => self.apply(notice),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable tile notice: flushing the tile cache");
                self.invalidate_all();
            }
        }
    }

    fn invalidate_all(&self) {
        let guards: Vec<_> = self.layers.iter().map(lock_write).collect();
        let mut guards = guards;
        for (log, layer) in guards.iter_mut().zip(TileLayer::ALL) {
            log.generation += 1;
            let generation = log.generation;
            self.generations[layer.index()].store(generation, Ordering::Release);
            log.recent.push_back((generation, Arc::new(Notice::everything(layer))));
            while log.recent.len() > NOTICE_LOG {
                log.recent.pop_front();
            }
        }
        self.cache.invalidate_all();
        self.coherence.bump();
        drop(guards);
        for layer in TileLayer::ALL {
            let _ = self.events.send(Arc::new(Notice::everything(layer)));
        }
    }

    fn coherence(&self) -> &Coherence {
        &self.coherence
    }

    fn set_coherent(&self, on: bool) {
        if on {
            self.invalidate_all();
            self.coherence.set_coherent(true);
        } else {
            self.coherence.set_coherent(false);
            self.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests;
