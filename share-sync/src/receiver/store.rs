//! Writing records into the receiving database, in batches of multi-row upserts
//! (one statement per few hundred rows). Upserts keep the higher version, so
//! applying a package twice changes nothing.
//!
//! On PostgreSQL, units, buildings, floors and land units go as one array parameter
//! per column and batch instead (`array_rows`).
//!
//! Placeholders: `$N` for PostgreSQL, anonymous `?` for SQLite. SQLite reads `$N`
//! too, but as *named* parameters, and looking a name up walks a list
//! (`sqlite3_bind_parameter_name`), so binding a 10 000-parameter statement by name
//! is quadratic: that made a 400-row upsert take a second.

use chrono::SecondsFormat;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};

use super::array_rows;
use super::db::{sql, DbError};
use crate::package::records::{
    BuildingRecord, LandUnitRecord, LineageRecord, ObjectKind, RegistrationRecord, RetiredRecord, UnitRecord,
};

/// Rows per multi-row statement (28 columns × 400 stays under SQLite's 32 766 parameters).
pub const BATCH: usize = 400;

/// Records per batch read from a package and written together: one statement per
/// table on PostgreSQL (one array per column), `BATCH`-row statements on SQLite.
pub const READ_BATCH: usize = 2000;

type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// How a statement marks its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marks {
    /// `$1, $2, …` (PostgreSQL).
    Numbered,
    /// `?, ?, …` in order (SQLite: bound by position, no name lookups).
    Anonymous,
}

impl Marks {
    /// The marks the connection's engine binds fastest.
    pub fn of(conn: &AnyConnection) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Self::Anonymous
        } else {
            Self::Numbered
        }
    }

    /// The mark of parameter `n` (1-based).
    fn push(self, s: &mut String, n: usize) {
        match self {
            Self::Numbered => {
                s.push('$');
                s.push_str(&n.to_string());
            }
            Self::Anonymous => s.push('?'),
        }
    }
}

/// `($1, $2, …), (…)` for `rows` rows of `cols` columns.
fn values(marks: Marks, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            marks.push(&mut s, r * cols + c + 1);
        }
        s.push(')');
    }
    s
}

/// `INSERT … VALUES … ON CONFLICT (key) DO UPDATE SET every other column` where the
/// incoming row's `version` column is not older.
fn upsert_sql(marks: Marks, table: &str, columns: &[&str], key: &str, version: &str, rows: usize) -> String {
    let set: Vec<String> = columns.iter().filter(|c| **c != key).map(|c| format!("{c} = excluded.{c}")).collect();
    format!(
        "INSERT INTO {table} ({}) VALUES {} ON CONFLICT ({key}) DO UPDATE SET {} WHERE excluded.{version} >= {table}.{version}",
        columns.join(", "),
        values(marks, rows, columns.len()),
        set.join(", ")
    )
}

/// Timestamps travel and are stored as RFC 3339 text, as chrono writes them in JSON.
pub fn time_text(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

const UNIT_COLUMNS: &[&str] = &[
    "bdcdyh",
    "zrzh",
    "fwbm",
    "ljzh",
    "sjc",
    "myc",
    "dyh",
    "shbw",
    "hx",
    "fwyt",
    "zl",
    "yctnjzmj",
    "ycftjzmj",
    "ycjzmj",
    "sctnjzmj",
    "scftjzmj",
    "scjzmj",
    "ftxs",
    "gytdmj",
    "fttdmj",
    "dytdmj",
    "mortgaged",
    "sealed",
    "state",
    "version_id",
    "valid_from",
    "seq",
];

fn bind_unit<'q>(q: AnyQuery<'q>, u: &UnitRecord, seq: i64) -> AnyQuery<'q> {
    q.bind(u.bdcdyh.clone())
        .bind(u.zrzh.clone())
        .bind(u.fwbm.clone())
        .bind(u.ljzh.clone())
        .bind(i64::from(u.sjc))
        .bind(u.myc.clone())
        .bind(u.dyh.clone())
        .bind(u.shbw.clone())
        .bind(u.hx.clone())
        .bind(u.fwyt.clone())
        .bind(u.zl.clone())
        .bind(u.yctnjzmj)
        .bind(u.ycftjzmj)
        .bind(u.ycjzmj)
        .bind(u.sctnjzmj)
        .bind(u.scftjzmj)
        .bind(u.scjzmj)
        .bind(u.ftxs)
        .bind(u.gytdmj)
        .bind(u.fttdmj)
        .bind(u.dytdmj)
        .bind(i64::from(u.mortgaged))
        .bind(i64::from(u.sealed))
        .bind(u.state.clone())
        .bind(u.version_id)
        .bind(time_text(&u.valid_from))
        .bind(seq)
}

/// Upserts units.
pub async fn units(conn: &mut AnyConnection, rows: &[UnitRecord], seq: i64) -> Result<(), DbError> {
    let marks = Marks::of(conn);
    if marks == Marks::Numbered {
        return array_rows::units(conn, rows, seq).await;
    }
    for chunk in rows.chunks(BATCH) {
        let sql = upsert_sql(marks, "units", UNIT_COLUMNS, "bdcdyh", "version_id", chunk.len());
        let mut q = sqlx::query(&sql);
        for u in chunk {
            q = bind_unit(q, u, seq);
        }
        q.execute(&mut *conn).await.map_err(sql_err("writing units"))?;
    }
    Ok(())
}

fn sql_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    sql(what)
}

const BUILDING_COLUMNS: &[&str] = &[
    "zrzh",
    "zddm",
    "county",
    "jzwmc",
    "zl",
    "jgrq",
    "dscs",
    "dxcs",
    "fwjg",
    "ghyt",
    "ycjzmj",
    "scjzmj",
    "state",
    "version_id",
    "valid_from",
    "seq",
];

/// Upserts buildings and replaces their floor lists.
pub async fn buildings(conn: &mut AnyConnection, rows: &[BuildingRecord], seq: i64) -> Result<(), DbError> {
    let marks = Marks::of(conn);
    if marks == Marks::Numbered {
        return array_rows::buildings(conn, rows, seq).await;
    }
    for chunk in rows.chunks(BATCH) {
        let sql = upsert_sql(marks, "buildings", BUILDING_COLUMNS, "zrzh", "version_id", chunk.len());
        let mut q = sqlx::query(&sql);
        for b in chunk {
            q = q
                .bind(b.zrzh.clone())
                .bind(b.zddm.clone())
                .bind(b.county.clone())
                .bind(b.jzwmc.clone())
                .bind(b.zl.clone())
                .bind(b.jgrq.map(|d| d.to_string()))
                .bind(b.dscs.map(i64::from))
                .bind(b.dxcs.map(i64::from))
                .bind(b.fwjg.clone())
                .bind(b.ghyt.clone())
                .bind(b.ycjzmj)
                .bind(b.scjzmj)
                .bind(b.state.clone())
                .bind(b.version_id)
                .bind(time_text(&b.valid_from))
                .bind(seq);
        }
        q.execute(&mut *conn).await.map_err(sql_err("writing buildings"))?;
        let delete = format!("DELETE FROM floors WHERE zrzh IN ({})", placeholders(marks, 1, chunk.len()));
        let mut q = sqlx::query(&delete);
        for b in chunk {
            q = q.bind(b.zrzh.clone());
        }
        q.execute(&mut *conn).await.map_err(sql_err("clearing floor lists"))?;
        let floors: Vec<(&str, &crate::package::records::FloorRecord)> =
            chunk.iter().flat_map(|b| b.floors.iter().map(move |f| (b.zrzh.as_str(), f))).collect();
        for part in floors.chunks(BATCH) {
            let insert = format!("INSERT INTO floors (zrzh, sjc, myc, cmc) VALUES {}", values(marks, part.len(), 4));
            let mut q = sqlx::query(&insert);
            for (zrzh, f) in part {
                q = q.bind((*zrzh).to_owned()).bind(i64::from(f.sjc)).bind(f.myc.clone()).bind(f.cmc.clone());
            }
            q.execute(&mut *conn).await.map_err(sql_err("writing floors"))?;
        }
    }
    Ok(())
}

/// `$1, $2, …` (or `?, ?, …`) for `n` parameters starting at `first`.
fn placeholders(marks: Marks, first: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 5);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        marks.push(&mut s, first + i);
    }
    s
}

const LAND_UNIT_COLUMNS: &[&str] = &["zddm", "zl", "zdmj", "yt", "qllx", "qlxz", "state", "version_id", "seq"];

/// Upserts land units.
pub async fn land_units(conn: &mut AnyConnection, rows: &[LandUnitRecord], seq: i64) -> Result<(), DbError> {
    let marks = Marks::of(conn);
    if marks == Marks::Numbered {
        return array_rows::land_units(conn, rows, seq).await;
    }
    for chunk in rows.chunks(BATCH) {
        let sql = upsert_sql(marks, "land_units", LAND_UNIT_COLUMNS, "zddm", "version_id", chunk.len());
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = q
                .bind(p.zddm.clone())
                .bind(p.zl.clone())
                .bind(p.zdmj)
                .bind(p.yt.clone())
                .bind(p.qllx.clone())
                .bind(p.qlxz.clone())
                .bind(p.state.clone())
                .bind(p.version_id)
                .bind(seq);
        }
        q.execute(&mut *conn).await.map_err(sql_err("writing land units"))?;
    }
    Ok(())
}

/// Inserts lineage edges (edges never change).
pub async fn lineage(conn: &mut AnyConnection, rows: &[LineageRecord]) -> Result<(), DbError> {
    let marks = Marks::of(conn);
    for chunk in rows.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO lineage (county, event_id, old_code, new_code, kind, at) VALUES {}
             ON CONFLICT (county, old_code, new_code, event_id) DO NOTHING",
            values(marks, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for l in chunk {
            q = q
                .bind(l.county.clone())
                .bind(l.event_id)
                .bind(l.old_code.clone())
                .bind(l.new_code.clone())
                .bind(l.kind.clone())
                .bind(time_text(&l.at));
        }
        q.execute(&mut *conn).await.map_err(sql_err("writing lineage"))?;
    }
    Ok(())
}

/// Marks objects historical.
pub async fn retire(conn: &mut AnyConnection, rows: &[RetiredRecord], seq: i64) -> Result<(), DbError> {
    let marks = Marks::of(conn);
    for (kind, table, key) in [
        (ObjectKind::Unit, "units", "bdcdyh"),
        (ObjectKind::Building, "buildings", "zrzh"),
        (ObjectKind::LandUnit, "land_units", "zddm"),
    ] {
        let keys: Vec<&str> = rows.iter().filter(|r| r.kind == kind).map(|r| r.key.as_str()).collect();
        for chunk in keys.chunks(BATCH) {
            let sql = format!(
                "UPDATE {table} SET state = 'historical', seq = {} WHERE {key} IN ({})",
                placeholders(marks, 1, 1),
                placeholders(marks, 2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(seq);
            for k in chunk {
                q = q.bind((*k).to_owned());
            }
            q.execute(&mut *conn).await.map_err(sql_err("retiring objects"))?;
        }
    }
    Ok(())
}

/// Upserts registration results into the internal store (PostgreSQL) and writes
/// one audit row per county for the package.
pub async fn registrations_internal(
    conn: &mut AnyConnection,
    rows: &[RegistrationRecord],
    sender: &str,
    seq: i64,
) -> Result<(), DbError> {
    for chunk in rows.chunks(BATCH) {
        let mut sql = String::from(
            "INSERT INTO unit_registrations (county, bdcdyh, bdcqzh, djzt, djsj, revision, source_sender, source_sequence) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 7;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(left(${}, 6), ${}, ${}, ${}, ${}::timestamptz, ${}, ${}, ${})",
                b + 1,
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7
            ));
        }
        sql.push_str(
            " ON CONFLICT (county, bdcdyh) DO UPDATE SET bdcqzh = excluded.bdcqzh, djzt = excluded.djzt,
               djsj = excluded.djsj, revision = excluded.revision, source_sender = excluded.source_sender,
               source_sequence = excluded.source_sequence, applied_at = now()
             WHERE excluded.revision >= unit_registrations.revision",
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.bdcdyh.clone())
                .bind(r.bdcqzh.clone())
                .bind(r.djzt.clone())
                .bind(r.djsj.as_ref().map(time_text))
                .bind(r.revision)
                .bind(sender.to_owned())
                .bind(seq);
        }
        q.execute(&mut *conn).await.map_err(sql_err("writing registration results"))?;
    }
    Ok(())
}

/// The audit rows of an applied registrations package, one per county.
pub async fn audit_registrations(
    conn: &mut AnyConnection,
    counties: &std::collections::BTreeMap<String, u64>,
    sender: &str,
    seq: i64,
) -> Result<(), DbError> {
    for (county, n) in counties {
        let after = serde_json::json!({ "sender": sender, "sequence": seq, "units": n }).to_string();
        sqlx::query(
            "INSERT INTO audit (county, actor, actor_role, action, object_type, object_key, after)
             VALUES ($1, $2, 'share-sync', 'registration.apply', 'registration', $3, $4::jsonb)",
        )
        .bind(county.clone())
        .bind(format!("share-sync:{sender}"))
        .bind(format!("{sender} #{seq}"))
        .bind(after)
        .execute(&mut *conn)
        .await
        .map_err(sql_err("writing the audit row of registration results"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(values(Marks::Numbered, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values(Marks::Anonymous, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(placeholders(Marks::Numbered, 2, 3), "$2, $3, $4");
        let sql = upsert_sql(Marks::Numbered, "t", &["k", "a", "v"], "k", "v", 1);
        assert_eq!(
            sql,
            "INSERT INTO t (k, a, v) VALUES ($1, $2, $3) ON CONFLICT (k) DO UPDATE SET a = excluded.a, v = excluded.v WHERE excluded.v >= t.v"
        );
    }
}
