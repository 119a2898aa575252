//! Writing a submission: shapefiles (GBK or UTF-8 DBF with a matching .cpg, .prj
//! from the CRS) and GeoPackage (through GDAL).

use std::path::Path;

use geo_types::{Coord, MultiPolygon};

use super::shp::ring_signed_area2;
use super::LoadError;
use crate::crs::Crs;
use crate::model::Submission;

/// DBF text encoding for written shapefiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// GBK (code page 936), what most Chinese GIS software expects; `.cpg` = `GBK`.
    #[default]
    Gbk,
    /// UTF-8; `.cpg` = `UTF-8`.
    Utf8,
}

impl TextEncoding {
    fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            Self::Gbk => encoding_rs::GBK,
            Self::Utf8 => encoding_rs::UTF_8,
        }
    }

    fn cpg(self) -> &'static str {
        match self {
            Self::Gbk => "GBK",
            Self::Utf8 => "UTF-8",
        }
    }
}

/// A cell of an attribute table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Text(Option<String>),
    Number(Option<f64>),
}

/// A layer to write: field names, rows of (geometry, cells).
pub(crate) struct Table<'a> {
    pub name: &'static str,
    pub fields: Vec<&'static str>,
    /// Decimal places per numeric field (ignored for text fields).
    pub decimals: Vec<u8>,
    pub rows: Vec<(&'a MultiPolygon<f64>, Vec<Cell>)>,
}

fn t(s: &Option<String>) -> Cell {
    Cell::Text(s.clone())
}

fn int(v: Option<i64>) -> Cell {
    // Floor counts are small; f64 holds them exactly.
    #[allow(clippy::cast_precision_loss)]
    Cell::Number(v.map(|v| v as f64))
}

/// The four standard tables of a submission.
pub(crate) fn tables(sub: &Submission) -> Vec<Table<'_>> {
    let zd = Table {
        name: "ZD",
        fields: vec!["BSM", "ZDDM", "BDCDYH", "ZDTZM", "ZL", "ZDMJ", "YT", "QLLX", "QLXZ", "DJZQDM"],
        decimals: vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0],
        rows: sub
            .parcels
            .iter()
            .map(|p| {
                let a = &p.attributes;
                let cells = vec![
                    t(&a.bsm),
                    Cell::Text(Some(p.zddm.clone())),
                    t(&a.bdcdyh),
                    t(&a.zdtzm),
                    t(&a.zl),
                    Cell::Number(a.zdmj),
                    t(&a.yt),
                    t(&a.qllx),
                    t(&a.qlxz),
                    t(&a.djzqdm),
                ];
                (&p.geometry, cells)
            })
            .collect(),
    };
    let zrz = Table {
        name: "ZRZ",
        fields: vec![
            "BSM", "BDCDYH", "ZDDM", "ZRZH", "JZWMC", "JGRQ", "ZZDMJ", "YCJZMJ", "SCJZMJ", "ZCS", "DSCS", "DXCS",
            "GHYT", "FWJG",
        ],
        decimals: vec![0, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0],
        rows: sub
            .buildings
            .iter()
            .map(|b| {
                let a = &b.attributes;
                let cells = vec![
                    t(&a.bsm),
                    t(&a.bdcdyh),
                    Cell::Text(Some(b.zddm.clone())),
                    Cell::Text(Some(b.zrzh.clone())),
                    t(&a.jzwmc),
                    t(&a.jgrq),
                    Cell::Number(a.zzdmj),
                    Cell::Number(a.ycjzmj),
                    Cell::Number(a.scjzmj),
                    int(a.zcs),
                    int(a.dscs),
                    int(a.dxcs),
                    t(&a.ghyt),
                    t(&a.fwjg),
                ];
                (&b.footprint, cells)
            })
            .collect(),
    };
    let djzq = Table {
        name: "DJZQ",
        fields: vec!["DJZQDM", "DJZQMC", "DJZQMJ"],
        decimals: vec![0, 0, 2],
        rows: sub
            .subdistricts
            .iter()
            .map(|s| (&s.geometry, vec![Cell::Text(Some(s.djzqdm.clone())), t(&s.name), Cell::Number(s.recorded_area)]))
            .collect(),
    };
    let djq = Table {
        name: "DJQ",
        fields: vec!["DJQDM", "DJQMC", "DJQMJ"],
        decimals: vec![0, 0, 2],
        rows: sub
            .districts
            .iter()
            .map(|d| (&d.geometry, vec![Cell::Text(Some(d.djqdm.clone())), t(&d.name), Cell::Number(d.recorded_area)]))
            .collect(),
    };
    vec![zd, zrz, djzq, djq]
}

/// ESRI WKT for a CRS: the declared WKT when there is one, else generated for the
/// CGCS2000 3° zones and CGCS2000 geographic, else through GDAL from the EPSG code.
pub fn esri_wkt(crs: &Crs) -> Option<String> {
    if let Some(w) = &crs.wkt {
        return Some(w.clone());
    }
    const GEOGCS: &str = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
    if let Some(z) = crs.gk_zone {
        let name = if z.prefixed {
            format!("CGCS2000_3_Degree_GK_Zone_{}", z.zone)
        } else {
            format!("CGCS2000_3_Degree_GK_CM_{}E", u32::from(z.zone) * 3)
        };
        return Some(format!(
            r#"PROJCS["{name}",{GEOGCS},PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",{:.1}],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",{:.1}],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#,
            z.false_easting(),
            z.central_meridian()
        ));
    }
    match crs.epsg {
        Some(4490) => Some(GEOGCS.to_owned()),
        Some(e) => gdal::spatial_ref::SpatialRef::from_epsg(e).ok().and_then(|s| s.to_wkt().ok()),
        None => None,
    }
}

fn write_err(path: &Path, detail: impl std::fmt::Display) -> LoadError {
    LoadError::Write { path: path.to_path_buf(), detail: detail.to_string() }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io { path: path.to_path_buf(), source }
}

/// Rings of a multipolygon in ESRI order: outer rings clockwise, holes counter-clockwise.
fn esri_rings(mp: &MultiPolygon<f64>) -> Vec<Vec<Coord<f64>>> {
    let mut rings = Vec::new();
    for p in &mp.0 {
        let mut ext = p.exterior().0.clone();
        if ring_signed_area2(&ext) > 0.0 {
            ext.reverse();
        }
        rings.push(ext);
        for h in p.interiors() {
            let mut h = h.0.clone();
            if ring_signed_area2(&h) < 0.0 {
                h.reverse();
            }
            rings.push(h);
        }
    }
    rings
}

fn shp_header(buf: &mut Vec<u8>, file_len: usize, shape_type: i32, bbox: [f64; 4]) {
    buf.extend(9994i32.to_be_bytes());
    buf.extend([0u8; 20]);
    buf.extend(i32::try_from(file_len / 2).unwrap_or(i32::MAX).to_be_bytes());
    buf.extend(1000i32.to_le_bytes());
    buf.extend(shape_type.to_le_bytes());
    for v in bbox {
        buf.extend(v.to_le_bytes());
    }
    buf.extend([0u8; 32]); // z and m ranges
}

/// .shp and .shx bytes for polygon geometries (empty ones are written as Null shapes).
pub(crate) fn shp_bytes(geoms: &[&MultiPolygon<f64>]) -> (Vec<u8>, Vec<u8>) {
    let mut records = Vec::new();
    let mut index = Vec::new();
    let mut total = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    for (i, g) in geoms.iter().enumerate() {
        let rings = esri_rings(g);
        let mut content = Vec::new();
        if rings.is_empty() {
            content.extend(0i32.to_le_bytes());
        } else {
            let pts: Vec<&Coord<f64>> = rings.iter().flatten().collect();
            let mut bb = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
            for c in &pts {
                bb = [bb[0].min(c.x), bb[1].min(c.y), bb[2].max(c.x), bb[3].max(c.y)];
            }
            total = [total[0].min(bb[0]), total[1].min(bb[1]), total[2].max(bb[2]), total[3].max(bb[3])];
            content.extend(5i32.to_le_bytes());
            for v in bb {
                content.extend(v.to_le_bytes());
            }
            content.extend(i32::try_from(rings.len()).unwrap_or(i32::MAX).to_le_bytes());
            content.extend(i32::try_from(pts.len()).unwrap_or(i32::MAX).to_le_bytes());
            let mut start = 0usize;
            for r in &rings {
                content.extend(i32::try_from(start).unwrap_or(i32::MAX).to_le_bytes());
                start += r.len();
            }
            for c in pts {
                content.extend(c.x.to_le_bytes());
                content.extend(c.y.to_le_bytes());
            }
        }
        index.push((100 + records.len(), content.len()));
        records.extend(i32::try_from(i + 1).unwrap_or(i32::MAX).to_be_bytes());
        records.extend(i32::try_from(content.len() / 2).unwrap_or(i32::MAX).to_be_bytes());
        records.extend(content);
    }
    if !total[0].is_finite() {
        total = [0.0; 4];
    }
    let mut shp = Vec::with_capacity(100 + records.len());
    shp_header(&mut shp, 100 + records.len(), 5, total);
    shp.extend(records);
    let mut shx = Vec::with_capacity(100 + 8 * index.len());
    shp_header(&mut shx, 100 + 8 * index.len(), 5, total);
    for (offset, len) in index {
        shx.extend(i32::try_from(offset / 2).unwrap_or(i32::MAX).to_be_bytes());
        shx.extend(i32::try_from(len / 2).unwrap_or(i32::MAX).to_be_bytes());
    }
    (shp, shx)
}

/// Encode text, cut at a character boundary to at most 254 bytes.
fn encode_cell(s: &str, enc: &'static encoding_rs::Encoding) -> Result<Vec<u8>, String> {
    let (bytes, _, bad) = enc.encode(s);
    if bad {
        return Err(format!("{s:?} cannot be written in {}", enc.name()));
    }
    if bytes.len() <= 254 {
        return Ok(bytes.into_owned());
    }
    let mut cut = String::new();
    for ch in s.chars() {
        cut.push(ch);
        if enc.encode(&cut).0.len() > 254 {
            cut.pop();
            break;
        }
    }
    Ok(enc.encode(&cut).0.into_owned())
}

/// .dbf bytes for a table.
pub(crate) fn dbf_bytes(table: &Table<'_>, enc: TextEncoding) -> Result<Vec<u8>, String> {
    let e = enc.encoding();
    let n = table.fields.len();
    // Encode all cells first to size the character fields.
    let mut encoded: Vec<Vec<Vec<u8>>> = Vec::with_capacity(table.rows.len());
    for (_, cells) in &table.rows {
        let mut row = Vec::with_capacity(n);
        for (k, cell) in cells.iter().enumerate() {
            row.push(match cell {
                Cell::Text(Some(s)) => encode_cell(s, e)?,
                Cell::Number(Some(v)) => format!("{:.*}", usize::from(table.decimals[k]), v).into_bytes(),
                _ => Vec::new(),
            });
        }
        encoded.push(row);
    }
    let is_num: Vec<bool> = (0..n)
        .map(|k| table.rows.first().is_some_and(|(_, c)| matches!(c[k], Cell::Number(_))) || table.decimals[k] > 0)
        .collect();
    let widths: Vec<usize> = (0..n)
        .map(|k| {
            let max = encoded.iter().map(|r| r[k].len()).max().unwrap_or(0);
            if is_num[k] {
                max.clamp(18, 254)
            } else {
                max.clamp(1, 254)
            }
        })
        .collect();
    let header_len = 32 + 32 * n + 1;
    let record_len = 1 + widths.iter().sum::<usize>();
    let mut d = Vec::with_capacity(header_len + record_len * encoded.len() + 1);
    d.extend([0x03, 126, 1, 1]); // dBASE III, date 2026-01-01 (fixed: byte-reproducible output)
    d.extend(u32::try_from(encoded.len()).map_err(|_| "too many records")?.to_le_bytes());
    d.extend(u16::try_from(header_len).map_err(|_| "too many fields")?.to_le_bytes());
    d.extend(u16::try_from(record_len).map_err(|_| "records too long")?.to_le_bytes());
    d.extend([0u8; 17]);
    d.push(if enc == TextEncoding::Gbk { 0x4D } else { 0x00 }); // language driver: 0x4D = GBK
    d.extend([0u8; 2]);
    for (k, name) in table.fields.iter().enumerate() {
        let mut f = [0u8; 32];
        f[..name.len()].copy_from_slice(name.as_bytes());
        f[11] = if is_num[k] { b'N' } else { b'C' };
        f[16] = u8::try_from(widths[k]).unwrap_or(254);
        f[17] = if is_num[k] { table.decimals[k] } else { 0 };
        d.extend(f);
    }
    d.push(0x0D);
    for row in &encoded {
        d.push(b' ');
        for (k, v) in row.iter().enumerate() {
            let pad = widths[k] - v.len().min(widths[k]);
            if is_num[k] {
                d.extend(std::iter::repeat_n(b' ', pad));
                d.extend(&v[..v.len().min(widths[k])]);
            } else {
                d.extend(&v[..v.len().min(widths[k])]);
                d.extend(std::iter::repeat_n(b' ', pad));
            }
        }
    }
    d.push(0x1A);
    Ok(d)
}

/// Write the submission as `ZD`, `ZRZ`, `DJZQ`, `DJQ` shapefiles in `dir` (created if
/// needed), each with `.shp`, `.shx`, `.dbf`, `.cpg` and, when the CRS is known, `.prj`.
/// Empty layers are skipped. Extra (non-standard) attributes are not written.
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
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let prj = sub.crs.as_ref().and_then(esri_wkt);
    for table in tables(sub) {
        if table.rows.is_empty() {
            continue;
        }
        let base = dir.join(table.name);
        let geoms: Vec<&MultiPolygon<f64>> = table.rows.iter().map(|(g, _)| *g).collect();
        let (shp, shx) = shp_bytes(&geoms);
        let dbf_path = base.with_extension("dbf");
        let dbf = dbf_bytes(&table, encoding).map_err(|e| write_err(&dbf_path, e))?;
        let files: [(&str, &[u8]); 4] =
            [("shp", &shp), ("shx", &shx), ("dbf", &dbf), ("cpg", encoding.cpg().as_bytes())];
        for (ext, bytes) in files {
            let p = base.with_extension(ext);
            std::fs::write(&p, bytes).map_err(io_err(&p))?;
        }
        if let Some(prj) = &prj {
            let p = base.with_extension("prj");
            std::fs::write(&p, prj).map_err(io_err(&p))?;
        }
    }
    Ok(())
}

/// Write the submission as a GeoPackage with layers `ZD`, `ZRZ`, `DJZQ`, `DJQ`
/// (empty layers skipped). An existing file is replaced.
pub fn write_gpkg(sub: &Submission, path: &Path) -> Result<(), LoadError> {
    use gdal::vector::{FieldDefn, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal};
    let e = |d: gdal::errors::GdalError| write_err(path, d);
    if path.exists() {
        std::fs::remove_file(path).map_err(io_err(path))?;
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
        let is_num: Vec<bool> = table.rows[0].1.iter().map(|c| matches!(c, Cell::Number(_))).collect();
        for (k, name) in table.fields.iter().enumerate() {
            let ty = if is_num[k] { OGRFieldType::OFTReal } else { OGRFieldType::OFTString };
            FieldDefn::new(name, ty).map_err(e)?.add_to_layer(&layer).map_err(e)?;
        }
        for (geom, cells) in &table.rows {
            let g = geom.to_gdal().map_err(e)?;
            let defn = layer.defn();
            let mut f = gdal::vector::Feature::new(defn).map_err(e)?;
            f.set_geometry(g).map_err(e)?;
            for (k, c) in cells.iter().enumerate() {
                match c {
                    Cell::Text(Some(s)) => f.set_field_string(k, s).map_err(e)?,
                    Cell::Number(Some(v)) => f.set_field_double(k, *v).map_err(e)?,
                    _ => f.set_field_null(k).map_err(e)?,
                }
            }
            f.create(&layer).map_err(e)?;
        }
        txn.commit().map_err(e)?;
    }
    Ok(())
}
