//! `manifest.json`: what a result package says about itself.

use serde::{Deserialize, Serialize};

use super::qc::QcReportRef;
use super::FORMAT_VERSION;

/// The value of [`Manifest::format`].
pub const FORMAT_NAME: &str = "cadastre-result-package";

/// Business kind of a submission (业务类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum BusinessKind {
    /// 首次: first registration survey of the area.
    #[default]
    #[serde(rename = "首次", alias = "initial")]
    Initial,
    /// 变更: attributes or boundaries of existing units change.
    #[serde(rename = "变更", alias = "change")]
    Change,
    /// 分割: parcels split.
    #[serde(rename = "分割", alias = "split")]
    Split,
    /// 合并: parcels merge.
    #[serde(rename = "合并", alias = "merge")]
    Merge,
    /// 灭失: units end.
    #[serde(rename = "灭失", alias = "extinguish")]
    Extinguish,
}

impl BusinessKind {
    /// The Chinese term.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Self::Initial => "首次",
            Self::Change => "变更",
            Self::Split => "分割",
            Self::Merge => "合并",
            Self::Extinguish => "灭失",
        }
    }
}

/// How existing parcels are replaced: the lineage the reviewer accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplaceKind {
    /// 分割: one old parcel becomes two or more new ones.
    #[serde(rename = "分割", alias = "split")]
    Split,
    /// 合并: two or more old parcels become one.
    #[serde(rename = "合并", alias = "merge")]
    Merge,
    /// 灭失: old parcels end without successors.
    #[serde(rename = "灭失", alias = "extinguish")]
    Extinguish,
}

/// Store parcels a package replaces, and by what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    /// Split, merge or extinguish.
    pub kind: ReplaceKind,
    /// 宗地代码 of the store parcels replaced.
    pub old: Vec<String>,
    /// The new parcels in the package, by ZDDM or temporary id (empty for 灭失).
    #[serde(default)]
    pub new: Vec<String>,
}

impl Replacement {
    /// Whether old and new counts fit the kind.
    pub fn shape_problem(&self) -> Option<String> {
        let (o, n) = (self.old.len(), self.new.len());
        let ok = match self.kind {
            ReplaceKind::Split => o == 1 && n >= 2,
            ReplaceKind::Merge => o >= 2 && n == 1,
            ReplaceKind::Extinguish => o >= 1 && n == 0,
        };
        (!ok).then(|| format!("{:?} with {o} old and {n} new parcel(s)", self.kind))
    }
}

/// One file of the package with its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path inside the package, `/`-separated, relative.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
}

/// `manifest.json` of a result package (成果包).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer; readers refuse versions they do not know.
    pub format_version: u32,
    /// County-level administrative code (6 digits) the package belongs to.
    pub county: String,
    /// 项目名称.
    #[serde(default)]
    pub project: String,
    /// 测绘单位.
    #[serde(default)]
    pub survey_firm: String,
    /// 业务类型.
    #[serde(default)]
    pub business_kind: BusinessKind,
    /// Store parcels this package replaces (split, merge, extinguish).
    #[serde(default)]
    pub replaces: Vec<Replacement>,
    /// When the package was written (RFC 3339).
    #[serde(default)]
    pub created_at: String,
    /// Every file of the package except `manifest.json`, sorted by path.
    pub files: Vec<FileEntry>,
    /// The QC report the surveyor's tool ran before packing, if any (its files are in
    /// [`Manifest::files`] too). Absent in packages of older writers: still format 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qc_report: Option<QcReportRef>,
}

impl Manifest {
    /// The fields of a new manifest; files are added by the writer.
    pub fn new(county: &str) -> Self {
        Self {
            format: FORMAT_NAME.to_owned(),
            format_version: FORMAT_VERSION,
            county: county.to_owned(),
            project: String::new(),
            survey_firm: String::new(),
            business_kind: BusinessKind::Initial,
            replaces: Vec::new(),
            created_at: String::new(),
            files: Vec::new(),
            qc_report: None,
        }
    }

    /// Codes of every store parcel the package replaces.
    pub fn replaced_codes(&self) -> impl Iterator<Item = &str> {
        self.replaces.iter().flat_map(|r| r.old.iter().map(String::as_str))
    }
}

/// `manifest.toml` beside the layers: the fields a surveyor writes by hand. Every field is
/// optional; what is missing is derived from the data (county from the codes, kind 首次).
///
/// ```toml
/// county = "330106"
/// project = "文三路宗地分割"
/// survey_firm = "杭州某测绘有限公司"
/// business_kind = "分割"
///
/// [[replaces]]
/// kind = "分割"
/// old = ["330106001001GB00007"]
/// new = ["T1", "T2"]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestInput {
    /// County (6 digits).
    pub county: Option<String>,
    /// 项目名称.
    pub project: Option<String>,
    /// 测绘单位.
    pub survey_firm: Option<String>,
    /// 业务类型.
    pub business_kind: Option<BusinessKind>,
    /// Replaced parcels.
    #[serde(default)]
    pub replaces: Vec<Replacement>,
}
