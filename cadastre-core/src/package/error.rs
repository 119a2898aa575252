//! Why a package was refused. One variant per problem, each with one clear message
//! (Chinese first, then English), so the surveyor knows what to fix.

use std::path::PathBuf;

/// A refused or unwritable package.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// Not a zip archive, or a damaged one.
    #[error("成果包不是有效的 zip 文件 the package is not a readable zip archive: {0}")]
    NotZip(String),
    /// No `manifest.json` at the top of the archive.
    #[error("成果包缺少 manifest.json the package has no manifest.json at its top level")]
    MissingManifest,
    /// `manifest.json` is not valid JSON of the manifest's shape.
    #[error("manifest.json 格式错误 manifest.json is malformed: {0}")]
    BadManifest(String),
    /// A format version this reader does not know.
    #[error("不支持的成果包格式版本 {found} unknown package format version {found} (this reader knows {known})")]
    UnknownVersion {
        /// The version in the manifest.
        found: u32,
        /// The version this reader writes and reads.
        known: u32,
    },
    /// A file listed in the manifest is not in the archive.
    #[error("成果包缺少文件 missing file: {0} is listed in manifest.json but not in the package")]
    MissingFile(String),
    /// A file in the archive that the manifest does not list.
    #[error("成果包含有清单外的文件 extra file: {0} is in the package but not listed in manifest.json")]
    ExtraFile(String),
    /// A file whose SHA-256 (or size) differs from the manifest.
    #[error("文件摘要不符 wrong digest: {path} does not match its SHA-256 in manifest.json (changed or damaged)")]
    DigestMismatch {
        /// The file.
        path: String,
    },
    /// An entry whose path leaves the package folder (`../`, absolute, drive letter).
    #[error("文件路径越出成果包 path escapes the package: {0}")]
    PathEscape(String),
    /// Too many entries, too many bytes once unpacked, or a compression ratio no real data has.
    #[error("成果包解压后过大（疑似压缩炸弹）zip bomb refused: {0}")]
    ZipBomb(String),
    /// The manifest's county is not one the uploader may submit for (code `county_forbidden`,
    /// as the server's answer to any county outside the caller's scope).
    #[error("县级行政区 {county} 不在您的权限范围内 county {county} is outside your scope")]
    CountyOutOfScope {
        /// The manifest's county.
        county: String,
    },
    /// A manifest field that is not acceptable (county format, replacement shape...).
    #[error("manifest 内容无效 invalid manifest: {0}")]
    InvalidManifest(String),
    /// The county cannot be derived from the data and `manifest.toml` does not name it.
    #[error("无法确定县级行政区 cannot tell the county: {0}; write county = \"330106\" in manifest.toml")]
    UnknownCounty(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl PackageError {
    /// A stable machine-readable code for each kind of refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotZip(_) => "not_zip",
            Self::MissingManifest => "missing_manifest",
            Self::BadManifest(_) => "bad_manifest",
            Self::UnknownVersion { .. } => "unknown_format_version",
            Self::MissingFile(_) => "missing_file",
            Self::ExtraFile(_) => "extra_file",
            Self::DigestMismatch { .. } => "wrong_digest",
            Self::PathEscape(_) => "path_escape",
            Self::ZipBomb(_) => "zip_bomb",
            // The server's code for every county outside a caller's scope (HTTP 403).
            Self::CountyOutOfScope { .. } => "county_forbidden",
            Self::InvalidManifest(_) => "invalid_manifest",
            Self::UnknownCounty(_) => "unknown_county",
            Self::Io { .. } => "io",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
