//! Batch import (`tile-server import`): shapefile folders (ZD / ZRZ / DJZQ / DJQ),
//! a single `.shp` (parcels) or a GeoPackage into the PostGIS store.
//!
//! **Streaming.** Shapefile layers are read with [`cadastre_core::io::stream_layer`]
//! in chunks of 65,536 records on a reader thread, validated there, and handed to
//! the writer over a channel of one chunk, so reading, checking and writing overlap
//! and memory stays bounded by a few chunks. A GeoPackage goes through the GDAL path
//! of `stream_layer`, which reads each layer in one chunk: fine for a sub-district,
//! not for a province (convert large GeoPackages to shapefiles first).
//!
//! **Validation** ([`validate`], policy in [`rules`]). Every feature is checked on its
//! own, after transforming it into the store CRS:
//!
//! | check | outcome |
//! |---|---|
//! | record the loader could not read (null / empty / non-polygon / corrupt shape, missing key) | rejected |
//! | key does not match the store's CHECK (`code.format`) or GB/T 37346 (`unit_code`); key empty (`attribute.missing`) | rejected |
//! | key of another county than the one loaded (`code.county`); the county is `--county` or that of the first code | rejected |
//! | code already used by an earlier record of the same layer in the file (`code.duplicate`): the first is loaded | rejected |
//! | `geometry.invalid`, `geometry.self_intersection`, `parcel.tiny` (< 1 m²) | rejected |
//! | ZRZH not starting with the building's ZDDM (`code.consistency`) | rejected |
//! | text that does not decode in the chosen encoding (`attribute.encoding`) | rejected |
//! | areas or counts that do not fit the store's columns (`attribute.domain`) | rejected |
//! | coordinates PROJ cannot transform (`crs.transform`) | rejected |
//! | `geometry.duplicate_vertex`, `geometry.spike`, `parcel.sliver`, `area.tolerance`, `attribute.missing`, `attribute.domain`, malformed BDCDYH, multipart, Z/M dropped, unreadable JGRQ | loaded, warning |
//!
//! Rules that need neighbours (overlap, gap, containment, near-miss, consistency
//! across layers) are not run here: they need the whole county; run `cadastre check`.
//!
//! **Writing** ([`store`]). Each batch (`--batch` rows, default one chunk) is one
//! transaction, written by one of `--writers` connections in parallel: `COPY` into a
//! temporary staging table, then a set-based upsert by code: unchanged current rows are
//! left alone; changed ones become `historical` with `valid_to` and a new `current` row
//! is inserted; new codes are inserted. The audit row (who, counts, codes inserted and
//! updated) is written in the same transaction. A run holds its county's import lock
//! (a session advisory lock), so two imports of one county take turns. Importing the
//! same file twice changes nothing the second time; a killed import leaves whole
//! batches and a rerun completes it.
//!
//! **Bulk load** ([`bulk`]). A county's first parcel import of at least
//! [`ImportOptions::bulk_min`] records is COPYed into a table of its own, indexed once
//! at the end and attached as the county's partition of `parcels`, all or nothing.
//!
//! **Report** ([`report`]). A CSV (UTF-8 with BOM) with a row per rejected feature,
//! per feature loaded with warnings, and per layer note, and a [`ImportSummary`]:
//! per layer `read = inserted + updated + unchanged + rejected`.

pub mod bar;
pub mod bulk;
pub mod copy;
pub mod encoding_check;
mod error;
pub mod ewkb;
pub mod report;
pub mod rules;
mod run;
pub mod source;
pub mod store;
pub mod tables;
pub mod validate;
mod writers;

pub use error::ImportError;
pub use source::{discover, LayerSource};
pub use store::{RunInfo, Written};
pub use validate::{Action, Issue};

use std::path::{Path, PathBuf};

use cadastre_core::crs::{Crs, GkZone, Transformer};
use cadastre_core::io::{stream_layer, LoadOptions};
use cadastre_core::model::{Layer, Submission};
use serde::Serialize;
use sqlx::PgPool;

use report::RejectWriter;
use validate::{Checked, Validator};

/// Default rows per batch: one reader chunk.
pub const DEFAULT_BATCH: usize = 65_536;
/// Default number of connections writing batches in parallel.
pub const DEFAULT_WRITERS: usize = 3;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Folder, `.shp` or `.gpkg`.
    pub path: PathBuf,
    /// DBF text encoding; `None`: the .cpg, else detected.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// Rows per transaction.
    pub batch: usize,
    /// Only this county (6 digits); `None`: the county of the first code read.
    pub county: Option<String>,
    /// SRID to assume for layers without a .prj.
    pub assume_srid: Option<u32>,
    /// Who is recorded in the audit log.
    pub actor: String,
    /// The reject report (CSV); `None`: no file, the summary only.
    pub rejects: Option<PathBuf>,
    /// Connections writing batches in parallel.
    pub writers: usize,
    /// A county's first parcel load of at least this many records is bulk loaded into
    /// its own partition ([`bulk`]); `u64::MAX`: never.
    pub bulk_min: u64,
    /// Records read and validated at a time; `None`: the loader's default (65,536).
    pub chunk_records: Option<usize>,
}

impl ImportOptions {
    /// Options with the defaults: detected encoding, one chunk per batch, actor
    /// `import:unnamed` (set `actor` to the operator: the command line requires one).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            encoding: None,
            batch: DEFAULT_BATCH,
            county: None,
            assume_srid: None,
            actor: default_actor(),
            rejects: None,
            writers: DEFAULT_WRITERS,
            bulk_min: bulk::DEFAULT_BULK_MIN,
            chunk_records: None,
        }
    }
}

/// `import:unnamed`: library callers that do not say who imports. The OS user is
/// not used: on a server it is a service account (or unset), not a person.
pub fn default_actor() -> String {
    "import:unnamed".to_owned()
}

/// Counts of one layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LayerSummary {
    /// Records read.
    pub read: u64,
    /// New codes loaded.
    pub inserted: u64,
    /// Codes whose current version changed.
    pub updated: u64,
    /// Codes already current with the same values.
    pub unchanged: u64,
    /// Records not loaded (each has a report row).
    pub rejected: u64,
    /// Loaded records with at least one warning.
    pub warnings: u64,
}

impl LayerSummary {
    /// Records loaded or found unchanged.
    pub fn loaded(&self) -> u64 {
        self.inserted + self.updated + self.unchanged
    }
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportSummary {
    /// Per layer, in import order.
    pub layers: Vec<(String, LayerSummary)>,
    /// Layer-level notes (also in the report).
    #[serde(skip)]
    pub notes: Vec<Issue>,
    /// The run id in `import_runs`.
    pub run_id: Option<i64>,
    /// The county loaded.
    pub county: Option<String>,
    /// Batches committed.
    pub batches: u64,
}

impl ImportSummary {
    /// The counts of a layer (`ZD`, `ZRZ`, `DJZQ`, `DJQ`).
    pub fn layer(&self, name: &str) -> Option<&LayerSummary> {
        self.layers.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// Records rejected over all layers.
    pub fn rejected(&self) -> u64 {
        self.layers.iter().map(|(_, s)| s.rejected).sum()
    }

    /// The command's exit status: 0 everything loaded, 1 some features rejected.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.rejected() > 0)
    }
}

/// Progress callbacks (the CLI draws an indicatif bar; tests pass [`NoProgress`]).
pub trait Progress: Send + Sync {
    /// A layer starts; `total` records when known.
    fn start_layer(&self, layer: Layer, total: Option<u64>);
    /// `n` more records written.
    fn advance(&self, n: u64);
    /// The layer is done.
    fn finish_layer(&self, layer: Layer, summary: &LayerSummary);
}

/// Progress that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start_layer(&self, _: Layer, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish_layer(&self, _: Layer, _: &LayerSummary) {}
}

/// What the reader thread sends.
enum Msg {
    Start(Layer, Option<u64>),
    Chunk(Layer, Checked, Option<String>),
    End(Layer, Vec<Issue>),
    Failed(ImportError),
}

/// Imports `opts.path` into the store behind `pool` (which must be migrated), with
/// `opts.writers` connections writing batches in parallel.
///
/// ```no_run
/// # async fn f(pool: &sqlx::PgPool) -> Result<(), tile_server::import::ImportError> {
/// use tile_server::import::{import, ImportOptions, NoProgress};
/// let summary = import(pool, &ImportOptions::new("samples/district"), &NoProgress).await?;
/// println!("{} parcels loaded", summary.layer("ZD").map_or(0, |s| s.loaded()));
/// # Ok(()) }
/// ```
pub async fn import(
    pool: &PgPool,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportSummary, ImportError> {
    let mut main = pool.acquire().await.map_err(ImportError::db("connecting"))?;
    let srid = store_srid(&mut main, &opts.path).await?;
    let assume = opts.assume_srid.map(Crs::from_epsg);
    let layers = discover(&opts.path, assume.as_ref())?;
    check_before_writing(&layers, srid, opts)?;
    let rejects = opts.rejects.as_deref().map(RejectWriter::create).transpose()?;
    let info =
        RunInfo { actor: opts.actor.clone(), source: opts.path.display().to_string(), ..source_stamp(&opts.path) };
    let (tx, rx) = tokio::sync::mpsc::channel::<Msg>(1);
    let reader = spawn_reader(&layers, opts, srid, assume, tx);
    let mut run = run::Run::new(pool, opts, progress, main, rejects, info);
    let result = run.receive(rx).await;
    run.finish(result, reader).await
}

/// The store SRID, which every layer is transformed into.
async fn store_srid(main: &mut sqlx::PgConnection, path: &Path) -> Result<u32, ImportError> {
    let srid: i32 = sqlx::query_scalar("SELECT srid FROM store_settings")
        .fetch_one(main)
        .await
        .map_err(ImportError::db("reading the store SRID"))?;
    u32::try_from(srid).map_err(|_| ImportError::input(path, "the store SRID is negative"))
}

/// Sets up every transform and checks every layer's text and the `--county` flag before
/// anything is written: an impossible CRS or an unreadable encoding stops the import
/// here, not half-way.
fn check_before_writing(layers: &[LayerSource], srid: u32, opts: &ImportOptions) -> Result<(), ImportError> {
    for l in layers {
        if let Some(crs) = &l.crs {
            transformer_for(crs, srid, &l.path)?;
        }
        if let (true, Some(dbf)) = (l.shapefile, source::sibling(&l.path, "dbf")) {
            let cpg = source::sibling(&l.path, "cpg").and_then(|c| std::fs::read(c).ok());
            let cpg = cpg.map(|c| String::from_utf8_lossy(&c).into_owned());
            encoding_check::check_dbf_text(&dbf, cpg.as_deref(), opts.encoding)?;
        }
    }
    if let Some(c) = &opts.county {
        if let Err(e) = c.parse::<unit_code::CountyCode>() {
            return Err(ImportError::input(&opts.path, format!("--county {c:?}: {e}")));
        }
    }
    Ok(())
}

/// Starts the reader thread ([`read_all`]), which sends its messages on `tx`.
fn spawn_reader(
    layers: &[LayerSource],
    opts: &ImportOptions,
    srid: u32,
    assume: Option<Crs>,
    tx: tokio::sync::mpsc::Sender<Msg>,
) -> std::thread::JoinHandle<()> {
    let layers = layers.to_vec();
    let load = LoadOptions { encoding: opts.encoding, chunk_records: opts.chunk_records, ..LoadOptions::default() };
    let county = opts.county.clone();
    std::thread::spawn(move || read_all(&layers, &load, county, srid, assume.as_ref(), &tx))
}

/// Cuts a validated chunk into batches of at most `rows` rows, numbering them.
fn cut(layer: Layer, st: &validate::Staged, rows: usize, numbered: &mut u64) -> Vec<store::Batch> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < st.indexes.len() {
        let end = (start + rows).min(st.indexes.len());
        let from = if start == 0 { 0 } else { st.ends[start - 1] };
        *numbered += 1;
        out.push(store::Batch {
            layer,
            lines: st.lines[from..st.ends[end - 1]].to_vec(),
            rows: (end - start) as u64,
            records: (st.indexes[start], st.indexes[end - 1]),
            number: *numbered,
            into: None,
        });
        start = end;
    }
    out
}

fn layer_mut(summary: &mut ImportSummary, layer: Layer) -> &mut LayerSummary {
    let name = layer.standard_name();
    if let Some(i) = summary.layers.iter().position(|(n, _)| n == name) {
        return &mut summary.layers[i].1;
    }
    summary.layers.push((name.to_owned(), LayerSummary::default()));
    let last = summary.layers.len() - 1;
    &mut summary.layers[last].1
}

/// A transform from `crs` into the store zone, or `None` when they are the same.
fn transformer_for(crs: &Crs, srid: u32, path: &Path) -> Result<Option<Transformer>, ImportError> {
    let Some(zone) = GkZone::from_epsg(srid) else {
        if crs.epsg == Some(srid) {
            return Ok(None);
        }
        return Err(ImportError::input(
            path,
            format!(
                "the store SRID {srid} is not a CGCS2000 3° zone; data in another CRS cannot be transformed into it"
            ),
        ));
    };
    if crs.gk_zone == Some(zone) || crs.epsg == Some(srid) {
        return Ok(None);
    }
    Ok(Some(Transformer::new(crs, zone)?))
}

/// Size and newest modification time of the files making up the source.
fn source_stamp(path: &Path) -> RunInfo {
    let files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default()
    } else {
        let stem = path.file_stem().map(|s| s.to_string_lossy().to_lowercase());
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.file_stem().map(|s| s.to_string_lossy().to_lowercase()) == stem)
                    .collect()
            })
            .unwrap_or_default()
    };
    let metas: Vec<std::fs::Metadata> = files.iter().filter_map(|f| std::fs::metadata(f).ok()).collect();
    let size = metas.iter().filter(|m| m.is_file()).map(|m| i64::try_from(m.len()).unwrap_or(0)).sum();
    let mtime = metas.iter().filter_map(|m| m.modified().ok()).max().map(chrono::DateTime::<chrono::Utc>::from);
    RunInfo { actor: String::new(), source: String::new(), size, mtime }
}

/// The reader thread: every layer, chunk by chunk, validated, sent to the writer.
fn read_all(
    layers: &[LayerSource],
    load: &LoadOptions,
    county: Option<String>,
    srid: u32,
    assume: Option<&Crs>,
    tx: &tokio::sync::mpsc::Sender<Msg>,
) {
    let mut validator = Validator::new(county, srid);
    for l in layers {
        if tx.blocking_send(Msg::Start(l.layer, l.records)).is_err() {
            return;
        }
        let outcome = read_layer(l, load, srid, assume, &mut validator, tx);
        let msg = match outcome {
            Ok(Some(notes)) => Msg::End(l.layer, notes),
            Ok(None) => return, // the writer stopped
            Err(e) => Msg::Failed(e),
        };
        let failed = matches!(msg, Msg::Failed(_));
        if tx.blocking_send(msg).is_err() || failed {
            return;
        }
    }
}

/// Reads one layer; `Ok(None)` when the writer went away.
fn read_layer(
    l: &LayerSource,
    load: &LoadOptions,
    srid: u32,
    assume: Option<&Crs>,
    validator: &mut Validator,
    tx: &tokio::sync::mpsc::Sender<Msg>,
) -> Result<Option<Vec<Issue>>, ImportError> {
    let mut stopped = false;
    let info = if l.shapefile {
        let crs = l.crs.as_ref().ok_or_else(|| ImportError::input(&l.path, "no CRS"))?;
        validator.set_transformer(transformer_for(crs, srid, &l.path)?);
        let mut sent = std::time::Instant::now();
        stream_layer(&l.path, l.layer, load, &mut |chunk| {
            if stopped {
                return;
            }
            let clock = std::time::Instant::now();
            let read = clock - sent;
            let checked = validator.check(l.layer, chunk);
            let validated = clock.elapsed();
            let county = validator.county().map(str::to_owned);
            stopped = tx.blocking_send(Msg::Chunk(l.layer, checked, county)).is_err();
            sent = std::time::Instant::now();
            tracing::debug!(?read, ?validated, waited = ?(sent - clock - validated), "chunk checked");
        })?
    } else {
        // GDAL path: one chunk; its CRS is known only after reading.
        let mut whole: Option<Submission> = None;
        let info = stream_layer(&l.path, l.layer, load, &mut |chunk| whole = Some(chunk))?;
        let crs = info.crs.clone().or_else(|| assume.cloned()).ok_or_else(|| {
            ImportError::input(&l.path, "the layer declares no CRS; pass --assume-srid N if you know it")
        })?;
        validator.set_transformer(transformer_for(&crs, srid, &l.path)?);
        if let Some(chunk) = whole {
            let checked = validator.check(l.layer, chunk);
            let county = validator.county().map(str::to_owned);
            stopped = tx.blocking_send(Msg::Chunk(l.layer, checked, county)).is_err();
        }
        info
    };
    if stopped {
        return Ok(None);
    }
    Ok(Some(info.issues.iter().map(Issue::layer_note).collect()))
}
