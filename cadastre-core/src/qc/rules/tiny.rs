//! `parcel.tiny`: a parcel smaller than `min_area` (1 m² by default).

use crate::qc::config::MinArea;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, PARCEL_TINY};
use crate::qc::registry::{Declare, Scope};
use crate::qc::rule::{parcel_code, Rule};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParcelTiny;

impl Declare for ParcelTiny {
    type Settings = MinArea;
    const SCOPE: Scope = Scope::Local;
    const REJECTS_ON_IMPORT: bool = true;
}

impl Rule for ParcelTiny {
    fn id(&self) -> &'static str {
        PARCEL_TINY
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        let min = ctx.config.rules.parcel_tiny.params.min_area;
        for (i, f) in ctx.parcels.iter().enumerate() {
            // Invalid or self-intersecting features have no meaningful area; other rules report them.
            if f.bbox.is_none()
                || !f.report.invalid.is_empty()
                || !f.report.self_intersections.is_empty()
                || f.area >= min
            {
                continue;
            }
            let code = parcel_code(ctx, i);
            emit(ctx.finding(
                PARCEL_TINY,
                vec![code.clone()],
                f.location(),
                format!("宗地 {code} 面积过小：{:.4} 平方米（下限 {min} 平方米）", f.area),
                format!("parcel {code} is tiny: {:.4} m² (minimum {min} m²)", f.area),
            ));
        }
    }
}
