//! Intake refusals and the job queue: each bad package gets its own clear error, and a dead
//! worker's check is run again.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;
use tile_server::AppState;

use crate::common::*;
use crate::review::*;

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_bad_package_gets_its_own_clear_error(pool: PgPool) {
    use std::io::Write;
    let s = setup(pool, Settings::default()).await;
    let good = sample_zip();
    // Rebuild the good package with one change to its entries or manifest.
    type Entries = Vec<(String, Vec<u8>)>;
    let rezip = |edit: &dyn Fn(&mut Entries)| -> Vec<u8> {
        let mut a = zip::ZipArchive::new(std::io::Cursor::new(good.clone())).unwrap_or_else(|e| panic!("{e}"));
        let mut entries: Entries = (0..a.len())
            .map(|i| {
                let mut f = a.by_index(i).unwrap_or_else(|e| panic!("{e}"));
                let mut b = Vec::new();
                std::io::Read::read_to_end(&mut f, &mut b).unwrap_or_else(|e| panic!("{e}"));
                (f.name().map(|n| n.to_string()).unwrap_or_default(), b)
            })
            .collect();
        edit(&mut entries);
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            w.start_file(name, zip::write::SimpleFileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            w.write_all(&bytes).unwrap_or_else(|e| panic!("{e}"));
        }
        w.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
    };
    fn manifest_edit(entries: &mut [(String, Vec<u8>)], f: &dyn Fn(&mut Value)) {
        let m = entries.iter_mut().find(|(n, _)| n == "manifest.json").unwrap_or_else(|| panic!("manifest"));
        let mut v: Value = serde_json::from_slice(&m.1).unwrap_or_default();
        f(&mut v);
        m.1 = v.to_string().into_bytes();
    }
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str, &str)> = vec![
        ("not a zip", b"hello".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "not_zip", "not a readable zip"),
        ("truncated", good[..good.len() / 2].to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "not_zip", "zip"),
        (
            "missing file",
            rezip(&|e| e.retain(|(n, _)| n != "ZD.dbf")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_file",
            "missing file: ZD.dbf",
        ),
        (
            "extra file",
            rezip(&|e| e.push(("run.sh".into(), b"rm -rf /".to_vec()))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "extra_file",
            "extra file: run.sh",
        ),
        (
            "wrong digest",
            rezip(&|e| {
                if let Some(f) = e.iter_mut().find(|(n, _)| n == "ZD.dbf") {
                    f.1[40] ^= 1;
                }
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_digest",
            "wrong digest: ZD.dbf",
        ),
        (
            "unknown version",
            rezip(&|e| manifest_edit(e, &|v| v["format_version"] = json!(9))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_format_version",
            "unknown package format version 9",
        ),
        (
            "zip bomb",
            rezip(&|e| {
                e.push(("bomb.bin".into(), vec![0u8; 16 << 20]));
                let entry = json!({"path": "bomb.bin", "size": 16 << 20, "sha256": "0".repeat(64)});
                let m = e.iter_mut().find(|(n, _)| n == "manifest.json").unwrap_or_else(|| panic!("manifest"));
                let mut v: Value = serde_json::from_slice(&m.1).unwrap_or_default();
                if let Some(files) = v["files"].as_array_mut() {
                    files.push(entry);
                }
                m.1 = v.to_string().into_bytes();
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "zip_bomb",
            "zip bomb",
        ),
        (
            "path escape",
            rezip(&|e| e.push(("../../etc/cron.d/evil".into(), b"* * * * * root sh".to_vec()))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "path_escape",
            "path escapes the package: ../../etc/cron.d/evil",
        ),
        (
            "county outside scope",
            rezip(&|e| manifest_edit(e, &|v| v["county"] = json!("330102"))),
            StatusCode::FORBIDDEN,
            "county_forbidden",
            "county 330102 is outside your scope",
        ),
    ];
    for (what, bytes, status, code, text) in cases {
        let r = hand_in(&s.st, &s.surveyor, bytes).await;
        assert_eq!((r.status, r.code()), (status, code), "{what}: {:?}", r.json);
        let message = r.json["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains(text), "{what}: {message}");
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM submission_versions").fetch_one(&s.st.db).await.unwrap_or(-1);
    assert_eq!(n, 0, "nothing refused was stored");
    // Multipart works as well as a zip body.
    let boundary = "XyZ";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"package\"; filename=\"p.zip\"\r\nContent-Type: application/zip\r\n\r\n").into_bytes();
    body.extend_from_slice(&good);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/submissions")
        .header(header::AUTHORIZATION, format!("Bearer {}", s.surveyor))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = call_with(&s.st, req).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.json);
}

/// A worker that took `id`'s job and died: its connection (and with it the job's advisory
/// lock) is gone. Waits until the server has let go of the lock.
async fn worker_dies_holding_the_job(pool: &PgPool) {
    use sqlx::Connection as _;
    let (job, conn) = tile_server::db::review_jobs::take(pool, "doomed-worker")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no job to take"));
    let _ = conn.detach().close().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let held: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = x'52455657'::int::oid
               AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .bind(job.job_id)
        .fetch_one(pool)
        .await
        .unwrap_or(1);
        if held == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the dead worker's lock stayed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn job_of(pool: &PgPool, id: i64) -> (String, i32, Option<String>) {
    sqlx::query_as(
        "SELECT state, attempts, last_error FROM review_jobs WHERE submission_id = $1 ORDER BY job_id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn status_of(st: &AppState, token: &str, id: i64) -> (String, Option<String>) {
    let d = get(st, &format!("/api/submissions/{id}"), token).await;
    (d.json["status"].as_str().unwrap_or("").to_owned(), d.json["versions"][0]["failure"].as_str().map(str::to_owned))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_dead_worker_s_check_is_run_again_and_the_third_failure_ends_in_failed(pool: PgPool) {
    let s = setup(pool.clone(), Settings::default()).await;
    // Killed once mid-check: the next worker takes the job again and finishes it.
    let a = hand_in(&s.st, &s.surveyor, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    worker_dies_holding_the_job(&pool).await;
    assert_eq!(status_of(&s.st, &s.reviewer, a).await.0, "checking");
    assert_eq!(drain(&s.st).await, 1);
    assert_eq!(status_of(&s.st, &s.reviewer, a).await.0, "ready");
    assert_eq!(job_of(&pool, a).await, ("done".to_owned(), 2, None));

    // Killed in each of its three attempts: the next worker gives up, the version is failed.
    let b = hand_in(&s.st, &s.surveyor, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    for _ in 0..3 {
        worker_dies_holding_the_job(&pool).await;
    }
    assert_eq!(drain(&s.st).await, 1);
    let (status, failure) = status_of(&s.st, &s.reviewer, b).await;
    assert_eq!(status, "failed");
    assert!(failure.as_deref().is_some_and(|f| f.contains("did not finish in 3 attempts")), "{failure:?}");
    assert_eq!(job_of(&pool, b).await.0, "failed");

    // A check that fails by itself (here: the county's stored QC rules are unreadable) is
    // retried, and its third failure ends in `failed` with the reason.
    sqlx::query("INSERT INTO qc_config (county, rules_toml) VALUES ($1, 'rules = [unclosed')")
        .bind(COUNTY)
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let c = hand_in(&s.st, &s.surveyor, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    for attempt in 1..=3 {
        assert_eq!(drain(&s.st).await, 1, "attempt {attempt}");
        let (state, attempts, error) = job_of(&pool, c).await;
        assert_eq!(attempts, attempt);
        assert!(error.as_deref().is_some_and(|e| e.contains("stored QC rules of 330106")), "{error:?}");
        let status = status_of(&s.st, &s.reviewer, c).await;
        if attempt < 3 {
            assert_eq!((state.as_str(), status.0.as_str()), ("queued", "checking"), "attempt {attempt}");
            // Due again now rather than after the back-off.
            sqlx::query("UPDATE review_jobs SET run_after = now() WHERE submission_id = $1")
                .bind(c)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        } else {
            assert_eq!((state.as_str(), status.0.as_str()), ("failed", "failed"));
            assert!(status.1.as_deref().is_some_and(|f| f.contains("failed 3 times")), "{:?}", status.1);
        }
    }
    let stuck: i64 = sqlx::query_scalar("SELECT count(*) FROM submission_versions WHERE status = 'checking'")
        .fetch_one(&pool)
        .await
        .unwrap_or(-1);
    assert_eq!(stuck, 0, "nothing stays checking");
    // A failed submission takes a new version, which is checked with the repaired rules.
    sqlx::query("DELETE FROM qc_config WHERE county = $1")
        .bind(COUNTY)
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let v2 = call_with(&s.st, zip_request(&format!("/api/submissions/{c}/versions"), &s.surveyor, sample_zip())).await;
    assert_eq!(v2.status, StatusCode::ACCEPTED, "{:?}", v2.json);
    assert_eq!(drain(&s.st).await, 1);
    assert_eq!(status_of(&s.st, &s.reviewer, c).await.0, "ready");
}
