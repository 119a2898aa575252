//! The change feed: what changed since a cursor, from the audit log, without
//! the before/after images (which may hold geometry).
//!
//! Known limit: `audit_id` comes from a sequence, so a transaction that commits
//! after a later-numbered one can be missed by a reader that already moved past
//! its id. Readers should re-read a short overlap window; a commit-ordered feed
//! (logical decoding) is future work.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::error::{AppError, Result};

/// One change.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Change {
    /// Cursor value of this change (pass as `since` to continue after it).
    pub cursor: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// County.
    pub county: String,
    /// What was done, e.g. `household.update`.
    pub action: String,
    /// Object type.
    pub object_type: String,
    /// Business key (ZDDM, ZRZH, BDCDYH, submission id).
    pub object_key: String,
}

/// Changes after `since` in the given counties, oldest first. Logins are not changes.
pub async fn since(pool: &PgPool, counties: &[String], since: i64, limit: i64) -> Result<Vec<Change>> {
    sqlx::query_as(
        "SELECT audit_id AS cursor, at, county::text AS county, action, object_type, object_key FROM audit
         WHERE county = ANY($1::char(6)[]) AND audit_id > $2 AND object_type IN ('parcel', 'building', 'household')
         ORDER BY audit_id LIMIT $3",
    )
    .bind(counties)
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(AppError::db("reading changes"))
}
