//! Shapefile and GeoPackage I/O: round trips (GBK and UTF-8, Chinese text intact),
//! field aliases, encodings, and every bad-input case of issue #3 built on disk.

use std::path::{Path, PathBuf};

use cadastre_core::crs::Crs;
#[cfg(feature = "gdal")]
use cadastre_core::io::write_gpkg;
use cadastre_core::io::{load_submission, write_shapefiles, LoadError, LoadOptions, TextEncoding};
use cadastre_core::model::{
    Building, BuildingAttributes, LoadIssueKind, Parcel, ParcelAttributes, Subdistrict, Submission,
};
use geo_types::{polygon, MultiPolygon};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("cadastre-io-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn square(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![polygon![(x: x, y: y), (x: x + s, y: y), (x: x + s, y: y + s), (x: x, y: y + s)]])
}

fn sample() -> Submission {
    let mut sub = Submission { crs: Some(Crs::from_epsg(4549)), ..Submission::default() };
    for i in 0..3 {
        let zddm = format!("330106001001GB{:05}", i + 1);
        let x = 512_000.0 + 20.0 * f64::from(i);
        sub.parcels.push(Parcel {
            zddm: zddm.clone(),
            geometry: square(x, 3_350_000.0, 20.0),
            attributes: ParcelAttributes {
                bdcdyh: Some(format!("{zddm}W00000000")),
                zl: Some(format!("西湖区文三路{}号", 88 + i)),
                zdmj: Some(400.0),
                yt: Some("0701".into()),
                qllx: Some("3".into()),
                qlxz: Some("102".into()),
                djzqdm: Some("330106001001".into()),
                ..ParcelAttributes::default()
            },
            source_index: i as usize,
        });
        sub.buildings.push(Building {
            zrzh: format!("{zddm}F0001"),
            zddm,
            footprint: square(x + 5.0, 3_350_005.0, 10.0),
            attributes: BuildingAttributes {
                jzwmc: Some("综合楼".into()),
                zcs: Some(6),
                scjzmj: Some(600.5),
                ..Default::default()
            },
            source_index: i as usize,
        });
    }
    sub.subdistricts.push(Subdistrict {
        djzqdm: "330106001001".into(),
        name: Some("文三".into()),
        recorded_area: None,
        geometry: square(511_000.0, 3_349_000.0, 3_000.0),
        extra: Default::default(),
        source_index: 0,
    });
    sub
}

fn load(dir: &Path) -> Submission {
    load_submission(dir, &LoadOptions::default()).expect("loads")
}

#[test]
fn shapefile_round_trip_gbk_and_utf8() {
    for (enc, cpg) in [(TextEncoding::Gbk, "GBK"), (TextEncoding::Utf8, "UTF-8")] {
        let dir = TempDir::new(&format!("rt-{cpg}"));
        let sub = sample();
        write_shapefiles(&sub, &dir.0, enc).expect("write");
        assert_eq!(std::fs::read_to_string(dir.0.join("ZD.cpg")).expect("cpg"), cpg);
        assert!(std::fs::read_to_string(dir.0.join("ZD.prj")).expect("prj").contains("CGCS2000_3_Degree_GK_CM_120E"));
        let back = load(&dir.0);
        assert_eq!(back.parcels.len(), 3);
        assert_eq!(back.parcels[1].attributes.zl.as_deref(), Some("西湖区文三路89号"));
        assert_eq!(back.parcels[1].attributes.zdmj, Some(400.0));
        assert_eq!(back.parcels[1].zddm, "330106001001GB00002");
        assert_eq!(back.parcels[1].geometry, sub.parcels[1].geometry.clone().map_coords_clockwise());
        assert_eq!(back.buildings[0].attributes.jzwmc.as_deref(), Some("综合楼"));
        assert_eq!(back.buildings[0].attributes.zcs, Some(6));
        assert_eq!(back.buildings[0].attributes.scjzmj, Some(600.5));
        assert_eq!(back.subdistricts[0].name.as_deref(), Some("文三"));
        assert_eq!(back.crs.as_ref().and_then(|c| c.gk_zone).map(|z| z.epsg()), Some(4549));
        // DJQ absent: reported, nothing else is.
        let kinds: Vec<_> = back.load_issues.iter().map(|i| &i.kind).collect();
        assert_eq!(kinds, [&LoadIssueKind::MissingLayer], "{:?}", back.load_issues);
    }
}

/// Shapefiles store outer rings clockwise; compare geometry by coordinates.
trait Clockwise {
    fn map_coords_clockwise(self) -> Self;
}

impl Clockwise for MultiPolygon<f64> {
    fn map_coords_clockwise(self) -> Self {
        use geo::orient::{Direction, Orient};
        let mut m = self.orient(Direction::Reversed);
        for p in &mut m.0 {
            p.exterior_mut(|e| e.close());
        }
        m
    }
}

#[test]
#[cfg(feature = "gdal")]
fn geopackage_round_trip() {
    let dir = TempDir::new("gpkg");
    let path = dir.0.join("district.gpkg");
    let sub = sample();
    write_gpkg(&sub, &path).expect("write gpkg");
    let back = load_submission(&path, &LoadOptions::default()).expect("read gpkg");
    assert_eq!(back.parcels.len(), 3);
    assert_eq!(back.buildings.len(), 3);
    assert_eq!(back.parcels[2].attributes.zl.as_deref(), Some("西湖区文三路90号"));
    assert_eq!(back.crs.as_ref().and_then(|c| c.epsg), Some(4549));
    use cadastre_core::area::PlanarArea;
    assert_eq!(back.parcels[0].geometry.planar_area(), 400.0);
    // A folder holding only the GeoPackage loads too.
    assert_eq!(load(&dir.0).parcels.len(), 3);
}

#[test]
fn field_aliases_map_chinese_and_custom_names() {
    let dir = TempDir::new("alias");
    write_shapefiles(&sample(), &dir.0, TextEncoding::Gbk).expect("write");
    // Rename ZDDM to 宗地代码 and ZL to ADDR_TXT in the DBF header (same byte length or shorter, NUL padded).
    let dbf = dir.0.join("ZD.dbf");
    let mut bytes = std::fs::read(&dbf).expect("dbf");
    let rename = |bytes: &mut Vec<u8>, from: &str, to: &[u8]| {
        let n = bytes.len().min(32 + 32 * 16);
        let at = (32..n)
            .step_by(32)
            .find(|&i| bytes[i..i + 11].starts_with(from.as_bytes()) && bytes[i + from.len()] == 0)
            .expect("field");
        bytes[at..at + 11].fill(0);
        bytes[at..at + to.len()].copy_from_slice(to);
    };
    rename(&mut bytes, "ZDDM", &encoding_rs::GBK.encode("宗地代码").0);
    rename(&mut bytes, "ZL", b"ADDR_TXT");
    std::fs::write(&dbf, bytes).expect("write dbf");
    let plain = load(&dir.0);
    assert_eq!(plain.parcels[0].zddm, "330106001001GB00001", "宗地代码 is a built-in alias");
    assert_eq!(plain.parcels[0].attributes.zl, None);
    assert!(plain
        .load_issues
        .iter()
        .any(|i| matches!(&i.kind, LoadIssueKind::MissingField { field } if field == "ZL")));
    assert_eq!(plain.parcels[0].attributes.extra.get("ADDR_TXT").map(String::as_str), Some("西湖区文三路88号"));
    let mut opts = LoadOptions::default();
    opts.aliases.add("ZL", "addr_txt");
    let mapped = load_submission(&dir.0, &opts).expect("loads");
    assert_eq!(mapped.parcels[0].attributes.zl.as_deref(), Some("西湖区文三路88号"));
}

#[test]
fn lying_cpg_and_missing_cpg_are_detected() {
    let dir = TempDir::new("cpg");
    write_shapefiles(&sample(), &dir.0, TextEncoding::Gbk).expect("write");
    std::fs::write(dir.0.join("ZD.cpg"), "UTF-8").expect("lie");
    let sub = load(&dir.0);
    assert_eq!(sub.parcels[0].attributes.zl.as_deref(), Some("西湖区文三路88号"));
    assert!(sub
        .load_issues
        .iter()
        .any(|i| matches!(&i.kind, LoadIssueKind::EncodingGuessed { used, .. } if used == "GBK")));
    std::fs::remove_file(dir.0.join("ZD.cpg")).expect("rm");
    let sub = load(&dir.0);
    assert_eq!(sub.parcels[0].attributes.zl.as_deref(), Some("西湖区文三路88号"), "LDID 0x4D / GBK detection");
    // Forcing a wrong encoding is the user's call: no guess is reported.
    let opts = LoadOptions::default().with_encoding_name("utf-8").expect("known");
    let sub = load_submission(&dir.0, &opts).expect("loads");
    assert_ne!(sub.parcels[0].attributes.zl.as_deref(), Some("西湖区文三路88号"));
    assert!(matches!(LoadOptions::default().with_encoding_name("ebcdic-x"), Err(LoadError::UnknownEncoding(_))));
}

fn write_sample(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    write_shapefiles(&sample(), &dir.0, TextEncoding::Gbk).expect("write");
    dir
}

#[test]
fn truncated_shp_is_a_clear_error() {
    let dir = write_sample("trunc");
    let shp = dir.0.join("ZD.shp");
    let bytes = std::fs::read(&shp).expect("shp");
    for cut in [bytes.len() - 7, 150, 60, 0] {
        std::fs::write(&shp, &bytes[..cut]).expect("truncate");
        let err = load_submission(&dir.0, &LoadOptions::default()).expect_err("truncated");
        let msg = err.to_string();
        assert!(msg.contains("ZD.shp") && msg.contains("truncated"), "cut {cut}: {msg}");
    }
}

#[test]
fn missing_shx_is_fine_missing_dbf_is_reported() {
    let dir = write_sample("missing");
    std::fs::remove_file(dir.0.join("ZD.shx")).expect("rm shx");
    let sub = load(&dir.0);
    assert_eq!(sub.parcels.len(), 3, "the .shx is not needed");
    std::fs::remove_file(dir.0.join("ZD.dbf")).expect("rm dbf");
    let sub = load(&dir.0);
    assert_eq!(sub.parcels.len(), 3);
    assert!(sub.load_issues.iter().any(|i| i.kind == LoadIssueKind::MissingAttributeTable));
    assert_eq!(sub.load_issues.iter().filter(|i| matches!(i.kind, LoadIssueKind::MissingKey { .. })).count(), 3);
}

#[test]
fn record_count_mismatch_is_reported_and_nothing_dropped() {
    let dir = write_sample("count");
    // Drop the last DBF record but keep the header's count: 3 shapes, 2 records present.
    let dbf = dir.0.join("ZD.dbf");
    let bytes = std::fs::read(&dbf).expect("dbf");
    let record_len = u16::from_le_bytes([bytes[10], bytes[11]]) as usize;
    std::fs::write(&dbf, &bytes[..bytes.len() - 1 - record_len]).expect("cut");
    let sub = load(&dir.0);
    assert!(
        sub.load_issues.iter().any(|i| matches!(i.kind, LoadIssueKind::RecordCountMismatch { shapes: 3, records: 3 })),
        "{:?}",
        sub.load_issues
    );
    assert_eq!(sub.parcels.len(), 3, "the shape without attributes is kept");
    assert!(sub
        .load_issues
        .iter()
        .any(|i| i.source_index == Some(2) && matches!(i.kind, LoadIssueKind::MissingKey { .. })));
}

#[test]
fn null_empty_multipart_and_points_per_feature() {
    let dir = write_sample("shapes");
    let mut sub = sample();
    sub.parcels[0].geometry = MultiPolygon::new(vec![]); // written as a Null shape
    let mut two = square(600_000.0, 3_350_000.0, 5.0);
    two.0.extend(square(600_010.0, 3_350_000.0, 5.0).0);
    sub.parcels[1].geometry = two;
    write_shapefiles(&sub, &dir.0, TextEncoding::Utf8).expect("write");
    // Patch record 3 into a Point (type 1) in place: the rest of its bytes are then ignored.
    let shp = dir.0.join("ZD.shp");
    let mut bytes = std::fs::read(&shp).expect("shp");
    let mut pos = 100;
    for _ in 0..2 {
        let words = i32::from_be_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]) as usize;
        pos += 8 + 2 * words;
    }
    bytes[pos + 8..pos + 12].copy_from_slice(&1i32.to_le_bytes());
    std::fs::write(&shp, bytes).expect("patch");
    let back = load(&dir.0);
    let issue = |idx: usize| {
        back.load_issues
            .iter()
            .filter(move |i| i.source_index == Some(idx) && i.layer == cadastre_core::model::Layer::Parcels)
    };
    assert!(issue(0).any(|i| i.kind == LoadIssueKind::NullGeometry && i.code.as_deref() == Some("330106001001GB00001")));
    assert!(issue(1).any(|i| i.kind == LoadIssueKind::MultiPart { parts: 2 }));
    assert!(issue(2).any(|i| matches!(&i.kind, LoadIssueKind::WrongGeometryType { found } if found == "Point")));
    assert_eq!(back.parcels.len(), 1, "only the multipart parcel is usable");
    assert_eq!(back.parcels[0].geometry.0.len(), 2);
}

#[test]
fn no_prj_and_implausible_coordinates_are_reported() {
    let dir = write_sample("prj");
    std::fs::remove_file(dir.0.join("ZD.prj")).expect("rm prj");
    let sub = load(&dir.0);
    assert!(sub.load_issues.iter().any(|i| i.kind == LoadIssueKind::MissingPrj));
    assert!(sub.crs.is_none());
    // Degrees written into a metre CRS.
    let mut deg = sample();
    for p in &mut deg.parcels {
        p.geometry = square(120.1, 30.2, 0.001);
    }
    let dir = TempDir::new("deg");
    write_shapefiles(&deg, &dir.0, TextEncoding::Gbk).expect("write");
    let sub = load(&dir.0);
    let reasons: Vec<&str> = sub
        .load_issues
        .iter()
        .filter_map(|i| match &i.kind {
            LoadIssueKind::ImplausibleCoordinates { reason } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 1, "{:?}", sub.load_issues);
    assert!(reasons[0].contains("degrees"), "{}", reasons[0]);
}

/// Overwrite the first parcel's ZDMJ (numeric) with "abc", right-aligned.
fn corrupt_first_zdmj(dir: &Path) {
    let dbf = dir.join("ZD.dbf");
    let mut bytes = std::fs::read(&dbf).expect("dbf");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let (mut off, mut width) = (1usize, 0usize);
    for i in (32..header_len - 1).step_by(32) {
        let len = bytes[i + 16] as usize;
        if bytes[i..i + 4] == *b"ZDMJ" {
            width = len;
            break;
        }
        off += len;
    }
    let at = header_len + off;
    bytes[at..at + width].fill(b' ');
    bytes[at + width - 3..at + width].copy_from_slice(b"abc");
    std::fs::write(&dbf, bytes).expect("write");
}

#[test]
fn bad_attribute_values_are_per_feature_issues() {
    let dir = write_sample("attr");
    corrupt_first_zdmj(&dir.0);
    let sub = load(&dir.0);
    assert_eq!(sub.parcels[0].attributes.zdmj, None);
    assert!(sub.load_issues.iter().any(|i| i.source_index == Some(0)
        && matches!(&i.kind, LoadIssueKind::BadAttribute { field, value } if field == "ZDMJ" && value == "abc")));
}

#[test]
fn only_attributes_leaves_the_rest_empty_but_keeps_keys_numbers_and_issues() {
    let dir = write_sample("only");
    corrupt_first_zdmj(&dir.0);
    let full = load(&dir.0);
    let options = LoadOptions { only_attributes: Some(vec!["zl".into(), "JZWMC".into()]), ..LoadOptions::default() };
    let only = load_submission(&dir.0, &options).expect("loads");
    // Same objects, keys, geometry and load issues (a bad number is still reported).
    assert_eq!(only.load_issues, full.load_issues);
    assert_eq!(only.parcels.len(), full.parcels.len());
    for (o, f) in only.parcels.iter().zip(&full.parcels) {
        assert_eq!((&o.zddm, &o.geometry, o.source_index), (&f.zddm, &f.geometry, f.source_index));
        assert_eq!((&o.attributes.zl, o.attributes.zdmj), (&f.attributes.zl, f.attributes.zdmj));
        assert!(o.attributes.zl.is_some());
        // Not asked for: left empty; DJZQDM is a key (of the sub-districts), always read.
        assert!(f.attributes.bdcdyh.is_some() && f.attributes.yt.is_some());
        assert_eq!((&o.attributes.bdcdyh, &o.attributes.yt), (&None, &None));
        assert_eq!(o.attributes.djzqdm, f.attributes.djzqdm);
    }
    assert_eq!(only.parcels[1].attributes.zdmj, Some(400.0));
    for (o, f) in only.buildings.iter().zip(&full.buildings) {
        assert_eq!((&o.zrzh, &o.zddm, &o.footprint), (&f.zrzh, &f.zddm, &f.footprint));
        assert_eq!(o.attributes.jzwmc.as_deref(), Some("综合楼"));
        assert_eq!((o.attributes.zcs, o.attributes.scjzmj), (Some(6), Some(600.5)));
    }
    assert_eq!(only.subdistricts[0].djzqdm, "330106001001");
    assert_eq!(only.subdistricts[0].name, None);
}

#[test]
fn not_found_and_no_parcel_layer_are_errors() {
    assert!(matches!(
        load_submission(Path::new("/nonexistent/x"), &LoadOptions::default()),
        Err(LoadError::NotFound(_))
    ));
    let dir = TempDir::new("empty");
    assert!(matches!(load_submission(&dir.0, &LoadOptions::default()), Err(LoadError::NoParcelLayer(_))));
}

#[test]
fn layer_file_names_are_case_insensitive_and_chinese() {
    let dir = write_sample("names");
    for ext in ["shp", "shx", "dbf", "cpg", "prj"] {
        std::fs::rename(dir.0.join(format!("ZD.{ext}")), dir.0.join(format!("宗地.{ext}"))).expect("rename");
        std::fs::rename(dir.0.join(format!("ZRZ.{ext}")), dir.0.join(format!("zrz.{}", ext.to_uppercase())))
            .expect("rename");
    }
    let sub = load(&dir.0);
    assert_eq!((sub.parcels.len(), sub.buildings.len()), (3, 3));
}
