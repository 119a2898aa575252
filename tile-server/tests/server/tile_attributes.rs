//! What a tile's features carry (issue #12: "codes, use, area, status; never owner
//! data"): the exact attribute keys of every layer, decoded from real tiles, and the
//! status `ZT` following a submission from waiting for review to returned.

use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;
use mvt_reader::feature::Value as MvtValue;
use serde_json::json;
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::config::Settings;
use tile_server::db::tiles::TileLayer;
use tile_server::db::MIGRATOR;

use crate::common::*;
use crate::review::{decide, drain, hand_in, known_edits_zip, setup};
use crate::review_sample::{MERGED, MOVED, SPLIT, TABLE};
use crate::tile_cache::sync_tiles;
use crate::tiles::{decode, mercator, text, tile_of};

/// Keys that would carry owner data or an address: never in a tile.
const FORBIDDEN: [&str; 8] = ["QLR", "QLRMC", "ZJH", "ZJHM", "QLR_ENC", "ZJH_ENC", "ZL", "DH"];

/// The keys of every feature of a tile, each feature's set sorted.
fn key_sets(bytes: &[u8], layer: &str) -> Vec<Vec<String>> {
    decode(bytes, layer)
        .into_iter()
        .map(|(p, _)| {
            let mut k: Vec<String> = p.into_keys().collect();
            k.sort();
            k
        })
        .collect()
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    v.sort();
    v
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_layer_carries_exactly_its_documented_keys_and_no_owner_data(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    // Every attribute filled (MVT leaves NULL attributes out), owners included.
    let b = put(
        &st,
        &format!("/api/buildings/{}", zrzh(OWN)),
        &admin,
        &json!({"JZWMC": "1号楼", "DSCS": 2, "FWJG": "2", "GHYT": "10", "YCJZMJ": 820.5, "SCJZMJ": 812.25,
                "geometry": square(500_005.0, 3_300_005.0, 20.0)}),
    )
    .await;
    assert_eq!(b.status, StatusCode::OK, "{:?}", b.json);
    sqlx::query(
        "INSERT INTO sub_districts (county, djzqdm, djzqmc, geom)
         VALUES ($1, $1 || '001001', '一子区', ST_Multi(ST_MakeEnvelope(499000, 3299000, 501000, 3301000, 4549)))",
    )
    .bind(OWN)
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(
        "INSERT INTO boundary_points (county, zddm, jzdh, jblx, geom)
         VALUES ($1, $2, 'J1', '3', ST_SetSRID(ST_MakePoint(500020, 3300020), 4549))",
    )
    .bind(OWN)
    .bind(zddm(OWN, 1))
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let centre = mercator(&pool, 500_020.0, 3_300_020.0).await;
    let want = [
        (TileLayer::SubDistricts, 12, vec!["DJZQDM", "DJZQMC"]),
        (TileLayer::Parcels, 18, vec!["QLLX", "YT", "ZDDM", "ZDMJ", "ZT"]),
        (TileLayer::Buildings, 18, vec!["DSCS", "FWJG", "GHYT", "JZWMC", "SCJZMJ", "YCJZMJ", "ZDDM", "ZRZH", "ZT"]),
        (TileLayer::BoundaryPoints, 18, vec!["JBLX", "JZDH", "ZDDM"]),
    ];
    for (layer, z, keys) in want {
        let (x, y) = tile_of(centre, z);
        let r = get(&st, &format!("/tiles/{}/{z}/{x}/{y}.mvt", layer.name()), &admin).await;
        assert_eq!(r.status, StatusCode::OK, "{layer:?}");
        let sets = key_sets(&r.bytes, layer.name());
        assert!(!sets.is_empty(), "{layer:?}: no feature");
        for set in &sets {
            assert_eq!(set, &sorted(&keys), "{layer:?}");
            for bad in FORBIDDEN {
                assert!(!set.iter().any(|k| k.eq_ignore_ascii_case(bad)), "{layer:?} carries {bad}");
            }
        }
        // TileJSON documents exactly these fields.
        let documented: Vec<&str> = layer.fields().iter().map(|(k, _)| *k).collect();
        assert_eq!(sorted(&documented), sorted(&keys), "{layer:?} TileJSON fields");
        let tj = get(&st, &format!("/tiles/{}.json", layer.name()), &admin).await;
        let fields = tj.json["vector_layers"][0]["fields"].as_object().cloned().unwrap_or_default();
        assert_eq!(fields.keys().cloned().collect::<Vec<_>>(), sorted(&keys), "{layer:?} /tiles/*.json");
    }
    // The values, for the ones added for styling.
    let (x, y) = tile_of(centre, 18);
    let r = get(&st, &format!("/tiles/buildings/18/{x}/{y}.mvt"), &admin).await;
    let (props, _) = decode(&r.bytes, "buildings").into_iter().next().unwrap_or_else(|| panic!("no building"));
    assert_eq!((text(&props, "GHYT"), text(&props, "ZT")), ("10".to_owned(), "current".to_owned()));
    let area = |k: &str| match props.get(k) {
        Some(MvtValue::Double(a)) => *a,
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!((area("SCJZMJ"), area("YCJZMJ")), (812.25, 820.5));
    // The console's style draws the status.
    let style = get(&st, "/tiles/style.json", &admin).await;
    let uses_status = |id: &str| {
        style.json["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| l["id"] == id && l.to_string().contains(r#"["get","ZT"]"#))
    };
    assert!(uses_status("parcels-review") && uses_status("buildings-fill"), "{}", style.json);
    // The GeoJSON layer of the console carries the same attributes.
    let geo = get(&st, &format!("/api/map/parcels?county={OWN}"), &admin).await;
    assert_eq!(geo.json["features"][0]["properties"]["ZT"], "current", "{:?}", geo.json);
}

/// The z18 tile URI of a layer over a store point.
async fn uri_at(pool: &PgPool, layer: &str, (x, y): (f64, f64)) -> String {
    let (tx, ty) = tile_of(mercator(pool, x, y).await, 18);
    format!("/tiles/{layer}/18/{tx}/{ty}.mvt")
}

/// ZT of each feature of a tile, by code.
async fn statuses(st: &tile_server::AppState, token: &str, uri: &str, code_key: &str) -> HashMap<String, String> {
    let r = get(st, uri, token).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}");
    let layer = uri.split('/').nth(2).unwrap_or_default();
    decode(&r.bytes, layer).into_iter().map(|(p, _)| (text(&p, code_key), text(&p, "ZT"))).collect()
}

/// A point inside the current feature `code` of `table` (store CRS).
async fn inside(pool: &PgPool, table: &str, key: &str, code: &str) -> (f64, f64) {
    sqlx::query_as(&format!(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM {table}
         WHERE {key} = $1 AND state = 'current') s"
    ))
    .bind(code)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{code}: {e}"))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn features_a_waiting_submission_would_change_are_under_review_until_it_is_returned(pool: PgPool) {
    let s = setup(pool.clone(), Settings::default()).await;
    wait_listening(&s.st).await;
    let touched = [SPLIT, MERGED[0], MERGED[1], MOVED];
    // (tile URI, code key, code expected in it)
    let mut watched: Vec<(String, &str, &str)> = Vec::new();
    for code in touched {
        let p = inside(&pool, "parcels", "zddm", code).await;
        watched.push((uri_at(&pool, "parcels", p).await, "ZDDM", code));
    }
    let table_at = inside(&pool, "buildings", "zrzh", TABLE).await;
    watched.push((uri_at(&pool, "buildings", table_at).await, "ZRZH", TABLE));
    let mut uris: Vec<String> = watched.iter().map(|(u, _, _)| u.clone()).collect();
    uris.sort();
    uris.dedup();
    let status_of = async |wanted: &str| {
        let mut others = Vec::new();
        for (uri, key, code) in &watched {
            let st = statuses(&s.st, &s.surveyor, uri, key).await;
            assert_eq!(st.get(*code).map(String::as_str), Some(wanted), "{code} in {uri}: {st:?}");
            others.extend(st.into_iter().filter(|(c, _)| !touched.contains(&c.as_str()) && c != TABLE));
        }
        others
    };
    // Before any submission: everything current, and the tiles cached.
    status_of("current").await;
    let cached = s.st.tiles.stats();
    status_of("current").await;
    let warm = s.st.tiles.stats();
    assert_eq!((warm.renders, warm.hits - cached.hits), (cached.renders, watched.len() as u64), "{warm:?}");

    let r = hand_in(&s.st, &s.surveyor, known_edits_zip().0).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.json);
    let id = r.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    sync_tiles(&s.st, &pool).await;
    let listed: Vec<String> =
        sqlx::query_scalar("SELECT code FROM features_under_review WHERE layer = 'parcels' AND submission_id = $1")
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let listed: BTreeSet<String> = listed.into_iter().collect();
    assert!(touched.iter().all(|c| listed.contains(*c)), "{listed:?}");
    let before = s.st.tiles.stats();
    let others = status_of("review").await;
    let after = s.st.tiles.stats();
    assert_eq!(after.renders - before.renders, uris.len() as u64, "every watched tile was dropped: {after:?}");
    assert!(
        others.iter().any(|(c, z)| !listed.contains(c) && z == "current"),
        "parcels the package leaves alone stay current: {others:?}"
    );

    // Returned: the same tiles are rendered again, current.
    let d = decide(&s.st, &s.reviewer, id, json!({"decision": "return", "note": "补测"})).await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.json);
    sync_tiles(&s.st, &pool).await;
    let before = s.st.tiles.stats();
    let others = status_of("current").await;
    let after = s.st.tiles.stats();
    assert_eq!(after.renders - before.renders, uris.len() as u64, "returning dropped the tiles: {after:?}");
    assert!(others.iter().all(|(_, z)| z == "current"), "{others:?}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM features_under_review")
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(left, 0);
}
