//! The other direction: registration results (登簿) recorded on the extranet go
//! inward through the one-way gate as packages of the same form.
//!
//! Each result has a `revision` that grows with every change; a package carries the
//! results whose revision was not exported yet, and they are marked exported only
//! after the package is safely in the outbox. A crash in between sends them again
//! in the next package, which the internal side applies idempotently (it keeps the
//! highest revision).

use std::path::Path;

use chrono::Utc;

use crate::export::{ExportOptions, ExportOutcome};
use crate::outbox::{crash_point, ChainState, Outbox, OutboxError};
use crate::package::manifest::{sm3_hex, FeedRange, Manifest, PackageKind, FORMAT};
use crate::package::records::{RegistrationRecord, REGISTRATIONS};
use crate::package::write::PackageWriter;
use crate::receiver::db::{sql, DbError, ReceiverDb, Role};

/// Errors of a registration export.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationExportError {
    /// The outbox.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Writing.
    #[error("writing the package: {0}")]
    Io(#[from] std::io::Error),
    /// Not an extranet database.
    #[error("registration results are exported from an extranet receiving database, not from the internal store")]
    WrongDatabase,
}

/// Writes a package of the registration results not exported yet (or nothing).
pub async fn export_registrations(
    db: &ReceiverDb,
    outbox_dir: &Path,
    opts: &ExportOptions<'_>,
) -> Result<ExportOutcome, RegistrationExportError> {
    if db.role != Role::Extranet {
        return Err(RegistrationExportError::WrongDatabase);
    }
    let outbox = Outbox::open(outbox_dir, opts.sender, PackageKind::Registrations)?;
    let state = outbox.state(opts.key, opts.earlier_keys)?;
    type Row = (String, Option<String>, String, Option<String>, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT bdcdyh, bdcqzh, djzt, djsj, revision FROM registrations WHERE revision > exported_revision ORDER BY bdcdyh",
    )
    .fetch_all(&db.pool)
    .await
    .map_err(sql("reading registration results"))?;
    if rows.is_empty() {
        return Ok(ExportOutcome::NothingChanged { sequence: state.sequence });
    }
    let mut writer = PackageWriter::new(outbox.dir())?;
    let file = writer.open(REGISTRATIONS)?;
    for (bdcdyh, bdcqzh, djzt, djsj, revision) in &rows {
        let djsj =
            djsj.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
        let record = RegistrationRecord {
            bdcdyh: bdcdyh.clone(),
            bdcqzh: bdcqzh.clone(),
            djzt: djzt.clone(),
            djsj,
            revision: *revision,
        };
        writer.file(file).push(&record)?;
    }
    let count = writer.rows();
    let now = Utc::now();
    let to = format!("{}", now.timestamp_micros());
    let manifest = Manifest {
        format: FORMAT.into(),
        kind: PackageKind::Registrations,
        sender: opts.sender.to_owned(),
        sequence: state.sequence + 1,
        previous: state.manifest_sm3.clone(),
        feed: FeedRange { from: state.cursor.clone(), to: to.clone() },
        created_at: now,
        key_id: String::new(),
        files: Vec::new(),
    };
    let sequence = manifest.sequence;
    let (path, manifest_bytes) =
        writer.finish(manifest, opts.key, opts.rotation, || crash_point("export-before-rename"))?;
    outbox.save(&ChainState { sequence, manifest_sm3: Some(sm3_hex(&manifest_bytes)), cursor: Some(to) })?;
    crash_point("registration-before-mark");
    let mut tx = db.pool.begin().await.map_err(sql("starting to mark exported results"))?;
    for (bdcdyh, _, _, _, revision) in &rows {
        sqlx::query("UPDATE registrations SET exported_revision = $1 WHERE bdcdyh = $2 AND revision = $1")
            .bind(*revision)
            .bind(bdcdyh.clone())
            .execute(&mut *tx)
            .await
            .map_err(sql("marking exported results"))?;
    }
    tx.commit().await.map_err(sql("marking exported results"))?;
    Ok(ExportOutcome::Written { path, sequence, rows: count })
}
