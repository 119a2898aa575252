//! The project's results as a result package (成果包, `cadastre-core::package`): the
//! layers as UTF-8 shapefiles, the building tables (楼盘表) as `buildings/<ZRZH>.csv` with
//! their floor plans `buildings/<ZRZH>.floorplan.json` (分层分户图, when drawn) and their
//! apportionment input `buildings/<ZRZH>.apportion.json` when it was run, the checks
//! run first with their report inside, the manifest fields from the export options. Written to a temporary file and renamed, so a failed
//! export never leaves a half package at the path.

use std::io::Write as _;
use std::path::Path;

use cadastre_core::building::write_csv;
use cadastre_core::io::{write_shapefiles, TextEncoding};
use cadastre_core::model::Submission;
use cadastre_core::package::{check_for_package, BusinessKind, Manifest, PackageWriter};
use cadastre_core::qc::{QcConfig, Report};
use cadastre_core::unit_code::{ParcelCode, SubdistrictCode};

use super::SubmitError;
use crate::model::units::Staleness;
use crate::model::Document;

/// Folder of the building tables inside a package (where the server's intake reads them).
const BUILDINGS_DIR: &str = "buildings";

/// The building tables of `doc` as package members: `buildings/<ZRZH>.csv` for every table
/// with households, `buildings/<ZRZH>.floorplan.json` when its floors are drawn (what the
/// app reads back from an unpacked package, `crate::import::tables`), and `buildings/<ZRZH>.apportion.json` (the input of the apportionment,
/// which the server runs again) for every building whose apportionment was run. A stale or
/// invalid apportionment stops the export: the surveyor re-runs it first, so a package never
/// carries shared areas that no longer match the floor plans.
pub fn building_members(doc: &Document) -> Result<Vec<(String, Vec<u8>)>, SubmitError> {
    let mut out = Vec::new();
    for (zrzh, units) in &doc.units {
        if units.table.current().next().is_none() {
            continue;
        }
        let csv = write_csv(&units.table).map_err(|e| {
            SubmitError::Export(format!("楼盘表 {zrzh} 无法导出 building table cannot be written: {e}"))
        })?;
        out.push((format!("{BUILDINGS_DIR}/{zrzh}.csv"), csv));
        if !units.plan.floors.is_empty() {
            out.push((format!("{BUILDINGS_DIR}/{zrzh}.floorplan.json"), units.plan.to_json().into_bytes()));
        }
        match units.staleness() {
            Staleness::NeverRun => {}
            Staleness::Current => {
                if let Some(input) = &units.setup.last_run {
                    let json = serde_json::to_vec_pretty(input).map_err(|e| SubmitError::Export(e.to_string()))?;
                    out.push((format!("{BUILDINGS_DIR}/{zrzh}.apportion.json"), json));
                }
            }
            Staleness::Stale => {
                return Err(SubmitError::Export(format!(
                    "自然幢 {zrzh} 的分摊已过期（面积或共有部位已修改），请重新运行分摊后再导出                      the apportionment of building {zrzh} is stale: run it again before exporting"
                )))
            }
            Staleness::Invalid(e) => {
                return Err(SubmitError::Export(format!(
                    "自然幢 {zrzh} 无法分摊，请先改正 the apportionment of building {zrzh} cannot run: {e}"
                )))
            }
        }
    }
    Ok(out)
}

/// Manifest fields of an export.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportOptions {
    /// County (6 digits); `None`: from the parcel and sub-district codes.
    pub county: Option<String>,
    /// 项目名称.
    pub project: String,
    /// 测绘单位.
    pub survey_firm: String,
    /// 业务类型.
    pub business_kind: BusinessKind,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The manifest written.
    pub manifest: Manifest,
    /// The check report packed with it.
    pub report: Report,
    /// Size of the package, bytes.
    pub bytes: u64,
}

/// The county of the data: the first six digits of its real parcel codes, else of its
/// sub-district codes; one county only.
pub fn county_of(sub: &Submission) -> Result<String, SubmitError> {
    let mut counties: Vec<String> = sub
        .parcels
        .iter()
        .filter_map(|p| p.zddm.trim().parse::<ParcelCode>().ok().map(|c| c.county()))
        .chain(
            sub.subdistricts.iter().filter_map(|s| s.djzqdm.trim().parse::<SubdistrictCode>().ok().map(|c| c.county())),
        )
        .map(|c| c.as_str().to_owned())
        .collect();
    counties.sort();
    counties.dedup();
    match counties.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(SubmitError::Export("没有宗地代码或地籍子区代码能确定县级行政区，请在导出设置中填写".into())),
        many => Err(SubmitError::Export(format!(
            "数据属于 {} 个县级行政区（{}），一个成果包只能有一个",
            many.len(),
            many.join("、")
        ))),
    }
}

/// Checks `doc` with `config` and writes its result package to `out`.
pub fn export_package(
    doc: &Document,
    options: &ExportOptions,
    config: &QcConfig,
    out: &Path,
) -> Result<Exported, SubmitError> {
    let sub = doc.to_submission();
    if sub.parcels.is_empty() {
        return Err(SubmitError::Export("项目中没有宗地".into()));
    }
    let county = match &options.county {
        Some(c) if !c.trim().is_empty() => c.trim().to_owned(),
        _ => county_of(&sub)?,
    };
    let tables = building_members(doc)?;
    let packed = check_for_package(&sub, config);
    let layers = tempfile::Builder::new()
        .prefix("survey-desktop-export-")
        .tempdir()
        .map_err(|e| SubmitError::Io(format!("临时目录 temporary folder: {e}")))?;
    write_shapefiles(&sub, layers.path(), TextEncoding::Utf8).map_err(|e| SubmitError::Export(e.to_string()))?;
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp =
        tempfile::NamedTempFile::new_in(parent).map_err(|e| SubmitError::Io(format!("{}: {e}", parent.display())))?;
    let mut writer = PackageWriter::new(std::io::BufWriter::new(tmp.as_file_mut()));
    let mut files: Vec<_> = std::fs::read_dir(layers.path())
        .map_err(|e| SubmitError::Io(e.to_string()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let bytes = std::fs::read(&path).map_err(|e| SubmitError::Io(format!("{}: {e}", path.display())))?;
        writer.add_file(&name, &bytes).map_err(|e| SubmitError::Export(e.to_string()))?;
    }
    for (name, bytes) in &tables {
        writer.add_file(name, bytes).map_err(|e| SubmitError::Export(e.to_string()))?;
    }
    writer.add_qc_report(&packed).map_err(|e| SubmitError::Export(e.to_string()))?;
    let mut manifest = Manifest::new(&county);
    manifest.project = options.project.clone();
    manifest.survey_firm = options.survey_firm.clone();
    manifest.business_kind = options.business_kind;
    manifest.created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (manifest, mut buf) = writer.finish(manifest).map_err(|e| SubmitError::Export(e.to_string()))?;
    buf.flush().map_err(|e| SubmitError::Io(e.to_string()))?;
    drop(buf);
    let bytes = tmp.as_file().metadata().map(|m| m.len()).unwrap_or(0);
    tmp.as_file().sync_all().map_err(|e| SubmitError::Io(e.to_string()))?;
    tmp.persist(out).map_err(|e| SubmitError::Io(format!("{}: {}", out.display(), e.error)))?;
    Ok(Exported { manifest, report: packed.report, bytes })
}
