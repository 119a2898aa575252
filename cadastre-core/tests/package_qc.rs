//! The QC report inside a result package: written with the checks' outcome, listed and
//! digested like every other member, read back; packages without one stay valid; a
//! tampered report or a manifest naming an unlisted report is refused.

use std::io::Cursor;
use std::path::Path;

use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::package::{
    build_from_dir, check_for_package, Limits, Manifest, Package, PackageError, PackageWriter, QC_REPORT_JSON,
};
use cadastre_core::qc::QcConfig;

fn packed_sample(with_report: bool) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district");
    let sub = load_submission(&dir, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut w = PackageWriter::new(Cursor::new(Vec::new()));
    for name in ["ZD.shp", "ZD.shx", "ZD.dbf", "ZD.prj", "ZD.cpg"] {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        w.add_file(name, &bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    if with_report {
        w.add_qc_report(&check_for_package(&sub, &QcConfig::default())).unwrap_or_else(|e| panic!("{e}"));
    }
    let (_, out) = w.finish(Manifest::new("330106")).unwrap_or_else(|e| panic!("{e}"));
    out.into_inner()
}

fn open(bytes: &[u8]) -> Result<Package<Cursor<&[u8]>>, PackageError> {
    Package::open(Cursor::new(bytes), &Limits::default())
}

#[test]
fn the_report_is_a_listed_digested_member_that_reads_back() {
    let bytes = packed_sample(true);
    let mut pkg = open(&bytes).unwrap_or_else(|e| panic!("{e}"));
    pkg.verify().unwrap_or_else(|e| panic!("{e}"));
    let m = pkg.manifest().clone();
    let r = m.qc_report.clone().unwrap_or_else(|| panic!("no qc_report in the manifest"));
    assert_eq!(r.json, QC_REPORT_JSON);
    assert!(m.files.iter().any(|f| f.path == r.json), "the report JSON is listed");
    assert!(m.files.iter().any(|f| Some(&f.path) == r.html.as_ref()), "the report HTML is listed");
    assert_eq!(m.format_version, 1, "an optional member: still format 1");
    let report = pkg.qc_report().unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
    assert_eq!(report["verdict"].as_str(), Some(r.verdict.as_str()));
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(r.findings));
    let html =
        String::from_utf8(pkg.read_file(r.html.as_deref().unwrap_or("")).unwrap_or_default()).unwrap_or_default();
    assert!(html.contains("<html"), "{}", &html[..html.len().min(200)]);
}

#[test]
fn a_package_without_a_report_stays_valid() {
    let bytes = packed_sample(false);
    let mut pkg = open(&bytes).unwrap_or_else(|e| panic!("{e}"));
    pkg.verify().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pkg.manifest().qc_report, None);
    assert!(pkg.qc_report().unwrap_or_else(|e| panic!("{e}")).is_none());
    // And `package build` (no checks) writes none.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("manifest.toml"), "county = \"330106\"\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("notes.txt"), "说明").unwrap_or_else(|e| panic!("{e}"));
    let mut zip = Cursor::new(Vec::new());
    let m = build_from_dir(dir.path(), &mut zip).unwrap_or_else(|e| panic!("{e}"));
    assert!(m.qc_report.is_none());
    let json = serde_json::to_string(&m).unwrap_or_default();
    assert!(!json.contains("qc_report"), "older readers see the manifest they know: {json}");
}

/// The archive with one member's bytes changed in place (same length), CRC fixed up by
/// rewriting the zip: the digest must catch it.
fn with_member_replaced(bytes: &[u8], name: &str, edit: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    use std::io::{Read as _, Write as _};
    let mut src = zip::ZipArchive::new(Cursor::new(bytes)).unwrap_or_else(|e| panic!("{e}"));
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap_or_else(|e| panic!("{e}"));
        let n = f.name().unwrap_or_else(|e| panic!("{e}")).into_owned();
        let mut content = Vec::new();
        f.read_to_end(&mut content).unwrap_or_else(|e| panic!("{e}"));
        let content = if n == name { edit(&content) } else { content };
        out.start_file(n, zip::write::SimpleFileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        out.write_all(&content).unwrap_or_else(|e| panic!("{e}"));
    }
    out.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
}

#[test]
fn a_tampered_report_or_an_unlisted_one_is_refused() {
    let bytes = packed_sample(true);
    // A "pass" written over the surveyor's real verdict.
    let tampered = with_member_replaced(&bytes, QC_REPORT_JSON, |c| {
        String::from_utf8_lossy(c).replace("\"fail\"", "\"pass\"").replace("\"score\"", "\"score\" ").into_bytes()
    });
    let mut pkg = open(&tampered).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(pkg.verify(), Err(PackageError::DigestMismatch { .. })));
    assert!(matches!(pkg.qc_report(), Err(PackageError::DigestMismatch { .. })));
    // A manifest whose qc_report names a file it does not list.
    let unlisted = with_member_replaced(&bytes, "manifest.json", |c| {
        let mut v: serde_json::Value = serde_json::from_slice(c).unwrap_or_default();
        v["qc_report"]["json"] = serde_json::json!("qc/other.json");
        serde_json::to_vec(&v).unwrap_or_default()
    });
    let err = open(&unlisted).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("qc/other.json") && err.contains("not in files"), "{err}");
}
