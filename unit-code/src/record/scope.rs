//! What the registry numbers: scopes (counters), code levels, and the codes
//! it issues.

use std::fmt;
use std::str::FromStr;

use crate::code::{BuildingCode, CodeError, ParcelCode, ParcelFeature, Segment, SubdistrictCode, UnitCode};

/// Highest parcel sequence number (宗地顺序号) in one sub-district + feature code.
pub const MAX_PARCEL_SEQUENCE: u32 = 99_999;
/// Highest building number (自然幢号) on one parcel.
pub const MAX_BUILDING_NUMBER: u32 = 9_999;
/// Highest household number (户号) in one building.
pub const MAX_HOUSEHOLD_NUMBER: u32 = 9_999;

/// A counter: the set of codes numbered 1, 2, 3, … without gaps.
///
/// ```
/// use unit_code::alloc::Scope;
/// let scope = Scope::parcels("330106001001".parse().unwrap(), "GB".parse().unwrap());
/// assert_eq!(scope.key(), "330106001001GB");
/// assert_eq!(scope.limit(), 99_999);
/// assert_eq!(scope.code(7).unwrap().to_string(), "330106001001GB00007");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Parcel sequence numbers (宗地顺序号) of one sub-district and parcel feature code.
    Parcels {
        /// The sub-district (地籍子区).
        subdistrict: SubdistrictCode,
        /// The two-letter parcel feature code (宗地特征码).
        feature: ParcelFeature,
    },
    /// Building numbers (自然幢号) on one parcel.
    Buildings {
        /// The parcel (宗地).
        parcel: ParcelCode,
    },
    /// Household numbers (户号) in one natural building.
    Households {
        /// The building (自然幢).
        building: BuildingCode,
    },
}

/// The level of a code in the hierarchy that the registry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// 19-character parcel code 宗地代码 (ZDDM).
    Parcel,
    /// 24-character building code 自然幢号 (ZRZH).
    Building,
    /// 28-character real-estate unit code 不动产单元代码 (BDCDYH).
    Unit,
}

impl Level {
    /// One-letter tag used in the database (`P`, `B`, `U`).
    pub const fn tag(self) -> &'static str {
        match self {
            Level::Parcel => "P",
            Level::Building => "B",
            Level::Unit => "U",
        }
    }
}

impl Scope {
    /// Parcels of `subdistrict` with feature code `feature`.
    pub const fn parcels(subdistrict: SubdistrictCode, feature: ParcelFeature) -> Self {
        Scope::Parcels { subdistrict, feature }
    }

    /// Buildings on `parcel`.
    pub const fn buildings(parcel: ParcelCode) -> Self {
        Scope::Buildings { parcel }
    }

    /// Households in `building`.
    pub const fn households(building: BuildingCode) -> Self {
        Scope::Households { building }
    }

    /// The level of the codes this scope issues.
    pub const fn level(&self) -> Level {
        match self {
            Scope::Parcels { .. } => Level::Parcel,
            Scope::Buildings { .. } => Level::Building,
            Scope::Households { .. } => Level::Unit,
        }
    }

    /// Highest number the scope can issue.
    pub const fn limit(&self) -> u32 {
        match self {
            Scope::Parcels { .. } => MAX_PARCEL_SEQUENCE,
            Scope::Buildings { .. } => MAX_BUILDING_NUMBER,
            Scope::Households { .. } => MAX_HOUSEHOLD_NUMBER,
        }
    }

    /// Key of the counter: sub-district + feature (14 chars), parcel code (19)
    /// or building code (24). It starts with the county code.
    pub fn key(&self) -> String {
        match self {
            Scope::Parcels { subdistrict, feature } => format!("{subdistrict}{feature}"),
            Scope::Buildings { parcel } => parcel.to_string(),
            Scope::Households { building } => building.to_string(),
        }
    }

    /// The 6-digit county code, the tenant key.
    pub fn county(&self) -> String {
        let key = self.key();
        key.get(..6).unwrap_or_default().to_owned()
    }

    /// The issued code that must exist (and be current) before this scope can
    /// allocate: the parcel for buildings, the building for households. Parcel
    /// scopes have none (sub-districts are not issued by the registry).
    pub fn parent(&self) -> Option<AnyCode> {
        match self {
            Scope::Parcels { .. } => None,
            Scope::Buildings { parcel } => Some(AnyCode::Parcel(*parcel)),
            Scope::Households { building } => Some(AnyCode::Building(*building)),
        }
    }

    /// The code with number `n` in this scope.
    pub fn code(&self, n: u32) -> Result<AnyCode, CodeError> {
        Ok(match self {
            Scope::Parcels { subdistrict, feature } => AnyCode::Parcel(ParcelCode::new(*subdistrict, *feature, n)?),
            Scope::Buildings { parcel } => {
                AnyCode::Building(BuildingCode::new(*parcel, number16(Segment::BuildingNumber, n)?)?)
            }
            Scope::Households { building } => {
                AnyCode::Unit(UnitCode::household(*building, number16(Segment::HouseholdNumber, n)?)?)
            }
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Scope::Parcels { .. } => "parcels in",
            Scope::Buildings { .. } => "buildings on",
            Scope::Households { .. } => "households in",
        };
        write!(f, "{what} {}", self.key())
    }
}

/// A building or household number as the constructors take it.
fn number16(segment: Segment, n: u32) -> Result<u16, CodeError> {
    u16::try_from(n).map_err(|_| CodeError::OutOfRange { segment, min: 0, max: 9_999, found: n })
}

/// Any code the registry issues: parcel (19), building (24) or unit (28).
/// Parsed by length; serialised as its string.
///
/// ```
/// use unit_code::alloc::{AnyCode, Level};
/// let c: AnyCode = "411702600021GB00001F00070027".parse().unwrap();
/// assert_eq!(c.level(), Level::Unit);
/// assert_eq!(c.to_string(), "411702600021GB00001F00070027");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnyCode {
    /// Parcel code 宗地代码.
    Parcel(ParcelCode),
    /// Building code 自然幢号.
    Building(BuildingCode),
    /// Unit code 不动产单元代码.
    Unit(UnitCode),
}

impl AnyCode {
    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        match self {
            AnyCode::Parcel(c) => c.as_str(),
            AnyCode::Building(c) => c.as_str(),
            AnyCode::Unit(c) => c.as_str(),
        }
    }

    /// Parcel, building or unit.
    pub const fn level(&self) -> Level {
        match self {
            AnyCode::Parcel(_) => Level::Parcel,
            AnyCode::Building(_) => Level::Building,
            AnyCode::Unit(_) => Level::Unit,
        }
    }

    /// The 6-digit county code.
    pub fn county(&self) -> &str {
        self.as_str().get(..6).unwrap_or_default()
    }

    /// The parcel code (first 19 characters) this code belongs to.
    pub fn parcel(&self) -> ParcelCode {
        match self {
            AnyCode::Parcel(p) => *p,
            AnyCode::Building(b) => b.parcel(),
            AnyCode::Unit(u) => u.parcel(),
        }
    }

    /// Where this code is numbered, and its number there. `None` for codes
    /// outside any counter: land-only units (`W00000000`), whole-building
    /// units (household `0000`) and other fixture kinds; those are registered
    /// under their parcel or building without advancing a counter.
    pub fn numbered_in(&self) -> Option<(Scope, u32)> {
        match self {
            AnyCode::Parcel(p) => Some((Scope::parcels(p.subdistrict(), p.feature()), p.sequence())),
            AnyCode::Building(b) => Some((Scope::buildings(b.parcel()), u32::from(b.number()))),
            AnyCode::Unit(u) => match (u.building(), u.household_no()) {
                (Some(b), Some(h)) if h > 0 => Some((Scope::households(b), u32::from(h))),
                _ => None,
            },
        }
    }

    /// The key of the code's parent in the registry: the counter key for
    /// numbered codes, else the building (fixture `F`) or parcel it sits on.
    pub fn parent_key(&self) -> String {
        if let Some((scope, _)) = self.numbered_in() {
            return scope.key();
        }
        match self.parent() {
            Some(p) => p.to_string(),
            None => String::new(),
        }
    }

    /// The issued code that must be current for this code to be registered:
    /// the parcel of a building, the building of a household unit, the parcel
    /// of any other unit. `None` for parcels.
    pub fn parent(&self) -> Option<AnyCode> {
        match self {
            AnyCode::Parcel(_) => None,
            AnyCode::Building(b) => Some(AnyCode::Parcel(b.parcel())),
            AnyCode::Unit(u) => Some(match u.building() {
                Some(b) => AnyCode::Building(b),
                None => AnyCode::Parcel(u.parcel()),
            }),
        }
    }
}

impl fmt::Display for AnyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AnyCode {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.chars().count() {
            19 => s.parse().map(AnyCode::Parcel),
            24 => s.parse().map(AnyCode::Building),
            // Anything else is reported against the full unit-code form.
            _ => s.parse().map(AnyCode::Unit),
        }
    }
}

impl From<ParcelCode> for AnyCode {
    fn from(c: ParcelCode) -> Self {
        AnyCode::Parcel(c)
    }
}

impl From<BuildingCode> for AnyCode {
    fn from(c: BuildingCode) -> Self {
        AnyCode::Building(c)
    }
}

impl From<UnitCode> for AnyCode {
    fn from(c: UnitCode) -> Self {
        AnyCode::Unit(c)
    }
}

impl serde::Serialize for AnyCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for AnyCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub() -> SubdistrictCode {
        "330106001002".parse().unwrap()
    }

    #[test]
    fn scope_codes_follow_the_hierarchy() {
        let parcels = Scope::parcels(sub(), "GB".parse().unwrap());
        let AnyCode::Parcel(p) = parcels.code(42).unwrap() else { panic!("not a parcel") };
        assert_eq!(p.as_str(), "330106001002GB00042");
        let AnyCode::Building(b) = Scope::buildings(p).code(7).unwrap() else { panic!("not a building") };
        assert_eq!(b.as_str(), "330106001002GB00042F0007");
        let u = Scope::households(b).code(9999).unwrap();
        assert_eq!(u.as_str(), "330106001002GB00042F00079999");
        assert_eq!(u.numbered_in(), Some((Scope::households(b), 9999)));
        assert_eq!(u.parent(), Some(AnyCode::Building(b)));
        assert_eq!(AnyCode::Building(b).numbered_in(), Some((Scope::buildings(p), 7)));
        assert_eq!(AnyCode::Parcel(p).numbered_in(), Some((parcels, 42)));
        assert_eq!(parcels.county(), "330106");
    }

    #[test]
    fn out_of_range_numbers_are_errors_not_panics() {
        let parcels = Scope::parcels(sub(), "GB".parse().unwrap());
        assert!(parcels.code(100_000).is_err());
        let p: ParcelCode = "330106001002GB00042".parse().unwrap();
        assert!(Scope::buildings(p).code(70_000).is_err());
    }

    #[test]
    fn unnumbered_units_hang_off_their_parent() {
        let land: AnyCode = "330106001002GB00042W00000000".parse().unwrap();
        assert_eq!(land.numbered_in(), None);
        assert_eq!(land.parent_key(), "330106001002GB00042");
        let whole: AnyCode = "330106001002GB00042F00070000".parse().unwrap();
        assert_eq!(whole.numbered_in(), None);
        assert_eq!(whole.parent_key(), "330106001002GB00042F0007");
    }

    #[test]
    fn any_code_parses_by_length_and_round_trips_serde() {
        for s in ["340824104207JA00024", "411702600021GB00001F0007", "411702600021GB00001F00070027"] {
            let c: AnyCode = s.parse().unwrap();
            assert_eq!(c.to_string(), s);
            let j = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<AnyCode>(&j).unwrap(), c);
        }
        assert!("41170260002".parse::<AnyCode>().is_err());
    }
}
