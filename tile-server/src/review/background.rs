//! A thread of its own for a reviewer's heavy request (an accept): its own single-threaded
//! runtime at [`super::worker::BACKGROUND_NICE`], its blocking threads too, and its own database pool.
//!
//! Why not the request's own thread: connections are served by single-threaded runtimes
//! (`serve`), so an accept's CPU-bound stretches (the stored diff parsed, 5,000 parcels
//! encoded, audit rows built) would hold up every other connection of that thread. And why a
//! pool of its own: a connection is driven by the runtime that created it, so this runtime's
//! sessions are used here only.

use std::future::Future;

use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::worker::low_priority_runtime;
use crate::error::{AppError, Result};

/// The background runtime and its pool; the thread ends when this is dropped.
#[derive(Debug)]
pub struct Background {
    handle: Handle,
    db: PgPool,
    _stop: oneshot::Sender<()>,
}

impl Background {
    /// Starts the thread; its pool (of up to `max_connections` sessions, named `name` in
    /// `pg_stat_activity`) connects lazily, from that thread.
    pub fn start(options: PgConnectOptions, name: &str, max_connections: u32) -> std::io::Result<Self> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let name = name.to_owned();
        std::thread::Builder::new().name("accept".into()).spawn(move || {
            let runtime = match low_priority_runtime("accept-blocking") {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                // Its sessions keep their priority: an accept writes, and a backend that is
                // preempted while it holds a buffer or WAL lock holds up the API calls that need
                // it (measured at saturation: p99 85–500 ms, stalls up to 1.6 s).
                let db = crate::db::pool_options()
                    .max_connections(max_connections)
                    .connect_lazy_with(options.application_name(&name));
                let _ = ready_tx.send(Ok((Handle::current(), db)));
                // Until the owner is gone: then the runtime and its sessions end.
                let _ = stop_rx.await;
            });
        })?;
        let (handle, db) =
            ready_rx.recv().map_err(|_| std::io::Error::other("the background thread ended before it started"))??;
        Ok(Self { handle, db, _stop: stop_tx })
    }

    /// Runs `work` (given this runtime's pool) on the background thread and awaits its result.
    /// The work goes on to its end if the caller stops waiting (a client that hung up), so a
    /// transaction is never cut off half-way by a closed connection.
    pub async fn run<T, F, Fut>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(PgPool) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let task = self.handle.spawn(work(self.db.clone()));
        task.await.map_err(|e| AppError::internal("background task", e))?
    }
}
