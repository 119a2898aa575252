//! The `cadastre apportion` command, run as the built binary.
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cadastre"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cadastre-apportion-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("temp dir: {e}"));
    dir
}

const INPUT: &str = r#"{"building": "330106001001GB00001F0001",
 "zones": [{"id": "res", "name": "住宅"}, {"id": "com", "name": "商业"}],
 "units": [{"id": "0101", "zone": "com", "floor": 1, "inner_area": 120.50, "room": "商铺101"},
           {"id": "0102", "zone": "com", "floor": 1, "inner_area": 80.00},
           {"id": "0201", "zone": "res", "floor": 2, "inner_area": 89.50},
           {"id": "0202", "zone": "res", "floor": 2, "inner_area": 95.25}],
 "shared": [{"id": "lift", "area": 23.00, "serves": {"building": true}},
            {"id": "hall", "area": 45.00, "serves": {"zone": "res"}},
            {"id": "f1-corridor", "area": 6.00, "serves": {"zone": "com", "floor": 1}},
            {"id": "agreed", "area": 10.00, "serves": {"units": ["0101", "0102"]}, "shares": {"0101": 6.00, "0102": 4.00}}]}"#;

#[test]
fn writes_json_and_html_and_exits_0() {
    let dir = temp_dir("ok");
    let input = dir.join("b.json");
    std::fs::write(&input, INPUT).unwrap_or_else(|e| panic!("{e}"));
    let (json, html) = (dir.join("out.json"), dir.join("out.html"));
    let out = bin()
        .arg("apportion")
        .arg(&input)
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["totals"]["apportioned"], serde_json::json!(84.0));
    assert_eq!(v["units"].as_array().map(Vec::len), Some(4));
    let html = std::fs::read_to_string(&html).unwrap_or_default();
    for needle in ["房屋面积分摊计算表", "330106001001GB00001F0001", "商铺101", "@page{size:A4", "合计", "尾差"]
    {
        assert!(html.contains(needle), "HTML lacks {needle}");
    }
    assert!(
        !html.contains("<script") && !html.contains("src=") && !html.contains("href="),
        "HTML must be self-contained"
    );
}

#[test]
fn prints_a_summary_without_json() {
    let dir = temp_dir("summary");
    let input = dir.join("b.json");
    std::fs::write(&input, INPUT).unwrap_or_else(|e| panic!("{e}"));
    let out = bin().arg("apportion").arg(&input).output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap_or_default();
    assert!(text.contains("0201") && text.contains("商铺101") && text.contains("合计"), "{text}");
}

#[test]
fn invalid_input_exits_1_naming_the_id() {
    let dir = temp_dir("invalid");
    let input = dir.join("b.json");
    std::fs::write(
        &input,
        INPUT.replace(
            r#""zone": "res", "floor": 2, "inner_area": 95.25"#,
            r#""zone": "off", "floor": 2, "inner_area": 95.25"#,
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = bin().arg("apportion").arg(&input).output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0202") && err.contains("off"), "{err}");
    std::fs::write(&input, "{not json").unwrap_or_else(|e| panic!("{e}"));
    let out = bin().arg("apportion").arg(&input).output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn unreadable_file_exits_2() {
    let out = bin().arg("apportion").arg("/nonexistent/dir/b.json").output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}
