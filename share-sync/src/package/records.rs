//! The records of the data files (UTF-8 JSON Lines), one type per file. Field names
//! are the national standard's (BDCDYH, ZRZH…) as in the internal unit-table API.
//! There is no geometry field anywhere: the exporter can only fill these.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::manifest::PackageKind;

/// Unit rows (户): `data/units.jsonl`.
pub const UNITS: &str = "data/units.jsonl";
/// Natural buildings (自然幢) with their floor lists: `data/buildings.jsonl`.
pub const BUILDINGS: &str = "data/buildings.jsonl";
/// Land units (宗地 as 不动产单元 ZDDM + W00000000): `data/land_units.jsonl`.
pub const LAND_UNITS: &str = "data/land_units.jsonl";
/// Unit-code lineage edges (新旧单元谱系): `data/lineage.jsonl`.
pub const LINEAGE: &str = "data/lineage.jsonl";
/// Objects no longer current: `data/retired.jsonl`.
pub const RETIRED: &str = "data/retired.jsonl";
/// Registration results (登簿): `data/registrations.jsonl`.
pub const REGISTRATIONS: &str = "data/registrations.jsonl";

/// Every data file a package may hold, with the package kind it belongs to.
pub const DATA_FILES: &[(&str, PackageKind)] = &[
    (LAND_UNITS, PackageKind::Units),
    (BUILDINGS, PackageKind::Units),
    (UNITS, PackageKind::Units),
    (LINEAGE, PackageKind::Units),
    (RETIRED, PackageKind::Units),
    (REGISTRATIONS, PackageKind::Registrations),
];

/// One household / unit (户) without owner data and without geometry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UnitRecord {
    /// 不动产单元号 (28 characters).
    #[serde(rename = "BDCDYH")]
    pub bdcdyh: String,
    /// 自然幢号.
    #[serde(rename = "ZRZH")]
    pub zrzh: String,
    /// 房屋编码.
    #[serde(rename = "FWBM")]
    pub fwbm: Option<String>,
    /// 逻辑幢号.
    #[serde(rename = "LJZH")]
    pub ljzh: Option<String>,
    /// 实际层.
    #[serde(rename = "SJC")]
    pub sjc: i32,
    /// 名义层.
    #[serde(rename = "MYC")]
    pub myc: String,
    /// 单元号.
    #[serde(rename = "DYH")]
    pub dyh: String,
    /// 室号部位.
    #[serde(rename = "SHBW")]
    pub shbw: String,
    /// 户型.
    #[serde(rename = "HX")]
    pub hx: Option<String>,
    /// 房屋用途.
    #[serde(rename = "FWYT")]
    pub fwyt: Option<String>,
    /// 坐落.
    #[serde(rename = "ZL")]
    pub zl: String,
    /// 预测套内建筑面积.
    #[serde(rename = "YCTNJZMJ")]
    pub yctnjzmj: Option<f64>,
    /// 预测分摊建筑面积.
    #[serde(rename = "YCFTJZMJ")]
    pub ycftjzmj: Option<f64>,
    /// 预测建筑面积.
    #[serde(rename = "YCJZMJ")]
    pub ycjzmj: Option<f64>,
    /// 实测套内建筑面积.
    #[serde(rename = "SCTNJZMJ")]
    pub sctnjzmj: Option<f64>,
    /// 实测分摊建筑面积.
    #[serde(rename = "SCFTJZMJ")]
    pub scftjzmj: Option<f64>,
    /// 实测建筑面积.
    #[serde(rename = "SCJZMJ")]
    pub scjzmj: Option<f64>,
    /// 分摊系数 K.
    #[serde(rename = "FTXS")]
    pub ftxs: Option<f64>,
    /// 共有土地面积.
    #[serde(rename = "GYTDMJ")]
    pub gytdmj: Option<f64>,
    /// 分摊土地面积.
    #[serde(rename = "FTTDMJ")]
    pub fttdmj: Option<f64>,
    /// 独用土地面积.
    #[serde(rename = "DYTDMJ")]
    pub dytdmj: Option<f64>,
    /// 抵押.
    pub mortgaged: bool,
    /// 查封.
    pub sealed: bool,
    /// current / historical / temporary.
    pub state: String,
    /// Version row id in the internal store (the receiver keeps the highest).
    pub version_id: i64,
    /// When this version became current.
    pub valid_from: DateTime<Utc>,
}

/// One floor (层) of a building.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct FloorRecord {
    /// 实际层.
    #[serde(rename = "SJC")]
    pub sjc: i32,
    /// 名义层.
    #[serde(rename = "MYC")]
    pub myc: String,
    /// 层名称.
    #[serde(rename = "CMC")]
    pub cmc: String,
}

/// A natural building's attributes (no footprint) and its current floor list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct BuildingRecord {
    /// 自然幢号.
    #[serde(rename = "ZRZH")]
    pub zrzh: String,
    /// 宗地代码.
    #[serde(rename = "ZDDM")]
    pub zddm: String,
    /// County code.
    pub county: String,
    /// 建筑物名称.
    #[serde(rename = "JZWMC")]
    pub jzwmc: String,
    /// 坐落.
    #[serde(rename = "ZL")]
    pub zl: String,
    /// 竣工日期.
    #[serde(rename = "JGRQ")]
    pub jgrq: Option<NaiveDate>,
    /// 地上层数.
    #[serde(rename = "DSCS")]
    pub dscs: Option<i32>,
    /// 地下层数.
    #[serde(rename = "DXCS")]
    pub dxcs: Option<i32>,
    /// 房屋结构.
    #[serde(rename = "FWJG")]
    pub fwjg: Option<String>,
    /// 规划用途.
    #[serde(rename = "GHYT")]
    pub ghyt: Option<String>,
    /// 预测建筑面积.
    #[serde(rename = "YCJZMJ")]
    pub ycjzmj: Option<f64>,
    /// 实测建筑面积.
    #[serde(rename = "SCJZMJ")]
    pub scjzmj: Option<f64>,
    /// current / historical / temporary.
    pub state: String,
    /// Version row id.
    pub version_id: i64,
    /// When this version became current.
    pub valid_from: DateTime<Utc>,
    /// The current floors, top first.
    #[sqlx(skip)]
    pub floors: Vec<FloorRecord>,
}

/// A parcel as a land unit (no boundary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct LandUnitRecord {
    /// 宗地代码.
    #[serde(rename = "ZDDM")]
    pub zddm: String,
    /// 坐落.
    #[serde(rename = "ZL")]
    pub zl: String,
    /// 宗地面积 m².
    #[serde(rename = "ZDMJ")]
    pub zdmj: Option<f64>,
    /// 用途.
    #[serde(rename = "YT")]
    pub yt: Option<String>,
    /// 权利类型.
    #[serde(rename = "QLLX")]
    pub qllx: Option<String>,
    /// 权利性质.
    #[serde(rename = "QLXZ")]
    pub qlxz: Option<String>,
    /// current / historical / temporary.
    pub state: String,
    /// Version row id.
    pub version_id: i64,
}

/// One lineage edge: `old_code` was succeeded by `new_code` in event `event_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct LineageRecord {
    /// County.
    pub county: String,
    /// Event id in the internal code registry.
    pub event_id: i64,
    /// Predecessor code.
    pub old_code: String,
    /// Successor code.
    pub new_code: String,
    /// create / change / split / merge / extinguish.
    pub kind: String,
    /// When the event happened.
    pub at: DateTime<Utc>,
}

/// What kind of object a retirement names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A unit (BDCDYH).
    Unit,
    /// A natural building (ZRZH).
    Building,
    /// A land unit (ZDDM).
    LandUnit,
}

/// An object that has no current version any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredRecord {
    /// Which table.
    pub kind: ObjectKind,
    /// Its code.
    pub key: String,
}

/// A registration result (登簿) for one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct RegistrationRecord {
    /// 不动产单元号.
    #[serde(rename = "BDCDYH")]
    pub bdcdyh: String,
    /// 不动产权证书号 (certificate number), once issued.
    #[serde(rename = "BDCQZH")]
    pub bdcqzh: Option<String>,
    /// 登记状态: e.g. `registered` 已登簿, `cancelled` 已注销.
    #[serde(rename = "DJZT")]
    pub djzt: String,
    /// 登簿时间.
    #[serde(rename = "DJSJ")]
    pub djsj: Option<DateTime<Utc>>,
    /// The extranet's revision of this result (the receiver keeps the highest).
    pub revision: i64,
}

/// One parsed line of a data file.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// From [`UNITS`].
    Unit(Box<UnitRecord>),
    /// From [`BUILDINGS`].
    Building(Box<BuildingRecord>),
    /// From [`LAND_UNITS`].
    LandUnit(Box<LandUnitRecord>),
    /// From [`LINEAGE`].
    Lineage(LineageRecord),
    /// From [`RETIRED`].
    Retired(RetiredRecord),
    /// From [`REGISTRATIONS`].
    Registration(RegistrationRecord),
}

impl Record {
    /// Parses a line of member `file`.
    pub fn parse(file: &str, line: &[u8]) -> Result<Self, String> {
        let err = |e: serde_json::Error| format!("{file}: {e}");
        Ok(match file {
            UNITS => Self::Unit(serde_json::from_slice(line).map_err(err)?),
            BUILDINGS => Self::Building(serde_json::from_slice(line).map_err(err)?),
            LAND_UNITS => Self::LandUnit(serde_json::from_slice(line).map_err(err)?),
            LINEAGE => Self::Lineage(serde_json::from_slice(line).map_err(err)?),
            RETIRED => Self::Retired(serde_json::from_slice(line).map_err(err)?),
            REGISTRATIONS => Self::Registration(serde_json::from_slice(line).map_err(err)?),
            other => return Err(format!("unknown member {other}")),
        })
    }
}
