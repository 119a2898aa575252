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

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array().map(|a| a.iter().filter_map(|e| e["id"].as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
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

async fn scalar_i64(pool: &PgPool, sql: &str, binds: &[&String]) -> i64 {
    let mut q = sqlx::query_scalar::<_, Option<i64>>(sql);
    for b in binds {
        q = q.bind(b.as_str());
    }
    let v: Option<i64> = q.fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    v.unwrap_or(0)
}

/// A package of the unedited sample district (nothing changes; the check passes).
fn sample_zip() -> Vec<u8> {
    zip_of(&district_dir())
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_bad_package_gets_its_own_clear_error(pool: PgPool) {
    use std::io::Write;
    let s = setup(pool, Settings::default()).await;
    let good = sample_zip();
    // Rebuild the good package with one change to its entries or manifest.
    type Entries = Vec<(String, Vec<u8>)>;
    let rezip = |edit: &dyn Fn(&mut Entries)| -> Vec<u8> {
        let mut a = zip::ZipArchive::new(std::io::Cursor::new(good.clone())).unwrap_or_else(|e| panic!("{e}"));
        let mut entries: Entries = (0..a.len())
            .map(|i| {
                let mut f = a.by_index(i).unwrap_or_else(|e| panic!("{e}"));
                let mut b = Vec::new();
                std::io::Read::read_to_end(&mut f, &mut b).unwrap_or_else(|e| panic!("{e}"));
                (f.name().map(|n| n.to_string()).unwrap_or_default(), b)
            })
            .collect();
        edit(&mut entries);
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            w.start_file(name, zip::write::SimpleFileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            w.write_all(&bytes).unwrap_or_else(|e| panic!("{e}"));
        }
        w.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
    };
    fn manifest_edit(entries: &mut [(String, Vec<u8>)], f: &dyn Fn(&mut Value)) {
        let m = entries.iter_mut().find(|(n, _)| n == "manifest.json").unwrap_or_else(|| panic!("manifest"));
        let mut v: Value = serde_json::from_slice(&m.1).unwrap_or_default();
        f(&mut v);
        m.1 = v.to_string().into_bytes();
    }
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str, &str)> = vec![
        ("not a zip", b"hello".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "not_zip", "not a readable zip"),
        ("truncated", good[..good.len() / 2].to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "not_zip", "zip"),
        (
            "missing file",
            rezip(&|e| e.retain(|(n, _)| n != "ZD.dbf")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_file",
            "missing file: ZD.dbf",
        ),
        (
            "extra file",
            rezip(&|e| e.push(("run.sh".into(), b"rm -rf /".to_vec()))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "extra_file",
            "extra file: run.sh",
        ),
        (
            "wrong digest",
            rezip(&|e| {
                if let Some(f) = e.iter_mut().find(|(n, _)| n == "ZD.dbf") {
                    f.1[40] ^= 1;
                }
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_digest",
            "wrong digest: ZD.dbf",
        ),
        (
            "unknown version",
            rezip(&|e| manifest_edit(e, &|v| v["format_version"] = json!(9))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_format_version",
            "unknown package format version 9",
        ),
        (
            "zip bomb",
            rezip(&|e| {
                e.push(("bomb.bin".into(), vec![0u8; 16 << 20]));
                let entry = json!({"path": "bomb.bin", "size": 16 << 20, "sha256": "0".repeat(64)});
                let m = e.iter_mut().find(|(n, _)| n == "manifest.json").unwrap_or_else(|| panic!("manifest"));
                let mut v: Value = serde_json::from_slice(&m.1).unwrap_or_default();
                if let Some(files) = v["files"].as_array_mut() {
                    files.push(entry);
                }
                m.1 = v.to_string().into_bytes();
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "zip_bomb",
            "zip bomb",
        ),
        (
            "path escape",
            rezip(&|e| e.push(("../../etc/cron.d/evil".into(), b"* * * * * root sh".to_vec()))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "path_escape",
            "path escapes the package: ../../etc/cron.d/evil",
        ),
        (
            "county outside scope",
            rezip(&|e| manifest_edit(e, &|v| v["county"] = json!("330102"))),
            StatusCode::FORBIDDEN,
            "county_forbidden",
            "county 330102 is outside your scope",
        ),
    ];
    for (what, bytes, status, code, text) in cases {
        let r = hand_in(&s.st, &s.surveyor, bytes).await;
        assert_eq!((r.status, r.code()), (status, code), "{what}: {:?}", r.json);
        let message = r.json["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains(text), "{what}: {message}");
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM submission_versions").fetch_one(&s.st.db).await.unwrap_or(-1);
    assert_eq!(n, 0, "nothing refused was stored");
    // Multipart works as well as a zip body.
    let boundary = "XyZ";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"package\"; filename=\"p.zip\"\r\nContent-Type: application/zip\r\n\r\n").into_bytes();
    body.extend_from_slice(&good);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/submissions")
        .header(header::AUTHORIZATION, format!("Bearer {}", s.surveyor))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = call_with(&s.st, req).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.json);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn return_with_findings_then_a_new_version(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let id = hand_in(&s.st, &s.surveyor, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    drain(&s.st).await;
    // Only a returned submission takes a new version.
    let early =
        call_with(&s.st, zip_request(&format!("/api/submissions/{id}/versions"), &s.surveyor, sample_zip())).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    let findings = json!([{"rule": "area.tolerance", "objects": [MOVED], "message_zh": "面积超限"}]);
    let r =
        decide(&s.st, &s.reviewer, id, json!({"decision": "return", "note": "请核实面积", "findings": findings})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let mine = get(&s.st, &format!("/api/submissions/{id}"), &s.surveyor).await;
    assert_eq!(mine.json["status"].as_str(), Some("returned"));
    assert_eq!(mine.json["versions"][0]["decision_note"].as_str(), Some("请核实面积"));
    assert_eq!(mine.json["versions"][0]["returned_findings"], findings);
    // Another surveyor neither sees it nor resubmits it.
    let other = user_token(&s.st, "surveyor2", Role::Surveyor, &[COUNTY]).await;
    assert_eq!(get(&s.st, &format!("/api/submissions/{id}"), &other).await.status, StatusCode::NOT_FOUND);
    let list = get(&s.st, "/api/submissions", &other).await;
    assert_eq!(list.json["total"].as_i64(), Some(0));
    let v2 = call_with(&s.st, zip_request(&format!("/api/submissions/{id}/versions"), &s.surveyor, sample_zip())).await;
    assert_eq!(v2.status, StatusCode::ACCEPTED, "{:?}", v2.json);
    assert_eq!(v2.json["version"].as_i64(), Some(2));
    drain(&s.st).await;
    let detail = get(&s.st, &format!("/api/submissions/{id}"), &s.reviewer).await;
    let versions: Vec<(i64, &str)> = detail.json["versions"]
        .as_array()
        .map(|a| a.iter().map(|v| (v["version"].as_i64().unwrap_or(0), v["status"].as_str().unwrap_or(""))).collect())
        .unwrap_or_default();
    assert_eq!(versions, [(2, "ready"), (1, "returned")], "every version keeps its decision");
    // Each version keeps its own report; the trail says who moved what, with the note.
    for v in [1, 2] {
        let r = get(&s.st, &format!("/api/submissions/{id}/report?version={v}"), &s.reviewer).await;
        assert_eq!(r.status, StatusCode::OK, "v{v}: {:?}", r.json);
        assert!(r.json["findings"].is_array(), "v{v}: {:?}", r.json);
    }
    let trail: Vec<(i64, String, String, String)> = detail.json["transitions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    let text = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
                    (t["version"].as_i64().unwrap_or(0), text("to_status"), text("actor"), text("note"))
                })
                .collect()
        })
        .unwrap_or_default();
    let returned = trail.iter().find(|t| t.0 == 1 && t.1 == "returned").unwrap_or_else(|| panic!("{trail:?}"));
    assert_eq!((returned.2.as_str(), returned.3.as_str()), ("user:reviewer1", "请核实面积"), "{trail:?}");
    assert!(trail.iter().any(|t| t.0 == 2 && t.1 == "checking" && t.2 == "user:surveyor1"), "{trail:?}");
    // The database refuses a move the state machine does not have, whoever asks.
    let bad =
        sqlx::query("UPDATE submission_versions SET status = 'checking' WHERE submission_id = $1 AND version = 1")
            .bind(id)
            .execute(&s.st.db)
            .await;
    assert!(bad.is_err(), "returned -> checking must be refused");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn nobody_decides_their_own_submission_and_quotas_hold(pool: PgPool) {
    let settings = Settings { submission_open_versions: 2, submission_max_bytes: 400_000, ..Settings::default() };
    let s = setup(pool, settings).await;
    let admin = user_token(&s.st, "admin1", Role::Admin, &[COUNTY]).await;
    let id = hand_in(&s.st, &admin, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    drain(&s.st).await;
    let own = decide(&s.st, &admin, id, json!({"decision": "accept", "override_reason": "我自己的"})).await;
    assert_eq!((own.status, own.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", own.json);
    assert!(own.json["error"]["message"].as_str().is_some_and(|m| m.contains("separation of duties")));
    // The database refuses it too, even if the code forgot.
    let admin_id: i64 = sqlx::query_scalar("SELECT user_id FROM users WHERE username = 'admin1'")
        .fetch_one(&s.st.db)
        .await
        .unwrap_or(-1);
    let bad = sqlx::query("UPDATE submission_versions SET status = 'returned', decided_by = $2, decided_at = now() WHERE submission_id = $1")
        .bind(id).bind(admin_id).execute(&s.st.db).await;
    assert!(bad.is_err());
    // Quotas: two open versions per user, then 429; a package over the size limit is 413.
    assert_eq!(hand_in(&s.st, &admin, sample_zip()).await.status, StatusCode::ACCEPTED);
    let third = hand_in(&s.st, &admin, sample_zip()).await;
    assert_eq!((third.status, third.code()), (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"), "{:?}", third.json);
    let big = hand_in(&s.st, &s.surveyor, vec![0u8; 500_000]).await;
    assert_eq!((big.status, big.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{:?}", big.json);
    // A reviewer of another county cannot see or decide it.
    let far = user_token(&s.st, "reviewer9", Role::Reviewer, &["330102"]).await;
    let r = decide(&s.st, &far, id, json!({"decision": "return"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "county_forbidden"));
    // An importer may neither hand in nor review.
    let importer = user_token(&s.st, "importer1", Role::Importer, &[COUNTY]).await;
    assert_eq!(hand_in(&s.st, &importer, sample_zip()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&s.st, "/api/submissions", &importer).await.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn two_concurrent_accepts_of_overlapping_submissions_one_wins(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let other = user_token(&s.st, "surveyor2", Role::Surveyor, &[COUNTY]).await;
    let reviewer2 = user_token(&s.st, "reviewer2", Role::Reviewer, &[COUNTY]).await;
    let (zip, _) = known_edits_zip();
    let a = hand_in(&s.st, &s.surveyor, zip.clone()).await.json["submission_id"].as_i64().unwrap_or(-1);
    let b = hand_in(&s.st, &other, zip).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 2);
    let body = json!({"decision": "accept", "override_reason": "并发测试"});
    let (ra, rb) = tokio::join!(decide(&s.st, &s.reviewer, a, body.clone()), decide(&s.st, &reviewer2, b, body));
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{:?} / {:?}", ra.json, rb.json);
    let loser = if ra.status == StatusCode::CONFLICT { (a, &ra) } else { (b, &rb) };
    assert!(
        loser.1.json["error"]["message"].as_str().is_some_and(|m| m.contains("store changed")),
        "{:?}",
        loser.1.json
    );
    // The loser is checked again against the new store: its diff now shows the conflict.
    assert_eq!(
        get(&s.st, &format!("/api/submissions/{}", loser.0), &s.reviewer).await.json["status"].as_str(),
        Some("checking")
    );
    drain(&s.st).await;
    let d = get(&s.st, &format!("/api/submissions/{}/diff", loser.0), &s.reviewer).await;
    assert!(
        d.json["diff"]["problems"].as_array().is_some_and(|p| !p.is_empty()),
        "replaced parcels are gone: {:?}",
        d.json["diff"]["problems"]
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM parcels WHERE zddm = $1 AND state = 'current'")
        .bind(SPLIT)
        .fetch_one(&s.st.db)
        .await
        .unwrap_or(-1);
    assert_eq!(n, 0);
    let splits: i64 = sqlx::query_scalar("SELECT count(*) FROM uc_event WHERE kind = 'split'")
        .fetch_one(&s.st.db)
        .await
        .unwrap_or(-1);
    assert_eq!(splits, 1, "exactly one acceptance wrote lineage");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_store_change_after_the_diff_refuses_the_accept_and_recomputes(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let (zip, _) = known_edits_zip();
    let id = hand_in(&s.st, &s.surveyor, zip).await.json["submission_id"].as_i64().unwrap_or(-1);
    drain(&s.st).await;
    // An importer edits a parcel the package replaces.
    let admin = user_token(&s.st, "admin1", Role::Admin, &[COUNTY]).await;
    let p = get(&s.st, &format!("/api/parcels/{SPLIT}"), &admin).await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.json);
    let mut body = json!({"ZL": "改过的坐落", "geometry": p.json["geometry"].clone()});
    for k in ["ZDMJ", "YT", "QLLX", "QLXZ"] {
        body[k] = p.json[k].clone();
    }
    let put_r = put(&s.st, &format!("/api/parcels/{SPLIT}"), &admin, &body).await;
    assert_eq!(put_r.status, StatusCode::OK, "{:?}", put_r.json);
    let stale = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert_eq!((stale.json["stale"].as_bool(), stale.json["status"].as_str()), (Some(true), Some("checking")));
    let refused = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "x"})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    drain(&s.st).await;
    let fresh = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert_eq!((fresh.json["stale"].as_bool(), fresh.json["status"].as_str()), (Some(false), Some("ready")));
    let ok = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "已复核"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json);
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

/// Current households, floors and logical buildings whose building is not current.
async fn orphans(pool: &PgPool) -> i64 {
    let mut n = 0;
    for t in ["households", "floors", "logical_buildings"] {
        let sql = format!(
            "SELECT count(*) FROM {t} x WHERE x.state = 'current' AND NOT EXISTS
                 (SELECT 1 FROM buildings b WHERE b.county = x.county AND b.zrzh = x.zrzh AND b.state = 'current')"
        );
        n += sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    n
}

/// (BDCDYH, MYC, DYH, SHBW, mortgaged) of a building's current households, by code.
async fn households_of(pool: &PgPool, zrzh: &str) -> Vec<(String, String, String, String, bool)> {
    sqlx::query_as(
        "SELECT bdcdyh::text, myc, dyh, shbw, mortgaged FROM households
         WHERE zrzh = $1 AND state = 'current' ORDER BY bdcdyh",
    )
    .bind(zrzh)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn current_floors(pool: &PgPool, zrzh: &str) -> Vec<(i32, String)> {
    sqlx::query_as("SELECT sjc, myc FROM floors WHERE zrzh = $1 AND state = 'current' ORDER BY sjc")
        .bind(zrzh)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn ancestors_of(st: &AppState, code: &str) -> Vec<(String, String)> {
    PgAllocator::new(st.db.clone())
        .ancestors(code.parse().unwrap_or_else(|e| panic!("{code}: {e}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|s| (s.edge.old.to_string(), s.edge.kind.as_str().to_owned()))
        .collect()
}

async fn code_status(pool: &PgPool, code: &str) -> String {
    sqlx::query_scalar("SELECT status FROM uc_unit WHERE code = $1")
        .bind(code)
        .fetch_optional(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| "unregistered".into())
}

/// Hands in the rehoused-building package, checks it and accepts it; the answer.
async fn accept_rehoused(s: &Setup, table: bool) -> (Rehoused, Value) {
    let dir = tempdir();
    let r = write_rehoused(dir.path(), table);
    let id = hand_in(&s.st, &s.surveyor, zip_of(dir.path())).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    let detail = get(&s.st, &format!("/api/submissions/{id}"), &s.reviewer).await;
    assert_eq!(detail.json["status"].as_str(), Some("ready"), "{:?}", detail.json);
    let d = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert!(d.json["diff"]["problems"].as_array().is_some_and(Vec::is_empty), "{:?}", d.json["diff"]["problems"]);
    let removed = ids(&d.json["diff"]["buildings"]["removed"]);
    assert!(removed.contains(REHOUSED_TABLE) && removed.contains(DROPPED_TABLE), "{removed:?}");
    let a = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "楼盘表随迁测试"})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.json);
    (r, a.json)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_retired_building_takes_its_households_and_floors_along_or_ends_them(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let old = households_of(&s.st.db, REHOUSED_TABLE).await;
    let old_floors = current_floors(&s.st.db, REHOUSED_TABLE).await;
    let dropped = households_of(&s.st.db, DROPPED_TABLE).await;
    assert!(old.len() > 3 && !old_floors.is_empty() && !dropped.is_empty());
    // A register field (mortgage) the survey does not own: it must follow the flat.
    sqlx::query("UPDATE households SET mortgaged = true WHERE bdcdyh = $1 AND state = 'current'")
        .bind(&old[1].0)
        .execute(&s.st.db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (r, accepted) = accept_rehoused(&s, false).await;
    let new_b = accepted["codes"][&r.temp[REHOUSED_TABLE]].as_str().unwrap_or_else(|| panic!("{accepted}")).to_owned();
    assert!(new_b.starts_with("330106001001GB") && new_b != REHOUSED_TABLE, "{new_b}");

    // Every household carried over under the new building, numbered densely in the old order.
    let new = households_of(&s.st.db, &new_b).await;
    assert_eq!(new.len(), old.len());
    for (i, (o, n)) in old.iter().zip(&new).enumerate() {
        assert_eq!(n.0, format!("{new_b}{:04}", i + 1));
        assert_eq!((&n.1, &n.2, &n.3), (&o.1, &o.2, &o.3), "{} -> {}", o.0, n.0);
        assert_eq!(n.4, i == 1, "{}: only the mortgaged flat is mortgaged", n.0);
        assert_eq!(accepted["codes"][&o.0].as_str(), Some(n.0.as_str()), "the answer maps old to new");
        assert_eq!(ancestors_of(&s.st, &n.0).await, [(o.0.clone(), "change".to_owned())]);
        assert_eq!(code_status(&s.st.db, &o.0).await, "historical");
    }
    assert_eq!(current_floors(&s.st.db, &new_b).await, old_floors, "floors carried over");
    assert!(ancestors_of(&s.st, &new_b).await.contains(&(REHOUSED_TABLE.to_owned(), "change".to_owned())));

    // The dropped building's households end (灭失), and nothing is left behind either building.
    assert!(households_of(&s.st.db, REHOUSED_TABLE).await.is_empty());
    assert!(current_floors(&s.st.db, REHOUSED_TABLE).await.is_empty());
    assert!(households_of(&s.st.db, DROPPED_TABLE).await.is_empty());
    assert!(current_floors(&s.st.db, DROPPED_TABLE).await.is_empty());
    let retired: BTreeSet<String> = accepted["retired"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    for h in &dropped {
        assert_eq!(code_status(&s.st.db, &h.0).await, "historical", "{}", h.0);
        assert!(retired.contains(&h.0), "{} not in {retired:?}", h.0);
    }
    assert_eq!(orphans(&s.st.db).await, 0, "no current household, floor or logical building without its building");
    let audit: Vec<(String, i64)> = sqlx::query_as(
        "SELECT action, count(*) FROM audit WHERE action IN ('household.recode', 'household.retire') GROUP BY action ORDER BY action",
    )
    .fetch_all(&s.st.db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        audit,
        [("household.recode".to_owned(), old.len() as i64), ("household.retire".to_owned(), dropped.len() as i64)]
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_table_for_a_new_building_takes_the_issued_code_and_continues_the_old_flats(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let old = households_of(&s.st.db, REHOUSED_TABLE).await;
    sqlx::query("UPDATE households SET mortgaged = true WHERE bdcdyh = $1 AND state = 'current'")
        .bind(&old[1].0)
        .execute(&s.st.db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (r, accepted) = accept_rehoused(&s, true).await;
    let temp = &r.temp[REHOUSED_TABLE];
    let new_b = accepted["codes"][temp].as_str().unwrap_or_else(|| panic!("{accepted}")).to_owned();
    assert_eq!(accepted["codes"][format!("{temp}#0001")].as_str(), Some(format!("{new_b}0001").as_str()));
    let renamed = r.renamed_room.clone().unwrap_or_else(|| panic!("no renamed room"));

    // The table is written under the new code, apportioned.
    let new = households_of(&s.st.db, &new_b).await;
    assert_eq!(new.len(), old.len());
    let unapportioned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM households WHERE zrzh = $1 AND state = 'current' AND scftjzmj IS NULL",
    )
    .bind(&new_b)
    .fetch_one(&s.st.db)
    .await
    .unwrap_or(-1);
    assert_eq!(unapportioned, 0);
    // Each flat in the same place continues the old one; the renamed room is a new flat.
    for o in &old {
        let successor = new.iter().find(|n| (&n.1, &n.2, &n.3) == (&o.1, &o.2, &o.3));
        assert_eq!(code_status(&s.st.db, &o.0).await, "historical", "{}", o.0);
        match successor {
            Some(n) => {
                assert_ne!(o.0, renamed);
                assert_eq!(ancestors_of(&s.st, &n.0).await, [(o.0.clone(), "change".to_owned())]);
                assert_eq!(n.4, o.0 == old[1].0, "{}: the mortgage follows the flat", n.0);
            }
            None => assert_eq!(o.0, renamed),
        }
    }
    let fresh: Vec<&String> =
        new.iter().filter(|n| !old.iter().any(|o| (&n.1, &n.2, &n.3) == (&o.1, &o.2, &o.3))).map(|n| &n.0).collect();
    assert_eq!(fresh.len(), 1, "{fresh:?}");
    let created: i64 =
        sqlx::query_scalar("SELECT count(*) FROM uc_event WHERE kind = 'create' AND $1 = ANY(new_codes)")
            .bind(fresh[0])
            .fetch_one(&s.st.db)
            .await
            .unwrap_or(-1);
    assert_eq!(created, 1, "the new flat is created (设立)");
    let ended: i64 =
        sqlx::query_scalar("SELECT count(*) FROM uc_event WHERE kind = 'extinguish' AND $1 = ANY(old_codes)")
            .bind(&renamed)
            .fetch_one(&s.st.db)
            .await
            .unwrap_or(-1);
    assert_eq!(ended, 1, "the flat whose room is gone ends (灭失)");
    assert!(current_floors(&s.st.db, REHOUSED_TABLE).await.is_empty());
    assert!(!current_floors(&s.st.db, &new_b).await.is_empty());
    assert_eq!(orphans(&s.st.db).await, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_table_of_a_retired_building_is_a_diff_problem_not_a_failed_accept(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let dir = tempdir();
    write_rehoused(dir.path(), false);
    // The surveyor kept the old building's table under its old code (and one for a ghost).
    let src = district_dir().join("buildings").join(format!("{REHOUSED_TABLE}.csv"));
    std::fs::copy(&src, dir.path().join("buildings").join(format!("{REHOUSED_TABLE}.csv")))
        .unwrap_or_else(|e| panic!("{e}"));
    let ghost = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{e}"));
    let ghost: String = ghost
        .split("\r\n")
        .map(|l| {
            let mut c: Vec<&str> = l.split(',').collect();
            if c.len() > 7 && c[0] == REHOUSED_TABLE {
                c[0] = "TGHOST";
                c[7] = "";
            }
            c.join(",")
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    std::fs::write(dir.path().join("buildings").join("TGHOST.csv"), ghost).unwrap_or_else(|e| panic!("{e}"));
    let id = hand_in(&s.st, &s.surveyor, zip_of(dir.path())).await.json["submission_id"].as_i64().unwrap_or(-1);
    drain(&s.st).await;
    let d = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert_eq!(d.json["status"].as_str(), Some("ready"), "{:?}", d.json);
    let problems: Vec<String> = d.json["diff"]["problems"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains(REHOUSED_TABLE) && p.contains("retires")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("TGHOST") && p.contains("names no new building")), "{problems:?}");
    let before = snapshot(&s.st.db).await;
    let a = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "x"})).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{:?}", a.json);
    assert!(a.json["error"]["message"].as_str().is_some_and(|m| m.contains("cannot be accepted")), "{:?}", a.json);
    assert_eq!(snapshot(&s.st.db).await, before);
}

async fn verdict_of(st: &AppState, token: &str, id: i64) -> String {
    let rep = get(st, &format!("/api/submissions/{id}/report"), token).await;
    rep.json["verdict"].as_str().unwrap_or_else(|| panic!("{:?}", rep.json)).to_owned()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_failed_check_is_accepted_only_with_a_written_reason(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    // A package whose check passes needs no reason.
    let clean = hand_in(&s.st, &s.surveyor, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    let (zip, _) = known_edits_zip();
    let failing = hand_in(&s.st, &s.surveyor, zip).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 2);
    assert_eq!(verdict_of(&s.st, &s.reviewer, clean).await, "pass");
    let ok = decide(&s.st, &s.reviewer, clean, json!({"decision": "accept", "note": "无变更"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json);

    assert_eq!(verdict_of(&s.st, &s.reviewer, failing).await, "fail");
    let before = snapshot(&s.st.db).await;
    for body in [json!({"decision": "accept"}), json!({"decision": "accept", "override_reason": "  \n "})] {
        let r = decide(&s.st, &s.reviewer, failing, body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "{body}: {:?}", r.json);
        let m = r.json["error"]["message"].as_str().unwrap_or("");
        assert!(m.contains("the check failed") && m.contains("override_reason"), "{m}");
    }
    assert_eq!(snapshot(&s.st.db).await, before, "a refused accept writes nothing");
    let detail = get(&s.st, &format!("/api/submissions/{failing}"), &s.reviewer).await;
    assert_eq!(detail.json["status"].as_str(), Some("ready"));
    let ok =
        decide(&s.st, &s.reviewer, failing, json!({"decision": "accept", "override_reason": "界址点已现场核实"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json);
    let detail = get(&s.st, &format!("/api/submissions/{failing}"), &s.reviewer).await;
    assert_eq!(detail.json["status"].as_str(), Some("accepted"));
    assert_eq!(detail.json["versions"][0]["override_reason"].as_str(), Some("界址点已现场核实"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_overlap_with_a_store_parcel_needs_a_written_reason(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let dir = tempdir();
    write_overlapping(dir.path());
    let id = hand_in(&s.st, &s.surveyor, zip_of(dir.path())).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    let d = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert_eq!(d.json["status"].as_str(), Some("ready"), "{:?}", d.json);
    let overlaps = d.json["diff"]["overlaps"].as_array().cloned().unwrap_or_default();
    assert_eq!(overlaps.len(), 1, "{overlaps:?}");
    assert_eq!(overlaps[0]["package_parcel"].as_str(), Some("T9"));
    assert_eq!(overlaps[0]["store_parcel"].as_str(), Some(OVERLAPPED));
    let area = overlaps[0]["area"].as_f64().unwrap_or(0.0);
    let t9 = d.json["diff"]["parcels"]["added"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["id"] == "T9"))
        .and_then(|e| e["area_after"].as_f64())
        .unwrap_or(-1.0);
    assert!((area - t9).abs() < 0.01, "T9 lies wholly inside {OVERLAPPED}: overlap {area} m², T9 {t9} m²");
    assert!(d.json["diff"]["parcels"]["removed"].as_array().is_some_and(Vec::is_empty), "nothing is replaced");

    let before = snapshot(&s.st.db).await;
    let r = decide(&s.st, &s.reviewer, id, json!({"decision": "accept"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    let m = r.json["error"]["message"].as_str().unwrap_or("");
    assert!(m.contains("1 overlap(s) with store parcels") && m.contains("override_reason"), "{m}");
    assert_eq!(snapshot(&s.st.db).await, before);
    let ok =
        decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "权属已调解，另案处理"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json);
    let code = ok.json["codes"]["T9"].as_str().unwrap_or_else(|| panic!("{:?}", ok.json)).to_owned();
    for c in [code.as_str(), OVERLAPPED] {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM parcels WHERE zddm = $1 AND state = 'current'")
            .bind(c)
            .fetch_one(&s.st.db)
            .await
            .unwrap_or(-1);
        assert_eq!(n, 1, "{c} is current");
    }
}

/// A worker that took `id`'s job and died: its connection (and with it the job's advisory
/// lock) is gone. Waits until the server has let go of the lock.
async fn worker_dies_holding_the_job(pool: &PgPool) {
    use sqlx::Connection as _;
    let (job, conn) = tile_server::db::review_jobs::take(pool, "doomed-worker")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no job to take"));
    let _ = conn.detach().close().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let held: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = x'52455657'::int::oid
               AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .bind(job.job_id)
        .fetch_one(pool)
        .await
        .unwrap_or(1);
        if held == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the dead worker's lock stayed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn job_of(pool: &PgPool, id: i64) -> (String, i32, Option<String>) {
    sqlx::query_as(
        "SELECT state, attempts, last_error FROM review_jobs WHERE submission_id = $1 ORDER BY job_id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn status_of(st: &AppState, token: &str, id: i64) -> (String, Option<String>) {
    let d = get(st, &format!("/api/submissions/{id}"), token).await;
    (d.json["status"].as_str().unwrap_or("").to_owned(), d.json["versions"][0]["failure"].as_str().map(str::to_owned))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_dead_worker_s_check_is_run_again_and_the_third_failure_ends_in_failed(pool: PgPool) {
    let s = setup(pool.clone(), Settings::default()).await;
    // Killed once mid-check: the next worker takes the job again and finishes it.
    let a = hand_in(&s.st, &s.surveyor, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    worker_dies_holding_the_job(&pool).await;
    assert_eq!(status_of(&s.st, &s.reviewer, a).await.0, "checking");
    assert_eq!(drain(&s.st).await, 1);
    assert_eq!(status_of(&s.st, &s.reviewer, a).await.0, "ready");
    assert_eq!(job_of(&pool, a).await, ("done".to_owned(), 2, None));

    // Killed in each of its three attempts: the next worker gives up, the version is failed.
    let b = hand_in(&s.st, &s.surveyor, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    for _ in 0..3 {
        worker_dies_holding_the_job(&pool).await;
    }
    assert_eq!(drain(&s.st).await, 1);
    let (status, failure) = status_of(&s.st, &s.reviewer, b).await;
    assert_eq!(status, "failed");
    assert!(failure.as_deref().is_some_and(|f| f.contains("did not finish in 3 attempts")), "{failure:?}");
    assert_eq!(job_of(&pool, b).await.0, "failed");

    // A check that fails by itself (here: the county's stored QC rules are unreadable) is
    // retried, and its third failure ends in `failed` with the reason.
    sqlx::query("INSERT INTO qc_config (county, rules_toml) VALUES ($1, 'rules = [unclosed')")
        .bind(COUNTY)
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let c = hand_in(&s.st, &s.surveyor, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    for attempt in 1..=3 {
        assert_eq!(drain(&s.st).await, 1, "attempt {attempt}");
        let (state, attempts, error) = job_of(&pool, c).await;
        assert_eq!(attempts, attempt);
        assert!(error.as_deref().is_some_and(|e| e.contains("stored QC rules of 330106")), "{error:?}");
        let status = status_of(&s.st, &s.reviewer, c).await;
        if attempt < 3 {
            assert_eq!((state.as_str(), status.0.as_str()), ("queued", "checking"), "attempt {attempt}");
            // Due again now rather than after the back-off.
            sqlx::query("UPDATE review_jobs SET run_after = now() WHERE submission_id = $1")
                .bind(c)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        } else {
            assert_eq!((state.as_str(), status.0.as_str()), ("failed", "failed"));
            assert!(status.1.as_deref().is_some_and(|f| f.contains("failed 3 times")), "{:?}", status.1);
        }
    }
    let stuck: i64 = sqlx::query_scalar("SELECT count(*) FROM submission_versions WHERE status = 'checking'")
        .fetch_one(&pool)
        .await
        .unwrap_or(-1);
    assert_eq!(stuck, 0, "nothing stays checking");
    // A failed submission takes a new version, which is checked with the repaired rules.
    sqlx::query("DELETE FROM qc_config WHERE county = $1")
        .bind(COUNTY)
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let v2 = call_with(&s.st, zip_request(&format!("/api/submissions/{c}/versions"), &s.surveyor, sample_zip())).await;
    assert_eq!(v2.status, StatusCode::ACCEPTED, "{:?}", v2.json);
    assert_eq!(drain(&s.st).await, 1);
    assert_eq!(status_of(&s.st, &s.reviewer, c).await.0, "ready");
}
