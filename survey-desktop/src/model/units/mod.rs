//! The buildings' households: per natural building (自然幢, keyed by ZRZH) its
//! building table (楼盘表: logical buildings → nominal floors → stair units →
//! households, with the change log of who and when), its floor plans
//! (分层分户图) and its apportionment set-up (分摊树).
//!
//! They live in the [`super::Document`] like parcels do, and every change is a
//! [`UnitsEdit`] inside an ordinary [`super::Command`], so undo/redo, the
//! journal, autosave and crash recovery cover them. The commands are built by
//! [`ops`] from `cadastre-core` operations run on a copy and diffed.

pub mod codes;
pub mod history;
pub mod keys;
pub mod ops;
pub mod plan_edit;
mod setup;

pub use keys::{key_floors, FloorKey};
pub use setup::{ApportionSetup, Staleness};

use std::collections::BTreeMap;

use cadastre_core::building::{BuildingTable, TableDelta};
use cadastre_core::floorplan::{FloorPlan, FloorPlanFloor, Walls};
use serde::{Deserialize, Serialize};

use super::edit::EditError;

/// Everything about the households of one natural building.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildingUnits {
    /// 楼盘表 with its history.
    pub table: BuildingTable,
    /// 分层分户图 (empty floors until drawn).
    pub plan: FloorPlan,
    /// Zones, extra shared spaces, agreed shares and the last run.
    #[serde(default)]
    pub setup: ApportionSetup,
}

impl BuildingUnits {
    /// An empty table and plan for a natural building.
    pub fn new(zrzh: &str) -> Self {
        Self {
            table: BuildingTable::new(zrzh),
            plan: FloorPlan {
                zrzh: zrzh.to_owned(),
                walls: Walls::default(),
                placement: None,
                outer_wall_serves: None,
                floors: Vec::new(),
            },
            setup: ApportionSetup::default(),
        }
    }
}

/// All buildings' households, by ZRZH.
pub type Units = BTreeMap<String, BuildingUnits>;

/// One change of the buildings' households, with the state before and after so
/// it inverts exactly and is checked before it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum UnitsEdit {
    /// A new building table (with an empty plan).
    Add {
        /// ZRZH.
        zrzh: String,
        /// Its content.
        units: Box<BuildingUnits>,
    },
    /// A building table removed.
    Remove {
        /// ZRZH.
        zrzh: String,
        /// Its content.
        units: Box<BuildingUnits>,
    },
    /// Households, links or history of a table changed.
    Table {
        /// ZRZH.
        zrzh: String,
        /// The change.
        delta: Box<TableDelta>,
    },
    /// One floor of a plan drawn, redrawn or removed.
    Floor {
        /// ZRZH.
        zrzh: String,
        /// 逻辑幢号 of the floor (empty in journals written before floors were keyed
        /// by logical building: the floor's households name it, see [`keys::legacy_key`]).
        #[serde(default)]
        ljzh: String,
        /// 名义层.
        floor: i32,
        /// Before (`None`: not drawn).
        from: Option<Box<FloorPlanFloor>>,
        /// After.
        to: Option<Box<FloorPlanFloor>>,
    },
    /// The apportionment set-up changed (or was run).
    Setup {
        /// ZRZH.
        zrzh: String,
        /// Before.
        from: Box<ApportionSetup>,
        /// After.
        to: Box<ApportionSetup>,
    },
}

fn mismatch(zrzh: &str, what: &str) -> EditError {
    EditError::Invalid(format!("{what} of building {zrzh} is not in the expected state / 楼盘数据与操作不符"))
}

impl UnitsEdit {
    /// The edit that undoes this one.
    pub fn inverse(&self) -> Self {
        match self.clone() {
            UnitsEdit::Add { zrzh, units } => UnitsEdit::Remove { zrzh, units },
            UnitsEdit::Remove { zrzh, units } => UnitsEdit::Add { zrzh, units },
            UnitsEdit::Table { zrzh, delta } => UnitsEdit::Table { zrzh, delta: Box::new(delta.inverse()) },
            UnitsEdit::Floor { zrzh, ljzh, floor, from, to } => {
                UnitsEdit::Floor { zrzh, ljzh, floor, from: to, to: from }
            }
            UnitsEdit::Setup { zrzh, from, to } => UnitsEdit::Setup { zrzh, from: to, to: from },
        }
    }

    /// Apply after checking the state; on error nothing changed.
    pub fn apply(&self, units: &mut Units) -> Result<(), EditError> {
        match self {
            UnitsEdit::Add { zrzh, units: u } => {
                if units.contains_key(zrzh) {
                    return Err(mismatch(zrzh, "the table"));
                }
                units.insert(zrzh.clone(), (**u).clone());
            }
            UnitsEdit::Remove { zrzh, units: u } => {
                if units.get(zrzh) != Some(&**u) {
                    return Err(mismatch(zrzh, "the table"));
                }
                units.remove(zrzh);
            }
            UnitsEdit::Table { zrzh, delta } => {
                let b = units.get_mut(zrzh).ok_or_else(|| mismatch(zrzh, "the table"))?;
                b.table.apply_delta(delta).map_err(|e| EditError::Invalid(format!("{zrzh}: {e}")))?;
            }
            UnitsEdit::Floor { zrzh, ljzh, floor, from, to } => {
                let b = units.get_mut(zrzh).ok_or_else(|| mismatch(zrzh, "the plan"))?;
                let (mut from, mut to) = (from.as_deref().cloned(), to.as_deref().cloned());
                let ljzh = if ljzh.is_empty() {
                    // A journal of before the key: the floors it names are keyed now.
                    let key = keys::legacy_key(&b.table, *floor, from.as_ref().or(to.as_ref()));
                    for f in from.iter_mut().chain(to.iter_mut()) {
                        f.ljzh.clone_from(&key);
                    }
                    key
                } else {
                    ljzh.clone()
                };
                let pos = b.plan.floors.iter().position(|f| f.floor == *floor && f.ljzh == ljzh);
                let current = pos.map(|i| &b.plan.floors[i]);
                if current != from.as_ref() || to.as_ref().is_some_and(|t| t.floor != *floor || t.ljzh != ljzh) {
                    return Err(mismatch(zrzh, "the floor plan"));
                }
                match (pos, to) {
                    (Some(i), Some(t)) => b.plan.floors[i] = t,
                    (Some(i), None) => {
                        b.plan.floors.remove(i);
                    }
                    (None, Some(t)) => {
                        b.plan.floors.push(t);
                        keys::sort_floors(&mut b.plan);
                    }
                    (None, None) => {}
                }
            }
            UnitsEdit::Setup { zrzh, from, to } => {
                let b = units.get_mut(zrzh).ok_or_else(|| mismatch(zrzh, "the apportionment"))?;
                if b.setup != **from {
                    return Err(mismatch(zrzh, "the apportionment"));
                }
                b.setup = (**to).clone();
            }
        }
        Ok(())
    }
}
