//! Package members beyond the layers (issue 11): an XLSX building table is read like a CSV
//! one (diff and accept), `JZD.csv` is checked against the parcels' vertices, a member the
//! intake does not use is named in the diff's notices; and the county's stored QC rules
//! (`qc_config`) are the ones the check runs.

use cadastre_core::boundary::table::write_points_csv;
use cadastre_core::building::{read_csv, write_xlsx, Editor};
use cadastre_core::io::{load_submission, LoadOptions};
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;

use crate::common::*;
use crate::import::tempdir;
use crate::review::*;
use crate::review_sample::*;

fn notices(diff: &Value) -> Vec<String> {
    diff["notices"]
        .as_array()
        .map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_xlsx_table_and_the_jzd_table_are_used_and_an_unused_member_is_named(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let dir = tempdir();
    write_known_edits(dir.path());
    // The changed building table as XLSX instead of CSV.
    let csv_path = dir.path().join("buildings").join(format!("{TABLE}.csv"));
    let bytes = std::fs::read(&csv_path).unwrap_or_else(|e| panic!("{e}"));
    let (table, _) = read_csv(&bytes, &Editor::now("test")).unwrap_or_else(|e| panic!("{e}"));
    let xlsx = write_xlsx(&table).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(&csv_path).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("buildings").join(format!("{TABLE}.xlsx")), xlsx).unwrap_or_else(|e| panic!("{e}"));
    // The boundary points of two parcels: MOVED's as the sample had them (before the 0.30 m
    // move, so they disagree with the package's polygon), T4's as in the package.
    let sub = load_submission(dir.path(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let old = load_submission(&district_dir(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let geometry = |s: &cadastre_core::model::Submission, code: &str| {
        s.parcels.iter().find(|p| p.zddm == code).map(|p| p.geometry.clone()).unwrap_or_else(|| panic!("{code}"))
    };
    let (moved_before, t4) = (geometry(&old, MOVED), geometry(&sub, "T4"));
    let mut jzd = Vec::new();
    write_points_csv(&mut jzd, &[(MOVED, &moved_before), ("T4", &t4)]).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("JZD.csv"), jzd).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("说明.txt"), "外业说明").unwrap_or_else(|e| panic!("{e}"));

    let id = hand_in(&s.st, &s.surveyor, zip_of(dir.path())).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    let d = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert_eq!(d.json["status"].as_str(), Some("ready"), "{:?}", d.json);
    let diff = &d.json["diff"];
    // The XLSX table gives the same household diff as the CSV one (review.rs, known edits).
    let t = diff["tables"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["zrzh"] == TABLE))
        .cloned()
        .unwrap_or_else(|| panic!("no diff of {TABLE}: {:?}", diff["tables"]));
    assert_eq!(t["changed"][0]["bdcdyh"].as_str(), Some(TABLE_CHANGED));
    assert_eq!(t["changed"][0]["fields"], json!([{"field": "SCTNJZMJ", "before": "112.14", "after": "113.00"}]));
    assert_eq!(t["removed"][0]["bdcdyh"].as_str(), Some(TABLE_REMOVED));
    // Notices: MOVED's declared points disagree (one point), T4's agree, the text file and the
    // sample's floor plan (the server keeps no floor plans) are unused.
    let n = notices(diff);
    assert_eq!(n.len(), 3, "{n:?}");
    assert!(n.iter().any(|m| m.contains(".floorplan.json") && m.contains("not used")), "{n:?}");
    assert!(n.iter().any(|m| m.contains(MOVED) && m.contains("1 declared point(s) are not vertices")), "{n:?}");
    assert!(!n.iter().any(|m| m.contains("T4")), "{n:?}");
    assert!(n.iter().any(|m| m.contains("说明.txt") && m.contains("not used")), "{n:?}");

    // Accepted, the XLSX table is written like a CSV one.
    let ok = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "界址点已核实"})).await;
    assert_eq!(ok.status, axum::http::StatusCode::OK, "{:?}", ok.json);
    let area: Option<f64> =
        sqlx::query_scalar("SELECT sctnjzmj::float8 FROM households WHERE bdcdyh = $1::bpchar AND state = 'current'")
            .bind(TABLE_CHANGED)
            .fetch_optional(&s.st.db)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten();
    assert_eq!(area, Some(113.0));
    let new = ok.json["codes"][format!("{TABLE}#0025")].as_str().unwrap_or_else(|| panic!("{:?}", ok.json)).to_owned();
    let current: i64 =
        sqlx::query_scalar("SELECT count(*) FROM households WHERE bdcdyh = $1::bpchar AND state = 'current'")
            .bind(&new)
            .fetch_one(&s.st.db)
            .await
            .unwrap_or(-1);
    assert_eq!(current, 1, "{new}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn two_tables_of_one_building_fail_the_version_with_a_clear_reason(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let dir = tempdir();
    write_known_edits(dir.path());
    let csv_path = dir.path().join("buildings").join(format!("{TABLE}.csv"));
    let bytes = std::fs::read(&csv_path).unwrap_or_else(|e| panic!("{e}"));
    let (table, _) = read_csv(&bytes, &Editor::now("test")).unwrap_or_else(|e| panic!("{e}"));
    let xlsx = write_xlsx(&table).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("buildings").join(format!("{TABLE}.xlsx")), xlsx).unwrap_or_else(|e| panic!("{e}"));
    let id = hand_in(&s.st, &s.surveyor, zip_of(dir.path())).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    let v = get(&s.st, &format!("/api/submissions/{id}"), &s.reviewer).await;
    assert_eq!(v.json["status"].as_str(), Some("failed"), "{:?}", v.json);
    let failure = v.json["versions"][0]["failure"].as_str().unwrap_or("");
    assert!(failure.contains("two tables of one building") && failure.contains(".xlsx"), "{failure}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_county_s_stored_qc_rules_are_the_ones_the_check_runs(pool: PgPool) {
    let s = setup(pool.clone(), Settings::default()).await;
    let rules_of = |report: &Value| -> Vec<String> {
        report["findings"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f["rule"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    // The known edits fail on a near-miss vertex under the default rules.
    let (zip, _) = known_edits_zip();
    let a = hand_in(&s.st, &s.surveyor, zip).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    let before = get(&s.st, &format!("/api/submissions/{a}/report"), &s.reviewer).await.json;
    assert!(rules_of(&before).iter().any(|r| r == "vertex.near_miss"), "{before:?}");
    // The county's rules switch that check off: the next check runs without it.
    sqlx::query("INSERT INTO qc_config (county, rules_toml) VALUES ($1, $2)")
        .bind(COUNTY)
        .bind("[rules.\"vertex.near_miss\"]\nenabled = false\n")
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (zip, _) = known_edits_zip();
    let b = hand_in(&s.st, &s.surveyor, zip).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    let after = get(&s.st, &format!("/api/submissions/{b}/report"), &s.reviewer).await.json;
    assert!(!rules_of(&after).iter().any(|r| r == "vertex.near_miss"), "{after:?}");
    let others = |r: &Value| rules_of(r).into_iter().filter(|x| x != "vertex.near_miss").collect::<Vec<_>>();
    assert_eq!(others(&after), others(&before), "only the switched-off rule differs");
}
