//! Parcel endpoints (internal users: these carry coordinates).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Action, AuthUser};
use crate::db::edit::IfMatch;
use crate::db::parcels::{self, Parcel, ParcelFilter, ParcelInput};
use crate::error::{AppError, ErrorBody};
use crate::http::units::with_version_tag;
use crate::http::{paginated, AppJson, AppPath, AppQuery, PageQuery};
use crate::state::AppState;
use unit_code::{ParcelCode, SubdistrictCode};

paginated!(ParcelPage, Parcel);

/// Filters of `GET /api/parcels`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParcelQuery {
    /// `minx,miny,maxx,maxy` in the store SRID.
    pub bbox: Option<String>,
    /// 地籍子区代码 (12 digits); anything else is refused with 400.
    #[param(value_type = Option<String>, pattern = r"^\d{12}$")]
    pub sub_district: Option<SubdistrictCode>,
    /// 1-based page number. \[default: 1\]
    pub page: Option<i64>,
    /// Items per page, 1..=500. \[default: 50\]
    pub per_page: Option<i64>,
}

/// Parses `minx,miny,maxx,maxy`.
pub fn parse_bbox(s: &str) -> Result<[f64; 4], AppError> {
    let parts: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| AppError::BadRequest("bbox must be four numbers: minx,miny,maxx,maxy".into()))?;
    match parts[..] {
        [x0, y0, x1, y1] if parts.iter().all(|v| v.is_finite()) && x0 <= x1 && y0 <= y1 => Ok([x0, y0, x1, y1]),
        _ => Err(AppError::BadRequest("bbox must be four finite numbers with min <= max".into())),
    }
}

/// Current parcels in the caller's counties, by sub-district and/or bbox.
#[utoipa::path(get, path = "/api/parcels", params(ParcelQuery),
    responses((status = 200, body = ParcelPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppQuery(q): AppQuery<ParcelQuery>,
) -> Result<Json<ParcelPage>, AppError> {
    who.require(Action::ReadSpatial)?;
    let page = PageQuery { page: q.page, per_page: q.per_page }.page()?;
    if let Some(sd) = &q.sub_district {
        who.require_county(sd.county().as_str())?;
    }
    let filter = ParcelFilter {
        counties: who.counties.clone(),
        sub_district: q.sub_district.map(|sd| sd.to_string()),
        bbox: q.bbox.as_deref().map(parse_bbox).transpose()?,
    };
    Ok(Json(ParcelPage::new(parcels::list(&state.db, &filter, page).await?, page)))
}

/// The current version of a parcel.
#[utoipa::path(get, path = "/api/parcels/{zddm}", params(("zddm" = String, Path, description = "宗地代码, 19 characters", pattern = "^\\d{12}[GJZ][A-Z0]\\d{5}$")),
    responses((status = 200, body = Parcel, headers(("ETag" = String, description = "version tag for If-Match"))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(zddm): AppPath<ParcelCode>,
) -> Result<Response, AppError> {
    who.require(Action::ReadSpatial)?;
    who.require_county(zddm.county().as_str())?;
    let parcel = parcels::get_current(&state.db, zddm.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("parcel {zddm}")))?;
    Ok(with_version_tag(parcel.version_id, Json(parcel)))
}

/// All versions of a parcel (current, historical, temporary), newest first.
#[utoipa::path(get, path = "/api/parcels/{zddm}/history", params(("zddm" = String, Path, description = "宗地代码", pattern = "^\\d{12}[GJZ][A-Z0]\\d{5}$")),
    responses((status = 200, body = Vec<Parcel>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(zddm): AppPath<ParcelCode>,
) -> Result<Json<Vec<Parcel>>, AppError> {
    who.require(Action::ReadSpatial)?;
    who.require_county(zddm.county().as_str())?;
    let versions = parcels::history(&state.db, zddm.as_str()).await?;
    if versions.is_empty() {
        return Err(AppError::NotFound(format!("parcel {zddm}")));
    }
    Ok(Json(versions))
}

/// Creates or edits a parcel; the previous version is kept as historical. Fields
/// left out keep their values; with `If-Match`, only if the current version is the one named.
#[utoipa::path(put, path = "/api/parcels/{zddm}", params(("zddm" = String, Path, description = "宗地代码", pattern = "^\\d{12}[GJZ][A-Z0]\\d{5}$"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version the edit is based on (412 if another is current)")), request_body = ParcelInput,
    responses((status = 200, body = Parcel, headers(("ETag" = String, description = "tag of the new version"))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 412, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "a rule is broken, e.g. a text over its length limit (named), a negative area, a geometry not in the store CRS", body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(zddm): AppPath<ParcelCode>,
    headers: HeaderMap,
    AppJson(input): AppJson<ParcelInput>,
) -> Result<Response, AppError> {
    who.require(Action::WriteCadastre)?;
    who.require_county(zddm.county().as_str())?;
    let parcel = parcels::upsert_if(&state.db, &who, &zddm, &input, IfMatch::from_headers(&headers).as_ref()).await?;
    Ok(with_version_tag(parcel.version_id, Json(parcel)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_parsing() {
        assert_eq!(parse_bbox("1,2,3,4").ok(), Some([1.0, 2.0, 3.0, 4.0]));
        assert!(parse_bbox("1,2,3").is_err());
        assert!(parse_bbox("3,2,1,4").is_err());
        assert!(parse_bbox("1,2,NaN,4").is_err());
        assert!(parse_bbox("a,b,c,d").is_err());
    }
}
