//! Result packages handed in by surveyors and reviewed in the internal zone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::db::audit::{self, AuditEntry};
use crate::db::Page;
use crate::error::{AppError, Result};

/// A submission.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Submission {
    /// Id.
    pub submission_id: i64,
    /// County.
    pub county: String,
    /// Title.
    pub title: String,
    /// Who handed it in (user id).
    pub submitted_by: i64,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// received / accepted / returned.
    pub status: String,
    /// Reviewer (user id).
    pub decided_by: Option<i64>,
    /// When decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Reviewer's note.
    pub decision_note: Option<String>,
}

/// Body of a new submission.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionInput {
    /// County the results belong to (must be in the caller's scope).
    pub county: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// The result package (JSON manifest).
    #[schema(value_type = Object)]
    pub package: Value,
}

/// A reviewer's decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `accept` or `return`.
    pub decision: DecisionKind,
    /// Note to the surveyor.
    #[serde(default)]
    pub note: String,
}

/// Accept or return.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Accept into the cadastral database.
    Accept,
    /// Return to the surveyor.
    Return,
}

const COLUMNS: &str =
    "submission_id, county, title, submitted_by, submitted_at, status, decided_by, decided_at, decision_note";

/// Stores a submission (audited).
pub async fn create(pool: &PgPool, who: &Principal, input: &SubmissionInput) -> Result<Submission> {
    let user_id = who.user_id().ok_or(AppError::Forbidden("hand in submissions"))?;
    let mut tx = pool.begin().await.map_err(AppError::db("starting submission"))?;
    let s: Submission = sqlx::query_as(&format!(
        "INSERT INTO submissions (county, title, submitted_by, package) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
    ))
    .bind(&input.county)
    .bind(&input.title)
    .bind(user_id)
    .bind(&input.package)
    .fetch_one(&mut *tx)
    .await
    .map_err(AppError::db("inserting submission"))?;
    let key = s.submission_id.to_string();
    audit::record(
        &mut tx,
        who,
        AuditEntry {
            county: &s.county,
            action: "submission.create",
            object_type: "submission",
            object_key: &key,
            before: None,
            after: Some(serde_json::to_value(&s).unwrap_or(Value::Null)),
        },
    )
    .await?;
    tx.commit().await.map_err(AppError::db("committing submission"))?;
    Ok(s)
}

/// Submissions in the caller's counties, newest first.
pub async fn list(
    pool: &PgPool,
    counties: &[String],
    status: Option<&str>,
    page: Page,
) -> Result<(Vec<Submission>, i64)> {
    let where_sql = "county = ANY($1::char(6)[]) AND ($2::text IS NULL OR status = $2)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM submissions WHERE {where_sql}"))
        .bind(counties)
        .bind(status)
        .fetch_one(pool)
        .await
        .map_err(AppError::db("counting submissions"))?;
    let items = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM submissions WHERE {where_sql} ORDER BY submission_id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(counties)
    .bind(status)
    .bind(page.per_page)
    .bind(page.offset())
    .fetch_all(pool)
    .await
    .map_err(AppError::db("listing submissions"))?;
    Ok((items, total))
}

/// Accepts or returns a received submission (audited). 404 if unknown or out of
/// scope, 409 if already decided.
pub async fn decide(pool: &PgPool, who: &Principal, id: i64, decision: &Decision) -> Result<Submission> {
    let user_id = who.user_id().ok_or(AppError::Forbidden("review submissions"))?;
    let mut tx = pool.begin().await.map_err(AppError::db("starting decision"))?;
    let before: Option<Submission> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM submissions WHERE submission_id = $1 FOR UPDATE"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(AppError::db("locking submission"))?;
    let Some(before) = before else {
        return Err(AppError::NotFound(format!("submission {id}")));
    };
    who.require_county(&before.county)?;
    if before.status != "received" {
        return Err(AppError::Conflict(format!("submission {id} is already {}", before.status)));
    }
    let status = match decision.decision {
        DecisionKind::Accept => "accepted",
        DecisionKind::Return => "returned",
    };
    let after: Submission = sqlx::query_as(&format!(
        "UPDATE submissions SET status = $3, decided_by = $4, decided_at = now(), decision_note = $5
         WHERE county = $1 AND submission_id = $2 RETURNING {COLUMNS}"
    ))
    .bind(&before.county)
    .bind(id)
    .bind(status)
    .bind(user_id)
    .bind(&decision.note)
    .fetch_one(&mut *tx)
    .await
    .map_err(AppError::db("deciding submission"))?;
    let key = id.to_string();
    audit::record(
        &mut tx,
        who,
        AuditEntry {
            county: &after.county,
            action: "submission.decide",
            object_type: "submission",
            object_key: &key,
            before: Some(serde_json::to_value(&before).unwrap_or(Value::Null)),
            after: Some(serde_json::to_value(&after).unwrap_or(Value::Null)),
        },
    )
    .await?;
    tx.commit().await.map_err(AppError::db("committing decision"))?;
    Ok(after)
}
