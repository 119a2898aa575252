//! Links from a floor plan to the building table (楼盘表) and to the
//! apportionment (分摊树), and copying a floor to standard floors.

use super::model::{FloorPlan, FloorPlanError, HouseholdPlan};
use crate::apportion::{ApportionInput, Area, Serves, SharedInput};
use crate::building::{BuildingTable, Editor};
use std::collections::BTreeMap;

/// m² to exact hundredths, half away from zero.
pub fn round_area(m2: f64) -> Area {
    Area::from_hundredths((m2 * 100.0).round() as i64)
}

impl FloorPlan {
    /// 套内建筑面积 of every drawn household, rounded to 0.01 m², by HH.
    pub fn inner_areas(&self) -> BTreeMap<String, Area> {
        self.all_areas()
            .into_iter()
            .flat_map(|f| f.households.into_iter().map(|h| (h.hh, round_area(h.inner_area))))
            .collect()
    }

    /// The shared spaces drawn on the plan as apportionment inputs: each
    /// space as `F<floor>-<id>`, and per floor the outer half of the outer
    /// walls as `F<floor>-outer-wall` (外墙一半), serving
    /// [`FloorPlan::outer_wall_serves`] or the whole building. A logical
    /// building other than the first prefixes its floors' ids with `L<LJZH>-`
    /// ([`super::FloorPlanFloor::id_prefix`]).
    pub fn shared_inputs(&self) -> Vec<SharedInput> {
        let mut out = Vec::new();
        for floor in self.sorted_floors() {
            let f = super::areas::floor_areas(floor, self);
            let prefix = floor.id_prefix();
            for (s, a) in floor.shared.iter().zip(&f.shared) {
                let area = round_area(a.area);
                if area.hundredths() > 0 {
                    out.push(SharedInput {
                        id: format!("{prefix}{}", s.id),
                        name: Some(a.name.clone()),
                        area,
                        serves: s.serves.clone(),
                        shares: None,
                    });
                }
            }
            let wall = round_area(f.outer_wall_half);
            if wall.hundredths() > 0 {
                out.push(SharedInput {
                    id: format!("{prefix}outer-wall"),
                    name: Some("外墙一半".into()),
                    area: wall,
                    serves: self
                        .outer_wall_serves
                        .clone()
                        .unwrap_or(Serves { building: Some(true), ..Serves::default() }),
                    shares: None,
                });
            }
        }
        out
    }

    /// Current households of the table that are not drawn on the plan.
    pub fn missing_from(&self, table: &BuildingTable) -> Vec<String> {
        table.current().filter(|h| self.household(&h.hh).is_none()).map(|h| h.hh.clone()).collect()
    }

    /// Checks that every drawn household is a current household of `table`
    /// on the same nominal floor, and of the floor's logical building when it
    /// names one.
    pub fn check_against(&self, table: &BuildingTable) -> Result<(), FloorPlanError> {
        if table.zrzh != self.zrzh {
            return Err(FloorPlanError::Table(format!(
                "the plan is of building {}, the table of {}",
                self.zrzh, table.zrzh
            )));
        }
        for f in &self.floors {
            for h in &f.households {
                let Some(row) = table.current().find(|r| r.hh == h.hh) else {
                    return Err(FloorPlanError::Table(format!(
                        "household {} is not a current household of the building table",
                        h.hh
                    )));
                };
                if row.floor != f.floor {
                    return Err(FloorPlanError::Table(format!(
                        "household {} is drawn on floor {} but is on floor {} in the building table",
                        h.hh, f.floor, row.floor
                    )));
                }
                if !f.ljzh.is_empty() && row.ljzh != f.ljzh {
                    return Err(FloorPlanError::Table(format!(
                        "household {} is drawn in logical building {} but is in logical building {} in the building table",
                        h.hh, f.ljzh, row.ljzh
                    )));
                }
            }
        }
        Ok(())
    }

    /// Writes the plan's 套内建筑面积 into the table as measured values
    /// (SCTNJZMJ), each change in the table's history. Returns how many
    /// households changed.
    pub fn apply_to_table(&self, table: &mut BuildingTable, by: &Editor) -> Result<usize, FloorPlanError> {
        self.check_against(table)?;
        let mut changed = 0;
        for (hh, area) in self.inner_areas() {
            if table.get(&hh).and_then(|h| h.measured_inner) != Some(area) {
                table
                    .edit(&hh, by, |h| h.measured_inner = Some(area))
                    .map_err(|e| FloorPlanError::Table(e.to_string()))?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// The apportionment input of the building: households and zones from the
    /// table, 套内 areas and shared spaces from the plan. Every current
    /// household must be drawn.
    pub fn apportion_input(&self, table: &BuildingTable) -> Result<ApportionInput, FloorPlanError> {
        self.check_against(table)?;
        let missing = self.missing_from(table);
        if !missing.is_empty() {
            return Err(FloorPlanError::Table(format!(
                "{} households of the building table are not drawn on the plan: {}",
                missing.len(),
                missing.join(", ")
            )));
        }
        let mut t = table.clone();
        let by = Editor { who: "floor plan".into(), at: chrono::DateTime::UNIX_EPOCH };
        self.apply_to_table(&mut t, &by)?;
        t.to_apportion_input(true, self.shared_inputs()).map_err(|e| FloorPlanError::Table(e.to_string()))
    }

    /// Copies floor `from` to floor `to` (a standard floor, 标准层): outlines
    /// and balconies unchanged; `renumber` gives each copied household its HH
    /// and room number on the new floor. Shared spaces keep their ids; one
    /// serving floor `from` of a zone serves floor `to`; unit lists are mapped.
    pub fn copy_floor_with(
        &mut self,
        from: i32,
        to: i32,
        renumber: impl FnMut(&HouseholdPlan) -> Result<(String, String), FloorPlanError>,
    ) -> Result<(), FloorPlanError> {
        let ljzh = self.floor(from).ok_or(FloorPlanError::UnknownFloor(from))?.ljzh.clone();
        self.copy_one(&ljzh, from, to, renumber)
    }

    /// [`FloorPlan::copy_floor_with`] within logical building `ljzh`.
    fn copy_one(
        &mut self,
        ljzh: &str,
        from: i32,
        to: i32,
        mut renumber: impl FnMut(&HouseholdPlan) -> Result<(String, String), FloorPlanError>,
    ) -> Result<(), FloorPlanError> {
        if to == 0 {
            return Err(FloorPlanError::FloorZero);
        }
        if self.floor_in(ljzh, to).is_some() {
            return Err(FloorPlanError::TargetExists(to));
        }
        let src = self.floor_in(ljzh, from).ok_or(FloorPlanError::UnknownFloor(from))?.clone();
        let mut copy = src.clone();
        copy.floor = to;
        let mut map = BTreeMap::new();
        for h in &mut copy.households {
            let (hh, room) = renumber(h)?;
            map.insert(h.hh.clone(), hh.clone());
            h.hh = hh;
            h.room = room;
        }
        for s in &mut copy.shared {
            if s.serves.zone.is_some() && s.serves.floor == Some(from) {
                s.serves.floor = Some(to);
            }
            if let Some(units) = &mut s.serves.units {
                for u in units.iter_mut() {
                    if let Some(new) = map.get(u) {
                        u.clone_from(new);
                    }
                }
            }
        }
        self.floors.push(copy);
        self.sort_floors();
        // A renumbering that reuses an HH is caught like any other bad plan.
        if let Err(e) = self.validate() {
            self.floors.retain(|f| f.floor != to || f.ljzh != ljzh);
            return Err(e);
        }
        Ok(())
    }

    /// Copies floor `from` to each floor of `to`, finding each household's
    /// counterpart in the building table: same stair unit, room number with
    /// the floor prefix replaced ("101" on floor 1 → "601" on floor 6).
    ///
    /// All or nothing: on error the plan is unchanged.
    pub fn copy_floor(&mut self, from: i32, to: &[i32], table: &BuildingTable) -> Result<(), FloorPlanError> {
        let ljzh = self.floor(from).ok_or(FloorPlanError::UnknownFloor(from))?.ljzh.clone();
        self.copy_floor_in(&ljzh, from, to, table)
    }

    /// [`FloorPlan::copy_floor`] of floor `from` of logical building `ljzh`:
    /// the copies are that logical building's floors, its households the
    /// counterparts (an empty `ljzh`: of any logical building).
    pub fn copy_floor_in(
        &mut self,
        ljzh: &str,
        from: i32,
        to: &[i32],
        table: &BuildingTable,
    ) -> Result<(), FloorPlanError> {
        let before = self.floors.clone();
        for &t in to {
            let result = self.copy_one(ljzh, from, t, |h| {
                let room = renumber_room(&h.room, from, t);
                table
                    .current()
                    .find(|r| {
                        r.floor == t
                            && (ljzh.is_empty() || r.ljzh == ljzh)
                            && r.stair_unit == h.stair_unit
                            && r.room == room
                    })
                    .map(|r| (r.hh.clone(), room.clone()))
                    .ok_or(FloorPlanError::NoCounterpart { floor: t, stair_unit: h.stair_unit.clone(), room })
            });
            if let Err(e) = result {
                self.floors = before;
                return Err(e);
            }
        }
        Ok(())
    }
}

/// "101" on floor 1 → "601" on floor 6; "B1-03" on floor -1 → "B2-03" on -2;
/// other room numbers are kept.
///
/// ```
/// use cadastre_core::floorplan::renumber_room;
/// assert_eq!(renumber_room("101", 1, 12), "1201");
/// assert_eq!(renumber_room("1202", 12, 3), "302");
/// assert_eq!(renumber_room("B1-03", -1, -2), "B2-03");
/// assert_eq!(renumber_room("商铺1", 1, 2), "商铺1");
/// ```
pub fn renumber_room(room: &str, from: i32, to: i32) -> String {
    let (pf, pt) = if from < 0 && to < 0 {
        (format!("B{}", -from), format!("B{}", -to))
    } else {
        (from.to_string(), to.to_string())
    };
    match room.strip_prefix(&pf) {
        // the rest is the position on the floor: two digits, or "-03" below ground
        Some(rest) if rest.len() == 2 && rest.bytes().all(|b| b.is_ascii_digit()) => format!("{pt}{rest}"),
        Some(rest) if from < 0 && rest.starts_with('-') => format!("{pt}{rest}"),
        _ => room.to_string(),
    }
}
