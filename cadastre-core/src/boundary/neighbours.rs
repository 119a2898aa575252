//! Four neighbours (四至): for each parcel, what lies north, east, south and west —
//! neighbour parcels (by shared boundary) or road/unparcelled land.

use std::collections::HashMap;

use geo_types::{Coord, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use serde::{Deserialize, Serialize};

use rayon::prelude::*;

use super::{BoundaryLines, BoundaryPoints};
use crate::ring::{multipolygon_position, Position};

/// What a parcel edge faces when no parcel is there (道路/空地, "road / open land").
pub const OPEN_LAND: &str = "道路/空地";

/// A compass direction of 四至.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// 北 (ZDSZB).
    North,
    /// 东 (ZDSZD).
    East,
    /// 南 (ZDSZN).
    South,
    /// 西 (ZDSZX).
    West,
}

impl Direction {
    /// The direction an outward normal (nx, ny) points to (x = east, y = north);
    /// diagonals go to the nearer axis, exact 45° to north/south.
    pub fn of_normal(nx: f64, ny: f64) -> Self {
        if ny.abs() >= nx.abs() {
            if ny >= 0.0 {
                Self::North
            } else {
                Self::South
            }
        } else if nx > 0.0 {
            Self::East
        } else {
            Self::West
        }
    }
}

/// What is on one side of a parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Neighbour {
    /// Another parcel (index in the input).
    Parcel(usize),
    /// Road or unparcelled land.
    Open,
}

/// The four neighbours of one parcel; each list is ordered by shared boundary length,
/// longest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FourNeighbours {
    /// 北.
    pub north: Vec<Neighbour>,
    /// 东.
    pub east: Vec<Neighbour>,
    /// 南.
    pub south: Vec<Neighbour>,
    /// 西.
    pub west: Vec<Neighbour>,
}

impl FourNeighbours {
    /// The list for a direction.
    pub fn get(&self, d: Direction) -> &[Neighbour] {
        match d {
            Direction::North => &self.north,
            Direction::East => &self.east,
            Direction::South => &self.south,
            Direction::West => &self.west,
        }
    }

    /// Text for a 四至 field: neighbour codes (ZDDM) or [`OPEN_LAND`], joined by "、".
    pub fn describe(&self, d: Direction, codes: &[&str]) -> String {
        self.get(d)
            .iter()
            .map(|n| match n {
                Neighbour::Parcel(i) => codes.get(*i).copied().unwrap_or("?").to_owned(),
                Neighbour::Open => OPEN_LAND.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("、")
    }
}

type Indexed = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Compute 四至 for every parcel. Edges shared exactly (same boundary points) give
/// the neighbour directly; an edge with no parcel on the other side is probed just
/// outside (1 cm, at four points along it) against an R*-tree of parcels (bulk
/// loaded), which finds neighbours across T-junctions; where nothing is there it
/// faces [`OPEN_LAND`].
///
/// ```
/// use cadastre_core::boundary::{four_neighbours, BoundaryLines, BoundaryPoints, Direction, Neighbour};
/// use geo_types::{polygon, MultiPolygon};
/// let a = MultiPolygon::new(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]]);
/// let b = MultiPolygon::new(vec![polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)]]);
/// let geoms = [&a, &b];
/// let pts = BoundaryPoints::derive(&geoms);
/// let sz = four_neighbours(&pts, &BoundaryLines::build(&pts), &geoms);
/// assert_eq!(sz[0].east, [Neighbour::Parcel(1)]);
/// assert_eq!(sz[0].north, [Neighbour::Open]);
/// assert_eq!(sz[1].describe(Direction::West, &["A", "B"]), "A");
/// ```
pub fn four_neighbours(
    points: &BoundaryPoints,
    lines: &BoundaryLines,
    geoms: &[&MultiPolygon<f64>],
) -> Vec<FourNeighbours> {
    let tree: RTree<Indexed> = RTree::bulk_load(
        geoms
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                use geo::BoundingRect;
                g.bounding_rect().map(|r| {
                    GeomWithData::new(Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]), i)
                })
            })
            .collect(),
    );
    points
        .parcels
        .par_iter()
        .enumerate()
        .map(|(p, rings)| {
            let mut acc: HashMap<(Direction, Neighbour), f64> = HashMap::new();
            for r in rings {
                let n = r.points.len();
                for i in 0..n {
                    let (a, b) = (r.points[i], r.points[(i + 1) % n]);
                    if a == b {
                        continue;
                    }
                    let (ca, cb) = (points.coord(a), points.coord(b));
                    let (dx, dy) = (cb.x - ca.x, cb.y - ca.y);
                    let len = dx.hypot(dy);
                    // Interior is on the right of a → b, so the outward normal is on the left.
                    let dir = Direction::of_normal(-dy, dx);
                    // p is on the right of the canonical (min → max) direction when a < b.
                    let other = lines.between(a, b).and_then(|l| if a < b { l.left } else { l.right });
                    match other.filter(|&o| o != p) {
                        Some(o) => *acc.entry((dir, Neighbour::Parcel(o))).or_default() += len,
                        None => {
                            // Sample the edge at 1/8, 3/8, 5/8, 7/8: an edge may face several
                            // parcels across T-junctions, and a sample can fall on their seam.
                            for k in 0..PROBES {
                                let t = (2.0 * f64::from(k) + 1.0) / (2.0 * f64::from(PROBES));
                                let at = Coord { x: ca.x + t * dx, y: ca.y + t * dy };
                                let nb = probe(&tree, geoms, p, at, len, -dy / len, dx / len);
                                *acc.entry((dir, nb)).or_default() += len / f64::from(PROBES);
                            }
                        }
                    }
                }
            }
            let mut out = FourNeighbours::default();
            let mut entries: Vec<((Direction, Neighbour), f64)> = acc.into_iter().collect();
            entries.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0 .1.cmp(&y.0 .1)));
            for ((d, nb), _) in entries {
                match d {
                    Direction::North => out.north.push(nb),
                    Direction::East => out.east.push(nb),
                    Direction::South => out.south.push(nb),
                    Direction::West => out.west.push(nb),
                }
            }
            out
        })
        .collect()
}

/// Samples per edge without an exact partner.
const PROBES: u32 = 4;

/// What lies just outside point `at` of an edge of parcel `p` (outward normal n).
fn probe(
    tree: &RTree<Indexed>,
    geoms: &[&MultiPolygon<f64>],
    p: usize,
    at: Coord<f64>,
    len: f64,
    nx: f64,
    ny: f64,
) -> Neighbour {
    // 1 cm outside: well above coordinate precision, well below any real parcel width.
    let eps = 0.01_f64.min(0.1 * len);
    let m = Coord { x: at.x + nx * eps, y: at.y + ny * eps };
    tree.locate_all_at_point(&[m.x, m.y])
        .map(|g| g.data)
        .filter(|&q| q != p && multipolygon_position(m, geoms[q]) == Position::Inside)
        .min()
        .map_or(Neighbour::Open, Neighbour::Parcel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)]])
    }

    fn run(geoms: &[MultiPolygon<f64>]) -> Vec<FourNeighbours> {
        let refs: Vec<&MultiPolygon<f64>> = geoms.iter().collect();
        let pts = BoundaryPoints::derive(&refs);
        four_neighbours(&pts, &BoundaryLines::build(&pts), &refs)
    }

    #[test]
    fn cross_of_five_parcels() {
        // Centre 0 with neighbours N=1, E=2, S=3, W=4, all sharing full edges.
        let g = [
            rect(10., 10., 20., 20.),
            rect(10., 20., 20., 30.),
            rect(20., 10., 30., 20.),
            rect(10., 0., 20., 10.),
            rect(0., 10., 10., 20.),
        ];
        let sz = run(&g);
        assert_eq!(sz[0].north, [Neighbour::Parcel(1)]);
        assert_eq!(sz[0].east, [Neighbour::Parcel(2)]);
        assert_eq!(sz[0].south, [Neighbour::Parcel(3)]);
        assert_eq!(sz[0].west, [Neighbour::Parcel(4)]);
        assert_eq!(sz[1].south, [Neighbour::Parcel(0)]);
        assert_eq!(sz[1].north, [Neighbour::Open]);
        assert_eq!(sz[0].describe(Direction::North, &["a", "b", "c", "d", "e"]), "b");
        assert_eq!(sz[1].describe(Direction::North, &["a", "b", "c", "d", "e"]), OPEN_LAND);
    }

    #[test]
    fn t_junction_neighbour_found_through_the_index() {
        // 0 spans x 0..20 on the south; 1 and 2 sit on top of it, 0 has no vertex at x = 10.
        let g = [rect(0., 0., 20., 10.), rect(0., 10., 10., 20.), rect(10., 10., 20., 20.)];
        let sz = run(&g);
        // 0's north edge is one edge (0,10)-(20,10) with no exact partner: the samples
        // just north of it fall in 1 and in 2 (equal lengths: lower index first).
        assert_eq!(sz[0].north, [Neighbour::Parcel(1), Neighbour::Parcel(2)]);
        // 1 and 2 each see 0 to the south through the probe as well.
        assert_eq!(sz[1].south, [Neighbour::Parcel(0)]);
        assert_eq!(sz[2].south, [Neighbour::Parcel(0)]);
    }

    #[test]
    fn longest_shared_side_comes_first() {
        // 0 is 30 wide; to its north sits 1 (20 wide, shared) and open land (10).
        let g = [rect(0., 0., 30., 10.), rect(0., 10., 20., 20.)];
        let refs: Vec<&MultiPolygon<f64>> = g.iter().collect();
        // Give 0 a vertex at (20, 10) so the shared part matches exactly.
        let zero = MultiPolygon::new(vec![
            polygon![(x: 0., y: 0.), (x: 30., y: 0.), (x: 30., y: 10.), (x: 20., y: 10.), (x: 0., y: 10.)],
        ]);
        let geoms = [&zero, refs[1]];
        let pts = BoundaryPoints::derive(&geoms);
        let sz = four_neighbours(&pts, &BoundaryLines::build(&pts), &geoms);
        assert_eq!(sz[0].north, [Neighbour::Parcel(1), Neighbour::Open]);
    }

    #[test]
    fn normals_to_directions() {
        assert_eq!(Direction::of_normal(0.0, 1.0), Direction::North);
        assert_eq!(Direction::of_normal(1.0, 0.2), Direction::East);
        assert_eq!(Direction::of_normal(-0.1, -1.0), Direction::South);
        assert_eq!(Direction::of_normal(-1.0, 0.5), Direction::West);
    }
}
