//! The result package (成果包): what a survey firm hands in to the reviewers.
//!
//! One zip archive:
//!
//! | file | what |
//! |---|---|
//! | `manifest.json` | [`Manifest`]: format version, county, project, survey firm, business kind (首次/变更/分割/合并/灭失), the store parcels it replaces, every other file with its size and SHA-256 |
//! | `ZD.shp`… / `*.gpkg` | parcel, building and sub-district layers: shapefiles (GBK or UTF-8, `.cpg`) or one GeoPackage |
//! | `JZD.csv` | boundary points (界址点成果表, [`crate::boundary`]) |
//! | `buildings/<ZRZH>.csv` | building tables (楼盘表, [`crate::building`]), with `<ZRZH>.apportion.json` (分摊输入) and `<ZRZH>.floorplan.json` (分层分户图, [`crate::floorplan`]; the server keeps none, the desktop app reads it back) |
//! | `qc/report.json`, `qc/report.html` | optional: the QC report the surveyor's tool made before packing ([`Manifest::qc_report`], [`check_for_package`]) |
//!
//! New parcels and buildings carry a **temporary id** ([`is_temporary_id`]: `T` and up to 18
//! letters, digits, `-` or `_`, e.g. `T1`) in ZDDM / ZRZH until the reviewer accepts them and
//! the store issues codes. New households have an empty BDCDYH.
//!
//! The desktop app and the `cadastre package` command write this format; the server reads
//! it. [`Package::open`] refuses, each with one clear message: a file that is not a zip, a
//! missing manifest, an unknown format version, a missing or extra file, a wrong digest, a
//! path that leaves the folder, a zip bomb ([`Limits`]); [`Package::check_scope`] a county
//! outside the uploader's scope.

mod error;
mod manifest;
mod qc;
mod read;
mod write;

pub use error::PackageError;
pub use manifest::{BusinessKind, FileEntry, Manifest, ManifestInput, ReplaceKind, Replacement, FORMAT_NAME};
pub use qc::{
    check_for_package, restore_temporary_ids, with_placeholders, PackedReport, QcReportRef, QC_REPORT_HTML,
    QC_REPORT_JSON,
};
pub use read::{Limits, Package};
pub use write::{build_from_dir, PackageWriter};

/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The manifest's name inside the archive.
pub const MANIFEST_NAME: &str = "manifest.json";

/// The hand-written manifest fields beside the layers of a folder.
pub const MANIFEST_TOML: &str = "manifest.toml";

/// Whether a ZDDM / ZRZH value is a temporary id of a new feature (`T` followed by 1-18
/// ASCII letters, digits, `-` or `_`). Real codes start with the county's digits.
///
/// ```
/// use cadastre_core::package::is_temporary_id;
/// assert!(is_temporary_id("T1"));
/// assert!(is_temporary_id("T-0007"));
/// assert!(!is_temporary_id("330106001001GB00001"));
/// assert!(!is_temporary_id("T"));
/// ```
pub fn is_temporary_id(s: &str) -> bool {
    let s = s.trim();
    s.len() >= 2
        && s.len() <= 19
        && s.starts_with('T')
        && s[1..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
