//! `geometry.spike`: a vertex where the boundary turns back (angle below a tolerance).

use crate::qc::context::Context;
use crate::qc::finding::{Finding, Severity, GEOMETRY_SPIKE};
use crate::qc::rule::Rule;

use super::geometry::{features, xy};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spike;

impl Rule for Spike {
    fn id(&self) -> &'static str {
        GEOMETRY_SPIKE
    }
    fn default_severity(&self) -> Severity {
        Severity::Error
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
