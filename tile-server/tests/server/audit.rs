//! Audit rows for every write, the audit log refusing changes, versioned history.

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::db::MIGRATOR;

use crate::common::*;

async fn audit_rows(
    pool: &PgPool,
) -> Vec<(String, String, String, Option<serde_json::Value>, Option<serde_json::Value>)> {
    sqlx::query_as("SELECT action, actor, object_key, before, after FROM audit ORDER BY audit_id")
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("reading audit: {e}"))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_write_has_its_audit_row(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await; // login 1
    let reviewer = user_token(&st, "rev", Role::Reviewer, &[OWN]).await; // login 2
    seed_county(&st, &admin, OWN).await; // parcel, building, 2 households
    let edit = put(&st, &format!("/api/parcels/{}", zddm(OWN, 1)), &admin, &json!({"ZL": "新坐落"})).await;
    assert_eq!(edit.status, StatusCode::OK);
    let id = ready_submission(&st, &admin, OWN).await;
    let d = call(
        &st,
        Method::POST,
        &format!("/api/submissions/{id}/decision"),
        Some(&reviewer),
        Some(&json!({"decision": "return", "note": "补测"})),
    )
    .await;
    assert_eq!(d.status, StatusCode::OK);
    // A refused write leaves no data, only the audit row of the denial.
    let refused = put(&st, &format!("/api/parcels/{}", zddm(OWN, 2)), &reviewer, &json!({"ZL": "x"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let rows = audit_rows(&pool).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "account.create_user",
            "auth.login",
            "account.create_user",
            "auth.login",
            "parcel.create",
            "building.create",
            "household.create",
            "household.create",
            "parcel.update",
            "submission.create",
            "submission.return",
            // The refused write is a security event of its own.
            "access.denied",
        ]
    );
    let update = &rows[8];
    assert_eq!(update.1, "user:boss");
    assert_eq!(update.2, zddm(OWN, 1));
    assert_eq!(update.3.as_ref().map(|b| b["ZL"].clone()), Some(json!(format!("{OWN}幸福路1号"))));
    assert_eq!(update.4.as_ref().map(|a| a["ZL"].clone()), Some(json!("新坐落")));
    assert_eq!(rows[10].1, "user:rev");
    assert_eq!(rows[10].4.as_ref().map(|a| a["status"].clone()), Some(json!("returned")));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn audit_rows_cannot_be_changed(pool: PgPool) {
    let st = state(&pool);
    user_token(&st, "x", Role::Surveyor, &[OWN]).await; // two audit rows (account, login)
                                                        // The owner/superuser is stopped by the trigger.
    for sql in ["UPDATE audit SET actor = 'forged'", "DELETE FROM audit", "TRUNCATE audit"] {
        let err = sqlx::query(sql).execute(&pool).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    // The application role has no UPDATE/DELETE privilege at all, but may insert and read.
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("SET LOCAL ROLE cadastre_app").execute(&mut *tx).await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("SAVEPOINT s").execute(&mut *tx).await.unwrap_or_else(|e| panic!("{e}"));
    for sql in ["UPDATE audit SET actor = 'forged'", "DELETE FROM audit", "TRUNCATE audit", "DELETE FROM parcels"] {
        let err = sqlx::query(sql).execute(&mut *tx).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("permission denied"), "{sql} as cadastre_app: {err}");
        sqlx::query("ROLLBACK TO SAVEPOINT s").execute(&mut *tx).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let inserted = sqlx::query(
        "INSERT INTO audit (county, actor, actor_role, action, object_type, object_key) VALUES ('330102', 'a', 'admin', 't', 't', 'k')",
    )
    .execute(&mut *tx)
    .await;
    assert!(inserted.is_ok(), "{inserted:?}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit").fetch_one(&mut *tx).await.unwrap_or(-1);
    assert_eq!(n, 3);
    tx.rollback().await.unwrap_or_default();
    let actors: Vec<String> =
        sqlx::query_scalar("SELECT actor FROM audit ORDER BY audit_id").fetch_all(&pool).await.unwrap_or_default();
    assert_eq!(actors, vec!["system".to_owned(), "user:x".to_owned()]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn audit_is_partitioned_by_month_for_a_year_ahead(pool: PgPool) {
    let months: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'audit'::regclass AND c.relname ~ '^audit_\\d{6}$'",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or(-1);
    assert!(months >= 13, "{months} monthly partitions");
    let st = state(&pool);
    user_token(&st, "x", Role::Surveyor, &[OWN]).await;
    let part: String =
        sqlx::query_scalar("SELECT tableoid::regclass::text FROM audit").fetch_one(&pool).await.unwrap_or_default();
    assert_ne!(part, "audit_default", "rows should land in a monthly partition");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_edit_keeps_the_old_version(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let code = zddm(OWN, 1);
    let r = put(
        &st,
        &format!("/api/parcels/{code}"),
        &admin,
        &json!({"ZL": "v2", "geometry": square(500_001.0, 3_300_001.0, 5.0)}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let h = get(&st, &format!("/api/parcels/{code}/history"), &admin).await;
    let versions = h.json.as_array().cloned().unwrap_or_default();
    assert_eq!(versions.len(), 2, "{:?}", h.json);
    assert_eq!((versions[0]["state"].as_str(), versions[0]["ZL"].as_str()), (Some("current"), Some("v2")));
    assert_eq!(versions[1]["state"], "historical");
    assert!(versions[1]["valid_to"].is_string());
    assert_eq!(versions[1]["geometry"]["type"], "MultiPolygon", "old geometry kept");
    // The store itself refuses to destroy or rewrite history.
    let del = sqlx::query("DELETE FROM parcels").execute(&pool).await;
    assert!(del.is_err());
    let upd = sqlx::query("UPDATE parcels SET zl = 'rewritten' WHERE state = 'historical'").execute(&pool).await;
    assert!(upd.is_err());
    // Household edits likewise.
    let hh = bdcdyh(OWN, 101);
    let mut body = household_body(1, 101);
    body["SCJZMJ"] = json!(103.0);
    assert_eq!(put(&st, &format!("/api/households/{hh}"), &admin, &body).await.status, StatusCode::OK);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM households WHERE bdcdyh = $1")
        .bind(&hh)
        .fetch_one(&pool)
        .await
        .unwrap_or(-1);
    assert_eq!(n, 2);
}

/// The server works when connected as a login role that is only a member of
/// `cadastre_app` (the production set-up): the grants cover every write path.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_application_role_suffices_for_the_api(pool: PgPool) {
    let app_pool = app_role_pool(&pool, 2).await;
    let who: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&app_pool).await.unwrap_or_default();
    assert_eq!(who, "tile_server_test");
    assert!(tile_server::db::check_store_srid(&app_pool, 4549).await.is_ok());
    // Accounts are created by the owner (CLI); everything else goes through the app role.
    let owner_state = state(&pool);
    tile_server::auth::accounts::create_user(
        &owner_state.db,
        &tile_server::auth::accounts::NewUser {
            username: "boss",
            password: PASSWORD,
            role: Role::Admin,
            counties: &[OWN],
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let st = state(&app_pool);
    let admin = login(&st, json!({"username": "boss", "password": PASSWORD})).await;
    seed_county(&st, &admin, OWN).await;
    let edit = put(&st, &format!("/api/parcels/{}", zddm(OWN, 1)), &admin, &json!({"ZL": "v2"})).await;
    assert_eq!(edit.status, StatusCode::OK, "{:?}", edit.json);
    let surveyor = user_token(&st, "sur", Role::Surveyor, &[OWN]).await;
    let id = ready_submission(&st, &surveyor, OWN).await;
    let d = call(
        &st,
        Method::POST,
        &format!("/api/submissions/{id}/decision"),
        Some(&admin),
        Some(&json!({"decision": "return", "note": "补测"})),
    )
    .await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.json);
    for uri in [format!("/api/buildings/{}/table", zrzh(OWN)), "/api/changes".into(), "/api/search?zl=幸福".into()] {
        assert_eq!(get(&st, &uri, &admin).await.status, StatusCode::OK, "{uri}");
    }
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit ORDER BY audit_id").fetch_all(&pool).await.unwrap_or_default();
    // The admin's account and login, the seeded county, the edit; the surveyor's account and
    // login, the hand-in, the decision.
    let want = [
        "account.create_user",
        "auth.login",
        "parcel.create",
        "building.create",
        "household.create",
        "household.create",
        "parcel.update",
        "account.create_user",
        "auth.login",
        "submission.create",
        "submission.return",
    ];
    assert_eq!(actions, want);
    app_pool.close().await;
}

/// Concurrent edits of one parcel: each answers 200 or 409, never 5xx; exactly one
/// current version remains; every successful edit left a historical version and an
/// audit row.
#[sqlx::test(migrator = "MIGRATOR")]
async fn concurrent_edits_keep_one_current_version(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    let uri = format!("/api/parcels/{}", zddm(OWN, 1));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (st, admin, uri) = (st.clone(), admin.clone(), uri.clone());
            tokio::spawn(async move { put(&st, &uri, &admin, &json!({"ZL": format!("v{i}")})).await.status })
        })
        .collect();
    let mut ok = 0i64;
    for t in tasks {
        let status = t.await.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        assert!(status == StatusCode::OK || status == StatusCode::CONFLICT, "{status}");
        ok += i64::from(status == StatusCode::OK);
    }
    assert!(ok >= 1);
    let (current, total): (i64, i64) =
        sqlx::query_as("SELECT count(*) FILTER (WHERE state = 'current'), count(*) FROM parcels")
            .fetch_one(&pool)
            .await
            .unwrap_or((-1, -1));
    assert_eq!((current, total), (1, ok));
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit WHERE object_type = 'parcel'")
        .fetch_one(&pool)
        .await
        .unwrap_or(-1);
    assert_eq!(audited, ok);
}

/// `db::migrate` applies the store's and the unit-code crate's migrations, is
/// idempotent, and the application role may use the code registry but not delete from it.
#[sqlx::test(migrations = false)]
async fn migrate_includes_unit_code_tables_and_is_idempotent(pool: PgPool) {
    for round in 0..2 {
        tile_server::db::migrate(&pool).await.unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('uc_counter', 'uc_unit', 'parcels', 'audit') ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap_or_default();
    assert_eq!(tables, vec!["audit", "parcels", "uc_counter", "uc_unit"]);
    let privs: (bool, bool) = sqlx::query_as(
        "SELECT has_table_privilege('cadastre_app', 'uc_unit', 'INSERT'), has_table_privilege('cadastre_app', 'uc_unit', 'DELETE')",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or((false, true));
    assert_eq!(privs, (true, false));
}
