//! Reading and writing submissions: shapefile folders (DBF encoding from .cpg or
//! detected), GeoPackage and other formats through GDAL (feature `gdal`). Shapefiles are
//! written feature by feature by [`ShapefileWriter`]; [`write_shapefiles`] writes a whole
//! submission through it.
//!
//! ```no_run
//! use cadastre_core::io::{load_submission, LoadOptions};
//! let sub = load_submission("district/".as_ref(), &LoadOptions::default())?;
//! println!("{} parcels, {} load issues", sub.parcels.len(), sub.load_issues.len());
//! # Ok::<(), cadastre_core::io::LoadError>(())
//! ```

mod dbf;
mod dbf_writer;
mod encoding;
mod error;
#[cfg(feature = "gdal")]
mod gdal_io;
mod mapping;
mod options;
mod prj;
mod shapefile;
mod shapefile_writer;
mod shp;
mod shp_writer;
mod write;

pub use dbf_writer::{Cell, DbfDate, Field, FieldKind};
pub use encoding::TextEncoding;
pub use error::{LoadError, WriteError};
pub use options::{FieldAliases, LoadOptions};
pub use prj::esri_wkt;
pub use shapefile_writer::{ShapefileOptions, ShapefileWriter};
pub use shp_writer::Winding;
#[cfg(feature = "gdal")]
pub use write::write_gpkg;
pub use write::write_shapefiles;

use std::path::{Path, PathBuf};

use geo_types::Rect;

use crate::crs::Crs;
use crate::model::{Layer, LoadIssue, LoadIssueKind, Submission};
use mapping::RawLayer;

/// An encoding from a .cpg / `--encoding` name: `GBK`, `CP936`, `936`, `UTF-8`, `65001`,
/// `ISO-8859-1`, `latin1`, `1252`, `ANSI 1250`, ... Returns `None` when unknown.
///
/// ```
/// use cadastre_core::io::encoding_from_name;
/// assert_eq!(encoding_from_name("936").map(|e| e.name()), Some("GBK"));
/// assert_eq!(encoding_from_name("65001").map(|e| e.name()), Some("UTF-8"));
/// ```
pub fn encoding_from_name(name: &str) -> Option<&'static encoding_rs::Encoding> {
    encoding::from_name(name)
}

/// The file beside a shapefile with another extension (`dbf`, `prj`, `cpg`...), its stem and
/// extension matched case-insensitively.
///
/// ```
/// use std::path::Path;
/// let dbf = cadastre_core::io::shapefile_sibling(Path::new("../samples/district/ZD.shp"), "DBF");
/// assert!(dbf.is_some_and(|p| p.ends_with("ZD.dbf")));
/// ```
pub fn shapefile_sibling(shp: &Path, ext: &str) -> Option<PathBuf> {
    shapefile::sibling(shp, ext)
}

/// Names a layer's file (stem) or GeoPackage table may have, compared case-insensitively.
pub fn layer_names(layer: Layer) -> &'static [&'static str] {
    match layer {
        Layer::Parcels => &["ZD", "ZDJBXX", "宗地", "宗地基本信息", "parcel", "parcels"],
        Layer::Buildings => &["ZRZ", "自然幢", "building", "buildings"],
        Layer::Subdistricts => &["DJZQ", "地籍子区", "subdistrict", "subdistricts"],
        Layer::Districts => &["DJQ", "地籍区", "district", "districts"],
    }
}

/// Which standard layer a file stem / table name is, if any.
pub fn layer_for_name(name: &str) -> Option<Layer> {
    let name = name.trim();
    [Layer::Parcels, Layer::Buildings, Layer::Subdistricts, Layer::Districts].into_iter().find(|&l| {
        layer_names(l).iter().any(|n| n.eq_ignore_ascii_case(name) || n.to_lowercase() == name.to_lowercase())
    })
}

fn has_ext(p: &Path, ext: &str) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// Load a submission from a folder of ZD/ZRZ/DJZQ/DJQ shapefiles, a single `.shp`
/// (read as the parcel layer), or a GeoPackage / other GDAL data source.
///
/// Unreadable files are a [`LoadError`]; problems with single features become
/// [`Submission::load_issues`]. A parcel layer is required; the others are
/// reported as `MissingLayer` issues when absent.
pub fn load_submission(path: &Path, options: &LoadOptions) -> Result<Submission, LoadError> {
    if !path.exists() {
        return Err(LoadError::NotFound(path.to_path_buf()));
    }
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })?;
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        let shps: Vec<&PathBuf> = files.iter().filter(|p| has_ext(p, "shp")).collect();
        if shps.is_empty() {
            if let Some(gpkg) = files.iter().find(|p| has_ext(p, "gpkg")) {
                return load_gdal(gpkg, options);
            }
            return Err(LoadError::NoParcelLayer(path.to_path_buf()));
        }
        let mut found: Vec<(Layer, &Path)> = Vec::new();
        for shp in shps {
            let stem = shp.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if let Some(layer) = layer_for_name(&stem) {
                if !found.iter().any(|(l, _)| *l == layer) {
                    found.push((layer, shp));
                }
            }
        }
        if !found.iter().any(|(l, _)| *l == Layer::Parcels) {
            return Err(LoadError::NoParcelLayer(path.to_path_buf()));
        }
        return load_shapefiles(&found, options);
    }
    if has_ext(path, "shp") {
        return load_shapefiles(&[(Layer::Parcels, path)], options);
    }
    // A shapefile component (.dbf, .shx, .prj, .cpg...) stands for its .shp.
    if let Some(shp) = shapefile::sibling(path, "shp") {
        return load_shapefiles(&[(Layer::Parcels, &shp)], options);
    }
    load_gdal(path, options)
}

/// One layer read on its own: its objects, what the reader reported, and the mapping's issues.
type LayerRead = (Submission, shapefile::ShapefileRead, Vec<LoadIssue>);

fn load_shapefiles(layers: &[(Layer, &Path)], options: &LoadOptions) -> Result<Submission, LoadError> {
    use rayon::prelude::*;
    // The layers are read at the same time: each one's reading is parallel already, but has
    // sequential stretches (file reads, record scan) that the other layer's work fills.
    let read: Vec<Result<LayerRead, LoadError>> = layers
        .par_iter()
        .map(|&(layer, path)| {
            let read_layer = |trust_cpg| -> Result<LayerRead, LoadError> {
                let mut part = Submission::default();
                let mut mapped_issues = Vec::new();
                let read = shapefile::read(path, layer, options, trust_cpg, &mut |raw| {
                    reserve(&mut part, layer, raw.total);
                    let issues = add_layer(&mut part, layer, raw, options);
                    merge_chunk_issues(&mut mapped_issues, issues);
                })?;
                Ok((part, read, mapped_issues))
            };
            // The .cpg on trust first; when its text does not fit, what was read is dropped and
            // the layer read again, the encoding chosen by scanning the table first.
            let first = read_layer(true)?;
            if first.1.cpg_rejected {
                drop(first);
                return read_layer(false);
            }
            Ok(first)
        })
        .collect();
    // Put together in layer order, so that issues (and the first error) come as if read in turn.
    let mut sub = Submission::default();
    for (&(layer, _), result) in layers.iter().zip(read) {
        let (part, read, mapped_issues) = result?;
        take_all(&mut sub.parcels, part.parcels);
        take_all(&mut sub.buildings, part.buildings);
        take_all(&mut sub.subdistricts, part.subdistricts);
        take_all(&mut sub.districts, part.districts);
        sub.load_issues.extend(read.issues);
        sub.load_issues.extend(mapped_issues);
        if layer == Layer::Parcels {
            sub.crs = read.crs;
        }
    }
    finish(&mut sub, layers.iter().map(|(l, _)| *l).collect(), "ZD");
    Ok(sub)
}

/// Append `src` to `dst`, moving the vector itself when `dst` is empty (a county's layer is
/// hundreds of MB: copying it would touch as much fresh memory again).
fn take_all<T>(dst: &mut Vec<T>, src: Vec<T>) {
    if dst.is_empty() {
        *dst = src;
    } else {
        dst.extend(src);
    }
}

/// Room for a whole layer at its first chunk: growing a county-sized vector by doubling
/// copies it and touches twice the memory.
fn reserve(sub: &mut Submission, layer: Layer, total: usize) {
    fn room<T>(v: &mut Vec<T>, total: usize) {
        v.reserve(total.saturating_sub(v.len()));
    }
    match layer {
        Layer::Parcels => room(&mut sub.parcels, total),
        Layer::Buildings => room(&mut sub.buildings, total),
        Layer::Subdistricts => room(&mut sub.subdistricts, total),
        Layer::Districts => room(&mut sub.districts, total),
    }
}

/// What [`stream_layer`] reports besides the chunks: layer-level issues and the CRS.
#[derive(Debug, Default)]
pub struct LayerInfo {
    /// Layer-level issues (encoding guessed, record-count mismatch, no .prj, CRS not understood).
    pub issues: Vec<LoadIssue>,
    /// The layer's declared CRS, if any.
    pub crs: Option<Crs>,
    /// Total records seen (features handed over plus records that became per-feature issues).
    pub records: usize,
}

/// Read one layer in chunks, for importers that must not hold a county in memory.
///
/// Each chunk arrives as a [`Submission`] holding only that layer's objects and the
/// per-feature issues of its records (`source_index` is the record's index in the file), in
/// record order. `path` is a `.shp` file (read in bounded chunks) or a GDAL data source
/// (GeoPackage...), whose layer `layer` is read and handed over in one chunk.
///
/// ```no_run
/// use cadastre_core::io::{stream_layer, LoadOptions};
/// use cadastre_core::model::Layer;
/// let mut parcels = 0;
/// let info = stream_layer("ZD.shp".as_ref(), Layer::Parcels, &LoadOptions::default(), &mut |chunk| {
///     parcels += chunk.parcels.len();
/// })?;
/// println!("{parcels} parcels, CRS {:?}", info.crs.map(|c| c.epsg));
/// # Ok::<(), cadastre_core::io::LoadError>(())
/// ```
pub fn stream_layer(
    path: &Path,
    layer: Layer,
    options: &LoadOptions,
    consume: &mut dyn FnMut(Submission),
) -> Result<LayerInfo, LoadError> {
    if !path.exists() {
        return Err(LoadError::NotFound(path.to_path_buf()));
    }
    let shp = if has_ext(path, "shp") { Some(path.to_path_buf()) } else { shapefile::sibling(path, "shp") };
    let Some(shp) = shp else {
        let mut sub = load_gdal(path, options)?;
        let mut info = LayerInfo { crs: sub.crs.take(), ..LayerInfo::default() };
        let (layer_level, per_feature): (Vec<LoadIssue>, Vec<LoadIssue>) = std::mem::take(&mut sub.load_issues)
            .into_iter()
            .filter(|i| i.layer == layer)
            .partition(|i| i.source_index.is_none());
        info.issues = layer_level;
        sub.load_issues = per_feature;
        keep_only(&mut sub, layer);
        info.records = layer_len(&sub, layer) + sub.load_issues.len();
        consume(sub);
        return Ok(info);
    };
    let mut seen_layer_issues = Vec::new();
    let mut records = 0;
    // Chunks already handed to the consumer cannot be taken back: the .cpg is checked first.
    let read = shapefile::read(&shp, layer, options, false, &mut |raw| {
        records += raw.features.len();
        let mut chunk = Submission::default();
        let issues = add_layer(&mut chunk, layer, raw, options);
        for issue in issues {
            if issue.source_index.is_none() {
                if !seen_layer_issues.contains(&issue) {
                    seen_layer_issues.push(issue);
                }
            } else {
                chunk.load_issues.push(issue);
            }
        }
        consume(chunk);
    })?;
    let mut info = LayerInfo { issues: read.issues, crs: read.crs, records };
    info.issues.extend(seen_layer_issues);
    if let Some(crs) = &info.crs {
        if !crs.is_understood() && !read.crs_unreadable {
            let detail: String = crs.wkt.as_deref().unwrap_or_default().chars().take(80).collect();
            let msg = format!("CRS not understood: {detail}");
            let source = shp.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            info.issues.push(layer_issue(layer, &source, LoadIssueKind::UnknownCrs { detail }, &msg));
        }
    }
    Ok(info)
}

fn keep_only(sub: &mut Submission, layer: Layer) {
    if layer != Layer::Parcels {
        sub.parcels.clear();
    }
    if layer != Layer::Buildings {
        sub.buildings.clear();
    }
    if layer != Layer::Subdistricts {
        sub.subdistricts.clear();
    }
    if layer != Layer::Districts {
        sub.districts.clear();
    }
}

fn layer_len(sub: &Submission, layer: Layer) -> usize {
    match layer {
        Layer::Parcels => sub.parcels.len(),
        Layer::Buildings => sub.buildings.len(),
        Layer::Subdistricts => sub.subdistricts.len(),
        Layer::Districts => sub.districts.len(),
    }
}

/// Every standard layer of a GDAL data source, with its CRS.
#[cfg(feature = "gdal")]
fn read_gdal(path: &Path) -> Result<Vec<(Layer, RawLayer, Option<Crs>)>, LoadError> {
    gdal_io::read(path)
}

/// Without GDAL only shapefiles can be read.
#[cfg(not(feature = "gdal"))]
fn read_gdal(path: &Path) -> Result<Vec<(Layer, RawLayer, Option<Crs>)>, LoadError> {
    Err(LoadError::Gdal {
        path: path.to_path_buf(),
        detail: "not a shapefile, and this build reads other formats only with cadastre-core's `gdal` feature"
            .to_owned(),
    })
}

fn load_gdal(path: &Path, options: &LoadOptions) -> Result<Submission, LoadError> {
    let mut sub = Submission::default();
    let read = read_gdal(path)?;
    let mut present = Vec::new();
    for (layer, mut raw, crs) in read {
        if layer == Layer::Parcels {
            sub.crs = crs;
            if sub.crs.is_none() {
                sub.load_issues.push(layer_issue(
                    layer,
                    &raw.source,
                    LoadIssueKind::MissingPrj,
                    "the layer declares no CRS",
                ));
            }
        }
        let issues = add_layer(&mut sub, layer, &mut raw, options);
        sub.load_issues.extend(issues);
        present.push(layer);
    }
    if !present.contains(&Layer::Parcels) {
        return Err(LoadError::NoParcelLayer(path.to_path_buf()));
    }
    finish(&mut sub, present, "ZD");
    Ok(sub)
}

/// Map one layer (or one chunk of it) and append its objects; returns the mapping's issues.
fn add_layer(sub: &mut Submission, layer: Layer, raw: &mut RawLayer, options: &LoadOptions) -> Vec<LoadIssue> {
    let aliases = &options.aliases;
    match layer {
        Layer::Parcels => mapping::parcels(raw, aliases, &mut sub.parcels),
        Layer::Buildings => mapping::buildings(raw, aliases, &mut sub.buildings),
        Layer::Subdistricts => mapping::subdistricts(raw, aliases, &mut sub.subdistricts),
        Layer::Districts => mapping::districts(raw, aliases, &mut sub.districts),
    }
}

/// Append one chunk's issues; layer-level ones (missing field, Z/M dropped) are reported by
/// every chunk, so keep each only once.
fn merge_chunk_issues(all: &mut Vec<LoadIssue>, chunk: Vec<LoadIssue>) {
    for issue in chunk {
        if issue.source_index.is_none() && all.contains(&issue) {
            continue;
        }
        all.push(issue);
    }
}

fn layer_issue(layer: Layer, source: &str, kind: LoadIssueKind, message: &str) -> LoadIssue {
    LoadIssue { layer, source: source.to_owned(), source_index: None, code: None, kind, message: message.to_owned() }
}

/// Missing layers, CRS understanding and coordinate plausibility.
fn finish(sub: &mut Submission, present: Vec<Layer>, parcel_source: &str) {
    for layer in [Layer::Buildings, Layer::Subdistricts, Layer::Districts] {
        if !present.contains(&layer) {
            let msg = format!("no {} layer in the submission", layer.standard_name());
            sub.load_issues.push(layer_issue(layer, layer.standard_name(), LoadIssueKind::MissingLayer, &msg));
        }
    }
    let Some(crs) = &sub.crs else { return };
    let unreadable = sub
        .load_issues
        .iter()
        .any(|i| i.layer == Layer::Parcels && matches!(i.kind, LoadIssueKind::UnreadableCrs { .. }));
    if unreadable {
        // Already reported, as unreadable rather than not understood.
        return;
    }
    if !crs.is_understood() {
        let detail: String = crs.wkt.as_deref().unwrap_or_default().chars().take(80).collect();
        let msg = format!("CRS not understood: {detail}");
        sub.load_issues.push(layer_issue(Layer::Parcels, parcel_source, LoadIssueKind::UnknownCrs { detail }, &msg));
        return;
    }
    if let Some(bbox) = parcels_bbox(sub) {
        for reason in crs.implausibility(&bbox) {
            let kind = LoadIssueKind::ImplausibleCoordinates { reason: reason.clone() };
            sub.load_issues.push(layer_issue(Layer::Parcels, parcel_source, kind, &reason));
        }
    }
}

/// Bounding box of all parcels ([`Submission::parcels_bbox`]).
pub fn parcels_bbox(sub: &Submission) -> Option<Rect<f64>> {
    sub.parcels_bbox()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(kind: LoadIssueKind, index: Option<usize>) -> LoadIssue {
        LoadIssue {
            layer: Layer::Parcels,
            source: "ZD.shp".into(),
            source_index: index,
            code: None,
            kind,
            message: "m".into(),
        }
    }

    #[test]
    fn chunked_issues_keep_layer_level_ones_once_and_every_feature_issue() {
        let missing = || issue(LoadIssueKind::MissingField { field: "ZL".into() }, None);
        let null = |i| issue(LoadIssueKind::NullGeometry, Some(i));
        let mut all = Vec::new();
        merge_chunk_issues(&mut all, vec![missing(), null(3)]);
        merge_chunk_issues(&mut all, vec![missing(), null(70_000), issue(LoadIssueKind::ZmDropped, None)]);
        merge_chunk_issues(&mut all, vec![missing(), issue(LoadIssueKind::ZmDropped, None), null(70_000)]);
        let kinds: Vec<(bool, Option<usize>)> =
            all.iter().map(|i| (matches!(i.kind, LoadIssueKind::MissingField { .. }), i.source_index)).collect();
        // Layer-level issues once each; a feature issue is never dropped, even if equal.
        assert_eq!(
            kinds,
            [(true, None), (false, Some(3)), (false, Some(70_000)), (false, None), (false, Some(70_000))]
        );
    }
}
