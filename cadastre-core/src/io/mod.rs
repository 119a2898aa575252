//! Reading and writing submissions: shapefile folders (DBF encoding from .cpg or
//! detected), GeoPackage and other formats through GDAL.

mod error;
mod encoding;
mod options;

pub use error::LoadError;
pub use options::{FieldAliases, LoadOptions};

use std::path::Path;

use crate::model::Submission;

/// Load a submission from a folder of ZD/ZRZ/DJZQ/DJQ shapefiles or a GeoPackage.
///
/// Unreadable files are a [`LoadError`]; problems with single features become
/// [`Submission::load_issues`].
pub fn load_submission(path: &Path, options: &LoadOptions) -> Result<Submission, LoadError> {
    let _ = options;
    Err(LoadError::NotFound(path.to_path_buf()))
}

/// An encoding from a .cpg / `--encoding` name: `GBK`, `CP936`, `936`, `UTF-8`, `65001`,
/// `ISO-8859-1`, `latin1`, `1252`, `ANSI 1250`, ... Returns `None` when unknown.
pub fn encoding_from_name(name: &str) -> Option<&'static encoding_rs::Encoding> {
    encoding::from_name(name)
}
