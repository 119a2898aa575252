//! The floor-plan model (分层分户图) and its JSON form.

use crate::apportion::Serves;
use serde::{Deserialize, Serialize};

/// A point in the building's local frame, metres: `[x, y]`, x to the local
/// east, y to the local north (see [`Placement`]).
pub type LocalPoint = [f64; 2];

/// A closed ring of local points without the closing repeat, either orientation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Outline(pub Vec<LocalPoint>);

impl Outline {
    /// An axis-aligned rectangle from its lower-left and upper-right corners.
    ///
    /// ```
    /// use cadastre_core::floorplan::Outline;
    /// assert_eq!(Outline::rect(0.0, 0.0, 4.0, 2.5).area(), 10.0);
    /// ```
    pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Self {
        Outline(vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    }

    /// The vertices.
    pub fn points(&self) -> &[LocalPoint] {
        &self.0
    }

    /// Planar area in m² (always ≥ 0).
    pub fn area(&self) -> f64 {
        super::geometry::signed_area(&self.0).abs()
    }

    /// Perimeter in m.
    pub fn perimeter(&self) -> f64 {
        let n = self.0.len();
        (0..n).map(|i| dist(self.0[i], self.0[(i + 1) % n])).sum()
    }

    /// As a counter-clockwise `geo` polygon.
    pub fn to_polygon(&self) -> geo_types::Polygon<f64> {
        super::geometry::polygon(self)
    }

    /// The same outline moved by (dx, dy).
    #[must_use]
    pub fn translated(&self, dx: f64, dy: f64) -> Self {
        Outline(self.0.iter().map(|p| [p[0] + dx, p[1] + dy]).collect())
    }
}

pub(crate) fn dist(a: LocalPoint, b: LocalPoint) -> f64 {
    (b[0] - a[0]).hypot(b[1] - a[1])
}

/// Wall thicknesses in metres. A plan is drawn on **wall centre lines**, so
/// every household and shared-space outline already holds half of each wall
/// around it (GB/T 17986.1: half of party walls, half of walls to shared
/// space, half of outer walls go to the suite); the other half of the outer
/// walls lies outside the drawn outline and is shared area. The thicknesses
/// split 套内建筑面积 into 使用面积 and 墙体面积 and size the outer half.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Walls {
    /// 外墙 (outer and gable walls).
    pub outer: f64,
    /// 分户墙 (between two households).
    pub party: f64,
    /// Walls between a household and a shared space (套与公共部位之间).
    pub shared: f64,
}

impl Default for Walls {
    fn default() -> Self {
        // 240 mm brick outer walls, 200 mm partitions: the common case.
        Walls { outer: 0.24, party: 0.2, shared: 0.2 }
    }
}

/// Where the local frame sits on the map: local (0, 0) at easting `x`,
/// northing `y`; `rotation` degrees counter-clockwise from the map east to
/// the local x axis. A plan without placement is drawn with local y as north.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    /// Easting of the local origin, m.
    pub x: f64,
    /// Northing of the local origin, m.
    pub y: f64,
    /// Rotation of the local axes, degrees counter-clockwise.
    #[serde(default)]
    pub rotation: f64,
}

impl Placement {
    /// Map coordinates (easting, northing) of a local point.
    pub fn to_map(&self, p: LocalPoint) -> (f64, f64) {
        let (s, c) = self.rotation.to_radians().sin_cos();
        (self.x + c * p[0] - s * p[1], self.y + s * p[0] + c * p[1])
    }
}

/// A balcony (阳台): enclosed ones count in full, open ones by half.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Balcony {
    /// Outline: the outer face of the balcony's walls or railing, and on the
    /// inner side the outer face of the household's outer wall (the half wall
    /// inside it is already in the outer-wall band of the floor).
    pub outline: Outline,
    /// 封闭阳台 (true: full area) or 未封闭 (false: half area).
    pub enclosed: bool,
}

impl Balcony {
    /// The area it adds to 套内建筑面积.
    pub fn counted_area(&self) -> f64 {
        if self.enclosed {
            self.outline.area()
        } else {
            self.outline.area() / 2.0
        }
    }
}

/// One household's outline on a floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdPlan {
    /// 户号 HH (links to the building table).
    #[serde(rename = "HH")]
    pub hh: String,
    /// 室号部位 SHBW, e.g. "101".
    #[serde(rename = "SHBW", default)]
    pub room: String,
    /// 单元号 DYH (stair unit); empty for shops.
    #[serde(rename = "DYH", default)]
    pub stair_unit: String,
    /// Outline on wall centre lines.
    pub outline: Outline,
    /// Balconies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub balconies: Vec<Balcony>,
}

/// What a shared space is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SharedKind {
    /// 走廊 / 过道.
    Corridor,
    /// 楼梯间.
    Stairwell,
    /// 电梯井.
    Lift,
    /// 门厅 / 大堂.
    Hall,
    /// 管道井, 设备间 and other apportionable spaces.
    Other,
}

impl SharedKind {
    /// The Chinese name used on plans.
    pub fn label(self) -> &'static str {
        match self {
            SharedKind::Corridor => "走廊",
            SharedKind::Stairwell => "楼梯间",
            SharedKind::Lift => "电梯井",
            SharedKind::Hall => "门厅",
            SharedKind::Other => "公共部位",
        }
    }
}

/// A shared space (共有部位) drawn on a floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedSpace {
    /// Id, unique on its floor (the apportionment id is `F<floor>-<id>`).
    pub id: String,
    /// What it is.
    pub kind: SharedKind,
    /// Display name, e.g. "1单元楼梯间"; the kind's name when empty.
    #[serde(default)]
    pub name: String,
    /// Outline on wall centre lines.
    pub outline: Outline,
    /// What it serves in the apportionment tree (分摊树).
    pub serves: Serves,
}

/// One floor's plan: the floor of one logical building (逻辑幢), so two logical
/// buildings of a natural building that share a floor number each have their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorPlanFloor {
    /// 逻辑幢号 LJZH of the households drawn on it. Empty in plans written before
    /// floors were keyed by logical building: such a floor is the building's floor
    /// of that number, whatever logical building its households are in.
    #[serde(rename = "LJZH", default, skip_serializing_if = "String::is_empty")]
    pub ljzh: String,
    /// 名义层 MYC (basements negative, no 0).
    #[serde(rename = "MYC")]
    pub floor: i32,
    /// Households on this floor.
    pub households: Vec<HouseholdPlan>,
    /// Shared spaces on this floor.
    #[serde(default)]
    pub shared: Vec<SharedSpace>,
}

impl FloorPlanFloor {
    /// What its shared spaces' apportionment ids start with: `F<floor>-`, or
    /// `L<LJZH>-F<floor>-` for a logical building other than the first (`1`, or
    /// none named), whose floors would otherwise give the same ids.
    ///
    /// ```
    /// use cadastre_core::floorplan::FloorPlanFloor;
    /// let f = |ljzh: &str| FloorPlanFloor { ljzh: ljzh.into(), floor: 2, households: vec![], shared: vec![] };
    /// assert_eq!((f("").id_prefix(), f("1").id_prefix(), f("2").id_prefix()), ("F2-".into(), "F2-".into(), "L2-F2-".into()));
    /// ```
    pub fn id_prefix(&self) -> String {
        if self.ljzh.is_empty() || self.ljzh == "1" {
            format!("F{}-", self.floor)
        } else {
            format!("L{}-F{}-", self.ljzh, self.floor)
        }
    }
}

/// The floor plans of one natural building (分层分户图).
///
/// ```
/// use cadastre_core::floorplan::{FloorPlan, FloorPlanFloor, HouseholdPlan, Outline, Walls};
/// let plan = FloorPlan {
///     zrzh: "330106001001GB00002F0001".into(),
///     walls: Walls::default(),
///     placement: None,
///     outer_wall_serves: None,
///     floors: vec![FloorPlanFloor {
///         ljzh: "1".into(),
///         floor: 1,
///         households: vec![HouseholdPlan {
///             hh: "0001".into(), room: "101".into(), stair_unit: "1".into(),
///             outline: Outline::rect(0.0, 0.0, 10.0, 8.0), balconies: vec![],
///         }],
///         shared: vec![],
///     }],
/// };
/// let json = plan.to_json();
/// assert_eq!(FloorPlan::from_json(&json).unwrap(), plan);
/// assert_eq!(plan.floor_areas(1).unwrap().households[0].inner_area, 80.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorPlan {
    /// 自然幢号 ZRZH.
    #[serde(rename = "ZRZH")]
    pub zrzh: String,
    /// Wall thicknesses.
    #[serde(default)]
    pub walls: Walls,
    /// Position on the map, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// What the outer half of the outer walls serves; the whole building when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outer_wall_serves: Option<Serves>,
    /// Floors, in any order (sorted on validation output).
    pub floors: Vec<FloorPlanFloor>,
}

/// Why a floor plan is not usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FloorPlanError {
    /// Not the JSON format.
    #[error("floor plan JSON: {0}")]
    Format(String),
    /// Floor 0 does not exist.
    #[error("floor 0 does not exist (basements are -1, -2, …)")]
    FloorZero,
    /// A floor (of one logical building) appears twice.
    #[error("floor {0} appears twice")]
    DuplicateFloor(i32),
    /// No such floor in the plan.
    #[error("no floor {0} in the plan")]
    UnknownFloor(i32),
    /// A household appears twice in the plan.
    #[error("household {0:?} is drawn twice")]
    DuplicateHousehold(String),
    /// A shared space id appears twice on one floor.
    #[error("floor {floor}: shared space {id:?} appears twice")]
    DuplicateShared {
        /// Floor.
        floor: i32,
        /// Id.
        id: String,
    },
    /// An outline is not a usable polygon.
    #[error("floor {floor}, {what}: {reason}")]
    BadOutline {
        /// Floor.
        floor: i32,
        /// "household 0001", "shared stair1", "balcony 1 of household 0001".
        what: String,
        /// Why.
        reason: String,
    },
    /// Two outlines overlap.
    #[error("floor {floor}: {a} and {b} overlap by {area:.2} m²")]
    Overlap {
        /// Floor.
        floor: i32,
        /// First.
        a: String,
        /// Second.
        b: String,
        /// Overlap area, m².
        area: f64,
    },
    /// A wall thickness is negative or not finite.
    #[error("wall thickness {0} is not a length ≥ 0 m")]
    BadWall(f64),
    /// Copying would overwrite an existing floor.
    #[error("floor {0} already has a plan")]
    TargetExists(i32),
    /// A copied household has no counterpart in the building table.
    #[error("floor {floor}: no household in stair unit {stair_unit:?} with room {room:?} in the building table")]
    NoCounterpart {
        /// Target floor.
        floor: i32,
        /// DYH.
        stair_unit: String,
        /// Room number looked for.
        room: String,
    },
    /// The plan and the building table disagree.
    #[error("{0}")]
    Table(String),
}

impl FloorPlan {
    /// Reads the JSON form (a leading BOM is accepted).
    pub fn from_json(text: &str) -> Result<Self, FloorPlanError> {
        let plan: FloorPlan = serde_json::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|e| FloorPlanError::Format(e.to_string()))?;
        plan.validate()?;
        Ok(plan)
    }

    /// The JSON form, pretty-printed with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// A floor's plan by nominal floor: the first logical building's with that
    /// number ([`FloorPlan::floor_in`] names the logical building).
    pub fn floor(&self, floor: i32) -> Option<&FloorPlanFloor> {
        self.floors.iter().find(|f| f.floor == floor)
    }

    /// The plan of floor `floor` of logical building `ljzh`.
    pub fn floor_in(&self, ljzh: &str, floor: i32) -> Option<&FloorPlanFloor> {
        self.floors.iter().find(|f| f.floor == floor && f.ljzh == ljzh)
    }

    /// Floors in order: nominal floor, then logical building.
    pub(crate) fn sort_floors(&mut self) {
        self.floors.sort_by(|a, b| (a.floor, &a.ljzh).cmp(&(b.floor, &b.ljzh)));
    }

    /// The floor and plan of a household, by HH.
    pub fn household(&self, hh: &str) -> Option<(&FloorPlanFloor, &HouseholdPlan)> {
        self.floors.iter().find_map(|f| f.households.iter().find(|h| h.hh == hh).map(|h| (f, h)))
    }
}
