//! Natural buildings (自然幢 ZRZ) with their floors, and the building table (楼盘表).

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use unit_code::BuildingCode;
use utoipa::ToSchema;

use crate::db::audit::{self, AuditEntry};
use crate::db::edit::{
    check_area, check_geometry_crs, check_len, check_opt_len, check_precondition, lock_object, merge, present, IfMatch,
    MAX_ADDRESS_CHARS, MAX_CODE_CHARS, MAX_NAME_CHARS,
};
use crate::db::error::{Result, StoreError};
use crate::db::households::{self, Household};
use crate::db::Page;
use crate::principal::Principal;

/// Building attributes without geometry (what the registration system may see).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct BuildingAttrs {
    /// 自然幢号 ZRZH (24 characters = ZDDM + F + 4 digits).
    #[serde(rename = "ZRZH")]
    pub zrzh: String,
    /// 宗地代码 of the parcel it stands on.
    #[serde(rename = "ZDDM")]
    pub zddm: String,
    /// County code.
    pub county: String,
    /// 建筑物名称.
    #[serde(rename = "JZWMC")]
    pub jzwmc: String,
    /// 坐落.
    #[serde(rename = "ZL")]
    pub zl: String,
    /// 竣工日期.
    #[serde(rename = "JGRQ")]
    pub jgrq: Option<NaiveDate>,
    /// 地上层数.
    #[serde(rename = "DSCS")]
    pub dscs: Option<i32>,
    /// 地下层数.
    #[serde(rename = "DXCS")]
    pub dxcs: Option<i32>,
    /// 房屋结构.
    #[serde(rename = "FWJG")]
    pub fwjg: Option<String>,
    /// 规划用途.
    #[serde(rename = "GHYT")]
    pub ghyt: Option<String>,
    /// 预测建筑面积 m².
    #[serde(rename = "YCJZMJ")]
    pub ycjzmj: Option<f64>,
    /// 实测建筑面积 m².
    #[serde(rename = "SCJZMJ")]
    pub scjzmj: Option<f64>,
    /// current / historical / temporary.
    pub state: String,
    /// Version row id.
    pub version_id: i64,
    /// When this version became current.
    pub valid_from: DateTime<Utc>,
}

/// A building with its footprint (internal users only).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Building {
    /// Attributes.
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub attrs: BuildingAttrs,
    /// Footprint as GeoJSON in the store SRID.
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<Value>,
}

/// One floor row of a building.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct Floor {
    /// 实际层 (physical floor; basements negative).
    #[serde(rename = "SJC")]
    pub sjc: i32,
    /// 名义层 (nominal floor).
    #[serde(rename = "MYC")]
    pub myc: String,
    /// 层名称 (e.g. 第6层, 负1层).
    #[serde(rename = "CMC", default)]
    pub cmc: String,
}

/// Body of a building create/edit. A field left out keeps its current value;
/// `null` clears a nullable one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildingInput {
    /// 建筑物名称.
    #[serde(rename = "JZWMC")]
    #[schema(max_length = 100)]
    pub jzwmc: Option<String>,
    /// 坐落 (at most 255 characters).
    #[serde(rename = "ZL")]
    #[schema(max_length = 255)]
    pub zl: Option<String>,
    /// 竣工日期.
    #[serde(rename = "JGRQ", default, deserialize_with = "present")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub jgrq: Option<Option<NaiveDate>>,
    /// 地上层数.
    #[serde(rename = "DSCS", default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>, nullable)]
    pub dscs: Option<Option<i32>>,
    /// 地下层数.
    #[serde(rename = "DXCS", default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>, nullable)]
    pub dxcs: Option<Option<i32>>,
    /// 房屋结构.
    #[serde(rename = "FWJG", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 50)]
    pub fwjg: Option<Option<String>>,
    /// 规划用途.
    #[serde(rename = "GHYT", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, max_length = 50)]
    pub ghyt: Option<Option<String>>,
    /// 预测建筑面积 (non-negative).
    #[serde(rename = "YCJZMJ", default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>, nullable, minimum = 0.0)]
    pub ycjzmj: Option<Option<f64>>,
    /// 实测建筑面积 (non-negative).
    #[serde(rename = "SCJZMJ", default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>, nullable, minimum = 0.0)]
    pub scjzmj: Option<Option<f64>>,
    /// Floors; when given, replaces the current floor list (old rows become historical).
    pub floors: Option<Vec<Floor>>,
    /// Footprint, GeoJSON (Multi)Polygon in the store SRID.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>, nullable)]
    pub geometry: Option<Option<Value>>,
}

impl BuildingInput {
    /// The limits checked at the edge.
    pub fn check(&self) -> Result<()> {
        check_opt_len("JZWMC", self.jzwmc.as_deref(), MAX_NAME_CHARS)?;
        check_opt_len("ZL", self.zl.as_deref(), MAX_ADDRESS_CHARS)?;
        check_opt_len("FWJG", self.fwjg.clone().flatten().as_deref(), MAX_CODE_CHARS)?;
        check_opt_len("GHYT", self.ghyt.clone().flatten().as_deref(), MAX_CODE_CHARS)?;
        check_area("YCJZMJ", self.ycjzmj.flatten())?;
        check_area("SCJZMJ", self.scjzmj.flatten())?;
        for f in self.floors.iter().flatten() {
            check_len("MYC", &f.myc, MAX_CODE_CHARS)?;
            check_len("CMC", &f.cmc, MAX_CODE_CHARS)?;
        }
        Ok(())
    }
}

const ATTRS: &str = "zrzh, zddm, county, jzwmc, zl, jgrq, dscs, dxcs, fwjg, ghyt, ycjzmj::float8 AS ycjzmj, \
     scjzmj::float8 AS scjzmj, state, version_id, valid_from";

/// Whether the parcel of a building is current ($1 county, $2 ZRZH).
pub(crate) const PARCEL_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM parcels
     WHERE county = $1::bpchar AND zddm = left($2, 19)::bpchar AND state = 'current')";

/// Whether a building is current ($1 county, $2 ZRZH).
pub(crate) const BUILDING_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM buildings
     WHERE county = $1::bpchar AND zrzh = $2::bpchar AND state = 'current')";

/// The current version of a building, locked for writing its next one ($1 county, $2 ZRZH).
pub(crate) static LOCK_CURRENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {ATTRS}, ST_AsGeoJSON(geom)::jsonb AS geometry FROM buildings
         WHERE county = $1::bpchar AND zrzh = $2::bpchar AND state = 'current' FOR UPDATE"
    )
});

/// The current floors of a building, top first ($1 county, $2 ZRZH).
pub(crate) const CURRENT_FLOORS: &str = "SELECT sjc, myc, cmc FROM floors
     WHERE county = $1::bpchar AND zrzh = $2::bpchar AND state = 'current' ORDER BY sjc DESC";

/// The current version of a building, with footprint.
pub async fn get_current(pool: &PgPool, zrzh: &str) -> Result<Option<Building>> {
    sqlx::query_as(&format!(
        "SELECT {ATTRS}, ST_AsGeoJSON(geom)::jsonb AS geometry FROM buildings
         WHERE county = left($1, 6)::bpchar AND zrzh = $1::bpchar AND state = 'current'"
    ))
    .bind(zrzh)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("loading building"))
}

/// Current buildings in the caller's counties, optionally of one parcel.
pub async fn list(pool: &PgPool, counties: &[String], zddm: Option<&str>, page: Page) -> Result<(Vec<Building>, i64)> {
    let where_sql = "county = ANY($1::char(6)[]) AND state = 'current' AND ($2::text IS NULL OR zddm = $2::bpchar)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM buildings WHERE {where_sql}"))
        .bind(counties)
        .bind(zddm)
        .fetch_one(pool)
        .await
        .map_err(StoreError::db("counting buildings"))?;
    let items = sqlx::query_as(&format!(
        "SELECT {ATTRS}, ST_AsGeoJSON(geom)::jsonb AS geometry FROM buildings WHERE {where_sql}
         ORDER BY zrzh LIMIT $3 OFFSET $4"
    ))
    .bind(counties)
    .bind(zddm)
    .bind(page.per_page)
    .bind(page.offset())
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("listing buildings"))?;
    Ok((items, total))
}

/// Creates or edits a building and replaces its floor list, versioned and audited.
pub async fn upsert(pool: &PgPool, who: &Principal, zrzh: &BuildingCode, input: &BuildingInput) -> Result<Building> {
    upsert_if(pool, who, zrzh, input, None).await
}

/// [`upsert`] with fields left out kept and an optional `If-Match` precondition.
pub async fn upsert_if(
    pool: &PgPool,
    who: &Principal,
    code: &BuildingCode,
    input: &BuildingInput,
    if_match: Option<&IfMatch>,
) -> Result<Building> {
    input.check()?;
    let (zrzh, county, parcel) = (code.as_str(), code.county(), code.parcel());
    let county = county.as_str();
    let mut tx = pool.begin().await.map_err(StoreError::db("starting building write"))?;
    lock_object(&mut tx, "building", zrzh).await?;
    if let Some(Some(g)) = &input.geometry {
        check_geometry_crs(g, crate::db::store_srid_in(&mut tx).await?)?;
        crate::db::parcels::check_polygon(&mut tx, g).await?;
    }
    let parcel_exists: bool = sqlx::query_scalar(PARCEL_EXISTS)
        .bind(county)
        .bind(zrzh)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::db("checking parcel of building"))?;
    if !parcel_exists {
        return Err(StoreError::Invalid(format!("parcel {parcel} of building {zrzh} does not exist")));
    }
    let before: Option<Building> = sqlx::query_as(LOCK_CURRENT.as_str())
        .bind(county)
        .bind(zrzh)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::db("locking building"))?;
    let before_floors: Vec<Floor> = sqlx::query_as(CURRENT_FLOORS)
        .bind(county)
        .bind(zrzh)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::db("loading floors"))?;
    check_precondition(if_match, &format!("building {zrzh}"), before.as_ref().map(|b| b.attrs.version_id))?;
    if let Some(b) = &before {
        sqlx::query(
            "UPDATE buildings SET state = 'historical', valid_to = now() WHERE county = $1::bpchar AND version_id = $2",
        )
        .bind(county)
        .bind(b.attrs.version_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("closing building version"))?;
    }
    // Floors left out stay as they are; a floor list given replaces them.
    let floors_after = input.floors.clone().unwrap_or_else(|| before_floors.clone());
    let new_floors: &[Floor] = input.floors.as_deref().unwrap_or(&[]);
    if input.floors.is_some() {
        sqlx::query(
            "UPDATE floors SET state = 'historical', valid_to = now()
             WHERE county = $1::bpchar AND zrzh = $2::bpchar AND state = 'current'",
        )
        .bind(county)
        .bind(zrzh)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("closing floors"))?;
    }
    for f in new_floors {
        sqlx::query("INSERT INTO floors (county, zrzh, sjc, myc, cmc) VALUES ($1, $2, $3, $4, $5)")
            .bind(county)
            .bind(zrzh)
            .bind(f.sjc)
            .bind(&f.myc)
            .bind(&f.cmc)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("inserting floor"))?;
    }
    let b = before.as_ref().map(|b| &b.attrs);
    let text = |named: &Option<String>, current: Option<&String>| {
        named.clone().or_else(|| current.cloned()).unwrap_or_default()
    };
    // A geometry left out is copied from the old version in SQL (no GeoJSON round trip).
    let after: Building = sqlx::query_as(&format!(
        "INSERT INTO buildings (county, zrzh, jzwmc, zl, jgrq, dscs, dxcs, fwjg, ghyt, ycjzmj, scjzmj, geom)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                 CASE WHEN $13 THEN (SELECT geom FROM buildings WHERE county = $1::bpchar AND version_id = $14)
                      ELSE ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($12::text), (SELECT srid FROM store_settings))) END)
         RETURNING {ATTRS}, ST_AsGeoJSON(geom)::jsonb AS geometry"
    ))
    .bind(county)
    .bind(zrzh)
    .bind(text(&input.jzwmc, b.map(|b| &b.jzwmc)))
    .bind(text(&input.zl, b.map(|b| &b.zl)))
    .bind(merge(&input.jgrq, b.map(|b| &b.jgrq)))
    .bind(merge(&input.dscs, b.map(|b| &b.dscs)))
    .bind(merge(&input.dxcs, b.map(|b| &b.dxcs)))
    .bind(merge(&input.fwjg, b.map(|b| &b.fwjg)))
    .bind(merge(&input.ghyt, b.map(|b| &b.ghyt)))
    .bind(merge(&input.ycjzmj, b.map(|b| &b.ycjzmj)))
    .bind(merge(&input.scjzmj, b.map(|b| &b.scjzmj)))
    .bind(input.geometry.clone().flatten().as_ref().map(Value::to_string))
    .bind(input.geometry.is_none())
    .bind(b.map(|b| b.version_id))
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::db("inserting building version"))?;
    let with_floors = |b: &Building, floors: &[Floor]| {
        let mut v = serde_json::to_value(b).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("floors".into(), serde_json::to_value(floors).unwrap_or(Value::Null));
        }
        v
    };
    audit::record(
        &mut tx,
        who,
        AuditEntry {
            county,
            action: if before.is_some() { "building.update" } else { "building.create" },
            object_type: "building",
            object_key: zrzh,
            before: before.as_ref().map(|b| with_floors(b, &before_floors)),
            after: Some(with_floors(&after, &floors_after)),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::db("committing building write"))?;
    Ok(after)
}

/// One nominal floor row of the building table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableRow {
    /// 名义层.
    #[serde(rename = "MYC")]
    pub myc: String,
    /// 层名称.
    #[serde(rename = "CMC")]
    pub cmc: String,
    /// Physical floors (实际层) this nominal floor spans.
    #[serde(rename = "SJC")]
    pub sjc: Vec<i32>,
    /// Households on it, ordered by stair unit and room.
    pub households: Vec<Household>,
}

/// The building table (楼盘表) of one natural building: no coordinates.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuildingTable {
    /// The building's attributes.
    pub building: BuildingAttrs,
    /// Rows from the top floor down (basements last).
    pub rows: Vec<TableRow>,
    /// Number of households.
    pub household_count: usize,
    /// Σ 实测建筑面积 of the households (m², 2 decimals).
    pub total_scjzmj: f64,
    /// Σ 预测建筑面积 of the households.
    pub total_ycjzmj: f64,
}

/// Builds the building table: floors from the floor list, and households on them
/// (a household whose floor is not listed still appears, under its own MYC).
pub async fn table(
    pool: &PgPool,
    zrzh: &str,
    show_pii: bool,
    cipher: &crate::crypto::PiiCipher,
) -> Result<Option<BuildingTable>> {
    let Some(building) = get_current(pool, zrzh).await? else {
        return Ok(None);
    };
    let floors: Vec<Floor> = sqlx::query_as(
        "SELECT sjc, myc, cmc FROM floors WHERE county = left($1, 6)::bpchar AND zrzh = $1::bpchar AND state = 'current' ORDER BY sjc DESC",
    )
    .bind(zrzh)
    .fetch_all(pool)
    .await
    .map_err(StoreError::db("loading floors"))?;
    let households = households::of_building(pool, zrzh, show_pii, cipher).await?;
    let mut rows: Vec<TableRow> = Vec::new();
    let mut push = |myc: &str, cmc: &str, sjc: i32| match rows.iter_mut().find(|r| r.myc == myc) {
        Some(r) => {
            if !r.sjc.contains(&sjc) {
                r.sjc.push(sjc);
            }
        }
        None => {
            rows.push(TableRow { myc: myc.to_owned(), cmc: cmc.to_owned(), sjc: vec![sjc], households: Vec::new() })
        }
    };
    for f in &floors {
        push(&f.myc, &f.cmc, f.sjc);
    }
    for h in &households {
        push(&h.myc, "", h.sjc);
    }
    let total_sc: f64 = households.iter().filter_map(|h| h.areas.scjzmj).sum();
    let total_yc: f64 = households.iter().filter_map(|h| h.areas.ycjzmj).sum();
    let household_count = households.len();
    for h in households {
        if let Some(r) = rows.iter_mut().find(|r| r.myc == h.myc) {
            r.households.push(h);
        }
    }
    for r in &mut rows {
        r.sjc.sort_unstable();
        r.households.sort_by(|a, b| (a.dyh.as_str(), a.shbw.as_str()).cmp(&(b.dyh.as_str(), b.shbw.as_str())));
    }
    // Top floor first: order by the highest physical floor of each row.
    rows.sort_by_key(|r| std::cmp::Reverse(r.sjc.iter().copied().max().unwrap_or(i32::MIN)));
    Ok(Some(BuildingTable {
        building: building.attrs,
        rows,
        household_count,
        total_scjzmj: (total_sc * 100.0).round() / 100.0,
        total_ycjzmj: (total_yc * 100.0).round() / 100.0,
    }))
}

/// A fingerprint of the current rows a building table is built from: per table
/// (building, floors, households) the number of current rows and the sum of
/// their `xmin` (the transaction that wrote each row version). Any insert,
/// in-place update or retirement of one of these rows changes it, whatever
/// path wrote it (API, import, SQL). Cheap: three index scans, no row data.
pub async fn table_fingerprint(pool: &PgPool, zrzh: &str) -> Result<String> {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM buildings
                 WHERE county = left($1, 6)::bpchar AND zrzh = $1::bpchar AND state = 'current')
             || '/' || (SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM floors
                 WHERE county = left($1, 6)::bpchar AND zrzh = $1::bpchar AND state = 'current')
             || '/' || (SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM households
                 WHERE county = left($1, 6)::bpchar AND zrzh = $1::bpchar AND state = 'current')",
    )
    .bind(zrzh)
    .fetch_one(pool)
    .await
    .map_err(StoreError::db("fingerprinting building table"))
}
