//! Mapbox Vector Tiles of the current cadastral layers, cut by PostGIS
//! (`ST_TileEnvelope` → `ST_AsMVTGeom` → `ST_AsMVT`) in Web Mercator (EPSG:3857).
//!
//! Geometry is stored in the store SRID (a Gauss-Krüger zone), so each tile runs
//! two queries: the tile envelope is first transformed into the store SRID (for
//! the GiST index), then the rows inside it are transformed to 3857 and clipped.
//! Only current versions of the caller's counties are read, and the attributes
//! are codes, address, area and use: never owner data.
//!
//! ```
//! use tile_server::db::tiles::{TileCoord, TileLayer};
//! assert_eq!(TileLayer::parse("parcels"), Some(TileLayer::Parcels));
//! assert!(TileCoord::new(3, 7, 7).is_ok());
//! assert!(TileCoord::new(3, 8, 0).is_err()); // x must be < 2^z
//! ```

use sqlx::PgPool;

use crate::error::{AppError, Result};

/// Highest zoom served (0.6 m tiles; parcels are surveyed to the centimetre,
/// but deeper tiles only repeat what z=22 shows).
pub const MAX_ZOOM: u8 = 22;
/// Tile extent in MVT units (the usual 4096).
pub const EXTENT: i32 = 4096;
/// Buffer around the tile in MVT units, so strokes do not break at tile edges.
pub const BUFFER: i32 = 64;
/// Lowest zoom whose tiles are pre-filtered through the spatial index (see
/// [`filter_envelope`]); a z=5 tile is about 1,250 km wide.
pub const MIN_PREFILTER_ZOOM: u8 = 5;
/// Half the Web Mercator world width in metres.
const MERCATOR_HALF_WORLD: f64 = 20_037_508.342_789_244;

/// The layers a tile can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileLayer {
    /// 宗地 ZDJBXX: ZDDM, ZL, ZDMJ, YT.
    Parcels,
    /// 自然幢 ZRZ footprints: ZRZH, ZDDM, ZL, JZWMC.
    Buildings,
    /// 地籍子区 DJZQ: DJZQDM, DJZQMC.
    SubDistricts,
}

impl TileLayer {
    /// All layers, in drawing order.
    pub const ALL: [TileLayer; 3] = [TileLayer::SubDistricts, TileLayer::Parcels, TileLayer::Buildings];

    /// Parses the URL name (`parcels`, `buildings`, `subdistricts`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "parcels" => Some(Self::Parcels),
            "buildings" => Some(Self::Buildings),
            "subdistricts" => Some(Self::SubDistricts),
            _ => None,
        }
    }

    /// The URL name, also the MVT layer name inside the tile.
    pub fn name(self) -> &'static str {
        match self {
            Self::Parcels => "parcels",
            Self::Buildings => "buildings",
            Self::SubDistricts => "subdistricts",
        }
    }

    /// Table and attribute columns (quoted: MVT keys keep the standard's upper-case names).
    fn select(self) -> (&'static str, &'static str) {
        match self {
            Self::Parcels => ("parcels", r#"zddm::text AS "ZDDM", zl AS "ZL", zdmj::float8 AS "ZDMJ", yt AS "YT""#),
            Self::Buildings => {
                ("buildings", r#"zrzh::text AS "ZRZH", zddm::text AS "ZDDM", zl AS "ZL", jzwmc AS "JZWMC""#)
            }
            Self::SubDistricts => ("sub_districts", r#"djzqdm::text AS "DJZQDM", djzqmc AS "DJZQMC""#),
        }
    }

    /// The tile query: $1..$3 = z/x/y, $4 = counties, $5 = filter envelope in the
    /// store SRID (NULL = no spatial pre-filter, see [`filter_envelope`]).
    fn sql(self) -> String {
        let (table, columns) = self.select();
        let name = self.name();
        format!(
            "SELECT ST_AsMVT(t, '{name}', {EXTENT}, 'geom') FROM (
                 SELECT {columns},
                        ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3), {EXTENT}, {BUFFER}, true) AS geom
                 FROM {table}
                 WHERE county = ANY($4::char(6)[]) AND state = 'current' AND geom IS NOT NULL
                   AND ($5::geometry IS NULL OR geom && $5::geometry)
             ) t WHERE geom IS NOT NULL"
        )
    }
}

/// A validated tile address (XYZ scheme, y down from the north, as web maps use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileCoord {
    /// Zoom, 0..=[`MAX_ZOOM`].
    pub z: u8,
    /// Column, 0..2^z.
    pub x: u32,
    /// Row, 0..2^z.
    pub y: u32,
}

impl TileCoord {
    /// Checks the ranges; the message says which number is out of range.
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self> {
        if z > u32::from(MAX_ZOOM) {
            return Err(AppError::BadRequest(format!("zoom {z} is above the maximum {MAX_ZOOM}")));
        }
        let n = 1u32 << z;
        if x >= n || y >= n {
            return Err(AppError::BadRequest(format!("tile {z}/{x}/{y}: x and y must be below 2^{z} = {n}")));
        }
        Ok(Self { z: z as u8, x, y })
    }

    /// Width of the tile in Web Mercator metres.
    pub fn width_m(self) -> f64 {
        2.0 * MERCATOR_HALF_WORLD / f64::from(1u32 << self.z)
    }
}

/// The tile envelope (plus a 5 % margin) in the store SRID, or `None` when it
/// cannot be expressed there.
///
/// A Gauss-Krüger zone is only defined near its central meridian: tiles of the
/// whole world (low zooms) or of another continent make PROJ fail or return
/// boxes that do not map back. Then the tile query runs without the spatial
/// pre-filter (county and state still apply, and `ST_AsMVTGeom` clips), which is
/// correct, only slower. Below [`MIN_PREFILTER_ZOOM`] there is no pre-filter at
/// all: such a tile spans tens of degrees, where a transformed box can come out
/// finite but wrong. From that zoom on, a tile holding data near the zone spans
/// at most ~11°, where the projection is well-behaved. The envelope is densified
/// before transforming because straight 3857 edges become curves in the zone.
pub async fn filter_envelope(pool: &PgPool, tile: TileCoord) -> Result<Option<Vec<u8>>> {
    if tile.z < MIN_PREFILTER_ZOOM {
        return Ok(None);
    }
    let row: std::result::Result<Option<Vec<u8>>, sqlx::Error> = sqlx::query_scalar(
        "WITH t AS (SELECT ST_TileEnvelope($1, $2, $3, margin => 0.05) AS env),
              s AS (SELECT env, ST_Envelope(ST_Transform(ST_Segmentize(env, $4), (SELECT srid FROM store_settings))) AS local FROM t)
         SELECT CASE WHEN ST_Intersects(ST_Transform(ST_Centroid(local), 3857), env)
                     THEN ST_AsEWKB(local) END
         FROM s",
    )
    .bind(i32::from(tile.z))
    .bind(tile.x as i32)
    .bind(tile.y as i32)
    .bind(tile.width_m() / 16.0)
    .fetch_one(pool)
    .await;
    match row {
        Ok(env) => Ok(env),
        // PROJ refused the transformation: outside the zone, no pre-filter.
        Err(sqlx::Error::Database(_)) => Ok(None),
        Err(e) => Err(AppError::Db(e, "transforming tile envelope")),
    }
}

/// The MVT bytes of one layer's tile over `counties`; empty when no feature
/// falls in the tile.
pub async fn tile(pool: &PgPool, layer: TileLayer, tile: TileCoord, counties: &[String]) -> Result<Vec<u8>> {
    let envelope = filter_envelope(pool, tile).await?;
    let bytes: Option<Vec<u8>> = sqlx::query_scalar(&layer.sql())
        .bind(i32::from(tile.z))
        .bind(tile.x as i32)
        .bind(tile.y as i32)
        .bind(counties)
        .bind(envelope)
        .fetch_one(pool)
        .await
        .map_err(AppError::db("building vector tile"))?;
    Ok(bytes.unwrap_or_default())
}

/// Most features [`features`] returns in one answer (the console's map is an
/// overview; a bigger county is drawn partly and says so).
pub const MAX_FEATURES: i64 = 20_000;

/// A layer's current features of one county as a GeoJSON FeatureCollection in
/// the store SRID (centimetre precision), with the same attributes as the tiles;
/// `truncated` says whether [`MAX_FEATURES`] cut it short.
pub async fn features(pool: &PgPool, layer: TileLayer, county: &str) -> Result<serde_json::Value> {
    let (table, columns) = layer.select();
    let key = match layer {
        TileLayer::Parcels => "zddm",
        TileLayer::Buildings => "zrzh",
        TileLayer::SubDistricts => "djzqdm",
    };
    let (collection, total): (serde_json::Value, i64) = sqlx::query_as(&format!(
        "SELECT json_build_object(
                    'type', 'FeatureCollection',
                    'srid', (SELECT srid FROM store_settings),
                    'features', coalesce(json_agg(json_build_object(
                        'type', 'Feature',
                        'geometry', ST_AsGeoJSON(f.geom, 2)::json,
                        'properties', to_jsonb(f) - 'geom')), '[]'::json))::jsonb,
                (SELECT count(*) FROM {table} WHERE county = $1 AND state = 'current' AND geom IS NOT NULL)
         FROM (SELECT {columns}, geom FROM {table}
               WHERE county = $1 AND state = 'current' AND geom IS NOT NULL
               ORDER BY {key} LIMIT $2) f"
    ))
    .bind(county)
    .bind(MAX_FEATURES)
    .fetch_one(pool)
    .await
    .map_err(AppError::db("loading map features"))?;
    let mut collection = collection;
    if let serde_json::Value::Object(m) = &mut collection {
        m.insert("truncated".into(), serde_json::Value::Bool(total > MAX_FEATURES));
        m.insert("total".into(), serde_json::Value::from(total));
    }
    Ok(collection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_roundtrip() {
        for l in TileLayer::ALL {
            assert_eq!(TileLayer::parse(l.name()), Some(l));
        }
        assert_eq!(TileLayer::parse("Parcels"), None);
        assert_eq!(TileLayer::parse("households"), None);
    }

    #[test]
    fn tile_ranges() {
        assert!(TileCoord::new(0, 0, 0).is_ok());
        assert!(TileCoord::new(0, 1, 0).is_err());
        assert!(TileCoord::new(22, (1 << 22) - 1, 0).is_ok());
        assert!(TileCoord::new(23, 0, 0).is_err());
        assert!(TileCoord::new(40, 0, 0).is_err()); // no shift overflow
    }

    #[test]
    fn width_halves_per_zoom() {
        let w0 = TileCoord { z: 0, x: 0, y: 0 }.width_m();
        let w1 = TileCoord { z: 1, x: 0, y: 0 }.width_m();
        assert!((w0 - 40_075_016.685_578_49).abs() < 1e-6);
        assert!((w0 / w1 - 2.0).abs() < 1e-12);
    }

    #[test]
    fn queries_never_select_owner_columns() {
        for l in TileLayer::ALL {
            let sql = l.sql();
            assert!(!sql.contains("qlr") && !sql.contains("zjh"), "{sql}");
            assert!(sql.contains("state = 'current'") && sql.contains("county = ANY"), "{sql}");
        }
    }
}
