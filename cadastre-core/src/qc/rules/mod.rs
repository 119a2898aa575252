//! One file per rule, registered by one line in [`registry!`] below.
//!
//! A rule's file holds its [`Rule`] (the check) and its [`Declare`] (settings type, local or
//! county-wide, whether it rejects on import, what it reads). Its registration line gives
//! the id and the field of [`Rules`] (the `[rules."id"]` table of the configuration); from
//! it follow the id constant, [`ALL_RULE_IDS`], [`REGISTRY`], [`all`] and the configuration's
//! settings and validation. To add a rule: write `rules/my_rule.rs`, add its `mod` line and
//! its registration line here, its table in `default_rules.toml` and its row in
//! `docs/qc-rules.md` (tests fail until both exist).

mod area_tolerance;
mod attribute_domain;
mod attribute_missing;
mod building_outside;
mod building_overlap;
mod code_consistency;
mod code_duplicate;
mod code_format;
mod duplicate_vertex;
mod gap;
mod geometry;
mod geometry_invalid;
mod input_load;
mod near_miss;
mod outside_subdistrict;
mod overlap;
mod self_intersection;
mod sliver;
mod spike;
mod tiny;

pub use area_tolerance::{AreaParams, AreaTolerance};
pub use attribute_domain::AttributeDomain;
pub use attribute_missing::{AttributeMissing, RequiredFields};
pub use building_outside::BuildingOutsideParcel;
pub use building_overlap::BuildingOverlap;
pub use code_consistency::CodeConsistency;
pub use code_duplicate::CodeDuplicate;
pub use code_format::CodeFormat;
pub use duplicate_vertex::DuplicateVertex;
pub use gap::{GapParams, ParcelGap};
pub use geometry_invalid::GeometryInvalid;
pub use input_load::InputLoad;
pub use near_miss::{NearMiss, SnapParams};
pub use outside_subdistrict::OutsideSubdistrict;
pub use overlap::ParcelOverlap;
pub use self_intersection::SelfIntersection;
pub use sliver::{ParcelSliver, SliverParams};
pub use spike::{Spike, SpikeParams};
pub use tiny::ParcelTiny;

use serde::{Deserialize, Serialize};

use super::config::{Common, ConfigError, RuleConf};
use super::registry::{self, Declare, RuleSpec};
use super::Rule;

/// Generates, from one line per rule, everything that lists the rules.
macro_rules! registry {
    ($($(#[doc = $doc:literal])* $konst:ident = $id:literal => $field:ident : $rule:ident,)*) => {
        /// The rule ids (generated from the registry).
        pub mod ids {
            $($(#[doc = $doc])* pub const $konst: &str = $id;)*
            /// Every rule id, in report order.
            pub const ALL_RULE_IDS: [&str; [$($id),*].len()] = [$($id),*];
        }

        /// Every rule's declaration, in the order of [`ALL_RULE_IDS`](ids::ALL_RULE_IDS).
        pub static REGISTRY: [RuleSpec; ids::ALL_RULE_IDS.len()] = [$(RuleSpec::of::<$rule>($id)),*];

        /// Every rule, in the order of [`ALL_RULE_IDS`](ids::ALL_RULE_IDS).
        pub fn all() -> Vec<Box<dyn Rule>> {
            vec![$(Box::new($rule)),*]
        }

        /// Settings of every rule, keyed by rule id in TOML.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Rules {
            $(#[doc = concat!("`", $id, "`")] #[serde(rename = $id)] pub $field: RuleConf<<$rule as Declare>::Settings>,)*
        }

        impl Rules {
            /// The common settings of a rule by id.
            pub fn common(&self, id: &str) -> Option<&Common> {
                match id {
                    $($id => Some(&self.$field.common),)*
                    _ => None,
                }
            }

            /// The common settings of a rule by id, to change.
            pub fn common_mut(&mut self, id: &str) -> Option<&mut Common> {
                match id {
                    $($id => Some(&mut self.$field.common),)*
                    _ => None,
                }
            }

            /// Check every rule's values.
            pub(crate) fn validate(&self) -> Result<(), ConfigError> {
                $(registry::validate($id, &self.$field)?;)*
                Ok(())
            }
        }
    };
}

registry! {
    /// Structural invalidity not covered by a more specific rule (too few points,
    /// non-finite coordinates, hole outside its shell, null/empty/wrong-type geometry at load).
    GEOMETRY_INVALID = "geometry.invalid" => geometry_invalid: GeometryInvalid,
    /// A ring crosses or touches itself (or another ring of the same polygon).
    GEOMETRY_SELF_INTERSECTION = "geometry.self_intersection" => geometry_self_intersection: SelfIntersection,
    /// Two consecutive vertices of a ring coincide (within a tolerance).
    GEOMETRY_DUPLICATE_VERTEX = "geometry.duplicate_vertex" => geometry_duplicate_vertex: DuplicateVertex,
    /// A vertex where the boundary turns back on itself (angle below a tolerance).
    GEOMETRY_SPIKE = "geometry.spike" => geometry_spike: Spike,
    /// Two parcels' interiors overlap by more than a tolerance area.
    PARCEL_OVERLAP = "parcel.overlap" => parcel_overlap: ParcelOverlap,
    /// An enclosed uncovered region between parcels, below a maximum area.
    PARCEL_GAP = "parcel.gap" => parcel_gap: ParcelGap,
    /// A parcel extends outside its sub-district.
    PARCEL_OUTSIDE_SUBDISTRICT = "parcel.outside_subdistrict" => parcel_outside_subdistrict: OutsideSubdistrict,
    /// A parcel smaller than a minimum area (1 m² by default).
    PARCEL_TINY = "parcel.tiny" => parcel_tiny: ParcelTiny,
    /// A long, thin parcel (low thinness ratio and small mean width).
    PARCEL_SLIVER = "parcel.sliver" => parcel_sliver: ParcelSliver,
    /// A vertex within snap tolerance of a neighbour's vertex or edge but not identical to a neighbour vertex.
    VERTEX_NEAR_MISS = "vertex.near_miss" => vertex_near_miss: NearMiss,
    /// A building footprint not covered by its parcel.
    BUILDING_OUTSIDE_PARCEL = "building.outside_parcel" => building_outside_parcel: BuildingOutsideParcel,
    /// Two building footprints overlap.
    BUILDING_OVERLAP = "building.overlap" => building_overlap: BuildingOverlap,
    /// Recorded parcel area ZDMJ outside the tolerance ΔS = 2·m_j·√S of the computed area.
    AREA_TOLERANCE = "area.tolerance" => area_tolerance: AreaTolerance,
    /// A malformed code (ZDDM, ZRZH, BDCDYH).
    CODE_FORMAT = "code.format" => code_format: CodeFormat,
    /// One code used by several objects.
    CODE_DUPLICATE = "code.duplicate" => code_duplicate: CodeDuplicate,
    /// A code that disagrees with location or with the related object's code.
    CODE_CONSISTENCY = "code.consistency" => code_consistency: CodeConsistency,
    /// A required attribute is empty.
    ATTRIBUTE_MISSING = "attribute.missing" => attribute_missing: AttributeMissing,
    /// An attribute outside its code table (字典).
    ATTRIBUTE_DOMAIN = "attribute.domain" => attribute_domain: AttributeDomain,
    /// A layer-level load problem (missing layer, no .prj, guessed encoding, record-count mismatch, ...).
    INPUT_LOAD = "input.load" => input_load: InputLoad,
}

/// The spec of a rule by id.
pub fn spec(id: &str) -> Option<&'static RuleSpec> {
    REGISTRY.iter().find(|s| s.id == id)
}

/// Text attributes some rule reads (keys and numbers aside), whatever the configuration.
pub(crate) fn attributes_read() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().flat_map(|s| s.attributes_read.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_has_one_rule() {
        let ids: Vec<&str> = all().iter().map(|r| r.id()).collect();
        assert_eq!(ids, ids::ALL_RULE_IDS.to_vec());
        let specs: Vec<&str> = REGISTRY.iter().map(|s| s.id).collect();
        assert_eq!(specs, ids::ALL_RULE_IDS.to_vec());
    }
}
