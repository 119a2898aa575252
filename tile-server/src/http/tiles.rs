//! Map data for internal users: vector tiles (`/api/tiles/...`) and a county's
//! features as GeoJSON (`/api/map/...`, what the web console draws). Both carry
//! coordinates, so the registration system's clients are refused (403).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Action, AuthUser};
use crate::db::tiles::{self, TileCoord, TileLayer};
use crate::error::{AppError, ErrorBody};
use crate::http::{AppPath, AppQuery};
use crate::state::AppState;

/// Media type of a Mapbox Vector Tile.
pub const MVT_MEDIA_TYPE: &str = "application/vnd.mapbox-vector-tile";

/// The layer names of the URLs, for the OpenAPI document (so generated
/// requests name real layers); [`TileLayer::parse`] is what the handlers use.
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum LayerName {
    /// 宗地.
    Parcels,
    /// 自然幢.
    Buildings,
    /// 地籍子区.
    Subdistricts,
}

fn parse_layer(name: &str) -> Result<TileLayer, AppError> {
    TileLayer::parse(name)
        .ok_or_else(|| AppError::NotFound(format!("layer {name:?} (layers: parcels, buildings, subdistricts)")))
}

/// Parses one tile number; `y` may end in `.mvt`.
fn parse_number(what: &str, text: &str) -> Result<u32, AppError> {
    text.parse::<u32>()
        .map_err(|_| AppError::BadRequest(format!("tile {what} must be a non-negative integer, got {text:?}")))
}

/// Parses `z`, `x` and `y[.mvt]` into a checked tile address.
pub fn parse_tile(z: &str, x: &str, y: &str) -> Result<TileCoord, AppError> {
    let y = y.strip_suffix(".mvt").unwrap_or(y);
    TileCoord::new(parse_number("z", z)?, parse_number("x", x)?, parse_number("y", y)?)
}

/// A vector tile of the current parcels, buildings or sub-districts of the
/// caller's counties, in Web Mercator (EPSG:3857); 204 when the tile is empty.
#[utoipa::path(get, path = "/api/tiles/{layer}/{z}/{x}/{y}",
    params(
        ("layer" = LayerName, Path, description = "parcels, buildings or subdistricts"),
        ("z" = u32, Path, description = "zoom, 0..=22", maximum = 22),
        ("x" = u32, Path, description = "column, 0..2^z"),
        ("y" = String, Path, description = "row, 0..2^z, optionally with the suffix .mvt", pattern = r"^\d+(\.mvt)?$"),
    ),
    responses(
        (status = 200, description = "Mapbox Vector Tile; attributes ZDDM/ZRZH/DJZQDM, ZL, ZDMJ, YT", content_type = "application/vnd.mapbox-vector-tile", body = Vec<u8>),
        (status = 204, description = "no feature in this tile"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn tile(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath((layer, z, x, y)): AppPath<(String, String, String, String)>,
) -> Result<Response, AppError> {
    who.require(Action::ReadSpatial)?;
    let layer = parse_layer(&layer)?;
    let coord = parse_tile(&z, &x, &y)?;
    let bytes = tiles::tile(&state.db, layer, coord, &who.counties).await?;
    if bytes.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(MVT_MEDIA_TYPE))], bytes).into_response())
}

/// `GET /api/map/{layer}` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// County (6 digits) in the caller's scope.
    #[param(pattern = r"^\d{6}$")]
    pub county: String,
}

/// A county's current features of one layer as a GeoJSON FeatureCollection in
/// the store SRID (at most 20,000; `truncated` says when there are more).
#[utoipa::path(get, path = "/api/map/{layer}",
    params(("layer" = LayerName, Path, description = "parcels, buildings or subdistricts"), MapQuery),
    responses(
        (status = 200, description = "GeoJSON FeatureCollection plus srid, total, truncated", body = Object),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn features(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    AppPath(layer): AppPath<String>,
    AppQuery(q): AppQuery<MapQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    who.require(Action::ReadSpatial)?;
    let layer = parse_layer(&layer)?;
    if q.county.len() != 6 || !q.county.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::BadRequest("county must be 6 digits".into()));
    }
    who.require_county(&q.county)?;
    Ok(Json(tiles::features(&state.db, layer, &q.county).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_tile_address_in_range_parses_with_or_without_suffix(z in 0u32..=22, fx in 0.0f64..1.0, fy in 0.0f64..1.0) {
            let n = f64::from(1u32 << z);
            let (x, y) = ((fx * n) as u32, (fy * n) as u32);
            let want = TileCoord::new(z, x, y).ok();
            prop_assert!(want.is_some());
            prop_assert_eq!(parse_tile(&z.to_string(), &x.to_string(), &format!("{y}.mvt")).ok(), want);
            prop_assert_eq!(parse_tile(&z.to_string(), &x.to_string(), &y.to_string()).ok(), want);
        }

        #[test]
        fn out_of_range_addresses_are_400(z in 0u32..=30, over in 0u32..1000, text in "[^0-9]{1,4}") {
            let n = 1u32 << z;
            let bad_x = parse_tile(&z.to_string(), &n.saturating_add(over).to_string(), "0");
            prop_assert!(matches!(bad_x, Err(AppError::BadRequest(_))));
            let junk = parse_tile(&z.to_string(), &text, "0");
            prop_assert!(matches!(junk, Err(AppError::BadRequest(_))));
        }
    }

    #[test]
    fn tile_paths() {
        assert_eq!(parse_tile("15", "27400", "13300.mvt").ok(), TileCoord::new(15, 27400, 13300).ok());
        assert_eq!(parse_tile("0", "0", "0").ok(), TileCoord::new(0, 0, 0).ok());
        for (z, x, y) in [("-1", "0", "0"), ("a", "0", "0"), ("1", "2", "0"), ("1", "0", "0.png"), ("99", "0", "0")] {
            let e = parse_tile(z, x, y);
            assert!(matches!(e, Err(AppError::BadRequest(_))), "{z}/{x}/{y}: {e:?}");
        }
    }
}
