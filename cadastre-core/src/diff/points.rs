//! Boundary points (界址点) that moved: vertices of a changed parcel that are gone, each
//! paired with the nearest new vertex.

use std::collections::BTreeSet;

use geo_types::{Coord, MultiPolygon};
use serde::{Deserialize, Serialize};

/// A vertex further than this (m) from every vanished one is a new point, not a moved one.
pub const MAX_MOVE_M: f64 = 10.0;

/// One boundary point that moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MovedPoint {
    /// Parcels whose boundary holds the point (ZDDM), with its number there.
    pub parcels: Vec<PointOf>,
    /// Where it was `[x, y]` (x = easting).
    pub from: [f64; 2],
    /// Where it is.
    pub to: [f64; 2],
    /// How far it moved, m.
    pub distance_m: f64,
}

/// A point's parcel and number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PointOf {
    /// 宗地代码.
    pub zddm: String,
    /// 界址点号 in the store's ring order (J1 = first vertex of the outer ring).
    pub jzdh: String,
}

fn key(c: Coord<f64>) -> (i64, i64) {
    // Millimetres: the precision coordinates are recorded in.
    ((c.x * 1000.0).round() as i64, (c.y * 1000.0).round() as i64)
}

/// Vertices without the closing repeat, numbered J1.. over the rings in order.
fn vertices(g: &MultiPolygon<f64>) -> Vec<Coord<f64>> {
    g.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| {
            let n = r.0.len().saturating_sub(usize::from(r.is_closed()));
            r.0[..n].iter().copied()
        })
        .collect()
}

/// Points of `before` that are not in `after`, each paired with the nearest unpaired new
/// vertex within [`MAX_MOVE_M`].
pub fn moved_points(zddm: &str, before: &MultiPolygon<f64>, after: &MultiPolygon<f64>) -> Vec<MovedPoint> {
    let old = vertices(before);
    let new = vertices(after);
    let old_keys: BTreeSet<(i64, i64)> = old.iter().map(|c| key(*c)).collect();
    let new_keys: BTreeSet<(i64, i64)> = new.iter().map(|c| key(*c)).collect();
    let mut candidates: Vec<Coord<f64>> = new.iter().copied().filter(|c| !old_keys.contains(&key(*c))).collect();
    let mut out = Vec::new();
    for (i, c) in old.iter().enumerate() {
        if new_keys.contains(&key(*c)) {
            continue;
        }
        let nearest = candidates
            .iter()
            .enumerate()
            .map(|(j, d)| (j, (d.x - c.x).hypot(d.y - c.y)))
            .filter(|(_, dist)| *dist <= MAX_MOVE_M)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((j, dist)) = nearest {
            let to = candidates.swap_remove(j);
            out.push(MovedPoint {
                parcels: vec![PointOf { zddm: zddm.to_owned(), jzdh: format!("J{}", i + 1) }],
                from: [c.x, c.y],
                to: [to.x, to.y],
                distance_m: (dist * 1000.0).round() / 1000.0,
            });
        }
    }
    out
}

/// One entry per moved point: neighbours sharing it are listed together.
pub(super) fn dedupe<'a>(points: impl Iterator<Item = &'a MovedPoint>) -> Vec<MovedPoint> {
    let mut out: Vec<MovedPoint> = Vec::new();
    for p in points {
        let k = (key(Coord { x: p.from[0], y: p.from[1] }), key(Coord { x: p.to[0], y: p.to[1] }));
        match out
            .iter_mut()
            .find(|q| (key(Coord { x: q.from[0], y: q.from[1] }), key(Coord { x: q.to[0], y: q.to[1] })) == k)
        {
            Some(q) => {
                q.parcels.extend(p.parcels.iter().cloned());
                q.parcels.sort();
            }
            None => out.push(p.clone()),
        }
    }
    out
}
