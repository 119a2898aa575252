//! The building table's model: households keyed by HH within one natural building.

use super::history::{Change, ChangeLog, Editor, Target};
use super::types::AreaLink;
pub use super::types::{BuildingError, Household, PhysicalFloors, Status};
use crate::apportion::{ApportionInput, SharedInput, UnitInput, ZoneInput};
pub use crate::model::floor_name;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The building table (楼盘表) of one natural building.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildingTable {
    /// 自然幢号 ZRZH.
    pub zrzh: String,
    pub(crate) households: BTreeMap<String, Household>,
    pub(crate) links: Vec<AreaLink>,
    pub(crate) log: ChangeLog,
}

impl BuildingTable {
    /// An empty table for a natural building.
    pub fn new(zrzh: &str) -> Self {
        BuildingTable {
            zrzh: zrzh.to_string(),
            households: BTreeMap::new(),
            links: Vec::new(),
            log: ChangeLog::default(),
        }
    }

    /// All households (current and historical), sorted by HH.
    pub fn households(&self) -> impl Iterator<Item = &Household> {
        self.households.values()
    }

    /// Current households, sorted by HH.
    pub fn current(&self) -> impl Iterator<Item = &Household> {
        self.households.values().filter(|h| h.status != Status::Historical)
    }

    /// One household.
    pub fn get(&self, hh: &str) -> Option<&Household> {
        self.households.get(hh)
    }

    /// The change log.
    pub fn history(&self) -> &ChangeLog {
        &self.log
    }

    /// Adds a household (recorded as "create").
    pub fn insert(&mut self, h: Household, by: &Editor) -> Result<(), BuildingError> {
        if h.zrzh != self.zrzh {
            return Err(BuildingError::OtherBuilding { hh: h.hh, expected: self.zrzh.clone(), found: h.zrzh });
        }
        if self.households.contains_key(&h.hh) {
            return Err(BuildingError::DuplicateHousehold(h.hh));
        }
        self.record(by, "create", &h.hh, None, Some(h.clone()), String::new());
        self.households.insert(h.hh.clone(), h);
        Ok(())
    }

    /// Edits one current household (recorded with before and after).
    pub fn edit(&mut self, hh: &str, by: &Editor, f: impl FnOnce(&mut Household)) -> Result<(), BuildingError> {
        let h = self.households.get_mut(hh).ok_or_else(|| BuildingError::UnknownHousehold(hh.to_string()))?;
        if h.status == Status::Historical {
            return Err(BuildingError::Historical(hh.to_string()));
        }
        let before = h.clone();
        f(h);
        // the key and building cannot be changed by an edit
        h.hh = before.hh.clone();
        h.zrzh = before.zrzh.clone();
        if *h != before {
            let after = h.clone();
            self.record(by, "edit", hh, Some(before), Some(after), String::new());
        }
        Ok(())
    }

    pub(crate) fn record(
        &mut self,
        by: &Editor,
        action: &str,
        hh: &str,
        before: Option<Household>,
        after: Option<Household>,
        note: String,
    ) {
        self.log.record(Change {
            who: by.who.clone(),
            at: by.at,
            action: action.to_string(),
            target: Target::Household(hh.to_string()),
            before,
            after,
            note,
        });
    }

    /// The next free 4-digit household number.
    pub(crate) fn next_hh(&self) -> Result<String, BuildingError> {
        let max = self.households.keys().filter_map(|k| k.parse::<u32>().ok()).max().unwrap_or(0);
        if max >= 9999 {
            return Err(BuildingError::NumbersExhausted(self.zrzh.clone()));
        }
        Ok(format!("{:04}", max + 1))
    }

    /// The apportionment input for the current households, using measured
    /// (`measured = true`) or predicted inner areas; zones are the GNQ values.
    pub fn to_apportion_input(
        &self,
        measured: bool,
        shared: Vec<SharedInput>,
    ) -> Result<ApportionInput, BuildingError> {
        let mut zones: Vec<String> = Vec::new();
        let mut units = Vec::new();
        for h in self.current() {
            let area = if measured { h.measured_inner } else { h.predicted_inner };
            let what = if measured { "measured inner area" } else { "predicted inner area" };
            let area = area.ok_or_else(|| BuildingError::MissingArea { hh: h.hh.clone(), what })?;
            if !zones.contains(&h.zone) {
                zones.push(h.zone.clone());
            }
            units.push(UnitInput {
                id: h.hh.clone(),
                zone: h.zone.clone(),
                floor: h.floor,
                inner_area: area,
                room: Some(h.room.clone()),
            });
        }
        zones.sort();
        Ok(ApportionInput {
            building: self.zrzh.clone(),
            method: Default::default(),
            zones: zones.into_iter().map(|id| ZoneInput { id, name: String::new() }).collect(),
            units,
            shared,
        })
    }
}
