//! A cached tile costs no database work, but it keeps every check of the API:
//! a revoked token or a disabled account is refused at once although the tile
//! and the token are both cached, a client without spatial rights gets 403, a
//! caller over its rate limit gets 429, and a caller of another county never
//! gets this county's tile.

use axum::http::{Method, StatusCode};
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;

use crate::common::*;
use crate::tile_cache::seed_parcels;
use crate::tiles::{mercator, tile_of};

/// The z18 tile of parcel 1 (seeded by [`seed_parcels`] at x = 500 000).
async fn parcel_tile(pool: &PgPool) -> String {
    let (x, y) = tile_of(mercator(pool, 500_015.0, 3_300_015.0).await, 18);
    format!("/tiles/parcels/18/{x}/{y}.mvt")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn revoked_tokens_and_disabled_accounts_get_no_cached_tile(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_parcels(&st, &admin, &[0.0]).await;
    let viewer = user_token(&st, "viewer", Role::Surveyor, &[OWN]).await;
    let other = login(&st, serde_json::json!({"username": "viewer", "password": PASSWORD})).await;
    wait_listening(&st).await;
    let uri = parcel_tile(&pool).await;
    // Rendered once, then served from the cache to both of the viewer's tokens.
    eventually("the tile is cached", || async {
        let before = st.tiles.stats().hits;
        get(&st, &uri, &viewer).await.status == StatusCode::OK && st.tiles.stats().hits > before
    })
    .await;
    let hits = st.tiles.stats().hits;
    assert_eq!(get(&st, &uri, &other).await.status, StatusCode::OK);
    assert_eq!(st.tiles.stats().hits, hits + 1, "a cache hit");
    let cached = st.principals.clone().unwrap_or_else(|| panic!("token cache on by default"));
    assert!(cached.get_at(&viewer, std::time::Instant::now()).is_some(), "the token is cached too");

    // Revoked in SQL (another instance, an operator): refused, never served from either cache.
    sqlx::query("UPDATE tokens SET revoked_at = now() WHERE token_hash = $1")
        .bind(&tile_server::auth::token::hash_token(&viewer)[..])
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("revoke: {e}"));
    eventually_status(&st, &uri, &viewer, StatusCode::UNAUTHORIZED).await;
    assert_eq!(get(&st, &uri, &other).await.status, StatusCode::OK, "the other token is still good");

    // Logged out through this instance: refused on the very next request.
    assert_eq!(call(&st, Method::POST, "/api/auth/logout", Some(&other), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&st, &uri, &other).await.status, StatusCode::UNAUTHORIZED);

    // A disabled account: every token of it refused.
    let third = login(&st, serde_json::json!({"username": "viewer", "password": PASSWORD})).await;
    assert_eq!(get(&st, &uri, &third).await.status, StatusCode::OK);
    sqlx::query("UPDATE users SET disabled = TRUE WHERE username = 'viewer'")
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("disable: {e}"));
    eventually_status(&st, &uri, &third, StatusCode::UNAUTHORIZED).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn cached_tiles_keep_role_county_and_rate_checks(pool: PgPool) {
    let settings = Settings { default_rate_limit_per_minute: 5, ..Settings::default() };
    let st = state_with(&pool, settings);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_parcels(&st, &admin, &[0.0]).await;
    wait_listening(&st).await;
    let uri = parcel_tile(&pool).await;
    assert_eq!(get(&st, &uri, &admin).await.status, StatusCode::OK);
    assert_eq!(get(&st, &uri, &admin).await.status, StatusCode::OK);
    // The registration system's client: 403 (no coordinates), cached tile or not.
    let client = client_token(&st, "reg", &[OWN], Some(1000), &[]).await;
    let r = get(&st, &uri, &client).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    // Another county's user gets an empty tile, not the cached one.
    let stranger = user_token(&st, "stranger", Role::Surveyor, &[OTHER]).await;
    assert_eq!(get(&st, &uri, &stranger).await.status, StatusCode::NO_CONTENT);
    // The stranger has made one request of five; four more pass, the sixth is 429.
    for _ in 0..4 {
        assert_eq!(get(&st, &uri, &stranger).await.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(get(&st, &uri, &stranger).await.status, StatusCode::TOO_MANY_REQUESTS);
    let viewer = user_token(&st, "viewer", Role::Surveyor, &[OWN]).await;
    let hits = st.tiles.stats().hits;
    for _ in 0..5 {
        assert_eq!(get(&st, &uri, &viewer).await.status, StatusCode::OK);
    }
    assert_eq!(st.tiles.stats().hits, hits + 5, "all from the cache");
    assert_eq!(get(&st, &uri, &viewer).await.status, StatusCode::TOO_MANY_REQUESTS, "the limit holds on hits");
}
