//! The statements that find rows by county and code can use the indexes.
//!
//! Counties and codes are `CHAR(n)` (`bpchar`) columns and sqlx sends a Rust string as
//! `text`, so `county = $1` would be planned as `county::text = $1`: no btree index on
//! `county` serves that, and `parcels` (partitioned by county) is not pruned to the county's
//! partition. Hence the `$1::bpchar` casts (see [`crate::db`]).
//!
//! Each statement is planned here as the code sends it (parameters bound the same way) over
//! a few thousand rows per table, with sequential scans disabled: the planner then still
//! reads a table whole (a Seq Scan, or a full index scan that filters every row) only when no
//! index condition on the county is possible, which is what the checks look for.

use cadastre_core::model::Layer;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Row};

use crate::db::building_tables::{self, PgQuery, SurveyedHousehold};
use crate::db::{buildings, households, parcels, submissions};
use crate::import::store;
use crate::review::rehouse;

const COUNTY: &str = "330106";
const ZDDM: &str = "330106001001GB00001";
const ZRZH: &str = "330106001001GB00001F0001";
const BDCDYH: &str = "330106001001GB00001F00010001";
const BDCDYH_2: &str = "330106001001GB00001F00010002";

/// Four counties (the tested one with a partition of its own, as a bulk load leaves it), 2,000
/// parcels and buildings and 4,000 floors and households each, 500 submissions and runs each.
const SEED: &str = "
CREATE TABLE parcels_330106 PARTITION OF parcels FOR VALUES IN ('330106');
INSERT INTO users (county, counties, username, password_hash, role)
    VALUES ('330106', '{330106}', 'seed', 'not a hash', 'surveyor');
INSERT INTO parcels (county, zddm)
    SELECT c, c || '001001GB' || lpad(i::text, 5, '0')
    FROM unnest('{330105,330106,330107,330108}'::text[]) c, generate_series(1, 2000) i;
INSERT INTO buildings (county, zrzh) SELECT county, zddm || 'F0001' FROM parcels;
INSERT INTO floors (county, zrzh, sjc, myc) SELECT county, zrzh, s, s::text FROM buildings, generate_series(1, 2) s;
INSERT INTO households (county, bdcdyh, zrzh, sjc, myc)
    SELECT county, zrzh || lpad(s::text, 4, '0'), zrzh, 1, '1' FROM buildings, generate_series(1, 2) s;
INSERT INTO submissions (county, submitted_by)
    SELECT c, (SELECT user_id FROM users)
    FROM unnest('{330105,330106,330107,330108}'::text[]) c, generate_series(1, 500);
INSERT INTO submission_versions (county, submission_id, version, submitted_by, package, package_bytes, package_sha256,
                                 manifest)
    SELECT county, submission_id, 1, submitted_by, '\\x00', 1, '', '{}' FROM submissions;
INSERT INTO import_runs (county, source, actor)
    SELECT c, 'seed', 'seed' FROM unnest('{330105,330106,330107,330108}'::text[]) c, generate_series(1, 500);
ANALYZE;
";

/// Binds a statement's parameters.
type Bind = for<'q> fn(PgQuery<'q>) -> PgQuery<'q>;

fn household() -> SurveyedHousehold {
    SurveyedHousehold {
        bdcdyh: BDCDYH.into(),
        ljzh: String::new(),
        sjc: 1,
        myc: "1".into(),
        dyh: String::new(),
        shbw: String::new(),
        hx: None,
        fwyt: None,
        zl: String::new(),
        areas: Default::default(),
    }
}

/// A table scan of a plan: node type, relation, and the index condition it reads by.
#[derive(Debug)]
struct Scan {
    node: String,
    relation: String,
    cond: String,
}

fn scans(plan: &Value, out: &mut Vec<Scan>) {
    let node = plan["Node Type"].as_str().unwrap_or_default();
    // Scans name their table (ModifyTable does too, but reads through its scans).
    if let (true, Some(relation)) = (node.ends_with("Scan"), plan["Relation Name"].as_str()) {
        let cond = plan["Index Cond"].as_str().or(plan["Recheck Cond"].as_str()).unwrap_or_default();
        out.push(Scan { node: node.to_owned(), relation: relation.to_owned(), cond: cond.to_owned() });
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        scans(child, out);
    }
}

/// Plans `q` (a statement with its parameters) and says what is wrong: a table read without
/// an index condition on each of `keys` (a Seq Scan, or a scan of a whole index that filters
/// every row), `parcels` read beyond the county's partition.
async fn check(conn: &mut PgConnection, name: &str, keys: &[&str], q: PgQuery<'_>) -> Vec<String> {
    let row = q.fetch_one(conn).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let plan: Value = row.try_get(0).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut found = Vec::new();
    scans(&plan[0]["Plan"], &mut found);
    assert!(!found.is_empty(), "{name}: no table scan in {plan}");
    let mut problems = Vec::new();
    for s in &found {
        let unkeyed: Vec<&str> = keys.iter().copied().filter(|k| !s.cond.contains(&format!("{k} = "))).collect();
        if s.node == "Seq Scan" || !unkeyed.is_empty() {
            problems.push(format!(
                "{name}: {} on {}, no index condition on {unkeyed:?} ({:?})",
                s.node, s.relation, s.cond
            ));
        }
        if s.relation.starts_with("parcels") && s.relation != format!("parcels_{COUNTY}") {
            problems.push(format!("{name}: reads {}, not only the partition of {COUNTY}", s.relation));
        }
    }
    problems
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn county_and_code_lookups_use_the_indexes(pool: PgPool) {
    sqlx::raw_sql(SEED).execute(&pool).await.unwrap_or_else(|e| panic!("seeding: {e}"));
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("connecting: {e}"));
    sqlx::raw_sql("SET enable_seqscan = off").execute(&mut *conn).await.unwrap_or_else(|e| panic!("{e}"));
    // Name, statement, the columns it finds its rows by, its parameters as the code binds them.
    let statements: &[(&str, String, &[&str], Bind)] = &[
        ("parcels::LOCK_CURRENT", parcels::LOCK_CURRENT.clone(), &["county", "zddm"], |q| q.bind(COUNTY).bind(ZDDM)),
        ("parcels::CLOSE_VERSION", parcels::CLOSE_VERSION.into(), &["county", "version_id"], |q| {
            q.bind(COUNTY).bind(1_i64)
        }),
        ("buildings::PARCEL_EXISTS", buildings::PARCEL_EXISTS.into(), &["county", "zddm"], |q| {
            q.bind(COUNTY).bind(ZRZH)
        }),
        ("store::current_probe(parcels)", store::current_probe_of(Layer::Parcels), &["county", "zddm"], |q| {
            q.bind(COUNTY).bind(vec![ZDDM])
        }),
        ("store::current_probe(buildings)", store::current_probe_of(Layer::Buildings), &["county", "zrzh"], |q| {
            q.bind(COUNTY).bind(vec![ZRZH])
        }),
        ("buildings::BUILDING_EXISTS", buildings::BUILDING_EXISTS.into(), &["county", "zrzh"], |q| {
            q.bind(COUNTY).bind(ZRZH)
        }),
        ("buildings::LOCK_CURRENT", buildings::LOCK_CURRENT.clone(), &["county", "zrzh"], |q| {
            q.bind(COUNTY).bind(ZRZH)
        }),
        ("buildings::CURRENT_FLOORS", buildings::CURRENT_FLOORS.into(), &["county", "zrzh"], |q| {
            q.bind(COUNTY).bind(ZRZH)
        }),
        ("building_tables::PROBE_FLOOR", building_tables::PROBE_FLOOR.into(), &["county", "zrzh"], |q| {
            q.bind(COUNTY).bind(ZRZH).bind(1).bind("1").bind("")
        }),
        ("households::LOCK_CURRENT", households::LOCK_CURRENT.clone(), &["county", "bdcdyh"], |q| {
            q.bind(COUNTY).bind(BDCDYH)
        }),
        ("households::CLOSE_VERSION", households::CLOSE_VERSION.into(), &["county", "version_id"], |q| {
            q.bind(COUNTY).bind(1_i64)
        }),
        ("building_tables::PROBE", building_tables::PROBE.clone(), &["county", "bdcdyh"], |q| {
            building_tables::bind_surveyed(q.bind(COUNTY).bind(BDCDYH), &household())
        }),
        ("building_tables::INSERT_NEXT", building_tables::INSERT_NEXT.into(), &["county", "bdcdyh"], |q| {
            building_tables::bind_surveyed(q.bind(COUNTY).bind(BDCDYH), &household()).bind(ZRZH)
        }),
        ("rehouse::CARRY_REGISTER_FIELDS", rehouse::CARRY_REGISTER_FIELDS.into(), &["county", "bdcdyh"], |q| {
            q.bind(COUNTY).bind(vec![BDCDYH]).bind(vec![BDCDYH_2])
        }),
        ("submissions::PACKAGE", submissions::PACKAGE.into(), &["county", "submission_id", "version"], |q| {
            q.bind(COUNTY).bind(1_i64).bind(1_i32)
        }),
        ("submissions::TRANSITIONS", submissions::TRANSITIONS.into(), &["county", "submission_id"], |q| {
            q.bind(COUNTY).bind(1_i64)
        }),
        ("store::FINISH_RUN", store::FINISH_RUN.into(), &["county", "run_id"], |q| {
            q.bind(COUNTY).bind(1_i64).bind("finished").bind(json!({}))
        }),
        ("store::COUNT_BATCH", store::COUNT_BATCH.into(), &["county", "run_id"], |q| q.bind(COUNTY).bind(1_i64)),
    ];
    let mut problems = Vec::new();
    for (name, sql, keys, bind) in statements {
        let explain = format!("EXPLAIN (FORMAT JSON) {sql}");
        problems.extend(check(&mut conn, name, keys, bind(sqlx::query(&explain))).await);
    }
    assert!(problems.is_empty(), "statements that cannot use their index:\n{}", problems.join("\n"));
}
