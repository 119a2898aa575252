//! The change feed never skips a transaction that commits after a later-numbered one.

use axum::http::StatusCode;
use serde_json::json;
use sqlx::{Connection, PgPool};
use tile_server::auth::Role;

use crate::common::*;
use tile_server::db::MIGRATOR;

fn actions(r: &Resp) -> Vec<String> {
    r.json["items"].as_array().into_iter().flatten().filter_map(|c| c["action"].as_str().map(str::to_owned)).collect()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_slow_transaction_is_not_skipped_by_a_faster_later_one(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    // Start after everything seeded: other tests' open transactions on the cluster may
    // still be holding some of it back.
    let cursor = caught_up_cursor(&st, &admin, OWN).await;
    assert!(cursor > 0);

    // A slow writer takes its audit id first and stays open...
    let mut slow = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(
        "INSERT INTO audit (county, actor, actor_role, action, object_type, object_key)
         VALUES ($1, 'user:slow', 'admin', 'parcel.slow', 'parcel', $2)",
    )
    .bind(OWN)
    .bind(zddm(OWN, 1))
    .execute(&mut *slow)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // ...while a fast one writes and commits after it.
    let r = put(&st, &format!("/api/parcels/{}", zddm(OWN, 1)), &admin, &json!({"ZL": "快"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);

    // The fast change is held back until the slow transaction is over.
    let during = get(&st, &format!("/api/changes?since={cursor}"), &admin).await;
    assert_eq!(actions(&during), Vec::<String>::new(), "{:?}", during.json);
    assert_eq!(during.json["next_cursor"].as_i64(), Some(cursor));

    slow.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let after = changes_page(&st, &format!("/api/changes?since={cursor}"), &admin, 2).await;
    assert_eq!(actions(&after), ["parcel.slow", "parcel.update"], "{:?}", after.json);
}

/// Why tests wait for the feed: a transaction open in another database of the cluster
/// holds back rows committed in this one (transaction ids and `pg_snapshot_xmin` are
/// cluster-wide), and they appear once it ends.
#[sqlx::test(migrator = "MIGRATOR")]
async fn another_databases_open_transaction_holds_rows_back_until_it_ends(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    let options = pool.connect_options().as_ref().clone().database("postgres");
    let mut elsewhere = sqlx::PgConnection::connect_with(&options).await.unwrap_or_else(|e| panic!("{e}"));
    let mut blocker = elsewhere.begin().await.unwrap_or_else(|e| panic!("{e}"));
    // An xid is assigned at the first write (or txid_current()), not at BEGIN.
    sqlx::query("SELECT txid_current()").execute(&mut *blocker).await.unwrap_or_else(|e| panic!("{e}"));

    seed_county(&st, &admin, OWN).await;
    let held = get(&st, "/api/changes?since=0&limit=1000", &admin).await;
    assert_eq!(actions(&held), Vec::<String>::new(), "{:?}", held.json);

    blocker.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    let cursor = caught_up_cursor(&st, &admin, OWN).await;
    let all = get(&st, "/api/changes?since=0&limit=1000", &admin).await;
    assert_eq!(actions(&all), ["parcel.create", "building.create", "household.create", "household.create"]);
    assert_eq!(all.json["next_cursor"].as_i64(), Some(cursor));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_unknown_cursor_is_a_bad_request(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    let r = get(&st, "/api/changes?since=987654", &admin).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{:?}", r.json);
}
