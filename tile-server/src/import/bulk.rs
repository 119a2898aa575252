//! Bulk loading a county's first large parcel import into a partition of its own.
//!
//! `parcels` is partitioned by county (migration 0011). Inserting a million rows into
//! a table with seven indexes costs far more in index upkeep than building the same
//! indexes once over the loaded rows. So when a run loads parcels into a county that
//! has none yet (and at least `--bulk-min` records), it:
//!
//! 1. **closes the county** in `parcels_default` with a validated
//!    `CHECK (county <> '…')`: nobody else can add a parcel of that county meanwhile
//!    (an API write is refused), and attaching later need not scan the default
//!    partition;
//! 2. creates `parcels_load_<county>` like `parcels`, without indexes, and the
//!    writers COPY every batch into it (the codes for the audit rows are kept here);
//! 3. builds each index of `parcels` on it, two connections at a time;
//! 4. in **one transaction** attaches it as `parcels_<county>`, reopens the county,
//!    and writes the batches' audit rows.
//!
//! Until step 4 commits nothing of the run's parcels is visible: a killed or failed
//! first load leaves no parcel and no audit row behind, only the load table and the
//! closed county, which the rerun (or [`BulkLoad::abandon`] on a clean failure)
//! removes. Later imports of the county take the ordinary path: their rows go to the
//! county's partition through `parcels`.

use std::collections::VecDeque;
use std::sync::Mutex;

use cadastre_core::model::Layer;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, PgPool};

use super::store::{self, Batch, RunInfo, Written};
use super::ImportError;

/// Default `--bulk-min`: below this many parcel records the ordinary path is as fast.
pub const DEFAULT_BULK_MIN: u64 = 100_000;

/// One bulk load in progress.
#[derive(Debug)]
pub struct BulkLoad {
    county: String,
    table: String,
    /// Per batch: number, first and last record, codes (for its audit row).
    batches: Vec<(u64, (usize, usize), Vec<String>)>,
}

impl BulkLoad {
    /// Starts a bulk load of `county`'s parcels if the county has no parcel at all and
    /// no partition yet; `None` otherwise (the run takes the ordinary path). Call it
    /// holding the county's import lock.
    pub async fn begin(conn: &mut PgConnection, county: &str) -> Result<Option<Self>, ImportError> {
        if county.parse::<unit_code::CountyCode>().is_err() {
            return Ok(None); // never put anything but digits into an identifier
        }
        let load = BulkLoad { county: county.to_owned(), table: format!("parcels_load_{county}"), batches: Vec::new() };
        let (any, partition): (bool, Option<String>) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM parcels WHERE county = $1::bpchar), to_regclass($2)::text")
                .bind(county)
                .bind(load.partition())
                .fetch_one(&mut *conn)
                .await
                .map_err(ImportError::db("looking for the county's parcels"))?;
        if any || partition.is_some() {
            return Ok(None);
        }
        // Left over by a killed first load (the rerun is what cleans it up).
        load.abandon(conn).await?;
        let close = format!(
            "ALTER TABLE parcels_default ADD CONSTRAINT {c} CHECK (county <> '{county}') NOT VALID;
             ALTER TABLE parcels_default VALIDATE CONSTRAINT {c}",
            c = load.closed()
        );
        if let Err(e) = sqlx::raw_sql(&close).execute(&mut *conn).await {
            // A parcel of the county was added since the check above: ordinary path.
            tracing::info!(county, error = %e, "county not closed for a bulk load");
            load.abandon(conn).await?;
            return Ok(None);
        }
        let seq: String = sqlx::query_scalar("SELECT pg_get_serial_sequence('parcels', 'version_id')")
            .fetch_one(&mut *conn)
            .await
            .map_err(ImportError::db("reading the version sequence"))?;
        // Same columns, defaults, generated column and CHECKs as `parcels` (ATTACH wants
        // them); the county CHECK lets ATTACH skip scanning the loaded rows. Version ids
        // come from the parent's sequence, so they stay unique across partitions.
        let create = format!(
            "CREATE TABLE {t} (LIKE parcels INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS,
                               CONSTRAINT {t}_county CHECK (county = '{county}'));
             ALTER TABLE {t} ALTER COLUMN version_id SET DEFAULT nextval('{seq}'::regclass)",
            t = load.table
        );
        sqlx::raw_sql(&create).execute(&mut *conn).await.map_err(ImportError::db("creating the bulk-load table"))?;
        tracing::info!(county, table = %load.table, "bulk load of the county's parcels");
        Ok(Some(load))
    }

    /// The table batches are COPYed into.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The county's partition once attached.
    fn partition(&self) -> String {
        format!("parcels_{}", self.county)
    }

    /// The constraint closing the county in `parcels_default`.
    fn closed(&self) -> String {
        format!("parcels_default_not_{}", self.county)
    }

    /// Sends `batch` into the load table and keeps its codes for the audit row.
    pub fn take(&mut self, batch: &mut Batch) {
        batch.into = Some(self.table.clone());
        let codes = store::batch_keys(&batch.lines).into_values().flatten().collect();
        self.batches.push((batch.number, batch.records, codes));
    }

    /// Builds the indexes, attaches the table as the county's partition, reopens the
    /// county and writes the audit rows, the last three in one transaction. ATTACH
    /// fires no row trigger, so the transaction announces the county's new parcels
    /// to the tile caches itself, logged for their disk tiers (migration 0060).
    pub async fn finish(
        mut self,
        pool: &PgPool,
        conn: &mut PgConnection,
        run_id: i64,
        run: &RunInfo,
    ) -> Result<(), ImportError> {
        let clock = std::time::Instant::now();
        build_indexes(pool, conn, &self.table, &self.county).await?;
        let built = clock.elapsed();
        let mut tx = conn.begin().await.map_err(ImportError::db("starting the attach"))?;
        let attach = format!(
            "ALTER TABLE parcels ATTACH PARTITION {t} FOR VALUES IN ('{county}');
             ALTER TABLE {t} RENAME TO {p};
             ALTER TABLE parcels_default DROP CONSTRAINT {c};
             SELECT tile_changed('parcels|{county}|*')",
            t = self.table,
            county = self.county,
            p = self.partition(),
            c = self.closed()
        );
        sqlx::raw_sql(&attach).execute(&mut *tx).await.map_err(ImportError::db("attaching the county's partition"))?;
        for (number, records, mut codes) in std::mem::take(&mut self.batches) {
            codes.sort_unstable();
            let w = Written { inserted: codes.len() as u64, ..Written::default() };
            let which = (Layer::Parcels, number, records);
            store::audit_batch(&mut tx, run_id, &self.county, run, which, w, (json!(codes), Value::Null)).await?;
            sqlx::query(store::COUNT_BATCH)
                .bind(&self.county)
                .bind(run_id)
                .execute(&mut *tx)
                .await
                .map_err(ImportError::db("counting the batch on its run"))?;
        }
        tx.commit().await.map_err(ImportError::db("committing the attach"))?;
        // Planner statistics now rather than when autovacuum gets round to it.
        let analyze = format!("ANALYZE {}", self.partition());
        sqlx::raw_sql(&analyze).execute(&mut *conn).await.map_err(ImportError::db("analysing the partition"))?;
        tracing::info!(county = %self.county, ?built, total = ?clock.elapsed(), "county partition attached");
        Ok(())
    }

    /// Drops the load table and reopens the county (after a failed run, or what a
    /// killed run left).
    pub async fn abandon(&self, conn: &mut PgConnection) -> Result<(), ImportError> {
        let sql = format!(
            "DROP TABLE IF EXISTS {t}; ALTER TABLE parcels_default DROP CONSTRAINT IF EXISTS {c}",
            t = self.table,
            c = self.closed()
        );
        sqlx::raw_sql(&sql).execute(conn).await.map_err(ImportError::db("dropping an unfinished bulk load"))?;
        Ok(())
    }
}

/// The statements that give `table` every index of `parcels`, GiST first (the
/// longest). Definitions come from the catalog, so a migration that adds an index to
/// `parcels` needs nothing here; a PRIMARY KEY is built as a unique index and turned
/// into the constraint afterwards (ATTACH wants the constraint).
async fn index_statements(
    conn: &mut PgConnection,
    table: &str,
    county: &str,
) -> Result<(Vec<String>, Vec<String>), ImportError> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_indexdef(i.indexrelid), k.conname::text
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
         LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype = 'p'
         WHERE i.indrelid = 'parcels'::regclass
         ORDER BY a.amname <> 'gist', c.relname",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(ImportError::db("reading the indexes of parcels"))?;
    let (mut build, mut after) = (Vec::new(), Vec::new());
    for (name, def, pk) in rows {
        // "CREATE [UNIQUE] INDEX name ON ONLY public.parcels USING …"
        let Some(using) = def.find(" USING ") else {
            return Err(ImportError::Reader(format!("unexpected index definition: {def}")));
        };
        let unique = if def.starts_with("CREATE UNIQUE") { "UNIQUE " } else { "" };
        let own = format!("{name}_{county}");
        build.push(format!("CREATE {unique}INDEX {own} ON {table}{}", &def[using..]));
        if let Some(pk) = pk {
            after.push(format!("ALTER TABLE {table} ADD CONSTRAINT {pk}_{county} PRIMARY KEY USING INDEX {own}"));
        }
    }
    Ok((build, after))
}

/// Builds the indexes of `table` on two connections (`conn` and one more from the
/// pool), each taking the next statement.
async fn build_indexes(pool: &PgPool, conn: &mut PgConnection, table: &str, county: &str) -> Result<(), ImportError> {
    let (build, after) = index_statements(conn, table, county).await?;
    let queue = Mutex::new(VecDeque::from(build));
    let mut other = pool.acquire().await.map_err(ImportError::db("connecting an index builder"))?;
    let (a, b) = tokio::join!(build_from(conn, &queue), build_from(&mut other, &queue));
    a?;
    b?;
    for sql in after {
        sqlx::raw_sql(&sql).execute(&mut *conn).await.map_err(ImportError::db("adding the primary key"))?;
    }
    Ok(())
}

/// Runs statements from `queue` on `conn` until it is empty.
async fn build_from(conn: &mut PgConnection, queue: &Mutex<VecDeque<String>>) -> Result<(), ImportError> {
    // Two builds run side by side; PostgreSQL's own parallel workers would only
    // compete with them for the same cores.
    sqlx::raw_sql("SET maintenance_work_mem = '256MB'; SET max_parallel_maintenance_workers = 0")
        .execute(&mut *conn)
        .await
        .map_err(ImportError::db("setting up an index builder"))?;
    loop {
        let next = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front();
        let Some(sql) = next else { break };
        sqlx::raw_sql(&sql).execute(&mut *conn).await.map_err(ImportError::db("building an index"))?;
    }
    sqlx::raw_sql("RESET maintenance_work_mem; RESET max_parallel_maintenance_workers")
        .execute(&mut *conn)
        .await
        .map_err(ImportError::db("resetting an index builder"))?;
    Ok(())
}
