//! Pairwise relations between polygons (touch / overlap with area) and coverage of one
//! polygon by another. Exact predicates decide the common case (neighbours sharing
//! edges exactly, footprints well inside parcels) without any overlay; the boolean
//! overlay runs only for pairs where the predicates see an interior contact.

use geo::orient::Direction;
use geo::{Area, BooleanOps, Orient};
use geo_types::{Coord, MultiPolygon, Rect};

use super::geom::{self, SegmentRelation};
use crate::ring::Position;

/// How two polygons relate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Relation {
    /// No common point.
    Disjoint,
    /// Common boundary points only (or an overlap of zero area).
    Touch,
    /// Interiors overlap.
    Overlap {
        /// Overlap area.
        area: f64,
        /// A point inside the overlap.
        location: Coord,
    },
}

/// Shift both geometries to a local origin before the overlay, for precision at
/// Gauss-Krüger magnitudes.
fn shifted(mp: &MultiPolygon, o: Coord) -> MultiPolygon {
    use geo::MapCoords;
    mp.map_coords(|c| Coord { x: c.x - o.x, y: c.y - o.y }).orient(Direction::Default)
}

/// Area and an interior point of `a ∩ b` (exact predicates first, overlay only if needed).
pub(crate) fn relate(
    a: &MultiPolygon,
    a_box: &Rect,
    a_in: Option<Coord>,
    b: &MultiPolygon,
    b_box: &Rect,
    b_in: Option<Coord>,
) -> Relation {
    if !geom::rects_intersect(a_box, b_box) {
        return Relation::Disjoint;
    }
    let mut touch = false;
    let mut suspicious = false;
    // Two edges can only meet inside both boxes: b's edges outside a's box are dropped once,
    // not compared with every edge of a.
    let clip = Rect::new(
        Coord { x: a_box.min().x.max(b_box.min().x), y: a_box.min().y.max(b_box.min().y) },
        Coord { x: a_box.max().x.min(b_box.max().x), y: a_box.max().y.min(b_box.max().y) },
    );
    let meets_clip = |p: Coord, q: Coord| {
        p.x.max(q.x) >= clip.min().x
            && p.x.min(q.x) <= clip.max().x
            && p.y.max(q.y) >= clip.min().y
            && p.y.min(q.y) <= clip.max().y
    };
    let b_edges: Vec<(Coord, Coord)> = geom::segments(b).filter(|&(p, q)| meets_clip(p, q)).collect();
    'outer: for (a0, a1) in geom::segments(a) {
        if !meets_clip(a0, a1) {
            continue;
        }
        for &(b0, b1) in &b_edges {
            match geom::segment_relation(a0, a1, b0, b1) {
                SegmentRelation::Disjoint => {}
                SegmentRelation::Proper(_) => {
                    suspicious = true;
                    break 'outer;
                }
                SegmentRelation::Touch(p) => {
                    touch = true;
                    // A vertex in the middle of the other's edge (T-junction) can hide an
                    // interior contact; let the later tests decide.
                    let _ = p;
                }
                SegmentRelation::Overlap(_) => touch = true,
            }
        }
    }
    if !suspicious {
        suspicious = any_inside(a, b, b_box, &mut touch) || any_inside(b, a, a_box, &mut touch);
    }
    if !suspicious {
        suspicious = midpoints_inside(a, b, b_box) || midpoints_inside(b, a, a_box);
    }
    if !suspicious {
        suspicious = a_in.is_some_and(|p| geom::position(b, p) == Position::Inside)
            || b_in.is_some_and(|p| geom::position(a, p) == Position::Inside);
    }
    if !suspicious {
        return if touch { Relation::Touch } else { Relation::Disjoint };
    }
    let origin = a_box.min();
    let inter = shifted(a, origin).intersection(&shifted(b, origin));
    let area = inter.unsigned_area();
    if area > 0.0 {
        let location =
            geom::interior_point(&inter).map(|c| Coord { x: c.x + origin.x, y: c.y + origin.y }).unwrap_or(origin);
        Relation::Overlap { area, location }
    } else {
        Relation::Touch
    }
}

fn any_inside(a: &MultiPolygon, b: &MultiPolygon, b_box: &Rect, touch: &mut bool) -> bool {
    for v in geom::vertices(a) {
        if v.x < b_box.min().x || v.x > b_box.max().x || v.y < b_box.min().y || v.y > b_box.max().y {
            continue;
        }
        match geom::position(b, v) {
            Position::Inside => return true,
            Position::Boundary => *touch = true,
            Position::Outside => {}
        }
    }
    false
}

fn midpoints_inside(a: &MultiPolygon, b: &MultiPolygon, b_box: &Rect) -> bool {
    geom::segments(a).any(|(p, q)| {
        let m = Coord { x: (p.x + q.x) / 2.0, y: (p.y + q.y) / 2.0 };
        m.x >= b_box.min().x
            && m.x <= b_box.max().x
            && m.y >= b_box.min().y
            && m.y <= b_box.max().y
            && geom::position(b, m) == Position::Inside
            // An edge lying along one of b's edges (a shared boundary) has its exact midpoint
            // on b's boundary; the rounded midpoint can land a hair inside, which would send
            // every pair of neighbours to the overlay for nothing.
            && !geom::segments(b).any(|(s, t)| geom::on_segment(p, s, t) && geom::on_segment(q, s, t))
    })
}

/// How much of `inner` lies outside `outer`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Coverage {
    /// `inner` is covered by `outer`.
    Inside,
    /// Some area lies outside: the area and a point in it.
    Outside {
        /// Area outside.
        area: f64,
        /// A point in the part outside.
        location: Coord,
    },
}

/// Edges of `outer` near `inner` plus a point-position oracle for `outer`, so large
/// outer polygons (sub-districts) can be served from an index.
pub(crate) trait OuterShape {
    /// Edges whose bounding box meets `rect`.
    fn edges_near(&self, rect: &Rect) -> Vec<(Coord, Coord)>;
    /// Position of a point.
    fn position(&self, c: Coord) -> Position;
    /// The full geometry, for the rare exact overlay.
    fn geometry(&self) -> &MultiPolygon;
}

impl OuterShape for MultiPolygon {
    fn edges_near(&self, rect: &Rect) -> Vec<(Coord, Coord)> {
        geom::segments(self)
            .filter(|(a, b)| {
                a.x.max(b.x) >= rect.min().x
                    && a.x.min(b.x) <= rect.max().x
                    && a.y.max(b.y) >= rect.min().y
                    && a.y.min(b.y) <= rect.max().y
            })
            .collect()
    }
    fn position(&self, c: Coord) -> Position {
        geom::position(self, c)
    }
    fn geometry(&self) -> &MultiPolygon {
        self
    }
}

/// Decide whether `inner` is covered by `outer`, computing the outside area exactly
/// only when the predicates find a crossing.
pub(crate) fn coverage(
    inner: &MultiPolygon,
    inner_box: &Rect,
    inner_in: Option<Coord>,
    outer: &dyn OuterShape,
) -> Coverage {
    let near = outer.edges_near(inner_box);
    let mut partial = false;
    if near.is_empty() {
        // No boundary of `outer` near `inner`: all in or all out.
        let probe = inner_in.or_else(|| geom::vertices(inner).next());
        return match probe.map(|p| outer.position(p)) {
            Some(Position::Outside) => {
                Coverage::Outside { area: geom::area(inner), location: probe.unwrap_or(inner_box.min()) }
            }
            _ => Coverage::Inside,
        };
    }
    'outer: for (a0, a1) in geom::segments(inner) {
        for &(b0, b1) in &near {
            if let SegmentRelation::Proper(_) = geom::segment_relation(a0, a1, b0, b1) {
                partial = true;
                break 'outer;
            }
        }
    }
    if !partial {
        partial = geom::vertices(inner).any(|v| outer.position(v) == Position::Outside)
            || geom::segments(inner).any(|(p, q)| {
                outer.position(Coord { x: (p.x + q.x) / 2.0, y: (p.y + q.y) / 2.0 }) == Position::Outside
            })
            || near.iter().any(|&(b0, _)| geom::position(inner, b0) == Position::Inside)
            || inner_in.is_some_and(|p| outer.position(p) == Position::Outside);
    }
    if !partial {
        return Coverage::Inside;
    }
    let origin = inner_box.min();
    let outside = shifted(inner, origin).difference(&shifted(outer.geometry(), origin));
    let area = outside.unsigned_area();
    if area > 0.0 {
        let location =
            geom::interior_point(&outside).map(|c| Coord { x: c.x + origin.x, y: c.y + origin.y }).unwrap_or(origin);
        Coverage::Outside { area, location }
    } else {
        Coverage::Inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::BoundingRect;
    use geo_types::{polygon, MultiPolygon, Polygon};

    fn mp(p: Polygon) -> (MultiPolygon, Rect) {
        let m = MultiPolygon(vec![p]);
        let r = m.bounding_rect().unwrap_or(Rect::new((0., 0.), (0., 0.)));
        (m, r)
    }

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> (MultiPolygon, Rect) {
        mp(polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)])
    }

    fn rel(a: &(MultiPolygon, Rect), b: &(MultiPolygon, Rect)) -> Relation {
        relate(&a.0, &a.1, geom::interior_point(&a.0), &b.0, &b.1, geom::interior_point(&b.0))
    }

    #[test]
    fn shared_edge_is_touch_and_gap_is_disjoint() {
        let o = 512_000.0;
        let a = rect(o, 0., o + 10., 10.);
        assert_eq!(rel(&a, &rect(o + 10., 0., o + 20., 10.)), Relation::Touch);
        assert_eq!(rel(&a, &rect(o + 10.5, 0., o + 20., 10.)), Relation::Disjoint);
    }

    #[test]
    fn overlap_area_is_measured() {
        let o = 3_350_000.0;
        let a = rect(0., o, 10., o + 10.);
        match rel(&a, &rect(9.5, o, 20., o + 10.)) {
            Relation::Overlap { area, .. } => assert!((area - 5.0).abs() < 1e-6, "{area}"),
            other => panic!("expected overlap, got {other:?}"),
        }
    }

    #[test]
    fn identical_and_contained_polygons_overlap() {
        let a = rect(0., 0., 10., 10.);
        assert!(matches!(rel(&a, &a.clone()), Relation::Overlap { .. }));
        // Contained and touching the boundary: no vertex strictly inside, no crossing.
        let inner = rect(0., 0., 5., 10.);
        match rel(&a, &inner) {
            Relation::Overlap { area, .. } => assert!((area - 50.0).abs() < 1e-6),
            other => panic!("expected overlap, got {other:?}"),
        }
    }

    /// A parcel of two parts touching at one corner (OGC-valid): the corner is on its
    /// boundary; a footprint with a corner there is covered, and the neighbour filling
    /// an empty quadrant touches it, overlapping neither part.
    #[test]
    fn the_touch_point_of_two_parts_is_boundary() {
        let (x, y) = (512_000.0, 3_350_000.0);
        let parts = MultiPolygon(vec![
            rect(x, y, x + 10., y + 10.).0 .0[0].clone(),
            rect(x + 10., y + 10., x + 20., y + 20.).0 .0[0].clone(),
        ]);
        let parcel = (parts.clone(), parts.bounding_rect().unwrap_or(Rect::new((0., 0.), (0., 0.))));
        assert_eq!(geom::position(&parts, Coord { x: x + 10., y: y + 10. }), Position::Boundary);
        let footprint = rect(x + 5., y + 5., x + 10., y + 10.);
        assert_eq!(coverage(&footprint.0, &footprint.1, geom::interior_point(&footprint.0), &parts), Coverage::Inside);
        assert_eq!(rel(&parcel, &rect(x + 10., y, x + 20., y + 10.)), Relation::Touch);
        assert_eq!(rel(&rect(x + 10., y, x + 20., y + 10.), &parcel), Relation::Touch);
        // Only the touch point in common.
        let corner = mp(polygon![(x: x + 10., y: y + 10.), (x: x + 14., y: y + 6.), (x: x + 18., y: y + 9.)]);
        assert_eq!(rel(&parcel, &corner), Relation::Touch);
    }

    #[test]
    fn coverage_detects_outside_part() {
        let outer = rect(0., 0., 10., 10.).0;
        let b = rect(2., 2., 4., 4.);
        assert_eq!(coverage(&b.0, &b.1, None, &outer), Coverage::Inside);
        let edge = rect(0., 0., 4., 4.);
        assert_eq!(coverage(&edge.0, &edge.1, None, &outer), Coverage::Inside);
        let crossing = rect(8., 2., 12., 4.);
        match coverage(&crossing.0, &crossing.1, None, &outer) {
            Coverage::Outside { area, .. } => assert!((area - 4.0).abs() < 1e-6),
            other => panic!("{other:?}"),
        }
        let away = rect(20., 20., 21., 21.);
        assert!(matches!(coverage(&away.0, &away.1, None, &outer), Coverage::Outside { .. }));
    }
}
