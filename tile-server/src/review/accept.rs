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

use std::collections::{BTreeMap, BTreeSet};

use cadastre_core::building::{write_csv, BuildingTable, Editor};
use cadastre_core::diff::Diff;
use cadastre_core::model::{Building, Parcel};
use cadastre_core::package::{is_temporary_id, Limits, ReplaceKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use unit_code::alloc::{AllocError, AnyCode, CodeStatus, PgAllocator, Scope};
use unit_code::lineage::{EventInput, LineageError};
use unit_code::{BuildingCode, ParcelCode};
use utoipa::ToSchema;

use super::rehouse;
use super::unpack::{unpack, Unpacked};
use crate::auth::Principal;
use crate::db::audit::{self, AuditEntry};
use crate::db::building_tables::write_table;
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

fn alloc_err(e: AllocError) -> AppError {
    match e {
        // The driver's error is shared by one group commit's requests; a copy of its text when
        // another request still holds it.
        AllocError::Database { source, context } => AppError::Db(
            std::sync::Arc::try_unwrap(source).unwrap_or_else(|shared| sqlx::Error::Protocol(shared.to_string())),
            context,
        ),
        other => AppError::Conflict(format!("单元代码 unit code: {other}")),
    }
}

pub(super) fn lineage_err(e: LineageError) -> AppError {
    match e {
        LineageError::Alloc(a) => alloc_err(a),
        other => AppError::Conflict(format!("谱系 lineage: {other}")),
    }
}

pub(super) fn parse<T: std::str::FromStr>(s: &str, what: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.trim().parse().map_err(|e| AppError::Unprocessable(format!("{what} {s:?}: {e}")))
}

/// Makes sure a store code (and its parents) is in the allocator's registry: data
/// imported before the registry existed is registered on first touch.
pub(super) async fn ensure_registered(conn: &mut PgConnection, code: AnyCode) -> Result<()> {
    let mut chain = vec![code];
    let mut up = code.parent();
    while let Some(p) = up {
        chain.push(p);
        up = p.parent();
    }
    for c in chain.into_iter().rev() {
        match PgAllocator::record_in(conn, c).await.map_err(alloc_err)? {
            Some(r) if r.status == CodeStatus::Current => {}
            Some(_) => return Err(AppError::Conflict(format!("{c} is retired (historical)"))),
            None => PgAllocator::register_in(conn, c).await.map_err(alloc_err)?,
        }
    }
    Ok(())
}

/// Issues `n` codes of `scope`, after raising its counter past every code the store used.
pub(super) async fn issue(
    conn: &mut PgConnection,
    scope: Scope,
    n: usize,
    table: &str,
    key: &str,
    county: &str,
) -> Result<Vec<AnyCode>> {
    let prefix = match scope {
        Scope::Buildings { parcel } => format!("{parcel}F"),
        other => other.key(),
    };
    let used = review_store::max_number(conn, table, key, county, &prefix).await?;
    if used > 0 {
        PgAllocator::raise_counter_in(conn, scope, used).await.map_err(alloc_err)?;
    }
    let n = u32::try_from(n).map_err(|_| AppError::Unprocessable("too many new codes".into()))?;
    PgAllocator::allocate_in(conn, scope, n).await.map_err(alloc_err)?.codes().map_err(alloc_err)
}

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

/// Accepts the latest version of submission `id`.
pub async fn accept(pool: &PgPool, who: &Principal, id: i64, d: &Decision, limits: Limits) -> Result<Accepted> {
    let srid = crate::db::store_srid(pool).await?;
    let mut tx = pool.begin().await.map_err(AppError::db("starting accept"))?;
    set_actor(&mut tx, &who.actor()).await?;
    let v = submissions::lock_latest(&mut tx, who, id).await?;
    let diff: Diff = match &v.diff {
        Some(d) => serde_json::from_value(d.clone()).map_err(|e| AppError::Internal(format!("stored diff: {e}")))?,
        None => Diff::default(),
    };
    precheck(&v, who, d, &diff)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('review-accept'), hashtext($1))")
        .bind(&v.county)
        .execute(&mut *tx)
        .await
        .map_err(AppError::db("serialising accepts"))?;
    let (bytes, _, _) = submissions::package(&mut tx, &v.key()).await?;
    let u = tokio::task::spawn_blocking(move || unpack(&bytes, &limits, srid))
        .await
        .map_err(|e| AppError::Internal(format!("unpack task: {e}")))?
        .map_err(AppError::Unprocessable)?;
    let rows = review_store::read(&mut tx, &u.area(), true).await?;
    if v.diff_fingerprint.as_deref() != Some(rows.fingerprint.as_str()) {
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
    let parcel_codes = issue_parcels(&mut tx, &u, &county, &mut out.codes).await?;
    let building_codes = issue_buildings(&mut tx, &u, &county, &parcel_codes, &mut out.codes).await?;
    let successors: BTreeMap<String, String> = rehouse::successors(&diff)
        .into_iter()
        .map(|(old, id)| {
            let code = building_codes.get(&id).cloned().unwrap_or(id);
            (old, code)
        })
        .collect();
    record_lineage(&mut tx, &u, &diff, &actor, &parcel_codes, &building_codes, &successors).await?;

    // Parcels: close replaced and changed versions, insert changed and new ones.
    let changed_parcels: BTreeSet<&str> = diff.parcels.changed.iter().map(|e| e.id.as_str()).collect();
    let replaced: Vec<String> = u.manifest.replaced_codes().map(str::to_owned).collect();
    let mut to_close: Vec<String> = replaced.clone();
    to_close.extend(changed_parcels.iter().map(|s| (*s).to_owned()));
    review_store::close(&mut tx, "parcels", "zddm", &county, &to_close).await?;
    let mut parcels = NewParcels::default();
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
        push_parcel(&mut parcels, p, code, srid);
    }
    review_store::insert_parcels(&mut tx, &county, &parcels).await?;
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
    rehouse::finish(&mut tx, &plan, &mut out, &mut audit_rows).await?;
    review_store::audit_many(&mut tx, &county, &actor, who.role.as_str(), &audit_rows).await?;

    // The decision itself.
    sqlx::query(
        "UPDATE submission_versions SET status = 'accepted', decided_by = $4, decided_at = now(), decision_note = $5,
             override_reason = $6, codes_issued = $7
         WHERE county = $1 AND submission_id = $2 AND version = $3",
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
    tx.commit().await.map_err(AppError::db("committing the acceptance"))?;
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

/// Codes for new parcels, issued per (sub-district, feature) in the package's order.
async fn issue_parcels(
    conn: &mut PgConnection,
    u: &Unpacked,
    county: &str,
    issued: &mut BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut groups: Vec<(Scope, Vec<String>)> = Vec::new();
    for p in u.submission.parcels.iter().filter(|p| is_temporary_id(&p.zddm)) {
        let id = p.zddm.trim().to_owned();
        let sub = p.attributes.djzqdm.as_deref().unwrap_or_default();
        let feature = p.attributes.zdtzm.as_deref().unwrap_or_default();
        if !sub.starts_with(county) {
            return Err(AppError::Unprocessable(format!(
                "新宗地 {id}: DJZQDM {sub:?} is not a sub-district of county {county}"
            )));
        }
        let scope = Scope::parcels(parse(sub, "DJZQDM")?, parse(feature, "ZDTZM")?);
        match groups.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, ids)) => ids.push(id),
            None => groups.push((scope, vec![id])),
        }
    }
    let mut map = BTreeMap::new();
    for (scope, ids) in groups {
        let codes = issue(conn, scope, ids.len(), "parcels", "zddm", county).await?;
        for (id, code) in ids.into_iter().zip(codes) {
            issued.insert(id.clone(), code.to_string());
            map.insert(id, code.to_string());
        }
    }
    Ok(map)
}

/// Codes for new buildings, issued per parcel (its final code).
async fn issue_buildings(
    conn: &mut PgConnection,
    u: &Unpacked,
    county: &str,
    parcels: &BTreeMap<String, String>,
    issued: &mut BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in u.submission.buildings.iter().filter(|b| is_temporary_id(&b.zrzh)) {
        let parcel = parcels.get(b.zddm.trim()).cloned().unwrap_or_else(|| b.zddm.trim().to_owned());
        groups.entry(parcel).or_default().push(b.zrzh.trim().to_owned());
    }
    let mut map = BTreeMap::new();
    for (parcel, ids) in groups {
        let parcel: ParcelCode = parse(&parcel, "parcel of a new building")?;
        ensure_registered(conn, parcel.into()).await?;
        let codes = issue(conn, Scope::buildings(parcel), ids.len(), "buildings", "zrzh", county).await?;
        for (id, code) in ids.into_iter().zip(codes) {
            issued.insert(id.clone(), code.to_string());
            map.insert(id, code.to_string());
        }
    }
    Ok(map)
}

/// Lineage events: removed buildings without a successor extinguished, then each
/// replacement (split, merge, extinction) of parcels, then the creation of new parcels
/// outside any replacement and of new buildings that replace none, and a change old → new
/// for each rehoused building. Recording an event retires the codes it ends.
async fn record_lineage(
    conn: &mut PgConnection,
    u: &Unpacked,
    diff: &Diff,
    actor: &str,
    parcels: &BTreeMap<String, String>,
    buildings: &BTreeMap<String, String>,
    successors: &BTreeMap<String, String>,
) -> Result<()> {
    let removed: Vec<AnyCode> =
        diff.buildings.removed.iter().map(|e| parse::<AnyCode>(&e.id, "building")).collect::<Result<_>>()?;
    for c in &removed {
        ensure_registered(conn, *c).await?;
    }
    let ended: Vec<AnyCode> = removed.iter().filter(|c| !successors.contains_key(c.as_str())).copied().collect();
    if !ended.is_empty() {
        PgAllocator::record_event_in(conn, EventInput::extinguish(actor, ended)).await.map_err(lineage_err)?;
    }
    let mut in_replacement = BTreeSet::new();
    for r in &u.manifest.replaces {
        let old: Vec<AnyCode> = r.old.iter().map(|c| parse::<AnyCode>(c, "replaced parcel")).collect::<Result<_>>()?;
        for c in &old {
            ensure_registered(conn, *c).await?;
        }
        let new: Vec<AnyCode> = r
            .new
            .iter()
            .map(|n| {
                in_replacement.insert(n.trim().to_owned());
                let code = parcels.get(n.trim()).map_or(n.trim(), String::as_str);
                parse::<AnyCode>(code, "new parcel")
            })
            .collect::<Result<_>>()?;
        let event = match r.kind {
            ReplaceKind::Split => EventInput::split(actor, old[0], new),
            ReplaceKind::Merge => EventInput::merge(actor, old, new[0]),
            ReplaceKind::Extinguish => EventInput::extinguish(actor, old),
        };
        PgAllocator::record_event_in(conn, event).await.map_err(lineage_err)?;
    }
    let successor_codes: BTreeSet<&str> = successors.values().map(String::as_str).collect();
    let created: Vec<AnyCode> = parcels
        .iter()
        .filter(|(id, _)| !in_replacement.contains(*id))
        .map(|(_, c)| parse::<AnyCode>(c, "new parcel"))
        .chain(
            buildings
                .values()
                .filter(|c| !successor_codes.contains(c.as_str()))
                .map(|c| parse::<AnyCode>(c, "new building")),
        )
        .collect::<Result<_>>()?;
    if !created.is_empty() {
        PgAllocator::record_event_in(conn, EventInput::create(actor, created)).await.map_err(lineage_err)?;
    }
    for (old, new) in successors {
        let new: AnyCode = parse(new, "new building")?;
        ensure_registered(conn, new).await?;
        let event = EventInput::change(actor, parse(old, "building")?, new);
        PgAllocator::record_event_in(conn, event).await.map_err(lineage_err)?;
    }
    Ok(())
}

/// Building tables: a new building's table takes the building's issued code, new
/// households get codes, the table is written with its apportioned areas (versions only
/// where something changed), households it no longer lists are retired. Returns the codes
/// of the buildings written.
#[allow(clippy::too_many_arguments)]
async fn write_tables(
    conn: &mut PgConnection,
    u: &Unpacked,
    diff: &Diff,
    who: &Principal,
    county: &str,
    buildings: &BTreeMap<String, String>,
    successors: &BTreeMap<String, String>,
    out: &mut Accepted,
    audit_rows: &mut AuditRows,
) -> Result<BTreeSet<String>> {
    // A successor's households are created, or continue old ones: rehouse::finish says which.
    let successor_codes: BTreeSet<&str> = successors.values().map(String::as_str).collect();
    let actor = who.actor();
    let mut written = BTreeSet::new();
    for t in &u.tables {
        let package_id = t.table.zrzh.trim().to_owned();
        let zrzh = buildings.get(&package_id).cloned().unwrap_or_else(|| package_id.clone());
        let building: BuildingCode = parse(&zrzh, "ZRZH of a building table")?;
        written.insert(zrzh.clone());
        let new: Vec<&str> = t.table.current().filter(|h| h.unit_code.is_none()).map(|h| h.hh.as_str()).collect();
        let mut renamed: BTreeMap<String, (String, String)> = BTreeMap::new();
        if !new.is_empty() {
            ensure_registered(conn, building.into()).await?;
            let codes = issue(conn, Scope::households(building), new.len(), "households", "bdcdyh", county).await?;
            for (hh, code) in new.iter().zip(codes) {
                let code = code.to_string();
                let new_hh = code.get(24..).unwrap_or_default().to_owned();
                out.codes.insert(format!("{package_id}#{hh}"), code.clone());
                renamed.insert((*hh).to_owned(), (new_hh, code));
            }
            if !successor_codes.contains(zrzh.as_str()) {
                let codes: Vec<AnyCode> =
                    renamed.values().map(|(_, c)| parse::<AnyCode>(c, "household")).collect::<Result<_>>()?;
                PgAllocator::record_event_in(conn, EventInput::create(&actor, codes)).await.map_err(lineage_err)?;
            }
        }
        let file = rewrite_table(t, &zrzh, &renamed)?;
        let read = crate::import::tables::read(&file, &actor).map_err(|e| AppError::Unprocessable(e.to_string()))?;
        if let Some((line, hh, reason)) = read.skipped.first() {
            return Err(AppError::Unprocessable(format!("楼盘表 {zrzh} line {line} ({hh:?}): {reason}")));
        }
        write_table(conn, &actor, who.role.as_str(), &read.table).await?;
        // Households the table no longer lists end.
        let gone: Vec<String> = diff
            .tables
            .iter()
            .filter(|d| d.zrzh.trim() == package_id)
            .flat_map(|d| d.removed.iter().filter_map(|h| h.bdcdyh.clone()))
            .collect();
        let closed = review_store::close(conn, "households", "bdcdyh", county, &gone).await?;
        if !closed.is_empty() {
            let codes: Vec<AnyCode> = closed.iter().map(|c| parse::<AnyCode>(c, "household")).collect::<Result<_>>()?;
            for c in &codes {
                ensure_registered(conn, *c).await?;
            }
            PgAllocator::record_event_in(conn, EventInput::extinguish(&actor, codes)).await.map_err(lineage_err)?;
            for c in closed {
                audit_rows.push(("household.retire".into(), "household", c.clone(), json!({"building": zrzh})));
                out.retired.push(c);
            }
        }
    }
    Ok(written)
}

/// The table's CSV (and apportionment) with the building's code `zrzh` and the issued
/// household codes, in the unpacked folder.
fn rewrite_table(
    t: &super::unpack::PackageTable,
    zrzh: &str,
    renamed: &BTreeMap<String, (String, String)>,
) -> Result<crate::import::tables::TableFile> {
    if renamed.is_empty() && zrzh == t.table.zrzh {
        return Ok(t.file.clone());
    }
    let by = Editor::now("accept");
    let mut table = BuildingTable::new(zrzh);
    for h in t.table.current() {
        let mut h = h.clone();
        h.zrzh = zrzh.to_owned();
        if let Some((new_hh, code)) = renamed.get(&h.hh) {
            h.hh = new_hh.clone();
            h.unit_code = Some(code.clone());
        }
        table.insert(h, &by).map_err(|e| AppError::Unprocessable(e.to_string()))?;
    }
    let io = |e: std::io::Error| AppError::Internal(format!("rewriting a building table: {e}"));
    let csv = write_csv(&table).map_err(|e| AppError::Internal(e.to_string()))?;
    std::fs::write(&t.file.csv, csv).map_err(io)?;
    if let Some(path) = &t.file.apportion {
        let text = std::fs::read_to_string(path).map_err(io)?;
        let mut v: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|e| AppError::Unprocessable(format!("{}: {e}", path.display())))?;
        rename_ids(&mut v, renamed);
        if let Some(b) = v.get_mut("building") {
            *b = Value::String(zrzh.to_owned());
        }
        std::fs::write(path, v.to_string()).map_err(io)?;
    }
    Ok(t.file.clone())
}

/// Household numbers in an apportionment input, provisional → issued (every string equal
/// to a provisional number: unit ids and the references to them).
fn rename_ids(v: &mut Value, renamed: &BTreeMap<String, (String, String)>) {
    match v {
        Value::String(s) => {
            if let Some((new, _)) = renamed.get(s.as_str()) {
                *s = new.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename_ids(x, renamed)),
        Value::Object(m) => m.values_mut().for_each(|x| rename_ids(x, renamed)),
        _ => {}
    }
}
