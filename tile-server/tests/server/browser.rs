//! The web console in headless Chromium: a real server on a random port over
//! the test database, driven through chromedriver (WebDriver, `fantoccini`).
//! Needs the Debian packages `chromium` and `chromium-driver` (scripts/lib.sh
//! installs them); without them the test fails and names the package.

use std::net::SocketAddr;
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

const WAIT: Duration = Duration::from_secs(60);

/// Kills chromedriver (and with it the browser) when the test ends, pass or fail.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
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
async fn browser() -> (Driver, Client) {
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"], "chromium");
    let chromedriver = find_program(&["chromedriver"], "chromium-driver");
    let port = free_port();
    let child = Command::new(&chromedriver)
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
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1100,1300", "--lang=zh-CN"]
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
async fn serve(st: &tile_server::AppState) -> SocketAddr {
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
async fn seed_grid(st: &tile_server::AppState, admin: &str) {
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

fn screenshot_dir() -> PathBuf {
    let target = option_env!("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("screenshots")
}

async fn text_of(c: &Client, css: &str) -> String {
    let e = c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    e.text().await.unwrap_or_else(|e| panic!("{css}: {e}"))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn console_logs_in_shows_summary_and_draws_the_map(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN, OTHER]).await;
    seed_county(&st, &admin, OWN).await;
    seed_county(&st, &admin, OTHER).await;
    seed_grid(&st, &admin).await;
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

    let login = |user: &'static str, pass: &'static str| {
        let c = c.clone();
        async move {
            let name = c.find(Locator::Id("username")).await.unwrap_or_else(|e| panic!("{e}"));
            name.clear().await.unwrap_or_else(|e| panic!("{e}"));
            name.send_keys(user).await.unwrap_or_else(|e| panic!("{e}"));
            let pw = c.find(Locator::Id("password")).await.unwrap_or_else(|e| panic!("{e}"));
            pw.clear().await.unwrap_or_else(|e| panic!("{e}"));
            pw.send_keys(pass).await.unwrap_or_else(|e| panic!("{e}"));
            c.find(Locator::Id("login-button"))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .click()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    };
    // A wrong password shows the API's error, in the page.
    login("测绘员甲", "wrong password").await;
    let err = text_of(&c, "#login-error:not([hidden])").await;
    assert!(err.contains("invalid_credentials"), "{err}");

    login("测绘员甲", PASSWORD).await;
    // Summary: one row per county in scope, with the store's counts.
    c.wait().at_most(WAIT).for_element(Locator::Css("#summary tbody tr")).await.unwrap_or_else(|e| panic!("{e}"));
    let cells: Vec<String> = {
        let mut out = Vec::new();
        for td in c.find_all(Locator::Css("#summary tbody tr td")).await.unwrap_or_default() {
            out.push(td.text().await.unwrap_or_default());
        }
        out
    };
    assert_eq!(cells[..5], [OWN, "13", "1", "2", "0"], "{cells:?}");
    assert_eq!(cells.len(), 6, "only the caller's county: {cells:?}");
    assert_ne!(cells[5], "—", "last write shown");

    // The map: wait until the script says how many parcels it drew.
    let drawn = wait_for_attr(&c, "#map", "data-features", |v| v != "0").await;
    assert_eq!(drawn, "13");
    // And the canvas really has ink: count pixels that are not transparent.
    let inked: Value = c
        .execute(
            "const c = document.getElementById('map'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let inked = inked.as_u64().unwrap_or(0);
    assert!(inked > 100_000, "the canvas is nearly empty: {inked} painted pixels");
    let status = text_of(&c, "#map-status").await;
    assert!(status.contains("drew 13 parcels") && status.contains("EPSG:4549"), "{status}");

    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let png = c.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
    assert_eq!(&png[1..4], b"PNG");
    std::fs::write(dir.join("console.png"), &png).unwrap_or_else(|e| panic!("{e}"));

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

/// A surveyor scoped to OWN only (sees one county's row and map).
async fn accounts_user(st: &tile_server::AppState, name: &str) {
    tile_server::db::accounts::create_user(
        &st.db,
        &tile_server::db::accounts::NewUser {
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
async fn wait_for_attr(c: &Client, css: &str, attr: &str, ready: impl Fn(&str) -> bool) -> String {
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
