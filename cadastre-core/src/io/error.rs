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

/// A shapefile could not be written ([`ShapefileWriter`](super::ShapefileWriter)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// An I/O error on a file.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A field the DBF format cannot hold (name, width, too many fields).
    #[error("field {field:?}: {reason}")]
    BadField {
        /// Field name.
        field: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A record with another number of values than the table has fields.
    #[error("a record has {found} values for {expected} fields")]
    RecordLength {
        /// Fields of the table.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A value of the wrong kind for its field (text for a number or the reverse).
    #[error("field {field}: a {found} value in a {expected} field")]
    WrongKind {
        /// Field name.
        field: &'static str,
        /// The field's kind.
        expected: &'static str,
        /// The value's kind.
        found: &'static str,
    },
    /// A value that does not fit its column.
    #[error("value {value:?} of field {field} needs {bytes} bytes in the DBF encoding, the column holds {width}")]
    FieldTooLong {
        /// Field name.
        field: &'static str,
        /// The value.
        value: String,
        /// Encoded length.
        bytes: usize,
        /// Column width.
        width: usize,
    },
    /// Text the DBF encoding has no bytes for.
    #[error("value {value:?} of field {field} cannot be written in {encoding}")]
    Unencodable {
        /// Field name.
        field: &'static str,
        /// The value.
        value: String,
        /// The encoding's name.
        encoding: &'static str,
    },
    /// A file would pass a limit of the format: 2 GiB (32-bit word offsets) for `.shp`,
    /// 2³² − 1 records for `.dbf`.
    #[error("{0} would exceed the size limit of the shapefile format; write fewer features per file")]
    TooLarge(PathBuf),
}

impl WriteError {
    /// An I/O error on `path`, for `map_err`.
    pub(crate) fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> Self + '_ {
        move |source| Self::Io { path: path.to_path_buf(), source }
    }
}
