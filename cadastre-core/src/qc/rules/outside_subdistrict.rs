//! `parcel.outside_subdistrict`: part of a parcel lies outside its sub-district (the one
//! named by DJZQDM, else by the first 12 characters of ZDDM; when neither names a
//! loaded sub-district, outside all sub-districts).

use geo_types::MultiPolygon;
use rayon::prelude::*;

use crate::qc::config::MinArea;
use crate::qc::context::{Context, PreparedArea};
use crate::qc::finding::{Finding, PARCEL_OUTSIDE_SUBDISTRICT};
use crate::qc::overlay::{self, Coverage, OuterShape};
use crate::qc::registry::{Declare, Scope};
use crate::qc::rule::{parcel_code, Rule};
use crate::ring::Position;

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutsideSubdistrict;

impl Declare for OutsideSubdistrict {
    type Settings = MinArea;
    const SCOPE: Scope = Scope::CountyWide;
    const ATTRIBUTES_READ: &'static [&'static str] = &["DJZQDM"];
}

/// All sub-districts together, for parcels whose own sub-district is unknown.
struct AnyArea<'c, 'a> {
    areas: &'c [PreparedArea<'a>],
    union: MultiPolygon,
}

impl OuterShape for AnyArea<'_, '_> {
    fn edges_near(&self, rect: &geo_types::Rect) -> Vec<(geo_types::Coord, geo_types::Coord)> {
        self.areas.iter().flat_map(|a| a.edges_near(rect)).collect()
    }
    fn position(&self, c: geo_types::Coord) -> Position {
        let mut best = Position::Outside;
        for a in self.areas {
            match a.position(c) {
                Position::Inside => return Position::Inside,
                Position::Boundary => best = Position::Boundary,
                Position::Outside => {}
            }
        }
        best
    }
    fn geometry(&self) -> &MultiPolygon {
        &self.union
    }
}

impl Rule for OutsideSubdistrict {
    fn id(&self) -> &'static str {
        PARCEL_OUTSIDE_SUBDISTRICT
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        if ctx.subdistricts.is_empty() {
            return; // input.load reports the missing DJZQ layer
        }
        let min = ctx.config.rules.parcel_outside_subdistrict.params.min_area;
        let by_code: std::collections::HashMap<&str, usize> =
            ctx.subdistricts.iter().enumerate().map(|(k, s)| (s.code, k)).collect();
        let any = std::sync::OnceLock::new();
        let results: Vec<(usize, Option<usize>, Coverage)> = (0..ctx.parcels.len())
            .into_par_iter()
            .filter_map(|i| {
                let f = &ctx.parcels[i];
                let bbox = f.bbox.filter(|_| f.overlay_ok())?;
                let parcel = &ctx.submission.parcels[i];
                let own = parcel
                    .attributes
                    .djzqdm
                    .as_deref()
                    .and_then(|c| by_code.get(c.trim()).copied())
                    .or_else(|| parcel.zddm.get(..12).and_then(|c| by_code.get(c).copied()));
                let cov = match own {
                    Some(k) => overlay::coverage(&parcel.geometry, &bbox, f.interior, &ctx.subdistricts[k]),
                    None => {
                        let outer = any.get_or_init(|| AnyArea {
                            areas: &ctx.subdistricts,
                            union: geo::unary_union(ctx.subdistricts.iter().flat_map(|s| s.geometry.0.iter())),
                        });
                        overlay::coverage(&parcel.geometry, &bbox, f.interior, outer)
                    }
                };
                Some((i, own, cov))
            })
            .collect();
        for (i, own, cov) in results {
            let Coverage::Outside { area, location } = cov else { continue };
            if area <= min {
                continue;
            }
            let code = parcel_code(ctx, i);
            let (zh_sd, en_sd) = match own {
                Some(k) => (
                    format!("所属地籍子区 {}", ctx.subdistricts[k].code),
                    format!("its sub-district {}", ctx.subdistricts[k].code),
                ),
                None => ("任何地籍子区".to_string(), "every sub-district".to_string()),
            };
            emit(ctx.finding(
                PARCEL_OUTSIDE_SUBDISTRICT,
                vec![code.clone()],
                location,
                format!("宗地 {code} 有 {area:.2} 平方米超出{zh_sd}"),
                format!("parcel {code} extends {area:.2} m² outside {en_sd}"),
            ));
        }
    }
}
