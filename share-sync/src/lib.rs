//! Coordinate-free packages carried across the air gap (离线摆渡) between the
//! internal zone and the government extranet (DOMAIN.md §2). See `docs/share-sync.md`.
//!
//! - [`keys`]: SM2 + Ed25519 signing keys, key ids, rotation.
//! - [`package`]: the signed, chained package file (write, verify, read).
//! - [`export`]: the next package from the internal store's change feed; [`outbox`]: its chain state.
//! - [`receiver`]: the receiving database (SQLite or PostgreSQL), `apply`, `status`.
//! - [`serve`]: the extranet unit-table API; [`push`]: sending over a one-way gate.
//! - [`registrations`]: registration results (登簿) going back inward.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod export;
pub mod keys;
pub mod outbox;
pub mod package;
pub mod push;
pub mod receiver;
pub mod registrations;
pub mod serve;
