//! `apply`: verify every package first (signatures, digests; the chain when its
//! turn comes), then apply in sequence order, one transaction per package that also
//! records the package as applied. Out-of-order packages are held (copied into the
//! inbox) until the gap before them is filled; refused ones are quarantined with
//! their reason; duplicates are reported and ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;
use sqlx::{Acquire as _, AnyConnection};

use super::db::{sql, DbError, ReceiverDb, Role};
use super::store;
use crate::keys::PublicKey;
use crate::outbox::crash_point;
use crate::package::read::{for_each_line, verify, Keyring, Verified};
use crate::package::records::Record;

/// One applied package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The file given (or its held copy).
    pub package: String,
    /// Sender.
    pub sender: String,
    /// Sequence number.
    pub sequence: u64,
    /// Data rows applied.
    pub rows: u64,
}

/// A package not applied in this run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file given.
    pub package: String,
    /// Sequence number, when the manifest was readable.
    pub sequence: Option<u64>,
    /// Why.
    pub reason: String,
}

/// What an `apply` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Applied now, in order.
    pub applied: Vec<Applied>,
    /// Already applied before (same content): ignored.
    pub duplicates: Vec<Skipped>,
    /// Held for a gap (newly or still).
    pub held: Vec<Skipped>,
    /// Refused, with the reason.
    pub quarantined: Vec<Skipped>,
    /// Sequence numbers to re-ferry.
    pub gaps: Vec<u64>,
}

impl ApplyReport {
    /// Exit status: 0 when everything given was applied or already there.
    pub fn all_applied(&self) -> bool {
        self.held.is_empty() && self.quarantined.is_empty() && self.gaps.is_empty()
    }
}

/// Errors that stop an `apply` run (a refused package is not an error: it is reported).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The inbox directory.
    #[error("inbox {path}: {source}")]
    Inbox {
        /// Where.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

fn inbox_err(path: &Path) -> impl FnOnce(std::io::Error) -> ApplyError + '_ {
    move |source| ApplyError::Inbox { path: path.to_owned(), source }
}

/// The receiver's trusted keys: those given plus those learnt from rotations.
pub async fn keyring(db: &ReceiverDb, trusted: &[PublicKey]) -> Result<Keyring, DbError> {
    let mut ring = Keyring::default();
    for k in trusted {
        ring.trust(k.clone());
    }
    let rows: Vec<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT key_id, public_pem, retired_at_sequence FROM sync_keys ORDER BY key_id")
            .fetch_all(&db.pool)
            .await
            .map_err(sql("reading learnt keys"))?;
    for (id, pem, retired) in rows {
        if let Ok(key) = PublicKey::from_pem(&pem) {
            if key.id() == id {
                ring.trust(key);
            }
        }
        if let Some(seq) = retired {
            ring.retire(&id, u64::try_from(seq).unwrap_or(0));
        }
    }
    Ok(ring)
}

/// The last applied sequence of a stream and its manifest digest.
async fn last_applied(db: &ReceiverDb, sender: &str, kind: &str) -> Result<(u64, Option<String>), DbError> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT sequence, manifest_sm3 FROM sync_applied WHERE sender = $1 AND kind = $2 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(sender.to_owned())
    .bind(kind.to_owned())
    .fetch_optional(&db.pool)
    .await
    .map_err(sql("reading the applied chain"))?;
    Ok(row.map_or((0, None), |(s, h)| (u64::try_from(s).unwrap_or(0), Some(h))))
}

/// A unique name in `dir` for a copy of `original`.
fn copy_name(dir: &Path, original: &Path, tag: &str) -> PathBuf {
    let base = original.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "package".into());
    let safe: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    dir.join(format!("{tag}-{safe}"))
}

/// Copies a file into the inbox atomically (temporary name, sync, rename).
fn copy_in(from: &Path, to: &Path) -> std::io::Result<()> {
    if from == to {
        return Ok(());
    }
    let dir = to.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{}{}", crate::package::write::TEMP_PREFIX, std::process::id()));
    fs::copy(from, &tmp)?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, to)?;
    crate::package::write::sync_dir(dir)
}

struct Run<'a> {
    db: &'a ReceiverDb,
    inbox: &'a Path,
    ring: Keyring,
    report: ApplyReport,
}

impl Run<'_> {
    async fn quarantine(&mut self, file: &Path, sequence: Option<u64>, reason: String) -> Result<(), ApplyError> {
        let dir = self.inbox.join("quarantine");
        let stamp = format!("{}-{:08x}", Utc::now().format("%Y%m%dT%H%M%S"), rand::random::<u32>());
        let copy = copy_name(&dir, file, &stamp);
        let kept = match copy_in(file, &copy) {
            Ok(()) => copy.display().to_string(),
            Err(_) => file.display().to_string(), // unreadable: nothing to keep
        };
        sqlx::query("INSERT INTO sync_quarantine (file, original, reason, received_at) VALUES ($1, $2, $3, $4)")
            .bind(kept)
            .bind(file.display().to_string())
            .bind(reason.clone())
            .bind(store::time_text(&Utc::now()))
            .execute(&self.db.pool)
            .await
            .map_err(sql("recording a quarantined package"))?;
        self.report.quarantined.push(Skipped { package: file.display().to_string(), sequence, reason });
        Ok(())
    }

    async fn hold(&mut self, v: &Verified) -> Result<(), ApplyError> {
        let m = &v.manifest;
        let dir = self.inbox.join("held");
        let copy = copy_name(&dir, Path::new(&m.file_name()), &v.manifest_sm3[..12]);
        copy_in(&v.path, &copy).map_err(inbox_err(&copy))?;
        sqlx::query(
            "INSERT INTO sync_held (sender, kind, sequence, manifest_sm3, file, received_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (sender, kind, sequence, manifest_sm3) DO NOTHING",
        )
        .bind(m.sender.clone())
        .bind(m.kind.as_str())
        .bind(seq_i64(m.sequence))
        .bind(v.manifest_sm3.clone())
        .bind(copy.display().to_string())
        .bind(store::time_text(&Utc::now()))
        .execute(&self.db.pool)
        .await
        .map_err(sql("recording a held package"))?;
        Ok(())
    }
}

fn seq_i64(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

/// Applies packages to `db`. `inbox`: where held and quarantined copies are kept.
pub async fn apply(
    db: &ReceiverDb,
    trusted: &[PublicKey],
    inbox: &Path,
    packages: &[PathBuf],
) -> Result<ApplyReport, ApplyError> {
    fs::create_dir_all(inbox).map_err(inbox_err(inbox))?;
    // One apply per inbox at a time.
    let lock_path = inbox.join(".share-sync.lock");
    let lock = fs::File::create(&lock_path).map_err(inbox_err(&lock_path))?;
    lock.lock().map_err(inbox_err(&lock_path))?;
    let ring = keyring(db, trusted).await?;
    let mut run = Run { db, inbox, ring, report: ApplyReport::default() };

    // 1. Verify everything given before touching the data.
    let mut candidates: Vec<Verified> = Vec::new();
    for path in packages {
        match verify(path, &run.ring) {
            Ok(v) if v.manifest.kind != db.role.accepts() => {
                let reason = format!(
                    "a {} package cannot be applied to {}",
                    v.manifest.kind.as_str(),
                    match db.role {
                        Role::Extranet => "an extranet receiving database",
                        Role::InternalStore => "the internal store",
                    }
                );
                run.quarantine(path, Some(v.manifest.sequence), reason).await?;
            }
            Ok(v) => candidates.push(v),
            Err(rejection) => run.quarantine(path, None, rejection.to_string()).await?,
        }
    }

    // 2. Per stream: duplicates, holds, then apply in order while the chain continues.
    let streams: BTreeSet<(String, String)> =
        candidates.iter().map(|v| (v.manifest.sender.clone(), v.manifest.kind.as_str().to_owned())).collect();
    let held_streams: Vec<(String, String)> = sqlx::query_as("SELECT DISTINCT sender, kind FROM sync_held")
        .fetch_all(&db.pool)
        .await
        .map_err(sql("reading held packages"))?;
    let streams: BTreeSet<(String, String)> = streams.into_iter().chain(held_streams).collect();
    for (sender, kind) in streams {
        let mine: Vec<Verified> = candidates
            .iter()
            .filter(|v| v.manifest.sender == sender && v.manifest.kind.as_str() == kind)
            .cloned()
            .collect();
        apply_stream(&mut run, &sender, &kind, mine).await?;
    }
    drop(lock);
    Ok(run.report)
}

async fn apply_stream(run: &mut Run<'_>, sender: &str, kind: &str, mut given: Vec<Verified>) -> Result<(), ApplyError> {
    given.sort_by_key(|v| v.manifest.sequence);
    let (mut last, mut last_sm3) = last_applied(run.db, sender, kind).await?;
    let mut pending: Vec<Verified> = Vec::new();
    for v in given {
        let seq = v.manifest.sequence;
        if seq <= last {
            let recorded: Option<String> = sqlx::query_scalar(
                "SELECT manifest_sm3 FROM sync_applied WHERE sender = $1 AND kind = $2 AND sequence = $3",
            )
            .bind(sender.to_owned())
            .bind(kind.to_owned())
            .bind(seq_i64(seq))
            .fetch_optional(&run.db.pool)
            .await
            .map_err(sql("reading the applied chain"))?;
            let file = v.path.display().to_string();
            if recorded.as_deref() == Some(v.manifest_sm3.as_str()) {
                run.report.duplicates.push(Skipped {
                    package: file,
                    sequence: Some(seq),
                    reason: format!("sequence {seq} was already applied: ignored"),
                });
            } else {
                let reason = format!("replayed or forked: sequence {seq} was already applied with different content");
                run.quarantine(&v.path, Some(seq), reason).await?;
            }
        } else {
            pending.push(v);
        }
    }
    for v in pending.iter().filter(|v| v.manifest.sequence > last + 1) {
        run.hold(v).await?;
    }
    pending.retain(|v| v.manifest.sequence == last + 1);

    loop {
        let next = last + 1;
        // Candidates for `next`: given now, or held earlier (verified again: the copy
        // sits on disk and the keyring may have grown by a rotation).
        let held: Vec<(String, String)> = sqlx::query_as(
            "SELECT file, manifest_sm3 FROM sync_held WHERE sender = $1 AND kind = $2 AND sequence = $3 ORDER BY file",
        )
        .bind(sender.to_owned())
        .bind(kind.to_owned())
        .bind(seq_i64(next))
        .fetch_all(&run.db.pool)
        .await
        .map_err(sql("reading held packages"))?;
        let mut options: Vec<Verified> = pending.iter().filter(|v| v.manifest.sequence == next).cloned().collect();
        for (file, sm3) in &held {
            if options.iter().any(|v| &v.manifest_sm3 == sm3) {
                continue;
            }
            match verify(Path::new(file), &run.ring) {
                Ok(v) if &v.manifest_sm3 == sm3 => options.push(v),
                Ok(_) => run.quarantine(Path::new(file), Some(next), "held copy changed on disk".into()).await?,
                Err(e) => run.quarantine(Path::new(file), Some(next), e.to_string()).await?,
            }
            forget_held(run.db, sender, kind, next, sm3).await?;
        }
        if options.is_empty() {
            break;
        }
        let mut progressed = false;
        for v in options {
            if progressed {
                let reason = format!("sequence {next} was already applied with different content");
                run.quarantine(&v.path, Some(next), reason).await?;
                continue;
            }
            if v.manifest.previous != last_sm3 {
                let reason = format!(
                    "chain broken: it follows manifest {:?}, but sequence {last} applied here has {:?}",
                    v.manifest.previous, last_sm3
                );
                run.quarantine(&v.path, Some(next), reason).await?;
                continue;
            }
            match apply_one(run.db, &v).await? {
                Ok(rows) => {
                    if let Some(rotation) = &v.rotation {
                        run.ring.trust(v.signer.clone());
                        if rotation.new_key_id == v.signer.id() {
                            run.ring.retire(&rotation.old_key_id, next);
                        }
                    }
                    run.report.applied.push(Applied {
                        package: v.path.display().to_string(),
                        sender: sender.to_owned(),
                        sequence: next,
                        rows,
                    });
                    if v.path.starts_with(run.inbox) {
                        let _ = fs::remove_file(&v.path);
                    }
                    last = next;
                    last_sm3 = Some(v.manifest_sm3.clone());
                    progressed = true;
                }
                Err(reason) => run.quarantine(&v.path, Some(next), reason).await?,
            }
        }
        if !progressed {
            break;
        }
    }

    // 3. What is still waiting, and the gaps before it.
    let waiting: Vec<(i64, String)> =
        sqlx::query_as("SELECT sequence, file FROM sync_held WHERE sender = $1 AND kind = $2 ORDER BY sequence, file")
            .bind(sender.to_owned())
            .bind(kind.to_owned())
            .fetch_all(&run.db.pool)
            .await
            .map_err(sql("reading held packages"))?;
    let held_seqs: BTreeSet<u64> = waiting.iter().map(|(s, _)| u64::try_from(*s).unwrap_or(0)).collect();
    if let Some(&max) = held_seqs.last() {
        run.report.gaps.extend((last + 1..max).filter(|s| !held_seqs.contains(s)));
    }
    for (seq, file) in waiting {
        let seq = u64::try_from(seq).unwrap_or(0);
        run.report.held.push(Skipped {
            package: file,
            sequence: Some(seq),
            reason: format!("waiting for sequence {}", last + 1),
        });
    }
    Ok(())
}

async fn forget_held(db: &ReceiverDb, sender: &str, kind: &str, seq: u64, sm3: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM sync_held WHERE sender = $1 AND kind = $2 AND sequence = $3 AND manifest_sm3 = $4")
        .bind(sender.to_owned())
        .bind(kind.to_owned())
        .bind(seq_i64(seq))
        .bind(sm3.to_owned())
        .execute(&db.pool)
        .await
        .map_err(sql("forgetting a held package"))?;
    Ok(())
}

/// Applies one verified package in one transaction. `Ok(Err(reason))`: the package's
/// content was refused (rolled back; the caller quarantines it).
async fn apply_one(db: &ReceiverDb, v: &Verified) -> Result<Result<u64, String>, ApplyError> {
    let mut conn = db.pool.acquire().await.map_err(sql("connecting"))?;
    let mut tx = conn.begin().await.map_err(sql("starting a package transaction"))?;
    let seq = seq_i64(v.manifest.sequence);

    // Parse in a thread, write here: batches flow through a small channel (bounded memory).
    let (send, mut recv) = tokio::sync::mpsc::channel::<Vec<Record>>(4);
    let verified = v.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(store::READ_BATCH);
        let mut rows = 0u64;
        let result = for_each_line(&verified, |file, line| {
            batch.push(Record::parse(file, line)?);
            rows += 1;
            if batch.len() == store::READ_BATCH {
                send.blocking_send(std::mem::take(&mut batch)).map_err(|_| "stopped".to_owned())?;
            }
            Ok(())
        });
        if result.is_ok() && !batch.is_empty() {
            let _ = send.blocking_send(batch);
        }
        result.map(|()| rows)
    });
    let mut counties: BTreeMap<String, u64> = BTreeMap::new();
    let mut write_error = None;
    while let Some(batch) = recv.recv().await {
        if let Err(e) = write_batch(&mut tx, db.role, &v.manifest.sender, seq, batch, &mut counties).await {
            write_error = Some(e);
            break;
        }
    }
    drop(recv);
    let read = reader.await.map_err(|e| DbError::Url(format!("reader thread: {e}")))?;
    if let Some(e) = write_error {
        return match e {
            BatchError::Content(reason) => Ok(Err(reason)),
            BatchError::Db(e) => Err(e.into()),
        };
    }
    let rows = match read {
        Ok(rows) => rows,
        Err(reason) => return Ok(Err(format!("unusable content: {reason}"))),
    };
    if rows != v.manifest.data_rows() {
        return Ok(Err(format!("{rows} rows read, the manifest lists {}", v.manifest.data_rows())));
    }
    if db.role == Role::InternalStore {
        store::audit_registrations(&mut tx, &counties, &v.manifest.sender, seq).await?;
    }
    record_applied(&mut tx, v, rows).await?;
    crash_point("apply-before-commit");
    tx.commit().await.map_err(sql("committing a package"))?;
    Ok(Ok(rows))
}

enum BatchError {
    Content(String),
    Db(DbError),
}

async fn write_batch(
    conn: &mut AnyConnection,
    role: Role,
    sender: &str,
    seq: i64,
    batch: Vec<Record>,
    counties: &mut BTreeMap<String, u64>,
) -> Result<(), BatchError> {
    let (mut units, mut buildings, mut lands, mut lineage, mut retired, mut regs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in batch {
        match r {
            Record::Unit(u) => units.push(*u),
            Record::Building(b) => buildings.push(*b),
            Record::LandUnit(l) => lands.push(*l),
            Record::Lineage(l) => lineage.push(l),
            Record::Retired(r) => retired.push(r),
            Record::Registration(r) => regs.push(r),
        }
    }
    for u in &units {
        check_bdcdyh(&u.bdcdyh).map_err(BatchError::Content)?;
    }
    for r in &regs {
        let code = check_bdcdyh(&r.bdcdyh).map_err(BatchError::Content)?;
        *counties.entry(code.county().to_string()).or_default() += 1;
    }
    let db = BatchError::Db;
    match role {
        Role::Extranet => {
            store::land_units(conn, &lands, seq).await.map_err(db)?;
            store::buildings(conn, &buildings, seq).await.map_err(db)?;
            store::units(conn, &units, seq).await.map_err(db)?;
            store::lineage(conn, &lineage).await.map_err(db)?;
            store::retire(conn, &retired, seq).await.map_err(db)?;
        }
        Role::InternalStore => store::registrations_internal(conn, &regs, sender, seq).await.map_err(db)?,
    }
    Ok(())
}

/// A unit code must parse (GB/T 37346 hard format) before it is written.
fn check_bdcdyh(code: &str) -> Result<unit_code::UnitCode, String> {
    code.parse().map_err(|e| format!("unit code {code:?}: {e}"))
}

async fn record_applied(conn: &mut AnyConnection, v: &Verified, rows: u64) -> Result<(), DbError> {
    let m = &v.manifest;
    sqlx::query(
        "INSERT INTO sync_applied (sender, kind, sequence, manifest_sm3, key_id, rows_applied, applied_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(m.sender.clone())
    .bind(m.kind.as_str())
    .bind(seq_i64(m.sequence))
    .bind(v.manifest_sm3.clone())
    .bind(m.key_id.clone())
    .bind(seq_i64(rows))
    .bind(store::time_text(&Utc::now()))
    .execute(&mut *conn)
    .await
    .map_err(sql("recording the applied package"))?;
    sqlx::query("DELETE FROM sync_held WHERE sender = $1 AND kind = $2 AND sequence = $3")
        .bind(m.sender.clone())
        .bind(m.kind.as_str())
        .bind(seq_i64(m.sequence))
        .execute(&mut *conn)
        .await
        .map_err(sql("forgetting held copies"))?;
    if let Some(rotation) = &v.rotation {
        if rotation.new_key_id == v.signer.id() {
            sqlx::query(
                "INSERT INTO sync_keys (key_id, public_pem, introduced_by, introduced_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key_id) DO NOTHING",
            )
            .bind(v.signer.id().to_owned())
            .bind(v.signer.to_pem())
            .bind(rotation.old_key_id.clone())
            .bind(seq_i64(m.sequence))
            .execute(&mut *conn)
            .await
            .map_err(sql("recording a rotated-in key"))?;
            sqlx::query(
                "INSERT INTO sync_keys (key_id, public_pem, retired_at_sequence) VALUES ($1, '', $2)
                 ON CONFLICT (key_id) DO UPDATE SET retired_at_sequence = excluded.retired_at_sequence
                 WHERE sync_keys.retired_at_sequence IS NULL",
            )
            .bind(rotation.old_key_id.clone())
            .bind(seq_i64(m.sequence))
            .execute(&mut *conn)
            .await
            .map_err(sql("retiring a rotated-out key"))?;
        }
    }
    Ok(())
}
