//! Decisions: return and resubmit, who may decide, concurrent accepts, a store that changed
//! since the diff, failed checks and overlaps that need a written reason.

use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;
use tile_server::AppState;

use crate::common::*;
use crate::import::tempdir;
use crate::review::*;
use crate::review_sample::*;

#[sqlx::test(migrator = "MIGRATOR")]
async fn return_with_findings_then_a_new_version(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let id = hand_in(&s.st, &s.surveyor, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    drain(&s.st).await;
    // Only a returned submission takes a new version.
    let early =
        call_with(&s.st, zip_request(&format!("/api/submissions/{id}/versions"), &s.surveyor, sample_zip())).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    let findings = json!([{"rule": "area.tolerance", "objects": [MOVED], "message_zh": "面积超限"}]);
    let r =
        decide(&s.st, &s.reviewer, id, json!({"decision": "return", "note": "请核实面积", "findings": findings})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let mine = get(&s.st, &format!("/api/submissions/{id}"), &s.surveyor).await;
    assert_eq!(mine.json["status"].as_str(), Some("returned"));
    assert_eq!(mine.json["versions"][0]["decision_note"].as_str(), Some("请核实面积"));
    assert_eq!(mine.json["versions"][0]["returned_findings"], findings);
    // Another surveyor neither sees it nor resubmits it.
    let other = user_token(&s.st, "surveyor2", Role::Surveyor, &[COUNTY]).await;
    assert_eq!(get(&s.st, &format!("/api/submissions/{id}"), &other).await.status, StatusCode::NOT_FOUND);
    let list = get(&s.st, "/api/submissions", &other).await;
    assert_eq!(list.json["total"].as_i64(), Some(0));
    let v2 = call_with(&s.st, zip_request(&format!("/api/submissions/{id}/versions"), &s.surveyor, sample_zip())).await;
    assert_eq!(v2.status, StatusCode::ACCEPTED, "{:?}", v2.json);
    assert_eq!(v2.json["version"].as_i64(), Some(2));
    drain(&s.st).await;
    let detail = get(&s.st, &format!("/api/submissions/{id}"), &s.reviewer).await;
    let versions: Vec<(i64, &str)> = detail.json["versions"]
        .as_array()
        .map(|a| a.iter().map(|v| (v["version"].as_i64().unwrap_or(0), v["status"].as_str().unwrap_or(""))).collect())
        .unwrap_or_default();
    assert_eq!(versions, [(2, "ready"), (1, "returned")], "every version keeps its decision");
    // Each version keeps its own report; the trail says who moved what, with the note.
    for v in [1, 2] {
        let r = get(&s.st, &format!("/api/submissions/{id}/report?version={v}"), &s.reviewer).await;
        assert_eq!(r.status, StatusCode::OK, "v{v}: {:?}", r.json);
        assert!(r.json["findings"].is_array(), "v{v}: {:?}", r.json);
    }
    let trail: Vec<(i64, String, String, String)> = detail.json["transitions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    let text = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
                    (t["version"].as_i64().unwrap_or(0), text("to_status"), text("actor"), text("note"))
                })
                .collect()
        })
        .unwrap_or_default();
    let returned = trail.iter().find(|t| t.0 == 1 && t.1 == "returned").unwrap_or_else(|| panic!("{trail:?}"));
    assert_eq!((returned.2.as_str(), returned.3.as_str()), ("user:reviewer1", "请核实面积"), "{trail:?}");
    assert!(trail.iter().any(|t| t.0 == 2 && t.1 == "checking" && t.2 == "user:surveyor1"), "{trail:?}");
    // The database refuses a move the state machine does not have, whoever asks.
    let bad =
        sqlx::query("UPDATE submission_versions SET status = 'checking' WHERE submission_id = $1 AND version = 1")
            .bind(id)
            .execute(&s.st.db)
            .await;
    assert!(bad.is_err(), "returned -> checking must be refused");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn nobody_decides_their_own_submission_and_quotas_hold(pool: PgPool) {
    let settings = Settings { submission_open_versions: 2, submission_max_bytes: 400_000, ..Settings::default() };
    let s = setup(pool, settings).await;
    let admin = user_token(&s.st, "admin1", Role::Admin, &[COUNTY]).await;
    let id = hand_in(&s.st, &admin, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    drain(&s.st).await;
    let own = decide(&s.st, &admin, id, json!({"decision": "accept", "override_reason": "我自己的"})).await;
    assert_eq!((own.status, own.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", own.json);
    assert!(own.json["error"]["message"].as_str().is_some_and(|m| m.contains("separation of duties")));
    // The database refuses it too, even if the code forgot.
    let admin_id: i64 = sqlx::query_scalar("SELECT user_id FROM users WHERE username = 'admin1'")
        .fetch_one(&s.st.db)
        .await
        .unwrap_or(-1);
    let bad = sqlx::query("UPDATE submission_versions SET status = 'returned', decided_by = $2, decided_at = now() WHERE submission_id = $1")
        .bind(id).bind(admin_id).execute(&s.st.db).await;
    assert!(bad.is_err());
    // Quotas: two open versions per user, then 429; a package over the size limit is 413.
    assert_eq!(hand_in(&s.st, &admin, sample_zip()).await.status, StatusCode::ACCEPTED);
    let third = hand_in(&s.st, &admin, sample_zip()).await;
    assert_eq!((third.status, third.code()), (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"), "{:?}", third.json);
    let big = hand_in(&s.st, &s.surveyor, vec![0u8; 500_000]).await;
    assert_eq!((big.status, big.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{:?}", big.json);
    // A declared size over the limit is refused before the body is read (a body that fails when
    // read would otherwise give 400): the desktop client waits for `100 Continue`, so it gets
    // the 413 instead of a connection reset halfway through its upload.
    let unread = tokio_stream::iter([Err::<axum::body::Bytes, _>(std::io::Error::other("the body was read"))]);
    let mut req = zip_request("/api/submissions", &s.surveyor, Vec::new());
    *req.body_mut() = axum::body::Body::from_stream(unread);
    req.headers_mut().insert(axum::http::header::CONTENT_LENGTH, axum::http::HeaderValue::from_static("500000"));
    let early = call_with(&s.st, req).await;
    assert_eq!((early.status, early.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{:?}", early.json);
    // A reviewer of another county cannot see or decide it.
    let far = user_token(&s.st, "reviewer9", Role::Reviewer, &["330102"]).await;
    let r = decide(&s.st, &far, id, json!({"decision": "return"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "county_forbidden"));
    // An importer may neither hand in nor review.
    let importer = user_token(&s.st, "importer1", Role::Importer, &[COUNTY]).await;
    assert_eq!(hand_in(&s.st, &importer, sample_zip()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&s.st, "/api/submissions", &importer).await.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn two_concurrent_accepts_of_overlapping_submissions_one_wins(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let other = user_token(&s.st, "surveyor2", Role::Surveyor, &[COUNTY]).await;
    let reviewer2 = user_token(&s.st, "reviewer2", Role::Reviewer, &[COUNTY]).await;
    let (zip, _) = known_edits_zip();
    let a = hand_in(&s.st, &s.surveyor, zip.clone()).await.json["submission_id"].as_i64().unwrap_or(-1);
    let b = hand_in(&s.st, &other, zip).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 2);
    let body = json!({"decision": "accept", "override_reason": "并发测试"});
    let (ra, rb) = tokio::join!(decide(&s.st, &s.reviewer, a, body.clone()), decide(&s.st, &reviewer2, b, body));
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{:?} / {:?}", ra.json, rb.json);
    let loser = if ra.status == StatusCode::CONFLICT { (a, &ra) } else { (b, &rb) };
    assert!(
        loser.1.json["error"]["message"].as_str().is_some_and(|m| m.contains("store changed")),
        "{:?}",
        loser.1.json
    );
    // The loser is checked again against the new store: its diff now shows the conflict.
    assert_eq!(
        get(&s.st, &format!("/api/submissions/{}", loser.0), &s.reviewer).await.json["status"].as_str(),
        Some("checking")
    );
    drain(&s.st).await;
    let d = get(&s.st, &format!("/api/submissions/{}/diff", loser.0), &s.reviewer).await;
    assert!(
        d.json["diff"]["problems"].as_array().is_some_and(|p| !p.is_empty()),
        "replaced parcels are gone: {:?}",
        d.json["diff"]["problems"]
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM parcels WHERE zddm = $1 AND state = 'current'")
        .bind(SPLIT)
        .fetch_one(&s.st.db)
        .await
        .unwrap_or(-1);
    assert_eq!(n, 0);
    let splits: i64 = sqlx::query_scalar("SELECT count(*) FROM uc_event WHERE kind = 'split'")
        .fetch_one(&s.st.db)
        .await
        .unwrap_or(-1);
    assert_eq!(splits, 1, "exactly one acceptance wrote lineage");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_store_change_after_the_diff_refuses_the_accept_and_recomputes(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let (zip, _) = known_edits_zip();
    let id = hand_in(&s.st, &s.surveyor, zip).await.json["submission_id"].as_i64().unwrap_or(-1);
    drain(&s.st).await;
    // An importer edits a parcel the package replaces.
    let admin = user_token(&s.st, "admin1", Role::Admin, &[COUNTY]).await;
    let p = get(&s.st, &format!("/api/parcels/{SPLIT}"), &admin).await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.json);
    let mut body = json!({"ZL": "改过的坐落", "geometry": p.json["geometry"].clone()});
    for k in ["ZDMJ", "YT", "QLLX", "QLXZ"] {
        body[k] = p.json[k].clone();
    }
    let put_r = put(&s.st, &format!("/api/parcels/{SPLIT}"), &admin, &body).await;
    assert_eq!(put_r.status, StatusCode::OK, "{:?}", put_r.json);
    let stale = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert_eq!((stale.json["stale"].as_bool(), stale.json["status"].as_str()), (Some(true), Some("checking")));
    let refused = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "x"})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    drain(&s.st).await;
    let fresh = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert_eq!((fresh.json["stale"].as_bool(), fresh.json["status"].as_str()), (Some(false), Some("ready")));
    let ok = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "已复核"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json);
}

async fn verdict_of(st: &AppState, token: &str, id: i64) -> String {
    let rep = get(st, &format!("/api/submissions/{id}/report"), token).await;
    rep.json["verdict"].as_str().unwrap_or_else(|| panic!("{:?}", rep.json)).to_owned()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_failed_check_is_accepted_only_with_a_written_reason(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    // A package whose check passes needs no reason.
    let clean = hand_in(&s.st, &s.surveyor, sample_zip()).await.json["submission_id"].as_i64().unwrap_or(-1);
    let (zip, _) = known_edits_zip();
    let failing = hand_in(&s.st, &s.surveyor, zip).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 2);
    assert_eq!(verdict_of(&s.st, &s.reviewer, clean).await, "pass");
    let ok = decide(&s.st, &s.reviewer, clean, json!({"decision": "accept", "note": "无变更"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json);

    assert_eq!(verdict_of(&s.st, &s.reviewer, failing).await, "fail");
    let before = snapshot(&s.st.db).await;
    for body in [json!({"decision": "accept"}), json!({"decision": "accept", "override_reason": "  \n "})] {
        let r = decide(&s.st, &s.reviewer, failing, body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "{body}: {:?}", r.json);
        let m = r.json["error"]["message"].as_str().unwrap_or("");
        assert!(m.contains("the check failed") && m.contains("override_reason"), "{m}");
    }
    assert_eq!(snapshot(&s.st.db).await, before, "a refused accept writes nothing");
    let detail = get(&s.st, &format!("/api/submissions/{failing}"), &s.reviewer).await;
    assert_eq!(detail.json["status"].as_str(), Some("ready"));
    let ok =
        decide(&s.st, &s.reviewer, failing, json!({"decision": "accept", "override_reason": "界址点已现场核实"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json);
    let detail = get(&s.st, &format!("/api/submissions/{failing}"), &s.reviewer).await;
    assert_eq!(detail.json["status"].as_str(), Some("accepted"));
    assert_eq!(detail.json["versions"][0]["override_reason"].as_str(), Some("界址点已现场核实"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_overlap_with_a_store_parcel_needs_a_written_reason(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let dir = tempdir();
    write_overlapping(dir.path());
    let id = hand_in(&s.st, &s.surveyor, zip_of(dir.path())).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    let d = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert_eq!(d.json["status"].as_str(), Some("ready"), "{:?}", d.json);
    let overlaps = d.json["diff"]["overlaps"].as_array().cloned().unwrap_or_default();
    assert_eq!(overlaps.len(), 1, "{overlaps:?}");
    assert_eq!(overlaps[0]["package_parcel"].as_str(), Some("T9"));
    assert_eq!(overlaps[0]["store_parcel"].as_str(), Some(OVERLAPPED));
    let area = overlaps[0]["area"].as_f64().unwrap_or(0.0);
    let t9 = d.json["diff"]["parcels"]["added"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["id"] == "T9"))
        .and_then(|e| e["area_after"].as_f64())
        .unwrap_or(-1.0);
    assert!((area - t9).abs() < 0.01, "T9 lies wholly inside {OVERLAPPED}: overlap {area} m², T9 {t9} m²");
    assert!(d.json["diff"]["parcels"]["removed"].as_array().is_some_and(Vec::is_empty), "nothing is replaced");

    let before = snapshot(&s.st.db).await;
    let r = decide(&s.st, &s.reviewer, id, json!({"decision": "accept"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    let m = r.json["error"]["message"].as_str().unwrap_or("");
    assert!(m.contains("1 overlap(s) with store parcels") && m.contains("override_reason"), "{m}");
    assert_eq!(snapshot(&s.st.db).await, before);
    let ok =
        decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "权属已调解，另案处理"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json);
    let code = ok.json["codes"]["T9"].as_str().unwrap_or_else(|| panic!("{:?}", ok.json)).to_owned();
    for c in [code.as_str(), OVERLAPPED] {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM parcels WHERE zddm = $1 AND state = 'current'")
            .bind(c)
            .fetch_one(&s.st.db)
            .await
            .unwrap_or(-1);
        assert_eq!(n, 1, "{c} is current");
    }
}
