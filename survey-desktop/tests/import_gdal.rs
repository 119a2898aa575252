//! Importing a GeoPackage and a DXF through GDAL: the sample district written by
//! `ogr2ogr` (Debian `gdal-bin`, installed by scripts/lib.sh) into another CRS and
//! into a DXF drawing, imported into a project and read back: parcel count, area
//! and the project's CRS; data in a CRS it cannot be in is refused with a message.

use std::path::{Path, PathBuf};
use std::process::Command;

use cadastre_core::crs::GkZone;
use cadastre_core::io::LoadOptions;
use cadastre_core::model::Submission;
use geo::Area;
use survey_desktop::import::{align_crs, read, ImportError};
use survey_desktop::model::{Document, Editor};
use survey_desktop::project::Project;

/// The sample district's CRS: CGCS2000 3° GK, CM 120°E, no zone prefix.
const EPSG: u32 = 4549;

fn zd_shp() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district/ZD.shp")
}

fn ogr2ogr(args: &[&str], src: &Path, dst: &Path) {
    let out = Command::new("ogr2ogr")
        .args(args)
        .arg(dst)
        .arg(src)
        .output()
        .expect("ogr2ogr must be installed (Debian package gdal-bin; scripts/lib.sh installs it)");
    assert!(out.status.success(), "ogr2ogr failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Parcel count and total area of the sample's ZD layer as the shapefile import reads it.
fn reference() -> (usize, f64) {
    let sub = read(zd_shp().parent().expect("folder"), &LoadOptions::default()).expect("sample");
    (sub.parcels.len(), sub.parcels.iter().map(|p| p.geometry.unsigned_area()).sum())
}

fn area(doc: &Document) -> f64 {
    doc.parcels.keys().filter_map(|&id| doc.parcel_geometry(id)).map(|g| g.unsigned_area()).sum()
}

/// Import a read submission into a new project in the sample's zone, save it, reopen
/// it, and check the count, zone and total area (to `tolerance` m²) against the sample.
fn import_and_compare(mut sub: Submission, dir: &Path, tolerance: f64) -> (Document, Vec<String>) {
    let zone = GkZone::from_epsg(EPSG).expect("zone");
    let (got, notes) = align_crs(&mut sub, Some(zone)).expect("into the project zone");
    assert_eq!(got, zone);
    let (doc, dropped) = Document::from_submission(sub);
    assert_eq!(dropped, 0);
    let doc = through_project(doc, dir);
    let (n, a) = reference();
    assert_eq!(doc.parcels.len(), n);
    assert_eq!(doc.zone.map(|z| z.epsg()), Some(EPSG));
    assert!((area(&doc) - a).abs() < tolerance, "area {} against {a}", area(&doc));
    (doc, notes)
}

/// Save as a project, reopen it, and return what the project holds.
fn through_project(doc: Document, dir: &Path) -> Document {
    let path = dir.join("p.gpkg");
    let mut ed = Editor::new(doc);
    Project::create(&path).and_then(|mut p| p.save(&mut ed, &Default::default())).expect("save");
    let (_, opened) = Project::open(&path).expect("reopen");
    opened.doc
}

#[test]
fn a_geopackage_in_geographic_cgcs2000_is_transformed_into_the_project_zone() {
    let dir = tempfile::tempdir().expect("tmp");
    let gpkg = dir.path().join("zd-4490.gpkg");
    ogr2ogr(&["-f", "GPKG", "-nln", "ZD", "-t_srs", "EPSG:4490"], &zd_shp(), &gpkg);
    let sub = read(&gpkg, &LoadOptions::default()).expect("read the GeoPackage");
    // There and back through latitude/longitude: the same area to a square centimetre per parcel.
    let (doc, _) = import_and_compare(sub, dir.path(), 0.01 * reference().0 as f64);
    // The codes came through (they key everything else).
    assert!(doc.parcels.values().all(|p| p.zddm.starts_with("330106")), "codes lost");
}

#[test]
fn a_geopackage_declaring_a_crs_it_cannot_be_in_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let gpkg = dir.path().join("zd-utm33.gpkg");
    // The same coordinates labelled UTM zone 33N (central Europe).
    ogr2ogr(&["-f", "GPKG", "-nln", "ZD", "-a_srs", "EPSG:32633"], &zd_shp(), &gpkg);
    let mut sub = read(&gpkg, &LoadOptions::default()).expect("read");
    let err = align_crs(&mut sub, GkZone::from_epsg(EPSG)).expect_err("Europe is not in zone 120°E");
    assert!(matches!(err, ImportError::Crs(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("EPSG:4549") && msg.contains("坐标"), "{msg}");
}

#[test]
fn a_dxf_drawing_becomes_parcels_in_the_project_crs() {
    let dir = tempfile::tempdir().expect("tmp");
    let dxf = dir.path().join("zd.dxf");
    // Parcels as closed hatches; attributes do not fit a DXF (ogr2ogr says so and goes on).
    ogr2ogr(&["-f", "DXF"], &zd_shp(), &dxf);
    let sub = read(&dxf, &LoadOptions::default()).expect("read the DXF");
    let (doc, notes) = import_and_compare(sub, dir.path(), 1e-6 * reference().1);
    // A DXF has no CRS: the project's is taken since the coordinates fit it, with a note.
    assert_eq!(notes.len(), 1, "{notes:?}");
    // No text inside the polygons: codes are numbered.
    assert!(doc.parcels.values().any(|p| p.zddm == "DXF00001"));
    // Neighbours share their corners, as with shapefiles.
    let vertices: usize = doc.parcels.values().map(|p| p.outline.point_ids().count()).sum();
    assert!(doc.points.len() < vertices);
}

#[test]
fn a_dxf_in_degrees_or_without_a_project_zone_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let dxf = dir.path().join("zd-deg.dxf");
    ogr2ogr(&["-f", "DXF", "-t_srs", "EPSG:4490"], &zd_shp(), &dxf);
    let mut sub = read(&dxf, &LoadOptions::default()).expect("read");
    let err = align_crs(&mut sub, GkZone::from_epsg(EPSG)).expect_err("degrees are not metres");
    let msg = err.to_string();
    assert!(msg.contains("declares no CRS") && msg.contains("EPSG:4549"), "{msg}");

    // Metres without the zone prefix and no project zone yet: the user must choose one.
    let dxf = dir.path().join("zd.dxf");
    ogr2ogr(&["-f", "DXF"], &zd_shp(), &dxf);
    let mut sub = read(&dxf, &LoadOptions::default()).expect("read");
    let msg = align_crs(&mut sub, None).expect_err("zone unknown").to_string();
    assert!(msg.contains("choose the project's CGCS2000 zone"), "{msg}");
}
