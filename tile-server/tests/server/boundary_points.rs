//! The store's 界址点 follow its parcels: `tile-server import` derives them (a rerun
//! finds nothing to do), an accepted submission replaces those of the parcels it closes
//! and writes those of the parcels it writes; a parcel whose new version keeps its shape
//! keeps its points.

use serde_json::json;
use sqlx::PgPool;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;

use crate::import::{run_binary, url_of};
use crate::review::{decide, drain, hand_in, known_edits_zip, setup};
use crate::review_sample::{district_dir, zip_of, MOVED, SPLIT};

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
    // The pass analysed the table it grew, so later batches are planned on its real size
    // (a 1,000,000-parcel import spent most of its time scanning a table believed empty).
    let planned: f32 =
        sqlx::query_scalar("SELECT reltuples::real FROM pg_class WHERE oid = 'boundary_points'::regclass")
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(planned >= 500.0, "the planner's row estimate: {planned}");
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

/// The sample district as a 变更 package in which the addresses (ZL) of `renamed` change and
/// `MOVED` loses 0.30 m on one corner of its own.
fn address_change_zip(renamed: &[&str]) -> Vec<u8> {
    use cadastre_core::io::{load_submission, write_shapefiles, LoadOptions, TextEncoding};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut sub = load_submission(&district_dir(), &LoadOptions::default()).unwrap_or_else(|e| panic!("sample: {e}"));
    for p in sub.parcels.iter_mut().filter(|p| renamed.contains(&p.zddm.as_str())) {
        p.attributes.zl = Some(format!("{}（门牌更正）", p.attributes.zl.clone().unwrap_or_default()));
    }
    let moved = sub.parcels.iter_mut().find(|p| p.zddm == MOVED).unwrap_or_else(|| panic!("{MOVED}"));
    // The west-most corner: the sample's 003 block has no neighbour west of it.
    moved.geometry.0[0].exterior_mut(|r| {
        let west = r.0.iter().map(|c| c.x).fold(f64::MAX, f64::min);
        for c in r.0.iter_mut().filter(|c| c.x == west) {
            c.x = ((c.x - 0.3) * 1000.0).round() / 1000.0;
        }
    });
    write_shapefiles(&sub, dir.path(), TextEncoding::Gbk).unwrap_or_else(|e| panic!("{e}"));
    let tables = dir.path().join("buildings");
    std::fs::create_dir_all(&tables).unwrap_or_else(|e| panic!("{e}"));
    for e in std::fs::read_dir(district_dir().join("buildings")).unwrap_or_else(|e| panic!("{e}")).flatten() {
        std::fs::copy(e.path(), tables.join(e.file_name())).unwrap_or_else(|e| panic!("{e}"));
    }
    let manifest = "county = \"330106\"\nproject = \"门牌更正\"\nsurvey_firm = \"杭州示例测绘有限公司\"\n\
                    business_kind = \"变更\"\n";
    std::fs::write(dir.path().join("manifest.toml"), manifest).unwrap_or_else(|e| panic!("{e}"));
    zip_of(dir.path())
}

/// The version ids of a parcel's current points, in order.
async fn point_versions(pool: &PgPool, zddm: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT version_id FROM boundary_points WHERE zddm = $1 AND state = 'current' ORDER BY version_id",
    )
    .bind(zddm)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_address_only_change_keeps_the_points_and_a_reshaped_parcel_gets_new_ones(pool: PgPool) {
    let s = setup(pool.clone(), Settings::default()).await;
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    tile_server::db::boundary_points::derive_missing(&mut conn, "330106", 64, |_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let renamed: Vec<String> = sqlx::query_scalar(
        "SELECT zddm::text FROM parcels WHERE state = 'current' AND zddm <> $1 ORDER BY zddm LIMIT 3",
    )
    .bind(MOVED)
    .fetch_all(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let renamed: Vec<&str> = renamed.iter().map(String::as_str).collect();
    let mut kept_before = Vec::new();
    for code in &renamed {
        kept_before.push(point_versions(&pool, code).await);
    }
    let moved_before = point_versions(&pool, MOVED).await;
    let rows_before = count(&pool, "SELECT count(*) FROM boundary_points").await;

    let id =
        hand_in(&s.st, &s.surveyor, address_change_zip(&renamed)).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    let a = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "门牌已核实"})).await;
    assert_eq!(a.status, axum::http::StatusCode::OK, "{:?}", a.json);

    // The renamed parcels have new versions with the new address, and the very same point rows.
    for (code, before) in renamed.iter().zip(&kept_before) {
        let zl: String = sqlx::query_scalar("SELECT zl FROM parcels WHERE zddm = $1 AND state = 'current'")
            .bind(code)
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(zl.ends_with("（门牌更正）"), "{code}: {zl}");
        assert_eq!(&point_versions(&pool, code).await, before, "{code} kept its points");
        assert_eq!(off_points(&pool, code).await, (0, 0), "{code}");
    }
    // The reshaped parcel's points were written again, as its new vertices.
    let moved_after = point_versions(&pool, MOVED).await;
    assert!(moved_after.iter().all(|v| !moved_before.contains(v)), "{moved_before:?} → {moved_after:?}");
    assert_eq!(off_points(&pool, MOVED).await, (0, 0));
    let rows_after = count(&pool, "SELECT count(*) FROM boundary_points").await;
    assert_eq!(rows_after - rows_before, moved_after.len() as i64, "only the reshaped parcel's points are new");
    assert_eq!(mismatches(&pool).await, (0, 0));

    // Nothing is left for the importer's pass to derive: the kept points count as current.
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    let again = tile_server::db::boundary_points::derive_missing(&mut conn, "330106", 64, |_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, (0, 0));

    // A parcel reshaped in place by SQL is found stale, and only that one.
    let renamed0 = renamed[0];
    sqlx::query("UPDATE parcels SET geom = ST_Scale(geom, 1.001, 1.001) WHERE zddm = $1 AND state = 'current'")
        .bind(renamed0)
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stale = tile_server::db::boundary_points::stale_parcels(&mut conn, "330106", "", 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .parcels;
    assert_eq!(stale.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), [renamed0]);
    // The importer's pass closes its outdated points and writes the new corners, and only its.
    let before = point_versions(&pool, renamed0).await;
    let (parcels, _) = tile_server::db::boundary_points::derive_missing(&mut conn, "330106", 64, |_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parcels, 1);
    let after = point_versions(&pool, renamed0).await;
    assert!(after.iter().all(|v| !before.contains(v)), "{before:?} → {after:?}");
    assert_eq!(off_points(&pool, renamed0).await, (0, 0));
    assert_eq!(mismatches(&pool).await, (0, 0));
}
