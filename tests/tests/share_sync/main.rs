//! share-sync end to end: the internal PostGIS store (tile-server's schema, filled by
//! its importer from `samples/district`) → export → apply into an extranet receiving
//! database (SQLite and PostgreSQL) → the extranet API answers exactly what the
//! internal unit-table API answers (units, households, building tables, searches), for
//! every unit and building of the district; and
//! registration results back the other way.
//!
//! - [`chain`]: what the change feed puts in the package chain (late commits, lineage);
//! - [`extranet_api`]: the extranet API against the internal one;
//! - [`registrations`]: registration results going back inward;
//! - [`common`]: the internal store, its API and accounts, exporting, shared by all.
//!
//! Needs `DATABASE_URL` (a PostGIS server; `#[sqlx::test]` makes a fresh database).

mod chain;
mod common;
mod extranet_api;
mod registrations;
