//! Batch renumbering (批量重编) when a sub-district is redrawn or parcels are
//! split or merged: a before → after table, then an all-or-nothing apply.
//!
//! A plan is computed from the registry's current state ([`plan`]): new parcel
//! codes are the next numbers of their scope, and everything on a renumbered
//! parcel (buildings, units) follows it. [`RenumberPlan::rows`] is the table
//! for people ([`RenumberPlan::to_csv`]); applying it ([`apply_memory`],
//! `apply_pg`) allocates the new codes, retires the old ones and writes the
//! lineage in one transaction. If anything changed since planning (a number
//! taken, a code retired) the apply is refused and nothing is written.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::alloc::{AllocError, Allocator, AnyCode, CodeStatus, Scope};
use crate::code::{BuildingCode, ParcelCode, SubdistrictCode, UnitCode};
use crate::lineage::{EventInput, LineageError};

mod apply;

pub use apply::apply_memory;
#[cfg(feature = "postgres")]
pub use apply::apply_pg;

/// What is redrawn.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Redraw {
    /// Parcels move to another sub-district (same county); each gets the next
    /// sequence number there with its own feature code.
    Move {
        /// Parcels to move.
        parcels: Vec<ParcelCode>,
        /// The sub-district they now lie in.
        to: SubdistrictCode,
    },
    /// A parcel is split. `parts[i]` lists the buildings that stand on new
    /// parcel `i`; every current building of the parcel appears exactly once.
    Split {
        /// The parcel split.
        parcel: ParcelCode,
        /// Buildings per new parcel (at least two parts; a part may be empty).
        parts: Vec<Vec<BuildingCode>>,
    },
    /// Parcels of one sub-district and feature code merge. With `keep` the
    /// result keeps that parcel's code (合并可保留原代码); otherwise it gets a new one.
    Merge {
        /// Parcels merged (at least two).
        parcels: Vec<ParcelCode>,
        /// The parcel whose code survives, if any.
        keep: Option<ParcelCode>,
    },
}

/// Why a code is renumbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// The parcel moved to another sub-district (地籍子区调整).
    Moved,
    /// The parcel was split (分割).
    Split,
    /// The parcels were merged (合并).
    Merged,
    /// A building or unit follows its renumbered parcel or building.
    Follows,
}

impl Reason {
    /// Stable English token, used in CSV.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Moved => "moved",
            Reason::Split => "split",
            Reason::Merged => "merged",
            Reason::Follows => "follows",
        }
    }

    /// The Chinese term.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Reason::Moved => "调整地籍子区",
            Reason::Split => "分割",
            Reason::Merged => "合并",
            Reason::Follows => "随上级重编",
        }
    }
}

/// One row of the before → after table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Renumbering {
    /// The code before.
    pub before: AnyCode,
    /// The code after (the same code for the kept parcel of a merge).
    pub after: AnyCode,
    /// Why.
    pub reason: Reason,
}

/// Why a renumbering was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenumberError {
    /// The request itself is inconsistent.
    #[error("invalid renumbering: {0}")]
    Invalid(String),
    /// A code to renumber is not current.
    #[error("{code} is not current and cannot be renumbered")]
    NotCurrent {
        /// The code.
        code: String,
    },
    /// A target code was issued before and retired: it can never be used again.
    #[error("{code} would reuse a retired code")]
    ReusesRetired {
        /// The code.
        code: String,
    },
    /// A target code is already in use.
    #[error("{code} already exists")]
    Collision {
        /// The code.
        code: String,
    },
    /// Numbers were allocated in a scope since the plan was made: plan again.
    #[error("stale plan: {scope} was expected to continue at {expected}, but continues at {found}")]
    StalePlan {
        /// The scope.
        scope: String,
        /// The first number the plan uses.
        expected: u32,
        /// The first number actually free.
        found: u32,
    },
    /// The registry refused a step.
    #[error(transparent)]
    Alloc(#[from] AllocError),
    /// The lineage refused an event.
    #[error(transparent)]
    Lineage(#[from] LineageError),
}

impl RenumberError {
    /// Refusals of a target code as typed errors.
    pub(crate) fn on_target(e: AllocError) -> Self {
        match e {
            AllocError::AlreadyIssued { code } => RenumberError::Collision { code },
            AllocError::Retired { code } => RenumberError::ReusesRetired { code },
            other => other.into(),
        }
    }
}

/// One write of the plan, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Allocate `count` numbers of `scope`, which must start at `first`.
    Allocate { scope: Scope, first: u32, count: u32 },
    /// Register a code computed by the plan (buildings and units of new parcels).
    Register(AnyCode),
    /// Move a counter up to `last` (keeps numbering after copied numbers).
    Raise { scope: Scope, last: u32 },
    /// Record a lifecycle event (retires the old codes).
    Event(EventInput),
}

/// A computed renumbering: the table and the writes that apply it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenumberPlan {
    /// What was asked.
    pub redraw: Redraw,
    /// Before → after, parcels first, then buildings, then units.
    pub rows: Vec<Renumbering>,
    pub(crate) steps: Vec<Step>,
}

impl RenumberPlan {
    /// The table as CSV (UTF-8, header `before,after,reason,reason_zh`).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("before,after,reason,reason_zh\n");
        for r in &self.rows {
            // Codes and reasons never contain commas or quotes.
            let _ = writeln!(out, "{},{},{},{}", r.before, r.after, r.reason.as_str(), r.reason.name_zh());
        }
        out
    }

    /// The lifecycle events the apply will record.
    pub fn events(&self) -> Vec<&EventInput> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }
}

/// Replace the first 19 characters (the parcel) or 24 (the building) of `code`.
fn reprefix(code: AnyCode, prefix: &str) -> Result<AnyCode, RenumberError> {
    let tail = code.as_str().get(prefix.len()..).unwrap_or_default();
    format!("{prefix}{tail}").parse().map_err(|e| RenumberError::Alloc(AllocError::Code(e)))
}

/// Current codes registered directly under `parent`.
async fn current_children<A: Allocator>(store: &A, parent: AnyCode) -> Result<Vec<AnyCode>, RenumberError> {
    Ok(store.children(parent).await?.into_iter().filter(|r| r.status == CodeStatus::Current).map(|r| r.code).collect())
}

async fn require_current<A: Allocator>(store: &A, code: AnyCode) -> Result<(), RenumberError> {
    match store.status(code).await? {
        Some(CodeStatus::Current) => Ok(()),
        _ => Err(RenumberError::NotCurrent { code: code.to_string() }),
    }
}

/// Builds rows and steps.
struct Builder<'a, A> {
    store: &'a A,
    actor: &'a str,
    rows: Vec<Renumbering>,
    /// Parcel-level steps first, then building/unit registrations, then events.
    allocs: Vec<Step>,
    registers: Vec<Step>,
    events: Vec<Step>,
    /// Next free number per parcel scope, as the plan consumes them.
    next: BTreeMap<String, (Scope, u32, u32)>,
}

impl<'a, A: Allocator> Builder<'a, A> {
    fn new(store: &'a A, actor: &'a str) -> Self {
        Self {
            store,
            actor,
            rows: Vec::new(),
            allocs: Vec::new(),
            registers: Vec::new(),
            events: Vec::new(),
            next: BTreeMap::new(),
        }
    }

    /// The next number of a parcel scope for this plan.
    async fn take(&mut self, scope: Scope) -> Result<ParcelCode, RenumberError> {
        let key = scope.key();
        if !self.next.contains_key(&key) {
            let last = self.store.last_issued(scope).await?;
            self.next.insert(key.clone(), (scope, last + 1, 0));
        }
        let entry = self.next.get_mut(&key).ok_or_else(|| RenumberError::Invalid("scope bookkeeping".into()))?;
        let n = entry.1 + entry.2;
        entry.2 += 1;
        match scope.code(n).map_err(AllocError::from)? {
            AnyCode::Parcel(p) => Ok(p),
            other => Err(RenumberError::Invalid(format!("{other} is not a parcel"))),
        }
    }

    /// Move building `b` (and its current units) to `nb`, copying its household counter.
    async fn follow_building(&mut self, b: BuildingCode, nb: BuildingCode) -> Result<(), RenumberError> {
        if b != nb {
            self.rows.push(Renumbering { before: b.into(), after: nb.into(), reason: Reason::Follows });
            self.registers.push(Step::Register(nb.into()));
            self.events.push(Step::Event(EventInput::change(self.actor, b.into(), nb.into())));
        }
        let last = self.store.last_issued(Scope::households(b)).await?;
        if b != nb && last > 0 {
            self.registers.push(Step::Raise { scope: Scope::households(nb), last });
        }
        for u in current_children(self.store, b.into()).await? {
            let nu = reprefix(u, nb.as_str())?;
            if nu != u {
                self.rows.push(Renumbering { before: u, after: nu, reason: Reason::Follows });
                self.registers.push(Step::Register(nu));
                self.events.push(Step::Event(EventInput::change(self.actor, u, nu)));
            }
        }
        Ok(())
    }

    fn finish(mut self, redraw: Redraw) -> RenumberPlan {
        for (scope, first, count) in self.next.into_values() {
            if count > 0 {
                self.allocs.push(Step::Allocate { scope, first, count });
            }
        }
        // Parcels are allocated first so their buildings and units can be registered.
        let steps = self.allocs.into_iter().chain(self.registers).chain(self.events).collect();
        // Stable order for people: parcels, buildings, units.
        self.rows.sort_by_key(|r| r.before.level());
        RenumberPlan { redraw, rows: self.rows, steps }
    }
}

/// Compute the renumbering of `redraw` against the current state of `store`.
///
/// ```
/// use unit_code::alloc::{Allocator, MemoryAllocator};
/// use unit_code::renumber::{apply_memory, plan, Redraw};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let reg = MemoryAllocator::new();
/// let p = reg.next_parcel("330106001001".parse().unwrap(), "GB".parse().unwrap()).await?;
/// let b = reg.next_building(p).await?;
/// reg.next_households(b, 2).await?;
/// let redraw = Redraw::Move { parcels: vec![p], to: "330106001002".parse().unwrap() };
/// let plan = plan(&reg, redraw, "李四").await?;
/// assert_eq!(plan.rows.len(), 4); // parcel, building, two households
/// assert!(plan.to_csv().contains("330106001001GB00001F00010002,330106001002GB00001F00010002,follows"));
/// apply_memory(&reg, &plan)?;
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn plan<A: Allocator>(store: &A, redraw: Redraw, actor: &str) -> Result<RenumberPlan, RenumberError> {
    let mut b = Builder::new(store, actor);
    match &redraw {
        Redraw::Move { parcels, to } => plan_move(&mut b, parcels, *to).await?,
        Redraw::Split { parcel, parts } => plan_split(&mut b, *parcel, parts).await?,
        Redraw::Merge { parcels, keep } => plan_merge(&mut b, parcels, *keep).await?,
    }
    let plan = b.finish(redraw);
    check_targets(store, &plan).await?;
    Ok(plan)
}

/// Refuse targets that exist already: retired ones can never come back, and
/// current ones would collide (except a code kept by a merge).
async fn check_targets<A: Allocator>(store: &A, plan: &RenumberPlan) -> Result<(), RenumberError> {
    let befores: std::collections::BTreeSet<AnyCode> = plan.rows.iter().map(|r| r.before).collect();
    let targets: std::collections::BTreeSet<AnyCode> =
        plan.rows.iter().map(|r| r.after).filter(|a| !befores.contains(a)).collect();
    for after in targets {
        match store.status(after).await? {
            None => {}
            Some(CodeStatus::Historical) => return Err(RenumberError::ReusesRetired { code: after.to_string() }),
            Some(CodeStatus::Current) => return Err(RenumberError::Collision { code: after.to_string() }),
        }
    }
    Ok(())
}

/// Buildings and non-building units currently on `p`.
async fn on_parcel<A: Allocator>(store: &A, p: ParcelCode) -> Result<(Vec<BuildingCode>, Vec<AnyCode>), RenumberError> {
    let mut buildings = Vec::new();
    let mut units = Vec::new();
    for c in current_children(store, p.into()).await? {
        match c {
            AnyCode::Building(b) => buildings.push(b),
            other => units.push(other),
        }
    }
    Ok((buildings, units))
}

fn no_duplicates(parcels: &[ParcelCode]) -> Result<(), RenumberError> {
    let mut seen = std::collections::BTreeSet::new();
    match parcels.iter().find(|p| !seen.insert(**p)) {
        Some(p) => Err(RenumberError::Invalid(format!("{p} is listed twice"))),
        None => Ok(()),
    }
}

async fn plan_move<A: Allocator>(
    b: &mut Builder<'_, A>,
    parcels: &[ParcelCode],
    to: SubdistrictCode,
) -> Result<(), RenumberError> {
    no_duplicates(parcels)?;
    for &p in parcels {
        require_current(b.store, p.into()).await?;
        if p.county() != to.county() {
            return Err(RenumberError::Invalid(format!("{p} cannot move to another county ({to})")));
        }
        if p.subdistrict() == to {
            return Err(RenumberError::Invalid(format!("{p} is already in {to}")));
        }
        let np = b.take(Scope::parcels(to, p.feature())).await?;
        b.rows.push(Renumbering { before: p.into(), after: np.into(), reason: Reason::Moved });
        b.events.push(Step::Event(EventInput::change(b.actor, p.into(), np.into()).with_note("moved")));
        let last = b.store.last_issued(Scope::buildings(p)).await?;
        if last > 0 {
            b.registers.push(Step::Raise { scope: Scope::buildings(np), last });
        }
        let (buildings, units) = on_parcel(b.store, p).await?;
        for old in buildings {
            let nb = BuildingCode::new(np, old.number()).map_err(AllocError::from)?;
            b.follow_building(old, nb).await?;
        }
        for u in units {
            let nu = reprefix(u, np.as_str())?;
            b.rows.push(Renumbering { before: u, after: nu, reason: Reason::Follows });
            b.registers.push(Step::Register(nu));
            b.events.push(Step::Event(EventInput::change(b.actor, u, nu)));
        }
    }
    Ok(())
}

async fn plan_split<A: Allocator>(
    b: &mut Builder<'_, A>,
    parcel: ParcelCode,
    parts: &[Vec<BuildingCode>],
) -> Result<(), RenumberError> {
    require_current(b.store, parcel.into()).await?;
    if parts.len() < 2 {
        return Err(RenumberError::Invalid(format!("a split of {parcel} needs at least two parts")));
    }
    let (mut buildings, units) = on_parcel(b.store, parcel).await?;
    let mut listed: Vec<BuildingCode> = parts.iter().flatten().copied().collect();
    buildings.sort_unstable();
    listed.sort_unstable();
    if buildings != listed {
        return Err(RenumberError::Invalid(format!(
            "the parts of {parcel} must list each of its current buildings exactly once"
        )));
    }
    let scope = Scope::parcels(parcel.subdistrict(), parcel.feature());
    let mut new_parcels = Vec::new();
    for part in parts {
        let np = b.take(scope).await?;
        new_parcels.push(AnyCode::Parcel(np));
        b.rows.push(Renumbering { before: parcel.into(), after: np.into(), reason: Reason::Split });
        // Buildings are numbered 1.. on each new parcel, in the order given.
        for (i, &old) in part.iter().enumerate() {
            let number = u16::try_from(i + 1).map_err(|_| RenumberError::Invalid("too many buildings".into()))?;
            b.follow_building(old, BuildingCode::new(np, number).map_err(AllocError::from)?).await?;
        }
    }
    b.events.push(Step::Event(EventInput::split(b.actor, parcel.into(), new_parcels.clone())));
    // Units on the land itself (e.g. the land-only unit) split with the parcel.
    for u in units {
        let mut news = Vec::new();
        for np in &new_parcels {
            let nu = reprefix(u, np.as_str())?;
            b.rows.push(Renumbering { before: u, after: nu, reason: Reason::Split });
            b.registers.push(Step::Register(nu));
            news.push(nu);
        }
        b.events.push(Step::Event(EventInput::split(b.actor, u, news)));
    }
    Ok(())
}

async fn plan_merge<A: Allocator>(
    b: &mut Builder<'_, A>,
    parcels: &[ParcelCode],
    keep: Option<ParcelCode>,
) -> Result<(), RenumberError> {
    no_duplicates(parcels)?;
    let Some(&first) = parcels.first() else { return Err(RenumberError::Invalid("nothing to merge".into())) };
    if parcels.len() < 2 {
        return Err(RenumberError::Invalid("a merge needs at least two parcels".into()));
    }
    let scope = Scope::parcels(first.subdistrict(), first.feature());
    for &p in parcels {
        require_current(b.store, p.into()).await?;
        if Scope::parcels(p.subdistrict(), p.feature()) != scope {
            return Err(RenumberError::Invalid(format!("{p} is not in {scope}; move it first")));
        }
    }
    let result = match keep {
        Some(k) if !parcels.contains(&k) => {
            return Err(RenumberError::Invalid(format!("the kept parcel {k} is not among the merged parcels")))
        }
        Some(k) => k,
        None => b.take(scope).await?,
    };
    // Buildings of the kept parcel stay; the others are numbered after them.
    let mut next_building = match keep {
        Some(k) => b.store.last_issued(Scope::buildings(k)).await?,
        None => 0,
    };
    let first_new_building = next_building + 1;
    let mut land_units = Vec::new();
    for &p in parcels {
        b.rows.push(Renumbering { before: p.into(), after: result.into(), reason: Reason::Merged });
        let (buildings, units) = on_parcel(b.store, p).await?;
        if Some(p) != keep {
            for old in buildings {
                next_building += 1;
                let number = u16::try_from(next_building).map_err(|_| AllocError::Exhausted {
                    scope: Scope::buildings(result).to_string(),
                    limit: Scope::buildings(result).limit(),
                    requested: 1,
                })?;
                b.follow_building(old, BuildingCode::new(result, number).map_err(AllocError::from)?).await?;
            }
        }
        land_units.extend(units);
    }
    if let Some(k) = keep {
        if next_building >= first_new_building {
            // The kept parcel's own counter continues after the moved buildings.
            b.allocs.push(Step::Allocate {
                scope: Scope::buildings(k),
                first: first_new_building,
                count: next_building + 1 - first_new_building,
            });
            // Those buildings are created by the allocation, not registered.
            let moved: Vec<AnyCode> = (first_new_building..=next_building)
                .map(|n| Scope::buildings(k).code(n).map_err(AllocError::from))
                .collect::<Result<_, _>>()?;
            b.registers.retain(|s| !matches!(s, Step::Register(c) if moved.contains(c)));
        }
    } else if next_building > 0 {
        b.registers.push(Step::Raise { scope: Scope::buildings(result), last: next_building });
    }
    let olds: Vec<AnyCode> = parcels.iter().map(|p| AnyCode::Parcel(*p)).collect();
    b.events.push(Step::Event(EventInput::merge(b.actor, olds, result.into())));
    // Units on the land merge into the result's unit of the same kind.
    let mut by_target: BTreeMap<AnyCode, Vec<AnyCode>> = BTreeMap::new();
    for u in land_units {
        by_target.entry(reprefix(u, result.as_str())?).or_default().push(u);
    }
    for (target, olds) in by_target {
        let kept = olds.contains(&target);
        for &u in &olds {
            b.rows.push(Renumbering { before: u, after: target, reason: Reason::Merged });
        }
        if !kept {
            b.registers.push(Step::Register(target));
        }
        let event = if olds.len() == 1 && !kept {
            EventInput::change(b.actor, olds[0], target)
        } else if olds.len() == 1 {
            continue;
        } else {
            EventInput::merge(b.actor, olds, target)
        };
        b.events.push(Step::Event(event));
    }
    Ok(())
}

/// The land-only unit code of a parcel (`W00000000`).
pub fn land_unit(p: ParcelCode) -> UnitCode {
    UnitCode::land_only(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reprefix_keeps_the_fixture_part() {
        let u: AnyCode = "330106001001GB00001F00020003".parse().unwrap();
        let moved = reprefix(u, "330106001002GB00007").unwrap();
        assert_eq!(moved.as_str(), "330106001002GB00007F00020003");
        let rebuilt = reprefix(u, "330106001002GB00007F0009").unwrap();
        assert_eq!(rebuilt.as_str(), "330106001002GB00007F00090003");
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_row() {
        let code = |s: &str| s.parse::<AnyCode>().unwrap();
        let plan = RenumberPlan {
            redraw: Redraw::Merge { parcels: Vec::new(), keep: None },
            rows: vec![Renumbering {
                before: code("330106001001GB00001"),
                after: code("330106001001GB00003"),
                reason: Reason::Merged,
            }],
            steps: Vec::new(),
        };
        assert_eq!(
            plan.to_csv(),
            "before,after,reason,reason_zh\n330106001001GB00001,330106001001GB00003,merged,合并\n"
        );
    }
}
