//! Tokens, the permission matrix, rate limits, IP allow-lists, body limits.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::auth::{Action, Role};
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;

use crate::common::*;

#[sqlx::test(migrator = "MIGRATOR")]
async fn login_gives_a_token_and_bad_credentials_are_401(pool: PgPool) {
    let st = state(&pool);
    let token = user_token(&st, "alice", Role::Surveyor, &[OWN]).await;
    assert_eq!(get(&st, &format!("/api/parcels?sub_district={OWN}001001"), &token).await.status, StatusCode::OK);
    for body in [
        json!({"username": "alice", "password": "wrong"}),
        json!({"username": "nobody", "password": PASSWORD}),
        json!({"client_id": "nobody", "client_secret": PASSWORD}),
    ] {
        let r = call(&st, Method::POST, "/api/auth/login", None, Some(&body)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(r.code(), "invalid_credentials");
    }
    let r = call(&st, Method::POST, "/api/auth/login", None, Some(&json!({"user": 1}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.json);
    // Only the hash is stored.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens WHERE token_hash = convert_to($1, 'UTF8')")
        .bind(&token)
        .fetch_one(&pool)
        .await
        .unwrap_or(-1);
    assert_eq!(stored, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn expired_revoked_and_disabled_tokens_are_refused(pool: PgPool) {
    // Default settings: tokens are cached, and changes made in SQL reach the cache
    // through the listener (milliseconds), so the refusals are polled for.
    let st = state(&pool);
    wait_listening(&st).await;
    let uri = format!("/api/parcels?sub_district={OWN}001001");
    let t1 = user_token(&st, "a", Role::Surveyor, &[OWN]).await;
    assert_eq!(get(&st, &uri, &t1).await.status, StatusCode::OK);
    sqlx::query("UPDATE tokens SET expires_at = now() - interval '1 second'").execute(&pool).await.unwrap_or_default();
    eventually_status(&st, &uri, &t1, StatusCode::UNAUTHORIZED).await;
    assert_eq!(get(&st, &uri, &t1).await.code(), "unauthenticated");

    let t2 = user_token(&st, "b", Role::Surveyor, &[OWN]).await;
    assert_eq!(get(&st, &uri, &t2).await.status, StatusCode::OK);
    sqlx::query("UPDATE users SET disabled = TRUE WHERE username = 'b'").execute(&pool).await.unwrap_or_default();
    eventually_status(&st, &uri, &t2, StatusCode::UNAUTHORIZED).await;

    assert_eq!(get(&st, &uri, "not-a-token").await.status, StatusCode::UNAUTHORIZED);

    let t3 = user_token(&st, "c", Role::Surveyor, &[OWN]).await;
    let out = call(&st, Method::POST, "/api/auth/logout", Some(&t3), None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&st, &uri, &t3).await.status, StatusCode::UNAUTHORIZED);
    let logouts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit WHERE action = 'auth.logout' AND actor = 'user:c'")
            .fetch_one(&pool)
            .await
            .unwrap_or(-1);
    assert_eq!(logouts, 1);
}

/// Guessing is limited per source address; failures on a name only slow it
/// down, so the real user, from another address, still gets in.
#[sqlx::test(migrator = "MIGRATOR")]
async fn password_guessing_is_limited_per_address_without_locking_the_account(pool: PgPool) {
    let st = state_with(&pool, Settings { login_attempts_per_minute_per_address: 3, ..Settings::default() });
    tile_server::auth::accounts::create_user(
        &pool,
        &tile_server::auth::accounts::NewUser {
            username: "victim",
            password: PASSWORD,
            role: Role::Admin,
            counties: &[OWN],
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let from = |ip: [u8; 4], body: &Value| {
        let mut req = request(Method::POST, "/api/auth/login", None, Some(body));
        req.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        req
    };
    let wrong = json!({"username": "victim", "password": "guess"});
    for i in 0..3 {
        let r = call_with(&st, from([10, 9, 9, 9], &wrong)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The attacker's address is now refused, even with the right password.
    let right = json!({"username": "victim", "password": PASSWORD});
    let r = call_with(&st, from([10, 9, 9, 9], &right)).await;
    assert_eq!((r.status, r.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // The victim, from their own address, is not locked out.
    let r = call_with(&st, from([10, 1, 1, 1], &right)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
}

/// Every documented endpoint except /health and the login refuses a request without a token.
#[sqlx::test(migrator = "MIGRATOR")]
async fn no_endpoint_without_a_token_except_health_and_login(pool: PgPool) {
    use utoipa::OpenApi;
    let st = state(&pool);
    let doc = serde_json::to_value(tile_server::http::openapi::ApiDoc::openapi()).unwrap_or_default();
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    assert!(paths.len() >= 12, "{paths:?}");
    let mut checked = 0;
    for (path, item) in &paths {
        let concrete = path
            .replace("{zddm}", &zddm(OWN, 1))
            .replace("{zrzh}", &zrzh(OWN))
            .replace("{bdcdyh}", &bdcdyh(OWN, 101))
            .replace("{id}", "1");
        for method in item.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            let m: Method = method.to_uppercase().parse().unwrap_or(Method::GET);
            let r = call(&st, m.clone(), &concrete, None, Some(&json!({}))).await;
            if path == "/health" || path == "/api/auth/login" || path == "/api/auth/password" {
                assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{m} {path}");
            } else {
                assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{m} {path}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 18, "only {checked} operations");
}

struct Case {
    method: Method,
    uri: fn(&str) -> String,
    body: Option<fn(&str) -> Value>,
    action: Action,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            method: Method::GET,
            uri: |c| format!("/api/parcels?sub_district={c}001001"),
            body: None,
            action: Action::ReadSpatial,
        },
        Case {
            method: Method::GET,
            uri: |c| format!("/api/parcels/{}", zddm(c, 1)),
            body: None,
            action: Action::ReadSpatial,
        },
        Case {
            method: Method::GET,
            uri: |c| format!("/api/parcels/{}/history", zddm(c, 1)),
            body: None,
            action: Action::ReadSpatial,
        },
        Case {
            method: Method::PUT,
            uri: |c| format!("/api/parcels/{}", zddm(c, 1)),
            body: Some(|_| json!({"ZL": "edited", "geometry": square(500_000.0, 3_300_000.0, 40.0)})),
            action: Action::WriteCadastre,
        },
        Case {
            method: Method::GET,
            uri: |c| format!("/api/buildings?zddm={}", zddm(c, 1)),
            body: None,
            action: Action::ReadSpatial,
        },
        Case {
            method: Method::GET,
            uri: |c| format!("/api/buildings/{}", zrzh(c)),
            body: None,
            action: Action::ReadSpatial,
        },
        Case {
            method: Method::PUT,
            uri: |c| format!("/api/buildings/{}", zrzh(c)),
            body: Some(|_| json!({"JZWMC": "edited", "floors": [{"SJC": 1, "MYC": "1"}]})),
            action: Action::WriteCadastre,
        },
        Case {
            method: Method::GET,
            uri: |c| format!("/api/buildings/{}/table", zrzh(c)),
            body: None,
            action: Action::ReadUnitTable,
        },
        Case {
            method: Method::GET,
            uri: |c| format!("/api/units/{}", bdcdyh(c, 101)),
            body: None,
            action: Action::ReadUnitTable,
        },
        Case {
            method: Method::PUT,
            uri: |c| format!("/api/households/{}", bdcdyh(c, 101)),
            // Without the owner fields: a role that may not see them may not overwrite them.
            body: Some(|_| {
                let mut b = household_body(1, 101);
                if let Some(m) = b.as_object_mut() {
                    m.remove("QLR");
                    m.remove("ZJH");
                }
                b
            }),
            action: Action::WriteCadastre,
        },
    ]
}

/// The expected matrix, written out independently of `Role::allows` so that a
/// change there fails this test: rows are roles, columns ReadSpatial,
/// ReadUnitTable, WriteCadastre, Submit, Review.
fn expected(role: Role, action: Action) -> bool {
    let row: [bool; 5] = match role {
        Role::Surveyor => [true, true, false, true, false],
        Role::Reviewer => [true, true, false, false, true],
        Role::Importer => [true, true, true, false, false],
        Role::Admin => [true, true, true, true, true],
        Role::Registration => [false, true, false, false, false],
    };
    match action {
        Action::ReadSpatial => row[0],
        Action::ReadUnitTable => row[1],
        Action::WriteCadastre => row[2],
        Action::Submit => row[3],
        Action::Review => row[4],
        Action::SeePii => matches!(role, Role::Reviewer | Role::Admin),
        Action::WriteLegalStatus => role == Role::Admin,
    }
}

/// Role × endpoint × own/other county.
#[sqlx::test(migrator = "MIGRATOR")]
async fn permission_matrix(pool: PgPool) {
    let st = state(&pool);
    let admin_own = user_token(&st, "admin-own", Role::Admin, &[OWN]).await;
    let admin_other = user_token(&st, "admin-other", Role::Admin, &[OWN, OTHER]).await;
    seed_county(&st, &admin_own, OWN).await;
    seed_county(&st, &admin_other, OTHER).await;
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let t = if role == Role::Registration {
            client_token(&st, "reg", &[OWN], None, &[]).await
        } else {
            user_token(&st, &format!("u-{}", role.as_str()), role, &[OWN]).await
        };
        tokens.push((role, t));
    }
    let mut checked = 0;
    for (role, token) in &tokens {
        for case in cases() {
            for county in [OWN, OTHER] {
                let uri = (case.uri)(county);
                let body = case.body.map(|b| b(county));
                let r = call(&st, case.method.clone(), &uri, Some(token), body.as_ref()).await;
                let what = format!("{role:?} {} {uri}: {:?}", case.method, r.json);
                if !expected(*role, case.action) {
                    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{what}");
                } else if county == OTHER {
                    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "county_forbidden"), "{what}");
                } else {
                    assert!(r.status.is_success(), "{what}");
                }
                checked += 1;
            }
        }
        // Review endpoints: listing is scoped (surveyors see their own), deciding another
        // county's submission is refused.
        let r = get(&st, "/api/submissions", token).await;
        let may_list = expected(*role, Action::Review) || expected(*role, Action::Submit);
        let want = if may_list { StatusCode::OK } else { StatusCode::FORBIDDEN };
        assert_eq!(r.status, want, "{role:?} list submissions");
        if r.status == StatusCode::OK {
            let items = r.json["items"].as_array().cloned().unwrap_or_default();
            assert!(items.iter().all(|s| s["county"] == OWN), "{role:?} saw another county: {items:?}");
        }
        // Handing in: a package of the caller's county, or of another.
        for county in [OWN, OTHER] {
            let r = post_package(&st, token, package_for(county)).await;
            let want = if !expected(*role, Action::Submit) {
                (StatusCode::FORBIDDEN, "forbidden")
            } else if county == OTHER {
                (StatusCode::FORBIDDEN, "county_forbidden")
            } else {
                (StatusCode::ACCEPTED, "")
            };
            assert_eq!((r.status, r.code()), want, "{role:?} hand in for {county}: {:?}", r.json);
            checked += 1;
        }
        for county in [OWN, OTHER] {
            let admin = if county == OWN { &admin_own } else { &admin_other };
            let id = ready_submission(&st, admin, county).await;
            let d = call(
                &st,
                Method::POST,
                &format!("/api/submissions/{id}/decision"),
                Some(token),
                Some(&json!({"decision": "return", "note": "退回"})),
            )
            .await;
            let want = if !expected(*role, Action::Review) {
                (StatusCode::FORBIDDEN, "forbidden")
            } else if county == OTHER {
                (StatusCode::FORBIDDEN, "county_forbidden")
            } else {
                (StatusCode::OK, "")
            };
            assert_eq!((d.status, d.code()), want, "{role:?} decide in {county}: {:?}", d.json);
            checked += 1;
        }
    }
    assert_eq!(checked, 5 * (10 * 2 + 2 + 2));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn per_client_rate_limit(pool: PgPool) {
    let st = state(&pool);
    let limited = client_token(&st, "slow", &[OWN], Some(3), &[]).await;
    let other = client_token(&st, "fast", &[OWN], None, &[]).await;
    let uri = "/api/changes";
    for i in 0..3 {
        assert_eq!(get(&st, uri, &limited).await.status, StatusCode::OK, "request {i}");
    }
    let r = get(&st, uri, &limited).await;
    assert_eq!((r.status, r.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    let retry: u64 =
        r.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!((1..=20).contains(&retry), "Retry-After {retry}");
    assert_eq!(get(&st, uri, &other).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn ip_allow_list(pool: PgPool) {
    let st = state(&pool);
    let token = client_token(&st, "reg", &[OWN], None, &["10.0.0.0/8"]).await;
    let from = |ip: Option<&str>| {
        let mut req = request(Method::GET, "/api/changes", Some(&token), None);
        if let Some(ip) = ip {
            let addr: SocketAddr = format!("{ip}:40000").parse().unwrap_or_else(|e| panic!("{e}"));
            req.extensions_mut().insert(ConnectInfo(addr));
        }
        req
    };
    assert_eq!(call_with(&st, from(Some("10.1.2.3"))).await.status, StatusCode::OK);
    let r = call_with(&st, from(Some("192.168.1.1"))).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "ip_not_allowed"));
    assert_eq!(call_with(&st, from(None)).await.status, StatusCode::FORBIDDEN);
    // A user without a list is not restricted.
    let u = user_token(&st, "u", Role::Surveyor, &[OWN]).await;
    let mut req = request(Method::GET, "/api/changes", Some(&u), None);
    req.extensions_mut().insert(ConnectInfo(SocketAddr::from(([192, 168, 1, 1], 1))));
    assert_eq!(call_with(&st, req).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn request_body_limit(pool: PgPool) {
    let st = state_with(&pool, Settings { max_body_bytes: 4096, ..Settings::default() });
    let admin = user_token(&st, "admin", Role::Admin, &[OWN]).await;
    let big = json!({"ZL": "x".repeat(10_000)});
    let r = put(&st, &format!("/api/parcels/{}", zddm(OWN, 1)), &admin, &big).await;
    assert_eq!((r.status, r.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{:?}", r.bytes.len());
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM parcels").fetch_one(&pool).await.unwrap_or(-1);
    assert_eq!(n, 0);
}
