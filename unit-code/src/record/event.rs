//! Lifecycle events as plain data: what happened to which codes, and the
//! lineage edges (old → new) it leaves. Checking and recording events is the
//! `lineage` module's business; this one only describes them.

use std::fmt;

use chrono::{DateTime, Utc};

use super::AnyCode;

/// Kind of lifecycle event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// 设立: new codes come into use; no predecessors.
    Create,
    /// 变更: one code changes (attributes only if the code stays the same, else old → new).
    Change,
    /// 分割: one code is split into two or more new codes.
    Split,
    /// 合并: two or more codes merge into one, which may be one of them (kept).
    Merge,
    /// 灭失: codes end without successors.
    Extinguish,
}

impl EventKind {
    /// The value stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Create => "create",
            EventKind::Change => "change",
            EventKind::Split => "split",
            EventKind::Merge => "merge",
            EventKind::Extinguish => "extinguish",
        }
    }

    /// The Chinese term.
    pub const fn name_zh(self) -> &'static str {
        match self {
            EventKind::Create => "设立",
            EventKind::Change => "变更",
            EventKind::Split => "分割",
            EventKind::Merge => "合并",
            EventKind::Extinguish => "灭失",
        }
    }

    /// Parse the stored value.
    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Create, Self::Change, Self::Split, Self::Merge, Self::Extinguish].into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.as_str(), self.name_zh())
    }
}

/// An event to record: who did what to which codes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventInput {
    /// What happened.
    pub kind: EventKind,
    /// Who did it (user name or system).
    pub actor: String,
    /// Free text (case number, reason).
    pub note: String,
    /// Codes before.
    pub old: Vec<AnyCode>,
    /// Codes after. They must already be issued and current.
    pub new: Vec<AnyCode>,
}

impl EventInput {
    fn of(kind: EventKind, actor: &str, old: Vec<AnyCode>, new: Vec<AnyCode>) -> Self {
        Self { kind, actor: actor.to_owned(), note: String::new(), old, new }
    }

    /// 设立: `new` come into use.
    pub fn create(actor: &str, new: Vec<AnyCode>) -> Self {
        Self::of(EventKind::Create, actor, Vec::new(), new)
    }

    /// 变更: `old` becomes `new` (the same code for an attribute-only change).
    pub fn change(actor: &str, old: AnyCode, new: AnyCode) -> Self {
        Self::of(EventKind::Change, actor, vec![old], vec![new])
    }

    /// 分割: `old` is split into `new`.
    pub fn split(actor: &str, old: AnyCode, new: Vec<AnyCode>) -> Self {
        Self::of(EventKind::Split, actor, vec![old], new)
    }

    /// 合并: `old` merge into `new`, which may be one of `old` (kept).
    pub fn merge(actor: &str, old: Vec<AnyCode>, new: AnyCode) -> Self {
        Self::of(EventKind::Merge, actor, old, vec![new])
    }

    /// 灭失: `old` end.
    pub fn extinguish(actor: &str, old: Vec<AnyCode>) -> Self {
        Self::of(EventKind::Extinguish, actor, old, Vec::new())
    }

    /// Attach a note.
    #[must_use]
    pub fn with_note(mut self, note: &str) -> Self {
        self.note = note.to_owned();
        self
    }

    /// County of the event: of its first code.
    pub fn county(&self) -> &str {
        self.old.iter().chain(&self.new).next().map_or("", AnyCode::county)
    }
}

/// What recording an event changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effects {
    /// Codes that become historical.
    pub retire: Vec<AnyCode>,
    /// Lineage edges old → new.
    pub edges: Vec<(AnyCode, AnyCode)>,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    /// Identifier, increasing in recording order.
    pub id: i64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The event as given.
    #[serde(flatten)]
    pub input: EventInput,
}

/// One lineage edge: `old` was succeeded by `new` in event `event_id`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineageEdge {
    /// The predecessor.
    pub old: AnyCode,
    /// The successor.
    pub new: AnyCode,
    /// The event.
    pub event_id: i64,
    /// Its kind.
    pub kind: EventKind,
    /// Its time.
    pub at: DateTime<Utc>,
}

/// An edge reached from the starting code, `depth` events away (1 = direct).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineageStep {
    /// Number of events between the starting code and this edge's far end.
    pub depth: u32,
    /// The edge.
    #[serde(flatten)]
    pub edge: LineageEdge,
}

/// Events and edges of the in-memory registry; recorded by the `lineage`
/// module, held in the allocator's state so one transaction
/// covers both the retirements and the edges.
#[derive(Debug, Default, Clone)]
pub(crate) struct LineageLog {
    pub(crate) events: Vec<Event>,
    pub(crate) edges: Vec<LineageEdge>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_the_database_form() {
        for k in [EventKind::Create, EventKind::Change, EventKind::Split, EventKind::Merge, EventKind::Extinguish] {
            assert_eq!(EventKind::from_db(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::from_db("delete"), None);
        assert_eq!(EventKind::Split.to_string(), "split 分割");
    }
}
