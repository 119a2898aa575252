//! CSV exchange of the building table: UTF-8 with BOM on write; UTF-8 (with
//! or without BOM) or GBK on read (Excel on Chinese Windows saves GBK).

use super::history::Editor;
use super::model::BuildingTable;
use super::row::{import_rows, to_record, Header, ImportReport, COLUMNS};

/// Errors that stop a whole file (row problems go to the [`ImportReport`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableIoError {
    /// Bad header, unreadable CSV/XLSX structure.
    #[error("{0}")]
    Format(String),
    /// The file has no data row to take the building (ZRZH) from.
    #[error("no data rows with a 24-character ZRZH (or a temporary id)")]
    NoBuilding,
}

/// Decodes bytes: a UTF-8 BOM or valid UTF-8 is UTF-8, anything else is GBK.
pub fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GBK.decode(bytes).0.into_owned(),
    }
}

/// A header row and the data rows with their 1-based line numbers.
type Rows = (Vec<String>, Vec<(usize, Vec<String>)>);

fn records(bytes: &[u8]) -> Result<Rows, TableIoError> {
    let text = decode(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut header = None;
    for rec in reader.records() {
        let rec = rec.map_err(|e| TableIoError::Format(format!("CSV: {e}")))?;
        // from the byte offset: the csv crate's own line count skips blank lines
        let line = rec.position().map_or(0, |p| {
            let mut end = (p.byte() as usize).min(text.len());
            // the position may point at blank lines skipped before the record
            while end < text.len() && matches!(text.as_bytes()[end], b'\n' | b'\r') {
                end += 1;
            }
            text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
        });
        let cells: Vec<String> = rec.iter().map(str::to_string).collect();
        if header.is_none() {
            header = Some(cells);
        } else {
            rows.push((line, cells));
        }
    }
    Ok((header.unwrap_or_default(), rows))
}

/// Reads a building-table CSV into a new table for the building named by the
/// first row with a well-formed ZRZH (or the temporary id of a new building in a result
/// package, whose rows carry no BDCDYH); every row is accounted for in the report.
///
/// ```
/// use cadastre_core::building::{read_csv, Editor};
/// let csv = "ZRZH,LJZH,DYH,MYC,SJC,HH,SHBW,BDCDYH,HX,FWYT,GNQ,FWJG,YCTNJZMJ,SCTNJZMJ,ZL\n\
///            330106001001GB00001F0001,1,1,12,12,0001,1201,,三室两厅,住宅,res,钢筋混凝土,89.50,89.62,某路1号\n\
///            330106001001GB00001F0001,1,1,12,12,0001,1201,,,住宅,res,,89.50,,\n\
///            330106001001GB00001F0001,1,1,0,,0002,1202,,,住宅,res,,x,,\n";
/// let (table, report) = read_csv(csv.as_bytes(), &Editor::now("importer")).unwrap();
/// assert_eq!((report.imported, report.duplicates.len(), report.rejected.len()), (1, 1, 1));
/// assert_eq!(table.get("0001").and_then(|h| h.measured_inner).map(|a| a.to_string()), Some("89.62".into()));
/// ```
pub fn read_csv(bytes: &[u8], by: &Editor) -> Result<(BuildingTable, ImportReport), TableIoError> {
    let (header, rows) = records(bytes)?;
    let header_ix = Header::parse(&header).map_err(TableIoError::Format)?;
    let zrzh = first_building(&header, &rows).ok_or(TableIoError::NoBuilding)?;
    let mut table = BuildingTable::new(&zrzh);
    let report = import_rows(&mut table, &header_ix, rows.into_iter(), by);
    Ok((table, report))
}

impl BuildingTable {
    /// Imports CSV rows into this table (rows of other buildings are rejected).
    pub fn import_csv(&mut self, bytes: &[u8], by: &Editor) -> Result<ImportReport, TableIoError> {
        let (header, rows) = records(bytes)?;
        let header = Header::parse(&header).map_err(TableIoError::Format)?;
        Ok(import_rows(self, &header, rows.into_iter(), by))
    }
}

pub(crate) fn first_building(header: &[String], rows: &[(usize, Vec<String>)]) -> Option<String> {
    let col = header.iter().position(|c| c.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case("ZRZH"))?;
    rows.iter()
        .filter_map(|(_, r)| r.get(col))
        .map(|s| s.trim())
        .find(|s| s.parse::<unit_code::BuildingCode>().is_ok() || crate::package::is_temporary_id(s))
        .map(str::to_string)
}

/// Writes the current households as CSV (UTF-8 with BOM, CRLF, the agreed columns).
pub fn write_csv(table: &BuildingTable) -> Result<Vec<u8>, TableIoError> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        // CRLF as RFC 4180 and the sample generator write it
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut out);
        let err = |e: csv::Error| TableIoError::Format(format!("CSV: {e}"));
        w.write_record(COLUMNS).map_err(err)?;
        for h in table.current() {
            w.write_record(to_record(h)).map_err(err)?;
        }
        w.flush().map_err(|e| TableIoError::Format(e.to_string()))?;
    }
    Ok(out)
}
