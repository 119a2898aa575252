//! Coordinate-free packages carried across the air gap (离线摆渡) between the
//! internal zone and the government extranet (DOMAIN.md §2).
//!
//! - [`keys`]: SM2 + Ed25519 signing keys, key ids, rotation.
//! - [`package`]: the signed, chained package file (write, verify, read).

pub mod export;
pub mod keys;
pub mod outbox;
pub mod package;
pub mod push;
pub mod receiver;
pub mod registrations;
pub mod serve;
