//! A fresh database per test on the real PostgreSQL named by `DATABASE_URL`,
//! with the unit-code migrations applied and a pool of a chosen size (the
//! `#[sqlx::test]` pool is capped at 5 connections; these tests need 16+).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The server's URL; a clear failure when it is missing (CI always sets it).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DATABASE_URL is not set: these tests need the real PostgreSQL \
             (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:54329/cadastre; scripts/test.sh sets it)"
        )
    })
}

/// A database created for one test; `drop_db` removes it.
pub struct TestDb {
    pub pool: PgPool,
    pub name: String,
    admin: PgPool,
    options: PgConnectOptions,
}

impl TestDb {
    /// A new database `uc_t_<pid>_<n>_<tag>` with the migrations applied.
    pub async fn new(tag: &str, max_connections: u32) -> TestDb {
        let url = database_url();
        let admin = PgPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"));
        let name = format!("uc_t_{}_{}_{tag}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        admin.execute(format!("DROP DATABASE IF EXISTS {name}").as_str()).await.unwrap();
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
        // Commits need not wait for the WAL flush in a throwaway database: locking,
        // visibility and rollback are unchanged, only crash durability of the server is.
        admin.execute(format!("ALTER DATABASE {name} SET synchronous_commit = off").as_str()).await.unwrap();
        let options: PgConnectOptions = url.parse::<PgConnectOptions>().unwrap().database(&name);
        let pool = PgPoolOptions::new().max_connections(max_connections).connect_with(options.clone()).await.unwrap();
        unit_code::alloc::migrate(&pool).await.expect("migrations apply");
        TestDb { pool, name, admin, options }
    }

    /// Another, independent pool on the same database.
    pub async fn other_pool(&self, max_connections: u32) -> PgPool {
        PgPoolOptions::new().max_connections(max_connections).connect_with(self.options.clone()).await.unwrap()
    }

    /// Another pool on the same database whose sessions start with the run-time
    /// parameters `params` (e.g. `enable_seqscan = off`).
    pub async fn other_pool_with(&self, max_connections: u32, params: &[(&str, &str)]) -> PgPool {
        let options = self.options.clone().options(params.iter().copied());
        PgPoolOptions::new().max_connections(max_connections).connect_with(options).await.unwrap()
    }

    /// A connection URL for this database (for tests that run the CLI).
    pub fn url(&self) -> String {
        let base = database_url();
        match base.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{}", self.name),
            None => panic!("DATABASE_URL has no database part: {base}"),
        }
    }

    /// Close the pool and drop the database.
    pub async fn drop_db(self) {
        self.pool.close().await;
        self.admin.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str()).await.unwrap();
    }
}

/// Numbers of `scope` recorded in `uc_unit`, in order.
pub async fn stored_numbers(pool: &PgPool, scope: unit_code::alloc::Scope) -> Vec<u32> {
    let codes: Vec<String> = sqlx::query_scalar("SELECT code FROM uc_unit WHERE parent = $1 ORDER BY code")
        .bind(scope.key())
        .fetch_all(pool)
        .await
        .unwrap();
    codes.iter().map(|c| c.trim().parse::<unit_code::alloc::AnyCode>().unwrap().numbered_in().unwrap().1).collect()
}

/// The counter of `scope`, if it exists.
pub async fn counter(pool: &PgPool, scope: unit_code::alloc::Scope) -> Option<i32> {
    sqlx::query_scalar("SELECT last_issued FROM uc_counter WHERE scope = $1")
        .bind(scope.key())
        .fetch_optional(pool)
        .await
        .unwrap()
}
