//! The two ring measures the rest of the crate builds on: twice the signed area and the
//! position of a point (in a ring, and from it in a polygon and a multipolygon). Reading
//! (`io`), area ([`crate::area`]) and the checks (`qc`) all go through here, so a parcel
//! has one area and a hole one owner whichever path saw it.
//!
//! Rings are slices of coordinates, closed (last = first) or open: the closing edge is
//! implied either way.
//!
//! ```
//! use cadastre_core::ring::{position, signed_area2, Position};
//! use geo_types::coord;
//! // A 10 m square in a prefixed Gauss-Krüger zone, counter-clockwise.
//! let sq = [
//!     coord! { x: 40_512_000.0, y: 3_350_000.0 },
//!     coord! { x: 40_512_010.0, y: 3_350_000.0 },
//!     coord! { x: 40_512_010.0, y: 3_350_010.0 },
//!     coord! { x: 40_512_000.0, y: 3_350_010.0 },
//! ];
//! assert_eq!(signed_area2(&sq), 200.0);
//! assert_eq!(position(coord! { x: 40_512_005.0, y: 3_350_005.0 }, &sq), Position::Inside);
//! assert_eq!(position(coord! { x: 40_512_010.0, y: 3_350_004.0 }, &sq), Position::Boundary);
//! assert_eq!(position(coord! { x: 40_512_011.0, y: 3_350_005.0 }, &sq), Position::Outside);
//! ```

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo_types::{Coord, MultiPolygon, Polygon};

/// Twice the signed area of a ring: positive counter-clockwise, negative clockwise.
///
/// The shoelace sum is taken relative to the first vertex (a local origin), so the
/// products stay small at projected coordinates (eastings up to ~4.6·10⁷ with a zone
/// prefix), and summed with Kahan compensation, so a ring of many vertices keeps its
/// last digits. A self-intersecting ring gives the signed sum of its lobes.
pub fn signed_area2(ring: &[Coord<f64>]) -> f64 {
    let Some(&o) = ring.first() else { return 0.0 };
    let mut sum = 0.0;
    let mut comp = 0.0;
    for w in ring.windows(2) {
        let (a, b) = (w[0] - o, w[1] - o);
        let term = a.x * b.y - b.x * a.y - comp;
        let t = sum + term;
        comp = (t - sum) - term;
        sum = t;
    }
    // The closing edge (last → first) adds nothing: the first vertex is the origin.
    sum
}

/// Where a point lies relative to a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    /// Strictly inside.
    Inside,
    /// On an edge or a vertex.
    Boundary,
    /// Strictly outside.
    Outside,
}

/// The position of `p` relative to `ring`.
///
/// Boundary first: a point on an edge (or a vertex) is [`Position::Boundary`], decided
/// exactly with the robust orientation predicate, so a hole vertex touching its shell is
/// on it and never "just outside". Otherwise the even-odd rule (a ray towards +x crosses
/// the ring an odd number of times), which for a self-intersecting ring counts the
/// doubly wound lobes as outside, as ESRI and OGC readers do. The crossings are also
/// decided by orientation, not by computing the crossing point.
pub fn position(p: Coord<f64>, ring: &[Coord<f64>]) -> Position {
    let n = ring.len();
    let mut inside = false;
    for i in 0..n {
        match edge_step(p, ring[i], ring[if i + 1 == n { 0 } else { i + 1 }]) {
            EdgeStep::OnEdge => return Position::Boundary,
            EdgeStep::Crosses => inside = !inside,
            EdgeStep::Misses => {}
        }
    }
    if inside {
        Position::Inside
    } else {
        Position::Outside
    }
}

/// What one edge `a → b` of a ring says about `p`: `p` is on it, or the ray from `p`
/// towards +x crosses it, or neither.
///
/// [`position`] takes this step for every edge of a ring; an index over edges (the QC's
/// prepared sub-districts) takes it for the edges its ray meets, so both decide alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeStep {
    /// `p` is on the edge (a vertex included).
    OnEdge,
    /// The ray crosses the edge (half-open in y, so a ray through a vertex counts it once).
    Crosses,
    /// Neither.
    Misses,
}

/// The step of [`EdgeStep`] for `p` and the edge `a → b`, decided with the robust
/// orientation predicate.
pub fn edge_step(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> EdgeStep {
    let o = RobustKernel::orient2d(a, b, p);
    if o == Orientation::Collinear && between(p.x, a.x, b.x) && between(p.y, a.y, b.y) {
        return EdgeStep::OnEdge;
    }
    if (a.y > p.y) != (b.y > p.y) {
        let crosses_right = if b.y > a.y { o == Orientation::CounterClockwise } else { o == Orientation::Clockwise };
        if crosses_right {
            return EdgeStep::Crosses;
        }
    }
    EdgeStep::Misses
}

/// What the steps over each ring of a multipolygon found, combined as
/// [`multipolygon_position`] does: `rings[part][0]` is the part's exterior, the rest its
/// holes; each is [`Position::Boundary`] if `p` was on one of its edges, else
/// [`Position::Inside`] after an odd number of crossings.
pub fn combine_rings(rings: &[Vec<Position>]) -> Position {
    let mut best = Position::Outside;
    for part in rings {
        let part_position = match part.first() {
            Some(Position::Inside) => {
                let holes = &part[1..];
                if holes.contains(&Position::Boundary) {
                    Position::Boundary
                } else if holes.contains(&Position::Inside) {
                    Position::Outside
                } else {
                    Position::Inside
                }
            }
            Some(other) => *other,
            None => Position::Outside,
        };
        match part_position {
            Position::Inside => return Position::Inside,
            Position::Boundary => best = Position::Boundary,
            Position::Outside => {}
        }
    }
    best
}

/// Whether `p` is inside `ring` or on its boundary.
pub fn covers(ring: &[Coord<f64>], p: Coord<f64>) -> bool {
    position(p, ring) != Position::Outside
}

/// The position of `p` relative to a polygon: inside its exterior ring and in none of
/// its holes is [`Position::Inside`]; on the exterior or on a hole's ring is
/// [`Position::Boundary`]; in a hole or beyond the exterior is [`Position::Outside`].
pub fn polygon_position(p: Coord<f64>, polygon: &Polygon<f64>) -> Position {
    match position(p, &polygon.exterior().0) {
        Position::Inside => {}
        other => return other,
    }
    for hole in polygon.interiors() {
        match position(p, &hole.0) {
            Position::Outside => {}
            Position::Boundary => return Position::Boundary,
            Position::Inside => return Position::Outside,
        }
    }
    Position::Inside
}

/// The position of `p` relative to a multipolygon, with OGC's interior and boundary:
/// inside any part is [`Position::Inside`]; otherwise on the boundary of any part is
/// [`Position::Boundary`], which includes the single point where two parts touch;
/// otherwise [`Position::Outside`].
///
/// geo's `CoordinatePosition` counts boundaries with the mod-2 rule, so it calls a point
/// on two parts' boundaries (where they touch) outside; here it is on the boundary, as it
/// is on the boundary of the point set. A point on one part's edge inside another part
/// (overlapping parts, which an OGC-valid multipolygon does not have) is inside.
///
/// ```
/// use cadastre_core::ring::{multipolygon_position, Position};
/// use geo_types::{coord, polygon, MultiPolygon};
/// // Two squares touching at one corner, (10, 10).
/// let mp = MultiPolygon(vec![
///     polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
///     polygon![(x: 10.0, y: 10.0), (x: 20.0, y: 10.0), (x: 20.0, y: 20.0), (x: 10.0, y: 20.0)],
/// ]);
/// assert_eq!(multipolygon_position(coord! { x: 10.0, y: 10.0 }, &mp), Position::Boundary);
/// assert_eq!(multipolygon_position(coord! { x: 15.0, y: 15.0 }, &mp), Position::Inside);
/// assert_eq!(multipolygon_position(coord! { x: 15.0, y: 5.0 }, &mp), Position::Outside);
/// ```
pub fn multipolygon_position(p: Coord<f64>, mp: &MultiPolygon<f64>) -> Position {
    let mut best = Position::Outside;
    for part in &mp.0 {
        match polygon_position(p, part) {
            Position::Inside => return Position::Inside,
            Position::Boundary => best = Position::Boundary,
            Position::Outside => {}
        }
    }
    best
}

fn between(v: f64, a: f64, b: f64) -> bool {
    (a <= v && v <= b) || (b <= v && v <= a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::coordinate_position::CoordPos;
    use geo::Contains;
    use geo_types::{coord, LineString, Point};
    use proptest::prelude::*;

    /// Gauss-Krüger magnitudes: a prefixed easting and a northing in southern China.
    const GK: (f64, f64) = (39_500_000.0, 4_000_000.0);

    /// A star-shaped (hence simple) counter-clockwise ring from radii at even angles.
    fn star(radii: &[f64]) -> Vec<Coord<f64>> {
        let n = radii.len() as f64;
        radii
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let a = std::f64::consts::TAU * i as f64 / n;
                coord! { x: (r + 1.0) * a.cos(), y: (r + 1.0) * a.sin() }
            })
            .collect()
    }

    fn shifted(ring: &[Coord<f64>], dx: f64, dy: f64) -> Vec<Coord<f64>> {
        ring.iter().map(|c| coord! { x: c.x + dx, y: c.y + dy }).collect()
    }

    fn segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
        let d = b - a;
        let len2 = d.x * d.x + d.y * d.y;
        let t = if len2 == 0.0 { 0.0 } else { (((p - a).x * d.x + (p - a).y * d.y) / len2).clamp(0.0, 1.0) };
        let q = coord! { x: a.x + t * d.x, y: a.y + t * d.y };
        ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt()
    }

    #[test]
    fn open_and_closed_rings_measure_alike() {
        let open = [coord! { x: 0.0, y: 0.0 }, coord! { x: 0.0, y: 10.0 }, coord! { x: 10.0, y: 10.0 }];
        let mut closed = open.to_vec();
        closed.push(open[0]);
        assert_eq!(signed_area2(&open), -100.0);
        assert_eq!(signed_area2(&closed), -100.0);
        let p = coord! { x: 1.0, y: 5.0 };
        assert_eq!((position(p, &open), position(p, &closed)), (Position::Inside, Position::Inside));
        // The implied closing edge is a boundary too.
        assert_eq!(position(coord! { x: 5.0, y: 5.0 }, &open), Position::Boundary);
        assert_eq!(signed_area2(&[]), 0.0);
        assert_eq!(position(p, &[]), Position::Outside);
    }

    #[test]
    fn vertices_and_edges_are_boundary_a_micrometre_off_is_not() {
        let sq =
            shifted(&[coord! { x: 0.0, y: 0.0 }, coord! { x: 10.0, y: 0.0 }, coord! { x: 10.0, y: 10.0 }], GK.0, GK.1);
        for v in &sq {
            assert_eq!(position(*v, &sq), Position::Boundary);
        }
        let on_diagonal = coord! { x: GK.0 + 5.0, y: GK.1 + 5.0 };
        assert_eq!(position(on_diagonal, &sq), Position::Boundary);
        assert_eq!(position(coord! { x: GK.0 + 5.0, y: GK.1 + 5.000_01 }, &sq), Position::Outside);
        assert_eq!(position(coord! { x: GK.0 + 5.0, y: GK.1 + 4.999_99 }, &sq), Position::Inside);
        assert!(covers(&sq, on_diagonal));
    }

    #[test]
    fn a_bow_tie_is_even_odd() {
        // Its two lobes wind in opposite directions: the signed area cancels, both lobes are inside.
        let bow = [
            coord! { x: 0.0, y: 0.0 },
            coord! { x: 2.0, y: 2.0 },
            coord! { x: 2.0, y: 0.0 },
            coord! { x: 0.0, y: 2.0 },
        ];
        assert_eq!(signed_area2(&bow), 0.0);
        assert_eq!(position(coord! { x: 0.2, y: 1.0 }, &bow), Position::Inside);
        assert_eq!(position(coord! { x: 1.8, y: 1.0 }, &bow), Position::Inside);
        assert_eq!(position(coord! { x: 1.0, y: 1.5 }, &bow), Position::Outside);
    }

    /// A closed axis-aligned rectangle ring, counter-clockwise.
    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
        Polygon::new(LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]), vec![])
    }

    #[test]
    fn holes_are_outside_and_their_rings_are_boundary() {
        let mut p = rect(GK.0, GK.1, GK.0 + 10.0, GK.1 + 10.0);
        p.interiors_push(rect(GK.0 + 2.0, GK.1 + 2.0, GK.0 + 4.0, GK.1 + 4.0).exterior().clone());
        let at = |x: f64, y: f64| polygon_position(coord! { x: GK.0 + x, y: GK.1 + y }, &p);
        assert_eq!(at(3.0, 3.0), Position::Outside);
        assert_eq!(at(2.0, 3.0), Position::Boundary);
        assert_eq!(at(4.0, 4.0), Position::Boundary);
        assert_eq!(at(6.0, 6.0), Position::Inside);
        assert_eq!(at(10.0, 6.0), Position::Boundary);
        assert_eq!(at(11.0, 6.0), Position::Outside);
    }

    /// Two parts touching at one vertex: the vertex is on the multipolygon's boundary
    /// (geo's mod-2 rule says outside); every other point as geo says.
    #[test]
    fn where_two_parts_touch_is_boundary() {
        let mp = MultiPolygon(vec![
            rect(GK.0, GK.1, GK.0 + 10.0, GK.1 + 10.0),
            rect(GK.0 + 10.0, GK.1 + 10.0, GK.0 + 20.0, GK.1 + 20.0),
        ]);
        let touch = coord! { x: GK.0 + 10.0, y: GK.1 + 10.0 };
        assert_eq!(multipolygon_position(touch, &mp), Position::Boundary);
        assert_eq!(geo::CoordinatePosition::coordinate_position(&mp, &touch), CoordPos::Outside);
        // A part's other vertices and edges, the parts' insides, the empty quadrants.
        let at = |x: f64, y: f64| multipolygon_position(coord! { x: GK.0 + x, y: GK.1 + y }, &mp);
        assert_eq!(at(0.0, 0.0), Position::Boundary);
        assert_eq!(at(15.0, 10.0), Position::Boundary);
        assert_eq!(at(5.0, 5.0), Position::Inside);
        assert_eq!(at(15.0, 15.0), Position::Inside);
        assert_eq!(at(15.0, 5.0), Position::Outside);
        assert_eq!(at(5.0, 15.0), Position::Outside);
        assert_eq!(multipolygon_position(touch, &MultiPolygon(vec![])), Position::Outside);
    }

    /// A part that overlaps another (not OGC-valid): a point on one part's edge inside
    /// the other is inside the union.
    #[test]
    fn an_edge_inside_another_part_is_inside() {
        let mp = MultiPolygon(vec![rect(0.0, 0.0, 10.0, 10.0), rect(5.0, 0.0, 15.0, 10.0)]);
        assert_eq!(multipolygon_position(coord! { x: 10.0, y: 5.0 }, &mp), Position::Inside);
        assert_eq!(multipolygon_position(coord! { x: 10.0, y: 10.0 }, &mp), Position::Boundary);
    }

    proptest! {
        /// Two rectangles meeting at one corner, in any of the four diagonal directions,
        /// at Gauss-Krüger magnitudes, probed on a grid that hits their vertices, edges
        /// and the touch point exactly: the position is the one of the union's closed
        /// point set (inside either open rectangle, else on either's outline, else
        /// outside), and agrees with geo everywhere but at the touch point.
        #[test]
        fn touching_parts_have_the_point_set_position(
            w1 in 1u32..30, h1 in 1u32..30, w2 in 1u32..30, h2 in 1u32..30,
            sx in prop::bool::ANY, sy in prop::bool::ANY,
            px in -32i32..32, py in -32i32..32,
        ) {
            let (dx, dy) = (if sx { 1.0 } else { -1.0 }, if sy { 1.0 } else { -1.0 });
            // Part A spans from the touch point back, part B from it forward.
            let a = [0.0, 0.0, -dx * f64::from(w1), -dy * f64::from(h1)];
            let b = [0.0, 0.0, dx * f64::from(w2), dy * f64::from(h2)];
            let boxed = |r: [f64; 4]| (r[0].min(r[2]), r[1].min(r[3]), r[0].max(r[2]), r[1].max(r[3]));
            let (ba, bb) = (boxed(a), boxed(b));
            let mp = MultiPolygon(vec![
                rect(GK.0 + ba.0, GK.1 + ba.1, GK.0 + ba.2, GK.1 + ba.3),
                rect(GK.0 + bb.0, GK.1 + bb.1, GK.0 + bb.2, GK.1 + bb.3),
            ]);
            let (x, y) = (f64::from(px), f64::from(py));
            let within = |r: (f64, f64, f64, f64)| r.0 <= x && x <= r.2 && r.1 <= y && y <= r.3;
            let strictly = |r: (f64, f64, f64, f64)| r.0 < x && x < r.2 && r.1 < y && y < r.3;
            let expected = if strictly(ba) || strictly(bb) {
                Position::Inside
            } else if within(ba) || within(bb) {
                Position::Boundary
            } else {
                Position::Outside
            };
            let p = coord! { x: GK.0 + x, y: GK.1 + y };
            let got = multipolygon_position(p, &mp);
            prop_assert_eq!(got, expected);
            if (px, py) != (0, 0) {
                let geo_pos = match geo::CoordinatePosition::coordinate_position(&mp, &p) {
                    CoordPos::Inside => Position::Inside,
                    CoordPos::OnBoundary => Position::Boundary,
                    CoordPos::Outside => Position::Outside,
                };
                prop_assert_eq!(got, geo_pos);
            } else {
                prop_assert_eq!(got, Position::Boundary);
            }
        }

        #[test]
        fn area_is_invariant_under_gauss_krueger_offsets(radii in prop::collection::vec(0.0f64..500.0, 3..40)) {
            let ring = star(&radii);
            let here = signed_area2(&ring);
            let there = signed_area2(&shifted(&ring, GK.0, GK.1));
            prop_assert!(here > 0.0);
            prop_assert!((there - here).abs() <= 1e-6 * here, "{there} vs {here}");
        }

        #[test]
        fn area_is_invariant_under_rotation_and_flips_sign_under_reversal(
            radii in prop::collection::vec(0.0f64..500.0, 3..40),
            start in 0usize..40,
        ) {
            let ring = shifted(&star(&radii), GK.0, GK.1);
            let a = signed_area2(&ring);
            let k = start % ring.len();
            let rotated: Vec<Coord<f64>> = ring[k..].iter().chain(&ring[..k]).copied().collect();
            let reversed: Vec<Coord<f64>> = ring.iter().rev().copied().collect();
            prop_assert!((signed_area2(&rotated) - a).abs() <= 1e-6 * a.abs());
            prop_assert!((signed_area2(&reversed) + a).abs() <= 1e-6 * a.abs());
        }

        #[test]
        fn position_agrees_with_geo_contains_away_from_the_boundary(
            radii in prop::collection::vec(0.0f64..500.0, 3..24),
            px in -520.0f64..520.0,
            py in -520.0f64..520.0,
        ) {
            let ring = shifted(&star(&radii), GK.0, GK.1);
            let p = coord! { x: px + GK.0, y: py + GK.1 };
            let n = ring.len();
            let near = (0..n).map(|i| segment_distance(p, ring[i], ring[(i + 1) % n])).fold(f64::INFINITY, f64::min);
            prop_assume!(near > 1e-6);
            let poly = Polygon::new(LineString::new(ring.clone()), vec![]);
            let geo_inside = poly.contains(&Point::from(p));
            prop_assert_eq!(position(p, &ring) == Position::Inside, geo_inside);
            prop_assert_ne!(position(p, &ring), Position::Boundary);
        }
    }
}
