//! Result packages (成果包): a folder round-trips, and every bad package is refused with
//! its own clear message.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use cadastre_core::package::{build_from_dir, Limits, Package, PackageError, PackageWriter};
use serde_json::{json, Value};
use zip::write::SimpleFileOptions;

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district")
}

fn sample_zip() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    build_from_dir(&sample_dir(), &mut out).unwrap_or_else(|e| panic!("build: {e}"));
    out.into_inner()
}

fn open(bytes: Vec<u8>) -> Result<Package<Cursor<Vec<u8>>>, PackageError> {
    Package::open(Cursor::new(bytes), &Limits::default())
}

/// Opens and verifies; the error of whichever step refuses.
fn refuse(bytes: Vec<u8>) -> PackageError {
    match open(bytes).and_then(|mut p| p.verify().map(|_| p)) {
        Ok(_) => panic!("a bad package was accepted"),
        Err(e) => e,
    }
}

/// A zip of the given raw entries, stored or deflated.
fn raw_zip(entries: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let method = if deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
    for (name, bytes) in entries {
        w.start_file(*name, SimpleFileOptions::default().compression_method(method)).unwrap_or_else(|e| panic!("{e}"));
        w.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    w.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn manifest(files: &[(&str, &[u8])]) -> Value {
    json!({
        "format": "cadastre-result-package", "format_version": 1, "county": "330106",
        "files": files.iter().map(|(p, b)| json!({"path": p, "size": b.len(), "sha256": sha(b)})).collect::<Vec<_>>()
    })
}

fn with_manifest(m: &Value, files: &[(&str, &[u8])]) -> Vec<u8> {
    let text = m.to_string();
    let mut all: Vec<(&str, &[u8])> = vec![("manifest.json", text.as_bytes())];
    all.extend_from_slice(files);
    raw_zip(&all, true)
}

#[test]
fn the_sample_district_round_trips() {
    let bytes = sample_zip();
    let mut pkg = open(bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pkg.manifest().county, "330106");
    assert_eq!(pkg.manifest().business_kind.name_zh(), "首次");
    assert!(pkg.manifest().files.iter().any(|f| f.path == "buildings/330106001001GB00001F0001.csv"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    pkg.extract_to(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let sub = cadastre_core::io::load_submission(dir.path(), &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((sub.parcels.len(), sub.buildings.len(), sub.subdistricts.len()), (200, 297, 3));
    assert_eq!(
        std::fs::read(dir.path().join("ZD.dbf")).ok(),
        std::fs::read(sample_dir().join("ZD.dbf")).ok(),
        "files come out byte for byte"
    );
}

#[test]
fn manifest_toml_gives_the_fields() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("manifest.toml"),
        "county = \"330106\"\nproject = \"文三路宗地分割\"\nsurvey_firm = \"某测绘公司\"\nbusiness_kind = \"分割\"\n\
         [[replaces]]\nkind = \"分割\"\nold = [\"330106001002GB00006\"]\nnew = [\"T1\", \"T2\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("说明.txt"), "分割").unwrap_or_else(|e| panic!("{e}"));
    let mut out = Cursor::new(Vec::new());
    let m = build_from_dir(dir.path(), &mut out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (m.project.as_str(), m.survey_firm.as_str(), m.business_kind.name_zh()),
        ("文三路宗地分割", "某测绘公司", "分割")
    );
    assert_eq!(m.replaces[0].new, ["T1", "T2"]);
    assert_eq!(
        m.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        ["说明.txt"],
        "manifest.toml is not packed"
    );
    let pkg = open(out.into_inner()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pkg.manifest(), &m);
}

#[test]
fn a_split_of_one_into_one_is_refused_when_building() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("manifest.toml"),
        "county = \"330106\"\n[[replaces]]\nkind = \"分割\"\nold = [\"330106001002GB00006\"]\nnew = [\"T1\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = build_from_dir(dir.path(), Cursor::new(Vec::new())).err();
    assert!(matches!(err, Some(PackageError::InvalidManifest(_))), "{err:?}");
}

#[test]
fn missing_file() {
    let m = manifest(&[("ZD.shp", b"shp"), ("ZD.dbf", b"dbf")]);
    let e = refuse(with_manifest(&m, &[("ZD.shp", b"shp")]));
    assert!(matches!(&e, PackageError::MissingFile(p) if p == "ZD.dbf"), "{e}");
    assert!(e.to_string().contains("missing file: ZD.dbf"), "{e}");
}

#[test]
fn extra_file() {
    let m = manifest(&[("ZD.shp", b"shp")]);
    let e = refuse(with_manifest(&m, &[("ZD.shp", b"shp"), ("evil.exe", b"MZ")]));
    assert!(matches!(&e, PackageError::ExtraFile(p) if p == "evil.exe"), "{e}");
}

#[test]
fn wrong_digest() {
    let m = manifest(&[("ZD.shp", b"original")]);
    let e = refuse(with_manifest(&m, &[("ZD.shp", b"tampered")]));
    assert!(matches!(&e, PackageError::DigestMismatch { path } if path == "ZD.shp"), "{e}");
    assert!(e.to_string().contains("wrong digest"), "{e}");
}

#[test]
fn a_truncated_package_is_not_a_zip() {
    let mut bytes = sample_zip();
    bytes.truncate(bytes.len() / 2);
    assert!(matches!(refuse(bytes), PackageError::NotZip(_)));
    assert!(matches!(refuse(b"PK\x03\x04 not really".to_vec()), PackageError::NotZip(_)));
}

#[test]
fn unknown_format_version() {
    let mut m = manifest(&[]);
    m["format_version"] = json!(2);
    m["something_new"] = json!({"a": 1});
    let e = refuse(with_manifest(&m, &[]));
    assert!(matches!(e, PackageError::UnknownVersion { found: 2, known: 1 }), "{e}");
}

#[test]
fn missing_and_malformed_manifest() {
    assert!(matches!(refuse(raw_zip(&[("ZD.shp", b"x")], true)), PackageError::MissingManifest));
    let e = refuse(raw_zip(&[("manifest.json", b"{not json")], true));
    assert!(matches!(e, PackageError::BadManifest(_)), "{e}");
}

#[test]
fn path_escape() {
    for name in ["../../etc/cron.d/x", "/etc/passwd", "a/../../b", "C:/Windows/x", "a\\..\\..\\b"] {
        let m = manifest(&[(name, b"x")]);
        let e = refuse(with_manifest(&m, &[(name, b"x")]));
        assert!(matches!(&e, PackageError::PathEscape(p) if p == name), "{name}: {e}");
    }
}

#[test]
fn zip_bomb_by_ratio_size_and_entries() {
    let zeros = vec![0u8; 8 << 20];
    let m = manifest(&[("ZD.dbf", &zeros)]);
    let e = refuse(with_manifest(&m, &[("ZD.dbf", &zeros)]));
    assert!(matches!(e, PackageError::ZipBomb(_)), "ratio: {e}");
    assert!(e.to_string().contains("zip bomb"), "{e}");

    let small = Limits { max_unpacked_bytes: 1000, ..Limits::default() };
    let data = vec![7u8; 2000];
    let m = manifest(&[("ZD.dbf", &data)]);
    let e = Package::open(Cursor::new(with_manifest(&m, &[("ZD.dbf", &data)])), &small).err();
    assert!(matches!(e, Some(PackageError::ZipBomb(_))), "size: {e:?}");

    let few = Limits { max_entries: 3, ..Limits::default() };
    let names: Vec<String> = (0..5).map(|i| format!("f{i}.txt")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), b"x".as_slice())).collect();
    let e = Package::open(Cursor::new(with_manifest(&manifest(&files), &files)), &few).err();
    assert!(matches!(e, Some(PackageError::ZipBomb(_))), "entries: {e:?}");
}

#[test]
fn a_lying_header_is_caught_while_inflating() {
    // The manifest says 10 bytes; the entry inflates to far more: stop at 11, never inflate it all.
    let big = vec![b'a'; 100_000];
    let mut m = manifest(&[("ZD.dbf", &big)]);
    m["files"][0]["size"] = json!(10);
    let e = refuse(with_manifest(&m, &[("ZD.dbf", &big)]));
    assert!(matches!(e, PackageError::DigestMismatch { .. }), "{e}");
}

#[test]
fn county_outside_scope() {
    let pkg = open(sample_zip()).unwrap_or_else(|e| panic!("{e}"));
    let e = pkg.check_scope(&["330102".to_owned()]).err();
    assert!(matches!(&e, Some(PackageError::CountyOutOfScope { county }) if county == "330106"), "{e:?}");
    // One code for this refusal everywhere: the server's (tile-server's AppError::CountyForbidden).
    assert_eq!(e.map(|e| e.code()), Some("county_forbidden"));
    assert!(pkg.check_scope(&["330106".to_owned()]).is_ok());
}

#[test]
fn writer_and_reader_agree_on_digests() {
    let mut w = PackageWriter::new(Cursor::new(Vec::new()));
    w.add_file("buildings/a.csv", "户号,面积\n".as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let (_, out) = w.finish(cadastre_core::package::Manifest::new("330106")).unwrap_or_else(|e| panic!("{e}"));
    let mut pkg = open(out.into_inner()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pkg.read_file("buildings/a.csv").ok().as_deref(), Some("户号,面积\n".as_bytes()));
}

#[test]
#[cfg(feature = "cli")]
fn the_cli_builds_verifies_and_refuses_with_one_message() {
    let exe = env!("CARGO_BIN_EXE_cadastre");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pkg = dir.path().join("d.zip");
    let run = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(exe).args(args).output().unwrap_or_else(|e| panic!("{e}"))
    };
    let out = run(&["package".as_ref(), "build".as_ref(), sample_dir().as_os_str(), "--out".as_ref(), pkg.as_os_str()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["package".as_ref(), "verify".as_ref(), pkg.as_os_str()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("good, county 330106"));
    // Tamper with one byte of the stored DBF: the digest no longer matches.
    let m = manifest(&[("ZD.dbf", b"abc")]);
    std::fs::write(&pkg, with_manifest(&m, &[("ZD.dbf", b"abd")])).unwrap_or_else(|e| panic!("{e}"));
    let out = run(&["package".as_ref(), "verify".as_ref(), pkg.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("文件摘要不符 wrong digest: ZD.dbf"), "{err}");
}

#[test]
#[cfg(feature = "gdal")]
fn a_geopackage_folder_packs_and_reads_back() {
    let sub = cadastre_core::io::load_submission(&sample_dir(), &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    cadastre_core::io::write_gpkg(&sub, &dir.path().join("district.gpkg")).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Cursor::new(Vec::new());
    let m = build_from_dir(dir.path(), &mut out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.county, "330106", "derived from the GeoPackage's codes");
    let mut pkg = open(out.into_inner()).unwrap_or_else(|e| panic!("{e}"));
    let back = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    pkg.extract_to(back.path()).unwrap_or_else(|e| panic!("{e}"));
    let read = cadastre_core::io::load_submission(back.path(), &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((read.parcels.len(), read.buildings.len()), (200, 297));
}
