//! Plane geometry of plan outlines: areas, noding at T-junctions, and mitred
//! offsets with a distance per edge (walls of different thickness).

use super::model::{LocalPoint, Outline};
use geo::{Area as _, BooleanOps, Validation};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

/// Two plan coordinates closer than this are the same point (0.1 mm).
pub(crate) const EPS: f64 = 1e-4;

/// Shoelace area, positive counter-clockwise.
pub(crate) fn signed_area(ring: &[LocalPoint]) -> f64 {
    let n = ring.len();
    if n < 3 {
        return 0.0;
    }
    // Relative to the first vertex: plans in map-sized coordinates keep their digits.
    let o = ring[0];
    let mut s = 0.0;
    for i in 1..n - 1 {
        let (a, b) = (ring[i], ring[i + 1]);
        s += (a[0] - o[0]) * (b[1] - o[1]) - (b[0] - o[0]) * (a[1] - o[1]);
    }
    s / 2.0
}

/// The outline as a counter-clockwise `geo` polygon.
pub(crate) fn polygon(o: &Outline) -> Polygon<f64> {
    let mut pts: Vec<Coord<f64>> = o.0.iter().map(|p| Coord { x: p[0], y: p[1] }).collect();
    if signed_area(&o.0) < 0.0 {
        pts.reverse();
    }
    Polygon::new(LineString::new(pts), vec![])
}

/// Why an outline cannot be used, if it cannot.
pub(crate) fn outline_problem(o: &Outline) -> Option<String> {
    if o.0.len() < 3 {
        return Some(format!("{} points, an outline needs at least 3", o.0.len()));
    }
    if o.0.iter().flatten().any(|v| !v.is_finite()) {
        return Some("a coordinate is not a finite number".into());
    }
    let n = o.0.len();
    if let Some(i) = (0..n).find(|&i| super::model::dist(o.0[i], o.0[(i + 1) % n]) < EPS) {
        return Some(format!("points {} and {} coincide", i + 1, (i + 1) % n + 1));
    }
    if o.area() < 0.01 {
        return Some("area below 0.01 m²".into());
    }
    let p = polygon(o);
    if !p.is_valid() {
        return Some("the outline crosses itself".into());
    }
    None
}

/// Area of the overlap of two outlines.
pub(crate) fn overlap_area(a: &Outline, b: &Outline) -> f64 {
    polygon(a).intersection(&polygon(b)).unsigned_area()
}

/// The union of outlines.
pub(crate) fn union(outlines: &[&Outline]) -> MultiPolygon<f64> {
    let polys: Vec<Polygon<f64>> = outlines.iter().map(|o| polygon(o)).collect();
    geo::unary_union(&polys)
}

/// The ring (counter-clockwise, open) with a vertex inserted wherever a vertex
/// of `others` lies on one of its edges, so each edge faces one neighbour.
pub(crate) fn noded_ccw(o: &Outline, others: &[&Outline]) -> Vec<LocalPoint> {
    let mut ring = o.0.clone();
    if signed_area(&ring) < 0.0 {
        ring.reverse();
    }
    let n = ring.len();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        out.push(a);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len2 = dx * dx + dy * dy;
        let mut on: Vec<(f64, LocalPoint)> = others
            .iter()
            .flat_map(|r| r.0.iter().copied())
            .filter_map(|p| {
                let t = ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2;
                let cross = ((p[0] - a[0]) * dy - (p[1] - a[1]) * dx) / len2.sqrt();
                let along = t * len2.sqrt();
                (cross.abs() < EPS && along > EPS && along < len2.sqrt() - EPS).then_some((t, p))
            })
            .collect();
        on.sort_by(|x, y| x.0.total_cmp(&y.0));
        on.dedup_by(|x, y| (x.0 - y.0).abs() * len2.sqrt() < EPS);
        out.extend(on.into_iter().map(|(_, p)| p));
    }
    out
}

/// The counter-clockwise ring `ring` with each edge `i` (from vertex i to i+1)
/// moved **inward** by `d[i]` (negative: outward), consecutive offset edges
/// joined at their intersection (mitre); collinear edges with different
/// distances are joined by a step. Exact for rooms and floors whose offset
/// does not make an edge vanish.
pub(crate) fn offset_ccw(ring: &[LocalPoint], d: &[f64]) -> Vec<LocalPoint> {
    let n = ring.len();
    // Offset line of edge i: a point and the direction.
    let line = |i: usize| -> (LocalPoint, [f64; 2]) {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        let len = super::model::dist(a, b);
        let u = [(b[0] - a[0]) / len, (b[1] - a[1]) / len];
        // Interior of a counter-clockwise ring is on the left: normal (-uy, ux).
        let nrm = [-u[1], u[0]];
        ([a[0] + nrm[0] * d[i], a[1] + nrm[1] * d[i]], u)
    };
    let mut out = Vec::with_capacity(n + 2);
    for (i, &v) in ring.iter().enumerate() {
        let prev = (i + n - 1) % n;
        let (p1, u1) = line(prev);
        let (p2, u2) = line(i);
        let cross = u1[0] * u2[1] - u1[1] * u2[0];
        if cross.abs() < 1e-9 {
            // Collinear: end the previous edge and start this one at the shared vertex.
            let foot = |p: LocalPoint, u: [f64; 2]| {
                let t = (v[0] - p[0]) * u[0] + (v[1] - p[1]) * u[1];
                [p[0] + u[0] * t, p[1] + u[1] * t]
            };
            let (a, b) = (foot(p1, u1), foot(p2, u2));
            out.push(a);
            if super::model::dist(a, b) > 1e-12 {
                out.push(b);
            }
        } else {
            // p1 + s·u1 = p2 + t·u2
            let w = [p2[0] - p1[0], p2[1] - p1[1]];
            let s = (w[0] * u2[1] - w[1] * u2[0]) / cross;
            out.push([p1[0] + u1[0] * s, p1[1] + u1[1] * s]);
        }
    }
    out
}

/// Outward mitred offset of a multipolygon by `d`: exteriors grow, holes shrink.
/// Returns the offset area.
pub(crate) fn grown_area(mp: &MultiPolygon<f64>, d: f64) -> f64 {
    let ring_area = |ls: &LineString<f64>, grow: bool| -> f64 {
        let mut pts: Vec<LocalPoint> = ls.0.iter().map(|c| [c.x, c.y]).collect();
        if pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        if signed_area(&pts) < 0.0 {
            pts.reverse();
        }
        let pts = drop_collinear(&pts);
        // counter-clockwise: a negative inward distance grows the ring
        let dist = if grow { -d } else { d };
        signed_area(&offset_ccw(&pts, &vec![dist; pts.len()]))
    };
    mp.0.iter()
        .map(|p| ring_area(p.exterior(), true) - p.interiors().iter().map(|h| ring_area(h, false)).sum::<f64>())
        .sum()
}

/// Vertices in the middle of a straight run removed (union output keeps them).
fn drop_collinear(pts: &[LocalPoint]) -> Vec<LocalPoint> {
    let n = pts.len();
    let keep: Vec<LocalPoint> = (0..n)
        .filter(|&i| {
            let (a, b, c) = (pts[(i + n - 1) % n], pts[i], pts[(i + 1) % n]);
            let cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
            let scale = super::model::dist(a, b) * super::model::dist(b, c);
            cross.abs() > 1e-9 * scale.max(1e-12)
        })
        .map(|i| pts[i])
        .collect();
    if keep.len() >= 3 {
        keep
    } else {
        pts.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inset_of_a_rectangle_with_different_walls() {
        let r = Outline::rect(0.0, 0.0, 10.0, 8.0);
        let ring = noded_ccw(&r, &[]);
        // bottom, right, top, left
        let inner = offset_ccw(&ring, &[0.1, 0.12, 0.1, 0.12]);
        assert!((signed_area(&inner) - (10.0 - 0.24) * (8.0 - 0.2)).abs() < 1e-9);
    }

    #[test]
    fn collinear_edges_with_different_walls_make_a_step() {
        // Bottom edge split at x = 4: 0.1 on the left part, 0.2 on the right part.
        let ring = vec![[0.0, 0.0], [4.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]];
        let inner = offset_ccw(&ring, &[0.1, 0.2, 0.0, 0.0, 0.0]);
        let want = 10.0 * 5.0 - 4.0 * 0.1 - 6.0 * 0.2;
        assert!((signed_area(&inner) - want).abs() < 1e-9, "{}", signed_area(&inner));
    }

    #[test]
    fn t_junction_vertices_are_inserted() {
        let big = Outline::rect(0.0, 0.0, 10.0, 5.0);
        let small = Outline::rect(3.0, 5.0, 6.0, 8.0);
        let ring = noded_ccw(&big, &[&small]);
        assert_eq!(ring.len(), 6);
        assert!(ring.contains(&[3.0, 5.0]) && ring.contains(&[6.0, 5.0]));
    }

    #[test]
    fn grown_l_shape() {
        let l = Outline(vec![[0.0, 0.0], [4.0, 0.0], [4.0, 2.0], [2.0, 2.0], [2.0, 4.0], [0.0, 4.0]]);
        let mp = MultiPolygon::new(vec![polygon(&l)]);
        // perimeter 16, five convex corners (+d²), one concave (−d²)
        let d = 0.1;
        assert!((grown_area(&mp, d) - (12.0 + 16.0 * d + 4.0 * d * d)).abs() < 1e-9);
    }
}
