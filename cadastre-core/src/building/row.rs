//! Building-table rows: the agreed column set (`notes/csv-format.md`) and the
//! row parser shared by CSV and XLSX import, with a report that accounts for
//! every row.

use super::history::Editor;
use super::model::{BuildingTable, Household, PhysicalFloors, Status};
use crate::apportion::Area;
use serde::{Deserialize, Serialize};
use unit_code::{BuildingCode, HouseholdNo, UnitCode};

/// Columns in file order.
pub const COLUMNS: [&str; 15] = [
    "ZRZH", "LJZH", "DYH", "MYC", "SJC", "HH", "SHBW", "BDCDYH", "HX", "FWYT", "GNQ", "FWJG", "YCTNJZMJ", "SCTNJZMJ",
    "ZL",
];

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowIssue {
    /// 1-based line (CSV) or row (XLSX) number, header = 1.
    pub line: usize,
    /// The row's HH, if it had one.
    pub hh: Option<String>,
    /// Why.
    pub reason: String,
}

/// What an import did with every row: imported + duplicates + rejected = rows read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Data rows read (header excluded, blank lines excluded).
    pub rows: usize,
    /// Rows imported.
    pub imported: usize,
    /// Rows whose HH was already in the file or table (the first one wins).
    pub duplicates: Vec<RowIssue>,
    /// Rows rejected, with reasons.
    pub rejected: Vec<RowIssue>,
}

/// Serialises a household into the column order of [`COLUMNS`].
pub fn to_record(h: &Household) -> [String; 15] {
    let area = |a: Option<Area>| a.map(|a| a.to_string()).unwrap_or_default();
    [
        h.zrzh.clone(),
        h.ljzh.clone(),
        h.stair_unit.clone(),
        h.floor.to_string(),
        h.physical.to_string(),
        h.hh.clone(),
        h.room.clone(),
        h.unit_code.clone().unwrap_or_default(),
        h.layout.clone(),
        h.usage.clone(),
        h.zone.clone(),
        h.structure.clone(),
        area(h.predicted_inner),
        area(h.measured_inner),
        h.address.clone(),
    ]
}

/// Column positions found in a header row.
pub(crate) struct Header([usize; 15]);

impl Header {
    /// Finds every required column (order free, extra columns ignored).
    pub(crate) fn parse(cells: &[String]) -> Result<Header, String> {
        let mut ix = [0usize; 15];
        for (i, name) in COLUMNS.iter().enumerate() {
            ix[i] = cells
                .iter()
                .position(|c| c.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("header lacks column {name}"))?;
        }
        Ok(Header(ix))
    }
}

/// Parses one row; `Err` is the rejection reason.
fn parse_row(h: &Header, cells: &[String]) -> Result<Household, String> {
    let get = |i: usize| cells.get(h.0[i]).map(|s| s.trim()).unwrap_or("");
    let zrzh = get(0);
    // A new building of a result package has a temporary id until its code is issued.
    let temporary = crate::package::is_temporary_id(zrzh);
    let building = if temporary {
        None
    } else {
        Some(
            zrzh.parse::<BuildingCode>()
                .map_err(|e| format!("ZRZH {zrzh:?} is neither a temporary id nor valid: {e}"))?,
        )
    };
    let floor: i32 = get(3).parse().map_err(|_| format!("MYC {:?} is not an integer floor", get(3)))?;
    if floor == 0 {
        return Err("MYC 0 does not exist (basements are -1, -2, ...)".into());
    }
    let physical = if get(4).is_empty() {
        PhysicalFloors { from: floor, to: floor }
    } else {
        PhysicalFloors::parse(get(4)).ok_or_else(|| format!("SJC {:?} is not a floor or a range like 3-4", get(4)))?
    };
    let hh = get(5);
    let number = hh.parse::<HouseholdNo>().map_err(|e| format!("HH: {e}"))?;
    let code = get(7);
    match building {
        _ if code.is_empty() => {}
        None => {
            return Err(format!(
                "BDCDYH {code:?} in a new building ({zrzh}): its households get their codes on acceptance"
            ))
        }
        Some(building) => {
            let unit = code.parse::<UnitCode>().map_err(|e| format!("BDCDYH {code:?}: {e}"))?;
            if unit.building() != Some(building) || unit.hh() != Some(number) {
                return Err(format!("BDCDYH {code:?} 不是自然幢号 {zrzh} 加户号 {hh} / is not ZRZH {zrzh} + HH {hh}"));
            }
        }
    }
    let area = |i: usize| -> Result<Option<Area>, String> {
        let s = get(i);
        if s.is_empty() {
            return Ok(None);
        }
        let a: Area = s.parse().map_err(|_| format!("{} {s:?} is not an area with at most 2 decimals", COLUMNS[i]))?;
        if a.hundredths() <= 0 {
            return Err(format!("{} {s} must be positive", COLUMNS[i]));
        }
        Ok(Some(a))
    };
    Ok(Household {
        zrzh: zrzh.to_string(),
        ljzh: get(1).to_string(),
        stair_unit: get(2).to_string(),
        floor,
        physical,
        hh: hh.to_string(),
        room: get(6).to_string(),
        unit_code: (!code.is_empty()).then(|| code.to_string()),
        layout: get(8).to_string(),
        usage: get(9).to_string(),
        zone: get(10).to_string(),
        structure: get(11).to_string(),
        predicted_inner: area(12)?,
        measured_inner: area(13)?,
        address: get(14).to_string(),
        status: Status::Current,
    })
}

/// Imports rows `(line, cells)` into `table`, accounting for every row.
pub(crate) fn import_rows(
    table: &mut BuildingTable,
    header: &Header,
    rows: impl Iterator<Item = (usize, Vec<String>)>,
    by: &Editor,
) -> ImportReport {
    let mut report = ImportReport::default();
    for (line, cells) in rows {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        report.rows += 1;
        let hh = cells.get(header.0[5]).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        match parse_row(header, &cells) {
            Err(reason) => report.rejected.push(RowIssue { line, hh, reason }),
            Ok(h) if h.zrzh != table.zrzh => {
                let reason = format!("ZRZH {} is not this building ({})", h.zrzh, table.zrzh);
                report.rejected.push(RowIssue { line, hh, reason });
            }
            Ok(h) if table.get(&h.hh).is_some() => {
                report.duplicates.push(RowIssue { line, hh, reason: format!("HH {} already imported", h.hh) });
            }
            Ok(h) => match table.insert(h, by) {
                Ok(()) => report.imported += 1,
                Err(e) => report.rejected.push(RowIssue { line, hh, reason: e.to_string() }),
            },
        }
    }
    report
}
