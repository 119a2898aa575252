//! Who and when for every change of a building's households. The households'
//! own changes (create, edit, split, merge, renumber) are recorded by
//! `cadastre-core` in the table's change log; the changes of the building as a
//! whole (a new table, a floor drawn or copied, the apportionment set up or run,
//! codes issued on acceptance) are appended to the same log as building
//! entries, in the same undo step, so one list answers "who changed this
//! building, and when" (DOMAIN.md §3, 等保 audit).

use cadastre_core::building::{BuildingTable, Change, Editor as Who, ListDelta, TableDelta, Target};

/// A building-level entry of the change log.
pub fn building_change(by: &Who, action: &str, note: impl Into<String>) -> Change {
    Change {
        who: by.who.clone(),
        at: by.at,
        action: action.to_owned(),
        target: Target::Building,
        before: None,
        after: None,
        note: note.into(),
    }
}

/// The delta from `before` to `after`, with `notes` appended to the log after
/// whatever the change itself recorded.
pub fn delta_with_notes(before: &BuildingTable, after: &BuildingTable, notes: Vec<Change>) -> TableDelta {
    let mut delta = before.diff(after);
    delta.log.added.extend(notes);
    delta
}

/// A delta that only appends `notes` to the log of `table`.
pub fn notes_only(table: &BuildingTable, notes: Vec<Change>) -> TableDelta {
    let at = table.history().entries().len();
    TableDelta {
        households: Vec::new(),
        links: ListDelta { at: table.links().len(), removed: Vec::new(), added: Vec::new() },
        log: ListDelta { at, removed: Vec::new(), added: notes },
    }
}

/// The building's own entries (not those of one household), newest first.
pub fn building_entries(table: &BuildingTable) -> impl Iterator<Item = &Change> {
    table.history().entries().iter().rev().filter(|c| c.target == Target::Building)
}
