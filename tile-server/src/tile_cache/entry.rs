//! What the tile cache holds and counts: [`CachedTile`], [`Lookup`], [`TileCacheStats`].

use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::http::HeaderValue;

use crate::middleware::etag::etag_of;

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
    pub(super) fn new(body: Vec<u8>, generation: u64) -> Self {
        let etag = HeaderValue::from_str(&etag_of(&body)).unwrap_or_else(|_| HeaderValue::from_static("W/\"0\""));
        Self { body: Bytes::from(body), gzip: OnceLock::new(), etag, generation }
    }

    /// A tile read back from the disk tier: its MVT bytes and the gzip file they came from.
    pub(super) fn from_disk(body: Vec<u8>, gzip: Vec<u8>, generation: u64) -> Self {
        let tile = Self::new(body, generation);
        let _ = tile.gzip.set(Bytes::from(gzip));
        tile
    }

    /// The layer generation the render (or disk read) started in.
    pub(super) fn generation(&self) -> u64 {
        self.generation
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
    pub(super) fn weight(&self) -> u32 {
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
    /// Read back from the disk tier (`tile_cache_dir`) and kept in memory.
    Disk,
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
    /// Requests answered from the disk tier.
    pub disk_hits: u64,
    /// Tiles written to the disk tier.
    pub disk_writes: u64,
    /// Disk tiles that did not decode (torn, corrupt): deleted and rendered again.
    pub disk_rejected: u64,
    /// Disk tiles deleted by notices (including those replayed from the change log).
    pub disk_dropped: u64,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) hits: AtomicU64,
    pub(super) renders: AtomicU64,
    pub(super) discarded: AtomicU64,
    pub(super) joined: AtomicU64,
    pub(super) bypassed: AtomicU64,
    pub(super) notices: AtomicU64,
    pub(super) dropped: AtomicU64,
}
