//! Issue #14 (等保三级): the login limiter's memory, the serving role, the
//! hashing pool, the audit of security events and account changes, bad-token
//! and slow-header defences, TLS. Load tests run on loopback and stop by
//! themselves; none asserts on wall-clock time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::auth::accounts::{self, NewUser};
use tile_server::auth::Role;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;

use crate::common::*;
use crate::import::url_of;

/// A `tile-server serve` process on a loopback port; killed when dropped.
pub(crate) struct ServerProcess {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Starts the binary on the test's database with `config` (TOML) and waits for its address.
    pub(crate) fn start(url: &str, config: &str, extra: &[&str]) -> ServerProcess {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cfg = dir.path().join("server.toml");
        std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_tile-server"))
            .arg("--config")
            .arg(&cfg)
            .arg("--db")
            .arg(url)
            .args(["serve", "--no-migrate", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("CADASTRE_PII_KEY", "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning tile-server: {e}"));
        let mut stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        // Read the log until the "listening addr=…" line (the port is chosen by the OS).
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut seen = String::new();
            let mut buf = [0u8; 4096];
            let mut sent = false;
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                if !sent {
                    if let Some(addr) = seen.split("addr=").nth(1).and_then(|r| r.split_whitespace().next()) {
                        if let Ok(a) = addr.parse::<SocketAddr>() {
                            let _ = tx.send(Ok(a));
                            sent = true;
                        }
                    }
                }
            }
            if !sent {
                let _ = tx.send(Err(seen));
            }
        });
        let _keep = dir.keep();
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(addr)) => ServerProcess { child, addr },
            Ok(Err(log)) => panic!("tile-server exited: {log}"),
            Err(e) => panic!("tile-server did not report its address: {e}"),
        }
    }

    /// Resident memory of the server process, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// One HTTP/1.1 request on a fresh connection; the status code (0 if none came).
pub(crate) fn http_status(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> u16 {
    let resp = http_raw(addr, method, path, body);
    let text = String::from_utf8_lossy(&resp);
    if !text.starts_with("HTTP/1.1 ") {
        return 0;
    }
    text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// One HTTP/1.1 request on a fresh connection; the raw answer.
fn http_raw(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let Ok(mut s) = TcpStream::connect(addr) else { return Vec::new() };
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    // The server may answer (413) before reading a large body, and close.
    let _ = s.write_all(body);
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    resp
}

/// Item 1: 10,000 logins with random names (and over-long ones) leave the
/// server's memory flat: names are checked for length first, and the limiter
/// keeps fixed-size keys in bounded maps. The old limiter kept every name whole:
/// the 200 names of 1 MiB below alone grew it by ~200 MB.
#[sqlx::test(migrator = "MIGRATOR")]
async fn ten_thousand_logins_with_random_names_leave_memory_flat(pool: PgPool) {
    let url = url_of(&pool).await;
    let server = ServerProcess::start(&url, "", &["--allow-owner"]);
    let addr = server.addr;
    // (long name?, status); a long body may be cut off by the server's early 413 (status 0).
    let send = move |i: usize| {
        let long = i % 50 == 49;
        let name: String = if long {
            "长".repeat(350_000) // ~1 MiB of UTF-8
        } else {
            format!("{:016x}{:048x}", i, (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834))
        };
        let body = json!({"username": name, "password": "Wrong-password-1"}).to_string();
        (long, http_status(addr, "POST", "/api/auth/login", body.as_bytes()))
    };
    let run = move |range: std::ops::Range<usize>| {
        let mut handles = Vec::new();
        let chunks: Vec<Vec<usize>> = (0..8).map(|w| range.clone().filter(|i| i % 8 == w).collect()).collect();
        for chunk in chunks {
            handles.push(std::thread::spawn(move || chunk.into_iter().map(send).collect::<Vec<(bool, u16)>>()));
        }
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect::<Vec<(bool, u16)>>()
    };
    let warm = run(0..500);
    let before = server.rss_kib();
    let statuses = tokio::task::spawn_blocking(move || run(500..10_500)).await.unwrap_or_default();
    let after = server.rss_kib();
    assert_eq!(warm.len() + statuses.len(), 10_500);
    // Every answer is a refusal: wrong password, throttled, or the name/body too long.
    for (long, s) in warm.iter().chain(&statuses) {
        if *long {
            assert!(matches!(s, 0 | 413 | 422), "long name: status {s}");
        } else {
            assert!(matches!(s, 401 | 429 | 503), "unexpected status {s}");
        }
    }
    assert!(statuses.iter().filter(|s| s.1 == 429).count() > 9_000, "the address was throttled");
    assert!(statuses.iter().any(|s| s.1 == 413 || s.1 == 422), "long names refused");
    let growth = after.saturating_sub(before);
    eprintln!("server RSS after 500 logins: {before} KiB; after 10,000 more: {after} KiB");
    assert!(before > 0 && growth < 24 * 1024, "RSS grew from {before} KiB to {after} KiB");
    // The server still works.
    assert_eq!(http_status(addr, "GET", "/health", b""), 200);
}

/// Item 2: the serving connection (a login role in cadastre_app) cannot change
/// or remove audit rows by any means it has, including replication mode,
/// trigger switches, partitions and role changes; and `serve` refuses to run as
/// a superuser.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_serving_role_cannot_alter_the_audit_log(pool: PgPool) {
    let st = state(&pool);
    user_token(&st, "boss", Role::Admin, &[OWN]).await; // audit rows to protect
    let rows = |p: PgPool| async move {
        sqlx::query_as::<_, (i64, String, String)>("SELECT audit_id, actor, action FROM audit ORDER BY audit_id")
            .fetch_all(&p)
            .await
            .unwrap_or_default()
    };
    let before = rows(pool.clone()).await;
    assert_eq!(before.len(), 2);
    let app = app_role_pool(&pool, 1).await;
    let partition: String = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'audit'::regclass ORDER BY 1 LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or_default();
    let attempts = [
        "UPDATE audit SET actor = 'forged'".to_owned(),
        "DELETE FROM audit".to_owned(),
        "TRUNCATE audit".to_owned(),
        "SET session_replication_role = replica".to_owned(),
        "ALTER TABLE audit DISABLE TRIGGER audit_no_update".to_owned(),
        "ALTER TABLE audit DISABLE TRIGGER ALL".to_owned(),
        "DROP TRIGGER audit_no_update ON audit".to_owned(),
        "DROP FUNCTION audit_refuse_change() CASCADE".to_owned(),
        "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'"
            .to_owned(),
        format!("UPDATE {partition} SET actor = 'forged'"),
        format!("DELETE FROM {partition}"),
        format!("ALTER TABLE audit DETACH PARTITION {partition}"),
        "ALTER TABLE audit_default RENAME TO audit_gone".to_owned(),
        "DROP TABLE audit_default".to_owned(),
        "ALTER TABLE audit OWNER TO tile_server_test".to_owned(),
        "SET ROLE postgres".to_owned(),
        "CREATE TABLE public.audit_shadow (x int)".to_owned(),
        "ALTER ROLE tile_server_test SUPERUSER".to_owned(),
    ];
    for sql in &attempts {
        let mut conn = app.acquire().await.unwrap_or_else(|e| panic!("{e}"));
        let err = sqlx::query(sql).execute(&mut *conn).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("permission denied")
                || err.contains("must be owner")
                || err.contains("must be superuser")
                || err.contains("append-only"),
            "{sql} as the serving role: {err:?}"
        );
        // Whatever happened, the session is still a plain member of cadastre_app.
        let (user, replica): (String, String) =
            sqlx::query_as("SELECT current_user::text, current_setting('session_replication_role')")
                .fetch_one(&mut *conn)
                .await
                .unwrap_or_default();
        assert_eq!((user.as_str(), replica.as_str()), ("tile_server_test", "origin"), "after {sql}");
    }
    assert_eq!(rows(pool.clone()).await, before, "audit rows unchanged");
    // A GRANT by a non-owner only warns: check that it granted nothing.
    let _ = sqlx::query("GRANT UPDATE, DELETE, TRUNCATE ON audit TO tile_server_test").execute(&app).await;
    let can: bool = sqlx::query_scalar(
        "SELECT has_table_privilege('tile_server_test', 'audit', 'UPDATE')
             OR has_table_privilege('tile_server_test', 'audit', 'DELETE')
             OR has_table_privilege('tile_server_test', 'audit', 'TRUNCATE')",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or(true);
    assert!(!can);
    app.close().await;

    // `serve` refuses the superuser connection scripts used to make.
    let url = url_of(&pool).await;
    let out = Command::new(env!("CARGO_BIN_EXE_tile-server"))
        .args(["--db", &url, "serve", "--no-migrate", "--listen", "127.0.0.1:0"])
        .env("CADASTRE_PII_KEY", "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("superuser"), "{err}");
}

/// Item 3: argon2 runs on a bounded pool, never on the async workers. With
/// every hashing slot taken and logins queued behind them, an authenticated
/// request is served at once (ordering, not timing); a full queue answers 503
/// `busy` at once; the queued logins complete once slots free up.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_login_flood_does_not_hold_up_authenticated_requests(pool: PgPool) {
    let st = state(&pool);
    let token = user_token(&st, "reader", Role::Surveyor, &[OWN]).await;
    accounts::create_user(
        &pool,
        &NewUser { username: "other", password: PASSWORD, role: Role::Surveyor, counties: &[OWN] },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let hashing = &st.security.hashing;
    // Occupy every hashing slot with a job that waits for our signal.
    let (release, gate) = tokio::sync::watch::channel(false);
    let mut blockers = Vec::new();
    for _ in 0..hashing.workers() {
        let st2 = st.clone();
        let mut gate = gate.clone();
        blockers.push(tokio::spawn(async move {
            st2.security
                .hashing
                .run(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                    if let Ok(rt) = rt {
                        rt.block_on(async { while !*gate.borrow_and_update() && gate.changed().await.is_ok() {} });
                    }
                })
                .await
        }));
    }
    eventually("hashing slots taken", || std::future::ready(hashing.admitted() == hashing.workers())).await;
    // A real login now queues behind them.
    let st2 = st.clone();
    let login_task = tokio::spawn(async move {
        call(&st2, Method::POST, "/api/auth/login", None, Some(&json!({"username": "other", "password": PASSWORD})))
            .await
    });
    eventually("login queued", || std::future::ready(hashing.waiting() == 1)).await;
    // The authenticated request is served while the login still waits for argon2.
    let r = get(&st, &format!("/api/parcels?sub_district={OWN}001001"), &token).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!login_task.is_finished(), "the login is still queued");
    assert_eq!(hashing.waiting(), 1);
    // Fill the queue; the next login is turned away at once.
    let mut queued = Vec::new();
    while hashing.admitted() < hashing.workers() + 16 * hashing.workers() {
        let st2 = st.clone();
        let n = hashing.admitted();
        queued.push(tokio::spawn(async move {
            call(&st2, Method::POST, "/api/auth/login", None, Some(&json!({"username": "nobody", "password": "x"})))
                .await
        }));
        eventually("queued", || std::future::ready(hashing.admitted() > n)).await;
    }
    let busy =
        call(&st, Method::POST, "/api/auth/login", None, Some(&json!({"username": "other", "password": "x"}))).await;
    assert_eq!((busy.status, busy.code()), (StatusCode::SERVICE_UNAVAILABLE, "busy"));
    assert!(busy.headers.contains_key("retry-after"));
    let _ = release.send(true);
    for b in blockers {
        assert!(matches!(b.await, Ok(Ok(()))));
    }
    let login = login_task.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.json);
    for q in queued {
        let r = q.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS), "{:?}", r.json);
    }
}

/// action, actor, object_key, source, before, after.
type AuditRow = (String, String, String, Option<String>, Option<Value>, Option<Value>);

fn from(addr: [u8; 4], mut req: axum::http::Request<axum::body::Body>) -> axum::http::Request<axum::body::Body> {
    req.extensions_mut().insert(ConnectInfo(SocketAddr::from((addr, 50_000))));
    req
}

/// Item 4: failed and throttled logins, 403 denials, account creation, role
/// changes, password changes are audited with who, when and the source address;
/// imports and account commands name a real operator.
#[sqlx::test(migrator = "MIGRATOR")]
async fn security_events_and_account_changes_are_audited_with_their_source(pool: PgPool) {
    let st = state_with(&pool, Settings { login_attempts_per_minute_per_address: 2, ..Settings::default() });
    accounts::create_user_by(
        &pool,
        &NewUser { username: "alice", password: PASSWORD, role: Role::Surveyor, counties: &[OWN] },
        "cli:ops-li",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let attacker = [10, 6, 6, 6];
    let login = |name: &str, pw: &str| {
        request(Method::POST, "/api/auth/login", None, Some(&json!({"username": name, "password": pw})))
    };
    assert_eq!(call_with(&st, from(attacker, login("alice", "Wrong-pass-1"))).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(call_with(&st, from(attacker, login("nobody", "Wrong-pass-1"))).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(call_with(&st, from(attacker, login("alice", PASSWORD))).await.status, StatusCode::TOO_MANY_REQUESTS);
    let r = call_with(&st, from([10, 0, 0, 7], login("alice", PASSWORD))).await;
    let token = r.json["token"].as_str().unwrap_or_default().to_owned();
    // A surveyor may not write: denied, audited.
    let denied = from(
        [10, 0, 0, 7],
        request(Method::PUT, &format!("/api/parcels/{}", zddm(OWN, 1)), Some(&token), Some(&json!({"ZL": "x"}))),
    );
    assert_eq!(call_with(&st, denied).await.status, StatusCode::FORBIDDEN);
    accounts::set_role(&pool, "alice", Role::Reviewer, "cli:ops-li").await.unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<AuditRow> =
        sqlx::query_as("SELECT action, actor, object_key, host(source), before, after FROM audit ORDER BY audit_id")
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
    let summary: Vec<(&str, &str, &str, Option<&str>)> =
        rows.iter().map(|r| (r.0.as_str(), r.1.as_str(), r.2.as_str(), r.3.as_deref())).collect();
    assert_eq!(
        summary,
        vec![
            ("account.create_user", "cli:ops-li", "alice", None),
            ("auth.login_failed", "anonymous", "alice", Some("10.6.6.6")),
            ("auth.login_failed", "anonymous", "nobody", Some("10.6.6.6")),
            ("auth.login_throttled", "anonymous", "alice", Some("10.6.6.6")),
            ("auth.login", "user:alice", "user:alice", Some("10.0.0.7")),
            ("access.denied", "user:alice", &format!("PUT /api/parcels/{}", zddm(OWN, 1)), Some("10.0.0.7")),
            ("account.set_role", "cli:ops-li", "alice", None),
        ]
    );
    assert_eq!(rows[1].5, Some(json!({"reason": "wrong_password"})));
    assert_eq!(rows[2].5, Some(json!({"reason": "unknown_name"})));
    assert_eq!(rows[5].5, Some(json!({"code": "forbidden"})));
    assert_eq!(rows[6].4.as_ref().map(|b| b["role"].clone()), Some(json!("surveyor")));
    assert_eq!(rows[6].5.as_ref().map(|a| a["role"].clone()), Some(json!("reviewer")));
    // The role change ended alice's session.
    let st0 = state_with(&pool, Settings { token_cache_seconds: 0, ..Settings::default() });
    assert_eq!(get(&st0, "/api/changes", &token).await.status, StatusCode::UNAUTHORIZED);
    // The command line will not import or create accounts without naming the operator.
    let url = url_of(&pool).await;
    let out = Command::new(env!("CARGO_BIN_EXE_tile-server"))
        .args(["--db", &url, "add-user", "bob", "--role", "surveyor", "--counties", OWN])
        .env("TILE_SERVER_PASSWORD", PASSWORD)
        .env_remove("CADASTRE_ACTOR")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--actor"));
    let out = Command::new(env!("CARGO_BIN_EXE_tile-server"))
        .args(["--db", &url, "--actor", "ops-wang", "add-user", "bob", "--role", "surveyor", "--counties", OWN])
        .env("TILE_SERVER_PASSWORD", PASSWORD)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM audit WHERE action = 'account.create_user' AND object_key = 'bob'")
            .fetch_one(&pool)
            .await
            .unwrap_or_default();
    assert_eq!(actor, "cli:ops-wang");
}

/// Item 4, the rest of the account changes: a client created, a password changed by its
/// user, an account disabled, enabled and its password expired: each leaves one audit row
/// naming who did it, in order, and no row holds a password or its hash.
#[sqlx::test(migrator = "MIGRATOR")]
async fn every_account_change_is_audited_with_its_actor(pool: PgPool) {
    use tile_server::auth::accounts::NewClient;
    let st = state(&pool);
    accounts::create_user_by(
        &pool,
        &NewUser { username: "carol", password: PASSWORD, role: Role::Surveyor, counties: &[OWN] },
        "cli:ops-li",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    accounts::create_client_by(
        &pool,
        &NewClient {
            client_id: "djxt-audit",
            secret: PASSWORD,
            counties: &[OWN],
            rate_limit_per_minute: None,
            allowed_ips: &["10.0.0.0/8"],
        },
        "cli:ops-li",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let new_password = "Another-good-pass-7";
    let changed = call(
        &st,
        Method::POST,
        "/api/auth/password",
        None,
        Some(&json!({"username": "carol", "current_password": PASSWORD, "new_password": new_password})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{:?}", changed.json);
    accounts::set_disabled(&pool, "carol", true, "cli:ops-wang").await.unwrap_or_else(|e| panic!("{e}"));
    accounts::set_disabled(&pool, "carol", false, "cli:ops-wang").await.unwrap_or_else(|e| panic!("{e}"));
    accounts::expire_password(&pool, "carol", "cli:ops-wang").await.unwrap_or_else(|e| panic!("{e}"));
    type AuditRow = (String, String, String, Option<Value>, Option<Value>);
    let rows: Vec<AuditRow> =
        sqlx::query_as("SELECT action, actor, object_key, before, after FROM audit ORDER BY audit_id")
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
    let summary: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str(), r.2.as_str())).collect();
    assert_eq!(
        summary,
        vec![
            ("account.create_user", "cli:ops-li", "carol"),
            ("account.create_client", "cli:ops-li", "djxt-audit"),
            ("account.change_password", "user:carol", "carol"),
            ("account.disable", "cli:ops-wang", "carol"),
            ("account.enable", "cli:ops-wang", "carol"),
            ("account.expire_password", "cli:ops-wang", "carol"),
        ]
    );
    let text = format!("{rows:?}");
    assert!(!text.contains(PASSWORD) && !text.contains(new_password) && !text.contains("$argon2"), "{text}");
    // The expired password now refuses a login until it is changed.
    let login =
        call(&st, Method::POST, "/api/auth/login", None, Some(&json!({"username": "carol", "password": new_password})))
            .await;
    assert_eq!((login.status, login.code()), (StatusCode::FORBIDDEN, "password_expired"));
}

/// Item 8: bad tokens cost no database work once known (the refusal is cached;
/// malformed ones are never looked up), an address presenting many is made to
/// wait, and /health shares one database check between concurrent callers.
#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_tokens_and_health_floods_do_not_load_the_database(pool: PgPool) {
    let st = state(&pool);
    wait_listening(&st).await;
    let bogus = "A".repeat(43);
    let r = get(&st, "/api/changes", &bogus).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // With the database gone, the known-bad and the malformed token are still refused
    // (401, not a database error): neither was looked up.
    let cache = st.principals.clone().unwrap_or_else(|| panic!("token cache on by default"));
    assert!(cache.is_refused_at(&bogus, std::time::Instant::now()));
    st.db.close().await;
    assert_eq!(get(&st, "/api/changes", &bogus).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&st, "/api/changes", "not-a-token").await.status, StatusCode::UNAUTHORIZED);
    // Sixty bad tokens a minute per address, then 429 without a lookup.
    let st = state(&pool.clone());
    let mut last = StatusCode::OK;
    for i in 0..70 {
        let req = from([10, 7, 7, 7], request(Method::GET, "/api/changes", Some(&format!("bad{i}")), None));
        last = call_with(&st, req).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // Another address is unaffected.
    let req = from([10, 7, 7, 8], request(Method::GET, "/api/changes", Some("bad"), None));
    assert_eq!(call_with(&st, req).await.status, StatusCode::UNAUTHORIZED);
    // Health: fifty concurrent callers, one check.
    let checks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (open, gate) = tokio::sync::watch::channel(false);
    let mut calls = Vec::new();
    for _ in 0..50 {
        let (sec, checks, mut gate) = (st.security.clone(), checks.clone(), gate.clone());
        calls.push(tokio::spawn(async move {
            sec.health(|| async move {
                checks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                while !*gate.borrow_and_update() && gate.changed().await.is_ok() {}
                true
            })
            .await
        }));
    }
    eventually("one check running", || std::future::ready(checks.load(std::sync::atomic::Ordering::SeqCst) == 1)).await;
    let _ = open.send(true);
    for c in calls {
        assert!(matches!(c.await, Ok(true)));
    }
    assert_eq!(checks.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// Item 8: connections that do not finish their headers (slow loris), and idle
/// keep-alive connections, are closed after `header_read_timeout_ms`.
#[sqlx::test(migrator = "MIGRATOR")]
async fn half_open_connections_are_closed(pool: PgPool) {
    let st = state(&pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let options = tile_server::serve::ServeOptions {
        header_read_timeout: Duration::from_millis(300),
        tls: None,
        connection_threads: 2,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tile_server::serve::serve(listener, tile_server::app(st), options, async move {
        let _ = stopped.await;
    }));
    let closed = tokio::task::spawn_blocking(move || {
        let mut conns: Vec<TcpStream> = (0..200)
            .filter_map(|_| {
                let mut s = TcpStream::connect(addr).ok()?;
                s.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n").ok()?; // headers never finished
                Some(s)
            })
            .collect();
        // A finished request, then silence on the kept-alive connection.
        if let Ok(mut s) = TcpStream::connect(addr) {
            let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
            conns.push(s);
        }
        let mut closed = 0;
        for mut c in conns {
            // A correctness deadline: without the timeout these would stay open for ever.
            let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
            let mut sink = Vec::new();
            if c.read_to_end(&mut sink).is_ok() {
                closed += 1;
            }
        }
        closed
    })
    .await
    .unwrap_or(0);
    assert_eq!(closed, 201, "every slow or idle connection was closed by the server");
    let _ = stop.send(());
    assert!(matches!(server.await, Ok(Ok(()))));
}

/// TLS with rustls: the certificate path from the config; plain HTTP only on
/// loopback unless allowed.
#[sqlx::test(migrator = "MIGRATOR")]
async fn tls_serves_https_and_plain_http_stays_on_loopback(pool: PgPool) {
    use tile_server::config::TlsFiles;
    use tile_server::serve::{check_transport, load_tls, ServeOptions};
    let exposed = Settings { listen: "0.0.0.0:8443".parse().unwrap_or_else(|e| panic!("{e}")), ..Settings::default() };
    assert!(check_transport(&exposed).is_err());
    assert!(check_transport(&Settings { allow_plain_http: true, ..exposed.clone() }).is_ok());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap_or_else(|e| panic!("{e}"));
    let files = TlsFiles { cert: dir.path().join("server.crt"), key: dir.path().join("server.key") };
    std::fs::write(&files.cert, cert.cert.pem()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&files.key, cert.key_pair.serialize_pem()).unwrap_or_else(|e| panic!("{e}"));
    assert!(check_transport(&Settings { tls: Some(files.clone()), ..exposed }).is_ok());
    let tls = load_tls(&files).unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let options = ServeOptions { header_read_timeout: Duration::from_secs(5), tls: Some(tls), connection_threads: 2 };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server =
        tokio::spawn(tile_server::serve::serve(listener, tile_server::app(state(&pool)), options, async move {
            let _ = stopped.await;
        }));
    // A client that trusts only this certificate.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap_or_else(|e| panic!("{e}"));
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("{e}"))
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("{e}"));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap_or_else(|e| panic!("{e}"));
    let mut tls = connector.connect(name, tcp).await.unwrap_or_else(|e| panic!("TLS handshake: {e}"));
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap_or_default();
    let mut resp = Vec::new();
    let _ = tls.read_to_end(&mut resp).await;
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = tokio::task::spawn_blocking(move || http_raw(addr, "GET", "/health", b"")).await.unwrap_or_default();
    assert!(!plain.starts_with(b"HTTP/"), "{}", String::from_utf8_lossy(&plain));
    let _ = stop.send(());
    assert!(matches!(server.await, Ok(Ok(()))));
}
