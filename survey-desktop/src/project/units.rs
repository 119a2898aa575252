//! The buildings' households in the project file: one row of `desk_documents`
//! per natural building (kind `building_units`, key ZRZH, the JSON of
//! [`BuildingUnits`]: 楼盘表 with its history, floor plans, apportionment set-up).

use rusqlite::{Connection, Transaction};

use super::{sql, ProjectError};
use crate::model::units::{key_floors, BuildingUnits, Units};

/// `desk_documents.kind` of a building's households.
pub const KIND: &str = "building_units";

/// Replace the stored buildings by the document's (inside the save transaction).
pub(super) fn write(tx: &Transaction, units: &Units) -> Result<(), ProjectError> {
    tx.execute("DELETE FROM desk_documents WHERE kind = ?1", [KIND]).map_err(sql("saving building tables"))?;
    let mut ins = tx
        .prepare("INSERT INTO desk_documents (kind, key, json) VALUES (?1, ?2, ?3)")
        .map_err(sql("saving building tables"))?;
    for (zrzh, u) in units {
        let json = serde_json::to_string(u).map_err(|e| ProjectError::Damaged(e.to_string()))?;
        ins.execute((KIND, zrzh, json)).map_err(sql("saving building tables"))?;
    }
    Ok(())
}

/// The stored buildings; a row that does not parse is a damaged file, named. Floor
/// plans saved before floors were keyed by logical building are keyed on the way in.
pub(super) fn read(conn: &Connection) -> Result<Units, ProjectError> {
    let mut st =
        conn.prepare("SELECT key, json FROM desk_documents WHERE kind = ?1").map_err(sql("reading building tables"))?;
    let rows = st
        .query_map([KIND], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(sql("reading building tables"))?;
    let mut units = Units::new();
    for row in rows {
        let (zrzh, json) = row.map_err(sql("reading building tables"))?;
        let mut u: BuildingUnits =
            serde_json::from_str(&json).map_err(|e| ProjectError::Damaged(format!("building table {zrzh}: {e}")))?;
        key_floors(&mut u.plan, &u.table);
        units.insert(zrzh, u);
    }
    Ok(units)
}
