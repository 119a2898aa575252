//! Quality checks (质检) of a survey submission.
//!
//! Every rule ([`rules`], one file each, registered by one line there) implements [`Rule`] and
//! [`Declare`], and reads a shared
//! [`Context`] built once per run (per-feature geometry analysis, R*-trees built by
//! bulk loading, prepared sub-districts, lazily computed pair relations). Rules run
//! in parallel; findings are sorted into a total order, so a report does not depend
//! on the order of the input features. Invalid geometries are reported and left out
//! of the overlay-based rules; they never stop other rules on other objects.
//!
//! ```
//! use cadastre_core::model::{Parcel, ParcelAttributes, Submission};
//! use cadastre_core::qc::{check, QcConfig, Verdict};
//! use geo_types::{polygon, MultiPolygon};
//!
//! let square = |x0: f64, code: &str| Parcel {
//!     zddm: code.into(),
//!     geometry: MultiPolygon(vec![polygon![(x: x0, y: 0.), (x: x0 + 10., y: 0.), (x: x0 + 10., y: 10.), (x: x0, y: 10.)]]),
//!     attributes: ParcelAttributes::default(),
//!     source_index: 0,
//! };
//! let mut sub = Submission::default();
//! sub.parcels = vec![square(0.0, "330106001001GB00001"), square(9.0, "330106001001GB00002")];
//! let mut cfg = QcConfig::default();
//! cfg.rules.attribute_missing.common.enabled = false;
//! let report = check(&sub, &cfg);
//! assert_eq!(report.verdict, Verdict::Fail);
//! assert_eq!(report.counts["parcel.overlap"], 1); // 1 m × 10 m
//! assert!(report.findings[0].message_en.contains("10.00 m²"));
//! ```

mod batch;
mod codes;
mod config;
mod context;
mod finding;
mod geom;
mod overlay;
mod registry;
pub mod repair;
pub mod report;
mod rule;
pub mod rules;
mod score;
mod validity;

pub use batch::{check_batch, BatchFindings};
pub use config::{Common, ConfigError, QcConfig, RuleConf, Scoring, DEFAULT_RULES_TOML};
pub use context::{Context, FeatureFacts, Overlap, PairTable, PreparedArea};
pub use finding::*;
pub use registry::{Declare, RuleSpec, Scope, Settings, Shared};
pub use rule::Rule;
pub use rules::REGISTRY;
pub use score::{score, Report, Verdict};

use rayon::prelude::*;

use crate::model::Submission;

/// Run every enabled rule and score the result.
pub fn check(submission: &Submission, config: &QcConfig) -> Report {
    check_with_progress(submission, config, &|_| {})
}

/// Like [`check`], calling `done(rule_id)` as each rule finishes (for progress bars).
pub fn check_with_progress(submission: &Submission, config: &QcConfig, done: &(dyn Fn(&str) + Sync)) -> Report {
    let ctx = Context::new(submission, config);
    let enabled: Vec<Box<dyn Rule>> =
        rules::all().into_iter().filter(|r| config.common(r.id()).is_none_or(|c| c.enabled)).collect();
    // The shared relations, computed up front on all cores: computed lazily by the first rule
    // that asks, they left the other rules' threads blocked on the lock meanwhile.
    let needs =
        |shared: Shared| enabled.iter().any(|r| rules::spec(r.id()).is_some_and(|s| s.shared.contains(&shared)));
    rayon::join(
        || {
            if needs(Shared::ParcelPairs) {
                ctx.parcel_pairs();
            }
        },
        || {
            rayon::join(
                || {
                    if needs(Shared::BuildingPairs) {
                        ctx.building_pairs();
                    }
                },
                || {
                    if needs(Shared::ParcelSubdistrict) {
                        ctx.parcel_subdistrict();
                    }
                    if needs(Shared::BuildingParcels) {
                        ctx.building_parcels();
                    }
                },
            )
        },
    );
    let mut findings: Vec<Finding> = enabled
        .par_iter()
        .flat_map_iter(|r| {
            let f = r.findings(&ctx);
            done(r.id());
            f
        })
        .collect();
    findings.sort_by(|a, b| a.sort_key_cmp(b));
    findings.dedup();
    let mut counts: std::collections::BTreeMap<String, usize> =
        enabled.iter().map(|r| (r.id().to_string(), 0)).collect();
    for f in &findings {
        *counts.entry(f.rule.clone()).or_default() += 1;
    }
    let (score, verdict) = score::score(&findings, config);
    Report { findings, score, verdict, counts }
}
