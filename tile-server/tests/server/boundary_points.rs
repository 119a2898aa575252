//! The store's 界址点 follow its parcels: `tile-server import` derives them (a rerun
//! finds nothing to do), an accepted submission replaces those of the parcels it closes
//! and writes those of the parcels it writes.

use serde_json::json;
use sqlx::PgPool;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;

use crate::import::{run_binary, url_of};
use crate::review::{decide, drain, hand_in, known_edits_zip, setup};
use crate::review_sample::{district_dir, MOVED, SPLIT};

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Current parcels without current points, and current points of no current parcel.
async fn mismatches(pool: &PgPool) -> (i64, i64) {
    let lacking = count(
        pool,
        "SELECT count(*) FROM parcels p WHERE p.state = 'current' AND NOT EXISTS
           (SELECT 1 FROM boundary_points b WHERE b.zddm = p.zddm AND b.state = 'current')",
    )
    .await;
    let orphans = count(
        pool,
        "SELECT count(*) FROM boundary_points b WHERE b.state = 'current' AND NOT EXISTS
           (SELECT 1 FROM parcels p WHERE p.zddm = b.zddm AND p.state = 'current')",
    )
    .await;
    (lacking, orphans)
}

/// Vertices of a parcel's current geometry that are not one of its current points, and
/// its current points that are not a vertex.
async fn off_points(pool: &PgPool, zddm: &str) -> (i64, i64) {
    let vertices = "SELECT DISTINCT (ST_DumpPoints(geom)).geom g FROM parcels WHERE zddm = $1 AND state = 'current'";
    let points = "SELECT geom g FROM boundary_points WHERE zddm = $1 AND state = 'current'";
    let q = |s: String| async move {
        sqlx::query_scalar::<_, i64>(&s).bind(zddm).fetch_one(pool).await.unwrap_or_else(|e| panic!("{s}: {e}"))
    };
    let one_way = |a: &str, b: &str| {
        format!("SELECT count(*) FROM ({a}) x WHERE NOT EXISTS (SELECT 1 FROM ({b}) y WHERE ST_Equals(x.g, y.g))")
    };
    (q(one_way(vertices, points)).await, q(one_way(points, vertices)).await)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_import_derives_every_parcel_s_points_once(pool: PgPool) {
    let url = url_of(&pool).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let report = dir.path().join("r.csv").to_string_lossy().into_owned();
    let src = district_dir().to_string_lossy().into_owned();
    let (code, out, err) = run_binary(&url, &[&src, "--rejects", &report]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("界址点"), "{out}");
    let parcels = count(&pool, "SELECT count(*) FROM parcels WHERE state = 'current'").await;
    assert_eq!(parcels, 200);
    assert_eq!(mismatches(&pool).await, (0, 0));
    // J1 once per parcel, numbers unique per parcel (the unique index would refuse a repeat).
    assert_eq!(count(&pool, "SELECT count(*) FROM boundary_points WHERE jzdh = 'J1' AND state = 'current'").await, 200);
    assert_eq!(off_points(&pool, MOVED).await, (0, 0));
    // A rerun finds everything unchanged: no point is written again.
    let rows = count(&pool, "SELECT count(*) FROM boundary_points").await;
    let (code, out, err) = run_binary(&url, &[&src, "--rejects", &report]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(count(&pool, "SELECT count(*) FROM boundary_points").await, rows);
    assert!(out.contains("0 points of 0 parcels"), "{out}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_accept_moves_splits_and_merges_the_points_with_the_parcels(pool: PgPool) {
    let s = setup(pool.clone(), Settings::default()).await;
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    let (parcels, points) = tile_server::db::boundary_points::derive_missing(&mut conn, "330106", 64, |_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    assert_eq!(parcels, 200);
    assert!(points > 800, "{points} points");
    let moved_before = count(&pool, &format!("SELECT count(*) FROM boundary_points WHERE zddm = '{MOVED}'")).await;

    let (zip, _) = known_edits_zip();
    let id = hand_in(&s.st, &s.surveyor, zip).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    let a = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "界址点已现场核实"})).await;
    assert_eq!(a.status, axum::http::StatusCode::OK, "{:?}", a.json);

    // Every current parcel (the new ones too) has its points; the replaced ones have none left.
    assert_eq!(mismatches(&pool).await, (0, 0));
    assert_eq!(
        count(&pool, &format!("SELECT count(*) FROM boundary_points WHERE zddm = '{SPLIT}' AND state = 'current'"))
            .await,
        0
    );
    // The moved corner: the parcel's points are its new vertices; the old ones are history.
    assert_eq!(off_points(&pool, MOVED).await, (0, 0));
    let moved_after = count(&pool, &format!("SELECT count(*) FROM boundary_points WHERE zddm = '{MOVED}'")).await;
    assert!(moved_after > moved_before, "old points kept as history: {moved_before} → {moved_after}");
    let new_code = a.json["codes"]["T1"].as_str().unwrap_or_default().to_owned();
    assert_eq!(off_points(&pool, &new_code).await, (0, 0), "{new_code}");
}
