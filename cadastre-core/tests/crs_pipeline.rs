//! CRS end to end: a submission in CGCS2000 geographic (degrees) is written, read
//! back, its zone chosen from the data, transformed with PROJ, and its area computed.
#![cfg(feature = "proj")]

use cadastre_core::area::PlanarArea;
use cadastre_core::crs::{choose_zone, transform_submission, Crs};
use cadastre_core::io::{load_submission, parcels_bbox, write_shapefiles, LoadOptions, TextEncoding};
use cadastre_core::model::{LoadIssueKind, Parcel, ParcelAttributes, Submission};
use geo_types::{polygon, MultiPolygon};

#[test]
fn degrees_to_zone_40_and_area() {
    let mut sub = Submission { crs: Some(Crs::from_epsg(4490)), ..Submission::default() };
    sub.parcels.push(Parcel {
        zddm: "330106001001GB00001".into(),
        geometry: MultiPolygon::new(vec![
            polygon![(x: 120.15, y: 30.25), (x: 120.151, y: 30.25), (x: 120.151, y: 30.251), (x: 120.15, y: 30.251)],
        ]),
        attributes: ParcelAttributes::default(),
        source_index: 0,
    });
    let dir = std::env::temp_dir().join(format!("cadastre-crs-{}", std::process::id()));
    write_shapefiles(&sub, &dir, TextEncoding::Utf8).expect("write");
    let mut back = load_submission(&dir, &LoadOptions::default()).expect("load");
    let _ = std::fs::remove_dir_all(&dir);
    let crs = back.crs.clone().expect("prj written and read");
    assert!(crs.geographic && crs.epsg == Some(4490), "{crs:?}");
    assert!(!back.load_issues.iter().any(|i| matches!(i.kind, LoadIssueKind::ImplausibleCoordinates { .. })));

    let bbox = parcels_bbox(&back).expect("bbox");
    let zone = choose_zone(&crs, &bbox, false).expect("zone");
    assert_eq!(zone.epsg(), 4549, "CM 120°E");
    transform_submission(&mut back, zone).expect("transform");
    // Corners by PROJ 9.1.1 on the command line, then the shoelace formula by hand:
    //   printf "30.25 120.15\n30.25 120.151\n30.251 120.151\n30.251 120.15\n" |
    //     cs2cs -f "%.6f" EPSG:4490 EPSG:4549
    //   -> (E 514436.536185, N 3347836.556046) (514532.779870, 3347836.683403)
    //      (514532.632686, 3347947.540269) (514436.389976, 3347947.412909); area 10669.2377 m²
    let c = back.parcels[0].geometry.0[0].exterior().0[0];
    assert!((c.x - 514_436.536_185).abs() < 1e-5 && (c.y - 3_347_836.556_046).abs() < 1e-5, "{c:?}");
    assert_eq!(back.parcels[0].geometry.area_m2(), 10_669.24);
    assert_eq!(back.crs.and_then(|c| c.gk_zone).map(|z| z.epsg()), Some(4549));
}

#[test]
fn prefixed_zone_data_in_an_unprefixed_crs_is_reported() {
    let mut sub = Submission { crs: Some(Crs::from_epsg(4549)), ..Submission::default() };
    sub.parcels.push(Parcel {
        zddm: "330106001001GB00001".into(),
        geometry: MultiPolygon::new(vec![polygon![(x: 40_512_000.0, y: 3_350_000.0), (x: 40_512_010.0, y: 3_350_000.0), (x: 40_512_010.0, y: 3_350_010.0)]]),
        attributes: ParcelAttributes::default(),
        source_index: 0,
    });
    let dir = std::env::temp_dir().join(format!("cadastre-crs-prefix-{}", std::process::id()));
    write_shapefiles(&sub, &dir, TextEncoding::Utf8).expect("write");
    let back = load_submission(&dir, &LoadOptions::default()).expect("load");
    let _ = std::fs::remove_dir_all(&dir);
    let reason = back
        .load_issues
        .iter()
        .find_map(|i| match &i.kind {
            LoadIssueKind::ImplausibleCoordinates { reason } => Some(reason.clone()),
            _ => None,
        })
        .expect("reported");
    assert!(reason.contains("zone prefix 40"), "{reason}");
}
