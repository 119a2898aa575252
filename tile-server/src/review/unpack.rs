//! A stored package, unpacked into a temporary folder and read: layers, building tables,
//! manifest. Shared by the check (for the report and the diff) and the accept (for the
//! rows it writes), so both see exactly the same data.

use std::path::Path;

use cadastre_core::building::{BuildingTable, Editor};
use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::model::Submission;
use cadastre_core::package::{is_temporary_id, Limits, Manifest, Package};
use geo::BoundingRect;

use super::phases::Phases;
use crate::db::review_store::Area;
use crate::import::tables::{discover, parse_table, TableFile};

/// A building table of a package.
#[derive(Debug)]
pub struct PackageTable {
    /// The CSV and its apportionment.
    pub file: TableFile,
    /// The rows.
    pub table: BuildingTable,
}

/// An unpacked package.
#[derive(Debug)]
pub struct Unpacked {
    /// Where the files are (removed on drop).
    pub dir: tempfile::TempDir,
    /// The manifest.
    pub manifest: Manifest,
    /// The layers, with temporary ids as in the package.
    pub submission: Submission,
    /// Building tables (`buildings/*.csv`, `*.xlsx`).
    pub tables: Vec<PackageTable>,
    /// What the reviewer should know about the members: `JZD.csv` against the parcels,
    /// members not used ([`super::members`]).
    pub notices: Vec<String>,
}

/// Unpacks and reads a package. The error is the reason the version fails (for the surveyor).
pub fn unpack(bytes: &[u8], limits: &Limits, store_srid: i32, phases: &mut Phases) -> Result<Unpacked, String> {
    let mut pkg = Package::open(std::io::Cursor::new(bytes), limits).map_err(|e| e.to_string())?;
    let dir =
        tempfile::Builder::new().prefix("cadastre-review-").tempdir().map_err(|e| format!("temporary folder: {e}"))?;
    pkg.extract_to(dir.path()).map_err(|e| e.to_string())?;
    phases.lap("unzip+digests");
    let manifest = pkg.manifest().clone();
    let submission = load_submission(dir.path(), &LoadOptions::default())
        .map_err(|e| format!("图层无法读取 layers cannot be read: {e}"))?;
    phases.lap("read layers");
    if let Some(epsg) = submission.crs.as_ref().and_then(|c| c.epsg) {
        if i64::from(epsg) != i64::from(store_srid) {
            return Err(format!(
                "坐标系不符 the layers are in EPSG:{epsg}, the store in EPSG:{store_srid}: reproject before packing"
            ));
        }
    }
    for code in
        submission.parcels.iter().map(|p| p.zddm.trim()).chain(submission.buildings.iter().map(|b| b.zrzh.trim()))
    {
        if !is_temporary_id(code) && !code.starts_with(&manifest.county) {
            return Err(format!("{code} 不属于县级行政区 {0} is not a code of county {0}", manifest.county));
        }
    }
    let tables = read_tables(dir.path())?;
    let notices = super::members::notices(dir.path(), &manifest, &submission);
    phases.lap("read tables, JZD");
    Ok(Unpacked { dir, manifest, submission, tables, notices })
}

fn read_tables(dir: &Path) -> Result<Vec<PackageTable>, String> {
    let files = discover(dir);
    // X.csv and X.xlsx would be two tables of one building.
    for pair in files.windows(2) {
        if pair[0].csv.with_extension("") == pair[1].csv.with_extension("") {
            return Err(format!(
                "楼盘表重复 two tables of one building: {} and {}",
                pair[0].csv.display(),
                pair[1].csv.display()
            ));
        }
    }
    files
        .into_iter()
        .map(|file| {
            let bytes = std::fs::read(&file.csv).map_err(|e| format!("{}: {e}", file.csv.display()))?;
            let name = file.csv.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let (table, _report) = parse_table(&file.csv, &bytes, &Editor::now("package"))
                .map_err(|e| format!("楼盘表无法读取 building table {name} cannot be read: {e}"))?;
            Ok(PackageTable { file, table })
        })
        .collect()
}

impl Unpacked {
    /// What of the store this package may touch.
    pub fn area(&self) -> Area {
        let sub = &self.submission;
        let mut bbox: Option<[f64; 4]> = None;
        for r in sub
            .parcels
            .iter()
            .filter_map(|p| p.geometry.bounding_rect())
            .chain(sub.buildings.iter().filter_map(|b| b.footprint.bounding_rect()))
        {
            let b = bbox.get_or_insert([r.min().x, r.min().y, r.max().x, r.max().y]);
            *b = [b[0].min(r.min().x), b[1].min(r.min().y), b[2].max(r.max().x), b[3].max(r.max().y)];
        }
        let real = |s: &str| (!is_temporary_id(s)).then(|| s.trim().to_owned());
        let mut parcels: Vec<String> = sub.parcels.iter().filter_map(|p| real(&p.zddm)).collect();
        parcels.extend(self.manifest.replaced_codes().map(str::to_owned));
        parcels.sort();
        parcels.dedup();
        Area {
            county: self.manifest.county.clone(),
            bbox: bbox.map(|b| [b[0] - 1.0, b[1] - 1.0, b[2] + 1.0, b[3] + 1.0]),
            parcels,
            buildings: sub.buildings.iter().filter_map(|b| real(&b.zrzh)).collect(),
            tables: self.tables.iter().map(|t| t.table.zrzh.clone()).collect(),
        }
    }
}
