//! Floors of a plan are keyed by logical building (逻辑幢) and nominal floor: two
//! logical buildings of one natural building that share a floor number each have
//! their own plan of it. Plans written before the key (a project's saved plans, a
//! `floorplan.json` of an older package or folder, a journal's floor edits) name no
//! logical building; they are keyed here, on load, from the building table.

use std::collections::BTreeMap;

use cadastre_core::building::BuildingTable;
use cadastre_core::floorplan::{FloorPlan, FloorPlanFloor};

/// A floor of a plan: logical building and nominal floor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FloorKey {
    /// 逻辑幢号 LJZH.
    pub ljzh: String,
    /// 名义层 MYC.
    pub floor: i32,
}

impl FloorKey {
    /// The key of logical building `ljzh`'s floor `floor`.
    pub fn new(ljzh: &str, floor: i32) -> Self {
        Self { ljzh: ljzh.to_owned(), floor }
    }

    /// The key of a floor of a plan.
    pub fn of(f: &FloorPlanFloor) -> Self {
        Self::new(&f.ljzh, f.floor)
    }
}

/// The floors in order: nominal floor, then logical building.
pub fn sort_floors(plan: &mut FloorPlan) {
    plan.floors.sort_by(|a, b| (a.floor, &a.ljzh).cmp(&(b.floor, &b.ljzh)));
}

/// The logical building of a floor that names none: that of its first household
/// the table knows, else of the table's first household on that nominal floor,
/// else "1".
pub fn legacy_key(table: &BuildingTable, floor: i32, f: Option<&FloorPlanFloor>) -> String {
    let drawn = f.into_iter().flat_map(|f| &f.households).find_map(|h| table.get(&h.hh).map(|r| r.ljzh.clone()));
    drawn
        .or_else(|| table.current().find(|h| h.floor == floor).map(|h| h.ljzh.clone()))
        .unwrap_or_else(|| "1".to_owned())
}

/// Key every floor of `plan` that names no logical building from `table`: a floor
/// whose households are of one logical building becomes that building's floor; one
/// drawn across several is split, each logical building's households onto its own
/// floor, the shared spaces staying with the logical building that has most of the
/// floor's households. Returns how many floors were keyed.
pub fn key_floors(plan: &mut FloorPlan, table: &BuildingTable) -> usize {
    let mut keyed = 0;
    let mut out: Vec<FloorPlanFloor> = Vec::with_capacity(plan.floors.len());
    for f in std::mem::take(&mut plan.floors) {
        if !f.ljzh.is_empty() {
            out.push(f);
            continue;
        }
        keyed += 1;
        let fallback = legacy_key(table, f.floor, Some(&f));
        // Households by logical building (one the table does not know goes with the first found).
        let mut parts: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for h in &f.households {
            let ljzh = table.get(&h.hh).map_or_else(|| fallback.clone(), |r| r.ljzh.clone());
            parts.entry(ljzh).or_default().push(h.clone());
        }
        // Most households first; ties to the lower LJZH (BTreeMap order, stable sort).
        let mut parts: Vec<(String, Vec<_>)> = parts.into_iter().collect();
        parts.sort_by_key(|(_, hs)| std::cmp::Reverse(hs.len()));
        if parts.is_empty() {
            parts.push((fallback, Vec::new()));
        }
        let mut shared = Some(f.shared);
        for (ljzh, households) in parts {
            out.push(FloorPlanFloor { ljzh, floor: f.floor, households, shared: shared.take().unwrap_or_default() });
        }
    }
    plan.floors = out;
    sort_floors(plan);
    keyed
}

#[cfg(test)]
mod tests {
    use super::*;
    use cadastre_core::building::{Editor, FloorSpec, GridSpec};
    use cadastre_core::floorplan::{HouseholdPlan, Outline, SharedKind, SharedSpace, Walls};

    /// LJZ 1: floors 1-2, two rooms (0001-0004); LJZ 2: floor 1, one shop (0005).
    fn table() -> BuildingTable {
        let mut t = BuildingTable::new("Z");
        for (ljzh, floors, rooms) in [("1", 2, 2), ("2", 1, 1)] {
            let spec = GridSpec {
                ljzh: ljzh.into(),
                floors: (1..=floors).map(FloorSpec::simple).collect(),
                stair_units: 1,
                rooms_per_unit: rooms,
                usage: "住宅".into(),
                zone: "res".into(),
            };
            t.generate_grid(&spec, &Editor::now("s")).unwrap_or_else(|e| panic!("{e}"));
        }
        t
    }

    fn flat(hh: &str, x0: f64) -> HouseholdPlan {
        HouseholdPlan {
            hh: hh.into(),
            room: String::new(),
            stair_unit: "1".into(),
            outline: Outline::rect(x0, 0.0, x0 + 10.0, 8.0),
            balconies: vec![],
        }
    }

    #[test]
    fn an_old_floor_across_two_logical_buildings_is_split_and_the_keyed_ones_stay() {
        let stair = SharedSpace {
            id: "stair1".into(),
            kind: SharedKind::Stairwell,
            name: String::new(),
            outline: Outline::rect(30.0, 0.0, 33.0, 8.0),
            serves: Default::default(),
        };
        let old = |floor, households, shared| FloorPlanFloor { ljzh: String::new(), floor, households, shared };
        let mut plan = FloorPlan {
            zrzh: "Z".into(),
            walls: Walls::default(),
            placement: None,
            outer_wall_serves: None,
            floors: vec![
                old(1, vec![flat("0001", 0.0), flat("0002", 10.0), flat("0005", 20.0)], vec![stair]),
                FloorPlanFloor { ljzh: "1".into(), floor: 2, households: vec![flat("0003", 0.0)], shared: vec![] },
                old(-1, vec![], vec![]),
            ],
        };
        assert_eq!(key_floors(&mut plan, &table()), 2);
        let keys: Vec<(String, i32, usize, usize)> =
            plan.floors.iter().map(|f| (f.ljzh.clone(), f.floor, f.households.len(), f.shared.len())).collect();
        let want = [("1", -1, 0, 0), ("1", 1, 2, 1), ("2", 1, 1, 0), ("1", 2, 1, 0)];
        assert_eq!(keys, want.map(|(l, f, h, s)| (l.to_owned(), f, h, s)));
        assert_eq!(key_floors(&mut plan, &table()), 0, "keyed once");
        plan.check_against(&table()).unwrap_or_else(|e| panic!("{e}"));
    }
}
