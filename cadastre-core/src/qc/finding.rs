//! Findings (质检问题) and rule ids. The ids are part of the interface: reports,
//! tests, configuration files and the generated-district truth files use them.

use serde::{Deserialize, Serialize};

/// Structural invalidity not covered by a more specific rule (too few points,
/// non-finite coordinates, hole outside its shell, null/empty/wrong-type geometry at load).
pub const GEOMETRY_INVALID: &str = "geometry.invalid";
/// A ring crosses or touches itself (or another ring of the same polygon).
pub const GEOMETRY_SELF_INTERSECTION: &str = "geometry.self_intersection";
/// Two consecutive vertices of a ring coincide (within a tolerance).
pub const GEOMETRY_DUPLICATE_VERTEX: &str = "geometry.duplicate_vertex";
/// A vertex where the boundary turns back on itself (angle below a tolerance).
pub const GEOMETRY_SPIKE: &str = "geometry.spike";
/// Two parcels' interiors overlap by more than a tolerance area.
pub const PARCEL_OVERLAP: &str = "parcel.overlap";
/// An enclosed uncovered region between parcels, below a maximum area.
pub const PARCEL_GAP: &str = "parcel.gap";
/// A parcel extends outside its sub-district.
pub const PARCEL_OUTSIDE_SUBDISTRICT: &str = "parcel.outside_subdistrict";
/// A parcel smaller than a minimum area (1 m² by default).
pub const PARCEL_TINY: &str = "parcel.tiny";
/// A long, thin parcel (low thinness ratio and small mean width).
pub const PARCEL_SLIVER: &str = "parcel.sliver";
/// A vertex within snap tolerance of a neighbour's vertex or edge but not identical to a neighbour vertex.
pub const VERTEX_NEAR_MISS: &str = "vertex.near_miss";
/// A building footprint not covered by its parcel.
pub const BUILDING_OUTSIDE_PARCEL: &str = "building.outside_parcel";
/// Two building footprints overlap.
pub const BUILDING_OVERLAP: &str = "building.overlap";
/// Recorded parcel area ZDMJ outside the tolerance ΔS = 2·m_j·√S of the computed area.
pub const AREA_TOLERANCE: &str = "area.tolerance";
/// A malformed code (ZDDM, ZRZH, BDCDYH).
pub const CODE_FORMAT: &str = "code.format";
/// One code used by several objects.
pub const CODE_DUPLICATE: &str = "code.duplicate";
/// A code that disagrees with location or with the related object's code.
pub const CODE_CONSISTENCY: &str = "code.consistency";
/// A required attribute is empty.
pub const ATTRIBUTE_MISSING: &str = "attribute.missing";
/// An attribute outside its code table (字典).
pub const ATTRIBUTE_DOMAIN: &str = "attribute.domain";
/// A layer-level load problem (missing layer, no .prj, guessed encoding, record-count mismatch, ...).
pub const INPUT_LOAD: &str = "input.load";

/// Every rule id, in report order.
pub const ALL_RULE_IDS: [&str; 19] = [
    GEOMETRY_INVALID,
    GEOMETRY_SELF_INTERSECTION,
    GEOMETRY_DUPLICATE_VERTEX,
    GEOMETRY_SPIKE,
    PARCEL_OVERLAP,
    PARCEL_GAP,
    PARCEL_OUTSIDE_SUBDISTRICT,
    PARCEL_TINY,
    PARCEL_SLIVER,
    VERTEX_NEAR_MISS,
    BUILDING_OUTSIDE_PARCEL,
    BUILDING_OVERLAP,
    AREA_TOLERANCE,
    CODE_FORMAT,
    CODE_DUPLICATE,
    CODE_CONSISTENCY,
    ATTRIBUTE_MISSING,
    ATTRIBUTE_DOMAIN,
    INPUT_LOAD,
];

/// How serious a finding is. Any `Error` fails the submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Must be fixed before the submission enters the database.
    Error,
    /// Should be looked at; lowers the score.
    Warning,
    /// For information.
    Info,
}

impl Severity {
    /// The lower-case name used in JSON and TOML.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// The Chinese name used in the HTML report.
    pub fn name_zh(self) -> &'static str {
        match self {
            Severity::Error => "错误",
            Severity::Warning => "警告",
            Severity::Info => "提示",
        }
    }
}

/// One problem found by a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id, e.g. `parcel.overlap`.
    pub rule: String,
    /// Severity from the configuration.
    pub severity: Severity,
    /// Codes of the objects involved (ZDDM / ZRZH / BDCDYH), sorted.
    pub objects: Vec<String>,
    /// A point at or near the problem, `[x, y]` = (easting, northing) in the data's CRS.
    pub location: [f64; 2],
    /// Message in Chinese.
    pub message_zh: String,
    /// Message in English.
    pub message_en: String,
}

impl Finding {
    /// The total order used to make reports independent of input order.
    pub(crate) fn sort_key_cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rule
            .cmp(&other.rule)
            .then_with(|| self.objects.cmp(&other.objects))
            .then_with(|| self.location[0].total_cmp(&other.location[0]))
            .then_with(|| self.location[1].total_cmp(&other.location[1]))
            .then_with(|| self.message_en.cmp(&other.message_en))
            .then_with(|| self.message_zh.cmp(&other.message_zh))
    }
}

/// Round a coordinate to the millimetre so that tiny floating-point differences
/// between equivalent computations never change a report.
pub(crate) fn round_mm(v: f64) -> f64 {
    if v.is_finite() {
        (v * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_dotted() {
        let mut ids = ALL_RULE_IDS.to_vec();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ALL_RULE_IDS.len());
        assert!(ALL_RULE_IDS.iter().all(|id| id.contains('.')));
    }

    #[test]
    fn severity_serializes_lowercase() {
        let s = serde_json::to_string(&Severity::Warning).unwrap_or_default();
        assert_eq!(s, "\"warning\"");
    }

    #[test]
    fn round_mm_maps_non_finite_to_zero() {
        assert_eq!(round_mm(f64::NAN), 0.0);
        assert_eq!(round_mm(1.23456), 1.235);
    }
}
