//! The cadastral data model shared by I/O, quality checks and area work.
//!
//! Geometry is `geo_types` in the data's planar CRS with **x = easting, y = northing**
//! (the Chinese XZBZ/YZBZ order is converted at the I/O edge, see [`crate::boundary`]).
//! Field names follow the national cadastral database standard (DOMAIN.md §3); the
//! Chinese term is in each field's doc comment.

mod extra;
mod floor;
mod issue;

pub use extra::ExtraAttributes;
pub use floor::floor_name;
pub use issue::{Layer, LoadIssue, LoadIssueKind};

use geo_types::MultiPolygon;
use serde::{Deserialize, Serialize};

use crate::crs::Crs;

/// 宗地 (ZDJBXX): a parcel, a polygon with holes (possibly multipart in bad data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parcel {
    /// 宗地代码 ZDDM, raw as in the data (may be malformed; parse with `unit_code` when needed).
    #[serde(rename = "ZDDM")]
    pub zddm: String,
    /// Parcel geometry; a single polygon is a one-element multipolygon.
    pub geometry: MultiPolygon<f64>,
    /// Standard attributes.
    pub attributes: ParcelAttributes,
    /// Feature number in the source layer (0-based record index).
    pub source_index: usize,
}

/// Standard parcel attributes. `None` means missing, null or empty in the data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParcelAttributes {
    /// 标识码 BSM.
    #[serde(rename = "BSM")]
    pub bsm: Option<String>,
    /// 不动产单元号 BDCDYH (the land-only unit, `ZDDM + "W00000000"`).
    #[serde(rename = "BDCDYH")]
    pub bdcdyh: Option<String>,
    /// 宗地特征码 ZDTZM (two letters, e.g. "GB").
    #[serde(rename = "ZDTZM")]
    pub zdtzm: Option<String>,
    /// 坐落 ZL (street address).
    #[serde(rename = "ZL")]
    pub zl: Option<String>,
    /// 宗地面积 ZDMJ, recorded area in m².
    #[serde(rename = "ZDMJ")]
    pub zdmj: Option<f64>,
    /// 用途 YT (GB/T 21010 land-use code).
    #[serde(rename = "YT")]
    pub yt: Option<String>,
    /// 权利类型 QLLX.
    #[serde(rename = "QLLX")]
    pub qllx: Option<String>,
    /// 权利性质 QLXZ.
    #[serde(rename = "QLXZ")]
    pub qlxz: Option<String>,
    /// 地籍子区代码 DJZQDM (12 digits) as recorded on the parcel.
    #[serde(rename = "DJZQDM")]
    pub djzqdm: Option<String>,
    /// 界址点精度等级 (boundary-point accuracy class 1/2/3) when the data records it.
    #[serde(rename = "JZDJB")]
    pub point_class: Option<u8>,
    /// Other fields, as text.
    pub extra: ExtraAttributes,
}

/// 自然幢 (ZRZ): a natural building with its footprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Building {
    /// 自然幢号 ZRZH, 24 chars = ZDDM + "F" + 4 digits, raw as in the data.
    #[serde(rename = "ZRZH")]
    pub zrzh: String,
    /// 宗地代码 ZDDM of the parcel the building stands on, raw.
    #[serde(rename = "ZDDM")]
    pub zddm: String,
    /// Footprint (基底).
    pub footprint: MultiPolygon<f64>,
    /// Standard attributes.
    pub attributes: BuildingAttributes,
    /// Feature number in the source layer (0-based record index).
    pub source_index: usize,
}

/// Standard building attributes. `None` means missing, null or empty in the data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildingAttributes {
    /// 标识码 BSM.
    #[serde(rename = "BSM")]
    pub bsm: Option<String>,
    /// 不动产单元号 BDCDYH (whole building, household 0000).
    #[serde(rename = "BDCDYH")]
    pub bdcdyh: Option<String>,
    /// 建筑物名称 JZWMC.
    #[serde(rename = "JZWMC")]
    pub jzwmc: Option<String>,
    /// 竣工日期 JGRQ, as written.
    #[serde(rename = "JGRQ")]
    pub jgrq: Option<String>,
    /// 占地面积 ZZDMJ (footprint area, m²).
    #[serde(rename = "ZZDMJ")]
    pub zzdmj: Option<f64>,
    /// 预测建筑面积 YCJZMJ (m²).
    #[serde(rename = "YCJZMJ")]
    pub ycjzmj: Option<f64>,
    /// 实测建筑面积 SCJZMJ (m²).
    #[serde(rename = "SCJZMJ")]
    pub scjzmj: Option<f64>,
    /// 总层数 ZCS.
    #[serde(rename = "ZCS")]
    pub zcs: Option<i64>,
    /// 地上层数 DSCS.
    #[serde(rename = "DSCS")]
    pub dscs: Option<i64>,
    /// 地下层数 DXCS.
    #[serde(rename = "DXCS")]
    pub dxcs: Option<i64>,
    /// 规划用途 GHYT.
    #[serde(rename = "GHYT")]
    pub ghyt: Option<String>,
    /// 房屋结构 FWJG.
    #[serde(rename = "FWJG")]
    pub fwjg: Option<String>,
    /// Other fields, as text.
    pub extra: ExtraAttributes,
}

/// 地籍子区 (DJZQ): a cadastral sub-district.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subdistrict {
    /// 地籍子区代码 DJZQDM, 12 digits, raw.
    #[serde(rename = "DJZQDM")]
    pub djzqdm: String,
    /// 地籍子区名称 DJZQMC.
    #[serde(rename = "DJZQMC")]
    pub name: Option<String>,
    /// 地籍子区面积 DJZQMJ (m²) as recorded.
    #[serde(rename = "DJZQMJ")]
    pub recorded_area: Option<f64>,
    /// Outline.
    pub geometry: MultiPolygon<f64>,
    /// Other fields, as text.
    pub extra: ExtraAttributes,
    /// Feature number in the source layer.
    pub source_index: usize,
}

/// 地籍区 (DJQ): a cadastral district.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct District {
    /// 地籍区代码 DJQDM, 9 digits, raw.
    #[serde(rename = "DJQDM")]
    pub djqdm: String,
    /// 地籍区名称 DJQMC.
    #[serde(rename = "DJQMC")]
    pub name: Option<String>,
    /// 地籍区面积 DJQMJ (m²) as recorded.
    #[serde(rename = "DJQMJ")]
    pub recorded_area: Option<f64>,
    /// Outline.
    pub geometry: MultiPolygon<f64>,
    /// Other fields, as text.
    pub extra: ExtraAttributes,
    /// Feature number in the source layer.
    pub source_index: usize,
}

/// A survey submission: everything loaded from one folder or GeoPackage.
///
/// Per-feature problems are in `load_issues` (the quality checks report them as
/// findings); features that could not be turned into the model are **not** in the
/// vectors, but each of them has a load issue, so nothing is dropped silently.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// 宗地 (ZD layer).
    pub parcels: Vec<Parcel>,
    /// 自然幢 (ZRZ layer).
    pub buildings: Vec<Building>,
    /// 地籍子区 (DJZQ layer).
    pub subdistricts: Vec<Subdistrict>,
    /// 地籍区 (DJQ layer).
    pub districts: Vec<District>,
    /// The declared (or inferred) CRS; `None` when there is no .prj and nothing could be inferred.
    pub crs: Option<Crs>,
    /// Per-feature and per-layer load problems.
    pub load_issues: Vec<LoadIssue>,
}

impl Submission {
    /// Bounding box of all parcels (None without parcel geometry).
    pub fn parcels_bbox(&self) -> Option<geo_types::Rect<f64>> {
        use geo::BoundingRect;
        self.parcels.iter().filter_map(|p| p.geometry.bounding_rect()).reduce(|a, b| {
            geo_types::Rect::new(
                geo_types::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                geo_types::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        })
    }
}
