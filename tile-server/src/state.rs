//! Shared state of all handlers.

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::cache::PrincipalCache;
use crate::config::Settings;
use crate::crypto::PiiCipher;
use crate::http::table_cache::TableCache;
use crate::middleware::rate_limit::RateLimiter;

/// What every handler can reach: the pool, settings, the PII cipher and the rate limiter.
#[derive(Clone, Debug)]
pub struct AppState {
    /// PostgreSQL/PostGIS pool.
    pub db: PgPool,
    /// Resolved settings.
    pub settings: Arc<Settings>,
    /// Cipher for owner names and ID numbers.
    pub pii: Arc<PiiCipher>,
    /// Per-principal token buckets.
    pub limiter: Arc<RateLimiter>,
    /// Recently resolved tokens (only when `token_cache_seconds` > 0).
    pub principals: Option<Arc<PrincipalCache>>,
    /// Serialized building tables by version.
    pub tables: Arc<TableCache>,
}

impl AppState {
    /// Builds the state; the rate limiter uses the settings' default limit.
    pub fn new(db: PgPool, settings: Settings, pii: PiiCipher) -> Self {
        let limiter = Arc::new(RateLimiter::new(settings.default_rate_limit_per_minute));
        let principals = (settings.token_cache_seconds > 0)
            .then(|| Arc::new(PrincipalCache::new(std::time::Duration::from_secs(settings.token_cache_seconds))));
        let tables = Arc::new(TableCache::new(std::time::Duration::from_millis(settings.table_revalidate_ms)));
        Self { db, settings: Arc::new(settings), pii: Arc::new(pii), limiter, principals, tables }
    }
}
