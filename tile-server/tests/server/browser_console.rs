//! The web console's map controls and building table in headless Chromium (see
//! browser.rs for the set-up): the layers panel, the scale bar, search by code, no stale
//! tile after an edit made while its area was out of view, and the building table as a
//! grid of floors × stair units and rooms.

use std::time::Duration;

use axum::http::StatusCode;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::db::MIGRATOR;

use crate::browser::*;
use crate::common::*;
use crate::tiles::{mercator, tile_of};

/// Parcel fill of use 11 (water, #a8d4f0) at opacity 0.85 over the background #f7f6f2.
const WATER: [u8; 3] = [180, 217, 240];

/// Logs in on the console page and waits for the map.
async fn console_login(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/")).await.unwrap_or_else(|e| panic!("goto: {e}"));
    log_in(c, user, PASSWORD).await;
    wait_for_attr(c, "#map", "data-ready", |v| v == "1").await;
}

/// The map's centre, longitude and latitude.
async fn centre(c: &Client) -> (f64, f64) {
    let v: Value = c
        .execute("const p = document.getElementById('map').cadastreMap.getCenter(); return [p.lng, p.lat];", vec![])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (v[0].as_f64().unwrap_or(f64::NAN), v[1].as_f64().unwrap_or(f64::NAN))
}

/// Types `text` in the search box and searches.
async fn search(c: &Client, text: &str) {
    let input = c.find(Locator::Id("search-input")).await.unwrap_or_else(|e| panic!("{e}"));
    input.clear().await.unwrap_or_else(|e| panic!("{e}"));
    input.send_keys(text).await.unwrap_or_else(|e| panic!("{e}"));
    click_id(c, "search-button").await;
}

/// Searches a parcel by its code and waits until the map is centred on its extent
/// (store-CRS box, its corners' longitude/latitude by PostGIS) and identifies it.
async fn search_code_flies_there(c: &Client, pool: &PgPool, code: &str) {
    let (x0, y0, x1, y1): (f64, f64, f64, f64) = sqlx::query_as(
        "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM parcels WHERE zddm = $1 AND state = 'current'",
    )
    .bind(code)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{code}: {e}"));
    let (w, s) = lon_lat(pool, x0, y0).await;
    let (e, n) = lon_lat(pool, x1, y1).await;
    let target = ((w + e) / 2.0, (s + n) / 2.0);
    let start = centre(c).await;
    assert!(
        (start.0 - target.0).abs() > 1e-4 || (start.1 - target.1).abs() > 1e-4,
        "the map starts elsewhere: {start:?} vs {target:?}"
    );
    search(c, code).await;
    let found = wait_for_attr(c, "#identify-panel", "data-zddm", |v| v == code).await;
    assert_eq!(found, code);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let now = centre(c).await;
        // 1e-5° is about 1 m.
        if (now.0 - target.0).abs() < 1e-5 && (now.1 - target.1).abs() < 1e-5 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the map did not fly to {code}: centre {now:?}, parcel {target:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn poll_pixels(c: &Client, rgb: [u8; 3], what: &str, done: impl Fn(u64) -> bool) -> u64 {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let n = count_pixels(c, rgb).await;
        if done(n) {
            return n;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {n} pixels of {rgb:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How often the page requested one tile (the map's request log, from transformRequest).
async fn requests_of(c: &Client, tile: &str) -> usize {
    let v: Value = c
        .execute(
            "return document.getElementById('map').cadastreTileLog.filter((t) => t === arguments[0]).length;",
            vec![json!(tile)],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    v.as_u64().unwrap_or(0) as usize
}

/// The scale bar, the layers panel, search by code; then an edit made through the API
/// while the edited parcel's area is out of view: back there, the map shows the edit (MapLibre
/// would show the tile it cached before the edit, unreloaded).
#[sqlx::test(migrator = "MIGRATOR")]
async fn console_controls_work_and_an_area_edited_out_of_view_is_fresh_when_back(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    seed_grid(&st, &admin).await;
    seed_map_extras(&pool).await;
    accounts_user(&st, "测绘员戊").await;
    let addr = serve(&st).await;
    let (_driver, c) = browser().await;
    console_login(&c, &format!("http://{addr}"), "测绘员戊").await;
    wait_for_attr(&c, "#map", "data-parcels", |v| v.parse::<u32>().is_ok_and(|n| n > 0)).await;

    // The scale bar, metric.
    let scale = text_of(&c, "#map .maplibregl-ctrl-scale").await;
    let (value, unit) = scale.trim().split_once(' ').unwrap_or_else(|| panic!("scale bar {scale:?}"));
    assert!(value.parse::<f64>().is_ok_and(|v| v > 0.0) && ["m", "km"].contains(&unit), "scale bar {scale:?}");

    // Search by a parcel code: the map flies to the parcel and identifies it.
    search_code_flies_there(&c, &pool, &zddm(OWN, 9)).await;
    click_id(&c, "identify-close").await;

    // The layers panel: unticking parcels takes their fills off the map; ticking brings them back.
    let (lng, lat) = lon_lat(&pool, 500_020.0, 3_300_020.0).await;
    jump(&c, lng, lat, 19.0).await;
    let shown = poll_pixels(&c, RESIDENTIAL, "parcel 1 drawn", |n| n > 2_000).await;
    let parcels_box =
        c.find(Locator::Css("#layers-panel input[data-group='parcels']")).await.unwrap_or_else(|e| panic!("{e}"));
    parcels_box.click().await.unwrap_or_else(|e| panic!("{e}"));
    poll_pixels(&c, RESIDENTIAL, "parcels hidden", |n| n == 0).await;
    let visibility: Value = c
        .execute(
            "return document.getElementById('map').cadastreMap.getLayoutProperty('parcels-fill', 'visibility');",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(visibility, json!("none"));
    parcels_box.click().await.unwrap_or_else(|e| panic!("{e}"));
    poll_pixels(&c, RESIDENTIAL, "parcels shown again", |n| n * 10 >= shown * 9).await;

    // Area A (parcel 1, z19) has been seen; go 2 km east (area B), edit parcel 1 there.
    let a = mercator(&pool, 500_020.0, 3_300_020.0).await;
    let (ax, ay) = tile_of(a, 19);
    let a_tile = format!("parcels/19/{ax}/{ay}");
    assert!(requests_of(&c, &a_tile).await >= 1, "A's tile {a_tile} was loaded");
    let (blng, blat) = lon_lat(&pool, 502_020.0, 3_300_020.0).await;
    jump(&c, blng, blat, 19.0).await;
    assert_eq!(count_pixels(&c, RESIDENTIAL).await, 0, "B is away from every parcel");
    wait_for_attr(&c, "#map", "data-events", |v| v == "open").await;
    let edit = put(
        &st,
        &format!("/api/parcels/{}", zddm(OWN, 1)),
        &admin,
        &json!({"ZL": format!("{OWN}幸福路1号"), "YT": "1101", "geometry": square(500_000.0, 3_300_000.0, 40.0)}),
    )
    .await;
    assert_eq!(edit.status, StatusCode::OK, "{:?}", edit.json);
    // The push arrived: A's tiles, out of view, wait for A to come back.
    wait_for_attr(&c, "#map", "data-pending", |v| v.parse::<u32>().is_ok_and(|n| n > 0)).await;
    let before = requests_of(&c, &a_tile).await;
    jump(&c, lng, lat, 19.0).await;
    poll_pixels(&c, WATER, "back in A, parcel 1 in its new use's colour", |n| n > 2_000).await;
    assert!(requests_of(&c, &a_tile).await > before, "A's tile {a_tile} was requested again");
    // Its neighbours are still residential; parcel 1 (~300 px square at z19) no longer.
    poll_pixels(&c, RESIDENTIAL, "parcel 1 no longer residential", |n| n + 20_000 < shown).await;
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let png = c.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
    std::fs::write(dir.join("console-back-in-a.png"), png).unwrap_or_else(|e| panic!("{e}"));
    let _ = c.close().await;
}

/// The console's building table of a sample building: a grid with one cell per household,
/// rows the nominal floors (top first), columns the stair units and their rooms.
#[sqlx::test(migrator = "MIGRATOR")]
async fn console_building_table_is_a_grid_of_floors_units_and_rooms(pool: PgPool) {
    use crate::review::{load_sample, COUNTY};
    use crate::review_sample::TABLE;
    load_sample(&pool).await;
    let st = state(&pool);
    tile_server::auth::accounts::create_user(
        &st.db,
        &tile_server::auth::accounts::NewUser {
            username: "测绘员己",
            password: PASSWORD,
            role: Role::Surveyor,
            counties: &[COUNTY],
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let viewer = user_token(&st, "viewer", Role::Surveyor, &[COUNTY]).await;
    let api = get(&st, &format!("/api/buildings/{TABLE}/table"), &viewer).await;
    assert_eq!(api.status, StatusCode::OK);
    let households = api.json["household_count"].as_u64().unwrap_or(0) as usize;
    assert_eq!(households, 24);
    let addr = serve(&st).await;
    let (_driver, c) = browser().await;
    console_login(&c, &format!("http://{addr}"), "测绘员己").await;
    wait_for_attr(&c, "#map", "data-idle", |v| v.parse::<u32>().is_ok_and(|n| n > 0)).await;

    // To the building's parcel by its code, then its table from the identify panel.
    let parcel = &TABLE[..19];
    search_code_flies_there(&c, &pool, parcel).await;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(&format!("#identify-buildings a[data-zrzh='{TABLE}']")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for_attr(&c, "#table-section", "data-zrzh", |v| v == TABLE).await;
    let cells = c.find_all(Locator::Css("#table-grid td.hh")).await.unwrap_or_default();
    assert_eq!(cells.len(), households, "one cell per household");
    // Household 0007: floor 2, stair unit 2, room 201 (column 01 of unit 2).
    let seventh = cell_place(&c, "#table-grid", &format!("td.hh[data-bdcdyh='{TABLE}0007']")).await;
    assert_eq!(
        (seventh.floor.as_str(), seventh.unit.as_str(), seventh.room.as_str()),
        ("第2层", "2单元", "01"),
        "{seventh:?}"
    );
    assert!(seventh.text.starts_with("201"), "{seventh:?}");
    assert_eq!(seventh.status, "current");
    assert_eq!(seventh.background, "rgb(207, 224, 241)", "{seventh:?}");
    // Top floor first; two units of two rooms each.
    let floors: Value = c
        .execute(
            "return [...document.querySelectorAll('#table-grid tbody tr')].map((tr) => tr.querySelector('th').textContent);",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(floors, json!(["第6层", "第5层", "第4层", "第3层", "第2层", "第1层"]));
    let heads: Value = c
        .execute(
            "return [...document.querySelectorAll('#table-grid thead th.bt-unit, #table-grid thead th.bt-room')].map((th) => th.textContent);",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(heads, json!(["1单元", "2单元", "01", "02", "01", "02"]));
    let legend = text_of(&c, "#table-grid .bt-legend").await;
    assert!(legend.contains("现状") && legend.contains("抵押") && legend.contains("查封"), "{legend}");
    assert_chinese_renders(&c, "#table-section").await;
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let section = c.find(Locator::Id("table-section")).await.unwrap_or_else(|e| panic!("{e}"));
    let png = section.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
    std::fs::write(dir.join("console-building-table.png"), png).unwrap_or_else(|e| panic!("{e}"));
    let _ = c.close().await;
}
