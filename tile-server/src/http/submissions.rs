//! Submissions: surveyors hand in result packages, reviewers accept or return them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Action, AuthUser};
use crate::db::submissions::{self, Decision, Submission, SubmissionInput};
use crate::error::{AppError, ErrorBody};
use crate::http::{paginated, AppJson, AppPath, AppQuery, PageQuery};
use crate::state::AppState;

paginated!(SubmissionPage, Submission);

/// Hands in a result package.
#[utoipa::path(post, path = "/api/submissions", request_body = SubmissionInput,
    responses((status = 201, body = Submission), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppJson(input): AppJson<SubmissionInput>,
) -> Result<(StatusCode, Json<Submission>), AppError> {
    who.require(Action::Submit)?;
    who.require_county(&input.county)?;
    Ok((StatusCode::CREATED, Json(submissions::create(&state.db, &who, &input).await?)))
}

/// `GET /api/submissions` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmissionQuery {
    /// received / accepted / returned.
    pub status: Option<String>,
    /// 1-based page number. \[default: 1\]
    pub page: Option<i64>,
    /// Items per page, 1..=500. \[default: 50\]
    pub per_page: Option<i64>,
}

/// Submissions in the reviewer's counties, newest first.
#[utoipa::path(get, path = "/api/submissions", params(SubmissionQuery),
    responses((status = 200, body = SubmissionPage), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppQuery(q): AppQuery<SubmissionQuery>,
) -> Result<Json<SubmissionPage>, AppError> {
    who.require(Action::Review)?;
    let page = PageQuery { page: q.page, per_page: q.per_page }.page()?;
    if let Some(s) = &q.status {
        if !matches!(s.as_str(), "received" | "accepted" | "returned") {
            return Err(AppError::BadRequest("status must be received, accepted or returned".into()));
        }
    }
    Ok(Json(SubmissionPage::new(submissions::list(&state.db, &who.counties, q.status.as_deref(), page).await?, page)))
}

/// Accepts or returns a submission.
#[utoipa::path(post, path = "/api/submissions/{id}/decision", params(("id" = i64, Path, description = "submission id")),
    request_body = Decision,
    responses((status = 200, body = Submission), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(id): AppPath<i64>,
    AppJson(decision): AppJson<Decision>,
) -> Result<Json<Submission>, AppError> {
    who.require(Action::Review)?;
    Ok(Json(submissions::decide(&state.db, &who, id, &decision).await?))
}
