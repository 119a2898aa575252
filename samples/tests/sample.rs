//! The committed sample district is exactly what `--preset sample` writes,
//! and written shapefiles read back with the same attributes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cadastre_samples::{generate, write_district, write_generated, Config, TextEncoding};
use shapefile::dbase::FieldValue;

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("district")
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "README.md") {
                let rel = p.strip_prefix(dir).expect("prefix").to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

#[test]
fn committed_sample_matches_preset_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_generated(&Config::sample(), dir.path(), &mut |_| {}).expect("write");
    let (want, got) = (files(&committed()), files(dir.path()));
    assert_eq!(want.keys().collect::<Vec<_>>(), got.keys().collect::<Vec<_>>(), "file sets differ");
    for (name, bytes) in &want {
        assert!(bytes == &got[name], "{name} differs from `district-gen --preset sample`; regenerate samples/district");
    }
    assert!(want.len() > 20 + 8, "4 layers x 5 files, 4 tables x 2 files, truth.json");
}

#[test]
fn in_memory_and_streaming_writers_give_the_same_bytes() {
    let c = Config::new(500).with_seed(21);
    let (a, b) = (tempfile::tempdir().expect("a"), tempfile::tempdir().expect("b"));
    write_generated(&c, a.path(), &mut |_| {}).expect("stream");
    write_district(&generate(&c).expect("generate"), &c, b.path()).expect("memory");
    assert_eq!(files(a.path()), files(b.path()));
}

fn text(v: Option<&FieldValue>) -> String {
    match v {
        Some(FieldValue::Character(Some(s))) => s.clone(),
        Some(FieldValue::Character(None)) | None => String::new(),
        Some(other) => format!("{other:?}"),
    }
}

fn number(v: Option<&FieldValue>) -> f64 {
    match v {
        Some(FieldValue::Numeric(Some(x))) => *x,
        other => panic!("not a number: {other:?}"),
    }
}

fn read_back(dir: &Path, encoding: &'static encoding_rs::Encoding) {
    let d = generate(&Config::sample()).expect("generate");
    for layer in ["ZD", "ZRZ", "DJZQ", "DJQ"] {
        let cpg = std::fs::read_to_string(dir.join(format!("{layer}.cpg"))).expect("cpg");
        assert_eq!(cpg, if encoding == encoding_rs::GBK { "GBK" } else { "UTF-8" });
        let prj = std::fs::read_to_string(dir.join(format!("{layer}.prj"))).expect("prj");
        assert_eq!(prj, Config::sample().prj());
    }
    let mut r = shapefile::Reader::from_path(dir.join("ZD.shp")).expect("open ZD");
    let rows: Vec<(shapefile::Polygon, shapefile::dbase::Record)> = r
        .iter_shapes_and_records_as::<shapefile::Polygon, shapefile::dbase::Record>()
        .map(|x| x.expect("record"))
        .collect();
    assert_eq!(rows.len(), d.parcels.len());
    for ((shape, rec), p) in rows.iter().zip(&d.parcels) {
        assert_eq!(text(rec.get("ZDDM")), p.zddm);
        assert_eq!(text(rec.get("ZL")), p.address, "Chinese address intact");
        assert!(p.address.starts_with("西湖区"));
        assert_eq!(text(rec.get("BDCDYH")), p.bdcdyh);
        assert_eq!(text(rec.get("YSDM")), "6001010000");
        assert_eq!(text(rec.get("YT")), p.land_use);
        assert_eq!(text(rec.get("DJZQDM")), p.subdistrict);
        assert!((number(rec.get("ZDMJ")) - p.recorded_area).abs() < 1e-9);
        let rings: Vec<Vec<(f64, f64)>> =
            shape.rings().iter().map(|r| r.points().iter().map(|q| (q.x, q.y)).collect()).collect();
        let want: Vec<Vec<(f64, f64)>> = std::iter::once(p.geometry.exterior())
            .chain(p.geometry.interiors())
            .map(|r| r.0.iter().map(|c| (c.x, c.y)).collect())
            .collect();
        assert_eq!(rings, want, "coordinates bit-identical, exterior first");
    }
    let mut r = shapefile::Reader::from_path(dir.join("ZRZ.shp")).expect("open ZRZ");
    let rows: Vec<_> = r
        .iter_shapes_and_records_as::<shapefile::Polygon, shapefile::dbase::Record>()
        .map(|x| x.expect("record"))
        .collect();
    assert_eq!(rows.len(), d.buildings.len());
    for ((_, rec), b) in rows.iter().zip(&d.buildings) {
        assert_eq!(text(rec.get("ZRZH")), b.zrzh);
        assert_eq!(text(rec.get("JZWMC")), b.name);
        assert_eq!(text(rec.get("FWJG")), b.structure);
        assert_eq!(number(rec.get("DSCS")) as u32, b.floors_above);
        assert!(matches!(rec.get("JGRQ"), Some(FieldValue::Date(Some(_)))));
    }
    let mut r = shapefile::Reader::from_path(dir.join("DJZQ.shp")).expect("open DJZQ");
    let names: Vec<String> = r
        .iter_shapes_and_records_as::<shapefile::Polygon, shapefile::dbase::Record>()
        .map(|x| text(x.expect("record").1.get("DJZQMC")))
        .collect();
    assert_eq!(names, d.subdistricts.iter().map(|s| s.name.clone()).collect::<Vec<_>>());
    assert_eq!(names[0], "文新地籍子区");
}

#[test]
fn committed_sample_reads_back_with_gbk_attributes() {
    read_back(&committed(), encoding_rs::GBK);
    // The DBF really is GBK: the address bytes are not valid UTF-8.
    let dbf = std::fs::read(committed().join("ZD.dbf")).expect("dbf");
    let (gbk, _, _) = encoding_rs::GBK.encode("西湖区");
    assert!(dbf.windows(gbk.len()).any(|w| w == &gbk[..]));
    assert_eq!(dbf[29], 0x4D, "language driver id for GBK");
}

#[test]
fn utf8_output_reads_back_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_generated(&Config::sample().with_encoding(TextEncoding::Utf8), dir.path(), &mut |_| {}).expect("write");
    read_back(dir.path(), encoding_rs::UTF_8);
}

#[test]
fn building_tables_agree_with_the_zrz_layer() {
    let d = generate(&Config::sample()).expect("generate");
    assert_eq!(d.tables.len(), 4);
    for t in &d.tables {
        let b = d.buildings.iter().find(|b| b.zrzh == t.zrzh).expect("table's building exists");
        let max = t.rows.iter().map(|r| r.myc).max().unwrap_or(0);
        let min = t.rows.iter().map(|r| r.myc).min().unwrap_or(0);
        assert_eq!(max as u32, b.floors_above);
        assert_eq!(if min < 0 { (-min) as u32 } else { 0 }, b.floors_below);
        let csv = std::fs::read_to_string(committed().join("buildings").join(format!("{}.csv", t.zrzh))).expect("csv");
        assert!(csv.starts_with('\u{feff}'));
        assert_eq!(csv.lines().count(), t.rows.len() + 1);
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(committed().join("buildings").join(format!("{}.apportion.json", t.zrzh)))
                .expect("json"),
        )
        .expect("parse");
        assert_eq!(json["building"], t.zrzh.as_str());
    }
    let mixed = &d.tables[0];
    assert!(
        mixed.rows.iter().any(|r| r.sjc.contains('-') && r.myc > 0),
        "a nominal floor spanning two physical floors"
    );
    assert_eq!(d.buildings.iter().find(|b| b.zrzh == mixed.zrzh).map(|b| b.planned_use.as_str()), Some("商住"));
}
