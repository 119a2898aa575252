//! What to import: the layers of a folder / `.shp` / GeoPackage, checked before
//! anything is written (a file that cannot be read must not leave half an import).

use std::path::{Path, PathBuf};

use cadastre_core::crs::Crs;
use cadastre_core::io::layer_for_name;
use cadastre_core::model::Layer;

use super::ImportError;

/// Import order: containers before contents, so a partial run leaves districts
/// and sub-districts that the loaded parcels lie in.
pub const LAYER_ORDER: [Layer; 4] = [Layer::Districts, Layer::Subdistricts, Layer::Parcels, Layer::Buildings];

/// One layer to import.
#[derive(Debug, Clone)]
pub struct LayerSource {
    /// Which standard layer.
    pub layer: Layer,
    /// The `.shp`, or the GeoPackage holding the layer.
    pub path: PathBuf,
    /// Whether `path` is a shapefile (streamed in chunks) or a GDAL source (one chunk).
    pub shapefile: bool,
    /// Records declared by the .dbf header (for the progress bar), when known.
    pub records: Option<u64>,
    /// The declared CRS (.prj), when there is one.
    pub crs: Option<Crs>,
}

fn has_ext(p: &Path, ext: &str) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// A sibling with another extension, matched case-insensitively (`ZD.SHP` + `zd.dbf` happens).
pub(crate) fn sibling(shp: &Path, ext: &str) -> Option<PathBuf> {
    cadastre_core::io::shapefile_sibling(shp, ext)
}

/// Finds the layers under `path` and checks each shapefile's header, companions and CRS.
///
/// `assume_crs` stands in for a missing .prj (`--assume-srid`); without it a layer
/// without .prj is refused, because guessing the CRS silently would misplace data.
pub fn discover(path: &Path, assume_crs: Option<&Crs>) -> Result<Vec<LayerSource>, ImportError> {
    if !path.exists() {
        return Err(ImportError::input(path, "no such file or folder"));
    }
    let mut found: Vec<(Layer, PathBuf)> = Vec::new();
    let mut gpkg = None;
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| ImportError::input(path, e.to_string()))?;
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for f in &files {
            if has_ext(f, "shp") {
                let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                if let Some(layer) = layer_for_name(&stem) {
                    if !found.iter().any(|(l, _)| *l == layer) {
                        found.push((layer, f.clone()));
                    }
                }
            }
        }
        if found.is_empty() {
            gpkg = files.iter().find(|p| has_ext(p, "gpkg")).cloned();
        }
    } else if has_ext(path, "shp") {
        // A single .shp is the parcel layer unless its name says otherwise.
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        found.push((layer_for_name(&stem).unwrap_or(Layer::Parcels), path.to_path_buf()));
    } else if has_ext(path, "gpkg") {
        gpkg = Some(path.to_path_buf());
    } else {
        return Err(ImportError::input(path, "not a folder, .shp or .gpkg"));
    }
    if let Some(g) = gpkg {
        // GDAL path: stream_layer reads each layer of a GeoPackage in one chunk.
        return Ok(LAYER_ORDER
            .iter()
            .map(|&layer| LayerSource { layer, path: g.clone(), shapefile: false, records: None, crs: None })
            .collect());
    }
    if found.is_empty() {
        return Err(ImportError::input(path, "no ZD / ZRZ / DJZQ / DJQ shapefile found"));
    }
    let mut out = Vec::new();
    for layer in LAYER_ORDER {
        if let Some((_, shp)) = found.iter().find(|(l, _)| *l == layer) {
            out.push(check_shapefile(layer, shp, assume_crs)?);
        }
    }
    Ok(out)
}

/// Shape types a polygon layer may have: null, polygon, polygonZ, polygonM.
const POLYGON_TYPES: [i32; 4] = [0, 5, 15, 25];

fn shape_type_name(t: i32) -> &'static str {
    match t {
        1 | 11 | 21 => "points",
        3 | 13 | 23 => "lines",
        8 | 18 | 28 => "multipoints",
        31 => "multipatches",
        _ => "unknown shapes",
    }
}

fn check_shapefile(layer: Layer, shp: &Path, assume_crs: Option<&Crs>) -> Result<LayerSource, ImportError> {
    use std::io::Read;
    let name = layer.standard_name();
    let mut header = [0u8; 100];
    let meta = std::fs::metadata(shp).map_err(|e| ImportError::input(shp, e.to_string()))?;
    let mut f = std::fs::File::open(shp).map_err(|e| ImportError::input(shp, e.to_string()))?;
    f.read_exact(&mut header)
        .map_err(|_| ImportError::input(shp, "truncated: shorter than the 100-byte shapefile header"))?;
    let be = |i: usize| i32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let le = |i: usize| i32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    if be(0) != 9994 {
        return Err(ImportError::input(shp, "not a shapefile (bad file code)"));
    }
    let declared = u64::try_from(be(24)).unwrap_or(0) * 2;
    // Refused before anything is written: a big layer is written in batches, and a record
    // cut off near the end would otherwise surface after the first batches were stored. A
    // header that only lies about the length, over whole records, is read; the loader
    // reports it (`input.load`) as it does for `cadastre check`.
    if declared > meta.len() {
        if let Some(record) = first_cut_record(shp, meta.len()).map_err(|e| ImportError::input(shp, e.to_string()))? {
            return Err(ImportError::input(
                shp,
                format!(
                    "truncated: the header declares {declared} bytes, the file has {}, and record {record} runs past its end",
                    meta.len()
                ),
            ));
        }
    }
    let shape_type = le(32);
    if !POLYGON_TYPES.contains(&shape_type) {
        return Err(ImportError::input(
            shp,
            format!(
                "layer {name} must hold polygons, this file holds {} (shape type {shape_type})",
                shape_type_name(shape_type)
            ),
        ));
    }
    let dbf = sibling(shp, "dbf").ok_or_else(|| {
        ImportError::input(shp, "missing .dbf (attribute table): without it no feature has a code to load by")
    })?;
    let records = read_dbf_count(&dbf)?;
    let crs = match sibling(shp, "prj") {
        Some(prj) => {
            let text = std::fs::read(&prj).map_err(|e| ImportError::input(&prj, e.to_string()))?;
            let text = String::from_utf8_lossy(&text);
            let crs = Crs::from_wkt(text.trim_start_matches('\u{feff}').trim());
            if !crs.is_understood() {
                let detail: String = text.chars().take(80).collect();
                return Err(ImportError::input(&prj, format!("CRS not understood ({detail}); pass --assume-srid N")));
            }
            Some(crs)
        }
        None => {
            match assume_crs {
                Some(c) => Some(c.clone()),
                None => return Err(ImportError::input(
                    shp,
                    "no .prj: the coordinate system is not declared; pass --assume-srid N (e.g. 4549) if you know it",
                )),
            }
        }
    };
    Ok(LayerSource { layer, path: shp.to_path_buf(), shapefile: true, records: Some(records), crs })
}

/// The number (1-based) of the first record of a .shp of `file_len` bytes that runs past
/// the end of the file, walking the 8-byte record headers; `None` when every record is whole.
fn first_cut_record(shp: &Path, file_len: u64) -> std::io::Result<Option<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut r = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(shp)?);
    r.seek(SeekFrom::Start(100))?;
    let (mut pos, mut record) = (100u64, 0u64);
    while pos < file_len {
        record += 1;
        let mut head = [0u8; 8];
        if pos + 8 > file_len {
            return Ok(Some(record));
        }
        r.read_exact(&mut head)?;
        let words = u64::from(u32::from_be_bytes([head[4], head[5], head[6], head[7]]));
        let end = pos + 8 + words * 2;
        if end > file_len {
            return Ok(Some(record));
        }
        r.seek_relative(i64::try_from(words * 2).unwrap_or(i64::MAX))?;
        pos = end;
    }
    Ok(None)
}

/// Record count from a .dbf header (bytes 4..8), for the progress bar's total.
fn read_dbf_count(dbf: &Path) -> Result<u64, ImportError> {
    use std::io::Read;
    let mut head = [0u8; 32];
    let mut f = std::fs::File::open(dbf).map_err(|e| ImportError::input(dbf, e.to_string()))?;
    f.read_exact(&mut head).map_err(|_| ImportError::input(dbf, "truncated .dbf header"))?;
    Ok(u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_past_the_end_is_found_and_whole_records_are_not() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let shp = dir.path().join("x.shp");
        // A 100-byte header, then two records of 4 and 2 content bytes.
        let mut bytes = vec![0u8; 100];
        for (n, content) in [(1u32, 4u32), (2, 2)] {
            bytes.extend(n.to_be_bytes());
            bytes.extend((content / 2).to_be_bytes());
            bytes.extend(vec![0u8; content as usize]);
        }
        std::fs::write(&shp, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let len = bytes.len() as u64;
        assert_eq!(first_cut_record(&shp, len).ok(), Some(None));
        std::fs::write(&shp, &bytes[..bytes.len() - 1]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first_cut_record(&shp, len - 1).ok(), Some(Some(2)));
        std::fs::write(&shp, &bytes[..114]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first_cut_record(&shp, 114).ok(), Some(Some(2)));
    }

    #[test]
    fn shape_type_names() {
        assert_eq!(shape_type_name(1), "points");
        assert_eq!(shape_type_name(13), "lines");
        assert!(POLYGON_TYPES.contains(&5));
    }
}
