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
//! # On disk
//!
//! With `tile_cache_dir` set ([`TileCache::with_disk`]), a tile missing from
//! memory is looked up on disk before it is rendered, and every render that is
//! stored in memory is also written there, both under the same generation check;
//! notices delete disk tiles under the layer's lock before the generation moves.
//! Across restarts and listener outages the disk is caught up from the change
//! log before it is read again ([`disk`]).
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

pub mod disk;
mod entry;
pub mod grid;
pub mod notice;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use sqlx::PgPool;
use tokio::sync::{broadcast, OnceCell};

use crate::cache_sync::{Coherence, SyncedCache};
use crate::db::tiles::{TileCoord, TileLayer, MAX_ZOOM};
use crate::error::AppError;
use disk::DiskTier;
use entry::Counters;
pub use entry::{CachedTile, Lookup, TileCacheStats};
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

/// How often every server prunes the tile change log (migration 0060), disk tier
/// or not: the log is written by every change, whoever reads it.
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Prunes the tile change log now and every [`PRUNE_EVERY`], on the current Tokio
/// runtime (nothing outside one).
pub fn spawn_log_pruning(pool: PgPool) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    runtime.spawn(async move {
        loop {
            match crate::db::tiles::prune_changes(&pool).await {
                Ok(n) if n > 0 => tracing::info!(entries = n, "tile change log pruned"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot prune the tile change log"),
            }
            tokio::time::sleep(PRUNE_EVERY).await;
        }
    });
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
    /// The disk tier, with `tile_cache_dir`.
    disk: Option<Arc<DiskTier>>,
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
            disk: None,
        }
    }

    /// A cache of at most `max_bytes` in memory that also keeps its tiles in `dir`
    /// (see [`disk`]; `pool` reads the change log). Off with the memory cache (0).
    pub fn with_disk(max_bytes: u64, dir: &Path, pool: PgPool) -> std::io::Result<Self> {
        let mut cache = Self::new(max_bytes);
        if cache.enabled {
            cache.disk = Some(Arc::new(DiskTier::open(dir, pool)?));
        }
        Ok(cache)
    }

    /// Tiles and bytes held in memory, after moka's pending maintenance (evictions).
    pub fn memory_usage(&self) -> (u64, u64) {
        self.cache.run_pending_tasks();
        (self.cache.entry_count(), self.cache.weighted_size())
    }

    /// Whether the disk tier serves tiles now (configured and caught up).
    pub fn disk_ready(&self) -> bool {
        self.disk.as_ref().is_some_and(|d| d.is_ready())
    }

    /// Records now, rather than at the next periodic checkpoint, how far the disk
    /// tier has followed the change log (so a restart replays only what comes
    /// after; see [`disk`]). `true` once the mark came back (recorded unless the
    /// listener reconnected meanwhile); `false` without a disk tier, before it is
    /// caught up, or when the mark does not come back within 10 s.
    pub async fn checkpoint(&self) -> Result<bool, AppError> {
        let Some(disk) = &self.disk else { return Ok(false) };
        let Some(token) = disk.checkpoint().await? else { return Ok(false) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !disk.mark_done(&token) {
            if std::time::Instant::now() > deadline {
                return Ok(false);
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        Ok(true)
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
            disk_hits: self.disk.as_ref().map_or(0, |d| l(&d.counters.hits)),
            disk_writes: self.disk.as_ref().map_or(0, |d| l(&d.counters.writes)),
            disk_rejected: self.disk.as_ref().map_or(0, |d| l(&d.counters.rejected)),
            disk_dropped: self.disk.as_ref().map_or(0, |d| l(&d.counters.dropped)),
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

    /// Drops every cached tile, on disk too (for the benchmark's cold runs and tests).
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
        let from_disk = AtomicBool::new(false);
        let result = cell
            .get_or_try_init(|| async {
                rendered_here.store(true, Ordering::Relaxed);
                self.render_and_store(key, counties, &render, &from_disk).await
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
            let how = if from_disk.load(Ordering::Relaxed) { Lookup::Disk } else { Lookup::Rendered };
            return Ok((tile_found, how));
        }
        // Joined another request's render: good unless an edit touching the tile
        // was announced between that render's start and this request's arrival.
        let started = tile_found.generation();
        let stale =
            lock_read(&self.layers[layer.index()]).touched_since(started, layer, tile, counties) && started < arrival;
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
        from_disk: &AtomicBool,
    ) -> Result<Arc<CachedTile>, AppError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, AppError>>,
    {
        let ticket = self.generation(key.layer);
        // A disk tile passes the same check as a render: a notice deletes it under
        // the layer's lock before moving the generation, so one read after the
        // ticket is either gone or judged by `touched_since` below.
        let disk = self.disk.as_deref();
        if let Some((body, gz)) = disk.and_then(|d| d.read(key.layer, key.tile, counties)) {
            from_disk.store(true, Ordering::Relaxed);
            let tile = Arc::new(CachedTile::from_disk(body, gz, ticket));
            self.store(key, counties, &tile, ticket, None);
            return Ok(tile);
        }
        let tile = Arc::new(CachedTile::new(render().await?, ticket));
        self.counters.renders.fetch_add(1, Ordering::Relaxed);
        // Written before the lock, moved into place under it.
        let temp = disk.and_then(|d| d.write_temp(&tile.gzip()));
        self.store(key, counties, &tile, ticket, temp.as_deref());
        Ok(tile)
    }

    /// Keeps a tile obtained since `ticket` in memory, and on disk when `temp`
    /// holds its file, unless a notice touching it arrived meanwhile.
    fn store(&self, key: TileKey, counties: &[String], tile: &Arc<CachedTile>, ticket: u64, temp: Option<&Path>) {
        // Under the layer's lock: an invalidation either ran before (and is in the
        // log) or runs after (and drops what is inserted here).
        let log = lock_read(&self.layers[key.layer.index()]);
        let keep = !log.touched_since(ticket, key.layer, key.tile, counties) && self.coherence.is_coherent();
        if keep {
            self.zooms[key.layer.index()].fetch_or(1 << key.tile.z, Ordering::Relaxed);
            self.cache.insert(key, tile.clone());
        } else {
            self.counters.discarded.fetch_add(1, Ordering::Relaxed);
        }
        if let (Some(disk), Some(temp)) = (self.disk.as_deref(), temp) {
            if keep {
                disk.commit(temp, key.layer, key.tile, counties);
            } else {
                disk.discard(temp);
            }
        }
        drop(log);
    }

    /// Applies one notice: bump the layer's generation, log the notice, drop the
    /// tiles it touches, tell the consoles.
    pub fn apply(&self, notice: Notice) {
        let notice = Arc::new(notice);
        let layer = notice.layer;
        {
            let mut log = lock_write(&self.layers[layer.index()]);
            // Disk first: a disk read that takes the new generation must not find
            // a tile this notice deletes.
            if let Some(disk) = &self.disk {
                disk.apply(&notice);
            }
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
        if let Some(token) = payload.strip_prefix(disk::MARK_PREFIX) {
            if let Some(disk) = &self.disk {
                disk.on_mark(token);
            }
            return;
        }
        match Notice::parse(payload) {
            Ok(notice) => self.apply(notice),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable tile notice: flushing the tile cache");
                self.invalidate_all();
            }
        }
    }

    /// Flushes memory and empties the disk tier: a change nobody can place
    /// (an unreadable notice) or [`TileCache::clear`].
    fn invalidate_all(&self) {
        self.flush(true);
    }

    fn coherence(&self) -> &Coherence {
        &self.coherence
    }

    /// Memory is flushed either way; the disk tier stops serving and, once a
    /// listener listens, is caught up from the change log before it serves again.
    fn set_coherent(&self, on: bool) {
        let epoch = self.disk.as_ref().map(|d| d.suspend());
        if on {
            self.flush(false);
            self.coherence.set_coherent(true);
            if let (Some(disk), Some(epoch)) = (&self.disk, epoch) {
                disk.resume(epoch);
            }
        } else {
            self.coherence.set_coherent(false);
            self.flush(false);
        }
    }
}

impl TileCache {
    /// Drops every tile in memory (and on disk with `wipe_disk`), moving every
    /// layer's generation, and tells the consoles to refresh everything.
    fn flush(&self, wipe_disk: bool) {
        let mut guards: Vec<_> = self.layers.iter().map(lock_write).collect();
        if wipe_disk {
            if let Some(disk) = &self.disk {
                disk.wipe();
            }
        }
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
}

#[cfg(test)]
mod tests;
