//! Grid operations on the building table: generate a regular grid, split and
//! merge households, renumber rooms, batch-edit attributes. Every change goes
//! to the change log.

use super::history::Editor;
use super::model::{BuildingError, BuildingTable, Household, PhysicalFloors, Status};
use crate::apportion::Area;

/// One nominal floor of a grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloorSpec {
    /// Nominal floor 名义层 (no 0; basements negative).
    pub nominal: i32,
    /// Physical floors it spans.
    pub physical: PhysicalFloors,
}

impl FloorSpec {
    /// A nominal floor equal to one physical floor.
    pub fn simple(n: i32) -> Self {
        FloorSpec { nominal: n, physical: PhysicalFloors { from: n, to: n } }
    }
}

/// A regular grid: floors × stair units × rooms per stair unit.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSpec {
    /// Logical building number.
    pub ljzh: String,
    /// Floors, any order.
    pub floors: Vec<FloorSpec>,
    /// Number of stair units (单元).
    pub stair_units: u32,
    /// Rooms per stair unit per floor.
    pub rooms_per_unit: u32,
    /// Use (FWYT), e.g. "住宅".
    pub usage: String,
    /// Zone (GNQ), e.g. "res".
    pub zone: String,
}

/// One row of the building table (楼盘表): a nominal floor of a logical
/// building with its current households, by stair unit then room.
#[derive(Debug, Clone, PartialEq)]
pub struct FloorRow<'a> {
    /// 逻辑幢号.
    pub ljzh: &'a str,
    /// 名义层.
    pub floor: i32,
    /// 实际层 (the widest span among the floor's households).
    pub physical: PhysicalFloors,
    /// Households, ordered by stair unit, then room number.
    pub households: Vec<&'a Household>,
}

/// Room number 室号 for a floor and its index on the floor: 1201, or B1-01 below ground.
pub fn room_number(floor: i32, index: u32) -> String {
    if floor < 0 {
        format!("B{}-{index:02}", -i64::from(floor))
    } else {
        format!("{floor}{index:02}")
    }
}

impl BuildingTable {
    /// Generates a regular grid of new households, numbered 0001… from the
    /// lowest floor up, stair unit by stair unit; returns their HH.
    ///
    /// ```
    /// use cadastre_core::building::{BuildingTable, Editor, FloorSpec, GridSpec};
    /// let mut t = BuildingTable::new("330106001001GB00001F0001");
    /// let spec = GridSpec { ljzh: "1".into(), floors: (1..=3).map(FloorSpec::simple).collect(),
    ///     stair_units: 2, rooms_per_unit: 2, usage: "住宅".into(), zone: "res".into() };
    /// let hh = t.generate_grid(&spec, &Editor::now("surveyor")).unwrap();
    /// assert_eq!(hh.len(), 12);
    /// assert_eq!(t.get("0012").map(|h| h.room.as_str()), Some("304"));
    /// ```
    pub fn generate_grid(&mut self, spec: &GridSpec, by: &Editor) -> Result<Vec<String>, BuildingError> {
        if spec.stair_units == 0 || spec.rooms_per_unit == 0 || spec.floors.is_empty() {
            return Err(BuildingError::Invalid("a grid needs floors, stair units and rooms".into()));
        }
        let mut floors = spec.floors.clone();
        floors.sort_by_key(|f| f.nominal);
        if let Some(w) = floors.windows(2).find(|w| w[0].nominal == w[1].nominal) {
            return Err(BuildingError::Invalid(format!("floor {} given twice", w[0].nominal)));
        }
        if floors.iter().any(|f| f.nominal == 0) {
            return Err(BuildingError::Invalid("floor 0 does not exist".into()));
        }
        let mut created = Vec::new();
        for f in &floors {
            for unit in 1..=spec.stair_units {
                for room in 1..=spec.rooms_per_unit {
                    let hh = self.next_hh()?;
                    let index = (unit - 1) * spec.rooms_per_unit + room;
                    let h = Household {
                        zrzh: self.zrzh.clone(),
                        ljzh: spec.ljzh.clone(),
                        stair_unit: unit.to_string(),
                        floor: f.nominal,
                        physical: f.physical,
                        hh: hh.clone(),
                        room: room_number(f.nominal, index),
                        unit_code: None,
                        layout: String::new(),
                        usage: spec.usage.clone(),
                        zone: spec.zone.clone(),
                        structure: String::new(),
                        predicted_inner: None,
                        measured_inner: None,
                        address: String::new(),
                        status: Status::Current,
                    };
                    self.insert(h, by)?;
                    created.push(hh);
                }
            }
        }
        Ok(created)
    }

    /// Splits a household into parts with the given measured inner areas (which
    /// must add up to its measured inner area when it has one). The original
    /// becomes historical; the parts get new HH numbers and room numbers
    /// "<room>-1", "<room>-2", ….
    pub fn split(&mut self, hh: &str, parts: &[Area], by: &Editor) -> Result<Vec<String>, BuildingError> {
        let original = self.current_household(hh)?.clone();
        if parts.len() < 2 || parts.iter().any(|a| a.hundredths() <= 0) {
            return Err(BuildingError::Invalid("a split needs at least two parts with positive areas".into()));
        }
        if let Some(total) = original.measured_inner {
            let sum: Area = parts.iter().copied().sum();
            if sum != total {
                return Err(BuildingError::Invalid(format!(
                    "parts add up to {sum} m², household {hh} measures {total} m²"
                )));
            }
        }
        let mut created = Vec::new();
        for (i, area) in parts.iter().enumerate() {
            let mut h = original.clone();
            h.hh = self.next_hh()?;
            h.room = format!("{}-{}", original.room, i + 1);
            h.unit_code = None;
            h.measured_inner = Some(*area);
            h.predicted_inner = None;
            created.push(h.hh.clone());
            self.record(by, "split", &h.hh.clone(), None, Some(h.clone()), format!("split from {hh}"));
            self.households.insert(h.hh.clone(), h);
        }
        self.retire(hh, by, "split", format!("split into {}", created.join(", ")));
        Ok(created)
    }

    /// Merges current households of one floor into a new one whose areas are
    /// the sums; the originals become historical. Returns the new HH.
    pub fn merge(&mut self, hhs: &[&str], by: &Editor) -> Result<String, BuildingError> {
        if hhs.len() < 2 {
            return Err(BuildingError::Invalid("a merge needs at least two households".into()));
        }
        let mut parts = Vec::new();
        for hh in hhs {
            if parts.iter().any(|p: &Household| p.hh == *hh) {
                return Err(BuildingError::Invalid(format!("household {hh} listed twice")));
            }
            parts.push(self.current_household(hh)?.clone());
        }
        if parts.iter().any(|p| p.floor != parts[0].floor || p.ljzh != parts[0].ljzh) {
            return Err(BuildingError::Invalid(
                "merged households must be on the same floor of the same logical building".into(),
            ));
        }
        let sum = |f: fn(&Household) -> Option<Area>| parts.iter().map(f).sum::<Option<Area>>();
        let mut h = parts[0].clone();
        h.hh = self.next_hh()?;
        h.unit_code = None;
        h.measured_inner = sum(|p| p.measured_inner);
        h.predicted_inner = sum(|p| p.predicted_inner);
        let new = h.hh.clone();
        self.record(by, "merge", &new, None, Some(h.clone()), format!("merged from {}", hhs.join(", ")));
        self.households.insert(new.clone(), h);
        for hh in hhs {
            self.retire(hh, by, "merge", format!("merged into {new}"));
        }
        Ok(new)
    }

    /// Renumbers the rooms of current households floor by floor (1201, 1202,
    /// … ; B1-01 below ground) in stair-unit then HH order. Returns how many
    /// room numbers changed.
    pub fn renumber_rooms(&mut self, by: &Editor) -> usize {
        let mut order: Vec<(String, i32, String, String)> =
            self.current().map(|h| (h.ljzh.clone(), h.floor, h.stair_unit.clone(), h.hh.clone())).collect();
        order.sort_by(|a, b| (&a.0, a.1, natural(&a.2), &a.3).cmp(&(&b.0, b.1, natural(&b.2), &b.3)));
        let mut changed = 0;
        let mut index = 0;
        let mut last: Option<(String, i32)> = None;
        for (ljzh, floor, _, hh) in order {
            if last.as_ref() != Some(&(ljzh.clone(), floor)) {
                index = 0;
                last = Some((ljzh, floor));
            }
            index += 1;
            let room = room_number(floor, index);
            if self.get(&hh).is_some_and(|h| h.room != room) {
                // edit cannot fail: hh is current
                if self.edit(&hh, by, |h| h.room = room).is_ok() {
                    changed += 1;
                }
            }
        }
        changed
    }

    /// The table as it is shown: per logical building, nominal floors from the
    /// top down (basements last), each with its households by stair unit and room.
    pub fn rows(&self) -> Vec<FloorRow<'_>> {
        let mut rows: Vec<FloorRow<'_>> = Vec::new();
        let mut hs: Vec<&Household> = self.current().collect();
        hs.sort_by(|a, b| {
            (&a.ljzh, std::cmp::Reverse(a.floor), natural(&a.stair_unit), natural(&a.room)).cmp(&(
                &b.ljzh,
                std::cmp::Reverse(b.floor),
                natural(&b.stair_unit),
                natural(&b.room),
            ))
        });
        for h in hs {
            match rows.last_mut() {
                Some(r) if r.ljzh == h.ljzh && r.floor == h.floor => {
                    r.physical = PhysicalFloors {
                        from: r.physical.from.min(h.physical.from),
                        to: r.physical.to.max(h.physical.to),
                    };
                    r.households.push(h);
                }
                _ => rows.push(FloorRow { ljzh: &h.ljzh, floor: h.floor, physical: h.physical, households: vec![h] }),
            }
        }
        rows
    }

    /// Applies `edit` to every current household that `filter` selects;
    /// returns how many changed.
    pub fn batch_edit(
        &mut self,
        filter: impl Fn(&Household) -> bool,
        edit: impl Fn(&mut Household),
        by: &Editor,
    ) -> usize {
        let selected: Vec<String> = self.current().filter(|h| filter(h)).map(|h| h.hh.clone()).collect();
        let before = self.log.entries().len();
        for hh in selected {
            let _ = self.edit(&hh, by, &edit);
        }
        self.log.entries().len() - before
    }

    fn current_household(&self, hh: &str) -> Result<&Household, BuildingError> {
        let h = self.get(hh).ok_or_else(|| BuildingError::UnknownHousehold(hh.to_string()))?;
        if h.status == Status::Historical {
            return Err(BuildingError::Historical(hh.to_string()));
        }
        Ok(h)
    }

    fn retire(&mut self, hh: &str, by: &Editor, action: &str, note: String) {
        if let Some(h) = self.households.get_mut(hh) {
            let before = h.clone();
            h.status = Status::Historical;
            let after = h.clone();
            self.record(by, action, hh, Some(before), Some(after), note);
        }
    }
}

/// Sort key putting "2" before "10".
fn natural(s: &str) -> (usize, &str) {
    (s.len(), s)
}
