//! Exact differences between two states of a building table, for undo logs:
//! an application keeps a [`TableDelta`] per user action instead of a copy of
//! the whole table, applies it, and applies its [`TableDelta::inverse`] to undo.
//!
//! The change log is part of the state: undoing a split removes the split's
//! entries, so the history always describes the table as it is.

use super::history::Change;
use super::link::AreaLink;
use super::model::{BuildingError, BuildingTable, Household};
use serde::{Deserialize, Serialize};

/// One household before and after (`None`: absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdChange {
    /// HH.
    pub hh: String,
    /// Before.
    pub before: Option<Household>,
    /// After.
    pub after: Option<Household>,
}

/// The tail of a list replaced: items from `at` on were `removed` and are now `added`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListDelta<T> {
    /// Index of the first changed item.
    pub at: usize,
    /// The old tail.
    pub removed: Vec<T>,
    /// The new tail.
    pub added: Vec<T>,
}

impl<T: Clone + PartialEq> ListDelta<T> {
    fn between(a: &[T], b: &[T]) -> Self {
        let at = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        ListDelta { at, removed: a[at..].to_vec(), added: b[at..].to_vec() }
    }

    fn inverse(&self) -> Self {
        ListDelta { at: self.at, removed: self.added.clone(), added: self.removed.clone() }
    }

    fn fits(&self, list: &[T]) -> bool {
        list.len() == self.at + self.removed.len() && list[self.at..] == self.removed[..]
    }

    fn apply(&self, list: &mut Vec<T>) {
        list.truncate(self.at);
        list.extend(self.added.iter().cloned());
    }

    fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }
}

/// What changed in a building table between two states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDelta {
    /// Households that differ, by HH.
    pub households: Vec<HouseholdChange>,
    /// Predicted↔measured links.
    pub links: ListDelta<AreaLink>,
    /// Change-log entries.
    pub log: ListDelta<Change>,
}

impl TableDelta {
    /// The delta that undoes this one.
    #[must_use]
    pub fn inverse(&self) -> Self {
        TableDelta {
            households: self
                .households
                .iter()
                .map(|c| HouseholdChange { hh: c.hh.clone(), before: c.after.clone(), after: c.before.clone() })
                .collect(),
            links: self.links.inverse(),
            log: self.log.inverse(),
        }
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.households.is_empty() && self.links.is_empty() && self.log.is_empty()
    }
}

impl BuildingTable {
    /// The delta taking this table to `after` (same building).
    ///
    /// ```
    /// use cadastre_core::building::{BuildingTable, Editor, FloorSpec, GridSpec};
    /// let mut t = BuildingTable::new("330106001001GB00001F0001");
    /// let before = t.clone();
    /// let spec = GridSpec { ljzh: "1".into(), floors: vec![FloorSpec::simple(1)],
    ///     stair_units: 1, rooms_per_unit: 2, usage: "住宅".into(), zone: "res".into() };
    /// t.generate_grid(&spec, &Editor::now("surveyor")).unwrap();
    /// let delta = before.diff(&t);
    /// let mut undone = t.clone();
    /// undone.apply_delta(&delta.inverse()).unwrap();
    /// assert_eq!(undone, before);
    /// ```
    pub fn diff(&self, after: &BuildingTable) -> TableDelta {
        let mut households = Vec::new();
        for (hh, a) in &self.households {
            match after.households.get(hh) {
                Some(b) if b == a => {}
                b => households.push(HouseholdChange { hh: hh.clone(), before: Some(a.clone()), after: b.cloned() }),
            }
        }
        for (hh, b) in &after.households {
            if !self.households.contains_key(hh) {
                households.push(HouseholdChange { hh: hh.clone(), before: None, after: Some(b.clone()) });
            }
        }
        TableDelta {
            households,
            links: ListDelta::between(&self.links, &after.links),
            log: ListDelta::between(self.log.entries(), after.log.entries()),
        }
    }

    /// Applies a delta made by [`BuildingTable::diff`] from a table equal to
    /// this one; anything else is refused and the table is left unchanged.
    pub fn apply_delta(&mut self, delta: &TableDelta) -> Result<(), BuildingError> {
        for c in &delta.households {
            if self.households.get(&c.hh) != c.before.as_ref() {
                return Err(BuildingError::Invalid(format!("household {} is not as the change expects", c.hh)));
            }
            if c.after.as_ref().is_some_and(|h| h.hh != c.hh || h.zrzh != self.zrzh) {
                return Err(BuildingError::Invalid(format!("household {} changes its key", c.hh)));
            }
        }
        if !delta.links.fits(&self.links) || !delta.log.fits(self.log.entries()) {
            return Err(BuildingError::Invalid("the table's links or history are not as the change expects".into()));
        }
        for c in &delta.households {
            match &c.after {
                Some(h) => self.households.insert(c.hh.clone(), h.clone()),
                None => self.households.remove(&c.hh),
            };
        }
        delta.links.apply(&mut self.links);
        self.log.replace_tail(&delta.log);
        Ok(())
    }
}

impl super::history::ChangeLog {
    fn replace_tail(&mut self, delta: &ListDelta<Change>) {
        delta.apply(self.entries_mut());
    }
}
