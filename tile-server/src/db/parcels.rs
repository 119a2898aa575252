//! Parcels (宗地 ZDJBXX): versioned rows, geometry in the store SRID.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use unit_code::ParcelCode;
use utoipa::ToSchema;

use crate::db::audit::{self, AuditEntry};
use crate::db::edit::{
    check_area, check_geometry_crs, check_opt_len, check_precondition, lock_object, merge, present, IfMatch,
    MAX_ADDRESS_CHARS, MAX_CODE_CHARS,
};
use crate::db::error::{Result, StoreError};
use crate::db::Page;
use crate::principal::Principal;

/// A parcel version as the API returns it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Parcel {
    /// 宗地代码 ZDDM (19 characters).
    #[serde(rename = "ZDDM")]
    pub zddm: String,
    /// County code (6 digits).
    pub county: String,
    /// 地籍子区代码 (12 digits, from the code).
    #[serde(rename = "DJZQDM")]
    pub djzqdm: String,
    /// 坐落 ZL.
    #[serde(rename = "ZL")]
    pub zl: String,
    /// 宗地面积 ZDMJ, m².
    #[serde(rename = "ZDMJ")]
    pub zdmj: Option<f64>,
    /// 用途 YT (GB/T 21010).
    #[serde(rename = "YT")]
    pub yt: Option<String>,
    /// 权利类型 QLLX.
    #[serde(rename = "QLLX")]
    pub qllx: Option<String>,
    /// 权利性质 QLXZ.
    #[serde(rename = "QLXZ")]
    pub qlxz: Option<String>,
    /// current / historical / temporary.
    pub state: String,
    /// Version row id.
    pub version_id: i64,
    /// When this version became current.
    pub valid_from: DateTime<Utc>,
    /// When it stopped being current.
    pub valid_to: Option<DateTime<Utc>>,
    /// GeoJSON geometry in the store SRID (X = easting here, as in GeoJSON).
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<Value>,
}

/// Body of a parcel create/edit. A field left out keeps its current value;
/// `null` clears a nullable one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParcelInput {
    /// 坐落 ZL (at most 255 characters).
    #[serde(rename = "ZL")]
    #[schema(max_length = 255)]
    pub zl: Option<String>,
    /// 宗地面积 ZDMJ, m² (non-negative).
    #[serde(rename = "ZDMJ", default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>, nullable, minimum = 0.0)]
    pub zdmj: Option<Option<f64>>,
    /// 用途 YT.
    #[serde(rename = "YT", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 50)]
    pub yt: Option<Option<String>>,
    /// 权利类型 QLLX.
    #[serde(rename = "QLLX", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 50)]
    pub qllx: Option<Option<String>>,
    /// 权利性质 QLXZ.
    #[serde(rename = "QLXZ", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 50)]
    pub qlxz: Option<Option<String>>,
    /// GeoJSON (Multi)Polygon in the store SRID (a `crs` member naming another, or
    /// coordinates in degrees, are refused).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>, nullable)]
    pub geometry: Option<Option<Value>>,
}

impl ParcelInput {
    /// The limits checked at the edge.
    pub fn check(&self) -> Result<()> {
        check_opt_len("ZL", self.zl.as_deref(), MAX_ADDRESS_CHARS)?;
        check_area("ZDMJ", self.zdmj.flatten())?;
        check_opt_len("YT", self.yt.clone().flatten().as_deref(), MAX_CODE_CHARS)?;
        check_opt_len("QLLX", self.qllx.clone().flatten().as_deref(), MAX_CODE_CHARS)?;
        check_opt_len("QLXZ", self.qlxz.clone().flatten().as_deref(), MAX_CODE_CHARS)
    }
}

const COLUMNS: &str = "zddm, county, djzqdm, zl, zdmj::float8 AS zdmj, yt, qllx, qlxz, state, version_id, \
     valid_from, valid_to, ST_AsGeoJSON(geom)::jsonb AS geometry";

/// The current version of a parcel, locked for writing its next one ($1 county, $2 ZDDM).
pub(crate) static LOCK_CURRENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM parcels
         WHERE county = $1::bpchar AND zddm = $2::bpchar AND state = 'current' FOR UPDATE"
    )
});

/// Makes a version historical ($1 county, $2 version id).
pub(crate) const CLOSE_VERSION: &str =
    "UPDATE parcels SET state = 'historical', valid_to = now() WHERE county = $1::bpchar AND version_id = $2";

/// The current version of a parcel.
pub async fn get_current(pool: &PgPool, zddm: &str) -> Result<Option<Parcel>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM parcels WHERE county = left($1, 6)::bpchar AND zddm = $1::bpchar AND state = 'current'"
    ))
    .bind(zddm)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("loading parcel"))
}

/// All versions of a parcel, newest first.
pub async fn history(pool: &PgPool, zddm: &str) -> Result<Vec<Parcel>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM parcels WHERE county = left($1, 6)::bpchar AND zddm = $1::bpchar ORDER BY version_id DESC"
    ))
    .bind(zddm)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("loading parcel history"))
}

/// Filters of a parcel listing.
#[derive(Debug, Clone, Default)]
pub struct ParcelFilter {
    /// Counties the caller may see.
    pub counties: Vec<String>,
    /// Only this sub-district (12 digits).
    pub sub_district: Option<String>,
    /// Only parcels intersecting this box (store SRID): min x, min y, max x, max y.
    pub bbox: Option<[f64; 4]>,
}

/// Current parcels matching a filter, ordered by code; with the total count.
pub async fn list(pool: &PgPool, filter: &ParcelFilter, page: Page) -> Result<(Vec<Parcel>, i64)> {
    let where_sql = "county = ANY($1::char(6)[]) AND state = 'current'
         AND ($2::text IS NULL OR djzqdm = $2::bpchar)
         AND ($3::float8 IS NULL OR geom && ST_MakeEnvelope($3, $4, $5, $6, (SELECT srid FROM store_settings)))";
    let [x0, y0, x1, y1] = filter.bbox.map_or([None; 4], |b| b.map(Some));
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM parcels WHERE {where_sql}"))
        .bind(&filter.counties)
        .bind(&filter.sub_district)
        .bind(x0)
        .bind(y0)
        .bind(x1)
        .bind(y1)
        .fetch_one(pool)
        .await
        .map_err(StoreError::db("counting parcels"))?;
    let items =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM parcels WHERE {where_sql} ORDER BY zddm LIMIT $7 OFFSET $8"))
            .bind(&filter.counties)
            .bind(&filter.sub_district)
            .bind(x0)
            .bind(y0)
            .bind(x1)
            .bind(y1)
            .bind(page.per_page)
            .bind(page.offset())
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("listing parcels"))?;
    Ok((items, total))
}

/// Rejects GeoJSON PostGIS cannot read, non-polygons and invalid polygons.
pub(crate) async fn check_polygon(conn: &mut PgConnection, geometry: &Value) -> Result<()> {
    let row: std::result::Result<(String, bool), sqlx::Error> =
        sqlx::query_as("SELECT GeometryType(g), ST_IsValid(g) FROM (SELECT ST_GeomFromGeoJSON($1::text) AS g) s")
            .bind(geometry.to_string())
            .fetch_one(&mut *conn)
            .await;
    match row {
        Ok((t, true)) if t == "POLYGON" || t == "MULTIPOLYGON" => Ok(()),
        Ok((t, true)) => Err(StoreError::Invalid(format!("geometry must be a Polygon or MultiPolygon, got {t}"))),
        Ok((_, false)) => Err(StoreError::Invalid("geometry is not valid (self-intersection or bad rings)".into())),
        Err(sqlx::Error::Database(_)) => Err(StoreError::Invalid("geometry is not valid GeoJSON".into())),
        Err(e) => Err(StoreError::Database { source: e, context: "checking geometry" }),
    }
}

/// Creates or edits a parcel; [`upsert_if`] without a precondition.
pub async fn upsert(pool: &PgPool, who: &Principal, zddm: &ParcelCode, input: &ParcelInput) -> Result<Parcel> {
    upsert_if(pool, who, zddm, input, None).await
}

/// Creates or edits a parcel: the current version (if any) becomes historical and
/// a new current version is inserted; the audit row goes in the same transaction.
/// Fields left out keep their values; `if_match` must name the current version.
pub async fn upsert_if(
    pool: &PgPool,
    who: &Principal,
    code: &ParcelCode,
    input: &ParcelInput,
    if_match: Option<&IfMatch>,
) -> Result<Parcel> {
    input.check()?;
    let (zddm, county) = (code.as_str(), code.county());
    let county = county.as_str();
    let mut tx = pool.begin().await.map_err(StoreError::db("starting parcel write"))?;
    lock_object(&mut tx, "parcel", zddm).await?;
    if let Some(Some(g)) = &input.geometry {
        check_geometry_crs(g, crate::db::store_srid_in(&mut tx).await?)?;
        check_polygon(&mut tx, g).await?;
    }
    let before: Option<Parcel> = sqlx::query_as(LOCK_CURRENT.as_str())
        .bind(county)
        .bind(zddm)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::db("locking parcel"))?;
    check_precondition(if_match, &format!("parcel {zddm}"), before.as_ref().map(|b| b.version_id))?;
    let b = before.as_ref();
    if let Some(b) = b {
        sqlx::query(CLOSE_VERSION)
            .bind(county)
            .bind(b.version_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("closing parcel version"))?;
    }
    // A geometry left out is copied from the old version in SQL (no GeoJSON round trip).
    let keep_geometry = input.geometry.is_none();
    let after: Parcel = sqlx::query_as(&format!(
        "INSERT INTO parcels (county, zddm, zl, zdmj, yt, qllx, qlxz, geom)
         VALUES ($1, $2, $3, $4, $5, $6, $7,
                 CASE WHEN $9 THEN (SELECT geom FROM parcels WHERE county = $1::bpchar AND version_id = $10)
                      ELSE ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($8::text), (SELECT srid FROM store_settings))) END)
         RETURNING {COLUMNS}"
    ))
    .bind(county)
    .bind(zddm)
    .bind(input.zl.clone().or_else(|| b.map(|b| b.zl.clone())).unwrap_or_default())
    .bind(merge(&input.zdmj, b.map(|b| &b.zdmj)))
    .bind(merge(&input.yt, b.map(|b| &b.yt)))
    .bind(merge(&input.qllx, b.map(|b| &b.qllx)))
    .bind(merge(&input.qlxz, b.map(|b| &b.qlxz)))
    .bind(input.geometry.clone().flatten().as_ref().map(Value::to_string))
    .bind(keep_geometry)
    .bind(b.map(|b| b.version_id))
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::db("inserting parcel version"))?;
    audit::record(
        &mut tx,
        who,
        AuditEntry {
            county,
            action: if before.is_some() { "parcel.update" } else { "parcel.create" },
            object_type: "parcel",
            object_key: zddm,
            before: before.map(|b| serde_json::to_value(b).unwrap_or(Value::Null)),
            after: Some(serde_json::to_value(&after).unwrap_or(Value::Null)),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::db("committing parcel write"))?;
    Ok(after)
}

/// A parcel as the land unit (宗地 as 不动产单元 with fixture part W00000000), no geometry.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct LandUnit {
    /// 不动产单元号 of the land-only unit: ZDDM + "W00000000".
    #[serde(rename = "BDCDYH")]
    pub bdcdyh: String,
    /// 宗地代码.
    #[serde(rename = "ZDDM")]
    pub zddm: String,
    /// 坐落.
    #[serde(rename = "ZL")]
    pub zl: String,
    /// 宗地面积 m².
    #[serde(rename = "ZDMJ")]
    pub zdmj: Option<f64>,
    /// 用途.
    #[serde(rename = "YT")]
    pub yt: Option<String>,
    /// 权利类型.
    #[serde(rename = "QLLX")]
    pub qllx: Option<String>,
    /// 权利性质.
    #[serde(rename = "QLXZ")]
    pub qlxz: Option<String>,
    /// current / historical / temporary.
    pub state: String,
}

/// The land unit of a parcel (current version), without coordinates.
pub async fn land_unit(pool: &PgPool, zddm: &str) -> Result<Option<LandUnit>> {
    sqlx::query_as(
        "SELECT zddm || 'W00000000' AS bdcdyh, zddm, zl, zdmj::float8 AS zdmj, yt, qllx, qlxz, state
         FROM parcels WHERE county = left($1, 6)::bpchar AND zddm = $1::bpchar AND state = 'current'",
    )
    .bind(zddm)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("loading land unit"))
}
