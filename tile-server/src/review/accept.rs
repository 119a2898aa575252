//! Accepting a submission (入库), in ONE transaction: unit codes from the `unit-code`
//! allocator for new parcels, buildings and households; lineage of splits, merges and
//! extinctions; replaced and changed rows to history and the new versions current;
//! building tables with their apportioned areas; one audit row per object (the change
//! feed); a notification naming the touched area (`cadastre_review_accepted`, for tile
//! caches). Anything failing rolls everything back: a kill -9 mid-way leaves the store as
//! it was and the accept can be repeated.
//!
//! Two reviewers accepting overlapping submissions: accepts of one county take turns
//! (an advisory lock), and each compares the fingerprint of the store rows its diff read
//! with the rows now current (locked `FOR UPDATE`); the second finds them changed, gets
//! 409, and its submission goes back to `checking` for a fresh diff.
//!
//! The steps: [`super::codes`] (codes and lineage), this file (versions closed and
//! written, audit rows, the decision), [`super::tables`] (building tables),
//! [`super::rehouse`] (households of retired buildings).

use std::collections::{BTreeMap, BTreeSet};

use cadastre_core::diff::Diff;
use cadastre_core::model::{Building, Parcel};
use cadastre_core::package::{Limits, ReplaceKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::background::Background;
use super::codes::{issue_buildings, issue_parcels, record_lineage};
use super::phases::Phases;
use super::rehouse;
use super::tables::write_tables;
use super::unpack::unpack;
use crate::auth::Principal;
use crate::db::audit::{self, AuditEntry};
use crate::db::boundary_points;
use crate::db::review_store::{self, NewBuildings, NewParcels};
use crate::db::submissions::{self, set_actor};
use crate::error::{AppError, Result};
use crate::import::ewkb::push_multipolygon;

/// A reviewer's decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `accept` or `return`.
    pub decision: DecisionKind,
    /// Note (to the surveyor when returning).
    #[serde(default)]
    pub note: String,
    /// Written reason to accept despite a failed check or overlaps with the store.
    #[serde(default)]
    pub override_reason: Option<String>,
    /// On return: the findings the surveyor must fix (any JSON, usually report findings).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub findings: Option<Value>,
}

/// Accept or return.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Accept into the cadastral database.
    Accept,
    /// Return to the surveyor.
    Return,
}

/// What an acceptance did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    /// Submission.
    pub submission_id: i64,
    /// Version accepted.
    pub version: i32,
    /// Always `accepted`.
    pub status: String,
    /// Temporary id (or provisional household number `ZRZH#HH`) → code issued.
    pub codes: BTreeMap<String, String>,
    /// Store codes retired (split, merged, extinguished, removed).
    pub retired: Vec<String>,
    /// Parcels and buildings whose new version replaced the current one.
    pub updated: Vec<String>,
}

/// Audit rows of an acceptance: `(action, object_type, key, after)`.
pub(super) type AuditRows = Vec<(String, &'static str, String, Value)>;

/// The refusals that need no work: wrong person, wrong state, failed check without reason.
fn precheck(v: &submissions::LockedVersion, who: &Principal, d: &Decision, diff: &Diff) -> Result<()> {
    v.check_decidable(who)?;
    let has_reason = d.override_reason.as_deref().is_some_and(|r| !r.trim().is_empty());
    let mut needs_reason = Vec::new();
    if v.verdict.as_deref() != Some("pass") {
        needs_reason.push("质检未通过 the check failed".to_owned());
    }
    if !diff.overlaps.is_empty() {
        needs_reason.push(format!(
            "与库中宗地重叠 {} overlap(s) with store parcels the package does not replace",
            diff.overlaps.len()
        ));
    }
    if !needs_reason.is_empty() && !has_reason {
        return Err(AppError::Conflict(format!(
            "{}: accepting needs a written override_reason",
            needs_reason.join("; ")
        )));
    }
    if !diff.problems.is_empty() {
        return Err(AppError::Conflict(format!("成果包无法入库 cannot be accepted: {}", diff.problems.join("; "))));
    }
    Ok(())
}

/// [`accept`] on the background thread when there is one (see [`super::background`]),
/// else on the caller's own `db`.
pub async fn accept_in_background(
    background: Option<&Background>,
    db: &PgPool,
    who: &Principal,
    id: i64,
    d: &Decision,
    limits: Limits,
) -> Result<Accepted> {
    let Some(background) = background else { return accept(db, who, id, d, limits).await };
    let (who, d) = (who.clone(), d.clone());
    background.run(move |db| async move { accept(&db, &who, id, &d, limits).await }).await
}

/// Accepts the latest version of submission `id`.
pub async fn accept(pool: &PgPool, who: &Principal, id: i64, d: &Decision, limits: Limits) -> Result<Accepted> {
    let mut phases = Phases::start(format!("accept {id}"));
    let srid = crate::db::store_srid(pool).await?;
    let mut tx = pool.begin().await.map_err(AppError::db("starting accept"))?;
    set_actor(&mut tx, &who.actor()).await?;
    let v = submissions::lock_latest(&mut tx, who, id).await?;
    let diff: Diff = match &v.diff {
        Some(d) => serde_json::from_value(d.clone()).map_err(|e| AppError::internal("stored diff", e))?,
        None => Diff::default(),
    };
    precheck(&v, who, d, &diff)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('review-accept'), hashtext($1))")
        .bind(&v.county)
        .execute(&mut *tx)
        .await
        .map_err(AppError::db("serialising accepts"))?;
    phases.lap("lock version");
    let (bytes, _, _) = submissions::package(&mut tx, &v.key()).await?;
    let (u, mut phases) = tokio::task::spawn_blocking(move || {
        let u = unpack(&bytes, &limits, srid, &mut phases);
        (u, phases)
    })
    .await
    .map_err(|e| AppError::internal("unpack task", e))?;
    let u = u.map_err(AppError::Unprocessable)?;
    let fingerprint = review_store::fingerprint(&mut tx, &u.area(), true).await?;
    phases.lap("lock store rows");
    if v.diff_fingerprint.as_deref() != Some(fingerprint.as_str()) {
        drop(tx);
        let mut tx = pool.begin().await.map_err(AppError::db("starting re-check"))?;
        submissions::recheck(&mut tx, &v.key(), &who.actor()).await?;
        tx.commit().await.map_err(AppError::db("committing re-check"))?;
        return Err(AppError::Conflict(
            "库已变更 the store changed since the diff was computed: a fresh check and diff are under way".into(),
        ));
    }
    let mut out = Accepted { submission_id: id, version: v.version, status: "accepted".into(), ..Accepted::default() };
    let actor = who.actor();
    let mut audit_rows: AuditRows = Vec::new();
    let county = v.county.clone();

    // Households of the buildings this retires, registered while their parents are current.
    let removed_buildings: Vec<String> = diff.buildings.removed.iter().map(|e| e.id.clone()).collect();
    let old_households = rehouse::prepare(&mut tx, &county, &removed_buildings).await?;
    phases.lap("households of retired buildings");
    let parcel_codes = issue_parcels(&mut tx, &u, &county, &mut out.codes).await?;
    let building_codes = issue_buildings(&mut tx, &u, &county, &parcel_codes, &mut out.codes).await?;
    phases.lap("codes");
    let successors: BTreeMap<String, String> = rehouse::successors(&diff)
        .into_iter()
        .map(|(old, id)| {
            let code = building_codes.get(&id).cloned().unwrap_or(id);
            (old, code)
        })
        .collect();
    record_lineage(&mut tx, &u, &diff, &actor, &parcel_codes, &building_codes, &successors).await?;
    phases.lap("lineage");

    // Parcels: close replaced and changed versions, insert changed and new ones.
    let changed_parcels: BTreeSet<&str> = diff.parcels.changed.iter().map(|e| e.id.as_str()).collect();
    let replaced: Vec<String> = u.manifest.replaced_codes().map(str::to_owned).collect();
    let mut to_close: Vec<String> = replaced.clone();
    to_close.extend(changed_parcels.iter().map(|s| (*s).to_owned()));
    // Changed in attributes only (the diff compared the geometry against the store, and the
    // fingerprint above says the store is still as it was): such a parcel keeps its points.
    let same_shape: Vec<String> =
        diff.parcels.changed.iter().filter(|e| !e.geometry_changed).map(|e| e.id.clone()).collect();
    let shaped_at = boundary_points::geometry_times(&mut tx, &county, &same_shape).await?;
    review_store::close(&mut tx, "parcels", "zddm", &county, &to_close).await?;
    phases.lap("close parcels");
    let mut parcels = NewParcels::default();
    let mut point_parcels = Vec::new();
    for p in &u.submission.parcels {
        let id = p.zddm.trim();
        let code = match parcel_codes.get(id) {
            Some(c) => c.clone(),
            None if changed_parcels.contains(id) => id.to_owned(),
            None if diff.parcels.added.iter().any(|e| e.id == id) => id.to_owned(),
            None => continue, // unchanged
        };
        let action = if changed_parcels.contains(id) { "parcel.update" } else { "parcel.create" };
        audit_rows.push((action.into(), "parcel", code.clone(), json!({"submission": id_of(&v), "from": id})));
        let kept_shape = shaped_at.get(&code).copied();
        if kept_shape.is_none() {
            point_parcels.push((code.clone(), p.geometry.clone()));
        }
        push_parcel(&mut parcels, p, code, srid);
        parcels.geom_from.push(kept_shape);
    }
    review_store::insert_parcels(&mut tx, &county, &parcels).await?;
    phases.lap("insert parcels");
    // 界址点 follow the parcels: the closed ones lose theirs, the reshaped and new ones get
    // new ones, and those that kept their shape keep theirs.
    let points_closed: Vec<String> = to_close.into_iter().filter(|c| !shaped_at.contains_key(c)).collect();
    boundary_points::replace(&mut tx, &county, &points_closed, &point_parcels).await?;
    phases.lap("boundary points");
    for r in &u.manifest.replaces {
        let action = match r.kind {
            ReplaceKind::Split => "parcel.split",
            ReplaceKind::Merge => "parcel.merge",
            ReplaceKind::Extinguish => "parcel.extinguish",
        };
        let new: Vec<&String> = r.new.iter().filter_map(|n| parcel_codes.get(n.trim())).collect();
        for old in &r.old {
            audit_rows.push((action.into(), "parcel", old.clone(), json!({"submission": id_of(&v), "into": new})));
        }
    }

    // Buildings: removed ones retired, changed and new ones written.
    let changed_buildings: BTreeSet<&str> = diff.buildings.changed.iter().map(|e| e.id.as_str()).collect();
    let mut to_close: Vec<String> = removed_buildings.clone();
    to_close.extend(changed_buildings.iter().map(|s| (*s).to_owned()));
    review_store::close(&mut tx, "buildings", "zrzh", &county, &to_close).await?;
    for b in &removed_buildings {
        let after = json!({"submission": id_of(&v), "into": successors.get(b)});
        audit_rows.push(("building.retire".into(), "building", b.clone(), after));
    }
    let mut buildings = NewBuildings::default();
    for b in &u.submission.buildings {
        let id = b.zrzh.trim();
        let code = match building_codes.get(id) {
            Some(c) => c.clone(),
            None if changed_buildings.contains(id) => id.to_owned(),
            None if diff.buildings.added.iter().any(|e| e.id == id) => id.to_owned(),
            None => continue,
        };
        let action = if changed_buildings.contains(id) { "building.update" } else { "building.create" };
        audit_rows.push((action.into(), "building", code.clone(), json!({"submission": id_of(&v), "from": id})));
        push_building(&mut buildings, b, code, srid);
    }
    review_store::insert_buildings(&mut tx, &county, &buildings).await?;
    phases.lap("buildings");
    out.updated = changed_parcels.iter().chain(changed_buildings.iter()).map(|s| (*s).to_owned()).collect();
    out.retired.extend(replaced);
    out.retired.extend(removed_buildings.iter().cloned());

    let tabled =
        write_tables(&mut tx, &u, &diff, who, &county, &building_codes, &successors, &mut out, &mut audit_rows).await?;
    let plan = rehouse::Plan {
        county: &county,
        actor: &actor,
        retired: &removed_buildings,
        households: &old_households,
        successors: &successors,
        tabled: &tabled,
    };
    phases.lap("tables");
    rehouse::finish(&mut tx, &plan, &mut out, &mut audit_rows).await?;
    phases.lap("rehouse");
    review_store::audit_many(&mut tx, &county, &actor, who.role.as_str(), &audit_rows).await?;
    phases.lap("audit rows");

    // The decision itself.
    sqlx::query(
        "UPDATE submission_versions SET status = 'accepted', decided_by = $4, decided_at = now(), decision_note = $5,
             override_reason = $6, codes_issued = $7
         WHERE county = $1::bpchar AND submission_id = $2 AND version = $3",
    )
    .bind(&county)
    .bind(id)
    .bind(v.version)
    .bind(who.user_id())
    .bind(&d.note)
    .bind(d.override_reason.as_deref().map(str::trim).filter(|s| !s.is_empty()))
    .bind(serde_json::to_value(&out.codes).unwrap_or(Value::Null))
    .execute(&mut *tx)
    .await
    .map_err(AppError::db("recording the acceptance"))?;
    let key = id.to_string();
    let entry = AuditEntry {
        county: &county,
        action: "submission.accept",
        object_type: "submission",
        object_key: &key,
        before: Some(json!({"version": v.version, "status": v.status})),
        after: Some(serde_json::to_value(&out).unwrap_or(Value::Null)),
    };
    audit::record(&mut tx, who, entry).await?;
    let bbox = u.area().bbox;
    sqlx::query("SELECT pg_notify('cadastre_review_accepted', $1)")
        .bind(json!({"county": county, "submission_id": id, "bbox": bbox, "srid": srid}).to_string())
        .execute(&mut *tx)
        .await
        .map_err(AppError::db("announcing the acceptance"))?;
    phases.lap("decision");
    tx.commit().await.map_err(AppError::db("committing the acceptance"))?;
    phases.lap("commit");
    phases.log();
    Ok(out)
}

fn id_of(v: &submissions::LockedVersion) -> Value {
    json!({"id": v.submission_id, "version": v.version})
}

/// Hex EWKB, as PostGIS reads it from text.
fn ewkb(g: &geo_types::MultiPolygon<f64>, srid: i32) -> String {
    let mut out = Vec::new();
    push_multipolygon(&mut out, g, u32::try_from(srid).unwrap_or(0));
    String::from_utf8(out).unwrap_or_default()
}

fn push_parcel(out: &mut NewParcels, p: &Parcel, code: String, srid: i32) {
    let a = &p.attributes;
    out.zddm.push(code);
    out.zl.push(a.zl.clone().unwrap_or_default());
    out.zdmj.push(a.zdmj);
    out.yt.push(a.yt.clone());
    out.qllx.push(a.qllx.clone());
    out.qlxz.push(a.qlxz.clone());
    out.geom.push(ewkb(&p.geometry, srid));
}

fn push_building(out: &mut NewBuildings, b: &Building, code: String, srid: i32) {
    let a = &b.attributes;
    let int = |v: Option<i64>| v.and_then(|n| i32::try_from(n).ok());
    out.zrzh.push(code);
    out.jzwmc.push(a.jzwmc.clone().unwrap_or_default());
    out.zl.push(a.extra.get("ZL").cloned().unwrap_or_default());
    out.jgrq.push(a.jgrq.clone());
    out.dscs.push(int(a.dscs));
    out.dxcs.push(int(a.dxcs));
    out.fwjg.push(a.fwjg.clone());
    out.ghyt.push(a.ghyt.clone());
    out.ycjzmj.push(a.ycjzmj);
    out.scjzmj.push(a.scjzmj);
    out.geom.push(ewkb(&b.footprint, srid));
}
