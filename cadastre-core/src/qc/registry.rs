//! What the registry knows of a rule besides its check: its settings, whether it can run on
//! one feature at a time, whether the importer rejects on it, what it reads.
//!
//! Each rule declares these beside its check (an `impl Declare` in its own file); the one
//! registration line in [`rules`](super::rules) then gives it an id constant, a place in
//! [`ALL_RULE_IDS`](super::ALL_RULE_IDS), its `[rules."id"]` table in the configuration and
//! an entry in [`REGISTRY`](super::rules::REGISTRY), from which the importer's rule policy follows.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::config::{Common, ConfigError, RuleConf};
use super::rule::Rule;

/// How much of the data a rule needs to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One feature at a time (geometry, attributes, its own codes): runs on every import chunk.
    Local,
    /// Neighbours or the whole county (overlaps, gaps, duplicates, layer-level problems):
    /// left to `cadastre check` on the assembled store, off in an import chunk.
    CountyWide,
}

/// A relation the [`Context`](super::Context) computes once and several rules share; the
/// check computes the ones some enabled rule needs up front, on all cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shared {
    /// Overlapping and adjacent parcel pairs.
    ParcelPairs,
    /// Overlapping building pairs.
    BuildingPairs,
    /// The sub-district each parcel lies in.
    ParcelSubdistrict,
    /// The parcel each building stands in.
    BuildingParcels,
}

/// A rule's own settings (the `[rules."id"]` keys besides enabled/severity/weight/cap).
pub trait Settings: Serialize + DeserializeOwned + Clone + Debug + PartialEq + Send + Sync {
    /// Values the types allow but the rule cannot use: `Err((key, reason))`.
    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        Ok(())
    }
}

/// A `Settings` check: a finite number `>= 0`.
pub(crate) fn non_negative(key: &'static str, v: f64) -> Result<(), (&'static str, &'static str)> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err((key, "must be a finite number >= 0"))
    }
}

/// The static declaration of a rule, next to its [`Rule`] implementation.
pub trait Declare: Rule {
    /// Its settings.
    type Settings: Settings;
    /// Whether it needs neighbours.
    const SCOPE: Scope;
    /// Whether a finding rejects the feature on import (only meaningful for local rules;
    /// the others warn).
    const REJECTS_ON_IMPORT: bool = false;
    /// Standard text attributes it reads besides keys and numbers, whatever the configuration
    /// (a check that loads only what the rules read must not miss them).
    const ATTRIBUTES_READ: &'static [&'static str] = &[];
    /// Shared relations it reads.
    const SHARED: &'static [Shared] = &[];
}

/// One registered rule, as the rest of the toolkit sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSpec {
    /// Rule id, e.g. `parcel.overlap`.
    pub id: &'static str,
    /// Local or county-wide.
    pub scope: Scope,
    /// Whether a finding rejects the feature on import.
    pub rejects_on_import: bool,
    /// Text attributes read whatever the configuration.
    pub attributes_read: &'static [&'static str],
    /// Shared relations read.
    pub shared: &'static [Shared],
}

impl RuleSpec {
    /// The spec of a declared rule.
    pub const fn of<R: Declare>(id: &'static str) -> Self {
        Self {
            id,
            scope: R::SCOPE,
            rejects_on_import: R::REJECTS_ON_IMPORT,
            attributes_read: R::ATTRIBUTES_READ,
            shared: R::SHARED,
        }
    }
}

/// Check one rule's configured values (the types were checked when the TOML was read).
pub(crate) fn validate<S: Settings>(id: &str, conf: &RuleConf<S>) -> Result<(), ConfigError> {
    let Common { weight, cap, .. } = conf.common;
    if !(weight.is_finite() && weight >= 0.0 && cap.is_finite() && cap >= 0.0) {
        return Err(ConfigError::BadValue {
            key: format!("rules.\"{id}\""),
            reason: "weight and cap must be finite and >= 0".into(),
        });
    }
    conf.params
        .check()
        .map_err(|(key, reason)| ConfigError::BadValue { key: format!("rules.\"{id}\".{key}"), reason: reason.into() })
}
