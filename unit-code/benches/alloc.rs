//! Allocation throughput on PostgreSQL with 16 concurrent clients, against a
//! bare `nextval()` sequence (which leaves gaps) as the peer, in one run.
//!
//! `DATABASE_URL=postgres://… cargo bench -p unit-code --bench alloc`
//! (`UC_BENCH_SECS` sets seconds per workload, default 6; `UC_BENCH_ROUNDS`
//! repeats the whole set, default 1; `UC_BENCH_SYNC=off` runs with
//! `synchronous_commit = off`). It creates and drops
//! its own database. Criterion's per-iteration model does not fit a fixed
//! number of concurrent clients, so this is a plain timed loop (harness = false).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};
use unit_code::alloc::{migrate, AllocError, Allocator, PgAllocator, Scope};
use unit_code::SubdistrictCode;

const CLIENTS: u32 = 16;

#[derive(Clone, Copy, Debug)]
enum Work {
    /// `SELECT nextval(...)` on a connection of the client's own: the peer.
    NextVal,
    /// `SELECT nextval(...)` through the pool, which pings the connection it
    /// hands out (`test_before_acquire`): a second round trip per call.
    NextValPooled,
    /// `allocate(scope, n)`, all clients on the same scope.
    SameScope(u32),
    /// `allocate(scope, 1)`, each client on its own scope.
    OwnScope,
    /// `PgAllocator::allocate_ungrouped(scope, 1)`: a transaction (one statement) per request, no group commit.
    SameScopeAlone,
}

fn subdistrict(n: u32) -> SubdistrictCode {
    format!("330106{:03}{:03}", n / 1000, n % 1000).parse().unwrap_or_else(|e| panic!("bad sub-district {n}: {e}"))
}

/// Run `work` with CLIENTS tasks for `secs`; return codes issued per second.
async fn run(pool: &PgPool, work: Work, secs: u64) -> f64 {
    let alloc = Arc::new(PgAllocator::new(pool.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    // Scopes run out (99 999 parcels); clients move on together to a fresh one.
    static GENERATION: AtomicU32 = AtomicU32::new(1);
    let start = Instant::now();
    let mut handles = Vec::new();
    for client in 0..CLIENTS {
        let (alloc, stop, total, pool) = (alloc.clone(), stop.clone(), total.clone(), pool.clone());
        handles.push(tokio::spawn(async move {
            // The peer at its best: no pool between the client and its session.
            let mut own = match work {
                Work::NextVal => Some(pool.acquire().await.unwrap_or_else(|e| panic!("{e}"))),
                _ => None,
            };
            while !stop.load(Ordering::Relaxed) {
                let issued = match work {
                    Work::NextVal | Work::NextValPooled => {
                        let next = sqlx::query_scalar::<_, i64>("SELECT nextval('uc_bench_seq')");
                        let got = match own.as_mut() {
                            Some(conn) => next.fetch_one(&mut **conn).await,
                            None => next.fetch_one(&pool).await,
                        };
                        got.map(|_| 1).map_err(|e| e.to_string())
                    }
                    Work::SameScope(_) | Work::OwnScope | Work::SameScopeAlone => {
                        let (sub, n) = match work {
                            Work::SameScope(n) => (GENERATION.load(Ordering::SeqCst), n),
                            Work::SameScopeAlone => (GENERATION.load(Ordering::SeqCst), 1),
                            _ => (500 + client, 1),
                        };
                        let scope = Scope::parcels(subdistrict(sub), "GB".parse().unwrap_or_else(|_| unreachable!()));
                        let issued = match work {
                            Work::SameScopeAlone => PgAllocator::allocate_ungrouped(&pool, scope, n).await,
                            _ => alloc.allocate(scope, n).await,
                        };
                        match issued {
                            Ok(run) => Ok(u64::from(run.len())),
                            Err(AllocError::Exhausted { .. }) => {
                                let _ = GENERATION.compare_exchange(sub, sub + 1, Ordering::SeqCst, Ordering::SeqCst);
                                Ok(0)
                            }
                            Err(e) => Err(e.to_string()),
                        }
                    }
                };
                match issued {
                    Ok(k) => total.fetch_add(k, Ordering::Relaxed),
                    Err(e) => panic!("{work:?}: {e}"),
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        if let Err(e) = h.await {
            panic!("client failed: {e}");
        }
    }
    total.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// Durable commits per second of one client inserting one row per transaction.
async fn commit_rate(pool: &PgPool, secs: u64) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        sqlx::query("INSERT INTO uc_bench_commit VALUES (1)").execute(pool).await.unwrap_or_else(|e| panic!("{e}"));
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Codes recorded and the transactions that wrote them (distinct `xmin`).
async fn transactions(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT count(*), count(DISTINCT xmin::text) FROM uc_unit")
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("benches/alloc: DATABASE_URL is not set; it needs a PostgreSQL server, e.g.");
        eprintln!("  DATABASE_URL=postgres://postgres@127.0.0.1:54329/cadastre cargo bench -p unit-code --bench alloc");
        std::process::exit(2);
    };
    let secs: u64 = std::env::var("UC_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(6);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    rt.block_on(async move {
        let admin = PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
        let name = format!("uc_bench_{}", std::process::id());
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap_or_else(|e| panic!("{e}"));
        // UC_BENCH_SYNC=off shows how much of the cost is waiting for the WAL flush.
        if let Ok(sync) = std::env::var("UC_BENCH_SYNC") {
            if !["on", "off", "local", "remote_write", "remote_apply"].contains(&sync.as_str()) {
                eprintln!("UC_BENCH_SYNC must be a synchronous_commit value (on/off/local), not {sync:?}");
                std::process::exit(2);
            }
            let sql = format!("ALTER DATABASE {name} SET synchronous_commit = {sync}");
            admin.execute(sql.as_str()).await.unwrap_or_else(|e| panic!("{e}"));
        }
        let opts: PgConnectOptions = url.parse::<PgConnectOptions>().unwrap_or_else(|e| panic!("{e}")).database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(CLIENTS)
            .min_connections(CLIENTS)
            .connect_with(opts)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        migrate(&pool).await.unwrap_or_else(|e| panic!("{e}"));
        pool.execute("CREATE SEQUENCE uc_bench_seq").await.unwrap_or_else(|e| panic!("{e}"));
        pool.execute("CREATE TABLE uc_bench_commit (n int)").await.unwrap_or_else(|e| panic!("{e}"));
        let sync: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&pool).await.unwrap_or_default();

        let rounds: u32 = std::env::var("UC_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
        println!("allocation throughput, {CLIENTS} concurrent clients, {secs} s each, synchronous_commit={sync}");
        for round in 1..=rounds {
            println!("round {round} (load average {})", load_average());
            let peer = run(&pool, Work::NextVal, secs).await;
            println!("{:<46} {:>9.0} codes/s  (peer, leaves gaps)", "nextval(), a connection per client", peer);
            let pooled = run(&pool, Work::NextValPooled, secs).await;
            println!(
                "{:<46} {pooled:>9.0} codes/s  ratio {:.3}  (the pool pings each connection it hands out)",
                "nextval() through the pool",
                pooled / peer
            );
            // Each client waits for a commit that makes its code durable, so no
            // allocator of that kind can beat CLIENTS × one client's commit rate.
            let commits = commit_rate(&pool, secs).await;
            println!(
                "{:<46} {:>9.0} commits/s  bound {CLIENTS} × that = {:.0} codes/s, ratio {:.3}",
                "one client's durable commits (the floor)",
                commits,
                commits * f64::from(CLIENTS),
                commits * f64::from(CLIENTS) / peer
            );
            for (label, work) in [
                ("PgAllocator single, one shared scope", Work::SameScope(1)),
                ("  same, a transaction each (no group commit)", Work::SameScopeAlone),
                ("PgAllocator batch of 100, one shared scope", Work::SameScope(100)),
                ("PgAllocator single, a scope per client", Work::OwnScope),
            ] {
                let before = transactions(&pool).await;
                let rate = run(&pool, work, secs).await;
                let after = transactions(&pool).await;
                let per_tx = (after.0 - before.0) as f64 / (after.1 - before.1).max(1) as f64;
                println!(
                    "{label:<46} {rate:>9.0} codes/s  ratio to nextval {:.3}  ({per_tx:.1} codes per transaction)",
                    rate / peer
                );
            }
        }
        pool.close().await;
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    });
}
