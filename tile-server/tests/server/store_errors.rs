//! The store's errors at the HTTP edge: a constraint violation is recognised by the
//! constraint's name and answered with its status and stable code; a database failure
//! is answered `internal` without its text.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use sqlx::PgPool;
use tile_server::auth::accounts::{self, NewUser};
use tile_server::auth::Role;
use tile_server::db::accounts::{insert_user, Hashed, UserRecord};
use tile_server::db::{StoreError, MIGRATOR};
use tile_server::AppError;

use crate::common::*;

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_duplicate_account_name_is_409_conflict_by_its_constraint(pool: PgPool) {
    let user = NewUser { username: "wang", password: PASSWORD, role: Role::Surveyor, counties: &[OWN] };
    accounts::create_user(&pool, &user).await.unwrap_or_else(|e| panic!("{e}"));
    // The store names the unique key that refused the row.
    let record =
        UserRecord { username: "wang", password: Hashed("$argon2id$x"), role: Role::Reviewer, counties: &[OWN] };
    let err = insert_user(&pool, &record, "cli:test").await.err();
    assert!(
        matches!(&err, Some(StoreError::Duplicate { constraint, .. }) if constraint == "users_username_key"),
        "{err:?}"
    );
    // The account command answers 409 with the stable code, and the message says why.
    let err = accounts::create_user(&pool, &user).await.err().unwrap_or_else(|| panic!("a second wang was created"));
    assert!(matches!(err, AppError::Conflict(_)), "{err:?}");
    let resp = err.into_response();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!(json["error"]["code"], "conflict");
    assert_eq!(json["error"]["message"], "a user with this name already exists");
    let users: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE username = 'wang'").fetch_one(&pool).await.unwrap_or(0);
    assert_eq!(users, 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_check_constraint_is_422_and_an_unknown_role_never_reaches_the_store(pool: PgPool) {
    // `users_check`: the home county must be one of the counties.
    let hash = "$argon2id$x";
    let err = sqlx::query("INSERT INTO users (county, counties, username, password_hash, role) VALUES ('330102', '{330103}', 'li', $1, 'surveyor')")
        .bind(hash)
        .execute(&pool)
        .await
        .map_err(StoreError::db("creating user"))
        .err();
    assert!(matches!(&err, Some(StoreError::Check { constraint: Some(c), .. }) if c == "users_check"), "{err:?}");
    let resp = AppError::from(err.unwrap_or_else(|| panic!("no error"))).into_response();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// A failing statement (here: a table gone) is 500 `internal`; neither the SQL nor
/// the table's name reaches the client (the source is logged, see `error.rs`).
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_database_failure_is_500_without_its_text(pool: PgPool) {
    let st = state(&pool);
    let token = user_token(&st, "reader", Role::Surveyor, &[OWN]).await;
    assert_eq!(get(&st, "/api/summary", &token).await.status, StatusCode::OK);
    sqlx::query("ALTER TABLE sub_districts RENAME TO sub_districts_gone").execute(&pool).await.unwrap_or_default();
    let r = get(&st, "/api/summary", &token).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", r.json);
    assert_eq!(r.code(), "internal");
    let text = String::from_utf8_lossy(&r.bytes);
    assert!(!text.contains("sub_districts") && !text.contains("SELECT") && !text.contains("relation"), "{text}");
}

/// The review state machine's trigger refuses a transition by raising on
/// `submission_versions`: the store calls it a transition, the edge 409 `conflict`.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_refused_review_transition_is_409_conflict(pool: PgPool) {
    let st = state(&pool);
    let surveyor = user_token(&st, "sur", Role::Surveyor, &[OWN]).await;
    let id = ready_submission(&st, &surveyor, OWN).await;
    let err = sqlx::query("UPDATE submission_versions SET status = 'failed' WHERE submission_id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .map_err(StoreError::db("deciding a submission"))
        .err();
    assert!(matches!(&err, Some(StoreError::Transition(m)) if m.contains("ready -> failed")), "{err:?}");
    let resp = AppError::from(err.unwrap_or_else(|| panic!("no error"))).into_response();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
}

/// The server's pools hand out a busy connection without a ping, but one idle for
/// `PING_AFTER_IDLE` is pinged first: a session the database dropped meanwhile (a
/// restart, an administrator's `pg_terminate_backend`) is replaced, not handed to a request.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_pooled_session_dropped_while_idle_is_replaced_before_use(
    _: sqlx::postgres::PgPoolOptions,
    options: sqlx::postgres::PgConnectOptions,
) {
    let pool = tile_server::db::pool_options()
        .max_connections(1)
        .connect_with(options.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()").fetch_one(&pool).await.unwrap_or_else(|e| panic!("{e}"))
    };
    let first = pid(pool.clone()).await;
    assert_eq!(pid(pool.clone()).await, first, "one connection, reused");
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let gone: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&admin)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(gone);
    // Idle for longer than the limit (the only wait here, and its length is all it needs).
    tokio::time::sleep(tile_server::db::PING_AFTER_IDLE + std::time::Duration::from_millis(100)).await;
    let second = pid(pool.clone()).await;
    assert_ne!(second, first, "a fresh session");
}
