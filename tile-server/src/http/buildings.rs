//! Building endpoints: footprints for internal users, the building table
//! (楼盘表, no coordinates) for everyone including the registration system.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Action, AuthUser};
use crate::db::buildings::{self, Building, BuildingInput, BuildingTable};
use crate::db::edit::IfMatch;
use crate::error::{AppError, ErrorBody};
use crate::http::units::with_version_tag;
use crate::http::{paginated, AppJson, AppPath, AppQuery, PageQuery};
use crate::state::AppState;
use unit_code::{BuildingCode, ParcelCode};

paginated!(BuildingPage, Building);

/// Filters of `GET /api/buildings`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BuildingQuery {
    /// Only buildings on this parcel (宗地代码); a malformed code is refused with 400.
    #[param(value_type = Option<String>, pattern = r"^\d{12}[GJZ][A-Z0]\d{5}$")]
    pub zddm: Option<ParcelCode>,
    /// 1-based page number. \[default: 1\]
    pub page: Option<i64>,
    /// Items per page, 1..=500. \[default: 50\]
    pub per_page: Option<i64>,
}

/// Current buildings in the caller's counties.
#[utoipa::path(get, path = "/api/buildings", params(BuildingQuery),
    responses((status = 200, body = BuildingPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppQuery(q): AppQuery<BuildingQuery>,
) -> Result<Json<BuildingPage>, AppError> {
    who.require(Action::ReadSpatial)?;
    let page = PageQuery { page: q.page, per_page: q.per_page }.page()?;
    if let Some(z) = &q.zddm {
        who.require_county(z.county().as_str())?;
    }
    let zddm = q.zddm.as_ref().map(ParcelCode::as_str);
    Ok(Json(BuildingPage::new(buildings::list(&state.db, &who.counties, zddm, page).await?, page)))
}

/// One building with footprint.
#[utoipa::path(get, path = "/api/buildings/{zrzh}", params(("zrzh" = String, Path, description = "自然幢号, 24 characters", pattern = "^\\d{12}[GJZ][A-Z0]\\d{5}F\\d{4}$")),
    responses((status = 200, body = Building, headers(("ETag" = String, description = "version tag for If-Match"))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(zrzh): AppPath<BuildingCode>,
) -> Result<Response, AppError> {
    who.require(Action::ReadSpatial)?;
    who.require_county(zrzh.county().as_str())?;
    let building = buildings::get_current(&state.db, zrzh.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("building {zrzh}")))?;
    Ok(with_version_tag(building.attrs.version_id, Json(building)))
}

/// Creates or edits a building and its floor list (versioned). Fields left out
/// keep their values; with `If-Match`, only if the current version is the one named.
#[utoipa::path(put, path = "/api/buildings/{zrzh}", params(("zrzh" = String, Path, description = "自然幢号", pattern = "^\\d{12}[GJZ][A-Z0]\\d{5}F\\d{4}$"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version the edit is based on (412 if another is current)")), request_body = BuildingInput,
    responses((status = 200, body = Building, headers(("ETag" = String, description = "tag of the new version"))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 412, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "a rule is broken, e.g. a text over its length limit (named), a negative area, a geometry not in the store CRS", body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(zrzh): AppPath<BuildingCode>,
    request_headers: HeaderMap,
    AppJson(input): AppJson<BuildingInput>,
) -> Result<Response, AppError> {
    who.require(Action::WriteCadastre)?;
    who.require_county(zrzh.county().as_str())?;
    let if_match = IfMatch::from_headers(&request_headers);
    let building = buildings::upsert_if(&state.db, &who, &zrzh, &input, if_match.as_ref()).await?;
    state.tables.invalidate(zrzh.as_str());
    Ok(with_version_tag(building.attrs.version_id, Json(building)))
}

/// The building table: floors top to bottom with their households, areas,
/// status and unit codes. No coordinates; owner data masked unless permitted.
#[utoipa::path(get, path = "/api/buildings/{zrzh}/table", params(("zrzh" = String, Path, description = "自然幢号", pattern = "^\\d{12}[GJZ][A-Z0]\\d{5}F\\d{4}$")),
    responses((status = 200, body = BuildingTable), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn table(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(zrzh): AppPath<BuildingCode>,
    request_headers: HeaderMap,
) -> Result<Response, AppError> {
    who.require(Action::ReadUnitTable)?;
    who.require_county(zrzh.county().as_str())?;
    let show_pii = who.may_see_pii();
    // The serialized table is cached by the fingerprint of its rows
    // (crate::http::table_cache): a repeated pull costs one aggregate query, or
    // none while change notifications keep the cache coherent.
    let cached = match state.tables.get_fresh(zrzh.as_str(), show_pii, std::time::Instant::now()) {
        Some(hit) => hit,
        None => fresh_table(&state, zrzh.as_str(), show_pii).await?,
    };
    let json = HeaderValue::from_static("application/json");
    // Same weak ETag for both codings: they are the same table.
    if let Some(zipped) = accepts_gzip(&request_headers).then(|| cached.gzip()).flatten() {
        let headers = [
            (header::CONTENT_TYPE, json),
            (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
            (header::ETAG, cached.etag),
        ];
        return Ok((headers, zipped).into_response());
    }
    let headers = [
        (header::CONTENT_TYPE, json),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
        (header::ETAG, cached.etag),
    ];
    Ok((headers, cached.body).into_response())
}

/// Whether `Accept-Encoding` lists gzip (or `*`) without `q=0`.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0)));
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        },
    )
}

/// The cached table if its fingerprint still matches, else a newly built one.
async fn fresh_table(
    state: &AppState,
    zrzh: &str,
    show_pii: bool,
) -> Result<crate::http::table_cache::CachedTable, AppError> {
    // Ticket, then fingerprint, then table: a change announced after the ticket
    // voids the fill; a write between the two reads leaves a newer table under an
    // older fingerprint, which the next request does not match.
    let ticket = state.tables.ticket();
    let fingerprint = buildings::table_fingerprint(&state.db, zrzh).await?;
    Ok(match state.tables.get(zrzh, show_pii, &fingerprint, ticket) {
        Some(hit) => hit,
        None => {
            let table = buildings::table(&state.db, zrzh, show_pii, &state.pii)
                .await?
                .ok_or(AppError::NotFound(format!("building {zrzh}")))?;
            let body = serde_json::to_vec(&table).map_err(|e| AppError::internal("serializing table", e))?;
            state.tables.insert(zrzh, show_pii, fingerprint, body, ticket)
        }
    })
}
