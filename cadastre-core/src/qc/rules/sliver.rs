//! `parcel.sliver`: a long thin parcel: thinness ratio 4πA/P² below `max_thinness`
//! and mean width 2A/P below `max_width` (a long road parcel is thin but wide enough).

use crate::qc::context::Context;
use crate::qc::finding::{Finding, PARCEL_SLIVER};
use crate::qc::registry::{non_negative, Declare, Scope, Settings};
use crate::qc::rule::{parcel_code, Rule};
use serde::{Deserialize, Serialize};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParcelSliver;

impl Declare for ParcelSliver {
    type Settings = SliverParams;
    const SCOPE: Scope = Scope::Local;
}

/// Sliver thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SliverParams {
    /// 4πA/P² below this.
    pub max_thinness: f64,
    /// 2A/P below this (m).
    pub max_width: f64,
}

impl Settings for SliverParams {
    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        non_negative("max_thinness", self.max_thinness)?;
        non_negative("max_width", self.max_width)
    }
}

impl Rule for ParcelSliver {
    fn id(&self) -> &'static str {
        PARCEL_SLIVER
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        let p = ctx.config.rules.parcel_sliver.params;
        for (i, f) in ctx.parcels.iter().enumerate() {
            if f.bbox.is_none()
                || !f.report.invalid.is_empty()
                || !f.report.self_intersections.is_empty()
                || f.perimeter <= 0.0
                || f.area <= 0.0
            {
                continue;
            }
            let thinness = 4.0 * std::f64::consts::PI * f.area / (f.perimeter * f.perimeter);
            let width = 2.0 * f.area / f.perimeter;
            if thinness >= p.max_thinness || width >= p.max_width {
                continue;
            }
            let code = parcel_code(ctx, i);
            emit(ctx.finding(
                PARCEL_SLIVER,
                vec![code.clone()],
                f.location(),
                format!("宗地 {code} 为狭长碎片：细度 {thinness:.4}，平均宽度 {width:.3} 米"),
                format!("parcel {code} is a sliver: thinness {thinness:.4}, mean width {width:.3} m"),
            ));
        }
    }
}
