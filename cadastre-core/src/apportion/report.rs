//! The result of an apportionment: per unit, per shared space, per level.

use super::{Area, Method};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::sync::Arc;

/// The result of apportioning one building (房屋面积分摊计算结果).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Apportionment {
    /// Building code.
    pub building: String,
    /// Weighting method used.
    pub method: Method,
    /// The tree's nodes with their coefficients: building, then zones, then floors.
    pub levels: Vec<LevelRow>,
    /// One row per household, sorted by id.
    pub units: Vec<UnitResult>,
    /// One row per shared space, sorted by id.
    pub shared: Vec<SharedResult>,
    /// Totals over the building.
    pub totals: Totals,
}

/// Level of a node of the apportionment tree (分摊树).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// 幢: the whole building.
    Building,
    /// 功能区: a functional zone.
    Zone,
    /// 层: one floor of one zone.
    Floor,
}

/// A node of the tree and its coefficient K.
///
/// `incoming` is the (unrounded) shared area that reaches this node from the
/// level above; `k = (incoming + own_shared) / weight of the children`. At a
/// floor the children are the units, weighted by inner area, so a unit's
/// formula share is `k × inner area` before rounding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelRow {
    /// Which level.
    pub level: Level,
    /// Zone id (zones and floors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<Arc<str>>,
    /// Zone name (zones and floors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<Arc<str>>,
    /// Nominal floor (floors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<i32>,
    /// Σ inner area of the units below.
    pub inner_area: Area,
    /// This node's weight in its parent's split (zones, floors); at the
    /// building, the sum of the zones' weights.
    pub participating_area: Area,
    /// Shared area arriving from the parent, unrounded, m².
    pub incoming: f64,
    /// Shared spaces (by formula) that serve exactly this node.
    pub own_shared: Area,
    /// Coefficient K, unrounded.
    pub k: f64,
}

/// One household's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitResult {
    /// Unit id.
    pub id: Arc<str>,
    /// Room number 室号, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<Arc<str>>,
    /// Zone id.
    pub zone: Arc<str>,
    /// Nominal floor.
    pub floor: i32,
    /// 套内建筑面积 (TNJZMJ).
    pub inner_area: Area,
    /// 分摊共有建筑面积 (FTJZMJ): the sum of its rounded shares.
    pub apportioned: Area,
    /// 建筑面积 (JZMJ) = inner + apportioned.
    pub building_area: Area,
    /// 分摊系数 (FTXS) = apportioned / inner, unrounded.
    pub coefficient: f64,
}

/// A unit's share of one shared space, or a ±0.01 adjustment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// Unit id.
    pub unit: Arc<str>,
    /// m² (for adjustments: +0.01 or -0.01).
    pub area: Area,
}

/// A shared space's coefficient at one node it passes through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeK {
    /// Node: the building, a zone, a floor of a zone, or an explicit unit list.
    pub node: Node,
    /// Zone id (zone and floor nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<Arc<str>>,
    /// Nominal floor (floor nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<i32>,
    /// This space's part at the node divided by the weight of the node's children.
    pub k: f64,
}

/// Kind of node a shared space passes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Node {
    /// 幢.
    Building,
    /// 功能区.
    Zone,
    /// 层 of one zone.
    Floor,
    /// An explicit list of units.
    Units,
}

/// One shared space's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedResult {
    /// Shared space id.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Area, m².
    pub area: Area,
    /// What it serves, as text ("building", "zone res", "zone com floor 1", "units 0101,0102").
    pub serves: String,
    /// True when the shares were agreed between owners rather than computed.
    pub by_agreement: bool,
    /// Coefficient at each node on the way down.
    pub k: Vec<NodeK>,
    /// Rounded shares; they add up exactly to `area`.
    pub allocations: Vec<Allocation>,
    /// Where the rounding residual went (units that got +0.01 or -0.01 after
    /// half-up rounding).
    pub adjustments: Vec<Allocation>,
}

/// Totals over the building.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Σ 套内建筑面积.
    pub inner_area: Area,
    /// Σ shared areas.
    pub shared_area: Area,
    /// Σ apportioned areas (always equal to `shared_area`).
    pub apportioned: Area,
    /// Σ 建筑面积.
    pub building_area: Area,
}

impl Apportionment {
    /// A plain-text table for the terminal: levels with K, then households.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "房屋面积分摊 building {} (method: {})", self.building, self.method.as_str());
        let _ = writeln!(s, "\nlevel                         inner m²    shared m²          K");
        for l in &self.levels {
            let name = match l.level {
                Level::Building => "幢".to_string(),
                Level::Zone => format!("  功能区 {}", zone_label(l)),
                Level::Floor => format!("    {} 第{}层", zone_label(l), l.floor.unwrap_or_default()),
            };
            let shared = l.incoming + l.own_shared.m2();
            let _ = writeln!(s, "{name:<28}{:>10} {shared:>12.2} {:>10.6}", l.inner_area.to_string(), l.k);
        }
        let _ = writeln!(s, "\nunit     room        zone  floor      套内      分摊    建筑面积    系数");
        for u in &self.units {
            let _ = writeln!(
                s,
                "{:<8} {:<10} {:>5} {:>6} {:>9} {:>9} {:>11} {:>8.6}",
                u.id,
                u.room.as_deref().unwrap_or("-"),
                u.zone,
                u.floor,
                u.inner_area.to_string(),
                u.apportioned.to_string(),
                u.building_area.to_string(),
                u.coefficient
            );
        }
        let t = &self.totals;
        let _ = writeln!(
            s,
            "{:<34} {:>9} {:>9} {:>11}",
            "合计 total",
            t.inner_area.to_string(),
            t.apportioned.to_string(),
            t.building_area.to_string()
        );
        for sh in self.shared.iter().filter(|sh| !sh.adjustments.is_empty()) {
            let adj: Vec<String> = sh.adjustments.iter().map(|a| format!("{} {:+.2}", a.unit, a.area.m2())).collect();
            let _ = writeln!(s, "尾差 residual of {}: {}", sh.id, adj.join(", "));
        }
        s
    }
}

fn zone_label(l: &LevelRow) -> String {
    match (&l.zone_name, &l.zone) {
        (Some(n), Some(z)) if !n.is_empty() => format!("{n}({z})"),
        (_, Some(z)) => z.to_string(),
        _ => String::new(),
    }
}
