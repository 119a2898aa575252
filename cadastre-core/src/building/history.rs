//! Change log of a building table: who, when, before, after (等保三级 audit).

use super::types::Household;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who makes a change and when; passed to every editing operation so tests
/// and batch jobs can fix the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Editor {
    /// User name.
    pub who: String,
    /// Time of the change.
    pub at: DateTime<Utc>,
}

impl Editor {
    /// An editor acting now.
    pub fn now(who: &str) -> Self {
        Editor { who: who.to_string(), at: Utc::now() }
    }
}

/// What a change is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Target {
    /// A household, by HH.
    Household(String),
    /// The building as a whole (links, grid generation).
    Building,
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Who.
    pub who: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Operation name: "create", "edit", "split", "merge", "renumber", "link", "import".
    pub action: String,
    /// What changed.
    pub target: Target,
    /// The household before (None when created).
    pub before: Option<Household>,
    /// The household after (None when removed).
    pub after: Option<Household>,
    /// Free text, e.g. "split into 0005, 0006".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// The append-only change log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeLog {
    entries: Vec<Change>,
}

impl ChangeLog {
    /// Appends a change.
    pub fn record(&mut self, change: Change) {
        self.entries.push(change);
    }

    /// Every change, oldest first.
    pub fn entries(&self) -> &[Change] {
        &self.entries
    }

    /// For [`super::delta`] only: undo removes the entries of an undone action.
    pub(crate) fn entries_mut(&mut self) -> &mut Vec<Change> {
        &mut self.entries
    }

    /// The history of one household, oldest first.
    pub fn of_household<'a>(&'a self, hh: &'a str) -> impl Iterator<Item = &'a Change> + 'a {
        self.entries.iter().filter(move |c| c.target == Target::Household(hh.to_string()))
    }
}
