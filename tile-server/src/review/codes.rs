//! Unit codes and lineage of an acceptance: codes issued by the `unit-code` allocator
//! (`PgAllocator::*_in`, in the accept's transaction) for new parcels per sub-district and
//! feature and new buildings per parcel, each scope's counter first raised past every code
//! the store has used there; store codes registered on first touch; lineage events for
//! retired buildings, splits, merges, extinctions and creations.

use std::collections::{BTreeMap, BTreeSet};

use cadastre_core::diff::Diff;
use cadastre_core::package::{is_temporary_id, ReplaceKind};
use sqlx::PgConnection;
use unit_code::alloc::{AllocError, AnyCode, CodeStatus, PgAllocator, Scope};
use unit_code::lineage::{EventInput, LineageError};
use unit_code::ParcelCode;

use super::unpack::Unpacked;
use crate::db::review_store;
use crate::error::{AppError, Result};

pub(super) fn alloc_err(e: AllocError) -> AppError {
    match e {
        // Kept whole as the source: its driver error is shared by one group commit's requests.
        e @ AllocError::Database { .. } => AppError::internal("allocating unit codes", e),
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

/// Codes for new parcels, issued per (sub-district, feature) in the package's order.
pub(super) async fn issue_parcels(
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
pub(super) async fn issue_buildings(
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
pub(super) async fn record_lineage(
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
