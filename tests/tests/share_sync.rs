//! share-sync end to end: the internal PostGIS store (tile-server's schema, filled by
//! its importer from `samples/district`) → export → apply into an extranet receiving
//! database (SQLite and PostgreSQL) → the extranet API answers exactly what the
//! internal unit-table API answers (units, households, building tables, searches), for
//! every unit and building of the district; and
//! registration results back the other way.
//!
//! Needs `DATABASE_URL` (a PostGIS server; `#[sqlx::test]` makes a fresh database).

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use share_sync::export::{export_units, ExportOptions, ExportOutcome};
use share_sync::keys::{KeyPair, PublicKey};
use share_sync::package::read::{for_each_line, verify, Keyring};
use share_sync::receiver::{self, ReceiverDb};
use share_sync::serve::{self, ServeState};
use sqlx::PgPool;
use tile_server::auth::accounts::{self, NewClient, NewUser};
use tile_server::auth::Role;
use tile_server::crypto::PiiCipher;
use tile_server::db::MIGRATOR;
use tile_server::AppState;
use tower::ServiceExt as _;

// Three character classes, as the account password policy asks.
const PASSWORD: &str = "Correct-horse-battery-9";

fn district() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district")
}

async fn fill(pool: &PgPool) {
    use tile_server::import::{import, tables::import_tables, ImportOptions, NoProgress};
    let opts = ImportOptions { rejects: None, actor: "import:test".into(), ..ImportOptions::new(district()) };
    import(pool, &opts, &NoProgress).await.unwrap_or_else(|e| panic!("{e}"));
    let tables = import_tables(pool, &district(), "import:test").await;
    assert!(tables.iter().all(|t| t.written.is_ok()), "{tables:?}");
}

async fn send(
    router: axum::Router,
    method: Method,
    uri: &str,
    token: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut b = Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = router.oneshot(b.body(body).unwrap_or_default()).await.unwrap_or_else(|e| match e {});
    let status = resp.status();
    let bytes = resp.into_body().collect().await.map(|c| c.to_bytes().to_vec()).unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

struct Internal {
    state: AppState,
    reader: String,
    writer: String,
}

impl Internal {
    async fn new(pool: &PgPool) -> Self {
        let cipher = PiiCipher::from_key_bytes(&[9u8; 32]).unwrap_or_else(|e| panic!("{e}"));
        let state = AppState::new(pool.clone(), tile_server::config::Settings::default(), cipher);
        let counties = ["330106"];
        accounts::create_client(
            pool,
            &NewClient {
                client_id: "djxt",
                secret: PASSWORD,
                counties: &counties,
                rate_limit_per_minute: Some(1_000_000),
                allowed_ips: &[],
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        accounts::create_user(
            pool,
            &NewUser { username: "boss", password: PASSWORD, role: Role::Admin, counties: &counties },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let login = |body: Value| {
            let state = state.clone();
            async move {
                let (s, v) = send_anon(tile_server::app(state), "/api/auth/login", &body).await;
                assert_eq!(s, StatusCode::OK, "{v}");
                v["token"].as_str().unwrap_or_default().to_owned()
            }
        };
        let reader = login(json!({"client_id": "djxt", "client_secret": PASSWORD})).await;
        let writer = login(json!({"username": "boss", "password": PASSWORD})).await;
        Self { state, reader, writer }
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        send(tile_server::app(self.state.clone()), Method::GET, uri, &self.reader, None).await
    }
}

async fn send_anon(router: axum::Router, uri: &str, body: &Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default();
    let resp = router.oneshot(req).await.unwrap_or_else(|e| match e {});
    let status = resp.status();
    let bytes = resp.into_body().collect().await.map(|c| c.to_bytes().to_vec()).unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A receiving PostgreSQL database on the same cluster (dropped by [`Receivers::drop_pg`]).
struct Receivers {
    sqlite_dir: tempfile::TempDir,
    pg_name: String,
    admin: PgPool,
}

impl Receivers {
    async fn new(internal: &PgPool) -> Self {
        let pg_name = format!("share_sync_recv_{:016x}", rand_u64());
        sqlx::query(&format!("CREATE DATABASE {pg_name}")).execute(internal).await.unwrap_or_else(|e| panic!("{e}"));
        Self { sqlite_dir: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")), pg_name, admin: internal.clone() }
    }

    fn urls(&self) -> Vec<String> {
        vec![format!("sqlite://{}", self.sqlite_dir.path().join("extranet.db").display()), pg_url(&self.pg_name)]
    }

    async fn drop_pg(self) {
        let _ =
            sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.pg_name)).execute(&self.admin).await;
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish()
}

fn pg_url(db: &str) -> String {
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| panic!("DATABASE_URL must be set"));
    let base = base.split('?').next().unwrap_or(&base).to_owned();
    let cut = base.rfind('/').unwrap_or(base.len());
    format!("{}/{db}", &base[..cut])
}

/// Waits until every audit row of this database is below `pg_snapshot_xmin`, i.e. the
/// change feed hands out all of it (open transactions elsewhere on the cluster hold
/// xmin back for a while). Polls; never a fixed sleep.
async fn wait_until_the_feed_covers_everything(pool: &PgPool) {
    for _ in 0..3000 {
        let behind: i64 =
            sqlx::query_scalar("SELECT count(*) FROM audit WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())")
                .fetch_one(pool)
                .await
                .unwrap_or(-1);
        if behind == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the change feed never covered the writes (a transaction stayed open for 5 minutes)");
}

/// Exports until a package appears: the feed holds back rows of transactions newer
/// than the oldest one running anywhere on the cluster (other tests' databases), so
/// poll until it covers what was written; never a fixed sleep.
async fn export_until_written(pool: &PgPool, out: &Path, key: &KeyPair) -> (PathBuf, u64) {
    let opts = ExportOptions { sender: "internal", key, rotation: None, earlier_keys: &[] };
    for _ in 0..3000 {
        match export_units(pool, out, &opts).await.unwrap_or_else(|e| panic!("{e}")) {
            ExportOutcome::Written { path, rows, .. } => return (path, rows),
            ExportOutcome::NothingChanged { .. } => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("the change feed never covered the write (a transaction stayed open for 5 minutes)");
}

/// Every number in every data line of a package lies outside the district's extent
/// (in X and in Y), no key names a geometry, no text looks like WKT or WKB.
fn assert_coordinate_free(package: &Path, key: &PublicKey, extent: [f64; 4], min_numbers: usize) {
    let mut ring = Keyring::default();
    ring.trust(key.clone());
    let v = verify(package, &ring).unwrap_or_else(|e| panic!("{e}"));
    let [minx, miny, maxx, maxy] = extent;
    let mut numbers = 0;
    fn walk(v: &Value, f: &mut dyn FnMut(&Value, Option<&str>)) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, x)| {
                f(x, Some(k));
                walk(x, f);
            }),
            Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    for_each_line(&v, |file, line| {
        let value: Value = serde_json::from_slice(line).map_err(|e| e.to_string())?;
        walk(&value, &mut |x, key| {
            if let Some(k) = key {
                let k = k.to_ascii_lowercase();
                assert!(
                    !["geom", "geometry", "coordinates", "wkt", "wkb", "shape", "x", "y"].contains(&k.as_str()),
                    "{file}: key {k}"
                );
            }
            if let Some(n) = x.as_f64() {
                numbers += 1;
                assert!(
                    !(minx..=maxx).contains(&n) && !(miny..=maxy).contains(&n),
                    "{file}: {n} lies in the district extent"
                );
            }
            if let Some(s) = x.as_str() {
                let up = s.to_ascii_uppercase();
                for bad in
                    ["POLYGON", "POINT", "LINESTRING", "0103000020", "0106000020", "0101000020", "\"COORDINATES\""]
                {
                    assert!(!up.contains(bad), "{file}: {s}");
                }
            }
        });
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(numbers >= min_numbers, "the check saw {numbers} numbers only");
}

fn district_extent() -> [f64; 4] {
    let reader = shapefile::ShapeReader::from_path(district().join("DJQ.shp")).unwrap_or_else(|e| panic!("{e}"));
    let b = reader.header().bbox;
    [b.min.x, b.min.y, b.max.x, b.max.y]
}

/// The internal API's answer and the extranet's are the same JSON.
/// The internal API's answers are fetched once and compared with each receiver's.
async fn assert_same(
    internal: &Internal,
    seen: &mut std::collections::HashMap<String, Value>,
    extranet: &axum::Router,
    token: &str,
    uri: &str,
) {
    if !seen.contains_key(uri) {
        let (s1, a) = internal.get(uri).await;
        assert_eq!(s1, StatusCode::OK, "internal {uri}: {a}");
        seen.insert(uri.to_owned(), a);
    }
    let (s2, b) = send(extranet.clone(), Method::GET, uri, token, None).await;
    assert_eq!((s2, Some(&b)), (StatusCode::OK, seen.get(uri)), "extranet {uri} differs");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_extranet_answers_what_the_internal_api_answers(pool: PgPool) {
    fill(&pool).await;
    let internal = Internal::new(&pool).await;
    let keys = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let key = KeyPair::generate();
    key.save(keys.path()).unwrap_or_else(|e| panic!("{e}"));
    let outbox = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));

    // The first package: a full snapshot, coordinate-free. (Waiting for the feed to
    // cover the import makes the next package hold only the edit below; without the
    // wait, import rows still behind xmin would travel again, harmlessly.)
    wait_until_the_feed_covers_everything(&pool).await;
    let (first, rows) = export_until_written(&pool, outbox.path(), &key).await;
    let units: Vec<String> =
        sqlx::query_scalar("SELECT bdcdyh::text FROM households WHERE state = 'current' ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
    let parcels: Vec<String> = sqlx::query_scalar("SELECT zddm::text FROM parcels WHERE state = 'current' ORDER BY 1")
        .fetch_all(&pool)
        .await
        .unwrap_or_default();
    let buildings: Vec<String> =
        sqlx::query_scalar("SELECT zrzh::text FROM buildings WHERE state = 'current' ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
    assert!(
        units.len() > 50 && parcels.len() == 200 && buildings.len() == 297,
        "{} {} {}",
        units.len(),
        parcels.len(),
        buildings.len()
    );
    assert_eq!(rows as usize, units.len() + parcels.len() + buildings.len());
    assert_coordinate_free(&first, key.public(), district_extent(), 1000);

    // An edit, exported as the second package once the feed covers it.
    let bdcdyh = units[3].clone();
    let (_, before) = internal.get(&format!("/api/units/{bdcdyh}")).await;
    let mut body = before["household"].clone();
    for k in ["BDCDYH", "ZRZH", "QLR", "ZJH", "pii_masked", "state", "version_id", "valid_from"] {
        body.as_object_mut().map(|m| m.remove(k));
    }
    body["ZL"] = json!("西湖区文三路100号（更正）");
    body["SCJZMJ"] = json!(123.45);
    let (s, v) = send(
        tile_server::app(internal.state.clone()),
        Method::PUT,
        &format!("/api/households/{bdcdyh}"),
        &internal.writer,
        Some(&body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    wait_until_the_feed_covers_everything(&pool).await;
    let (second, rows) = export_until_written(&pool, outbox.path(), &key).await;
    assert_eq!(rows, 1, "only the edited unit travels");
    assert_coordinate_free(&second, key.public(), district_extent(), 5);
    // Nothing changed since: nothing is written.
    let opts = ExportOptions { sender: "internal", key: &key, rotation: None, earlier_keys: &[] };
    assert!(matches!(
        export_units(&pool, outbox.path(), &opts).await,
        Ok(ExportOutcome::NothingChanged { sequence: 2 })
    ));

    let receivers = Receivers::new(&pool).await;
    let mut seen = std::collections::HashMap::new();
    for url in receivers.urls() {
        let db = ReceiverDb::open(&url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let inbox = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let trusted = [key.public().clone()];
        let report = receiver::apply(&db, &trusted, inbox.path(), &[second.clone(), first.clone()])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(report.all_applied(), "{url}: {report:?}");
        assert_eq!(report.applied.iter().map(|a| a.sequence).collect::<Vec<_>>(), [1, 2], "{url}");
        let token =
            serve::queries::create_client(&db.pool, "djxt", 1_000_000, false).await.unwrap_or_else(|e| panic!("{e}"));
        let extranet = serve::app(ServeState::new(db.clone(), None));
        for u in &units {
            assert_same(&internal, &mut seen, &extranet, &token, &format!("/api/units/{u}")).await;
        }
        for p in &parcels {
            assert_same(&internal, &mut seen, &extranet, &token, &format!("/api/units/{p}W00000000")).await;
        }
        for b in &buildings {
            assert_same(&internal, &mut seen, &extranet, &token, &format!("/api/buildings/{b}/table")).await;
        }
        for u in &units {
            assert_same(&internal, &mut seen, &extranet, &token, &format!("/api/households/{u}")).await;
        }
        let uri = format!("/api/households/{bdcdyh}");
        let internal_tag = etag_of(tile_server::app(internal.state.clone()), &uri, &internal.reader).await;
        assert!(internal_tag.is_some());
        assert_eq!(etag_of(extranet.clone(), &uri, &token).await, internal_tag, "the same version, the same ETag");
        for q in search_queries(&internal, &units, &parcels).await {
            assert_same(&internal, &mut seen, &extranet, &token, &format!("/api/search?{q}")).await;
        }
        // Refused alike: bad codes, unknown units, bad search parameters.
        let missing = format!("{}9999", &units[0][..24]);
        for uri in [
            "/api/households/123".to_owned(),
            format!("/api/households/{missing}"),
            format!("/api/households/{}W00000000", parcels[0]),
            "/api/search".to_owned(),
            "/api/search?zl=%20".to_owned(),
            format!("/api/search?zl={}", "x".repeat(101)),
            "/api/search?zl=a&per_page=0".to_owned(),
            "/api/search?zl=a&per_page=501".to_owned(),
            "/api/search?zl=a&page=0".to_owned(),
            "/api/search?zl=a&page=x".to_owned(),
        ] {
            let (s1, a) = internal.get(&uri).await;
            let (s2, b) = send(extranet.clone(), Method::GET, &uri, &token, None).await;
            assert!(s1.is_client_error(), "internal {uri}: {s1} {a}");
            assert_eq!((s2, &b["error"]["code"]), (s1, &a["error"]["code"]), "extranet {uri}: {b} vs {a}");
        }
        let (_, v) = send(extranet.clone(), Method::GET, &format!("/api/units/{bdcdyh}"), &token, None).await;
        assert_eq!(v["household"]["ZL"], json!("西湖区文三路100号（更正）"));
        // Read-only, authenticated, rate limited.
        let (s, _) = send(extranet.clone(), Method::GET, &format!("/api/units/{bdcdyh}"), "wrong", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = send(
            extranet.clone(),
            Method::PUT,
            &format!("/api/registrations/{bdcdyh}"),
            &token,
            Some(&json!({"DJZT": "registered"})),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "a read-only client may not register");
        // The unit table itself takes no writes, whoever asks.
        for method in [Method::PUT, Method::POST, Method::DELETE, Method::PATCH] {
            let (s, _) =
                send(extranet.clone(), method.clone(), &format!("/api/units/{bdcdyh}"), &token, Some(&json!({}))).await;
            assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} /api/units/…");
        }
        let slow = serve::queries::create_client(&db.pool, "slow", 2, false).await.unwrap_or_else(|e| panic!("{e}"));
        let statuses: Vec<StatusCode> = futures_statuses(&extranet, &slow, &bdcdyh, 3).await;
        assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
        db.pool.close().await;
    }
    receivers.drop_pg().await;
}

/// The ETag header of a GET.
async fn etag_of(router: axum::Router, uri: &str, token: &str) -> Option<String> {
    let req = Request::builder()
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap_or_default();
    let resp = router.oneshot(req).await.unwrap_or_else(|e| match e {});
    assert_eq!(resp.status(), StatusCode::OK, "{uri}");
    resp.headers().get(header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Percent-encodes a query value (every byte but unreserved ASCII).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Searches that cover many hits over several pages, a single hit, no hit, LIKE's
/// metacharacters (matched literally by both), and surrounding blanks (trimmed).
async fn search_queries(internal: &Internal, units: &[String], parcels: &[String]) -> Vec<String> {
    let (_, unit) = internal.get(&format!("/api/units/{}", units[0])).await;
    let (_, parcel) = internal.get(&format!("/api/units/{}W00000000", parcels[0])).await;
    let unit_zl = unit["household"]["ZL"].as_str().unwrap_or_default().to_owned();
    let parcel_zl = parcel["land_unit"]["ZL"].as_str().unwrap_or_default().to_owned();
    assert!(!unit_zl.is_empty() && !parcel_zl.is_empty(), "{unit} {parcel}");
    let prefix: String = parcel_zl.chars().take(2).collect();
    let (_, many) = internal.get(&format!("/api/search?zl={}", encode(&prefix))).await;
    let kinds: Vec<&str> = many["items"].as_array().into_iter().flatten().filter_map(|h| h["kind"].as_str()).collect();
    assert!(many["total"].as_i64().unwrap_or(0) > 14 && kinds.contains(&"parcel"), "{many}");
    let mut queries = vec![
        format!("zl={}", encode(&prefix)),
        format!("zl={}&per_page=7&page=2", encode(&prefix)),
        format!("zl={}&per_page=500&page=1000000", encode(&prefix)),
        format!("zl={}", encode(&unit_zl)),
        format!("zl={}", encode(&format!("  {parcel_zl} "))),
        format!("zl={}", encode("西湖区文三路100号（更正）")),
        format!("zl={}", encode("没有这个地址")),
        format!("zl={}", encode("%")),
        format!("zl={}", encode("_")),
        format!("zl={}", encode("\\")),
    ];
    queries.push(format!("zl={}&per_page=3", encode(&unit_zl.chars().skip(1).take(4).collect::<String>())));
    queries
}

async fn futures_statuses(router: &axum::Router, token: &str, bdcdyh: &str, n: usize) -> Vec<StatusCode> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(send(router.clone(), Method::GET, &format!("/api/units/{bdcdyh}"), token, None).await.0);
    }
    out
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn registration_results_come_back_into_the_internal_unit_table(pool: PgPool) {
    fill(&pool).await;
    let internal = Internal::new(&pool).await;
    let (inner_key, outer_key) = (KeyPair::generate(), KeyPair::generate());
    let outbox = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (first, _) = export_until_written(&pool, outbox.path(), &inner_key).await;

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let extranet_db = ReceiverDb::open(&format!("sqlite://{}", dir.path().join("x.db").display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = receiver::apply(&extranet_db, &[inner_key.public().clone()], &dir.path().join("inbox"), &[first])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.all_applied(), "{report:?}");
    let djxt =
        serve::queries::create_client(&extranet_db.pool, "djxt", 1000, true).await.unwrap_or_else(|e| panic!("{e}"));
    let extranet = serve::app(ServeState::new(extranet_db.clone(), None));
    let units: Vec<String> =
        sqlx::query_scalar("SELECT bdcdyh::text FROM households WHERE state = 'current' ORDER BY 1 LIMIT 3")
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
    for (i, u) in units.iter().enumerate() {
        let body = json!({"BDCQZH": format!("浙(2026)杭州市不动产权第{:07}号", i + 1), "DJZT": "registered", "DJSJ": "2026-12-01T09:30:00Z"});
        let (s, v) = send(extranet.clone(), Method::PUT, &format!("/api/registrations/{u}"), &djxt, Some(&body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    // Through the gate: export on the extranet, apply into the internal store.
    let gate = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let opts = ExportOptions { sender: "extranet", key: &outer_key, rotation: None, earlier_keys: &[] };
    let ExportOutcome::Written { path, rows, .. } =
        share_sync::registrations::export_registrations(&extranet_db, gate.path(), &opts)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("nothing exported")
    };
    assert_eq!(rows, 3);
    assert!(matches!(
        share_sync::registrations::export_registrations(&extranet_db, gate.path(), &opts).await,
        Ok(ExportOutcome::NothingChanged { sequence: 1 })
    ));
    let internal_db = ReceiverDb::open(&pg_url(&current_db(&pool).await)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(internal_db.role, receiver::Role::InternalStore);
    let inbox = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // A units package is refused by the internal store, a registrations package accepted.
    let report =
        receiver::apply(&internal_db, &[outer_key.public().clone()], inbox.path(), std::slice::from_ref(&path))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.all_applied(), "{report:?}");
    let again = receiver::apply(&internal_db, &[outer_key.public().clone()], inbox.path(), &[path])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((again.applied.len(), again.duplicates.len()), (0, 1));
    for (i, u) in units.iter().enumerate() {
        let (_, inside) = internal.get(&format!("/api/units/{u}")).await;
        let (_, outside) = send(extranet.clone(), Method::GET, &format!("/api/units/{u}"), &djxt, None).await;
        assert_eq!(inside["registration"]["BDCQZH"], json!(format!("浙(2026)杭州市不动产权第{:07}号", i + 1)));
        assert_eq!(inside["registration"], outside["registration"]);
        assert_eq!(inside["registration"]["DJSJ"], json!("2026-12-01T09:30:00Z"));
    }
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit WHERE action = 'registration.apply'")
        .fetch_one(&pool)
        .await
        .unwrap_or_default();
    assert_eq!(audited, 1);
    internal_db.pool.close().await;
}

async fn current_db(pool: &PgPool) -> String {
    sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap_or_default()
}

/// Writes a household and its audit row the way the server does (one transaction).
async fn write_household(conn: &mut sqlx::PgConnection, bdcdyh: &str, zl: &str) {
    sqlx::query(
        "INSERT INTO households (county, bdcdyh, zrzh, sjc, myc, zl, scjzmj) VALUES (left($1, 6), $1, left($1, 24), 1, '1', $2, 88.5)",
    )
    .bind(bdcdyh)
    .bind(zl)
    .execute(&mut *conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(
        "INSERT INTO audit (county, actor, actor_role, action, object_type, object_key) VALUES (left($1, 6), 'user:t', 'admin', 'household.create', 'household', $1)",
    )
    .bind(bdcdyh)
    .execute(&mut *conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

fn units_in(package: &Path, key: &PublicKey) -> Vec<String> {
    let mut ring = Keyring::default();
    ring.trust(key.clone());
    let v = verify(package, &ring).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for_each_line(&v, |file, line| {
        if file == share_sync::package::records::UNITS {
            let u: Value = serde_json::from_slice(line).map_err(|e| e.to_string())?;
            out.push(u["BDCDYH"].as_str().unwrap_or_default().to_owned());
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// A transaction that started earlier but commits later than another is not skipped:
/// while it is open, the later one's change is held back too; once it commits, the
/// next package carries both.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_change_that_commits_late_is_exported_not_skipped(pool: PgPool) {
    let key = KeyPair::generate();
    let outbox = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    write_household(&mut conn, "330106001001GB00001F00010001", "一号").await;
    // The first package's cursor must cover the seed, or the seed would count as a change below.
    wait_until_the_feed_covers_everything(&pool).await;
    let (first, _) = export_until_written(&pool, outbox.path(), &key).await;
    assert_eq!(units_in(&first, key.public()), ["330106001001GB00001F00010001"]);

    // Slow: starts first, writes, stays open. Fast: starts later, commits first.
    let mut slow = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    write_household(&mut slow, "330106001001GB00001F00010002", "慢").await;
    let mut fast = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    write_household(&mut fast, "330106001001GB00001F00010003", "快").await;
    fast.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let opts = ExportOptions { sender: "internal", key: &key, rotation: None, earlier_keys: &[] };
    // The open slow transaction holds the cluster's xmin at or below its own id: the fast
    // change (a later transaction id) cannot be handed out yet, whatever else runs.
    let held = export_units(&pool, outbox.path(), &opts).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(held, ExportOutcome::NothingChanged { sequence: 1 });
    slow.commit().await.unwrap_or_else(|e| panic!("{e}"));
    // Both below xmin before exporting, so one package carries both.
    wait_until_the_feed_covers_everything(&pool).await;
    let (second, _) = export_until_written(&pool, outbox.path(), &key).await;
    assert_eq!(units_in(&second, key.public()), ["330106001001GB00001F00010002", "330106001001GB00001F00010003"]);
}

/// Records a lineage edge `old → new` (a split) in the unit-code registry tables.
async fn record_split(pool: &PgPool, old: &str, new: &str) {
    for code in [old, new] {
        sqlx::query(
            "INSERT INTO uc_unit (county, code, level, parent) VALUES (left($1, 6), $1, 'U', left($1, 24)) ON CONFLICT DO NOTHING",
        )
        .bind(code)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let event: i64 = sqlx::query_scalar(
        "INSERT INTO uc_event (county, kind, actor, old_codes, new_codes) VALUES (left($1, 6), 'split', 'test', ARRAY[$1], ARRAY[$2]) RETURNING event_id",
    )
    .bind(old)
    .bind(new)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(
        "INSERT INTO uc_lineage (county, event_id, old_code, new_code, kind) VALUES (left($1, 6), $3, $1, $2, 'split')",
    )
    .bind(old)
    .bind(new)
    .bind(event)
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

fn lineage_in(package: &Path, key: &PublicKey) -> Vec<(String, String)> {
    let mut ring = Keyring::default();
    ring.trust(key.clone());
    let v = verify(package, &ring).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for_each_line(&v, |file, line| {
        if file == share_sync::package::records::LINEAGE {
            let l: Value = serde_json::from_slice(line).map_err(|e| e.to_string())?;
            out.push((
                l["old_code"].as_str().unwrap_or_default().to_owned(),
                l["new_code"].as_str().unwrap_or_default().to_owned(),
            ));
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// Unit-code lineage (新旧单元谱系) travels: all of it in the first package, then the
/// edges of the units a later package carries; the receiver keeps them.
#[sqlx::test(migrator = "MIGRATOR")]
async fn lineage_travels_with_the_units_it_links(pool: PgPool) {
    tile_server::db::migrate(&pool).await.unwrap_or_else(|e| panic!("{e}"));
    let key = KeyPair::generate();
    let outbox = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (a, b, c, d) = (
        "330106001001GB00001F00010001",
        "330106001001GB00001F00010002",
        "330106001001GB00001F00010003",
        "330106001001GB00001F00010004",
    );
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    write_household(&mut conn, b, "分割后").await;
    record_split(&pool, a, b).await;
    wait_until_the_feed_covers_everything(&pool).await;
    let (first, _) = export_until_written(&pool, outbox.path(), &key).await;
    assert_eq!(lineage_in(&first, key.public()), [(a.to_owned(), b.to_owned())]);

    record_split(&pool, c, d).await;
    write_household(&mut conn, d, "又一次分割").await;
    wait_until_the_feed_covers_everything(&pool).await;
    let (second, _) = export_until_written(&pool, outbox.path(), &key).await;
    assert_eq!(
        lineage_in(&second, key.public()),
        [(c.to_owned(), d.to_owned())],
        "only the edges of the units carried"
    );

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = ReceiverDb::open(&format!("sqlite://{}", dir.path().join("x.db").display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = receiver::apply(&db, &[key.public().clone()], &dir.path().join("inbox"), &[first, second])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.all_applied(), "{report:?}");
    let edges: Vec<(String, String, String)> =
        sqlx::query_as("SELECT old_code, new_code, kind FROM lineage ORDER BY old_code")
            .fetch_all(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        edges,
        [(a.to_owned(), b.to_owned(), "split".to_owned()), (c.to_owned(), d.to_owned(), "split".to_owned())]
    );
}
