//! Internal-zone server (业务内网): PostGIS store, accounts and permissions,
//! audit, encrypted personal data, and the unit-table API.
//!
//! Layout: [`config`] (TOML + env), [`db`] (migrations, one module of queries per
//! aggregate), [`auth`] (tokens, argon2id, roles × actions × counties),
//! [`middleware`] (IP allow-lists, rate limits, ETags), [`http`] (thin handlers and
//! [`app`]), [`crypto`] (AES-256-GCM for owner data), [`error`] (JSON errors),
//! [`cache_sync`] (LISTEN/NOTIFY keeping in-memory caches coherent across instances),
//! [`tile_cache`] (rendered vector tiles, dropped tile by tile as edits arrive).

pub mod auth;
pub mod cache_sync;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod http;
pub mod import;
pub mod middleware;
pub mod principal;
pub mod review;
pub mod security;
pub mod serve;
pub mod state;
pub mod tile_cache;

#[cfg(test)]
mod index_use_tests;

pub use error::{AppError, Result};
pub use http::app;
pub use state::AppState;
