//! The optional disk tier of the tile cache (`tile_cache_dir`): rendered tiles,
//! gzip-compressed, kept in a directory so that a restarted server starts warm.
//!
//! # Layout
//!
//! ```text
//! DIR/state.json                         what the disk has seen of the change log
//! DIR/tiles/SCOPE/COUNTIES               the county set of SCOPE, one code a line
//! DIR/tiles/SCOPE/LAYER/Z/X/Y.mvt.gz     a tile (gzip of the MVT bytes; empty tiles too)
//! DIR/tmp/                               files being written
//! DIR/trash/                             directories being deleted in the background
//! ```
//!
//! SCOPE is a hash of the sorted county set, like the memory cache's key.
//!
//! # Never torn, never stale
//!
//! A tile is written to `tmp/` and renamed into place, so a reader (or a server
//! killed mid-write) never sees half a file; a file that still does not decode
//! (gzip checks its CRC and length) is ignored, deleted and rendered again.
//!
//! While the server runs, each change notice deletes the disk tiles it touches,
//! under the same layer lock and generation check as the memory tiles (see
//! [`super::TileCache`]). Notices sent while the server was down or its listener
//! was disconnected are lost; migration 0060 logs each of them in `tile_changes`
//! as well. Once a listener listens, [`DiskTier::catch_up`] reads the entries
//! committed after the snapshot recorded in `state.json` (transaction visibility,
//! not ids, decides), deletes the tiles they touch, and records a new snapshot;
//! only then are disk tiles served again. A missing or foreign `state.json`, a
//! snapshot older than [`TRUST_SECS`] (the log keeps 7 days), a store restored
//! from an older backup or an unreadable entry empties the directory instead.
//!
//! While connected, the record moves forward ([`DiskTier::checkpoint`], every
//! [`ADVANCE_EVERY`] after changes, at least hourly): take a snapshot, send a
//! `mark|TOKEN` notice, and record the snapshot when the listener hands that
//! mark back. Notifications arrive in commit order, so by then every change the
//! snapshot sees has been applied; a restart replays only what came after.
//!
//! One directory per server instance.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::PgPool;

mod replay;

use super::grid::{self, TileRange};
use super::notice::{Extent, Notice};
use super::{lock_read, lock_write, DIRECT_LIMIT};
use crate::db::tiles::{TileCoord, TileLayer, MAX_ZOOM};
use replay::State;

/// A recorded snapshot older than this is not trusted (the log keeps 7 days).
pub const TRUST_SECS: i64 = 6 * 24 * 3600;
/// How often a connected server that applied notices records a new snapshot.
pub const ADVANCE_EVERY: Duration = Duration::from_secs(30);
/// A connected server records a new snapshot at least this often, changes or not.
const ADVANCE_IDLE: Duration = Duration::from_secs(3600);
/// Prefix of a checkpoint's notice on the tile channel (not a change).
pub const MARK_PREFIX: &str = "mark|";
/// Wait before retrying a catch-up that failed (database unreachable).
const RETRY: Duration = Duration::from_secs(10);
/// More log entries than this to replay: empty the directory instead.
const MAX_CATCH_UP: usize = 100_000;
/// Largest tile accepted from disk once decompressed (a corrupt length field).
const MAX_TILE_BYTES: u64 = 64 << 20;
/// Name of the county-set file of a scope directory.
const COUNTIES: &str = "COUNTIES";

/// Counters of the disk tier (see [`super::TileCacheStats`]).
#[derive(Debug, Default)]
pub(super) struct DiskCounters {
    pub(super) hits: AtomicU64,
    pub(super) writes: AtomicU64,
    pub(super) rejected: AtomicU64,
    pub(super) dropped: AtomicU64,
}

/// The disk tier; see the module documentation.
#[derive(Debug)]
pub struct DiskTier {
    root: PathBuf,
    pool: PgPool,
    /// Taken for writing by [`DiskTier::wipe`], for reading by everything that
    /// creates or deletes below `tiles/`, so a wipe never races a new scope.
    gate: RwLock<()>,
    /// Scope directory name → county set.
    scopes: RwLock<HashMap<String, Arc<[String]>>>,
    /// Per layer, a bit per zoom that may have tiles on disk.
    zooms: [AtomicU32; 4],
    /// Bumped whenever the listener connects or disconnects.
    epoch: AtomicU64,
    /// The epoch whose catch-up finished: disk tiles are served only then.
    ready: AtomicU64,
    /// Set when the directory can be neither written nor emptied: the tier is off.
    broken: AtomicBool,
    temp_seq: AtomicU64,
    /// The checkpoint waiting for its mark: (token, epoch, record to write).
    pending: std::sync::Mutex<Option<(String, u64, State)>>,
    /// Notices applied, so an idle server skips checkpoints.
    applied: AtomicU64,
    pub(super) counters: DiskCounters,
}

/// Hex of the first 8 bytes of SHA-256 over the comma-joined county set.
fn scope_name(counties: &[String]) -> String {
    let digest = Sha256::digest(counties.join(",").as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The MVT bytes of a gzip file, or why not (truncated, corrupt, trailing bytes).
fn gunzip(gz: &[u8]) -> io::Result<Vec<u8>> {
    let mut decoder = flate2::bufread::GzDecoder::new(gz);
    let mut body = Vec::with_capacity(gz.len() * 2);
    (&mut decoder).take(MAX_TILE_BYTES + 1).read_to_end(&mut body)?;
    if body.len() as u64 > MAX_TILE_BYTES || !decoder.into_inner().is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "oversized or trailing bytes"));
    }
    Ok(body)
}

/// Removes a file; `false` when it was not there.
fn remove(path: &Path) -> io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Checks that `dir` can hold the disk tier (created if missing, writable), so a
/// server with a wrong `tile_cache_dir` stops at start-up with the reason.
pub fn check_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".probe-{}", std::process::id()));
    std::fs::write(&probe, b"probe")?;
    std::fs::remove_file(&probe)
}

impl DiskTier {
    /// Opens (creating) the directory: leftovers of a killed run in `tmp/` are
    /// removed, `trash/` is emptied in the background, the scopes and zooms on
    /// disk are read. Nothing is served before [`DiskTier::catch_up`].
    pub fn open(root: &Path, pool: PgPool) -> io::Result<Self> {
        let tier = Self {
            root: root.to_owned(),
            pool,
            gate: RwLock::default(),
            scopes: RwLock::default(),
            zooms: Default::default(),
            epoch: AtomicU64::new(0),
            ready: AtomicU64::new(0),
            broken: AtomicBool::new(false),
            temp_seq: AtomicU64::new(0),
            pending: std::sync::Mutex::default(),
            applied: AtomicU64::new(0),
            counters: DiskCounters::default(),
        };
        for dir in [tier.tiles_dir(), tier.root.join("tmp"), tier.root.join("trash")] {
            std::fs::create_dir_all(&dir)?;
        }
        for e in std::fs::read_dir(tier.root.join("tmp"))? {
            let path = e?.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        }
        // Proves the directory writable now rather than at the first tile.
        let probe = tier.temp_path();
        std::fs::write(&probe, b"probe")?;
        std::fs::remove_file(&probe)?;
        for e in std::fs::read_dir(tier.root.join("trash"))? {
            tier.delete_later(e?.path());
        }
        tier.load_scopes()?;
        Ok(tier)
    }

    fn tiles_dir(&self) -> PathBuf {
        self.root.join("tiles")
    }

    fn temp_path(&self) -> PathBuf {
        let n = self.temp_seq.fetch_add(1, Ordering::Relaxed);
        self.root.join("tmp").join(format!("{}-{n}.tmp", std::process::id()))
    }

    fn tile_path(&self, scope: &str, layer: TileLayer, tile: TileCoord) -> PathBuf {
        let mut p = self.tiles_dir();
        p.push(scope);
        p.push(layer.name());
        p.push(tile.z.to_string());
        p.push(tile.x.to_string());
        p.push(format!("{}.mvt.gz", tile.y));
        p
    }

    /// Reads the scope directories; one without a matching COUNTIES file is junk.
    fn load_scopes(&self) -> io::Result<()> {
        let mut scopes = HashMap::new();
        for e in std::fs::read_dir(self.tiles_dir())? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(e.path().join(COUNTIES)).unwrap_or_default();
            let counties: Vec<String> = text.lines().map(str::to_owned).collect();
            let sorted = counties.windows(2).all(|w| w[0] < w[1]);
            let valid = counties.iter().all(|c| c.parse::<unit_code::CountyCode>().is_ok());
            if counties.is_empty() || !sorted || !valid || scope_name(&counties) != name {
                self.trash(&e.path())?;
                continue;
            }
            for layer in TileLayer::ALL {
                let Ok(zs) = std::fs::read_dir(e.path().join(layer.name())) else { continue };
                for z in zs {
                    if let Some(z) =
                        z?.file_name().to_str().and_then(|z| z.parse::<u8>().ok()).filter(|z| *z <= MAX_ZOOM)
                    {
                        self.zooms[layer.index()].fetch_or(1 << z, Ordering::Relaxed);
                    }
                }
            }
            scopes.insert(name, counties.into());
        }
        *lock_write(&self.scopes) = scopes;
        Ok(())
    }

    /// Whether disk tiles may be served now.
    pub fn is_ready(&self) -> bool {
        let epoch = self.epoch.load(Ordering::SeqCst);
        epoch != 0 && self.ready.load(Ordering::SeqCst) == epoch && !self.broken.load(Ordering::SeqCst)
    }

    /// Trusts the directory as if caught up (unit tests have no database).
    #[cfg(test)]
    pub(crate) fn trust_for_tests(&self) {
        self.ready.store(self.epoch.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Stops serving disk tiles until the next catch-up (the listener went away,
    /// or came back: call [`DiskTier::resume`] then). Returns the new epoch.
    pub fn suspend(&self) -> u64 {
        self.ready.store(0, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The tile from disk: `(MVT bytes, gzip bytes)`. A file that does not decode
    /// is deleted and counted in `disk_rejected`.
    pub fn read(&self, layer: TileLayer, tile: TileCoord, counties: &[String]) -> Option<(Vec<u8>, Vec<u8>)> {
        if !self.is_ready() {
            return None;
        }
        let path = self.tile_path(&scope_name(counties), layer, tile);
        let gz = match std::fs::read(&path) {
            Ok(gz) => gz,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read a disk tile");
                return None;
            }
        };
        match gunzip(&gz) {
            Ok(body) => {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                Some((body, gz))
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "torn or corrupt disk tile: rendering it again");
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                let _ = remove(&path);
                None
            }
        }
    }

    /// Writes `gz` to a temporary file, to be [`DiskTier::commit`]ted under the
    /// layer lock or [`DiskTier::discard`]ed.
    pub fn write_temp(&self, gz: &[u8]) -> Option<PathBuf> {
        if self.broken.load(Ordering::Relaxed) {
            return None;
        }
        let path = self.temp_path();
        match std::fs::write(&path, gz) {
            Ok(()) => Some(path),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot write a disk tile");
                let _ = remove(&path);
                None
            }
        }
    }

    /// Drops a temporary file that is not to be kept.
    pub fn discard(&self, temp: &Path) {
        let _ = remove(temp);
    }

    /// Moves a temporary file into place (atomically: rename).
    pub fn commit(&self, temp: &Path, layer: TileLayer, tile: TileCoord, counties: &[String]) {
        let result = (|| -> io::Result<()> {
            let _gate = lock_read(&self.gate);
            let scope = scope_name(counties);
            if !lock_read(&self.scopes).contains_key(&scope) {
                let dir = self.tiles_dir().join(&scope);
                std::fs::create_dir_all(&dir)?;
                let list = self.temp_path();
                std::fs::write(&list, counties.join("\n"))?;
                std::fs::rename(&list, dir.join(COUNTIES))?;
                lock_write(&self.scopes).insert(scope.clone(), counties.into());
            }
            let path = self.tile_path(&scope, layer, tile);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            self.zooms[layer.index()].fetch_or(1 << tile.z, Ordering::Relaxed);
            std::fs::rename(temp, &path)?;
            self.counters.writes.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })();
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot store a disk tile");
            let _ = remove(temp);
        }
    }

    /// Deletes the disk tiles `notice` touches (call it under the layer's write
    /// lock, before the generation moves). An I/O error empties the directory.
    pub fn apply(&self, notice: &Notice) {
        self.applied.fetch_add(1, Ordering::Relaxed);
        match self.apply_inner(notice) {
            Ok(n) => {
                self.counters.dropped.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => self.fail("deleting changed disk tiles", &e),
        }
    }

    fn apply_inner(&self, notice: &Notice) -> io::Result<u64> {
        let _gate = lock_read(&self.gate);
        let scopes: Vec<String> =
            lock_read(&self.scopes).iter().filter(|(_, c)| notice.concerns(c)).map(|(n, _)| n.clone()).collect();
        if scopes.is_empty() {
            return Ok(0);
        }
        let layer = notice.layer;
        let boxes = match &notice.extent {
            Extent::All => {
                for s in &scopes {
                    self.trash(&self.tiles_dir().join(s).join(layer.name()))?;
                }
                return Ok(0);
            }
            Extent::Boxes(boxes) => boxes,
        };
        let zooms = self.zooms[layer.index()].load(Ordering::Relaxed);
        let cached: Vec<u8> = (0..=MAX_ZOOM).filter(|z| zooms & (1 << z) != 0).collect();
        let keys: u64 = cached
            .iter()
            .map(|z| boxes.iter().map(|b| grid::tiles_touching(*b, *z).len()).sum::<u64>())
            .sum::<u64>()
            .saturating_mul(scopes.len() as u64);
        let mut dropped = 0;
        for scope in &scopes {
            for &z in &cached {
                if keys <= DIRECT_LIMIT {
                    for b in boxes {
                        for tile in grid::tiles_touching(*b, z).tiles() {
                            dropped += u64::from(remove(&self.tile_path(scope, layer, tile))?);
                        }
                    }
                } else {
                    let dir = self.tiles_dir().join(scope).join(layer.name()).join(z.to_string());
                    dropped += scan(&dir, z, boxes)?;
                }
            }
        }
        Ok(dropped)
    }

    /// Empties the directory (the tiles are moved aside and deleted in the background).
    pub fn wipe(&self) {
        let result = (|| -> io::Result<()> {
            let _gate = lock_write(&self.gate);
            self.trash(&self.tiles_dir())?;
            std::fs::create_dir_all(self.tiles_dir())?;
            lock_write(&self.scopes).clear();
            for z in &self.zooms {
                z.store(0, Ordering::Relaxed);
            }
            Ok(())
        })();
        if let Err(e) = result {
            tracing::error!(dir = %self.root.display(), error = %e, "cannot empty the tile cache directory: disk tier off");
            self.broken.store(true, Ordering::SeqCst);
        }
    }

    fn fail(&self, what: &str, e: &io::Error) {
        tracing::warn!(dir = %self.root.display(), error = %e, "{what}: emptying the tile cache directory");
        self.wipe();
    }

    /// Moves `dir` into `trash/` and deletes it on a thread of its own.
    fn trash(&self, dir: &Path) -> io::Result<()> {
        let n = self.temp_seq.fetch_add(1, Ordering::Relaxed);
        let to = self.root.join("trash").join(format!("{}-{n}", std::process::id()));
        match std::fs::rename(dir, &to) {
            Ok(()) => {
                self.delete_later(to);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn delete_later(&self, path: PathBuf) {
        let spawned = std::thread::Builder::new().name("tile-trash".into()).spawn(move || {
            if let Err(e) = std::fs::remove_dir_all(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot delete old disk tiles");
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start deleting old disk tiles");
        }
    }
}

/// Deletes the tiles of one zoom directory that the boxes touch, looking only
/// into the columns their ranges cover.
fn scan(zdir: &Path, z: u8, boxes: &[[f64; 4]]) -> io::Result<u64> {
    let ranges: Vec<TileRange> = boxes.iter().map(|b| grid::tiles_touching(*b, z)).collect();
    let columns = match std::fs::read_dir(zdir) {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut dropped = 0;
    for column in columns {
        let column = column?;
        let Some(x) = column.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if !ranges.iter().any(|r| r.x0 <= x && x <= r.x1) {
            continue;
        }
        for file in std::fs::read_dir(column.path())? {
            let file = file?;
            let name = file.file_name();
            let Some(y) = name.to_str().and_then(|n| n.strip_suffix(".mvt.gz")).and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let tile = TileCoord { z, x, y };
            if boxes.iter().any(|b| grid::touches(*b, tile)) {
                dropped += u64::from(remove(&file.path())?);
            }
        }
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_gzip_member_is_a_tile() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"mvt bytes").unwrap_or_else(|e| panic!("{e}"));
        let gz = enc.finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(gunzip(&gz).ok(), Some(b"mvt bytes".to_vec()));
        assert!(gunzip(&gz[..gz.len() - 1]).is_err(), "truncated");
        let mut flipped = gz.clone();
        flipped[12] ^= 0x40;
        assert!(gunzip(&flipped).is_err(), "corrupt");
        let mut longer = gz.clone();
        longer.push(0);
        assert!(gunzip(&longer).is_err(), "trailing bytes");
        assert!(gunzip(b"").is_err());
    }

    #[test]
    fn scope_names_are_short_and_distinct() {
        let a = scope_name(&["330102".to_owned()]);
        let b = scope_name(&["330102".to_owned(), "330103".to_owned()]);
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
    }
}
