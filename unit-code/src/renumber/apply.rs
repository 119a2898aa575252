//! Applying a plan, all or nothing: in memory on a copy of the state, in
//! PostgreSQL in one transaction.

use super::{RenumberError, RenumberPlan, Step};
use crate::alloc::{AllocError, MemoryAllocator};
use crate::lineage::LineageError;

/// An event that finds an old code already retired or gone means the plan is stale.
fn on_event(e: LineageError) -> RenumberError {
    match e {
        LineageError::Alloc(AllocError::Retired { code } | AllocError::UnknownCode { code }) => {
            RenumberError::NotCurrent { code }
        }
        other => other.into(),
    }
}

fn stale(step: &Step, found: u32) -> Option<RenumberError> {
    match step {
        Step::Allocate { scope, first, .. } if *first != found => {
            Some(RenumberError::StalePlan { scope: scope.to_string(), expected: *first, found })
        }
        _ => None,
    }
}

/// Apply `plan` to the in-memory registry: every step or none.
pub fn apply_memory(store: &MemoryAllocator, plan: &RenumberPlan) -> Result<(), RenumberError> {
    store.transaction(|s| {
        for step in &plan.steps {
            match step {
                Step::Allocate { scope, count, .. } => {
                    if let Some(e) = stale(step, s.last_issued(*scope) + 1) {
                        return Err(e);
                    }
                    s.allocate(*scope, *count).map_err(RenumberError::on_target)?;
                }
                Step::Register(code) => s.register(*code).map_err(RenumberError::on_target)?,
                Step::Raise { scope, last } => s.raise_counter(*scope, *last),
                Step::Event(event) => {
                    s.record_event(event.clone()).map_err(on_event)?;
                }
            }
        }
        Ok(())
    })
}

/// Apply `plan` to PostgreSQL in one transaction: new codes allocated and
/// registered, old ones retired, lineage written, or nothing at all.
#[cfg(feature = "postgres")]
pub async fn apply_pg(pool: &sqlx::PgPool, plan: &RenumberPlan) -> Result<(), RenumberError> {
    use crate::alloc::PgAllocator;

    let mut tx = pool.begin().await.map_err(AllocError::db("starting a transaction"))?;
    for step in &plan.steps {
        match step {
            Step::Allocate { scope, count, .. } => {
                let run = PgAllocator::allocate_in(&mut tx, *scope, *count).await.map_err(RenumberError::on_target)?;
                if let Some(e) = stale(step, run.first) {
                    return Err(e);
                }
            }
            Step::Register(code) => PgAllocator::register_in(&mut tx, *code).await.map_err(RenumberError::on_target)?,
            Step::Raise { scope, last } => PgAllocator::raise_counter_in(&mut tx, *scope, *last).await?,
            Step::Event(event) => {
                PgAllocator::record_event_in(&mut tx, event.clone()).await.map_err(on_event)?;
            }
        }
    }
    tx.commit().await.map_err(AllocError::db("committing a renumbering"))?;
    Ok(())
}
