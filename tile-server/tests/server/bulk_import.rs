//! A county's first large parcel load goes into a partition of its own, indexed once
//! at the end (`tile-server import --bulk-min`, src/import/bulk.rs): same rows and
//! audit as the ordinary path, nothing visible from a killed load, and later imports
//! of the county take the ordinary path.

use std::time::{Duration, Instant};

use cadastre_samples::{write_generated, Config};
use sqlx::PgPool;
use tile_server::db::MIGRATOR;
use tile_server::import::ImportOptions;

use crate::import::{
    assert_counts_add_up, assert_one_current_per_code, binary, dump_current, generated_source, opts, run_binary,
    run_import, scalar, tempdir, url_of, version_count,
};

/// A second, migrated database next to the test's own: (pool, its URL, its name).
async fn reference_database(pool: &PgPool, tag: &str) -> (PgPool, String, String) {
    let name = format!("{tag}_{}_{}", std::process::id(), rand_suffix());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(pool).await.unwrap_or_else(|e| panic!("{e}"));
    let url = url_of(pool).await;
    let url = format!("{}/{name}", &url[..url.rfind('/').unwrap_or(0)]);
    let other = PgPool::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    MIGRATOR.run(&other).await.unwrap_or_else(|e| panic!("migrating {name}: {e}"));
    (other, url, name)
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
}

async fn drop_database(pool: &PgPool, other: PgPool, name: &str) {
    other.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(pool).await;
}

async fn text_rows(pool: &PgPool, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sql).fetch_all(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Whether `name` is a table (or anything) in the database.
async fn exists(pool: &PgPool, name: &str) -> bool {
    sqlx::query_scalar::<_, Option<String>>("SELECT to_regclass($1)::text")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_some()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_countys_first_large_load_becomes_its_partition(pool: PgPool) {
    let dir = tempdir();
    let truth =
        write_generated(&Config::new(3_000).with_seed(7), dir.path(), &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let bulk = ImportOptions { batch: 500, bulk_min: 1, ..opts(dir.path(), None) };
    let s = run_import(&pool, &bulk).await;
    assert_counts_add_up(&s);
    let county = s.county.clone().unwrap_or_else(|| panic!("no county in {s:?}"));
    let loaded = s.layer("ZD").map_or(0, |l| l.inserted);
    assert_eq!(loaded, truth.counts.parcels as u64);
    let partition = format!("parcels_{county}");

    // The county's rows are in its own, attached partition with every index of parcels.
    assert_eq!(scalar(&pool, &format!("SELECT count(*) FROM {partition}")).await, loaded as i64);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM parcels_default").await, 0);
    assert_eq!(
        scalar(&pool, &format!("SELECT count(*) FROM pg_inherits WHERE inhrelid = '{partition}'::regclass")).await,
        1,
        "attached"
    );
    let parent_indexes = scalar(&pool, "SELECT count(*) FROM pg_index WHERE indrelid = 'parcels'::regclass").await;
    let attached_indexes = scalar(
        &pool,
        &format!(
            "SELECT count(*) FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indexrelid
             WHERE x.indrelid = '{partition}'::regclass AND x.indisvalid"
        ),
    )
    .await;
    assert_eq!(attached_indexes, parent_indexes, "each index of parcels has its valid partition index");
    assert_eq!(
        scalar(&pool, &format!("SELECT count(*) FROM pg_index WHERE indrelid = '{partition}'::regclass")).await,
        parent_indexes,
        "and no other index"
    );
    assert!(!exists(&pool, &format!("parcels_load_{county}")).await, "the load table became the partition");
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'parcels\\_default\\_not\\_%'").await,
        0,
        "the county is open again"
    );

    // One audit row per batch; together they list exactly the loaded codes.
    let audited = text_rows(
        &pool,
        "SELECT jsonb_array_elements_text(after->'inserted_codes') FROM audit WHERE object_type = 'parcel' ORDER BY 1",
    )
    .await;
    let stored = text_rows(&pool, "SELECT zddm::text FROM parcels ORDER BY 1").await;
    assert_eq!(audited, stored);
    let batches = scalar(&pool, "SELECT count(*) FROM audit WHERE object_type = 'parcel'").await;
    assert_eq!(batches, (loaded as i64 + 499) / 500, "batches of 500");

    // The ordinary path gives the same rows, without a partition.
    let (other, _, name) = reference_database(&pool, "bulk_ref").await;
    run_import(&other, &ImportOptions { batch: 500, bulk_min: u64::MAX, ..opts(dir.path(), None) }).await;
    let same = dump_current(&pool).await == dump_current(&other).await;
    let other_partition = exists(&other, &partition).await;
    drop_database(&pool, other, &name).await;
    assert!(same, "bulk and ordinary loads differ");
    assert!(!other_partition, "the ordinary path made a partition");

    // A second import of the county takes the ordinary path and changes nothing.
    let versions = version_count(&pool).await;
    let again = run_import(&pool, &bulk).await;
    assert_eq!(again.layer("ZD").map_or(0, |l| l.unchanged), loaded);
    assert_eq!(version_count(&pool).await, versions);
    assert_one_current_per_code(&pool).await;
    // The partition keeps the parent's rules: versioned rows are never deleted.
    let deleted = sqlx::query(&format!("DELETE FROM parcels WHERE county = '{county}'")).execute(&pool).await;
    assert!(deleted.is_err(), "a delete in the partition must be refused");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_county_that_has_parcels_is_not_bulk_loaded(pool: PgPool) {
    let dir = tempdir();
    write_generated(&Config::new(600).with_seed(8), dir.path(), &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    // A first, small import through the ordinary path (below --bulk-min).
    let small = ImportOptions { bulk_min: u64::MAX, ..opts(dir.path(), None) };
    let s = run_import(&pool, &small).await;
    let county = s.county.clone().unwrap_or_default();
    // Now asked to bulk load: the county has parcels, so it must not.
    run_import(&pool, &ImportOptions { bulk_min: 1, ..opts(dir.path(), None) }).await;
    assert!(!exists(&pool, &format!("parcels_{county}")).await);
    assert!(!exists(&pool, &format!("parcels_load_{county}")).await);
    assert!(scalar(&pool, "SELECT count(*) FROM parcels_default").await > 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn killed_bulk_load_leaves_nothing_visible_and_the_rerun_completes(pool: PgPool) {
    let (_dir, truth, src, report) = generated_source(12_000, 4);
    let url = url_of(&pool).await;
    let args = [src.as_str(), "--batch", "40", "--bulk-min", "1", "--rejects", report.as_str()];
    let mut child = binary(&url, &args).spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
    // Wait until some batches are in a load table, then kill -9 mid-layer.
    let deadline = Instant::now() + Duration::from_secs(120);
    let county = loop {
        let loading: Option<(String, i64)> = sqlx::query_as(
            "SELECT c.relname::text, c.reltuples::bigint FROM pg_class c WHERE c.relname LIKE 'parcels\\_load\\_%'",
        )
        .fetch_optional(&pool)
        .await
        .unwrap_or(None);
        if let Some((table, _)) = &loading {
            let n: i64 =
                sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&pool).await.unwrap_or(0);
            if n >= 3 * 40 {
                break table.trim_start_matches("parcels_load_").to_owned();
            }
        }
        assert!(Instant::now() < deadline, "the import never reached the parcels");
        assert!(child.try_wait().ok().flatten().is_none(), "the import ended before it could be killed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    child.kill().unwrap_or_else(|e| panic!("kill: {e}"));
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    assert!(status.code().is_none(), "killed by a signal");

    // Nothing of the load is visible, and nothing was audited as written.
    assert_eq!(scalar(&pool, "SELECT count(*) FROM parcels").await, 0);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM audit WHERE object_type = 'parcel'").await, 0);
    // The county stays closed to other parcel writes until the rerun.
    let code = format!("{county}001001GB99999");
    let refused = sqlx::query("INSERT INTO parcels (county, zddm) VALUES ($1, $2)")
        .bind(&county)
        .bind(&code)
        .execute(&pool)
        .await
        .err()
        .and_then(|e| e.as_database_error().and_then(|d| d.code().map(|c| c.into_owned())));
    assert_eq!(refused.as_deref(), Some("23514"), "a parcel of a county being bulk loaded is refused");

    let (code, out, err) = run_binary(&url, &args);
    assert_eq!(code, 0, "rerun: {out} {err}");
    assert_eq!(scalar(&pool, "SELECT count(*) FROM parcels").await, truth.counts.parcels as i64);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM buildings").await, truth.counts.buildings as i64);
    assert!(exists(&pool, &format!("parcels_{county}")).await);
    assert!(!exists(&pool, &format!("parcels_load_{county}")).await);
    assert_one_current_per_code(&pool).await;
    let after_rerun = dump_current(&pool).await;

    // A clean ordinary import of the same files gives the same rows.
    let (other, other_url, name) = reference_database(&pool, "bulk_kill_ref").await;
    let (code, out, err) = run_binary(&other_url, &[&src, "--no-bulk", "--rejects", &report]);
    let clean = dump_current(&other).await;
    drop_database(&pool, other, &name).await;
    assert_eq!(code, 0, "clean import: {out} {err}");
    assert_eq!(after_rerun.len(), clean.len());
    assert!(after_rerun == clean, "killed bulk load + rerun differs from a clean import");
}
