//! `cadastre check` end to end: exit status 0 / 1 / 2, JSON and HTML written, rules file
//! errors name the key, `--print-default-rules` prints a file that reads back.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::Command;

use cadastre_samples::{write_generated, Config, DefectPlan};

fn cadastre() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cadastre"))
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district")
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cadastre-qc-cli-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

#[test]
fn clean_sample_passes_with_reports() {
    let out = scratch("pass");
    let (json, html) = (out.join("r.json"), out.join("r.html"));
    let st = cadastre().arg("check").arg(sample()).arg("--json").arg(&json).arg("--html").arg(&html).output();
    let st = st.unwrap_or_else(|e| panic!("cannot run cadastre: {e}"));
    assert_eq!(st.status.code(), Some(0), "{}", String::from_utf8_lossy(&st.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default()).unwrap_or_default();
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["score"], 100.0);
    let page = std::fs::read_to_string(&html).unwrap_or_default();
    assert!(page.contains("质检报告") && page.contains("<svg"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn defects_fail_with_status_1_and_repair_writes_a_diff() {
    let out = scratch("fail");
    let data = out.join("data");
    let cfg = Config::new(1000).with_seed(3).with_defects(DefectPlan::Spread(15));
    if let Err(e) = write_generated(&cfg, &data, &mut |_| {}) {
        panic!("generator: {e}");
    }
    let json = out.join("r.json");
    let fixed = out.join("fixed");
    let st = cadastre().arg("check").arg(&data).arg("--json").arg(&json).arg("--repair").arg(&fixed).output();
    let st = st.unwrap_or_else(|e| panic!("cannot run cadastre: {e}"));
    assert_eq!(st.status.code(), Some(1), "{}", String::from_utf8_lossy(&st.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default()).unwrap_or_default();
    assert_eq!(v["verdict"], "fail");
    let diff: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixed.join("repair-diff.json")).unwrap_or_default())
            .unwrap_or_default();
    let changes = diff.as_array().cloned().unwrap_or_default();
    assert!(changes.iter().any(|c| c["action"] == "drop_duplicate_vertex"), "{diff}");
    assert!(changes.iter().any(|c| c["action"] == "snap_vertex"), "{diff}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn unreadable_input_and_bad_rules_exit_2_with_a_clear_message() {
    let st = cadastre().args(["check", "/nonexistent/submission"]).output();
    let st = st.unwrap_or_else(|e| panic!("cannot run cadastre: {e}"));
    assert_eq!(st.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&st.stderr).contains("/nonexistent/submission"));

    let out = scratch("rules");
    let rules = out.join("rules.toml");
    let _ = std::fs::write(&rules, "[rules.\"parcel.overlap\"]\nmin_aera = 1.0\n");
    let st = cadastre().arg("check").arg(sample()).arg("--rules").arg(&rules).output();
    let st = st.unwrap_or_else(|e| panic!("cannot run cadastre: {e}"));
    assert_eq!(st.status.code(), Some(2));
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(err.contains("min_aera"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn printed_default_rules_read_back() {
    let st = cadastre().args(["check", "--print-default-rules"]).output();
    let st = st.unwrap_or_else(|e| panic!("cannot run cadastre: {e}"));
    assert_eq!(st.status.code(), Some(0));
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(text.contains("[rules.\"vertex.near_miss\"]"));
    assert!(cadastre_core::qc::QcConfig::from_toml(&text).is_ok());
}
