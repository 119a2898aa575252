//! Submissions: surveyors hand in result packages (成果包), reviewers accept or return them.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use cadastre_core::package::Package;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::auth::{Action, AuthUser, Principal};
use crate::db::review_store;
use crate::db::submissions::{self, Accepted202, Document, NewPackage, Quota, Submission, SubmissionDetail};
use crate::error::{AppError, ErrorBody};
use crate::http::{paginated, AppJson, AppPath, AppQuery, PageQuery};
use crate::review::accept::{self, Accepted, Decision, DecisionKind};
use crate::review::phases::Phases;
use crate::review::{self as workflow};
use crate::state::AppState;

paginated!(SubmissionPage, Submission);

/// `POST /api/submissions` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IntakeQuery {
    /// Title of the submission. \[default: the manifest's project name\]
    pub title: Option<String>,
}

/// The zip of a request: an `application/zip` (or octet-stream) body, or the multipart
/// field `package`, of at most `max` bytes.
///
/// A declared `Content-Length` over `max` is refused before the body is touched: hyper sends
/// `100 Continue` only once the body is read, so a client that asked for it (the desktop app
/// does) gets the 413 instead of a reset connection halfway through its upload.
async fn package_bytes(req: Request, max: usize) -> Result<Vec<u8>, AppError> {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(AppError::PayloadTooLarge);
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if content_type.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(req, &()).await.map_err(|e| AppError::BadRequest(e.body_text()))?;
        while let Some(field) = form.next_field().await.map_err(|e| AppError::BadRequest(e.body_text()))? {
            if field.name() == Some("package") {
                let bytes = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        AppError::PayloadTooLarge
                    } else {
                        AppError::BadRequest(e.body_text())
                    }
                })?;
                return Ok(bytes.to_vec());
            }
        }
        return Err(AppError::BadRequest("multipart body without a `package` field".into()));
    }
    if !(content_type.starts_with("application/zip")
        || content_type.starts_with("application/octet-stream")
        || content_type.starts_with("application/x-zip-compressed"))
    {
        return Err(AppError::BadRequest(
            "send the package as an application/zip body or as the multipart field `package`".into(),
        ));
    }
    let bytes = Bytes::from_request(req, &()).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest(e.body_text())
        }
    })?;
    Ok(bytes.to_vec())
}

/// The intake checks of `cadastre package verify`, plus the uploader's county scope.
async fn intake(
    state: &AppState,
    who: &Principal,
    bytes: Vec<u8>,
    title: Option<String>,
) -> Result<NewPackage, AppError> {
    let limits = workflow::limits(&state.settings);
    let counties = who.counties.clone();
    tokio::task::spawn_blocking(move || {
        let mut phases = Phases::start(format!("intake of {} bytes", bytes.len()));
        let mut pkg = Package::open(std::io::Cursor::new(bytes.as_slice()), &limits)?;
        pkg.check_scope(&counties)?;
        pkg.verify()?;
        phases.lap("open+verify");
        phases.log();
        let manifest = pkg.manifest().clone();
        drop(pkg);
        let sha256 = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let title = title
            .filter(|t| !t.trim().is_empty())
            .or_else(|| (!manifest.project.is_empty()).then(|| manifest.project.clone()))
            .unwrap_or_else(|| format!("成果包 {} {}", manifest.county, manifest.business_kind.name_zh()));
        let manifest_json = serde_json::to_value(&manifest).unwrap_or(Value::Null);
        Ok(NewPackage { county: manifest.county, title, bytes, sha256, manifest: manifest_json })
    })
    .await
    .map_err(|e| AppError::internal("intake task", e))?
}

fn quota(state: &AppState) -> Quota {
    Quota { daily_bytes: state.settings.submission_daily_bytes, open_versions: state.settings.submission_open_versions }
}

/// Hands in a result package (zip body or multipart field `package`); checking starts in the background.
#[utoipa::path(post, path = "/api/submissions", params(IntakeQuery),
    request_body(content = Vec<u8>, content_type = "application/zip", description = "the result package"),
    responses((status = 202, body = Accepted202),
        (status = 403, body = ErrorBody, description = "`county_forbidden`: the package's county is outside the uploader's scope"),
        (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "refused package: missing/extra file, wrong digest, unknown format version, zip bomb, path escape"),
        (status = 429, body = ErrorBody, description = "quota")))]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppQuery(q): AppQuery<IntakeQuery>,
    req: Request,
) -> Result<(StatusCode, Json<Accepted202>), AppError> {
    who.require(Action::Submit)?;
    let p = intake(&state, &who, package_bytes(req, state.settings.submission_max_bytes).await?, q.title).await?;
    Ok((StatusCode::ACCEPTED, Json(submissions::create(&state.db, &who, &p, quota(&state)).await?)))
}

/// Hands in a new version of a returned (or failed) submission.
#[utoipa::path(post, path = "/api/submissions/{id}/versions", params(("id" = i64, Path, description = "submission id")),
    request_body(content = Vec<u8>, content_type = "application/zip"),
    responses((status = 202, body = Accepted202),
        (status = 403, body = ErrorBody, description = "not the submission's surveyor, or `county_forbidden`: the package's county is outside the uploader's scope"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_version(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(id): AppPath<i64>,
    req: Request,
) -> Result<(StatusCode, Json<Accepted202>), AppError> {
    who.require(Action::Submit)?;
    let p = intake(&state, &who, package_bytes(req, state.settings.submission_max_bytes).await?, None).await?;
    Ok((StatusCode::ACCEPTED, Json(submissions::add_version(&state.db, &who, id, &p, quota(&state)).await?)))
}

/// `GET /api/submissions` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmissionQuery {
    /// checking / ready / accepted / returned / failed.
    pub status: Option<String>,
    /// 1-based page number. \[default: 1\]
    pub page: Option<i64>,
    /// Items per page, 1..=500. \[default: 50\]
    pub per_page: Option<i64>,
}

/// Submissions: a surveyor's own, a reviewer's counties', newest first.
#[utoipa::path(get, path = "/api/submissions", params(SubmissionQuery),
    responses((status = 200, body = SubmissionPage), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppQuery(q): AppQuery<SubmissionQuery>,
) -> Result<Json<SubmissionPage>, AppError> {
    if !who.role.allows(Action::Review) {
        who.require(Action::Submit)?;
    }
    let page = PageQuery { page: q.page, per_page: q.per_page }.page()?;
    if let Some(s) = &q.status {
        if !matches!(s.as_str(), "checking" | "ready" | "accepted" | "returned" | "failed") {
            return Err(AppError::BadRequest("status must be checking, ready, accepted, returned or failed".into()));
        }
    }
    Ok(Json(SubmissionPage::new(submissions::list(&state.db, &who, q.status.as_deref(), page).await?, page)))
}

/// One submission with its versions, decisions and returned findings.
#[utoipa::path(get, path = "/api/submissions/{id}", params(("id" = i64, Path, description = "submission id")),
    responses((status = 200, body = SubmissionDetail), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(id): AppPath<i64>,
) -> Result<Json<SubmissionDetail>, AppError> {
    Ok(Json(submissions::get(&state.db, &who, id).await?))
}

/// `?version=` of the document endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// Version. \[default: the latest\]
    pub version: Option<i32>,
}

/// The check report of a version (JSON: findings with location, score, verdict).
#[utoipa::path(get, path = "/api/submissions/{id}/report", params(("id" = i64, Path, description = "submission id"), VersionQuery),
    responses((status = 200, description = "report JSON"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(id): AppPath<i64>,
    AppQuery(q): AppQuery<VersionQuery>,
) -> Result<Json<Value>, AppError> {
    let (_, status, json, _, _) = submissions::document(&state.db, &who, id, q.version, Document::Report).await?;
    json.map(Json).ok_or_else(|| AppError::Conflict(format!("no report: the version is {status}")))
}

/// The check report of a version as a self-contained HTML page.
#[utoipa::path(get, path = "/api/submissions/{id}/report.html", params(("id" = i64, Path, description = "submission id"), VersionQuery),
    responses((status = 200, description = "report HTML"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn report_html(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(id): AppPath<i64>,
    AppQuery(q): AppQuery<VersionQuery>,
) -> Result<Response, AppError> {
    let (_, status, _, html, _) = submissions::document(&state.db, &who, id, q.version, Document::ReportHtml).await?;
    let html = html.ok_or_else(|| AppError::Conflict(format!("no report: the version is {status}")))?;
    Ok(Html(html).into_response())
}

/// What the submission changes against the store. When the store changed since the diff
/// was computed, the version goes back to `checking` and `stale` is true.
#[utoipa::path(get, path = "/api/submissions/{id}/diff", params(("id" = i64, Path, description = "submission id"), VersionQuery),
    responses((status = 200, description = "{status, version, stale, diff}"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn diff(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(id): AppPath<i64>,
    AppQuery(q): AppQuery<VersionQuery>,
) -> Result<Json<Value>, AppError> {
    let (key, mut status, diff, _, fingerprint) =
        submissions::document(&state.db, &who, id, q.version, Document::Diff).await?;
    let diff = diff.ok_or_else(|| AppError::Conflict(format!("no diff yet: the version is {status}")))?;
    let mut stale = false;
    if status == "ready" {
        let area: review_store::Area = submissions::area(&state.db, &key).await?;
        let mut conn = state.db.acquire().await.map_err(AppError::db("acquiring a connection"))?;
        let now = review_store::fingerprint(&mut conn, &area, false).await?;
        if fingerprint.as_deref() != Some(now.as_str()) {
            let mut tx = state.db.begin().await.map_err(AppError::db("starting re-check"))?;
            submissions::recheck(&mut tx, &key, "system:diff-stale").await?;
            tx.commit().await.map_err(AppError::db("committing re-check"))?;
            (stale, status) = (true, "checking".to_owned());
        }
    }
    Ok(Json(json!({"submission_id": id, "version": key.version, "status": status, "stale": stale, "diff": diff})))
}

/// Accepts (into the store, with unit codes) or returns the latest version.
#[utoipa::path(post, path = "/api/submissions/{id}/decision", params(("id" = i64, Path, description = "submission id")),
    request_body = Decision,
    responses((status = 200, description = "accepted: codes issued; returned: the submission"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(id): AppPath<i64>,
    AppJson(decision): AppJson<Decision>,
) -> Result<Response, AppError> {
    who.require(Action::Review)?;
    match decision.decision {
        DecisionKind::Accept => {
            let done: Accepted = accept::accept_in_background(
                state.background.as_ref(),
                &state.db,
                &who,
                id,
                &decision,
                workflow::limits(&state.settings),
            )
            .await?;
            Ok(Json(done).into_response())
        }
        DecisionKind::Return => {
            let detail =
                submissions::return_to_surveyor(&state.db, &who, id, &decision.note, decision.findings.as_ref())
                    .await?;
            Ok(Json(detail).into_response())
        }
    }
}
