//! `tile-server import` against the real PostGIS: the committed sample, a generated
//! district with defects, re-import, a killed import, bad input and two imports at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cadastre_samples::{generate, write_district, write_generated, Config, DefectPlan, Rule};
use sqlx::{PgPool, Row};
use tile_server::db::MIGRATOR;
use tile_server::import::{import, ImportOptions, ImportSummary, NoProgress};

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district")
}

pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"))
}

pub(crate) async fn run_import(pool: &PgPool, opts: &ImportOptions) -> ImportSummary {
    import(pool, opts, &NoProgress).await.unwrap_or_else(|e| panic!("import {}: {e}", opts.path.display()))
}

pub(crate) fn opts(path: &Path, rejects: Option<PathBuf>) -> ImportOptions {
    ImportOptions { rejects, actor: "import:test".into(), ..ImportOptions::new(path) }
}

/// One row of the reject report.
#[derive(Debug, Clone, PartialEq)]
struct ReportRow {
    layer: String,
    index: Option<usize>,
    code: String,
    action: String,
    rule: String,
    zh: String,
    en: String,
}

fn read_report(path: &Path) -> Vec<ReportRow> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("report {}: {e}", path.display()));
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "report must start with a UTF-8 BOM");
    let mut r = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = r.headers().map(|h| h.iter().map(str::to_owned).collect()).unwrap_or_default();
    assert_eq!(header, ["layer", "feature_index", "code", "action", "rule", "reason_zh", "reason_en"]);
    r.records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("report row: {e}"));
            ReportRow {
                layer: rec[0].to_owned(),
                index: rec[1].parse().ok(),
                code: rec[2].to_owned(),
                action: rec[3].to_owned(),
                rule: rec[4].to_owned(),
                zh: rec[5].to_owned(),
                en: rec[6].to_owned(),
            }
        })
        .collect()
}

pub(crate) async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every current row of the four tables, as text, in key order (compared across runs).
pub(crate) async fn dump_current(pool: &PgPool) -> Vec<String> {
    let sql = "SELECT 'DJQ ' || djqdm || ' ' || djqmc || ' ' || md5(ST_AsEWKB(geom)) FROM districts WHERE state = 'current'
         UNION ALL SELECT 'DJZQ ' || djzqdm || ' ' || djzqmc || ' ' || md5(ST_AsEWKB(geom)) FROM sub_districts WHERE state = 'current'
         UNION ALL SELECT 'ZD ' || concat_ws(' ', zddm, zl, zdmj, yt, qllx, qlxz, md5(ST_AsEWKB(geom))) FROM parcels WHERE state = 'current'
         UNION ALL SELECT 'ZRZ ' || concat_ws(' ', zrzh, jzwmc, zl, jgrq, dscs, dxcs, fwjg, ghyt, ycjzmj, scjzmj, md5(ST_AsEWKB(geom)))
                   FROM buildings WHERE state = 'current'
         ORDER BY 1";
    sqlx::query_scalar(sql).fetch_all(pool).await.unwrap_or_else(|e| panic!("dump: {e}"))
}

pub(crate) async fn version_count(pool: &PgPool) -> i64 {
    scalar(
        pool,
        "SELECT (SELECT count(*) FROM parcels) + (SELECT count(*) FROM buildings)
              + (SELECT count(*) FROM sub_districts) + (SELECT count(*) FROM districts)",
    )
    .await
}

/// No code has two current rows (the partial unique indexes say so too; checked anyway).
pub(crate) async fn assert_one_current_per_code(pool: &PgPool) {
    for (table, key) in
        [("parcels", "zddm"), ("buildings", "zrzh"), ("sub_districts", "djzqdm"), ("districts", "djqdm")]
    {
        let dup = scalar(
            pool,
            &format!(
                "SELECT count(*) FROM (SELECT {key} FROM {table} WHERE state = 'current' GROUP BY {key} HAVING count(*) > 1) d"
            ),
        )
        .await;
        assert_eq!(dup, 0, "{table}: codes with several current rows");
    }
}

pub(crate) fn assert_counts_add_up(s: &ImportSummary) {
    for (name, l) in &s.layers {
        assert_eq!(l.read, l.inserted + l.updated + l.unchanged + l.rejected, "layer {name}: {l:?}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sample_district_loads_completely(pool: PgPool) {
    let dir = tempdir();
    let report = dir.path().join("rejects.csv");
    let s = run_import(&pool, &opts(&sample_dir(), Some(report.clone()))).await;
    let loaded = |n: &str| s.layer(n).map(|l| (l.read, l.inserted, l.rejected));
    assert_eq!(loaded("ZD"), Some((200, 200, 0)));
    assert_eq!(loaded("ZRZ"), Some((297, 297, 0)));
    assert_eq!(loaded("DJZQ"), Some((3, 3, 0)));
    assert_eq!(loaded("DJQ"), Some((1, 1, 0)));
    assert_eq!(s.exit_code(), 0);
    assert_counts_add_up(&s);
    assert!(read_report(&report).iter().all(|r| r.action != "rejected"));
    assert_eq!(scalar(&pool, "SELECT count(*) FROM parcels WHERE state = 'current'").await, 200);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM buildings WHERE state = 'current'").await, 297);
    // Chinese text and areas as in the source, read independently by cadastre-core.
    let sub = cadastre_core::io::load_submission(&sample_dir(), &cadastre_core::io::LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = sqlx::query("SELECT zddm::text, zl, zdmj::float8, ST_Area(geom) FROM parcels")
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let db: BTreeMap<String, (String, f64, f64)> =
        rows.iter().map(|r| (r.get::<String, _>(0), (r.get(1), r.get(2), r.get(3)))).collect();
    assert_eq!(db.len(), sub.parcels.len());
    for p in &sub.parcels {
        let (zl, zdmj, area) = db.get(&p.zddm).unwrap_or_else(|| panic!("{} not loaded", p.zddm));
        assert_eq!(Some(zl), p.attributes.zl.as_ref(), "ZL of {}", p.zddm);
        assert!(zl.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "ZL {zl:?} has no Chinese");
        assert_eq!(Some(*zdmj), p.attributes.zdmj);
        assert!((area - zdmj).abs() <= 0.01, "{}: area {area} vs ZDMJ {zdmj}", p.zddm);
    }
    let audit =
        scalar(&pool, "SELECT count(*) FROM audit WHERE action = 'import.batch' AND actor = 'import:test'").await;
    assert_eq!(audit, 4, "one audit row per batch (one batch per layer here)");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn generated_defects_are_rejected_and_the_rest_loaded(pool: PgPool) {
    let plan = vec![
        (Rule::CodeFormat, 3),
        (Rule::CodeDuplicate, 3),
        (Rule::SelfIntersection, 3),
        (Rule::Tiny, 3),
        (Rule::AttributeMissing, 3),
    ];
    let config = Config::new(2_000).with_seed(11).with_defects(DefectPlan::Exact(plan));
    let district = generate(&config).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempdir();
    let truth = write_district(&district, &config, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let report = dir.path().join("rejects.csv");
    // Chunks of 300 records: seven a layer, and a duplicate may sit in another chunk
    // than its first record.
    let options = ImportOptions { batch: 500, chunk_records: Some(300), ..opts(dir.path(), Some(report.clone())) };
    let s = run_import(&pool, &options).await;
    assert_counts_add_up(&s);
    assert_eq!(s.exit_code(), 1);
    let rows = read_report(&report);
    // In record order within each layer, as the chunks were read.
    for layer in ["ZD", "ZRZ"] {
        let indexes: Vec<usize> = rows.iter().filter(|r| r.layer == layer).filter_map(|r| r.index).collect();
        assert!(indexes.windows(2).all(|w| w[0] <= w[1]), "{layer} rows out of record order: {indexes:?}");
    }
    let rejected: Vec<&ReportRow> = rows.iter().filter(|r| r.action == "rejected").collect();
    // Expected rejects: every defect except attribute.missing, with its rule.
    let mut expected: BTreeMap<String, &str> = BTreeMap::new();
    for d in &truth.defects {
        let code = d.objects[0].clone();
        match d.rule {
            Rule::AttributeMissing => {
                let warned = rows
                    .iter()
                    .any(|r| r.code == code && r.action == "warning" && r.rule.contains("attribute.missing"));
                assert!(warned, "attribute.missing on {code} must be a warning row");
            }
            r => {
                expected.insert(code, r.as_str());
            }
        }
    }
    assert_eq!(expected.len(), 12);
    for (code, rule) in &expected {
        let hit = rejected.iter().filter(|r| r.layer == "ZD" && &r.code == code).collect::<Vec<_>>();
        assert_eq!(hit.len(), 1, "{code} ({rule}) must have exactly one reject row: {rows:?}");
        assert!(hit[0].rule.split(';').any(|x| x == *rule), "{code}: rule {} lacks {rule}", hit[0].rule);
        assert!(!hit[0].zh.is_empty() && !hit[0].en.is_empty());
        assert!(hit[0].index.is_some());
    }
    let rejected_codes: BTreeSet<&str> = rejected.iter().map(|r| r.code.as_str()).collect();
    let expected_codes: BTreeSet<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(rejected_codes, expected_codes, "nothing else is rejected");
    // The duplicate: the first record with the code is loaded, the second rejected.
    for d in truth.defects.iter().filter(|d| d.rule == Rule::CodeDuplicate) {
        let n = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM parcels WHERE zddm = $1")
            .bind(&d.objects[0])
            .fetch_one(&pool)
            .await
            .unwrap_or_default();
        assert_eq!(n, 1);
    }
    let zd = s.layer("ZD").copied().unwrap_or_default();
    assert_eq!(zd.read, truth.counts.parcels);
    assert_eq!(zd.rejected, 12);
    assert_eq!(zd.rejected as usize, rejected.iter().filter(|r| r.layer == "ZD").count());
    let in_db = scalar(&pool, "SELECT count(*) FROM parcels").await;
    assert_eq!(in_db as u64, zd.inserted);
    assert_eq!(zd.inserted + 12, truth.counts.parcels);
    assert_one_current_per_code(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn reimport_changes_nothing_and_edits_make_versions(pool: PgPool) {
    let config = Config::new(600).with_seed(3);
    let mut district = generate(&config).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (tempdir(), tempdir());
    write_district(&district, &config, a.path()).unwrap_or_else(|e| panic!("{e}"));
    let first = run_import(&pool, &opts(a.path(), None)).await;
    let (dump1, versions1) = (dump_current(&pool).await, version_count(&pool).await);
    let again = run_import(&pool, &opts(a.path(), None)).await;
    assert_eq!(dump_current(&pool).await, dump1);
    assert_eq!(version_count(&pool).await, versions1, "a re-import adds no versions");
    let zd = again.layer("ZD").copied().unwrap_or_default();
    assert_eq!((zd.inserted, zd.updated, zd.unchanged), (0, 0, first.layer("ZD").map_or(0, |l| l.inserted)));
    // Edit 7 addresses and move one vertex of 3 other parcels.
    let changed: Vec<String> = (0..10).map(|i| district.parcels[i * 50].zddm.clone()).collect();
    for i in 0..7 {
        district.parcels[i * 50].address.push_str("（改）");
    }
    for i in 7..10 {
        let p = &mut district.parcels[i * 50];
        let mut ext = p.geometry.exterior().clone();
        ext.0[1].x += 0.05;
        p.geometry = geo_types::Polygon::new(ext, p.geometry.interiors().to_vec());
    }
    write_district(&district, &config, b.path()).unwrap_or_else(|e| panic!("{e}"));
    let edit = run_import(&pool, &opts(b.path(), None)).await;
    assert_counts_add_up(&edit);
    let zd = edit.layer("ZD").copied().unwrap_or_default();
    assert_eq!((zd.inserted, zd.updated), (0, 10), "{zd:?}");
    let rows = sqlx::query("SELECT zddm::text, count(*), count(*) FILTER (WHERE state = 'historical' AND valid_to IS NOT NULL) FROM parcels GROUP BY zddm")
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for r in rows {
        let (code, n, hist): (String, i64, i64) = (r.get(0), r.get(1), r.get(2));
        if changed.contains(&code) {
            assert_eq!((n, hist), (2, 1), "{code} changed: one historical and one current version");
        } else {
            assert_eq!((n, hist), (1, 0), "{code} unchanged: untouched");
        }
    }
    let zl: String = sqlx::query_scalar("SELECT zl FROM parcels WHERE zddm = $1 AND state = 'current'")
        .bind(&changed[0])
        .fetch_one(&pool)
        .await
        .unwrap_or_default();
    assert!(zl.ends_with("（改）"), "{zl}");
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit WHERE action = 'import.batch' AND after->'updated_codes' ? $1")
            .bind(&changed[8])
            .fetch_one(&pool)
            .await
            .unwrap_or_default();
    assert_eq!(audited, 1, "the batch's audit row names the updated code");
    assert_one_current_per_code(&pool).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn concurrent_imports_of_overlapping_files_end_consistent(pool: PgPool) {
    let config = Config::new(1_500).with_seed(8);
    let mut district = generate(&config).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (tempdir(), tempdir());
    write_district(&district, &config, a.path()).unwrap_or_else(|e| panic!("{e}"));
    for p in district.parcels.iter_mut().step_by(3) {
        p.address.push_str("（B）");
    }
    write_district(&district, &config, b.path()).unwrap_or_else(|e| panic!("{e}"));
    let (oa, ob) =
        (ImportOptions { batch: 100, ..opts(a.path(), None) }, ImportOptions { batch: 100, ..opts(b.path(), None) });
    let (sa, sb) = tokio::join!(run_import(&pool, &oa), run_import(&pool, &ob));
    assert_counts_add_up(&sa);
    assert_counts_add_up(&sb);
    assert_one_current_per_code(&pool).await;
    let current = scalar(&pool, "SELECT count(*) FROM parcels WHERE state = 'current'").await;
    assert_eq!(current as usize, district.parcels.len());
    let codes = scalar(&pool, "SELECT count(DISTINCT zddm) FROM parcels").await;
    assert_eq!(codes, current);
    // Every current row is A's or B's version; the versions written add up.
    let versions = scalar(&pool, "SELECT count(*) FROM parcels").await as u64;
    let written = |s: &ImportSummary| s.layer("ZD").map_or(0, |l| l.inserted + l.updated);
    assert_eq!(versions, written(&sa) + written(&sb));
}

// ---- the binary: exit codes, kill -9, bad input ----

fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| panic!("DATABASE_URL must be set for the import tests"))
}

/// The URL of the test's own database (sqlx::test made it from DATABASE_URL).
pub(crate) async fn url_of(pool: &PgPool) -> String {
    let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap_or_default();
    let base = database_url();
    let base = base.split('?').next().unwrap_or(&base).to_owned();
    let cut = base.rfind('/').unwrap_or(base.len());
    format!("{}/{name}", &base[..cut])
}

pub(crate) fn binary(url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tile-server"));
    c.arg("--db")
        .arg(url)
        .arg("import")
        .args(args)
        .arg("--quiet")
        .env("RUST_LOG", "warn")
        .env("CADASTRE_ACTOR", "test");
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

pub(crate) fn run_binary(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = binary(url, args).output().unwrap_or_else(|e| panic!("running tile-server: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A generated district of `parcels` parcels in a temporary folder, with the folder
/// and a reject-report path as command-line arguments.
pub(crate) fn generated_source(
    parcels: u64,
    seed: u64,
) -> (tempfile::TempDir, cadastre_samples::Truth, String, String) {
    let dir = tempdir();
    let truth = write_generated(&Config::new(parcels).with_seed(seed), dir.path(), &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    let src = dir.path().to_string_lossy().into_owned();
    let report = dir.path().join("r.csv").to_string_lossy().into_owned();
    (dir, truth, src, report)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn killed_import_leaves_whole_batches_and_a_rerun_completes(pool: PgPool) {
    let (_dir, truth, src, report) = generated_source(12_000, 4);
    let url = url_of(&pool).await;
    const BATCH: i64 = 40;
    let mut child =
        binary(&url, &[&src, "--batch", "40", "--rejects", &report]).spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
    // Wait until some parcel batches are committed, then kill -9 mid-layer.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM parcels").fetch_one(&pool).await.unwrap_or(0);
        if n >= 3 * BATCH {
            break;
        }
        assert!(Instant::now() < deadline, "the import never reached the parcels");
        assert!(child.try_wait().ok().flatten().is_none(), "the import ended before it could be killed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap_or_else(|e| panic!("kill: {e}"));
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    assert!(status.code().is_none(), "killed by a signal");
    // The dead process's sessions end when PostgreSQL next reads their sockets, which under
    // load can be seconds away; end them now, as that would (their transactions roll back).
    end_import_sessions(&pool, true).await;
    let parcels = scalar(&pool, "SELECT count(*) FROM parcels").await;
    assert!(parcels < truth.counts.parcels as i64, "killed before the end ({parcels} parcels)");
    assert_eq!(parcels % BATCH, 0, "{parcels} parcels: not whole batches of {BATCH}");
    let audits = scalar(&pool, "SELECT count(*) FROM audit WHERE object_type = 'parcel'").await;
    assert_eq!(audits * BATCH, parcels, "one audit row per committed batch, none for a lost one");
    assert_eq!(scalar(&pool, "SELECT count(*) FROM import_runs WHERE status = 'running'").await, 1);
    assert_one_current_per_code(&pool).await;

    let (code, out, err) = run_binary(&url, &[&src, "--batch", "40", "--rejects", &report]);
    assert_eq!(code, 0, "rerun: {out} {err}");
    assert_one_current_per_code(&pool).await;
    assert_eq!(scalar(&pool, "SELECT count(*) FROM parcels").await, truth.counts.parcels as i64, "no new versions");
    assert_eq!(scalar(&pool, "SELECT count(*) FROM buildings").await, truth.counts.buildings as i64);
    let after_rerun = dump_current(&pool).await;

    // A clean import of the same files into a fresh store gives the same rows.
    let reference = format!("import_ref_{}_{}", std::process::id(), parcels);
    sqlx::query(&format!("CREATE DATABASE {reference}")).execute(&pool).await.unwrap_or_else(|e| panic!("{e}"));
    let ref_url = format!("{}/{reference}", &url[..url.rfind('/').unwrap_or(0)]);
    let (code, out, err) = run_binary(&ref_url, &[&src, "--rejects", &report]);
    assert_eq!(code, 0, "clean import: {out} {err}");
    let ref_pool = PgPool::connect(&ref_url).await.unwrap_or_else(|e| panic!("{e}"));
    let clean = dump_current(&ref_pool).await;
    ref_pool.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE {reference} WITH (FORCE)")).execute(&pool).await;
    assert_eq!(after_rerun.len(), clean.len());
    assert!(after_rerun == clean, "interrupted + rerun differs from a clean import");
    // The test's database is dropped after it: not while the exited imports' sessions linger.
    end_import_sessions(&pool, false).await;
}

/// Waits until no session of `tile-server import` is left on the test's database, ending
/// them first with `terminate` (those of a killed process).
async fn end_import_sessions(pool: &PgPool, terminate: bool) {
    const OF_IMPORT: &str =
        "FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tile-server import'";
    if terminate {
        sqlx::query(&format!("SELECT pg_terminate_backend(pid) {OF_IMPORT}"))
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while scalar(pool, &format!("SELECT count(*) {OF_IMPORT}")).await > 0 {
        assert!(Instant::now() < deadline, "the import's sessions never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Copies the sample's layer `name` (all components) into `dir`.
fn copy_layer(name: &str, dir: &Path, skip_ext: &[&str]) {
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        if skip_ext.contains(&ext) {
            continue;
        }
        let from = sample_dir().join(format!("{name}.{ext}"));
        std::fs::copy(&from, dir.join(format!("{name}.{ext}"))).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
}

/// A .shp header whose length field is three times the file's, over whole records: read,
/// and said in the report (as `cadastre check` does); cut off in the middle of a record
/// with the same header: refused before anything is written.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_lying_shp_header_over_whole_records_is_imported_and_said(pool: PgPool) {
    let url = url_of(&pool).await;
    let d = tempdir();
    copy_layer("ZD", d.path(), &[]);
    let shp = d.path().join("ZD.shp");
    let mut bytes = std::fs::read(&shp).unwrap_or_else(|e| panic!("{e}"));
    let words = u32::try_from(bytes.len() / 2 * 3).unwrap_or(u32::MAX);
    bytes[24..28].copy_from_slice(&words.to_be_bytes());
    std::fs::write(&shp, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let report = d.path().join("r.csv");
    let report_arg = report.to_string_lossy().into_owned();
    let (code, out, err) = run_binary(&url, &[&shp.to_string_lossy(), "--rejects", &report_arg]);
    assert_eq!(code, 0, "{out}\n{err}");
    let parcels: i64 =
        sqlx::query_scalar("SELECT count(*) FROM parcels WHERE state = 'current'").fetch_one(&pool).await.unwrap_or(-1);
    assert_eq!(parcels, 200);
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    let said = text.lines().find(|l| l.contains("input.load") && l.contains(&(bytes.len() * 3).to_string()));
    assert!(said.is_some(), "the report names the header's length: {text}");

    // The same header over a file cut in the middle of its last record: refused.
    let d = tempdir();
    copy_layer("ZD", d.path(), &[]);
    let shp = d.path().join("ZD.shp");
    std::fs::write(&shp, &bytes[..bytes.len() - 10]).unwrap_or_else(|e| panic!("{e}"));
    let before = version_count(&pool).await;
    let (code, _, err) = run_binary(&url, &[&shp.to_string_lossy()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("truncated") && err.contains("record 200 runs past its end"), "{err}");
    assert_eq!(version_count(&pool).await, before, "nothing written");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_input_gives_clear_errors_and_writes_nothing(pool: PgPool) {
    let url = url_of(&pool).await;
    let check_nothing_written = || async {
        assert_eq!(version_count(&pool).await, 0, "nothing may be written");
    };
    // Truncated .shp.
    let d = tempdir();
    copy_layer("ZD", d.path(), &[]);
    let shp = d.path().join("ZD.shp");
    let bytes = std::fs::read(&shp).unwrap_or_default();
    std::fs::write(&shp, &bytes[..bytes.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = run_binary(&url, &[&d.path().to_string_lossy()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("truncated"), "{err}");
    check_nothing_written().await;
    // Missing .dbf.
    let d = tempdir();
    copy_layer("ZD", d.path(), &["dbf"]);
    let (code, _, err) = run_binary(&url, &[&d.path().to_string_lossy()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing .dbf"), "{err}");
    check_nothing_written().await;
    // No .prj: refused, then accepted with --assume-srid.
    let d = tempdir();
    copy_layer("ZD", d.path(), &["prj"]);
    let dir = d.path().to_string_lossy().into_owned();
    let report = d.path().join("r.csv").to_string_lossy().into_owned();
    let (code, _, err) = run_binary(&url, &[&dir]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no .prj") && err.contains("--assume-srid"), "{err}");
    check_nothing_written().await;
    // Wrong encoding: the GBK file read as UTF-8: every feature with Chinese text rejected.
    let (code, out, err) =
        run_binary(&url, &[&dir, "--assume-srid", "4549", "--encoding", "UTF-8", "--rejects", &report]);
    assert_eq!(code, 1, "{out} {err}");
    let rows = read_report(Path::new(&report));
    assert_eq!(rows.iter().filter(|r| r.action == "rejected").count(), 200, "{out}");
    assert!(rows.iter().filter(|r| r.action == "rejected").all(|r| r.rule.contains("attribute.encoding")));
    check_nothing_written().await;
    let (code, out, err) = run_binary(&url, &[&dir, "--assume-srid", "4549", "--rejects", &report]);
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(scalar(&pool, "SELECT count(*) FROM parcels").await, 200);
    // Undetectable encoding in ZD while DJQ / DJZQ are fine: refused before DJQ is written.
    let d = tempdir();
    for layer in ["DJQ", "DJZQ", "ZD"] {
        copy_layer(layer, d.path(), &[]);
    }
    let dbf = d.path().join("ZD.dbf");
    let mut bytes = std::fs::read(&dbf).unwrap_or_default();
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let first_high = header_len + bytes[header_len..].iter().position(|&b| b >= 0x80).unwrap_or(0);
    bytes[first_high] = 0xFF;
    bytes[first_high + 1] = 0xFF;
    std::fs::write(&dbf, bytes).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = run_binary(&url, &[&d.path().to_string_lossy()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("neither valid UTF-8 nor GBK") && err.contains("--encoding"), "{err}");
    assert_eq!(scalar(&pool, "SELECT count(*) FROM districts").await, 0, "DJQ must not be written");
    assert_eq!(version_count(&pool).await, 200);
    // A points layer named ZD.
    let d = tempdir();
    copy_layer("ZD", d.path(), &["shp", "shx"]);
    std::fs::write(d.path().join("ZD.shp"), points_shp(&[(500_000.0, 3_300_000.0)])).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = run_binary(&url, &[&d.path().to_string_lossy()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must hold polygons") && err.contains("points"), "{err}");
    // Not a folder, .shp or .gpkg; and an unknown encoding name.
    let (code, _, err) = run_binary(&url, &["/nonexistent/district"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run_binary(&url, &[&sample_dir().to_string_lossy(), "--encoding", "klingon"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown encoding"), "{err}");
    assert_eq!(scalar(&pool, "SELECT count(*) FROM parcels").await, 200, "failed runs wrote nothing");
}

/// A point shapefile (.shp only) with the given points.
fn points_shp(points: &[(f64, f64)]) -> Vec<u8> {
    let len_words = (100 + points.len() * 28) / 2;
    let mut out = Vec::new();
    out.extend(9994i32.to_be_bytes());
    out.extend([0u8; 20]);
    out.extend((len_words as i32).to_be_bytes());
    out.extend(1000i32.to_le_bytes());
    out.extend(1i32.to_le_bytes());
    for v in [points[0].0, points[0].1, points[0].0, points[0].1, 0.0, 0.0, 0.0, 0.0] {
        out.extend(v.to_le_bytes());
    }
    for (i, (x, y)) in points.iter().enumerate() {
        out.extend((i as i32 + 1).to_be_bytes());
        out.extend(10i32.to_be_bytes());
        out.extend(1i32.to_le_bytes());
        out.extend(x.to_le_bytes());
        out.extend(y.to_le_bytes());
    }
    out
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn geopackage_loads_like_the_shapefiles(pool: PgPool) {
    let sub = cadastre_core::io::load_submission(&sample_dir(), &cadastre_core::io::LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempdir();
    let gpkg = dir.path().join("district.gpkg");
    cadastre_core::io::write_gpkg(&sub, &gpkg).unwrap_or_else(|e| panic!("{e}"));
    let s = run_import(&pool, &opts(&gpkg, None)).await;
    assert_counts_add_up(&s);
    assert_eq!(s.layer("ZD").map(|l| (l.inserted, l.rejected)), Some((200, 0)));
    assert_eq!(s.layer("ZRZ").map(|l| (l.inserted, l.rejected)), Some((297, 0)));
    let gpkg_rows = dump_current(&pool).await;
    // The same rows as the shapefile import: a re-import of the shapefiles changes nothing.
    let again = run_import(&pool, &opts(&sample_dir(), None)).await;
    let changed: u64 = again.layers.iter().map(|(_, l)| l.inserted + l.updated).sum();
    assert_eq!(changed, 0, "{again:?}");
    assert_eq!(dump_current(&pool).await, gpkg_rows);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn codes_of_another_county_are_rejected(pool: PgPool) {
    let dir = tempdir();
    let report = dir.path().join("r.csv");
    let o = ImportOptions { county: Some("330107".into()), ..opts(&sample_dir(), Some(report.clone())) };
    let s = run_import(&pool, &o).await;
    assert_counts_add_up(&s);
    assert_eq!(s.rejected(), 1 + 3 + 200 + 297);
    assert_eq!(s.exit_code(), 1);
    let rows = read_report(&report);
    assert!(rows.iter().filter(|r| r.action == "rejected").all(|r| r.rule == "code.county" && r.en.contains("330107")));
    assert_eq!(version_count(&pool).await, 0);
    // Without --county the county is the first code's (330106): everything loads.
    let s = run_import(&pool, &opts(&sample_dir(), None)).await;
    assert_eq!((s.rejected(), s.county.as_deref()), (0, Some("330106")));
}
