//! Findings (质检问题) and rule ids. The ids are part of the interface: reports,
//! tests, configuration files and the generated-district truth files use them.

use serde::{Deserialize, Serialize};

pub use super::rules::ids::*;

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
