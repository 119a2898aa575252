//! The project's quality-check rules as a form: each rule switched on or off, its
//! severity and its numbers (tolerances, weight, cap) changed one at a time, each
//! change checked by `cadastre-core`'s own reading of the rules file before it is
//! kept. The project stores only what differs from the defaults (the `qc_rules`
//! setting, a rules file of `cadastre check --rules`), so a later change of a default
//! still reaches the rules a project did not touch.

use cadastre_core::qc::{QcConfig, DEFAULT_RULES_TOML};
use toml::{Table, Value};

/// One rule as the form shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleView {
    /// Rule id, e.g. `parcel.tiny`.
    pub id: String,
    /// Whether it runs.
    pub enabled: bool,
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// Its numbers by key (`min_area`, `weight`, …), with their values.
    pub numbers: Vec<(String, f64)>,
}

/// The rules of a project: the defaults and the current values.
#[derive(Debug, Clone, PartialEq)]
pub struct RulesForm {
    defaults: Table,
    current: Table,
}

fn invalid(e: impl std::fmt::Display) -> String {
    format!("质检规则无效 / invalid rules: {e}")
}

fn rules(t: &Table) -> Option<&Table> {
    t.get("rules").and_then(Value::as_table)
}

/// Values of `user` over `base`, recursively (an integer where the base has a float
/// becomes that float, as the rules reader takes it).
fn overlay(base: &mut Table, user: &Table) {
    for (k, v) in user {
        match (base.get_mut(k), v) {
            (Some(Value::Table(b)), Value::Table(u)) => overlay(b, u),
            (Some(slot @ Value::Float(_)), Value::Integer(i)) => *slot = Value::Float(*i as f64),
            (Some(slot), v) => *slot = v.clone(),
            (None, v) => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// What of `current` differs from `defaults`, as tables.
fn changed(defaults: &Table, current: &Table) -> Table {
    let mut out = Table::new();
    for (k, v) in current {
        match (defaults.get(k), v) {
            (Some(Value::Table(d)), Value::Table(c)) => {
                let sub = changed(d, c);
                if !sub.is_empty() {
                    out.insert(k.clone(), Value::Table(sub));
                }
            }
            (Some(d), v) if d == v => {}
            (_, v) => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

impl RulesForm {
    /// The form over a project's `qc_rules` text (absent or empty: the defaults); a
    /// text the rules reader refuses is an error naming the key.
    pub fn from_settings(text: Option<&str>) -> Result<Self, String> {
        let defaults: Table = toml::from_str(DEFAULT_RULES_TOML).map_err(invalid)?;
        let text = text.unwrap_or_default();
        QcConfig::from_toml(text).map_err(invalid)?;
        let user: Table = toml::from_str(text).map_err(invalid)?;
        let mut current = defaults.clone();
        overlay(&mut current, &user);
        Ok(Self { defaults, current })
    }

    /// The ids of every rule, in the rules file's order (by id).
    pub fn rule_ids(&self) -> Vec<String> {
        rules(&self.current).map(|r| r.keys().cloned().collect()).unwrap_or_default()
    }

    /// One rule's settings.
    pub fn rule(&self, id: &str) -> Option<RuleView> {
        let t = rules(&self.current)?.get(id)?.as_table()?;
        let numbers = t
            .iter()
            .filter_map(|(k, v)| match v {
                Value::Float(f) => Some((k.clone(), *f)),
                Value::Integer(i) => Some((k.clone(), *i as f64)),
                _ => None,
            })
            .collect();
        Some(RuleView {
            id: id.to_owned(),
            enabled: t.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            severity: t.get("severity").and_then(Value::as_str).unwrap_or("error").to_owned(),
            numbers,
        })
    }

    /// Set one key of a rule to `value` if the rules reader takes the result.
    fn set(&mut self, id: &str, key: &str, value: Value) -> Result<(), String> {
        let mut next = self.current.clone();
        let slot = next
            .get_mut("rules")
            .and_then(Value::as_table_mut)
            .and_then(|r| r.get_mut(id))
            .and_then(Value::as_table_mut)
            .and_then(|t| t.get_mut(key))
            .ok_or_else(|| invalid(format!("{id}.{key}?")))?;
        *slot = value;
        let candidate = Self { defaults: self.defaults.clone(), current: next };
        QcConfig::from_toml(&candidate.to_toml()).map_err(invalid)?;
        *self = candidate;
        Ok(())
    }

    /// Switch a rule on or off.
    pub fn set_enabled(&mut self, id: &str, on: bool) -> Result<(), String> {
        self.set(id, "enabled", Value::Boolean(on))
    }

    /// A rule's severity: `error`, `warning` or `info`.
    pub fn set_severity(&mut self, id: &str, severity: &str) -> Result<(), String> {
        self.set(id, "severity", Value::String(severity.to_owned()))
    }

    /// A rule's number from typed text (a whole number where the rule takes one).
    pub fn set_number(&mut self, id: &str, key: &str, text: &str) -> Result<(), String> {
        let t = text.trim();
        let current = rules(&self.current).and_then(|r| r.get(id)).and_then(|r| r.get(key));
        let value = match current {
            Some(Value::Integer(_)) => Value::Integer(
                t.parse().map_err(|_| invalid(format!("{id}.{key}: 「{t}」不是整数 / not a whole number")))?,
            ),
            _ => Value::Float(t.parse().map_err(|_| invalid(format!("{id}.{key}: 「{t}」不是数字 / not a number")))?),
        };
        self.set(id, key, value)
    }

    /// The project's rules text: what differs from the defaults (empty: all defaults).
    pub fn to_toml(&self) -> String {
        let diff = changed(&self.defaults, &self.current);
        if diff.is_empty() {
            String::new()
        } else {
            toml::to_string(&diff).unwrap_or_default()
        }
    }

    /// The configuration the checks run with.
    pub fn config(&self) -> Result<QcConfig, String> {
        QcConfig::from_toml(&self.to_toml()).map_err(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_kept_as_the_difference_and_read_back_by_the_checks() {
        let mut f = RulesForm::from_settings(None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.to_toml(), "");
        assert!(f.rule_ids().contains(&"parcel.tiny".to_owned()));
        f.set_enabled("parcel.sliver", false).unwrap_or_else(|e| panic!("{e}"));
        f.set_number("parcel.tiny", "min_area", "2.5").unwrap_or_else(|e| panic!("{e}"));
        f.set_severity("parcel.tiny", "error").unwrap_or_else(|e| panic!("{e}"));
        let text = f.to_toml();
        let cfg = QcConfig::from_toml(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(!cfg.rules.parcel_sliver.common.enabled);
        assert_eq!(cfg.rules.parcel_tiny.params.min_area, 2.5);
        assert_eq!(cfg.rules.parcel_tiny.common.severity.as_str(), "error");
        assert!(!text.contains("parcel.overlap"), "only the changes: {text}");
        // The same text gives the same form; back to the default value, the key is gone.
        assert_eq!(RulesForm::from_settings(Some(&text)), Ok(f.clone()));
        f.set_number("parcel.tiny", "min_area", "1").unwrap_or_else(|e| panic!("{e}"));
        assert!(!f.to_toml().contains("min_area"), "{}", f.to_toml());
        assert_eq!(f.rule("parcel.tiny").map(|r| r.numbers.contains(&("min_area".into(), 1.0))), Some(true));
    }

    #[test]
    fn a_value_the_rules_refuse_is_refused_with_its_key_and_changes_nothing() {
        let mut f = RulesForm::from_settings(None).unwrap_or_else(|e| panic!("{e}"));
        let before = f.clone();
        let e = f.set_number("parcel.tiny", "min_area", "-1").err().unwrap_or_default();
        assert!(e.contains("质检规则无效") && e.contains("min_area"), "{e}");
        let e = f.set_number("area.tolerance", "point_class", "1.5").err().unwrap_or_default();
        assert!(e.contains("不是整数"), "{e}");
        assert!(f.set_severity("parcel.tiny", "fatal").is_err());
        assert_eq!(f, before);
        let e = RulesForm::from_settings(Some("[rules.\"parcel.tiny\"]\nmin_aera = 1\n")).err().unwrap_or_default();
        assert!(e.contains("min_aera"), "{e}");
    }
}
