//! The change feed: what changed since a cursor, from the audit log, without
//! the before/after images (which may hold geometry).
//!
//! The feed is commit-ordered: `audit_id` is taken when a row is written, so ids
//! alone would let a reader skip a slow transaction's lower id that commits later.
//! Rows are ordered by (transaction id, audit_id) and handed out only once every
//! older transaction has finished (`pg_snapshot_xmin`), so the set below the cursor
//! never grows. A long-running writer delays the feed; it never loses a change.
//! The cursor stays the last row's `audit_id`; its transaction id is looked up.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::db::error::{Result, StoreError};

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

/// Changes after `since` in the given counties, in commit order. Logins are not changes.
/// `Ok(None)` when `since` names no audit row.
pub async fn since(pool: &PgPool, counties: &[String], since: i64, limit: i64) -> Result<Option<Vec<Change>>> {
    let after_txid: Option<String> = if since == 0 {
        Some("0".to_owned())
    } else {
        sqlx::query_scalar!(r#"SELECT txid::text AS "txid!" FROM audit WHERE audit_id = $1 LIMIT 1"#, since)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("reading the change cursor"))?
    };
    let Some(after_txid) = after_txid else { return Ok(None) };
    sqlx::query_as!(
        Change,
        r#"SELECT audit_id AS cursor, at, county::text AS "county!", action, object_type, object_key FROM audit
         WHERE county = ANY($1::char(6)[]) AND object_type IN ('parcel', 'building', 'household')
           AND (txid, audit_id) > ($2::text::xid8, $3)
           AND txid < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY txid, audit_id LIMIT $4"#,
        counties as _,
        after_txid,
        since,
        limit,
    )
    .fetch_all(pool)
    .await
    .map(Some)
    .map_err(StoreError::db("reading changes"))
}
