//! The job queue of the review workflow: a table in PostgreSQL. A worker owns a job by a
//! session-level advisory lock on its id, taken with `pg_try_advisory_lock` over the
//! queued rows (skipping those another worker holds, like `FOR UPDATE SKIP LOCKED`, but
//! without a transaction left open for the seconds a check takes: an open transaction
//! would hold back `pg_snapshot_xmin`, and with it the change feed of every county).
//!
//! Why not a library: graphile_worker (0.14) and apalis-postgres (1.0) are maintained and
//! would do, but both need sqlx 0.9 while the workspace is on sqlx 0.8; moving the whole
//! workspace (server, unit-code allocator, import, tests) to a new sqlx in the middle of
//! other helpers' work on the same crates would be a large, risky change for the sake of
//! one small queue. The queue needs four statements: enqueue, take, finish, retry. When
//! the workspace moves to sqlx 0.9, replace this module with one of them.
//!
//! Survives restarts: a job lives in the database; a worker that dies (kill -9, power cut)
//! loses its connection and with it the lock, and the next worker (or the restarted
//! server) takes the job at once. A job taken [`MAX_ATTEMPTS`] times without finishing
//! marks its submission `failed` (nothing stays `checking` forever).

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};

use crate::db::error::{Result, StoreError};
use crate::db::submissions::VersionKey;

/// Attempts before a job gives up.
pub const MAX_ATTEMPTS: i32 = 3;

/// First key of the two-key advisory locks of review jobs (the second is the job id).
const LOCK_CLASS: i32 = 0x5245_5657; // "REVW"

/// A job taken by a worker.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    /// Id.
    pub job_id: i64,
    /// County.
    pub county: String,
    /// Submission.
    pub submission_id: i64,
    /// Version.
    pub version: i32,
    /// This attempt's number (1 = first).
    pub attempts: i32,
}

impl Job {
    /// The version the job is about.
    pub fn key(&self) -> VersionKey {
        VersionKey { county: self.county.clone(), submission_id: self.submission_id, version: self.version }
    }
}

/// Queues a check of a version, in the caller's transaction; wakes the workers at commit.
pub async fn enqueue(conn: &mut PgConnection, key: &VersionKey) -> Result<()> {
    sqlx::query!(
        "INSERT INTO review_jobs (county, submission_id, version) VALUES ($1, $2, $3)",
        key.county.as_str(),
        key.submission_id,
        key.version,
    )
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("queueing a check"))?;
    sqlx::query!("SELECT pg_notify('cadastre_review_jobs', '')")
        .execute(conn)
        .await
        .map_err(StoreError::db("waking the review workers"))?;
    Ok(())
}

/// Takes the oldest queued job no other worker holds: returns it with the connection that
/// holds its lock. Give both back to [`release`] when done.
pub async fn take(pool: &PgPool, worker: &str) -> Result<Option<(Job, PoolConnection<Postgres>)>> {
    let mut conn = pool.acquire().await.map_err(StoreError::db("acquiring a worker connection"))?;
    let candidates: Vec<i64> = sqlx::query_scalar!(
        "SELECT job_id FROM review_jobs WHERE state = 'queued' AND run_after <= now() ORDER BY run_after, job_id LIMIT 32",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::db("listing review jobs"))?;
    for job_id in candidates {
        let Ok(id32) = i32::try_from(job_id) else { continue };
        let locked: bool = sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1, $2) AS "locked!""#, LOCK_CLASS, id32)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::db("locking a review job"))?;
        if !locked {
            continue;
        }
        // Another worker may have finished it between the list and the lock.
        let job: Option<Job> = sqlx::query_as!(
            Job,
            r#"UPDATE review_jobs SET attempts = attempts + 1, worker = $2 WHERE job_id = $1 AND state = 'queued'
             RETURNING job_id, county::text AS "county!", submission_id, version, attempts"#,
            job_id,
            worker,
        )
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::db("taking a review job"))?;
        match job {
            Some(job) => return Ok(Some((job, conn))),
            None => unlock(&mut conn, job_id).await?,
        }
    }
    Ok(None)
}

async fn unlock(conn: &mut PgConnection, job_id: i64) -> Result<()> {
    sqlx::query_scalar!("SELECT pg_advisory_unlock($1, $2)", LOCK_CLASS, i32::try_from(job_id).unwrap_or(0))
        .fetch_one(conn)
        .await
        .map_err(StoreError::db("unlocking a review job"))?;
    Ok(())
}

/// Gives a job's lock back. A connection whose unlock fails is closed (which frees the lock).
pub async fn release(mut conn: PoolConnection<Postgres>, job_id: i64) {
    if unlock(&mut conn, job_id).await.is_err() {
        drop(conn.detach());
    }
}

/// Marks a job done, in the transaction that stored its result.
pub async fn finish(conn: &mut PgConnection, job_id: i64, state: &str, error: Option<&str>) -> Result<()> {
    sqlx::query!(
        "UPDATE review_jobs SET state = $2, last_error = $3, finished_at = now() WHERE job_id = $1",
        job_id,
        state,
        error,
    )
    .execute(conn)
    .await
    .map_err(StoreError::db("finishing a review job"))?;
    Ok(())
}

/// Puts a job that failed for a passing reason (database hiccup...) back, a little later.
pub async fn retry_later(pool: &PgPool, job_id: i64, error: &str, delay: Duration) -> Result<()> {
    sqlx::query!(
        "UPDATE review_jobs SET last_error = $2, run_after = now() + make_interval(secs => $3)
         WHERE job_id = $1 AND state = 'queued'",
        job_id,
        error,
        delay.as_secs_f64(),
    )
    .execute(pool)
    .await
    .map_err(StoreError::db("re-queueing a review job"))?;
    Ok(())
}

/// Jobs not finished, for tests and the health of the queue.
pub async fn pending(pool: &PgPool) -> Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM review_jobs WHERE state = 'queued'"#)
        .fetch_one(pool)
        .await
        .map_err(StoreError::db("counting review jobs"))
}
