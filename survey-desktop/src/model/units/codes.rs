//! Codes issued on acceptance, into the buildings' households. The server
//! answers an accepted submission with temporary id → code for new parcels and
//! buildings, and `<ZRZH as packed>#<HH>` → BDCDYH for households handed in
//! without one (`tile-server/src/review/tables.rs`). Here a table under a
//! temporary ZRZH moves to its issued code (table, households, floor plan,
//! apportionment set-up), and each such household gets its BDCDYH; its HH
//! becomes the code's last four digits, which differ when the store numbered
//! the building's households otherwise. Every household changed is recorded
//! in the table's history with who and when.

use std::collections::{BTreeMap, BTreeSet};

use cadastre_core::apportion::{ApportionInput, Serves};
use cadastre_core::building::{BuildingTable, Change, Editor as Who, HouseholdChange, ListDelta, TableDelta, Target};
use cadastre_core::floorplan::FloorPlan;
use cadastre_core::package::is_temporary_id;
use cadastre_core::unit_code::{BuildingCode, UnitCode};

use super::history::building_change;
use super::{ApportionSetup, BuildingUnits, Staleness, Units, UnitsEdit};
use crate::model::EditError;

/// What the codes changed in the buildings' households.
#[derive(Debug, Default, PartialEq)]
pub struct IssuedToUnits {
    /// The edits, in order.
    pub edits: Vec<UnitsEdit>,
    /// Building tables moved from a temporary ZRZH to the issued one.
    pub tables: usize,
    /// Households that got their BDCDYH.
    pub households: usize,
}

fn invalid(msg: String) -> EditError {
    EditError::Invalid(msg)
}

/// HH (as handed in) → (HH as issued, BDCDYH) for the households of one table.
fn household_codes(
    packed: &str,
    zrzh: &str,
    table: &BuildingTable,
    codes: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, (String, String)>, EditError> {
    let mut out = BTreeMap::new();
    for h in table.current().filter(|h| h.unit_code.is_none()) {
        let Some(code) = codes.get(&format!("{packed}#{}", h.hh)) else { continue };
        let unit = code.parse::<UnitCode>().ok();
        let new_hh = unit
            .as_ref()
            .filter(|u| u.building().is_some_and(|b| b.as_str() == zrzh))
            .and_then(UnitCode::hh)
            .map(|hh| hh.as_str().to_owned());
        let Some(new_hh) = new_hh else {
            return Err(invalid(format!(
                "入库代码 {code} 不是自然幢 {zrzh} 的户代码 / the code issued for {packed}#{} is not a household of {zrzh}",
                h.hh
            )));
        };
        out.insert(h.hh.clone(), (new_hh, code.clone()));
    }
    Ok(out)
}

fn rename(hh: &mut String, map: &BTreeMap<String, String>) {
    if let Some(n) = map.get(hh.as_str()) {
        hh.clone_from(n);
    }
}

fn rename_serves(s: &mut Serves, map: &BTreeMap<String, String>) {
    for u in s.units.iter_mut().flatten() {
        rename(u, map);
    }
}

/// The table under `zrzh` with the households renamed and coded, history kept
/// and one entry per household (and one for the building) appended.
fn recoded_table(
    t: &BuildingTable,
    zrzh: &str,
    issued: &BTreeMap<String, (String, String)>,
    by: &Who,
) -> Result<BuildingTable, EditError> {
    let map: BTreeMap<String, String> = issued.iter().map(|(k, (hh, _))| (k.clone(), hh.clone())).collect();
    let mut households = Vec::new();
    let mut log: Vec<Change> = t.history().entries().to_vec();
    let mut seen = BTreeSet::new();
    for h in t.households() {
        let mut after = h.clone();
        after.zrzh = zrzh.to_owned();
        if let Some((hh, code)) = issued.get(&h.hh) {
            after.hh.clone_from(hh);
            after.unit_code = Some(code.clone());
            log.push(Change {
                who: by.who.clone(),
                at: by.at,
                action: "code".into(),
                target: Target::Household(hh.clone()),
                before: Some(h.clone()),
                after: Some(after.clone()),
                note: format!("入库代码 code issued on acceptance: {}#{} → {code}", t.zrzh, h.hh),
            });
        }
        if !seen.insert(after.hh.clone()) {
            return Err(invalid(format!(
                "自然幢 {zrzh}: 入库户号 {} 与已有户重复 / the issued household number {} is used by another household",
                after.hh, after.hh
            )));
        }
        households.push(HouseholdChange { hh: after.hh.clone(), before: None, after: Some(after) });
    }
    if t.zrzh != zrzh {
        log.push(building_change(by, "code", format!("入库代码 code issued on acceptance: {} → {zrzh}", t.zrzh)));
    }
    let links = t
        .links()
        .iter()
        .cloned()
        .map(|mut l| {
            l.predicted.iter_mut().chain(l.measured.iter_mut()).for_each(|hh| rename(hh, &map));
            l
        })
        .collect();
    let mut out = BuildingTable::new(zrzh);
    let delta = TableDelta {
        households,
        links: ListDelta { at: 0, removed: Vec::new(), added: links },
        log: ListDelta { at: 0, removed: Vec::new(), added: log },
    };
    out.apply_delta(&delta).map_err(|e| invalid(format!("{zrzh}: {e}")))?;
    Ok(out)
}

fn recoded_plan(plan: &FloorPlan, zrzh: &str, map: &BTreeMap<String, String>) -> FloorPlan {
    let mut p = plan.clone();
    p.zrzh = zrzh.to_owned();
    for f in &mut p.floors {
        for h in &mut f.households {
            rename(&mut h.hh, map);
        }
        for s in &mut f.shared {
            rename_serves(&mut s.serves, map);
        }
    }
    if let Some(s) = &mut p.outer_wall_serves {
        rename_serves(s, map);
    }
    p
}

fn recoded_input(input: &ApportionInput, zrzh: &str, map: &BTreeMap<String, String>) -> ApportionInput {
    let mut i = input.clone();
    i.building = zrzh.to_owned();
    for u in &mut i.units {
        rename(&mut u.id, map);
    }
    for s in &mut i.shared {
        rename_serves(&mut s.serves, map);
        if let Some(shares) = s.shares.take() {
            s.shares = Some(shares.into_iter().map(|(k, v)| (map.get(&k).cloned().unwrap_or(k), v)).collect());
        }
    }
    i
}

fn recoded_setup(setup: &ApportionSetup, zrzh: &str, map: &BTreeMap<String, String>) -> ApportionSetup {
    let mut s = setup.clone();
    for sh in &mut s.shared {
        rename_serves(&mut sh.serves, map);
    }
    for shares in s.agreed.values_mut() {
        *shares = std::mem::take(shares).into_iter().map(|(k, v)| (map.get(&k).cloned().unwrap_or(k), v)).collect();
    }
    s.last_run = s.last_run.as_ref().map(|i| recoded_input(i, zrzh, map));
    s
}

/// One building's households with the codes applied; `None` when no code is theirs.
fn recoded(
    packed: &str,
    u: &BuildingUnits,
    codes: &BTreeMap<String, String>,
    by: &Who,
) -> Result<Option<(BuildingUnits, usize)>, EditError> {
    let zrzh = match codes.get(packed) {
        Some(c) if c.parse::<BuildingCode>().is_ok() => c.clone(),
        Some(c) => {
            return Err(invalid(format!("入库代码 {c} 不是自然幢号 / the code issued for {packed} is not a ZRZH")))
        }
        // No code for the building itself (a table handed in without its footprint):
        // its households' codes name the building.
        None if is_temporary_id(packed) => codes
            .iter()
            .filter(|(k, _)| k.strip_prefix(packed).is_some_and(|rest| rest.starts_with('#')))
            .find_map(|(_, c)| c.parse::<UnitCode>().ok()?.building())
            .map_or_else(|| packed.to_owned(), |b| b.as_str().to_owned()),
        None => packed.to_owned(),
    };
    let issued = household_codes(packed, &zrzh, &u.table, codes)?;
    if zrzh == packed && issued.is_empty() {
        return Ok(None);
    }
    let map: BTreeMap<String, String> = issued.iter().map(|(k, (hh, _))| (k.clone(), hh.clone())).collect();
    let was_current = u.staleness() == Staleness::Current;
    let mut out = BuildingUnits {
        table: recoded_table(&u.table, &zrzh, &issued, by)?,
        plan: recoded_plan(&u.plan, &zrzh, &map),
        setup: recoded_setup(&u.setup, &zrzh, &map),
    };
    // The same data under new names: a run that was current stays current
    // (renaming can reorder the households, which a field-wise rename would not).
    if was_current {
        out.setup.last_run = out.apportion_input().ok();
    }
    Ok(Some((out, issued.len())))
}

/// The edits that write `codes` into `units` (see the module doc).
pub fn issue_codes(units: &Units, codes: &BTreeMap<String, String>, by: &Who) -> Result<IssuedToUnits, EditError> {
    let mut out = IssuedToUnits::default();
    for (packed, u) in units {
        let Some((after, n)) = recoded(packed, u, codes, by)? else { continue };
        out.households += n;
        let zrzh = after.table.zrzh.clone();
        // A new code, or a plan whose own fields changed: the whole building in one
        // step (there is no smaller edit for the plan's own fields).
        if zrzh != *packed || after.plan.outer_wall_serves != u.plan.outer_wall_serves {
            if zrzh != *packed && units.contains_key(&zrzh) {
                return Err(invalid(format!("自然幢 {zrzh} 已有楼盘表 / a table for {zrzh} exists already")));
            }
            out.tables += usize::from(zrzh != *packed);
            out.edits.push(UnitsEdit::Remove { zrzh: packed.clone(), units: Box::new(u.clone()) });
            out.edits.push(UnitsEdit::Add { zrzh, units: Box::new(after) });
            continue;
        }
        // Same building: only what changed, so the journal stays small.
        let delta = u.table.diff(&after.table);
        out.edits.push(UnitsEdit::Table { zrzh: zrzh.clone(), delta: Box::new(delta) });
        for f in &after.plan.floors {
            let from = u.plan.floor_in(&f.ljzh, f.floor);
            if from != Some(f) {
                out.edits.push(UnitsEdit::Floor {
                    zrzh: zrzh.clone(),
                    ljzh: f.ljzh.clone(),
                    floor: f.floor,
                    from: from.cloned().map(Box::new),
                    to: Some(Box::new(f.clone())),
                });
            }
        }
        if after.setup != u.setup {
            out.edits.push(UnitsEdit::Setup {
                zrzh: zrzh.clone(),
                from: Box::new(u.setup.clone()),
                to: Box::new(after.setup.clone()),
            });
        }
    }
    Ok(out)
}
