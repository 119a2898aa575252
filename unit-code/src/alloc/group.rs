//! Group commit for [`PgAllocator`](super::PgAllocator): concurrent requests
//! of one scope share one transaction.
//!
//! Without it, each request in a scope waits for the counter row lock and then
//! for its own commit (the WAL flush), so 16 clients asking for one code each
//! are served one flush at a time. Here the first request of a scope starts a
//! worker task; requests that arrive while the worker's transaction is in
//! flight queue up, and the worker's next transaction allocates all of them at
//! once (Σ n numbers) and hands each request its own contiguous sub-run, in
//! arrival order. The worker keeps one connection for its batches: taking it
//! from the pool each time costs a round trip more (the pool pings what it
//! hands out), which was a third of a batch's time.
//!
//! The guarantees are those of one transaction: the counter and every issued
//! code are written and committed together, so a process killed at any point
//! leaves either the whole batch recorded or none of it (no gap, no duplicate).
//! A request whose caller has gone away before its batch starts is left out.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use tokio::sync::oneshot;

use super::{AllocError, Issued, Scope};

/// One caller waiting for `n` numbers.
struct Request {
    n: u32,
    reply: oneshot::Sender<Result<Issued, AllocError>>,
}

/// The queues of the scopes that have a worker running; a scope is in the map
/// exactly while its worker runs.
#[derive(Default)]
pub(super) struct Group {
    queues: Mutex<HashMap<Scope, Vec<Request>>>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").finish_non_exhaustive()
    }
}

impl Group {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Scope, Vec<Request>>> {
        // The map stays consistent whatever panicked while holding the lock.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Requests of `scope` waiting for the next batch.
    pub(super) fn queued(&self, scope: Scope) -> usize {
        self.lock().get(&scope).map_or(0, Vec::len)
    }

    /// Queue `n` numbers of `scope` and wait for the batch that serves them.
    /// `n` has been checked against the scope's limit.
    pub(super) async fn allocate(self: &Arc<Self>, pool: &PgPool, scope: Scope, n: u32) -> Result<Issued, AllocError> {
        let (reply, answer) = oneshot::channel();
        let start_worker = match self.lock().entry(scope) {
            Entry::Occupied(mut queue) => {
                queue.get_mut().push(Request { n, reply });
                false
            }
            Entry::Vacant(slot) => {
                slot.insert(vec![Request { n, reply }]);
                true
            }
        };
        if start_worker {
            // A task of its own, so a caller that gives up mid-transaction
            // cannot abort a batch that serves other callers.
            tokio::spawn(Worker { group: Arc::clone(self), scope, left: false }.run(pool.clone()));
        }
        answer.await.map_err(|_| AllocError::Corrupt("the allocation worker stopped without an answer".into()))?
    }
}

/// Runs batches of one scope until its queue is empty.
struct Worker {
    group: Arc<Group>,
    scope: Scope,
    /// Set when [`Worker::take`] removed the scope from the map.
    left: bool,
}

impl Worker {
    async fn run(mut self, pool: PgPool) {
        // One connection for the worker's batches: no pool round between them.
        let mut conn: Option<PoolConnection<Postgres>> = None;
        loop {
            // Callers woken by the last batch queue their next request first,
            // so the next batch is as large as the demand.
            tokio::task::yield_now().await;
            let batch = self.take();
            if batch.is_empty() {
                return;
            }
            let c = match conn.take() {
                Some(c) => c,
                None => match pool.acquire().await {
                    Ok(c) => c,
                    Err(e) => {
                        let e = AllocError::db("acquiring a connection")(e);
                        for r in batch {
                            let _ = r.reply.send(Err(e.clone()));
                        }
                        continue;
                    }
                },
            };
            conn = serve(c, self.scope, batch).await;
        }
    }

    /// The next batch: queued requests in arrival order while Σ n fits the
    /// scope; callers that went away are dropped. Empty = the worker ends
    /// (and leaves the map in the same critical section, so a request is
    /// never queued to a worker that has ended).
    fn take(&mut self) -> Vec<Request> {
        let mut queues = self.group.lock();
        let Some(queue) = queues.get_mut(&self.scope) else { return Vec::new() };
        queue.retain(|r| !r.reply.is_closed());
        let count = batch_len(queue.iter().map(|r| r.n), self.scope.limit());
        if count == 0 {
            queues.remove(&self.scope);
            self.left = true;
            return Vec::new();
        }
        queue.drain(..count).collect()
    }
}

impl Drop for Worker {
    /// A worker dropped early (runtime shut down, panic) leaves the map, so
    /// the next request starts a fresh worker; its queued callers get an error.
    fn drop(&mut self) {
        if !self.left {
            self.group.lock().remove(&self.scope);
        }
    }
}

/// Allocate for every request of `batch` in one transaction (one statement on
/// `conn`) and answer each. Gives the connection back unless it failed.
async fn serve(
    mut conn: PoolConnection<Postgres>,
    scope: Scope,
    batch: Vec<Request>,
) -> Option<PoolConnection<Postgres>> {
    let total = batch.iter().map(|r| r.n).sum();
    match super::PgAllocator::allocate_in(&mut conn, scope, total).await {
        Ok(run) => {
            let runs = sub_runs(run.first, batch.iter().map(|r| r.n));
            for (r, (first, last)) in batch.into_iter().zip(runs) {
                // A caller gone since the batch started: its codes stay issued
                // and recorded (dense), just unused, as with a lost commit reply.
                let _ = r.reply.send(Ok(Issued { scope, first, last }));
            }
            Some(conn)
        }
        // The scope cannot hold them all: serve one by one, in order, so each
        // request gets what it would have got alone.
        Err(AllocError::Exhausted { .. }) if batch.len() > 1 => {
            for r in batch {
                let one = super::PgAllocator::allocate_in(&mut conn, scope, r.n).await;
                let _ = r.reply.send(one);
            }
            Some(conn)
        }
        Err(e) => {
            for r in batch {
                let _ = r.reply.send(Err(e.clone()));
            }
            // Refused (exhausted, unknown parent) or broken: a fresh one next time.
            None
        }
    }
}

/// How many of the queued sizes (in order) go into one batch: as many as fit
/// `limit` together. Every size is at most `limit`, so a non-empty queue gives ≥ 1.
fn batch_len(sizes: impl Iterator<Item = u32>, limit: u32) -> usize {
    let (mut total, mut count) = (0u32, 0);
    for n in sizes {
        match total.checked_add(n) {
            Some(t) if t <= limit => (total, count) = (t, count + 1),
            _ => break,
        }
    }
    count
}

/// Split the run starting at `first` into consecutive runs of `sizes`, as `(first, last)`.
fn sub_runs(first: u32, sizes: impl Iterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut next = first;
    sizes
        .map(|n| {
            let run = (next, next + n - 1);
            next += n;
            run
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{batch_len, sub_runs};
    use proptest::prelude::*;

    proptest! {
        /// The batch is the longest prefix that fits the limit, and never empty
        /// when the first request fits.
        #[test]
        fn batch_is_the_longest_prefix_that_fits(sizes in prop::collection::vec(1u32..=9_999, 0..40), limit in 9_999u32..=99_999) {
            let k = batch_len(sizes.iter().copied(), limit);
            let sum: u64 = sizes[..k].iter().map(|&n| u64::from(n)).sum();
            prop_assert!(sum <= u64::from(limit));
            if k < sizes.len() {
                prop_assert!(sum + u64::from(sizes[k]) > u64::from(limit));
            }
            prop_assert_eq!(k == 0, sizes.is_empty());
        }

        /// Sub-runs are contiguous, in request order, of the requested sizes,
        /// and together exactly the batch's run.
        #[test]
        fn sub_runs_tile_the_batch(first in 1u32..50_000, sizes in prop::collection::vec(1u32..=500, 1..40)) {
            let runs = sub_runs(first, sizes.iter().copied());
            prop_assert_eq!(runs.len(), sizes.len());
            prop_assert_eq!(runs[0].0, first);
            for (i, &(a, b)) in runs.iter().enumerate() {
                prop_assert_eq!(b + 1 - a, sizes[i]);
                if i > 0 {
                    prop_assert_eq!(a, runs[i - 1].1 + 1);
                }
            }
            let total: u32 = sizes.iter().sum();
            prop_assert_eq!(runs[runs.len() - 1].1, first + total - 1);
        }
    }
}
