//! Reads every file of other projects' shapefile test suites
//! (`$CADASTRE_SHARED_DIR/conformance/peer-shapefiles/`, default `../shared` from the
//! workspace root) and asserts, per file, either data or a clear error naming the
//! file — never a panic or a hang.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::model::LoadIssueKind;

fn peer_dir() -> PathBuf {
    let shared = std::env::var_os("CADASTRE_SHARED_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"), PathBuf::from);
    shared.join("conformance/peer-shapefiles")
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[derive(Debug)]
enum Outcome {
    Data { parcels: usize, issues: usize, kinds: Vec<String> },
    Error(String),
    Panic(String),
}

/// Load one file on its own thread so a panic is caught and a hang is detected.
fn load(path: &Path) -> Option<Outcome> {
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| load_submission(&p, &LoadOptions::default()));
        let outcome = match r {
            Ok(Ok(sub)) => Outcome::Data {
                parcels: sub.parcels.len(),
                issues: sub.load_issues.len(),
                kinds: sub.load_issues.iter().map(|i| format!("{:?}", i.kind)).collect(),
            },
            Ok(Err(e)) => Outcome::Error(e.to_string()),
            Err(p) => Outcome::Panic(
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default(),
            ),
        };
        let _ = tx.send(outcome);
    });
    rx.recv_timeout(Duration::from_secs(60)).ok()
}

#[test]
fn every_peer_file_gives_data_or_a_clear_error() {
    let dir = peer_dir();
    if !dir.is_dir() {
        println!("skipped: {} is absent (set CADASTRE_SHARED_DIR)", dir.display());
        return;
    }
    let mut files = Vec::new();
    all_files(&dir, &mut files);
    files.sort();
    assert!(files.len() > 100, "expected the peer suites, found {} files", files.len());
    let mut failures = Vec::new();
    let (mut data, mut errors) = (0, 0);
    for f in &files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stem = f.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match load(f) {
            None => failures.push(format!("{}: hang (no result in 60 s)", f.display())),
            Some(Outcome::Panic(msg)) => failures.push(format!("{}: panic: {msg}", f.display())),
            Some(Outcome::Data { parcels, issues, .. }) if parcels + issues == 0 => {
                // An empty layer is data too, but then the file must really have no records.
                let shp_len = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
                if shp_len > 100 && f.extension().is_some_and(|e| e.eq_ignore_ascii_case("shp")) {
                    failures.push(format!("{}: loaded nothing and reported nothing", f.display()));
                }
                data += 1;
            }
            Some(Outcome::Data { parcels, kinds, .. }) => {
                if std::env::var_os("CONFORMANCE_VERBOSE").is_some() {
                    let mut k: Vec<&str> = kinds.iter().map(|s| s.split([' ', '{']).next().unwrap_or("")).collect();
                    k.dedup();
                    println!("data: {}: {parcels} parcels, issues {k:?}", f.display());
                }
                data += 1;
            }
            Some(Outcome::Error(msg)) => {
                errors += 1;
                if std::env::var_os("CONFORMANCE_VERBOSE").is_some() {
                    println!("error: {msg}");
                }
                if msg.trim().is_empty() || !(msg.contains(&name) || msg.contains(&stem)) {
                    failures.push(format!("{}: error does not name the file: {msg:?}", f.display()));
                }
            }
        }
    }
    println!("{} files: {data} loaded, {errors} clear errors", files.len());
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
    assert!(data >= 30, "only {data} files loaded");
}

fn peer(rel: &str) -> Option<PathBuf> {
    let p = peer_dir().join(rel);
    if p.exists() {
        Some(p)
    } else {
        println!("skipped: {} is absent", p.display());
        None
    }
}

#[test]
fn polygon_with_hole_keeps_the_hole() {
    let Some(p) = peer("shapefile-rs/tests/data/polygon_hole.shp") else { return };
    let sub = load_submission(&p, &LoadOptions::default()).expect("readable");
    assert_eq!(sub.parcels.len(), 1);
    assert_eq!(sub.parcels[0].geometry.0.len(), 1);
    assert_eq!(sub.parcels[0].geometry.0[0].interiors().len(), 1);
}

#[test]
fn multipolygon_record_is_kept_and_reported() {
    let Some(p) = peer("shapefile-rs/tests/data/multi_polygon.shp") else { return };
    let sub = load_submission(&p, &LoadOptions::default()).expect("readable");
    assert_eq!(sub.parcels.len(), 1);
    assert_eq!(sub.parcels[0].geometry.0.len(), 4);
    assert!(sub.load_issues.iter().any(|i| matches!(i.kind, LoadIssueKind::MultiPart { parts: 4 })));
}

#[test]
fn lines_where_polygons_are_expected_are_reported_per_feature() {
    let Some(p) = peer("shapefile-rs/tests/data/file_cp936.shp") else { return };
    let sub = load_submission(&p, &LoadOptions::default()).expect("readable");
    assert!(sub.parcels.is_empty());
    let wrong: Vec<_> = sub
        .load_issues
        .iter()
        .filter(|i| matches!(&i.kind, LoadIssueKind::WrongGeometryType { found } if found == "Polyline"))
        .collect();
    assert_eq!(wrong.len(), 1, "{:?}", sub.load_issues);
    assert_eq!(wrong[0].source_index, Some(0));
}

#[test]
fn null_shapes_are_reported_not_dropped() {
    let Some(p) = peer("shapelib/tests/shape_eg_data/csah.shp") else { return };
    let sub = load_submission(&p, &LoadOptions::default()).expect("readable");
    let nulls = sub.load_issues.iter().filter(|i| i.kind == LoadIssueKind::NullGeometry).count();
    let wrong = sub.load_issues.iter().filter(|i| matches!(i.kind, LoadIssueKind::WrongGeometryType { .. })).count();
    // 124 records: 24 Null shapes, 100 polylines (SOURCES.md).
    assert_eq!((nulls, wrong), (24, 100));
}

#[test]
fn shp_posing_as_dbf_is_a_clear_error() {
    let Some(p) = peer("shapefile-js/test/data/bad.shp") else { return };
    let err = load_submission(&p, &LoadOptions::default()).expect_err("not a shapefile");
    assert!(err.to_string().contains("not a shapefile"), "{err}");
}

#[test]
fn missing_dbf_loads_geometry_and_says_so() {
    let Some(p) = peer("shapefile-js/test/data/no-dbf.shp") else { return };
    let sub = load_submission(&p, &LoadOptions::default()).expect("geometry readable");
    assert_eq!(sub.parcels.len(), 14, "14 polygons (SOURCES.md)");
    assert!(sub.load_issues.iter().any(|i| i.kind == LoadIssueKind::MissingAttributeTable));
    // Without attributes every parcel lacks its code, and each is reported.
    let missing = sub
        .load_issues
        .iter()
        .filter(|i| matches!(&i.kind, LoadIssueKind::MissingKey { field } if field == "ZDDM"))
        .count();
    assert_eq!(missing, 14);
}

#[test]
fn polygon_z_drops_z_with_a_layer_issue() {
    let Some(p) = peer("shapefile-rs/tests/data/polygonz.shp") else { return };
    match load_submission(&p, &LoadOptions::default()) {
        Err(e) => panic!("polygonz.shp should load: {e}"),
        Ok(sub) => assert!(sub.load_issues.iter().any(|i| i.kind == LoadIssueKind::ZmDropped)),
    }
}

#[test]
#[cfg(feature = "gdal")]
fn geopackage_through_gdal() {
    let Some(p) = peer("georust-gdal/fixtures/poly.gpkg") else { return };
    let sub = load_submission(&p, &LoadOptions::default()).expect("readable");
    assert!(!sub.parcels.is_empty(), "{:?}", sub.load_issues);
}

#[test]
fn latin1_without_cpg_asks_for_encoding_and_loads_with_it() {
    let Some(p) = peer("pyshp/tests/shapefiles/latin1.shp") else { return };
    let err = load_submission(&p, &LoadOptions::default()).expect_err("ambiguous encoding");
    assert!(err.to_string().contains("--encoding"), "{err}");
    let opts = LoadOptions::default().with_encoding_name("latin1").expect("known encoding");
    let sub = load_submission(&p, &opts).expect("readable with --encoding");
    assert!(sub.parcels.len() + sub.load_issues.len() > 0);
}

#[test]
fn zero_padding_after_the_last_record_is_not_a_record() {
    let Some(p) = peer("shapefile-js/test/data/ipra_dresden_polygon.shp") else { return };
    let sub = load_submission(&p, &LoadOptions::default()).expect("readable");
    assert_eq!(sub.parcels.len(), 1);
    assert!(!sub
        .load_issues
        .iter()
        .any(|i| matches!(i.kind, LoadIssueKind::RecordCountMismatch { .. } | LoadIssueKind::CorruptRecord { .. })));
}
