//! `parcel.gap`: an enclosed uncovered region between parcels. Per connected cluster of
//! parcels (parcels sharing boundary), the holes of the cluster's union that are not
//! holes of a single parcel are gaps when their area is in (`min_area`, `max_area`]
//! and they lie in a sub-district. Open streets between blocks are not enclosed, so
//! they never form holes.

use geo::orient::Direction;
use geo::{Area, MapCoords, Orient};
use geo_types::{Coord, LineString, MultiPolygon, Polygon, Rect};
use rayon::prelude::*;

use crate::qc::context::Context;
use crate::qc::finding::{Finding, PARCEL_GAP};
use crate::qc::geom;
use crate::qc::registry::{non_negative, Declare, Scope, Settings, Shared};
use crate::qc::rule::{parcel_code, Rule};
use serde::{Deserialize, Serialize};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParcelGap;

impl Declare for ParcelGap {
    type Settings = GapParams;
    const SCOPE: Scope = Scope::CountyWide;
    const SHARED: &'static [Shared] = &[Shared::ParcelPairs];
}

/// Gap areas.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GapParams {
    /// Smaller uncovered regions are numerical noise (m²).
    pub min_area: f64,
    /// Larger enclosed regions are intended, not gaps (m²).
    pub max_area: f64,
    /// `--repair` closes gaps up to this area (m²); 0 turns gap closing off.
    pub close_max_area: f64,
}

impl Settings for GapParams {
    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        non_negative("min_area", self.min_area)?;
        non_negative("max_area", self.max_area)?;
        non_negative("close_max_area", self.close_max_area)
    }
}

struct Gap {
    area: f64,
    location: Coord,
    members: Vec<usize>,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Connected clusters of parcels (by shared boundary), each sorted canonically.
pub(crate) fn clusters(ctx: &Context<'_>) -> Vec<Vec<usize>> {
    let n = ctx.parcels.len();
    let mut parent: Vec<usize> = (0..n).collect();
    for &(a, b) in &ctx.parcel_pairs().adjacent {
        let (ra, rb) = (find(&mut parent, a as usize), find(&mut parent, b as usize));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut groups: std::collections::HashMap<usize, Vec<usize>> = std::collections::HashMap::new();
    for i in 0..n {
        if ctx.parcels[i].overlay_ok() {
            let r = find(&mut parent, i);
            groups.entry(r).or_default().push(i);
        }
    }
    let mut out: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    for g in &mut out {
        g.sort_by(
            |&a, &b| if ctx.parcel_before(a, b) { std::cmp::Ordering::Less } else { std::cmp::Ordering::Greater },
        );
    }
    out
}

fn ring_box(r: &LineString) -> Option<Rect> {
    use geo::BoundingRect;
    r.bounding_rect()
}

fn cluster_gaps(ctx: &Context<'_>, members: &[usize], min: f64, max: f64) -> Vec<Gap> {
    let Some(origin) = members
        .iter()
        .filter_map(|&i| ctx.parcels[i].bbox)
        .map(|b| b.min())
        .reduce(|a, b| Coord { x: a.x.min(b.x), y: a.y.min(b.y) })
    else {
        return Vec::new();
    };
    let local: Vec<MultiPolygon> = members
        .iter()
        .map(|&i| {
            ctx.submission.parcels[i]
                .geometry
                .map_coords(|c| Coord { x: c.x - origin.x, y: c.y - origin.y })
                .orient(Direction::Default)
        })
        .collect();
    let union = geo::unary_union(local.iter().flat_map(|m| m.0.iter()));
    let own_holes: Vec<(f64, Rect)> = local
        .iter()
        .flat_map(|m| m.0.iter().flat_map(|p| p.interiors().iter()))
        .filter_map(|h| ring_box(h).map(|b| (Polygon::new(h.clone(), vec![]).unsigned_area(), b)))
        .collect();
    let mut gaps = Vec::new();
    for poly in &union.0 {
        for hole in poly.interiors() {
            let hole_poly = MultiPolygon(vec![Polygon::new(hole.clone(), vec![])]);
            let area = hole_poly.unsigned_area();
            if area <= min || area > max {
                continue;
            }
            let Some(hb) = ring_box(hole) else { continue };
            let is_parcel_hole = own_holes.iter().any(|(a, b)| {
                (a - area).abs() <= 1e-6 * area.max(1.0)
                    && (b.min().x - hb.min().x).abs() < 1e-4
                    && (b.min().y - hb.min().y).abs() < 1e-4
                    && (b.max().x - hb.max().x).abs() < 1e-4
                    && (b.max().y - hb.max().y).abs() < 1e-4
            });
            if is_parcel_hole {
                continue;
            }
            let Some(p) = geom::interior_point(&hole_poly) else { continue };
            let location = Coord { x: p.x + origin.x, y: p.y + origin.y };
            // Only gaps inside a sub-district count (when sub-districts are loaded).
            if !ctx.subdistricts.is_empty() && ctx.subdistrict_at(location).is_none() {
                continue;
            }
            let around: Vec<usize> = members
                .iter()
                .zip(&local)
                .filter(|(_, m)| {
                    hole.0.iter().any(|v| geom::segments(m).any(|(a, b)| geom::point_segment_distance(*v, a, b) < 1e-3))
                })
                .map(|(&i, _)| i)
                .collect();
            gaps.push(Gap { area, location, members: around });
        }
    }
    gaps
}

impl Rule for ParcelGap {
    fn id(&self) -> &'static str {
        PARCEL_GAP
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        let p = ctx.config.rules.parcel_gap.params;
        let gaps: Vec<Gap> =
            clusters(ctx).par_iter().flat_map_iter(|c| cluster_gaps(ctx, c, p.min_area, p.max_area)).collect();
        for g in gaps {
            let codes: Vec<String> = g.members.iter().map(|&i| parcel_code(ctx, i)).collect();
            let list = codes.join(", ");
            emit(ctx.finding(
                PARCEL_GAP,
                codes,
                g.location,
                format!("宗地之间存在缝隙，面积 {:.2} 平方米，相邻宗地：{list}", g.area),
                format!("gap of {:.2} m² enclosed by parcels {list}", g.area),
            ));
        }
    }
}
