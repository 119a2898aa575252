//! The JSON shapes of the internal server's unit-table endpoints, rebuilt from the
//! receiving database. They are copies of tile-server's `UnitView`, `Household`,
//! `LandUnit`, `BuildingAttrs`, `TableRow`, `BuildingTable`, `Hit` and `HitPage` (share-sync may not
//! depend on tile-server, and those types derive `sqlx::FromRow` for PostgreSQL rows,
//! which cadastre-core must not know). The end-to-end test
//! `tests/tests/share_sync.rs` compares both servers' answers for every unit of the
//! sample district, so the copies cannot drift silently.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::package::records::UnitRecord;

/// A household as the internal API returns it: the unit record as the package carried
/// it, and the owner fields, which never cross (always null, masked).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Household {
    /// BDCDYH, ZRZH, areas, status… (flattened: the JSON keys stay flat).
    #[serde(flatten)]
    pub unit: UnitRecord,
    /// 权利人: never carried across (always null).
    #[serde(rename = "QLR")]
    pub qlr: Option<String>,
    /// 证件号: never carried across (always null).
    #[serde(rename = "ZJH")]
    pub zjh: Option<String>,
    /// Always true here.
    pub pii_masked: bool,
}

/// A parcel as a land unit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LandUnit {
    /// ZDDM + W00000000.
    #[serde(rename = "BDCDYH")]
    pub bdcdyh: String,
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
}

/// A search hit, as the internal `GET /api/search` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Hit {
    /// `parcel` or `household`.
    pub kind: String,
    /// ZDDM for parcels, BDCDYH for households.
    pub code: String,
    /// 坐落.
    #[serde(rename = "ZL")]
    pub zl: String,
    /// County (the code's first six digits).
    pub county: String,
}

/// A page of search hits (the internal server's `HitPage`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HitPage {
    /// The items of this page.
    pub items: Vec<Hit>,
    /// 1-based page number.
    pub page: i64,
    /// Page size.
    pub per_page: i64,
    /// Items over all pages.
    pub total: i64,
}

/// A registration result (登簿) of a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Registration {
    /// 不动产权证书号.
    #[serde(rename = "BDCQZH")]
    pub bdcqzh: Option<String>,
    /// 登记状态.
    #[serde(rename = "DJZT")]
    pub djzt: String,
    /// 登簿时间.
    #[serde(rename = "DJSJ")]
    pub djsj: Option<DateTime<Utc>>,
}

/// `GET /api/units/{bdcdyh}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitView {
    /// The household, for a house unit (fixture F).
    pub household: Option<Household>,
    /// The land unit.
    pub land_unit: Option<LandUnit>,
    /// The registration result, once registered.
    pub registration: Option<Registration>,
}

/// Building attributes without geometry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuildingAttrs {
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
}

/// One nominal floor of the building table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableRow {
    /// 名义层.
    #[serde(rename = "MYC")]
    pub myc: String,
    /// 层名称.
    #[serde(rename = "CMC")]
    pub cmc: String,
    /// Physical floors it spans.
    #[serde(rename = "SJC")]
    pub sjc: Vec<i32>,
    /// Households on it, by stair unit and room.
    pub households: Vec<Household>,
}

/// `GET /api/buildings/{zrzh}/table`: the building table (楼盘表).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuildingTable {
    /// The building.
    pub building: BuildingAttrs,
    /// Rows from the top floor down.
    pub rows: Vec<TableRow>,
    /// Number of households.
    pub household_count: usize,
    /// Σ 实测建筑面积 (2 decimals).
    pub total_scjzmj: f64,
    /// Σ 预测建筑面积.
    pub total_ycjzmj: f64,
}

/// One floor of the floor list.
#[derive(Debug, Clone)]
pub struct FloorRow {
    /// 实际层.
    pub sjc: i32,
    /// 名义层.
    pub myc: String,
    /// 层名称.
    pub cmc: String,
}

/// Lays out the building table exactly as the internal server does: rows from the
/// floor list (top first), households on them (one whose floor is not listed still
/// appears under its own MYC), rows sorted by their highest physical floor.
pub fn lay_out(building: BuildingAttrs, floors: &[FloorRow], households: Vec<Household>) -> BuildingTable {
    let mut rows: Vec<TableRow> = Vec::new();
    let mut push = |myc: &str, cmc: &str, sjc: i32| match rows.iter_mut().find(|r| r.myc == myc) {
        Some(r) => {
            if !r.sjc.contains(&sjc) {
                r.sjc.push(sjc);
            }
        }
        None => {
            rows.push(TableRow { myc: myc.to_owned(), cmc: cmc.to_owned(), sjc: vec![sjc], households: Vec::new() })
        }
    };
    for f in floors {
        push(&f.myc, &f.cmc, f.sjc);
    }
    for h in &households {
        push(&h.unit.myc, "", h.unit.sjc);
    }
    let total_sc: f64 = households.iter().filter_map(|h| h.unit.scjzmj).sum();
    let total_yc: f64 = households.iter().filter_map(|h| h.unit.ycjzmj).sum();
    let household_count = households.len();
    for h in households {
        if let Some(r) = rows.iter_mut().find(|r| r.myc == h.unit.myc) {
            r.households.push(h);
        }
    }
    for r in &mut rows {
        r.sjc.sort_unstable();
        r.households.sort_by(|a, b| {
            (a.unit.dyh.as_str(), a.unit.shbw.as_str()).cmp(&(b.unit.dyh.as_str(), b.unit.shbw.as_str()))
        });
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.sjc.iter().copied().max().unwrap_or(i32::MIN)));
    BuildingTable {
        building,
        rows,
        household_count,
        total_scjzmj: (total_sc * 100.0).round() / 100.0,
        total_ycjzmj: (total_yc * 100.0).round() / 100.0,
    }
}
