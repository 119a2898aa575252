//! Importing data into a project: shapefile folders (GBK or UTF-8, through
//! `cadastre-core::io`), GeoPackages, DXF drawings (through GDAL) and boundary-point
//! tables (CSV: XZBZ = northing, YZBZ = easting). Everything is brought into the
//! project's CGCS2000 Gauss-Krüger zone; data that cannot be in it is refused with
//! the reason.

pub mod tables;

use std::path::Path;

use cadastre_core::crs::{to_gk_zone, transform_submission, Crs, GkZone};
use cadastre_core::io::{load_submission, parcels_bbox, LoadOptions};
use cadastre_core::model::{Parcel, Submission};
use gdal::vector::LayerAccess;
use geo_types::{Coord, Geometry, MultiPolygon, Polygon};

use crate::model::ops::Builder;
use crate::model::{Command, Document, Edit, Index, ParcelFeature};

/// Why data could not be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Reading failed (`cadastre-core::io`).
    #[error(transparent)]
    Load(#[from] cadastre_core::io::LoadError),
    /// The boundary-point table is malformed.
    #[error("boundary-point table: {0}")]
    Table(#[from] cadastre_core::boundary::table::TableError),
    /// GDAL could not read the DXF.
    #[error("DXF: {0}")]
    Dxf(String),
    /// The data's CRS cannot be brought into the project's.
    #[error("{0}")]
    Crs(String),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// What kind of source a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A folder of shapefiles, a `.shp`, a GeoPackage or another GDAL source.
    Layers,
    /// A DXF drawing: closed polylines become parcels.
    Dxf,
    /// A boundary-point table.
    PointsCsv,
}

/// The kind of source by extension.
pub fn source_kind(path: &Path) -> SourceKind {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("dxf") => SourceKind::Dxf,
        Some("csv") | Some("txt") => SourceKind::PointsCsv,
        _ => SourceKind::Layers,
    }
}

/// Read a source into a submission, in its own CRS (`None` when it declares none).
pub fn read(path: &Path, options: &LoadOptions) -> Result<Submission, ImportError> {
    match source_kind(path) {
        SourceKind::Layers => Ok(load_submission(path, options)?),
        SourceKind::Dxf => read_dxf(path),
        SourceKind::PointsCsv => {
            let file = std::fs::File::open(path)
                .map_err(|source| ImportError::Io { path: path.display().to_string(), source })?;
            let parcels = cadastre_core::boundary::table::read_points_csv(file)?;
            Ok(Submission {
                parcels: parcels
                    .into_iter()
                    .enumerate()
                    .map(|(i, (zddm, geometry))| Parcel {
                        zddm,
                        geometry,
                        attributes: Default::default(),
                        source_index: i,
                    })
                    .collect(),
                ..Submission::default()
            })
        }
    }
}

/// DXF: every closed polyline or polygon is a parcel; a text inside it (if any) is its code.
fn read_dxf(path: &Path) -> Result<Submission, ImportError> {
    let ds = gdal::Dataset::open(path).map_err(|e| ImportError::Dxf(e.to_string()))?;
    let mut polygons: Vec<Polygon<f64>> = Vec::new();
    let mut texts: Vec<(Coord<f64>, String)> = Vec::new();
    for mut layer in ds.layers() {
        for f in layer.features() {
            let Some(g) = f.geometry() else { continue };
            let text = f.field_index("Text").ok().and_then(|i| f.field_as_string(i).ok().flatten());
            let Ok(geom) = g.to_geo() else { continue };
            match geom {
                Geometry::Polygon(p) => polygons.push(p),
                Geometry::MultiPolygon(mp) => polygons.extend(mp.0),
                Geometry::LineString(ls) if ls.0.len() >= 4 && ls.0.first() == ls.0.last() => {
                    polygons.push(Polygon::new(ls, Vec::new()));
                }
                Geometry::Point(p) => {
                    if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
                        texts.push((p.0, t.trim().to_owned()));
                    }
                }
                _ => {}
            }
        }
    }
    use geo::Contains;
    let parcels = polygons
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let zddm = texts
                .iter()
                .find(|(at, _)| p.contains(&geo_types::Point(*at)))
                .map_or_else(|| format!("DXF{:05}", i + 1), |(_, t)| t.clone());
            Parcel { zddm, geometry: MultiPolygon(vec![p]), attributes: Default::default(), source_index: i }
        })
        .collect();
    Ok(Submission { parcels, ..Submission::default() })
}

/// Bring a submission into the project zone (`project`: `None` for a new project,
/// which then takes the data's zone). Returns the zone and notes for the user.
pub fn align_crs(sub: &mut Submission, project: Option<GkZone>) -> Result<(GkZone, Vec<String>), ImportError> {
    let mut notes = Vec::new();
    let Some(bbox) = parcels_bbox(sub) else {
        return project.map(|z| (z, notes)).ok_or_else(|| ImportError::Crs("no parcel geometry / 没有宗地图形".into()));
    };
    let zone = match (&sub.crs, project) {
        (None, Some(zone)) => {
            // No CRS declared: assume the project's if the coordinates can be in it.
            let crs = Crs::from_epsg(zone.epsg());
            let why = crs.implausibility(&bbox);
            if !why.is_empty() {
                return Err(ImportError::Crs(format!(
                    "the data declares no CRS and its coordinates cannot be in the project's {} (EPSG:{}): {} / 数据未声明坐标系，且坐标不可能属于项目坐标系",
                    zone.definition(),
                    zone.epsg(),
                    why.join("; ")
                )));
            }
            notes.push(format!(
                "no CRS declared: taken as the project's EPSG:{} / 未声明坐标系，按项目坐标系处理",
                zone.epsg()
            ));
            sub.crs = Some(crs);
            zone
        }
        (None, None) => {
            // An 8-digit easting carries its 3° zone number (e.g. 40 512 000 m).
            let z = (bbox.min().x / 1e6).floor();
            let zone = (25.0..=45.0)
                .contains(&z)
                .then_some(GkZone { zone: z as u8, prefixed: true })
                .filter(|zone| Crs::from_epsg(zone.epsg()).implausibility(&bbox).is_empty())
                .ok_or_else(|| {
                    ImportError::Crs(
                        "the data declares no CRS and the project has none yet: choose the project's CGCS2000 zone first / 数据未声明坐标系，请先设置项目坐标系".into(),
                    )
                })?;
            notes.push(format!(
                "no CRS declared: zone {} read from the eastings (EPSG:{}) / 由坐标推断坐标系",
                zone.zone,
                zone.epsg()
            ));
            sub.crs = Some(Crs::from_epsg(zone.epsg()));
            zone
        }
        (Some(_), Some(zone)) => {
            transform_submission(sub, zone).map_err(|e| {
                ImportError::Crs(format!("cannot transform into EPSG:{}: {e} / 无法转换到项目坐标系", zone.epsg()))
            })?;
            zone
        }
        (Some(_), None) => to_gk_zone(sub).map_err(|e| ImportError::Crs(format!("{e} / 坐标系无法识别")))?,
    };
    if let Some(bbox) = parcels_bbox(sub) {
        let why = Crs::from_epsg(zone.epsg()).implausibility(&bbox);
        if !why.is_empty() {
            return Err(ImportError::Crs(format!(
                "coordinates cannot be in EPSG:{}: {} / 坐标超出坐标系范围",
                zone.epsg(),
                why.join("; ")
            )));
        }
    }
    Ok((zone, notes))
}

/// Add imported parcels and buildings to an existing project as one undoable
/// command; vertices at exactly the position of an existing boundary point share it.
pub fn import_command(doc: &Document, index: &Index, sub: &Submission) -> Command {
    let mut b = Builder::new(doc, index);
    let mut edits = Vec::new();
    let mut next = doc.next_parcel_id();
    for p in &sub.parcels {
        let outline = b.outline_of(&p.geometry);
        if outline.0.is_empty() {
            continue;
        }
        let parcel = ParcelFeature { zddm: p.zddm.clone(), outline, attributes: p.attributes.clone() };
        edits.push(Edit::AddParcel { id: next, parcel: Box::new(parcel) });
        next += 1;
    }
    for (next_b, bl) in (doc.next_building_id()..).zip(&sub.buildings) {
        let building = crate::model::BuildingFeature {
            zrzh: bl.zrzh.clone(),
            zddm: bl.zddm.clone(),
            footprint: bl.footprint.clone(),
            attributes: bl.attributes.clone(),
        };
        edits.push(Edit::AddBuilding { id: next_b, building: Box::new(building) });
    }
    b.finish("导入 / import", edits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district")
    }

    #[test]
    fn the_sample_district_imports_with_shared_points() {
        let mut sub = read(&samples(), &LoadOptions::default()).expect("read");
        let (zone, _) = align_crs(&mut sub, None).expect("crs");
        let (doc, dropped) = Document::from_submission(sub);
        assert_eq!(dropped, 0);
        assert_eq!(doc.parcels.len(), 200);
        assert_eq!(doc.zone, Some(zone));
        // Neighbours share corners: far fewer points than vertices.
        let vertices: usize = doc.parcels.values().map(|p| p.outline.point_ids().count()).sum();
        assert!(doc.points.len() < vertices, "{} points for {vertices} vertices", doc.points.len());
        // Chinese attributes came through (the sample's DBF is GBK or UTF-8 with .cpg).
        assert!(doc.parcels.values().any(|p| p
            .attributes
            .zl
            .as_deref()
            .is_some_and(|z| z.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))));
    }

    #[test]
    fn points_csv_swaps_northing_and_easting() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("jzd.csv");
        std::fs::write(
            &path,
            "ZDDM,DKH,QH,JZDH,XZBZ,YZBZ\n330106001001GB00001,1,1,J1,3350010,40512000\n330106001001GB00001,1,1,J2,3350010,40512010\n330106001001GB00001,1,1,J3,3350000,40512010\n330106001001GB00001,1,1,J4,3350000,40512000\n",
        )
        .expect("write");
        let mut sub = read(&path, &LoadOptions::default()).expect("read");
        let (zone, notes) = align_crs(&mut sub, None).expect("zone from the prefixed eastings");
        assert_eq!(zone.epsg(), 4528);
        assert_eq!(notes.len(), 1);
        let bbox = parcels_bbox(&sub).expect("bbox");
        // x = easting (YZBZ), y = northing (XZBZ).
        assert_eq!((bbox.min().x, bbox.min().y), (40_512_000.0, 3_350_000.0));
    }

    #[test]
    fn coordinates_that_cannot_be_in_the_project_crs_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("deg.csv");
        std::fs::write(&path, "ZDDM,XZBZ,YZBZ\nA,30.1,120.1\nA,30.2,120.1\nA,30.2,120.2\n").expect("write");
        let mut sub = read(&path, &LoadOptions::default()).expect("read");
        let err = align_crs(&mut sub, GkZone::from_epsg(4549)).expect_err("degrees are not metres");
        assert!(err.to_string().contains("cannot be in"), "{err}");
        // Without a project zone there is nothing to infer from degrees either.
        let mut sub = read(&path, &LoadOptions::default()).expect("read");
        assert!(align_crs(&mut sub, None).is_err());
    }

    #[test]
    fn malformed_tables_are_clear_errors() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("bad.csv");
        std::fs::write(&path, "ZDDM,XZBZ\nA,1\n").expect("write");
        let err = read(&path, &LoadOptions::default()).expect_err("no YZBZ");
        assert!(err.to_string().contains("YZBZ"), "{err}");
    }
}
