//! `building.outside_parcel`: a footprint not covered by its parcel (the parcel with the
//! building's ZDDM; when that code names no parcel, by the first 19 characters of ZRZH).

use rayon::prelude::*;

use crate::qc::config::MinArea;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, BUILDING_OUTSIDE_PARCEL};
use crate::qc::overlay::{self, Coverage};
use crate::qc::registry::{Declare, Scope, Shared};
use crate::qc::rule::{building_code, parcel_code, Rule};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildingOutsideParcel;

impl Declare for BuildingOutsideParcel {
    type Settings = MinArea;
    const SCOPE: Scope = Scope::CountyWide;
    const SHARED: &'static [Shared] = &[Shared::BuildingParcels];
}

/// The parcel a building belongs to by its codes (unique codes only).
pub(crate) fn own_parcel(ctx: &Context<'_>, b: usize) -> Option<usize> {
    ctx.building_parcels()[b].own()
}

impl Rule for BuildingOutsideParcel {
    fn id(&self) -> &'static str {
        BUILDING_OUTSIDE_PARCEL
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        let min = ctx.config.rules.building_outside_parcel.params.min_area;
        let hits: Vec<(usize, usize, f64, geo_types::Coord)> = (0..ctx.buildings.len())
            .into_par_iter()
            .filter_map(|b| {
                let fb = &ctx.buildings[b];
                let bbox = fb.bbox.filter(|_| fb.overlay_ok())?;
                let p = own_parcel(ctx, b)?;
                if !ctx.parcels[p].overlay_ok() {
                    return None;
                }
                match overlay::coverage(
                    &ctx.submission.buildings[b].footprint,
                    &bbox,
                    fb.interior,
                    &ctx.submission.parcels[p].geometry,
                ) {
                    Coverage::Outside { area, location } if area > min => Some((b, p, area, location)),
                    _ => None,
                }
            })
            .collect();
        for (b, p, area, at) in hits {
            let (bc, pc) = (building_code(ctx, b), parcel_code(ctx, p));
            emit(ctx.finding(
                BUILDING_OUTSIDE_PARCEL,
                vec![bc.clone(), pc.clone()],
                at,
                format!("自然幢 {bc} 有 {area:.2} 平方米超出所在宗地 {pc}"),
                format!("building {bc} extends {area:.2} m² outside its parcel {pc}"),
            ));
        }
    }
}
