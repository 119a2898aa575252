//! The append-only audit log. [`record`] takes the open transaction of the write
//! it describes, so a write without its audit row cannot commit.

use serde_json::Value;
use sqlx::PgConnection;

use crate::auth::Principal;
use crate::error::{AppError, Result};

/// One audit entry.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// County of the object (the partitioning of tenants).
    pub county: &'a str,
    /// Dotted action name, e.g. `parcel.upsert`.
    pub action: &'a str,
    /// Object type, e.g. `parcel`.
    pub object_type: &'a str,
    /// Business key of the object (ZDDM, BDCDYH, submission id...).
    pub object_key: &'a str,
    /// The object before the write (None for a creation). PII stays encrypted/omitted.
    pub before: Option<Value>,
    /// The object after the write.
    pub after: Option<Value>,
}

/// Inserts the audit row inside the caller's transaction; returns its id.
pub async fn record(conn: &mut PgConnection, who: &Principal, entry: AuditEntry<'_>) -> Result<i64> {
    insert(conn, &who.actor(), who.role.as_str(), entry).await.map_err(AppError::db("writing audit row"))
}

/// [`record`] for writers that are not a logged-in principal (the importer: `import:<user>`).
pub async fn insert(
    conn: &mut PgConnection,
    actor: &str,
    actor_role: &str,
    entry: AuditEntry<'_>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO audit (county, actor, actor_role, action, object_type, object_key, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING audit_id",
    )
    .bind(entry.county)
    .bind(actor)
    .bind(actor_role)
    .bind(entry.action)
    .bind(entry.object_type)
    .bind(entry.object_key)
    .bind(entry.before)
    .bind(entry.after)
    .fetch_one(conn)
    .await
}
