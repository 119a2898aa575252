//! Letter codes: parcel feature code (宗地特征码, positions 13-14) and
//! fixture feature code (定着物特征码, position 20).

use std::fmt;
use std::str::FromStr;

use super::{serde_via_str, CodeError, Segment};

/// Land ownership, first parcel feature letter (position 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ownership {
    /// `G` 国家土地所有权 (state-owned).
    State,
    /// `J` 集体土地所有权 (collectively owned).
    Collective,
    /// `Z` 土地所有权未确定或有争议 (undetermined or disputed).
    Undetermined,
}

impl Ownership {
    /// All values.
    pub const ALL: [Ownership; 3] = [Ownership::State, Ownership::Collective, Ownership::Undetermined];

    /// The letter, as ASCII.
    pub const fn as_byte(self) -> u8 {
        match self {
            Ownership::State => b'G',
            Ownership::Collective => b'J',
            Ownership::Undetermined => b'Z',
        }
    }

    /// From its letter.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            b'G' => Some(Ownership::State),
            b'J' => Some(Ownership::Collective),
            b'Z' => Some(Ownership::Undetermined),
            _ => None,
        }
    }

    /// Meaning in Chinese.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Ownership::State => "国家土地所有权",
            Ownership::Collective => "集体土地所有权",
            Ownership::Undetermined => "土地所有权未确定或有争议",
        }
    }

    /// Meaning in English.
    pub const fn name_en(self) -> &'static str {
        match self {
            Ownership::State => "state-owned land",
            Ownership::Collective => "collectively owned land",
            Ownership::Undetermined => "ownership undetermined or disputed",
        }
    }
}

/// A parcel type letter outside the standard set `ABSXCDEFHGWY0`, such as
/// `L` or `N` found in production data written under other rule versions.
/// Accepted by the hard format, reported as a warning by validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NonStandardLetter(u8);

impl NonStandardLetter {
    /// The letter.
    pub const fn as_char(self) -> char {
        self.0 as char
    }
}

/// Parcel type, second parcel feature letter (position 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParcelType {
    /// `A` 集体土地所有权宗地 (collective ownership parcel; only with `J`).
    CollectiveOwnership,
    /// `B` 建设用地使用权宗地（地表）(construction land use right, surface).
    ConstructionSurface,
    /// `S` 建设用地使用权宗地（地上）(construction land use right, above ground).
    ConstructionAbove,
    /// `X` 建设用地使用权宗地（地下）(construction land use right, below ground).
    ConstructionBelow,
    /// `C` 宅基地使用权宗地 (homestead; only with `J`).
    Homestead,
    /// `D` 土地承包经营权宗地（耕地）(contracted farmland).
    ContractedFarmland,
    /// `E` 土地承包经营权宗地（林地）(contracted forest land).
    ContractedForest,
    /// `F` 土地承包经营权宗地（草地）(contracted grassland).
    ContractedGrassland,
    /// `H` 海域使用权宗海 (sea-area use; only with `G`).
    SeaArea,
    /// `G` 无居民海岛 (uninhabited island; only with `G`).
    UninhabitedIsland,
    /// `W` 使用权未确定或有争议 (use right undetermined or disputed).
    UseUndetermined,
    /// `Y` 其他土地使用权宗地 (other use right).
    Other,
    /// `0` 土地经营权 (land management right on farmland; later addition).
    LandManagement,
    /// Any other uppercase letter (warning, see [`NonStandardLetter`]).
    NonStandard(NonStandardLetter),
}

impl ParcelType {
    /// The standard values, in the order of the standard's table.
    pub const STANDARD: [ParcelType; 13] = [
        ParcelType::CollectiveOwnership,
        ParcelType::ConstructionSurface,
        ParcelType::ConstructionAbove,
        ParcelType::ConstructionBelow,
        ParcelType::Homestead,
        ParcelType::ContractedFarmland,
        ParcelType::ContractedForest,
        ParcelType::ContractedGrassland,
        ParcelType::SeaArea,
        ParcelType::UninhabitedIsland,
        ParcelType::UseUndetermined,
        ParcelType::Other,
        ParcelType::LandManagement,
    ];

    /// The letter, as ASCII.
    pub const fn as_byte(self) -> u8 {
        match self {
            ParcelType::CollectiveOwnership => b'A',
            ParcelType::ConstructionSurface => b'B',
            ParcelType::ConstructionAbove => b'S',
            ParcelType::ConstructionBelow => b'X',
            ParcelType::Homestead => b'C',
            ParcelType::ContractedFarmland => b'D',
            ParcelType::ContractedForest => b'E',
            ParcelType::ContractedGrassland => b'F',
            ParcelType::SeaArea => b'H',
            ParcelType::UninhabitedIsland => b'G',
            ParcelType::UseUndetermined => b'W',
            ParcelType::Other => b'Y',
            ParcelType::LandManagement => b'0',
            ParcelType::NonStandard(l) => l.0,
        }
    }

    /// From its letter: any uppercase ASCII letter or `0`.
    pub const fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'A' => ParcelType::CollectiveOwnership,
            b'B' => ParcelType::ConstructionSurface,
            b'S' => ParcelType::ConstructionAbove,
            b'X' => ParcelType::ConstructionBelow,
            b'C' => ParcelType::Homestead,
            b'D' => ParcelType::ContractedFarmland,
            b'E' => ParcelType::ContractedForest,
            b'F' => ParcelType::ContractedGrassland,
            b'H' => ParcelType::SeaArea,
            b'G' => ParcelType::UninhabitedIsland,
            b'W' => ParcelType::UseUndetermined,
            b'Y' => ParcelType::Other,
            b'0' => ParcelType::LandManagement,
            b if b.is_ascii_uppercase() => ParcelType::NonStandard(NonStandardLetter(b)),
            _ => return None,
        })
    }

    /// One of the letters `ABSXCDEFHGWY0`.
    pub const fn is_standard(self) -> bool {
        !matches!(self, ParcelType::NonStandard(_))
    }

    /// Sea area (宗海, `H`) or uninhabited island (`G`): the types the
    /// virtual-sub-district rule exempts.
    pub const fn is_marine(self) -> bool {
        matches!(self, ParcelType::SeaArea | ParcelType::UninhabitedIsland)
    }

    /// Meaning in Chinese.
    pub const fn name_zh(self) -> &'static str {
        match self {
            ParcelType::CollectiveOwnership => "集体土地所有权宗地",
            ParcelType::ConstructionSurface => "建设用地使用权宗地（地表）",
            ParcelType::ConstructionAbove => "建设用地使用权宗地（地上）",
            ParcelType::ConstructionBelow => "建设用地使用权宗地（地下）",
            ParcelType::Homestead => "宅基地使用权宗地",
            ParcelType::ContractedFarmland => "土地承包经营权宗地（耕地）",
            ParcelType::ContractedForest => "土地承包经营权宗地（林地）",
            ParcelType::ContractedGrassland => "土地承包经营权宗地（草地）",
            ParcelType::SeaArea => "海域使用权宗海",
            ParcelType::UninhabitedIsland => "无居民海岛",
            ParcelType::UseUndetermined => "使用权未确定或有争议的宗地",
            ParcelType::Other => "其他土地使用权宗地",
            ParcelType::LandManagement => "土地经营权宗地",
            ParcelType::NonStandard(_) => "非标准宗地类型（其他版本规则）",
        }
    }

    /// Meaning in English.
    pub const fn name_en(self) -> &'static str {
        match self {
            ParcelType::CollectiveOwnership => "collective land ownership parcel",
            ParcelType::ConstructionSurface => "construction land use right (surface)",
            ParcelType::ConstructionAbove => "construction land use right (above ground)",
            ParcelType::ConstructionBelow => "construction land use right (below ground)",
            ParcelType::Homestead => "homestead use right",
            ParcelType::ContractedFarmland => "contracted management right (farmland)",
            ParcelType::ContractedForest => "contracted management right (forest land)",
            ParcelType::ContractedGrassland => "contracted management right (grassland)",
            ParcelType::SeaArea => "sea-area use right (宗海)",
            ParcelType::UninhabitedIsland => "uninhabited island",
            ParcelType::UseUndetermined => "use right undetermined or disputed",
            ParcelType::Other => "other land use right",
            ParcelType::LandManagement => "land management right (farmland)",
            ParcelType::NonStandard(_) => "non-standard parcel type (other rule version)",
        }
    }
}

/// Parcel feature code (宗地特征码), positions 13-14, e.g. `GB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParcelFeature {
    /// Position 13.
    pub ownership: Ownership,
    /// Position 14.
    pub parcel_type: ParcelType,
}

impl ParcelFeature {
    /// Both letters.
    pub const fn new(ownership: Ownership, parcel_type: ParcelType) -> Self {
        Self { ownership, parcel_type }
    }

    /// The two letters as ASCII.
    pub const fn as_bytes(self) -> [u8; 2] {
        [self.ownership.as_byte(), self.parcel_type.as_byte()]
    }

    /// From the two letters.
    pub const fn from_bytes(b: [u8; 2]) -> Option<Self> {
        match (Ownership::from_byte(b[0]), ParcelType::from_byte(b[1])) {
            (Some(ownership), Some(parcel_type)) => Some(Self { ownership, parcel_type }),
            _ => None,
        }
    }

    /// Follows the combination rules of the standard (A and C only with J;
    /// H and G only with G). Real data breaks them, so this is a warning.
    pub const fn is_standard_combination(self) -> bool {
        match self.parcel_type {
            ParcelType::CollectiveOwnership | ParcelType::Homestead => {
                matches!(self.ownership, Ownership::Collective)
            }
            ParcelType::SeaArea | ParcelType::UninhabitedIsland => {
                matches!(self.ownership, Ownership::State)
            }
            _ => true,
        }
    }
}

/// Fixture feature code (定着物特征码), position 20.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FixtureKind {
    /// `F` 房屋等建筑物、构筑物 (buildings and structures).
    Building,
    /// `L` 森林、林木 (forest and trees).
    Trees,
    /// `Q` 其他定着物 (other fixtures).
    Other,
    /// `W` 无定着物 (land only).
    None,
}

impl FixtureKind {
    /// All values.
    pub const ALL: [FixtureKind; 4] =
        [FixtureKind::Building, FixtureKind::Trees, FixtureKind::Other, FixtureKind::None];

    /// The letter, as ASCII.
    pub const fn as_byte(self) -> u8 {
        match self {
            FixtureKind::Building => b'F',
            FixtureKind::Trees => b'L',
            FixtureKind::Other => b'Q',
            FixtureKind::None => b'W',
        }
    }

    /// From its letter.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            b'F' => Some(FixtureKind::Building),
            b'L' => Some(FixtureKind::Trees),
            b'Q' => Some(FixtureKind::Other),
            b'W' => Some(FixtureKind::None),
            _ => None,
        }
    }

    /// Meaning in Chinese.
    pub const fn name_zh(self) -> &'static str {
        match self {
            FixtureKind::Building => "房屋等建筑物、构筑物",
            FixtureKind::Trees => "森林、林木",
            FixtureKind::Other => "其他定着物",
            FixtureKind::None => "无定着物（仅土地）",
        }
    }

    /// Meaning in English.
    pub const fn name_en(self) -> &'static str {
        match self {
            FixtureKind::Building => "building or structure",
            FixtureKind::Trees => "forest or trees",
            FixtureKind::Other => "other fixture",
            FixtureKind::None => "no fixture (land only)",
        }
    }
}

/// `Display`/`FromStr` for the single-letter enums.
macro_rules! letter_code {
    ($ty:ident, $segment:expr) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.as_byte() as char)
            }
        }

        impl FromStr for $ty {
            type Err = CodeError;
            fn from_str(s: &str) -> Result<Self, CodeError> {
                match s.as_bytes() {
                    [b] => $ty::from_byte(*b),
                    _ => None,
                }
                .ok_or_else(|| CodeError::Letter { segment: $segment, found: s.to_owned() })
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = CodeError;
            fn try_from(s: &str) -> Result<Self, CodeError> {
                s.parse()
            }
        }

        serde_via_str!($ty);
    };
}

letter_code!(Ownership, Segment::Ownership);
letter_code!(ParcelType, Segment::ParcelType);
letter_code!(FixtureKind, Segment::Fixture);

impl fmt::Display for ParcelFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.ownership, self.parcel_type)
    }
}

impl FromStr for ParcelFeature {
    type Err = CodeError;
    /// Two letters; an error names the letter that is wrong, or the whole
    /// feature code when there are not two.
    fn from_str(s: &str) -> Result<Self, CodeError> {
        let letter = |segment, found: char| CodeError::Letter { segment, found: found.to_string() };
        let byte = |c: char| u8::try_from(c).ok();
        let mut chars = s.chars();
        match (chars.next(), chars.next(), chars.next()) {
            (Some(o), Some(t), None) => {
                let ownership = byte(o).and_then(Ownership::from_byte).ok_or_else(|| letter(Segment::Ownership, o))?;
                let parcel_type =
                    byte(t).and_then(ParcelType::from_byte).ok_or_else(|| letter(Segment::ParcelType, t))?;
                Ok(ParcelFeature { ownership, parcel_type })
            }
            _ => Err(CodeError::Letter { segment: Segment::Feature, found: s.to_owned() }),
        }
    }
}

impl TryFrom<&str> for ParcelFeature {
    type Error = CodeError;
    fn try_from(s: &str) -> Result<Self, CodeError> {
        s.parse()
    }
}

serde_via_str!(ParcelFeature);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_round_trip() {
        for o in Ownership::ALL {
            assert_eq!(o.to_string().parse::<Ownership>().unwrap(), o);
        }
        for t in ParcelType::STANDARD {
            assert!(t.is_standard());
            assert_eq!(t.to_string().parse::<ParcelType>().unwrap(), t);
        }
        for k in FixtureKind::ALL {
            assert_eq!(k.to_string().parse::<FixtureKind>().unwrap(), k);
        }
    }

    #[test]
    fn standard_set_is_exactly_absxcdefhgwy0() {
        let letters: String = ParcelType::STANDARD.iter().map(|t| t.as_byte() as char).collect();
        assert_eq!(letters, "ABSXCDEFHGWY0");
    }

    #[test]
    fn non_standard_letters_are_carried() {
        let l: ParcelType = "L".parse().unwrap();
        assert!(!l.is_standard());
        assert_eq!(l.to_string(), "L");
        assert!("a".parse::<ParcelType>().is_err());
        assert!("1".parse::<ParcelType>().is_err());
    }

    #[test]
    fn combination_rules() {
        let f = |s: &str| s.parse::<ParcelFeature>().unwrap().is_standard_combination();
        assert!(f("JA") && f("JC") && f("GH") && f("GG") && f("GB") && f("ZW"));
        assert!(!f("GA") && !f("GC") && !f("JH") && !f("ZG"));
    }

    #[test]
    fn feature_errors_and_serde() {
        assert!("XB".parse::<ParcelFeature>().is_err());
        assert!("G".parse::<ParcelFeature>().is_err());
        let gb: ParcelFeature = "GB".parse().unwrap();
        assert_eq!(serde_json::to_string(&gb).unwrap(), "\"GB\"");
        assert_eq!(serde_json::from_str::<ParcelFeature>("\"GB\"").unwrap(), gb);
        let e = "H".parse::<FixtureKind>().unwrap_err();
        assert_eq!(e.segment(), Some(Segment::Fixture));
        assert_eq!(e.message_en(), "expected fixture code F/L/Q/W, found \"H\"");
        assert_eq!(e.message_zh(), "应为定着物特征码 F/L/Q/W，实际为 \"H\"");
        // A feature code names the letter that is wrong.
        let e = "XB".parse::<ParcelFeature>().unwrap_err();
        assert_eq!(e, CodeError::Letter { segment: Segment::Ownership, found: "X".into() });
        let e = "Gb".parse::<ParcelFeature>().unwrap_err();
        assert_eq!(e, CodeError::Letter { segment: Segment::ParcelType, found: "b".into() });
        let e = "GBX".parse::<ParcelFeature>().unwrap_err();
        assert_eq!(e.segment(), Some(Segment::Feature));
        assert!(e.message_zh().contains("如 GB"), "{e}");
    }
}
