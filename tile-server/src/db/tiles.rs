//! Mapbox Vector Tiles of the current cadastral layers, cut by PostGIS
//! (`ST_TileEnvelope` → `ST_AsMVTGeom` → `ST_AsMVT`) in Web Mercator (EPSG:3857).
//!
//! Geometry is stored in the store SRID (a Gauss-Krüger zone) and, for the tiles,
//! in a generated Web Mercator copy `geom_3857` (migration 0021) with a partial
//! GiST index over current versions: one query per tile, no transformation per
//! feature. Only current versions of the caller's counties are read, and the
//! attributes are codes, use, area, right type and status: never owner data.
//!
//! Content depends on the zoom ([`TileLayer::min_zoom`]): below z14 only
//! sub-districts, parcels from z14, buildings from z15, boundary points (界址点)
//! with their numbers from z18. Below [`SIMPLIFY_BELOW`] geometry is simplified to
//! one tile unit; survey zooms show every vertex.
//!
//! ```
//! use tile_server::db::tiles::{TileCoord, TileLayer};
//! assert_eq!(TileLayer::parse("parcels"), Some(TileLayer::Parcels));
//! assert!(TileCoord::new(3, 7, 7).is_ok());
//! assert!(TileCoord::new(3, 8, 0).is_err()); // x must be < 2^z
//! assert_eq!(TileLayer::BoundaryPoints.min_zoom(), 18);
//! ```

use sqlx::PgPool;

use crate::db::error::{Result, StoreError};

/// Highest zoom served (0.6 m tiles; parcels are surveyed to the centimetre,
/// but deeper tiles only repeat what z=22 shows).
pub const MAX_ZOOM: u8 = 22;
/// Tile extent in MVT units (the usual 4096).
pub const EXTENT: i32 = 4096;
/// Buffer around the tile in MVT units, so strokes do not break at tile edges.
pub const BUFFER: i32 = 64;
/// Zooms below this one are simplified (tolerance one tile unit); from it on
/// (the survey zooms) every vertex is kept.
pub const SIMPLIFY_BELOW: u8 = 17;
/// Half the Web Mercator world width in metres.
pub const MERCATOR_HALF_WORLD: f64 = 20_037_508.342_789_244;

/// TileJSON description of the status attribute `ZT` of parcels and buildings
/// (migration 0061).
pub const STATUS_FIELD: &str =
    "状态 status: current 现势, or review 审核中 (a submission awaiting review would change or remove it)";

/// The layers a tile can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileLayer {
    /// 地籍子区 DJZQ: DJZQDM, DJZQMC.
    SubDistricts,
    /// 宗地 ZDJBXX: ZDDM, YT, ZDMJ, QLLX, ZT.
    Parcels,
    /// 自然幢 ZRZ footprints: ZRZH, ZDDM, JZWMC, FWJG, DSCS, GHYT, SCJZMJ, YCJZMJ, ZT.
    Buildings,
    /// 界址点 JZD: JZDH, ZDDM, JBLX.
    BoundaryPoints,
}

impl TileLayer {
    /// All layers, in drawing order.
    pub const ALL: [TileLayer; 4] =
        [TileLayer::SubDistricts, TileLayer::Parcels, TileLayer::Buildings, TileLayer::BoundaryPoints];

    /// Parses the URL name (`subdistricts`, `parcels`, `buildings`, `points`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The URL name, also the MVT layer name inside the tile and the name in
    /// change notifications (migration 0020).
    pub fn name(self) -> &'static str {
        match self {
            Self::SubDistricts => "subdistricts",
            Self::Parcels => "parcels",
            Self::Buildings => "buildings",
            Self::BoundaryPoints => "points",
        }
    }

    /// Position in [`TileLayer::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Lowest zoom with content; tiles below it are empty without a query.
    pub fn min_zoom(self) -> u8 {
        match self {
            Self::SubDistricts => 0,
            Self::Parcels => 14,
            Self::Buildings => 15,
            Self::BoundaryPoints => 18,
        }
    }

    /// Human name for TileJSON and the console (Chinese, English).
    pub fn title(self) -> &'static str {
        match self {
            Self::SubDistricts => "地籍子区 Cadastral sub-districts",
            Self::Parcels => "宗地 Parcels",
            Self::Buildings => "自然幢 Buildings",
            Self::BoundaryPoints => "界址点 Boundary points",
        }
    }

    /// Table, attribute columns (quoted: MVT keys keep the standard's upper-case
    /// names) and the fields with their types for TileJSON.
    fn select(self) -> (&'static str, &'static str) {
        match self {
            Self::Parcels => (
                "parcels",
                concat!(
                    r#"zddm::text AS "ZDDM", yt AS "YT", zdmj::float8 AS "ZDMJ", qllx AS "QLLX", "#,
                    r#"CASE WHEN (county, zddm::text) IN (SELECT county, code FROM features_under_review WHERE layer = 'parcels')"#,
                    r#" THEN 'review' ELSE 'current' END AS "ZT""#
                ),
            ),
            Self::Buildings => (
                "buildings",
                concat!(
                    r#"zrzh::text AS "ZRZH", zddm::text AS "ZDDM", jzwmc AS "JZWMC", fwjg AS "FWJG", dscs AS "DSCS", "#,
                    r#"ghyt AS "GHYT", scjzmj::float8 AS "SCJZMJ", ycjzmj::float8 AS "YCJZMJ", "#,
                    r#"CASE WHEN (county, zrzh::text) IN (SELECT county, code FROM features_under_review WHERE layer = 'buildings')"#,
                    r#" THEN 'review' ELSE 'current' END AS "ZT""#
                ),
            ),
            Self::SubDistricts => ("sub_districts", r#"djzqdm::text AS "DJZQDM", djzqmc AS "DJZQMC""#),
            Self::BoundaryPoints => ("boundary_points", r#"jzdh AS "JZDH", zddm::text AS "ZDDM", jblx AS "JBLX""#),
        }
    }

    /// The attribute names and their TileJSON descriptions. A NULL attribute is
    /// left out of its feature (MVT has no null).
    pub fn fields(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Parcels => &[
                ("ZDDM", "宗地代码 parcel code"),
                ("YT", "用途 land use (GB/T 21010)"),
                ("ZDMJ", "宗地面积 area, m²"),
                ("QLLX", "权利类型 right type"),
                ("ZT", STATUS_FIELD),
            ],
            Self::Buildings => &[
                ("ZRZH", "自然幢号 building number"),
                ("ZDDM", "宗地代码 parcel code"),
                ("JZWMC", "建筑物名称 name"),
                ("FWJG", "房屋结构 structure"),
                ("DSCS", "地上层数 floors above ground"),
                ("GHYT", "规划用途 planned use"),
                ("SCJZMJ", "实测建筑面积 measured floor area, m²"),
                ("YCJZMJ", "预测建筑面积 predicted floor area, m²"),
                ("ZT", STATUS_FIELD),
            ],
            Self::SubDistricts => &[("DJZQDM", "地籍子区代码 sub-district code"), ("DJZQMC", "地籍子区名称 name")],
            Self::BoundaryPoints => {
                &[("JZDH", "界址点号 point number"), ("ZDDM", "宗地代码 parcel code"), ("JBLX", "界标类型 marker type")]
            }
        }
    }

    /// The tile query: $1..$3 = z/x/y, $4 = counties, $5 = simplification
    /// tolerance in Web Mercator metres (0 = none).
    ///
    /// No `WHERE geom IS NOT NULL` around it: ST_AsMVT skips rows whose geometry
    /// ST_AsMVTGeom clipped away, and PostgreSQL would flatten such a filter into
    /// the scan and compute ST_AsMVTGeom twice per feature (a third of the
    /// query's execution time on the benchmark's tiles, BENCHMARKS.md).
    fn sql(self) -> String {
        let (table, columns) = self.select();
        let name = self.name();
        format!(
            "SELECT ST_AsMVT(t, '{name}', {EXTENT}, 'geom') FROM (
                 SELECT {columns},
                        ST_AsMVTGeom(CASE WHEN $5 > 0 THEN ST_Simplify(geom_3857, $5, true) ELSE geom_3857 END,
                                     ST_TileEnvelope($1, $2, $3), {EXTENT}, {BUFFER}, true) AS geom
                 FROM {table}
                 WHERE geom_3857 && ST_TileEnvelope($1, $2, $3, margin => {margin})
                   AND state = 'current' AND county = ANY($4::char(6)[])
             ) t",
            margin = f64::from(BUFFER) / f64::from(EXTENT)
        )
    }
}

/// A validated tile address (XYZ scheme, y down from the north, as web maps use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileCoord {
    /// Zoom, 0..=[`MAX_ZOOM`].
    pub z: u8,
    /// Column, 0..2^z.
    pub x: u32,
    /// Row, 0..2^z.
    pub y: u32,
}

/// A tile address out of range (HTTP 400 at the edge); the text says which number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadTile(String);

impl TileCoord {
    /// Checks the ranges; the message says which number is out of range.
    pub fn new(z: u32, x: u32, y: u32) -> std::result::Result<Self, BadTile> {
        if z > u32::from(MAX_ZOOM) {
            return Err(BadTile(format!("zoom {z} is above the maximum {MAX_ZOOM}")));
        }
        let n = 1u32 << z;
        if x >= n || y >= n {
            return Err(BadTile(format!("tile {z}/{x}/{y}: x and y must be below 2^{z} = {n}")));
        }
        Ok(Self { z: z as u8, x, y })
    }

    /// Width of the tile in Web Mercator metres.
    pub fn width_m(self) -> f64 {
        2.0 * MERCATOR_HALF_WORLD / f64::from(1u32 << self.z)
    }

    /// The tile's extent in Web Mercator metres, `[x0, y0, x1, y1]`, grown by
    /// [`BUFFER`] (what the tile's features may reach into).
    pub fn buffered_bounds(self) -> [f64; 4] {
        let w = self.width_m();
        let b = w * f64::from(BUFFER) / f64::from(EXTENT);
        let x0 = -MERCATOR_HALF_WORLD + f64::from(self.x) * w;
        let y1 = MERCATOR_HALF_WORLD - f64::from(self.y) * w;
        [x0 - b, y1 - w - b, x0 + w + b, y1 + b]
    }
}

/// How a tile query's transaction starts (one round trip). A generic plan: at the
/// survey zooms PostgreSQL spends as long planning the query over the county
/// partitions as running it, and the generic plan (runtime partition pruning, the
/// tile index) is as good. No parallel workers: many tiles render at once, and
/// workers only add start-up cost to the z14 tiles. Measured in BENCHMARKS.md.
const TILE_TRANSACTION: &str = "BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan; \
                                SET LOCAL max_parallel_workers_per_gather = 0";

/// The MVT bytes of one layer's tile over `counties`; empty when no feature
/// falls in the tile (always below the layer's [`TileLayer::min_zoom`]).
pub async fn tile(pool: &PgPool, layer: TileLayer, tile: TileCoord, counties: &[String]) -> Result<Vec<u8>> {
    if tile.z < layer.min_zoom() || counties.is_empty() {
        return Ok(Vec::new());
    }
    let tolerance = if tile.z < SIMPLIFY_BELOW { tile.width_m() / f64::from(EXTENT) } else { 0.0 };
    let mut tx = pool.begin_with(TILE_TRANSACTION).await.map_err(StoreError::db("building vector tile"))?;
    let bytes: Option<Vec<u8>> = sqlx::query_scalar(&layer.sql())
        .bind(i32::from(tile.z))
        .bind(tile.x as i32)
        .bind(tile.y as i32)
        .bind(counties)
        .bind(tolerance)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::db("building vector tile"))?;
    tx.commit().await.map_err(StoreError::db("building vector tile"))?;
    Ok(bytes.unwrap_or_default())
}

/// The lon/lat box `[west, south, east, north]` of the current sub-districts of
/// `counties` (few rows), else of up to 10,000 of their parcels; `None` when
/// they hold neither.
pub async fn bounds(pool: &PgPool, counties: &[String]) -> Result<Option<[f64; 4]>> {
    let row: Option<(f64, f64, f64, f64)> = sqlx::query_as(
        "WITH b AS (
             SELECT coalesce(
                 (SELECT ST_Extent(geom_3857) FROM sub_districts WHERE state = 'current' AND county = ANY($1::char(6)[])),
                 (SELECT ST_Extent(geom_3857) FROM (SELECT geom_3857 FROM parcels
                      WHERE state = 'current' AND county = ANY($1::char(6)[]) AND geom_3857 IS NOT NULL LIMIT 10000) p)) AS box),
              g AS (SELECT ST_Transform(ST_SetSRID(box::geometry, 3857), 4326) AS geom FROM b WHERE box IS NOT NULL)
         SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM g",
    )
    .bind(counties)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("reading the map's bounds"))?;
    Ok(row.map(|(w, s, e, n)| [w, s, e, n]))
}

/// The store SRID and its PROJ.4 definition (what the console needs to show
/// Gauss-Krüger coordinates under the cursor).
pub async fn store_crs(pool: &PgPool) -> Result<(i32, String)> {
    sqlx::query_as(
        "SELECT s.srid, coalesce(r.proj4text, '') FROM store_settings s LEFT JOIN spatial_ref_sys r ON r.srid = s.srid",
    )
    .fetch_one(pool)
    .await
    .map_err(StoreError::db("reading the store CRS"))
}

/// Where the change log (migration 0060) stands, read once a listener listens:
/// what the disk tile cache records to find, later, the changes it missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPosition {
    /// This store's identity (`tile_store`).
    pub store: String,
    /// `pg_current_snapshot()` as text (`xmin:xmax:xip,...`).
    pub snapshot: String,
    /// The database clock, seconds since 1970.
    pub now: i64,
    /// A fresh random token, to recognise a checkpoint's own mark notice.
    pub token: String,
}

/// The store's identity, a snapshot and the clock.
pub async fn log_position(pool: &PgPool) -> Result<LogPosition> {
    let (store, snapshot, now, token): (String, String, i64, String) = sqlx::query_as(
        "SELECT (SELECT id::text FROM tile_store), pg_current_snapshot()::text, extract(epoch FROM now())::bigint,
                gen_random_uuid()::text",
    )
    .fetch_one(pool)
    .await
    .map_err(StoreError::db("reading the tile change log position"))?;
    Ok(LogPosition { store, snapshot, now, token })
}

/// Sends `payload` on the tile channel by itself (a checkpoint's mark: it commits
/// after every change the caller's snapshot sees, and notifications arrive in
/// commit order).
pub async fn notify_tiles(pool: &PgPool, payload: &str) -> Result<()> {
    sqlx::query("SELECT pg_notify('cadastre_tiles', $1)")
        .bind(payload)
        .execute(pool)
        .await
        .map_err(StoreError::db("sending a tile cache mark"))?;
    Ok(())
}

/// The change notices (payloads, oldest first) whose transaction `snapshot`
/// (from [`log_position`]) does not see: committed after it was taken. At most
/// `limit`; `None` when the snapshot is ahead of the store (a database restored
/// from an older backup), so nothing can be said.
pub async fn changes_since(pool: &PgPool, snapshot: &str, limit: i64) -> Result<Option<Vec<String>>> {
    let mut tx = pool.begin().await.map_err(StoreError::db("reading the tile change log"))?;
    let ahead: bool =
        sqlx::query_scalar("SELECT pg_snapshot_xmax($1::pg_snapshot) > pg_snapshot_xmax(pg_current_snapshot())")
            .bind(snapshot)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::db("reading the tile change log"))?;
    if ahead {
        return Ok(None);
    }
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM tile_changes
         WHERE xid >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)
         ORDER BY id LIMIT $2",
    )
    .bind(snapshot)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await
    .map_err(StoreError::db("reading the tile change log"))?;
    tx.commit().await.map_err(StoreError::db("reading the tile change log"))?;
    Ok(Some(payloads))
}

/// Drops change-log entries past their retention (7 days); returns how many.
pub async fn prune_changes(pool: &PgPool) -> Result<i64> {
    sqlx::query_scalar("SELECT tile_changes_prune()")
        .fetch_one(pool)
        .await
        .map_err(StoreError::db("pruning the tile change log"))
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
        TileLayer::BoundaryPoints => "zddm, jzdh",
    };
    let (collection, total): (serde_json::Value, i64) = sqlx::query_as(&format!(
        "SELECT json_build_object(
                    'type', 'FeatureCollection',
                    'srid', (SELECT srid FROM store_settings),
                    'features', coalesce(json_agg(json_build_object(
                        'type', 'Feature',
                        'geometry', ST_AsGeoJSON(f.geom, 2)::json,
                        'properties', to_jsonb(f) - 'geom')), '[]'::json))::jsonb,
                (SELECT count(*) FROM {table} WHERE county = $1::bpchar AND state = 'current' AND geom IS NOT NULL)
         FROM (SELECT {columns}, geom FROM {table}
               WHERE county = $1::bpchar AND state = 'current' AND geom IS NOT NULL
               ORDER BY {key} LIMIT $2) f"
    ))
    .bind(county)
    .bind(MAX_FEATURES)
    .fetch_one(pool)
    .await
    .map_err(StoreError::db("loading map features"))?;
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
