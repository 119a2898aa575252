//! The package: one tar file holding, in this order,
//! `manifest.json`, `manifest.json.sm2.sig`, `manifest.json.ed25519.sig`,
//! `rotation.json` (only after a key rotation) and the data files (JSON Lines).
//! See `docs/share-sync.md` for the format.

pub mod manifest;
pub mod read;
pub mod records;
pub mod write;

pub use manifest::{FeedRange, FileEntry, Manifest, PackageKind};
pub use read::{verify, Keyring, Rejection, Verified};
pub use write::PackageWriter;

#[cfg(test)]
mod tests;
