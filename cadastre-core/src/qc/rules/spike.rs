//! `geometry.spike`: a vertex where the boundary turns back (angle below a tolerance).

use crate::qc::context::Context;
use crate::qc::finding::{Finding, GEOMETRY_SPIKE};
use crate::qc::registry::{non_negative, Declare, Scope, Settings};
use crate::qc::rule::Rule;
use serde::{Deserialize, Serialize};

use super::geometry::{features, xy};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spike;

impl Declare for Spike {
    type Settings = SpikeParams;
    const SCOPE: Scope = Scope::Local;
}

/// Spike angle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpikeParams {
    /// Degrees.
    pub max_angle_deg: f64,
}

impl Settings for SpikeParams {
    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        non_negative("max_angle_deg", self.max_angle_deg)
    }
}

impl Rule for Spike {
    fn id(&self) -> &'static str {
        GEOMETRY_SPIKE
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        let max = ctx.config.rules.geometry_spike.params.max_angle_deg;
        for (code, facts, kind_zh) in features(ctx) {
            let points = &facts.report.spikes;
            let Some(first) = points.iter().min_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y))) else {
                continue;
            };
            let n = points.len();
            emit(ctx.finding(
                GEOMETRY_SPIKE,
                vec![code.to_string()],
                *first,
                format!("{kind_zh} {code} 有尖刺（夹角小于 {max}°），位于 {}（共 {n} 处）", xy(*first)),
                format!("{code}: spike (angle below {max}°) at {} ({n} in total)", xy(*first)),
            ));
        }
    }
}
