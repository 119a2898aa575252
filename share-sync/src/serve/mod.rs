//! `serve`: the unit-table API for the registration system, from the receiving
//! database: the same paths and JSON shapes as the internal server's unit-table
//! endpoints, read-only, no coordinates; bearer tokens, a rate limit per client,
//! an OpenAPI document. Also the registration-result intake (`PUT
//! /api/registrations/{bdcdyh}`, clients allowed to register only) and, with
//! `--accept-push DIR`, the one-way push intake.

pub mod queries;
pub mod views;

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use sha2_011::Digest as _;
use utoipa::{OpenApi, ToSchema};

use crate::keys::PublicKey;
use crate::receiver::ReceiverDb;
use unit_code::{BuildingCode, CodeError, UnitCode};
use views::{BuildingTable, Hit, HitPage, Household, Registration, UnitView};

/// SHA-256 of a token, hex (what `api_clients` stores).
pub fn token_digest(token: &str) -> String {
    hex::encode(sha2_011::Sha256::digest(token.as_bytes()))
}

/// Where pushed packages land and how they are applied.
#[derive(Debug, Clone)]
pub struct PushIntake {
    /// Directory the packages are written into (then applied like ferried files).
    pub dir: PathBuf,
    /// Trusted keys for applying them.
    pub trust: Vec<PublicKey>,
    /// Inbox for held and quarantined copies.
    pub inbox: PathBuf,
}

/// Server state.
#[derive(Clone)]
pub struct ServeState {
    db: ReceiverDb,
    limits: Arc<Mutex<HashMap<String, (f64, Instant)>>>,
    push: Option<Arc<PushIntake>>,
    apply_lock: Arc<tokio::sync::Mutex<()>>,
}

impl ServeState {
    /// State over an open receiving database.
    pub fn new(db: ReceiverDb, push: Option<PushIntake>) -> Self {
        Self { db, limits: Arc::default(), push: push.map(Arc::new), apply_lock: Arc::default() }
    }
}

/// The error body, as the internal server writes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `unauthenticated`, `forbidden`, `rate_limited`, `not_found`, `bad_request`, `internal`.
    pub code: String,
    /// Message.
    pub message: String,
}

/// Errors of the API.
#[derive(Debug)]
pub enum ApiError {
    /// No or unknown token.
    Unauthenticated,
    /// Not allowed.
    Forbidden(String),
    /// Over the client's rate.
    RateLimited,
    /// Nothing there.
    NotFound(String),
    /// Bad input.
    BadRequest(String),
    /// Ours.
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Self::Unauthenticated => {
                (StatusCode::UNAUTHORIZED, "unauthenticated", "a valid bearer token is required".into())
            }
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m),
            Self::RateLimited => {
                (StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests for this client".into())
            }
            Self::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", format!("{m} not found")),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m),
            Self::Internal(m) => {
                tracing::error!("{m}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error".into())
            }
        };
        (status, Json(ErrorBody { error: ErrorDetail { code: code.into(), message } })).into_response()
    }
}

impl From<crate::receiver::db::DbError> for ApiError {
    fn from(e: crate::receiver::db::DbError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// An authenticated, rate-limited client.
pub struct Client {
    /// Its id.
    pub id: String,
    /// Whether it may record registration results.
    pub may_register: bool,
}

impl FromRequestParts<ServeState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ServeState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        let (id, per_minute, may_register) =
            queries::client_of(&state.db.pool, &token_digest(token.trim())).await?.ok_or(ApiError::Unauthenticated)?;
        take_token(&state.limits, &id, per_minute, Instant::now())?;
        Ok(Self { id, may_register })
    }
}

/// A token bucket per client holding `per_minute` requests, refilled continuously.
fn take_token(
    limits: &Mutex<HashMap<String, (f64, Instant)>>,
    client: &str,
    per_minute: i64,
    now: Instant,
) -> Result<(), ApiError> {
    let capacity = per_minute.max(1) as f64;
    let mut map = limits.lock().map_err(|_| ApiError::Internal("rate limiter poisoned".into()))?;
    let (tokens, last) = map.entry(client.to_owned()).or_insert((capacity, now));
    let refill = now.saturating_duration_since(*last).as_secs_f64() * capacity / 60.0;
    *tokens = (*tokens + refill).min(capacity);
    *last = now;
    if *tokens < 1.0 {
        return Err(ApiError::RateLimited);
    }
    *tokens -= 1.0;
    Ok(())
}

/// `code` parsed as a `T` (unit code, building number): a malformed one is a 400 whose
/// message names the segment that failed, in Chinese then English (from `unit_code`).
fn parse_code<T: FromStr<Err = CodeError>>(code: &str) -> Result<T, ApiError> {
    code.parse().map_err(|e: CodeError| ApiError::BadRequest(format!("{code:?}: {e}")))
}

/// A unit by its 28-character code, with its land unit and registration result.
#[utoipa::path(get, path = "/api/units/{bdcdyh}", params(("bdcdyh" = String, Path, description = "不动产单元号, 28 characters")),
    responses((status = 200, body = UnitView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn unit(
    State(state): State<ServeState>,
    _client: Client,
    Path(bdcdyh): Path<String>,
) -> Result<Json<UnitView>, ApiError> {
    let code: UnitCode = parse_code(&bdcdyh)?;
    let pool = &state.db.pool;
    let land_unit = queries::land_unit(pool, code.parcel().as_str()).await?;
    let household = if code.building().is_some() { queries::household_of(pool, &bdcdyh).await? } else { None };
    if household.is_none() && !(code == code.land_unit() && land_unit.is_some()) {
        return Err(ApiError::NotFound(format!("unit {bdcdyh}")));
    }
    let registration = queries::registration(pool, &bdcdyh).await?;
    Ok(Json(UnitView { household, land_unit, registration }))
}

/// A household with its version's ETag, as the internal server answers it.
#[utoipa::path(get, path = "/api/households/{bdcdyh}", params(("bdcdyh" = String, Path, description = "不动产单元号 (fixture F)")),
    responses((status = 200, body = Household, headers(("ETag" = String, description = "version tag"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn household(
    State(state): State<ServeState>,
    _client: Client,
    Path(bdcdyh): Path<String>,
) -> Result<Response, ApiError> {
    parse_code::<UnitCode>(&bdcdyh)?;
    let household = queries::household_of(&state.db.pool, &bdcdyh)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("household {bdcdyh}")))?;
    // The internal server's tag (tile-server `version_tag`): the same version, the same tag.
    let tag = format!("W/\"v{}\"", household.unit.version_id);
    let mut resp = Json(household).into_response();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

/// `GET /api/search` parameters (the internal server's).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Text the 坐落 must contain (1..=100 characters).
    pub zl: String,
    /// 1-based page number. \[default: 1\]
    pub page: Option<i64>,
    /// Items per page, 1..=500. \[default: 50\]
    pub per_page: Option<i64>,
}

/// Page size limits, as the internal server's.
const DEFAULT_PER_PAGE: i64 = 50;
const MAX_PER_PAGE: i64 = 500;

/// Land units and households whose address (坐落) contains the text.
#[utoipa::path(get, path = "/api/search", params(SearchQuery),
    responses((status = 200, body = HitPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn search(
    State(state): State<ServeState>,
    _client: Client,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<HitPage>, ApiError> {
    let Query(q) = query.map_err(|r| ApiError::BadRequest(r.body_text()))?;
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if !(1..=1_000_000).contains(&page) {
        return Err(ApiError::BadRequest("page must be 1..=1000000".into()));
    }
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::BadRequest(format!("per_page must be 1..={MAX_PER_PAGE}")));
    }
    let text = q.zl.trim();
    if !(1..=100).contains(&text.chars().count()) {
        return Err(ApiError::BadRequest("zl must be 1..=100 characters".into()));
    }
    let (items, total) =
        queries::search(&state.db.pool, state.db.backend, text, per_page, (page - 1) * per_page).await?;
    Ok(Json(HitPage { items, page, per_page, total }))
}

/// The building table (楼盘表) of a natural building.
#[utoipa::path(get, path = "/api/buildings/{zrzh}/table", params(("zrzh" = String, Path, description = "自然幢号, 24 characters")),
    responses((status = 200, body = BuildingTable), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn table(
    State(state): State<ServeState>,
    _client: Client,
    Path(zrzh): Path<String>,
) -> Result<Json<BuildingTable>, ApiError> {
    parse_code::<BuildingCode>(&zrzh)?;
    queries::building_table(&state.db.pool, &zrzh)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound(format!("building {zrzh}")))
}

/// Body of a registration result.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationInput {
    /// 不动产权证书号.
    #[serde(rename = "BDCQZH")]
    pub bdcqzh: Option<String>,
    /// 登记状态, e.g. `registered`.
    #[serde(rename = "DJZT")]
    pub djzt: String,
    /// 登簿时间.
    #[serde(rename = "DJSJ")]
    pub djsj: Option<chrono::DateTime<chrono::Utc>>,
}

/// Records a registration result (登簿) for a unit; `export-registration` carries it inward.
#[utoipa::path(put, path = "/api/registrations/{bdcdyh}", params(("bdcdyh" = String, Path, description = "不动产单元号")),
    request_body = RegistrationInput,
    responses((status = 200, body = Registration), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_registration(
    State(state): State<ServeState>,
    client: Client,
    Path(bdcdyh): Path<String>,
    Json(input): Json<RegistrationInput>,
) -> Result<Json<Registration>, ApiError> {
    if !client.may_register {
        return Err(ApiError::Forbidden(format!("client {} may not record registration results", client.id)));
    }
    parse_code::<UnitCode>(&bdcdyh)?;
    if input.djzt.trim().is_empty() || input.djzt.chars().count() > 32 {
        return Err(ApiError::BadRequest("DJZT must be 1..=32 characters".into()));
    }
    let r = Registration { bdcqzh: input.bdcqzh, djzt: input.djzt, djsj: input.djsj };
    queries::record_registration(&state.db.pool, &bdcdyh, &r).await?;
    Ok(Json(r))
}

/// Receives a pushed package and applies it like a ferried file. The sender never
/// reads the answer (one-way gate) and closes its side as soon as it has sent, so the
/// work runs in its own task, not in the connection's (which closes with the sender's).
/// Authenticity comes from the package signature, not from the connection.
async fn push(State(state): State<ServeState>, body: Body) -> Result<StatusCode, ApiError> {
    let Some(intake) = state.push.clone() else {
        return Err(ApiError::NotFound("push intake".into()));
    };
    tokio::spawn(async move {
        match receive(&intake, body).await {
            Ok(path) => {
                let _guard = state.apply_lock.lock().await;
                match crate::receiver::apply(&state.db, &intake.trust, &intake.inbox, std::slice::from_ref(&path)).await
                {
                    Ok(report) => tracing::info!(?report, "pushed package"),
                    Err(e) => tracing::error!("applying a pushed package: {e}"),
                }
            }
            Err(e) => tracing::error!("receiving a pushed package: {e}"),
        }
    });
    Ok(StatusCode::ACCEPTED)
}

/// Streams a pushed body into the intake directory (temporary name, sync, rename).
async fn receive(intake: &PushIntake, body: Body) -> std::io::Result<PathBuf> {
    let dir = &intake.dir;
    tokio::fs::create_dir_all(dir).await?;
    let tmp = dir.join(format!("{}{}", crate::package::write::TEMP_PREFIX, rand::random::<u64>()));
    let mut file = tokio::fs::File::create(&tmp).await?;
    let mut stream = body.into_data_stream();
    let mut digest = sha2_011::Sha256::default();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(std::io::Error::other)?;
        digest.update(&chunk);
        tokio::io::AsyncWriteExt::write_all(&mut file, &chunk).await?;
    }
    file.sync_all().await?;
    drop(file);
    let path = dir.join(format!("pushed-{}.tar", &hex::encode(digest.finalize())[..16]));
    tokio::fs::rename(&tmp, &path).await?;
    Ok(path)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "share-sync extranet unit-table API", description = "Read-only unit tables from the receiving database; no coordinates."),
    paths(unit, household, search, table, put_registration),
    components(schemas(UnitView, Household, Hit, HitPage, BuildingTable, Registration, RegistrationInput, ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security =
            Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The router.
pub fn app(state: ServeState) -> Router {
    let mut router = Router::new()
        .route("/api/units/{bdcdyh}", get(unit))
        .route("/api/households/{bdcdyh}", get(household))
        .route("/api/search", get(search))
        .route("/api/buildings/{zrzh}/table", get(table))
        .route("/api/registrations/{bdcdyh}", put(put_registration))
        .route("/api/openapi.json", get(|| async { Json(openapi()) }));
    if state.push.is_some() {
        router = router.route("/api/packages", post(push).layer(DefaultBodyLimit::disable()));
    }
    router.fallback(|| async { ApiError::NotFound("route".into()) }).with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refills_per_client() {
        let limits = Mutex::new(HashMap::new());
        let t0 = Instant::now();
        assert!(take_token(&limits, "a", 2, t0).is_ok());
        assert!(take_token(&limits, "a", 2, t0).is_ok());
        assert!(matches!(take_token(&limits, "a", 2, t0), Err(ApiError::RateLimited)));
        assert!(take_token(&limits, "b", 2, t0).is_ok());
        assert!(take_token(&limits, "a", 2, t0 + std::time::Duration::from_secs(30)).is_ok());
    }

    /// A malformed code is a 400 naming the segment that failed, in Chinese first.
    #[test]
    fn malformed_codes_are_refused_with_the_failing_segment() {
        let bad = |r: Result<(), ApiError>| match r {
            Err(ApiError::BadRequest(m)) => m,
            other => panic!("{other:?}"),
        };
        let m = bad(parse_code::<BuildingCode>("330106001001GB00001W0001").map(drop));
        assert!(m.starts_with("\"330106001001GB00001W0001\": 自然幢号第 20 位应为定着物特征码 F，实际为 'W'"), "{m}");
        let m = bad(parse_code::<BuildingCode>("330106001001GB00001F000x").map(drop));
        assert!(m.contains("第 24 位应为数字 0-9（自然幢号）"), "{m}");
        let m = bad(parse_code::<UnitCode>("330106001001GB00001F000100").map(drop));
        assert!(m.contains("不动产单元代码应为 28 位，实际为 26 位"), "{m}");
        assert!(m.contains("unit code (BDCDYH): expected 28 characters, found 26"), "{m}");
        let m = bad(parse_code::<UnitCode>("330106001001XB00001F00010001").map(drop));
        assert!(m.contains("第 13 位应为宗地特征码（所有权）G/J/Z"), "{m}");
        let ok: UnitCode = parse_code("330106001001GB00001F00010001").unwrap();
        assert_eq!(ok.building().map(|b| b.to_string()).as_deref(), Some("330106001001GB00001F0001"));
    }

    #[test]
    fn the_openapi_document_lists_the_paths() {
        let doc = serde_json::to_value(openapi()).unwrap();
        for p in [
            "/api/units/{bdcdyh}",
            "/api/households/{bdcdyh}",
            "/api/search",
            "/api/buildings/{zrzh}/table",
            "/api/registrations/{bdcdyh}",
        ] {
            assert!(doc["paths"][p].is_object(), "{p}");
        }
    }
}
