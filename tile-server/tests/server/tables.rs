//! Building tables from a survey written as versions: inserted / updated / unchanged,
//! the register's owner fields carried over, a second write changing nothing.

use axum::http::StatusCode;
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::db::building_tables::{write_table, SurveyedFloor, SurveyedHousehold, SurveyedTable};
use tile_server::db::households::HouseholdAreas;
use tile_server::db::MIGRATOR;

use crate::common::*;

fn surveyed(room: u32, floor: i32, inner: f64, shared: f64) -> SurveyedHousehold {
    SurveyedHousehold {
        bdcdyh: bdcdyh(OWN, room),
        ljzh: "1".into(),
        sjc: floor,
        myc: floor.to_string(),
        dyh: "1".into(),
        shbw: room.to_string(),
        hx: Some("三室两厅".into()),
        fwyt: Some("10".into()),
        zl: format!("幸福路1号1幢1单元{room}室"),
        areas: HouseholdAreas {
            sctnjzmj: Some(inner),
            scftjzmj: Some(shared),
            scjzmj: Some(((inner + shared) * 100.0).round() / 100.0),
            ftxs: Some(shared / inner),
            ..HouseholdAreas::default()
        },
    }
}

fn table(households: Vec<SurveyedHousehold>) -> SurveyedTable {
    SurveyedTable {
        zrzh: zrzh(OWN),
        households,
        floors: vec![
            SurveyedFloor { sjc: 1, myc: "1".into(), cmc: "第1层".into() },
            SurveyedFloor { sjc: 2, myc: "2".into(), cmc: "第2层".into() },
            SurveyedFloor { sjc: 3, myc: "3".into(), cmc: "第3层".into() },
        ],
        logical_buildings: vec!["1".into()],
    }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_survey_table_is_written_as_versions_and_keeps_the_owner(pool: PgPool) {
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await; // households 101 and 201, with owner data
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    let before_audit = count(&pool, "SELECT count(*) FROM audit").await;

    // 101 as seeded except its shared area; 201 re-measured; 301 new.
    let t = table(vec![surveyed(101, 1, 89.5, 14.01), surveyed(201, 2, 91.0, 13.43), surveyed(301, 3, 89.5, 13.43)]);
    let w = write_table(&mut conn, "import:test", "importer", &t).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((w.inserted, w.updated, w.unchanged), (1, 2, 0));
    assert_eq!(count(&pool, "SELECT count(*) FROM households WHERE state = 'current'").await, 3);
    assert_eq!(count(&pool, "SELECT count(*) FROM households WHERE state = 'historical'").await, 2);
    assert_eq!(count(&pool, "SELECT count(*) FROM floors WHERE state = 'current'").await, 3);
    assert_eq!(count(&pool, "SELECT count(*) FROM audit").await, before_audit + 1);

    // The owner stays with the unit through the survey's new version.
    let u = get(&st, &format!("/api/units/{}", bdcdyh(OWN, 201)), &admin).await;
    assert_eq!(u.status, StatusCode::OK);
    assert_eq!(u.json["household"]["QLR"], "张三丰", "{:?}", u.json);
    assert_eq!(u.json["household"]["SCTNJZMJ"], 91.0);
    assert_eq!(u.json["household"]["SCFTJZMJ"], 13.43);

    // The same table again changes nothing and writes no audit row.
    let again = write_table(&mut conn, "import:test", "importer", &t).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 3));
    assert_eq!(count(&pool, "SELECT count(*) FROM households").await, 5);
    assert_eq!(count(&pool, "SELECT count(*) FROM floors").await, 3);
    assert_eq!(count(&pool, "SELECT count(*) FROM audit").await, before_audit + 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_table_needs_its_building_and_its_own_units(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    let err = write_table(&mut conn, "import:test", "importer", &table(vec![surveyed(101, 1, 80.0, 10.0)]))
        .await
        .expect_err("no building yet");
    assert!(err.to_string().contains("import its ZRZ layer first"), "{err}");

    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &[OWN]).await;
    seed_county(&st, &admin, OWN).await;
    let mut stray = surveyed(101, 1, 80.0, 10.0);
    stray.bdcdyh = format!("{}F00029999", zddm(OWN, 7));
    let err = write_table(&mut conn, "import:test", "importer", &table(vec![surveyed(301, 3, 80.0, 10.0), stray]))
        .await
        .expect_err("a unit of another building");
    assert!(err.to_string().contains("is not a household of building"), "{err}");
    // Nothing of the refused table was written.
    assert_eq!(count(&pool, "SELECT count(*) FROM households").await, 2);
    assert_eq!(count(&pool, "SELECT count(*) FROM floors WHERE sjc = 3").await, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_sample_district_imports_with_its_building_tables(pool: PgPool) {
    use tile_server::import::tables::import_tables;
    use tile_server::import::{import, ImportOptions, NoProgress};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district");
    let opts = ImportOptions { rejects: None, actor: "import:test".into(), ..ImportOptions::new(&dir) };
    import(&pool, &opts, &NoProgress).await.unwrap_or_else(|e| panic!("{e}"));
    let tables = import_tables(&pool, &dir, "import:test").await;
    assert_eq!(tables.len(), 4);
    // Every CSV row with a code became a household (counted independently of the reader).
    let mut rows = 0;
    for t in &tables {
        assert!(!t.has_rejects(), "{t:?}");
        let text = std::fs::read_to_string(&t.file).unwrap_or_default();
        rows += text.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    }
    let stored = count(&pool, "SELECT count(*) FROM households WHERE state = 'current'").await;
    assert_eq!(stored, i64::try_from(rows).unwrap_or(-1));

    // The mixed-use building's table through the API: apportioned areas add up per household.
    let st = state(&pool);
    let admin = user_token(&st, "boss", Role::Admin, &["330106"]).await;
    let r = get(&st, "/api/buildings/330106001001GB00001F0001/table", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let households: Vec<&serde_json::Value> = r.json["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["households"].as_array().into_iter().flatten())
        .collect();
    assert!(households.len() > 10);
    for h in households {
        let (inner, share, total) = (h["SCTNJZMJ"].as_f64(), h["SCFTJZMJ"].as_f64(), h["SCJZMJ"].as_f64());
        let (Some(inner), Some(share), Some(total)) = (inner, share, total) else { panic!("areas missing: {h}") };
        assert!((inner + share - total).abs() < 0.005, "{h}");
    }

    // Importing the tables again changes nothing.
    let again = import_tables(&pool, &dir, "import:test").await;
    assert!(again.iter().all(|t| matches!(t.written, Ok(w) if w.inserted == 0 && w.updated == 0)), "{again:?}");
}
