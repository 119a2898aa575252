//! Reads of the receiving database for `serve`, and the registration writes.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AnyPool;

use super::views::{BuildingAttrs, BuildingTable, FloorRow, Hit, Household, LandUnit, Registration};
use crate::package::records::UnitRecord;
use crate::receiver::db::{sql, Backend, DbError};
use crate::receiver::store::time_text;

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn int(v: i64) -> i32 {
    i32::try_from(v).unwrap_or_default()
}

const UNIT_COLUMNS: &str = "bdcdyh, zrzh, fwbm, ljzh, sjc, myc, dyh, shbw, hx, fwyt, zl, yctnjzmj, ycftjzmj, ycjzmj, \
     sctnjzmj, scftjzmj, scjzmj, ftxs, gytdmj, fttdmj, dytdmj, mortgaged, sealed, state, version_id, valid_from";

fn household(r: &sqlx::any::AnyRow) -> Result<Household, sqlx::Error> {
    use sqlx::Row as _;
    let unit = UnitRecord {
        bdcdyh: r.try_get(0)?,
        zrzh: r.try_get(1)?,
        fwbm: r.try_get(2)?,
        ljzh: r.try_get(3)?,
        sjc: int(r.try_get(4)?),
        myc: r.try_get(5)?,
        dyh: r.try_get(6)?,
        shbw: r.try_get(7)?,
        hx: r.try_get(8)?,
        fwyt: r.try_get(9)?,
        zl: r.try_get(10)?,
        yctnjzmj: r.try_get(11)?,
        ycftjzmj: r.try_get(12)?,
        ycjzmj: r.try_get(13)?,
        sctnjzmj: r.try_get(14)?,
        scftjzmj: r.try_get(15)?,
        scjzmj: r.try_get(16)?,
        ftxs: r.try_get(17)?,
        gytdmj: r.try_get(18)?,
        fttdmj: r.try_get(19)?,
        dytdmj: r.try_get(20)?,
        mortgaged: r.try_get::<i64, _>(21)? != 0,
        sealed: r.try_get::<i64, _>(22)? != 0,
        state: r.try_get(23)?,
        version_id: r.try_get(24)?,
        valid_from: time(&r.try_get::<String, _>(25)?),
    };
    Ok(Household { unit, qlr: None, zjh: None, pii_masked: true })
}

/// The current household of a unit.
pub async fn household_of(pool: &AnyPool, bdcdyh: &str) -> Result<Option<Household>, DbError> {
    let row = sqlx::query(&format!("SELECT {UNIT_COLUMNS} FROM units WHERE bdcdyh = $1 AND state = 'current'"))
        .bind(bdcdyh.to_owned())
        .fetch_optional(pool)
        .await
        .map_err(sql("loading a unit"))?;
    row.as_ref().map(household).transpose().map_err(sql("decoding a unit"))
}

/// The current land unit of a parcel.
pub async fn land_unit(pool: &AnyPool, zddm: &str) -> Result<Option<LandUnit>, DbError> {
    type Row = (String, String, Option<f64>, Option<String>, Option<String>, Option<String>, String);
    let row: Option<Row> = sqlx::query_as(
        "SELECT zddm, zl, zdmj, yt, qllx, qlxz, state FROM land_units WHERE zddm = $1 AND state = 'current'",
    )
    .bind(zddm.to_owned())
    .fetch_optional(pool)
    .await
    .map_err(sql("loading a land unit"))?;
    Ok(row.map(|(zddm, zl, zdmj, yt, qllx, qlxz, state)| LandUnit {
        bdcdyh: format!("{zddm}W00000000"),
        zddm,
        zl,
        zdmj,
        yt,
        qllx,
        qlxz,
        state,
    }))
}

/// The registration result of a unit.
pub async fn registration(pool: &AnyPool, bdcdyh: &str) -> Result<Option<Registration>, DbError> {
    let row: Option<(Option<String>, String, Option<String>)> =
        sqlx::query_as("SELECT bdcqzh, djzt, djsj FROM registrations WHERE bdcdyh = $1")
            .bind(bdcdyh.to_owned())
            .fetch_optional(pool)
            .await
            .map_err(sql("loading a registration"))?;
    Ok(row.map(|(bdcqzh, djzt, djsj)| Registration { bdcqzh, djzt, djsj: djsj.as_deref().map(time) }))
}

/// Records (or changes) a registration result; it goes out with the next
/// registrations package.
pub async fn record_registration(pool: &AnyPool, bdcdyh: &str, r: &Registration) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO registrations (bdcdyh, bdcqzh, djzt, djsj, revision) VALUES ($1, $2, $3, $4, 1)
         ON CONFLICT (bdcdyh) DO UPDATE SET bdcqzh = excluded.bdcqzh, djzt = excluded.djzt, djsj = excluded.djsj,
             revision = registrations.revision + 1",
    )
    .bind(bdcdyh.to_owned())
    .bind(r.bdcqzh.clone())
    .bind(r.djzt.clone())
    .bind(r.djsj.as_ref().map(time_text))
    .execute(pool)
    .await
    .map_err(sql("recording a registration"))?;
    Ok(())
}

/// The building table of a natural building.
pub async fn building_table(pool: &AnyPool, zrzh: &str) -> Result<Option<BuildingTable>, DbError> {
    type BuildingRow = (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<f64>,
        Option<f64>,
        String,
        i64,
        String,
    );
    let row: Option<BuildingRow> = sqlx::query_as(
        "SELECT zrzh, zddm, county, jzwmc, zl, jgrq, dscs, dxcs, fwjg, ghyt, ycjzmj, scjzmj, state, version_id, valid_from
         FROM buildings WHERE zrzh = $1 AND state = 'current'",
    )
    .bind(zrzh.to_owned())
    .fetch_optional(pool)
    .await
    .map_err(sql("loading a building"))?;
    let Some(b) = row else { return Ok(None) };
    let building = BuildingAttrs {
        zrzh: b.0,
        zddm: b.1,
        county: b.2,
        jzwmc: b.3,
        zl: b.4,
        jgrq: b.5.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        dscs: b.6.map(int),
        dxcs: b.7.map(int),
        fwjg: b.8,
        ghyt: b.9,
        ycjzmj: b.10,
        scjzmj: b.11,
        state: b.12,
        version_id: b.13,
        valid_from: time(&b.14),
    };
    let floors: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT sjc, myc, cmc FROM floors WHERE zrzh = $1 ORDER BY sjc DESC")
            .bind(zrzh.to_owned())
            .fetch_all(pool)
            .await
            .map_err(sql("loading floors"))?;
    let floors: Vec<FloorRow> =
        floors.into_iter().map(|(sjc, myc, cmc)| FloorRow { sjc: int(sjc), myc, cmc }).collect();
    let rows =
        sqlx::query(&format!("SELECT {UNIT_COLUMNS} FROM units WHERE zrzh = $1 AND state = 'current' ORDER BY bdcdyh"))
            .bind(zrzh.to_owned())
            .fetch_all(pool)
            .await
            .map_err(sql("loading households"))?;
    let households: Vec<Household> =
        rows.iter().map(household).collect::<Result<_, _>>().map_err(sql("decoding households"))?;
    Ok(Some(super::views::lay_out(building, &floors, households)))
}

/// Current land units and units whose 坐落 contains `text` (a plain substring, as the
/// internal server's escaped `LIKE '%text%'` matches), parcels first, then by code;
/// one page and the total.
pub async fn search(
    pool: &AnyPool,
    backend: Backend,
    text: &str,
    per_page: i64,
    offset: i64,
) -> Result<(Vec<Hit>, i64), DbError> {
    let contains = match backend {
        Backend::Sqlite => "instr(zl, $1) > 0",
        Backend::Postgres => "strpos(zl, $1) > 0",
    };
    let union = format!(
        "SELECT 'parcel' AS kind, zddm AS code, zl, substr(zddm, 1, 6) AS county FROM land_units
          WHERE state = 'current' AND {contains}
         UNION ALL
         SELECT 'household', bdcdyh, zl, substr(bdcdyh, 1, 6) FROM units WHERE state = 'current' AND {contains}"
    );
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM ({union}) u"))
        .bind(text.to_owned())
        .fetch_one(pool)
        .await
        .map_err(sql("counting search hits"))?;
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(&format!(
        "SELECT kind, code, zl, county FROM ({union}) u ORDER BY kind DESC, code LIMIT $2 OFFSET $3"
    ))
    .bind(text.to_owned())
    .bind(per_page)
    .bind(offset)
    .fetch_all(pool)
    .await
    .map_err(sql("searching by address"))?;
    let hits = rows.into_iter().map(|(kind, code, zl, county)| Hit { kind, code, zl, county }).collect();
    Ok((hits, total))
}

/// The client a bearer token belongs to: (client, per minute, may register).
pub async fn client_of(pool: &AnyPool, token_sha256: &str) -> Result<Option<(String, i64, bool)>, DbError> {
    let row: Option<(String, i64, i64)> =
        sqlx::query_as("SELECT client, per_minute, may_register FROM api_clients WHERE token_sha256 = $1")
            .bind(token_sha256.to_owned())
            .fetch_optional(pool)
            .await
            .map_err(sql("checking a token"))?;
    Ok(row.map(|(c, n, r)| (c, n, r != 0)))
}

/// Creates a client (or replaces its token); returns the new token.
pub async fn create_client(
    pool: &AnyPool,
    client: &str,
    per_minute: u32,
    may_register: bool,
) -> Result<String, DbError> {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    sqlx::query(
        "INSERT INTO api_clients (client, token_sha256, per_minute, may_register, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (client) DO UPDATE SET token_sha256 = excluded.token_sha256, per_minute = excluded.per_minute,
             may_register = excluded.may_register",
    )
    .bind(client.to_owned())
    .bind(super::token_digest(&token))
    .bind(i64::from(per_minute))
    .bind(i64::from(may_register))
    .bind(time_text(&Utc::now()))
    .execute(pool)
    .await
    .map_err(sql("creating a client"))?;
    Ok(token)
}
