//! Registration results (登簿) go back inward: recorded through the extranet API,
//! exported on the extranet, applied into the internal store, and answered by both APIs.

use axum::http::{Method, StatusCode};
use serde_json::json;
use share_sync::export::{ExportOptions, ExportOutcome};
use share_sync::keys::KeyPair;
use share_sync::receiver::{self, ReceiverDb};
use share_sync::serve::{self, ServeState};
use sqlx::PgPool;
use tile_server::db::MIGRATOR;

use crate::common::{export_until_written, fill, pg_url, send, Internal};

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
