//! The extranet API against the internal one: after export and apply, every unit,
//! household, building table and search answers the same JSON on both sides, on SQLite
//! and PostgreSQL receivers; bad requests are refused alike; the extranet is read-only,
//! authenticated and rate limited; packages carry no coordinates.

use std::path::Path;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use share_sync::export::{export_units, ExportOptions, ExportOutcome};
use share_sync::keys::{KeyPair, PublicKey};
use share_sync::package::read::{for_each_line, verify, Keyring};
use share_sync::receiver::{self, ReceiverDb};
use share_sync::serve::{self, ServeState};
use sqlx::PgPool;
use tile_server::db::MIGRATOR;
use tower::ServiceExt as _;

use crate::common::{
    district, export_until_written, fill, pg_url, send, wait_until_the_feed_covers_everything, Internal,
};

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
