//! Broken copies of the sample district that used to pass without a word: a `.prj` holding an
//! HTML error page, a missing `.shx`, a `.shx` that does not match, a `.shp` header whose length
//! field is three times the file's size. Each through the library and through `cadastre check`
//! (exit status and what it prints).

use std::path::{Path, PathBuf};

use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::model::{Layer, LoadIssueKind, Submission};
use cadastre_core::qc::{check, QcConfig, Report, Severity, Verdict, INPUT_LOAD};

const HTML: &str = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n\
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n";

/// A fresh copy of the committed sample district, removed on drop.
struct Copy(PathBuf);

impl Copy {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cadastre-broken-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district");
        for entry in std::fs::read_dir(&sample).expect("sample district") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
            }
        }
        Self(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load(dir: &Path) -> Submission {
    load_submission(dir, &LoadOptions::default()).expect("loads")
}

fn intact() -> (Submission, Report) {
    let copy = Copy::new("intact");
    let sub = load(&copy.0);
    let report = check(&sub, &QcConfig::default());
    (sub, report)
}

fn kinds(sub: &Submission, layer: Layer) -> Vec<&LoadIssueKind> {
    sub.load_issues.iter().filter(|i| i.layer == layer && i.source_index.is_none()).map(|i| &i.kind).collect()
}

fn input_findings(report: &Report) -> Vec<&cadastre_core::qc::Finding> {
    report.findings.iter().filter(|f| f.rule == INPUT_LOAD).collect()
}

/// `cadastre check DIR`: exit status and stdout.
#[cfg(feature = "cli")]
fn cli(dir: &Path) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadastre"))
        .arg("check")
        .arg(dir)
        .output()
        .expect("runs cadastre");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The sample district passes, with no input finding: what the broken copies are compared with.
#[test]
fn the_intact_sample_passes_with_no_input_finding() {
    let (sub, report) = intact();
    assert!(kinds(&sub, Layer::Parcels).is_empty(), "{:?}", sub.load_issues);
    assert_eq!(report.verdict, Verdict::Pass);
    assert!(input_findings(&report).is_empty());
}

#[test]
fn an_html_page_as_prj_fails_the_check() {
    let (intact_sub, _) = intact();
    for (name, layer) in [("ZD.prj", Layer::Parcels), ("ZRZ.prj", Layer::Buildings)] {
        let copy = Copy::new(&format!("prj-{name}"));
        std::fs::write(copy.file(name), HTML).expect("write prj");
        let sub = load(&copy.0);
        assert_eq!(sub.parcels, intact_sub.parcels, "the geometry and attributes are still read");
        let found = kinds(&sub, layer);
        assert!(
            matches!(found.as_slice(), [LoadIssueKind::UnreadableCrs { detail }] if detail.contains("<!DOCTYPE html>")),
            "{name}: {:?}",
            sub.load_issues
        );
        assert!(
            !sub.load_issues.iter().any(|i| matches!(i.kind, LoadIssueKind::UnknownCrs { .. })),
            "reported once, as unreadable"
        );
        let report = check(&sub, &QcConfig::default());
        assert_eq!(report.verdict, Verdict::Fail, "{name}");
        let input = input_findings(&report);
        assert_eq!(input.len(), 1, "{input:?}");
        assert_eq!(input[0].severity, Severity::Error);
        assert!(input[0].message_en.contains("cannot be read"), "{}", input[0].message_en);
        assert!(input[0].message_zh.contains("无法读取"), "{}", input[0].message_zh);
        // Even when the user turned input problems down to information.
        let lenient = QcConfig::from_toml("[rules.\"input.load\"]\nseverity = \"info\"\n").expect("rules");
        assert_eq!(check(&sub, &lenient).verdict, Verdict::Fail);

        #[cfg(feature = "cli")]
        {
            let (status, stdout) = cli(&copy.0);
            assert_eq!(status, Some(1), "{stdout}");
            assert!(stdout.contains("不通过 fail") && stdout.contains(name), "{stdout}");
            assert!(stdout.contains("[error]") && stdout.contains("the .prj cannot be read"), "{stdout}");
        }
    }
}

#[test]
fn an_empty_or_cut_off_prj_fails_but_an_unknown_wkt_only_warns() {
    let copy = Copy::new("prj-cut");
    let wkt = std::fs::read_to_string(copy.file("ZD.prj")).expect("prj");
    for bad in [String::new(), wkt[..wkt.len() / 2].to_owned()] {
        std::fs::write(copy.file("ZD.prj"), &bad).expect("write prj");
        let report = check(&load(&copy.0), &QcConfig::default());
        assert_eq!(report.verdict, Verdict::Fail, "{bad:?}");
    }
    // A readable WKT of a CRS the checks do not know: a warning, as before.
    let utm = r#"PROJCS["WGS 84 / UTM zone 50N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],UNIT["metre",1]]"#;
    std::fs::write(copy.file("ZD.prj"), utm).expect("write prj");
    let sub = load(&copy.0);
    assert!(matches!(kinds(&sub, Layer::Parcels).as_slice(), [LoadIssueKind::UnknownCrs { .. }]));
    let report = check(&sub, &QcConfig::default());
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(input_findings(&report).iter().map(|f| f.severity).collect::<Vec<_>>(), [Severity::Warning]);
}

#[test]
fn a_missing_shx_is_read_and_said() {
    let (intact_sub, _) = intact();
    let copy = Copy::new("shx");
    std::fs::remove_file(copy.file("ZD.shx")).expect("rm shx");
    let sub = load(&copy.0);
    assert_eq!(sub.parcels, intact_sub.parcels, "the data is whole: read as it is");
    assert_eq!(kinds(&sub, Layer::Parcels), [&LoadIssueKind::MissingIndex]);
    let report = check(&sub, &QcConfig::default());
    let input = input_findings(&report);
    assert_eq!(input.len(), 1);
    assert!(input[0].message_en.contains("no .shx"), "{}", input[0].message_en);
    assert_eq!(input[0].severity, Severity::Warning);

    #[cfg(feature = "cli")]
    {
        let (status, stdout) = cli(&copy.0);
        assert_eq!(status, Some(0), "{stdout}");
        assert!(stdout.contains("input.load") && stdout.contains("no .shx"), "{stdout}");
    }
}

#[test]
fn a_shx_that_does_not_match_is_read_around_and_said() {
    let (intact_sub, _) = intact();
    let copy = Copy::new("shx-bad");
    let mut shx = std::fs::read(copy.file("ZRZ.shx")).expect("shx");
    // The fifth entry's offset points one word too far.
    let at = 100 + 4 * 8;
    let offset = i32::from_be_bytes([shx[at], shx[at + 1], shx[at + 2], shx[at + 3]]) + 1;
    shx[at..at + 4].copy_from_slice(&offset.to_be_bytes());
    std::fs::write(copy.file("ZRZ.shx"), &shx).expect("write");
    let sub = load(&copy.0);
    assert_eq!(sub.buildings, intact_sub.buildings);
    let found = kinds(&sub, Layer::Buildings);
    assert!(
        matches!(found.as_slice(), [LoadIssueKind::IndexMismatch { detail }] if detail.contains("entry 5")),
        "{found:?}"
    );
    // A .shx cut short.
    std::fs::write(copy.file("ZRZ.shx"), &shx[..shx.len() - 8]).expect("write");
    let sub = load(&copy.0);
    assert!(matches!(kinds(&sub, Layer::Buildings).as_slice(), [LoadIssueKind::IndexMismatch { .. }]));
    #[cfg(feature = "cli")]
    {
        let (status, stdout) = cli(&copy.0);
        assert_eq!(status, Some(0), "{stdout}");
        assert!(stdout.contains(".shx index does not match"), "{stdout}");
    }
}

#[test]
fn a_shp_header_three_times_the_file_is_read_and_said() {
    let (intact_sub, _) = intact();
    let copy = Copy::new("header");
    let mut shp = std::fs::read(copy.file("ZD.shp")).expect("shp");
    let words = i32::try_from(shp.len() / 2 * 3).expect("small file");
    shp[24..28].copy_from_slice(&words.to_be_bytes());
    std::fs::write(copy.file("ZD.shp"), &shp).expect("write");
    let sub = load(&copy.0);
    assert_eq!(sub.parcels, intact_sub.parcels, "every record is whole");
    let (declared, actual) = (shp.len() as u64 * 3, shp.len() as u64);
    assert_eq!(kinds(&sub, Layer::Parcels), [&LoadIssueKind::HeaderLengthMismatch { declared, actual }]);
    let report = check(&sub, &QcConfig::default());
    let input = input_findings(&report);
    assert_eq!(input.len(), 1);
    assert!(input[0].message_en.contains(&format!("{declared} bytes")), "{}", input[0].message_en);

    #[cfg(feature = "cli")]
    {
        let (status, stdout) = cli(&copy.0);
        assert_eq!(status, Some(0), "{stdout}");
        assert!(stdout.contains(".shp header says"), "{stdout}");
    }

    // A header shorter than the file with records after its end: those are not read, and said.
    let short = i32::try_from((shp.len() - 200) / 2).expect("small file");
    shp[24..28].copy_from_slice(&short.to_be_bytes());
    std::fs::write(copy.file("ZD.shp"), &shp).expect("write");
    let sub = load(&copy.0);
    let found = kinds(&sub, Layer::Parcels);
    assert!(found.iter().any(|k| matches!(k, LoadIssueKind::HeaderLengthMismatch { .. })), "{found:?}");
    assert!(found.iter().any(|k| matches!(k, LoadIssueKind::RecordCountMismatch { .. })), "{found:?}");

    // Zero padding after the declared end is harmless.
    let mut padded =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district/ZD.shp")).expect("shp");
    let len = i32::try_from(padded.len() / 2).expect("small");
    padded[24..28].copy_from_slice(&len.to_be_bytes());
    padded.extend([0u8; 64]);
    std::fs::write(copy.file("ZD.shp"), &padded).expect("write");
    assert!(kinds(&load(&copy.0), Layer::Parcels).is_empty());
}

#[test]
fn a_truncated_record_is_still_an_error_whatever_the_header_says() {
    let copy = Copy::new("trunc");
    let mut shp = std::fs::read(copy.file("ZD.shp")).expect("shp");
    let words = i32::try_from(shp.len() / 2 * 3).expect("small file");
    shp[24..28].copy_from_slice(&words.to_be_bytes());
    shp.truncate(shp.len() - 10);
    std::fs::write(copy.file("ZD.shp"), &shp).expect("write");
    let err = load_submission(&copy.0, &LoadOptions::default()).expect_err("truncated");
    assert!(err.to_string().contains("truncated"), "{err}");
    #[cfg(feature = "cli")]
    {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadastre"))
            .arg("check")
            .arg(&copy.0)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    }
}
