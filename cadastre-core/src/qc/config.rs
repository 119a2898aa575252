//! Rule configuration: the embedded `default_rules.toml` is the single source of the
//! defaults; a user's file is checked key by key against it (unknown keys and wrong
//! types are errors naming the key), merged over it and read into typed settings.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::finding::Severity;
use super::registry::{non_negative, Settings};
pub use super::rules::Rules;

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

impl Settings for NoParams {}

/// A single tolerance `tolerance` (m).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ToleranceParam {
    /// Distance in metres.
    pub tolerance: f64,
}

impl Settings for ToleranceParam {
    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        non_negative("tolerance", self.tolerance)
    }
}

/// A minimum area (m²).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinArea {
    /// m².
    pub min_area: f64,
}

impl Settings for MinArea {
    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        non_negative("min_area", self.min_area)
    }
}

/// Score threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// Below this score the submission fails.
    pub pass_score: f64,
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
        let mut read: Vec<String> = super::rules::attributes_read()
            .map(str::to_owned)
            .chain(required.parcel_fields.iter().chain(&required.building_fields).map(|f| f.trim().to_uppercase()))
            .collect();
        read.sort();
        read.dedup();
        read
    }

    /// The common settings of a rule by id.
    pub fn common(&self, id: &str) -> Option<&Common> {
        self.rules.common(id)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.rules.validate()?;
        if !self.scoring.pass_score.is_finite() {
            return Err(ConfigError::BadValue {
                key: "scoring.pass_score".into(),
                reason: "must be a finite number".into(),
            });
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
