//! The committed sample district (`samples/district/`, written by `district-gen
//! --preset sample`) through the loader, area, CRS and boundary code.

use std::collections::HashSet;
use std::path::PathBuf;

use cadastre_core::area::{check_area, PlanarArea, PointClass};
use cadastre_core::boundary::{four_neighbours, number_per_subdistrict, BoundaryLines, BoundaryPoints, Neighbour};
#[cfg(feature = "gdal")]
use cadastre_core::io::write_gpkg;
use cadastre_core::io::{load_submission, write_shapefiles, LoadOptions, TextEncoding};
use cadastre_core::model::Submission;
use geo_types::MultiPolygon;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/district")
}

fn load() -> Submission {
    load_submission(&sample_dir(), &LoadOptions::default()).expect("the committed sample loads")
}

#[test]
fn sample_loads_completely_with_chinese_text_and_its_crs() {
    let sub = load();
    assert_eq!((sub.parcels.len(), sub.buildings.len(), sub.subdistricts.len(), sub.districts.len()), (200, 297, 3, 1));
    assert!(sub.load_issues.is_empty(), "{:?}", sub.load_issues);
    assert!(sub.parcels.iter().all(|p| p.attributes.zl.as_deref().is_some_and(|z| z.contains("西湖区"))));
    assert!(sub.parcels.iter().all(|p| p.zddm.len() == 19 && p.zddm.starts_with("330106001")));
    let zone = sub.crs.as_ref().and_then(|c| c.gk_zone).expect("GK zone from the .prj");
    assert_eq!(zone.epsg(), 4549);
    assert!(sub.subdistricts.iter().any(|s| s.name.as_deref() == Some("文新地籍子区")));
    // The two parcels with a hole come through with their hole.
    assert_eq!(sub.parcels.iter().filter(|p| p.geometry.0.iter().any(|g| !g.interiors().is_empty())).count(), 2);
}

#[test]
fn recorded_areas_match_the_planar_area() {
    let sub = load();
    for p in &sub.parcels {
        let zdmj = p.attributes.zdmj.expect("ZDMJ recorded");
        assert!((p.geometry.area_m2() - zdmj).abs() <= 0.005 + 1e-9, "{}: {} vs {zdmj}", p.zddm, p.geometry.area_m2());
        assert!(check_area(&p.geometry, zdmj, PointClass::One).within);
    }
}

#[test]
fn boundary_of_a_clean_district_has_no_conflicts_and_shared_numbers() {
    let sub = load();
    let geoms: Vec<&MultiPolygon<f64>> = sub.parcels.iter().map(|p| &p.geometry).collect();
    let pts = BoundaryPoints::derive(&geoms);
    let lines = BoundaryLines::build(&pts);
    assert!(lines.conflicts.is_empty(), "{:?}", lines.conflicts);
    // Tiling blocks: some points are shared by 3+ parcels, and many lines have parcels on both sides.
    assert!(pts.users().iter().any(|u| u.len() >= 3));
    let both = lines.lines.iter().filter(|l| l.left.is_some() && l.right.is_some()).count();
    assert!(both * 3 > lines.lines.len(), "{both} of {}", lines.lines.len());
    // 四至: every parcel touches a neighbour or a street on each side it has.
    let sz = four_neighbours(&pts, &lines, &geoms);
    assert!(sz.iter().all(|s| !s.north.is_empty() && !s.east.is_empty() && !s.south.is_empty() && !s.west.is_empty()));
    // A parcel in a hole sees only its host parcel.
    let inner: Vec<usize> = (0..geoms.len())
        .filter(|&i| {
            sz[i].north.len() == 1
                && [&sz[i].north, &sz[i].east, &sz[i].south, &sz[i].west].iter().all(|d| d == &&sz[i].north)
                && sz[i].north[0] != Neighbour::Open
        })
        .collect();
    assert!(inner.len() >= 2, "the two hole-filling parcels: {inner:?}");
    // Sub-district numbering: a point never has two numbers within its sub-district.
    let codes: Vec<&str> = sub.parcels.iter().map(|p| p.zddm.as_str()).collect();
    let subs: Vec<&str> = codes.iter().map(|c| &c[..12]).collect();
    let nums = number_per_subdistrict(&pts, &codes, &subs);
    let mut seen: HashSet<(&str, u32, &str)> = HashSet::new();
    let mut per_point: std::collections::HashMap<(&str, u32), &str> = std::collections::HashMap::new();
    for (i, ns) in nums.iter().enumerate() {
        for n in ns {
            seen.insert((subs[i], n.point, n.jzdh.as_str()));
            let prev = per_point.entry((subs[i], n.point)).or_insert(n.jzdh.as_str());
            assert_eq!(*prev, n.jzdh.as_str());
        }
    }
}

#[test]
fn sample_survives_shapefile_and_geopackage_round_trips() {
    let sub = load();
    let dir = std::env::temp_dir().join(format!("cadastre-sample-rt-{}", std::process::id()));
    for enc in [TextEncoding::Gbk, TextEncoding::Utf8] {
        write_shapefiles(&sub, &dir, enc).expect("write");
        let back = load_submission(&dir, &LoadOptions::default()).expect("reload");
        assert!(back.load_issues.is_empty(), "{:?}", back.load_issues);
        assert_eq!(back.parcels.len(), 200);
        for (a, b) in sub.parcels.iter().zip(&back.parcels) {
            assert_eq!(a.zddm, b.zddm);
            assert_eq!(a.attributes.zl, b.attributes.zl);
            assert_eq!(a.attributes.zdmj, b.attributes.zdmj);
            assert_eq!(a.geometry.planar_area(), b.geometry.planar_area());
        }
    }
    #[cfg(feature = "gdal")]
    {
        let gpkg = dir.join("sample.gpkg");
        write_gpkg(&sub, &gpkg).expect("gpkg");
        let back = load_submission(&gpkg, &LoadOptions::default()).expect("gpkg reload");
        assert_eq!((back.parcels.len(), back.buildings.len()), (200, 297));
        let issues = &back.load_issues;
        let missing_layer =
            |i: &&cadastre_core::model::LoadIssue| matches!(i.kind, cadastre_core::model::LoadIssueKind::MissingLayer);
        assert!(issues.iter().all(|i| missing_layer(&i)), "{issues:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn streaming_a_layer_gives_the_same_parcels_as_loading_the_submission() {
    use cadastre_core::io::stream_layer;
    use cadastre_core::model::Layer;
    let whole = load();
    let mut streamed = Vec::new();
    let mut chunks = 0;
    let info = stream_layer(&sample_dir().join("ZD.shp"), Layer::Parcels, &LoadOptions::default(), &mut |chunk| {
        chunks += 1;
        assert!(chunk.buildings.is_empty() && chunk.load_issues.is_empty());
        streamed.extend(chunk.parcels);
    })
    .expect("ZD.shp streams");
    assert!(chunks >= 1);
    assert_eq!(info.records, 200);
    assert!(info.issues.is_empty(), "{:?}", info.issues);
    assert_eq!(info.crs.and_then(|c| c.epsg), whole.crs.as_ref().and_then(|c| c.epsg));
    assert_eq!(streamed.len(), whole.parcels.len());
    for (a, b) in streamed.iter().zip(&whole.parcels) {
        assert_eq!((&a.zddm, &a.geometry, &a.attributes.zl), (&b.zddm, &b.geometry, &b.attributes.zl));
    }
}

#[test]
fn streaming_a_missing_file_is_a_clear_error() {
    use cadastre_core::io::{stream_layer, LoadError};
    use cadastre_core::model::Layer;
    let err = stream_layer(&sample_dir().join("NOPE.shp"), Layer::Parcels, &LoadOptions::default(), &mut |_| {})
        .expect_err("missing file");
    assert!(matches!(err, LoadError::NotFound(_)), "{err}");
}
