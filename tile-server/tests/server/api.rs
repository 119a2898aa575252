//! API behaviour: personal data, ETags, pagination, no coordinates for the
//! registration system, OpenAPI coverage, search, change feed, store SRID.

use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::db::MIGRATOR;

use crate::common::*;

const NAME: &str = "张三丰";
const ID: &str = "330102199001011234";

#[sqlx::test(migrator = "MIGRATOR")]
async fn personal_data_is_encrypted_and_masked_without_permission(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await; // households carry NAME and ID
    let importer = user_token(&st, "imp", Role::Importer, &[OWN]).await;
    let surveyor = user_token(&st, "sur", Role::Surveyor, &[OWN]).await;
    let reviewer = user_token(&st, "rev", Role::Reviewer, &[OWN]).await;
    let client = client_token(&st, "reg", &[OWN], None, &[]).await;
    let unit = format!("/api/units/{}", bdcdyh(OWN, 101));
    let table = format!("/api/buildings/{}/table", zrzh(OWN));
    // The importer may edit the household but not the owner data it cannot see (left out: kept).
    let mut body = household_body(2, 201);
    if let Some(m) = body.as_object_mut() {
        m.remove("QLR");
        m.remove("ZJH");
    }
    let write = put(&st, &format!("/api/households/{}", bdcdyh(OWN, 201)), &importer, &body).await;
    assert_eq!(write.status, StatusCode::OK, "{:?}", write.json);
    let mut masked_responses = vec![write];
    for t in [&importer, &surveyor, &client] {
        masked_responses.push(get(&st, &unit, t).await);
        masked_responses.push(get(&st, &table, t).await);
        masked_responses.push(get(&st, &format!("/api/search?zl={}", "幸福路"), t).await);
    }
    for r in &masked_responses {
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
        let text = String::from_utf8_lossy(&r.bytes);
        assert!(!text.contains(NAME) && !text.contains(ID), "PII leaked: {text}");
        assert!(!text.contains("三丰") && !text.contains("19900101"), "partial PII leaked: {text}");
    }
    let r = get(&st, &unit, &surveyor).await;
    assert_eq!(r.json["household"]["QLR"], "张**");
    assert_eq!(r.json["household"]["ZJH"], "3301**********1234");
    assert_eq!(r.json["household"]["pii_masked"], true);
    for t in [&reviewer, &admin] {
        let r = get(&st, &unit, t).await;
        assert_eq!((r.json["household"]["QLR"].as_str(), r.json["household"]["ZJH"].as_str()), (Some(NAME), Some(ID)));
        let r = get(&st, &table, t).await;
        assert!(String::from_utf8_lossy(&r.bytes).contains(NAME));
    }
    // At rest: not in any household or audit row, in any text form.
    let dump: Vec<String> = sqlx::query_scalar(
        "SELECT row_to_json(h)::text FROM households h UNION ALL SELECT row_to_json(a)::text FROM audit a",
    )
    .fetch_all(&pool)
    .await
    .unwrap_or_default();
    assert!(dump.len() >= 4);
    let hex_name: String = NAME.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    for row in &dump {
        assert!(!row.contains(NAME) && !row.contains(ID) && !row.contains(&hex_name), "plaintext at rest: {row}");
    }
    // The ciphertext opens with the server's key only.
    let sealed: Vec<u8> =
        sqlx::query_scalar("SELECT qlr_enc FROM households LIMIT 1").fetch_one(&pool).await.unwrap_or_default();
    assert_eq!(test_cipher().decrypt(&sealed).ok().as_deref(), Some(NAME));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn etag_and_not_modified(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let uri = format!("/api/buildings/{}/table", zrzh(OWN));
    let first = get(&st, &uri, &admin).await;
    let tag = first.headers.get(header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(tag.starts_with("W/\""), "{tag:?}");
    let mut req = request(Method::GET, &uri, Some(&admin), None);
    req.headers_mut().insert(header::IF_NONE_MATCH, tag.parse().unwrap_or_else(|e| panic!("{e}")));
    let again = call_with(&st, req).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.bytes.is_empty());
    // After an edit the tag changes and the old one no longer matches.
    let mut body = household_body(1, 101);
    body["SCJZMJ"] = json!(110.0);
    assert_eq!(put(&st, &format!("/api/households/{}", bdcdyh(OWN, 101)), &admin, &body).await.status, StatusCode::OK);
    let mut req = request(Method::GET, &uri, Some(&admin), None);
    req.headers_mut().insert(header::IF_NONE_MATCH, tag.parse().unwrap_or_else(|e| panic!("{e}")));
    let changed = call_with(&st, req).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.headers.get(header::ETAG).and_then(|v| v.to_str().ok()), Some(tag.as_str()));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn parcels_paginate_without_gaps_or_repeats(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    for n in 1..=7 {
        let r = put(
            &st,
            &format!("/api/parcels/{}", zddm(OWN, n)),
            &admin,
            &json!({"geometry": square(500_000.0 + f64::from(n) * 100.0, 3_300_000.0, 50.0)}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    }
    let mut seen = Vec::new();
    for page in 1..=3 {
        let r = get(&st, &format!("/api/parcels?sub_district={OWN}001001&per_page=3&page={page}"), &admin).await;
        assert_eq!(r.json["total"], 7);
        let items = r.json["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), if page < 3 { 3 } else { 1 });
        seen.extend(items.iter().filter_map(|p| p["ZDDM"].as_str().map(str::to_owned)));
    }
    let mut expected: Vec<String> = (1..=7).map(|n| zddm(OWN, n)).collect();
    expected.sort();
    assert_eq!(seen, expected);
    // bbox: the first three squares only.
    let r = get(&st, "/api/parcels?bbox=500090,3299990,500360,3300010", &admin).await;
    assert_eq!(r.json["total"], 3, "{:?}", r.json);
    for bad in ["per_page=501", "page=0", "bbox=1,2,3", "sub_district=12"] {
        let r = get(&st, &format!("/api/parcels?{bad}"), &admin).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{bad}");
    }
}

/// Every endpoint the registration client may call returns no geometry and no
/// coordinate-sized numbers; the spatial ones refuse it.
#[sqlx::test(migrator = "MIGRATOR")]
async fn registration_endpoints_return_no_coordinates(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let client = client_token(&st, "reg", &[OWN], None, &[]).await;
    let land_only = format!("{}W00000000", zddm(OWN, 1));
    let uris = [
        format!("/api/buildings/{}/table", zrzh(OWN)),
        format!("/api/units/{}", bdcdyh(OWN, 101)),
        format!("/api/units/{land_only}"),
        "/api/search?zl=幸福路".to_owned(),
        "/api/changes".to_owned(),
    ];
    for uri in &uris {
        let r = get(&st, uri, &client).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {:?}", r.json);
        let mut k = Vec::new();
        keys(&r.json, &mut k);
        assert!(!k.iter().any(|k| k == "geometry" || k == "coordinates" || k == "geom"), "{uri}: {k:?}");
        let text = String::from_utf8_lossy(&r.bytes);
        assert!(!text.contains("3300000") && !text.contains("500000") && !text.contains("Polygon"), "{uri}: {text}");
    }
    for uri in
        [format!("/api/parcels/{}", zddm(OWN, 1)), format!("/api/buildings/{}", zrzh(OWN)), "/api/buildings".into()]
    {
        assert_eq!(get(&st, &uri, &client).await.status, StatusCode::FORBIDDEN, "{uri}");
    }
    // Sanity: the same data does carry coordinates on the internal endpoint.
    let internal = get(&st, &format!("/api/parcels/{}", zddm(OWN, 1)), &admin).await;
    assert!(String::from_utf8_lossy(&internal.bytes).contains("3300000"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_documented_path_is_routed(pool: PgPool) {
    use utoipa::OpenApi;
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    let r = get(&st, "/api/openapi.json", &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json, serde_json::to_value(tile_server::http::openapi::ApiDoc::openapi()).unwrap_or_default());
    let paths = r.json["paths"].as_object().cloned().unwrap_or_default();
    for (path, item) in &paths {
        if path == "/api/auth/logout" {
            continue; // would revoke the token used here; tested in auth.rs
        }
        let concrete = path
            .replace("{zddm}", &zddm(OWN, 1))
            .replace("{zrzh}", &zrzh(OWN))
            .replace("{bdcdyh}", &bdcdyh(OWN, 101))
            .replace("{id}", "1");
        for method in item.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            let m: Method = method.to_uppercase().parse().unwrap_or(Method::GET);
            let r = call(&st, m.clone(), &concrete, Some(&admin), Some(&json!({}))).await;
            assert_ne!(r.code(), "route_not_found", "{m} {path}");
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
            assert!(!r.status.is_server_error(), "{m} {path}: {:?}", r.json);
        }
    }
    let unknown = get(&st, "/api/nothing-here", &admin).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::NOT_FOUND, "route_not_found"));
    let wrong = call(&st, Method::DELETE, &format!("/api/parcels/{}", zddm(OWN, 1)), Some(&admin), None).await;
    assert_eq!((wrong.status, wrong.code()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn building_table_rows_and_land_unit(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let r = get(&st, &format!("/api/buildings/{}/table", zrzh(OWN)), &admin).await;
    let rows = r.json["rows"].as_array().cloned().unwrap_or_default();
    let myc: Vec<&str> = rows.iter().filter_map(|r| r["MYC"].as_str()).collect();
    assert_eq!(myc, vec!["2", "1"], "top floor first");
    assert_eq!(rows[0]["households"][0]["BDCDYH"], bdcdyh(OWN, 201));
    assert_eq!(r.json["household_count"], 2);
    assert_eq!(r.json["total_scjzmj"], 205.86);
    let u = get(&st, &format!("/api/units/{}", bdcdyh(OWN, 101)), &admin).await;
    assert_eq!(u.json["land_unit"]["BDCDYH"], format!("{}W00000000", zddm(OWN, 1)));
    assert_eq!(u.json["land_unit"]["ZDMJ"], 1000.0);
    let missing = get(&st, &format!("/api/units/{}", bdcdyh(OWN, 999)), &admin).await;
    assert_eq!((missing.status, missing.code()), (StatusCode::NOT_FOUND, "not_found"));
    let bad = get(&st, "/api/units/123", &admin).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn search_and_change_feed_stay_in_scope(pool: PgPool) {
    let st = state(&pool);
    let both = user_token(&st, "boss", Role::Admin, &[OWN, OTHER]).await;
    seed_county(&st, &both, OWN).await;
    seed_county(&st, &both, OTHER).await;
    let own = user_token(&st, "sur", Role::Surveyor, &[OWN]).await;
    let r = get(&st, "/api/search?zl=幸福路1号", &own).await;
    let hits = r.json["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(r.json["total"], 3, "{:?}", r.json); // 1 parcel + 2 households of OWN
    assert!(hits.iter().all(|h| h["county"] == OWN));
    // LIKE metacharacters are literal.
    assert_eq!(get(&st, "/api/search?zl=%25", &own).await.json["total"], 0);
    let all = changes_page(&st, "/api/changes?since=0&limit=1000", &own, 4).await;
    let items = all.json["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 4, "{:?}", all.json);
    assert!(items.iter().all(|c| c["county"] == OWN));
    let first = items[0]["cursor"].as_i64().unwrap_or(-1);
    let rest = changes_page(&st, &format!("/api/changes?since={first}"), &own, 3).await;
    assert_eq!(rest.json["items"].as_array().map(Vec::len), Some(3));
    let end = all.json["next_cursor"].as_i64().unwrap_or(-1);
    let none = get(&st, &format!("/api/changes?since={end}"), &own).await;
    assert_eq!((none.json["items"].as_array().map(Vec::len), none.json["next_cursor"].as_i64()), (Some(0), Some(end)));
    put(&st, &format!("/api/parcels/{}", zddm(OWN, 1)), &both, &json!({"ZL": "改"})).await;
    let after = changes_page(&st, &format!("/api/changes?since={end}"), &own, 1).await;
    assert_eq!(after.json["items"][0]["action"], "parcel.update");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn store_srid_is_a_setting_fixed_once_geometry_exists(pool: PgPool) {
    tile_server::db::configure_store(&pool, 4527).await.unwrap_or_else(|e| panic!("{e}"));
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    let r = put(
        &st,
        &format!("/api/parcels/{}", zddm(OWN, 1)),
        &admin,
        &json!({"geometry": square(39_500_000.0, 3_300_000.0, 10.0)}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let srid: i32 = sqlx::query_scalar("SELECT ST_SRID(geom) FROM parcels").fetch_one(&pool).await.unwrap_or(0);
    assert_eq!(srid, 4527);
    let err = tile_server::db::configure_store(&pool, 4549).await;
    assert!(matches!(err, Err(tile_server::db::StoreError::Conflict(_))), "{err:?}");
    assert!(tile_server::db::configure_store(&pool, 4527).await.is_ok());
    // A geometry with another SRID is refused by the store.
    let bad = sqlx::query("INSERT INTO parcels (county, zddm, geom) VALUES ('330102', '330102001001GB00009', ST_Multi(ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4549)))")
        .execute(&pool)
        .await;
    assert!(bad.is_err());
}

/// A code in a path or query that is not a code is refused at the edge, before any
/// lookup: 400 `bad_request`, and the message names the parameter and says in Chinese
/// which segment of the code is wrong (unit-code's message).
#[sqlx::test(migrator = "MIGRATOR")]
async fn malformed_codes_are_400_naming_the_segment_in_chinese(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    // Path segments are percent-encoded (full-width and Chinese characters).
    let encoded = |code: &str| -> String {
        code.bytes()
            .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
            .collect()
    };
    let cases = [
        ("/api/parcels/", "340824104207XA00024", "宗地代码第 13 位应为宗地特征码（所有权）G/J/Z，实际为 'X'"),
        ("/api/parcels/", "340824104207Ja00024", "宗地代码第 14 位应为宗地特征码（宗地类型）A-Z 或 0"),
        ("/api/parcels/", "340824104207JA0002", "宗地代码应为 19 位，实际为 18 位"),
        (
            "/api/parcels/",
            "34082410420７JA00024",
            "第 12 位应为数字 0-9（地籍子区），实际为 '７'（全角字符，请改用半角）",
        ),
        ("/api/parcels/", "not-a-code", "宗地代码应为 19 位，实际为 10 位"),
        ("/api/buildings/", "411702600021GB00001W0007", "自然幢号第 20 位应为定着物特征码 F，实际为 'W'"),
        ("/api/buildings/", "411702600021GB00001F000", "自然幢号应为 24 位，实际为 23 位"),
        ("/api/buildings/", "张411702600021GB00001F0", "自然幢号应为 24 位，实际为 22 位"),
        ("/api/units/", "411702600021GB00001H00000000", "不动产单元代码第 20 位应为定着物特征码 F/L/Q/W"),
        ("/api/units/", "411702600021GB00001F0007002x", "不动产单元代码第 28 位应为数字 0-9（户号）"),
        ("/api/units/", "一11702600021GB00001F00070", "不动产单元代码应为 28 位，实际为 25 位"),
        ("/api/households/", "411702600021GB00001F0007002", "不动产单元代码应为 28 位，实际为 27 位"),
        ("/api/households/", "41170a600021GB00001F00070027", "第 6 位应为数字 0-9（县级行政区划代码）"),
    ];
    for (base, code, zh) in cases {
        let r = get(&st, &format!("{base}{}", encoded(code)), &admin).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{code}: {:?}", r.json);
        let message = r.json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(zh), "{code}: {message}");
        assert!(message.contains(&format!("{code:?}")), "names the value: {message}");
    }
    // A write is refused before its body is read.
    let r = put(&st, "/api/parcels/340824104207XA00024", &admin, &json!({"ZL": "x"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{:?}", r.json);
    assert!(r.json["error"]["message"].as_str().unwrap_or_default().starts_with("zddm "), "{:?}", r.json);
    // Typed query parameters: the parcel of a building list, a sub-district, a county.
    for (uri, zh) in [
        ("/api/buildings?zddm=340824104207XA00024", "宗地代码第 13 位应为宗地特征码（所有权）G/J/Z"),
        ("/api/parcels?sub_district=33010200100x", "地籍子区代码第 12 位应为数字 0-9（地籍子区）"),
        ("/api/map/parcels?county=33010x", "县级行政区划代码第 6 位应为数字 0-9（县级行政区划代码）"),
    ] {
        let r = get(&st, uri, &admin).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{uri}: {:?}", r.json);
        let message = r.json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(zh), "{uri}: {message}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_input_is_a_clear_4xx(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    let uri = format!("/api/parcels/{}", zddm(OWN, 1));
    let self_crossing = json!({"type": "Polygon", "coordinates": [[[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]]]});
    let cases: Vec<(Value, StatusCode)> = vec![
        (json!({"geometry": self_crossing}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"geometry": {"type": "Point", "coordinates": [1, 2]}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"geometry": {"type": "Nonsense"}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"ZDMJ": "many"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"unknown_field": 1}), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, want) in cases {
        let r = put(&st, &uri, &admin, &body).await;
        assert_eq!(r.status, want, "{body}: {:?}", r.json);
        assert!(r.json["error"]["message"].is_string());
        assert!(!String::from_utf8_lossy(&r.bytes).contains("SELECT"));
    }
    let r = call(&st, Method::PUT, &uri, Some(&admin), None).await;
    assert!(r.status.is_client_error());
    let r = put(&st, "/api/parcels/not-a-code", &admin, &json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Household on a building that does not exist.
    let r = put(&st, &format!("/api/households/{}", bdcdyh(OWN, 101)), &admin, &household_body(1, 101)).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM parcels").fetch_one(&pool).await.unwrap_or(-1);
    assert_eq!(n, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn responses_are_gzipped_on_request(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    let mut req = request(Method::GET, "/api/openapi.json", Some(&admin), None);
    req.headers_mut().insert(header::ACCEPT_ENCODING, "gzip".parse().unwrap_or_else(|e| panic!("{e}")));
    let r = call_with(&st, req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()), Some("gzip"));
    assert_eq!(&r.bytes[..2], &[0x1f, 0x8b]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn household_bodies_refuse_unknown_fields_and_keep_every_area(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let uri = format!("/api/households/{}", bdcdyh(OWN, 301));
    let mut body = household_body(3, 301);
    body["SCJZMJ_TYPO"] = json!(1.0);
    let r = put(&st, &uri, &admin, &body).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"), "{:?}", r.json);
    assert!(r.json["error"]["message"].as_str().is_some_and(|m| m.contains("SCJZMJ_TYPO")));
    let areas =
        ["YCTNJZMJ", "YCFTJZMJ", "YCJZMJ", "SCTNJZMJ", "SCFTJZMJ", "SCJZMJ", "FTXS", "GYTDMJ", "FTTDMJ", "DYTDMJ"];
    let mut body = household_body(3, 301);
    for (i, key) in areas.iter().enumerate() {
        body[*key] = json!(10.25 + i as f64);
    }
    let r = put(&st, &uri, &admin, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let back = get(&st, &format!("/api/units/{}", bdcdyh(OWN, 301)), &admin).await;
    for (i, key) in areas.iter().enumerate() {
        assert_eq!(back.json["household"][*key], json!(10.25 + i as f64), "{key}");
    }
}
