//! Submissions (成果提交): a case per piece of survey work, with one version per package
//! handed in. Status moves are enforced by the `submission_versions` trigger (migration
//! 0013) and audited here; the accept transaction is in [`crate::review::accept`].
//! This file: cases, hand-in, listing and reading; [`versions`]: what the check and the
//! decision do to one version.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

use crate::db::audit::{self, AuditEntry};
use crate::db::error::{Result, StoreError};
use crate::db::Page;
use crate::principal::{Action, Denied, Principal};

mod versions;
pub use versions::*;

/// A submission in a list: the case and its latest version.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct Submission {
    /// Id.
    pub submission_id: i64,
    /// County.
    pub county: String,
    /// Title (the project name of the first package unless given).
    pub title: String,
    /// Who handed it in (user id).
    pub submitted_by: i64,
    /// Their user name.
    pub submitter: String,
    /// When the first version came.
    pub submitted_at: DateTime<Utc>,
    /// checking / ready / accepted / returned / failed (of the latest version).
    pub status: String,
    /// Latest version number.
    pub latest_version: i32,
    /// Verdict of the latest check: pass / fail.
    pub verdict: Option<String>,
    /// Score of the latest check (0-100).
    pub score: Option<f64>,
    /// Findings of the latest check.
    pub findings_count: Option<i32>,
    /// 业务类型 of the latest package.
    pub business_kind: Option<String>,
}

/// One version of a submission.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct Version {
    /// Version number (1 = first package).
    pub version: i32,
    /// Who handed it in.
    pub submitted_by: i64,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// Size of the package, bytes.
    pub package_bytes: i64,
    /// SHA-256 of the package.
    pub package_sha256: String,
    /// The package's manifest.
    #[schema(value_type = Object)]
    pub manifest: Value,
    /// checking / ready / accepted / returned / failed.
    pub status: String,
    /// When the status last moved.
    pub status_at: DateTime<Utc>,
    /// Why it failed (unreadable package).
    pub failure: Option<String>,
    /// pass / fail.
    pub verdict: Option<String>,
    /// Score 0-100.
    pub score: Option<f64>,
    /// Number of findings.
    pub findings_count: Option<i32>,
    /// Reviewer.
    pub decided_by: Option<i64>,
    /// When decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Reviewer's note.
    pub decision_note: Option<String>,
    /// Written reason for accepting a failed check.
    pub override_reason: Option<String>,
    /// Findings the surveyor must fix (on return).
    #[schema(value_type = Option<Object>)]
    pub returned_findings: Option<Value>,
    /// Temporary id → code issued (on acceptance).
    #[schema(value_type = Option<Object>)]
    pub codes_issued: Option<Value>,
}

/// A submission with every version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmissionDetail {
    /// The case.
    #[serde(flatten)]
    pub submission: Submission,
    /// Versions, newest first.
    pub versions: Vec<Version>,
    /// Every status move, oldest first (who, when, note).
    pub transitions: Vec<Transition>,
}

/// Answer to a hand-in: checking starts in the background.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Accepted202 {
    /// The case.
    pub submission_id: i64,
    /// The version just handed in.
    pub version: i32,
    /// Always `checking`.
    pub status: String,
}

/// A package handed in, checked for structure already.
#[derive(Debug, Clone)]
pub struct NewPackage {
    /// County of the manifest.
    pub county: String,
    /// Title.
    pub title: String,
    /// The zip.
    pub bytes: Vec<u8>,
    /// SHA-256 hex of the zip.
    pub sha256: String,
    /// The manifest as JSON.
    pub manifest: Value,
}

/// Per-user limits on handing in (issue 14 item 9).
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    /// Bytes of packages one user may hand in per 24 hours.
    pub daily_bytes: i64,
    /// Versions of one user that may wait in checking or ready at once.
    pub open_versions: i64,
}

/// The key of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionKey {
    /// County.
    pub county: String,
    /// Submission.
    pub submission_id: i64,
    /// Version.
    pub version: i32,
}

const SUMMARY: &str = "SELECT s.submission_id, s.county::text AS county, s.title, s.submitted_by, u.username AS submitter,
        s.submitted_at, v.status, s.latest_version, v.verdict, v.score, v.findings_count,
        v.manifest->>'business_kind' AS business_kind
    FROM submissions s
    JOIN users u ON u.user_id = s.submitted_by
    JOIN submission_versions v ON v.county = s.county AND v.submission_id = s.submission_id AND v.version = s.latest_version";

const VERSION_COLUMNS: &str = "version, submitted_by, submitted_at, package_bytes, package_sha256, manifest, status,
        status_at, failure, verdict, score, findings_count, decided_by, decided_at, decision_note, override_reason,
        returned_findings, codes_issued";

/// Who may read a submission: its surveyor, or a reviewer (or admin) of its county.
pub fn may_read(who: &Principal, county: &str, submitted_by: i64) -> bool {
    who.counties.iter().any(|c| c == county)
        && (who.role.allows(Action::Review) || (who.role.allows(Action::Submit) && who.user_id() == Some(submitted_by)))
}

/// 403 `county_forbidden` outside the caller's counties (as every single-object endpoint),
/// 404 for another surveyor's submission.
fn readable(who: &Principal, id: i64, county: &str, submitted_by: i64) -> Result<()> {
    who.require_county(county)?;
    if may_read(who, county, submitted_by) {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("submission {id}")))
    }
}

/// Sets the actor the status trigger writes into `submission_transitions`.
pub async fn set_actor(conn: &mut PgConnection, actor: &str) -> Result<()> {
    sqlx::query_scalar!("SELECT set_config('cadastre.actor', $1, true)", actor)
        .fetch_one(conn)
        .await
        .map_err(StoreError::db("setting the actor"))?;
    Ok(())
}

async fn check_quota(conn: &mut PgConnection, user_id: i64, bytes: i64, quota: Quota) -> Result<()> {
    // One hand-in per user at a time, so two parallel uploads cannot both pass the check.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtext('submission-quota'), $1::int)",
        i32::try_from(user_id % i64::from(i32::MAX)).unwrap_or(0),
    )
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("locking the quota"))?;
    let used = sqlx::query!(
        r#"SELECT coalesce(sum(package_bytes) FILTER (WHERE submitted_at > now() - interval '1 day'), 0)::bigint
                      AS "day_bytes!",
                  count(*) FILTER (WHERE status IN ('checking', 'ready')) AS "open!"
           FROM submission_versions WHERE submitted_by = $1"#,
        user_id,
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::db("reading the quota"))?;
    let (day_bytes, open) = (used.day_bytes, used.open);
    if day_bytes + bytes > quota.daily_bytes {
        return Err(StoreError::QuotaExceeded(format!(
            "每日提交量已满 daily quota: {} of {} bytes used in the last 24 hours",
            day_bytes, quota.daily_bytes
        )));
    }
    if open >= quota.open_versions {
        return Err(StoreError::QuotaExceeded(format!(
            "待审成果过多 {open} of your submissions are still checking or waiting for review (limit {})",
            quota.open_versions
        )));
    }
    Ok(())
}

async fn insert_version(conn: &mut PgConnection, user_id: i64, id: i64, version: i32, p: &NewPackage) -> Result<()> {
    sqlx::query!(
        "INSERT INTO submission_versions (county, submission_id, version, submitted_by, package, package_bytes,
             package_sha256, manifest)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        p.county.as_str(),
        id,
        version,
        user_id,
        p.bytes.as_slice(),
        p.bytes.len() as i64,
        p.sha256.as_str(),
        &p.manifest as _,
    )
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("storing the package"))?;
    crate::db::review_jobs::enqueue(conn, &VersionKey { county: p.county.clone(), submission_id: id, version }).await
}

/// Stores a new submission with its first version and queues its check (audited).
pub async fn create(pool: &PgPool, who: &Principal, p: &NewPackage, quota: Quota) -> Result<Accepted202> {
    let user_id = who.user_id().ok_or(StoreError::Denied(Denied::Action("hand in submissions")))?;
    let mut tx = pool.begin().await.map_err(StoreError::db("starting submission"))?;
    set_actor(&mut tx, &who.actor()).await?;
    check_quota(&mut tx, user_id, p.bytes.len() as i64, quota).await?;
    let id: i64 = sqlx::query_scalar!(
        "INSERT INTO submissions (county, title, submitted_by, status) VALUES ($1, $2, $3, 'checking')
         RETURNING submission_id",
        p.county.as_str(),
        p.title.as_str(),
        user_id,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::db("inserting submission"))?;
    insert_version(&mut tx, user_id, id, 1, p).await?;
    let key = id.to_string();
    let after = json!({"version": 1, "bytes": p.bytes.len(), "sha256": p.sha256, "manifest": p.manifest});
    let entry = AuditEntry {
        county: &p.county,
        action: "submission.create",
        object_type: "submission",
        object_key: &key,
        before: None,
        after: Some(after),
    };
    audit::record(&mut tx, who, entry).await?;
    tx.commit().await.map_err(StoreError::db("committing submission"))?;
    Ok(Accepted202 { submission_id: id, version: 1, status: "checking".into() })
}

/// A new version of a returned (or failed) submission, by the surveyor who handed it in.
pub async fn add_version(pool: &PgPool, who: &Principal, id: i64, p: &NewPackage, quota: Quota) -> Result<Accepted202> {
    let user_id = who.user_id().ok_or(StoreError::Denied(Denied::Action("hand in submissions")))?;
    let mut tx = pool.begin().await.map_err(StoreError::db("starting resubmission"))?;
    set_actor(&mut tx, &who.actor()).await?;
    let case = sqlx::query!(
        r#"SELECT county::text AS "county!", submitted_by, latest_version, status
           FROM submissions WHERE submission_id = $1 FOR UPDATE"#,
        id,
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(StoreError::db("locking submission"))?;
    let Some(case) = case else {
        return Err(StoreError::NotFound(format!("submission {id}")));
    };
    let (county, owner, latest, status) = (case.county, case.submitted_by, case.latest_version, case.status);
    readable(who, id, &county, owner)?;
    if owner != user_id {
        return Err(StoreError::Denied(Denied::Action("hand in a version of another surveyor's submission")));
    }
    if county != p.county {
        return Err(StoreError::Invalid(format!(
            "the package is for county {}, the submission for {county}",
            p.county
        )));
    }
    if !matches!(status.as_str(), "returned" | "failed") {
        return Err(StoreError::Conflict(format!(
            "submission {id} is {status}: only a returned or failed one takes a new version"
        )));
    }
    check_quota(&mut tx, user_id, p.bytes.len() as i64, quota).await?;
    let version = latest + 1;
    insert_version(&mut tx, user_id, id, version, p).await?;
    let key = id.to_string();
    let after = json!({"version": version, "bytes": p.bytes.len(), "sha256": p.sha256, "manifest": p.manifest});
    let entry = AuditEntry {
        county: &county,
        action: "submission.version",
        object_type: "submission",
        object_key: &key,
        before: None,
        after: Some(after),
    };
    audit::record(&mut tx, who, entry).await?;
    tx.commit().await.map_err(StoreError::db("committing resubmission"))?;
    Ok(Accepted202 { submission_id: id, version, status: "checking".into() })
}

/// Submissions the caller may read, newest first: a surveyor's own, a reviewer's counties'.
pub async fn list(pool: &PgPool, who: &Principal, status: Option<&str>, page: Page) -> Result<(Vec<Submission>, i64)> {
    let own_only = !who.role.allows(Action::Review);
    let filter = "s.county = ANY($1::char(6)[]) AND ($2::text IS NULL OR s.status = $2)
        AND (NOT $3 OR s.submitted_by = $4)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM submissions s WHERE {filter}"))
        .bind(&who.counties)
        .bind(status)
        .bind(own_only)
        .bind(who.user_id().unwrap_or(-1))
        .fetch_one(pool)
        .await
        .map_err(StoreError::db("counting submissions"))?;
    let items = sqlx::query_as(&format!("{SUMMARY} WHERE {filter} ORDER BY s.submission_id DESC LIMIT $5 OFFSET $6"))
        .bind(&who.counties)
        .bind(status)
        .bind(own_only)
        .bind(who.user_id().unwrap_or(-1))
        .bind(page.per_page)
        .bind(page.offset())
        .fetch_all(pool)
        .await
        .map_err(StoreError::db("listing submissions"))?;
    Ok((items, total))
}

/// One submission with its versions; 404 when unknown or not readable by the caller.
pub async fn get(pool: &PgPool, who: &Principal, id: i64) -> Result<SubmissionDetail> {
    let s: Option<Submission> = sqlx::query_as(&format!("{SUMMARY} WHERE s.submission_id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::db("reading submission"))?;
    let s = s
        .filter(|s| may_read(who, &s.county, s.submitted_by))
        .ok_or(StoreError::NotFound(format!("submission {id}")))?;
    let versions = sqlx::query_as(&format!(
        "SELECT {VERSION_COLUMNS} FROM submission_versions
         WHERE county = $1::bpchar AND submission_id = $2 ORDER BY version DESC"
    ))
    .bind(&s.county)
    .bind(id)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("reading submission versions"))?;
    let transitions = transitions(pool, &s.county, id).await?;
    Ok(SubmissionDetail { submission: s, versions, transitions })
}

/// A stored document of a version: `report`, `report_html` or `diff`, with the version's
/// status and the diff's store fingerprint. `version` None = the latest.
pub async fn document(
    pool: &PgPool,
    who: &Principal,
    id: i64,
    version: Option<i32>,
    column: Document,
) -> Result<(VersionKey, String, Option<Value>, Option<String>, Option<String>)> {
    let detail = get(pool, who, id).await?;
    let v = version.unwrap_or(detail.submission.latest_version);
    let key = VersionKey { county: detail.submission.county.clone(), submission_id: id, version: v };
    let (json_col, text_col) = match column {
        Document::Report => ("report", "NULL::text"),
        Document::ReportHtml => ("NULL::jsonb", "report_html"),
        Document::Diff => ("diff", "NULL::text"),
    };
    type Row = (String, Option<Value>, Option<String>, Option<String>);
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT status, {json_col}, {text_col}, diff_fingerprint FROM submission_versions
         WHERE county = $1::bpchar AND submission_id = $2 AND version = $3"
    ))
    .bind(&key.county)
    .bind(id)
    .bind(v)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("reading a submission document"))?;
    let (status, json, text, fingerprint) = row.ok_or(StoreError::NotFound(format!("submission {id} version {v}")))?;
    Ok((key, status, json, text, fingerprint))
}

/// Which stored document.
#[derive(Debug, Clone, Copy)]
pub enum Document {
    /// The check report, JSON.
    Report,
    /// The check report, HTML.
    ReportHtml,
    /// The diff.
    Diff,
}
