//! PostGIS store: migrations and one module of queries per aggregate.
//!
//! Handlers never hold SQL; they call these functions. Writes take a transaction
//! and record their audit row in it (see [`audit::record`]). Every function answers
//! [`StoreError`]; the HTTP layer maps it to a status at its edge.
//!
//! What `db` may import from this crate: only the leaves [`crate::principal`] (who acts,
//! what a role may do) and [`crate::crypto`] (owner data is sealed on its way in). Never
//! `crate::error` or `crate::http` (they map [`StoreError`] at the edge) nor `crate::auth`
//! (it checks passwords and makes tokens, then calls the store with their hashes): every
//! arrow between these modules points into `db`.
//!
//! Counties and codes are `CHAR(n)` columns (`bpchar`), and sqlx sends a Rust string as
//! `text`: compared with a parameter as it comes, `county = $1` is planned as
//! `county::text = $1`, which no index on `county` serves and which does not prune the
//! county partitions of `parcels` (a scan of the whole table). So every such comparison
//! casts its parameter: `county = $1::bpchar`, `zddm = ANY($2::bpchar[])`, `UNNEST` of
//! codes as `bpchar[]` (tested in `src/index_use_tests.rs`).

pub mod accounts;
pub mod audit;
pub mod boundary_points;
pub mod building_tables;
pub mod buildings;
pub mod changes;
pub mod edit;
pub mod error;
pub mod households;
pub mod parcels;
pub mod registrations;
pub mod review_jobs;
pub mod review_store;
pub mod search;
pub mod sessions;
pub mod submissions;
pub mod summary;
pub mod tiles;
pub mod wkb;

use sqlx::migrate::Migrator;
use sqlx::PgPool;

pub use error::StoreError;

use error::Result;

/// The migrations in `tile-server/migrations/`, embedded at compile time (what
/// `#[sqlx::test(migrator = ...)]` applies; [`migrate`] adds the `unit-code` ones).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Tables of the `unit-code` crate (code registry, counters, events, lineage)
/// the application role works with.
const UNIT_CODE_TABLES: &str = "uc_counter, uc_unit, uc_event, uc_lineage";

/// A connection that has sat in the pool this long is pinged before it is handed out.
pub const PING_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Pool options for the server's pools. sqlx pings every connection it hands out
/// (`test_before_acquire`): a round trip, and a wake-up of a PostgreSQL backend, on every
/// request. Here only a connection idle for [`PING_AFTER_IDLE`] or more is pinged (one a
/// restarted server may have dropped); a busy server's connections go out as they are.
/// (sqlx also pings each connection it takes back; that one finds the broken ones.)
pub fn pool_options() -> sqlx::postgres::PgPoolOptions {
    sqlx::postgres::PgPoolOptions::new().test_before_acquire(false).before_acquire(|conn, meta| {
        Box::pin(async move {
            if meta.idle_for >= PING_AFTER_IDLE {
                sqlx::Connection::ping(conn).await?;
            }
            Ok(true)
        })
    })
}

/// Applies pending migrations: the store's, then the `unit-code` crate's
/// (`uc_*` tables, its own migrator). Both share `_sqlx_migrations`, so each
/// ignores the other's versions. Then grants the application role what it needs
/// on the `uc_*` tables (no DELETE: codes are never removed).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut store = sqlx::migrate!("./migrations");
    store.set_ignore_missing(true);
    store.run(pool).await?;
    unit_code::alloc::migrate(pool).await?;
    sqlx::query(&format!("GRANT SELECT, INSERT, UPDATE ON {UNIT_CODE_TABLES} TO cadastre_app"))
        .execute(pool)
        .await
        .map_err(sqlx::migrate::MigrateError::Execute)?;
    Ok(())
}

/// The store SRID (`store_settings.srid`), read in a transaction.
pub async fn store_srid_in(conn: &mut sqlx::PgConnection) -> Result<i32> {
    sqlx::query_scalar("SELECT srid FROM store_settings")
        .fetch_one(conn)
        .await
        .map_err(StoreError::db("reading store SRID"))
}

/// Sets the store SRID (while the store holds no geometry) and makes sure the
/// audit log has monthly partitions for the coming year.
///
/// A configured SRID that differs from the SRID of a store that already holds
/// geometry is refused: that would need a re-projection, not a setting change.
pub async fn configure_store(pool: &PgPool, srid: i32) -> Result<()> {
    let mut tx = pool.begin().await.map_err(StoreError::db("starting store configuration"))?;
    let current: i32 = sqlx::query_scalar("SELECT srid FROM store_settings FOR UPDATE")
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::db("reading store settings"))?;
    if current != srid {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = $1)")
            .bind(srid)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::db("checking SRID"))?;
        if !known {
            return Err(StoreError::Invalid(format!("SRID {srid} is not known to PostGIS")));
        }
        let has_geometry: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM parcels) OR EXISTS (SELECT 1 FROM buildings)
                 OR EXISTS (SELECT 1 FROM districts) OR EXISTS (SELECT 1 FROM sub_districts)
                 OR EXISTS (SELECT 1 FROM boundary_points) OR EXISTS (SELECT 1 FROM boundary_lines)",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::db("checking for geometry"))?;
        if has_geometry {
            return Err(StoreError::Conflict(format!(
                "the store holds geometry in SRID {current}; configured store_srid {srid} would need a re-projection"
            )));
        }
        sqlx::query("UPDATE store_settings SET srid = $1")
            .bind(srid)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("setting store SRID"))?;
    }
    sqlx::query(
        "SELECT audit_ensure_partition((now() + make_interval(months => m))::date) FROM generate_series(0, 12) AS m",
    )
    .execute(&mut *tx)
    .await
    .map_err(StoreError::db("creating audit partitions"))?;
    tx.commit().await.map_err(StoreError::db("committing store configuration"))
}

/// Read-only check that the store SRID equals the configured one; for a server
/// running as the application role, which may not change settings.
pub async fn check_store_srid(pool: &PgPool, srid: i32) -> Result<()> {
    let current = store_srid(pool).await?;
    if current == srid {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!("the store SRID is {current}, the configured store_srid is {srid}")))
    }
}

/// The store SRID.
pub async fn store_srid(pool: &PgPool) -> Result<i32> {
    sqlx::query_scalar("SELECT srid FROM store_settings")
        .fetch_one(pool)
        .await
        .map_err(StoreError::db("reading store SRID"))
}

/// Offset pagination shared by list queries.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// 1-based page number.
    pub page: i64,
    /// Items per page.
    pub per_page: i64,
}

impl Page {
    /// Rows to skip.
    pub fn offset(self) -> i64 {
        (self.page - 1) * self.per_page
    }
}
