//! Quality-check rule ids (issue #3) as used in `truth.json`, and which of
//! them the generator can inject.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! rules {
    ($($v:ident = $s:literal),* $(,)?) => {
        /// A quality-check rule id, as written in `truth.json`.
        ///
        /// ```
        /// use cadastre_samples::Rule;
        /// let r: Rule = "parcel.overlap".parse()?;
        /// assert_eq!(r, Rule::Overlap);
        /// assert!(Rule::INJECTABLE.contains(&r));
        /// assert!("parcel.overlapp".parse::<Rule>().is_err());
        /// # Ok::<(), cadastre_samples::rule::UnknownRule>(())
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Rule { $(#[doc = $s] #[serde(rename = $s)] $v),* }
        impl Rule {
            /// Every rule id.
            pub const ALL: &'static [Rule] = &[$(Rule::$v),*];
            /// The id string.
            #[must_use]
            pub fn as_str(self) -> &'static str { match self { $(Rule::$v => $s),* } }
        }
    };
}

rules! {
    GeometryInvalid = "geometry.invalid",
    SelfIntersection = "geometry.self_intersection",
    DuplicateVertex = "geometry.duplicate_vertex",
    Spike = "geometry.spike",
    Overlap = "parcel.overlap",
    Gap = "parcel.gap",
    OutsideSubdistrict = "parcel.outside_subdistrict",
    Tiny = "parcel.tiny",
    Sliver = "parcel.sliver",
    NearMiss = "vertex.near_miss",
    BuildingOutsideParcel = "building.outside_parcel",
    BuildingOverlap = "building.overlap",
    AreaTolerance = "area.tolerance",
    CodeFormat = "code.format",
    CodeDuplicate = "code.duplicate",
    CodeConsistency = "code.consistency",
    AttributeMissing = "attribute.missing",
    AttributeDomain = "attribute.domain",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_round_trip_and_unknown_ids_are_named() {
        for r in Rule::ALL {
            assert_eq!(r.as_str().parse::<Rule>(), Ok(*r));
            assert_eq!(serde_json::to_string(r).ok(), Some(format!("\"{r}\"")));
        }
        let e = "parcel.overlapp".parse::<Rule>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("parcel.overlapp") && e.contains("parcel.gap"), "{e}");
    }
}
