//! `vertex.near_miss`: a parcel vertex within `snap_tolerance` of a neighbour's vertex or
//! edge without being exactly one of the neighbour's vertices (a boundary point the
//! neighbours should share but do not). Events at one spot are merged into one finding
//! naming every parcel involved.

use geo_types::Coord;
use rayon::prelude::*;
use rstar::{RTree, AABB};

use crate::qc::context::Context;
use crate::qc::finding::{Finding, VERTEX_NEAR_MISS};
use crate::qc::geom;
use crate::qc::registry::{non_negative, Declare, Scope, Settings};
use crate::qc::rule::{parcel_code, Rule};
use serde::{Deserialize, Serialize};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct NearMiss;

impl Declare for NearMiss {
    type Settings = SnapParams;
    const SCOPE: Scope = Scope::CountyWide;
}

/// Snap tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SnapParams {
    /// Metres.
    pub snap_tolerance: f64,
}

impl Settings for SnapParams {
    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        non_negative("snap_tolerance", self.snap_tolerance)
    }
}

#[derive(Debug, Clone, Copy)]
struct Event {
    at: Coord,
    a: usize,
    b: usize,
    distance: f64,
}

fn events_of(ctx: &Context<'_>, i: usize, tol: f64) -> Vec<Event> {
    let fi = &ctx.parcels[i];
    let Some(bi) = fi.bbox.filter(|_| fi.report.invalid.is_empty()) else { return Vec::new() };
    let gi = &ctx.submission.parcels[i].geometry;
    let env = AABB::from_corners([bi.min().x - tol, bi.min().y - tol], [bi.max().x + tol, bi.max().y + tol]);
    let mut out = Vec::new();
    for e in ctx.parcel_tree.locate_in_envelope_intersecting(&env) {
        let j = e.data;
        if j == i {
            continue;
        }
        let fj = &ctx.parcels[j];
        let Some(bj) = fj.bbox.filter(|_| fj.report.invalid.is_empty()) else { continue };
        let gj = &ctx.submission.parcels[j].geometry;
        for v in geom::vertices(gi) {
            if v.x < bj.min().x - tol || v.x > bj.max().x + tol || v.y < bj.min().y - tol || v.y > bj.max().y + tol {
                continue;
            }
            if geom::vertices(gj).any(|w| w == v) {
                continue;
            }
            let d =
                geom::segments(gj).map(|(a, b)| geom::point_segment_distance(v, a, b)).fold(f64::INFINITY, f64::min);
            if d <= tol {
                out.push(Event { at: v, a: i, b: j, distance: d });
            }
        }
    }
    out
}

/// A gap in metres to 1 mm, below 1 cm in millimetres with two significant digits, so a
/// sub-millimetre gap does not read "0.000 m"; 0 is a vertex lying on the neighbour's edge.
fn distance_text(d: f64, metres: &str, millimetres: &str, on_edge: &str) -> String {
    if d >= 0.01 {
        return format!("{d:.3} {metres}");
    }
    if d <= 0.0 {
        return format!("0 {millimetres}{on_edge}");
    }
    let mm = d * 1e3;
    // Digits after the point for two significant ones: 4.0, 0.40, 0.0040 ...
    let digits = (1.0 - mm.log10().floor()).clamp(1.0, 9.0) as usize;
    format!("{mm:.digits$} {millimetres}")
}

fn distance_zh(d: f64) -> String {
    distance_text(d, "米", "毫米", "（顶点在邻宗地边上）")
}

fn distance_en(d: f64) -> String {
    distance_text(d, "m", "mm", " (a vertex on the neighbour's edge)")
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

impl Rule for NearMiss {
    fn id(&self) -> &'static str {
        VERTEX_NEAR_MISS
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        let tol = ctx.config.rules.vertex_near_miss.params.snap_tolerance;
        let mut events: Vec<Event> =
            (0..ctx.parcels.len()).into_par_iter().flat_map_iter(|i| events_of(ctx, i, tol)).collect();
        if events.is_empty() {
            return;
        }
        // Canonical order first, so the clusters and their locations do not depend on input order.
        // Borrowed codes: only the few parcels with an empty ZDDM need a "ZD#n" string.
        let codes: Vec<std::borrow::Cow<'_, str>> = ctx
            .submission
            .parcels
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if p.zddm.trim().is_empty() {
                    std::borrow::Cow::Owned(parcel_code(ctx, i))
                } else {
                    std::borrow::Cow::Borrowed(p.zddm.as_str())
                }
            })
            .collect();
        events.sort_by(|p, q| {
            p.at.x
                .total_cmp(&q.at.x)
                .then(p.at.y.total_cmp(&q.at.y))
                .then_with(|| codes[p.a].cmp(&codes[q.a]))
                .then_with(|| codes[p.b].cmp(&codes[q.b]))
        });
        let tree = RTree::bulk_load(
            events.iter().enumerate().map(|(k, e)| rstar::primitives::GeomWithData::new([e.at.x, e.at.y], k)).collect(),
        );
        let mut parent: Vec<usize> = (0..events.len()).collect();
        for (k, e) in events.iter().enumerate() {
            for other in tree.locate_within_distance([e.at.x, e.at.y], tol * tol) {
                let (ra, rb) = (find(&mut parent, k), find(&mut parent, other.data));
                if ra != rb {
                    parent[ra.max(rb)] = ra.min(rb);
                }
            }
        }
        let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
        for k in 0..events.len() {
            let r = find(&mut parent, k);
            groups.entry(r).or_default().push(k);
        }
        for (root, ks) in groups {
            let mut objs: Vec<String> =
                ks.iter().flat_map(|&k| [codes[events[k].a].to_string(), codes[events[k].b].to_string()]).collect();
            objs.sort();
            objs.dedup();
            let at = events[root].at;
            let d = ks.iter().map(|&k| events[k].distance).fold(f64::INFINITY, f64::min);
            let list = objs.join(", ");
            emit(ctx.finding(
                VERTEX_NEAR_MISS,
                objs,
                at,
                format!("界址点未重合：相邻宗地 {list} 的顶点相距 {}（容差 {tol} 米）", distance_zh(d)),
                format!(
                    "near-miss vertex: parcels {list} have vertices {} apart instead of sharing one (tolerance {tol} m)",
                    distance_en(d)
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{distance_en, distance_zh};

    #[test]
    fn gaps_below_a_centimetre_read_in_millimetres() {
        assert_eq!(distance_zh(0.0004), "0.40 毫米");
        assert_eq!(distance_en(0.0004), "0.40 mm");
        assert_eq!(distance_zh(0.004), "4.0 毫米");
        assert_eq!(distance_zh(0.000_000_7), "0.00070 毫米");
        assert_eq!(distance_zh(0.0), "0 毫米（顶点在邻宗地边上）");
        assert_eq!(distance_zh(0.01), "0.010 米");
        assert_eq!(distance_en(0.0234), "0.023 m");
    }
}
