//! Building tables (楼盘表) of a submission folder: `buildings/<ZRZH>.csv` or `.xlsx` (the
//! formats of `cadastre_core::building::{csv_io, xlsx_io}`), with `<ZRZH>.apportion.json` beside it when the
//! shared areas were apportioned (`docs/apportionment.md`). Each becomes a
//! [`SurveyedTable`] for [`crate::db::building_tables::write_table`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cadastre_core::apportion::{Apportion, ApportionInput, UnitResult};
use cadastre_core::building::{floor_name, read_csv, read_xlsx, BuildingTable, Editor, Household, ImportReport};

use sqlx::PgPool;

use crate::db::building_tables::{write_table, SurveyedFloor, SurveyedHousehold, SurveyedTable, TableWritten};
use crate::db::households::HouseholdAreas;
use crate::db::StoreError;

/// A building-table file and its apportionment, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFile {
    /// The table: `.csv` or `.xlsx`.
    pub csv: PathBuf,
    /// The `.apportion.json` with the same stem, when present.
    pub apportion: Option<PathBuf>,
}

/// Why a table file could not be used (the file is then skipped as a whole).
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Reading the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The CSV is not a building table.
    #[error("{path}: {detail}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// A table read, with the rows it could not use (line, reason).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadTable {
    /// What goes to the store.
    pub table: SurveyedTable,
    /// Rows left out: `(line, HH, reason)`.
    pub skipped: Vec<(usize, Option<String>, String)>,
}

/// The building tables under `dir/buildings/`, sorted by file name. None when the folder
/// is absent.
pub fn discover(dir: &Path) -> Vec<TableFile> {
    let Ok(entries) = std::fs::read_dir(dir.join("buildings")) else { return Vec::new() };
    let mut files: Vec<TableFile> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_table(p))
        .map(|csv| {
            let json = csv.with_extension("apportion.json");
            TableFile { apportion: json.is_file().then_some(json), csv }
        })
        .collect();
    files.sort_by(|a, b| a.csv.cmp(&b.csv));
    files
}

/// Whether a file is a building table by its extension: `.csv` or `.xlsx` (any case).
pub fn is_table(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("xlsx"))
}

/// Parses a building table, CSV or XLSX by the file's extension.
pub fn parse_table(
    path: &Path,
    bytes: &[u8],
    by: &Editor,
) -> Result<(BuildingTable, ImportReport), cadastre_core::building::TableIoError> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) {
        read_xlsx(bytes, by)
    } else {
        read_csv(bytes, by)
    }
}

/// Reads one table and, when there is one, runs its apportionment, so the stored
/// households carry 分摊建筑面积, 建筑面积 and the coefficient.
pub fn read(file: &TableFile, actor: &str) -> Result<ReadTable, TableError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TableError::Io { path, source }
    };
    let format = |path: &Path, detail: String| TableError::Format { path: path.to_path_buf(), detail };
    let bytes = std::fs::read(&file.csv).map_err(io(&file.csv))?;
    let (building, report) =
        parse_table(&file.csv, &bytes, &Editor::now(actor)).map_err(|e| format(&file.csv, e.to_string()))?;
    let apportioned: BTreeMap<String, UnitResult> = match &file.apportion {
        None => BTreeMap::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(io(path))?;
            let result = ApportionInput::from_json(text.trim_start_matches('\u{feff}'))
                .and_then(|input| input.apportion())
                .map_err(|e| format(path, e.to_string()))?;
            if result.building != building.zrzh {
                let detail = format!("apportions building {}, the table is {}", result.building, building.zrzh);
                return Err(format(path, detail));
            }
            result.units.into_iter().map(|u| (u.id.to_string(), u)).collect()
        }
    };
    let mut skipped: Vec<(usize, Option<String>, String)> = report
        .duplicates
        .iter()
        .map(|r| (r.line, r.hh.clone(), format!("duplicate HH: {}", r.reason)))
        .chain(report.rejected.iter().map(|r| (r.line, r.hh.clone(), r.reason.clone())))
        .collect();
    let mut households = Vec::new();
    let mut floors: BTreeMap<i32, SurveyedFloor> = BTreeMap::new();
    let mut logical = BTreeSet::new();
    for h in building.current() {
        let Some(code) = h.unit_code.clone() else {
            skipped.push((0, Some(h.hh.clone()), "no BDCDYH: allocate the unit code first".into()));
            continue;
        };
        for sjc in h.physical.from..=h.physical.to {
            floors.entry(sjc).or_insert_with(|| SurveyedFloor {
                sjc,
                myc: h.floor.to_string(),
                cmc: floor_name(h.floor),
            });
        }
        logical.insert(h.ljzh.clone());
        households.push(surveyed(h, code, apportioned.get(&h.hh)));
    }
    let table = SurveyedTable {
        zrzh: building.zrzh.clone(),
        households,
        floors: floors.into_values().collect(),
        logical_buildings: logical.into_iter().collect(),
    };
    Ok(ReadTable { table, skipped })
}

/// Why a table file was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum TableRefused {
    /// The file could not be read as a building table.
    #[error(transparent)]
    Read(#[from] TableError),
    /// No connection to the store.
    #[error("connecting to the store: {0}")]
    Connect(#[source] sqlx::Error),
    /// The store refused the table (its building is missing, a value breaks a rule...)
    /// or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What importing one table file did.
#[derive(Debug)]
pub struct TableOutcome {
    /// The CSV.
    pub file: PathBuf,
    /// Households written, or why the table was refused as a whole.
    pub written: Result<TableWritten, TableRefused>,
    /// Rows left out of a table that was written: `(line, HH, reason)`.
    pub skipped: Vec<(usize, Option<String>, String)>,
}

impl TableOutcome {
    /// Whether anything of this file was not stored.
    pub fn has_rejects(&self) -> bool {
        self.written.is_err() || !self.skipped.is_empty()
    }
}

/// Imports every building table under `dir/buildings/` (after the ZRZ layer, whose
/// buildings they need). A table that cannot be read or stored is reported and the
/// others go on; each stored table is one transaction.
pub async fn import_tables(pool: &PgPool, dir: &Path, actor: &str) -> Vec<TableOutcome> {
    let mut outcomes = Vec::new();
    for file in discover(dir) {
        let outcome = match read(&file, actor) {
            Err(e) => TableOutcome { file: file.csv, written: Err(e.into()), skipped: Vec::new() },
            Ok(read) => {
                let written = match pool.acquire().await {
                    Ok(mut conn) => write_table(&mut conn, actor, "importer", &read.table).await.map_err(Into::into),
                    Err(e) => Err(TableRefused::Connect(e)),
                };
                TableOutcome { file: file.csv, written, skipped: read.skipped }
            }
        };
        outcomes.push(outcome);
    }
    outcomes
}

fn surveyed(h: &Household, bdcdyh: String, unit: Option<&UnitResult>) -> SurveyedHousehold {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    SurveyedHousehold {
        bdcdyh,
        ljzh: h.ljzh.clone(),
        sjc: h.physical.from,
        myc: h.floor.to_string(),
        dyh: h.stair_unit.clone(),
        shbw: h.room.clone(),
        hx: non_empty(&h.layout),
        fwyt: non_empty(&h.usage),
        zl: h.address.clone(),
        areas: HouseholdAreas {
            yctnjzmj: h.predicted_inner.map(|a| a.m2()),
            sctnjzmj: h.measured_inner.map(|a| a.m2()),
            scftjzmj: unit.map(|u| u.apportioned.m2()),
            scjzmj: unit.map(|u| u.building_area.m2()),
            ftxs: unit.map(|u| u.coefficient),
            ..HouseholdAreas::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/district")
    }

    #[test]
    fn the_sample_tables_are_found_with_their_apportionments() {
        let files = discover(&sample());
        assert_eq!(files.len(), 4);
        assert!(files.iter().all(|f| f.apportion.is_some()));
        assert!(discover(Path::new("/nonexistent")).is_empty());
    }

    #[test]
    fn a_sample_table_reads_with_apportioned_areas_that_add_up() {
        let files = discover(&sample());
        let read = read(&files[0], "test").unwrap_or_else(|e| panic!("{e}"));
        let t = &read.table;
        assert!(read.skipped.is_empty(), "{:?}", read.skipped);
        assert_eq!(t.zrzh, "330106001001GB00001F0001");
        assert!(t.households.iter().all(|h| h.bdcdyh.starts_with(&t.zrzh)));
        // Every household got its share, and inner + share = building area, to the hundredth.
        for h in &t.households {
            let a = &h.areas;
            let (inner, share, total) =
                (a.sctnjzmj.unwrap_or(-1.0), a.scftjzmj.unwrap_or(-1.0), a.scjzmj.unwrap_or(-1.0));
            assert!(((inner + share) - total).abs() < 0.005, "{}: {inner} + {share} != {total}", h.bdcdyh);
        }
        // Basements are named 负n层 and every physical floor of a household has a floor row.
        assert!(t.floors.iter().any(|f| f.sjc < 0 && f.cmc.starts_with('负')));
        for h in &t.households {
            assert!(t.floors.iter().any(|f| f.sjc == h.sjc), "floor {} of {}", h.sjc, h.bdcdyh);
        }
    }
}
