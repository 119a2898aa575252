//! The store's own error: what went wrong in terms of the data, not of HTTP.
//!
//! Database errors are classified once, in [`StoreError::db`]: a unique key or a
//! CHECK constraint is recognised by its *name* (the names in `migrations/` are part
//! of the contract, see `migrations/README.md`), the review state machine's trigger
//! by its function's name, and values PostgreSQL cannot hold by their SQLSTATE. Everything else
//! stays a [`StoreError::Database`] that keeps the `sqlx::Error` as its source. The
//! HTTP layer maps these variants to status codes (`impl From<StoreError> for
//! AppError` in `crate::error`); the importer and the command line read them as they are.

use crate::principal::Denied;

/// Result alias of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A boxed error kept as the source of an internal failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such object (the text names it: `submission 7`).
    #[error("{0} not found")]
    NotFound(String),
    /// A unique key (named `constraint`) already holds the value.
    #[error("{}", duplicate_message(constraint, context))]
    Duplicate {
        /// The violated unique constraint or index, e.g. `users_username_key`.
        constraint: String,
        /// What was being done.
        context: &'static str,
    },
    /// A CHECK constraint refused a value.
    #[error("value rejected by a store rule while {context}")]
    Check {
        /// The violated constraint, e.g. `users_check` (none for a trigger's refusal).
        constraint: Option<String>,
        /// What was being done.
        context: &'static str,
    },
    /// The review state machine (`submission_version_guard()`, migration 0013) refused a status
    /// change: the version moved on meanwhile. The text is the trigger's.
    #[error("{0}")]
    Transition(String),
    /// A geometry in another SRID than the store's (the `*_geom_srid` CHECKs).
    #[error("geometry SRID differs from the store SRID")]
    SridMismatch,
    /// Geometry PostGIS cannot read.
    #[error("invalid geometry")]
    InvalidGeometry,
    /// A value no column can hold (a number beyond NUMERIC precision, NUL in text,
    /// an over-long code, an impossible date): `what` says which kind.
    #[error("{what} while {context}")]
    Unrepresentable {
        /// The kind of value, e.g. "a number is out of range".
        what: &'static str,
        /// What was being done.
        context: &'static str,
    },
    /// Data the store refuses before writing (a text over its limit, a negative area,
    /// a geometry that cannot be in the store CRS, a unit of a missing building...).
    #[error("{0}")]
    Invalid(String),
    /// The write conflicts with the stored state (a submission already decided).
    #[error("{0}")]
    Conflict(String),
    /// An `If-Match` precondition names another version than the current one.
    #[error("{0}")]
    Stale(String),
    /// The principal may not do this (role or county).
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A per-user quota is used up.
    #[error("{0}")]
    QuotaExceeded(String),
    /// Any other database failure; `context` says what was being done.
    #[error("database error while {context}")]
    Database {
        /// The driver's error.
        #[source]
        source: sqlx::Error,
        /// What was being done.
        context: &'static str,
    },
    /// A failure beside the database (encrypting owner data), or stored data the
    /// program cannot use (an unknown role).
    #[error("{context}")]
    Internal {
        /// What was being done or found.
        context: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// Classifies a database error met while doing `context` (see the module doc).
    pub fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| classify(source, context)
    }

    /// An internal failure with its source.
    pub fn internal(context: impl Into<String>, source: impl Into<BoxError>) -> StoreError {
        StoreError::Internal { context: context.into(), source: Some(source.into()) }
    }

    /// The constraint (or index) a violation names, if this is one.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            StoreError::Duplicate { constraint, .. } => Some(constraint),
            StoreError::Check { constraint, .. } => constraint.as_deref(),
            _ => None,
        }
    }
}

fn classify(source: sqlx::Error, context: &'static str) -> StoreError {
    let sqlx::Error::Database(d) = &source else { return StoreError::Database { source, context } };
    let code = d.code();
    let unrepresentable = |what| StoreError::Unrepresentable { what, context };
    match code.as_deref() {
        Some("23505") => {
            let constraint = d.constraint().or(d.table()).unwrap_or_default().to_owned();
            StoreError::Duplicate { constraint, context }
        }
        Some("23514") => match d.constraint() {
            Some(c) if c.ends_with("_geom_srid") => StoreError::SridMismatch,
            Some(c) => StoreError::Check { constraint: Some(c.to_owned()), context },
            // A RAISE names no constraint: the function that raised is in the error's context.
            None if raised_by(d.as_ref(), "submission_version_guard") => StoreError::Transition(d.message().to_owned()),
            None => StoreError::Check { constraint: None, context },
        },
        // RAISE ... USING ERRCODE '22023' (the SRID trigger of old stores).
        Some("22023") => StoreError::SridMismatch,
        Some("22P02") | Some("XX000") if context.contains("geometry") => StoreError::InvalidGeometry,
        // Found by fuzzing the API.
        Some("22003") => unrepresentable("a number is out of range"),
        Some("22021") | Some("22P05") => unrepresentable("text with a NUL character"),
        Some("22001") | Some("22007") | Some("22008") | Some("22P02") => {
            unrepresentable("a value the store cannot hold")
        }
        _ => StoreError::Database { source, context },
    }
}

/// Whether the PL/pgSQL function `function` raised the error (its `CONTEXT` line).
fn raised_by(d: &dyn sqlx::error::DatabaseError, function: &str) -> bool {
    d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(|pg| pg.r#where())
        .is_some_and(|at| at.contains(&format!("function {function}(")))
}

/// What a duplicate of a unique key means to a person, by the key's name.
fn duplicate_message(constraint: &str, context: &str) -> String {
    let known = match constraint {
        // Unique keys of migration 0003 (PostgreSQL's default names) and 0013.
        "users_username_key" => Some("a user with this name already exists"),
        "api_clients_client_id_key" => Some("an API client with this id already exists"),
        "submission_versions_pkey" => Some("this version of the submission was handed in already"),
        _ => None,
    };
    match known {
        Some(m) => m.to_owned(),
        None => format!("duplicate key while {context}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_database_errors_keep_their_source() {
        let e = StoreError::db("loading parcel")(sqlx::Error::PoolTimedOut);
        assert!(matches!(e, StoreError::Database { source: sqlx::Error::PoolTimedOut, .. }), "{e:?}");
        assert_eq!(e.to_string(), "database error while loading parcel");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn duplicates_are_named_by_their_key() {
        assert_eq!(duplicate_message("users_username_key", "creating user"), "a user with this name already exists");
        assert_eq!(duplicate_message("sync_keys_pkey", "storing"), "duplicate key while storing");
    }
}
