//! Lifecycle events and lineage (新旧单元谱系) of issued codes: create 设立,
//! change 变更, split 分割, merge 合并, extinguish 灭失. Each event is stored with
//! its time and actor; every (old → new) pair becomes a lineage edge, and
//! [`Lineage::ancestors`] / [`Lineage::descendants`] walk the whole chain.
//!
//! Recording an event retires the codes it ends (split-away, merged-away,
//! extinguished, changed-away), so they are never reissued.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;

use chrono::Utc;

use crate::alloc::{AllocError, MemoryAllocator};
use crate::record::{AnyCode, CodeStatus};
pub use crate::record::{Effects, Event, EventInput, EventKind, LineageEdge, LineageStep};

#[cfg(feature = "postgres")]
mod pg;

// The event types are plain data in `record`, so the allocator can hold the
// in-memory log without depending on this module; checking an event needs
// `LineageError`, which wraps `AllocError`, so that lives here.
impl EventInput {
    /// Check the shape of the event and work out its effects, without looking
    /// at any store: which codes it retires and which edges it adds.
    pub fn effects(&self) -> Result<Effects, LineageError> {
        let bad = |reason: &str| Err(LineageError::InvalidEvent { kind: self.kind, reason: reason.to_owned() });
        let (o, n) = (self.old.len(), self.new.len());
        match self.kind {
            EventKind::Create if o != 0 || n == 0 => return bad("needs no old codes and at least one new code"),
            EventKind::Change if o != 1 || n != 1 => return bad("needs exactly one old and one new code"),
            EventKind::Split if o != 1 || n < 2 => return bad("needs one old code and at least two new codes"),
            EventKind::Merge if o < 2 || n != 1 => return bad("needs at least two old codes and one new code"),
            EventKind::Extinguish if o == 0 || n != 0 => return bad("needs old codes and no new codes"),
            _ => {}
        }
        if self.actor.trim().is_empty() {
            return bad("the actor is required");
        }
        let mut seen = HashSet::new();
        for c in self.old.iter().chain(&self.new) {
            if c.county() != self.county() {
                return Err(LineageError::CrossCounty { first: self.county().to_owned(), other: c.to_string() });
            }
            // A merge may keep one old code, and an attribute-only change keeps
            // its code; otherwise every code appears once.
            let kept = matches!(self.kind, EventKind::Merge | EventKind::Change) && self.new.contains(c);
            if !seen.insert(*c) && !kept {
                return bad(&format!("{c} appears twice"));
            }
        }
        if self.kind == EventKind::Split && self.new.contains(&self.old[0]) {
            return bad("a split cannot keep the old code");
        }
        let unchanged = |c: &AnyCode| self.new.contains(c);
        let retire: Vec<AnyCode> = self.old.iter().filter(|c| !unchanged(c)).copied().collect();
        let edges = retire.iter().flat_map(|o| self.new.iter().map(move |n| (*o, *n))).collect();
        Ok(Effects { retire, edges })
    }
}

/// Why an event was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineageError {
    /// The event's shape does not fit its kind.
    #[error("{kind} event: {reason}")]
    InvalidEvent {
        /// The kind of event.
        kind: EventKind,
        /// What is wrong.
        reason: String,
    },
    /// Codes of different counties in one event.
    #[error("codes of one event must be in one county: {first} vs {other}")]
    CrossCounty {
        /// The event's county.
        first: String,
        /// A code of another county.
        other: String,
    },
    /// A code is unknown, retired, or cannot be retired.
    #[error(transparent)]
    Alloc(#[from] AllocError),
}

/// Recording events and walking the lineage.
///
/// ```
/// use unit_code::alloc::{Allocator, AnyCode, CodeStatus, MemoryAllocator};
/// use unit_code::lineage::{EventInput, EventKind, Lineage};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let reg = MemoryAllocator::new();
/// let p = reg.next_parcels("330106001002".parse().unwrap(), "GB".parse().unwrap(), 3).await?;
/// let [a, b, c] = [p[0].into(), p[1].into(), p[2].into()];
/// reg.record_event(EventInput::split("张三", a, vec![b, c])).await?;
/// assert_eq!(reg.status(a).await?, Some(CodeStatus::Historical));
/// let down = reg.descendants(a).await?;
/// assert_eq!(down.len(), 2);
/// assert!(down.iter().all(|s| s.edge.kind == EventKind::Split && s.depth == 1));
/// assert_eq!(reg.ancestors(c).await?[0].edge.old, a);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub trait Lineage: Send + Sync {
    /// Validate and record an event atomically: retire what it ends, write its edges.
    fn record_event(&self, event: EventInput) -> impl Future<Output = Result<Event, LineageError>> + Send;

    /// Every edge leading to `code`, transitively (where it came from).
    fn ancestors(&self, code: AnyCode) -> impl Future<Output = Result<Vec<LineageStep>, LineageError>> + Send;

    /// Every edge leading from `code`, transitively (what it became).
    fn descendants(&self, code: AnyCode) -> impl Future<Output = Result<Vec<LineageStep>, LineageError>> + Send;

    /// Events that name `code` as old or new, oldest first.
    fn events_of(&self, code: AnyCode) -> impl Future<Output = Result<Vec<Event>, LineageError>> + Send;
}

/// Which way to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// new → old.
    Up,
    /// old → new.
    Down,
}

/// Give each edge its distance from `root` (breadth first) and sort by
/// (depth, event, far code), so memory and PostgreSQL answer identically.
pub(crate) fn order_steps(root: AnyCode, edges: Vec<LineageEdge>, dir: Direction) -> Vec<LineageStep> {
    let ends = |e: &LineageEdge| match dir {
        Direction::Up => (e.new, e.old),
        Direction::Down => (e.old, e.new),
    };
    let near = |e: &LineageEdge| ends(e).0;
    let far = |e: &LineageEdge| ends(e).1;
    let mut by_near: HashMap<AnyCode, Vec<LineageEdge>> = HashMap::new();
    for e in edges {
        by_near.entry(near(&e)).or_default().push(e);
    }
    let mut out = Vec::new();
    let mut seen = HashSet::from([root]);
    let mut queue = VecDeque::from([(root, 0u32)]);
    while let Some((code, depth)) = queue.pop_front() {
        for e in by_near.remove(&code).unwrap_or_default() {
            let next = far(&e);
            if seen.insert(next) {
                queue.push_back((next, depth + 1));
            }
            out.push(LineageStep { depth: depth + 1, edge: e });
        }
    }
    out.sort_by_key(|s| (s.depth, s.edge.event_id, far(&s.edge)));
    out
}
impl crate::alloc::State {
    /// Record `input` (validated, all or nothing is up to the caller's transaction).
    pub(crate) fn record_event(&mut self, input: EventInput) -> Result<Event, LineageError> {
        let effects = input.effects()?;
        for c in &input.new {
            match self.record(*c).map(|r| r.status) {
                None => return Err(AllocError::UnknownCode { code: c.to_string() }.into()),
                Some(CodeStatus::Historical) => return Err(AllocError::Retired { code: c.to_string() }.into()),
                Some(CodeStatus::Current) => {}
            }
        }
        for c in &effects.retire {
            self.retire(*c)?;
        }
        let id = i64::try_from(self.lineage.events.len()).unwrap_or(i64::MAX) + 1;
        let event = Event { id, at: Utc::now(), input };
        for (old, new) in effects.edges {
            self.lineage.edges.push(LineageEdge { old, new, event_id: id, kind: event.input.kind, at: event.at });
        }
        self.lineage.events.push(event.clone());
        Ok(event)
    }

    fn walk(&self, root: AnyCode, dir: Direction) -> Vec<LineageStep> {
        // The breadth-first walk in `order_steps` keeps only what `root` reaches.
        order_steps(root, self.lineage.edges.clone(), dir)
    }
}

impl Lineage for MemoryAllocator {
    async fn record_event(&self, event: EventInput) -> Result<Event, LineageError> {
        self.transaction(|s| s.record_event(event))
    }

    async fn ancestors(&self, code: AnyCode) -> Result<Vec<LineageStep>, LineageError> {
        Ok(self.with_state(|s| s.walk(code, Direction::Up)))
    }

    async fn descendants(&self, code: AnyCode) -> Result<Vec<LineageStep>, LineageError> {
        Ok(self.with_state(|s| s.walk(code, Direction::Down)))
    }

    async fn events_of(&self, code: AnyCode) -> Result<Vec<Event>, LineageError> {
        Ok(self.with_state(|s| {
            s.lineage
                .events
                .iter()
                .filter(|e| e.input.old.contains(&code) || e.input.new.contains(&code))
                .cloned()
                .collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(n: u32) -> AnyCode {
        format!("330106001001GB{n:05}").parse().unwrap()
    }

    #[test]
    fn merge_keeping_a_code_retires_only_the_others() {
        let e = EventInput::merge("a", vec![c(1), c(2), c(3)], c(2)).effects().unwrap();
        assert_eq!(e.retire, vec![c(1), c(3)]);
        assert_eq!(e.edges, vec![(c(1), c(2)), (c(3), c(2))]);
    }

    #[test]
    fn split_edges_fan_out_and_extinguish_has_none() {
        let e = EventInput::split("a", c(1), vec![c(2), c(3)]).effects().unwrap();
        assert_eq!((e.retire, e.edges), (vec![c(1)], vec![(c(1), c(2)), (c(1), c(3))]));
        let e = EventInput::extinguish("a", vec![c(4), c(5)]).effects().unwrap();
        assert_eq!((e.retire, e.edges.len()), (vec![c(4), c(5)], 0));
    }

    #[test]
    fn order_steps_gives_breadth_first_depths_and_ignores_unreachable_edges() {
        let at = Utc::now();
        let edge = |o, n, id| LineageEdge { old: c(o), new: c(n), event_id: id, kind: EventKind::Split, at };
        // 1 -> 2 -> 4, 1 -> 3 -> 4 (diamond), and an unrelated 8 -> 9.
        let edges = vec![edge(3, 4, 3), edge(2, 4, 2), edge(1, 3, 1), edge(1, 2, 1), edge(8, 9, 4)];
        let down = order_steps(c(1), edges.clone(), Direction::Down);
        let got: Vec<_> = down.iter().map(|s| (s.depth, s.edge.old, s.edge.new)).collect();
        assert_eq!(got, vec![(1, c(1), c(2)), (1, c(1), c(3)), (2, c(2), c(4)), (2, c(3), c(4))]);
        let up = order_steps(c(4), edges, Direction::Up);
        assert_eq!(up.iter().map(|s| s.depth).collect::<Vec<_>>(), vec![1, 1, 2, 2]);
    }
}
