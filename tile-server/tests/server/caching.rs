//! The building-table cache and the token cache never serve a stale answer
//! where they promise not to: with the caches off (`0`), every request is
//! exact; with the defaults (on), writes through this instance are seen at once
//! and others as soon as their notification arrives (see also `coherence.rs`).

use axum::http::{header, Method, StatusCode};
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;

use crate::common::*;

fn table_uri() -> String {
    format!("/api/buildings/{}/table", zrzh(OWN))
}

/// The exact mode: both caches off, every request checks token and fingerprint.
fn exact() -> Settings {
    Settings { token_cache_seconds: 0, table_revalidate_ms: 0, ..Settings::default() }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn with_caches_off_every_request_sees_writes_made_behind_the_servers_back(pool: PgPool) {
    // table_revalidate_ms = 0: the fingerprint is checked on every request.
    let st = state_with(&pool, exact());
    assert!(st.principals.is_none());
    assert!(!st.sync.is_listening() && st.sync.connects() == 0, "nothing to keep coherent, no listener");
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let client = client_token(&st, "reg", &[OWN], None, &[]).await;
    let first = get(&st, &table_uri(), &client).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(get(&st, &table_uri(), &client).await.bytes, first.bytes, "served again from the cache");
    // An import or another instance changes a household in SQL, in place.
    let changed = sqlx::query("UPDATE households SET zl = '改过的坐落' WHERE bdcdyh = $1 AND state = 'current'")
        .bind(bdcdyh(OWN, 101))
        .execute(&pool)
        .await
        .map(|r| r.rows_affected())
        .unwrap_or(0);
    assert_eq!(changed, 1);
    let after = get(&st, &table_uri(), &client).await;
    assert!(String::from_utf8_lossy(&after.bytes).contains("改过的坐落"));
    assert_ne!(after.headers.get(header::ETAG), first.headers.get(header::ETAG));
    // A household retired without a successor disappears from the table.
    sqlx::query("UPDATE households SET state = 'historical', valid_to = now() WHERE bdcdyh = $1 AND state = 'current'")
        .bind(bdcdyh(OWN, 201))
        .execute(&pool)
        .await
        .unwrap_or_default();
    let fewer = get(&st, &table_uri(), &client).await;
    assert_eq!(fewer.json["household_count"], 1);
    // Masked and unmasked tables are separate entries.
    let full = get(&st, &table_uri(), &admin).await;
    assert!(String::from_utf8_lossy(&full.bytes).contains("张三丰"));
    assert!(!String::from_utf8_lossy(&get(&st, &table_uri(), &client).await.bytes).contains("张三丰"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn revalidation_window_still_shows_this_servers_writes_at_once(pool: PgPool) {
    let st = state_with(&pool, Settings { table_revalidate_ms: 60_000, ..Settings::default() });
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let before = get(&st, &table_uri(), &admin).await;
    assert_eq!(before.json["household_count"], 2);
    let tag = before.headers.get(header::ETAG).cloned();
    // 304 from the handler's own ETag.
    let mut req = request(Method::GET, &table_uri(), Some(&admin), None);
    if let Some(t) = &tag {
        req.headers_mut().insert(header::IF_NONE_MATCH, t.clone());
    }
    assert_eq!(call_with(&st, req).await.status, StatusCode::NOT_MODIFIED);
    let r = put(&st, &format!("/api/households/{}", bdcdyh(OWN, 102)), &admin, &household_body(1, 102)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let after = get(&st, &table_uri(), &admin).await;
    assert_eq!(after.json["household_count"], 3, "the write through this server invalidated the entry");
    assert_ne!(after.headers.get(header::ETAG).cloned(), tag);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn token_cache_is_on_by_default_and_logout_evicts_at_once(pool: PgPool) {
    let st = state(&pool);
    wait_listening(&st).await;
    let t = user_token(&st, "c", Role::Surveyor, &[OWN]).await;
    assert_eq!(get(&st, "/api/summary", &t).await.status, StatusCode::OK);
    let cache = st.principals.clone().unwrap_or_else(|| panic!("the token cache is on by default"));
    assert!(cache.get_at(&t, std::time::Instant::now()).is_some(), "the resolved token was cached");
    let out = call(&st, Method::POST, "/api/auth/logout", Some(&t), None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    // Synchronous for this instance: the very next request is refused.
    assert_eq!(get(&st, "/api/summary", &t).await.status, StatusCode::UNAUTHORIZED);
    assert!(state_with(&pool, exact()).principals.is_none(), "0 still turns it off");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn clients_that_accept_gzip_get_the_cached_compressed_table(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let client = client_token(&st, "reg", &[OWN], None, &[]).await;
    let plain = get(&st, &table_uri(), &client).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
    let with = |accept: &'static str| {
        let mut req = request(Method::GET, &table_uri(), Some(&client), None);
        req.headers_mut().insert(header::ACCEPT_ENCODING, axum::http::HeaderValue::from_static(accept));
        call_with(&st, req)
    };
    for accept in ["gzip", "br;q=1.0, gzip;q=0.8", "*"] {
        let zipped = with(accept).await;
        assert_eq!(zipped.status, StatusCode::OK, "{accept}");
        assert_eq!(zipped.headers.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()), Some(&b"gzip"[..]), "{accept}");
        assert_eq!(zipped.headers.get(header::ETAG), plain.headers.get(header::ETAG), "same table, same tag");
        let mut json = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&zipped.bytes[..]), &mut json)
            .unwrap_or_else(|e| panic!("{accept}: not gzip: {e}"));
        assert_eq!(json, plain.bytes.to_vec(), "{accept}: the same JSON");
        assert!(zipped.bytes.len() < plain.bytes.len(), "{accept}: compressed");
    }
    // Refused with q=0, or another coding only: the plain JSON.
    for accept in ["gzip;q=0", "br"] {
        let r = with(accept).await;
        assert!(r.headers.get(header::CONTENT_ENCODING).is_none(), "{accept}");
        assert_eq!(r.bytes, plain.bytes, "{accept}");
    }
}
