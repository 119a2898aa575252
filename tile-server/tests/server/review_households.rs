//! Households and building tables through an accept: retired buildings take their households
//! and floors along (or end them), tables of new buildings take the issued codes.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::config::Settings;
use tile_server::db::MIGRATOR;
use tile_server::AppState;
use unit_code::alloc::PgAllocator;
use unit_code::lineage::Lineage;

use crate::common::*;
use crate::import::tempdir;
use crate::review::*;
use crate::review_sample::*;

/// Current households, floors and logical buildings whose building is not current.
async fn orphans(pool: &PgPool) -> i64 {
    let mut n = 0;
    for t in ["households", "floors", "logical_buildings"] {
        let sql = format!(
            "SELECT count(*) FROM {t} x WHERE x.state = 'current' AND NOT EXISTS
                 (SELECT 1 FROM buildings b WHERE b.county = x.county AND b.zrzh = x.zrzh AND b.state = 'current')"
        );
        n += sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    n
}

/// (BDCDYH, MYC, DYH, SHBW, mortgaged) of a building's current households, by code.
async fn households_of(pool: &PgPool, zrzh: &str) -> Vec<(String, String, String, String, bool)> {
    sqlx::query_as(
        "SELECT bdcdyh::text, myc, dyh, shbw, mortgaged FROM households
         WHERE zrzh = $1 AND state = 'current' ORDER BY bdcdyh",
    )
    .bind(zrzh)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn current_floors(pool: &PgPool, zrzh: &str) -> Vec<(i32, String)> {
    sqlx::query_as("SELECT sjc, myc FROM floors WHERE zrzh = $1 AND state = 'current' ORDER BY sjc")
        .bind(zrzh)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn ancestors_of(st: &AppState, code: &str) -> Vec<(String, String)> {
    PgAllocator::new(st.db.clone())
        .ancestors(code.parse().unwrap_or_else(|e| panic!("{code}: {e}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|s| (s.edge.old.to_string(), s.edge.kind.as_str().to_owned()))
        .collect()
}

async fn code_status(pool: &PgPool, code: &str) -> String {
    sqlx::query_scalar("SELECT status FROM uc_unit WHERE code = $1")
        .bind(code)
        .fetch_optional(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| "unregistered".into())
}

/// Hands in the rehoused-building package, checks it and accepts it; the answer.
async fn accept_rehoused(s: &Setup, table: bool) -> (Rehoused, Value) {
    let dir = tempdir();
    let r = write_rehoused(dir.path(), table);
    let id = hand_in(&s.st, &s.surveyor, zip_of(dir.path())).await.json["submission_id"].as_i64().unwrap_or(-1);
    assert_eq!(drain(&s.st).await, 1);
    let detail = get(&s.st, &format!("/api/submissions/{id}"), &s.reviewer).await;
    assert_eq!(detail.json["status"].as_str(), Some("ready"), "{:?}", detail.json);
    let d = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert!(d.json["diff"]["problems"].as_array().is_some_and(Vec::is_empty), "{:?}", d.json["diff"]["problems"]);
    let removed = ids(&d.json["diff"]["buildings"]["removed"]);
    assert!(removed.contains(REHOUSED_TABLE) && removed.contains(DROPPED_TABLE), "{removed:?}");
    let a = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "楼盘表随迁测试"})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.json);
    (r, a.json)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_retired_building_takes_its_households_and_floors_along_or_ends_them(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let old = households_of(&s.st.db, REHOUSED_TABLE).await;
    let old_floors = current_floors(&s.st.db, REHOUSED_TABLE).await;
    let dropped = households_of(&s.st.db, DROPPED_TABLE).await;
    assert!(old.len() > 3 && !old_floors.is_empty() && !dropped.is_empty());
    // A register field (mortgage) the survey does not own: it must follow the flat.
    sqlx::query("UPDATE households SET mortgaged = true WHERE bdcdyh = $1 AND state = 'current'")
        .bind(&old[1].0)
        .execute(&s.st.db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (r, accepted) = accept_rehoused(&s, false).await;
    let new_b = accepted["codes"][&r.temp[REHOUSED_TABLE]].as_str().unwrap_or_else(|| panic!("{accepted}")).to_owned();
    assert!(new_b.starts_with("330106001001GB") && new_b != REHOUSED_TABLE, "{new_b}");

    // Every household carried over under the new building, numbered densely in the old order.
    let new = households_of(&s.st.db, &new_b).await;
    assert_eq!(new.len(), old.len());
    for (i, (o, n)) in old.iter().zip(&new).enumerate() {
        assert_eq!(n.0, format!("{new_b}{:04}", i + 1));
        assert_eq!((&n.1, &n.2, &n.3), (&o.1, &o.2, &o.3), "{} -> {}", o.0, n.0);
        assert_eq!(n.4, i == 1, "{}: only the mortgaged flat is mortgaged", n.0);
        assert_eq!(accepted["codes"][&o.0].as_str(), Some(n.0.as_str()), "the answer maps old to new");
        assert_eq!(ancestors_of(&s.st, &n.0).await, [(o.0.clone(), "change".to_owned())]);
        assert_eq!(code_status(&s.st.db, &o.0).await, "historical");
    }
    assert_eq!(current_floors(&s.st.db, &new_b).await, old_floors, "floors carried over");
    assert!(ancestors_of(&s.st, &new_b).await.contains(&(REHOUSED_TABLE.to_owned(), "change".to_owned())));

    // The dropped building's households end (灭失), and nothing is left behind either building.
    assert!(households_of(&s.st.db, REHOUSED_TABLE).await.is_empty());
    assert!(current_floors(&s.st.db, REHOUSED_TABLE).await.is_empty());
    assert!(households_of(&s.st.db, DROPPED_TABLE).await.is_empty());
    assert!(current_floors(&s.st.db, DROPPED_TABLE).await.is_empty());
    let retired: BTreeSet<String> = accepted["retired"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    for h in &dropped {
        assert_eq!(code_status(&s.st.db, &h.0).await, "historical", "{}", h.0);
        assert!(retired.contains(&h.0), "{} not in {retired:?}", h.0);
    }
    assert_eq!(orphans(&s.st.db).await, 0, "no current household, floor or logical building without its building");
    let audit: Vec<(String, i64)> = sqlx::query_as(
        "SELECT action, count(*) FROM audit WHERE action IN ('household.recode', 'household.retire') GROUP BY action ORDER BY action",
    )
    .fetch_all(&s.st.db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        audit,
        [("household.recode".to_owned(), old.len() as i64), ("household.retire".to_owned(), dropped.len() as i64)]
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_table_for_a_new_building_takes_the_issued_code_and_continues_the_old_flats(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let old = households_of(&s.st.db, REHOUSED_TABLE).await;
    sqlx::query("UPDATE households SET mortgaged = true WHERE bdcdyh = $1 AND state = 'current'")
        .bind(&old[1].0)
        .execute(&s.st.db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (r, accepted) = accept_rehoused(&s, true).await;
    let temp = &r.temp[REHOUSED_TABLE];
    let new_b = accepted["codes"][temp].as_str().unwrap_or_else(|| panic!("{accepted}")).to_owned();
    assert_eq!(accepted["codes"][format!("{temp}#0001")].as_str(), Some(format!("{new_b}0001").as_str()));
    let renamed = r.renamed_room.clone().unwrap_or_else(|| panic!("no renamed room"));

    // The table is written under the new code, apportioned.
    let new = households_of(&s.st.db, &new_b).await;
    assert_eq!(new.len(), old.len());
    let unapportioned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM households WHERE zrzh = $1 AND state = 'current' AND scftjzmj IS NULL",
    )
    .bind(&new_b)
    .fetch_one(&s.st.db)
    .await
    .unwrap_or(-1);
    assert_eq!(unapportioned, 0);
    // Each flat in the same place continues the old one; the renamed room is a new flat.
    for o in &old {
        let successor = new.iter().find(|n| (&n.1, &n.2, &n.3) == (&o.1, &o.2, &o.3));
        assert_eq!(code_status(&s.st.db, &o.0).await, "historical", "{}", o.0);
        match successor {
            Some(n) => {
                assert_ne!(o.0, renamed);
                assert_eq!(ancestors_of(&s.st, &n.0).await, [(o.0.clone(), "change".to_owned())]);
                assert_eq!(n.4, o.0 == old[1].0, "{}: the mortgage follows the flat", n.0);
            }
            None => assert_eq!(o.0, renamed),
        }
    }
    let fresh: Vec<&String> =
        new.iter().filter(|n| !old.iter().any(|o| (&n.1, &n.2, &n.3) == (&o.1, &o.2, &o.3))).map(|n| &n.0).collect();
    assert_eq!(fresh.len(), 1, "{fresh:?}");
    let created: i64 =
        sqlx::query_scalar("SELECT count(*) FROM uc_event WHERE kind = 'create' AND $1 = ANY(new_codes)")
            .bind(fresh[0])
            .fetch_one(&s.st.db)
            .await
            .unwrap_or(-1);
    assert_eq!(created, 1, "the new flat is created (设立)");
    let ended: i64 =
        sqlx::query_scalar("SELECT count(*) FROM uc_event WHERE kind = 'extinguish' AND $1 = ANY(old_codes)")
            .bind(&renamed)
            .fetch_one(&s.st.db)
            .await
            .unwrap_or(-1);
    assert_eq!(ended, 1, "the flat whose room is gone ends (灭失)");
    assert!(current_floors(&s.st.db, REHOUSED_TABLE).await.is_empty());
    assert!(!current_floors(&s.st.db, &new_b).await.is_empty());
    assert_eq!(orphans(&s.st.db).await, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_table_of_a_retired_building_is_a_diff_problem_not_a_failed_accept(pool: PgPool) {
    let s = setup(pool, Settings::default()).await;
    let dir = tempdir();
    write_rehoused(dir.path(), false);
    // The surveyor kept the old building's table under its old code (and one for a ghost).
    let src = district_dir().join("buildings").join(format!("{REHOUSED_TABLE}.csv"));
    std::fs::copy(&src, dir.path().join("buildings").join(format!("{REHOUSED_TABLE}.csv")))
        .unwrap_or_else(|e| panic!("{e}"));
    let ghost = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{e}"));
    let ghost: String = ghost
        .split("\r\n")
        .map(|l| {
            let mut c: Vec<&str> = l.split(',').collect();
            if c.len() > 7 && c[0] == REHOUSED_TABLE {
                c[0] = "TGHOST";
                c[7] = "";
            }
            c.join(",")
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    std::fs::write(dir.path().join("buildings").join("TGHOST.csv"), ghost).unwrap_or_else(|e| panic!("{e}"));
    let id = hand_in(&s.st, &s.surveyor, zip_of(dir.path())).await.json["submission_id"].as_i64().unwrap_or(-1);
    drain(&s.st).await;
    let d = get(&s.st, &format!("/api/submissions/{id}/diff"), &s.reviewer).await;
    assert_eq!(d.json["status"].as_str(), Some("ready"), "{:?}", d.json);
    let problems: Vec<String> = d.json["diff"]["problems"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains(REHOUSED_TABLE) && p.contains("retires")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("TGHOST") && p.contains("names no new building")), "{problems:?}");
    let before = snapshot(&s.st.db).await;
    let a = decide(&s.st, &s.reviewer, id, json!({"decision": "accept", "override_reason": "x"})).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{:?}", a.json);
    assert!(a.json["error"]["message"].as_str().is_some_and(|m| m.contains("cannot be accepted")), "{:?}", a.json);
    assert_eq!(snapshot(&s.st.db).await, before);
}
