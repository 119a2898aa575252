//! The tile cache against the real PostGIS: edits made straight in the database
//! reach the cache through the statement triggers and LISTEN/NOTIFY; exactly the
//! tiles they touch are rendered again, the rest stay cached.

use std::time::Duration;

use axum::http::{header, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::db::tiles::{self as tiles_db, TileCoord, TileLayer};
use tile_server::db::MIGRATOR;
use tile_server::AppState;
use tower::ServiceExt;

use crate::common::*;
use crate::tiles::{decode, mercator, text, tile_of};

/// A county no caller has: its notices only mark a point in the notification order.
const SENTINEL: &str = "999999";

/// Waits until every change committed before this call has been applied to the
/// state's tile cache: notifications arrive in commit order, so once a notice
/// sent after them is applied, so are they.
pub(crate) async fn sync_tiles(st: &AppState, pool: &PgPool) {
    let mut events = st.tiles.subscribe();
    sqlx::query("SELECT pg_notify('cadastre_tiles', 'parcels|' || $1 || '|*')")
        .bind(SENTINEL)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("sentinel: {e}"));
    let wait = async {
        loop {
            match events.recv().await {
                Ok(n) if n.county.as_deref() == Some(SENTINEL) => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("tile events closed: {e}"),
            }
        }
    };
    tokio::time::timeout(COHERENCE_DEADLINE, wait)
        .await
        .unwrap_or_else(|_| panic!("no tile notice within {COHERENCE_DEADLINE:?}"));
}

/// Ends the state's listener connection from the database side and waits until
/// the server has noticed (its caches are then bypassed).
pub(crate) async fn kill_listener(st: &AppState, pool: &PgPool) {
    let pid: i32 = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(tile_server::cache_sync::APPLICATION_NAME)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("listener pid: {e}"));
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(pid)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(killed);
    eventually("the server notices the lost listener", || std::future::ready(!st.sync.is_listening())).await;
}

/// A new version of a parcel written the way any SQL client would: close the
/// current one, insert the next (geometry moved by dx metres east, new use).
pub(crate) async fn edit_by_sql(pool: &PgPool, code: &str, dx: f64, yt: &str) {
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let moved: Option<(String,)> = sqlx::query_as(
        "UPDATE parcels SET state = 'historical', valid_to = now()
         WHERE county = left($1, 6) AND zddm = $1 AND state = 'current' RETURNING zddm::text",
    )
    .bind(code)
    .fetch_optional(&mut *tx)
    .await
    .unwrap_or_else(|e| panic!("close version: {e}"));
    assert!(moved.is_some(), "{code} has no current version");
    sqlx::query(
        "INSERT INTO parcels (county, zddm, zl, zdmj, yt, qllx, qlxz, geom)
         SELECT county, zddm, zl, zdmj, $3, qllx, qlxz, ST_Translate(geom, $2, 0) FROM parcels
         WHERE county = left($1, 6) AND zddm = $1 AND state = 'historical' ORDER BY version_id DESC LIMIT 1",
    )
    .bind(code)
    .bind(dx)
    .bind(yt)
    .execute(&mut *tx)
    .await
    .unwrap_or_else(|e| panic!("new version: {e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
}

/// Seeds parcels of OWN through the API: number n at x = 500 000 + offsets[n].
pub async fn seed_parcels(st: &AppState, admin: &str, offsets: &[f64]) {
    for (i, dx) in offsets.iter().enumerate() {
        let r = put(
            st,
            &format!("/api/parcels/{}", zddm(OWN, i as u32 + 1)),
            admin,
            &serde_json::json!({"ZL": format!("测试路{}号", i + 1), "YT": "0701", "QLLX": "4",
                                "geometry": square(500_000.0 + dx, 3_300_000.0, 30.0)}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    }
}

/// (ZDDM, YT) of every parcel in a tile, sorted.
pub(crate) fn parcels_in(bytes: &[u8]) -> Vec<(String, String)> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let mut v: Vec<(String, String)> =
        decode(bytes, "parcels").iter().map(|(p, _)| (text(p, "ZDDM"), text(p, "YT"))).collect();
    v.sort();
    v
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_sql_edit_refreshes_exactly_the_tiles_covering_it(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    // Parcel 1 at the origin, parcel 2 three kilometres east.
    seed_parcels(&st, &admin, &[0.0, 3_000.0]).await;
    let viewer = user_token(&st, "viewer", Role::Surveyor, &[OWN]).await;
    wait_listening(&st).await;
    sync_tiles(&st, &pool).await;
    let near_m = mercator(&pool, 500_015.0, 3_300_015.0).await;
    let far_m = mercator(&pool, 503_015.0, 3_300_015.0).await;
    let near: Vec<String> = (14..=18)
        .map(|z| {
            let (x, y) = tile_of(near_m, z);
            format!("/tiles/parcels/{z}/{x}/{y}.mvt")
        })
        .collect();
    let (fx, fy) = tile_of(far_m, 18);
    let far = format!("/tiles/parcels/18/{fx}/{fy}.mvt");
    assert!(!near.contains(&far));
    for uri in near.iter().chain([&far]) {
        assert_eq!(get(&st, uri, &viewer).await.status, StatusCode::OK, "{uri}");
    }
    let before = st.tiles.stats();
    for uri in near.iter().chain([&far]) {
        get(&st, uri, &viewer).await;
    }
    let warm = st.tiles.stats();
    assert_eq!(warm.hits - before.hits, 6, "every tile was cached: {warm:?}");
    assert_eq!(warm.renders, before.renders);

    edit_by_sql(&pool, &zddm(OWN, 1), 5.0, "0501").await;
    sync_tiles(&st, &pool).await;
    let after_edit = st.tiles.stats();
    for uri in &near {
        let r = get(&st, uri, &viewer).await;
        let parcels = parcels_in(&r.bytes);
        assert!(parcels.contains(&(zddm(OWN, 1), "0501".to_owned())), "{uri} is fresh: {parcels:?}");
    }
    let fresh = st.tiles.stats();
    assert_eq!(fresh.renders - after_edit.renders, 5, "the five covering tiles were rendered again: {fresh:?}");
    assert_eq!(fresh.hits, after_edit.hits, "none of them came from the cache");
    let r = get(&st, &far, &viewer).await;
    assert_eq!(parcels_in(&r.bytes), vec![(zddm(OWN, 2), "0701".to_owned())]);
    assert_eq!(st.tiles.stats().hits - fresh.hits, 1, "the far tile is still a cache hit");
    assert!(st.tiles.stats().dropped >= 5);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn cache_keys_are_scoped_by_county(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN, OTHER]).await;
    seed_parcels(&st, &admin, &[0.0]).await;
    // An OTHER parcel right beside it: same z18 tile.
    let r = put(
        &st,
        &format!("/api/parcels/{}", zddm(OTHER, 1)),
        &admin,
        &serde_json::json!({"YT": "0601", "geometry": square(500_032.0, 3_300_000.0, 10.0)}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let own = user_token(&st, "own", Role::Surveyor, &[OWN]).await;
    let both = user_token(&st, "both", Role::Reviewer, &[OTHER, OWN]).await;
    wait_listening(&st).await;
    sync_tiles(&st, &pool).await;
    let (x, y) = tile_of(mercator(&pool, 500_030.0, 3_300_015.0).await, 18);
    let uri = format!("/tiles/parcels/18/{x}/{y}.mvt");
    let two = parcels_in(&get(&st, &uri, &both).await.bytes);
    assert_eq!(two.len(), 2, "{two:?}");
    // The one-county caller never gets the two-county entry.
    let one = parcels_in(&get(&st, &uri, &own).await.bytes);
    assert_eq!(one, vec![(zddm(OWN, 1), "0701".to_owned())]);
    let one_again = parcels_in(&get(&st, &uri, &own).await.bytes);
    assert_eq!(one_again, one);
    // An edit in OTHER drops the two-county tile only.
    let hits = st.tiles.stats().hits;
    edit_by_sql(&pool, &zddm(OTHER, 1), 0.0, "0602").await;
    sync_tiles(&st, &pool).await;
    let one_after = parcels_in(&get(&st, &uri, &own).await.bytes);
    assert_eq!(one_after, one);
    assert_eq!(st.tiles.stats().hits, hits + 1, "the OWN-only tile stayed cached");
    let two_after = parcels_in(&get(&st, &uri, &both).await.bytes);
    assert!(two_after.contains(&(zddm(OTHER, 1), "0602".to_owned())), "{two_after:?}");
    assert_eq!(st.tiles.stats().hits, hits + 1, "the two-county tile was rendered again");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn tiles_are_gzipped_tagged_and_revalidated(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_parcels(&st, &admin, &[0.0, 35.0]).await;
    let (x, y) = tile_of(mercator(&pool, 500_015.0, 3_300_015.0).await, 17);
    let uri = format!("/tiles/parcels/17/{x}/{y}.mvt");
    let plain = get(&st, &uri, &admin).await;
    assert_eq!(plain.status, StatusCode::OK);
    let etag = plain.headers.get(header::ETAG).cloned().unwrap_or_else(|| panic!("no ETag"));
    assert_eq!(plain.headers.get(header::CACHE_CONTROL).map(|v| v.as_bytes()), Some(&b"private, no-cache"[..]));
    let mut req = request(Method::GET, &uri, Some(&admin), None);
    req.headers_mut().insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate"));
    let zipped = call_with(&st, req).await;
    assert_eq!(zipped.headers.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()), Some(&b"gzip"[..]));
    assert_eq!(zipped.headers.get(header::ETAG), Some(&etag), "one tag for both codings");
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&zipped.bytes[..]), &mut unzipped)
        .unwrap_or_else(|e| panic!("gunzip: {e}"));
    assert_eq!(unzipped, plain.bytes);
    let mut req = request(Method::GET, &uri, Some(&admin), None);
    req.headers_mut().insert(header::IF_NONE_MATCH, etag.clone());
    let revalidated = call_with(&st, req).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert!(revalidated.bytes.is_empty());
    // After an edit the tag changes, so the browser's copy is replaced.
    wait_listening(&st).await;
    edit_by_sql(&pool, &zddm(OWN, 2), 1.0, "0502").await;
    sync_tiles(&st, &pool).await;
    let mut req = request(Method::GET, &uri, Some(&admin), None);
    req.headers_mut().insert(header::IF_NONE_MATCH, etag.clone());
    let changed = call_with(&st, req).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.headers.get(header::ETAG), Some(&etag));
    // The older address still answers the same tile.
    let old = get(&st, &format!("/api/tiles/parcels/17/{x}/{y}"), &admin).await;
    assert_eq!(old.bytes, changed.bytes);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn tilejson_and_style_describe_the_layers(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_parcels(&st, &admin, &[0.0]).await;
    let mut req = request(Method::GET, "/tiles/parcels.json", Some(&admin), None);
    req.headers_mut().insert(header::HOST, HeaderValue::from_static("gis.example:8080"));
    let tj = call_with(&st, req).await;
    assert_eq!(tj.status, StatusCode::OK, "{:?}", tj.json);
    assert_eq!(tj.json["tilejson"], "3.0.0");
    assert_eq!(tj.json["tiles"][0], "http://gis.example:8080/tiles/parcels/{z}/{x}/{y}.mvt");
    assert_eq!((tj.json["minzoom"].as_u64(), tj.json["maxzoom"].as_u64()), (Some(14), Some(22)));
    let fields = tj.json["vector_layers"][0]["fields"].as_object().cloned().unwrap_or_default();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["QLLX", "YT", "ZDDM", "ZDMJ", "ZT"]);
    let b = &tj.json["bounds"];
    assert!(b[0].as_f64().is_some_and(|w| (119.9..120.1).contains(&w)), "bounds {b}");
    assert_eq!(get(&st, "/tiles/points.json", &admin).await.json["minzoom"], 18);
    assert_eq!(get(&st, "/tiles/households.json", &admin).await.status, StatusCode::NOT_FOUND);
    let style = get(&st, "/tiles/style.json", &admin).await;
    assert_eq!(style.status, StatusCode::OK);
    assert_eq!(style.json["metadata"]["cadastre:crs"]["srid"], 4549);
    assert!(style.json["metadata"]["cadastre:crs"]["proj4"].as_str().is_some_and(|p| p.contains("+proj=tmerc")));
    assert!(style.json.get("glyphs").is_none(), "labels from local fonts: no glyph server");
    let sources = style.json["sources"].as_object().map(|s| s.len());
    assert_eq!(sources, Some(4));
    let client = client_token(&st, "reg", &[OWN], None, &[]).await;
    for uri in ["/tiles/style.json", "/tiles/parcels.json", "/tiles/events", "/tiles/parcels/0/0/0.mvt"] {
        assert_eq!(get(&st, uri, &client).await.status, StatusCode::FORBIDDEN, "{uri}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn consoles_are_pushed_the_boxes_of_an_edit(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN, OTHER]).await;
    seed_parcels(&st, &admin, &[0.0]).await;
    let viewer = user_token(&st, "viewer", Role::Surveyor, &[OWN]).await;
    wait_listening(&st).await;
    let resp = tile_server::app(st.clone())
        .oneshot(request(Method::GET, "/tiles/events", Some(&viewer), None))
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes()), Some(&b"text/event-stream"[..]));
    let mut body = resp.into_body();
    let mut text = String::new();
    let mut next = async || {
        let frame = tokio::time::timeout(COHERENCE_DEADLINE, body.frame()).await;
        let frame = frame.unwrap_or_else(|_| panic!("no event; so far: {text}"));
        let data = frame.and_then(|f| f.ok()).and_then(|f| f.into_data().ok()).unwrap_or_default();
        text.push_str(&String::from_utf8_lossy(&data));
        text.clone()
    };
    assert!(next().await.contains("event: ready"));
    // An OTHER-county edit is not for this caller; the OWN one is, with its boxes.
    let r = put(
        &st,
        &format!("/api/parcels/{}", zddm(OTHER, 1)),
        &admin,
        &serde_json::json!({"YT": "0601", "geometry": square(510_000.0, 3_300_000.0, 10.0)}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    edit_by_sql(&pool, &zddm(OWN, 1), 5.0, "0501").await;
    let seen = loop {
        let t = next().await;
        if t.matches("event: tiles").count() >= 2 {
            break t;
        }
    };
    let events: Vec<serde_json::Value> = seen
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .filter(|v: &serde_json::Value| v.get("layer").is_some())
        .collect();
    assert!(events.iter().all(|e| e["layer"] == "parcels"), "{events:?}");
    let (mx, my) = mercator(&pool, 500_020.0, 3_300_015.0).await;
    let hit = events.iter().flat_map(|e| e["boxes"].as_array().cloned().unwrap_or_default()).any(|b| {
        let v: Vec<f64> = b.as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect()).unwrap_or_default();
        v.len() == 4 && v[0] <= mx && mx <= v[2] && v[1] <= my && my <= v[3]
    });
    assert!(hit, "the boxes hold the edited parcel: {events:?}");
    let far = mercator(&pool, 510_005.0, 3_300_005.0).await;
    assert!(!seen.contains(&format!("{}", far.0.floor() as i64)), "nothing about the other county: {seen}");
}

#[derive(Debug, Clone)]
enum Op {
    /// Request tile i of the watched set.
    Get(usize),
    /// Move parcel j by dx metres east and give it use yt.
    Edit(usize, i32, &'static str),
}

/// For random edits made straight in the database, interleaved with requests,
/// every tile served equals what PostGIS renders at that moment.
#[sqlx::test(migrator = "MIGRATOR")]
async fn random_edits_never_serve_a_stale_tile(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    let offsets = [0.0, 40.0, 80.0, 400.0, 1_200.0, 2_600.0];
    seed_parcels(&st, &admin, &offsets).await;
    let viewer = user_token(&st, "viewer", Role::Surveyor, &[OWN]).await;
    wait_listening(&st).await;
    let mut watched = Vec::new();
    for dx in offsets {
        let m = mercator(&pool, 500_015.0 + dx, 3_300_015.0).await;
        for z in [14u32, 16, 17, 18] {
            let (x, y) = tile_of(m, z);
            let t = TileCoord::new(z, x, y).unwrap_or_else(|e| panic!("{e}"));
            if !watched.contains(&t) {
                watched.push(t);
            }
        }
    }
    let uses = ["0701", "0501", "0601", "0809"];
    let op = proptest::prop_oneof![
        3 => (0usize..64).prop_map(Op::Get),
        1 => (0usize..6, -60i32..=60, 0usize..4).prop_map(move |(j, dx, u)| Op::Edit(j, dx, uses[u])),
    ];
    let ops = proptest::collection::vec(op, 10..30);
    // Deterministic cases (reproducible), without shrinking: the database is the slow part.
    let mut runner = TestRunner::deterministic();
    let scope = vec![OWN.to_owned()];
    for case in 0..6 {
        let ops = ops.new_tree(&mut runner).unwrap_or_else(|e| panic!("{e}")).current();
        for op in &ops {
            match op {
                Op::Get(i) => {
                    let t = watched[i % watched.len()];
                    let r = get(&st, &format!("/tiles/parcels/{}/{}/{}.mvt", t.z, t.x, t.y), &viewer).await;
                    let truth =
                        tiles_db::tile(&pool, TileLayer::Parcels, t, &scope).await.unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(parcels_in(&r.bytes), parcels_in(&truth), "case {case}, stale {t:?} after {ops:?}");
                }
                Op::Edit(j, dx, yt) => {
                    edit_by_sql(&pool, &zddm(OWN, *j as u32 + 1), f64::from(*dx), yt).await;
                    sync_tiles(&st, &pool).await;
                }
            }
        }
    }
    let s = st.tiles.stats();
    assert!(s.hits > 0 && s.dropped > 0, "the cache was exercised: {s:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn without_the_listener_tiles_bypass_the_cache(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_parcels(&st, &admin, &[0.0]).await;
    wait_listening(&st).await;
    let (x, y) = tile_of(mercator(&pool, 500_015.0, 3_300_015.0).await, 18);
    let uri = format!("/tiles/parcels/18/{x}/{y}.mvt");
    get(&st, &uri, &admin).await;
    kill_listener(&st, &pool).await;
    // An edit nobody is told about while the listener is down: still served fresh.
    edit_by_sql(&pool, &zddm(OWN, 1), 0.0, "0901").await;
    let before = st.tiles.stats().bypassed;
    let r = get(&st, &uri, &admin).await;
    if !st.sync.is_listening() {
        assert_eq!(st.tiles.stats().bypassed, before + 1);
    }
    assert_eq!(parcels_in(&r.bytes), vec![(zddm(OWN, 1), "0901".to_owned())]);
    wait_listening(&st).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let r = get(&st, &uri, &admin).await;
    assert_eq!(parcels_in(&r.bytes), vec![(zddm(OWN, 1), "0901".to_owned())], "coming back flushed the cache");
}
