//! One file per rule. Each type implements [`Rule`](super::Rule); [`all`] lists them.

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

pub use area_tolerance::AreaTolerance;
pub use attribute_domain::AttributeDomain;
pub use attribute_missing::AttributeMissing;
pub use building_outside::BuildingOutsideParcel;
pub use building_overlap::BuildingOverlap;
pub use code_consistency::CodeConsistency;
pub use code_duplicate::CodeDuplicate;
pub use code_format::CodeFormat;
pub use duplicate_vertex::DuplicateVertex;
pub use gap::ParcelGap;
pub use geometry_invalid::GeometryInvalid;
pub use input_load::InputLoad;
pub use near_miss::NearMiss;
pub use outside_subdistrict::OutsideSubdistrict;
pub use overlap::ParcelOverlap;
pub use self_intersection::SelfIntersection;
pub use sliver::ParcelSliver;
pub use spike::Spike;
pub use tiny::ParcelTiny;

use super::Rule;

/// Text attributes some rule reads (keys and numbers aside), whatever the configuration:
/// DJZQDM (code.consistency, parcel.outside_subdistrict), ZDTZM (code.consistency), BDCDYH
/// (code.format, code.consistency), YT, QLLX, QLXZ (attribute.domain). `attribute.missing`
/// reads the fields it is configured with. A rule that starts reading another attribute must
/// be added here, or a check that loads only these would not see it.
pub(crate) const ATTRIBUTES_READ: &[&str] = &["DJZQDM", "ZDTZM", "BDCDYH", "YT", "QLLX", "QLXZ"];

/// Every rule, in the order of [`ALL_RULE_IDS`](super::ALL_RULE_IDS).
pub fn all() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(GeometryInvalid),
        Box::new(SelfIntersection),
        Box::new(DuplicateVertex),
        Box::new(Spike),
        Box::new(ParcelOverlap),
        Box::new(ParcelGap),
        Box::new(OutsideSubdistrict),
        Box::new(ParcelTiny),
        Box::new(ParcelSliver),
        Box::new(NearMiss),
        Box::new(BuildingOutsideParcel),
        Box::new(BuildingOverlap),
        Box::new(AreaTolerance),
        Box::new(CodeFormat),
        Box::new(CodeDuplicate),
        Box::new(CodeConsistency),
        Box::new(AttributeMissing),
        Box::new(AttributeDomain),
        Box::new(InputLoad),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_has_one_rule() {
        let ids: Vec<&str> = all().iter().map(|r| r.id()).collect();
        assert_eq!(ids, super::super::ALL_RULE_IDS.to_vec());
    }
}
