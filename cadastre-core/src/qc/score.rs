//! Score and verdict from findings and the configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::QcConfig;
use super::finding::{Finding, Severity};

/// Pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The submission may enter the database.
    Pass,
    /// The submission goes back to the surveyor.
    Fail,
}

/// The outcome of a check run. Serializes to the report JSON
/// `{"findings":[…],"score","verdict","counts":{rule: n}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// All findings, in a deterministic order.
    pub findings: Vec<Finding>,
    /// 0–100.
    pub score: f64,
    /// Pass or fail.
    pub verdict: Verdict,
    /// Number of findings per rule id (rules with none are listed with 0).
    pub counts: BTreeMap<String, usize>,
}

/// Score = 100 − Σ min(cap, weight × count), floored at 0; fail on any error or a low score.
///
/// ```
/// use cadastre_core::qc::{score, QcConfig, Verdict};
/// let (s, v) = score(&[], &QcConfig::default());
/// assert_eq!((s, v), (100.0, Verdict::Pass));
/// ```
pub fn score(findings: &[Finding], config: &QcConfig) -> (f64, Verdict) {
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in findings {
        *per_rule.entry(f.rule.as_str()).or_default() += 1;
    }
    let mut lost = 0.0;
    for (rule, n) in per_rule {
        if let Some(c) = config.common(rule) {
            lost += (c.weight * n as f64).min(c.cap);
        }
    }
    let score = ((100.0 - lost).max(0.0) * 100.0).round() / 100.0;
    let has_error = findings.iter().any(|f| f.severity == Severity::Error);
    let verdict = if has_error || score < config.scoring.pass_score { Verdict::Fail } else { Verdict::Pass };
    (score, verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(rule: &str, severity: Severity) -> Finding {
        Finding {
            rule: rule.into(),
            severity,
            objects: vec![],
            location: [0.0, 0.0],
            message_zh: String::new(),
            message_en: String::new(),
        }
    }

    #[test]
    fn weights_and_caps_apply() {
        let cfg = QcConfig::default();
        // duplicate_vertex: weight 0.5, cap 10 → 30 findings cost 10, not 15.
        let many: Vec<Finding> = (0..30).map(|_| f("geometry.duplicate_vertex", Severity::Warning)).collect();
        let (s, v) = score(&many, &cfg);
        assert_eq!(s, 90.0);
        assert_eq!(v, Verdict::Pass);
    }

    #[test]
    fn any_error_fails_and_low_score_fails() {
        let cfg = QcConfig::default();
        let (s, v) = score(&[f("parcel.overlap", Severity::Error)], &cfg);
        assert_eq!((s, v), (95.0, Verdict::Fail));
        let cfg = QcConfig::from_toml("[scoring]\npass_score = 99.9\n").unwrap_or_default();
        let (_, v) = score(&[f("geometry.duplicate_vertex", Severity::Warning)], &cfg);
        assert_eq!(v, Verdict::Fail);
    }

    #[test]
    fn score_never_negative() {
        let cfg = QcConfig::from_toml("[rules.\"parcel.tiny\"]\nweight = 50.0\ncap = 500.0\n").unwrap_or_default();
        let many: Vec<Finding> = (0..10).map(|_| f("parcel.tiny", Severity::Warning)).collect();
        assert_eq!(score(&many, &cfg).0, 0.0);
    }
}
