//! Keeps the in-memory caches of every server instance coherent with the
//! database, through PostgreSQL `LISTEN`/`NOTIFY`.
//!
//! # Protocol
//!
//! Migration `0010_cache_notify.sql` puts statement-level triggers on the tables
//! a cached answer is built from. At commit, PostgreSQL delivers one
//! notification per changed statement (duplicates within a transaction
//! collapse, nothing is sent on rollback):
//!
//! * [`TABLES_CHANNEL`]: building tables (楼盘表); the payload lists the changed
//!   buildings' ZRZH, comma-separated, or is empty = every building.
//! * [`AUTH_CHANNEL`]: tokens, users, API clients; receivers flush every token.
//!
//! One listener task per server ([`CacheSync::start`]) holds a dedicated
//! connection (`application_name` = [`APPLICATION_NAME`]) and hands each
//! notification to the caches registered for its channel ([`SyncedCache`]).
//! So a change committed anywhere (another instance, an import, plain SQL) is
//! seen here as soon as its notification arrives, typically milliseconds.
//!
//! # Why a generation counter
//!
//! A cache fill is "read from the database, then insert". If a change commits
//! and its notification is handled *between* the read and the insert, the
//! invalidation finds nothing to drop and the insert then stores the old answer,
//! to be served until the TTL. So every cache carries a [`Coherence`]: a fill
//! takes a [`Ticket`] (the generation) *before* its query, every invalidation
//! bumps the generation, and the insert is discarded when the generation moved.
//! The answer is still returned to its request (it was right when read).
//!
//! # When the listener is down
//!
//! Notifications sent while no listener is connected are lost. So from the moment
//! the connection is found lost (`try_recv` gives `Ok(None)` or an error) until a
//! new connection is *listening* again, the caches are *incoherent*: flushed,
//! and bypassed (every request asks the database, exactly as with the caches
//! off). Once listening again they are flushed once more (changes in the gap were
//! missed), then trusted. Reconnection backs off from the configured delay,
//! doubling up to [`MAX_RETRY`]. A connection that dies silently (no RST) is only
//! noticed by TCP; the caches' TTLs bound the staleness in that case.
//!
//! ```
//! use tile_server::cache_sync::Coherence;
//! let c = Coherence::default();
//! let ticket = c.ticket();   // before the query that fills the cache
//! c.bump();                  // a notification arrived meanwhile
//! assert!(!c.is_current(ticket), "the fill must not be stored");
//! assert!(c.is_current(c.ticket()));
//! ```

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;
use tokio::task::AbortHandle;

/// Channel announcing changed building tables.
pub const TABLES_CHANNEL: &str = "cadastre_tables";
/// Channel announcing changed tokens, users or API clients.
pub const AUTH_CHANNEL: &str = "cadastre_auth";
/// `application_name` of the listener's connection (find it in `pg_stat_activity`).
pub const APPLICATION_NAME: &str = "tile-server cache listener";
/// Longest wait between reconnection attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(30);

/// A cache's generation counter and whether its contents may be trusted.
///
/// Starts incoherent: nothing is trusted until a listener is listening.
#[derive(Debug, Default)]
pub struct Coherence {
    generation: AtomicU64,
    coherent: AtomicBool,
}

/// The generation a cache fill started in; see [`Coherence`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

impl Coherence {
    /// The current generation; take it before the query that fills the cache.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::SeqCst))
    }

    /// Whether no invalidation happened since `ticket` was taken.
    ///
    /// Call it under the same lock as the insert, and bump under that lock too,
    /// or an invalidation can slip between the check and the insert.
    pub fn is_current(&self, ticket: Ticket) -> bool {
        self.generation.load(Ordering::SeqCst) == ticket.0
    }

    /// Starts a new generation: fills in flight are discarded.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether a listener is listening, so entries may be served without a check.
    pub fn is_coherent(&self) -> bool {
        self.coherent.load(Ordering::SeqCst)
    }

    /// Sets the flag; use [`SyncedCache::set_coherent`], which also flushes.
    pub fn set_coherent(&self, on: bool) {
        self.coherent.store(on, Ordering::SeqCst);
    }
}

/// A cache that notifications keep coherent.
pub trait SyncedCache: Send + Sync + Debug {
    /// The channel whose notifications concern this cache.
    fn channel(&self) -> &'static str;
    /// Drops what `payload` names (the meaning is the cache's).
    fn on_notification(&self, payload: &str);
    /// Drops everything and bumps the generation.
    fn invalidate_all(&self);
    /// The [`Coherence`] of this cache.
    fn coherence(&self) -> &Coherence;

    /// Marks the cache trusted or not, flushing it either way: when going
    /// incoherent, notifications may have been lost; when coming back, they
    /// were lost in the gap. The order keeps a reader from trusting an entry
    /// across the switch.
    fn set_coherent(&self, on: bool) {
        if on {
            self.invalidate_all();
            self.coherence().set_coherent(true);
        } else {
            self.coherence().set_coherent(false);
            self.invalidate_all();
        }
    }
}

#[derive(Debug, Default)]
struct Status {
    listening: AtomicBool,
    connects: AtomicU64,
}

/// The running listener of one server; stops when dropped.
#[derive(Debug)]
pub struct CacheSync {
    status: Arc<Status>,
    task: Option<AbortHandle>,
}

impl CacheSync {
    /// No listener: registered caches (if any) stay incoherent, i.e. bypassed.
    pub fn disabled() -> Self {
        Self { status: Arc::default(), task: None }
    }

    /// Starts the listener task on a connection of its own (not taken from
    /// `pool`, so it never starves request handling), with `pool`'s connect
    /// options. `retry` is the first reconnection delay. Outside a Tokio runtime
    /// nothing is started and the caches stay bypassed.
    pub fn start(pool: &PgPool, caches: Vec<Arc<dyn SyncedCache>>, retry: Duration) -> Self {
        if caches.is_empty() {
            return Self::disabled();
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no Tokio runtime: cache listener not started, caches bypassed");
            return Self::disabled();
        };
        let status = Arc::new(Status::default());
        let options = (*pool.connect_options()).clone().application_name(APPLICATION_NAME);
        let task = runtime.spawn(listen_forever(options, caches, retry, Arc::clone(&status)));
        Self { status, task: Some(task.abort_handle()) }
    }

    /// Whether a listener connection is up and listening right now.
    pub fn is_listening(&self) -> bool {
        self.status.listening.load(Ordering::SeqCst)
    }

    /// How many times a listener connection was established (1 after the first).
    pub fn connects(&self) -> u64 {
        self.status.connects.load(Ordering::SeqCst)
    }
}

impl Drop for CacheSync {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Connect, listen, dispatch; on loss go incoherent and reconnect with backoff.
async fn listen_forever(
    options: sqlx::postgres::PgConnectOptions,
    caches: Vec<Arc<dyn SyncedCache>>,
    retry: Duration,
    status: Arc<Status>,
) {
    let mut channels: Vec<&str> = caches.iter().map(|c| c.channel()).collect();
    channels.sort_unstable();
    channels.dedup();
    let mut delay = retry;
    loop {
        // A pool of one per attempt: PgListener needs a pool, and a fresh one
        // never hands back the dead connection.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options.clone());
        match connect(&pool, &channels).await {
            Ok(mut listener) => {
                for cache in &caches {
                    cache.set_coherent(true);
                }
                status.listening.store(true, Ordering::SeqCst);
                status.connects.fetch_add(1, Ordering::SeqCst);
                tracing::info!(channels = ?channels, "cache listener connected; caches trusted");
                delay = retry;
                let reason = dispatch(&mut listener, &caches).await;
                status.listening.store(false, Ordering::SeqCst);
                for cache in &caches {
                    cache.set_coherent(false);
                }
                tracing::warn!(%reason, "cache listener lost; caches bypassed until it reconnects");
                drop(listener);
            }
            Err(e) => tracing::warn!(error = %e, retry_in = ?delay, "cache listener cannot connect"),
        }
        // Bounded: closing a half-dead socket must not stall reconnection.
        let _ = tokio::time::timeout(Duration::from_secs(5), pool.close()).await;
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RETRY);
    }
}

async fn connect(pool: &PgPool, channels: &[&str]) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnection is ours: a silent one would hide the notifications lost meanwhile.
    listener.eager_reconnect(false);
    listener.listen_all(channels.iter().copied()).await?;
    Ok(listener)
}

/// Hands notifications to their caches until the connection is lost; returns why.
async fn dispatch(listener: &mut PgListener, caches: &[Arc<dyn SyncedCache>]) -> String {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => {
                tracing::debug!(channel = n.channel(), payload = n.payload(), "cache invalidation");
                for cache in caches.iter().filter(|c| c.channel() == n.channel()) {
                    cache.on_notification(n.payload());
                }
            }
            Ok(None) => return "connection closed".to_owned(),
            Err(e) => return e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A cache that records what happened to it.
    #[derive(Debug, Default)]
    struct Recorder {
        coherence: Coherence,
        log: Mutex<Vec<String>>,
    }

    impl SyncedCache for Recorder {
        fn channel(&self) -> &'static str {
            TABLES_CHANNEL
        }
        fn on_notification(&self, payload: &str) {
            self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(payload.to_owned());
        }
        fn invalidate_all(&self) {
            self.coherence.bump();
            self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push("*".to_owned());
        }
        fn coherence(&self) -> &Coherence {
            &self.coherence
        }
    }

    #[test]
    fn going_incoherent_and_back_flushes_and_bumps_each_time() {
        let r = Recorder::default();
        assert!(!r.coherence.is_coherent(), "nothing is trusted before a listener listens");
        let before = r.coherence.ticket();
        r.set_coherent(true);
        assert!(r.coherence.is_coherent());
        assert!(!r.coherence.is_current(before), "fills started before listening are discarded");
        let during = r.coherence.ticket();
        r.set_coherent(false);
        assert!(!r.coherence.is_coherent());
        assert!(!r.coherence.is_current(during));
        let log = r.log.lock().map(|l| l.clone()).unwrap_or_default();
        assert_eq!(log, ["*", "*"]);
    }

    #[test]
    fn tickets_survive_only_without_invalidation() {
        let c = Coherence::default();
        let t = c.ticket();
        assert!(c.is_current(t));
        assert!(c.is_current(t), "checking does not consume");
        c.bump();
        assert!(!c.is_current(t));
    }

    #[tokio::test]
    async fn without_caches_nothing_is_started() {
        let pool = PgPoolOptions::new().connect_lazy("postgres://nobody@127.0.0.1:1/none");
        let Ok(pool) = pool else { panic!("a lazy pool needs no server") };
        let sync = CacheSync::start(&pool, Vec::new(), Duration::from_millis(10));
        assert!(sync.task.is_none());
        assert!(!sync.is_listening());
    }
}
