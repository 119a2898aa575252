//! The background worker: takes check jobs from the queue and runs them, one at a time
//! per worker. Woken by `NOTIFY cadastre_review_jobs` (sent when a job is queued) and,
//! as a safety net, every [`POLL`].

use std::time::Duration;

use cadastre_core::package::Limits;
use sqlx::postgres::PgListener;
use sqlx::PgPool;

use super::check::{self, Outcome};
use crate::db::review_jobs::{self, MAX_ATTEMPTS};
use crate::db::submissions;
use crate::error::{AppError, Result};

/// Longest wait between two looks at the queue.
pub const POLL: Duration = Duration::from_secs(2);

/// This process's worker name (host and process id), written on the jobs it takes.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{}:{}", host.trim(), std::process::id())
}

/// Runs one queued job, if there is one; `Ok(false)` when the queue is empty.
pub async fn run_once(pool: &PgPool, limits: Limits, worker: &str) -> Result<bool> {
    let Some((job, conn)) = review_jobs::take(pool, worker).await? else { return Ok(false) };
    let key = job.key();
    let result = async {
        // Taken again after its last attempt died with its worker (kill -9, lost connection).
        if job.attempts > MAX_ATTEMPTS {
            let reason = format!("质检未能完成 the check did not finish in {MAX_ATTEMPTS} attempts");
            return give_up(pool, &key, job.job_id, &reason).await;
        }
        match check::run(pool, &key, limits).await {
            Ok(outcome) => {
                let mut tx = pool.begin().await.map_err(AppError::db("starting a job result"))?;
                match &outcome {
                    Outcome::Ready(checked) => {
                        submissions::set_checked(&mut tx, &key, checked).await?;
                        review_jobs::finish(&mut tx, job.job_id, "done", None).await?;
                    }
                    Outcome::Failed(reason) => {
                        submissions::set_failed(&mut tx, &key, reason).await?;
                        review_jobs::finish(&mut tx, job.job_id, "failed", Some(reason)).await?;
                    }
                }
                tx.commit().await.map_err(AppError::db("committing a job result"))
            }
            Err(e) if job.attempts >= MAX_ATTEMPTS => {
                tracing::warn!(job = job.job_id, error = %e, "review check failed for the last time");
                let reason = format!("质检未能完成 the check failed {MAX_ATTEMPTS} times: {e}");
                give_up(pool, &key, job.job_id, &reason).await
            }
            Err(e) => {
                tracing::warn!(job = job.job_id, error = %e, "review check failed; retrying later");
                Ok(review_jobs::retry_later(pool, job.job_id, &e.to_string(), Duration::from_secs(5)).await?)
            }
        }
    }
    .await;
    review_jobs::release(conn, job.job_id).await;
    result.map(|()| true)
}

/// The version `failed` with `reason`, its job finished, in one transaction.
async fn give_up(pool: &PgPool, key: &submissions::VersionKey, job_id: i64, reason: &str) -> Result<()> {
    let mut tx = pool.begin().await.map_err(AppError::db("starting a job result"))?;
    submissions::set_failed(&mut tx, key, reason).await?;
    review_jobs::finish(&mut tx, job_id, "failed", Some(reason)).await?;
    tx.commit().await.map_err(AppError::db("committing a job result"))
}

/// Runs jobs until the queue is empty (tests, and the demo hand-in of `run.sh`).
pub async fn drain(pool: &PgPool, limits: Limits) -> Result<usize> {
    let name = worker_name();
    let mut n = 0;
    while run_once(pool, limits, &name).await? {
        n += 1;
    }
    Ok(n)
}

/// How much lower than the request threads' the worker's CPU priority is (a nice value):
/// a check of thousands of parcels uses seconds of CPU, and the API calls served
/// meanwhile should not wait behind it (issue #11: "p99 of the other calls unchanged").
pub const BACKGROUND_NICE: i32 = 10;

/// Starts the worker loop on a thread of its own, at [`BACKGROUND_NICE`], with its own
/// runtime and a small pool of its own; it runs as long as the process. The pool is its
/// own so that its connections are driven by its own runtime: a connection created here
/// and later used by a request thread would wait for this low-priority thread to deliver
/// its readiness.
pub fn spawn(pool: &PgPool, limits: Limits) -> std::io::Result<std::thread::JoinHandle<()>> {
    let options = (*pool.connect_options()).clone();
    std::thread::Builder::new().name("review-worker".into()).spawn(move || {
        // Blocking tasks (unpacking, the checks, the diff) run on threads of their own.
        let runtime = low_priority_runtime("review-worker-blocking");
        let runtime = match runtime {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "the review worker's runtime did not start: submissions stay queued");
                return;
            }
        };
        runtime.block_on(async move {
            // Its database sessions behind the request threads' too, where the OS lets us.
            let pool =
                super::backend_priority::background_pool(options, "tile-server review worker", 3, BACKGROUND_NICE);
            work(pool, limits).await;
        });
    })
}

/// Lowers the calling thread's priority and builds it a single-threaded runtime whose
/// blocking threads (named `blocking_name`) run at the same lowered priority.
pub(super) fn low_priority_runtime(blocking_name: &str) -> std::io::Result<tokio::runtime::Runtime> {
    lower_priority();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name(blocking_name)
        .on_thread_start(lower_priority)
        .build()
}

/// Puts the calling thread under `SCHED_IDLE` at [`BACKGROUND_NICE`] (on Linux both belong
/// to the thread). A refusal only costs the other calls some latency.
///
/// Why `SCHED_IDLE` and not a nice value alone: a nice thread that holds a core keeps it
/// until its time slice ends (1-3 ms under EEVDF), so a request thread waking meanwhile
/// waits that long; a `SCHED_IDLE` thread is preempted by any other thread at once. With
/// `perf sched` over one check under `scripts/bench-review.sh`'s steady load, the request
/// threads and backends waited 67 ms in all behind nice-10 review threads, 41 ms behind
/// `SCHED_IDLE` ones. (The worker's database sessions stay at a nice value: see
/// `backend_priority`.)
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy, ThreadSchedulePolicy,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if let Err(e) = set_thread_priority_and_policy(thread_native_id(), thread_priority::ThreadPriority::Min, idle) {
            tracing::debug!(error = ?e, "putting the review worker under SCHED_IDLE");
        }
        // The nice value too: it is what applies where the policy could not be changed.
        if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), BACKGROUND_NICE) {
            tracing::debug!(error = %e, "lowering the review worker's priority");
        }
    }
}

/// The worker loop: jobs until the queue is empty, then wait for a notice or [`POLL`].
async fn work(pool: PgPool, limits: Limits) {
    let name = worker_name();
    let mut listener = PgListener::connect_with(&pool).await.ok();
    if let Some(l) = listener.as_mut() {
        if l.listen("cadastre_review_jobs").await.is_err() {
            listener = None;
        }
    }
    loop {
        match run_once(&pool, limits, &name).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "review worker"),
        }
        match listener.as_mut() {
            Some(l) => {
                // A lost connection answers at once (and reconnects on the next call):
                // wait the poll interval then, rather than spin.
                if let Ok(Err(_)) = tokio::time::timeout(POLL, l.recv()).await {
                    tokio::time::sleep(POLL).await;
                }
            }
            None => tokio::time::sleep(POLL).await,
        }
    }
}
