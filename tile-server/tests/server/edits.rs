//! Issue #14: rules of edits (field-level write rules, partial updates,
//! If-Match, concurrent versions, limits at the edge, CRS of GeoJSON),
//! sessions and passwords, and SM4 at rest.

use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::config::Settings;
use tile_server::crypto::PiiCipher;
use tile_server::db::MIGRATOR;
use tile_server::AppState;

use crate::common::*;

async fn put_if(st: &AppState, uri: &str, token: &str, body: &Value, if_match: &str) -> Resp {
    let mut req = request(Method::PUT, uri, Some(token), Some(body));
    req.headers_mut().insert(header::IF_MATCH, if_match.parse().unwrap_or_else(|e| panic!("{e}")));
    call_with(st, req).await
}

fn etag(r: &Resp) -> String {
    r.headers.get(header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Item 5: an importer (who may not see owner data) can neither lift 查封/抵押
/// nor overwrite 权利人/证件号; a partial update changes only what it names.
#[sqlx::test(migrator = "MIGRATOR")]
async fn legal_status_and_owner_data_are_written_only_by_roles_that_may(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let uri = format!("/api/households/{}", bdcdyh(OWN, 101));
    let sealed = put(&st, &uri, &admin, &json!({"sealed": true, "mortgaged": true})).await;
    assert_eq!(sealed.status, StatusCode::OK, "{:?}", sealed.json);
    let importer = user_token(&st, "imp", Role::Importer, &[OWN]).await;
    for body in [json!({"sealed": false}), json!({"mortgaged": false}), json!({"ZL": "x", "sealed": false})] {
        let r = put(&st, &uri, &importer, &body).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{body}");
    }
    for body in [json!({"QLR": null}), json!({"ZJH": "110101199001011234"}), json!({"QLR": "李四", "ZL": "y"})] {
        let r = put(&st, &uri, &importer, &body).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{body}");
    }
    // Echoing the flags it read is fine; so is a partial edit of what it may write.
    let r = put(&st, &uri, &importer, &json!({"SCJZMJ": 104.5, "sealed": true, "mortgaged": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let now = get(&st, &format!("/api/households/{}", bdcdyh(OWN, 101)), &admin).await;
    let h = &now.json;
    assert_eq!(
        (h["SCJZMJ"].as_f64(), h["sealed"].as_bool(), h["mortgaged"].as_bool()),
        (Some(104.5), Some(true), Some(true))
    );
    // Nothing it did not name changed: owner data, other areas, room, address.
    assert_eq!((h["QLR"].as_str(), h["ZJH"].as_str()), (Some("张三丰"), Some("330102199001011234")));
    assert_eq!((h["SCTNJZMJ"].as_f64(), h["FTXS"].as_f64(), h["SHBW"].as_str()), (Some(89.5), Some(0.15), Some("101")));
    assert_eq!(h["ZL"].as_str(), Some("幸福路1号1幢1单元101室"));
    // An explicit null clears a nullable field; the admin may lift the seal.
    let r = put(&st, &uri, &admin, &json!({"HX": null, "sealed": false})).await;
    assert_eq!(
        (r.status, r.json["HX"].clone(), r.json["sealed"].as_bool()),
        (StatusCode::OK, Value::Null, Some(false))
    );
    // Parcels and buildings: a partial edit keeps the geometry and the other fields.
    let p = put(&st, &format!("/api/parcels/{}", zddm(OWN, 1)), &admin, &json!({"ZL": "新坐落"})).await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!((p.json["ZDMJ"].as_f64(), p.json["YT"].as_str()), (Some(1000.0), Some("0701")));
    assert_eq!(p.json["geometry"]["type"].as_str(), Some("MultiPolygon"));
    let b = put(&st, &format!("/api/buildings/{}", zrzh(OWN)), &admin, &json!({"JZWMC": "2号楼"})).await;
    assert_eq!(
        (b.status, b.json["DSCS"].as_i64(), b.json["ZL"].as_str()),
        (StatusCode::OK, Some(2), Some("330102幸福路1号1幢"))
    );
    let table = get(&st, &format!("/api/buildings/{}/table", zrzh(OWN)), &admin).await;
    assert_eq!(table.json["rows"].as_array().map(Vec::len), Some(2), "floors kept");
}

/// Item 6: If-Match on every PUT (412 when another version is current), and
/// concurrent writers of one object queue instead of failing.
#[sqlx::test(migrator = "MIGRATOR")]
async fn if_match_prevents_lost_updates_and_concurrent_puts_serialise(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    for (get_uri, put_uri, edit) in [
        (format!("/api/parcels/{}", zddm(OWN, 1)), format!("/api/parcels/{}", zddm(OWN, 1)), json!({"ZL": "a"})),
        (format!("/api/buildings/{}", zrzh(OWN)), format!("/api/buildings/{}", zrzh(OWN)), json!({"ZL": "b"})),
        (
            format!("/api/households/{}", bdcdyh(OWN, 101)),
            format!("/api/households/{}", bdcdyh(OWN, 101)),
            json!({"ZL": "c"}),
        ),
    ] {
        let read = get(&st, &get_uri, &admin).await;
        let tag = etag(&read);
        assert!(tag.starts_with("W/\"v"), "{get_uri}: {tag:?}");
        let first = put_if(&st, &put_uri, &admin, &edit, &tag).await;
        assert_eq!(first.status, StatusCode::OK, "{:?}", first.json);
        assert_ne!(etag(&first), tag);
        // The second editor worked from the same read: refused, nothing lost.
        let second = put_if(&st, &put_uri, &admin, &json!({"ZL": "lost"}), &tag).await;
        assert_eq!((second.status, second.code()), (StatusCode::PRECONDITION_FAILED, "precondition_failed"));
        assert_eq!(put_if(&st, &put_uri, &admin, &edit, "\"bogus\"").await.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(put_if(&st, &put_uri, &admin, &edit, &etag(&first)).await.status, StatusCode::OK);
        assert_eq!(put_if(&st, &put_uri, &admin, &edit, "*").await.status, StatusCode::OK);
    }
    let new_unit = format!("/api/households/{}", bdcdyh(OWN, 301));
    assert_eq!(
        put_if(&st, &new_unit, &admin, &household_body(3, 301), "*").await.status,
        StatusCode::PRECONDITION_FAILED
    );
    // 30 concurrent PUTs of one new household: all succeed, one after another.
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (st, admin, uri) = (st.clone(), admin.clone(), new_unit.clone());
        tasks.push(tokio::spawn(async move {
            let mut body = household_body(3, 301);
            body["SCJZMJ"] = json!(100.0 + f64::from(i));
            put(&st, &uri, &admin, &body).await
        }));
    }
    for t in tasks {
        let r = t.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    }
    let (current, total): (i64, i64) =
        sqlx::query_as("SELECT count(*) FILTER (WHERE state = 'current'), count(*) FROM households WHERE bdcdyh = $1")
            .bind(bdcdyh(OWN, 301))
            .fetch_one(&pool)
            .await
            .unwrap_or_default();
    assert_eq!((current, total), (1, 30));
    // 30 concurrent PUTs from the same read: exactly one wins, the others get 412.
    let tag = etag(&get(&st, &new_unit, &admin).await);
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (st, admin, uri, tag) = (st.clone(), admin.clone(), new_unit.clone(), tag.clone());
        tasks.push(tokio::spawn(async move {
            put_if(&st, &uri, &admin, &json!({"FTXS": 0.01 * f64::from(i)}), &tag).await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.map(|r| r.status.as_u16()).unwrap_or(0));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![200], vec![412; 29]].concat());
}

/// Item 7 and the smaller ones: texts over their limit are 422 naming the limit,
/// a long 坐落 stored by other means is indexed and found, negative areas and
/// geometry in degrees or another CRS are refused, an oversized body is a JSON 413.
#[sqlx::test(migrator = "MIGRATOR")]
async fn limits_are_checked_at_the_edge(pool: PgPool) {
    let st = state_with(&pool, Settings { max_body_bytes: 64 * 1024, ..Settings::default() });
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let long = "幸".repeat(3000);
    for (uri, body) in [
        (format!("/api/households/{}", bdcdyh(OWN, 101)), json!({"ZL": long})),
        (format!("/api/parcels/{}", zddm(OWN, 1)), json!({"ZL": long})),
        (format!("/api/buildings/{}", zrzh(OWN)), json!({"ZL": long})),
        (format!("/api/buildings/{}", zrzh(OWN)), json!({"JZWMC": "楼".repeat(101)})),
        (format!("/api/households/{}", bdcdyh(OWN, 101)), json!({"QLR": "张".repeat(101)})),
    ] {
        let r = put(&st, &uri, &admin, &body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}");
        let msg = r.json["error"]["message"].as_str().unwrap_or_default().to_owned();
        assert!(msg.contains("limit is 255") || msg.contains("limit is 100"), "{msg}");
    }
    // A long address written by the importer or SQL: stored, indexed, found.
    sqlx::query("UPDATE households SET zl = $1 WHERE bdcdyh = $2 AND state = 'current'")
        .bind(format!("{long}长街"))
        .bind(bdcdyh(OWN, 201))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("a long 坐落 must be storable: {e}"));
    let hits = get(&st, "/api/search?zl=幸幸长街", &admin).await;
    assert_eq!(hits.json["total"].as_i64(), Some(1), "{:?}", hits.json);
    // Among 9,000 other households, the address search uses the trigram index.
    sqlx::query(
        "INSERT INTO households (county, bdcdyh, zrzh, sjc, myc, zl)
         SELECT '330102', '330102001001GB00009F0001' || lpad(i::text, 4, '0'), '330102001001GB00009F0001', 1, '1',
                '和平路' || i || '号'
         FROM generate_series(1, 9000) AS i",
    )
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // What autovacuum does in production: move new entries out of GIN's pending list.
    sqlx::query("SELECT gin_clean_pending_list('households_zl_trgm')").execute(&pool).await.unwrap_or_default();
    sqlx::query("ANALYZE households").execute(&pool).await.unwrap_or_default();
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT bdcdyh FROM households
         WHERE county = ANY('{330102}'::char(6)[]) AND state = 'current' AND zl LIKE '%幸幸长街%'",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap_or_default();
    assert!(plan.iter().any(|l| l.contains("households_zl_trgm")), "{plan:?}");
    tx.rollback().await.unwrap_or_default();
    // Negative areas.
    for (uri, body) in [
        (format!("/api/parcels/{}", zddm(OWN, 1)), json!({"ZDMJ": -1.0})),
        (format!("/api/buildings/{}", zrzh(OWN)), json!({"SCJZMJ": -0.5})),
        (format!("/api/households/{}", bdcdyh(OWN, 101)), json!({"SCTNJZMJ": -3.0})),
    ] {
        let r = put(&st, &uri, &admin, &body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri} {:?}", r.json);
    }
    // Geometry not in the store CRS (EPSG:4549 here).
    let degrees =
        json!({"type": "Polygon", "coordinates": [[[120.1, 30.2], [120.2, 30.2], [120.2, 30.3], [120.1, 30.2]]]});
    let mut named = square(500_000.0, 3_300_000.0, 40.0);
    named["crs"] = json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}});
    for g in [degrees, named] {
        let r = put(&st, &format!("/api/parcels/{}", zddm(OWN, 1)), &admin, &json!({"geometry": g})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.json);
        let r = put(&st, &format!("/api/buildings/{}", zrzh(OWN)), &admin, &json!({"geometry": g})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.json);
    }
    // A body over the limit, announced by Content-Length: 413 in the JSON error form.
    let mut req = request(Method::PUT, &format!("/api/parcels/{}", zddm(OWN, 1)), Some(&admin), None);
    *req.body_mut() = axum::body::Body::from(vec![b' '; 100 * 1024]);
    req.headers_mut().insert(header::CONTENT_TYPE, "application/json".parse().unwrap_or_else(|e| panic!("{e}")));
    req.headers_mut()
        .insert(header::CONTENT_LENGTH, (100 * 1024).to_string().parse().unwrap_or_else(|e| panic!("{e}")));
    let r = call_with(&st, req).await;
    assert_eq!((r.status, r.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    assert_eq!(r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("application/json"));
    // Over-long login names and passwords are refused before anything else.
    let r =
        call(&st, Method::POST, "/api/auth/login", None, Some(&json!({"username": "x".repeat(65), "password": "p"})))
            .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(st.security.logins.sizes(), (1, 0), "nothing about the refused name is kept");
}

/// Item 10: idle sessions end, a user holds at most `max_sessions_per_user`,
/// passwords have a minimum strength, can be changed (ending every session)
/// and expire.
#[sqlx::test(migrator = "MIGRATOR")]
async fn sessions_idle_out_are_capped_and_passwords_change_and_expire(pool: PgPool) {
    let settings = Settings { token_cache_seconds: 0, max_sessions_per_user: 2, ..Settings::default() };
    let st = state_with(&pool, settings);
    let uri = "/api/changes";
    let t1 = user_token(&st, "alice", Role::Surveyor, &[OWN]).await;
    assert_eq!(get(&st, uri, &t1).await.status, StatusCode::OK);
    // Idle for longer than session_idle_minutes (30): refused.
    sqlx::query("UPDATE token_activity SET last_used_at = now() - interval '31 minutes'")
        .execute(&pool)
        .await
        .unwrap_or_default();
    assert_eq!(get(&st, uri, &t1).await.status, StatusCode::UNAUTHORIZED);
    // Sessions are capped: a third login ends the oldest.
    let body = json!({"username": "alice", "password": PASSWORD});
    let t2 = login(&st, body.clone()).await;
    let t3 = login(&st, body.clone()).await;
    let t4 = login(&st, body.clone()).await;
    assert_eq!(get(&st, uri, &t2).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&st, uri, &t3).await.status, StatusCode::OK);
    assert_eq!(get(&st, uri, &t4).await.status, StatusCode::OK);
    // Weak passwords are refused, at creation and at change.
    let weak = tile_server::auth::accounts::create_user(
        &pool,
        &tile_server::auth::accounts::NewUser {
            username: "bob",
            password: "aaaaaaaa",
            role: Role::Surveyor,
            counties: &[OWN],
        },
    )
    .await;
    assert!(weak.is_err());
    let change =
        |current: &str, new: &str| json!({"username": "alice", "current_password": current, "new_password": new});
    let r = call(&st, Method::POST, "/api/auth/password", None, Some(&change(PASSWORD, "aaaaaaaaaaaa"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = call(&st, Method::POST, "/api/auth/password", None, Some(&change("Wrong-password-1", "New-Passw0rd-2026")))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&st, Method::POST, "/api/auth/password", None, Some(&change(PASSWORD, "New-Passw0rd-2026"))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.json);
    assert_eq!(get(&st, uri, &t4).await.status, StatusCode::UNAUTHORIZED, "sessions end with the change");
    let old = call(&st, Method::POST, "/api/auth/login", None, Some(&body)).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let t5 = login(&st, json!({"username": "alice", "password": "New-Passw0rd-2026"})).await;
    assert_eq!(get(&st, uri, &t5).await.status, StatusCode::OK);
    // Expiry: after password_max_age_days (90) the login is refused until a change.
    sqlx::query("UPDATE users SET password_changed_at = now() - interval '91 days' WHERE username = 'alice'")
        .execute(&pool)
        .await
        .unwrap_or_default();
    let expired = call(
        &st,
        Method::POST,
        "/api/auth/login",
        None,
        Some(&json!({"username": "alice", "password": "New-Passw0rd-2026"})),
    )
    .await;
    assert_eq!((expired.status, expired.code()), (StatusCode::FORBIDDEN, "password_expired"));
    let r = call(
        &st,
        Method::POST,
        "/api/auth/password",
        None,
        Some(&json!({
            "username": "alice", "current_password": "New-Passw0rd-2026", "new_password": "Third-Passw0rd-x"
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    login(&st, json!({"username": "alice", "password": "Third-Passw0rd-x"})).await;
    // An administrator's forced expiry.
    tile_server::auth::accounts::expire_password(&pool, "alice", "cli:ops").await.unwrap_or_else(|e| panic!("{e}"));
    let r = call(
        &st,
        Method::POST,
        "/api/auth/login",
        None,
        Some(&json!({"username": "alice", "password": "Third-Passw0rd-x"})),
    )
    .await;
    assert_eq!(r.code(), "password_expired");
}

/// SM4-GCM at rest: owner data written under SM4 records its algorithm, and a
/// server holding both keys reads values of either.
#[sqlx::test(migrator = "MIGRATOR")]
async fn owner_data_can_be_encrypted_with_sm4(pool: PgPool) {
    let aes = "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk="; // [9; 32], the tests' AES key
    let sm4_only = PiiCipher::from_base64("sm4-gcm:BQUFBQUFBQUFBQUFBQUFBQ==").unwrap_or_else(|e| panic!("{e}"));
    let both = PiiCipher::from_base64(&format!("sm4-gcm:BQUFBQUFBQUFBQUFBQUFBQ==\naes-256-gcm:{aes}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let aes_state = state(&pool);
    let admin = user_token(&aes_state, "boss", Role::Admin, &[OWN]).await;
    seed_county(&aes_state, &admin, OWN).await; // two households under AES
    let sm4_state = AppState::new(pool.clone(), Settings::default(), both);
    let mut body = household_body(2, 202);
    body["QLR"] = json!("国密测试");
    assert_eq!(
        put(&sm4_state, &format!("/api/households/{}", bdcdyh(OWN, 202)), &admin, &body).await.status,
        StatusCode::OK
    );
    let algs: Vec<(String, i32)> = sqlx::query_as(
        "SELECT bdcdyh::text, get_byte(qlr_enc, 1) FROM households WHERE state = 'current' ORDER BY bdcdyh",
    )
    .fetch_all(&pool)
    .await
    .unwrap_or_default();
    assert_eq!(algs.iter().map(|a| a.1).collect::<Vec<_>>(), vec![1, 1, 2], "{algs:?}");
    for (room, name) in [(101, "张三丰"), (202, "国密测试")] {
        let r = get(&sm4_state, &format!("/api/households/{}", bdcdyh(OWN, room)), &admin).await;
        assert_eq!(r.json["QLR"].as_str(), Some(name));
    }
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT qlr_enc FROM households WHERE bdcdyh = $1 AND state = 'current'")
        .bind(bdcdyh(OWN, 202))
        .fetch_one(&pool)
        .await
        .unwrap_or_default();
    assert_eq!(sm4_only.decrypt(&sealed).ok().as_deref(), Some("国密测试"));
    assert!(aes_state.pii.decrypt(&sealed).is_err(), "the AES key alone cannot read SM4 values");
}
