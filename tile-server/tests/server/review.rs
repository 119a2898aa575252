//! The reviewers' workflow against the real PostGIS: hand in a result package, background
//! check and diff, accept with unit codes and lineage, return and resubmit, refusals.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;
use tile_server::AppState;
use unit_code::alloc::PgAllocator;
use unit_code::lineage::Lineage;

use crate::common::*;
use crate::import::{opts, run_import, tempdir};
use crate::review_sample::*;

pub const COUNTY: &str = "330106";

/// Imports the sample district (layers and building tables) into the store.
/// (`#[sqlx::test]` applies the store's migrations; the unit-code registry's come here.)
pub async fn load_sample(pool: &PgPool) {
    unit_code::alloc::migrate(pool).await.unwrap_or_else(|e| panic!("unit-code migrations: {e}"));
    let s = run_import(pool, &opts(&district_dir(), None)).await;
    assert_eq!(s.rejected(), 0);
    let tables = tile_server::import::tables::import_tables(pool, &district_dir(), "import:test").await;
    assert!(tables.iter().all(|t| !t.has_rejects()), "{tables:?}");
}

pub fn zip_request(uri: &str, token: &str, bytes: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/zip")
        .body(Body::from(bytes))
        .unwrap_or_else(|e| panic!("{e}"))
}

pub async fn hand_in(st: &AppState, token: &str, bytes: Vec<u8>) -> Resp {
    call_with(st, zip_request("/api/submissions", token, bytes)).await
}

/// Runs the queued checks (what the background worker does).
pub async fn drain(st: &AppState) -> usize {
    tile_server::review::worker::drain(&st.db, tile_server::review::limits(&st.settings))
        .await
        .unwrap_or_else(|e| panic!("worker: {e}"))
}

pub async fn decide(st: &AppState, token: &str, id: i64, body: Value) -> Resp {
    call(st, Method::POST, &format!("/api/submissions/{id}/decision"), Some(token), Some(&body)).await
}

pub struct Setup {
    pub st: AppState,
    pub surveyor: String,
    pub reviewer: String,
}

pub async fn setup(pool: PgPool, settings: Settings) -> Setup {
    load_sample(&pool).await;
    let st = state_with(&pool, settings);
    let surveyor = user_token(&st, "surveyor1", Role::Surveyor, &[COUNTY]).await;
    let reviewer = user_token(&st, "reviewer1", Role::Reviewer, &[COUNTY]).await;
    Setup { st, surveyor, reviewer }
}

pub fn known_edits_zip() -> (Vec<u8>, KnownEdits) {
    let dir = tempdir();
    let edits = write_known_edits(dir.path());
    (zip_of(dir.path()), edits)
}

pub fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array().map(|a| a.iter().filter_map(|e| e["id"].as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_known_edits_give_exactly_their_diff_and_accept_with_codes_lineage_and_history(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let (zip, edits) = known_edits_zip();
    let r = hand_in(&s.st, &s.surveyor, zip).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.json);
    assert_eq!((r.json["version"].as_i64(), r.json["status"].as_str()), (Some(1), Some("checking")));
    let id = r.json["submission_id"].as_i64().unwrap_or(-1);

    // Deciding while checking is refused.
    let early = decide(&s.st, &s.reviewer, id, json!({"decision": "accept"})).await;
    assert_eq!((early.status, early.code()), (StatusCode::CONFLICT, "conflict"), "{:?}", early.json);

    assert_eq!(drain(&s.st).await, 1);
    let d = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.json);
    assert_eq!((d.json["status"].as_str(), d.json["stale"].as_bool()), (Some("ready"), Some(false)));
    let diff = &d.json["diff"];
    let p = &diff["parcels"];
    assert_eq!(ids(&p["added"]), set(&["T1", "T2", "T3", "T4"]));
    assert_eq!(ids(&p["removed"]), set(&[SPLIT, MERGED[0], MERGED[1]]));
    assert_eq!(ids(&p["changed"]), set(&[MOVED]));
    let changed = &p["changed"][0];
    assert_eq!(changed["geometry_changed"].as_bool(), Some(true));
    let fields: Vec<&str> = changed["fields"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["ZDMJ"], "only the recorded area follows the moved point");
    assert!(changed["area_after"].as_f64() > changed["area_before"].as_f64());
    let moved = diff["moved_points"].as_array().cloned().unwrap_or_default();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0]["distance_m"].as_f64(), Some(0.3));
    assert_eq!(moved[0]["from"], json!(edits.moved_from));
    assert_eq!(moved[0]["to"], json!(edits.moved_to));
    assert_eq!(moved[0]["parcels"][0]["zddm"].as_str(), Some(MOVED));
    let b = &diff["buildings"];
    let removed_buildings: BTreeSet<String> = edits.rehoused_buildings.iter().cloned().collect();
    assert_eq!(ids(&b["removed"]), removed_buildings);
    assert_eq!(b["added"].as_array().map(Vec::len), Some(removed_buildings.len()));
    assert!(b["changed"].as_array().is_some_and(Vec::is_empty), "{:?}", b["changed"]);
    let kinds: Vec<&str> = diff["replacements"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds, ["分割", "合并"]);
    let split = &diff["replacements"][0];
    let (before, after) = (split["area_before"].as_f64().unwrap_or(0.0), split["area_after"].as_f64().unwrap_or(-1.0));
    assert!((before - after).abs() < 0.02, "a split keeps the area: {before} vs {after}");
    let tables: Vec<&Value> = diff["tables"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|t| {
                    ["added", "changed", "removed"].iter().any(|k| t[k].as_array().is_some_and(|x| !x.is_empty()))
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(tables.len(), 1, "one building table changed");
    let t = tables[0];
    assert_eq!(t["zrzh"].as_str(), Some(TABLE));
    assert_eq!(t["changed"][0]["bdcdyh"].as_str(), Some(TABLE_CHANGED));
    assert_eq!(t["changed"][0]["fields"], json!([{"field": "SCTNJZMJ", "before": "112.14", "after": "113.00"}]));
    assert_eq!(t["removed"][0]["bdcdyh"].as_str(), Some(TABLE_REMOVED));
    assert_eq!((t["added"][0]["bdcdyh"].clone(), t["added"][0]["hh"].as_str()), (Value::Null, Some("0025")));
    assert!(diff["overlaps"].as_array().is_some_and(Vec::is_empty), "{:?}", diff["overlaps"]);
    assert!(diff["problems"].as_array().is_some_and(Vec::is_empty), "{:?}", diff["problems"]);

    // The report is there, JSON and HTML.
    let rep = get(&s.st, &format!("/api/submissions/{id}/report"), &s.reviewer).await;
    assert_eq!(rep.status, StatusCode::OK);
    assert!(rep.json["verdict"].is_string());
    let html = get(&s.st, &format!("/api/submissions/{id}/report.html"), &s.reviewer).await;
    assert!(String::from_utf8_lossy(&html.bytes).contains("<html"), "HTML report");

    // The surveyor cannot decide; the reviewer accepts (with a reason if the check failed).
    let own = decide(&s.st, &s.surveyor, id, json!({"decision": "accept"})).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    let cursor = latest_cursor(&s.st.db).await;
    let mut tiles = sqlx::postgres::PgListener::connect_with(&s.st.db).await.unwrap_or_else(|e| panic!("{e}"));
    tiles.listen("cadastre_tiles").await.unwrap_or_else(|e| panic!("{e}"));
    let a = decide(
        &s.st,
        &s.reviewer,
        id,
        json!({"decision": "accept", "note": "同意入库", "override_reason": "拆分线两侧界址点已现场核实"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.json);
    let codes = &a.json["codes"];
    let code = |k: &str| codes[k].as_str().unwrap_or_else(|| panic!("no code for {k}: {codes}")).to_owned();
    let (c1, c2, c3, c4) = (code("T1"), code("T2"), code("T3"), code("T4"));
    // Dense: the next numbers of each scope after what the store holds.
    let max002: i64 = scalar_i64(&s.st.db, "SELECT max(substr(zddm, 15, 5)::bigint) FROM parcels WHERE zddm LIKE '330106001002GB%' AND zddm NOT IN ($1, $2, $3)", &[&c1, &c2, &c3]).await;
    assert_eq!(c1, format!("330106001002GB{:05}", max002 + 1));
    assert_eq!(c2, format!("330106001002GB{:05}", max002 + 2));
    assert_eq!(c3, format!("330106001002GB{:05}", max002 + 3));
    let max003: i64 = scalar_i64(
        &s.st.db,
        "SELECT max(substr(zddm, 15, 5)::bigint) FROM parcels WHERE zddm LIKE '330106001003GB%' AND zddm <> $1",
        &[&c4],
    )
    .await;
    assert_eq!(c4, format!("330106001003GB{:05}", max003 + 1));
    assert_eq!(code(&format!("{TABLE}#0025")), format!("{TABLE}0025"));
    // Buildings re-coded under their new parcels, numbered from 0001.
    let mut new_buildings: Vec<String> = codes
        .as_object()
        .map(|m| {
            m.iter().filter(|(k, _)| k.starts_with("TB")).filter_map(|(_, v)| v.as_str().map(str::to_owned)).collect()
        })
        .unwrap_or_default();
    new_buildings.sort();
    assert_eq!(new_buildings.len(), removed_buildings.len());
    assert!(new_buildings.iter().any(|b| *b == format!("{c3}F0001")), "{new_buildings:?}");

    // The tile caches hear of exactly the touched boxes (the row triggers of migration 0021),
    // for parcels and buildings.
    let mut layers = BTreeSet::new();
    while layers.len() < 3 {
        let n = tokio::time::timeout(std::time::Duration::from_secs(30), tiles.recv())
            .await
            .unwrap_or_else(|_| panic!("no tile notification; got {layers:?}"))
            .unwrap_or_else(|e| panic!("{e}"));
        let parts: Vec<&str> = n.payload().split('|').collect();
        assert_eq!(parts.get(1).copied(), Some(COUNTY), "{}", n.payload());
        assert_ne!(parts.get(2).copied(), Some("*"), "exact boxes, not the whole county: {}", n.payload());
        layers.insert(parts[0].to_owned());
    }
    // The boundary points follow the parcels (db/boundary_points.rs).
    assert_eq!(layers, set(&["buildings", "parcels", "points"]));

    // Lineage both ways.
    let reg = PgAllocator::new(s.st.db.clone());
    let split_code = SPLIT.parse().unwrap_or_else(|e| panic!("{e}"));
    let down: BTreeSet<String> = reg
        .descendants(split_code)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|s| s.edge.new.to_string())
        .collect();
    assert_eq!(down, set(&[&c1, &c2]));
    let up: BTreeSet<String> = reg
        .ancestors(c3.parse().unwrap_or_else(|e| panic!("{e}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|s| s.edge.old.to_string())
        .collect();
    assert_eq!(up, set(&MERGED));

    // Old versions in history, new ones current.
    for (code, state) in [(SPLIT, "historical"), (MERGED[0], "historical"), (MERGED[1], "historical")] {
        let states: Vec<String> = sqlx::query_scalar("SELECT state FROM parcels WHERE zddm = $1")
            .bind(code)
            .fetch_all(&s.st.db)
            .await
            .unwrap_or_default();
        assert_eq!(states, [state], "{code}");
    }
    let moved_states: Vec<String> = sqlx::query_scalar("SELECT state FROM parcels WHERE zddm = $1 ORDER BY version_id")
        .bind(MOVED)
        .fetch_all(&s.st.db)
        .await
        .unwrap_or_default();
    assert_eq!(moved_states, ["historical", "current"]);
    for c in [&c1, &c2, &c3, &c4] {
        let n: i64 =
            scalar_i64(&s.st.db, "SELECT count(*) FROM parcels WHERE zddm = $1 AND state = 'current'", &[c]).await;
        assert_eq!(n, 1, "{c}");
    }
    let h: Vec<(String, Option<f64>)> = sqlx::query_as("SELECT bdcdyh::text, sctnjzmj::float8 FROM households WHERE zrzh = $1 AND state = 'current' AND bdcdyh IN ($2, $3, $4) ORDER BY bdcdyh")
        .bind(TABLE).bind(TABLE_CHANGED).bind(TABLE_REMOVED).bind(format!("{TABLE}0025"))
        .fetch_all(&s.st.db).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), [TABLE_CHANGED, &format!("{TABLE}0025")]);
    assert_eq!(h[0].1, Some(113.0));

    // The change feed shows them (wait for this test's rows: the feed is cluster-ordered).
    let want = 4 + 3 + 1 + 2 * removed_buildings.len();
    let feed = changes_page(&s.st, &format!("/api/changes?since={cursor}&limit=1000"), &s.reviewer, want).await;
    let seen: BTreeSet<(String, String)> = feed.json["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (c["action"].as_str().unwrap_or("").to_owned(), c["object_key"].as_str().unwrap_or("").to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    for (action, key) in [
        ("parcel.split", SPLIT),
        ("parcel.merge", MERGED[0]),
        ("parcel.create", c1.as_str()),
        ("parcel.create", c4.as_str()),
        ("parcel.update", MOVED),
        ("household.retire", TABLE_REMOVED),
    ] {
        assert!(seen.contains(&(action.to_owned(), key.to_owned())), "{action} {key} not in the feed: {seen:?}");
    }

    // Decided once: a second accept is refused, the surveyor sees the outcome.
    let again = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "x"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let mine = get(&s.st, &format!("/api/submissions/{id}"), &s.surveyor).await;
    assert_eq!(mine.json["status"].as_str(), Some("accepted"));
    let moves: Vec<&str> = mine.json["transitions"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t["to_status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(moves, ["checking", "ready", "accepted"]);
}

pub async fn latest_cursor(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT coalesce(max(audit_id), 0) FROM audit").fetch_one(pool).await.unwrap_or(0)
}

pub async fn scalar_i64(pool: &PgPool, sql: &str, binds: &[&String]) -> i64 {
    let mut q = sqlx::query_scalar::<_, Option<i64>>(sql);
    for b in binds {
        q = q.bind(b.as_str());
    }
    let v: Option<i64> = q.fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    v.unwrap_or(0)
}

/// A package of the unedited sample district (nothing changes; the check passes).
pub fn sample_zip() -> Vec<u8> {
    zip_of(&district_dir())
}

/// The current store, the code counters, the audit length and the households: what a
/// refused or killed accept must leave as it was.
pub async fn snapshot(pool: &PgPool) -> (Vec<String>, Vec<String>, i64, String) {
    let store = crate::import::dump_current(pool).await;
    let counters: Vec<String> = sqlx::query_scalar("SELECT scope || '=' || last_issued FROM uc_counter ORDER BY scope")
        .fetch_all(pool)
        .await
        .unwrap_or_default();
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit").fetch_one(pool).await.unwrap_or(-1);
    let households: String =
        sqlx::query_scalar("SELECT count(*) || ':' || coalesce(max(version_id), 0) FROM households")
            .fetch_one(pool)
            .await
            .unwrap_or_default();
    (store, counters, audit, households)
}
