//! Boundary-point numbers (界址点号 JZDH): J1…Jn clockwise from the north-west
//! corner per parcel, and unique numbers per sub-district.

use std::collections::{BTreeMap, HashMap};

use geo_types::Coord;
use serde::{Deserialize, Serialize};

use super::{BoundaryPoints, PointId};

/// A numbered point of one parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointNumber {
    /// Parcel index (input order).
    pub parcel: usize,
    /// Polygon index within the parcel.
    pub polygon: usize,
    /// Ring index (0 = exterior).
    pub ring: usize,
    /// The point.
    pub point: PointId,
    /// Its number, e.g. `J1`.
    pub jzdh: String,
}

/// Index of the ring vertex nearest the north-west corner of the ring's bounding box
/// (ties: the more northern, then the more western).
fn north_west_start(coords: &[Coord<f64>]) -> usize {
    let (min_x, max_y) =
        coords.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(mx, my), c| (mx.min(c.x), my.max(c.y)));
    let mut best = 0;
    let mut best_key = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    for (i, c) in coords.iter().enumerate() {
        let (dx, dy) = (c.x - min_x, max_y - c.y);
        let k = (dx * dx + dy * dy, -c.y, c.x);
        if k.0 < best_key.0 || (k.0 == best_key.0 && (k.1, k.2) < (best_key.1, best_key.2)) {
            best = i;
            best_key = k;
        }
    }
    best
}

/// Points of one parcel in numbering order: each ring clockwise from its north-west
/// vertex, exterior first, then holes, polygons in stored order. A point repeated
/// in the parcel (a ring touching itself) keeps its first number.
fn parcel_order(points: &BoundaryPoints, parcel: usize) -> Vec<(usize, usize, PointId)> {
    let mut out = Vec::new();
    for r in &points.parcels[parcel] {
        let mut ids = r.points.clone();
        // Stored rings have the interior on the right: the exterior is clockwise
        // already; holes are counter-clockwise and are reversed to run clockwise too.
        if r.ring > 0 {
            ids.reverse();
        }
        let coords: Vec<Coord<f64>> = ids.iter().map(|&i| points.coord(i)).collect();
        let start = north_west_start(&coords);
        ids.rotate_left(start);
        out.extend(ids.into_iter().map(|id| (r.polygon, r.ring, id)));
    }
    out
}

/// Number every parcel's points J1…Jn (restarting per parcel).
///
/// ```
/// use cadastre_core::boundary::{number_per_parcel, BoundaryPoints};
/// use geo_types::{polygon, MultiPolygon};
/// // Counter-clockwise input; numbering is clockwise from the north-west corner (0, 1).
/// let sq = MultiPolygon::new(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]]);
/// let pts = BoundaryPoints::derive(&[&sq]);
/// let nums = number_per_parcel(&pts);
/// let order: Vec<(f64, f64)> = nums.iter().map(|n| { let c = pts.coord(n.point); (c.x, c.y) }).collect();
/// assert_eq!(order, [(0., 1.), (1., 1.), (1., 0.), (0., 0.)]);
/// assert_eq!(nums[0].jzdh, "J1");
/// ```
pub fn number_per_parcel(points: &BoundaryPoints) -> Vec<PointNumber> {
    let mut out = Vec::new();
    for parcel in 0..points.parcels.len() {
        let mut seen: HashMap<PointId, usize> = HashMap::new();
        for (polygon, ring, point) in parcel_order(points, parcel) {
            let n = seen.len() + 1;
            let n = *seen.entry(point).or_insert(n);
            out.push(PointNumber { parcel, polygon, ring, point, jzdh: format!("J{n}") });
        }
    }
    out
}

/// Number points uniquely per sub-district: parcels are visited in `codes` order
/// (ZDDM, so the result does not depend on input order) and each point gets the next
/// number the first time it is met, so a point shared by neighbours has **one**
/// number. `subdistrict[i]` is the sub-district of parcel `i` (e.g. `ZDDM[..12]`).
/// Returns, per parcel, its points in parcel order with the sub-district numbers.
///
/// ```
/// use cadastre_core::boundary::{number_per_subdistrict, BoundaryPoints};
/// use geo_types::{polygon, MultiPolygon};
/// let a = MultiPolygon::new(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]]);
/// let b = MultiPolygon::new(vec![polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)]]);
/// let pts = BoundaryPoints::derive(&[&a, &b]);
/// let n = number_per_subdistrict(&pts, &["330106001001GB00001", "330106001001GB00002"], &["330106001001"; 2]);
/// // b's north-west corner (1, 1) is a's J2: same number in both parcels.
/// assert_eq!(n[0][1].jzdh, "J2");
/// assert_eq!(n[1][0].jzdh, "J2");
/// assert_eq!(n[1].iter().map(|p| p.jzdh.as_str()).collect::<Vec<_>>(), ["J2", "J5", "J6", "J3"]);
/// ```
pub fn number_per_subdistrict(points: &BoundaryPoints, codes: &[&str], subdistrict: &[&str]) -> Vec<Vec<PointNumber>> {
    let n = points.parcels.len();
    let mut by_sub: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        by_sub.entry(subdistrict.get(i).copied().unwrap_or("")).or_default().push(i);
    }
    let mut out: Vec<Vec<PointNumber>> = vec![Vec::new(); n];
    for (_, mut parcels) in by_sub {
        // Order by code, then by the parcel's first coordinate for duplicate codes.
        parcels.sort_by(|&a, &b| {
            let ka = (codes.get(a).copied().unwrap_or(""), first_coord(points, a));
            let kb = (codes.get(b).copied().unwrap_or(""), first_coord(points, b));
            ka.0.cmp(kb.0).then(ka.1 .0.total_cmp(&kb.1 .0)).then(ka.1 .1.total_cmp(&kb.1 .1))
        });
        let mut numbers: HashMap<PointId, usize> = HashMap::new();
        for p in parcels {
            for (polygon, ring, point) in parcel_order(points, p) {
                let next = numbers.len() + 1;
                let k = *numbers.entry(point).or_insert(next);
                out[p].push(PointNumber { parcel: p, polygon, ring, point, jzdh: format!("J{k}") });
            }
        }
    }
    out
}

fn first_coord(points: &BoundaryPoints, parcel: usize) -> (f64, f64) {
    let order = parcel_order(points, parcel);
    order.first().map_or((0.0, 0.0), |&(_, _, id)| {
        let c = points.coord(id);
        (c.x, c.y)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};
    use proptest::prelude::*;

    #[test]
    fn north_west_start_on_a_rotated_shape() {
        // A diamond: the NW bbox corner is (0, 2); nearest vertices (0,1) and (1,2)
        // are equally far; the more northern wins.
        let c =
            [Coord { x: 1.0, y: 0.0 }, Coord { x: 0.0, y: 1.0 }, Coord { x: 1.0, y: 2.0 }, Coord { x: 2.0, y: 1.0 }];
        assert_eq!(north_west_start(&c), 2);
    }

    #[test]
    fn holes_are_numbered_after_the_exterior_clockwise() {
        let p = polygon![
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)],
            interiors: [[(x: 2., y: 2.), (x: 4., y: 2.), (x: 4., y: 4.), (x: 2., y: 4.)]],
        ];
        let mp = MultiPolygon::new(vec![p]);
        let pts = BoundaryPoints::derive(&[&mp]);
        let n = number_per_parcel(&pts);
        let hole: Vec<(f64, f64)> =
            n.iter().filter(|x| x.ring == 1).map(|x| (pts.coord(x.point).x, pts.coord(x.point).y)).collect();
        assert_eq!(hole, [(2., 4.), (4., 4.), (4., 2.), (2., 2.)]);
        assert_eq!(
            n.iter().map(|x| x.jzdh.as_str()).collect::<Vec<_>>(),
            ["J1", "J2", "J3", "J4", "J5", "J6", "J7", "J8"]
        );
    }

    proptest! {
        /// Subdistrict numbering does not depend on the input order of parcels, and a
        /// shared point has the same number in every parcel that uses it.
        #[test]
        fn subdistrict_numbers_are_order_independent_and_shared(perm in Just((0..6usize).collect::<Vec<_>>()).prop_shuffle()) {
            // 3×2 grid of squares.
            let squares: Vec<(String, MultiPolygon<f64>)> = (0..6).map(|i| {
                let (x, y) = ((i % 3) as f64, (i / 3) as f64);
                (format!("330106001001GB{:05}", i + 1),
                 MultiPolygon::new(vec![polygon![(x: x, y: y), (x: x + 1., y: y), (x: x + 1., y: y + 1.), (x: x, y: y + 1.)]]))
            }).collect();
            let number = |order: &[usize]| {
                let geoms: Vec<&MultiPolygon<f64>> = order.iter().map(|&i| &squares[i].1).collect();
                let codes: Vec<&str> = order.iter().map(|&i| squares[i].0.as_str()).collect();
                let subs = vec!["330106001001"; order.len()];
                let pts = BoundaryPoints::derive(&geoms);
                let nums = number_per_subdistrict(&pts, &codes, &subs);
                type Numbered = Vec<((u64, u64), String)>;
                let mut by_code: Vec<(String, Numbered)> = order.iter().zip(&nums).map(|(&i, ns)| {
                    (squares[i].0.clone(), ns.iter().map(|n| { let c = pts.coord(n.point); ((c.x.to_bits(), c.y.to_bits()), n.jzdh.clone()) }).collect())
                }).collect();
                by_code.sort();
                by_code
            };
            let base = number(&(0..6).collect::<Vec<_>>());
            prop_assert_eq!(&number(&perm), &base);
            let mut by_coord: HashMap<(u64, u64), String> = HashMap::new();
            for (_, pts) in &base {
                for (c, j) in pts {
                    let prev = by_coord.entry(*c).or_insert_with(|| j.clone());
                    prop_assert_eq!(&*prev, j);
                }
            }
            prop_assert_eq!(by_coord.len(), 12);
        }
    }
}
