//! The store's side of a review: the current rows a package may touch (read for the diff,
//! locked and fingerprinted at acceptance) and the set-based writes of an acceptance.

use cadastre_core::diff::{HouseholdRecord, StoreSide};
use cadastre_core::model::{Building, BuildingAttributes, Parcel, ParcelAttributes};
use geo_types::MultiPolygon;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::db::error::{Result, StoreError};
use crate::db::wkb::multipolygon_from_wkb;

/// What of the store a package may touch.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Area {
    /// County.
    pub county: String,
    /// Extent of the package's features `[min_x, min_y, max_x, max_y]` (store SRID), grown by 1 m.
    pub bbox: Option<[f64; 4]>,
    /// Parcel codes the package carries or replaces.
    pub parcels: Vec<String>,
    /// Building codes the package carries.
    pub buildings: Vec<String>,
    /// Buildings whose tables the package carries.
    pub tables: Vec<String>,
}

/// The rows read, with the fingerprint of their versions.
#[derive(Debug, Default)]
pub struct StoreRows {
    /// Parcels and buildings for [`cadastre_core::diff::diff`].
    pub side: StoreSide,
    /// Households per table building.
    pub households: Vec<(String, HouseholdRecord)>,
    /// SHA-256 over the `(table, version_id)` of every row read.
    pub fingerprint: String,
}

type ParcelRow = (i64, String, String, Option<f64>, Option<String>, Option<String>, Option<String>, Option<Vec<u8>>);
type BuildingRow = (
    i64,
    String,
    String,
    Option<i32>,
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<f64>,
    Option<f64>,
    Option<Vec<u8>>,
);
type HouseholdRow = (
    i64,
    String,
    String,
    Option<String>,
    i32,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<f64>,
    Option<f64>,
);

const PARCELS_OF_AREA: &str = "county = $1::char(6) AND state = 'current'
    AND (($2 AND geom && ST_MakeEnvelope($3, $4, $5, $6, (SELECT srid FROM store_settings))) OR zddm = ANY($7::char(19)[]))";
/// Buildings of the area: those of its parcels, and those the package carries. Two index
/// scans, each its own statement (or a UNION): with `zddm = ANY(…) OR zrzh = ANY(…)` the
/// planner chose a parallel scan of the whole table (590 ms at 1.3 million buildings and a
/// 5,000-parcel package, against 200 ms for the two index scans; `EXPLAIN ANALYZE` in
/// BENCHMARKS.md), and `FOR UPDATE` does not go with UNION.
const BUILDINGS_OF_PARCELS: &str = "county = $1::char(6) AND state = 'current' AND zddm = ANY($2::char(19)[])";
const BUILDINGS_BY_CODE: &str = "county = $1::char(6) AND state = 'current' AND zrzh = ANY($3::char(24)[])";
const HOUSEHOLDS_OF_AREA: &str = "county = $1::char(6) AND state = 'current' AND zrzh = ANY($2::char(24)[])";

/// The fingerprint [`read`] computes, from the version ids alone (cheap: no geometry); with
/// `lock`, the rows are locked `FOR UPDATE` as [`read`] locks them (the accept needs the
/// lock and the fingerprint, not the rows).
pub async fn fingerprint(conn: &mut PgConnection, area: &Area, lock: bool) -> Result<String> {
    let lock_sql = if lock { "FOR UPDATE" } else { "" };
    let bbox = area.bbox.unwrap_or([0.0, 0.0, 0.0, 0.0]);
    let p: Vec<i64> =
        sqlx::query_scalar(&format!("SELECT version_id FROM parcels WHERE {PARCELS_OF_AREA} ORDER BY zddm {lock_sql}"))
            .bind(&area.county)
            .bind(area.bbox.is_some())
            .bind(bbox[0])
            .bind(bbox[1])
            .bind(bbox[2])
            .bind(bbox[3])
            .bind(&area.parcels)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::db("fingerprinting store parcels"))?;
    let mut b: Vec<(String, i64)> = Vec::new();
    for filter in [BUILDINGS_OF_PARCELS, BUILDINGS_BY_CODE] {
        let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT zrzh::text, version_id FROM buildings WHERE {filter} ORDER BY zrzh {lock_sql}"
        ))
        .bind(&area.county)
        .bind(&area.parcels)
        .bind(&area.buildings)
        .fetch_all(&mut *conn)
        .await
        .map_err(StoreError::db("fingerprinting store buildings"))?;
        b.extend(rows);
    }
    // The order `read` hashes them in.
    b.sort();
    b.dedup();
    let b: Vec<i64> = b.into_iter().map(|(_, vid)| vid).collect();
    let h: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT version_id FROM households WHERE {HOUSEHOLDS_OF_AREA} ORDER BY bdcdyh {lock_sql}"
    ))
    .bind(&area.county)
    .bind(&area.tables)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::db("fingerprinting store households"))?;
    let mut hasher = Sha256::new();
    for (tag, ids) in [("p", p), ("b", b), ("h", h)] {
        for vid in ids {
            hasher.update(format!("{tag}{vid},"));
        }
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads (and with `lock`, locks `FOR UPDATE`) the current rows of `area`.
pub async fn read(conn: &mut PgConnection, area: &Area, lock: bool) -> Result<StoreRows> {
    let lock_sql = if lock { "FOR UPDATE" } else { "" };
    let bbox = area.bbox.unwrap_or([0.0, 0.0, 0.0, 0.0]);
    let parcels: Vec<ParcelRow> = sqlx::query_as(&format!(
        "SELECT version_id, zddm::text, zl, zdmj::float8, yt, qllx, qlxz, ST_AsBinary(geom)
         FROM parcels WHERE {PARCELS_OF_AREA} ORDER BY zddm {lock_sql}"
    ))
    .bind(&area.county)
    .bind(area.bbox.is_some())
    .bind(bbox[0])
    .bind(bbox[1])
    .bind(bbox[2])
    .bind(bbox[3])
    .bind(&area.parcels)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::db("reading store parcels"))?;
    let mut buildings: Vec<BuildingRow> = Vec::new();
    for filter in [BUILDINGS_OF_PARCELS, BUILDINGS_BY_CODE] {
        let rows: Vec<BuildingRow> = sqlx::query_as(&format!(
            "SELECT version_id, zrzh::text, jzwmc, dscs, dxcs, fwjg, ghyt, ycjzmj::float8, scjzmj::float8,
                    ST_AsBinary(geom)
             FROM buildings WHERE {filter} ORDER BY zrzh {lock_sql}"
        ))
        .bind(&area.county)
        .bind(&area.parcels)
        .bind(&area.buildings)
        .fetch_all(&mut *conn)
        .await
        .map_err(StoreError::db("reading store buildings"))?;
        buildings.extend(rows);
    }
    // A building of an area parcel that the package also carries came twice.
    buildings.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
    buildings.dedup_by_key(|b| b.0);
    let households: Vec<HouseholdRow> = sqlx::query_as(&format!(
        "SELECT version_id, bdcdyh::text, zrzh::text, ljzh, sjc, myc, dyh, shbw, hx, fwyt, zl,
                yctnjzmj::float8, sctnjzmj::float8
         FROM households WHERE {HOUSEHOLDS_OF_AREA} ORDER BY bdcdyh {lock_sql}"
    ))
    .bind(&area.county)
    .bind(&area.tables)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::db("reading store households"))?;

    let mut hasher = Sha256::new();
    let mut rows = StoreRows::default();
    for (vid, zddm, zl, zdmj, yt, qllx, qlxz, geom) in parcels {
        hasher.update(format!("p{vid},"));
        rows.side.parcels.push(Parcel {
            zddm,
            geometry: geom.as_deref().and_then(multipolygon_from_wkb).unwrap_or(MultiPolygon(Vec::new())),
            attributes: ParcelAttributes { zl: Some(zl), zdmj, yt, qllx, qlxz, ..ParcelAttributes::default() },
            source_index: 0,
        });
    }
    for (vid, zrzh, jzwmc, dscs, dxcs, fwjg, ghyt, ycjzmj, scjzmj, geom) in buildings {
        hasher.update(format!("b{vid},"));
        rows.side.buildings.push(Building {
            zddm: zrzh.get(..19).unwrap_or_default().to_owned(),
            zrzh,
            footprint: geom.as_deref().and_then(multipolygon_from_wkb).unwrap_or(MultiPolygon(Vec::new())),
            attributes: BuildingAttributes {
                jzwmc: Some(jzwmc),
                dscs: dscs.map(i64::from),
                dxcs: dxcs.map(i64::from),
                fwjg,
                ghyt,
                ycjzmj,
                scjzmj,
                ..BuildingAttributes::default()
            },
            source_index: 0,
        });
    }
    for (vid, bdcdyh, zrzh, ljzh, sjc, myc, dyh, shbw, hx, fwyt, zl, yc, sc) in households {
        hasher.update(format!("h{vid},"));
        let hh = bdcdyh.get(24..).unwrap_or_default().to_owned();
        let area = |v: Option<f64>| v.map(cadastre_core::diff::area_text);
        let record = HouseholdRecord::new(
            Some(&bdcdyh),
            &hh,
            &[
                ("LJZH", ljzh),
                ("MYC", Some(myc)),
                ("SJC", Some(sjc.to_string())),
                ("DYH", Some(dyh)),
                ("SHBW", Some(shbw)),
                ("HX", hx),
                ("FWYT", fwyt),
                ("ZL", Some(zl)),
                ("YCTNJZMJ", area(yc)),
                ("SCTNJZMJ", area(sc)),
            ],
        );
        rows.households.push((zrzh, record));
    }
    rows.fingerprint = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(rows)
}

/// Closes the current versions of `codes` in a versioned table (key column `key`); returns
/// the codes closed.
pub async fn close(
    conn: &mut PgConnection,
    table: &str,
    key: &str,
    county: &str,
    codes: &[String],
) -> Result<Vec<String>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    // Parameters cast to the columns' CHAR types: bound as TEXT they would compare the columns
    // as text, which neither the code indexes nor the county partitions can serve (5,000
    // parcels took 6.5 s to close in scripts/bench-review.sh).
    sqlx::query_scalar(&format!(
        "UPDATE {table} SET state = 'historical', valid_to = now()
         WHERE county = $1::char(6) AND state = 'current' AND {key} = ANY($2::bpchar[]) RETURNING {key}::text"
    ))
    .bind(county)
    .bind(codes)
    .fetch_all(conn)
    .await
    .map_err(StoreError::db("closing versions"))
}

/// Parcels to insert as current versions, column by column.
#[derive(Debug, Default)]
pub struct NewParcels {
    /// ZDDM.
    pub zddm: Vec<String>,
    /// ZL.
    pub zl: Vec<String>,
    /// ZDMJ.
    pub zdmj: Vec<Option<f64>>,
    /// YT.
    pub yt: Vec<Option<String>>,
    /// QLLX.
    pub qllx: Vec<Option<String>>,
    /// QLXZ.
    pub qlxz: Vec<Option<String>>,
    /// Hex EWKB in the store SRID.
    pub geom: Vec<String>,
    /// When the geometry took its shape, for a version that keeps its predecessor's
    /// geometry (and so its boundary points); `None`: now.
    pub geom_from: Vec<Option<chrono::DateTime<chrono::Utc>>>,
}

/// Inserts parcels in one statement.
pub async fn insert_parcels(conn: &mut PgConnection, county: &str, p: &NewParcels) -> Result<()> {
    if p.zddm.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO parcels (county, zddm, zl, zdmj, yt, qllx, qlxz, geom, geom_from)
         SELECT $1, z, zl, zdmj, yt, qllx, qlxz, g::geometry, gf
         FROM UNNEST($2::text[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::text[], $8::text[],
                     $9::timestamptz[])
              AS t(z, zl, zdmj, yt, qllx, qlxz, g, gf)",
    )
    .bind(county)
    .bind(&p.zddm)
    .bind(&p.zl)
    .bind(&p.zdmj)
    .bind(&p.yt)
    .bind(&p.qllx)
    .bind(&p.qlxz)
    .bind(&p.geom)
    .bind(&p.geom_from)
    .execute(conn)
    .await
    .map_err(StoreError::db("writing parcels (geometry)"))?;
    Ok(())
}

/// Buildings to insert as current versions, column by column.
#[derive(Debug, Default)]
pub struct NewBuildings {
    /// ZRZH.
    pub zrzh: Vec<String>,
    /// JZWMC.
    pub jzwmc: Vec<String>,
    /// ZL.
    pub zl: Vec<String>,
    /// JGRQ (YYYY-MM-DD or empty).
    pub jgrq: Vec<Option<String>>,
    /// DSCS.
    pub dscs: Vec<Option<i32>>,
    /// DXCS.
    pub dxcs: Vec<Option<i32>>,
    /// FWJG.
    pub fwjg: Vec<Option<String>>,
    /// GHYT.
    pub ghyt: Vec<Option<String>>,
    /// YCJZMJ.
    pub ycjzmj: Vec<Option<f64>>,
    /// SCJZMJ.
    pub scjzmj: Vec<Option<f64>>,
    /// Hex EWKB.
    pub geom: Vec<String>,
}

/// Inserts buildings in one statement.
pub async fn insert_buildings(conn: &mut PgConnection, county: &str, b: &NewBuildings) -> Result<()> {
    if b.zrzh.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO buildings (county, zrzh, jzwmc, zl, jgrq, dscs, dxcs, fwjg, ghyt, ycjzmj, scjzmj, geom)
         SELECT $1, z, n, zl, CASE WHEN d ~ '^\\d{4}-\\d{2}-\\d{2}$' THEN d::date END, ds, dx, fj, gy, yc, sc,
                g::geometry
         FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::text[], $9::text[],
                     $10::float8[], $11::float8[], $12::text[]) AS t(z, n, zl, d, ds, dx, fj, gy, yc, sc, g)",
    )
    .bind(county)
    .bind(&b.zrzh)
    .bind(&b.jzwmc)
    .bind(&b.zl)
    .bind(&b.jgrq)
    .bind(&b.dscs)
    .bind(&b.dxcs)
    .bind(&b.fwjg)
    .bind(&b.ghyt)
    .bind(&b.ycjzmj)
    .bind(&b.scjzmj)
    .bind(&b.geom)
    .execute(conn)
    .await
    .map_err(StoreError::db("writing buildings (geometry)"))?;
    Ok(())
}

/// Audit rows of many objects in one statement: `(action, object_type, key, after)`.
pub async fn audit_many(
    conn: &mut PgConnection,
    county: &str,
    actor: &str,
    role: &str,
    rows: &[(String, &'static str, String, Value)],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let types: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let keys: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    let after: Vec<&Value> = rows.iter().map(|r| &r.3).collect();
    sqlx::query(
        "INSERT INTO audit (county, actor, actor_role, action, object_type, object_key, after)
         SELECT $1, $2, $3, a, t, k, af FROM UNNEST($4::text[], $5::text[], $6::text[], $7::jsonb[]) AS u(a, t, k, af)",
    )
    .bind(county)
    .bind(actor)
    .bind(role)
    .bind(&actions)
    .bind(&types)
    .bind(&keys)
    .bind(&after)
    .execute(conn)
    .await
    .map_err(StoreError::db("writing audit rows"))?;
    Ok(())
}

/// The highest sequence number the store has used under a prefix (parcels of a
/// sub-district + feature, buildings of a parcel, households of a building), current or
/// not: the allocator's counter is raised to it so a new code never meets an old one.
/// A range on the key (not `left()`), so the `(county, key)` index answers it.
pub async fn max_number(conn: &mut PgConnection, table: &str, key: &str, county: &str, prefix: &str) -> Result<u32> {
    let width = if table == "parcels" { 5 } else { 4 };
    let (lo, hi) = (format!("{prefix}{}", "0".repeat(width)), format!("{prefix}{}", "9".repeat(width)));
    let top: Option<String> = sqlx::query_scalar(&format!(
        "SELECT max({key}::text) FROM {table} WHERE county = $1::char(6) AND {key} BETWEEN $2::bpchar AND $3::bpchar"
    ))
    .bind(county)
    .bind(&lo)
    .bind(&hi)
    .fetch_one(conn)
    .await
    .map_err(StoreError::db("reading the highest code in use"))?;
    Ok(top.and_then(|t| t.get(prefix.len()..prefix.len() + width).and_then(|n| n.parse().ok())).unwrap_or(0))
}
