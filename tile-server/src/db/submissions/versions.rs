//! One version of a submission: its package for the check and the accept, the check's
//! results, the moves to `failed` or back to `checking`, the lock a decision takes, the
//! return to the surveyor, and the trail of status moves.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

use super::{get, readable, set_actor, SubmissionDetail, VersionKey};
use crate::db::audit::{self, AuditEntry};
use crate::db::error::{Result, StoreError};
use crate::principal::{Action, Denied, Principal};

/// A version's package, manifest and author ($1 county, $2 submission id, $3 version).
pub(crate) const PACKAGE: &str = "SELECT package, manifest, submitted_by FROM submission_versions
     WHERE county = $1::bpchar AND submission_id = $2 AND version = $3";

/// The status moves of a submission, oldest first ($1 county, $2 submission id).
pub(crate) const TRANSITIONS: &str =
    "SELECT version, at, from_status, to_status, actor, note FROM submission_transitions
     WHERE county = $1::bpchar AND submission_id = $2 ORDER BY at, version";

/// A version's package and manifest (for the check and the accept).
pub async fn package(conn: &mut PgConnection, key: &VersionKey) -> Result<(Vec<u8>, Value, i64)> {
    let row: Option<(Vec<u8>, Value, i64)> = sqlx::query_as(PACKAGE)
        .bind(&key.county)
        .bind(key.submission_id)
        .bind(key.version)
        .fetch_optional(conn)
        .await
        .map_err(StoreError::db("reading a package"))?;
    row.ok_or(StoreError::NotFound(format!("submission {} version {}", key.submission_id, key.version)))
}

/// What a finished check stores.
#[derive(Debug, Clone)]
pub struct Checked {
    /// pass / fail.
    pub verdict: &'static str,
    /// Score.
    pub score: f64,
    /// Number of findings.
    pub findings: i32,
    /// Report JSON.
    pub report: Value,
    /// Report HTML.
    pub report_html: String,
    /// The diff.
    pub diff: Value,
    /// What of the store the diff read.
    pub area: crate::db::review_store::Area,
    /// Fingerprint of the store rows the diff read.
    pub fingerprint: String,
}

/// Stores a check's results and moves the version to `ready` (only from `checking`).
pub async fn set_checked(conn: &mut PgConnection, key: &VersionKey, c: &Checked) -> Result<bool> {
    set_actor(conn, "system:review-worker").await?;
    let done = sqlx::query(
        "UPDATE submission_versions SET status = 'ready', verdict = $4, score = $5, findings_count = $6, report = $7,
             report_html = $8, diff = $9, diff_fingerprint = $10, diff_area = $11, diff_at = now()
         WHERE county = $1::bpchar AND submission_id = $2 AND version = $3 AND status = 'checking'",
    )
    .bind(&key.county)
    .bind(key.submission_id)
    .bind(key.version)
    .bind(c.verdict)
    .bind(c.score)
    .bind(c.findings)
    .bind(&c.report)
    .bind(&c.report_html)
    .bind(&c.diff)
    .bind(&c.fingerprint)
    .bind(serde_json::to_value(&c.area).unwrap_or(Value::Null))
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("storing a check"))?;
    Ok(done.rows_affected() == 1)
}

/// What of the store a version's diff read.
pub async fn area(pool: &PgPool, key: &VersionKey) -> Result<crate::db::review_store::Area> {
    let v: Option<Value> = sqlx::query_scalar(
        "SELECT diff_area FROM submission_versions WHERE county = $1::bpchar AND submission_id = $2 AND version = $3",
    )
    .bind(&key.county)
    .bind(key.submission_id)
    .bind(key.version)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("reading a diff area"))?
    .flatten();
    v.and_then(|v| serde_json::from_value(v).ok()).ok_or_else(|| StoreError::Conflict("no diff yet".into()))
}

/// Moves a version that cannot be read to `failed`, with the reason.
pub async fn set_failed(conn: &mut PgConnection, key: &VersionKey, reason: &str) -> Result<()> {
    set_actor(conn, "system:review-worker").await?;
    sqlx::query(
        "UPDATE submission_versions SET status = 'failed', failure = $4
         WHERE county = $1::bpchar AND submission_id = $2 AND version = $3 AND status = 'checking'",
    )
    .bind(&key.county)
    .bind(key.submission_id)
    .bind(key.version)
    .bind(reason)
    .execute(conn)
    .await
    .map_err(StoreError::db("failing a submission"))?;
    Ok(())
}

/// The store changed under a ready version's diff: back to `checking`, check queued.
pub async fn recheck(conn: &mut PgConnection, key: &VersionKey, actor: &str) -> Result<()> {
    set_actor(conn, actor).await?;
    let done = sqlx::query(
        "UPDATE submission_versions SET status = 'checking', failure = NULL
         WHERE county = $1::bpchar AND submission_id = $2 AND version = $3 AND status = 'ready'",
    )
    .bind(&key.county)
    .bind(key.submission_id)
    .bind(key.version)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("re-queueing a check"))?;
    if done.rows_affected() == 1 {
        crate::db::review_jobs::enqueue(conn, key).await?;
    }
    Ok(())
}

/// The latest version of a submission, locked, with what a decision needs; 404 when the
/// caller may not read it.
pub async fn lock_latest(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<LockedVersion> {
    let row: Option<LockedVersion> = sqlx::query_as(
        "SELECT v.county::text AS county, v.submission_id, v.version, v.submitted_by, v.status, v.verdict,
                v.diff_fingerprint, v.diff, v.manifest
         FROM submissions s JOIN submission_versions v
           ON v.county = s.county AND v.submission_id = s.submission_id AND v.version = s.latest_version
         WHERE s.submission_id = $1 FOR UPDATE OF v",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(StoreError::db("locking a submission version"))?;
    let v = row.ok_or(StoreError::NotFound(format!("submission {id}")))?;
    readable(who, id, &v.county, v.submitted_by)?;
    Ok(v)
}

/// A version locked for a decision.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LockedVersion {
    /// County.
    pub county: String,
    /// Submission.
    pub submission_id: i64,
    /// Version.
    pub version: i32,
    /// Surveyor.
    pub submitted_by: i64,
    /// Status.
    pub status: String,
    /// Verdict.
    pub verdict: Option<String>,
    /// The diff's fingerprint.
    pub diff_fingerprint: Option<String>,
    /// The diff.
    pub diff: Option<Value>,
    /// The manifest.
    pub manifest: Value,
}

impl LockedVersion {
    /// Its key.
    pub fn key(&self) -> VersionKey {
        VersionKey { county: self.county.clone(), submission_id: self.submission_id, version: self.version }
    }

    /// Refuses a decision by someone who may not take it, or on a version not ready.
    pub fn check_decidable(&self, who: &Principal) -> Result<()> {
        who.require(Action::Review)?;
        who.require_county(&self.county)?;
        if who.user_id() == Some(self.submitted_by) {
            return Err(StoreError::Denied(Denied::Action("decide your own submission (separation of duties)")));
        }
        match self.status.as_str() {
            "ready" => Ok(()),
            "checking" => {
                Err(StoreError::Conflict(format!("submission {} is still being checked", self.submission_id)))
            }
            s => Err(StoreError::Conflict(format!("submission {} is already {s}", self.submission_id))),
        }
    }
}

/// Returns a ready version to its surveyor with a note and the findings to fix (audited).
pub async fn return_to_surveyor(
    pool: &PgPool,
    who: &Principal,
    id: i64,
    note: &str,
    findings: Option<&Value>,
) -> Result<SubmissionDetail> {
    let mut tx = pool.begin().await.map_err(StoreError::db("starting return"))?;
    set_actor(&mut tx, &who.actor()).await?;
    let v = lock_latest(&mut tx, who, id).await?;
    v.check_decidable(who)?;
    sqlx::query(
        "UPDATE submission_versions SET status = 'returned', decided_by = $4, decided_at = now(), decision_note = $5,
             returned_findings = $6
         WHERE county = $1::bpchar AND submission_id = $2 AND version = $3",
    )
    .bind(&v.county)
    .bind(id)
    .bind(v.version)
    .bind(who.user_id())
    .bind(note)
    .bind(findings)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::db("returning a submission"))?;
    let key = id.to_string();
    let entry = AuditEntry {
        county: &v.county,
        action: "submission.return",
        object_type: "submission",
        object_key: &key,
        before: Some(json!({"version": v.version, "status": v.status})),
        after: Some(json!({"version": v.version, "status": "returned", "note": note, "findings": findings})),
    };
    audit::record(&mut tx, who, entry).await?;
    tx.commit().await.map_err(StoreError::db("committing return"))?;
    get(pool, who, id).await
}

/// The trail of status moves of a submission (from the trigger's table).
pub async fn transitions(pool: &PgPool, county: &str, id: i64) -> Result<Vec<Transition>> {
    sqlx::query_as(TRANSITIONS)
        .bind(county)
        .bind(id)
        .fetch_all(pool)
        .await
        .map_err(StoreError::db("reading transitions"))
}

/// One status move.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Transition {
    /// Version.
    pub version: i32,
    /// When.
    pub at: DateTime<Utc>,
    /// From (none for a new version).
    pub from_status: Option<String>,
    /// To.
    pub to_status: String,
    /// Who (`user:…` or `system:review-worker`).
    pub actor: String,
    /// Note or failure.
    pub note: Option<String>,
}
