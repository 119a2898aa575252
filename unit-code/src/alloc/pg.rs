//! PostgreSQL registry: `uc_counter` rows hand out numbers in the same
//! transaction that records the codes in `uc_unit` (see the migration).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::group::Group;
use super::{check_count, AllocError, Allocator, AnyCode, CodeRecord, CodeStatus, Issued, Scope};

/// Run the unit-code migrations (`unit-code/migrations/`, tables `uc_*`).
///
/// Other crates keep their own migrations in the same database, so versions
/// this migrator does not know are ignored rather than treated as an error.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator.run(pool).await
}

/// [`Allocator`] on PostgreSQL.
///
/// Allocation is one statement: it checks and share-locks the parent code,
/// advances the scope's counter row (`ON CONFLICT DO UPDATE SET last_issued =
/// last_issued + n RETURNING`, which locks the row until commit) and inserts
/// the issued codes. Allocations in one scope are serialised on that row while
/// different scopes proceed in parallel. Counter and codes commit together or
/// not at all (error, connection killed, client process killed), so there is
/// no gap and no duplicate; a statement whose client died after sending it may
/// still commit, leaving codes issued that nobody received (recorded, never
/// reissued), just as a commit whose reply was lost.
///
/// [`Allocator::allocate`] group-commits: requests of one scope that arrive
/// while that scope's statement is in flight share the next one (each still
/// gets its own contiguous run, in arrival order), so concurrent single
/// allocations cost one commit (one WAL flush) per batch, not one each. Clones
/// share the queues; allocators made separately still coordinate through the
/// row lock. Every reply follows a durable commit, so the bound for `c`
/// clients each waiting for its code is `c` per WAL flush.
///
/// The `*_in` functions do the same work inside a caller's transaction, to
/// compose allocation with other writes (renumbering, lineage).
#[derive(Debug, Clone)]
pub struct PgAllocator {
    pool: PgPool,
    group: Arc<Group>,
}

type UnitRow = (String, String, DateTime<Utc>, Option<DateTime<Utc>>);

fn to_record(row: UnitRow) -> Result<CodeRecord, AllocError> {
    let (code, status, created_at, retired_at) = row;
    let code: AnyCode = code.trim().parse().map_err(|e| AllocError::Corrupt(format!("code {code:?}: {e}")))?;
    let status = CodeStatus::from_db(&status).ok_or_else(|| AllocError::Corrupt(format!("status {status:?}")))?;
    Ok(CodeRecord { code, status, created_at, retired_at })
}

fn is_constraint(e: &sqlx::Error, name: &str) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.constraint() == Some(name))
}

fn to_i32(n: u32) -> i32 {
    // Every number here is at most 99_999.
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl PgAllocator {
    /// An allocator on `pool`. Run [`migrate`] first.
    pub fn new(pool: PgPool) -> Self {
        Self { pool, group: Arc::default() }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Requests of `scope` waiting for its next group-committed transaction
    /// (not counting those in the transaction in flight). For monitoring and tests.
    pub fn queued(&self, scope: Scope) -> usize {
        self.group.queued(scope)
    }

    /// Lock `parent` against retirement until commit and check it is current.
    async fn lock_parent(conn: &mut PgConnection, parent: Option<AnyCode>) -> Result<(), AllocError> {
        let Some(parent) = parent else { return Ok(()) };
        let status: Option<(String,)> =
            sqlx::query_as("SELECT status FROM uc_unit WHERE county = $1::bpchar AND code = $2 FOR SHARE")
                .bind(parent.county())
                .bind(parent.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(AllocError::db("checking the parent code"))?;
        match status.as_ref().map(|(s,)| CodeStatus::from_db(s)) {
            None => Err(AllocError::UnknownParent { parent: parent.to_string() }),
            Some(Some(CodeStatus::Current)) => Ok(()),
            Some(Some(CodeStatus::Historical)) => Err(AllocError::Retired { code: parent.to_string() }),
            Some(None) => Err(AllocError::Corrupt(format!("status of {parent}"))),
        }
    }

    /// [`Allocator::allocate`] inside the caller's transaction.
    pub async fn allocate_in(conn: &mut PgConnection, scope: Scope, n: u32) -> Result<Issued, AllocError> {
        Self::issue(conn, scope, n).await
    }

    /// One allocation on its own, without group commit: a single statement, so
    /// a transaction of its own (the implicit one) in a single round trip.
    pub async fn allocate_ungrouped(pool: &PgPool, scope: Scope, n: u32) -> Result<Issued, AllocError> {
        Self::issue(pool, scope, n).await
    }

    /// The allocation statement: checks and locks the parent (against
    /// retirement until commit), advances the counter and records the codes.
    /// One statement, so on its own it is one transaction in one round trip,
    /// and the counter row stays locked only for its execution and commit.
    async fn issue<'e, E: sqlx::PgExecutor<'e>>(ex: E, scope: Scope, n: u32) -> Result<Issued, AllocError> {
        check_count(&scope, n)?;
        let key = scope.key();
        let county = scope.county();
        let (prefix, width) = match scope {
            Scope::Parcels { .. } => (key.clone(), 5),
            Scope::Buildings { .. } => (format!("{key}F"), 4),
            Scope::Households { .. } => (key.clone(), 4),
        };
        let parent = scope.parent();
        // Without a current parent `c` inserts nothing and the parent's status says why.
        let row: Result<(Option<i32>, Option<String>), sqlx::Error> = sqlx::query_as(
            "WITH p AS ( \
                 SELECT status FROM uc_unit WHERE county = $1::bpchar AND code = $7 FOR SHARE \
             ), c AS ( \
                 INSERT INTO uc_counter (county, scope, kind, last_issued) \
                 SELECT $1, $2, $3, $4 WHERE $7::text IS NULL OR EXISTS (SELECT 1 FROM p WHERE status = 'current') \
                 ON CONFLICT (county, scope) DO UPDATE SET last_issued = uc_counter.last_issued + EXCLUDED.last_issued \
                 RETURNING last_issued \
             ), issued AS ( \
                 INSERT INTO uc_unit (county, code, level, parent) \
                 SELECT $1, $5 || lpad(g::text, $6, '0'), $3, $2 \
                 FROM c, generate_series(c.last_issued - $4 + 1, c.last_issued) AS g \
             ) \
             SELECT (SELECT last_issued FROM c), (SELECT status FROM p)",
        )
        .bind(&county)
        .bind(&key)
        .bind(scope.level().tag())
        .bind(to_i32(n))
        .bind(&prefix)
        .bind(width)
        .bind(parent.as_ref().map(AnyCode::as_str))
        .fetch_one(ex)
        .await;
        let last = match row {
            Ok((Some(last), _)) => {
                u32::try_from(last).map_err(|_| AllocError::Corrupt(format!("counter {key} = {last}")))?
            }
            Ok((None, status)) => {
                let parent = parent.map(|p| p.to_string()).unwrap_or_default();
                return Err(match status.as_deref().map(CodeStatus::from_db) {
                    None => AllocError::UnknownParent { parent },
                    Some(Some(CodeStatus::Historical)) => AllocError::Retired { code: parent },
                    Some(_) => AllocError::Corrupt(format!("status of {parent}: {status:?}")),
                });
            }
            Err(e) if is_constraint(&e, "uc_counter_limit") => {
                return Err(AllocError::Exhausted { scope: scope.to_string(), limit: scope.limit(), requested: n })
            }
            Err(e) if is_constraint(&e, "uc_unit_pkey") => {
                // Only possible if a code was inserted past the counter by hand.
                return Err(AllocError::AlreadyIssued { code: format!("a code of {scope} after the counter") });
            }
            Err(e) => return Err(AllocError::db("allocating")(e)),
        };
        Ok(Issued { scope, first: last + 1 - n, last })
    }

    /// [`Allocator::retire`] inside the caller's transaction.
    pub async fn retire_in(conn: &mut PgConnection, code: AnyCode) -> Result<(), AllocError> {
        let done = sqlx::query(
            "UPDATE uc_unit SET status = 'historical', retired_at = now() \
             WHERE county = $1::bpchar AND code = $2 AND status = 'current'",
        )
        .bind(code.county())
        .bind(code.as_str())
        .execute(&mut *conn)
        .await
        .map_err(AllocError::db("retiring a code"))?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        match Self::record_in(conn, code).await? {
            None => Err(AllocError::UnknownCode { code: code.to_string() }),
            Some(_) => Err(AllocError::Retired { code: code.to_string() }),
        }
    }

    /// [`Allocator::register`] inside the caller's transaction.
    pub async fn register_in(conn: &mut PgConnection, code: AnyCode) -> Result<(), AllocError> {
        Self::lock_parent(conn, code.parent()).await?;
        let inserted = sqlx::query(
            "INSERT INTO uc_unit (county, code, level, parent) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(code.county())
        .bind(code.as_str())
        .bind(code.level().tag())
        .bind(code.parent_key())
        .execute(&mut *conn)
        .await
        .map_err(AllocError::db("registering a code"))?;
        if inserted.rows_affected() == 0 {
            return Err(match Self::record_in(conn, code).await?.map(|r| r.status) {
                Some(CodeStatus::Historical) => AllocError::Retired { code: code.to_string() },
                _ => AllocError::AlreadyIssued { code: code.to_string() },
            });
        }
        if let Some((scope, n)) = code.numbered_in() {
            Self::raise_counter_in(conn, scope, n).await?;
        }
        Ok(())
    }

    /// Move the counter of `scope` to at least `last`.
    pub async fn raise_counter_in(conn: &mut PgConnection, scope: Scope, last: u32) -> Result<(), AllocError> {
        sqlx::query(
            "INSERT INTO uc_counter (county, scope, kind, last_issued) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (county, scope) DO UPDATE \
             SET last_issued = GREATEST(uc_counter.last_issued, EXCLUDED.last_issued)",
        )
        .bind(scope.county())
        .bind(scope.key())
        .bind(scope.level().tag())
        .bind(to_i32(last))
        .execute(&mut *conn)
        .await
        .map_err(AllocError::db("raising a counter"))?;
        Ok(())
    }

    /// [`Allocator::record`] inside the caller's transaction.
    pub async fn record_in(conn: &mut PgConnection, code: AnyCode) -> Result<Option<CodeRecord>, AllocError> {
        let row: Option<UnitRow> = sqlx::query_as(
            "SELECT code, status, created_at, retired_at FROM uc_unit WHERE county = $1::bpchar AND code = $2",
        )
        .bind(code.county())
        .bind(code.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(AllocError::db("reading a code"))?;
        row.map(to_record).transpose()
    }

    /// [`Allocator::last_issued`] inside the caller's transaction; with
    /// `for_update` the counter row is locked until commit.
    pub async fn last_issued_in(conn: &mut PgConnection, scope: Scope, for_update: bool) -> Result<u32, AllocError> {
        let sql = if for_update {
            "SELECT last_issued FROM uc_counter WHERE county = $1::bpchar AND scope = $2 FOR UPDATE"
        } else {
            "SELECT last_issued FROM uc_counter WHERE county = $1::bpchar AND scope = $2"
        };
        let row: Option<(i32,)> = sqlx::query_as(sql)
            .bind(scope.county())
            .bind(scope.key())
            .fetch_optional(&mut *conn)
            .await
            .map_err(AllocError::db("reading a counter"))?;
        let last = row.map_or(0, |(n,)| n);
        u32::try_from(last).map_err(|_| AllocError::Corrupt(format!("counter {} = {last}", scope.key())))
    }

    /// [`Allocator::children`] inside the caller's transaction.
    pub async fn children_in(conn: &mut PgConnection, parent: AnyCode) -> Result<Vec<CodeRecord>, AllocError> {
        let rows: Vec<UnitRow> = sqlx::query_as(
            "SELECT code, status, created_at, retired_at FROM uc_unit WHERE county = $1::bpchar AND parent = $2 ORDER BY code",
        )
        .bind(parent.county())
        .bind(parent.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(AllocError::db("listing child codes"))?;
        rows.into_iter().map(to_record).collect()
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, AllocError> {
        self.pool.acquire().await.map_err(AllocError::db("acquiring a connection"))
    }
}

impl Allocator for PgAllocator {
    async fn allocate(&self, scope: Scope, n: u32) -> Result<Issued, AllocError> {
        check_count(&scope, n)?;
        self.group.allocate(&self.pool, scope, n).await
    }

    async fn retire(&self, code: AnyCode) -> Result<(), AllocError> {
        let mut conn = self.conn().await?;
        Self::retire_in(&mut conn, code).await
    }

    async fn register(&self, code: AnyCode) -> Result<(), AllocError> {
        let mut tx = self.pool.begin().await.map_err(AllocError::db("starting a transaction"))?;
        Self::register_in(&mut tx, code).await?;
        tx.commit().await.map_err(AllocError::db("committing a registration"))?;
        Ok(())
    }

    async fn record(&self, code: AnyCode) -> Result<Option<CodeRecord>, AllocError> {
        Self::record_in(&mut *self.conn().await?, code).await
    }

    async fn last_issued(&self, scope: Scope) -> Result<u32, AllocError> {
        Self::last_issued_in(&mut *self.conn().await?, scope, false).await
    }

    async fn children(&self, parent: AnyCode) -> Result<Vec<CodeRecord>, AllocError> {
        Self::children_in(&mut *self.conn().await?, parent).await
    }
}
