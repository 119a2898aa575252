//! The floor plan (分层分户图) of the walk-up building: the format of
//! `cadastre_core::floorplan::FloorPlan` (`docs/floorplan.md`), written here
//! as JSON in the committed files' key order and rounding.
//!
//! Drawn on wall centre lines inside the footprint (240 mm outer walls, so the
//! centre-line outline is the footprint less 0.12 m all round): two stair
//! units along the long side, each with a smaller flat (x02) on one side, a
//! stairwell at the unit's entrance and an L-shaped larger flat (x01) around
//! it; an open balcony on x02, an enclosed one on x01. No randomness: the
//! other sample files do not change.

use geo_types::Polygon;
use serde_json::{json, Value};

use crate::tables::HouseholdRow;

/// Half the outer wall: the footprint is the outer face, the plan the centre line.
const HALF_OUTER: f64 = 0.12;
/// Stairwell width (m).
const STAIR_W: f64 = 2.6;
/// Balcony depth (m).
const BALCONY: f64 = 1.5;

fn r3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A rectangle in the unit frame (u across the building, v along it).
fn rect(u0: f64, v0: f64, u1: f64, v1: f64) -> Vec<[f64; 2]> {
    vec![[u0, v0], [u1, v0], [u1, v1], [u0, v1]]
}

/// The floor plan JSON of a walk-up with two stair units, or `None` when the
/// table has no such households or the footprint is too small (under 8 m across
/// or 16 m along).
#[must_use]
pub fn walkup(zrzh: &str, footprint: &Polygon<f64>, rows: &[HouseholdRow]) -> Option<String> {
    let xs = footprint.exterior().0.iter().map(|c| c.x);
    let ys = footprint.exterior().0.iter().map(|c| c.y);
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (y0, y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (w, h) = (r3(x1 - x0 - 2.0 * HALF_OUTER), r3(y1 - y0 - 2.0 * HALF_OUTER));
    // u runs across the building, v along its long side (the stair units follow v).
    let along_y = h >= w;
    let (across, along) = if along_y { (w, h) } else { (h, w) };
    let band = r3(along / 2.0);
    if band < 8.0 || across < 8.0 {
        // Too small for two flats and a stairwell per stair unit.
        return None;
    }
    // The smaller flat ≈ 89.5 m², the stairwell sized so the larger one ≈ 112 m².
    let small_w = r2((89.5 / band).min(across / 2.0));
    let stair_d = r2(((across - small_w) * band - 112.0) / STAIR_W).clamp(3.0, band - 2.0);
    let to_xy = |pts: Vec<[f64; 2]>| -> Value {
        let pts: Vec<[f64; 2]> =
            pts.into_iter().map(|[u, v]| if along_y { [r3(u), r3(v)] } else { [r3(v), r3(u)] }).collect();
        json!(pts)
    };
    // Unit k (0, 1): band v ∈ [k·band, (k+1)·band]; unit 2 is unit 1 mirrored so each
    // stairwell opens on an end of the building.
    let unit = |k: usize| {
        let (b0, b1) = (band * k as f64, band * (k as f64 + 1.0));
        let mirror = |v: f64| if k == 0 { v } else { b1 - (v - b0) };
        let m = |pts: Vec<[f64; 2]>| -> Vec<[f64; 2]> { pts.into_iter().map(|[u, v]| [u, mirror(v)]).collect() };
        let small = m(rect(0.0, b0, small_w, b1));
        let stair = m(rect(small_w, b0, small_w + STAIR_W, b0 + stair_d));
        let large = m(vec![
            [small_w, b0 + stair_d],
            [small_w + STAIR_W, b0 + stair_d],
            [small_w + STAIR_W, b0],
            [across, b0],
            [across, b1],
            [small_w, b1],
        ]);
        // Balconies beyond the outer face of the outer wall.
        let open = m(rect(-HALF_OUTER - BALCONY, b0 + 3.0, -HALF_OUTER, b0 + 6.6));
        let closed = m(rect(across + HALF_OUTER, b1 - 4.6, across + HALF_OUTER + BALCONY, b1 - 1.0));
        (small, stair, large, open, closed)
    };
    let mut floors = Vec::new();
    let mut levels: Vec<i32> = rows.iter().map(|r| r.myc).collect();
    levels.sort_unstable();
    levels.dedup();
    for f in levels {
        let mut households = Vec::new();
        let mut shared = Vec::new();
        for (k, dyh) in ["1", "2"].into_iter().enumerate() {
            let (small, stair, large, open, closed) = unit(k);
            let find =
                |room: u32| rows.iter().find(|r| r.myc == f && r.dyh == dyh && r.shbw == format!("{f}{room:02}"));
            let (big, little) = (find(1)?, find(2)?);
            households.push(json!({
                "HH": format!("{:04}", big.hh), "SHBW": big.shbw, "DYH": dyh, "outline": to_xy(large),
                "balconies": [{"outline": to_xy(closed), "enclosed": true}],
            }));
            households.push(json!({
                "HH": format!("{:04}", little.hh), "SHBW": little.shbw, "DYH": dyh, "outline": to_xy(small),
                "balconies": [{"outline": to_xy(open), "enclosed": false}],
            }));
            shared.push(json!({
                "id": format!("stair{dyh}"), "kind": "stairwell", "name": format!("{dyh}单元楼梯间"),
                "outline": to_xy(stair), "serves": {"building": true},
            }));
        }
        let ljzh = rows.iter().find(|r| r.myc == f).map_or("1", |r| r.ljzh.as_str());
        floors.push(json!({"LJZH": ljzh, "MYC": f, "households": households, "shared": shared}));
    }
    let plan = json!({
        "ZRZH": zrzh,
        "walls": {"outer": 0.24, "party": 0.2, "shared": 0.2},
        "placement": {"x": r3(x0 + HALF_OUTER), "y": r3(y0 + HALF_OUTER), "rotation": 0.0},
        "floors": floors,
    });
    let mut s = serde_json::to_string_pretty(&plan).ok()?;
    s.push('\n');
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn a_footprint_too_small_gets_no_plan() {
        let tiny = polygon![(x: 0.0, y: 0.0), (x: 6.0, y: 0.0), (x: 6.0, y: 10.0), (x: 0.0, y: 10.0)];
        assert_eq!(walkup("330106001001GB00002F0001", &tiny, &[]), None);
    }
}
