//! The building table's model: households keyed by HH within one natural building.

use super::history::{Change, ChangeLog, Editor, Target};
use super::link::AreaLink;
use crate::apportion::{ApportionInput, Area, SharedInput, UnitInput, ZoneInput};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// 层名称 of a nominal floor: "第3层" above ground, "负1层" below.
///
/// ```
/// use cadastre_core::building::floor_name;
/// assert_eq!(floor_name(6), "第6层");
/// assert_eq!(floor_name(-2), "负2层");
/// ```
pub fn floor_name(nominal: i32) -> String {
    if nominal < 0 {
        format!("负{}层", -i64::from(nominal))
    } else {
        format!("第{nominal}层")
    }
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

/// The building table (楼盘表) of one natural building.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildingTable {
    /// 自然幢号 ZRZH.
    pub zrzh: String,
    pub(crate) households: BTreeMap<String, Household>,
    pub(crate) links: Vec<AreaLink>,
    pub(crate) log: ChangeLog,
}

impl BuildingTable {
    /// An empty table for a natural building.
    pub fn new(zrzh: &str) -> Self {
        BuildingTable {
            zrzh: zrzh.to_string(),
            households: BTreeMap::new(),
            links: Vec::new(),
            log: ChangeLog::default(),
        }
    }

    /// All households (current and historical), sorted by HH.
    pub fn households(&self) -> impl Iterator<Item = &Household> {
        self.households.values()
    }

    /// Current households, sorted by HH.
    pub fn current(&self) -> impl Iterator<Item = &Household> {
        self.households.values().filter(|h| h.status != Status::Historical)
    }

    /// One household.
    pub fn get(&self, hh: &str) -> Option<&Household> {
        self.households.get(hh)
    }

    /// The change log.
    pub fn history(&self) -> &ChangeLog {
        &self.log
    }

    /// Adds a household (recorded as "create").
    pub fn insert(&mut self, h: Household, by: &Editor) -> Result<(), BuildingError> {
        if h.zrzh != self.zrzh {
            return Err(BuildingError::OtherBuilding { hh: h.hh, expected: self.zrzh.clone(), found: h.zrzh });
        }
        if self.households.contains_key(&h.hh) {
            return Err(BuildingError::DuplicateHousehold(h.hh));
        }
        self.record(by, "create", &h.hh, None, Some(h.clone()), String::new());
        self.households.insert(h.hh.clone(), h);
        Ok(())
    }

    /// Edits one current household (recorded with before and after).
    pub fn edit(&mut self, hh: &str, by: &Editor, f: impl FnOnce(&mut Household)) -> Result<(), BuildingError> {
        let h = self.households.get_mut(hh).ok_or_else(|| BuildingError::UnknownHousehold(hh.to_string()))?;
        if h.status == Status::Historical {
            return Err(BuildingError::Historical(hh.to_string()));
        }
        let before = h.clone();
        f(h);
        // the key and building cannot be changed by an edit
        h.hh = before.hh.clone();
        h.zrzh = before.zrzh.clone();
        if *h != before {
            let after = h.clone();
            self.record(by, "edit", hh, Some(before), Some(after), String::new());
        }
        Ok(())
    }

    pub(crate) fn record(
        &mut self,
        by: &Editor,
        action: &str,
        hh: &str,
        before: Option<Household>,
        after: Option<Household>,
        note: String,
    ) {
        self.log.record(Change {
            who: by.who.clone(),
            at: by.at,
            action: action.to_string(),
            target: Target::Household(hh.to_string()),
            before,
            after,
            note,
        });
    }

    /// The next free 4-digit household number.
    pub(crate) fn next_hh(&self) -> Result<String, BuildingError> {
        let max = self.households.keys().filter_map(|k| k.parse::<u32>().ok()).max().unwrap_or(0);
        if max >= 9999 {
            return Err(BuildingError::NumbersExhausted(self.zrzh.clone()));
        }
        Ok(format!("{:04}", max + 1))
    }

    /// The apportionment input for the current households, using measured
    /// (`measured = true`) or predicted inner areas; zones are the GNQ values.
    pub fn to_apportion_input(
        &self,
        measured: bool,
        shared: Vec<SharedInput>,
    ) -> Result<ApportionInput, BuildingError> {
        let mut zones: Vec<String> = Vec::new();
        let mut units = Vec::new();
        for h in self.current() {
            let area = if measured { h.measured_inner } else { h.predicted_inner };
            let what = if measured { "measured inner area" } else { "predicted inner area" };
            let area = area.ok_or_else(|| BuildingError::MissingArea { hh: h.hh.clone(), what })?;
            if !zones.contains(&h.zone) {
                zones.push(h.zone.clone());
            }
            units.push(UnitInput {
                id: h.hh.clone(),
                zone: h.zone.clone(),
                floor: h.floor,
                inner_area: area,
                room: Some(h.room.clone()),
            });
        }
        zones.sort();
        Ok(ApportionInput {
            building: self.zrzh.clone(),
            method: Default::default(),
            zones: zones.into_iter().map(|id| ZoneInput { id, name: String::new() }).collect(),
            units,
            shared,
        })
    }
}
