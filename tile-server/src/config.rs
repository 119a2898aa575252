//! Server configuration: a TOML file whose every key is optional.
//!
//! ```toml
//! listen = "127.0.0.1:8080"      # [default: 127.0.0.1:8080]
//! database_url = "postgres://…"  # [default: the DATABASE_URL environment variable]
//! store_srid = 4549              # [default: 4549, CGCS2000 3° GK CM 120E]
//! pii_key_file = "/etc/cadastre/pii.key"  # [default: the CADASTRE_PII_KEY environment variable]
//! token_ttl_minutes = 480        # [default: 480]
//! max_body_bytes = 2097152       # [default: 2 MiB]
//! default_rate_limit_per_minute = 600     # [default: 600] for users and clients without their own
//! max_connections = 10           # [default: 10]
//! token_cache_seconds = 60      # [default: 60; 0 = off] trust a resolved token at most this long
//! table_revalidate_ms = 60000    # [default: 60000; 0 = check every request] serve a cached building table unchecked at most this long
//! cache_listen_retry_ms = 500    # [default: 500] first reconnection delay of the cache listener
//! login_attempts_per_minute_per_address = 60  # [default: 60] then 429 for that address
//! session_idle_minutes = 30      # [default: 30] a token unused this long stops working
//! max_sessions_per_user = 5      # [default: 5] a new login ends the oldest session beyond this
//! password_max_age_days = 90     # [default: 90; 0 = never] then the password must be changed
//! header_read_timeout_ms = 10000 # [default: 10000] a request's headers must arrive within this
//! idle_timeout_seconds = 60      # [default: 60] a connection without any traffic this long is closed
//! connection_threads = 0         # [default: 0 = one per CPU core] threads serving connections
//! tls_cert_file = "/etc/cadastre/server.crt"  # PEM chain; with tls_key_file: serve HTTPS (rustls)
//! tls_key_file = "/etc/cadastre/server.key"   # PEM private key
//! allow_plain_http = false       # [default: false] plain HTTP on a non-loopback address
//! submission_max_bytes = 268435456           # [default: 256 MiB] largest result package (zip) accepted
//! submission_max_unpacked_bytes = 4294967296 # [default: 4 GiB] largest package once unpacked (zip bombs)
//! submission_daily_bytes = 2147483648        # [default: 2 GiB] packages one user may hand in per 24 hours
//! submission_open_versions = 20             # [default: 20] one user's packages checking or awaiting review at once
//! review_workers = 1                          # [default: 1; 0 = none] background check workers of this instance
//! tile_cache_mb = 256            # [default: 256; 0 = off] memory for rendered vector tiles
//! tile_cache_dir = "/var/cache/cadastre/tiles"  # [default: none = off] also keep rendered tiles (gzip) on disk, across restarts
//! console_vendor_dir = "/opt/cadastre/console/node_modules"  # [default: tile-server/console/node_modules of the build]
//! ```
//!
//! Without a certificate the server speaks plain HTTP, and only on a loopback
//! address (behind a TLS proxy on the same host) unless `allow_plain_http = true`.
//!
//! What the two caches promise (see [`crate::cache_sync`]): a change committed
//! anywhere (another server instance, an import, plain SQL) to a token, account,
//! API client, building, floor or household is seen by every instance as soon
//! as its PostgreSQL notification arrives, typically within milliseconds.
//! Writes through this instance invalidate synchronously. While an instance's
//! listener connection is down, that instance falls back to the exact
//! per-request checks (token query and table fingerprint query on every
//! request) until it is listening again. The two durations above are only a
//! safety net (e.g. a connection that dies without the server noticing).
//!
//! The PII key (32 bytes, base64) is kept outside the database on purpose: a copy
//! of the database alone does not reveal owner names or ID numbers.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default listen address: loopback only, the internal zone puts a proxy in front.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default store SRID: CGCS2000 / 3-degree Gauss-Kruger CM 120E.
pub const DEFAULT_STORE_SRID: i32 = 4549;
/// Default token lifetime: one working day.
pub const DEFAULT_TOKEN_TTL_MINUTES: i64 = 480;
/// Default request body limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Default per-principal rate limit.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 600;
/// Default pool size.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// Default token cache lifetime (a safety net: notifications flush it).
pub const DEFAULT_TOKEN_CACHE_SECONDS: u64 = 60;
/// Default window a cached building table is served unchecked (a safety net too).
pub const DEFAULT_TABLE_REVALIDATE_MS: u64 = 60_000;
/// Default first reconnection delay of the cache listener.
pub const DEFAULT_CACHE_LISTEN_RETRY_MS: u64 = 500;
/// Default login attempts per minute per source address.
pub const DEFAULT_LOGIN_ATTEMPTS_PER_ADDRESS: u32 = 60;
/// Default idle timeout of a session (token).
pub const DEFAULT_SESSION_IDLE_MINUTES: i64 = 30;
/// Default cap on concurrent sessions of one user.
pub const DEFAULT_MAX_SESSIONS_PER_USER: i64 = 5;
/// Default password lifetime.
pub const DEFAULT_PASSWORD_MAX_AGE_DAYS: i64 = 90;
/// Default time allowed for a request's headers to arrive.
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// Default time a connection may stay silent.
pub const DEFAULT_IDLE_TIMEOUT_SECONDS: u64 = 60;
/// Default largest result package.
pub const DEFAULT_SUBMISSION_MAX_BYTES: usize = 256 << 20;
/// Default largest package once unpacked.
pub const DEFAULT_SUBMISSION_MAX_UNPACKED_BYTES: u64 = 4 << 30;
/// Default bytes one user may hand in per day.
pub const DEFAULT_SUBMISSION_DAILY_BYTES: i64 = 2 << 30;
/// Default number of one user's open (checking / ready) versions.
pub const DEFAULT_SUBMISSION_OPEN_VERSIONS: i64 = 20;
/// Default memory bound of the vector-tile cache, MiB.
pub const DEFAULT_TILE_CACHE_MB: u64 = 256;
/// Where `npm ci` (scripts/lib.sh) puts the console's browser libraries in a checkout.
pub const DEFAULT_CONSOLE_VENDOR_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/console/node_modules");

/// Environment variable holding the base64 PII key when `pii_key_file` is not set.
pub const PII_KEY_ENV: &str = "CADASTRE_PII_KEY";

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {0}: {1}")]
    Read(PathBuf, #[source] std::io::Error),
    /// The file is not valid TOML for this schema.
    #[error("invalid config file {0}: {1}")]
    Parse(PathBuf, #[source] toml::de::Error),
    /// A value is out of range.
    #[error("invalid setting {0}: {1}")]
    Invalid(&'static str, String),
}

/// The configuration as written in the file.
#[derive(Debug, Default, Deserialize)]
pub struct FileConfig {
    /// Address to listen on. \[default: 127.0.0.1:8080\]
    pub listen: Option<SocketAddr>,
    /// PostgreSQL URL. \[default: `DATABASE_URL`\]
    pub database_url: Option<String>,
    /// SRID of every geometry in the store. \[default: 4549\]
    pub store_srid: Option<i32>,
    /// File holding the base64 AES-256 PII key. \[default: `CADASTRE_PII_KEY`\]
    pub pii_key_file: Option<PathBuf>,
    /// Token lifetime in minutes. \[default: 480\]
    pub token_ttl_minutes: Option<i64>,
    /// Request body limit in bytes. \[default: 2097152\]
    pub max_body_bytes: Option<usize>,
    /// Requests per minute per principal without its own limit. \[default: 600\]
    pub default_rate_limit_per_minute: Option<u32>,
    /// Database pool size. \[default: 10\]
    pub max_connections: Option<u32>,
    /// Longest time a resolved token is trusted without the database, while
    /// change notifications are received. \[default: 60; 0 = off\]
    pub token_cache_seconds: Option<u64>,
    /// Longest time a cached building table is served without its fingerprint
    /// query, while change notifications are received. \[default: 60000; 0 = on
    /// every request\]
    pub table_revalidate_ms: Option<u64>,
    /// First delay before the cache listener reconnects (doubling up to 30 s).
    /// \[default: 500\]
    pub cache_listen_retry_ms: Option<u64>,
    /// Login attempts per minute from one source address. \[default: 60\]
    pub login_attempts_per_minute_per_address: Option<u32>,
    /// Minutes a token may go unused before it stops working. \[default: 30\]
    pub session_idle_minutes: Option<i64>,
    /// Sessions one user may hold; a login beyond ends the oldest. \[default: 5\]
    pub max_sessions_per_user: Option<i64>,
    /// Days a password lasts; 0 = no expiry. \[default: 90\]
    pub password_max_age_days: Option<i64>,
    /// Milliseconds a request's headers may take to arrive. \[default: 10000\]
    pub header_read_timeout_ms: Option<u64>,
    /// Seconds a connection may stay silent before it is closed. \[default: 60\]
    pub idle_timeout_seconds: Option<u64>,
    /// Threads serving connections, each a single-threaded runtime; 0 = one per core. \[default: 0\]
    pub connection_threads: Option<usize>,
    /// PEM certificate chain; with `tls_key_file`, the server speaks HTTPS only.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of the certificate.
    pub tls_key_file: Option<PathBuf>,
    /// Plain HTTP on a non-loopback address. \[default: false\]
    pub allow_plain_http: Option<bool>,
    /// Largest result package (zip), bytes. \[default: 268435456\]
    pub submission_max_bytes: Option<usize>,
    /// Largest result package once unpacked, bytes. \[default: 4294967296\]
    pub submission_max_unpacked_bytes: Option<u64>,
    /// Bytes of packages one user may hand in per 24 hours. \[default: 2147483648\]
    pub submission_daily_bytes: Option<i64>,
    /// One user's versions checking or awaiting review at once. \[default: 20\]
    pub submission_open_versions: Option<i64>,
    /// Background check workers of this instance. \[default: 1; 0 = none\]
    pub review_workers: Option<u32>,
    /// Memory for rendered vector tiles, MiB; dropped tile by tile as edits
    /// arrive. \[default: 256; 0 = off\]
    pub tile_cache_mb: Option<u64>,
    /// A directory (created if missing, one per server instance) where rendered
    /// tiles are also kept, gzip-compressed, so that a restarted server starts
    /// warm; invalidated like the memory cache, and caught up from the change
    /// log (migration 0060) after a restart or a listener outage. Needs the
    /// memory cache on. \[default: none = off\]
    pub tile_cache_dir: Option<PathBuf>,
    /// The console's `node_modules` (maplibre-gl), installed by `npm ci` in
    /// `tile-server/console`. \[default: that folder of the source tree the
    /// binary was built from\]
    pub console_vendor_dir: Option<PathBuf>,
    /// Keys this version does not know; warned about, not fatal.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, toml::Value>,
}

impl FileConfig {
    /// Reads and parses a config file.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_owned(), e))?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse(path.to_owned(), e))
    }

    /// Logs a warning for every unknown key (typos should not pass silently).
    pub fn warn_unrecognized_keys(&self) {
        for key in self.unrecognized.keys() {
            tracing::warn!(key, "unknown config key ignored");
        }
    }
}

/// Settings resolved to their final values; what the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// SRID of every geometry in the store.
    pub store_srid: i32,
    /// Token lifetime in minutes.
    pub token_ttl_minutes: i64,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// Default rate limit per principal.
    pub default_rate_limit_per_minute: u32,
    /// Database pool size.
    pub max_connections: u32,
    /// Seconds a resolved token is trusted without the database (0 = off).
    pub token_cache_seconds: u64,
    /// Milliseconds a cached building table is served unchecked (0 = check each time).
    pub table_revalidate_ms: u64,
    /// Milliseconds before the cache listener's first reconnection attempt.
    pub cache_listen_retry_ms: u64,
    /// Login attempts per minute per source address.
    pub login_attempts_per_minute_per_address: u32,
    /// Idle timeout of a session, minutes.
    pub session_idle_minutes: i64,
    /// Sessions per user.
    pub max_sessions_per_user: i64,
    /// Password lifetime in days (0 = none).
    pub password_max_age_days: i64,
    /// Header read timeout, milliseconds.
    pub header_read_timeout_ms: u64,
    /// Connection idle timeout, seconds.
    pub idle_timeout_seconds: u64,
    /// Threads serving connections (0 = one per core).
    pub connection_threads: usize,
    /// Certificate and key files when serving HTTPS.
    pub tls: Option<TlsFiles>,
    /// Plain HTTP allowed on a non-loopback address.
    pub allow_plain_http: bool,
    /// Largest result package (zip), bytes.
    pub submission_max_bytes: usize,
    /// Largest result package once unpacked, bytes.
    pub submission_max_unpacked_bytes: u64,
    /// Bytes one user may hand in per 24 hours.
    pub submission_daily_bytes: i64,
    /// One user's versions checking or awaiting review at once.
    pub submission_open_versions: i64,
    /// Background check workers of this instance.
    pub review_workers: u32,
    /// MiB of rendered vector tiles kept (0 = off).
    pub tile_cache_mb: u64,
    /// Directory keeping rendered tiles across restarts (None = off).
    pub tile_cache_dir: Option<PathBuf>,
    /// The console's node_modules folder.
    pub console_vendor_dir: PathBuf,
}

/// Where the server's certificate chain and key are (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            store_srid: DEFAULT_STORE_SRID,
            token_ttl_minutes: DEFAULT_TOKEN_TTL_MINUTES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            default_rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            token_cache_seconds: DEFAULT_TOKEN_CACHE_SECONDS,
            table_revalidate_ms: DEFAULT_TABLE_REVALIDATE_MS,
            cache_listen_retry_ms: DEFAULT_CACHE_LISTEN_RETRY_MS,
            login_attempts_per_minute_per_address: DEFAULT_LOGIN_ATTEMPTS_PER_ADDRESS,
            session_idle_minutes: DEFAULT_SESSION_IDLE_MINUTES,
            max_sessions_per_user: DEFAULT_MAX_SESSIONS_PER_USER,
            password_max_age_days: DEFAULT_PASSWORD_MAX_AGE_DAYS,
            header_read_timeout_ms: DEFAULT_HEADER_READ_TIMEOUT_MS,
            idle_timeout_seconds: DEFAULT_IDLE_TIMEOUT_SECONDS,
            connection_threads: 0,
            tls: None,
            allow_plain_http: false,
            submission_max_bytes: DEFAULT_SUBMISSION_MAX_BYTES,
            submission_max_unpacked_bytes: DEFAULT_SUBMISSION_MAX_UNPACKED_BYTES,
            submission_daily_bytes: DEFAULT_SUBMISSION_DAILY_BYTES,
            submission_open_versions: DEFAULT_SUBMISSION_OPEN_VERSIONS,
            review_workers: 1,
            tile_cache_mb: DEFAULT_TILE_CACHE_MB,
            tile_cache_dir: None,
            console_vendor_dir: PathBuf::from(DEFAULT_CONSOLE_VENDOR_DIR),
        }
    }
}

impl FileConfig {
    /// Fills defaults and checks ranges.
    pub fn resolve(&self) -> Result<Settings, ConfigError> {
        let d = Settings::default();
        let s = Settings {
            listen: self.listen.unwrap_or(d.listen),
            store_srid: self.store_srid.unwrap_or(d.store_srid),
            token_ttl_minutes: self.token_ttl_minutes.unwrap_or(d.token_ttl_minutes),
            max_body_bytes: self.max_body_bytes.unwrap_or(d.max_body_bytes),
            default_rate_limit_per_minute: self
                .default_rate_limit_per_minute
                .unwrap_or(d.default_rate_limit_per_minute),
            max_connections: self.max_connections.unwrap_or(d.max_connections),
            token_cache_seconds: self.token_cache_seconds.unwrap_or(d.token_cache_seconds),
            table_revalidate_ms: self.table_revalidate_ms.unwrap_or(d.table_revalidate_ms),
            cache_listen_retry_ms: self.cache_listen_retry_ms.unwrap_or(d.cache_listen_retry_ms),
            login_attempts_per_minute_per_address: self
                .login_attempts_per_minute_per_address
                .unwrap_or(d.login_attempts_per_minute_per_address),
            session_idle_minutes: self.session_idle_minutes.unwrap_or(d.session_idle_minutes),
            max_sessions_per_user: self.max_sessions_per_user.unwrap_or(d.max_sessions_per_user),
            password_max_age_days: self.password_max_age_days.unwrap_or(d.password_max_age_days),
            header_read_timeout_ms: self.header_read_timeout_ms.unwrap_or(d.header_read_timeout_ms),
            idle_timeout_seconds: self.idle_timeout_seconds.unwrap_or(d.idle_timeout_seconds),
            connection_threads: self.connection_threads.unwrap_or(d.connection_threads),
            tls: match (&self.tls_cert_file, &self.tls_key_file) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.clone(), key: key.clone() }),
                (None, None) => None,
                _ => {
                    return Err(ConfigError::Invalid(
                        "tls_cert_file",
                        "tls_cert_file and tls_key_file go together".into(),
                    ))
                }
            },
            allow_plain_http: self.allow_plain_http.unwrap_or(d.allow_plain_http),
            tile_cache_mb: self.tile_cache_mb.unwrap_or(d.tile_cache_mb),
            tile_cache_dir: self.tile_cache_dir.clone(),
            console_vendor_dir: self.console_vendor_dir.clone().unwrap_or(d.console_vendor_dir),
            submission_max_bytes: self.submission_max_bytes.unwrap_or(d.submission_max_bytes),
            submission_max_unpacked_bytes: self
                .submission_max_unpacked_bytes
                .unwrap_or(d.submission_max_unpacked_bytes),
            submission_daily_bytes: self.submission_daily_bytes.unwrap_or(d.submission_daily_bytes),
            submission_open_versions: self.submission_open_versions.unwrap_or(d.submission_open_versions),
            review_workers: self.review_workers.unwrap_or(d.review_workers),
        };
        if s.login_attempts_per_minute_per_address == 0 {
            return Err(ConfigError::Invalid("login_attempts_per_minute_per_address", "must be > 0".into()));
        }
        if !(5..=24 * 60).contains(&s.session_idle_minutes) {
            return Err(ConfigError::Invalid("session_idle_minutes", "must be 5..=1440".into()));
        }
        if !(1..=1000).contains(&s.max_sessions_per_user) {
            return Err(ConfigError::Invalid("max_sessions_per_user", "must be 1..=1000".into()));
        }
        if !(0..=3650).contains(&s.password_max_age_days) {
            return Err(ConfigError::Invalid("password_max_age_days", "must be 0..=3650".into()));
        }
        if !(100..=300_000).contains(&s.header_read_timeout_ms) {
            return Err(ConfigError::Invalid("header_read_timeout_ms", "must be 100..=300000".into()));
        }
        if s.connection_threads > 256 {
            return Err(ConfigError::Invalid("connection_threads", "must be 0..=256".into()));
        }
        if !(1..=3600).contains(&s.idle_timeout_seconds) {
            return Err(ConfigError::Invalid("idle_timeout_seconds", "must be 1..=3600".into()));
        }
        if s.submission_max_bytes < 1024 || s.submission_daily_bytes < 1024 || s.submission_open_versions < 1 {
            return Err(ConfigError::Invalid("submission_*", "sizes must be >= 1024 and open versions >= 1".into()));
        }
        if s.tile_cache_mb > 1 << 20 {
            return Err(ConfigError::Invalid("tile_cache_mb", "must be 0..=1048576".into()));
        }
        if s.tile_cache_dir.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
            return Err(ConfigError::Invalid(
                "tile_cache_dir",
                "must not be empty (leave it out to keep tiles in memory only)".into(),
            ));
        }
        if s.tile_cache_dir.is_some() && s.tile_cache_mb == 0 {
            return Err(ConfigError::Invalid("tile_cache_dir", "needs the memory cache on (tile_cache_mb > 0)".into()));
        }
        if !(10..=60_000).contains(&s.cache_listen_retry_ms) {
            return Err(ConfigError::Invalid("cache_listen_retry_ms", "must be 10..=60000".into()));
        }
        if s.token_cache_seconds > 300 {
            return Err(ConfigError::Invalid("token_cache_seconds", "must be 0..=300".into()));
        }
        if s.table_revalidate_ms > 60_000 {
            return Err(ConfigError::Invalid("table_revalidate_ms", "must be 0..=60000".into()));
        }
        if s.store_srid <= 0 {
            return Err(ConfigError::Invalid("store_srid", s.store_srid.to_string()));
        }
        if !(1..=60 * 24 * 30).contains(&s.token_ttl_minutes) {
            return Err(ConfigError::Invalid("token_ttl_minutes", "must be 1..=43200".into()));
        }
        if s.default_rate_limit_per_minute == 0 {
            return Err(ConfigError::Invalid("default_rate_limit_per_minute", "must be > 0".into()));
        }
        if s.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid("max_body_bytes", "must be >= 1024".into()));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_documented_defaults() {
        let cfg: FileConfig = toml::from_str("").unwrap_or_default();
        let s = cfg.resolve().ok();
        let s = s.as_ref();
        assert_eq!(s.map(|s| s.listen.to_string()), Some(DEFAULT_LISTEN.to_owned()));
        assert_eq!(s.map(|s| s.store_srid), Some(4549));
        assert_eq!(s.map(|s| s.token_ttl_minutes), Some(480));
        assert_eq!(s.map(|s| (s.token_cache_seconds, s.table_revalidate_ms)), Some((60, 60_000)), "caches on");
        assert_eq!(s.map(|s| (s.tls.is_some(), s.allow_plain_http)), Some((false, false)));
    }

    #[test]
    fn the_disk_tile_cache_is_off_unless_a_directory_is_given() {
        let cfg: FileConfig = toml::from_str("").unwrap_or_default();
        assert_eq!(cfg.resolve().ok().map(|s| s.tile_cache_dir), Some(None));
        let cfg: FileConfig = toml::from_str("tile_cache_dir = \"/var/cache/t\"").unwrap_or_default();
        assert_eq!(cfg.resolve().ok().and_then(|s| s.tile_cache_dir), Some(PathBuf::from("/var/cache/t")));
        for bad in ["tile_cache_dir = \"\"", "tile_cache_dir = \"/t\"\ntile_cache_mb = 0"] {
            let cfg: FileConfig = toml::from_str(bad).unwrap_or_default();
            assert!(matches!(cfg.resolve(), Err(ConfigError::Invalid("tile_cache_dir", _))), "{bad}");
        }
    }

    #[test]
    fn tls_needs_both_files() {
        let cfg: FileConfig = toml::from_str("tls_cert_file = \"a.pem\"").unwrap_or_default();
        assert!(matches!(cfg.resolve(), Err(ConfigError::Invalid("tls_cert_file", _))));
        let cfg: FileConfig = toml::from_str("tls_cert_file = \"a.pem\"\ntls_key_file = \"k.pem\"").unwrap_or_default();
        assert_eq!(cfg.resolve().ok().and_then(|s| s.tls).map(|t| t.key), Some(PathBuf::from("k.pem")));
    }

    #[test]
    fn zero_still_turns_each_cache_off() {
        let cfg: FileConfig = toml::from_str("token_cache_seconds = 0\ntable_revalidate_ms = 0").unwrap_or_default();
        let s = cfg.resolve().ok();
        assert_eq!(s.map(|s| (s.token_cache_seconds, s.table_revalidate_ms)), Some((0, 0)));
        let cfg: FileConfig = toml::from_str("cache_listen_retry_ms = 0").unwrap_or_default();
        assert!(matches!(cfg.resolve(), Err(ConfigError::Invalid("cache_listen_retry_ms", _))));
    }

    #[test]
    fn unknown_keys_are_collected() {
        let cfg: Result<FileConfig, _> = toml::from_str("store_srid = 4527\nlsiten = \"x\"\n");
        let cfg = cfg.unwrap_or_default();
        assert_eq!(cfg.store_srid, Some(4527));
        assert!(cfg.unrecognized.contains_key("lsiten"));
    }

    #[test]
    fn out_of_range_values_are_errors() {
        let cfg: FileConfig = toml::from_str("store_srid = -1").unwrap_or_default();
        assert!(matches!(cfg.resolve(), Err(ConfigError::Invalid("store_srid", _))));
        let cfg: FileConfig = toml::from_str("default_rate_limit_per_minute = 0").unwrap_or_default();
        assert!(cfg.resolve().is_err());
    }
}
