//! Optional repairs with a diff: drop duplicate consecutive vertices (parcels and
//! buildings), snap near-miss parcel vertices onto the position most neighbours use, and
//! close gaps below tolerance ([`close_gap`]). Every change is listed (object, before, after).

pub mod close_gap;

use std::collections::BTreeMap;

use geo_types::{Coord, LineString, MultiPolygon};
use rstar::primitives::GeomWithData;
use rstar::RTree;
use serde::Serialize;

use super::config::QcConfig;
use crate::model::Submission;

/// One change made by a repair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// ZDDM / ZRZH of the object changed.
    pub object: String,
    /// `drop_duplicate_vertex`, `snap_vertex` or `close_gap`.
    pub action: &'static str,
    /// The vertex before, `[x, y]` (for `close_gap`: a point inside the gap).
    pub before: [f64; 2],
    /// The vertex after (`None` when dropped, and for `close_gap`).
    pub after: Option<[f64; 2]>,
    /// For `close_gap`: the gap and the parcel's area before and after.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub gap: Option<GapClosed>,
}

/// What closing one gap did to the parcel that took it over.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GapClosed {
    /// A point inside the former gap, `[x, y]`.
    pub location: [f64; 2],
    /// Area of the gap (m²).
    pub gap_area: f64,
    /// Planar area of the parcel before (m²).
    pub area_before: f64,
    /// Planar area of the parcel after (m²).
    pub area_after: f64,
    /// 宗地面积 ZDMJ recorded before, when it was updated (see [`close_gap`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zdmj_before: Option<f64>,
    /// ZDMJ after: the new planar area to 0.01 m², when it was updated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zdmj_after: Option<f64>,
}

fn dedup_ring(ring: &LineString, tol: f64, object: &str, changes: &mut Vec<Change>) -> LineString {
    let mut out: Vec<Coord> = Vec::with_capacity(ring.0.len());
    let n = ring.0.len();
    for (k, &c) in ring.0.iter().enumerate() {
        let closing = k + 1 == n && n > 1;
        match out.last() {
            Some(&last) if !closing && ((last.x - c.x).powi(2) + (last.y - c.y).powi(2)).sqrt() <= tol => {
                changes.push(Change {
                    object: object.to_string(),
                    action: "drop_duplicate_vertex",
                    before: [c.x, c.y],
                    after: None,
                    gap: None,
                });
            }
            _ => out.push(c),
        }
    }
    // A vertex equal to the closing one just before it is a duplicate too.
    if out.len() > 2 {
        let (last, prev) = (out[out.len() - 1], out[out.len() - 2]);
        if ((last.x - prev.x).powi(2) + (last.y - prev.y).powi(2)).sqrt() <= tol {
            changes.push(Change {
                object: object.to_string(),
                action: "drop_duplicate_vertex",
                before: [prev.x, prev.y],
                after: None,
                gap: None,
            });
            let l = out.len();
            out.remove(l - 2);
        }
    }
    LineString(out)
}

fn map_rings(mp: &MultiPolygon, mut f: impl FnMut(&LineString) -> LineString) -> MultiPolygon {
    MultiPolygon(
        mp.0.iter()
            .map(|p| geo_types::Polygon::new(f(p.exterior()), p.interiors().iter().map(&mut f).collect()))
            .collect(),
    )
}

fn key(c: Coord) -> (u64, u64) {
    (c.x.to_bits(), c.y.to_bits())
}

/// Repair a copy of the submission; returns it with the list of changes.
///
/// ```
/// use cadastre_core::model::{Parcel, Submission};
/// use cadastre_core::qc::{repair::repair, QcConfig};
/// use geo_types::{polygon, MultiPolygon};
/// let mut sub = Submission::default();
/// sub.parcels.push(Parcel {
///     zddm: "330106001001GB00001".into(),
///     geometry: MultiPolygon(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.)]]),
///     attributes: Default::default(),
///     source_index: 0,
/// });
/// let (fixed, changes) = repair(&sub, &QcConfig::default());
/// assert_eq!(changes.len(), 1);
/// assert_eq!(fixed.parcels[0].geometry.0[0].exterior().0.len(), 4); // 3 vertices + closing
/// ```
pub fn repair(sub: &Submission, config: &QcConfig) -> (Submission, Vec<Change>) {
    let dup_tol = config.rules.geometry_duplicate_vertex.params.tolerance;
    let snap_tol = config.rules.vertex_near_miss.params.snap_tolerance;
    let mut out = sub.clone();
    let mut changes = Vec::new();
    for p in &mut out.parcels {
        let code = p.zddm.clone();
        p.geometry = map_rings(&p.geometry, |r| dedup_ring(r, dup_tol, &code, &mut changes));
    }
    for b in &mut out.buildings {
        let code = b.zrzh.clone();
        b.footprint = map_rings(&b.footprint, |r| dedup_ring(r, dup_tol, &code, &mut changes));
    }
    // How many parcels use each exact vertex position.
    let mut users: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    let mut points = Vec::new();
    for p in &out.parcels {
        let mut mine: Vec<Coord> = p
            .geometry
            .0
            .iter()
            .flat_map(|q| std::iter::once(q.exterior()).chain(q.interiors()))
            .flat_map(|r| r.0.iter().copied())
            .filter(|c| c.x.is_finite() && c.y.is_finite())
            .collect();
        mine.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
        mine.dedup();
        for c in mine {
            let e = users.entry(key(c)).or_insert(0);
            if *e == 0 {
                points.push(GeomWithData::new([c.x, c.y], c));
            }
            *e += 1;
        }
    }
    let tree = RTree::bulk_load(points);
    // Target of each position: the position within tolerance used by most parcels
    // (ties: the smallest coordinates), so the result does not depend on input order.
    let target = |c: Coord| -> Option<Coord> {
        let own = users.get(&key(c)).copied().unwrap_or(0);
        let mut best = (own, c);
        for q in tree.locate_within_distance([c.x, c.y], snap_tol * snap_tol) {
            let n = users.get(&key(q.data)).copied().unwrap_or(0);
            let better = n > best.0 || (n == best.0 && (q.data.x, q.data.y) < (best.1.x, best.1.y) && n > own);
            if better {
                best = (n, q.data);
            }
        }
        (best.1 != c).then_some(best.1)
    };
    for p in &mut out.parcels {
        let code = p.zddm.clone();
        p.geometry = map_rings(&p.geometry, |r| {
            let n = r.0.len();
            let closed = n > 1 && r.0[0] == r.0[n - 1];
            LineString(
                r.0.iter()
                    .enumerate()
                    .map(|(k, &c)| match target(c) {
                        Some(t) => {
                            // The closing vertex moves with the first one; list it once.
                            if !(closed && k == n - 1) {
                                changes.push(Change {
                                    object: code.clone(),
                                    action: "snap_vertex",
                                    before: [c.x, c.y],
                                    after: Some([t.x, t.y]),
                                    gap: None,
                                });
                            }
                            t
                        }
                        None => c,
                    })
                    .collect(),
            )
        });
    }
    // Gaps last: they are found on the snapped geometry, whose vertices the merge reuses.
    close_gap::close_gaps(&mut out, config, &mut changes);
    (out, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Parcel;
    use crate::qc::{check, VERTEX_NEAR_MISS};
    use geo_types::polygon;

    fn parcel(code: &str, mp: MultiPolygon) -> Parcel {
        Parcel { zddm: code.into(), geometry: mp, attributes: Default::default(), source_index: 0 }
    }

    #[test]
    fn near_miss_is_snapped_to_the_majority_and_then_passes() {
        // Four squares around (10, 10); the first one's corner is 2 cm off.
        let sub = Submission {
            parcels: vec![
                parcel(
                    "A",
                    MultiPolygon(vec![polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10.02, y: 10.), (x: 0., y: 10.)]]),
                ),
                parcel(
                    "B",
                    MultiPolygon(vec![polygon![(x: 10., y: 0.), (x: 20., y: 0.), (x: 20., y: 10.), (x: 10., y: 10.)]]),
                ),
                parcel(
                    "C",
                    MultiPolygon(vec![polygon![(x: 0., y: 10.), (x: 10., y: 10.), (x: 10., y: 20.), (x: 0., y: 20.)]]),
                ),
                parcel(
                    "D",
                    MultiPolygon(vec![
                        polygon![(x: 10., y: 10.), (x: 20., y: 10.), (x: 20., y: 20.), (x: 10., y: 20.)],
                    ]),
                ),
            ],
            ..Default::default()
        };
        let cfg = QcConfig::default();
        assert!(check(&sub, &cfg).findings.iter().any(|f| f.rule == VERTEX_NEAR_MISS));
        let (fixed, changes) = repair(&sub, &cfg);
        assert_eq!(
            changes,
            vec![Change {
                object: "A".into(),
                action: "snap_vertex",
                before: [10.02, 10.0],
                after: Some([10.0, 10.0]),
                gap: None
            }]
        );
        assert!(!check(&fixed, &cfg).findings.iter().any(|f| f.rule == VERTEX_NEAR_MISS));
    }
}
