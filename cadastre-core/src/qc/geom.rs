//! Small exact geometric predicates shared by the rules. Orientation goes through
//! geo's robust kernel (Shewchuk), so touching and crossing are decided exactly,
//! which is what tells a clean shared edge from a 1 cm overlap.

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{BoundingRect, InteriorPoint};

use crate::area::PlanarArea;
use crate::ring::{multipolygon_position, Position};
use geo_types::{Coord, LineString, MultiPolygon, Rect};

/// Orientation of `r` relative to the directed line `p → q`, decided exactly.
pub(crate) fn orient(p: Coord, q: Coord, r: Coord) -> Orientation {
    RobustKernel::orient2d(p, q, r)
}

/// How two segments meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SegmentRelation {
    /// No common point.
    Disjoint,
    /// They cross at a single point interior to both.
    Proper(Coord),
    /// They share exactly one point that is an endpoint of at least one of them.
    Touch(Coord),
    /// Collinear and sharing a stretch of positive length.
    Overlap(Coord),
}

fn between(v: f64, a: f64, b: f64) -> bool {
    (a <= v && v <= b) || (b <= v && v <= a)
}

/// `p` lies on the closed segment `a–b` (exactly).
pub(crate) fn on_segment(p: Coord, a: Coord, b: Coord) -> bool {
    orient(a, b, p) == Orientation::Collinear && between(p.x, a.x, b.x) && between(p.y, a.y, b.y)
}

/// Exact relation between segments `a0–a1` and `b0–b1` (non-degenerate segments expected;
/// a zero-length segment is treated as a point).
pub(crate) fn segment_relation(a0: Coord, a1: Coord, b0: Coord, b1: Coord) -> SegmentRelation {
    if a0.x.max(a1.x) < b0.x.min(b1.x)
        || b0.x.max(b1.x) < a0.x.min(a1.x)
        || a0.y.max(a1.y) < b0.y.min(b1.y)
        || b0.y.max(b1.y) < a0.y.min(a1.y)
    {
        return SegmentRelation::Disjoint;
    }
    let o1 = orient(a0, a1, b0);
    let o2 = orient(a0, a1, b1);
    let o3 = orient(b0, b1, a0);
    let o4 = orient(b0, b1, a1);
    let opposite = |x: Orientation, y: Orientation| {
        matches!(
            (x, y),
            (Orientation::Clockwise, Orientation::CounterClockwise)
                | (Orientation::CounterClockwise, Orientation::Clockwise)
        )
    };
    if opposite(o1, o2) && opposite(o3, o4) {
        return SegmentRelation::Proper(crossing_point(a0, a1, b0, b1));
    }
    if o1 == Orientation::Collinear && o2 == Orientation::Collinear && a0 != a1 && b0 != b1 {
        // Collinear: project on the dominant axis and compare the intervals.
        let use_x = (a1.x - a0.x).abs() >= (a1.y - a0.y).abs();
        let key = |c: Coord| if use_x { c.x } else { c.y };
        let (amin, amax) = minmax(key(a0), key(a1));
        let (bmin, bmax) = minmax(key(b0), key(b1));
        let lo = amin.max(bmin);
        let hi = amax.min(bmax);
        if lo < hi {
            let pick = [a0, a1, b0, b1].into_iter().find(|c| key(*c) == lo).unwrap_or(a0);
            return SegmentRelation::Overlap(pick);
        }
        if lo == hi {
            let pick = [a0, a1, b0, b1].into_iter().find(|c| key(*c) == lo).unwrap_or(a0);
            return SegmentRelation::Touch(pick);
        }
        return SegmentRelation::Disjoint;
    }
    for (p, s0, s1) in [(b0, a0, a1), (b1, a0, a1), (a0, b0, b1), (a1, b0, b1)] {
        if on_segment(p, s0, s1) {
            return SegmentRelation::Touch(p);
        }
    }
    SegmentRelation::Disjoint
}

fn minmax(a: f64, b: f64) -> (f64, f64) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Intersection point of two properly crossing segments (for locations only).
fn crossing_point(a0: Coord, a1: Coord, b0: Coord, b1: Coord) -> Coord {
    let d = (a1.x - a0.x) * (b1.y - b0.y) - (a1.y - a0.y) * (b1.x - b0.x);
    if d == 0.0 {
        return a0;
    }
    let t = ((b0.x - a0.x) * (b1.y - b0.y) - (b0.y - a0.y) * (b1.x - b0.x)) / d;
    Coord { x: a0.x + t * (a1.x - a0.x), y: a0.y + t * (a1.y - a0.y) }
}

/// Euclidean distance from `p` to the closed segment `a–b`.
pub(crate) fn point_segment_distance(p: Coord, a: Coord, b: Coord) -> f64 {
    let dx = b.x - a.x;
    let dy = b.y - a.y;
    let len2 = dx * dx + dy * dy;
    if len2 == 0.0 {
        return ((p.x - a.x).powi(2) + (p.y - a.y).powi(2)).sqrt();
    }
    let t = (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0);
    let cx = a.x + t * dx;
    let cy = a.y + t * dy;
    ((p.x - cx).powi(2) + (p.y - cy).powi(2)).sqrt()
}

/// Every ring (exteriors and holes) of a multipolygon.
pub(crate) fn rings(mp: &MultiPolygon) -> impl Iterator<Item = &LineString> {
    mp.0.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors().iter()))
}

/// Every non-degenerate edge of a multipolygon.
pub(crate) fn segments(mp: &MultiPolygon) -> impl Iterator<Item = (Coord, Coord)> + '_ {
    rings(mp).flat_map(|r| r.0.windows(2).filter(|w| w[0] != w[1]).map(|w| (w[0], w[1])))
}

/// Distinct ring vertices (the closing coordinate is not repeated).
pub(crate) fn vertices(mp: &MultiPolygon) -> impl Iterator<Item = Coord> + '_ {
    rings(mp).flat_map(|r| {
        let n = r.0.len();
        let take = if n > 1 && r.0[0] == r.0[n - 1] { n - 1 } else { n };
        r.0.iter().take(take).copied()
    })
}

/// Position of `c` relative to a multipolygon (exact), through the crate's one
/// containment ([`crate::ring`]). Where two parts touch at a point, that point is on the
/// boundary (OGC), not outside as geo's mod-2 rule has it. The rules ask "strictly
/// inside?" (overlap probes, the host parcel of a building, interior points), "touching?"
/// (neighbours) or "outside?" (coverage, confirmed by the exact overlay): a vertex of a
/// neighbour at the touch point touches, and a footprint corner there is not outside.
pub(crate) fn position(mp: &MultiPolygon, c: Coord) -> Position {
    multipolygon_position(c, mp)
}

/// Bounding box, `None` for an empty geometry.
pub(crate) fn bbox(mp: &MultiPolygon) -> Option<Rect> {
    mp.bounding_rect()
}

/// Planar area in the data's units: the crate's one area ([`PlanarArea`], local origin and
/// Kahan summation), so a check's area is the one written to ZDMJ and shown in reports.
pub(crate) fn area(mp: &MultiPolygon) -> f64 {
    mp.planar_area()
}

/// Total boundary length.
pub(crate) fn perimeter(mp: &MultiPolygon) -> f64 {
    segments(mp).map(|(a, b)| ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt()).sum()
}

/// A point inside the geometry (falls back to the first vertex for degenerate input).
pub(crate) fn interior_point(mp: &MultiPolygon) -> Option<Coord> {
    // The centroid of a convex-ish parcel is inside it and much cheaper than geo's
    // interior point; fall back to that when the centroid is not strictly inside.
    use geo::Centroid;
    if let Some(c) = mp.centroid() {
        if position(mp, c.0) == Position::Inside {
            return Some(c.0);
        }
    }
    mp.interior_point().map(|p| p.0).or_else(|| vertices(mp).next())
}

/// Whether two rectangles intersect (closed).
pub(crate) fn rects_intersect(a: &Rect, b: &Rect) -> bool {
    a.min().x <= b.max().x && b.min().x <= a.max().x && a.min().y <= b.max().y && b.min().y <= a.max().y
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::coord;

    #[test]
    fn crossing_segments_are_proper() {
        let r = segment_relation(
            coord! {x: 0., y: 0.},
            coord! {x: 2., y: 2.},
            coord! {x: 0., y: 2.},
            coord! {x: 2., y: 0.},
        );
        assert_eq!(r, SegmentRelation::Proper(coord! {x: 1., y: 1.}));
    }

    #[test]
    fn shared_endpoint_is_a_touch() {
        let r = segment_relation(
            coord! {x: 0., y: 0.},
            coord! {x: 2., y: 0.},
            coord! {x: 2., y: 0.},
            coord! {x: 2., y: 5.},
        );
        assert_eq!(r, SegmentRelation::Touch(coord! {x: 2., y: 0.}));
    }

    #[test]
    fn collinear_stretch_is_an_overlap() {
        let r = segment_relation(
            coord! {x: 0., y: 0.},
            coord! {x: 2., y: 0.},
            coord! {x: 1., y: 0.},
            coord! {x: 3., y: 0.},
        );
        assert!(matches!(r, SegmentRelation::Overlap(_)));
    }

    #[test]
    fn distance_to_segment_clamps_to_endpoints() {
        let d = point_segment_distance(coord! {x: 3., y: 4.}, coord! {x: 0., y: 0.}, coord! {x: 0., y: 0.});
        assert!((d - 5.0).abs() < 1e-12);
        let d = point_segment_distance(coord! {x: 1., y: 1.}, coord! {x: 0., y: 0.}, coord! {x: 2., y: 0.});
        assert!((d - 1.0).abs() < 1e-12);
    }

    #[test]
    fn exact_predicates_hold_at_projected_coordinates() {
        // A vertex 1 µm off a shared edge at Gauss-Krüger magnitudes is still seen as off.
        let a = coord! {x: 512_000.0, y: 3_350_000.0};
        let b = coord! {x: 512_100.0, y: 3_350_100.0};
        let p = coord! {x: 512_050.0, y: 3_350_050.000_001};
        assert!(!on_segment(p, a, b));
        assert!(on_segment(coord! {x: 512_050.0, y: 3_350_050.0}, a, b));
    }
}
