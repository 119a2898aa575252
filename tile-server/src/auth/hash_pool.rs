//! A bounded pool for password hashing (argon2id: ~19 MiB and tens of
//! milliseconds of CPU per call), so a login flood cannot starve other requests.
//!
//! Hashing runs on Tokio's blocking threads, never on the async workers that
//! serve every other request. At most `workers` hashes run at once; at most
//! `queue` more wait; beyond that a login is answered at once with 503 `busy`
//! (it would have waited too long anyway), so neither memory nor threads grow
//! with the flood.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tile_server::auth::hash_pool::HashPool;
//! let pool = HashPool::new(1, 4);
//! assert_eq!(pool.run(|| 2 + 2).await.unwrap(), 4);
//! # });
//! ```

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::error::AppError;

/// Hashing slots and a bounded queue in front of them.
#[derive(Debug)]
pub struct HashPool {
    slots: Semaphore,
    workers: usize,
    limit: usize,
    /// Jobs admitted: running plus waiting.
    admitted: AtomicUsize,
    completed: AtomicU64,
}

/// Frees the admission when a job ends, however it ends (even if its request is dropped).
struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashPool {
    /// `workers` hashes at once, `queue` more waiting.
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        Self {
            slots: Semaphore::new(workers),
            workers,
            limit: workers + queue,
            admitted: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
        }
    }

    /// One worker per two cores (at least one), a queue of 16 per worker.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let workers = (cores / 2).max(1);
        Self::new(workers, 16 * workers)
    }

    /// Runs `job` on a blocking thread once a slot is free; 503 `busy` when the
    /// queue is full.
    pub async fn run<T, F>(&self, job: F) -> Result<T, AppError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(AppError::Busy);
        }
        let _admission = Admission(&self.admitted);
        let _slot = self.slots.acquire().await.map_err(|_| AppError::Busy)?;
        let out = tokio::task::spawn_blocking(job).await.map_err(|e| AppError::internal("password hashing task", e))?;
        self.completed.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    /// Jobs waiting for a slot (not running yet).
    pub fn waiting(&self) -> usize {
        self.admitted.load(Ordering::Acquire).saturating_sub(self.workers)
    }

    /// Jobs admitted (running or waiting).
    pub fn admitted(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }

    /// Hashing slots.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Jobs finished since start.
    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_answers_busy_and_frees_on_completion() {
        let pool = std::sync::Arc::new(HashPool::new(1, 1));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let p = pool.clone();
        let first = tokio::spawn(async move { p.run(move || rx.recv().is_ok()).await });
        while pool.admitted() < 1 {
            tokio::task::yield_now().await;
        }
        let p = pool.clone();
        let second = tokio::spawn(async move { p.run(|| 7).await });
        while pool.admitted() < 2 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(pool.run(|| 0).await, Err(AppError::Busy)), "third job finds the queue full");
        let _ = tx.send(());
        assert!(matches!(first.await, Ok(Ok(true))));
        assert!(matches!(second.await, Ok(Ok(7))));
        assert_eq!(pool.admitted(), 0);
        assert_eq!(pool.completed(), 2);
    }
}
