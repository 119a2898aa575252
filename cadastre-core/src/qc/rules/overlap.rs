//! `parcel.overlap`: two parcels' interiors overlap by more than `min_area`.

use crate::qc::config::MinArea;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, PARCEL_OVERLAP};
use crate::qc::registry::{Declare, Scope, Shared};
use crate::qc::rule::{parcel_code, Rule};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParcelOverlap;

impl Declare for ParcelOverlap {
    type Settings = MinArea;
    const SCOPE: Scope = Scope::CountyWide;
    const SHARED: &'static [Shared] = &[Shared::ParcelPairs];
}

impl Rule for ParcelOverlap {
    fn id(&self) -> &'static str {
        PARCEL_OVERLAP
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        let min = ctx.config.rules.parcel_overlap.params.min_area;
        for o in &ctx.parcel_pairs().overlaps {
            if o.area <= min {
                continue;
            }
            let (a, b) = (parcel_code(ctx, o.a), parcel_code(ctx, o.b));
            emit(ctx.finding(
                PARCEL_OVERLAP,
                vec![a.clone(), b.clone()],
                o.location,
                format!("宗地 {a} 与 {b} 重叠，重叠面积 {:.2} 平方米", o.area),
                format!("parcels {a} and {b} overlap by {:.2} m²", o.area),
            ));
        }
    }
}
