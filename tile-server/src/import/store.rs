//! Writing batches: `COPY` into a session-local staging table, then a set-based
//! upsert by code that honours versioning, and the audit row, all in one
//! transaction per batch. A killed import therefore leaves whole batches only, and
//! a rerun finds the committed rows unchanged and loads the rest.

use cadastre_core::model::Layer;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

use super::copy::{self, Staging};
use super::ImportError;

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
    sqlx::raw_sql("SET synchronous_commit = off").execute(&mut *conn).await.map_err(ImportError::db("set-up"))?;
    for l in [Layer::Parcels, Layer::Buildings, Layer::Subdistricts, Layer::Districts] {
        let s = target(l).staging;
        let ddl = format!("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS", s.table, s.columns_ddl);
        sqlx::raw_sql(&ddl).execute(&mut *conn).await.map_err(ImportError::db("creating staging tables"))?;
    }
    sqlx::raw_sql(
        "CREATE TEMP TABLE IF NOT EXISTS import_changed (county char(6), code text, src bigint, kind text)
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

/// Records the end of a run with its summary.
pub async fn finish_run(
    conn: &mut PgConnection,
    county: &str,
    run_id: i64,
    status: &str,
    summary: &Value,
) -> Result<(), ImportError> {
    sqlx::query(
        "UPDATE import_runs SET finished_at = now(), status = $3, counts = $4 WHERE county = $1 AND run_id = $2",
    )
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
pub struct Batch<'a> {
    /// Layer.
    pub layer: Layer,
    /// COPY text lines.
    pub lines: &'a [u8],
    /// Rows in `lines`.
    pub rows: u64,
    /// First and last record index (for the audit row).
    pub records: (usize, usize),
    /// Batch number within the run (1-based).
    pub number: u64,
}

/// Writes one batch in one transaction: COPY, lock, close changed rows, insert new
/// versions, audit, count the batch on the run. Returns the counts.
pub async fn write_batch(
    conn: &mut PgConnection,
    run_id: i64,
    run_county: &str,
    run: &RunInfo,
    batch: &Batch<'_>,
) -> Result<Written, ImportError> {
    let t = target(batch.layer);
    let s = &t.staging;
    let mut tx = conn.begin().await.map_err(ImportError::db("starting a batch"))?;
    let mut copy_in = tx
        .copy_in_raw(&format!("COPY {} ({}) FROM STDIN", s.table, s.columns))
        .await
        .map_err(ImportError::db("starting COPY"))?;
    copy_in.send(batch.lines).await.map_err(ImportError::db("sending COPY data"))?;
    copy_in.finish().await.map_err(ImportError::db("finishing COPY"))?;
    // Importers of the same layer and county take turns per batch; without this two
    // imports could both find a code absent and both insert it.
    sqlx::query(&format!(
        "SELECT pg_advisory_xact_lock(hashtext('import.{}'), hashtext(county))
         FROM (SELECT DISTINCT county FROM {} ORDER BY county) c",
        t.table, s.table
    ))
    .execute(&mut *tx)
    .await
    .map_err(ImportError::db("locking the counties of a batch"))?;
    let (table, key, cols, stage) = (t.table, t.key, t.columns, s.table);
    let same_attrs = cols.split(", ").map(|c| format!("p.{c} IS NOT DISTINCT FROM s.{c}")).collect::<Vec<_>>();
    // Geometry compared by its exact binary form: any vertex moved is a change.
    let changed = format!(
        "WITH closed AS (
             UPDATE {table} p SET state = 'historical', valid_to = now()
             FROM {stage} s
             WHERE p.county = s.county AND p.{key} = s.{key} AND p.state = 'current'
               AND NOT ({} AND ST_AsEWKB(p.geom) IS NOT DISTINCT FROM ST_AsEWKB(s.geom))
             RETURNING p.county, p.{key}::text AS code, s.src)
         INSERT INTO import_changed SELECT county, code, src, 'updated' FROM closed",
        same_attrs.join(" AND ")
    );
    sqlx::query(&changed).execute(&mut *tx).await.map_err(ImportError::db("closing changed versions"))?;
    let insert = format!(
        "WITH ins AS (
             INSERT INTO {table} (county, {key}, {cols}, geom)
             SELECT s.county, s.{key}, {scols}, s.geom FROM {stage} s
             WHERE NOT EXISTS (SELECT 1 FROM {table} p
                               WHERE p.county = s.county AND p.{key} = s.{key} AND p.state = 'current')
             ORDER BY s.src
             RETURNING county, {key}::text AS code)
         INSERT INTO import_changed
         SELECT i.county, i.code, NULL, 'inserted' FROM ins i
         WHERE NOT EXISTS (SELECT 1 FROM import_changed c WHERE c.county = i.county AND c.code = i.code)",
        scols = cols.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
    );
    sqlx::query(&insert).execute(&mut *tx).await.map_err(ImportError::db("inserting new versions"))?;
    let counts: Vec<(String, i64, i64, i64, Option<Value>, Option<Value>)> = sqlx::query_as(&format!(
        "WITH staged AS (SELECT county, count(*) AS n FROM {stage} GROUP BY county),
              ch AS (SELECT county,
                            count(*) FILTER (WHERE kind = 'inserted') AS ins,
                            count(*) FILTER (WHERE kind = 'updated') AS upd,
                            jsonb_agg(code ORDER BY code) FILTER (WHERE kind = 'inserted') AS ins_codes,
                            jsonb_agg(code ORDER BY code) FILTER (WHERE kind = 'updated') AS upd_codes
                     FROM import_changed GROUP BY county)
         SELECT s.county::text, s.n, coalesce(ch.ins, 0), coalesce(ch.upd, 0), ch.ins_codes, ch.upd_codes
         FROM staged s LEFT JOIN ch USING (county) ORDER BY s.county"
    ))
    .fetch_all(&mut *tx)
    .await
    .map_err(ImportError::db("counting a batch"))?;
    let mut written = Written::default();
    for (county, staged, ins, upd, ins_codes, upd_codes) in counts {
        let (staged, ins, upd) = (to_u64(staged), to_u64(ins), to_u64(upd));
        let w = Written { inserted: ins, updated: upd, unchanged: staged.saturating_sub(ins + upd) };
        written += w;
        if ins + upd == 0 {
            continue; // nothing changed in this county: no write, no audit row
        }
        let after = json!({
            "run_id": run_id,
            "source": run.source,
            "layer": batch.layer.standard_name(),
            "batch": batch.number,
            "records": [batch.records.0, batch.records.1],
            "inserted": w.inserted,
            "updated": w.updated,
            "unchanged": w.unchanged,
            "inserted_codes": ins_codes.unwrap_or(Value::Null),
            "updated_codes": upd_codes.unwrap_or(Value::Null),
        });
        sqlx::query(
            "INSERT INTO audit (county, actor, actor_role, action, object_type, object_key, before, after)
             VALUES ($1, $2, 'importer', 'import.batch', $3, $4, NULL, $5)",
        )
        .bind(&county)
        .bind(&run.actor)
        .bind(t.object_type)
        .bind(format!("run {run_id} {} batch {}", batch.layer.standard_name(), batch.number))
        .bind(after)
        .execute(&mut *tx)
        .await
        .map_err(ImportError::db("writing the audit row of a batch"))?;
    }
    sqlx::query("UPDATE import_runs SET batches = batches + 1 WHERE county = $1 AND run_id = $2")
        .bind(run_county)
        .bind(run_id)
        .execute(&mut *tx)
        .await
        .map_err(ImportError::db("counting the batch on its run"))?;
    tx.commit().await.map_err(ImportError::db("committing a batch"))?;
    Ok(written)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
