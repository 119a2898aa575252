//! PostgreSQL registry: `uc_counter` rows hand out numbers in the same
//! transaction that records the codes in `uc_unit` (see the migration).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

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
/// Each call is one transaction. The counter row of a scope is upserted
/// (`ON CONFLICT DO UPDATE SET last_issued = last_issued + n RETURNING`), which
/// locks it until commit, so allocations in one scope are serialised while
/// different scopes proceed in parallel. The issued codes are inserted in the
/// same transaction: if it aborts (error, dropped, connection killed), the
/// counter rolls back with it, so there is no gap and no duplicate.
///
/// The `*_in` functions do the same work inside a caller's transaction, to
/// compose allocation with other writes (renumbering, lineage).
#[derive(Debug, Clone)]
pub struct PgAllocator {
    pool: PgPool,
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
        Self { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Lock `parent` against retirement until commit and check it is current.
    async fn lock_parent(conn: &mut PgConnection, parent: Option<AnyCode>) -> Result<(), AllocError> {
        let Some(parent) = parent else { return Ok(()) };
        let status: Option<(String,)> =
            sqlx::query_as("SELECT status FROM uc_unit WHERE county = $1 AND code = $2 FOR SHARE")
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
        check_count(&scope, n)?;
        Self::lock_parent(conn, scope.parent()).await?;
        let key = scope.key();
        let county = scope.county();
        // One statement advances the counter and records the codes, so the
        // counter row stays locked for a single round trip plus the commit.
        let (prefix, width) = match scope {
            Scope::Parcels { .. } => (key.clone(), 5),
            Scope::Buildings { .. } => (format!("{key}F"), 4),
            Scope::Households { .. } => (key.clone(), 4),
        };
        let last: Result<(i32,), sqlx::Error> = sqlx::query_as(
            "WITH c AS ( \
                 INSERT INTO uc_counter (county, scope, kind, last_issued) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (county, scope) DO UPDATE SET last_issued = uc_counter.last_issued + EXCLUDED.last_issued \
                 RETURNING last_issued \
             ), issued AS ( \
                 INSERT INTO uc_unit (county, code, level, parent) \
                 SELECT $1, $5 || lpad(g::text, $6, '0'), $3, $2 \
                 FROM c, generate_series(c.last_issued - $4 + 1, c.last_issued) AS g \
             ) \
             SELECT last_issued FROM c",
        )
        .bind(&county)
        .bind(&key)
        .bind(scope.level().tag())
        .bind(to_i32(n))
        .bind(&prefix)
        .bind(width)
        .fetch_one(&mut *conn)
        .await;
        let last = match last {
            Ok((last,)) => u32::try_from(last).map_err(|_| AllocError::Corrupt(format!("counter {key} = {last}")))?,
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
             WHERE county = $1 AND code = $2 AND status = 'current'",
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
        let row: Option<UnitRow> =
            sqlx::query_as("SELECT code, status, created_at, retired_at FROM uc_unit WHERE county = $1 AND code = $2")
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
            "SELECT last_issued FROM uc_counter WHERE county = $1 AND scope = $2 FOR UPDATE"
        } else {
            "SELECT last_issued FROM uc_counter WHERE county = $1 AND scope = $2"
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
            "SELECT code, status, created_at, retired_at FROM uc_unit WHERE county = $1 AND parent = $2 ORDER BY code",
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
        let mut tx = self.pool.begin().await.map_err(AllocError::db("starting a transaction"))?;
        let issued = Self::allocate_in(&mut tx, scope, n).await?;
        tx.commit().await.map_err(AllocError::db("committing an allocation"))?;
        Ok(issued)
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
