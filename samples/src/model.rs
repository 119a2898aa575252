//! The in-memory district: parcels, buildings, sub-districts, the district and
//! the truth record of injected defects.

use geo_types::{Coord, LineString, Polygon};
use serde::{Deserialize, Serialize};

use crate::defects::Rule;
use crate::tables::BuildingTable;

/// A parcel (宗地, layer ZD). Field docs give the standard column name.
///
/// The exterior ring is clockwise and holes are counter-clockwise, as in a
/// shapefile, so the geometry is written exactly as held here.
#[derive(Debug, Clone, PartialEq)]
pub struct Parcel {
    /// BSM 标识码: 1-based, unique in the layer.
    pub bsm: u64,
    /// ZDDM 宗地代码 (19 chars when well formed).
    pub zddm: String,
    /// BDCDYH 不动产单元代码 of the land-only unit (ZDDM + `W00000000`).
    pub bdcdyh: String,
    /// ZDTZM 宗地特征码 ("GB" state construction land, "JC" collective homestead).
    pub feature: String,
    /// ZL 坐落 (address).
    pub address: String,
    /// ZDMJ 宗地面积, m², 2 dp: the planar area unless an `area.tolerance` defect changed it.
    pub recorded_area: f64,
    /// YT 土地用途, GB/T 21010 code.
    pub land_use: String,
    /// QLLX 权利类型 ("3" 国有建设用地使用权, "5" 宅基地使用权).
    pub right_type: String,
    /// QLXZ 权利性质 ("102" 出让, "200" 集体土地).
    pub right_nature: String,
    /// DJZQDM 地籍子区代码 of the sub-district the parcel lies in.
    pub subdistrict: String,
    /// Street block the parcel was generated in (0-based).
    pub block: u32,
    /// Boundary, EPSG:4549-style projected metres, x = easting.
    pub geometry: Polygon<f64>,
}

/// A natural building (自然幢, layer ZRZ).
#[derive(Debug, Clone, PartialEq)]
pub struct Building {
    /// BSM 标识码.
    pub bsm: u64,
    /// BDCDYH 不动产单元代码 of the whole building (household `0000`).
    pub bdcdyh: String,
    /// ZDDM 宗地代码 of the parcel the building stands on.
    pub zddm: String,
    /// ZRZH 自然幢号 (ZDDM + "F" + 4-digit number).
    pub zrzh: String,
    /// JZWMC 建筑物名称.
    pub name: String,
    /// JGRQ 竣工日期 as `YYYYMMDD`.
    pub completed: String,
    /// ZZDMJ 幢占地面积 (footprint), m².
    pub footprint_area: f64,
    /// YCJZMJ 预测建筑面积, m².
    pub predicted_area: f64,
    /// SCJZMJ 实测建筑面积, m².
    pub measured_area: f64,
    /// ZCS 总层数 (nominal floors above + below ground).
    pub floors: u32,
    /// DSCS 地上层数 (nominal).
    pub floors_above: u32,
    /// DXCS 地下层数.
    pub floors_below: u32,
    /// GHYT 规划用途 (住宅, 商业, 办公, 商住, 公用设施).
    pub planned_use: String,
    /// FWJG 房屋结构 (钢筋混凝土, 混合, 砖混).
    pub structure: String,
    /// Street block (0-based).
    pub block: u32,
    /// Footprint, clockwise exterior.
    pub geometry: Polygon<f64>,
}

/// A cadastral sub-district (地籍子区, layer DJZQ).
#[derive(Debug, Clone, PartialEq)]
pub struct SubDistrict {
    /// BSM 标识码.
    pub bsm: u64,
    /// DJZQDM 地籍子区代码 (12 digits).
    pub code: String,
    /// DJZQMC 地籍子区名称.
    pub name: String,
    /// DJZQMJ 地籍子区面积, m².
    pub area: f64,
    /// Boundary.
    pub geometry: Polygon<f64>,
}

/// The cadastral district (地籍区, layer DJQ).
#[derive(Debug, Clone, PartialEq)]
pub struct CadastralDistrict {
    /// BSM 标识码.
    pub bsm: u64,
    /// DJQDM 地籍区代码 (9 digits).
    pub code: String,
    /// DJQMC 地籍区名称.
    pub name: String,
    /// DJQMJ 地籍区面积, m².
    pub area: f64,
    /// Boundary.
    pub geometry: Polygon<f64>,
}

/// One generated street block: everything the writer needs to stream it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    /// 0-based block number (row-major from the south-west).
    pub index: u32,
    /// Parcels in code order.
    pub parcels: Vec<Parcel>,
    /// Buildings in code order.
    pub buildings: Vec<Building>,
    /// Building tables (楼盘表) of featured buildings in this block.
    pub tables: Vec<BuildingTable>,
    /// Defect injected into this block, if any.
    pub defect: Option<Defect>,
}

/// A whole district held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct District {
    /// The cadastral district.
    pub district: CadastralDistrict,
    /// Its sub-districts, south to north.
    pub subdistricts: Vec<SubDistrict>,
    /// All parcels, block by block.
    pub parcels: Vec<Parcel>,
    /// All buildings, block by block.
    pub buildings: Vec<Building>,
    /// Building tables of the featured buildings.
    pub tables: Vec<BuildingTable>,
    /// What was generated and which defects were injected.
    pub truth: Truth,
}

/// The `truth.json` file (see `notes/truth-format.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Generator name and version.
    pub generator: String,
    /// Seed the district was generated from.
    pub seed: u64,
    /// CRS of the coordinates, e.g. `EPSG:4549`.
    pub crs: String,
    /// Object counts.
    pub counts: Counts,
    /// Injected defects, one block each.
    pub defects: Vec<Defect>,
}

/// Object counts in [`Truth`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Counts {
    /// Parcels written (ZD records).
    pub parcels: u64,
    /// Buildings written (ZRZ records).
    pub buildings: u64,
    /// Sub-districts (DJZQ records).
    pub subdistricts: u64,
    /// Street blocks.
    pub blocks: u64,
}

/// One injected defect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Defect {
    /// 1-based id, in block order.
    pub id: u32,
    /// The finding a check must report.
    pub rule: Rule,
    /// ZDDM / ZRZH of the objects (the bad code as written for `code.format`).
    pub objects: Vec<String>,
    /// A point at or near the defect, `[easting, northing]`.
    pub location: [f64; 2],
    /// The block the defect was injected into.
    pub block: u32,
    /// Other rules that may legitimately fire on the same objects.
    pub also: Vec<Rule>,
    /// What was done, for a human.
    pub detail: String,
}

/// Builds a polygon from a closed-or-open exterior and holes (closing them).
pub(crate) fn polygon(exterior: Vec<Coord<f64>>, holes: Vec<Vec<Coord<f64>>>) -> Polygon<f64> {
    Polygon::new(LineString::from(exterior), holes.into_iter().map(LineString::from).collect())
}
