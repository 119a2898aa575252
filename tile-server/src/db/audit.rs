//! The append-only audit log. [`record`] takes the open transaction of the write
//! it describes, so a write without its audit row cannot commit.
//!
//! Every row says where the event came from (`source`, the peer address): the
//! HTTP layer runs each request inside [`with_source`], and [`insert`] reads it,
//! so no writer has to pass it along. Rows written outside a request (command
//! line, importer) have no source; their actor names the operator.

use std::future::Future;
use std::net::IpAddr;

use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::db::error::{Result, StoreError};
use crate::principal::Principal;

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

tokio::task_local! {
    static SOURCE: Option<IpAddr>;
}

/// Runs `fut` (a request) with `source` as the address of every audit row it writes.
pub async fn with_source<F: Future>(source: Option<IpAddr>, fut: F) -> F::Output {
    SOURCE.scope(source, fut).await
}

/// The source address of the request being served, if any.
pub fn current_source() -> Option<IpAddr> {
    SOURCE.try_with(|s| *s).ok().flatten()
}

/// Inserts the audit row inside the caller's transaction; returns its id.
pub async fn record(conn: &mut PgConnection, who: &Principal, entry: AuditEntry<'_>) -> Result<i64> {
    insert(conn, &who.actor(), who.role.as_str(), entry).await.map_err(StoreError::db("writing audit row"))
}

/// [`record`] for writers that are not a logged-in principal (the importer: `import:<user>`).
pub async fn insert(
    conn: &mut PgConnection,
    actor: &str,
    actor_role: &str,
    entry: AuditEntry<'_>,
) -> sqlx::Result<i64> {
    // The source travels as text: the `inet` type needs a driver feature for nothing.
    sqlx::query_scalar!(
        "INSERT INTO audit (county, actor, actor_role, action, object_type, object_key, before, after, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::inet) RETURNING audit_id",
        entry.county,
        actor,
        actor_role,
        entry.action,
        entry.object_type,
        entry.object_key,
        entry.before,
        entry.after,
        current_source().map(|ip| ip.to_string()),
    )
    .fetch_one(conn)
    .await
}

/// County of audit rows about no county in particular (a login attempt on an
/// unknown name, a denied request): no principal's scope contains it, so these
/// rows never show in a change feed.
pub const NO_COUNTY: &str = "000000";

/// Writes a security event (failed or throttled login, denied request, ...) in a
/// transaction of its own: there is no write for it to belong to.
pub async fn security_event(pool: &PgPool, actor: &str, actor_role: &str, entry: AuditEntry<'_>) -> Result<i64> {
    let mut conn = pool.acquire().await.map_err(StoreError::db("writing security audit row"))?;
    insert(&mut conn, actor, actor_role, entry).await.map_err(StoreError::db("writing security audit row"))
}
