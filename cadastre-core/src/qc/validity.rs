//! Per-feature geometry analysis, done once and shared by the geometry rules and
//! by the overlay rules (which skip features that are not valid polygons).

use geo_types::{Coord, MultiPolygon, Polygon};

use super::geom::{self, SegmentRelation};
use crate::ring::{self, Position};

/// Tolerances for the analysis.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValidityParams {
    /// Consecutive vertices closer than this are duplicates (m).
    pub duplicate_tolerance: f64,
    /// Vertices with an angle below this are spikes (radians).
    pub spike_angle: f64,
}

/// What is wrong with one geometry.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GeometryReport {
    /// Locations of consecutive duplicate vertices.
    pub duplicates: Vec<Coord>,
    /// Locations of spike tips.
    pub spikes: Vec<Coord>,
    /// Whether a spike folds back exactly onto itself (OGC-invalid).
    pub degenerate_spike: bool,
    /// Locations where rings cross or touch themselves or each other.
    pub self_intersections: Vec<Coord>,
    /// Other structural problems: (location, Chinese reason, English reason).
    pub invalid: Vec<(Coord, &'static str, &'static str)>,
}

impl GeometryReport {
    /// Valid as an OGC polygon, so overlay operations on it are meaningful.
    pub fn overlay_ok(&self) -> bool {
        self.self_intersections.is_empty() && self.invalid.is_empty() && !self.degenerate_spike
    }
}

struct Seg {
    a: Coord,
    b: Coord,
    ring: usize,
    idx: usize,
    ring_len: usize,
    minx: f64,
    maxx: f64,
    miny: f64,
    maxy: f64,
}

/// Analyse a (multi)polygon.
pub(crate) fn analyse(mp: &MultiPolygon, params: &ValidityParams) -> GeometryReport {
    let mut report = GeometryReport::default();
    if mp.0.is_empty() {
        report.invalid.push((Coord { x: 0.0, y: 0.0 }, "几何为空", "empty geometry"));
        return report;
    }
    for poly in &mp.0 {
        analyse_polygon(poly, params, &mut report);
    }
    if report.self_intersections.is_empty() && report.invalid.is_empty() && mp.0.len() > 1 {
        parts_overlap(mp, &mut report);
    }
    report
}

fn analyse_polygon(poly: &Polygon, params: &ValidityParams, report: &mut GeometryReport) {
    // At most one segment per vertex: sized once instead of grown push by push.
    let vertices = poly.exterior().0.len() + poly.interiors().iter().map(|r| r.0.len()).sum::<usize>();
    let mut segs = Vec::with_capacity(vertices);
    let mut cleaned_rings = Vec::with_capacity(1 + poly.interiors().len());
    for (ring_no, ring) in std::iter::once(poly.exterior()).chain(poly.interiors()).enumerate() {
        if let Some(bad) = ring.0.iter().find(|c| !c.x.is_finite() || !c.y.is_finite()) {
            let _ = bad;
            report.invalid.push((finite_or_zero(ring.0.first()), "坐标非有限数", "non-finite coordinate"));
            continue;
        }
        let cleaned = clean_ring(ring.0.as_slice(), params, report);
        if cleaned.len() < 3 {
            let at = ring.0.first().copied().unwrap_or(Coord { x: 0.0, y: 0.0 });
            report.invalid.push((at, "环的不同顶点少于3个", "ring has fewer than 3 distinct vertices"));
            continue;
        }
        let n = cleaned.len();
        for i in 0..n {
            let a = cleaned[i];
            let b = cleaned[(i + 1) % n];
            segs.push(Seg {
                a,
                b,
                ring: ring_no,
                idx: i,
                ring_len: n,
                minx: a.x.min(b.x),
                maxx: a.x.max(b.x),
                miny: a.y.min(b.y),
                maxy: a.y.max(b.y),
            });
        }
        cleaned_rings.push((ring_no, cleaned));
    }
    let before = report.self_intersections.len();
    sweep_self_intersections(&mut segs, report);
    if report.self_intersections.len() == before && report.invalid.is_empty() {
        holes_inside_shell(&cleaned_rings, report);
    }
}

fn finite_or_zero(c: Option<&Coord>) -> Coord {
    match c {
        Some(c) if c.x.is_finite() && c.y.is_finite() => *c,
        _ => Coord { x: 0.0, y: 0.0 },
    }
}

/// Drop the closing vertex, merge consecutive duplicates, remove exact fold-back spikes,
/// and record duplicates and spikes on the way.
fn clean_ring(coords: &[Coord], params: &ValidityParams, report: &mut GeometryReport) -> Vec<Coord> {
    // The ring without its closing coordinate (a slice: no copy per feature).
    let pts = match coords {
        [first, .., last] if first == last => &coords[..coords.len() - 1],
        _ => coords,
    };
    let close = |a: Coord, b: Coord| ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt() <= params.duplicate_tolerance;
    let mut cleaned: Vec<Coord> = Vec::with_capacity(pts.len());
    for &p in pts {
        match cleaned.last() {
            Some(&last) if close(last, p) => report.duplicates.push(p),
            _ => cleaned.push(p),
        }
    }
    while cleaned.len() > 1 {
        let (first, last) = (cleaned[0], cleaned[cleaned.len() - 1]);
        if close(first, last) {
            report.duplicates.push(last);
            cleaned.pop();
        } else {
            break;
        }
    }
    // Exact fold-backs (… A, B, A …): record the tip and cut it out so it is not also
    // reported as a self-intersection.
    let mut i = 0;
    while cleaned.len() >= 3 && i < cleaned.len() {
        let n = cleaned.len();
        let prev = cleaned[(i + n - 1) % n];
        let next = cleaned[(i + 1) % n];
        if prev == next {
            report.spikes.push(cleaned[i]);
            report.degenerate_spike = true;
            let j = (i + 1) % n;
            let (hi, lo) = if i > j { (i, j) } else { (j, i) };
            cleaned.remove(hi);
            cleaned.remove(lo);
            i = 0;
            continue;
        }
        i += 1;
    }
    let n = cleaned.len();
    let limit = SpikeLimit::new(params.spike_angle);
    if n >= 3 {
        for i in 0..n {
            let v = cleaned[i];
            let u = cleaned[(i + n - 1) % n];
            let w = cleaned[(i + 1) % n];
            let (ux, uy) = (u.x - v.x, u.y - v.y);
            let (wx, wy) = (w.x - v.x, w.y - v.y);
            let cross = ux * wy - uy * wx;
            let dot = ux * wx + uy * wy;
            if limit.is_spike(cross, dot) {
                report.spikes.push(v);
                if geom::orient(u, v, w) == geo::kernels::Orientation::Collinear && dot > 0.0 {
                    report.degenerate_spike = true;
                }
            }
        }
    }
    cleaned
}

/// The spike test of a corner: its angle `atan2(|cross|, dot)` under the limit. For a limit
/// well under a right angle most corners are plainly wider, which cheap tests show without the
/// atan2 (a measurable part of the analysis at a county's size): 90° or more (`dot < 0`, or
/// `dot == 0` with `cross != 0`), or `|cross| > 2 tan(limit) dot`; the decision is the same.
#[derive(Debug, Clone, Copy)]
struct SpikeLimit {
    angle: f64,
    /// 2 tan(angle), or infinity when the limit is too wide for the shortcut.
    tan_twice: f64,
}

impl SpikeLimit {
    fn new(angle: f64) -> Self {
        Self { angle, tan_twice: if angle < 1.0 { 2.0 * angle.tan() } else { f64::INFINITY } }
    }

    fn is_spike(&self, cross: f64, dot: f64) -> bool {
        let wide = dot < 0.0 || (dot == 0.0 && cross != 0.0) || (dot > 0.0 && cross.abs() > self.tan_twice * dot);
        if wide && self.tan_twice.is_finite() {
            return false;
        }
        cross.abs().atan2(dot) < self.angle
    }
}

fn adjacent(s: &Seg, t: &Seg) -> bool {
    s.ring == t.ring && {
        let d = s.idx.abs_diff(t.idx);
        d == 1 || d == s.ring_len - 1
    }
}

fn sweep_self_intersections(segs: &mut [Seg], report: &mut GeometryReport) {
    segs.sort_by(|a, b| a.minx.total_cmp(&b.minx));
    for i in 0..segs.len() {
        let s = &segs[i];
        for t in &segs[i + 1..] {
            if t.minx > s.maxx {
                break;
            }
            if t.maxy < s.miny || t.miny > s.maxy || adjacent(s, t) {
                continue;
            }
            match geom::segment_relation(s.a, s.b, t.a, t.b) {
                SegmentRelation::Disjoint => {}
                // Rings of one polygon may touch each other at a single point (OGC).
                SegmentRelation::Touch(_) if s.ring != t.ring => {}
                SegmentRelation::Proper(p) | SegmentRelation::Touch(p) | SegmentRelation::Overlap(p) => {
                    report.self_intersections.push(p);
                }
            }
        }
    }
}

fn holes_inside_shell(rings: &[(usize, Vec<Coord>)], report: &mut GeometryReport) {
    let Some((0, shell)) = rings.first() else { return };
    for (_, hole) in rings.iter().skip(1) {
        // The first hole vertex off the shell decides (a hole may touch its shell).
        let outside = hole.iter().map(|&c| ring::position(c, shell)).find(|p| *p != Position::Boundary);
        if outside == Some(Position::Outside) {
            let at = hole.first().copied().unwrap_or(Coord { x: 0.0, y: 0.0 });
            report.invalid.push((at, "内环不在外环内", "hole lies outside the exterior ring"));
        }
    }
}

fn parts_overlap(mp: &MultiPolygon, report: &mut GeometryReport) {
    for (i, a) in mp.0.iter().enumerate() {
        let Some(p) = geom::interior_point(&MultiPolygon(vec![a.clone()])) else { continue };
        for (j, b) in mp.0.iter().enumerate() {
            if i != j && ring::polygon_position(p, b) == Position::Inside {
                report.invalid.push((p, "多部件相互重叠", "parts of the multipolygon overlap"));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};

    const P: ValidityParams = ValidityParams { duplicate_tolerance: 0.001, spike_angle: 0.02 };

    fn mp(p: Polygon) -> MultiPolygon {
        MultiPolygon(vec![p])
    }

    proptest::proptest! {
        /// The shortcut never changes a spike decision (corner vectors up to a few km, limits
        /// from 0 to past a right angle).
        #[test]
        fn spike_shortcut_decides_like_atan2(
            ux in -5e3f64..5e3, uy in -5e3f64..5e3, wx in -5e3f64..5e3, wy in -5e3f64..5e3,
            limit in 0.0f64..2.0,
        ) {
            let cross = ux * wy - uy * wx;
            let dot = ux * wx + uy * wy;
            let plain = cross.abs().atan2(dot) < limit;
            proptest::prop_assert_eq!(SpikeLimit::new(limit).is_spike(cross, dot), plain);
        }

        /// Near-straight fold-backs and near-right angles, where the shortcut's bounds bite.
        #[test]
        fn spike_shortcut_decides_like_atan2_near_the_limit(
            len in 1e-3f64..1e3, turn in -0.1f64..0.1, right in proptest::bool::ANY, limit in 0.0f64..0.1,
        ) {
            let base: f64 = if right { std::f64::consts::FRAC_PI_2 } else { 0.0 };
            let a = base + turn;
            let (ux, uy, wx, wy) = (len, 0.0, len * a.cos(), len * a.sin());
            let cross = ux * wy - uy * wx;
            let dot = ux * wx + uy * wy;
            proptest::prop_assert_eq!(SpikeLimit::new(limit).is_spike(cross, dot), cross.abs().atan2(dot) < limit);
        }
    }

    #[test]
    fn square_is_clean() {
        let r = analyse(&mp(polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)]), &P);
        assert_eq!(r, GeometryReport::default());
        assert!(r.overlay_ok());
    }

    #[test]
    fn bow_tie_self_intersects() {
        let r = analyse(&mp(polygon![(x: 0., y: 0.), (x: 10., y: 10.), (x: 10., y: 0.), (x: 0., y: 10.)]), &P);
        assert_eq!(r.self_intersections.len(), 1);
        assert!((r.self_intersections[0].x - 5.0).abs() < 1e-9);
        assert!(!r.overlay_ok());
    }

    #[test]
    fn duplicate_vertex_is_found_and_harmless() {
        let r = analyse(
            &mp(polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)]),
            &P,
        );
        assert_eq!(r.duplicates.len(), 1);
        assert!(r.spikes.is_empty() && r.self_intersections.is_empty());
        assert!(r.overlay_ok());
    }

    #[test]
    fn fold_back_spike_is_a_spike_not_a_self_intersection() {
        let r = analyse(
            &mp(
                polygon![(x: 0., y: 0.), (x: 5., y: 0.), (x: 5., y: -8.), (x: 5., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)],
            ),
            &P,
        );
        assert_eq!(r.spikes, vec![Coord { x: 5., y: -8. }]);
        assert!(r.self_intersections.is_empty());
        assert!(r.degenerate_spike);
    }

    #[test]
    fn thin_spike_is_a_spike_and_still_valid() {
        let r = analyse(
            &mp(
                polygon![(x: 0., y: 0.), (x: 5., y: 0.), (x: 5.05, y: -8.), (x: 5.1, y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)],
            ),
            &P,
        );
        assert_eq!(r.spikes.len(), 1);
        assert!(r.overlay_ok());
    }

    #[test]
    fn hole_outside_shell_is_invalid() {
        let p = Polygon::new(
            vec![(0., 0.), (10., 0.), (10., 10.), (0., 10.), (0., 0.)].into(),
            vec![vec![(20., 20.), (21., 20.), (21., 21.), (20., 20.)].into()],
        );
        let r = analyse(&mp(p), &P);
        assert_eq!(r.invalid.len(), 1);
    }

    #[test]
    fn too_few_points_is_invalid_not_a_panic() {
        let p = Polygon::new(vec![(0., 0.), (1., 1.), (0., 0.)].into(), vec![]);
        let r = analyse(&mp(p), &P);
        assert_eq!(r.invalid.len(), 1);
        let r = analyse(&MultiPolygon(vec![]), &P);
        assert_eq!(r.invalid.len(), 1);
    }
}
