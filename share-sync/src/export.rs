//! Outbound export from the internal store (PostGIS): everything non-spatial that
//! changed since the last package, read through an explicit allow-list of columns.
//!
//! The change feed is the audit log in commit order: rows ordered by
//! `(txid, audit_id)` and taken only below `pg_snapshot_xmin`, so a transaction
//! that commits late is never skipped (its rows sort before the cursor only once
//! nothing older is running). The whole export reads one REPEATABLE READ snapshot:
//! the feed range and the rows it names are consistent. The first package is a
//! full snapshot of the current rows; later ones carry the objects the feed names.

use std::path::PathBuf;

use chrono::Utc;
use futures_util::TryStreamExt as _;
use sqlx::{PgConnection, PgPool};

use crate::keys::{KeyPair, PublicKey, Rotation};
use crate::outbox::{crash_point, ChainState, Outbox, OutboxError};
use crate::package::manifest::{FeedRange, Manifest, PackageKind, FORMAT};
use crate::package::records::{
    BuildingRecord, FloorRecord, LandUnitRecord, LineageRecord, ObjectKind, RetiredRecord, UnitRecord, BUILDINGS,
    LAND_UNITS, LINEAGE, RETIRED, UNITS,
};
use crate::package::write::PackageWriter;

/// Errors of an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The outbox.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The store.
    #[error("reading the store ({what}): {source}")]
    Db {
        /// What was being read.
        what: &'static str,
        /// Cause.
        source: sqlx::Error,
    },
    /// Writing the package.
    #[error("writing the package: {0}")]
    Io(#[from] std::io::Error),
}

fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> ExportError {
    move |source| ExportError::Db { what, source }
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportOutcome {
    /// A package was written.
    Written {
        /// Its path.
        path: PathBuf,
        /// Its sequence number.
        sequence: u64,
        /// Data rows in it.
        rows: u64,
    },
    /// Nothing changed since the last package; nothing was written.
    NothingChanged {
        /// The last sequence number (0: none yet).
        sequence: u64,
    },
}

/// How to export.
pub struct ExportOptions<'a> {
    /// Sender id (one chain per sender).
    pub sender: &'a str,
    /// Signing key.
    pub key: &'a KeyPair,
    /// The rotation statement that introduced `key`, if it succeeded another key.
    pub rotation: Option<&'a Rotation>,
    /// Earlier keys of this sender, to recognise its own older packages in the outbox.
    pub earlier_keys: &'a [PublicKey],
}

/// A feed position: the transaction id and audit id of the last row covered.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    txid: String,
    audit_id: i64,
}

impl Cursor {
    fn parse(s: &str) -> Option<Self> {
        let (txid, id) = s.split_once(':')?;
        txid.parse::<u64>().ok()?;
        Some(Self { txid: txid.to_owned(), audit_id: id.parse().ok()? })
    }

    fn zero() -> Self {
        Self { txid: "0".into(), audit_id: 0 }
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.txid, self.audit_id)
    }
}

/// The feed rows of one package: `($1, $2)` exclusive to `($3, $4)` inclusive, and
/// the codes they name. Only keys are read from the audit images (which may hold
/// geometry), never the images themselves.
const KEYS: &str = "
WITH feed AS (
    SELECT action, object_type, object_key, after FROM audit
    WHERE (txid, audit_id) > ($1::text::xid8, $2) AND (txid, audit_id) <= ($3::text::xid8, $4)
      AND object_type IN ('parcel', 'building', 'household')
),
codes AS (
    SELECT object_type, action, jsonb_array_elements_text(after->'inserted_codes') AS k FROM feed
        WHERE action = 'import.batch' AND jsonb_typeof(after->'inserted_codes') = 'array'
    UNION ALL SELECT object_type, action, jsonb_array_elements_text(after->'updated_codes') FROM feed
        WHERE action = 'import.batch' AND jsonb_typeof(after->'updated_codes') = 'array'
    UNION ALL SELECT 'household', action, jsonb_array_elements_text(after->'inserted') FROM feed
        WHERE action = 'building_table.import' AND jsonb_typeof(after->'inserted') = 'array'
    UNION ALL SELECT 'household', action, jsonb_array_elements_text(after->'updated') FROM feed
        WHERE action = 'building_table.import' AND jsonb_typeof(after->'updated') = 'array'
    UNION ALL SELECT object_type, action, object_key FROM feed WHERE action <> 'import.batch'
),
unit_keys AS (SELECT DISTINCT k FROM codes WHERE object_type = 'household' AND length(k) = 28),
building_keys AS (SELECT DISTINCT k FROM codes WHERE object_type = 'building' AND length(k) = 24),
parcel_keys AS (SELECT DISTINCT k FROM codes WHERE object_type = 'parcel' AND length(k) = 19)
";

// The allow-lists: every column that leaves the internal zone is named here.
const UNIT_COLUMNS: &str = "h.bdcdyh, h.zrzh, h.fwbm, h.ljzh, h.sjc, h.myc, h.dyh, h.shbw, h.hx, h.fwyt, h.zl, \
     h.yctnjzmj::float8 AS yctnjzmj, h.ycftjzmj::float8 AS ycftjzmj, h.ycjzmj::float8 AS ycjzmj, \
     h.sctnjzmj::float8 AS sctnjzmj, h.scftjzmj::float8 AS scftjzmj, h.scjzmj::float8 AS scjzmj, \
     h.ftxs::float8 AS ftxs, h.gytdmj::float8 AS gytdmj, h.fttdmj::float8 AS fttdmj, h.dytdmj::float8 AS dytdmj, \
     h.mortgaged, h.sealed, h.state, h.version_id, h.valid_from";
const BUILDING_COLUMNS: &str = "b.zrzh, b.zddm, b.county::text AS county, b.jzwmc, b.zl, b.jgrq, b.dscs, b.dxcs, \
     b.fwjg, b.ghyt, b.ycjzmj::float8 AS ycjzmj, b.scjzmj::float8 AS scjzmj, b.state, b.version_id, b.valid_from";
const FLOOR_LIST: &str = "coalesce((SELECT jsonb_agg(jsonb_build_object('SJC', f.sjc, 'MYC', f.myc, 'CMC', f.cmc) \
     ORDER BY f.sjc DESC) FROM floors f WHERE f.county = b.county AND f.zrzh = b.zrzh AND f.state = 'current'), \
     '[]'::jsonb) AS floors";
const LAND_UNIT_COLUMNS: &str = "p.zddm, p.zl, p.zdmj::float8 AS zdmj, p.yt, p.qllx, p.qlxz, p.state, p.version_id";
const LINEAGE_COLUMNS: &str = "l.county::text AS county, l.event_id, l.old_code::text AS old_code, \
     l.new_code::text AS new_code, l.kind, e.at";

/// Writes the next package of changes from the internal store into `outbox`, or
/// nothing when nothing changed.
pub async fn export_units(
    pool: &PgPool,
    outbox_dir: &std::path::Path,
    opts: &ExportOptions<'_>,
) -> Result<ExportOutcome, ExportError> {
    let outbox = Outbox::open(outbox_dir, opts.sender, PackageKind::Units)?;
    let state = outbox.state(opts.key, opts.earlier_keys)?;
    let from = state
        .cursor
        .as_deref()
        .map(|c| Cursor::parse(c).ok_or_else(|| OutboxError::Invalid(format!("bad cursor {c:?} in the outbox state"))));
    let from = from.transpose()?;

    let mut conn = pool.acquire().await.map_err(db("connecting"))?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(db("starting the snapshot"))?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await
        .map_err(db("setting the isolation level"))?;
    // Everything below xmin has finished: the feed up to there can no longer grow.
    let to: Option<(String, i64)> = sqlx::query_as(
        "SELECT txid::text, audit_id FROM audit
         WHERE txid < pg_snapshot_xmin(pg_current_snapshot())
           AND object_type IN ('parcel', 'building', 'household')
         ORDER BY txid DESC, audit_id DESC LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("reading the change feed"))?;
    let to = to.map_or_else(Cursor::zero, |(txid, audit_id)| Cursor { txid, audit_id });
    if from.as_ref() == Some(&to) || from.as_ref().is_some_and(|f| f.txid.parse::<u64>().ok() > to.txid.parse().ok()) {
        return Ok(ExportOutcome::NothingChanged { sequence: state.sequence });
    }

    let mut writer = PackageWriter::new(outbox.dir())?;
    let progress =
        indicatif::ProgressBar::new_spinner().with_message(format!("exporting package {}", state.sequence + 1));
    write_tables(&mut tx, &mut writer, from.as_ref(), &to, &progress).await?;
    progress.finish_and_clear();
    tx.rollback().await.map_err(db("ending the snapshot"))?;

    let rows = writer.rows();
    if rows == 0 {
        // The feed moved (e.g. only retirements of objects never sent), but nothing to carry:
        // remember the cursor so the same range is not read again.
        writer.abandon()?;
        if state.sequence > 0 {
            outbox.save(&ChainState { cursor: Some(to.to_string()), ..state.clone() })?;
        }
        return Ok(ExportOutcome::NothingChanged { sequence: state.sequence });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        kind: PackageKind::Units,
        sender: opts.sender.to_owned(),
        sequence: state.sequence + 1,
        previous: state.manifest_sm3.clone(),
        feed: FeedRange { from: from.map(|c| c.to_string()), to: to.to_string() },
        created_at: Utc::now(),
        key_id: String::new(),
        files: Vec::new(),
    };
    let sequence = manifest.sequence;
    let (path, manifest_bytes) =
        writer.finish(manifest, opts.key, opts.rotation, || crash_point("export-before-rename"))?;
    crash_point("export-before-state");
    outbox.save(&ChainState {
        sequence,
        manifest_sm3: Some(crate::package::manifest::sm3_hex(&manifest_bytes)),
        cursor: Some(to.to_string()),
    })?;
    Ok(ExportOutcome::Written { path, sequence, rows })
}

/// Streams the tables into the package's data files.
async fn write_tables(
    tx: &mut PgConnection,
    writer: &mut PackageWriter,
    from: Option<&Cursor>,
    to: &Cursor,
    progress: &indicatif::ProgressBar,
) -> Result<(), ExportError> {
    // A full snapshot when nothing was sent yet; else only what the feed names. The keys are
    // text and the store's codes CHAR(n): compared uncast, the codes would be cast to text
    // and every lookup would read the whole table instead of an index.
    let (with, land_filter, building_filter, unit_filter) = match from {
        None => ("", "", "", ""),
        Some(_) => (
            KEYS,
            " AND (p.county, p.zddm) IN (SELECT left(k, 6)::bpchar, k::bpchar FROM parcel_keys)",
            " AND (b.county, b.zrzh) IN (SELECT left(k, 6)::bpchar, k::bpchar FROM building_keys)",
            " AND (h.county, h.bdcdyh) IN (SELECT left(k, 6)::bpchar, k::bpchar FROM unit_keys)",
        ),
    };
    let from = from.cloned().unwrap_or_else(Cursor::zero);
    macro_rules! bound {
        ($q:expr) => {
            if with.is_empty() {
                $q
            } else {
                $q.bind(from.txid.clone()).bind(from.audit_id).bind(to.txid.clone()).bind(to.audit_id)
            }
        };
    }

    let file = writer.open(LAND_UNITS)?;
    let sql = format!(
        "{with} SELECT {LAND_UNIT_COLUMNS} FROM parcels p WHERE p.state = 'current'{land_filter} ORDER BY p.county, p.zddm"
    );
    let mut rows = bound!(sqlx::query_as::<_, LandUnitRecord>(&sql)).fetch(&mut *tx);
    while let Some(r) = rows.try_next().await.map_err(db("reading land units"))? {
        writer.file(file).push(&r)?;
        progress.inc(1);
    }
    drop(rows);

    let file = writer.open(BUILDINGS)?;
    let sql = format!(
        "{with} SELECT {BUILDING_COLUMNS}, {FLOOR_LIST} FROM buildings b WHERE b.state = 'current'{building_filter}
         ORDER BY b.county, b.zrzh"
    );
    let mut rows = bound!(sqlx::query_as::<_, BuildingRow>(&sql)).fetch(&mut *tx);
    while let Some(r) = rows.try_next().await.map_err(db("reading buildings"))? {
        let mut record = r.attrs;
        record.floors = r.floors.0;
        writer.file(file).push(&record)?;
        progress.inc(1);
    }
    drop(rows);

    let file = writer.open(UNITS)?;
    let sql = format!(
        "{with} SELECT {UNIT_COLUMNS} FROM households h WHERE h.state = 'current'{unit_filter} ORDER BY h.county, h.bdcdyh"
    );
    let mut rows = bound!(sqlx::query_as::<_, UnitRecord>(&sql)).fetch(&mut *tx);
    while let Some(r) = rows.try_next().await.map_err(db("reading units"))? {
        writer.file(file).push(&r)?;
        progress.inc(1);
    }
    drop(rows);

    let file = writer.open(LINEAGE)?;
    let has_lineage: bool = sqlx::query_scalar("SELECT to_regclass('uc_lineage') IS NOT NULL")
        .fetch_one(&mut *tx)
        .await
        .map_err(db("looking for the code registry"))?;
    if has_lineage {
        let filter = if with.is_empty() {
            ""
        } else {
            " AND EXISTS (SELECT 1 FROM (SELECT k FROM unit_keys UNION ALL SELECT k FROM building_keys
                 UNION ALL SELECT k FROM parcel_keys) keys WHERE keys.k IN (l.old_code, l.new_code))"
        };
        let sql = format!(
            "{with} SELECT {LINEAGE_COLUMNS} FROM uc_lineage l JOIN uc_event e USING (county, event_id)
             WHERE true{filter} ORDER BY l.county, l.event_id, l.old_code, l.new_code"
        );
        let mut rows = bound!(sqlx::query_as::<_, LineageRecord>(&sql)).fetch(&mut *tx);
        while let Some(r) = rows.try_next().await.map_err(db("reading lineage"))? {
            writer.file(file).push(&r)?;
        }
    }

    let file = writer.open(RETIRED)?;
    if !with.is_empty() {
        let sql = format!(
            "{with}
             SELECT 'land_unit', k FROM parcel_keys WHERE NOT EXISTS (SELECT 1 FROM parcels p
                 WHERE p.county = left(k, 6)::bpchar AND p.zddm = k::bpchar AND p.state = 'current')
             UNION ALL SELECT 'building', k FROM building_keys WHERE NOT EXISTS (SELECT 1 FROM buildings b
                 WHERE b.county = left(k, 6)::bpchar AND b.zrzh = k::bpchar AND b.state = 'current')
             UNION ALL SELECT 'unit', k FROM unit_keys WHERE NOT EXISTS (SELECT 1 FROM households h
                 WHERE h.county = left(k, 6)::bpchar AND h.bdcdyh = k::bpchar AND h.state = 'current')
             ORDER BY 1, 2"
        );
        let retired: Vec<(String, String)> =
            bound!(sqlx::query_as(&sql)).fetch_all(&mut *tx).await.map_err(db("reading retirements"))?;
        for (kind, key) in retired {
            let kind = match kind.as_str() {
                "land_unit" => ObjectKind::LandUnit,
                "building" => ObjectKind::Building,
                _ => ObjectKind::Unit,
            };
            writer.file(file).push(&RetiredRecord { kind, key })?;
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct BuildingRow {
    #[sqlx(flatten)]
    attrs: BuildingRecord,
    floors: sqlx::types::Json<Vec<FloorRecord>>,
}
