//! Helpers: a state over the test database, accounts, seeded data, and one-shot calls.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::auth::accounts::{self, NewClient, NewUser};
use tile_server::auth::Role;
use tile_server::config::Settings;
use tile_server::crypto::PiiCipher;
use tile_server::{app, AppState};
use tower::ServiceExt;

pub const OWN: &str = "330102";
pub const OTHER: &str = "330103";
pub const PASSWORD: &str = "Correct-horse-battery-9";

pub fn zddm(county: &str, n: u32) -> String {
    format!("{county}001001GB{n:05}")
}
pub fn zrzh(county: &str) -> String {
    format!("{}F0001", zddm(county, 1))
}
pub fn bdcdyh(county: &str, room: u32) -> String {
    format!("{}{room:04}", zrzh(county))
}

pub fn test_cipher() -> PiiCipher {
    PiiCipher::from_key_bytes(&[9u8; 32]).unwrap_or_else(|e| panic!("test key: {e}"))
}

pub fn state(pool: &PgPool) -> AppState {
    state_with(pool, Settings::default())
}

pub fn state_with(pool: &PgPool, settings: Settings) -> AppState {
    AppState::new(pool.clone(), settings, test_cipher())
}

/// A response, decoded.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    pub json: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

/// Builds and sends one request through `app(state)`.
pub async fn call_with(state: &AppState, req: Request<Body>) -> Resp {
    let resp = app(state.clone()).oneshot(req).await.unwrap_or_else(|e| match e {});
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.map(|c| c.to_bytes().to_vec()).unwrap_or_default();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp { status, headers, bytes, json }
}

pub fn request(method: Method, uri: &str, token: Option<&str>, body: Option<&Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    b.body(body).unwrap_or_else(|e| panic!("request {uri}: {e}"))
}

pub async fn call(state: &AppState, method: Method, uri: &str, token: Option<&str>, body: Option<&Value>) -> Resp {
    call_with(state, request(method, uri, token, body)).await
}

pub async fn get(state: &AppState, uri: &str, token: &str) -> Resp {
    call(state, Method::GET, uri, Some(token), None).await
}

/// Creates a user and logs in through the API; returns the token.
pub async fn user_token(state: &AppState, username: &str, role: Role, counties: &[&str]) -> String {
    accounts::create_user(&state.db, &NewUser { username, password: PASSWORD, role, counties })
        .await
        .unwrap_or_else(|e| panic!("create user {username}: {e}"));
    login(state, json!({"username": username, "password": PASSWORD})).await
}

/// Creates a registration client and logs in; returns the token.
pub async fn client_token(
    state: &AppState,
    client_id: &str,
    counties: &[&str],
    rate: Option<u32>,
    ips: &[&str],
) -> String {
    accounts::create_client(
        &state.db,
        &NewClient { client_id, secret: PASSWORD, counties, rate_limit_per_minute: rate, allowed_ips: ips },
    )
    .await
    .unwrap_or_else(|e| panic!("create client {client_id}: {e}"));
    login(state, json!({"client_id": client_id, "client_secret": PASSWORD})).await
}

pub async fn login(state: &AppState, body: Value) -> String {
    let r = call(state, Method::POST, "/api/auth/login", None, Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "login {body}: {:?}", r.json);
    r.json["token"].as_str().unwrap_or_else(|| panic!("no token in {:?}", r.json)).to_owned()
}

/// A square parcel polygon near (x0, y0) in a projected CRS.
pub fn square(x0: f64, y0: f64, side: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side], [x0, y0]]]})
}

/// Seeds one parcel, one building with two floors and two households in `county`,
/// written through the API by an admin token scoped to that county.
pub async fn seed_county(state: &AppState, admin: &str, county: &str) {
    let x = 500_000.0 + if county == OWN { 0.0 } else { 10_000.0 };
    let y = 3_300_000.0;
    let p = put(
        state,
        &format!("/api/parcels/{}", zddm(county, 1)),
        admin,
        &json!({
            "ZL": format!("{county}幸福路1号"), "ZDMJ": 1000.0, "YT": "0701", "QLLX": "4", "QLXZ": "102",
            "geometry": square(x, y, 40.0)
        }),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "seed parcel: {:?}", p.json);
    let b = put(
        state,
        &format!("/api/buildings/{}", zrzh(county)),
        admin,
        &json!({
            "JZWMC": "1号楼", "ZL": format!("{county}幸福路1号1幢"), "DSCS": 2, "DXCS": 0, "FWJG": "2", "GHYT": "10",
            "floors": [{"SJC": 1, "MYC": "1", "CMC": "第1层"}, {"SJC": 2, "MYC": "2", "CMC": "第2层"}],
            "geometry": square(x + 5.0, y + 5.0, 20.0)
        }),
    )
    .await;
    assert_eq!(b.status, StatusCode::OK, "seed building: {:?}", b.json);
    for (room, floor) in [(101u32, 1), (201, 2)] {
        let h =
            put(state, &format!("/api/households/{}", bdcdyh(county, room)), admin, &household_body(floor, room)).await;
        assert_eq!(h.status, StatusCode::OK, "seed household: {:?}", h.json);
    }
}

pub fn household_body(floor: i32, room: u32) -> Value {
    json!({
        "SJC": floor, "MYC": floor.to_string(), "DYH": "1", "SHBW": room.to_string(), "HX": "三室两厅", "FWYT": "10",
        "ZL": format!("幸福路1号1幢1单元{room}室"),
        "SCTNJZMJ": 89.5, "SCFTJZMJ": 13.43, "SCJZMJ": 102.93, "FTXS": 0.15,
        "QLR": "张三丰", "ZJH": "330102199001011234"
    })
}

pub async fn put(state: &AppState, uri: &str, token: &str, body: &Value) -> Resp {
    call(state, Method::PUT, uri, Some(token), Some(body)).await
}

/// Every JSON key in a value, recursively.
pub fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

/// GETs a change-feed page until it holds `want` items (at most 60 s). The feed holds rows back
/// until every older transaction in the cluster has finished, and other tests' transactions run
/// in the same cluster, so a page may briefly come back shorter; the final answer is asserted by
/// the caller.
pub async fn changes_page(state: &AppState, uri: &str, token: &str, want: usize) -> Resp {
    let deadline = std::time::Instant::now() + FEED_DEADLINE;
    loop {
        let r = get(state, uri, token).await;
        let len = r.json["items"].as_array().map_or(0, Vec::len);
        if len >= want || std::time::Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// How long a test waits for the change feed to show what it wrote: a correctness
/// deadline (another test kept a transaction open for that long), not a measurement.
pub const FEED_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// The feed's cursor once every change already written to this test's database is
/// visible through it. The feed hands out rows only below `pg_snapshot_xmin`, and
/// transaction ids are cluster-wide: an open transaction of any other test on the
/// cluster holds back what this one seeded. So wait for the count of seeded changes,
/// never for a time, before taking a start cursor.
/// `token` sees `county` and only it.
pub async fn caught_up_cursor(state: &AppState, token: &str, county: &str) -> i64 {
    let want: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit WHERE county = $1 AND object_type IN ('parcel', 'building', 'household')",
    )
    .bind(county)
    .fetch_one(&state.db)
    .await
    .unwrap_or_else(|e| panic!("counting seeded changes: {e}"));
    let want = usize::try_from(want).unwrap_or_else(|e| panic!("{e}"));
    let page = changes_page(state, "/api/changes?since=0&limit=1000", token, want).await;
    let seen = page.json["items"].as_array().map_or(0, Vec::len);
    assert_eq!(seen, want, "the feed did not show every seeded change within {FEED_DEADLINE:?}: {:?}", page.json);
    page.json["next_cursor"].as_i64().unwrap_or_else(|| panic!("no next_cursor: {:?}", page.json))
}

/// How long a change committed elsewhere may take to reach an instance before a test fails.
/// A correctness deadline (the notification never arrived), not a timing measurement.
pub const COHERENCE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Polls `probe` every 20 ms until it holds; panics with `what` after [`COHERENCE_DEADLINE`].
pub async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + COHERENCE_DEADLINE;
    while !probe().await {
        assert!(std::time::Instant::now() < deadline, "{what}: not within {COHERENCE_DEADLINE:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits until the state's cache listener is listening (caches trusted).
pub async fn wait_listening(state: &AppState) {
    eventually("cache listener listening", || std::future::ready(state.sync.is_listening())).await;
}

/// Polls GET `uri` until it answers `want`, then checks ten more times that it never goes back.
pub async fn eventually_status(state: &AppState, uri: &str, token: &str, want: StatusCode) {
    eventually(&format!("GET {uri} -> {want}"), || async { get(state, uri, token).await.status == want }).await;
    for _ in 0..10 {
        assert_eq!(get(state, uri, token).await.status, want, "GET {uri} went back");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A pool on the test's database as `tile_server_test`, a LOGIN role that is only a
/// member of `cadastre_app` (the production serving role). Roles are cluster-wide and
/// tests run concurrently: created once, races tolerated.
pub async fn app_role_pool(pool: &PgPool, max_connections: u32) -> PgPool {
    let _ = sqlx::query(
        "DO $$ BEGIN CREATE ROLE tile_server_test LOGIN IN ROLE cadastre_app;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .execute(pool)
    .await;
    let db_name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap_or_default();
    let opts = pool.connect_options().as_ref().clone().username("tile_server_test").database(&db_name);
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(opts)
        .await
        .unwrap_or_else(|e| panic!("connecting as tile_server_test: {e}"))
}

/// A result package of one new parcel (temporary id `T1`) in sub-district `county`001001,
/// as a surveyor's desktop writes it.
pub fn package_for(county: &str) -> Vec<u8> {
    use cadastre_core::model::{Parcel, ParcelAttributes, Submission};
    let x = 500_000.0 + if county == OWN { 0.0 } else { 10_000.0 };
    let mut sub = Submission::default();
    let ring = [(100.0, 100.0), (130.0, 100.0), (130.0, 130.0), (100.0, 130.0), (100.0, 100.0)];
    let sq = geo_types::Polygon::new(ring.iter().map(|&(dx, dy)| (x + dx, 3_300_000.0 + dy)).collect(), vec![]);
    sub.parcels.push(Parcel {
        zddm: "T1".into(),
        geometry: geo_types::MultiPolygon(vec![sq]),
        attributes: ParcelAttributes {
            zl: Some("幸福路100号".into()),
            zdmj: Some(900.0),
            djzqdm: Some(format!("{county}001001")),
            zdtzm: Some("GB".into()),
            ..ParcelAttributes::default()
        },
        source_index: 0,
    });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    cadastre_core::io::write_shapefiles(&sub, dir.path(), cadastre_core::io::TextEncoding::Utf8)
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("manifest.toml"), format!("county = \"{county}\"\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = std::io::Cursor::new(Vec::new());
    cadastre_core::package::build_from_dir(dir.path(), &mut out).unwrap_or_else(|e| panic!("{e}"));
    out.into_inner()
}

/// POSTs a package as `application/zip`.
pub async fn post_package(state: &AppState, token: &str, bytes: Vec<u8>) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/submissions")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/zip")
        .body(Body::from(bytes))
        .unwrap_or_else(|e| panic!("{e}"));
    call_with(state, req).await
}

/// Hands in [`package_for`] and runs its check; returns the submission id (now `ready`).
pub async fn ready_submission(state: &AppState, token: &str, county: &str) -> i64 {
    let r = post_package(state, token, package_for(county)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.json);
    tile_server::review::worker::drain(&state.db, tile_server::review::limits(&state.settings))
        .await
        .unwrap_or_else(|e| panic!("worker: {e}"));
    r.json["submission_id"].as_i64().unwrap_or(-1)
}

/// A `/proc/…/stat` file as (command name, the fields after it): "pid (name) state ppid …",
/// so field 0 of the rest is the state, 1 the parent, 16 the nice value. `None` when the
/// process is gone.
pub(crate) fn proc_stat(path: impl AsRef<std::path::Path>) -> Option<(String, Vec<String>)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (head, rest) = stat.rsplit_once(") ")?;
    let name = head.split_once(" (").map(|(_, n)| n.to_owned()).unwrap_or_default();
    Some((name, rest.split_whitespace().map(str::to_owned).collect()))
}
