//! The `share-sync` binary: exit codes, and kill -9 at the worst moments of export
//! and apply, then a rerun: nothing lost, nothing applied twice, no partial package.
//!
//! Needs `DATABASE_URL` (a PostGIS server; `#[sqlx::test]` makes a fresh database
//! with the internal store's schema).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sqlx::PgPool;
use tile_server::db::MIGRATOR;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_share-sync"));
    c.env("RUST_LOG", "warn").env_remove("SHARE_SYNC_CRASH_POINT");
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the binary until it reports reaching `point`, then kills it with SIGKILL.
fn kill_at(args: &[&str], point: &str) {
    let mut child = bin()
        .args(args)
        .env("SHARE_SYNC_CRASH_POINT", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let reached = lines.any(|l| l.is_ok_and(|l| l.contains(&format!("reached crash point {point}"))));
    assert!(reached, "the process ended before {point}");
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
}

async fn url_of(pool: &PgPool) -> String {
    let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap();
    let base = std::env::var("DATABASE_URL").unwrap();
    let base = base.split('?').next().unwrap_or(&base).to_owned();
    let cut = base.rfind('/').unwrap_or(base.len());
    format!("{}/{name}", &base[..cut])
}

async fn fill(pool: &PgPool) {
    use tile_server::import::{import, tables::import_tables, ImportOptions, NoProgress};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district");
    let opts = ImportOptions { rejects: None, actor: "import:test".into(), ..ImportOptions::new(&dir) };
    import(pool, &opts, &NoProgress).await.unwrap();
    import_tables(pool, &dir, "import:test").await;
}

fn keygen(dir: &Path) -> (PathBuf, PathBuf) {
    let (code, out, err) = run(&["keygen", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let id = out.trim();
    assert_eq!(id.len(), 16, "{out}");
    (dir.join(format!("{id}.key")), dir.join(format!("{id}.pub")))
}

/// Packages in the outbox, and whether anything temporary is left.
fn outbox(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut packages = Vec::new();
    let mut temporary = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".tar") {
            packages.push(name);
        } else if name.starts_with(".share-sync-tmp-") {
            temporary.push(name);
        }
    }
    packages.sort();
    (packages, temporary)
}

#[cfg(unix)]
#[test]
fn keygen_writes_an_owner_only_private_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keygen(dir.path());
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(public).unwrap().contains("BEGIN PUBLIC KEY"));
    // Rotation writes the new key and the statement beside it.
    let (code, out, err) =
        run(&["keygen", "--out", dir.path().to_str().unwrap(), "--rotate-from", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join(format!("{}.rotation", out.trim())).exists());
    // Help shows examples.
    let (code, out, _) = run(&["apply", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Examples:") && out.contains("--trust"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn export_and_apply_survive_kill_9_and_report_with_exit_codes(pool: PgPool) {
    fill(&pool).await;
    let url = url_of(&pool).await;
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = keygen(&tmp.path().join("keys"));
    let (key, public) = (key.to_str().unwrap().to_owned(), public.to_str().unwrap().to_owned());

    // Killed after the archive is written, before its rename: no package in the outbox.
    let out_a = tmp.path().join("outbox-a");
    let export_a = ["export", "--db", &url, "--key", &key, "--out", out_a.to_str().unwrap()];
    kill_at(&export_a, "export-before-rename");
    assert!(outbox(&out_a).0.is_empty(), "a partial package is visible: {:?}", outbox(&out_a));
    let (code, stdout, err) = run(&export_a);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.trim().ends_with("internal-units-0000000001.tar"), "{stdout}");
    assert_eq!(outbox(&out_a), (vec!["internal-units-0000000001.tar".to_owned()], vec![]), "left-overs are cleaned");

    // Killed after the rename, before the chain state is saved: the rerun adopts the
    // package instead of writing sequence 1 again.
    let out_b = tmp.path().join("outbox-b");
    let export_b = ["export", "--db", &url, "--key", &key, "--out", out_b.to_str().unwrap()];
    kill_at(&export_b, "export-before-state");
    assert_eq!(outbox(&out_b).0, ["internal-units-0000000001.tar"]);
    let (code, stdout, err) = run(&export_b);
    assert_eq!((code, stdout.trim()), (0, "nothing changed since package 1"), "{err}");

    // Apply, killed inside its transaction: nothing applied; the rerun applies once.
    let db = format!("sqlite://{}", tmp.path().join("extranet.db").display());
    let package = out_b.join("internal-units-0000000001.tar");
    let package = package.to_str().unwrap();
    let apply = ["apply", "--db", &db, "--trust", &public, package];
    kill_at(&apply, "apply-before-commit");
    let (code, status, _) = run(&["status", "--db", &db, "--json"]);
    assert_eq!(code, 0);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["last_applied"], 0, "{status}");
    let (code, stdout, err) = run(&apply);
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(stdout.contains("applied internal #1"), "{stdout}");
    let (code, stdout, _) = run(&apply);
    assert_eq!(code, 0, "a duplicate is not a failure");
    assert!(stdout.contains("duplicate"), "{stdout}");
    let (_, status, _) = run(&["status", "--db", &db, "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(
        status,
        serde_json::json!({"last_applied": 1, "gaps": [], "held": [], "quarantined": [],
        "streams": [{"sender": "internal", "kind": "units", "last_applied": 1, "gaps": [], "held": []}]})
    );
    let households: i64 =
        sqlx::query_scalar("SELECT count(*) FROM households WHERE state = 'current'").fetch_one(&pool).await.unwrap();
    let applied = sqlx::SqlitePool::connect(&db).await.unwrap();
    let units: i64 = sqlx::query_scalar("SELECT count(*) FROM units").fetch_one(&applied).await.unwrap();
    assert_eq!(units, households);

    // Exit codes: 1 for a quarantined package, 2 for unusable arguments.
    let damaged = tmp.path().join("damaged.tar");
    let mut bytes = std::fs::read(package).unwrap();
    let at = bytes.windows(10).position(|w| w == b"\"sequence\"").unwrap();
    bytes[at + 3] ^= 0x40; // inside the signed manifest
    std::fs::write(&damaged, bytes).unwrap();
    let (code, stdout, _) = run(&["apply", "--db", &db, "--trust", &public, damaged.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("quarantined"), "{stdout}");
    let (_, text, _) = run(&["status", "--db", &db]);
    assert!(text.contains("quarantined:"), "{text}");
    let missing = tmp.path().join("missing.tar");
    assert_eq!(run(&["apply", "--db", &db, "--trust", &public, missing.to_str().unwrap()]).0, 2);
    assert_eq!(run(&["apply", "--db", "mysql://x", "--trust", &public, package]).0, 2);
    assert_eq!(run(&["apply", "--db", &db, "--trust", package]).0, 2, "no key given");
    assert_eq!(
        run(&["export", "--db", &url, "--key", &public, "--out", out_a.to_str().unwrap()]).0,
        2,
        "a public key is no private key"
    );
    assert_eq!(run(&["frobnicate"]).0, 2);
}
