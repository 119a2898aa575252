//! Building tables (楼盘表) from a survey: the floors, logical buildings and households of
//! one natural building, written as versions the way API edits are.
//!
//! What the survey owns is written; what the register owns is kept: a household's owner
//! fields (QLR/ZJH, encrypted), mortgage and seal flags carry over into its new version.
//! Households of the building that the survey table does not list are left alone (a table
//! may cover part of a building); retiring them is a register decision.

use std::sync::LazyLock;

use serde_json::json;
use sqlx::{PgConnection, Row};

use crate::db::audit::{self, AuditEntry};
use crate::db::error::{Result, StoreError};
use crate::db::households::HouseholdAreas;

/// One surveyed household (户).
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyedHousehold {
    /// 不动产单元号 BDCDYH (28 characters, fixture F).
    pub bdcdyh: String,
    /// 逻辑幢号 LJZH.
    pub ljzh: String,
    /// 实际层 SJC (the lowest physical floor when the unit spans several).
    pub sjc: i32,
    /// 名义层 MYC.
    pub myc: String,
    /// 单元号 DYH.
    pub dyh: String,
    /// 室号部位 SHBW.
    pub shbw: String,
    /// 户型 HX.
    pub hx: Option<String>,
    /// 房屋用途 FWYT.
    pub fwyt: Option<String>,
    /// 坐落 ZL.
    pub zl: String,
    /// Areas, including the apportioned ones when an apportionment was run.
    pub areas: HouseholdAreas,
}

/// One floor (层) of the building.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyedFloor {
    /// 实际层 SJC.
    pub sjc: i32,
    /// 名义层 MYC.
    pub myc: String,
    /// 层名称 CMC, e.g. 第6层 / 负1层.
    pub cmc: String,
}

/// A natural building's surveyed table.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyedTable {
    /// 自然幢号 ZRZH (24 characters).
    pub zrzh: String,
    /// Households, any order.
    pub households: Vec<SurveyedHousehold>,
    /// Floors, one per SJC.
    pub floors: Vec<SurveyedFloor>,
    /// 逻辑幢号 of the building's logical buildings.
    pub logical_buildings: Vec<String>,
}

/// What writing one table did to its households.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableWritten {
    /// New unit codes.
    pub inserted: usize,
    /// Codes whose surveyed values changed (a new version each).
    pub updated: usize,
    /// Codes already current with the same values.
    pub unchanged: usize,
}

/// Writes one building's table in one transaction: new versions only where something
/// changed, and one audit row (`building_table.import`) when anything did.
///
/// The building must be current in the store (import the ZRZ layer first).
pub async fn write_table(
    conn: &mut PgConnection,
    actor: &str,
    actor_role: &str,
    table: &SurveyedTable,
) -> Result<TableWritten> {
    // A table read from a file (import, result package) names its building as text.
    let code: unit_code::BuildingCode = table.zrzh.parse().map_err(|e| {
        StoreError::Invalid(format!("{:?} is not a natural-building number (自然幢号): {e}", table.zrzh))
    })?;
    let county = code.county();
    let county = county.as_str();
    let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(StoreError::db("starting building-table write"))?;
    let building_exists: bool = sqlx::query_scalar(crate::db::buildings::BUILDING_EXISTS)
        .bind(county)
        .bind(&table.zrzh)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::db("checking the building of a table"))?;
    if !building_exists {
        return Err(StoreError::Invalid(format!(
            "building {} is not in the store: import its ZRZ layer first",
            table.zrzh
        )));
    }
    for ljzh in &table.logical_buildings {
        sqlx::query(
            "INSERT INTO logical_buildings (county, zrzh, ljzh) VALUES ($1, $2, $3)
             ON CONFLICT (county, zrzh, ljzh) WHERE state = 'current' DO NOTHING",
        )
        .bind(county)
        .bind(&table.zrzh)
        .bind(ljzh)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("writing a logical building"))?;
    }
    for floor in &table.floors {
        write_floor(&mut tx, county, &table.zrzh, floor).await?;
    }
    let mut written = TableWritten::default();
    let (mut inserted, mut updated) = (Vec::new(), Vec::new());
    for h in &table.households {
        if h.bdcdyh.parse::<unit_code::UnitCode>().ok().and_then(|u| u.building()) != Some(code) {
            return Err(StoreError::Invalid(format!(
                "unit {} is not a household of building {}",
                h.bdcdyh, table.zrzh
            )));
        }
        match write_household(&mut tx, county, &table.zrzh, h).await? {
            Outcome::Inserted => inserted.push(h.bdcdyh.as_str()),
            Outcome::Updated => updated.push(h.bdcdyh.as_str()),
            Outcome::Unchanged => written.unchanged += 1,
        }
    }
    (written.inserted, written.updated) = (inserted.len(), updated.len());
    if !inserted.is_empty() || !updated.is_empty() {
        let entry = AuditEntry {
            county,
            action: "building_table.import",
            object_type: "building",
            object_key: &table.zrzh,
            before: None,
            after: Some(json!({ "inserted": inserted, "updated": updated, "unchanged": written.unchanged })),
        };
        audit::insert(&mut tx, actor, actor_role, entry)
            .await
            .map_err(StoreError::db("writing the audit row of a building table"))?;
    }
    tx.commit().await.map_err(StoreError::db("committing a building table"))?;
    Ok(written)
}

enum Outcome {
    Inserted,
    Updated,
    Unchanged,
}

/// The current version of a floor, locked, and whether it has these names ($1 county, $2 ZRZH,
/// $3 SJC, $4 MYC, $5 CMC).
pub(crate) const PROBE_FLOOR: &str = "SELECT version_id, (myc, cmc) IS NOT DISTINCT FROM ($4::text, $5::text)
     FROM floors WHERE county = $1::bpchar AND zrzh = $2::bpchar AND sjc = $3 AND state = 'current' FOR UPDATE";

async fn write_floor(conn: &mut PgConnection, county: &str, zrzh: &str, floor: &SurveyedFloor) -> Result<()> {
    let current: Option<(i64, bool)> = sqlx::query_as(PROBE_FLOOR)
        .bind(county)
        .bind(zrzh)
        .bind(floor.sjc)
        .bind(&floor.myc)
        .bind(&floor.cmc)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::db("reading a floor"))?;
    match current {
        Some((_, true)) => return Ok(()),
        Some((version_id, false)) => close_version(conn, "floors", county, version_id).await?,
        None => {}
    }
    sqlx::query("INSERT INTO floors (county, zrzh, sjc, myc, cmc) VALUES ($1, $2, $3, $4, $5)")
        .bind(county)
        .bind(zrzh)
        .bind(floor.sjc)
        .bind(&floor.myc)
        .bind(&floor.cmc)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::db("writing a floor"))?;
    Ok(())
}

/// The surveyed columns, compared after the casts the columns apply, so a re-import of
/// the same table compares equal (FTXS keeps 8 decimals).
const SURVEYED: &str = "(ljzh, sjc, myc, dyh, shbw, hx, fwyt, zl, yctnjzmj, ycftjzmj, ycjzmj, sctnjzmj, scftjzmj, \
     scjzmj, ftxs, gytdmj, fttdmj, dytdmj) IS NOT DISTINCT FROM ($3::text, $4::int, $5::text, $6::text, $7::text, \
     $8::text, $9::text, $10::text, $11::numeric(12,2), $12::numeric(12,2), $13::numeric(12,2), $14::numeric(12,2), \
     $15::numeric(12,2), $16::numeric(12,2), $17::numeric(12,8), $18::numeric(12,2), $19::numeric(12,2), \
     $20::numeric(12,2))";

pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds $3..$20, the surveyed values, in the order of [`SURVEYED`].
pub(crate) fn bind_surveyed<'q>(q: PgQuery<'q>, h: &SurveyedHousehold) -> PgQuery<'q> {
    let a = &h.areas;
    q.bind(h.ljzh.clone())
        .bind(h.sjc)
        .bind(h.myc.clone())
        .bind(h.dyh.clone())
        .bind(h.shbw.clone())
        .bind(h.hx.clone())
        .bind(h.fwyt.clone())
        .bind(h.zl.clone())
        .bind(a.yctnjzmj)
        .bind(a.ycftjzmj)
        .bind(a.ycjzmj)
        .bind(a.sctnjzmj)
        .bind(a.scftjzmj)
        .bind(a.scjzmj)
        .bind(a.ftxs)
        .bind(a.gytdmj)
        .bind(a.fttdmj)
        .bind(a.dytdmj)
}

/// The current version of a household, locked, and whether it holds these surveyed values
/// ($1 county, $2 BDCDYH, $3..$20 as in [`SURVEYED`]).
pub(crate) static PROBE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT version_id, {SURVEYED} AS same FROM households
         WHERE county = $1::bpchar AND bdcdyh = $2::bpchar AND state = 'current' FOR UPDATE"
    )
});

/// A new version of a household that had one: the register's fields (owner, mortgage,
/// seal) carry over from the version just closed.
pub(crate) const INSERT_NEXT: &str = "INSERT INTO households (county, bdcdyh, zrzh, ljzh, sjc, myc, dyh, shbw, hx,
         fwyt, zl, yctnjzmj, ycftjzmj, ycjzmj, sctnjzmj, scftjzmj, scjzmj, ftxs, gytdmj, fttdmj, dytdmj,
         mortgaged, sealed, qlr_enc, zjh_enc)
     SELECT $1, $2, $21, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
         coalesce(prev.mortgaged, false), coalesce(prev.sealed, false), prev.qlr_enc, prev.zjh_enc
     FROM (SELECT 1) AS one
     LEFT JOIN LATERAL (SELECT mortgaged, sealed, qlr_enc, zjh_enc FROM households
         WHERE county = $1::bpchar AND bdcdyh = $2::bpchar AND state = 'historical'
         ORDER BY version_id DESC LIMIT 1) AS prev ON true";

async fn write_household(conn: &mut PgConnection, county: &str, zrzh: &str, h: &SurveyedHousehold) -> Result<Outcome> {
    let probe = bind_surveyed(sqlx::query(PROBE.as_str()).bind(county.to_owned()).bind(h.bdcdyh.clone()), h);
    let current: Option<(i64, bool)> = probe
        .try_map(|row: sqlx::postgres::PgRow| Ok((row.try_get(0)?, row.try_get(1)?)))
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::db("reading a household"))?;
    let (outcome, insert) = match current {
        Some((_, true)) => return Ok(Outcome::Unchanged),
        Some((version_id, false)) => {
            close_version(conn, "households", county, version_id).await?;
            (Outcome::Updated, INSERT_NEXT)
        }
        None => (Outcome::Inserted, INSERT_NEW),
    };
    bind_surveyed(sqlx::query(insert).bind(county.to_owned()).bind(h.bdcdyh.clone()), h)
        .bind(zrzh.to_owned())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::db("writing a household version"))?;
    Ok(outcome)
}

/// A first version: nothing to carry over.
const INSERT_NEW: &str = "INSERT INTO households (county, bdcdyh, ljzh, sjc, myc, dyh, shbw, hx, fwyt, zl,
         yctnjzmj, ycftjzmj, ycjzmj, sctnjzmj, scftjzmj, scjzmj, ftxs, gytdmj, fttdmj, dytdmj, zrzh)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)";

async fn close_version(conn: &mut PgConnection, table: &'static str, county: &str, version_id: i64) -> Result<()> {
    sqlx::query(&format!(
        "UPDATE {table} SET state = 'historical', valid_to = now() WHERE county = $1::bpchar AND version_id = $2"
    ))
    .bind(county)
    .bind(version_id)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("closing a version"))?;
    Ok(())
}
