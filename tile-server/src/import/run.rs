//! The writing side of one import: what [`super::import`] does with each message of
//! the reader thread (a layer starts, a chunk is checked, a layer ends), and how the
//! run ends (writers stopped, reject report flushed, the run recorded, the county
//! unlocked), whether it succeeded or not.

use cadastre_core::model::Layer;
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

use super::bulk::BulkLoad;
use super::report::RejectWriter;
use super::validate::{Action, Checked, Issue};
use super::writers::Writers;
use super::{cut, layer_mut, store, ImportError, ImportOptions, ImportSummary, LayerSummary, Msg, Progress, RunInfo};

/// The state of an import between the reader's messages.
pub(super) struct Run<'a> {
    pool: &'a PgPool,
    opts: &'a ImportOptions,
    progress: &'a dyn Progress,
    /// The connection holding the county's import lock (and the bulk load).
    main: PoolConnection<Postgres>,
    rejects: Option<RejectWriter>,
    info: RunInfo,
    summary: ImportSummary,
    /// The run and its county, once the first feature is to be written.
    run_id: Option<(i64, String)>,
    writers: Option<Writers>,
    /// Parcel records announced by the reader, until the first parcel batch decides on a bulk load.
    parcel_records: Option<u64>,
    bulk: Option<BulkLoad>,
}

impl<'a> Run<'a> {
    pub(super) fn new(
        pool: &'a PgPool,
        opts: &'a ImportOptions,
        progress: &'a dyn Progress,
        main: PoolConnection<Postgres>,
        rejects: Option<RejectWriter>,
        info: RunInfo,
    ) -> Self {
        Self {
            pool,
            opts,
            progress,
            main,
            rejects,
            info,
            summary: ImportSummary::default(),
            run_id: None,
            writers: None,
            parcel_records: None,
            bulk: None,
        }
    }

    /// Handles the reader's messages until it is done (or one fails); drains the writers.
    /// Dropping the receiver on return stops the reader at its next chunk.
    pub(super) async fn receive(&mut self, mut rx: tokio::sync::mpsc::Receiver<Msg>) -> Result<(), ImportError> {
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Start(layer, total) => self.start_layer(layer, total),
                Msg::Chunk(layer, checked, county) => self.chunk(layer, checked, county).await?,
                Msg::End(layer, notes) => self.end_layer(layer, notes).await?,
                Msg::Failed(e) => return Err(e),
            }
        }
        if let Some(ws) = self.writers.as_mut() {
            ws.drain(&mut self.summary, self.progress).await?;
        }
        Ok(())
    }

    fn start_layer(&mut self, layer: Layer, total: Option<u64>) {
        self.summary.layers.push((layer.standard_name().to_owned(), LayerSummary::default()));
        self.progress.start_layer(layer, total);
        if layer == Layer::Parcels {
            self.parcel_records = total;
        }
    }

    /// Counts and reports a checked chunk, and hands what passed to the writers in batches.
    async fn chunk(&mut self, layer: Layer, checked: Checked, county: Option<String>) -> Result<(), ImportError> {
        if let Some(w) = self.rejects.as_mut() {
            w.write(&checked.issues)?;
        }
        let s = layer_mut(&mut self.summary, layer);
        s.read += checked.read as u64;
        s.rejected += checked.issues.iter().filter(|i| i.action == Action::Rejected).count() as u64;
        s.warnings += checked.issues.iter().filter(|i| i.action == Action::Warning).count() as u64;
        self.progress.advance((checked.read - checked.staged.indexes.len()) as u64);
        if checked.staged.indexes.is_empty() {
            return Ok(());
        }
        if self.run_id.is_none() {
            self.begin(county.unwrap_or_else(|| "000000".into())).await?;
        }
        // Decided once, at the layer's first batch: a large first load of the county.
        if layer == Layer::Parcels {
            if let (Some(n), Some((_, c))) = (self.parcel_records.take(), &self.run_id) {
                if n >= self.opts.bulk_min {
                    self.bulk = BulkLoad::begin(&mut self.main, c).await?;
                }
            }
        }
        let Some(ws) = self.writers.as_mut() else { return Ok(()) };
        for mut batch in cut(layer, &checked.staged, self.opts.batch.max(1), &mut self.summary.batches) {
            if let (Layer::Parcels, Some(b)) = (layer, self.bulk.as_mut()) {
                b.take(&mut batch);
            }
            ws.send(batch, &mut self.summary, self.progress).await?;
        }
        Ok(())
    }

    /// Locks the county, records the run and starts the writers: at the first feature to write.
    async fn begin(&mut self, county: String) -> Result<(), ImportError> {
        store::lock_county(&mut self.main, &county).await?;
        let id = store::start_run(&mut self.main, &county, &self.info).await?;
        self.writers = Some(Writers::start(self.pool, self.opts.writers.max(1), id, &county, &self.info).await?);
        self.run_id = Some((id, county));
        Ok(())
    }

    /// Waits for the layer's batches, attaches a bulk-loaded parcel partition, reports the notes.
    async fn end_layer(&mut self, layer: Layer, notes: Vec<Issue>) -> Result<(), ImportError> {
        if let Some(ws) = self.writers.as_mut() {
            ws.drain(&mut self.summary, self.progress).await?;
        }
        if let (Layer::Parcels, Some((id, _))) = (layer, &self.run_id) {
            if let Some(b) = self.bulk.take() {
                b.finish(self.pool, &mut self.main, *id, &self.info).await?;
            }
        }
        if let Some(w) = self.rejects.as_mut() {
            w.write(&notes)?;
        }
        self.summary.notes.extend(notes);
        let s = *layer_mut(&mut self.summary, layer);
        self.progress.finish_layer(layer, &s);
        Ok(())
    }

    /// Ends the run after `result`: stops the writers and the reader, flushes the reject
    /// report, drops an unfinished bulk load, records the run's status and unlocks the
    /// county. The first error is the one returned.
    pub(super) async fn finish(
        mut self,
        result: Result<(), ImportError>,
        reader: std::thread::JoinHandle<()>,
    ) -> Result<ImportSummary, ImportError> {
        if let Some(ws) = self.writers.take() {
            ws.stop().await;
        }
        let joined = reader.join();
        if let Some(w) = self.rejects.as_mut() {
            w.flush()?;
        }
        let status = if result.is_ok() { "finished" } else { "failed" };
        if let Some(b) = self.bulk.take() {
            // Best effort: what a failed first load leaves is removed by the rerun anyway.
            if let Err(e) = b.abandon(&mut self.main).await {
                tracing::warn!(error = %e, "unfinished bulk load left in place");
            }
        }
        if let Some((id, c)) = &self.run_id {
            self.summary.run_id = Some(*id);
            self.summary.county = Some(c.clone());
            let counts = serde_json::to_value(&self.summary.layers).unwrap_or_default();
            // Best effort when the import itself failed: the error to report is the first one.
            let finished = store::finish_run(&mut self.main, c, *id, status, &counts).await;
            let unlocked = store::unlock_county(&mut self.main, c).await;
            if unlocked.is_err() {
                // A pooled connection must not keep the lock: close it instead.
                self.main.detach();
            } else if result.is_ok() {
                finished?;
            }
        }
        result?;
        joined.map_err(|_| ImportError::Reader("the reader thread panicked".into()))?;
        Ok(self.summary)
    }
}
