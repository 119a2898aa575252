//! Errors that stop a load (exit status 2 in the CLI).

use std::path::PathBuf;

/// A file or folder could not be read as a submission.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The path does not exist.
    #[error("{0}: no such file or folder")]
    NotFound(PathBuf),
    /// An I/O error on a file.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A required companion file is missing (e.g. .dbf next to .shp).
    #[error("{path}: missing {what}")]
    MissingComponent {
        /// The .shp.
        path: PathBuf,
        /// What is missing, e.g. ".dbf (attribute table)".
        what: &'static str,
    },
    /// The file is not a valid shapefile/DBF/GeoPackage or is truncated.
    #[error("{path}: {detail}")]
    Corrupt {
        /// File.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Text in the DBF is not valid in any encoding we could determine.
    #[error("{path}: {detail}; pass --encoding (e.g. --encoding gbk or --encoding utf-8)")]
    Encoding {
        /// The .dbf.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// An encoding name (from --encoding) is not known.
    #[error("unknown encoding {0:?} (try gbk, utf-8, latin1, windows-1252)")]
    UnknownEncoding(String),
    /// The folder has no parcel (ZD) layer.
    #[error("{0}: no parcel layer (ZD / 宗地) found")]
    NoParcelLayer(PathBuf),
    /// GDAL failed to open or read a data source.
    #[error("{path}: {detail}")]
    Gdal {
        /// Data source.
        path: PathBuf,
        /// GDAL's message.
        detail: String,
    },
    /// Writing failed.
    #[error("writing {path}: {detail}")]
    Write {
        /// Target.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}
