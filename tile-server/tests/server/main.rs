//! Tests of the whole server against the real PostGIS (`DATABASE_URL`):
//! `#[sqlx::test]` makes a fresh database per test and applies the migrations;
//! requests go through `app(state)` with `tower::ServiceExt::oneshot`.
//! Without DATABASE_URL these tests fail (sqlx::test: "DATABASE_URL must be set").
//! Every state starts a cache listener (default settings): `coherence.rs` runs
//! two states on one database as two server instances.

mod api;
mod audit;
mod auth;
mod boundary_points;
mod browser;
mod browser_console;
mod browser_return;
mod browser_review;
mod bulk_import;
mod caching;
mod changes;
mod coherence;
mod common;
mod edits;
mod fuzz_regressions;
mod hardening;
mod import;
mod review;
mod review_decisions;
mod review_households;
mod review_intake;
mod review_members;
mod review_process;
mod review_sample;
mod review_tiles;
mod serving;
mod store_errors;
mod tables;
mod tile_attributes;
mod tile_cache;
mod tile_disk;
mod tile_guard;
mod tile_import;
mod tile_memory;
mod tiles;
