//! The quality-check rules a generated district can carry, as written in `truth.json`.
//!
//! The ids are the core's ([`cadastre_core::qc::rules::ids`]); this enum only names the
//! ones the generator knows, so its injections can be matched exhaustively.

use std::fmt;
use std::str::FromStr;

use cadastre_core::qc::rules::ids;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! rules {
    ($($v:ident = $id:path),* $(,)?) => {
        /// A quality-check rule, written in `truth.json` as its id.
        ///
        /// ```
        /// use cadastre_samples::Rule;
        /// let r: Rule = "parcel.overlap".parse()?;
        /// assert_eq!(r, Rule::Overlap);
        /// assert_eq!(r.as_str(), cadastre_core::qc::rules::ids::PARCEL_OVERLAP);
        /// assert!(Rule::INJECTABLE.contains(&r));
        /// assert!("parcel.overlapp".parse::<Rule>().is_err());
        /// # Ok::<(), cadastre_samples::rule::UnknownRule>(())
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule { $(#[doc = concat!("`", stringify!($id), "`")] $v),* }
        impl Rule {
            /// Every rule the generator knows: all the core's but `input.load`, a layer-level
            /// load problem no generated district carries.
            pub const ALL: &'static [Rule] = &[$(Rule::$v),*];
            /// The rule id.
            #[must_use]
            pub fn as_str(self) -> &'static str { match self { $(Rule::$v => $id),* } }
        }
    };
}

rules! {
    GeometryInvalid = ids::GEOMETRY_INVALID,
    SelfIntersection = ids::GEOMETRY_SELF_INTERSECTION,
    DuplicateVertex = ids::GEOMETRY_DUPLICATE_VERTEX,
    Spike = ids::GEOMETRY_SPIKE,
    Overlap = ids::PARCEL_OVERLAP,
    Gap = ids::PARCEL_GAP,
    OutsideSubdistrict = ids::PARCEL_OUTSIDE_SUBDISTRICT,
    Tiny = ids::PARCEL_TINY,
    Sliver = ids::PARCEL_SLIVER,
    NearMiss = ids::VERTEX_NEAR_MISS,
    BuildingOutsideParcel = ids::BUILDING_OUTSIDE_PARCEL,
    BuildingOverlap = ids::BUILDING_OVERLAP,
    AreaTolerance = ids::AREA_TOLERANCE,
    CodeFormat = ids::CODE_FORMAT,
    CodeDuplicate = ids::CODE_DUPLICATE,
    CodeConsistency = ids::CODE_CONSISTENCY,
    AttributeMissing = ids::ATTRIBUTE_MISSING,
    AttributeDomain = ids::ATTRIBUTE_DOMAIN,
}

impl Rule {
    /// The rules the generator can inject, in the order `--defects K` cycles through.
    pub const INJECTABLE: &'static [Rule] = &[
        Rule::Overlap,
        Rule::Gap,
        Rule::SelfIntersection,
        Rule::DuplicateVertex,
        Rule::Spike,
        Rule::NearMiss,
        Rule::Tiny,
        Rule::OutsideSubdistrict,
        Rule::CodeFormat,
        Rule::CodeDuplicate,
        Rule::CodeConsistency,
        Rule::AreaTolerance,
        Rule::BuildingOutsideParcel,
        Rule::BuildingOverlap,
        Rule::AttributeMissing,
    ];

    /// Whether the defect needs a block whose north street is a sub-district border.
    #[must_use]
    pub fn needs_border(self) -> bool {
        self == Rule::OutsideSubdistrict
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown rule id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown defect rule {0:?}; injectable rules: {list}", list = Rule::INJECTABLE.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))]
pub struct UnknownRule(pub String);

impl FromStr for Rule {
    type Err = UnknownRule;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rule::ALL.iter().copied().find(|r| r.as_str() == s).ok_or_else(|| UnknownRule(s.to_string()))
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        id.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_round_trip_and_unknown_ids_are_named() {
        for r in Rule::ALL {
            assert_eq!(r.as_str().parse::<Rule>(), Ok(*r));
            assert_eq!(serde_json::to_string(r).ok(), Some(format!("\"{r}\"")));
            assert_eq!(serde_json::from_str::<Rule>(&format!("\"{r}\"")).ok(), Some(*r));
        }
        let e = "parcel.overlapp".parse::<Rule>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("parcel.overlapp") && e.contains("parcel.gap"), "{e}");
        assert!(serde_json::from_str::<Rule>("\"input.load\"").is_err());
    }

    #[test]
    fn every_registered_rule_but_input_load_is_known() {
        let known: Vec<&str> = ids::ALL_RULE_IDS.iter().copied().filter(|&id| id != ids::INPUT_LOAD).collect();
        let ours: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(ours, known, "the registry and Rule::ALL list the same rules in the same order");
    }
}
