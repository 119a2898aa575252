//! `building.overlap`: two footprints overlap by more than `min_area`.

use crate::qc::config::MinArea;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, BUILDING_OVERLAP};
use crate::qc::registry::{Declare, Scope, Shared};
use crate::qc::rule::{building_code, Rule};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildingOverlap;

impl Declare for BuildingOverlap {
    type Settings = MinArea;
    const SCOPE: Scope = Scope::CountyWide;
    const SHARED: &'static [Shared] = &[Shared::BuildingPairs];
}

impl Rule for BuildingOverlap {
    fn id(&self) -> &'static str {
        BUILDING_OVERLAP
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        let min = ctx.config.rules.building_overlap.params.min_area;
        for o in &ctx.building_pairs().overlaps {
            if o.area <= min {
                continue;
            }
            let (a, b) = (building_code(ctx, o.a), building_code(ctx, o.b));
            let mut objects = vec![a.clone(), b.clone()];
            // The parcels the buildings stand on, so a reviewer finds them by parcel too.
            for k in [o.a, o.b] {
                let z = ctx.submission.buildings[k].zddm.trim();
                if !z.is_empty() && !objects.iter().any(|x| x == z) {
                    objects.push(z.to_string());
                }
            }
            emit(ctx.finding(
                BUILDING_OVERLAP,
                objects,
                o.location,
                format!("自然幢 {a} 与 {b} 重叠，重叠面积 {:.2} 平方米", o.area),
                format!("buildings {a} and {b} overlap by {:.2} m²", o.area),
            ));
        }
    }
}
