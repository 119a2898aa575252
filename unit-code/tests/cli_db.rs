//! `unit-code db …` against the real PostgreSQL: register, allocate, retire, show.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alloc_common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_unit-code");

fn run(url: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .arg("db")
        .arg("--db")
        .arg(url)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn unit-code");
    child.stdin.take().expect("stdin").write_all(stdin).expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread")]
async fn register_is_idempotent_and_allocation_continues_after_imported_codes() {
    let db = alloc_common::TestDb::new("cli", 2).await;
    let url = db.url();

    let migrate = run(&url, &["migrate"], b"");
    assert!(migrate.status.success(), "{}", text(&migrate.stderr));

    let csv = "ZRZH,BDCDYH\n330106001001GB00007F0002,330106001001GB00007F00020001\n\
               330106001001GB00007F0002,330106001001GB00007F00020009\n";
    let first = run(&url, &["register", "--column", "BDCDYH", "-"], csv.as_bytes());
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stderr).contains("registered 2 new, 0 already current, 0 refused"), "{}", text(&first.stderr));
    let again = run(&url, &["register", "--column", "BDCDYH", "-"], csv.as_bytes());
    assert!(again.status.success());
    assert!(text(&again.stderr).contains("registered 0 new, 2 already current, 0 refused"), "{}", text(&again.stderr));

    // Numbering goes on after the highest imported household (0009), with no reuse.
    let next = run(&url, &["allocate", "household", "--building", "330106001001GB00007F0002", "--count", "2"], b"");
    assert!(next.status.success(), "{}", text(&next.stderr));
    assert_eq!(text(&next.stdout), "330106001001GB00007F00020010\n330106001001GB00007F00020011\n");

    // A retired code is refused on re-import, and `show` reports it historical.
    let retire = run(&url, &["retire", "330106001001GB00007F00020001"], b"");
    assert!(retire.status.success(), "{}", text(&retire.stderr));
    let reimport = run(&url, &["register", "-"], b"330106001001GB00007F00020001\nnot-a-code\n");
    assert_eq!(reimport.status.code(), Some(1));
    let err = text(&reimport.stderr);
    assert!(err.contains("line 1") && err.contains("line 2") && err.contains("2 refused"), "{err}");
    let show = run(&url, &["show", "330106001001GB00007F00020001"], b"");
    let json: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    assert_eq!(json["status"], "historical");

    // Bad input: exit 1 with the reason; no database needed to reject it.
    let bad = run(&url, &["allocate", "parcel", "--subdistrict", "33010600100X"], b"");
    assert_eq!(bad.status.code(), Some(1));
    db.drop_db().await;
}

#[test]
fn unreachable_database_is_exit_2() {
    let out = run("postgres://nobody@127.0.0.1:1/none", &["migrate"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot connect"), "{}", text(&out.stderr));
}
