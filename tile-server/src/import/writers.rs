//! Connections writing batches in parallel (`--writers`); each batch is its own
//! transaction ([`store::write_batch`]). The reader is one thread; the database is
//! what takes the time (index maintenance), so several writers keep it busy.

use cadastre_core::model::Layer;
use sqlx::PgPool;

use super::store::{self, RunInfo, Written};
use super::{layer_mut, ImportError, ImportSummary, Progress};

type Done = (Layer, u64, Result<Written, ImportError>);

/// Connections writing batches in parallel; each batch is its own transaction.
pub(super) struct Writers {
    queue: Option<async_queue::Sender<store::Batch>>,
    done: tokio::sync::mpsc::UnboundedReceiver<Done>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    in_flight: usize,
    capacity: usize,
}

/// A bounded multi-consumer queue: an mpsc receiver shared behind a mutex.
mod async_queue {
    use std::sync::Arc;
    use tokio::sync::{mpsc, Mutex};

    pub type Sender<T> = mpsc::Sender<T>;

    #[derive(Debug)]
    pub struct Receiver<T>(Arc<Mutex<mpsc::Receiver<T>>>);

    impl<T> Clone for Receiver<T> {
        fn clone(&self) -> Self {
            Self(Arc::clone(&self.0))
        }
    }

    impl<T> Receiver<T> {
        pub async fn recv(&self) -> Option<T> {
            self.0.lock().await.recv().await
        }
    }

    pub fn channel<T>(n: usize) -> (Sender<T>, Receiver<T>) {
        let (tx, rx) = mpsc::channel(n);
        (tx, Receiver(Arc::new(Mutex::new(rx))))
    }
}

impl Writers {
    pub(super) async fn start(
        pool: &PgPool,
        n: usize,
        run_id: i64,
        county: &str,
        run: &RunInfo,
    ) -> Result<Self, ImportError> {
        let (queue, rx) = async_queue::channel::<store::Batch>(1);
        let (done_tx, done) = tokio::sync::mpsc::unbounded_channel::<Done>();
        let mut tasks = Vec::new();
        let fresh = {
            let mut conn = pool.acquire().await.map_err(ImportError::db("connecting a writer"))?;
            store::fresh_layers(&mut conn, county).await?
        };
        for _ in 0..n {
            let mut conn = pool.acquire().await.map_err(ImportError::db("connecting a writer"))?;
            store::prepare(&mut conn).await?;
            let (rx, done_tx, county, run) = (rx.clone(), done_tx.clone(), county.to_owned(), run.clone());
            let fresh = fresh.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(batch) = rx.recv().await {
                    let r = store::write_batch(&mut conn, run_id, &county, &run, &batch, fresh.contains(&batch.layer))
                        .await;
                    let failed = r.is_err();
                    if done_tx.send((batch.layer, batch.rows, r)).is_err() || failed {
                        break;
                    }
                }
            }));
        }
        Ok(Self { queue: Some(queue), done, tasks, in_flight: 0, capacity: n })
    }

    fn account(summary: &mut ImportSummary, progress: &dyn Progress, done: Done) -> Result<(), ImportError> {
        let (layer, rows, result) = done;
        let w = result?;
        let s = layer_mut(summary, layer);
        s.inserted += w.inserted;
        s.updated += w.updated;
        s.unchanged += w.unchanged;
        progress.advance(rows);
        Ok(())
    }

    /// Queues a batch; waits for a result first when enough are in flight.
    pub(super) async fn send(
        &mut self,
        batch: store::Batch,
        summary: &mut ImportSummary,
        progress: &dyn Progress,
    ) -> Result<(), ImportError> {
        while self.in_flight >= self.capacity {
            self.wait_one(summary, progress).await?;
        }
        let Some(q) = &self.queue else { return Err(ImportError::Reader("writers stopped".into())) };
        q.send(batch).await.map_err(|_| ImportError::Reader("every writer stopped".into()))?;
        self.in_flight += 1;
        // Collect results that are already there without waiting.
        while let Ok(d) = self.done.try_recv() {
            self.in_flight -= 1;
            Self::account(summary, progress, d)?;
        }
        Ok(())
    }

    async fn wait_one(&mut self, summary: &mut ImportSummary, progress: &dyn Progress) -> Result<(), ImportError> {
        let d = self.done.recv().await.ok_or_else(|| ImportError::Reader("every writer stopped".into()))?;
        self.in_flight -= 1;
        Self::account(summary, progress, d)
    }

    /// Waits for every queued batch.
    pub(super) async fn drain(
        &mut self,
        summary: &mut ImportSummary,
        progress: &dyn Progress,
    ) -> Result<(), ImportError> {
        while self.in_flight > 0 {
            self.wait_one(summary, progress).await?;
        }
        Ok(())
    }

    /// Closes the queue and waits for the writers (each finishes or rolls back its batch).
    pub(super) async fn stop(mut self) {
        self.queue = None;
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}
