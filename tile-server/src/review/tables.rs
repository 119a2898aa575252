//! Building tables of an acceptance: a new building's table takes the building's issued
//! code, new households get codes, each table is written with its apportioned areas, and
//! households a table no longer lists are retired.

use std::collections::{BTreeMap, BTreeSet};

use cadastre_core::building::{write_csv, BuildingTable, Editor};
use cadastre_core::diff::Diff;
use serde_json::{json, Value};
use sqlx::PgConnection;
use unit_code::alloc::{AnyCode, PgAllocator, Scope};
use unit_code::lineage::EventInput;
use unit_code::BuildingCode;

use super::accept::{Accepted, AuditRows};
use super::codes::{ensure_registered, issue, lineage_err, parse};
use super::unpack::Unpacked;
use crate::auth::Principal;
use crate::db::building_tables::write_table;
use crate::db::review_store;
use crate::error::{AppError, Result};

/// Building tables: a new building's table takes the building's issued code, new
/// households get codes, the table is written with its apportioned areas (versions only
/// where something changed), households it no longer lists are retired. Returns the codes
/// of the buildings written.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write_tables(
    conn: &mut PgConnection,
    u: &Unpacked,
    diff: &Diff,
    who: &Principal,
    county: &str,
    buildings: &BTreeMap<String, String>,
    successors: &BTreeMap<String, String>,
    out: &mut Accepted,
    audit_rows: &mut AuditRows,
) -> Result<BTreeSet<String>> {
    // A successor's households are created, or continue old ones: rehouse::finish says which.
    let successor_codes: BTreeSet<&str> = successors.values().map(String::as_str).collect();
    let actor = who.actor();
    let mut written = BTreeSet::new();
    for t in &u.tables {
        let package_id = t.table.zrzh.trim().to_owned();
        let zrzh = buildings.get(&package_id).cloned().unwrap_or_else(|| package_id.clone());
        let building: BuildingCode = parse(&zrzh, "ZRZH of a building table")?;
        written.insert(zrzh.clone());
        let new: Vec<&str> = t.table.current().filter(|h| h.unit_code.is_none()).map(|h| h.hh.as_str()).collect();
        let mut renamed: BTreeMap<String, (String, String)> = BTreeMap::new();
        if !new.is_empty() {
            ensure_registered(conn, building.into()).await?;
            let codes = issue(conn, Scope::households(building), new.len(), "households", "bdcdyh", county).await?;
            for (hh, code) in new.iter().zip(codes) {
                let code = code.to_string();
                let new_hh = code.get(24..).unwrap_or_default().to_owned();
                out.codes.insert(format!("{package_id}#{hh}"), code.clone());
                renamed.insert((*hh).to_owned(), (new_hh, code));
            }
            if !successor_codes.contains(zrzh.as_str()) {
                let codes: Vec<AnyCode> =
                    renamed.values().map(|(_, c)| parse::<AnyCode>(c, "household")).collect::<Result<_>>()?;
                PgAllocator::record_event_in(conn, EventInput::create(&actor, codes)).await.map_err(lineage_err)?;
            }
        }
        let file = rewrite_table(t, &zrzh, &renamed)?;
        let read = crate::import::tables::read(&file, &actor).map_err(|e| AppError::Unprocessable(e.to_string()))?;
        if let Some((line, hh, reason)) = read.skipped.first() {
            return Err(AppError::Unprocessable(format!("楼盘表 {zrzh} line {line} ({hh:?}): {reason}")));
        }
        write_table(conn, &actor, who.role.as_str(), &read.table).await?;
        // Households the table no longer lists end.
        let gone: Vec<String> = diff
            .tables
            .iter()
            .filter(|d| d.zrzh.trim() == package_id)
            .flat_map(|d| d.removed.iter().filter_map(|h| h.bdcdyh.clone()))
            .collect();
        let closed = review_store::close(conn, "households", "bdcdyh", county, &gone).await?;
        if !closed.is_empty() {
            let codes: Vec<AnyCode> = closed.iter().map(|c| parse::<AnyCode>(c, "household")).collect::<Result<_>>()?;
            for c in &codes {
                ensure_registered(conn, *c).await?;
            }
            PgAllocator::record_event_in(conn, EventInput::extinguish(&actor, codes)).await.map_err(lineage_err)?;
            for c in closed {
                audit_rows.push(("household.retire".into(), "household", c.clone(), json!({"building": zrzh})));
                out.retired.push(c);
            }
        }
    }
    Ok(written)
}

/// The table's CSV (and apportionment) with the building's code `zrzh` and the issued
/// household codes, in the unpacked folder.
fn rewrite_table(
    t: &super::unpack::PackageTable,
    zrzh: &str,
    renamed: &BTreeMap<String, (String, String)>,
) -> Result<crate::import::tables::TableFile> {
    if renamed.is_empty() && zrzh == t.table.zrzh {
        return Ok(t.file.clone());
    }
    let by = Editor::now("accept");
    let mut table = BuildingTable::new(zrzh);
    for h in t.table.current() {
        let mut h = h.clone();
        h.zrzh = zrzh.to_owned();
        if let Some((new_hh, code)) = renamed.get(&h.hh) {
            h.hh = new_hh.clone();
            h.unit_code = Some(code.clone());
        }
        table.insert(h, &by).map_err(|e| AppError::Unprocessable(e.to_string()))?;
    }
    let io = |e: std::io::Error| AppError::internal("rewriting a building table", e);
    let csv = write_csv(&table).map_err(|e| AppError::internal("writing a building table", e))?;
    // An XLSX table is rewritten as the CSV beside it (the apportionment stays where it is).
    let mut file = t.file.clone();
    file.csv = file.csv.with_extension("csv");
    std::fs::write(&file.csv, csv).map_err(io)?;
    if let Some(path) = &t.file.apportion {
        let text = std::fs::read_to_string(path).map_err(io)?;
        let mut v: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|e| AppError::Unprocessable(format!("{}: {e}", path.display())))?;
        rename_ids(&mut v, renamed);
        if let Some(b) = v.get_mut("building") {
            *b = Value::String(zrzh.to_owned());
        }
        std::fs::write(path, v.to_string()).map_err(io)?;
    }
    Ok(file)
}

/// Household numbers in an apportionment input, provisional → issued (every string equal
/// to a provisional number: unit ids and the references to them).
fn rename_ids(v: &mut Value, renamed: &BTreeMap<String, (String, String)>) {
    match v {
        Value::String(s) => {
            if let Some((new, _)) = renamed.get(s.as_str()) {
                *s = new.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename_ids(x, renamed)),
        Value::Object(m) => m.values_mut().for_each(|x| rename_ids(x, renamed)),
        _ => {}
    }
}
