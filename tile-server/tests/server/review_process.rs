//! The review workflow through the real server process: a kill -9 during the check and
//! during the accept, then a restart over the same database.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;

use crate::common::proc_stat;
use crate::review::*;
use crate::review_sample::*;

/// The real server binary on a free port over the test's database; killed on drop.
struct Server(std::process::Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_server(url: &str) -> Server {
    use base64::Engine as _;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tile-server"))
        .arg("--db")
        .arg(url)
        .arg("serve")
        // The test's database URL is the owner's; this test is about accept, not the role.
        .arg("--allow-owner")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("CADASTRE_PII_KEY", base64::engine::general_purpose::STANDARD.encode([9u8; 32]))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting tile-server: {e}"));
    let mut server = Server(child, port);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("the server exited before listening: {status}");
        }
        assert!(std::time::Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server
}

/// POSTs `body` to the real server: the status and the JSON answer (`BAD_GATEWAY` when
/// the connection died with the server).
async fn http_post(port: u16, token: &str, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    use http_body_util::BodyExt as _;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Body> = Client::builder(TokioExecutor::new()).build_http();
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("http://127.0.0.1:{port}{path}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap_or_else(|e| panic!("{e}"));
    match client.request(req).await {
        Ok(r) => {
            let status = r.status();
            let bytes = r.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        }
        Err(_) => (StatusCode::BAD_GATEWAY, Value::Null),
    }
}

/// POSTs a decision to the real server; the status code.
async fn http_decide(port: u16, token: &str, id: i64, body: &Value) -> StatusCode {
    let path = format!("/api/submissions/{id}/decision");
    http_post(port, token, &path, "application/json", body.to_string().into_bytes()).await.0
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_kill_9_during_accept_leaves_the_store_as_before_and_the_accept_can_be_repeated(pool: PgPool) {
    let s = setup(pool.clone(), Settings::default()).await;
    let (zip, _) = known_edits_zip();
    let id = hand_in(&s.st, &s.surveyor, zip).await.json["submission_id"].as_i64().unwrap_or(-1);
    drain(&s.st).await;
    let before = snapshot(&pool).await;
    let url = crate::import::url_of(&pool).await;
    let server = start_server(&url).await;
    // Hold the building table's floors: the accept stops there, after codes were issued,
    // lineage recorded and parcels and buildings written, all inside its transaction.
    let mut blocker = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("SELECT 1 FROM floors WHERE zrzh = $1 AND state = 'current' FOR UPDATE")
        .bind(TABLE)
        .execute(&mut *blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let body = json!({"decision": "accept", "override_reason": "kill -9 测试"});
    let port = server.1;
    let reviewer = s.reviewer.clone();
    let pending = tokio::spawn(async move { http_decide(port, &reviewer, id, &body).await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
               AND query LIKE '%FROM floors%FOR UPDATE%' AND pid <> pg_backend_pid()",
        )
        .fetch_one(&pool)
        .await
        .unwrap_or(0);
        let wrote: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_locks WHERE relation = 'parcels'::regclass AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .unwrap_or(0);
        if waiting > 0 && wrote > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the accept never reached the building table");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The accept runs on a session of the background thread's own pool, at normal priority
    // (a lowered backend holding a write lock stalled the API calls at saturation).
    let accept_backend: i32 = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
           AND query LIKE '%FROM floors%FOR UPDATE%' AND application_name = 'tile-server accept'",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("the accept's session: {e}"));
    assert_eq!(process_nice(accept_backend), 0);
    // And the accept itself runs on the server's background thread, not on a thread that
    // serves connections.
    let nice = thread_nice_values(server.0.id());
    assert_eq!(nice.get("accept"), Some(&vec![tile_server::review::worker::BACKGROUND_NICE]), "{nice:?}");
    assert!(nice.get("tile-server").is_some_and(|v| v.iter().all(|n| *n == 0)), "{nice:?}");
    // Under SCHED_IDLE (5), so a request thread that wakes takes its core at once; the
    // threads that serve connections stay under SCHED_OTHER (0).
    let policy = thread_policies(server.0.id());
    assert_eq!(policy.get("accept"), Some(&vec![5]), "{policy:?}");
    assert!(policy.get("tile-server").is_some_and(|v| v.iter().all(|n| *n == 0)), "{policy:?}");
    assert!(policy.get("tile-conn-0").is_some_and(|v| v.iter().all(|n| *n == 0)), "{policy:?}");
    drop(server); // kill -9 (SIGKILL), mid-transaction
    blocker.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    let _ = pending.await;
    // The dead server's backend finds its client gone and rolls back; wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL",
        )
        .fetch_one(&pool)
        .await
        .unwrap_or(1);
        if open == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the killed server's transaction stayed open");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        snapshot(&pool).await,
        before,
        "the store, the code counters, the audit log and the households are as before"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM submissions WHERE submission_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap_or_default();
    assert_eq!(status, "ready");
    // Restarted, the same accept goes through.
    let server = start_server(&url).await;
    let again = http_decide(server.1, &s.reviewer, id, &json!({"decision": "accept", "override_reason": "重做"})).await;
    assert_eq!(again, StatusCode::OK);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM parcels WHERE zddm = $1 AND state = 'current'")
        .bind(SPLIT)
        .fetch_one(&pool)
        .await
        .unwrap_or(-1);
    assert_eq!(n, 0);
}

/// The version's status, its job's state and attempts.
async fn check_state(pool: &PgPool, id: i64) -> (String, String, i32) {
    sqlx::query_as(
        "SELECT s.status, j.state, j.attempts FROM submissions s
           JOIN review_jobs j ON j.submission_id = s.submission_id AND j.version = s.latest_version
          WHERE s.submission_id = $1 ORDER BY j.job_id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_kill_9_during_the_check_is_run_again_by_the_restarted_server(pool: PgPool) {
    let s = setup(pool.clone(), Settings::default()).await;
    let url = crate::import::url_of(&pool).await;
    // Hold the QC settings table: the worker takes the job, then waits on its first read,
    // in the middle of the check; the hand-in itself does not read it.
    let mut blocker = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("LOCK TABLE qc_config IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let server = start_server(&url).await;
    let (zip, _) = known_edits_zip();
    let (status, answer) = http_post(server.1, &s.surveyor, "/api/submissions", "application/zip", zip).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["status"].as_str(), Some("checking"), "{answer}");
    let id = answer["submission_id"].as_i64().unwrap_or_else(|| panic!("{answer}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
               AND query LIKE '%FROM qc_config%' AND pid <> pg_backend_pid()
               AND application_name = 'tile-server review worker'",
        )
        .fetch_one(&pool)
        .await
        .unwrap_or(0);
        if waiting > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the worker never reached the check");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(check_state(&pool, id).await, ("checking".to_owned(), "queued".to_owned(), 1));
    // The check runs on the worker's own thread, behind the request threads.
    let nice = thread_nice_values(server.0.id());
    assert_eq!(nice.get("review-worker"), Some(&vec![tile_server::review::worker::BACKGROUND_NICE]), "{nice:?}");
    assert!(nice.get("tile-server").is_some_and(|v| v.iter().all(|n| *n == 0)), "{nice:?}");
    let policy = thread_policies(server.0.id());
    assert_eq!(policy.get("review-worker"), Some(&vec![5]), "{policy:?}");
    assert!(policy.get("tile-server").is_some_and(|v| v.iter().all(|n| *n == 0)), "{policy:?}");
    // And so do its database sessions (the test cluster runs on this machine, and the tests
    // run as its owner or as root), while the other sessions keep theirs.
    let worker_backend: i32 = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
           AND application_name = 'tile-server review worker' LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let own_backend: i32 =
        sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&pool).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(process_nice(worker_backend), tile_server::review::worker::BACKGROUND_NICE);
    assert_eq!(process_nice(own_backend), 0);
    drop(server); // kill -9 (SIGKILL) in the middle of the check
    blocker.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    // Nothing is decided by a dead worker: still checking, the job waiting for a worker.
    assert_eq!(check_state(&pool, id).await.0, "checking");
    let server = start_server(&url).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let (status, job, attempts) = loop {
        let state = check_state(&pool, id).await;
        if state.0 != "checking" {
            break state;
        }
        assert!(std::time::Instant::now() < deadline, "the restarted server never finished the check: {state:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!((status.as_str(), job.as_str(), attempts), ("ready", "done", 2), "run again once, to the end");
    let report: Option<Value> =
        sqlx::query_scalar("SELECT report FROM submission_versions WHERE submission_id = $1 AND version = 1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_some_and(|r| r["findings"].is_array()), "the report is stored");
    // And the reviewer can decide it on the restarted server.
    let ok =
        http_decide(server.1, &s.reviewer, id, &json!({"decision": "accept", "override_reason": "重启后复核"})).await;
    assert_eq!(ok, StatusCode::OK);
}

/// The nice value of a (single-threaded) process, from `/proc/PID/stat`.
fn process_nice(pid: i32) -> i32 {
    let (_, fields) = proc_stat(format!("/proc/{pid}/stat")).unwrap_or_else(|| panic!("process {pid} is gone"));
    fields.get(16).and_then(|n| n.parse().ok()).unwrap_or(i32::MIN)
}

/// The nice values of a process's threads, by thread name (`/proc/PID/task/TID/stat`).
fn thread_nice_values(pid: u32) -> std::collections::BTreeMap<String, Vec<i32>> {
    thread_stat_field(pid, 16)
}

/// The scheduling policies of a process's threads, by thread name (0 `SCHED_OTHER`,
/// 5 `SCHED_IDLE`).
fn thread_policies(pid: u32) -> std::collections::BTreeMap<String, Vec<i32>> {
    thread_stat_field(pid, 38)
}

/// One field of `/proc/PID/task/TID/stat` for each thread, by thread name; `index` counts
/// from the field after the name (the state), so nice is 16 and policy 38.
fn thread_stat_field(pid: u32, index: usize) -> std::collections::BTreeMap<String, Vec<i32>> {
    let mut out: std::collections::BTreeMap<String, Vec<i32>> = Default::default();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap_or_else(|e| panic!("{e}"));
    for task in tasks.flatten() {
        let Some((name, fields)) = proc_stat(task.path().join("stat")) else { continue };
        let value = fields.get(index).and_then(|n| n.parse().ok()).unwrap_or(i32::MIN);
        out.entry(name).or_default().push(value);
    }
    out
}
