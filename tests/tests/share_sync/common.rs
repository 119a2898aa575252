//! What every share-sync end-to-end test stands on: the internal store filled from the
//! sample district, its API with a reading client and a writing admin, and exports that
//! wait for the change feed.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use share_sync::export::{export_units, ExportOptions, ExportOutcome};
use share_sync::keys::KeyPair;
use sqlx::PgPool;
use tile_server::auth::accounts::{self, NewClient, NewUser};
use tile_server::auth::Role;
use tile_server::crypto::PiiCipher;
use tile_server::AppState;
use tower::ServiceExt as _;

// Three character classes, as the account password policy asks.
pub(crate) const PASSWORD: &str = "Correct-horse-battery-9";

pub(crate) fn district() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district")
}

pub(crate) async fn fill(pool: &PgPool) {
    use tile_server::import::{import, tables::import_tables, ImportOptions, NoProgress};
    let opts = ImportOptions { rejects: None, actor: "import:test".into(), ..ImportOptions::new(district()) };
    import(pool, &opts, &NoProgress).await.unwrap_or_else(|e| panic!("{e}"));
    let tables = import_tables(pool, &district(), "import:test").await;
    assert!(tables.iter().all(|t| t.written.is_ok()), "{tables:?}");
}

pub(crate) async fn send(
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

pub(crate) struct Internal {
    pub(crate) state: AppState,
    pub(crate) reader: String,
    pub(crate) writer: String,
}

impl Internal {
    pub(crate) async fn new(pool: &PgPool) -> Self {
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

    pub(crate) async fn get(&self, uri: &str) -> (StatusCode, Value) {
        send(tile_server::app(self.state.clone()), Method::GET, uri, &self.reader, None).await
    }
}

pub(crate) async fn send_anon(router: axum::Router, uri: &str, body: &Value) -> (StatusCode, Value) {
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

pub(crate) fn pg_url(db: &str) -> String {
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| panic!("DATABASE_URL must be set"));
    let base = base.split('?').next().unwrap_or(&base).to_owned();
    let cut = base.rfind('/').unwrap_or(base.len());
    format!("{}/{db}", &base[..cut])
}

/// Waits until every audit row of this database is below `pg_snapshot_xmin`, i.e. the
/// change feed hands out all of it (open transactions elsewhere on the cluster hold
/// xmin back for a while). Polls; never a fixed sleep.
pub(crate) async fn wait_until_the_feed_covers_everything(pool: &PgPool) {
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
pub(crate) async fn export_until_written(pool: &PgPool, out: &Path, key: &KeyPair) -> (PathBuf, u64) {
    let opts = ExportOptions { sender: "internal", key, rotation: None, earlier_keys: &[] };
    for _ in 0..3000 {
        match export_units(pool, out, &opts).await.unwrap_or_else(|e| panic!("{e}")) {
            ExportOutcome::Written { path, rows, .. } => return (path, rows),
            ExportOutcome::NothingChanged { .. } => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("the change feed never covered the write (a transaction stayed open for 5 minutes)");
}
