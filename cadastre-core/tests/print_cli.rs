//! `cadastre print parcel-map|household-plan`, run as the built binary on the
//! sample district: what is written, exit codes, nothing half-written.
#![cfg(feature = "cli")]

use std::path::Path;
use std::process::{Command, Output};

const DISTRICT: &str = "../samples/district";

fn cadastre(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cadastre")).args(args).output().expect("run cadastre")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn pdftotext(pdf: &Path) -> String {
    let o = Command::new("pdftotext").arg(pdf).arg("-").output().expect("pdftotext (poppler-utils)");
    assert!(o.status.success());
    String::from_utf8(o.stdout).expect("utf-8")
}

#[test]
fn parcel_map_and_household_plan_of_the_sample_district() {
    let dir = tempfile::tempdir().expect("tmp");
    let zdt = dir.path().join("zdt.pdf");
    let o = cadastre(&[
        "print",
        "parcel-map",
        "330106001001GB00002",
        DISTRICT,
        "--pdf",
        zdt.to_str().expect("p"),
        "--surveyor",
        "李四",
        "--date",
        "2026-12-01",
        "--paper",
        "A3",
        "--scale",
        "1:1000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("wrote"), "{}", stderr(&o));
    let text = pdftotext(&zdt);
    for want in ["330106001001GB00002", "李四", "2026-12-01", "1:1000", "J1"] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    let fht = dir.path().join("fht.pdf");
    let o = cadastre(&[
        "print",
        "household-plan",
        "330106001001GB00002F00010024",
        DISTRICT,
        "--pdf",
        fht.to_str().expect("p"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = pdftotext(&fht);
    assert!(text.contains("330106001001GB00002F00010024") && text.contains("第6层"), "{text}");
    assert!(std::fs::read_dir(dir.path())
        .expect("dir")
        .all(|e| { e.map(|e| !e.file_name().to_string_lossy().ends_with(".part")).unwrap_or(false) }));
}

/// Runs `cadastre print …` expecting failure with `code` and `message` on stderr.
fn fails(args: &[&str], code: i32, message: &str) {
    let mut all = vec!["print"];
    all.extend_from_slice(args);
    let o = cadastre(&all);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
    assert!(stderr(&o).contains(message), "{args:?}: {message:?} not in {}", stderr(&o));
}

#[test]
fn exit_codes_name_the_problem_and_write_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("x.pdf");
    let out = out.to_str().expect("path");
    let map = |zddm, extra: &[&'static str]| {
        let mut v = vec!["parcel-map", zddm, DISTRICT, "--pdf", out];
        v.extend_from_slice(extra);
        v
    };
    fails(&map("330106001001GB09999", &[]), 1, "no parcel 330106001001GB09999");
    fails(&map("330106001001GB00001", &["--scale", "1:200"]), 1, "does not fit A4 at 1:200");
    fails(&map("330106001001GB00001", &["--font", "/nonexistent/NotoSansCJK.ttc"]), 2, "fonts-noto-cjk");
    // clap's usage error
    fails(&map("330106001001GB00001", &["--scale", "1:0"]), 2, "write it as 1:500");
    fails(&["household-plan", "330106001001GB00004F00010001", DISTRICT, "--pdf", out], 2, "floorplan.json");
    assert!(!Path::new(out).exists(), "no output on failure");
    // An unwritable output: exit 2, nothing left behind.
    let blocked = dir.path().join("no-such-dir").join("x.pdf");
    fails(&["parcel-map", "330106001001GB00001", DISTRICT, "--pdf", blocked.to_str().expect("p")], 2, "cannot write");
}
