//! The `district-gen` binary: presets, defect options and clear errors.

use std::path::Path;
use std::process::Command;

fn gen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_district-gen"))
}

#[test]
fn preset_sample_reproduces_the_committed_truth_and_zd() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = gen().args(["--preset", "sample", "-q", "--out"]).arg(dir.path()).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("district");
    for f in ["ZD.shp", "ZD.dbf", "ZRZ.dbf", "truth.json"] {
        assert_eq!(std::fs::read(dir.path().join(f)).ok(), std::fs::read(committed.join(f)).ok(), "{f}");
    }
}

#[test]
fn defect_options_end_up_in_truth_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = gen()
        .args([
            "--parcels",
            "2000",
            "--seed",
            "9",
            "--defect",
            "parcel.overlap=2",
            "--defect",
            "code.format=1",
            "-q",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("truth.json")).expect("truth")).expect("json");
    let rules: Vec<&str> =
        truth["defects"].as_array().expect("defects").iter().filter_map(|d| d["rule"].as_str()).collect();
    assert_eq!(rules.iter().filter(|r| **r == "parcel.overlap").count(), 2);
    assert_eq!(rules.iter().filter(|r| **r == "code.format").count(), 1);
    assert_eq!(truth["counts"]["parcels"], 2000);
    assert_eq!(truth["seed"], 9);
}

#[test]
fn bad_input_gives_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (args, needle) in [
        (vec!["--parcels", "1000", "--defect", "parcel.overlapp=1"], "unknown defect rule"),
        (vec!["--parcels", "1000", "--defect", "parcel.overlap"], "RULE=COUNT"),
        (vec!["--parcels", "1000", "--defect", "parcel.sliver=1"], "cannot inject"),
        (vec!["--parcels", "1000", "--crs", "4326"], "4326"),
        (vec!["--parcels", "0"], "at least 1"),
        (vec!["--parcels", "1000", "--defects", "5000"], "suitable street blocks"),
    ] {
        let out = gen().args(&args).arg("--out").arg(dir.path()).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // An output path that is a file.
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").expect("write");
    let out = gen().args(["--parcels", "1000", "-q", "--out"]).arg(file.join("sub")).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"));
}
