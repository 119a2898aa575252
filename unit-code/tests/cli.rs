//! The `unit-code` binary: exit codes, output shape, input handling.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_unit-code");

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn unit-code");
    {
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            pipe.write_all(bytes).expect("write stdin");
        }
    }
    child.wait_with_output().expect("wait")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect()
}

/// A file in a per-test temporary directory under the target dir.
fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("unit-code-cli");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write tmp file");
    path
}

#[test]
fn validate_file_all_valid_exits_0() {
    let f = temp_file(
        "valid.txt",
        b"411702600021GB00001F00070027\n370105012002GB00001F00010751\n441903012003GB00001F00020063\n",
    );
    let o = run(&["validate", f.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 3);
    for l in &lines {
        let obj = l.as_object().unwrap();
        let keys: Vec<_> = obj.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 4);
        for k in ["code", "valid", "errors", "warnings"] {
            assert!(obj.contains_key(k), "{k} missing in {l}");
        }
        assert_eq!(l["valid"], true);
    }
    assert_eq!(lines[1]["code"], "370105012002GB00001F00010751");
    assert!(stderr(&o).contains("3 codes: 3 valid"), "{}", stderr(&o));
}

#[test]
fn validate_stdin_with_bom_crlf_blanks_and_an_invalid_code_exits_1() {
    let input = "\u{FEFF}411702600021GB00001F00070027\r\n\r\n  320802006001GC00001W00000000  \n411702600021XB00001F00070027\n\n";
    let o = run(&["validate", "-"], Some(input.as_bytes()));
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["code"], "411702600021GB00001F00070027");
    assert_eq!(lines[1]["valid"], true);
    assert_eq!(lines[1]["warnings"][0]["id"], "combination.ownership");
    assert_eq!(lines[1]["warnings"][0]["position"], 13);
    let err = &lines[2]["errors"][0];
    assert_eq!(lines[2]["valid"], false);
    assert_eq!(err["id"], "format.char");
    assert_eq!(err["position"], 13);
    assert_eq!(err["message_en"], "position 13: expected ownership code G/J/Z, found 'X'");
    assert!(err["message_zh"].as_str().unwrap().contains("第 13 位"));
    assert!(stderr(&o).contains("1 invalid"));
}

#[test]
fn validate_defaults_to_stdin() {
    let o = run(&["validate"], Some(b"340824104207JA00024W00000000\n"));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json_lines(&o).len(), 1);
}

#[test]
fn lenient_turns_legacy_h_into_a_warning() {
    let code = b"460200001001GH00001H00000000\n";
    let strict = run(&["validate"], Some(code));
    assert_eq!(strict.status.code(), Some(1));
    assert_eq!(json_lines(&strict)[0]["errors"][0]["id"], "legacy.fixture_h");
    let lenient = run(&["validate", "--lenient"], Some(code));
    assert_eq!(lenient.status.code(), Some(0));
    assert_eq!(json_lines(&lenient)[0]["warnings"][0]["id"], "legacy.fixture_h");
}

#[test]
fn validate_csv_column() {
    let csv = "序号,BDCDYH,坐落\n1,411702600021GB00001F00070027,\"河南省驻马店市, 36号楼\"\n2,,空\n3,441903012003GB00001F00020063,x\n";
    let f = temp_file("units.csv", csv.as_bytes());
    let o = run(&["validate", "--column", "BDCDYH", f.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let codes: Vec<_> = json_lines(&o).iter().map(|l| l["code"].as_str().unwrap().to_owned()).collect();
    assert_eq!(codes, ["411702600021GB00001F00070027", "441903012003GB00001F00020063"]);
}

#[test]
fn validate_gbk_csv() {
    // Header "代码" in GBK; a GBK address in the other column.
    let bytes = b"ID,\xB4\xFA\xC2\xEB,ZL\n1,320802006001GC00001W00000000,\xD7\xDA\xB5\xD8\n".to_vec();
    let f = temp_file("gbk.csv", &bytes);
    let o = run(&["validate", "--encoding", "gbk", "--column", "代码", f.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_lines(&o)[0]["code"], "320802006001GC00001W00000000");
    // Read as UTF-8 the same bytes are unreadable, on line 1.
    let o = run(&["validate", "--column", "代码", f.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 1: not valid UTF-8"), "{}", stderr(&o));
}

#[test]
fn missing_column_exits_2_and_lists_columns() {
    let f = temp_file("cols.csv", "ZDDM,坐落\n340824104207JA00024,x\n".as_bytes());
    let o = run(&["validate", "--column", "BDCDYH", f.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("columns found: ZDDM, 坐落"), "{}", stderr(&o));
}

#[test]
fn unreadable_input_exits_2() {
    let o = run(&["validate", "/definitely/not/here.txt"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read /definitely/not/here.txt"), "{}", stderr(&o));

    let o = run(&["validate"], Some(b"411702600021GB00001F00070027\n41170\xFF2600021GB00001F00070027\n"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty(), "no partial output");
    assert!(stderr(&o).contains("line 2: not valid UTF-8"), "{}", stderr(&o));
}

#[test]
fn parcel_form_option() {
    let o = run(&["validate", "--form", "parcel"], Some(b"340824104207JA00024\n"));
    assert_eq!(o.status.code(), Some(0));
    let o = run(&["validate", "--form", "auto"], Some(b"340824104207JA00024\n411702600021GB00001F0007\n"));
    assert_eq!(o.status.code(), Some(0));
    let o = run(&["validate"], Some(b"340824104207JA00024\n"));
    assert_eq!(o.status.code(), Some(1), "a parcel code is not a unit code");
}

#[test]
fn explain_table_and_json() {
    let o = run(&["explain", "411702600021GB00001F00070027"], None);
    assert_eq!(o.status.code(), Some(0));
    let t = stdout(&o);
    assert!(t.contains("county (GB/T 2260 administrative code)"));
    assert!(t.contains("国家土地所有权 / state-owned land"));
    assert!(t.contains("第 27 户"));

    let o = run(&["explain", "--json", "340824104207JA00024"], None);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["segments"][3]["meaning_zh"], "集体土地所有权");
    assert_eq!(v["segments"][4]["meaning_zh"], "集体土地所有权宗地");
}

#[test]
fn explain_invalid_exits_1_with_position() {
    let o = run(&["explain", "4117026000２1GB00001F00070027"], None);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("position 11"), "{e}");
    assert!(e.contains("full-width"), "{e}");
}

#[test]
fn land_unit() {
    let o = run(&["land-unit", "411702600021GB00001F00070027"], None);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "411702600021GB00001W00000000\n");
    let o = run(&["land-unit", "340824104207JA00024"], None);
    assert_eq!(stdout(&o), "340824104207JA00024W00000000\n");
    let o = run(&["land-unit", "411702600021GB00001H00000000"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("position 20"));
    assert!(stdout(&o).is_empty());
}

#[test]
fn help_has_examples() {
    let o = run(&["--help"], None);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Examples:"));
    assert!(stdout(&o).contains("unit-code validate --column BDCDYH"));
}
