//! Errors that stop an import (exit status 2): unreadable input or a database failure.
//! Problems with single features are not errors: they become rejects in the report.

use std::path::PathBuf;

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The input could not be read (missing file, truncated .shp, missing .dbf, ...).
    #[error(transparent)]
    Load(#[from] cadastre_core::io::LoadError),
    /// The input is readable but cannot be imported as given (no .prj, points in ZD, ...).
    #[error("{path}: {detail}")]
    Input {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong and what to do.
        detail: String,
    },
    /// The coordinate transform into the store CRS could not be set up.
    #[error("coordinate transform: {0}")]
    Crs(#[from] cadastre_core::crs::CrsError),
    /// A database statement failed; the open batch was rolled back.
    #[error("database error while {1}: {0}")]
    Db(#[source] sqlx::Error, &'static str),
    /// The reject report could not be written.
    #[error("reject report {path}: {detail}")]
    Report {
        /// The CSV file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The reader thread died (a bug); the open batch was rolled back.
    #[error("reader thread failed: {0}")]
    Reader(String),
}

impl ImportError {
    /// `map_err` helper naming what the database was doing.
    pub(crate) fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |e| Self::Db(e, what)
    }

    pub(crate) fn input(path: &std::path::Path, detail: impl Into<String>) -> Self {
        Self::Input { path: path.to_path_buf(), detail: detail.into() }
    }
}
