//! The sender's outbox: a directory packages are written into, and the state of the
//! chain (last sequence, its manifest digest, the feed cursor) kept beside them.
//!
//! The package file is the commit point. The state file is written after the rename;
//! if the process dies in between, the next run finds the newer package in the outbox
//! and adopts its manifest (it is signed by our own key), so no sequence number is
//! reused and no change is exported twice under different numbers.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::keys::{KeyPair, PublicKey};
use crate::package::manifest::{check_sender, PackageKind};
use crate::package::read::{verify, Keyring};
use crate::package::write::write_atomic;

/// Errors of the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// File system.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Another export holds the outbox.
    #[error("{0}: another share-sync export is writing into this outbox")]
    Busy(PathBuf),
    /// A bad state file or sender id.
    #[error("{0}")]
    Invalid(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutboxError + '_ {
    move |source| OutboxError::Io { path: path.to_owned(), source }
}

/// Where the chain of one sender and kind stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainState {
    /// Last sequence written (0: none yet).
    pub sequence: u64,
    /// SM3 of its manifest.
    pub manifest_sm3: Option<String>,
    /// The feed cursor it ended at (`None`: nothing exported yet).
    pub cursor: Option<String>,
}

/// An outbox directory, locked for one export.
pub struct Outbox {
    dir: PathBuf,
    sender: String,
    kind: PackageKind,
    _lock: File,
}

impl Outbox {
    /// Opens (creating) `dir` and takes its lock.
    pub fn open(dir: &Path, sender: &str, kind: PackageKind) -> Result<Self, OutboxError> {
        check_sender(sender).map_err(OutboxError::Invalid)?;
        fs::create_dir_all(dir).map_err(io(dir))?;
        let lock_path = dir.join(".share-sync.lock");
        let lock = File::create(&lock_path).map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(OutboxError::Busy(dir.to_owned())),
            Err(fs::TryLockError::Error(e)) => return Err(OutboxError::Io { path: lock_path, source: e }),
        }
        Ok(Self { dir: dir.to_owned(), sender: sender.to_owned(), kind, _lock: lock })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join(format!(".share-sync-state-{}-{}.json", self.sender, self.kind.as_str()))
    }

    /// The chain state, adopting a package written by a run that died before it
    /// recorded it. Only packages signed by `key` (or a key it rotated from) count.
    pub fn state(&self, key: &KeyPair, earlier_keys: &[PublicKey]) -> Result<ChainState, OutboxError> {
        let path = self.state_path();
        let mut state: ChainState = match fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| OutboxError::Invalid(format!("{}: {e}", path.display())))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ChainState::default(),
            Err(e) => return Err(OutboxError::Io { path, source: e }),
        };
        let prefix = format!("{}-{}-", self.sender, self.kind.as_str());
        let mut ring = Keyring::default();
        ring.trust(key.public().clone());
        for k in earlier_keys {
            ring.trust(k.clone());
        }
        let mut newer: Vec<(u64, PathBuf)> = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let entry = entry.map_err(io(&self.dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let seq = name.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".tar")).and_then(|s| s.parse().ok());
            if let Some(seq) = seq.filter(|&s: &u64| s > state.sequence) {
                newer.push((seq, entry.path()));
            }
        }
        newer.sort();
        if let Some((_, path)) = newer.last() {
            let v = verify(path, &ring).map_err(|e| {
                OutboxError::Invalid(format!(
                    "{} is newer than the recorded chain state but does not verify ({e}); move it away if it is not ours",
                    path.display()
                ))
            })?;
            state = ChainState {
                sequence: v.manifest.sequence,
                manifest_sm3: Some(v.manifest_sm3),
                cursor: Some(v.manifest.feed.to),
            };
            self.save(&state)?;
        }
        Ok(state)
    }

    /// Records the chain state (atomically).
    pub fn save(&self, state: &ChainState) -> Result<(), OutboxError> {
        let path = self.state_path();
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| OutboxError::Invalid(e.to_string()))?;
        write_atomic(&path, &bytes).map_err(io(&path))
    }
}

/// Test hook: when the environment variable `SHARE_SYNC_CRASH_POINT` names this
/// point, announce it on stderr and wait forever, so a test can `kill -9` the
/// process at exactly this moment.
pub fn crash_point(name: &str) {
    if std::env::var("SHARE_SYNC_CRASH_POINT").is_ok_and(|p| p == name) {
        eprintln!("share-sync: reached crash point {name}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
