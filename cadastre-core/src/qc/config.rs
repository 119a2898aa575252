//! Rule configuration: the embedded `default_rules.toml` is the single source of the
//! defaults; a user's file is checked key by key against it (unknown keys and wrong
//! types are errors naming the key), merged over it and read into typed settings.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::finding::Severity;

/// The documented default rules file (printed by `cadastre check --print-default-rules`).
pub const DEFAULT_RULES_TOML: &str = include_str!("default_rules.toml");

/// A rules file could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not TOML.
    #[error("rules file is not valid TOML: {0}")]
    Syntax(String),
    /// A key that the rules do not know.
    #[error("unknown key `{0}` in rules file (see `cadastre check --print-default-rules`)")]
    UnknownKey(String),
    /// A value of the wrong type.
    #[error("key `{key}` in rules file must be {expected}, found {found}")]
    WrongType {
        /// Dotted key path.
        key: String,
        /// Expected TOML type.
        expected: &'static str,
        /// Found TOML type.
        found: &'static str,
    },
    /// A value of the right type but out of range.
    #[error("key `{key}` in rules file: {reason}")]
    BadValue {
        /// Dotted key path.
        key: String,
        /// Why.
        reason: String,
    },
}

/// Settings every rule has.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Common {
    /// Run the rule.
    pub enabled: bool,
    /// Severity of its findings.
    pub severity: Severity,
    /// Points off per finding.
    pub weight: f64,
    /// Maximum points off for this rule.
    pub cap: f64,
}

/// A rule's settings: the common ones plus its own tolerances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleConf<P> {
    /// enabled / severity / weight / cap.
    #[serde(flatten)]
    pub common: Common,
    /// Rule-specific tolerances.
    #[serde(flatten)]
    pub params: P,
}

/// No rule-specific settings.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct NoParams {}

/// A single tolerance `tolerance` (m).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ToleranceParam {
    /// Distance in metres.
    pub tolerance: f64,
}

/// Spike angle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpikeParams {
    /// Degrees.
    pub max_angle_deg: f64,
}

/// A minimum area (m²).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinArea {
    /// m².
    pub min_area: f64,
}

/// Gap areas.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GapParams {
    /// Smaller uncovered regions are numerical noise (m²).
    pub min_area: f64,
    /// Larger enclosed regions are intended, not gaps (m²).
    pub max_area: f64,
    /// `--repair` closes gaps up to this area (m²); 0 turns gap closing off.
    pub close_max_area: f64,
}

/// Sliver thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SliverParams {
    /// 4πA/P² below this.
    pub max_thinness: f64,
    /// 2A/P below this (m).
    pub max_width: f64,
}

/// Snap tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SnapParams {
    /// Metres.
    pub snap_tolerance: f64,
}

/// Area tolerance class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AreaParams {
    /// Default boundary-point class 1, 2 or 3.
    pub point_class: u8,
}

/// Required fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequiredFields {
    /// Standard parcel fields that must not be empty.
    pub parcel_fields: Vec<String>,
    /// Standard building fields that must not be empty.
    pub building_fields: Vec<String>,
}

/// Score threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// Below this score the submission fails.
    pub pass_score: f64,
}

/// Settings of every rule, keyed by rule id in TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Rules {
    #[serde(rename = "geometry.invalid")]
    pub geometry_invalid: RuleConf<NoParams>,
    #[serde(rename = "geometry.self_intersection")]
    pub geometry_self_intersection: RuleConf<NoParams>,
    #[serde(rename = "geometry.duplicate_vertex")]
    pub geometry_duplicate_vertex: RuleConf<ToleranceParam>,
    #[serde(rename = "geometry.spike")]
    pub geometry_spike: RuleConf<SpikeParams>,
    #[serde(rename = "parcel.overlap")]
    pub parcel_overlap: RuleConf<MinArea>,
    #[serde(rename = "parcel.gap")]
    pub parcel_gap: RuleConf<GapParams>,
    #[serde(rename = "parcel.outside_subdistrict")]
    pub parcel_outside_subdistrict: RuleConf<MinArea>,
    #[serde(rename = "parcel.tiny")]
    pub parcel_tiny: RuleConf<MinArea>,
    #[serde(rename = "parcel.sliver")]
    pub parcel_sliver: RuleConf<SliverParams>,
    #[serde(rename = "vertex.near_miss")]
    pub vertex_near_miss: RuleConf<SnapParams>,
    #[serde(rename = "building.outside_parcel")]
    pub building_outside_parcel: RuleConf<MinArea>,
    #[serde(rename = "building.overlap")]
    pub building_overlap: RuleConf<MinArea>,
    #[serde(rename = "area.tolerance")]
    pub area_tolerance: RuleConf<AreaParams>,
    #[serde(rename = "code.format")]
    pub code_format: RuleConf<NoParams>,
    #[serde(rename = "code.duplicate")]
    pub code_duplicate: RuleConf<NoParams>,
    #[serde(rename = "code.consistency")]
    pub code_consistency: RuleConf<NoParams>,
    #[serde(rename = "attribute.missing")]
    pub attribute_missing: RuleConf<RequiredFields>,
    #[serde(rename = "attribute.domain")]
    pub attribute_domain: RuleConf<NoParams>,
    #[serde(rename = "input.load")]
    pub input_load: RuleConf<NoParams>,
}

/// The complete quality-check configuration.
///
/// ```
/// use cadastre_core::qc::QcConfig;
/// let cfg = QcConfig::from_toml("[rules.\"parcel.tiny\"]\nmin_area = 2.5\n").unwrap();
/// assert_eq!(cfg.rules.parcel_tiny.params.min_area, 2.5);
/// assert!(QcConfig::from_toml("[rules.\"parcel.tiny\"]\nmin_aera = 2.5\n").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QcConfig {
    /// Score threshold.
    pub scoring: Scoring,
    /// Per-rule settings.
    pub rules: Rules,
}

impl Default for QcConfig {
    fn default() -> Self {
        // The embedded file is checked by a unit test, so this cannot fail in a release.
        match Self::from_toml("") {
            Ok(cfg) => cfg,
            Err(err) => panic!("embedded default_rules.toml is broken: {err}"),
        }
    }
}

impl QcConfig {
    /// Read a rules file's text (possibly empty) over the defaults.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let mut base: toml::Table =
            toml::from_str(DEFAULT_RULES_TOML).map_err(|e| ConfigError::Syntax(format!("(built-in defaults) {e}")))?;
        let user: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        merge(&mut base, user, "")?;
        let cfg: QcConfig = toml::Value::Table(base).try_into().map_err(|e: toml::de::Error| {
            ConfigError::BadValue { key: "rules".into(), reason: e.message().to_string() }
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The attributes the rules read besides the keys and numbers (which a load always
    /// reads): give them to [`LoadOptions::only_attributes`](crate::io::LoadOptions) to load
    /// no more than a check needs.
    ///
    /// ```
    /// use cadastre_core::qc::QcConfig;
    /// let mut cfg = QcConfig::default();
    /// cfg.rules.attribute_missing.params.building_fields.push("jzwmc".into());
    /// let read = cfg.attributes_read();
    /// assert!(read.contains(&"BDCDYH".to_string()) && read.contains(&"JZWMC".to_string()));
    /// assert!(!read.contains(&"BSM".to_string()));
    /// ```
    pub fn attributes_read(&self) -> Vec<String> {
        let required = &self.rules.attribute_missing.params;
        let mut read: Vec<String> = super::rules::ATTRIBUTES_READ
            .iter()
            .map(|&f| f.to_owned())
            .chain(required.parcel_fields.iter().chain(&required.building_fields).map(|f| f.trim().to_uppercase()))
            .collect();
        read.sort();
        read.dedup();
        read
    }

    /// The common settings of a rule by id.
    pub fn common(&self, id: &str) -> Option<&Common> {
        let r = &self.rules;
        use super::finding::*;
        Some(match id {
            GEOMETRY_INVALID => &r.geometry_invalid.common,
            GEOMETRY_SELF_INTERSECTION => &r.geometry_self_intersection.common,
            GEOMETRY_DUPLICATE_VERTEX => &r.geometry_duplicate_vertex.common,
            GEOMETRY_SPIKE => &r.geometry_spike.common,
            PARCEL_OVERLAP => &r.parcel_overlap.common,
            PARCEL_GAP => &r.parcel_gap.common,
            PARCEL_OUTSIDE_SUBDISTRICT => &r.parcel_outside_subdistrict.common,
            PARCEL_TINY => &r.parcel_tiny.common,
            PARCEL_SLIVER => &r.parcel_sliver.common,
            VERTEX_NEAR_MISS => &r.vertex_near_miss.common,
            BUILDING_OUTSIDE_PARCEL => &r.building_outside_parcel.common,
            BUILDING_OVERLAP => &r.building_overlap.common,
            AREA_TOLERANCE => &r.area_tolerance.common,
            CODE_FORMAT => &r.code_format.common,
            CODE_DUPLICATE => &r.code_duplicate.common,
            CODE_CONSISTENCY => &r.code_consistency.common,
            ATTRIBUTE_MISSING => &r.attribute_missing.common,
            ATTRIBUTE_DOMAIN => &r.attribute_domain.common,
            INPUT_LOAD => &r.input_load.common,
            _ => return None,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, reason: &str| ConfigError::BadValue { key: key.into(), reason: reason.into() };
        for id in super::finding::ALL_RULE_IDS {
            let Some(c) = self.common(id) else { continue };
            if !(c.weight.is_finite() && c.weight >= 0.0 && c.cap.is_finite() && c.cap >= 0.0) {
                return Err(bad(&format!("rules.\"{id}\""), "weight and cap must be finite and >= 0"));
            }
        }
        let r = &self.rules;
        let non_negative = [
            ("geometry.duplicate_vertex", "tolerance", r.geometry_duplicate_vertex.params.tolerance),
            ("geometry.spike", "max_angle_deg", r.geometry_spike.params.max_angle_deg),
            ("parcel.overlap", "min_area", r.parcel_overlap.params.min_area),
            ("parcel.gap", "min_area", r.parcel_gap.params.min_area),
            ("parcel.gap", "max_area", r.parcel_gap.params.max_area),
            ("parcel.gap", "close_max_area", r.parcel_gap.params.close_max_area),
            ("parcel.outside_subdistrict", "min_area", r.parcel_outside_subdistrict.params.min_area),
            ("parcel.tiny", "min_area", r.parcel_tiny.params.min_area),
            ("parcel.sliver", "max_thinness", r.parcel_sliver.params.max_thinness),
            ("parcel.sliver", "max_width", r.parcel_sliver.params.max_width),
            ("vertex.near_miss", "snap_tolerance", r.vertex_near_miss.params.snap_tolerance),
            ("building.outside_parcel", "min_area", r.building_outside_parcel.params.min_area),
            ("building.overlap", "min_area", r.building_overlap.params.min_area),
        ];
        for (rule, key, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(&format!("rules.\"{rule}\".{key}"), "must be a finite number >= 0"));
            }
        }
        if !(1..=3).contains(&r.area_tolerance.params.point_class) {
            return Err(bad("rules.\"area.tolerance\".point_class", "must be 1, 2 or 3"));
        }
        if !self.scoring.pass_score.is_finite() {
            return Err(bad("scoring.pass_score", "must be a finite number"));
        }
        Ok(())
    }
}

fn type_name(v: &toml::Value) -> &'static str {
    v.type_str()
}

/// Merge `user` into `base`, refusing keys `base` does not have and values of another type.
fn merge(base: &mut toml::Table, user: toml::Table, prefix: &str) -> Result<(), ConfigError> {
    for (key, value) in user {
        let path = if prefix.is_empty() {
            if key.contains('.') {
                format!("\"{key}\"")
            } else {
                key.clone()
            }
        } else if key.contains('.') {
            format!("{prefix}.\"{key}\"")
        } else {
            format!("{prefix}.{key}")
        };
        let Some(slot) = base.get_mut(&key) else {
            return Err(ConfigError::UnknownKey(path));
        };
        match (slot, value) {
            (toml::Value::Table(b), toml::Value::Table(u)) => merge(b, u, &path)?,
            (slot @ toml::Value::Float(_), toml::Value::Integer(i)) => *slot = toml::Value::Float(i as f64),
            (slot, value) => {
                if std::mem::discriminant(slot) != std::mem::discriminant(&value) {
                    return Err(ConfigError::WrongType {
                        key: path,
                        expected: type_name(slot),
                        found: type_name(&value),
                    });
                }
                *slot = value;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_parse_and_cover_every_rule() {
        let cfg = QcConfig::from_toml("");
        assert!(cfg.is_ok(), "{cfg:?}");
        let cfg = QcConfig::default();
        for id in super::super::finding::ALL_RULE_IDS {
            assert!(cfg.common(id).is_some(), "{id}");
        }
        assert_eq!(cfg.rules.parcel_tiny.params.min_area, 1.0);
    }

    #[test]
    fn user_values_override_defaults_and_integers_become_floats() {
        let cfg = QcConfig::from_toml(
            "[scoring]\npass_score = 80\n[rules.\"parcel.overlap\"]\nseverity = \"warning\"\nmin_area = 1\n",
        )
        .unwrap_or_default();
        assert_eq!(cfg.scoring.pass_score, 80.0);
        assert_eq!(cfg.rules.parcel_overlap.common.severity, Severity::Warning);
        assert_eq!(cfg.rules.parcel_overlap.params.min_area, 1.0);
        // untouched keys keep defaults
        assert_eq!(cfg.rules.parcel_overlap.common.weight, 5.0);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = QcConfig::from_toml("[rules.\"parcel.overlap\"]\nmin_aera = 1.0\n").err();
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("rules.\"parcel.overlap\".min_aera"), "{msg}");
        let msg = QcConfig::from_toml("[rules.\"parcel.overlapp\"]\n").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("parcel.overlapp"), "{msg}");
    }

    #[test]
    fn wrong_type_and_bad_values_are_errors() {
        let msg = QcConfig::from_toml("[rules.\"parcel.tiny\"]\nmin_area = \"big\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("min_area") && msg.contains("string"), "{msg}");
        assert!(QcConfig::from_toml("[rules.\"parcel.tiny\"]\nseverity = \"fatal\"\n").is_err());
        assert!(QcConfig::from_toml("[rules.\"parcel.tiny\"]\nmin_area = -1.0\n").is_err());
        assert!(QcConfig::from_toml("[rules.\"area.tolerance\"]\npoint_class = 4\n").is_err());
        assert!(QcConfig::from_toml("not toml at all [").is_err());
    }
}
