//! PostgreSQL: a whole batch of rows as one array parameter per column, unpacked
//! by the server (`unnest($1::text[], $2::float8[], …)`) and upserted by one
//! `INSERT … SELECT … ON CONFLICT`. A few dozen text parameters per batch instead of
//! 27 per row: `array_in` parses them about as fast as COPY reads its text format
//! (sqlx's `Any` driver has no COPY), and the client writes a few strings instead of
//! encoding every value through `Any`. JSON (`json_populate_recordset`) was tried
//! first: the server spent more time hashing keys than the upsert saved.
//!
//! The columns carry the values exactly as `store`'s multi-row statements bind them
//! (times as RFC 3339 text, flags as 0/1), so both paths store the same thing.

use std::fmt::Write as _;

use sqlx::AnyConnection;

use super::db::{sql, DbError};
use super::store::time_text;
use crate::package::records::{BuildingRecord, LandUnitRecord, UnitRecord};

/// A column's SQL element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Float,
}

impl Kind {
    fn array_type(self) -> &'static str {
        match self {
            Self::Text => "text[]",
            Self::Int => "bigint[]",
            Self::Float => "float8[]",
        }
    }
}

/// PostgreSQL array literals (`{"a",NULL,"b"}`), one per column, built row by row.
struct Arrays {
    columns: Vec<String>,
    next: usize,
}

impl Arrays {
    fn new(width: usize, rows: usize) -> Self {
        Self { columns: (0..width).map(|_| String::with_capacity(rows * 12 + 2)).collect(), next: 0 }
    }

    fn cell(&mut self) -> &mut String {
        let width = self.columns.len();
        let s = &mut self.columns[self.next % width];
        self.next += 1;
        s.push(if s.is_empty() { '{' } else { ',' });
        s
    }

    /// A text element: always quoted, so that NULL, empty strings, commas and
    /// braces read back as themselves; `"` and `\` are backslash-escaped.
    fn text(&mut self, v: Option<&str>) {
        let s = self.cell();
        match v {
            None => s.push_str("NULL"),
            Some(v) => {
                s.push('"');
                for c in v.chars() {
                    if c == '"' || c == '\\' {
                        s.push('\\');
                    }
                    s.push(c);
                }
                s.push('"');
            }
        }
    }

    fn int(&mut self, v: Option<i64>) {
        let s = self.cell();
        match v {
            None => s.push_str("NULL"),
            Some(v) => {
                let _ = write!(s, "{v}");
            }
        }
    }

    /// Rust prints the shortest text that reads back as the same `f64`.
    fn float(&mut self, v: Option<f64>) {
        let s = self.cell();
        match v {
            None => s.push_str("NULL"),
            Some(v) => {
                let _ = write!(s, "{v}");
            }
        }
    }

    fn finish(self) -> Vec<String> {
        self.columns
            .into_iter()
            .map(|mut s| {
                if s.is_empty() {
                    s.push('{');
                }
                s.push('}');
                s
            })
            .collect()
    }
}

/// `INSERT INTO t (cols, seq) SELECT *, $n FROM unnest($1::text[], …) ON CONFLICT (key)
/// DO UPDATE …` keeping the higher `version_id`. `columns` exclude `seq`, the last
/// parameter; `key = None` for a plain insert.
fn insert_sql(table: &str, columns: &[(&str, Kind)], seq: bool, key: Option<&str>) -> String {
    let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
    let arrays: Vec<String> =
        columns.iter().enumerate().map(|(i, (_, k))| format!("${}::{}", i + 1, k.array_type())).collect();
    let mut sql = format!(
        "INSERT INTO {table} ({}{}) SELECT *{} FROM unnest({}) AS r({})",
        names.join(", "),
        if seq { ", seq" } else { "" },
        if seq { format!(", ${}::bigint", columns.len() + 1) } else { String::new() },
        arrays.join(", "),
        names.join(", ")
    );
    if let Some(key) = key {
        let set: Vec<String> = names
            .iter()
            .chain(if seq { Some(&"seq") } else { None })
            .filter(|c| **c != key)
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let _ = write!(
            sql,
            " ON CONFLICT ({key}) DO UPDATE SET {} WHERE excluded.version_id >= {table}.version_id",
            set.join(", ")
        );
    }
    sql
}

async fn execute(
    conn: &mut AnyConnection,
    statement: &str,
    arrays: Arrays,
    seq: Option<i64>,
    what: &'static str,
) -> Result<(), DbError> {
    let mut q = sqlx::query(statement);
    for column in arrays.finish() {
        q = q.bind(column);
    }
    if let Some(seq) = seq {
        q = q.bind(seq);
    }
    q.execute(&mut *conn).await.map_err(sql(what))?;
    Ok(())
}

const UNIT_COLUMNS: &[(&str, Kind)] = &[
    ("bdcdyh", Kind::Text),
    ("zrzh", Kind::Text),
    ("fwbm", Kind::Text),
    ("ljzh", Kind::Text),
    ("sjc", Kind::Int),
    ("myc", Kind::Text),
    ("dyh", Kind::Text),
    ("shbw", Kind::Text),
    ("hx", Kind::Text),
    ("fwyt", Kind::Text),
    ("zl", Kind::Text),
    ("yctnjzmj", Kind::Float),
    ("ycftjzmj", Kind::Float),
    ("ycjzmj", Kind::Float),
    ("sctnjzmj", Kind::Float),
    ("scftjzmj", Kind::Float),
    ("scjzmj", Kind::Float),
    ("ftxs", Kind::Float),
    ("gytdmj", Kind::Float),
    ("fttdmj", Kind::Float),
    ("dytdmj", Kind::Float),
    ("mortgaged", Kind::Int),
    ("sealed", Kind::Int),
    ("state", Kind::Text),
    ("version_id", Kind::Int),
    ("valid_from", Kind::Text),
];

/// Upserts units (PostgreSQL).
pub async fn units(conn: &mut AnyConnection, rows: &[UnitRecord], seq: i64) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut a = Arrays::new(UNIT_COLUMNS.len(), rows.len());
    for u in rows {
        a.text(Some(&u.bdcdyh));
        a.text(Some(&u.zrzh));
        a.text(u.fwbm.as_deref());
        a.text(u.ljzh.as_deref());
        a.int(Some(i64::from(u.sjc)));
        a.text(Some(&u.myc));
        a.text(Some(&u.dyh));
        a.text(Some(&u.shbw));
        a.text(u.hx.as_deref());
        a.text(u.fwyt.as_deref());
        a.text(Some(&u.zl));
        for v in
            [u.yctnjzmj, u.ycftjzmj, u.ycjzmj, u.sctnjzmj, u.scftjzmj, u.scjzmj, u.ftxs, u.gytdmj, u.fttdmj, u.dytdmj]
        {
            a.float(v);
        }
        a.int(Some(i64::from(u.mortgaged)));
        a.int(Some(i64::from(u.sealed)));
        a.text(Some(&u.state));
        a.int(Some(u.version_id));
        a.text(Some(&time_text(&u.valid_from)));
    }
    let sql = insert_sql("units", UNIT_COLUMNS, true, Some("bdcdyh"));
    execute(conn, &sql, a, Some(seq), "writing units").await
}

const BUILDING_COLUMNS: &[(&str, Kind)] = &[
    ("zrzh", Kind::Text),
    ("zddm", Kind::Text),
    ("county", Kind::Text),
    ("jzwmc", Kind::Text),
    ("zl", Kind::Text),
    ("jgrq", Kind::Text),
    ("dscs", Kind::Int),
    ("dxcs", Kind::Int),
    ("fwjg", Kind::Text),
    ("ghyt", Kind::Text),
    ("ycjzmj", Kind::Float),
    ("scjzmj", Kind::Float),
    ("state", Kind::Text),
    ("version_id", Kind::Int),
    ("valid_from", Kind::Text),
];

const FLOOR_COLUMNS: &[(&str, Kind)] =
    &[("zrzh", Kind::Text), ("sjc", Kind::Int), ("myc", Kind::Text), ("cmc", Kind::Text)];

/// Upserts buildings and replaces their floor lists (PostgreSQL).
pub async fn buildings(conn: &mut AnyConnection, rows: &[BuildingRecord], seq: i64) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut a = Arrays::new(BUILDING_COLUMNS.len(), rows.len());
    let mut keys = Arrays::new(1, rows.len());
    let floor_count = rows.iter().map(|b| b.floors.len()).sum();
    let mut floors = Arrays::new(FLOOR_COLUMNS.len(), floor_count);
    for b in rows {
        a.text(Some(&b.zrzh));
        a.text(Some(&b.zddm));
        a.text(Some(&b.county));
        a.text(Some(&b.jzwmc));
        a.text(Some(&b.zl));
        a.text(b.jgrq.map(|d| d.to_string()).as_deref());
        a.int(b.dscs.map(i64::from));
        a.int(b.dxcs.map(i64::from));
        a.text(b.fwjg.as_deref());
        a.text(b.ghyt.as_deref());
        a.float(b.ycjzmj);
        a.float(b.scjzmj);
        a.text(Some(&b.state));
        a.int(Some(b.version_id));
        a.text(Some(&time_text(&b.valid_from)));
        keys.text(Some(&b.zrzh));
        for f in &b.floors {
            floors.text(Some(&b.zrzh));
            floors.int(Some(i64::from(f.sjc)));
            floors.text(Some(&f.myc));
            floors.text(Some(&f.cmc));
        }
    }
    let sql = insert_sql("buildings", BUILDING_COLUMNS, true, Some("zrzh"));
    execute(conn, &sql, a, Some(seq), "writing buildings").await?;
    // Joined, not `= ANY($1::text[])`: that form casts the text parameter again for every row.
    let delete = "DELETE FROM floors f USING unnest($1::text[]) AS k(zrzh) WHERE f.zrzh = k.zrzh";
    execute(conn, delete, keys, None, "clearing floor lists").await?;
    if floor_count > 0 {
        let sql = insert_sql("floors", FLOOR_COLUMNS, false, None);
        execute(conn, &sql, floors, None, "writing floors").await?;
    }
    Ok(())
}

const LAND_UNIT_COLUMNS: &[(&str, Kind)] = &[
    ("zddm", Kind::Text),
    ("zl", Kind::Text),
    ("zdmj", Kind::Float),
    ("yt", Kind::Text),
    ("qllx", Kind::Text),
    ("qlxz", Kind::Text),
    ("state", Kind::Text),
    ("version_id", Kind::Int),
];

/// Upserts land units (PostgreSQL).
pub async fn land_units(conn: &mut AnyConnection, rows: &[LandUnitRecord], seq: i64) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut a = Arrays::new(LAND_UNIT_COLUMNS.len(), rows.len());
    for p in rows {
        a.text(Some(&p.zddm));
        a.text(Some(&p.zl));
        a.float(p.zdmj);
        a.text(p.yt.as_deref());
        a.text(p.qllx.as_deref());
        a.text(p.qlxz.as_deref());
        a.text(Some(&p.state));
        a.int(Some(p.version_id));
    }
    let sql = insert_sql("land_units", LAND_UNIT_COLUMNS, true, Some("zddm"));
    execute(conn, &sql, a, Some(seq), "writing land units").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals_quote_every_text_and_keep_nulls() {
        let mut a = Arrays::new(3, 2);
        a.text(Some(r#"文三路 "1" 号\{,}"#));
        a.int(None);
        a.float(Some(0.1 + 0.2));
        a.text(Some(""));
        a.int(Some(-7));
        a.float(None);
        assert_eq!(a.finish(), [r#"{"文三路 \"1\" 号\\{,}",""}"#, "{NULL,-7}", "{0.30000000000000004,NULL}"]);
        assert_eq!(Arrays::new(2, 0).finish(), ["{}", "{}"]);
    }

    #[test]
    fn the_upsert_keeps_the_higher_version_and_takes_seq_last() {
        assert_eq!(
            insert_sql("t", &[("k", Kind::Text), ("version_id", Kind::Int)], true, Some("k")),
            "INSERT INTO t (k, version_id, seq) SELECT *, $3::bigint FROM unnest($1::text[], $2::bigint[]) AS r(k, version_id) \
             ON CONFLICT (k) DO UPDATE SET version_id = excluded.version_id, seq = excluded.seq \
             WHERE excluded.version_id >= t.version_id"
        );
    }
}
