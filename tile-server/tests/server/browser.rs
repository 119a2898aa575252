//! The web console in headless Chromium: a real server on a random port over
//! the test database, driven through chromedriver (WebDriver, `fantoccini`).
//! Needs the Debian packages `chromium` and `chromium-driver` (scripts/lib.sh
//! installs them); without them the test fails and names the package.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::db::MIGRATOR;

use crate::common::*;

pub(crate) const WAIT: Duration = Duration::from_secs(60);
/// Parcel fills of the style (use 07 #f9e07f, use 05 #f4b183) at opacity 0.85 over the background #f7f6f2.
pub(crate) const RESIDENTIAL: [u8; 3] = [249, 227, 144];
pub(crate) const COMMERCIAL: [u8; 3] = [244, 187, 148];

/// Kills chromedriver and the browser it started when the test ends, pass or fail.
/// chromedriver runs in a process group of its own: killing chromedriver alone left its
/// Chromium processes running (reparented to init) after every browser test.
pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(group) = i32::try_from(self.0.id()).ok().and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(names: &[&str], package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "{} not found on PATH: install the Debian package `{package}` \
         (apt-get install chromium chromium-driver; scripts/lib.sh does it)",
        names.join(" / ")
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Starts chromedriver and opens a headless Chromium session.
pub(crate) async fn browser() -> (Driver, Client) {
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"], "chromium");
    let chromedriver = find_program(&["chromedriver"], "chromium-driver");
    let port = free_port();
    let child = Command::new(&chromedriver)
        .process_group(0)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", chromedriver.display()));
    let driver = Driver(child);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
            // MapLibre needs WebGL: without a GPU, SwiftShader (ANGLE's software
            // renderer) provides it, which Chromium only enables when asked to.
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
                     "--window-size=1100,1500", "--lang=zh-CN"]
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        match ClientBuilder::new(connector.clone()).capabilities(caps.clone()).connect(&url).await {
            Ok(client) => return (driver, client),
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::debug!("chromedriver not ready: {e}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("no WebDriver session from {}: {e}", chromedriver.display()),
        }
    }
}

/// Serves `app(state)` on a random loopback port in the background.
pub(crate) async fn serve(st: &tile_server::AppState) -> SocketAddr {
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("binding test server: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let router = tile_server::app(st.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            panic!("test server: {e}");
        }
    });
    addr
}

/// Twelve more parcels (3 × 4 blocks of 40 m, various uses) east of the seeded one.
pub(crate) async fn seed_grid(st: &tile_server::AppState, admin: &str) {
    let uses = ["0701", "0501", "0601", "0809", "0901", "0702"];
    for i in 0..12u32 {
        let (col, row) = (f64::from(i % 4), f64::from(i / 4));
        let r = put(
            st,
            &format!("/api/parcels/{}", zddm(OWN, i + 2)),
            admin,
            &json!({"ZL": format!("幸福路{}号", i + 2), "YT": uses[i as usize % uses.len()],
                    "geometry": square(500_040.0 + col * 40.0, 3_300_000.0 + row * 40.0, 40.0)}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    }
}

pub(crate) fn screenshot_dir() -> PathBuf {
    let target = option_env!("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("screenshots")
}

pub(crate) async fn text_of(c: &Client, css: &str) -> String {
    let e = c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    e.text().await.unwrap_or_else(|e| panic!("{css}: {e}"))
}

/// Clicks the element with this id.
pub(crate) async fn click_id(c: &Client, id: &str) {
    let e = c.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}"));
    e.click().await.unwrap_or_else(|e| panic!("clicking #{id}: {e}"));
}

/// Types a user name and password into the page's login form and submits it.
pub(crate) async fn log_in(c: &Client, user: &str, password: &str) {
    for (field, value) in [("username", user), ("password", password)] {
        let e = c.find(Locator::Id(field)).await.unwrap_or_else(|e| panic!("{field}: {e}"));
        e.clear().await.unwrap_or_else(|e| panic!("{e}"));
        e.send_keys(value).await.unwrap_or_else(|e| panic!("{e}"));
    }
    click_id(c, "login-button").await;
}

/// The sample district in the store and the known-edits package handed in by `surveyor`
/// and checked; `reviewer` is an account (password [`PASSWORD`]) to decide it with.
pub(crate) struct HandedIn {
    pub st: tile_server::AppState,
    pub surveyor: String,
    pub id: i64,
}

pub(crate) async fn known_edits_handed_in(pool: &PgPool, surveyor: &str, reviewer: &str) -> HandedIn {
    use crate::review::{drain, hand_in, load_sample, COUNTY};
    load_sample(pool).await;
    let st = state(pool);
    let surveyor = user_token(&st, surveyor, Role::Surveyor, &[COUNTY]).await;
    let account = tile_server::auth::accounts::NewUser {
        username: reviewer,
        password: PASSWORD,
        role: Role::Reviewer,
        counties: &[COUNTY],
    };
    tile_server::auth::accounts::create_user(&st.db, &account).await.unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    crate::review_sample::write_known_edits(dir.path());
    let r = hand_in(&st, &surveyor, crate::review_sample::zip_of(dir.path())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.json);
    let id = r.json["submission_id"].as_i64().unwrap_or(-1);
    drain(&st).await;
    HandedIn { st, surveyor, id }
}

/// Opens the review page at `addr`, logs in as `reviewer` and waits for submission `id`'s row.
pub(crate) async fn open_review_list(
    c: &Client,
    addr: SocketAddr,
    reviewer: &str,
    id: i64,
) -> fantoccini::elements::Element {
    c.goto(&format!("http://{addr}/review")).await.unwrap_or_else(|e| panic!("goto: {e}"));
    log_in(c, reviewer, PASSWORD).await;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(&format!("#submissions tbody tr[data-id='{id}']")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn console_logs_in_shows_summary_and_draws_the_map(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN, OTHER]).await;
    seed_county(&st, &admin, OWN).await;
    seed_county(&st, &admin, OTHER).await;
    seed_grid(&st, &admin).await;
    seed_map_extras(&pool).await;
    accounts_user(&st, "测绘员甲").await;
    let addr = serve(&st).await;
    let (_driver, c) = browser().await;
    let base = format!("http://{addr}");

    c.goto(&format!("{base}/")).await.unwrap_or_else(|e| panic!("goto: {e}"));
    let title = c.title().await.unwrap_or_default();
    assert!(title.contains("Cadastral survey server"), "{title}");
    // Before login the page holds no data.
    let rows = c.find_all(Locator::Css("#summary tbody tr")).await.unwrap_or_default();
    assert!(rows.is_empty());

    // A wrong password shows the API's error, in the page.
    log_in(&c, "测绘员甲", "wrong password").await;
    let err = text_of(&c, "#login-error:not([hidden])").await;
    assert!(err.contains("invalid_credentials"), "{err}");

    log_in(&c, "测绘员甲", PASSWORD).await;
    // Summary: one row per county in scope, with the store's counts.
    c.wait().at_most(WAIT).for_element(Locator::Css("#summary tbody tr")).await.unwrap_or_else(|e| panic!("{e}"));
    let cells: Vec<String> = {
        let mut out = Vec::new();
        for td in c.find_all(Locator::Css("#summary tbody tr td")).await.unwrap_or_default() {
            out.push(td.text().await.unwrap_or_default());
        }
        out
    };
    assert_eq!(cells[..5], [OWN, "13", "1", "2", "1"], "{cells:?}");
    assert_eq!(cells.len(), 6, "only the caller's county: {cells:?}");
    assert_ne!(cells[5], "—", "last write shown");

    // The map: MapLibre in WebGL (SwiftShader), the cadastral layers of the caller's county.
    wait_for_attr(&c, "#map", "data-ready", |v| v == "1").await;
    let drawn = wait_for_attr(&c, "#map", "data-parcels", |v| v.parse::<u32>().is_ok_and(|n| n > 0)).await;
    assert!(drawn.parse::<u32>().is_ok_and(|n| n <= 13), "only the caller's county: {drawn}");
    let webgl: Value = c
        .execute("const g = document.querySelector('#map canvas').getContext('webgl2'); return g ? g.getParameter(g.RENDERER) : null;", vec![])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(webgl.is_string(), "no WebGL in headless Chromium: {webgl}");
    // And the canvas really has ink in the residential colour (parcel fills, use 07).
    let residential = count_pixels(&c, RESIDENTIAL).await;
    assert!(residential > 2_000, "parcels not painted: {residential} residential pixels");
    let layers = text_of(&c, "#layers-panel").await;
    assert!(layers.contains("宗地") && layers.contains("界址点"), "{layers}");

    // Identify: centre the map on parcel 1 at z19 and click the middle of the map.
    let (lng, lat) = lon_lat(&pool, 500_020.0, 3_300_020.0).await;
    jump(&c, lng, lat, 19.0).await;
    c.find(Locator::Id("map"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click: {e}"));
    let code = wait_for_attr(&c, "#identify-panel", "data-zddm", |v| !v.is_empty()).await;
    assert_eq!(code, zddm(OWN, 1));
    let panel = text_of(&c, "#identify-panel").await;
    assert!(panel.contains(&format!("{OWN}幸福路1号")) && panel.contains(&zrzh(OWN)), "{panel}");
    // Its building's table, from the link in the panel.
    c.find(Locator::Css("#identify-buildings a"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let table = text_of(&c, "#table-section:not([hidden]) #table-grid").await;
    assert!(table.contains("第2层") && table.contains("201"), "{table}");

    // The cursor position in the store CRS: X northing, Y easting, as PostGIS computes them.
    c.execute(
        "const cv = document.getElementById('map').cadastreMap.getCanvas(); const r = cv.getBoundingClientRect();
         cv.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true}));",
        vec![],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let at = wait_for_attr(&c, "#cursor-coords", "data-lng-lat", |v| !v.is_empty()).await;
    let (clng, clat) =
        at.split_once(',').map(|(a, b)| (a.parse().unwrap_or(0.0), b.parse().unwrap_or(0.0))).unwrap_or_default();
    let (east, north) = store_xy(&pool, clng, clat).await;
    let shown_x: f64 = wait_for_attr(&c, "#cursor-coords", "data-x", |v| !v.is_empty()).await.parse().unwrap_or(0.0);
    let shown_y: f64 = wait_for_attr(&c, "#cursor-coords", "data-y", |v| !v.is_empty()).await.parse().unwrap_or(0.0);
    assert!(
        (shown_x - north).abs() < 0.002 && (shown_y - east).abs() < 0.002,
        "cursor X {shown_x} Y {shown_y}, PostGIS northing {north} easting {east} at {at}"
    );
    assert!((north - 3_300_020.0).abs() < 1.0 && (east - 500_020.0).abs() < 1.0, "the centre is parcel 1's centre");
    assert!(text_of(&c, "#cursor-coords").await.contains("EPSG:4549"));

    // An edit through the API: the server pushes the touched tiles, the map re-fetches them.
    wait_for_attr(&c, "#map", "data-events", |v| v == "open").await;
    let refreshes: u32 = c
        .find(Locator::Id("map"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .attr("data-refreshes")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    let before = count_pixels(&c, COMMERCIAL).await;
    let edit = put(&st, &format!("/api/parcels/{}", zddm(OWN, 1)), &admin,
        &json!({"ZL": format!("{OWN}幸福路1号"), "ZDMJ": 1000.0, "YT": "0501", "geometry": square(500_000.0, 3_300_000.0, 40.0)})).await;
    assert_eq!(edit.status, StatusCode::OK);
    wait_for_attr(&c, "#map", "data-refreshes", |v| v.parse::<u32>().is_ok_and(|n| n > refreshes)).await;
    let deadline = std::time::Instant::now() + WAIT;
    while count_pixels(&c, COMMERCIAL).await <= before + 2_000 {
        assert!(std::time::Instant::now() < deadline, "the edited parcel was not redrawn in the commercial colour");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Pan and zoom out: still parcels on the map.
    let idle = idle_count(&c).await;
    c.execute("const m = document.getElementById('map').cadastreMap; m.panBy([250, 120], {duration: 0}); m.zoomTo(17, {duration: 0});", vec![])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for_attr(&c, "#map", "data-idle", |v| v.parse::<u32>().is_ok_and(|n| n > idle)).await;
    let zoom = wait_for_attr(&c, "#map", "data-zoom", |v| v == "17.00").await;
    assert_eq!(zoom, "17.00");
    let drawn = wait_for_attr(&c, "#map", "data-parcels", |v| v.parse::<u32>().is_ok_and(|n| n > 0)).await;
    assert!(drawn.parse::<u32>().is_ok_and(|n| n > 0));

    // Search by address: the map flies to the hit and identifies it.
    let input = c.find(Locator::Id("search-input")).await.unwrap_or_else(|e| panic!("{e}"));
    input.send_keys("幸福路5号").await.unwrap_or_else(|e| panic!("{e}"));
    click_id(&c, "search-button").await;
    let found = wait_for_attr(&c, "#identify-panel", "data-zddm", |v| v == zddm(OWN, 5)).await;
    assert_eq!(found, zddm(OWN, 5));
    let idle = idle_count(&c).await;
    wait_for_attr(&c, "#map", "data-idle", |v| v.parse::<u32>().is_ok_and(|n| n > idle)).await;

    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let png = c.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
    assert_eq!(&png[1..4], b"PNG");
    std::fs::write(dir.join("console.png"), &png).unwrap_or_else(|e| panic!("{e}"));
    assert_chinese_renders(&c, "body").await;

    // Boundary points with their numbers (from z18), around parcel 1 at z19.3.
    click_id(&c, "identify-close").await;
    jump(&c, lng, lat, 19.3).await;
    let png = c.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
    std::fs::write(dir.join("console-points.png"), &png).unwrap_or_else(|e| panic!("{e}"));

    // The API page lists every documented operation, read with the session's token.
    c.goto(&format!("{base}/api/docs")).await.unwrap_or_else(|e| panic!("{e}"));
    c.wait().at_most(WAIT).for_element(Locator::Css("#paths li")).await.unwrap_or_else(|e| panic!("{e}"));
    let mut ops = Vec::new();
    for li in c.find_all(Locator::Css("#paths li")).await.unwrap_or_default() {
        ops.push(li.attr("data-operation").await.ok().flatten().unwrap_or_default());
    }
    let spec = get(&st, "/api/openapi.json", &admin).await.json;
    let documented: usize =
        spec["paths"].as_object().map(|p| p.values().map(|m| m.as_object().map_or(0, |m| m.len())).sum()).unwrap_or(0);
    assert_eq!(ops.len(), documented, "{ops:?}");
    for op in ["GET /api/summary", "GET /api/tiles/{layer}/{z}/{x}/{y}", "GET /api/buildings/{zrzh}/table"] {
        assert!(ops.iter().any(|o| o == op), "{op} missing from {ops:?}");
    }
    let png = c.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
    std::fs::write(dir.join("api-docs.png"), &png).unwrap_or_else(|e| panic!("{e}"));
    let _ = c.close().await;
}

/// A sub-district around the seeded parcels and the boundary points of parcel 1
/// (what no API writes yet), straight in the database.
pub(crate) async fn seed_map_extras(pool: &PgPool) {
    sqlx::query(
        "INSERT INTO sub_districts (county, djzqdm, djzqmc, geom)
         VALUES ($1, $1 || '001001', '幸福子区', ST_Multi(ST_MakeEnvelope(499900, 3299900, 500300, 3300250, 4549)))",
    )
    .bind(OWN)
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    for (n, (x, y)) in
        [(500_000.0, 3_300_040.0), (500_040.0, 3_300_040.0), (500_040.0, 3_300_000.0), (500_000.0, 3_300_000.0)]
            .into_iter()
            .enumerate()
    {
        sqlx::query("INSERT INTO boundary_points (county, zddm, jzdh, jblx, geom) VALUES ($1, $2, $3, '3', ST_SetSRID(ST_MakePoint($4, $5), 4549))")
            .bind(OWN)
            .bind(zddm(OWN, 1))
            .bind(format!("J{}", n + 1))
            .bind(x)
            .bind(y)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// lon/lat of a store-CRS point, by PostGIS.
pub(crate) async fn lon_lat(pool: &PgPool, x: f64, y: f64) -> (f64, f64) {
    sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4549), 4326) AS p) s",
    )
    .bind(x)
    .bind(y)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// (easting, northing) in the store CRS of a lon/lat, by PostGIS.
async fn store_xy(pool: &PgPool, lng: f64, lat: f64) -> (f64, f64) {
    sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), 4549) AS p) s",
    )
    .bind(lng)
    .bind(lat)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) async fn idle_count(c: &Client) -> u32 {
    let e = c.find(Locator::Id("map")).await.unwrap_or_else(|e| panic!("{e}"));
    e.attr("data-idle").await.ok().flatten().unwrap_or_default().parse().unwrap_or(0)
}

/// Moves the map without animation and waits until it has drawn the new view.
pub(crate) async fn jump(c: &Client, lng: f64, lat: f64, zoom: f64) {
    let idle = idle_count(c).await;
    c.execute(
        "document.getElementById('map').cadastreMap.jumpTo({center: [arguments[0], arguments[1]], zoom: arguments[2]});",
        vec![json!(lng), json!(lat), json!(zoom)],
    )
    .await
    .unwrap_or_else(|e| panic!("jumpTo: {e}"));
    wait_for_attr(c, "#map", "data-idle", |v| v.parse::<u32>().is_ok_and(|n| n > idle)).await;
}

/// Chinese text of `css` renders with real glyphs: each of its first Han characters,
/// drawn in the element's own font stack, has ink, differs from the others and from the
/// box a missing glyph gets (U+10FFFD is in no font). An empty-box page fails here.
pub(crate) async fn assert_chinese_renders(c: &Client, css: &str) {
    let v: Value = c
        .execute(
            "const el = document.querySelector(arguments[0]);
             const chars = [...new Set((el.innerText.match(/[\\u4e00-\\u9fff]/g) || []))].slice(0, 8);
             const st = getComputedStyle(el); const font = `${st.fontWeight} 32px ${st.fontFamily}`;
             const draw = (ch) => { const cv = document.createElement('canvas'); cv.width = 48; cv.height = 48;
               const x = cv.getContext('2d'); x.font = font; x.textBaseline = 'top'; x.fillText(ch, 4, 4);
               const d = x.getImageData(0, 0, 48, 48).data; let bits = '', ink = 0;
               for (let i = 3; i < d.length; i += 4) { const on = d[i] > 127; bits += on ? '1' : '0'; if (on) ink++; }
               return [bits, ink]; };
             const tofu = draw(String.fromCodePoint(0x10FFFD))[0]; const seen = new Set();
             const tofuAlike = tofu === draw(String.fromCodePoint(0x10FFFC))[0];
             let inked = 0, boxes = 0;
             for (const ch of chars) { const [bits, ink] = draw(ch); if (ink > 0) inked++; if (bits === tofu) boxes++; seen.add(bits); }
             return {chars: chars.join(''), inked, boxes, distinct: seen.size, tofuAlike, font: st.fontFamily};",
            vec![json!(css)],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    let chars = v["chars"].as_str().unwrap_or_default().chars().count() as u64;
    assert!(chars >= 2, "no Chinese text in {css}: {v}");
    // Two missing glyphs draw the same box: what a Han character without a font would be.
    assert_eq!(v["tofuAlike"].as_bool(), Some(true), "{v}");
    assert!(n("inked") == chars && n("boxes") == 0 && n("distinct") == chars, "Chinese glyphs missing in {css}: {v}");
}

/// Pixels of the map canvas within 6 of an RGB colour.
pub(crate) async fn count_pixels(c: &Client, rgb: [u8; 3]) -> u64 {
    count_pixels_in(c, "#map canvas", rgb).await
}

/// Pixels of the canvas `css` within 6 of an RGB colour.
pub(crate) async fn count_pixels_in(c: &Client, css: &str, rgb: [u8; 3]) -> u64 {
    let n: Value = c
        .execute(
            "const src = document.querySelector(arguments[1]); const t = document.createElement('canvas');
             t.width = src.width; t.height = src.height; const x = t.getContext('2d'); x.drawImage(src, 0, 0);
             const d = x.getImageData(0, 0, t.width, t.height).data; const [r, g, b] = arguments[0]; let n = 0;
             for (let i = 0; i < d.length; i += 4)
               if (Math.abs(d[i] - r) < 6 && Math.abs(d[i + 1] - g) < 6 && Math.abs(d[i + 2] - b) < 6) n++;
             return n;",
            vec![json!(rgb), json!(css)],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    n.as_u64().unwrap_or(0)
}

/// A surveyor scoped to OWN only (sees one county's row and map).
pub(crate) async fn accounts_user(st: &tile_server::AppState, name: &str) {
    tile_server::auth::accounts::create_user(
        &st.db,
        &tile_server::auth::accounts::NewUser {
            username: name,
            password: PASSWORD,
            role: Role::Surveyor,
            counties: &[OWN],
        },
    )
    .await
    .unwrap_or_else(|e| panic!("create user {name}: {e}"));
}

/// Polls an attribute until `ready` accepts it; returns the value.
pub(crate) async fn wait_for_attr(c: &Client, css: &str, attr: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let v = match c.find(Locator::Css(css)).await {
            Ok(e) => e.attr(attr).await.ok().flatten().unwrap_or_default(),
            Err(_) => String::new(),
        };
        if ready(&v) {
            return v;
        }
        if std::time::Instant::now() > deadline {
            let status = c.find(Locator::Id("map-status")).await.ok();
            let status = match status {
                Some(e) => e.text().await.unwrap_or_default(),
                None => String::new(),
            };
            panic!("{css}[{attr}] still {v:?} after {WAIT:?}; map status: {status}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Where a household cell of a building-table grid sits: the row's floor label, the
/// column's unit and room headers (found by column position, colspans counted), and
/// what the cell shows.
#[derive(Debug, Default)]
pub(crate) struct CellPlace {
    pub floor: String,
    pub unit: String,
    pub room: String,
    pub status: String,
    pub bdcdyh: String,
    pub hh: String,
    pub text: String,
    pub background: String,
}

pub(crate) async fn cell_place(c: &Client, grid: &str, cell: &str) -> CellPlace {
    let v: Value = c
        .execute(
            "const grid = document.querySelector(arguments[0]); const td = grid.querySelector(arguments[1]);
             if (!td) return null;
             const col = (cellEl) => { let i = 0; for (const x of cellEl.parentElement.cells) { if (x === cellEl) return i; i += x.colSpan; } return -1; };
             const headerAt = (row, index, offset) => { let i = offset; for (const x of row.cells) { if (x.rowSpan > 1) continue;
               if (index >= i && index < i + x.colSpan) return x.textContent.trim(); i += x.colSpan; } return null; };
             const table = td.closest('table'); const [unitRow, roomRow] = table.tHead.rows; const at = col(td);
             return {floor: td.parentElement.querySelector('th').textContent.trim(), unit: headerAt(unitRow, at, 1),
                     room: headerAt(roomRow, at, 1), status: td.dataset.status, bdcdyh: td.dataset.bdcdyh || '',
                     hh: td.dataset.hh || '', text: td.textContent, background: getComputedStyle(td).backgroundColor};",
            vec![json!(grid), json!(cell)],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    assert!(v.is_object(), "no cell {cell} in {grid}");
    CellPlace {
        floor: s("floor"),
        unit: s("unit"),
        room: s("room"),
        status: s("status"),
        bdcdyh: s("bdcdyh"),
        hh: s("hh"),
        text: s("text"),
        background: s("background"),
    }
}

/// Processes descended from `root` (by `/proc/PID/stat`'s parent field).
fn descendants(root: u32) -> Vec<u32> {
    let parent_of = |pid: u32| -> Option<u32> { proc_stat(format!("/proc/{pid}/stat"))?.1.get(1)?.parse().ok() };
    let all: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    let mut found = vec![root];
    loop {
        let more: Vec<u32> = all
            .iter()
            .copied()
            .filter(|p| !found.contains(p) && parent_of(*p).is_some_and(|pp| found.contains(&pp)))
            .collect();
        if more.is_empty() {
            return found.into_iter().filter(|p| *p != root).collect();
        }
        found.extend(more);
    }
}

/// Whether `pid` still runs (a zombie waiting to be reaped does not).
fn running(pid: u32) -> bool {
    proc_stat(format!("/proc/{pid}/stat")).is_some_and(|(_, f)| f.first().is_some_and(|s| s != "Z" && s != "X"))
}

#[tokio::test]
async fn a_finished_browser_test_leaves_no_chromium_running() {
    let (driver, client) = browser().await;
    client.goto("about:blank").await.unwrap_or_else(|e| panic!("{e}"));
    let started = descendants(driver.0.id());
    assert!(started.len() >= 2, "chromedriver started a browser: {started:?}");
    // As when a test panics: the client is not closed, the driver is dropped.
    drop(driver);
    drop(client);
    // SIGKILL takes effect asynchronously: wait for the exits, with a generous bound.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left: Vec<u32> = started.iter().copied().filter(|p| running(*p)).collect();
        if left.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "browser processes still running after the test: {left:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
