//! Two server states on one database are two instances: a change made through
//! one of them, or in raw SQL, must reach the other's caches (LISTEN/NOTIFY,
//! `tile_server::cache_sync`), and an instance whose listener is gone must fall
//! back to exact per-request checks.

use axum::http::{Method, StatusCode};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::cache_sync::{APPLICATION_NAME, AUTH_CHANNEL, TABLES_CHANNEL};
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;
use tile_server::AppState;

use crate::common::*;

fn table_uri() -> String {
    format!("/api/buildings/{}/table", zrzh(OWN))
}

/// Two instances with the default settings (caches on), both listening, and a seeded county.
async fn two_instances(pool: &PgPool) -> (AppState, AppState, String) {
    let (a, b) = (state(pool), state(pool));
    wait_listening(&a).await;
    wait_listening(&b).await;
    let admin = user_token(&a, "boss", Role::Admin, &[OWN]).await;
    seed_county(&a, &admin, OWN).await;
    (a, b, admin)
}

/// Polls B's table until `seen` holds, then checks it keeps holding (never goes back).
async fn until_table(st: &AppState, token: &str, what: &str, seen: impl Fn(&Resp) -> bool) {
    eventually(what, || async { seen(&get(st, &table_uri(), token).await) }).await;
    for _ in 0..10 {
        assert!(seen(&get(st, &table_uri(), token).await), "{what}: went back");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Pulls the table through `st` until `st` keeps it (owner data shown: an admin's
/// token). Notifications of earlier writes may still be on their way and void the
/// first fills, by design.
async fn pull_until_cached(st: &AppState, admin: &str) -> Resp {
    let deadline = std::time::Instant::now() + COHERENCE_DEADLINE;
    loop {
        let r = get(st, &table_uri(), admin).await;
        assert_eq!(r.status, StatusCode::OK);
        if st.tables.get_fresh(&zrzh(OWN), true, std::time::Instant::now()).is_some() {
            return r;
        }
        assert!(std::time::Instant::now() < deadline, "the table was never cached");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn exec(pool: &PgPool, sql: &str, bind: &str) -> u64 {
    sqlx::query(sql).bind(bind).execute(pool).await.map(|r| r.rows_affected()).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Runs `sql` with triggers off (`session_replication_role = replica`): no
/// notification is sent, so only a database check can see the change.
async fn silently(pool: &PgPool, sql: &str, bind: &str) -> u64 {
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("begin: {e}"));
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("replica role: {e}"));
    let n = sqlx::query(sql)
        .bind(bind)
        .execute(&mut *tx)
        .await
        .map(|r| r.rows_affected())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("commit: {e}"));
    n
}

const RENAME_101: &str = "UPDATE households SET zl = '改过的坐落' WHERE bdcdyh = $1 AND state = 'current'";

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_household_changed_in_sql_reaches_the_other_instance(pool: PgPool) {
    let (_a, b, admin) = two_instances(&pool).await;
    let before = pull_until_cached(&b, &admin).await;
    assert!(!String::from_utf8_lossy(&before.bytes).contains("改过的坐落"));
    assert_eq!(exec(&pool, RENAME_101, &bdcdyh(OWN, 101)).await, 1);
    until_table(&b, &admin, "B shows the new 坐落", |r| String::from_utf8_lossy(&r.bytes).contains("改过的坐落")).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_household_added_through_one_instance_reaches_the_other(pool: PgPool) {
    let (a, b, admin) = two_instances(&pool).await;
    assert_eq!(get(&b, &table_uri(), &admin).await.json["household_count"], 2);
    let r = put(&a, &format!("/api/households/{}", bdcdyh(OWN, 102)), &admin, &household_body(1, 102)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    until_table(&b, &admin, "B counts 3 households", |r| r.json["household_count"] == 3).await;
    // And the floor list, edited through A (a building PUT rewrites floors).
    let r = put(
        &a,
        &format!("/api/buildings/{}", zrzh(OWN)),
        &admin,
        &serde_json::json!({"JZWMC": "改名楼", "DSCS": 2, "floors": [{"SJC": 1, "MYC": "1"}, {"SJC": 2, "MYC": "2"}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    until_table(&b, &admin, "B shows the building's new name", |r| r.json["building"]["JZWMC"] == "改名楼").await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_token_revoked_through_one_instance_stops_working_on_the_other(pool: PgPool) {
    let (a, b, _admin) = two_instances(&pool).await;
    let t = user_token(&a, "c", Role::Surveyor, &[OWN]).await;
    assert_eq!(get(&b, "/api/summary", &t).await.status, StatusCode::OK);
    assert_eq!(get(&b, "/api/summary", &t).await.status, StatusCode::OK, "served from B's cache");
    let out = call(&a, Method::POST, "/api/auth/logout", Some(&t), None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    eventually_status(&b, "/api/summary", &t, StatusCode::UNAUTHORIZED).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn accounts_disabled_in_sql_stop_working_on_every_instance(pool: PgPool) {
    let (a, b, _admin) = two_instances(&pool).await;
    let user = user_token(&a, "d", Role::Surveyor, &[OWN]).await;
    let client = client_token(&a, "reg", &[OWN], None, &[]).await;
    for st in [&a, &b] {
        assert_eq!(get(st, "/api/summary", &user).await.status, StatusCode::OK);
        assert_eq!(get(st, &table_uri(), &client).await.status, StatusCode::OK);
    }
    assert_eq!(exec(&pool, "UPDATE users SET disabled = TRUE WHERE username = $1", "d").await, 1);
    assert_eq!(exec(&pool, "UPDATE api_clients SET disabled = TRUE WHERE client_id = $1", "reg").await, 1);
    for st in [&a, &b] {
        eventually_status(st, "/api/summary", &user, StatusCode::UNAUTHORIZED).await;
        eventually_status(st, &table_uri(), &client, StatusCode::UNAUTHORIZED).await;
    }
}

/// The pid of `st`'s listener connection (the only one in this test's database).
async fn listener_pid(pool: &PgPool) -> i32 {
    let pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
    )
    .bind(APPLICATION_NAME)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("pg_stat_activity: {e}"));
    assert_eq!(pids.len(), 1, "one listener connection expected: {pids:?}");
    pids[0]
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn losing_the_listener_falls_back_to_exact_checks_until_it_is_back(pool: PgPool) {
    // A 3 s first retry keeps the listener down long enough to observe the fallback.
    let st = state_with(&pool, Settings { cache_listen_retry_ms: 3_000, ..Settings::default() });
    wait_listening(&st).await;
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let viewer = user_token(&st, "v", Role::Surveyor, &[OWN]).await;
    assert_eq!(get(&st, &table_uri(), &admin).await.status, StatusCode::OK);
    assert_eq!(get(&st, "/api/summary", &viewer).await.status, StatusCode::OK);
    let listening = std::time::Instant::now();

    let pid = listener_pid(&pool).await;
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(pid)
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("pg_terminate_backend: {e}"));
    assert!(killed);
    eventually("the server notices the lost listener", || std::future::ready(!st.sync.is_listening())).await;

    // Requests while the listener is down (they must not make the cache trusted again)...
    assert_eq!(get(&st, &table_uri(), &admin).await.status, StatusCode::OK);
    assert_eq!(get(&st, "/api/summary", &viewer).await.status, StatusCode::OK);
    // ...then changes that send no notification at all: still seen by the next request.
    assert_eq!(silently(&pool, RENAME_101, &bdcdyh(OWN, 101)).await, 1);
    let r = get(&st, &table_uri(), &admin).await;
    assert!(String::from_utf8_lossy(&r.bytes).contains("改过的坐落"), "bypass: the fingerprint was checked");
    assert_eq!(silently(&pool, "UPDATE users SET disabled = TRUE WHERE username = $1", "v").await, 1);
    assert_eq!(get(&st, "/api/summary", &viewer).await.status, StatusCode::UNAUTHORIZED, "bypass: token looked up");
    assert!(
        !st.sync.is_listening(),
        "the listener came back before the fallback was observed; the test proved nothing (started {:?} ago)",
        listening.elapsed()
    );

    // It reconnects by itself; then caching resumes: a change with no notification
    // is *not* seen (the cached table is served without a database check).
    eventually("the listener reconnects", || std::future::ready(st.sync.is_listening() && st.sync.connects() == 2))
        .await;
    assert_ne!(listener_pid(&pool).await, pid);
    let cached = pull_until_cached(&st, &admin).await;
    assert!(String::from_utf8_lossy(&cached.bytes).contains("改过的坐落"));
    assert_eq!(
        silently(
            &pool,
            "UPDATE households SET zl = '悄悄改' WHERE bdcdyh = $1 AND state = 'current'",
            &bdcdyh(OWN, 101)
        )
        .await,
        1
    );
    assert_eq!(get(&st, &table_uri(), &admin).await.bytes, cached.bytes, "served from the cache again");
    // A notified change is seen again.
    assert_eq!(
        exec(&pool, "UPDATE households SET zl = '通知了' WHERE bdcdyh = $1 AND state = 'current'", &bdcdyh(OWN, 101))
            .await,
        1
    );
    until_table(&st, &admin, "the notified change", |r| String::from_utf8_lossy(&r.bytes).contains("通知了")).await;
}

async fn next_payload(listener: &mut PgListener, channel: &str) -> String {
    let n = tokio::time::timeout(COHERENCE_DEADLINE, listener.recv())
        .await
        .unwrap_or_else(|_| panic!("no notification on {channel}"))
        .unwrap_or_else(|e| panic!("recv: {e}"));
    assert_eq!(n.channel(), channel);
    n.payload().to_owned()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn triggers_name_changed_buildings_and_collapse_big_statements(pool: PgPool) {
    let mut listener = PgListener::connect_with(&pool).await.unwrap_or_else(|e| panic!("listener: {e}"));
    listener.listen_all([TABLES_CHANNEL, AUTH_CHANNEL]).await.unwrap_or_else(|e| panic!("listen: {e}"));
    let floor = |n: u32, sjc: i32| format!("('{OWN}', '{OWN}001001GB{n:05}F0001', {sjc}, '{sjc}')");
    let insert = |rows: Vec<String>| format!("INSERT INTO floors (county, zrzh, sjc, myc) VALUES {}", rows.join(","));
    sqlx::query(&insert(vec![floor(1, 1), floor(1, 2), floor(2, 1)]))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut named: Vec<String> =
        next_payload(&mut listener, TABLES_CHANNEL).await.split(',').map(str::to_owned).collect();
    named.sort();
    assert_eq!(named, [format!("{OWN}001001GB00001F0001"), format!("{OWN}001001GB00002F0001")]);
    // 300 buildings in one statement: one "flush all" (empty payload), not 300 names.
    sqlx::query(&insert((1..=300).map(|n| floor(n, 3)).collect()))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(next_payload(&mut listener, TABLES_CHANNEL).await, "");
    // A statement that changes nothing, and a rolled-back one, send nothing; a new
    // account sends nothing (it cannot make a cached token wrong); an update does.
    sqlx::query("UPDATE floors SET cmc = 'x' WHERE false").execute(&pool).await.unwrap_or_else(|e| panic!("{e}"));
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("UPDATE floors SET cmc = 'y' WHERE sjc = 1").execute(&mut *tx).await.unwrap_or_else(|e| panic!("{e}"));
    tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    let st = state_with(&pool, Settings { token_cache_seconds: 0, table_revalidate_ms: 0, ..Settings::default() });
    let _t = user_token(&st, "e", Role::Surveyor, &[OWN]).await;
    sqlx::query("UPDATE floors SET cmc = 'z' WHERE zrzh = $1 AND sjc = 3")
        .bind(zrzh(OWN))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(next_payload(&mut listener, TABLES_CHANNEL).await, zrzh(OWN), "nothing in between");
    sqlx::query("UPDATE users SET display_name = 'E' WHERE username = 'e'")
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(next_payload(&mut listener, AUTH_CHANNEL).await, "users");
}
