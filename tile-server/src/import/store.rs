//! Writing batches: `COPY` into a session-local staging table, then a set-based
//! upsert by code that honours versioning, and the audit row, all in one
//! transaction per batch. A killed import therefore leaves whole batches only, and
//! a rerun finds the committed rows unchanged and loads the rest.

use cadastre_core::model::Layer;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

use super::copy::{self, Staging};
use super::ImportError;
use crate::db::audit::{self, AuditEntry};

/// Counts of one batch (or a sum of batches).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Written {
    /// New codes.
    pub inserted: u64,
    /// Codes whose current row changed: old row now historical, new row current.
    pub updated: u64,
    /// Codes whose current row already held the same values: untouched.
    pub unchanged: u64,
}

impl std::ops::AddAssign for Written {
    fn add_assign(&mut self, o: Self) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
    }
}

/// Per layer: target table, key column and the columns compared to detect a change.
struct Target {
    table: &'static str,
    key: &'static str,
    /// Attribute columns copied from staging (besides county, key and geom).
    columns: &'static str,
    object_type: &'static str,
    staging: Staging,
}

fn target(layer: Layer) -> Target {
    match layer {
        Layer::Parcels => Target {
            table: "parcels",
            key: "zddm",
            columns: "zl, zdmj, yt, qllx, qlxz",
            object_type: "parcel",
            staging: copy::PARCELS,
        },
        Layer::Buildings => Target {
            table: "buildings",
            key: "zrzh",
            columns: "jzwmc, zl, jgrq, dscs, dxcs, fwjg, ghyt, ycjzmj, scjzmj",
            object_type: "building",
            staging: copy::BUILDINGS,
        },
        Layer::Subdistricts => Target {
            table: "sub_districts",
            key: "djzqdm",
            columns: "djzqmc",
            object_type: "sub_district",
            staging: copy::SUB_DISTRICTS,
        },
        Layer::Districts => Target {
            table: "districts",
            key: "djqdm",
            columns: "djqmc",
            object_type: "district",
            staging: copy::DISTRICTS,
        },
    }
}

/// Who writes and which run the batches belong to.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// `import:<os user>` or `--actor`.
    pub actor: String,
    /// The source as given.
    pub source: String,
    /// Size of the source in bytes (sum over its files).
    pub size: i64,
    /// Latest modification time of its files.
    pub mtime: Option<chrono::DateTime<chrono::Utc>>,
}

/// Prepares a connection for importing: staging tables, and `synchronous_commit = off`
/// (safe here: a batch lost in a crash is simply written again by the rerun).
pub async fn prepare(conn: &mut PgConnection) -> Result<(), ImportError> {
    // JIT compiling the batch statements costs more than it saves at these sizes.
    sqlx::raw_sql("SET synchronous_commit = off; SET jit = off")
        .execute(&mut *conn)
        .await
        .map_err(ImportError::db("set-up"))?;
    for l in [Layer::Parcels, Layer::Buildings, Layer::Subdistricts, Layer::Districts] {
        let s = target(l).staging;
        let ddl = format!("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS", s.table, s.columns_ddl);
        sqlx::raw_sql(&ddl).execute(&mut *conn).await.map_err(ImportError::db("creating staging tables"))?;
    }
    sqlx::raw_sql(
        "CREATE TEMP TABLE IF NOT EXISTS import_match (county char(6), src bigint, version_id bigint, same boolean)
         ON COMMIT DELETE ROWS",
    )
    .execute(&mut *conn)
    .await
    .map_err(ImportError::db("creating staging tables"))?;
    Ok(())
}

/// Records the start of a run; returns its id.
pub async fn start_run(conn: &mut PgConnection, county: &str, run: &RunInfo) -> Result<i64, ImportError> {
    sqlx::query_scalar(
        "INSERT INTO import_runs (county, source, source_size, source_mtime, actor)
         VALUES ($1, $2, $3, $4, $5) RETURNING run_id",
    )
    .bind(county)
    .bind(&run.source)
    .bind(run.size)
    .bind(run.mtime)
    .bind(&run.actor)
    .fetch_one(conn)
    .await
    .map_err(ImportError::db("recording the import run"))
}

/// Records the end of a run ($1 county, $2 run id, $3 status, $4 counts).
pub(crate) const FINISH_RUN: &str =
    "UPDATE import_runs SET finished_at = now(), status = $3, counts = $4 WHERE county = $1::bpchar AND run_id = $2";

/// Counts a committed batch on its run ($1 county, $2 run id).
pub(crate) const COUNT_BATCH: &str =
    "UPDATE import_runs SET batches = batches + 1 WHERE county = $1::bpchar AND run_id = $2";

/// Records the end of a run with its summary.
pub async fn finish_run(
    conn: &mut PgConnection,
    county: &str,
    run_id: i64,
    status: &str,
    summary: &Value,
) -> Result<(), ImportError> {
    sqlx::query(FINISH_RUN)
        .bind(county)
        .bind(run_id)
        .bind(status)
        .bind(summary)
        .execute(conn)
        .await
        .map_err(ImportError::db("finishing the import run"))?;
    Ok(())
}

/// One batch to write.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Layer.
    pub layer: Layer,
    /// COPY text lines.
    pub lines: Vec<u8>,
    /// Rows in `lines`.
    pub rows: u64,
    /// First and last record index (for the audit row).
    pub records: (usize, usize),
    /// Batch number within the run (1-based).
    pub number: u64,
    /// A county's bulk-load table ([`super::bulk`]) to COPY into instead of the store's
    /// table; its audit row is written when the table is attached.
    pub into: Option<String>,
}

/// Takes the county's import lock for the whole run (session level, on the run's own
/// connection): two imports of one county take turns, so they never both find a code
/// absent and both insert it. Batches of one run never share a code (the validator
/// drops in-file duplicates), so the run's writers need no lock among themselves.
/// The lock goes with the connection if the process dies.
pub async fn lock_county(conn: &mut PgConnection, county: &str) -> Result<(), ImportError> {
    sqlx::query("SELECT pg_advisory_lock(hashtext('tile-server import'), hashtext($1))")
        .bind(county)
        .execute(conn)
        .await
        .map_err(ImportError::db("waiting for other imports of the county"))?;
    Ok(())
}

/// Releases [`lock_county`].
pub async fn unlock_county(conn: &mut PgConnection, county: &str) -> Result<(), ImportError> {
    sqlx::query("SELECT pg_advisory_unlock(hashtext('tile-server import'), hashtext($1))")
        .bind(county)
        .execute(conn)
        .await
        .map_err(ImportError::db("releasing the county's import lock"))?;
    Ok(())
}

/// Writes one batch in one transaction, then its audit row and the count on the run.
/// When none of its codes is current (`fresh`: see [`fresh_layers`]; else one index
/// probe per code) the batch is COPYed straight into the table; otherwise COPY into
/// staging, match against the current rows, close changed rows, insert new versions.
/// Returns the counts.
///
/// Boxed as `Send` here, where the lifetimes are concrete: the writers run on spawned
/// tasks, and the compiler cannot prove an `async fn` using sqlx executors `Send` for
/// every lifetime.
pub fn write_batch<'a>(
    conn: &'a mut PgConnection,
    run_id: i64,
    run_county: &'a str,
    run: &'a RunInfo,
    batch: &'a Batch,
    fresh: bool,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Written, ImportError>> + Send + 'a>> {
    Box::pin(write_batch_inner(conn, run_id, run_county, run, batch, fresh))
}

/// The layers whose table held no current row of `county` when the run started (call
/// it holding [`lock_county`]). Their batches skip the probe for current codes: only
/// this run writes the county, and its batches never share a code.
pub async fn fresh_layers(conn: &mut PgConnection, county: &str) -> Result<Vec<Layer>, ImportError> {
    let mut out = Vec::new();
    for l in [Layer::Parcels, Layer::Buildings, Layer::Subdistricts, Layer::Districts] {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE county = $1::bpchar AND state = 'current')",
            target(l).table
        );
        let any: bool = sqlx::query_scalar(&sql)
            .bind(county)
            .fetch_one(&mut *conn)
            .await
            .map_err(ImportError::db("looking for current versions"))?;
        if !any {
            out.push(l);
        }
    }
    Ok(out)
}

async fn write_batch_inner(
    conn: &mut PgConnection,
    run_id: i64,
    run_county: &str,
    run: &RunInfo,
    batch: &Batch,
    fresh: bool,
) -> Result<Written, ImportError> {
    let t = target(batch.layer);
    let clock = std::time::Instant::now();
    let mut tx = conn.begin().await.map_err(ImportError::db("starting a batch"))?;
    if let Some(table) = &batch.into {
        // Bulk load: the table is the run's own until attached; nothing to match.
        copy_direct(&mut tx, table, &t, batch).await?;
        tx.commit().await.map_err(ImportError::db("committing a batch"))?;
        tracing::debug!(batch = batch.number, rows = batch.rows, path = "bulk", total = ?clock.elapsed(), "batch written");
        return Ok(Written { inserted: batch.rows, ..Written::default() });
    }
    let keys = batch_keys(&batch.lines);
    // A batch of codes none of which is current (a first load, or new parcels) needs no
    // matching: COPY it straight into the table. Otherwise stage and upsert. Nothing else
    // can make one of these codes current meanwhile: the run holds the county's import
    // lock and its batches never share a code (a concurrent API edit of the same code
    // would hit the unique index and fail the batch, which a rerun repeats). `fresh`: the
    // county had no current row in this table when the run started, so none can be current.
    let path = if !fresh && any_current(&mut tx, &t, &keys).await? { "staged" } else { "direct" };
    let counts: Vec<CountRow> = if path == "direct" {
        copy_direct(&mut tx, t.table, &t, batch).await?;
        keys.into_iter()
            .map(|(county, mut codes)| {
                codes.sort_unstable();
                let n = codes.len() as i64;
                (county, n, n, 0, Some(json!(codes)), None)
            })
            .collect()
    } else {
        upsert_staged(&mut tx, &t, batch).await?
    };
    let mut written = Written::default();
    for (county, staged, ins, upd, ins_codes, upd_codes) in counts {
        let (staged, ins, upd) = (to_u64(staged), to_u64(ins), to_u64(upd));
        let w = Written { inserted: ins, updated: upd, unchanged: staged.saturating_sub(ins + upd) };
        written += w;
        if ins + upd == 0 {
            continue; // nothing changed in this county: no write, no audit row
        }
        let codes = (ins_codes.unwrap_or(Value::Null), upd_codes.unwrap_or(Value::Null));
        audit_batch(&mut tx, run_id, &county, run, (batch.layer, batch.number, batch.records), w, codes).await?;
    }
    sqlx::query(COUNT_BATCH)
        .bind(run_county)
        .bind(run_id)
        .execute(&mut *tx)
        .await
        .map_err(ImportError::db("counting the batch on its run"))?;
    tx.commit().await.map_err(ImportError::db("committing a batch"))?;
    tracing::debug!(batch = batch.number, rows = batch.rows, path, total = ?clock.elapsed(), "batch written");
    Ok(written)
}

/// Writes the audit row of one batch in one county: counts and the codes inserted and
/// updated (`codes`: two JSON arrays or nulls). `which`: layer, batch number, first and
/// last record.
pub(super) async fn audit_batch(
    conn: &mut PgConnection,
    run_id: i64,
    county: &str,
    run: &RunInfo,
    which: (Layer, u64, (usize, usize)),
    w: Written,
    codes: (Value, Value),
) -> Result<(), ImportError> {
    let (layer, number, records) = which;
    let after = json!({
        "run_id": run_id,
        "source": run.source,
        "layer": layer.standard_name(),
        "batch": number,
        "records": [records.0, records.1],
        "inserted": w.inserted,
        "updated": w.updated,
        "unchanged": w.unchanged,
        "inserted_codes": codes.0,
        "updated_codes": codes.1,
    });
    let object_key = format!("run {run_id} {} batch {number}", layer.standard_name());
    let entry = AuditEntry {
        county,
        action: "import.batch",
        object_type: target(layer).object_type,
        object_key: &object_key,
        before: None,
        after: Some(after),
    };
    audit::insert(conn, &run.actor, "importer", entry)
        .await
        .map_err(ImportError::db("writing the audit row of a batch"))?;
    Ok(())
}

/// The codes of a batch's COPY lines (first two fields: county, code) by county.
pub(super) fn batch_keys(lines: &[u8]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut fields = line.splitn(3, |&b| b == b'\t');
        let (Some(county), Some(code)) = (fields.next(), fields.next()) else { continue };
        // County and code are digits and capitals (checked by the validator): no escapes.
        let county = String::from_utf8_lossy(county);
        match out.get_mut(county.as_ref()) {
            Some(v) => v.push(String::from_utf8_lossy(code).into_owned()),
            None => {
                out.insert(county.into_owned(), vec![String::from_utf8_lossy(code).into_owned()]);
            }
        }
    }
    out
}

/// Whether any of some codes of a county has a current row in `t` ($1 county, $2 codes).
fn current_probe(t: &Target) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE county = $1::bpchar AND {} = ANY($2::bpchar[]) AND state = 'current')",
        t.table, t.key
    )
}

/// [`current_probe`] of a layer's table.
#[cfg(test)]
pub(crate) fn current_probe_of(layer: Layer) -> String {
    current_probe(&target(layer))
}

/// Whether any of `keys` has a current row (one index probe per code).
async fn any_current(
    tx: &mut PgConnection,
    t: &Target,
    keys: &std::collections::BTreeMap<String, Vec<String>>,
) -> Result<bool, ImportError> {
    let sql = current_probe(t);
    for (county, codes) in keys {
        let found: bool = sqlx::query_scalar(&sql)
            .bind(county)
            .bind(codes)
            .fetch_one(&mut *tx)
            .await
            .map_err(ImportError::db("looking for current versions"))?;
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

/// COPYs a batch of new codes straight into the table: the staging lines without their
/// last field (the record index, which only the staged path needs), sent in pieces of
/// about 1 MiB so no second copy of the batch is held.
async fn copy_direct(tx: &mut PgConnection, table: &str, t: &Target, batch: &Batch) -> Result<(), ImportError> {
    const PIECE: usize = 1 << 20;
    let sql = format!("COPY {table} (county, {}, {}, geom) FROM STDIN", t.key, t.columns);
    let mut copy_in = tx.copy_in_raw(&sql).await.map_err(ImportError::db("starting COPY"))?;
    let mut piece = Vec::with_capacity(PIECE + 4096);
    for line in batch.lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let end = line.iter().rposition(|&b| b == b'\t').unwrap_or(line.len());
        piece.extend_from_slice(&line[..end]);
        piece.push(b'\n');
        if piece.len() >= PIECE {
            copy_in.send(piece.as_slice()).await.map_err(ImportError::db("sending COPY data"))?;
            piece.clear();
        }
    }
    if !piece.is_empty() {
        copy_in.send(piece.as_slice()).await.map_err(ImportError::db("sending COPY data"))?;
    }
    copy_in.finish().await.map_err(ImportError::db("finishing COPY"))?;
    Ok(())
}

/// COPY into staging, match against the current rows, close changed rows, insert new
/// versions; returns the counts per county.
async fn upsert_staged(tx: &mut PgConnection, t: &Target, batch: &Batch) -> Result<Vec<CountRow>, ImportError> {
    let s = &t.staging;
    let copy_sql = format!("COPY {} ({}) FROM STDIN", s.table, s.columns);
    let mut copy_in = tx.copy_in_raw(&copy_sql).await.map_err(ImportError::db("starting COPY"))?;
    copy_in.send(batch.lines.as_slice()).await.map_err(ImportError::db("sending COPY data"))?;
    copy_in.finish().await.map_err(ImportError::db("finishing COPY"))?;
    // Temporary tables get no statistics otherwise; without them the planner guesses
    // the batch's size.
    let analyze = format!("ANALYZE {}", s.table);
    sqlx::query(&analyze).execute(&mut *tx).await.map_err(ImportError::db("analysing the staging table"))?;
    let (table, key, cols, stage) = (t.table, t.key, t.columns, s.table);
    let same_attrs = cols.split(", ").map(|c| format!("p.{c} IS NOT DISTINCT FROM s.{c}")).collect::<Vec<_>>();
    // Geometry compared by its exact binary form: any vertex moved is a change.
    let matched = format!(
        "INSERT INTO import_match (county, src, version_id, same)
         SELECT p.county, s.src, p.version_id, {} AND ST_AsEWKB(p.geom) IS NOT DISTINCT FROM ST_AsEWKB(s.geom)
         FROM {stage} s JOIN {table} p ON p.county = s.county AND p.{key} = s.{key} AND p.state = 'current'",
        same_attrs.join(" AND ")
    );
    sqlx::query(&matched).execute(&mut *tx).await.map_err(ImportError::db("matching current versions"))?;
    let close = format!(
        "UPDATE {table} p SET state = 'historical', valid_to = now()
         FROM import_match m WHERE NOT m.same AND p.county = m.county AND p.version_id = m.version_id"
    );
    sqlx::query(&close).execute(&mut *tx).await.map_err(ImportError::db("closing changed versions"))?;
    let insert = format!(
        "INSERT INTO {table} (county, {key}, {cols}, geom)
         SELECT s.county, s.{key}, {scols}, s.geom FROM {stage} s
         WHERE NOT EXISTS (SELECT 1 FROM import_match m WHERE m.src = s.src AND m.same)
         ORDER BY s.src",
        scols = cols.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
    );
    sqlx::query(&insert).execute(&mut *tx).await.map_err(ImportError::db("inserting new versions"))?;
    let count_sql = format!(
        "SELECT s.county::text, count(*),
                count(*) FILTER (WHERE m.src IS NULL),
                count(*) FILTER (WHERE m.same IS FALSE),
                jsonb_agg(s.{key}::text ORDER BY s.{key}) FILTER (WHERE m.src IS NULL),
                jsonb_agg(s.{key}::text ORDER BY s.{key}) FILTER (WHERE m.same IS FALSE)
         FROM {stage} s LEFT JOIN import_match m ON m.src = s.src
         GROUP BY s.county ORDER BY s.county"
    );
    sqlx::query_as(&count_sql).fetch_all(&mut *tx).await.map_err(ImportError::db("counting a batch"))
}

/// Per county of a batch: county, staged, inserted, updated, inserted codes, updated codes.
type CountRow = (String, i64, i64, i64, Option<Value>, Option<Value>);

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};

    const COUNTY: &str = "330106";

    fn code(n: u32) -> String {
        format!("{COUNTY}001001GB{n:05}")
    }

    /// A staging line for a square parcel of side `side` m at (x, 0).
    fn line(out: &mut Vec<u8>, n: u32, x: f64, side: f64, src: usize, srid: u32) {
        let sq = polygon![(x: x, y: 3.3e6), (x: x + side, y: 3.3e6), (x: x + side, y: 3.3e6 + side), (x: x, y: 3.3e6 + side), (x: x, y: 3.3e6)];
        out.extend_from_slice(
            format!("{COUNTY}\t{}\t某路{n}号\t{:.2}\t\\N\t\\N\t\\N\t", code(n), side * side).as_bytes(),
        );
        super::super::ewkb::push_multipolygon(out, &MultiPolygon(vec![sq]), srid);
        out.extend_from_slice(format!("\t{src}\n").as_bytes());
    }

    fn batch(parcels: &[(u32, f64)], number: u64) -> Batch {
        let mut lines = Vec::new();
        for (i, &(n, side)) in parcels.iter().enumerate() {
            line(&mut lines, n, 39_500_000.0 + f64::from(n) * 100.0, side, i, 4549);
        }
        Batch {
            layer: Layer::Parcels,
            lines,
            rows: parcels.len() as u64,
            records: (0, parcels.len() - 1),
            number,
            into: None,
        }
    }

    #[test]
    fn batch_keys_groups_codes_by_county() {
        let mut lines = Vec::new();
        line(&mut lines, 7, 0.0, 10.0, 0, 4549);
        line(&mut lines, 3, 0.0, 10.0, 1, 4549);
        lines.extend_from_slice(b"330107\t330107001001GB00001\t\\N\t\\N\t\\N\t\\N\t\\N\t00\t2\n");
        let keys = batch_keys(&lines);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[COUNTY], vec![code(7), code(3)]);
        assert_eq!(keys["330107"], vec!["330107001001GB00001".to_owned()]);
        assert!(batch_keys(b"").is_empty());
    }

    async fn audit_codes(pool: &sqlx::PgPool, number: u64, field: &str) -> Value {
        sqlx::query_scalar(
            "SELECT after->$2 FROM audit WHERE action = 'import.batch' AND (after->>'batch')::bigint = $1",
        )
        .bind(number as i64)
        .bind(field)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("audit of batch {number}: {e}"))
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn new_codes_go_straight_in_and_known_codes_are_upserted(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
        prepare(&mut conn).await.unwrap_or_else(|e| panic!("{e}"));
        let run = RunInfo { actor: "import:test".into(), source: "test".into(), size: 0, mtime: None };
        let run_id = start_run(&mut conn, COUNTY, &run).await.unwrap_or_else(|e| panic!("{e}"));
        let fresh = fresh_layers(&mut conn, COUNTY).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(fresh.contains(&Layer::Parcels) && fresh.contains(&Layer::Buildings), "{fresh:?}");
        let write = |b: Batch| {
            let pool = pool.clone();
            let run = run.clone();
            async move {
                let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
                prepare(&mut conn).await.unwrap_or_else(|e| panic!("{e}"));
                write_batch(&mut conn, run_id, COUNTY, &run, &b, false).await.unwrap_or_else(|e| panic!("{e}"))
            }
        };
        // Only new codes (direct COPY); the audit lists them sorted.
        let w = write(batch(&[(3, 10.0), (1, 10.0), (2, 10.0)], 1)).await;
        assert_eq!(w, Written { inserted: 3, updated: 0, unchanged: 0 });
        assert_eq!(audit_codes(&pool, 1, "inserted_codes").await, json!([code(1), code(2), code(3)]));
        assert_eq!(audit_codes(&pool, 1, "updated_codes").await, Value::Null);
        let fresh = fresh_layers(&mut conn, COUNTY).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(!fresh.contains(&Layer::Parcels) && fresh.contains(&Layer::Buildings), "{fresh:?}");
        // One known and unchanged, one new (staged upsert).
        let w = write(batch(&[(1, 10.0), (4, 10.0)], 2)).await;
        assert_eq!(w, Written { inserted: 1, updated: 0, unchanged: 1 });
        assert_eq!(audit_codes(&pool, 2, "inserted_codes").await, json!([code(4)]));
        // One changed: a new current version, the old one historical.
        let w = write(batch(&[(2, 12.0)], 3)).await;
        assert_eq!(w, Written { inserted: 0, updated: 1, unchanged: 0 });
        assert_eq!(audit_codes(&pool, 3, "updated_codes").await, json!([code(2)]));
        let counts: (i64, i64, f64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE state = 'current'), count(*), \
             sum(zdmj) FILTER (WHERE state = 'current')::float8 FROM parcels",
        )
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(counts, (4, 5, 100.0 * 3.0 + 144.0));
        let batches: i32 = sqlx::query_scalar("SELECT batches FROM import_runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batches, 3);
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn the_srid_check_follows_the_store_setting(pool: sqlx::PgPool) {
        let insert = |srid: u32, n: u32| {
            let pool = pool.clone();
            async move {
                let mut lines = Vec::new();
                line(&mut lines, n, 39_500_000.0, 10.0, 0, srid);
                let b =
                    Batch { layer: Layer::Parcels, lines, rows: 1, records: (0, 0), number: u64::from(n), into: None };
                let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
                prepare(&mut conn).await.unwrap_or_else(|e| panic!("{e}"));
                let run = RunInfo { actor: "t".into(), source: "t".into(), size: 0, mtime: None };
                let id = start_run(&mut conn, COUNTY, &run).await.unwrap_or_else(|e| panic!("{e}"));
                write_batch(&mut conn, id, COUNTY, &run, &b, true).await
            }
        };
        // The store starts at 4549: another SRID is refused by the CHECK (no trigger any more).
        assert!(insert(4527, 1).await.is_err());
        // While the store is empty the SRID may change; the CHECK follows it.
        crate::db::configure_store(&pool, 4527).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(insert(4549, 2).await.is_err());
        assert_eq!(insert(4527, 3).await.map_err(|e| e.to_string()), Ok(Written { inserted: 1, ..Written::default() }));
        let triggers: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%\\_srid'")
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(triggers, 1, "only store_settings_srid remains");
    }
}
