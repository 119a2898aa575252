//! Accepting a submission and the tile cache: the accept's writes reach the cached tiles
//! through the statement triggers and LISTEN/NOTIFY like any edit, so the tiles over the
//! split parcel are rendered again with the new codes, and a tile far from every parcel
//! and building the submission touches stays cached.

use axum::http::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;

use crate::common::*;
use crate::review::{decide, drain, hand_in, known_edits_zip, setup, COUNTY};
use crate::review_sample::SPLIT;
use crate::tile_cache::{parcels_in, sync_tiles};
use crate::tiles::{mercator, tile_of};

/// Store-CRS boxes of every feature the diff names (before and after, parcels and buildings).
fn touched_boxes(diff: &Value) -> Vec<[f64; 4]> {
    let mut out = Vec::new();
    for layer in ["parcels", "buildings"] {
        for kind in ["added", "changed", "removed"] {
            for e in diff[layer][kind].as_array().into_iter().flatten() {
                let b: Vec<f64> = e["bbox"].as_array().into_iter().flatten().filter_map(Value::as_f64).collect();
                assert_eq!(b.len(), 4, "{e}");
                out.push([b[0], b[1], b[2], b[3]]);
            }
        }
    }
    out
}

/// Distance from a point to a box (0 inside).
fn distance(p: (f64, f64), b: &[f64; 4]) -> f64 {
    let dx = (b[0] - p.0).max(p.0 - b[2]).max(0.0);
    let dy = (b[1] - p.1).max(p.1 - b[3]).max(0.0);
    dx.hypot(dy)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_accept_renders_the_tiles_over_the_split_again_and_far_tiles_stay_cached(pool: PgPool) {
    let s = setup(pool.clone(), Settings::default()).await;
    let (zip, _) = known_edits_zip();
    let r = hand_in(&s.st, &s.surveyor, zip).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.json);
    let id = r.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    let d = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.json);
    let boxes = touched_boxes(&d.json["diff"]);
    assert!(boxes.len() >= 8, "{boxes:?}");

    // The split parcel's centre, and the current parcel farthest from everything touched.
    let split: (f64, f64) = sqlx::query_as(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) AS c FROM parcels WHERE zddm = $1 AND state = 'current') s",
    )
    .bind(SPLIT)
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let centres: Vec<(String, f64, f64)> = sqlx::query_as(
        "SELECT zddm::text, ST_X(c), ST_Y(c) FROM (SELECT zddm, ST_PointOnSurface(geom) AS c FROM parcels
         WHERE county = $1 AND state = 'current') s",
    )
    .bind(COUNTY)
    .fetch_all(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let (far_code, far_x, far_y, far_d) = centres
        .iter()
        .map(|(code, x, y)| {
            let d = boxes.iter().map(|b| distance((*x, *y), b)).fold(f64::INFINITY, f64::min);
            (code.clone(), *x, *y, d)
        })
        .fold((String::new(), 0.0, 0.0, 0.0), |best, c| if c.3 > best.3 { c } else { best });
    // A z18 tile here is about 130 m wide: 300 m keeps its buffered extent off every box.
    assert!(far_d > 300.0, "no parcel far enough from the edits: {far_code} at {far_d} m");

    let near_m = mercator(&pool, split.0, split.1).await;
    let far_m = mercator(&pool, far_x, far_y).await;
    let near: Vec<String> = (14..=18)
        .map(|z| {
            let (x, y) = tile_of(near_m, z);
            format!("/tiles/parcels/{z}/{x}/{y}.mvt")
        })
        .collect();
    let (fx, fy) = tile_of(far_m, 18);
    let far = format!("/tiles/parcels/18/{fx}/{fy}.mvt");
    assert!(!near.contains(&far));

    wait_listening(&s.st).await;
    sync_tiles(&s.st, &pool).await;
    for uri in near.iter().chain([&far]) {
        let r = get(&s.st, uri, &s.surveyor).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        if uri != &far {
            assert!(parcels_in(&r.bytes).iter().any(|(code, _)| code == SPLIT), "{uri} shows {SPLIT}");
        }
    }
    let far_before = get(&s.st, &far, &s.surveyor).await;
    let far_parcels = parcels_in(&far_before.bytes);
    assert!(far_parcels.iter().any(|(code, _)| *code == far_code), "{far} shows {far_code}: {far_parcels:?}");
    let before = s.st.tiles.stats();
    for uri in &near {
        get(&s.st, uri, &s.surveyor).await;
    }
    let warm = s.st.tiles.stats();
    assert_eq!(warm.hits - before.hits, 5, "every tile was cached: {warm:?}");
    assert_eq!(warm.renders, before.renders);

    let a = decide(
        &s.st,
        &s.reviewer,
        id,
        json!({"decision": "accept", "note": "同意入库", "override_reason": "拆分线两侧界址点已现场核实"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.json);
    let code =
        |k: &str| a.json["codes"][k].as_str().unwrap_or_else(|| panic!("no code for {k}: {}", a.json)).to_owned();
    let halves = [code("T1"), code("T2")];
    sync_tiles(&s.st, &pool).await;

    let after = s.st.tiles.stats();
    for uri in &near {
        let r = get(&s.st, uri, &s.surveyor).await;
        let parcels = parcels_in(&r.bytes);
        assert!(parcels.iter().all(|(c, _)| c != SPLIT), "{uri} no longer shows {SPLIT}: {parcels:?}");
        assert!(parcels.iter().any(|(c, _)| halves.contains(c)), "{uri} shows the halves {halves:?}: {parcels:?}");
    }
    let fresh = s.st.tiles.stats();
    assert_eq!(fresh.renders - after.renders, 5, "the five tiles over the split were rendered again: {fresh:?}");
    assert_eq!(fresh.hits, after.hits, "none of them came from the cache");
    let far_after = get(&s.st, &far, &s.surveyor).await;
    let end = s.st.tiles.stats();
    assert_eq!(end.hits - fresh.hits, 1, "the far tile is still a cache hit: {end:?}");
    assert_eq!(end.renders, fresh.renders);
    assert_eq!(far_after.bytes, far_before.bytes);
}
