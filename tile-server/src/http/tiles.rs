//! Map data for internal users: vector tiles (`/tiles/{layer}/{z}/{x}/{y}.mvt`,
//! also at the older `/api/tiles/...`), their TileJSON (`/tiles/{layer}.json`),
//! the console's style (`/tiles/style.json`), the change events that tell
//! consoles which tiles to re-fetch (`/tiles/events`), and a county's features
//! as GeoJSON (`/api/map/...`). All carry coordinates, so the registration
//! system's clients are refused (403).
//!
//! Tiles come from the [`crate::tile_cache`], gzip-compressed when the client
//! accepts it (compressed once per cached tile), with a weak ETag of the MVT
//! bytes and `Cache-Control: private, no-cache`: browsers keep tiles and
//! revalidate them with `If-None-Match` (304, no body).

use std::borrow::Cow;
use std::convert::Infallible;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};
use utoipa::IntoParams;

use crate::auth::{Action, AuthShared, AuthUser, Principal};
use crate::db::tiles::{self, TileCoord, TileLayer, MAX_ZOOM};
use crate::error::{AppError, ErrorBody};
use crate::http::buildings::accepts_gzip;
use crate::http::map_style;
use crate::http::{AppPath, AppQuery};
use crate::state::AppState;
use unit_code::CountyCode;

/// Media type of a Mapbox Vector Tile.
pub const MVT_MEDIA_TYPE: &str = "application/vnd.mapbox-vector-tile";

/// The layer names of the URLs, for the OpenAPI document (so generated
/// requests name real layers); [`TileLayer::parse`] is what the handlers use.
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum LayerName {
    /// 地籍子区.
    Subdistricts,
    /// 宗地.
    Parcels,
    /// 自然幢.
    Buildings,
    /// 界址点.
    Points,
}

fn parse_layer(name: &str) -> Result<TileLayer, AppError> {
    TileLayer::parse(name)
        .ok_or_else(|| AppError::NotFound(format!("layer {name:?} (layers: subdistricts, parcels, buildings, points)")))
}

/// Parses one tile number; `y` may end in `.mvt`.
fn parse_number(what: &str, text: &str) -> Result<u32, AppError> {
    text.parse::<u32>()
        .map_err(|_| AppError::BadRequest(format!("tile {what} must be a non-negative integer, got {text:?}")))
}

/// Parses `z`, `x` and `y[.mvt]` into a checked tile address.
pub fn parse_tile(z: &str, x: &str, y: &str) -> Result<TileCoord, AppError> {
    let y = y.strip_suffix(".mvt").unwrap_or(y);
    Ok(TileCoord::new(parse_number("z", z)?, parse_number("x", x)?, parse_number("y", y)?)?)
}

/// The caller's counties, sorted and without repeats: the tile's scope and the
/// cache key's. Borrowed when they already are (the usual case: no copy per tile).
///
/// ```
/// use std::borrow::Cow;
/// use tile_server::auth::{Principal, PrincipalKind, Role};
/// use tile_server::http::tiles::scope_of;
/// let mut who = Principal {
///     kind: PrincipalKind::User { user_id: 1, username: "a".into() },
///     role: Role::Surveyor,
///     counties: vec!["330102".into(), "330103".into()],
///     home_county: "330102".into(),
///     rate_limit_per_minute: None,
///     allowed_ips: vec![],
/// };
/// assert!(matches!(scope_of(&who), Cow::Borrowed(_)));
/// who.counties = vec!["330103".into(), "330102".into(), "330103".into()];
/// assert_eq!(&*scope_of(&who), ["330102", "330103"]);
/// ```
pub fn scope_of(who: &Principal) -> Cow<'_, [String]> {
    if who.counties.windows(2).all(|w| w[0] < w[1]) {
        return Cow::Borrowed(&who.counties);
    }
    let mut counties = who.counties.clone();
    counties.sort_unstable();
    counties.dedup();
    Cow::Owned(counties)
}

/// Whether the request accepts gzip, read without copying the request's headers.
#[derive(Debug, Clone, Copy)]
pub struct AcceptsGzip(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for AcceptsGzip {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(AcceptsGzip(accepts_gzip(&parts.headers)))
    }
}

/// A vector tile of the current features of one layer in the caller's counties,
/// in Web Mercator (EPSG:3857); 204 when the tile is empty. Sub-districts at
/// every zoom, parcels from z14, buildings from z15, boundary points from z18;
/// simplified below z17.
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}",
    params(
        ("layer" = LayerName, Path, description = "subdistricts, parcels, buildings or points"),
        ("z" = u32, Path, description = "zoom, 0..=22", maximum = 22),
        ("x" = u32, Path, description = "column, 0..2^z"),
        ("y" = String, Path, description = "row, 0..2^z, optionally with the suffix .mvt", pattern = r"^\d+(\.mvt)?$"),
    ),
    responses(
        (status = 200, description = "Mapbox Vector Tile (gzip when accepted); attributes: see the layer's TileJSON", content_type = "application/vnd.mapbox-vector-tile", body = Vec<u8>),
        (status = 204, description = "no feature in this tile"),
        (status = 304, description = "If-None-Match matched"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn tile(
    State(state): State<AppState>,
    AuthShared(who): AuthShared,
    AcceptsGzip(gzip): AcceptsGzip,
    AppPath((layer, z, x, y)): AppPath<(String, String, String, String)>,
) -> Result<Response, AppError> {
    who.require(Action::ReadSpatial)?;
    let layer = parse_layer(&layer)?;
    let coord = parse_tile(&z, &x, &y)?;
    let counties = scope_of(&who);
    let db = &state.db;
    let (cached, _) = state
        .tiles
        .tile(layer, coord, &counties, || async { Ok(tiles::tile(db, layer, coord, &counties).await?) })
        .await?;
    if cached.body.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let content_type = (header::CONTENT_TYPE, HeaderValue::from_static(MVT_MEDIA_TYPE));
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    let etag = (header::ETAG, cached.etag.clone());
    if gzip {
        let encoding = (header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return Ok(([content_type, vary, etag, encoding], cached.gzip()).into_response());
    }
    Ok(([content_type, vary, etag], cached.body.clone()).into_response())
}

/// The same tile at its older address.
#[utoipa::path(get, path = "/api/tiles/{layer}/{z}/{x}/{y}",
    params(
        ("layer" = LayerName, Path, description = "subdistricts, parcels, buildings or points"),
        ("z" = u32, Path, description = "zoom, 0..=22", maximum = 22),
        ("x" = u32, Path, description = "column, 0..2^z"),
        ("y" = String, Path, description = "row, 0..2^z, optionally with the suffix .mvt", pattern = r"^\d+(\.mvt)?$"),
    ),
    responses(
        (status = 200, description = "as GET /tiles/{layer}/{z}/{x}/{y}", content_type = "application/vnd.mapbox-vector-tile", body = Vec<u8>),
        (status = 204, description = "no feature in this tile"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn api_tile(
    state: State<AppState>,
    who: AuthShared,
    gzip: AcceptsGzip,
    path: AppPath<(String, String, String, String)>,
) -> Result<Response, AppError> {
    tile(state, who, gzip, path).await
}

/// This server's origin as the client addressed it (`Host`, and the scheme a
/// proxy reports in `X-Forwarded-Proto`), for absolute tile URLs; empty (relative
/// URLs) when the Host header is missing or odd.
pub fn origin(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let host_ok = !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !host_ok {
        return String::new();
    }
    let scheme = match headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()) {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// The URL template of a layer's tiles.
pub fn tile_url(origin: &str, layer: TileLayer) -> String {
    format!("{origin}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", layer.name())
}

/// TileJSON 3.0 of one layer (`/tiles/parcels.json`): tile URL, zooms, fields
/// and the bounds of the caller's data.
#[utoipa::path(get, path = "/tiles/{name}",
    params(("name" = String, Path, description = "layer name + .json: subdistricts.json, parcels.json, buildings.json or points.json", pattern = r"^(subdistricts|parcels|buildings|points)\.json$")),
    responses(
        (status = 200, description = "TileJSON 3.0.0", body = Object),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn tilejson(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    headers: HeaderMap,
    AppPath(name): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    who.require(Action::ReadSpatial)?;
    let layer = name.strip_suffix(".json").and_then(TileLayer::parse).ok_or_else(|| {
        AppError::NotFound(format!(
            "{name:?} (try parcels.json, buildings.json, subdistricts.json, points.json or style.json)"
        ))
    })?;
    let bounds = tiles::bounds(&state.db, &scope_of(&who)).await?;
    Ok(Json(tilejson_of(layer, &origin(&headers), bounds)))
}

/// The TileJSON document of a layer.
pub fn tilejson_of(layer: TileLayer, origin: &str, bounds: Option<[f64; 4]>) -> Value {
    let fields: serde_json::Map<String, Value> =
        layer.fields().iter().map(|(k, v)| ((*k).to_owned(), Value::from(*v))).collect();
    let mut doc = json!({
        "tilejson": "3.0.0",
        "name": layer.title(),
        "scheme": "xyz",
        "tiles": [tile_url(origin, layer)],
        "minzoom": layer.min_zoom(),
        "maxzoom": MAX_ZOOM,
        "vector_layers": [{"id": layer.name(), "fields": fields, "minzoom": layer.min_zoom(), "maxzoom": MAX_ZOOM}],
    });
    if let (Some(b), Value::Object(m)) = (bounds, &mut doc) {
        m.insert("bounds".into(), json!(b));
    }
    doc
}

/// The console's MapLibre style: every layer on a plain background (no
/// basemap: the internal zone is offline), labels drawn from local fonts, and
/// in `metadata` the store CRS (for cursor coordinates) and the data's bounds.
#[utoipa::path(get, path = "/tiles/style.json",
    responses((status = 200, description = "MapLibre style", body = Object), (status = 403, body = ErrorBody)))]
pub async fn style(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    who.require(Action::ReadSpatial)?;
    let bounds = tiles::bounds(&state.db, &scope_of(&who)).await?;
    let (srid, proj4) = tiles::store_crs(&state.db).await?;
    Ok(Json(map_style::style(&origin(&headers), bounds, srid, &proj4)))
}

/// Server-sent events: one `tiles` event per applied change notice in the
/// caller's counties, `{"layer": "parcels", "boxes": [[x0, y0, x1, y1], ...]}`
/// (Web Mercator metres; `boxes: null` = refresh every tile of the layer), after
/// the server has dropped those tiles. A `ready` event opens the stream. Not in
/// the OpenAPI document: the stream never ends.
pub async fn events(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    who.require(Action::ReadSpatial)?;
    let counties = scope_of(&who).into_owned();
    let ready = tokio_stream::once(Ok(Event::default().event("ready").data("{}")));
    let notices = BroadcastStream::new(state.tiles.subscribe()).filter_map(move |msg| match msg {
        Ok(n) if n.concerns(&counties) => Some(Ok(tiles_event(&serde_json::to_string(&n.event()).unwrap_or_default()))),
        Ok(_) => None,
        // This client fell behind: it refreshes everything.
        Err(BroadcastStreamRecvError::Lagged(_)) => Some(Ok(tiles_event(r#"{"layer":null,"boxes":null}"#))),
    });
    Ok(Sse::new(ready.chain(notices)).keep_alive(KeepAlive::default()))
}

fn tiles_event(data: &str) -> Event {
    Event::default().event("tiles").data(data)
}

/// `GET /api/map/{layer}` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// County (6 digits) in the caller's scope; anything else is refused with 400.
    #[param(value_type = String, pattern = r"^\d{6}$")]
    pub county: CountyCode,
}

/// A county's current features of one layer as a GeoJSON FeatureCollection in
/// the store SRID (at most 20,000; `truncated` says when there are more).
#[utoipa::path(get, path = "/api/map/{layer}",
    params(("layer" = LayerName, Path, description = "subdistricts, parcels, buildings or points"), MapQuery),
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
    who.require_county(q.county.as_str())?;
    Ok(Json(tiles::features(&state.db, layer, q.county.as_str()).await?))
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
