//! Boundary lines (界址线 JZX): parcel edges between boundary points, with the
//! parcel on each side.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{BoundaryPoints, PointId};

/// One boundary-line segment between two points. `from < to`; looking from `from`
/// to `to`, `left` and `right` are the parcels on each side (`None`: no parcel —
/// a street or unparcelled land).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundaryLine {
    /// Start point (the smaller id).
    pub from: PointId,
    /// End point.
    pub to: PointId,
    /// Parcel on the left, if any.
    pub left: Option<usize>,
    /// Parcel on the right, if any.
    pub right: Option<usize>,
}

/// All boundary lines, and edges used inconsistently (two parcels on one side: an
/// overlap, or a parcel using the edge twice).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundaryLines {
    /// One entry per distinct edge, sorted by (from, to).
    pub lines: Vec<BoundaryLine>,
    /// Edges with more than one parcel on one side: (from, to, parcels on that side).
    pub conflicts: Vec<(PointId, PointId, Vec<usize>)>,
}

impl BoundaryLines {
    /// Build lines from derived points.
    ///
    /// ```
    /// use cadastre_core::boundary::{BoundaryLines, BoundaryPoints};
    /// use geo_types::{polygon, MultiPolygon};
    /// let a = MultiPolygon::new(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]]);
    /// let b = MultiPolygon::new(vec![polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)]]);
    /// let lines = BoundaryLines::build(&BoundaryPoints::derive(&[&a, &b]));
    /// assert_eq!(lines.lines.len(), 7);
    /// let shared: Vec<_> = lines.lines.iter().filter(|l| l.left.is_some() && l.right.is_some()).collect();
    /// assert_eq!(shared.len(), 1);
    /// ```
    pub fn build(points: &BoundaryPoints) -> Self {
        // (from, to, parcel is on the right of from → to, parcel), sorted: a flat sort
        // instead of a hash map of small vectors (millions of edges in a county).
        let mut sides: Vec<(PointId, PointId, bool, usize)> = points
            .parcels
            .par_iter()
            .enumerate()
            .flat_map_iter(|(p, rings)| {
                rings.iter().flat_map(move |r| {
                    let n = r.points.len();
                    (0..n).filter_map(move |i| {
                        let (a, b) = (r.points[i], r.points[(i + 1) % n]);
                        // Rings run with the interior on the right: traversed a → b the
                        // parcel is on the right; seen from min → max it is on the left
                        // when the ring runs max → min.
                        (a != b).then_some(if a < b { (a, b, true, p) } else { (b, a, false, p) })
                    })
                })
            })
            .collect();
        sides.par_sort_unstable();
        let mut lines = Vec::new();
        let mut conflicts = Vec::new();
        for group in sides.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
            let (from, to) = (group[0].0, group[0].1);
            let left: Vec<usize> = group.iter().filter(|g| !g.2).map(|g| g.3).collect();
            let right: Vec<usize> = group.iter().filter(|g| g.2).map(|g| g.3).collect();
            for side in [&left, &right] {
                if side.len() > 1 {
                    conflicts.push((from, to, side.clone()));
                }
            }
            lines.push(BoundaryLine { from, to, left: left.first().copied(), right: right.first().copied() });
        }
        Self { lines, conflicts }
    }

    /// The line between two points, if there is one.
    pub fn between(&self, a: PointId, b: PointId) -> Option<&BoundaryLine> {
        let key = if a < b { (a, b) } else { (b, a) };
        self.lines.binary_search_by_key(&key, |l| (l.from, l.to)).ok().map(|i| &self.lines[i])
    }

    /// Lines touching parcel `p`, with the neighbour on the other side.
    pub fn of_parcel(&self, p: usize) -> impl Iterator<Item = (&BoundaryLine, Option<usize>)> + '_ {
        self.lines.iter().filter_map(move |l| match (l.left, l.right) {
            (Some(a), other) if a == p => Some((l, other)),
            (other, Some(b)) if b == p => Some((l, other)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};

    fn sq(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![polygon![(x: x, y: y), (x: x + s, y: y), (x: x + s, y: y + s), (x: x, y: y + s)]])
    }

    #[test]
    fn left_and_right_follow_the_geometry() {
        let (a, b) = (sq(0., 0., 1.), sq(1., 0., 1.));
        let pts = BoundaryPoints::derive(&[&a, &b]);
        let lines = BoundaryLines::build(&pts);
        let shared = lines.lines.iter().find(|l| l.left.is_some() && l.right.is_some()).expect("shared edge");
        let (f, t) = (pts.coord(shared.from), pts.coord(shared.to));
        assert_eq!((f.x, t.x), (1.0, 1.0));
        // Walking from → to, the parcel west of x = 1 (a = 0) is on the left when going north.
        let going_north = t.y > f.y;
        let (west, east) = if going_north { (shared.left, shared.right) } else { (shared.right, shared.left) };
        assert_eq!((west, east), (Some(0), Some(1)));
        assert!(lines.conflicts.is_empty());
        assert_eq!(lines.of_parcel(0).count(), 4);
        assert_eq!(lines.of_parcel(0).filter(|(_, n)| *n == Some(1)).count(), 1);
    }

    #[test]
    fn hole_edges_face_the_inner_parcel() {
        let outer = MultiPolygon::new(vec![polygon![
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)],
            interiors: [[(x: 4., y: 4.), (x: 6., y: 4.), (x: 6., y: 6.), (x: 4., y: 6.)]],
        ]]);
        let inner = sq(4., 4., 2.);
        let lines = BoundaryLines::build(&BoundaryPoints::derive(&[&outer, &inner]));
        let both = lines.lines.iter().filter(|l| l.left.is_some() && l.right.is_some()).count();
        assert_eq!(both, 4);
        assert!(lines.conflicts.is_empty());
    }

    #[test]
    fn identical_duplicate_parcels_are_conflicts() {
        let (a, b) = (sq(0., 0., 1.), sq(0., 0., 1.));
        let lines = BoundaryLines::build(&BoundaryPoints::derive(&[&a, &b]));
        assert_eq!(lines.conflicts.len(), 4);
    }
}
