//! The disk tier of the tile cache (`tile_cache_dir`) against the real PostGIS: a
//! restarted server serves from disk, an edit made while no listener listened is
//! never served from disk, torn or corrupt files are rendered again, and a
//! directory from another store is not trusted.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::config::Settings;
use tile_server::db::tiles::{self as tiles_db, TileCoord, TileLayer};
use tile_server::db::MIGRATOR;
use tile_server::AppState;

use crate::common::*;
use crate::import::tempdir;
use crate::tile_cache::{edit_by_sql, kill_listener, parcels_in, seed_parcels, sync_tiles};
use crate::tiles::{mercator, tile_of};

fn with_dir(dir: &Path) -> Settings {
    Settings { tile_cache_dir: Some(dir.to_owned()), ..Settings::default() }
}

/// A server with the disk tier, listening and caught up.
async fn started(pool: &PgPool, dir: &Path) -> AppState {
    let st = state_with(pool, with_dir(dir));
    wait_listening(&st).await;
    eventually("disk tier caught up", || std::future::ready(st.tiles.disk_ready())).await;
    st
}

/// Records where the disk stands in the change log, as the periodic checkpoint does.
async fn checkpoint(st: &AppState) {
    let done = st.tiles.checkpoint().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(done, "checkpoint recorded");
}

/// Stops a server: drops the state and waits until its listener connection is gone,
/// so nothing it could still hear counts.
async fn stop(pool: &PgPool, st: AppState) {
    drop(st);
    eventually("listener gone", || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
        )
        .bind(tile_server::cache_sync::APPLICATION_NAME)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        n == 0
    })
    .await;
}

/// z14..=18 tiles over parcel 1 (at the origin) and the z18 tile of parcel 2 (3 km east).
async fn near_and_far(pool: &PgPool) -> (Vec<TileCoord>, TileCoord) {
    let near_m = mercator(pool, 500_015.0, 3_300_015.0).await;
    let near = (14..=18)
        .map(|z| {
            let (x, y) = tile_of(near_m, z);
            TileCoord::new(z, x, y).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let (fx, fy) = tile_of(mercator(pool, 503_015.0, 3_300_015.0).await, 18);
    (near, TileCoord::new(18, fx, fy).unwrap_or_else(|e| panic!("{e}")))
}

/// A started server with parcels at `offsets` (metres east of the origin), an admin
/// token, and the tiles of [`near_and_far`].
async fn seeded(pool: &PgPool, dir: &Path, offsets: &[f64]) -> (AppState, String, Vec<TileCoord>, TileCoord) {
    let st = started(pool, dir).await;
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_parcels(&st, &admin, offsets).await;
    sync_tiles(&st, pool).await;
    let (near, far) = near_and_far(pool).await;
    (st, admin, near, far)
}

fn uri(t: TileCoord) -> String {
    format!("/tiles/parcels/{}/{}/{}.mvt", t.z, t.x, t.y)
}

/// What PostGIS renders now for OWN.
async fn truth(pool: &PgPool, t: TileCoord) -> Vec<(String, String)> {
    let bytes = tiles_db::tile(pool, TileLayer::Parcels, t, &[OWN.to_owned()]).await.unwrap_or_else(|e| panic!("{e}"));
    parcels_in(&bytes)
}

/// Every tile file under the directory.
fn tile_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("tiles")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".mvt.gz") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn file_of(dir: &Path, t: TileCoord) -> PathBuf {
    tile_files(dir)
        .into_iter()
        .find(|p| p.ends_with(format!("parcels/{}/{}/{}.mvt.gz", t.z, t.x, t.y)))
        .unwrap_or_else(|| panic!("{t:?} not on disk: {:?}", tile_files(dir)))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_restarted_server_serves_from_disk_but_never_what_changed_while_it_was_down(pool: PgPool) {
    let dir = tempdir();
    let (st, admin, near, far) = seeded(&pool, dir.path(), &[0.0, 3_000.0]).await;
    for t in near.iter().chain([&far]) {
        assert_eq!(get(&st, &uri(*t), &admin).await.status, StatusCode::OK);
    }
    assert_eq!(st.tiles.stats().disk_writes, 6, "{:?}", st.tiles.stats());
    assert_eq!(tile_files(dir.path()).len(), 6);
    checkpoint(&st).await;
    stop(&pool, st).await;

    // Parcel 1 changes while no server listens.
    edit_by_sql(&pool, &zddm(OWN, 1), 5.0, "0501").await;

    let st = started(&pool, dir.path()).await;
    let caught_up = st.tiles.stats();
    assert_eq!(caught_up.disk_dropped, 5, "the change log dropped the near tiles: {caught_up:?}");
    assert_eq!(tile_files(dir.path()), vec![file_of(dir.path(), far)], "and only those");
    let r = get(&st, &uri(far), &admin).await;
    assert_eq!(parcels_in(&r.bytes), truth(&pool, far).await);
    let s = st.tiles.stats();
    assert_eq!((s.disk_hits, s.renders), (1, 0), "the far tile came from disk: {s:?}");
    for t in &near {
        let r = get(&st, &uri(*t), &admin).await;
        let parcels = parcels_in(&r.bytes);
        assert!(parcels.contains(&(zddm(OWN, 1), "0501".to_owned())), "z{} is fresh: {parcels:?}", t.z);
        assert_eq!(parcels, truth(&pool, *t).await);
    }
    let s = st.tiles.stats();
    assert_eq!((s.disk_hits, s.renders), (1, 5), "the near tiles were rendered: {s:?}");
    // Served from memory now; on disk again for the next start.
    get(&st, &uri(far), &admin).await;
    assert_eq!(st.tiles.stats().hits, s.hits + 1);
    assert_eq!(tile_files(dir.path()).len(), 6);

    // While running, an edit deletes its disk tiles as it drops the memory ones.
    edit_by_sql(&pool, &zddm(OWN, 2), 1.0, "0602").await;
    sync_tiles(&st, &pool).await;
    assert!(!tile_files(dir.path()).iter().any(|p| p.ends_with(format!("{}/{}.mvt.gz", far.x, far.y))));
    let r = get(&st, &uri(far), &admin).await;
    assert_eq!(parcels_in(&r.bytes), vec![(zddm(OWN, 2), "0602".to_owned())]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_listener_outage_is_caught_up_before_the_disk_is_read_again(pool: PgPool) {
    let dir = tempdir();
    let (st, admin, near, far) = seeded(&pool, dir.path(), &[0.0, 3_000.0]).await;
    for t in [near[4], far] {
        get(&st, &uri(t), &admin).await;
    }
    checkpoint(&st).await;
    kill_listener(&st, &pool).await;
    assert!(!st.tiles.disk_ready(), "no disk tile while nobody listens");
    edit_by_sql(&pool, &zddm(OWN, 1), 0.0, "0901").await;
    wait_listening(&st).await;
    eventually("disk tier caught up", || std::future::ready(st.tiles.disk_ready())).await;
    let before = st.tiles.stats();
    let r = get(&st, &uri(near[4]), &admin).await;
    assert_eq!(parcels_in(&r.bytes), vec![(zddm(OWN, 1), "0901".to_owned())], "not the disk's old tile");
    get(&st, &uri(far), &admin).await;
    let after = st.tiles.stats();
    assert_eq!(
        (after.renders - before.renders, after.disk_hits - before.disk_hits),
        (1, 1),
        "the edited tile rendered, the far one from disk: {after:?}"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn torn_and_corrupt_disk_tiles_are_rendered_again(pool: PgPool) {
    let dir = tempdir();
    let (st, admin, near, far) = seeded(&pool, dir.path(), &[0.0, 3_000.0]).await;
    let tiles = [near[3], near[4], far];
    for t in tiles {
        get(&st, &uri(t), &admin).await;
    }
    checkpoint(&st).await;
    stop(&pool, st).await;
    // A write cut short by kill -9 (were it not written aside and renamed), a bit
    // flipped on disk, and the temporary file such a kill leaves behind.
    let torn = file_of(dir.path(), tiles[0]);
    let bytes = std::fs::read(&torn).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&torn, &bytes[..bytes.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    let corrupt = file_of(dir.path(), tiles[1]);
    let mut bytes = std::fs::read(&corrupt).unwrap_or_else(|e| panic!("{e}"));
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&corrupt, &bytes).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("tmp").join("4242-0.tmp"), b"half a tile").unwrap_or_else(|e| panic!("{e}"));

    let st = started(&pool, dir.path()).await;
    for t in tiles {
        let r = get(&st, &uri(t), &admin).await;
        assert_eq!(parcels_in(&r.bytes), truth(&pool, t).await, "{t:?}");
    }
    let s = st.tiles.stats();
    assert_eq!((s.disk_rejected, s.renders, s.disk_hits), (2, 2, 1), "{s:?}");
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).map(|d| d.count()).ok(), Some(0), "leftovers removed");
    // Rewritten whole: a third start reads all three from disk.
    checkpoint(&st).await;
    stop(&pool, st).await;
    let st = started(&pool, dir.path()).await;
    for t in tiles {
        get(&st, &uri(t), &admin).await;
    }
    let s = st.tiles.stats();
    assert_eq!((s.disk_hits, s.renders, s.disk_rejected), (3, 0, 0), "{s:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_directory_without_a_valid_record_of_this_store_is_emptied(pool: PgPool) {
    let dir = tempdir();
    let (st, admin, near, _) = seeded(&pool, dir.path(), &[0.0]).await;
    get(&st, &uri(near[4]), &admin).await;
    checkpoint(&st).await;
    stop(&pool, st).await;
    let state = dir.path().join("state.json");
    let text = std::fs::read_to_string(&state).unwrap_or_else(|e| panic!("{e}"));
    let mut record: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        ("store", serde_json::json!("00000000-0000-0000-0000-000000000000")),
        ("saved_at", serde_json::json!(0)),
        ("snapshot", serde_json::json!("1:1:1;")),
    ];
    for (field, value) in cases {
        let mut bad = record.clone();
        bad[field] = value;
        std::fs::write(&state, bad.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let st = started(&pool, dir.path()).await;
        get(&st, &uri(near[4]), &admin).await;
        let s = st.tiles.stats();
        assert_eq!((s.disk_hits, s.renders), (0, 1), "{field}: {s:?}");
        checkpoint(&st).await;
        record = serde_json::from_str(&std::fs::read_to_string(&state).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        stop(&pool, st).await;
    }
    // The record restored: trusted again.
    std::fs::write(&state, record.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let st = started(&pool, dir.path()).await;
    get(&st, &uri(near[4]), &admin).await;
    assert_eq!(st.tiles.stats().disk_hits, 1, "{:?}", st.tiles.stats());
    stop(&pool, st).await;
    std::fs::remove_file(&state).unwrap_or_else(|e| panic!("{e}"));
    let st = started(&pool, dir.path()).await;
    get(&st, &uri(near[4]), &admin).await;
    assert_eq!(st.tiles.stats().disk_hits, 0, "no record, no trust");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_application_role_runs_the_disk_tier_and_its_writes_are_logged(pool: PgPool) {
    let dir = tempdir();
    let owner = state(&pool);
    let admin = user_token(&owner, "boss", Role::Admin, &[OWN]).await;
    seed_parcels(&owner, &admin, &[0.0, 3_000.0]).await;
    // The production serving role: no DELETE anywhere, SELECT on the log and the status.
    let app = app_role_pool(&pool, 4).await;
    let st = started(&app, dir.path()).await;
    let (near, far) = near_and_far(&pool).await;
    let r = get(&st, &uri(near[4]), &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    checkpoint(&st).await;
    // A write by the application role is logged through the SECURITY DEFINER function.
    let logged = || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tile_changes").fetch_one(&pool).await.unwrap_or(-1);
        n
    };
    let before = logged().await;
    sqlx::query("UPDATE parcels SET yt = '0502' WHERE zddm = $1 AND state = 'current'")
        .bind(zddm(OWN, 2))
        .execute(&app)
        .await
        .unwrap_or_else(|e| panic!("update as the application role: {e}"));
    assert_eq!(logged().await, before + 1);
    let pruned: i64 = sqlx::query_scalar("SELECT tile_changes_prune()")
        .fetch_one(&app)
        .await
        .unwrap_or_else(|e| panic!("prune as the application role: {e}"));
    assert_eq!(pruned, 0, "nothing is older than a week");
    sync_tiles(&st, &pool).await;
    let r = get(&st, &uri(far), &admin).await;
    assert_eq!(parcels_in(&r.bytes), vec![(zddm(OWN, 2), "0502".to_owned())]);
}
