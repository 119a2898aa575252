//! The manifest: one signed list of every member's digest (apt's InRelease idea),
//! plus the sequence number and the previous manifest's digest (a chain).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sm3::Digest as _;

/// Format tag of this version of the package format.
pub const FORMAT: &str = "share-sync/1";

/// Member names inside the package file (a tar archive, in this order).
pub const MANIFEST: &str = "manifest.json";
/// Detached SM2 signature of `manifest.json` (DER, as `openssl pkeyutl -sign` writes it).
pub const SM2_SIG: &str = "manifest.json.sm2.sig";
/// Detached Ed25519 signature of `manifest.json` (64 bytes).
pub const ED25519_SIG: &str = "manifest.json.ed25519.sig";
/// The key-rotation statement, when the signing key succeeded an older one.
pub const ROTATION: &str = "rotation.json";

/// What a package carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageKind {
    /// Internal zone → extranet: unit tables, building tables, land units, lineage.
    Units,
    /// Extranet → internal zone: registration results (登簿).
    Registrations,
}

impl PackageKind {
    /// The name in file names and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Units => "units",
            Self::Registrations => "registrations",
        }
    }
}

/// The slice of the sender's change history a package covers. Opaque to the
/// receiver; for the internal store `(txid, audit_id)` cursors of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedRange {
    /// Exclusive start (`None`: a full snapshot).
    pub from: Option<String>,
    /// Inclusive end.
    pub to: String,
}

/// One member file of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Member name, e.g. `data/units.jsonl`.
    pub name: String,
    /// Lines (records) in it.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// SM3 (GB/T 32905), hex.
    pub sm3: String,
    /// SHA-256, hex.
    pub sha256: String,
}

/// The manifest of one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// What it carries.
    pub kind: PackageKind,
    /// Who sent it (one sequence per sender and kind).
    pub sender: String,
    /// 1, 2, 3, … without gaps.
    pub sequence: u64,
    /// SM3 (hex) of the previous package's `manifest.json`; `None` for sequence 1.
    pub previous: Option<String>,
    /// The change-feed range covered.
    pub feed: FeedRange,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// The key that signed it.
    pub key_id: String,
    /// Member files after the signatures, in archive order.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// Rows over all data files (the rotation statement is not data).
    pub fn data_rows(&self) -> u64 {
        self.files.iter().filter(|f| f.name != ROTATION).map(|f| f.rows).sum()
    }

    /// The package file name: `<sender>-<kind>-<sequence, 10 digits>.tar`, so a
    /// directory listing sorts in sequence order.
    pub fn file_name(&self) -> String {
        format!("{}-{}-{:010}.tar", self.sender, self.kind.as_str(), self.sequence)
    }
}

/// SM3 of bytes, hex.
pub fn sm3_hex(bytes: &[u8]) -> String {
    hex::encode(sm3::Sm3::digest(bytes))
}

/// Checks a sender id: it becomes part of file names.
pub fn check_sender(sender: &str) -> Result<(), String> {
    let ok = !sender.is_empty()
        && sender.len() <= 64
        && sender.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        && !sender.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!("sender id {sender:?} must be 1..=64 ASCII letters, digits, '_' or '.' (no '-')"))
    }
}
