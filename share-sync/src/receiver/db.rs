//! The receiving database: SQLite (a file, the embedded default) or PostgreSQL,
//! through sqlx's `Any` driver so one set of statements serves both; or the
//! internal store (PostgreSQL, tile-server's schema) receiving registration results.

use std::path::PathBuf;
use std::str::FromStr as _;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor as _};

use crate::package::manifest::PackageKind;

/// The receiving database's own migrations (valid in SQLite and PostgreSQL).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Errors of the receiving database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A URL that names no usable database.
    #[error("{0}")]
    Url(String),
    /// The database.
    #[error("{what}: {source}")]
    Sql {
        /// What was being done.
        what: &'static str,
        /// Cause.
        source: sqlx::Error,
    },
    /// Migrations.
    #[error("migrating the receiving database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Maps an sqlx error with context.
pub fn sql(what: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    move |source| DbError::Sql { what, source }
}

/// Which engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// What the database is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An extranet receiving database (units come in, registrations go out).
    Extranet,
    /// The internal store (registrations come in).
    InternalStore,
}

impl Role {
    /// The package kind this database accepts.
    pub fn accepts(self) -> PackageKind {
        match self {
            Self::Extranet => PackageKind::Units,
            Self::InternalStore => PackageKind::Registrations,
        }
    }
}

/// An open receiving database.
#[derive(Debug, Clone)]
pub struct ReceiverDb {
    /// The pool.
    pub pool: AnyPool,
    /// Engine.
    pub backend: Backend,
    /// Role.
    pub role: Role,
    /// The SQLite file, for the default inbox beside it.
    pub file: Option<PathBuf>,
}

impl ReceiverDb {
    /// Opens `url` (`sqlite://FILE` or `postgres://…`), creating a SQLite file if
    /// missing, and brings an extranet database's schema up to date. The internal
    /// store is recognised by its `store_settings` table; its schema is tile-server's.
    pub async fn open(url: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let (backend, file, options) = if let Some(rest) = url.strip_prefix("sqlite://").or(url.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(DbError::Url(format!("{url:?}: give a file, e.g. sqlite://receiver.db")));
            }
            // Created if missing; WAL and the sync level are set on every connection below.
            let url = if url.contains("mode=") {
                url.to_owned()
            } else {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            };
            let any = AnyConnectOptions::from_str(&url).map_err(|e| DbError::Url(format!("{url:?}: {e}")))?;
            (Backend::Sqlite, Some(PathBuf::from(path)), any)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let any = AnyConnectOptions::from_str(url).map_err(|e| DbError::Url(format!("{url:?}: {e}")))?;
            (Backend::Postgres, None, any)
        } else {
            return Err(DbError::Url(format!("{url:?}: expected sqlite://FILE or postgres://…")));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets `serve` read while `apply` writes; FULL sync makes a commit durable.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(sql("connecting to the receiving database"))?;
        let internal: i64 = match backend {
            Backend::Sqlite => sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'store_settings'"),
            Backend::Postgres => sqlx::query_scalar(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'store_settings' AND schemaname = current_schema()",
            ),
        }
        .fetch_one(&pool)
        .await
        .map_err(sql("inspecting the database"))?;
        let role = if internal > 0 { Role::InternalStore } else { Role::Extranet };
        match role {
            Role::Extranet => MIGRATOR.run(&pool).await?,
            Role::InternalStore => {
                let ready: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_tables WHERE tablename IN ('sync_applied', 'unit_registrations')
                       AND schemaname = current_schema()",
                )
                .fetch_one(&pool)
                .await
                .map_err(sql("inspecting the internal store"))?;
                if ready < 2 {
                    return Err(DbError::Url(
                        "the internal store lacks the share-sync tables: run `tile-server migrate` (migration 0030)"
                            .into(),
                    ));
                }
            }
        }
        Ok(Self { pool, backend, role, file })
    }
}
