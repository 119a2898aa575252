//! Boundary points (J1…), boundary lines and 四至 of one parcel, derived from its
//! neighbourhood with `cadastre-core::boundary` after each edit (fast: only the
//! parcels around it are involved).

use cadastre_core::boundary::{four_neighbours, number_per_parcel, BoundaryLines, BoundaryPoints, Direction};
use geo_types::{Coord, MultiPolygon};

use crate::model::{Editor, FeatureId};

/// What the attribute panel shows about a parcel's boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryInfo {
    /// Numbered points: (J number, coordinates, number of parcels sharing it).
    pub points: Vec<(String, Coord<f64>, usize)>,
    /// Boundary lines of the parcel.
    pub lines: usize,
    /// 四至: north, east, south, west (neighbour codes or 空地/道路).
    pub four: [String; 4],
}

/// Derive the boundary of parcel `id` with its neighbours.
pub fn boundary_info(ed: &Editor, id: FeatureId) -> Option<BoundaryInfo> {
    let doc = ed.doc();
    let geom = doc.parcel_geometry(id)?;
    let (lo, hi) = ed.index().parcel_bbox(id)?;
    let m = 0.05;
    let mut ids: Vec<FeatureId> =
        ed.index().parcels_in([lo[0] - m, lo[1] - m], [hi[0] + m, hi[1] + m]).filter(|&n| n != id).collect();
    ids.sort_unstable();
    ids.insert(0, id);
    let geoms: Vec<MultiPolygon<f64>> =
        ids.iter()
            .map(|&n| {
                if n == id {
                    geom.clone()
                } else {
                    doc.parcel_geometry(n).unwrap_or_else(|| MultiPolygon(Vec::new()))
                }
            })
            .collect();
    let refs: Vec<&MultiPolygon<f64>> = geoms.iter().collect();
    let points = BoundaryPoints::derive(&refs);
    let lines = BoundaryLines::build(&points);
    let users = points.users();
    let numbers = number_per_parcel(&points);
    let pts = numbers
        .iter()
        .filter(|n| n.parcel == 0)
        .map(|n| (n.jzdh.clone(), points.coord(n.point), users[n.point as usize].len()))
        .collect();
    let four_all = four_neighbours(&points, &lines, &refs);
    let codes: Vec<&str> = ids.iter().map(|n| doc.parcels.get(n).map_or("?", |p| p.zddm.as_str())).collect();
    let four = four_all.first().map(|f| {
        [Direction::North, Direction::East, Direction::South, Direction::West].map(|d| f.describe(d, &codes))
    })?;
    let lines = lines.of_parcel(0).count();
    Some(BoundaryInfo { points: pts, lines, four })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_neighbours_follow_an_edit() {
        let mut ed = crate::model::ops::tests_support::two_squares();
        let info = boundary_info(&ed, 1).expect("info");
        assert_eq!(info.points.len(), 4);
        assert_eq!(info.lines, 4);
        assert_eq!(info.four[1], "330106001001GB00002");
        assert_eq!(info.points.iter().filter(|p| p.2 == 2).count(), 2);
        let cmd = crate::model::ops::delete_parcel(ed.doc(), ed.index(), 2).expect("delete");
        ed.execute(cmd).expect("execute");
        let info = boundary_info(&ed, 1).expect("info");
        assert_ne!(info.four[1], "330106001001GB00002");
    }
}
