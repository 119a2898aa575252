//! Requests schemathesis (scripts/fuzz-api.sh) found answered with 500 or with
//! a body its schema did not allow; each must now be a 4xx JSON error or
//! documented. One test per finding.

use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::db::MIGRATOR;

use crate::common::*;

fn assert_unprocessable(r: &Resp, what: &str) {
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"), "{what}: {:?}", r.json);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn numbers_beyond_column_precision_are_422(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    // ZDMJ is NUMERIC(14,2): 1e12 no longer fits (found: -4.33e71).
    let r = put(&st, &format!("/api/parcels/{}", zddm(OWN, 5)), &admin, &json!({"ZDMJ": -4.334845875555028e71})).await;
    assert_unprocessable(&r, "parcel ZDMJ");
    let r = put(&st, &format!("/api/buildings/{}", zrzh(OWN)), &admin, &json!({"YCJZMJ": 1e12})).await;
    assert_unprocessable(&r, "building YCJZMJ");
    // Household areas are NUMERIC(12,2) (found: YCTNJZMJ = -1.797e308).
    let mut body = household_body(1, 101);
    body["YCTNJZMJ"] = json!(-1.797_693_134_862_315_7e308);
    let r = put(&st, &format!("/api/households/{}", bdcdyh(OWN, 101)), &admin, &body).await;
    assert_unprocessable(&r, "household YCTNJZMJ");
    // Nothing was written, and the audit log did not record a failed write.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM parcels WHERE zddm = $1")
        .bind(zddm(OWN, 5))
        .fetch_one(&pool)
        .await
        .unwrap_or(-1);
    assert_eq!(n, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn nul_characters_are_422_not_500(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    // In a text column (found: PostgreSQL 22021 "invalid byte sequence 0x00").
    let r = put(&st, &format!("/api/parcels/{}", zddm(OWN, 6)), &admin, &json!({"ZL": "幸福路\u{0}1号"})).await;
    assert_unprocessable(&r, "NUL in ZL");
    // In a query parameter (found on GET /api/search).
    let r = get(&st, "/api/search?zl=%00", &admin).await;
    assert_unprocessable(&r, "NUL in zl");
    // And a proper request still works afterwards.
    let r = get(&st, "/api/search?zl=%E5%B9%B8%E7%A6%8F", &admin).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn missing_geometry_is_documented_as_nullable(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    // A parcel written without geometry answers `"geometry": null` (found:
    // the schema said `type: object`).
    let r = put(&st, &format!("/api/parcels/{}", zddm(OWN, 33)), &admin, &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert!(r.json["geometry"].is_null());
    let spec = get(&st, "/api/openapi.json", &admin).await.json;
    for (schema, at) in
        [("Parcel", "/components/schemas/Parcel/properties/geometry"), ("Building", "/components/schemas/Building")]
    {
        let node = spec.pointer(at).unwrap_or_else(|| panic!("{schema} missing from the document"));
        assert!(node.to_string().contains("\"null\""), "{schema}: geometry not nullable: {node}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_schema_reference_in_the_document_resolves(pool: PgPool) {
    // Found: the tile and map layers referred to #/components/schemas/LayerName,
    // which was not in the document, so the fuzzer could not test them.
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x.as_str()) {
                        ("$ref", Some(r)) => out.push(r.to_owned()),
                        _ => refs(x, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    let spec = get(&st, "/api/openapi.json", &admin).await.json;
    let mut all = Vec::new();
    refs(&spec, &mut all);
    assert!(all.iter().any(|r| r.ends_with("/LayerName")), "the layer enum is referenced");
    for r in &all {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external reference {r}"));
        assert!(spec.pointer(pointer).is_some(), "{r} does not resolve");
    }
}
