//! Writing a submission: shapefiles (GBK or UTF-8 DBF with a matching .cpg, .prj from the
//! CRS) through [`ShapefileWriter`], and GeoPackage through GDAL (feature `gdal`).

use std::path::Path;

use geo_types::MultiPolygon;

use super::dbf_writer::{write_fixed, Cell, Field};
use super::error::WriteError;
use super::prj::esri_wkt;
use super::shapefile_writer::{ShapefileOptions, ShapefileWriter};
use super::{LoadError, TextEncoding};
use crate::model::Submission;

/// A column of a standard table: text, or a number with its decimals.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub name: &'static str,
    pub decimals: Option<u8>,
}

const fn text(name: &'static str) -> Column {
    Column { name, decimals: None }
}

const fn number(name: &'static str, decimals: u8) -> Column {
    Column { name, decimals: Some(decimals) }
}

/// A layer to write: its columns and rows of (geometry, one cell per column).
pub(crate) struct Table<'a> {
    pub name: &'static str,
    pub columns: &'static [Column],
    pub rows: Vec<(&'a MultiPolygon<f64>, Vec<Cell<'a>>)>,
}

fn t(s: &Option<String>) -> Cell<'_> {
    s.as_deref().map_or(Cell::Null, Cell::Text)
}

fn n(v: Option<f64>) -> Cell<'static> {
    v.map_or(Cell::Null, Cell::Number)
}

fn int(v: Option<i64>) -> Cell<'static> {
    // Floor counts are small; f64 holds them exactly.
    #[allow(clippy::cast_precision_loss)]
    v.map_or(Cell::Null, |v| Cell::Number(v as f64))
}

const ZD: [Column; 10] = [
    text("BSM"),
    text("ZDDM"),
    text("BDCDYH"),
    text("ZDTZM"),
    text("ZL"),
    number("ZDMJ", 2),
    text("YT"),
    text("QLLX"),
    text("QLXZ"),
    text("DJZQDM"),
];

const ZRZ: [Column; 14] = [
    text("BSM"),
    text("BDCDYH"),
    text("ZDDM"),
    text("ZRZH"),
    text("JZWMC"),
    text("JGRQ"),
    number("ZZDMJ", 2),
    number("YCJZMJ", 2),
    number("SCJZMJ", 2),
    number("ZCS", 0),
    number("DSCS", 0),
    number("DXCS", 0),
    text("GHYT"),
    text("FWJG"),
];

const DJZQ: [Column; 3] = [text("DJZQDM"), text("DJZQMC"), number("DJZQMJ", 2)];
const DJQ: [Column; 3] = [text("DJQDM"), text("DJQMC"), number("DJQMJ", 2)];

/// The four standard tables of a submission.
pub(crate) fn tables(sub: &Submission) -> Vec<Table<'_>> {
    let zd = sub.parcels.iter().map(|p| {
        let a = &p.attributes;
        let cells = vec![
            t(&a.bsm),
            Cell::Text(&p.zddm),
            t(&a.bdcdyh),
            t(&a.zdtzm),
            t(&a.zl),
            n(a.zdmj),
            t(&a.yt),
            t(&a.qllx),
            t(&a.qlxz),
            t(&a.djzqdm),
        ];
        (&p.geometry, cells)
    });
    let zrz = sub.buildings.iter().map(|b| {
        let a = &b.attributes;
        let cells = vec![
            t(&a.bsm),
            t(&a.bdcdyh),
            Cell::Text(&b.zddm),
            Cell::Text(&b.zrzh),
            t(&a.jzwmc),
            t(&a.jgrq),
            n(a.zzdmj),
            n(a.ycjzmj),
            n(a.scjzmj),
            int(a.zcs),
            int(a.dscs),
            int(a.dxcs),
            t(&a.ghyt),
            t(&a.fwjg),
        ];
        (&b.footprint, cells)
    });
    let djzq =
        sub.subdistricts.iter().map(|s| (&s.geometry, vec![Cell::Text(&s.djzqdm), t(&s.name), n(s.recorded_area)]));
    let djq = sub.districts.iter().map(|d| (&d.geometry, vec![Cell::Text(&d.djqdm), t(&d.name), n(d.recorded_area)]));
    vec![
        Table { name: "ZD", columns: &ZD, rows: zd.collect() },
        Table { name: "ZRZ", columns: &ZRZ, rows: zrz.collect() },
        Table { name: "DJZQ", columns: &DJZQ, rows: djzq.collect() },
        Table { name: "DJQ", columns: &DJQ, rows: djq.collect() },
    ]
}

/// The longest prefix of `s` (at a character boundary) whose encoding fits `max` bytes, and
/// that length; text the encoding cannot hold is an error.
fn fit<'s>(
    s: &'s str,
    enc: &'static encoding_rs::Encoding,
    max: usize,
    field: &'static str,
) -> Result<(&'s str, usize), WriteError> {
    let (bytes, _, unmappable) = enc.encode(s);
    if unmappable {
        return Err(WriteError::Unencodable { field, value: s.to_owned(), encoding: enc.name() });
    }
    if bytes.len() <= max {
        return Ok((s, bytes.len()));
    }
    let mut used = 0;
    let mut buf = [0u8; 4];
    for (at, ch) in s.char_indices() {
        let len = enc.encode(ch.encode_utf8(&mut buf)).0.len();
        if used + len > max {
            return Ok((&s[..at], used));
        }
        used += len;
    }
    Ok((s, used))
}

/// The table's fields, each as wide as its longest value (text cut at 254 bytes, numbers at
/// least 18 wide, as GIS software writes them), and its rows with text cut to fit.
fn sized<'a>(table: &Table<'a>, encoding: TextEncoding) -> Result<(Vec<Field>, Vec<Vec<Cell<'a>>>), WriteError> {
    let enc = encoding.encoding();
    let mut widths = vec![0usize; table.columns.len()];
    let mut number = String::new();
    let mut rows = Vec::with_capacity(table.rows.len());
    for (_, cells) in &table.rows {
        let mut row = Vec::with_capacity(cells.len());
        for ((col, cell), width) in table.columns.iter().zip(cells).zip(&mut widths) {
            let (cell, len) = match (*cell, col.decimals) {
                (Cell::Text(s), None) => {
                    let (s, len) = fit(s, enc, 254, col.name)?;
                    (Cell::Text(s), len)
                }
                (Cell::Number(x), Some(d)) => {
                    number.clear();
                    write_fixed(&mut number, x, d);
                    (Cell::Number(x), number.len())
                }
                (cell, _) => (cell, 0),
            };
            *width = (*width).max(len);
            row.push(cell);
        }
        rows.push(row);
    }
    let fields = table
        .columns
        .iter()
        .zip(widths)
        .map(|(col, w)| match col.decimals {
            None => Field::text(col.name, u8::try_from(w.clamp(1, 254)).unwrap_or(254)),
            Some(d) => Field::number(col.name, u8::try_from(w.clamp(18, 254)).unwrap_or(254), d),
        })
        .collect();
    Ok((fields, rows))
}

/// Where a write error goes among the load errors: I/O errors as such, the rest as a
/// failed write of the layer.
fn load_error(stem: &Path, e: WriteError) -> LoadError {
    match e {
        WriteError::Io { path, source } => LoadError::Io { path, source },
        other => LoadError::Write { path: stem.to_path_buf(), detail: other.to_string() },
    }
}

/// Write the submission as `ZD`, `ZRZ`, `DJZQ`, `DJQ` shapefiles in `dir` (created if
/// needed), each with `.shp`, `.shx`, `.dbf`, `.cpg` and, when the CRS is known, `.prj`.
/// Empty layers are skipped. Extra (non-standard) attributes are not written. Each column is
/// as wide as its longest value; text longer than 254 bytes is cut at a character.
///
/// ```
/// use cadastre_core::io::{load_submission, write_shapefiles, LoadOptions, TextEncoding};
/// use cadastre_core::model::{Parcel, ParcelAttributes, Submission};
/// use geo_types::{polygon, MultiPolygon};
/// let mut sub = Submission::default();
/// sub.parcels.push(Parcel {
///     zddm: "330106001001GB00001".into(),
///     geometry: MultiPolygon::new(vec![polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.)]]),
///     attributes: ParcelAttributes { zl: Some("西湖区文三路88号".into()), ..Default::default() },
///     source_index: 0,
/// });
/// let dir = std::env::temp_dir().join(format!("doc-write-{}", std::process::id()));
/// write_shapefiles(&sub, &dir, TextEncoding::Gbk)?;
/// let back = load_submission(&dir, &LoadOptions::default())?;
/// assert_eq!(back.parcels[0].attributes.zl.as_deref(), Some("西湖区文三路88号"));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), cadastre_core::io::LoadError>(())
/// ```
pub fn write_shapefiles(sub: &Submission, dir: &Path, encoding: TextEncoding) -> Result<(), LoadError> {
    std::fs::create_dir_all(dir).map_err(|source| LoadError::Io { path: dir.to_path_buf(), source })?;
    let options =
        ShapefileOptions { encoding, prj: sub.crs.as_ref().and_then(esri_wkt), ..ShapefileOptions::default() };
    for table in tables(sub) {
        if table.rows.is_empty() {
            continue;
        }
        let stem = dir.join(table.name);
        let write = || -> Result<(), WriteError> {
            let (fields, rows) = sized(&table, encoding)?;
            let mut w = ShapefileWriter::create(&stem, &fields, &options)?;
            for ((geometry, _), cells) in table.rows.iter().zip(&rows) {
                w.write(geometry, cells)?;
            }
            w.finish()
        };
        write().map_err(|e| load_error(&stem, e))?;
    }
    Ok(())
}

/// Write the submission as a GeoPackage with layers `ZD`, `ZRZ`, `DJZQ`, `DJQ`
/// (empty layers skipped). An existing file is replaced.
///
/// Needs the `gdal` feature.
#[cfg(feature = "gdal")]
pub fn write_gpkg(sub: &Submission, path: &Path) -> Result<(), LoadError> {
    use gdal::vector::{FieldDefn, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal};
    let e = |d: gdal::errors::GdalError| LoadError::Write { path: path.to_path_buf(), detail: d.to_string() };
    if path.exists() {
        std::fs::remove_file(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })?;
    }
    let driver = gdal::DriverManager::get_driver_by_name("GPKG").map_err(e)?;
    let mut ds = driver.create_vector_only(path).map_err(e)?;
    let srs = match sub.crs.as_ref().and_then(|c| c.epsg) {
        Some(code) => Some(gdal::spatial_ref::SpatialRef::from_epsg(code).map_err(e)?),
        None => match sub.crs.as_ref().and_then(|c| c.wkt.as_deref()) {
            Some(w) => gdal::spatial_ref::SpatialRef::from_wkt(w).ok(),
            None => None,
        },
    };
    for table in tables(sub) {
        if table.rows.is_empty() {
            continue;
        }
        let mut txn = ds.start_transaction().map_err(e)?;
        let layer = txn
            .create_layer(LayerOptions {
                name: table.name,
                srs: srs.as_ref(),
                ty: OGRwkbGeometryType::wkbMultiPolygon,
                options: None,
            })
            .map_err(e)?;
        for col in table.columns {
            let ty = if col.decimals.is_some() { OGRFieldType::OFTReal } else { OGRFieldType::OFTString };
            FieldDefn::new(col.name, ty).map_err(e)?.add_to_layer(&layer).map_err(e)?;
        }
        for (geom, cells) in &table.rows {
            let g = geom.to_gdal().map_err(e)?;
            let defn = layer.defn();
            let mut f = gdal::vector::Feature::new(defn).map_err(e)?;
            f.set_geometry(g).map_err(e)?;
            for (k, c) in cells.iter().enumerate() {
                match *c {
                    Cell::Text(s) => f.set_field_string(k, s).map_err(e)?,
                    Cell::Number(v) => f.set_field_double(k, v).map_err(e)?,
                    Cell::Null => f.set_field_null(k).map_err(e)?,
                }
            }
            f.create(&layer).map_err(e)?;
        }
        txn.commit().map_err(e)?;
    }
    Ok(())
}
