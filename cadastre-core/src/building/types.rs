//! Plain data of the building table: households, their floors and status, links between
//! predicted and measured households, and the errors of table operations. A leaf: the
//! table ([`model`](super::model)), its history and its links all use these, none of them
//! is used here.

use crate::apportion::Area;
use serde::{Deserialize, Serialize};

/// Physical floor(s) 实际层 (SJC) of a nominal floor: "3" or a range "3-4".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhysicalFloors {
    /// Lowest physical floor.
    pub from: i32,
    /// Highest physical floor (= `from` for one floor).
    pub to: i32,
}

impl PhysicalFloors {
    /// Parses "3", "3-4", "-2--1" (basements); no floor 0, `from ≤ to`.
    ///
    /// ```
    /// use cadastre_core::building::PhysicalFloors;
    /// assert_eq!(PhysicalFloors::parse("3-4"), Some(PhysicalFloors { from: 3, to: 4 }));
    /// assert_eq!(PhysicalFloors::parse("-1").map(|p| p.to_string()), Some("-1".into()));
    /// assert_eq!(PhysicalFloors::parse("0"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        // split at a '-' that follows a digit (so "-2--1" works)
        let split =
            s.char_indices().skip(1).find(|&(i, c)| c == '-' && s.as_bytes()[i - 1].is_ascii_digit()).map(|(i, _)| i);
        let (a, b) = match split {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => (s, s),
        };
        let (from, to): (i32, i32) = (a.parse().ok()?, b.parse().ok()?);
        (from != 0 && to != 0 && from <= to).then_some(PhysicalFloors { from, to })
    }
}

impl std::fmt::Display for PhysicalFloors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

/// A household's register status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// 现势: current.
    #[default]
    Current,
    /// 历史: replaced by a split or merge; kept for the history.
    Historical,
    /// 临时: provisional.
    Temporary,
}

/// One household (户, table H).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Household {
    /// 自然幢号 ZRZH (24 chars).
    #[serde(rename = "ZRZH")]
    pub zrzh: String,
    /// 逻辑幢号 LJZH.
    #[serde(rename = "LJZH")]
    pub ljzh: String,
    /// 单元号 DYH (stair unit); empty for shops.
    #[serde(rename = "DYH")]
    pub stair_unit: String,
    /// 名义层 MYC (nominal floor; basements negative, no 0).
    #[serde(rename = "MYC")]
    pub floor: i32,
    /// 实际层 SJC.
    #[serde(rename = "SJC")]
    pub physical: PhysicalFloors,
    /// 户号 HH (4 digits; the last 4 characters of BDCDYH).
    #[serde(rename = "HH")]
    pub hh: String,
    /// 室号部位 SHBW (room number, e.g. "1201").
    #[serde(rename = "SHBW")]
    pub room: String,
    /// 不动产单元代码 BDCDYH (28 chars), once allocated.
    #[serde(rename = "BDCDYH")]
    pub unit_code: Option<String>,
    /// 户型 HX (layout).
    #[serde(rename = "HX")]
    pub layout: String,
    /// 房屋用途 FWYT (use).
    #[serde(rename = "FWYT")]
    pub usage: String,
    /// 功能区 GNQ (functional zone for apportionment).
    #[serde(rename = "GNQ")]
    pub zone: String,
    /// 房屋结构 FWJG (structure).
    #[serde(rename = "FWJG")]
    pub structure: String,
    /// 预测套内建筑面积 YCTNJZMJ.
    #[serde(rename = "YCTNJZMJ")]
    pub predicted_inner: Option<Area>,
    /// 实测套内建筑面积 SCTNJZMJ.
    #[serde(rename = "SCTNJZMJ")]
    pub measured_inner: Option<Area>,
    /// 坐落 ZL (address).
    #[serde(rename = "ZL")]
    pub address: String,
    /// Register status.
    #[serde(default)]
    pub status: Status,
}

/// Errors of building-table operations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildingError {
    /// No household with this HH.
    #[error("no household {0:?}")]
    UnknownHousehold(String),
    /// HH already used.
    #[error("household {0:?} already exists")]
    DuplicateHousehold(String),
    /// Household replaced earlier (historical) cannot be edited.
    #[error("household {0:?} is historical")]
    Historical(String),
    /// Invalid grid or operation parameters.
    #[error("{0}")]
    Invalid(String),
    /// A household belongs to another natural building.
    #[error("household {hh:?} is in building {found:?}, not {expected:?}")]
    OtherBuilding {
        /// HH.
        hh: String,
        /// This table's ZRZH.
        expected: String,
        /// The household's ZRZH.
        found: String,
    },
    /// A household lacks the area an operation needs.
    #[error("household {hh:?} has no {what}")]
    MissingArea {
        /// HH.
        hh: String,
        /// "predicted inner area" or "measured inner area".
        what: &'static str,
    },
    /// Every household can be in one predicted↔measured link per side.
    #[error("household {0:?} is already linked")]
    AlreadyLinked(String),
    /// n:m links are not allowed.
    #[error("a link must be 1:1, 1:n or n:1, not {0}:{1}")]
    ManyToMany(usize, usize),
    /// Household numbers exhausted (9999).
    #[error("no free household number left in building {0}")]
    NumbersExhausted(String),
}

/// The shape of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkKind {
    /// One predicted household is one measured household.
    OneToOne,
    /// One predicted household became several measured ones.
    OneToMany,
    /// Several predicted households became one measured one.
    ManyToOne,
}

/// A predicted↔measured link, by HH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaLink {
    /// Households as predicted.
    pub predicted: Vec<String>,
    /// Households as measured.
    pub measured: Vec<String>,
}

impl AreaLink {
    /// 1:1, 1:n or n:1.
    pub fn kind(&self) -> LinkKind {
        match (self.predicted.len(), self.measured.len()) {
            (1, 1) => LinkKind::OneToOne,
            (1, _) => LinkKind::OneToMany,
            _ => LinkKind::ManyToOne,
        }
    }
}

/// Predicted and measured values side by side for one link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideBySide {
    /// The link.
    pub link: AreaLink,
    /// Σ predicted inner area (None if any is missing).
    pub predicted_inner: Option<Area>,
    /// Σ measured inner area (None if any is missing).
    pub measured_inner: Option<Area>,
    /// measured − predicted.
    pub difference: Option<Area>,
}
