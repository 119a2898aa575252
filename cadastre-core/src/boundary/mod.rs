//! Boundary points (界址点 JZD), boundary lines (界址线 JZX) and four neighbours
//! (四至) derived from parcel geometry.
//!
//! A boundary point is a parcel vertex; neighbours that share a corner share **one**
//! point, identified by exact coordinate equality (the survey writes the same
//! coordinates for both; near misses are a QC finding, not merged here).
//! Coordinates are x = easting, y = northing; the Chinese XZBZ (northing) /
//! YZBZ (easting) order exists only in [`table`].
//!
//! ```
//! use cadastre_core::boundary::BoundaryPoints;
//! use geo_types::{polygon, MultiPolygon};
//! // Two unit squares side by side share the edge x = 1.
//! let a = MultiPolygon::new(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]]);
//! let b = MultiPolygon::new(vec![polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)]]);
//! let pts = BoundaryPoints::derive(&[&a, &b]);
//! assert_eq!(pts.len(), 6); // 8 vertices, 2 shared
//! ```

mod lines;
mod neighbours;
mod numbering;
pub mod table;

pub use lines::{BoundaryLine, BoundaryLines};
pub use neighbours::{four_neighbours, Direction, FourNeighbours, Neighbour, OPEN_LAND};
pub use numbering::{number_per_parcel, number_per_subdistrict, PointNumber};

use geo_types::{Coord, LineString, MultiPolygon};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Index of a boundary point in [`BoundaryPoints::coords`].
pub type PointId = u32;

/// One ring of one parcel as point ids, in stored order, without the closing repeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingPoints {
    /// Index of the polygon within the parcel's multipolygon.
    pub polygon: usize,
    /// 0 = exterior, 1.. = holes.
    pub ring: usize,
    /// Point ids, oriented so the parcel interior is on the **right** (exterior
    /// clockwise, holes counter-clockwise).
    pub points: Vec<PointId>,
}

/// All boundary points of a set of parcels with one identity per coordinate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BoundaryPoints {
    /// Coordinates of each point (x = easting, y = northing).
    pub coords: Vec<Coord<f64>>,
    /// Per parcel (same order as the input), its rings as point ids.
    pub parcels: Vec<Vec<RingPoints>>,
}

/// Exact coordinate key (−0.0 and 0.0 are the same point).
fn key(c: Coord<f64>) -> (u64, u64) {
    let norm = |v: f64| if v == 0.0 { 0.0f64.to_bits() } else { v.to_bits() };
    (norm(c.x), norm(c.y))
}

/// Twice the signed area (positive = counter-clockwise), relative to the first vertex.
pub(crate) fn signed_area2(pts: &[Coord<f64>]) -> f64 {
    crate::ring::signed_area2(pts)
}

/// Ring vertices without the closing repeat and without consecutive duplicates.
fn open_ring(ls: &LineString<f64>) -> Vec<Coord<f64>> {
    let mut v: Vec<Coord<f64>> = Vec::with_capacity(ls.0.len());
    for &c in &ls.0 {
        if v.last().is_none_or(|&l| key(l) != key(c)) {
            v.push(c);
        }
    }
    if v.len() > 1 && v.first().map(|&c| key(c)) == v.last().map(|&c| key(c)) {
        v.pop();
    }
    v
}

/// A parcel's ring, oriented: (polygon index, ring index, coordinates).
type OrientedRing = (usize, usize, Vec<Coord<f64>>);

impl BoundaryPoints {
    /// Derive points from parcel geometries (one entry per parcel, in order).
    ///
    /// Parallel and hash-free: rings are oriented per parcel in parallel, then all
    /// vertices are sorted by their exact coordinate bits so equal coordinates meet;
    /// point ids follow that order (deterministic, independent of input order).
    pub fn derive(parcels: &[&MultiPolygon<f64>]) -> Self {
        // Oriented rings per parcel.
        let rings: Vec<Vec<OrientedRing>> = parcels
            .par_iter()
            .map(|mp| {
                let mut out = Vec::new();
                for (pi, poly) in mp.0.iter().enumerate() {
                    for (ri, ls) in std::iter::once(poly.exterior()).chain(poly.interiors()).enumerate() {
                        let mut ring = open_ring(ls);
                        if ring.len() < 3 {
                            continue;
                        }
                        let ccw = signed_area2(&ring) > 0.0;
                        // Interior on the right: exterior clockwise, holes counter-clockwise.
                        if (ri == 0 && ccw) || (ri > 0 && !ccw) {
                            ring.reverse();
                        }
                        out.push((pi, ri, ring));
                    }
                }
                out
            })
            .collect();
        let mut keys: Vec<((u64, u64), usize)> = rings
            .iter()
            .flatten()
            .flat_map(|(_, _, r)| r.iter().map(|&c| key(c)))
            .enumerate()
            .map(|(i, k)| (k, i))
            .collect();
        keys.par_sort_unstable();
        let mut id_of = vec![0 as PointId; keys.len()];
        let mut coords = Vec::new();
        for group in keys.chunk_by(|a, b| a.0 == b.0) {
            let id = PointId::try_from(coords.len()).unwrap_or(PointId::MAX);
            let (bx, by) = group[0].0;
            coords.push(Coord { x: f64::from_bits(bx), y: f64::from_bits(by) });
            for &(_, pos) in group {
                id_of[pos] = id;
            }
        }
        let mut pos = 0;
        let parcels = rings
            .into_iter()
            .map(|rs| {
                rs.into_iter()
                    .map(|(polygon, ring, r)| {
                        let points = id_of[pos..pos + r.len()].to_vec();
                        pos += r.len();
                        RingPoints { polygon, ring, points }
                    })
                    .collect()
            })
            .collect();
        Self { coords, parcels }
    }

    /// Number of distinct points.
    pub fn len(&self) -> usize {
        self.coords.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.coords.is_empty()
    }

    /// Coordinate of a point.
    pub fn coord(&self, id: PointId) -> Coord<f64> {
        self.coords[id as usize]
    }

    /// Parcels (input indices) that use each point, for shared-point queries.
    pub fn users(&self) -> Vec<Vec<usize>> {
        let mut users = vec![Vec::new(); self.coords.len()];
        for (p, rings) in self.parcels.iter().enumerate() {
            for r in rings {
                for &id in &r.points {
                    let u: &mut Vec<usize> = &mut users[id as usize];
                    if u.last() != Some(&p) {
                        u.push(p);
                    }
                }
            }
        }
        users
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    fn mp(p: geo_types::Polygon<f64>) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![p])
    }

    #[test]
    fn shared_corners_have_one_identity() {
        // 2×2 grid of unit squares: 9 distinct corners, the centre used by all four.
        let sq =
            |x: f64, y: f64| mp(polygon![(x: x, y: y), (x: x + 1., y: y), (x: x + 1., y: y + 1.), (x: x, y: y + 1.)]);
        let ps = [sq(0., 0.), sq(1., 0.), sq(0., 1.), sq(1., 1.)];
        let refs: Vec<&MultiPolygon<f64>> = ps.iter().collect();
        let b = BoundaryPoints::derive(&refs);
        assert_eq!(b.len(), 9);
        let users = b.users();
        let centre = b.coords.iter().position(|c| c.x == 1.0 && c.y == 1.0).expect("centre");
        assert_eq!(users[centre], vec![0, 1, 2, 3]);
    }

    #[test]
    fn near_miss_is_not_merged() {
        let a = mp(polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]);
        let b = mp(polygon![(x: 1.0000001, y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)]);
        assert_eq!(BoundaryPoints::derive(&[&a, &b]).len(), 7);
    }

    #[test]
    fn rings_are_oriented_interior_on_the_right() {
        let ccw = polygon![
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)],
            interiors: [[(x: 2., y: 2.), (x: 2., y: 4.), (x: 4., y: 4.), (x: 4., y: 2.)]],
        ];
        let b = BoundaryPoints::derive(&[&mp(ccw)]);
        let ext: Vec<Coord<f64>> = b.parcels[0][0].points.iter().map(|&i| b.coord(i)).collect();
        let hole: Vec<Coord<f64>> = b.parcels[0][1].points.iter().map(|&i| b.coord(i)).collect();
        assert!(signed_area2(&ext) < 0.0, "exterior clockwise");
        assert!(signed_area2(&hole) > 0.0, "hole counter-clockwise");
        assert_eq!((ext.len(), hole.len()), (4, 4), "no closing repeat");
    }

    #[test]
    fn duplicate_consecutive_vertices_are_one_point_in_the_ring() {
        let p = mp(polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]);
        let b = BoundaryPoints::derive(&[&p]);
        assert_eq!(b.parcels[0][0].points.len(), 4);
    }
}
