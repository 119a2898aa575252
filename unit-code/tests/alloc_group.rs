//! Group commit of `PgAllocator::allocate` against the real PostgreSQL:
//! concurrent requests of one scope share one transaction, each gets its own
//! contiguous run, callers that left are skipped, exhaustion is decided per
//! request, and a process killed (SIGKILL) with a batch in flight leaves no
//! gap and no duplicate.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alloc_common;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloc_common::{counter, stored_numbers as stored, TestDb};
use proptest::prelude::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::io::{AsyncBufReadExt, BufReader};
use unit_code::alloc::{AllocError, Allocator, PgAllocator, Scope};
use unit_code::{ParcelFeature, SubdistrictCode};

fn sub(n: u16) -> SubdistrictCode {
    format!("330106002{n:03}").parse().unwrap()
}

fn gb() -> ParcelFeature {
    "GB".parse().unwrap()
}

/// Poll `cond` until it holds; a bound (not a timing assertion) so a broken
/// build fails instead of hanging.
async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !cond().await {
        assert!(start.elapsed() < Duration::from_secs(120), "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Backends of this database (optionally only `app`'s) waiting for `pid`'s locks.
async fn blocked_by(pool: &PgPool, pid: i32, app: Option<&str>) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
           AND ($2::text IS NULL OR application_name = $2) AND $1 = ANY(pg_blocking_pids(pid))",
    )
    .bind(pid)
    .bind(app)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Waits until one transaction is blocked behind the counter row `holder` holds: the
/// first batch is at the server.
async fn first_in_flight(pool: &PgPool, holder: i32) {
    wait_until("the first batch in flight", || {
        let pool = pool.clone();
        async move { blocked_by(&pool, holder, None).await == 1 }
    })
    .await;
}

async fn backend_pid(conn: &mut PgConnection) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(conn).await.unwrap()
}

/// Hold the counter row of `scope` (creating it at 0) until the returned transaction ends.
async fn hold_counter(url: &str, scope: Scope) -> PgConnection {
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query(
        "INSERT INTO uc_counter (county, scope, kind, last_issued) VALUES ($1, $2, 'P', 0) ON CONFLICT DO NOTHING",
    )
    .bind(scope.county())
    .bind(scope.key())
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query("SELECT 1 FROM uc_counter WHERE scope = $1 FOR UPDATE")
        .bind(scope.key())
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_queued_behind_a_transaction_share_the_next_one() {
    let db = TestDb::new("gshare", 20).await;
    let alloc = Arc::new(PgAllocator::new(db.pool.clone()));
    let scope = Scope::parcels(sub(1), gb());
    // While the counter row is held, the first request's transaction waits on
    // it and the other 15 queue for the next batch.
    let mut holder = hold_counter(&db.url(), scope).await;
    let pid = backend_pid(&mut holder).await;
    let spawn = || {
        let alloc = alloc.clone();
        tokio::spawn(async move { alloc.allocate(scope, 1).await.unwrap() })
    };
    let mut tasks = vec![spawn()];
    first_in_flight(&db.pool, pid).await;
    tasks.extend((0..15).map(|_| spawn()));
    wait_until("15 requests queued", || {
        let n = alloc.queued(scope);
        async move { n == 15 }
    })
    .await;
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    let mut got = Vec::new();
    for t in tasks {
        let run = t.await.unwrap();
        assert_eq!(run.len(), 1);
        got.push(run.first);
    }
    got.sort_unstable();
    assert_eq!(got, (1..=16).collect::<Vec<_>>());
    assert_eq!(stored(&db.pool, scope).await, (1..=16).collect::<Vec<_>>());
    // Two transactions wrote the 16 codes: the first request's, then one for the other 15.
    let xids: i64 = sqlx::query_scalar("SELECT count(DISTINCT xmin::text) FROM uc_unit WHERE parent = $1")
        .bind(scope.key())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(xids, 2);
    assert_eq!(alloc.queued(scope), 0);
    db.drop_db().await;
}

/// The worker keeps its connection between batches; when that connection
/// dies, the batch on it fails and the next batch runs on a fresh one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_whose_connection_died_fails_and_the_next_one_runs_on_a_fresh_one() {
    let db = TestDb::new("gconn", 4).await;
    let alloc = Arc::new(PgAllocator::new(db.pool.clone()));
    let scope = Scope::parcels(sub(6), gb());
    let mut holder = hold_counter(&db.url(), scope).await;
    let pid = backend_pid(&mut holder).await;
    let spawn = || {
        let alloc = alloc.clone();
        tokio::spawn(async move { alloc.allocate(scope, 1).await })
    };
    let first = spawn();
    first_in_flight(&db.pool, pid).await;
    let second = spawn();
    wait_until("the second request queued", || {
        let n = alloc.queued(scope);
        async move { n == 1 }
    })
    .await;
    let worker: i32 = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND $1 = ANY(pg_blocking_pids(pid))",
    )
    .bind(pid)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let killed: bool =
        sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(worker).fetch_one(&db.pool).await.unwrap();
    assert!(killed);
    let e = first.await.unwrap().unwrap_err();
    assert!(matches!(e, AllocError::Database { .. }), "{e}");
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    let run = second.await.unwrap().unwrap();
    assert_eq!((run.first, run.last), (1, 1), "the killed batch left no number behind");
    assert_eq!(stored(&db.pool, scope).await, vec![1]);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_caller_that_left_before_its_batch_gets_no_number() {
    let db = TestDb::new("gleft", 8).await;
    let alloc = Arc::new(PgAllocator::new(db.pool.clone()));
    let scope = Scope::parcels(sub(2), gb());
    let mut holder = hold_counter(&db.url(), scope).await;
    let pid = backend_pid(&mut holder).await;
    let spawn = |n| {
        let alloc = alloc.clone();
        tokio::spawn(async move { alloc.allocate(scope, n).await.unwrap() })
    };
    let first = spawn(2);
    first_in_flight(&db.pool, pid).await;
    let gone = spawn(5);
    let last = spawn(3);
    wait_until("two requests queued", || {
        let n = alloc.queued(scope);
        async move { n == 2 }
    })
    .await;
    gone.abort();
    assert!(gone.await.unwrap_err().is_cancelled());
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    let (a, c) = (first.await.unwrap(), last.await.unwrap());
    assert_eq!((a.first, a.last), (1, 2));
    assert_eq!((c.first, c.last), (3, 5), "the request that left is skipped, not given numbers");
    assert_eq!(counter(&db.pool, scope).await, Some(5));
    assert_eq!(stored(&db.pool, scope).await, (1..=5).collect::<Vec<_>>());
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exhaustion_is_decided_per_request_inside_a_batch() {
    let db = TestDb::new("gexhaust", 20).await;
    let alloc = Arc::new(PgAllocator::new(db.pool.clone()));
    let parcel = alloc.next_parcel(sub(3), gb()).await.unwrap();
    let scope = Scope::buildings(parcel);
    alloc.allocate(scope, 9_990).await.unwrap();
    // 16 single requests for the last 9 numbers, most of them in one batch.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let alloc = alloc.clone();
        tasks.push(tokio::spawn(async move { alloc.allocate(scope, 1).await }));
    }
    let (mut ok, mut exhausted) = (Vec::new(), 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(run) => ok.push(run.first),
            Err(AllocError::Exhausted { limit: 9_999, requested: 1, .. }) => exhausted += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    ok.sort_unstable();
    assert_eq!(ok, (9_991..=9_999).collect::<Vec<_>>());
    assert_eq!(exhausted, 7);
    assert_eq!(stored(&db.pool, scope).await.len(), 9_999);
    db.drop_db().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    /// Any mix of request sizes from 16 concurrent callers: every caller gets
    /// a contiguous run of its size, runs are disjoint, and the registry holds
    /// exactly 1..=Σ.
    #[test]
    fn concurrent_requests_of_any_sizes_stay_dense(sizes in prop::collection::vec(prop::collection::vec(1u32..=40, 1..12), 16)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
        rt.block_on(async move {
            let db = TestDb::new("gprop", 16).await;
            let alloc = Arc::new(PgAllocator::new(db.pool.clone()));
            let scope = Scope::parcels(sub(4), gb());
            let mut tasks = Vec::new();
            for mine in sizes.clone() {
                let alloc = alloc.clone();
                tasks.push(tokio::spawn(async move {
                    let mut got = Vec::new();
                    for n in mine {
                        let run = alloc.allocate(scope, n).await.unwrap();
                        assert_eq!(run.len(), n);
                        got.extend(run.numbers());
                    }
                    got
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.unwrap());
            }
            let total: u32 = sizes.iter().flatten().sum();
            all.sort_unstable();
            assert_eq!(all, (1..=total).collect::<Vec<_>>());
            assert_eq!(stored(&db.pool, scope).await, all);
            db.drop_db().await;
        });
    }
}

// ---- kill -9 of a process with a batch in flight ----

const CHILD_ENV: &str = "UC_GROUP_CHILD_URL";
const CHILD_APP: &str = "uc_group_child";

fn child_scope() -> Scope {
    Scope::parcels(sub(5), gb())
}

/// The child process of `killed_process_with_a_batch_in_flight_leaves_no_gap`:
/// 16 tasks allocate one code each in a loop and print what they got.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "child process of killed_process_with_a_batch_in_flight_leaves_no_gap, which runs it"]
async fn child_allocating_until_killed() {
    let url = std::env::var(CHILD_ENV).expect("run by killed_process_with_a_batch_in_flight_leaves_no_gap");
    let opts = url.parse::<PgConnectOptions>().unwrap().application_name(CHILD_APP);
    let pool = PgPoolOptions::new().max_connections(4).connect_with(opts).await.unwrap();
    let alloc = Arc::new(PgAllocator::new(pool));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let alloc = alloc.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                match alloc.allocate(child_scope(), 1).await {
                    Ok(run) => println!("issued {}", run.first),
                    Err(e) => println!("error {e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Kills the child on drop, so a failing assertion does not leave it running.
struct Child(tokio::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_process_with_a_batch_in_flight_leaves_no_gap() {
    let db = TestDb::new("gkill", 4).await;
    let scope = child_scope();
    let mut child = Child(
        tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["child_allocating_until_killed", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, db.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut reported = Vec::new();
    let record = |line: &str, reported: &mut Vec<u32>| {
        if let Some(n) = line.strip_prefix("issued ") {
            reported.push(n.parse::<u32>().unwrap());
        }
        assert!(!line.starts_with("error"), "the child failed to allocate: {line}");
    };
    while reported.len() < 500 {
        let line = lines.next_line().await.unwrap().expect("the child ended early");
        record(&line, &mut reported);
    }

    // Stop the child's next batch after it has written its codes but before
    // it commits: with the counter row held, reserve the next number in a
    // transaction left open, so the batch's insert waits for it.
    let mut holder = hold_counter(&db.url(), scope).await;
    let c: i32 = sqlx::query_scalar("SELECT last_issued FROM uc_counter WHERE scope = $1")
        .bind(scope.key())
        .fetch_one(&mut holder)
        .await
        .unwrap();
    let mut blocker = PgConnection::connect(&db.url()).await.unwrap();
    let blocker_pid = backend_pid(&mut blocker).await;
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    let next = scope.code(u32::try_from(c).unwrap() + 1).unwrap();
    sqlx::query("INSERT INTO uc_unit (county, code, level, parent) VALUES ($1, $2, 'P', $3)")
        .bind(scope.county())
        .bind(next.as_str())
        .bind(scope.key())
        .execute(&mut blocker)
        .await
        .unwrap();
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    wait_until("the child's batch waits on the reserved number", || {
        let pool = db.pool.clone();
        async move { blocked_by(&pool, blocker_pid, Some(CHILD_APP)).await == 1 }
    })
    .await;
    // The batch has advanced the counter past c and inserted its codes, uncommitted.
    child.0.kill().await.unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        record(&line, &mut reported);
    }
    // Let the orphaned batch run on. Its statement reached the server whole, so
    // PostgreSQL finishes it as a transaction of its own (commit) or not at all:
    // either way the registry stays dense.
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    wait_until("the child's connections are gone", || {
        let pool = db.pool.clone();
        async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
            )
            .bind(CHILD_APP)
            .fetch_one(&pool)
            .await
            .unwrap();
            n == 0
        }
    })
    .await;

    let c = u32::try_from(c).unwrap();
    let m = u32::try_from(counter(&db.pool, scope).await.unwrap()).unwrap();
    assert!(m >= c, "the counter went back from {c} to {m}");
    assert_eq!(stored(&db.pool, scope).await, (1..=m).collect::<Vec<_>>(), "dense, no duplicate");
    let unique: BTreeSet<u32> = reported.iter().copied().collect();
    assert_eq!(unique.len(), reported.len(), "a number was reported twice");
    // Nothing the blocked batch carried was reported: its numbers start after c.
    assert!(reported.iter().all(|&n| (1..=c).contains(&n)), "a number of the killed batch was reported");
    // Numbers stored but never reported (the killed batch, replies lost with the
    // process) stay issued: allocation continues after them, never reissuing one.
    let after = PgAllocator::new(db.pool.clone()).allocate(scope, 1).await.unwrap();
    assert_eq!(after.first, m + 1);
    db.drop_db().await;
}
