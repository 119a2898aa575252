//! In-memory registry: counters and issued codes behind one mutex, for the
//! offline desktop and for tests.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use chrono::Utc;

use super::{check_count, AllocError, Allocator, AnyCode, CodeRecord, CodeStatus, Issued, Scope};
use crate::record::LineageLog;

/// [`Allocator`] kept in memory. One mutex guards all state, so every call is
/// atomic and numbers are dense and unique however many tasks share it.
///
/// ```
/// use unit_code::alloc::{Allocator, CodeStatus, MemoryAllocator};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let alloc = MemoryAllocator::new();
/// // Imported data: register what exists, allocation continues after it.
/// let parcel = "330106001002GB00041".parse().unwrap();
/// alloc.register(unit_code::alloc::AnyCode::Parcel(parcel)).await?;
/// let next = alloc.next_parcel("330106001002".parse().unwrap(), "GB".parse().unwrap()).await?;
/// assert_eq!(next.sequence(), 42);
/// // Households of a whole building in one contiguous batch.
/// let b = alloc.next_building(next).await?;
/// let units = alloc.next_households(b, 24).await?;
/// assert_eq!(units.len(), 24);
/// assert_eq!(alloc.status(units[0].into()).await?, Some(CodeStatus::Current));
/// # Ok::<_, unit_code::alloc::AllocError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct MemoryAllocator {
    state: Mutex<State>,
}

/// Everything the in-memory registry holds.
#[derive(Debug, Default, Clone)]
pub(crate) struct State {
    /// Scope key → last number issued.
    counters: HashMap<String, u32>,
    /// Code → record.
    units: BTreeMap<String, CodeRecord>,
    /// Parent key → codes registered under it.
    children: HashMap<String, BTreeSet<String>>,
    /// Events and lineage edges.
    pub(crate) lineage: LineageLog,
}

impl MemoryAllocator {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Run `f` with the state locked. A panic in another holder does not
    /// poison the registry: every mutation validates before it writes.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// All or nothing: run `f` on a copy and keep it only if `f` succeeds.
    pub(crate) fn transaction<R, E>(&self, f: impl FnOnce(&mut State) -> Result<R, E>) -> Result<R, E> {
        self.with_state(|state| {
            let mut copy = state.clone();
            let out = f(&mut copy)?;
            *state = copy;
            Ok(out)
        })
    }

    /// Every code ever issued or registered, with its status, in code order.
    pub fn codes(&self) -> Vec<(AnyCode, CodeStatus)> {
        self.with_state(|s| s.units.values().map(|r| (r.code, r.status)).collect())
    }
}

impl State {
    /// Check that `parent` is known and current.
    pub(crate) fn check_parent(&self, parent: Option<AnyCode>) -> Result<(), AllocError> {
        let Some(parent) = parent else { return Ok(()) };
        match self.units.get(parent.as_str()) {
            None => Err(AllocError::UnknownParent { parent: parent.to_string() }),
            Some(r) if r.status == CodeStatus::Historical => Err(AllocError::Retired { code: parent.to_string() }),
            Some(_) => Ok(()),
        }
    }

    pub(crate) fn allocate(&mut self, scope: Scope, n: u32) -> Result<Issued, AllocError> {
        check_count(&scope, n)?;
        self.check_parent(scope.parent())?;
        let key = scope.key();
        let last = self.counters.get(&key).copied().unwrap_or(0);
        if last + n > scope.limit() {
            return Err(AllocError::Exhausted { scope: scope.to_string(), limit: scope.limit(), requested: n });
        }
        let issued = Issued { scope, first: last + 1, last: last + n };
        let codes = issued.codes()?;
        if let Some(taken) = codes.iter().find(|c| self.units.contains_key(c.as_str())) {
            // Only possible if a code was registered past the counter by hand.
            return Err(AllocError::AlreadyIssued { code: taken.to_string() });
        }
        for code in codes {
            self.insert(code);
        }
        self.counters.insert(key, issued.last);
        Ok(issued)
    }

    fn insert(&mut self, code: AnyCode) {
        let record = CodeRecord { code, status: CodeStatus::Current, created_at: Utc::now(), retired_at: None };
        self.children.entry(code.parent_key()).or_default().insert(code.to_string());
        self.units.insert(code.to_string(), record);
    }

    pub(crate) fn register(&mut self, code: AnyCode) -> Result<(), AllocError> {
        if let Some(r) = self.units.get(code.as_str()) {
            return Err(match r.status {
                CodeStatus::Current => AllocError::AlreadyIssued { code: code.to_string() },
                CodeStatus::Historical => AllocError::Retired { code: code.to_string() },
            });
        }
        self.check_parent(code.parent())?;
        if let Some((scope, n)) = code.numbered_in() {
            let counter = self.counters.entry(scope.key()).or_insert(0);
            *counter = (*counter).max(n);
        }
        self.insert(code);
        Ok(())
    }

    pub(crate) fn retire(&mut self, code: AnyCode) -> Result<(), AllocError> {
        match self.units.get_mut(code.as_str()) {
            None => Err(AllocError::UnknownCode { code: code.to_string() }),
            Some(r) if r.status == CodeStatus::Historical => Err(AllocError::Retired { code: code.to_string() }),
            Some(r) => {
                r.status = CodeStatus::Historical;
                r.retired_at = Some(Utc::now());
                Ok(())
            }
        }
    }

    pub(crate) fn record(&self, code: AnyCode) -> Option<CodeRecord> {
        self.units.get(code.as_str()).cloned()
    }

    pub(crate) fn last_issued(&self, scope: Scope) -> u32 {
        self.counters.get(&scope.key()).copied().unwrap_or(0)
    }

    /// Move a counter forward to `last` (used when a renumbered parcel keeps
    /// its buildings' numbers).
    pub(crate) fn raise_counter(&mut self, scope: Scope, last: u32) {
        let counter = self.counters.entry(scope.key()).or_insert(0);
        *counter = (*counter).max(last);
    }

    pub(crate) fn children(&self, parent: AnyCode) -> Vec<CodeRecord> {
        self.children
            .get(parent.as_str())
            .map(|set| set.iter().filter_map(|c| self.units.get(c).cloned()).collect())
            .unwrap_or_default()
    }
}

impl Allocator for MemoryAllocator {
    async fn allocate(&self, scope: Scope, n: u32) -> Result<Issued, AllocError> {
        self.with_state(|s| s.allocate(scope, n))
    }

    async fn retire(&self, code: AnyCode) -> Result<(), AllocError> {
        self.with_state(|s| s.retire(code))
    }

    async fn register(&self, code: AnyCode) -> Result<(), AllocError> {
        self.with_state(|s| s.register(code))
    }

    async fn record(&self, code: AnyCode) -> Result<Option<CodeRecord>, AllocError> {
        Ok(self.with_state(|s| s.record(code)))
    }

    async fn last_issued(&self, scope: Scope) -> Result<u32, AllocError> {
        Ok(self.with_state(|s| s.last_issued(scope)))
    }

    async fn children(&self, parent: AnyCode) -> Result<Vec<CodeRecord>, AllocError> {
        Ok(self.with_state(|s| s.children(parent)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::Level;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    fn parcels() -> Scope {
        Scope::parcels("330106001002".parse().unwrap(), "GB".parse().unwrap())
    }

    #[test]
    fn batches_are_contiguous_and_dense() {
        let a = MemoryAllocator::new();
        block(async {
            let one = a.allocate(parcels(), 1).await.unwrap();
            let many = a.allocate(parcels(), 10).await.unwrap();
            assert_eq!((one.first, one.last), (1, 1));
            assert_eq!((many.first, many.last), (2, 11));
            assert_eq!(a.last_issued(parcels()).await.unwrap(), 11);
        });
    }

    #[test]
    fn exhaustion_is_all_or_nothing() {
        let a = MemoryAllocator::new();
        block(async {
            a.allocate(parcels(), 99_990).await.unwrap();
            let e = a.allocate(parcels(), 10).await.unwrap_err();
            assert!(matches!(e, AllocError::Exhausted { limit: 99_999, requested: 10, .. }), "{e}");
            assert_eq!(a.last_issued(parcels()).await.unwrap(), 99_990);
            assert_eq!(a.allocate(parcels(), 9).await.unwrap().last, 99_999);
            assert!(matches!(a.allocate(parcels(), 1).await, Err(AllocError::Exhausted { .. })));
        });
    }

    #[test]
    fn parents_must_exist_and_be_current() {
        let a = MemoryAllocator::new();
        block(async {
            let stranger: crate::code::ParcelCode = "330106001002GB00077".parse().unwrap();
            assert!(matches!(a.next_building(stranger).await, Err(AllocError::UnknownParent { .. })));
            let p = a.allocate(parcels(), 1).await.unwrap().parcels().unwrap()[0];
            a.retire(p.into()).await.unwrap();
            assert!(matches!(a.next_building(p).await, Err(AllocError::Retired { .. })));
            assert!(matches!(a.retire(p.into()).await, Err(AllocError::Retired { .. })));
            assert!(matches!(a.retire(stranger.into()).await, Err(AllocError::UnknownCode { .. })));
        });
    }

    #[test]
    fn zero_and_oversized_batches_are_refused() {
        let a = MemoryAllocator::new();
        block(async {
            assert!(matches!(a.allocate(parcels(), 0).await, Err(AllocError::InvalidCount { .. })));
            assert!(matches!(a.allocate(parcels(), 100_000).await, Err(AllocError::InvalidCount { .. })));
        });
    }

    #[test]
    fn register_moves_the_counter_and_refuses_duplicates() {
        let a = MemoryAllocator::new();
        block(async {
            let p: AnyCode = "330106001002GB00005".parse().unwrap();
            a.register(p).await.unwrap();
            assert!(matches!(a.register(p).await, Err(AllocError::AlreadyIssued { .. })));
            assert_eq!(a.last_issued(parcels()).await.unwrap(), 5);
            let land: AnyCode = "330106001002GB00005W00000000".parse().unwrap();
            a.register(land).await.unwrap();
            let kids = a.children(p).await.unwrap();
            assert_eq!(kids.iter().map(|r| r.code).collect::<Vec<_>>(), vec![land]);
            assert_eq!(kids[0].code.level(), Level::Unit);
        });
    }
}
