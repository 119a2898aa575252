//! One shapefile layer (.shp + .dbf, optional .cpg, .prj; the .shx is not needed)
//! read into a [`RawLayer`].

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::dbf::{Dbf, Value};
use super::mapping::{RawFeature, RawLayer};
use super::shp::{self, RawShape};
use super::{encoding, LoadError, LoadOptions};
use crate::model::{Layer, LoadIssue, LoadIssueKind};

/// Records decoded per chunk: the raw attribute values of a whole county-sized layer never sit in
/// memory next to the mapped model objects (this was most of the loader's peak memory).
const CHUNK: usize = 1 << 16;

/// What reading one shapefile gives besides its features (which go to the `consume` callback).
#[derive(Debug)]
pub(crate) struct ShapefileRead {
    /// Layer-level issues (encoding guessed, count mismatch, no .prj).
    pub issues: Vec<LoadIssue>,
    /// The .prj text, if any.
    pub prj: Option<String>,
}

/// A sibling file with another extension, matched case-insensitively.
pub(crate) fn sibling(shp: &Path, ext: &str) -> Option<PathBuf> {
    let stem = shp.file_stem()?;
    let dir = shp.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let exact = dir.join(stem).with_extension(ext);
    if exact.is_file() {
        return Some(exact);
    }
    std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| {
        p.file_stem() == Some(stem)
            && p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case(ext))
            && p.is_file()
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })
}

fn read_text(path: &Path) -> Result<String, LoadError> {
    let bytes = read_file(path)?;
    Ok(String::from_utf8_lossy(&bytes).trim_start_matches('\u{feff}').trim().to_owned())
}

/// Read one shapefile layer, handing its features to `consume` in record order, in chunks
/// (at least one call, possibly with no features, so that an empty layer is still mapped).
pub(crate) fn read(
    shp_path: &Path,
    layer: Layer,
    options: &LoadOptions,
    consume: &mut dyn FnMut(RawLayer),
) -> Result<ShapefileRead, LoadError> {
    let corrupt = |path: &Path, detail: String| LoadError::Corrupt { path: path.to_path_buf(), detail };
    let shp_data = read_file(shp_path)?;
    shp::read_header(&shp_data).map_err(|e| corrupt(shp_path, e.0))?;
    let spans = shp::record_spans(&shp_data).map_err(|e| corrupt(shp_path, e.0))?;
    let dbf_path = sibling(shp_path, "dbf");
    let dbf = match &dbf_path {
        Some(p) => Dbf::parse(read_file(p)?).map_err(|e| corrupt(p, e))?,
        None => Dbf::empty(),
    };
    let source = shp_path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut issues = Vec::new();
    let mut layer_issue = |kind: LoadIssueKind, message: String| {
        issues.push(LoadIssue { layer, source: source.clone(), source_index: None, code: None, kind, message });
    };

    if dbf_path.is_none() {
        layer_issue(
            LoadIssueKind::MissingAttributeTable,
            "missing .dbf (attribute table): geometry read without attributes".into(),
        );
    }
    let cpg = sibling(shp_path, "cpg").map(|p| read_text(&p)).transpose()?;
    let chosen = encoding::choose(options.encoding, cpg.as_deref(), dbf.ldid, || dbf.text_samples())
        .map_err(|detail| LoadError::Encoding { path: dbf_path.clone().unwrap_or_default(), detail })?;
    if let Some(reason) = &chosen.guessed {
        layer_issue(
            LoadIssueKind::EncodingGuessed { used: chosen.encoding.name().to_owned(), reason: reason.clone() },
            format!("read as {}: {reason}", chosen.encoding.name()),
        );
    }
    let enc = chosen.encoding;
    let field_names: Vec<String> = dbf.fields.iter().map(|f| enc.decode(&f.name).0.trim().to_owned()).collect();

    let (shapes, records) = (spans.len(), dbf.records);
    if dbf_path.is_some() && (shapes != records || dbf.declared_records != dbf.records) {
        layer_issue(
            LoadIssueKind::RecordCountMismatch { shapes, records: dbf.declared_records },
            format!(
                "{shapes} shapes but the .dbf declares {} records ({} present); unmatched records are reported one by one",
                dbf.declared_records, dbf.records
            ),
        );
    }
    let prj = sibling(shp_path, "prj").map(|p| read_text(&p)).transpose()?;
    if prj.is_none() {
        layer_issue(LoadIssueKind::MissingPrj, "no .prj: the coordinate reference system is not declared".into());
    }

    let total = shapes.max(records);
    let mut first = 0;
    loop {
        let end = (first + CHUNK).min(total);
        let features: Vec<RawFeature> = (first..end)
            .into_par_iter()
            .map(|i| {
                let shape = spans
                    .get(i)
                    .map_or(RawShape::Null, |&(start, len)| shp::parse_record(&shp_data[start..start + len]));
                let values: Vec<Value> = dbf
                    .record(i)
                    .map(|rec| dbf.fields.iter().map(|f| dbf.value(rec, f, enc)).collect())
                    .unwrap_or_default();
                RawFeature { index: i, shape, values }
            })
            .collect();
        consume(RawLayer { source: source.clone(), field_names: field_names.clone(), features });
        first = end;
        if first >= total {
            break;
        }
    }
    Ok(ShapefileRead { issues, prj })
}
