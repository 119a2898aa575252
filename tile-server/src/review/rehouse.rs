//! Buildings an acceptance retires (their parcel split, merged or extinguished, or left
//! out of a parcel the package carries) take their households, floors and logical
//! buildings with them: nothing stays current behind a historical building.
//!
//! A retired building is *rehoused* when a new building of the package stands where it
//! stood (its footprint covers at least half of the smaller of the two): the building's
//! lineage is a change (变更) old → new, and so is each household's. Without a table
//! for the new building in the package, every household, floor and logical building is
//! carried over under the new building's code (household numbers issued in the order of
//! the old codes), register fields (owner, mortgage, seal) included. With a table, the
//! table says what the building holds now: a household of it in the same place as an old
//! one (名义层, 单元, 室号) continues that one (change, register fields carried over); old
//! households without a counterpart are extinguished (灭失). A retired building without a
//! successor has its households extinguished.

use std::collections::{BTreeMap, BTreeSet};

use cadastre_core::area::PlanarArea;
use cadastre_core::diff::{Diff, FeatureEntry};
use geo::BooleanOps;
use serde_json::{json, Value};
use sqlx::PgConnection;
use unit_code::alloc::{AnyCode, PgAllocator, Scope};
use unit_code::lineage::EventInput;
use unit_code::BuildingCode;

use super::accept::{Accepted, AuditRows};
use super::codes::{ensure_registered, issue, lineage_err, parse};
use crate::db::review_store;
use crate::error::{AppError, Result};

/// Share of the smaller footprint two buildings must have in common to be the same one.
const SAME_BUILDING_SHARE: f64 = 0.5;

/// The successor of each removed building that has one: removed ZRZH → id of the added
/// building (temporary id or new code). Pairs are taken largest overlap first; a new
/// building succeeds at most one old one.
pub fn successors(diff: &Diff) -> BTreeMap<String, String> {
    let overlaps = |a: &FeatureEntry, b: &FeatureEntry| -> f64 {
        let (x, y) = (a.bbox, b.bbox);
        if x[2] < y[0] || y[2] < x[0] || x[3] < y[1] || y[3] < x[1] {
            return 0.0;
        }
        a.geometry.intersection(&b.geometry).planar_area()
    };
    let mut pairs: Vec<(f64, &str, &str)> = Vec::new();
    for old in &diff.buildings.removed {
        for new in &diff.buildings.added {
            let common = overlaps(old, new);
            let smaller = old.geometry.planar_area().min(new.geometry.planar_area());
            if smaller > 0.0 && common >= SAME_BUILDING_SHARE * smaller {
                pairs.push((common, old.id.as_str(), new.id.as_str()));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| (a.1, a.2).cmp(&(b.1, b.2))));
    let (mut out, mut taken) = (BTreeMap::new(), BTreeSet::new());
    for (_, old, new) in pairs {
        if !out.contains_key(old) && taken.insert(new) {
            out.insert(old.to_owned(), new.to_owned());
        }
    }
    out
}

/// A current household of a building being retired.
#[derive(Debug, Clone)]
pub struct OldHousehold {
    /// BDCDYH.
    pub bdcdyh: String,
    /// Where it is: 名义层 MYC, 单元 DYH, 室号部位 SHBW.
    place: (String, String, String),
}

/// Locks the current households of the retiring buildings and registers their codes, while
/// their parcels and buildings are still current (lineage retires those next).
pub async fn prepare(
    conn: &mut PgConnection,
    county: &str,
    retiring: &[String],
) -> Result<BTreeMap<String, Vec<OldHousehold>>> {
    let mut out: BTreeMap<String, Vec<OldHousehold>> = BTreeMap::new();
    if retiring.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT zrzh::text, bdcdyh::text, myc, dyh, shbw FROM households
         WHERE county = $1::char(6) AND state = 'current' AND zrzh = ANY($2::char(24)[]) ORDER BY bdcdyh FOR UPDATE",
    )
    .bind(county)
    .bind(retiring)
    .fetch_all(&mut *conn)
    .await
    .map_err(AppError::db("reading the households of retired buildings"))?;
    for (zrzh, bdcdyh, myc, dyh, shbw) in rows {
        ensure_registered(conn, parse(&bdcdyh, "household")?).await?;
        out.entry(zrzh).or_default().push(OldHousehold { bdcdyh, place: (myc, dyh, shbw) });
    }
    Ok(out)
}

/// What to do with the retired buildings, once the new buildings and tables are written.
pub struct Plan<'a> {
    /// County.
    pub county: &'a str,
    /// Who accepts.
    pub actor: &'a str,
    /// Every retired building (removed from the store by this acceptance).
    pub retired: &'a [String],
    /// Their households, from [`prepare`].
    pub households: &'a BTreeMap<String, Vec<OldHousehold>>,
    /// Retired ZRZH → code of the building that replaces it.
    pub successors: &'a BTreeMap<String, String>,
    /// Codes of the buildings whose table the package carries.
    pub tabled: &'a BTreeSet<String>,
}

/// Closes the households, floors and logical buildings of the retired buildings, carrying
/// them over to successors, with lineage and one audit row per household.
pub async fn finish(conn: &mut PgConnection, plan: &Plan<'_>, out: &mut Accepted, audit: &mut AuditRows) -> Result<()> {
    let county = plan.county;
    let mut ended: Vec<String> = Vec::new();
    let none = Vec::new();
    for old in plan.retired {
        let households = plan.households.get(old).unwrap_or(&none);
        let Some(new) = plan.successors.get(old) else {
            ended.extend(households.iter().map(|h| h.bdcdyh.clone()));
            continue;
        };
        let pairs = if plan.tabled.contains(new) {
            let (pairs, fresh) = match_places(conn, county, new, households).await?;
            carry_register_fields(conn, county, &pairs).await?;
            if !fresh.is_empty() {
                let codes: Vec<AnyCode> = fresh.iter().map(|c| parse(c, "household")).collect::<Result<_>>()?;
                PgAllocator::record_event_in(conn, EventInput::create(plan.actor, codes)).await.map_err(lineage_err)?;
            }
            pairs
        } else {
            let pairs = copy_households(conn, county, new, households).await?;
            copy_floors(conn, county, old, new).await?;
            pairs
        };
        let continued: BTreeSet<&str> = pairs.iter().map(|(o, _)| o.as_str()).collect();
        ended.extend(households.iter().filter(|h| !continued.contains(h.bdcdyh.as_str())).map(|h| h.bdcdyh.clone()));
        for (o, n) in pairs {
            let event = EventInput::change(plan.actor, parse(&o, "household")?, parse(&n, "household")?);
            PgAllocator::record_event_in(conn, event).await.map_err(lineage_err)?;
            audit.push(("household.recode".into(), "household", o.clone(), json!({"into": n, "building": new})));
            out.codes.insert(o.clone(), n);
            out.retired.push(o);
        }
    }
    if !ended.is_empty() {
        let codes: Vec<AnyCode> = ended.iter().map(|c| parse(c, "household")).collect::<Result<_>>()?;
        PgAllocator::record_event_in(conn, EventInput::extinguish(plan.actor, codes)).await.map_err(lineage_err)?;
        for c in &ended {
            audit.push(("household.retire".into(), "household", c.clone(), Value::Null));
        }
        out.retired.extend(ended);
    }
    let all: Vec<String> = plan.households.values().flatten().map(|h| h.bdcdyh.clone()).collect();
    review_store::close(conn, "households", "bdcdyh", county, &all).await?;
    review_store::close(conn, "floors", "zrzh", county, plan.retired).await?;
    review_store::close(conn, "logical_buildings", "zrzh", county, plan.retired).await?;
    Ok(())
}

/// The households of `new` (just written from its table) in the place of an old one, as
/// (old, new) pairs, and the codes of the others.
async fn match_places(
    conn: &mut PgConnection,
    county: &str,
    new: &str,
    old: &[OldHousehold],
) -> Result<(Vec<(String, String)>, Vec<String>)> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT bdcdyh::text, myc, dyh, shbw FROM households WHERE county = $1::char(6) AND zrzh = $2::char(24) AND state = 'current'",
    )
    .bind(county)
    .bind(new)
    .fetch_all(&mut *conn)
    .await
    .map_err(AppError::db("reading the households of a new building"))?;
    let mut by_place: BTreeMap<(String, String, String), String> =
        rows.into_iter().map(|(code, myc, dyh, shbw)| ((myc, dyh, shbw), code)).collect();
    let pairs = old.iter().filter_map(|h| by_place.remove(&h.place).map(|n| (h.bdcdyh.clone(), n))).collect();
    Ok((pairs, by_place.into_values().collect()))
}

/// Copies the register's fields of old households onto new ones ($1 county, $2 old and $3
/// new BDCDYH, pairwise).
pub(crate) const CARRY_REGISTER_FIELDS: &str = "UPDATE households n SET mortgaged = o.mortgaged, sealed = o.sealed,
         qlr_enc = coalesce(n.qlr_enc, o.qlr_enc), zjh_enc = coalesce(n.zjh_enc, o.zjh_enc)
     FROM UNNEST($2::bpchar[], $3::bpchar[]) AS m(old, new), households o
     WHERE n.county = $1::char(6) AND n.state = 'current' AND n.bdcdyh = m.new
       AND o.county = $1::char(6) AND o.state = 'current' AND o.bdcdyh = m.old";

/// Owner, mortgage and seal of each old household onto its continuation.
async fn carry_register_fields(conn: &mut PgConnection, county: &str, pairs: &[(String, String)]) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let (olds, news): (Vec<&str>, Vec<&str>) = pairs.iter().map(|(o, n)| (o.as_str(), n.as_str())).unzip();
    sqlx::query(CARRY_REGISTER_FIELDS)
        .bind(county)
        .bind(&olds)
        .bind(&news)
        .execute(&mut *conn)
        .await
        .map_err(AppError::db("carrying register fields to new households"))?;
    Ok(())
}

/// Every household of the old building under `new`, with new codes issued in the order
/// of the old ones; every column carried over.
async fn copy_households(
    conn: &mut PgConnection,
    county: &str,
    new: &str,
    old: &[OldHousehold],
) -> Result<Vec<(String, String)>> {
    if old.is_empty() {
        return Ok(Vec::new());
    }
    let building: BuildingCode = parse(new, "building")?;
    let codes = issue(conn, Scope::households(building), old.len(), "households", "bdcdyh", county).await?;
    let pairs: Vec<(String, String)> = old.iter().zip(codes).map(|(h, c)| (h.bdcdyh.clone(), c.to_string())).collect();
    let (olds, news): (Vec<&str>, Vec<&str>) = pairs.iter().map(|(o, n)| (o.as_str(), n.as_str())).unzip();
    sqlx::query(
        "INSERT INTO households (county, bdcdyh, zrzh, fwbm, ljzh, sjc, myc, dyh, shbw, hx, fwyt, zl,
             yctnjzmj, ycftjzmj, ycjzmj, sctnjzmj, scftjzmj, scjzmj, ftxs, gytdmj, fttdmj, dytdmj,
             mortgaged, sealed, qlr_enc, zjh_enc)
         SELECT h.county, m.new, $2, h.fwbm, h.ljzh, h.sjc, h.myc, h.dyh, h.shbw, h.hx, h.fwyt, h.zl,
             h.yctnjzmj, h.ycftjzmj, h.ycjzmj, h.sctnjzmj, h.scftjzmj, h.scjzmj, h.ftxs, h.gytdmj, h.fttdmj, h.dytdmj,
             h.mortgaged, h.sealed, h.qlr_enc, h.zjh_enc
         FROM UNNEST($3::bpchar[], $4::bpchar[]) AS m(old, new)
         JOIN households h ON h.county = $1::char(6) AND h.state = 'current' AND h.bdcdyh = m.old",
    )
    .bind(county)
    .bind(new)
    .bind(&olds)
    .bind(&news)
    .execute(&mut *conn)
    .await
    .map_err(AppError::db("carrying households to a new building"))?;
    Ok(pairs)
}

/// Floors and logical buildings of `old` under `new`.
async fn copy_floors(conn: &mut PgConnection, county: &str, old: &str, new: &str) -> Result<()> {
    for sql in [
        "INSERT INTO floors (county, zrzh, sjc, myc, cmc)
         SELECT county, $3, sjc, myc, cmc FROM floors WHERE county = $1::char(6) AND zrzh = $2::char(24) AND state = 'current'",
        "INSERT INTO logical_buildings (county, zrzh, ljzh, mph, fwyt)
         SELECT county, $3, ljzh, mph, fwyt FROM logical_buildings WHERE county = $1::char(6) AND zrzh = $2::char(24) AND state = 'current'",
    ] {
        sqlx::query(sql)
            .bind(county)
            .bind(old)
            .bind(new)
            .execute(&mut *conn)
            .await
            .map_err(AppError::db("carrying floors to a new building"))?;
    }
    Ok(())
}
