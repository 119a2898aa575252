//! Per-principal rate limits: a token bucket per user or client, refilled
//! continuously at `limit` requests per minute, holding at most `limit` requests.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tile_server::middleware::rate_limit::RateLimiter;
//! let limiter = RateLimiter::new(60);
//! let t0 = Instant::now();
//! assert!(limiter.check_at("client:a", Some(2), t0).is_ok());
//! assert!(limiter.check_at("client:a", Some(2), t0).is_ok());
//! assert!(limiter.check_at("client:a", Some(2), t0).is_err());         // bucket empty
//! assert!(limiter.check_at("client:b", Some(2), t0).is_ok());          // others unaffected
//! assert!(limiter.check_at("client:a", Some(2), t0 + Duration::from_secs(30)).is_ok()); // refilled one
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::extractor::principal_of;
use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets keyed by principal (`user:…` / `client:…`). In-process: with
/// several server instances each enforces its own share.
#[derive(Debug)]
pub struct RateLimiter {
    default_per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter whose principals without their own limit get `default_per_minute`.
    pub fn new(default_per_minute: u32) -> Self {
        Self { default_per_minute: default_per_minute.max(1), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `key`'s bucket at time `now`; `Err(seconds)` says
    /// when the next request will be allowed.
    pub fn check_at(&self, key: &str, limit_per_minute: Option<u32>, now: Instant) -> Result<(), u64> {
        let limit = f64::from(limit_per_minute.unwrap_or(self.default_per_minute).max(1));
        let per_sec = limit / 60.0;
        // A poisoned lock only means another request panicked mid-update; the map
        // is still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // The key is copied only for a caller's first request, not for every one.
        if !buckets.contains_key(key) {
            buckets.insert(key.to_owned(), Bucket { tokens: limit, last: now });
        }
        // Present: inserted just above under the same lock (refuse, never pass, otherwise).
        let Some(bucket) = buckets.get_mut(key) else { return Err(1) };
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(limit);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / per_sec).ceil();
            Err(if wait.is_finite() && wait >= 1.0 { wait as u64 } else { 1 })
        }
    }
}

/// Middleware: 429 with `Retry-After` when the caller's bucket is empty. Runs
/// after [`crate::auth::authenticate`], which provides the principal.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(principal) = principal_of(&req) else {
        return AppError::Unauthenticated.into_response();
    };
    match check(&state, principal) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// Takes one request from `principal`'s bucket; 429 with `Retry-After` when empty.
pub fn check(state: &AppState, principal: &Principal) -> Result<(), AppError> {
    state
        .limiter
        .check_at(&principal.actor(), principal.rate_limit_per_minute, Instant::now())
        .map_err(AppError::RateLimited)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    proptest! {
        /// Within any one minute no more than `limit` + refill requests pass.
        #[test]
        fn never_more_than_limit_plus_refill(limit in 1u32..50, gaps in proptest::collection::vec(0u64..3000, 1..200)) {
            let rl = RateLimiter::new(10);
            let t0 = Instant::now();
            let mut t = t0;
            let mut passed = 0u32;
            for g in &gaps {
                t += Duration::from_millis(*g);
                if rl.check_at("k", Some(limit), t).is_ok() {
                    passed += 1;
                }
            }
            let secs = t.duration_since(t0).as_secs_f64();
            let bound = f64::from(limit) + secs * f64::from(limit) / 60.0;
            prop_assert!(f64::from(passed) <= bound + 1e-9, "passed {} bound {}", passed, bound);
        }
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        let rl = RateLimiter::new(6000);
        let t = Instant::now();
        assert!(rl.check_at("k", Some(1), t).is_ok());
        assert_eq!(rl.check_at("k", Some(1), t), Err(60));
    }
}
