//! What the store holds, per county: counts of current objects and the time of
//! the last write. No coordinates and no personal data, so every role may read it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::db::error::{Result, StoreError};

/// Counts of one county.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct CountySummary {
    /// County code (6 digits, GB/T 2260).
    pub county: String,
    /// Current parcels (现势宗地).
    pub parcels: i64,
    /// Current natural buildings (自然幢).
    pub buildings: i64,
    /// Current households (户).
    pub households: i64,
    /// Current cadastral sub-districts (地籍子区).
    pub sub_districts: i64,
    /// Time of the last write recorded in the audit log (logins excluded);
    /// absent when nothing was ever written.
    pub last_write: Option<DateTime<Utc>>,
}

/// One row per county in `counties` (sorted, duplicates removed), zeros included.
///
/// Counts use the partial `*_current` unique indexes; the last write uses
/// `audit_county_at` (migration 0007).
pub async fn by_county(pool: &PgPool, counties: &[String]) -> Result<Vec<CountySummary>> {
    sqlx::query_as!(
        CountySummary,
        r#"SELECT c::text AS "county!",
                (SELECT count(*) FROM parcels WHERE county = c AND state = 'current') AS "parcels!",
                (SELECT count(*) FROM buildings WHERE county = c AND state = 'current') AS "buildings!",
                (SELECT count(*) FROM households WHERE county = c AND state = 'current') AS "households!",
                (SELECT count(*) FROM sub_districts WHERE county = c AND state = 'current') AS "sub_districts!",
                (SELECT max(at) FROM audit WHERE county = c AND object_type <> 'token') AS last_write
         FROM (SELECT DISTINCT unnest($1::char(6)[]) AS c) cs
         ORDER BY c"#,
        counties as _,
    )
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("summarising the store"))
}
