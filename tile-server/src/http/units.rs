//! Unit-table endpoints (no coordinates): a unit by BDCDYH with its land unit,
//! household writes, search by address, the change feed.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Action, AuthUser};
use crate::db::changes::{self, Change};
use crate::db::edit::{version_tag, IfMatch};
use crate::db::households::{self, Household, HouseholdInput};
use crate::db::parcels::{self, LandUnit};
use crate::db::registrations::{self, Registration};
use crate::db::search::{self, Hit};
use crate::error::{AppError, ErrorBody};
use crate::http::{paginated, AppJson, AppPath, AppQuery, PageQuery};
use crate::state::AppState;
use unit_code::{FixtureKind, UnitCode};

paginated!(HitPage, Hit);

/// A unit and the land unit it stands on.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitView {
    /// The household, when the code is a house unit (fixture F); absent for a land-only unit.
    pub household: Option<Household>,
    /// The land unit: the parcel's code + `W00000000`.
    pub land_unit: Option<LandUnit>,
    /// The registration result (登簿) from the extranet, once one came back.
    pub registration: Option<Registration>,
}

/// A unit by its 28-character code, with the derived land unit.
#[utoipa::path(get, path = "/api/units/{bdcdyh}", params(("bdcdyh" = String, Path, description = "不动产单元号, 28 characters", pattern = "^\\d{12}[GJZ][A-Z0]\\d{5}[FLQW]\\d{8}$")),
    responses((status = 200, body = UnitView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unit(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(bdcdyh): AppPath<UnitCode>,
) -> Result<Json<UnitView>, AppError> {
    who.require(Action::ReadUnitTable)?;
    who.require_county(bdcdyh.county().as_str())?;
    let land_unit = parcels::land_unit(&state.db, bdcdyh.parcel().as_str()).await?;
    let household = if bdcdyh.fixture_kind() == FixtureKind::Building {
        households::get_current(&state.db, bdcdyh.as_str(), who.may_see_pii(), &state.pii).await?
    } else {
        None
    };
    // The parcel's own land unit (`W00000000`), not a W unit with another number.
    let is_land_only = bdcdyh == bdcdyh.land_unit();
    if household.is_none() && !(is_land_only && land_unit.is_some()) {
        return Err(AppError::NotFound(format!("unit {bdcdyh}")));
    }
    let registration = registrations::of_unit(&state.db, bdcdyh.as_str()).await?;
    Ok(Json(UnitView { household, land_unit, registration }))
}

/// A household with its version's ETag (use it as `If-Match` when editing).
#[utoipa::path(get, path = "/api/households/{bdcdyh}", params(("bdcdyh" = String, Path, description = "不动产单元号 (fixture F)", pattern = "^\\d{12}[GJZ][A-Z0]\\d{5}[FLQW]\\d{8}$")),
    responses((status = 200, body = Household, headers(("ETag" = String, description = "version tag for If-Match"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_household(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(bdcdyh): AppPath<UnitCode>,
) -> Result<Response, AppError> {
    who.require(Action::ReadUnitTable)?;
    who.require_county(bdcdyh.county().as_str())?;
    let household = households::get_current(&state.db, bdcdyh.as_str(), who.may_see_pii(), &state.pii)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("household {bdcdyh}")))?;
    Ok(with_version_tag(household.version_id, Json(household)))
}

/// A response with the ETag of an object version (what `If-Match` compares with).
pub fn with_version_tag(version_id: i64, body: impl IntoResponse) -> Response {
    let mut resp = body.into_response();
    if let Ok(v) = HeaderValue::from_str(&version_tag(version_id)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// Creates or edits a household; owner name and ID are stored encrypted. Fields
/// left out keep their values; with `If-Match`, only if the current version is the one named.
#[utoipa::path(put, path = "/api/households/{bdcdyh}", params(("bdcdyh" = String, Path, description = "不动产单元号 (fixture F)", pattern = "^\\d{12}[GJZ][A-Z0]\\d{5}[FLQW]\\d{8}$"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version the edit is based on (412 if another is current)")),
    request_body = HouseholdInput,
    responses((status = 200, body = Household, headers(("ETag" = String, description = "tag of the new version"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 412, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, description = "a rule is broken, e.g. a text over its length limit (named)", body = ErrorBody)))]
pub async fn put_household(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(bdcdyh): AppPath<UnitCode>,
    headers: HeaderMap,
    AppJson(input): AppJson<HouseholdInput>,
) -> Result<Response, AppError> {
    who.require(Action::WriteCadastre)?;
    who.require_county(bdcdyh.county().as_str())?;
    let if_match = IfMatch::from_headers(&headers);
    let household = households::upsert_if(&state.db, &who, &state.pii, &bdcdyh, &input, if_match.as_ref()).await?;
    // The building table shows this household: drop its cached copies.
    state.tables.invalidate(&household.zrzh);
    Ok(with_version_tag(household.version_id, Json(household)))
}

/// `GET /api/search` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Text the 坐落 must contain (1..=100 characters).
    pub zl: String,
    /// 1-based page number. \[default: 1\]
    pub page: Option<i64>,
    /// Items per page, 1..=500. \[default: 50\]
    pub per_page: Option<i64>,
}

/// Parcels and households whose address (坐落) contains the text.
#[utoipa::path(get, path = "/api/search", params(SearchQuery),
    responses((status = 200, body = HitPage), (status = 400, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppQuery(q): AppQuery<SearchQuery>,
) -> Result<Json<HitPage>, AppError> {
    who.require(Action::ReadUnitTable)?;
    let page = PageQuery { page: q.page, per_page: q.per_page }.page()?;
    let n = q.zl.trim().chars().count();
    if !(1..=100).contains(&n) {
        return Err(AppError::BadRequest("zl must be 1..=100 characters".into()));
    }
    Ok(Json(HitPage::new(search::by_address(&state.db, &who.counties, q.zl.trim(), page).await?, page)))
}

/// `GET /api/changes` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Cursor: return changes after this one. \[default: 0\]
    pub since: Option<i64>,
    /// At most this many, 1..=1000. \[default: 100\]
    pub limit: Option<i64>,
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangesPage {
    /// Changes, oldest first.
    pub items: Vec<Change>,
    /// Pass as `since` for the next page (equals the request's `since` when empty).
    pub next_cursor: i64,
}

/// Changes to parcels, buildings and households in the caller's counties since a cursor.
#[utoipa::path(get, path = "/api/changes", params(ChangesQuery),
    responses((status = 200, body = ChangesPage), (status = 400, body = ErrorBody)))]
pub async fn changes(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppQuery(q): AppQuery<ChangesQuery>,
) -> Result<Json<ChangesPage>, AppError> {
    who.require(Action::ReadUnitTable)?;
    let since = q.since.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    if since < 0 || !(1..=1000).contains(&limit) {
        return Err(AppError::BadRequest("since must be >= 0 and limit 1..=1000".into()));
    }
    let items = changes::since(&state.db, &who.counties, since, limit).await?.ok_or_else(|| {
        AppError::BadRequest(format!("unknown cursor {since}: pass 0 or a cursor this feed returned"))
    })?;
    let next_cursor = items.last().map_or(since, |c| c.cursor);
    Ok(Json(ChangesPage { items, next_cursor }))
}
