//! XLSX exchange of the building table (same columns as the CSV).

use super::csv_io::{first_building, TableIoError};
use super::history::Editor;
use super::model::BuildingTable;
use super::row::{import_rows, to_record, Header, ImportReport, COLUMNS};
use calamine::{Data, Reader, Xlsx};
use std::io::Cursor;

/// Writes the current households to one worksheet "楼盘表"; areas and floors
/// are numbers (so Excel can sum them), codes and HH are text.
pub fn write_xlsx(table: &BuildingTable) -> Result<Vec<u8>, TableIoError> {
    let err = |e: rust_xlsxwriter::XlsxError| TableIoError::Format(format!("XLSX: {e}"));
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("楼盘表").map_err(err)?;
    for (c, name) in COLUMNS.iter().enumerate() {
        ws.write_string(0, c as u16, *name).map_err(err)?;
    }
    for (r, h) in table.current().enumerate() {
        let row = r as u32 + 1;
        for (c, cell) in to_record(h).iter().enumerate() {
            let numeric = matches!(COLUMNS[c], "MYC" | "YCTNJZMJ" | "SCTNJZMJ");
            match cell.parse::<f64>() {
                Ok(v) if numeric => ws.write_number(row, c as u16, v).map_err(err)?,
                _ => ws.write_string(row, c as u16, cell).map_err(err)?,
            };
        }
    }
    wb.save_to_buffer().map_err(err)
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        // areas: 2 decimals at most, so a float prints back exactly (89.5 → "89.5")
        other => other.to_string(),
    }
}

/// Reads the first worksheet of an XLSX building table.
pub fn read_xlsx(bytes: &[u8], by: &Editor) -> Result<(BuildingTable, ImportReport), TableIoError> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| TableIoError::Format(format!("XLSX: {e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| TableIoError::Format("XLSX has no worksheet".into()))?
        .map_err(|e| TableIoError::Format(format!("XLSX: {e}")))?;
    let start_row = range.start().map_or(0, |(r, _)| r as usize);
    let mut rows =
        range.rows().enumerate().map(|(i, r)| (start_row + i + 1, r.iter().map(cell_text).collect::<Vec<_>>()));
    let header = rows.next().map(|(_, h)| h).unwrap_or_default();
    let rows: Vec<(usize, Vec<String>)> = rows.collect();
    let header_ix = Header::parse(&header).map_err(TableIoError::Format)?;
    let zrzh = first_building(&header, &rows).ok_or(TableIoError::NoBuilding)?;
    let mut table = BuildingTable::new(&zrzh);
    let report = import_rows(&mut table, &header_ix, rows.into_iter(), by);
    Ok((table, report))
}
