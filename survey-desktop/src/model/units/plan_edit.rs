//! Vertex editing of a floor plan (分层分户图): move, insert or delete a corner
//! of a household, balcony or shared-space outline. A plan's outlines own
//! their coordinates, but a party wall's corner is drawn once per outline
//! that meets there; like a boundary point shared by parcels, every corner at
//! the same place (within [`SAME_CORNER`]) moves or goes with it, and a corner
//! inserted on a wall goes into every outline along that wall, so neighbours
//! stay joined instead of overlapping or leaving a gap.
//!
//! These return the edited floor; [`super::ops::set_floor`] makes it one
//! undoable command (validated, 套内 re-computed into the table).

use cadastre_core::floorplan::{FloorPlanFloor, LocalPoint};
use geo_types::Coord;

use crate::model::snap::closest_on_segment;

/// Corners closer than this (metres) are one corner.
pub const SAME_CORNER: f64 = 0.001;

fn same(a: LocalPoint, b: LocalPoint) -> bool {
    (a[0] - b[0]).hypot(a[1] - b[1]) <= SAME_CORNER
}

/// Every ring of the floor: households, their balconies, shared spaces.
fn rings_mut(f: &mut FloorPlanFloor) -> Vec<&mut Vec<LocalPoint>> {
    let mut out: Vec<&mut Vec<LocalPoint>> = Vec::new();
    for h in &mut f.households {
        out.push(&mut h.outline.0);
        for b in &mut h.balconies {
            out.push(&mut b.outline.0);
        }
    }
    for s in &mut f.shared {
        out.push(&mut s.outline.0);
    }
    out
}

/// Move the corner at `from` (in every outline that has it) to `to`.
pub fn move_vertex(f: &FloorPlanFloor, from: LocalPoint, to: LocalPoint) -> Result<FloorPlanFloor, String> {
    let mut out = f.clone();
    let mut moved = 0;
    for ring in rings_mut(&mut out) {
        for p in ring.iter_mut().filter(|p| same(**p, from)) {
            *p = to;
            moved += 1;
        }
    }
    if moved == 0 {
        return Err(format!("({:.3}, {:.3}) 处没有顶点 / no corner there", from[0], from[1]));
    }
    Ok(out)
}

/// Insert a corner at `at` into every outline with a wall through it.
pub fn insert_vertex(f: &FloorPlanFloor, at: LocalPoint) -> Result<FloorPlanFloor, String> {
    let mut out = f.clone();
    let c = |p: LocalPoint| Coord { x: p[0], y: p[1] };
    let mut inserted = 0;
    for ring in rings_mut(&mut out) {
        if ring.iter().any(|p| same(*p, at)) {
            continue;
        }
        let n = ring.len();
        let edge = (0..n).find(|&k| closest_on_segment(c(at), c(ring[k]), c(ring[(k + 1) % n])).1 <= SAME_CORNER);
        if let Some(k) = edge {
            ring.insert(k + 1, at);
            inserted += 1;
        }
    }
    if inserted == 0 {
        return Err(format!("({:.3}, {:.3}) 不在任何墙线上 / not on any wall", at[0], at[1]));
    }
    Ok(out)
}

/// Delete the corner at `at` from every outline that has it; refused when an
/// outline would keep fewer than three corners.
pub fn delete_vertex(f: &FloorPlanFloor, at: LocalPoint) -> Result<FloorPlanFloor, String> {
    let mut out = f.clone();
    let mut deleted = 0;
    for ring in rings_mut(&mut out) {
        let before = ring.len();
        ring.retain(|p| !same(*p, at));
        if ring.len() < before && ring.len() < 3 {
            return Err("轮廓至少保留三个顶点 / an outline keeps at least three corners".into());
        }
        deleted += before - ring.len();
    }
    if deleted == 0 {
        return Err(format!("({:.3}, {:.3}) 处没有顶点 / no corner there", at[0], at[1]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cadastre_core::floorplan::{HouseholdPlan, Outline};

    /// Two flats side by side sharing the party wall x = 10.
    fn two_flats() -> FloorPlanFloor {
        let h = |hh: &str, x0: f64, x1: f64| HouseholdPlan {
            hh: hh.into(),
            room: String::new(),
            stair_unit: "1".into(),
            outline: Outline::rect(x0, 0.0, x1, 8.0),
            balconies: vec![],
        };
        FloorPlanFloor {
            ljzh: "1".into(),
            floor: 1,
            households: vec![h("0001", 0.0, 10.0), h("0002", 10.0, 20.0)],
            shared: vec![],
        }
    }

    #[test]
    fn a_shared_corner_moves_in_both_outlines_and_the_areas_follow() {
        let f = move_vertex(&two_flats(), [10.0, 8.0], [11.0, 8.0]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.households[0].outline.points()[2], [11.0, 8.0]);
        assert_eq!(f.households[1].outline.points()[3], [11.0, 8.0]);
        // 0001 gains the triangle 0002 loses: 80 + 4, 80 - 4.
        assert!((f.households[0].outline.area() - 84.0).abs() < 1e-9);
        assert!((f.households[1].outline.area() - 76.0).abs() < 1e-9);
        assert!(move_vertex(&two_flats(), [5.0, 5.0], [6.0, 6.0]).is_err());
    }

    #[test]
    fn a_corner_inserted_on_the_party_wall_goes_into_both_and_deletes_from_both() {
        let f = insert_vertex(&two_flats(), [10.0, 4.0]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.households[0].outline.points().len(), 5);
        assert_eq!(f.households[1].outline.points().len(), 5);
        // Moving it bends the wall for both; the sum of the areas stays 160.
        let bent = move_vertex(&f, [10.0, 4.0], [12.0, 4.0]).unwrap_or_else(|e| panic!("{e}"));
        let sum: f64 = bent.households.iter().map(|h| h.outline.area()).sum();
        assert!((sum - 160.0).abs() < 1e-9 && (bent.households[0].outline.area() - 88.0).abs() < 1e-9);
        let back = delete_vertex(&bent, [12.0, 4.0]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, two_flats());
        assert!(insert_vertex(&two_flats(), [5.0, 5.0]).is_err());
    }

    #[test]
    fn a_triangle_keeps_its_three_corners() {
        let mut f = two_flats();
        f.households[0].outline = Outline(vec![[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]]);
        assert!(delete_vertex(&f, [5.0, 0.0]).is_err_and(|e| e.contains("三个顶点")));
    }
}
