//! PgAllocator against the real PostgreSQL: uniqueness and density under 16
//! concurrent tasks, batches, mixed scopes, aborted and killed transactions,
//! retirement and exhaustion.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alloc_common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloc_common::{counter, stored_numbers, TestDb};
use sqlx::postgres::PgPoolOptions;
use unit_code::alloc::{AllocError, Allocator, AnyCode, CodeStatus, PgAllocator, Scope};
use unit_code::{BuildingCode, ParcelCode, ParcelFeature, SubdistrictCode};

const TASKS: u32 = 16;

fn sub(n: u16) -> SubdistrictCode {
    format!("330106001{n:03}").parse().unwrap()
}

fn gb() -> ParcelFeature {
    "GB".parse().unwrap()
}

fn assert_dense(numbers: &[u32], n: u32, what: &str) {
    let expected: Vec<u32> = (1..=n).collect();
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted.len(), expected.len(), "{what}: count");
    assert_eq!(sorted, expected, "{what}: not dense 1..={n} or has duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_tasks_single_allocations_unique_and_dense() {
    let db = TestDb::new("single", TASKS).await;
    let alloc = Arc::new(PgAllocator::new(db.pool.clone()));
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let alloc = alloc.clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::with_capacity(1000);
            for _ in 0..1000 {
                got.push(alloc.next_parcel(sub(1), gb()).await.unwrap().sequence());
            }
            got
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        let got = h.await.unwrap();
        // Within one task numbers only increase: each call sees the previous commit.
        assert!(got.windows(2).all(|w| w[0] < w[1]));
        all.extend(got);
    }
    assert_dense(&all, 16_000, "returned");
    let scope = Scope::parcels(sub(1), gb());
    assert_dense(&stored_numbers(&db.pool, scope).await, 16_000, "stored");
    assert_eq!(counter(&db.pool, scope).await, Some(16_000));
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_tasks_batches_contiguous_unique_and_dense() {
    let db = TestDb::new("batch", TASKS).await;
    let alloc = Arc::new(PgAllocator::new(db.pool.clone()));
    let scope = Scope::parcels(sub(2), gb());
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let alloc = alloc.clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            // Sizes differ per task so batches interleave unevenly; 1000 per task.
            let size = [100, 50, 125, 200][t as usize % 4];
            for _ in 0..1000 / size {
                let run = alloc.allocate(scope, size).await.unwrap();
                let seqs: Vec<u32> = run.parcels().unwrap().iter().map(ParcelCode::sequence).collect();
                assert_eq!(seqs, run.numbers().collect::<Vec<_>>(), "a batch is contiguous");
                got.extend(seqs);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    assert_dense(&all, 16_000, "returned");
    assert_dense(&stored_numbers(&db.pool, scope).await, 16_000, "stored");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_scopes_each_dense() {
    let db = TestDb::new("mixed", TASKS).await;
    let alloc = Arc::new(PgAllocator::new(db.pool.clone()));
    // Parents for building and household scopes.
    let parcels = alloc.next_parcels(sub(3), gb(), 2).await.unwrap();
    let buildings = alloc.next_buildings(parcels[0], 2).await.unwrap();
    let scopes = Arc::new(vec![
        Scope::parcels(sub(3), gb()),
        Scope::parcels(sub(3), "JC".parse().unwrap()),
        Scope::parcels(sub(4), gb()),
        Scope::buildings(parcels[1]),
        Scope::households(buildings[0]),
        Scope::households(buildings[1]),
    ]);
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let (alloc, scopes) = (alloc.clone(), scopes.clone());
        handles.push(tokio::spawn(async move {
            let mut got = vec![Vec::new(); scopes.len()];
            for i in 0..300u32 {
                // A fixed pseudo-random walk over scopes and batch sizes.
                let k = ((t * 7 + i * 13) % scopes.len() as u32) as usize;
                let n = 1 + (t + i) % 3;
                let run = alloc.allocate(scopes[k], n).await.unwrap();
                got[k].extend(run.numbers());
            }
            got
        }));
    }
    let mut per_scope = vec![Vec::new(); scopes.len()];
    for h in handles {
        for (k, v) in h.await.unwrap().into_iter().enumerate() {
            per_scope[k].extend(v);
        }
    }
    for (k, scope) in scopes.iter().enumerate() {
        // The first parcel scope also holds the 2 parent parcels.
        let extra: Vec<u32> = if k == 0 { vec![1, 2] } else { Vec::new() };
        let mut returned = per_scope[k].clone();
        returned.extend(extra);
        let n = u32::try_from(returned.len()).unwrap();
        assert!(n > 100, "scope {k} barely used");
        assert_dense(&returned, n, &format!("returned {scope}"));
        assert_dense(&stored_numbers(&db.pool, *scope).await, n, &format!("stored {scope}"));
    }
    db.drop_db().await;
}

#[tokio::test]
async fn dropped_transaction_mid_batch_leaves_no_gap() {
    let db = TestDb::new("drop", 4).await;
    let alloc = PgAllocator::new(db.pool.clone());
    let scope = Scope::parcels(sub(5), gb());
    alloc.allocate(scope, 10).await.unwrap();
    {
        let mut tx = db.pool.begin().await.unwrap();
        let run = PgAllocator::allocate_in(&mut tx, scope, 100).await.unwrap();
        assert_eq!((run.first, run.last), (11, 110));
        // Dropped without commit: rolled back.
    }
    assert_eq!(counter(&db.pool, scope).await, Some(10));
    let next = alloc.allocate(scope, 5).await.unwrap();
    assert_eq!((next.first, next.last), (11, 15));
    assert_dense(&stored_numbers(&db.pool, scope).await, 15, "after drop");
    db.drop_db().await;
}

#[tokio::test]
async fn killed_connection_mid_batch_leaves_no_gap() {
    let db = TestDb::new("kill", 4).await;
    let alloc = PgAllocator::new(db.pool.clone());
    let parcel = alloc.next_parcel(sub(6), gb()).await.unwrap();
    let building = alloc.next_building(parcel).await.unwrap();
    let scope = Scope::households(building);
    alloc.allocate(scope, 7).await.unwrap();

    let mut tx = db.pool.begin().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *tx).await.unwrap();
    let run = PgAllocator::allocate_in(&mut tx, scope, 40).await.unwrap();
    assert_eq!((run.first, run.last), (8, 47));
    // The batch's codes are written but not committed; kill its backend.
    let killer = db.other_pool(1).await;
    let killed: bool =
        sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(&killer).await.unwrap();
    assert!(killed);
    assert!(tx.commit().await.is_err(), "commit on a killed connection must fail");

    assert_eq!(counter(&killer, scope).await, Some(7));
    assert_dense(&stored_numbers(&killer, scope).await, 7, "after kill");
    let next = alloc.next_households(building, 3).await.unwrap();
    assert_eq!(next.iter().map(|u| u.household_no().unwrap()).collect::<Vec<_>>(), vec![8, 9, 10]);
    killer.close().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_killed_under_load_leave_no_gap_and_no_duplicate() {
    let db = TestDb::new("killload", 2).await;
    let url = alloc_common::database_url();
    let opts =
        url.parse::<sqlx::postgres::PgConnectOptions>().unwrap().database(&db.name).application_name("uc_victim");
    let victims = PgPoolOptions::new().max_connections(TASKS).connect_with(opts).await.unwrap();
    let alloc = Arc::new(PgAllocator::new(victims.clone()));
    let scope = Scope::parcels(sub(7), gb());
    let done = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicU32::new(0));

    let killer = {
        let (pool, done, kills, name) = (db.pool.clone(), done.clone(), kills.clone(), db.name.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity \
                     WHERE datname = $1 AND application_name = 'uc_victim' AND state <> 'idle' LIMIT 1) t WHERE ok",
                )
                .bind(&name)
                .fetch_one(&pool)
                .await
                .unwrap();
                kills.fetch_add(u32::try_from(n).unwrap(), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let alloc = alloc.clone();
        handles.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (Vec::new(), 0u32);
            for i in 0..150u32 {
                match alloc.allocate(scope, 1 + (t + i) % 20).await {
                    Ok(run) => ok.extend(run.numbers()),
                    Err(AllocError::Database { .. }) => failed += 1,
                    Err(e) => panic!("unexpected error {e}"),
                }
            }
            (ok, failed)
        }));
    }
    let (mut returned, mut failed) = (Vec::new(), 0);
    for h in handles {
        let (ok, f) = h.await.unwrap();
        returned.extend(ok);
        failed += f;
    }
    done.store(true, Ordering::SeqCst);
    killer.await.unwrap();
    victims.close().await;

    assert!(kills.load(Ordering::SeqCst) > 0, "the test killed no connection");
    assert!(failed > 0, "no allocation failed although connections were killed");
    let stored = stored_numbers(&db.pool, scope).await;
    let n = u32::try_from(stored.len()).unwrap();
    // The database is dense and duplicate-free whatever was killed ...
    assert_dense(&stored, n, "stored after kills");
    assert_eq!(counter(&db.pool, scope).await, Some(i32::try_from(n).unwrap()));
    // ... and holds every allocation reported as successful (a commit whose
    // reply was lost may be stored without having been reported).
    let stored: BTreeSet<u32> = stored.into_iter().collect();
    assert!(returned.iter().all(|x| stored.contains(x)));
    assert_eq!(returned.iter().collect::<BTreeSet<_>>().len(), returned.len());
    let next = PgAllocator::new(db.pool.clone()).allocate(scope, 1).await.unwrap();
    assert_eq!(next.first, n + 1);
    db.drop_db().await;
}

#[tokio::test]
async fn retired_codes_are_never_reissued() {
    let db = TestDb::new("retire", 4).await;
    let alloc = PgAllocator::new(db.pool.clone());
    let parcel = alloc.next_parcel(sub(8), gb()).await.unwrap();
    let building = alloc.next_building(parcel).await.unwrap();
    let units = alloc.next_households(building, 5).await.unwrap();
    for u in [units[4], units[2]] {
        alloc.retire(u.into()).await.unwrap();
        assert_eq!(alloc.status(u.into()).await.unwrap(), Some(CodeStatus::Historical));
    }
    assert!(matches!(alloc.retire(units[4].into()).await, Err(AllocError::Retired { .. })));
    assert!(matches!(alloc.register(units[4].into()).await, Err(AllocError::Retired { .. })));
    let next = alloc.next_household(building).await.unwrap();
    assert_eq!(next.household_no(), Some(6));
    let record = alloc.record(units[2].into()).await.unwrap().unwrap();
    assert!(record.retired_at.is_some());
    // Retired parents refuse children.
    alloc.retire(building.into()).await.unwrap();
    assert!(matches!(alloc.next_household(building).await, Err(AllocError::Retired { .. })));
    let unknown: BuildingCode = "330106001008GB00001F0099".parse().unwrap();
    assert!(matches!(alloc.next_household(unknown).await, Err(AllocError::UnknownParent { .. })));
    assert!(matches!(alloc.retire(unknown.into()).await, Err(AllocError::UnknownCode { .. })));
    db.drop_db().await;
}

#[tokio::test]
async fn exhaustion_at_99999_parcels_is_all_or_nothing() {
    let db = TestDb::new("exhaust", 4).await;
    let alloc = PgAllocator::new(db.pool.clone());
    let scope = Scope::parcels(sub(9), gb());
    assert_eq!(alloc.allocate(scope, 99_990).await.unwrap().last, 99_990);
    let e = alloc.allocate(scope, 10).await.unwrap_err();
    assert!(matches!(e, AllocError::Exhausted { limit: 99_999, requested: 10, .. }), "{e}");
    assert_eq!(alloc.last_issued(scope).await.unwrap(), 99_990);
    assert_eq!(alloc.allocate(scope, 9).await.unwrap().last, 99_999);
    assert!(matches!(alloc.next_parcel(sub(9), gb()).await, Err(AllocError::Exhausted { .. })));
    assert_eq!(stored_numbers(&db.pool, scope).await.len(), 99_999);
    // Buildings stop at 9999.
    let parcel: ParcelCode = "330106001009GB00001".parse().unwrap();
    let b = Scope::buildings(parcel);
    alloc.allocate(b, 9_999).await.unwrap();
    assert!(matches!(alloc.allocate(b, 1).await, Err(AllocError::Exhausted { limit: 9_999, .. })));
    db.drop_db().await;
}

#[tokio::test]
async fn register_continues_numbering_after_imported_codes() {
    let db = TestDb::new("register", 4).await;
    let alloc = PgAllocator::new(db.pool.clone());
    let imported: ParcelCode = "330106001010GB00120".parse().unwrap();
    alloc.register(imported.into()).await.unwrap();
    assert!(matches!(alloc.register(imported.into()).await, Err(AllocError::AlreadyIssued { .. })));
    assert_eq!(alloc.next_parcel(sub(10), gb()).await.unwrap().sequence(), 121);
    let land: AnyCode = "330106001010GB00120W00000000".parse().unwrap();
    alloc.register(land).await.unwrap();
    let b = alloc.next_building(imported).await.unwrap();
    let kids: Vec<AnyCode> = alloc.children(imported.into()).await.unwrap().into_iter().map(|r| r.code).collect();
    assert_eq!(kids, vec![AnyCode::Building(b), land]);
    let orphan: AnyCode = "330106001010GB00999F00010001".parse().unwrap();
    assert!(matches!(alloc.register(orphan).await, Err(AllocError::UnknownParent { .. })));
    db.drop_db().await;
}

#[tokio::test]
async fn migrate_is_idempotent_and_tolerates_other_crates_migrations() {
    let db = TestDb::new("migrate", 2).await;
    // Another crate's migrator recorded its own version in the same database.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'another crate', true, '\\x00', 0)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    unit_code::alloc::migrate(&db.pool).await.unwrap();
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'uc\\_%'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(tables, 4);
    db.drop_db().await;
}
