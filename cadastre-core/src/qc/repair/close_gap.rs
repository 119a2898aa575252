//! Close gaps below tolerance: each `parcel.gap` whose area is at most
//! `rules."parcel.gap".close_max_area` is merged into one neighbouring parcel, the
//! neighbour sharing the longest boundary with the gap (ties: smallest ZDDM, then record
//! number). The merged outline reuses the neighbours' exact vertices, so closing a gap
//! creates no near-miss vertices or slivers. A recorded area ZDMJ that matched the old
//! geometry (to 0.01 m²) is set to the new planar area; any other ZDMJ is left as it was
//! (a disagreement there is the surveyor's to resolve, not the repair's).

use geo::orient::Direction;
use geo::{Area, BooleanOps, MapCoords, Orient};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use super::{Change, GapClosed};
use crate::model::Submission;
use crate::qc::config::QcConfig;
use crate::qc::{check, geom, PARCEL_GAP};

/// Output vertices this close to an input vertex are that vertex (boolean ops round).
const SAME_POINT: f64 = 1e-5;
/// A gap edge lies on a parcel's boundary when its midpoint is this close to it (m).
const ON_BOUNDARY: f64 = 1e-3;

fn code_of(sub: &Submission, i: usize) -> String {
    let p = &sub.parcels[i];
    if p.zddm.trim().is_empty() {
        format!("ZD#{}", p.source_index)
    } else {
        p.zddm.clone()
    }
}

fn shift(mp: &MultiPolygon, o: Coord) -> MultiPolygon {
    mp.map_coords(|c| Coord { x: c.x - o.x, y: c.y - o.y })
}

fn dist2(a: Coord, b: Coord) -> f64 {
    (a.x - b.x).powi(2) + (a.y - b.y).powi(2)
}

/// The gap ring (local coordinates) enclosed by `members` that contains `at`: the
/// smallest hole of their union around that point.
fn gap_ring(local: &[MultiPolygon], at: Coord) -> Option<Polygon> {
    let union = geo::unary_union(local.iter().flat_map(|m| m.0.iter()));
    union
        .0
        .iter()
        .flat_map(|p| p.interiors().iter())
        .map(|h| Polygon::new(h.clone(), vec![]))
        .filter(|h| crate::ring::position(at, &h.exterior().0) == crate::ring::Position::Inside)
        .min_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
}

/// Length of the gap's boundary lying on `parcel`'s boundary.
fn shared_length(gap: &Polygon, parcel: &MultiPolygon) -> f64 {
    gap.exterior()
        .lines()
        .filter(|l| {
            let m = Coord { x: (l.start.x + l.end.x) / 2.0, y: (l.start.y + l.end.y) / 2.0 };
            geom::segments(parcel).any(|(a, b)| geom::point_segment_distance(m, a, b) < ON_BOUNDARY)
        })
        .map(|l| dist2(l.start, l.end).sqrt())
        .sum()
}

/// Put the exact input vertices back into a ring from a boolean op: snap each vertex to
/// the input vertex it stands for, and re-insert input vertices lying on an edge (boolean
/// ops drop collinear vertices, which neighbours still use).
fn restore_ring(ring: &LineString, inputs: &[Coord]) -> LineString {
    let snap = |c: Coord| {
        inputs
            .iter()
            .copied()
            .filter(|v| dist2(*v, c) <= SAME_POINT * SAME_POINT)
            .min_by(|a, b| dist2(*a, c).total_cmp(&dist2(*b, c)))
            .unwrap_or(c)
    };
    let snapped: Vec<Coord> = ring.0.iter().map(|&c| snap(c)).collect();
    let mut out: Vec<Coord> = Vec::with_capacity(snapped.len() * 2);
    for w in snapped.windows(2) {
        let (a, b) = (w[0], w[1]);
        out.push(a);
        let len2 = dist2(a, b);
        if len2 == 0.0 {
            continue;
        }
        let mut on: Vec<(f64, Coord)> = inputs
            .iter()
            .copied()
            .filter(|&v| v != a && v != b && geom::point_segment_distance(v, a, b) < SAME_POINT)
            .map(|v| (((v.x - a.x) * (b.x - a.x) + (v.y - a.y) * (b.y - a.y)) / len2, v))
            .collect();
        on.sort_by(|p, q| p.0.total_cmp(&q.0));
        out.extend(on.into_iter().map(|(_, v)| v));
    }
    if let Some(&last) = snapped.last() {
        out.push(last);
    }
    out.dedup();
    LineString(drop_folds(out))
}

/// Remove fold-backs (… A, B, A …) that snapping a rounding sliver leaves, and the
/// duplicates they expose; the ring stays closed.
fn drop_folds(mut ring: Vec<Coord>) -> Vec<Coord> {
    loop {
        if ring.len() > 1 && ring[0] == ring[ring.len() - 1] {
            ring.pop();
        }
        let n = ring.len();
        let fold = (0..n).find(|&k| n >= 3 && ring[(k + n - 1) % n] == ring[(k + 1) % n]);
        match fold {
            Some(k) => {
                // Drop B and the second A.
                let second = (k + 1) % n;
                let (hi, lo) = if k > second { (k, second) } else { (second, k) };
                ring.remove(hi);
                ring.remove(lo);
                ring.dedup();
            }
            None => {
                if let Some(&first) = ring.first() {
                    ring.push(first);
                }
                return ring;
            }
        }
    }
}

/// Close every reported gap of area at most the tolerance; append one `close_gap`
/// change per gap closed.
pub(super) fn close_gaps(sub: &mut Submission, config: &QcConfig, changes: &mut Vec<Change>) {
    let tol = config.rules.parcel_gap.params.close_max_area;
    if tol <= 0.0 {
        return;
    }
    let report = check(sub, config);
    for finding in report.findings.iter().filter(|f| f.rule == PARCEL_GAP) {
        let at = Coord { x: finding.location[0], y: finding.location[1] };
        let members: Vec<usize> =
            (0..sub.parcels.len()).filter(|&i| finding.objects.iter().any(|o| *o == code_of(sub, i))).collect();
        // Local coordinates keep the boolean ops precise far from the origin.
        let origin = Coord { x: at.x.floor(), y: at.y.floor() };
        let local: Vec<MultiPolygon> =
            members.iter().map(|&i| shift(&sub.parcels[i].geometry, origin).orient(Direction::Default)).collect();
        let here = Coord { x: at.x - origin.x, y: at.y - origin.y };
        let Some(gap) = gap_ring(&local, here) else { continue };
        // The union rounded the gap's vertices; give it the neighbours' exact (local)
        // vertices so that the merge below meets the parcel edge to edge.
        let local_inputs: Vec<Coord> = local.iter().flat_map(geom::vertices).collect();
        let gap = Polygon::new(restore_ring(gap.exterior(), &local_inputs), vec![]);
        let gap_area = gap.unsigned_area();
        if gap_area > tol {
            continue;
        }
        let Some((k, _)) = members
            .iter()
            .zip(&local)
            .enumerate()
            .map(|(k, (&i, m))| (k, (shared_length(&gap, m), i)))
            .filter(|(_, (len, _))| *len > 0.0)
            .max_by(|(_, (la, ia)), (_, (lb, ib))| {
                la.total_cmp(lb).then_with(|| {
                    // Longest first; on a tie the smaller ZDDM / record number wins.
                    let (pa, pb) = (&sub.parcels[*ia], &sub.parcels[*ib]);
                    (&pb.zddm, pb.source_index).cmp(&(&pa.zddm, pa.source_index))
                })
            })
        else {
            continue;
        };
        let i = members[k];
        let merged = local[k].union(&MultiPolygon(vec![gap.clone()]));
        let inputs: Vec<Coord> = members.iter().flat_map(|&j| geom::vertices(&sub.parcels[j].geometry)).collect();
        let back = merged.map_coords(|c| Coord { x: c.x + origin.x, y: c.y + origin.y });
        let ring_ok = |r: &LineString| r.0.len() >= 4;
        let fixed = MultiPolygon(
            back.0
                .iter()
                .map(|p| {
                    Polygon::new(
                        restore_ring(p.exterior(), &inputs),
                        p.interiors().iter().map(|r| restore_ring(r, &inputs)).filter(ring_ok).collect(),
                    )
                })
                .filter(|p| ring_ok(p.exterior()))
                .collect(),
        );
        if fixed.0.is_empty() {
            continue;
        }
        let before = geom::area(&sub.parcels[i].geometry);
        let after = geom::area(&fixed);
        let p = &mut sub.parcels[i];
        p.geometry = fixed;
        let (mut zdmj_before, mut zdmj_after) = (None, None);
        if let Some(recorded) = p.attributes.zdmj.filter(|z| z.is_finite() && (z - before).abs() <= 0.01) {
            let new = (after * 100.0).round() / 100.0;
            p.attributes.zdmj = Some(new);
            (zdmj_before, zdmj_after) = (Some(recorded), Some(new));
        }
        changes.push(Change {
            object: code_of(sub, i),
            action: "close_gap",
            before: [at.x, at.y],
            after: None,
            gap: Some(GapClosed {
                location: [at.x, at.y],
                gap_area,
                area_before: before,
                area_after: after,
                zdmj_before,
                zdmj_after,
            }),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Parcel;
    use crate::qc::repair::repair;
    use crate::qc::{PARCEL_OVERLAP, PARCEL_SLIVER, VERTEX_NEAR_MISS};
    use geo_types::polygon;

    fn parcel(code: &str, p: Polygon) -> Parcel {
        Parcel { zddm: code.into(), geometry: MultiPolygon(vec![p]), attributes: Default::default(), source_index: 0 }
    }

    fn geometric_findings(sub: &Submission) -> Vec<String> {
        check(sub, &QcConfig::default())
            .findings
            .into_iter()
            .filter(|f| [PARCEL_GAP, VERTEX_NEAR_MISS, PARCEL_SLIVER, PARCEL_OVERLAP].contains(&f.rule.as_str()))
            .map(|f| format!("{} {:?}", f.rule, f.objects))
            .collect()
    }

    /// South parcel "S" with its top edge pulled down to (10, 10 - dip) between x = 5 and 15;
    /// north parcel "N" above with a vertex at (10, 10 + bump) on the same stretch.
    fn pair(south: &str, north: &str, dip: f64, bump: f64) -> Submission {
        pair_at(south, north, 10.0, dip, bump)
    }

    /// Like [`pair`] with the dip and bump at `x` (between 5 and 15).
    fn pair_at(south: &str, north: &str, x: f64, dip: f64, bump: f64) -> Submission {
        Submission {
            parcels: vec![
                parcel(
                    south,
                    polygon![(x: 0., y: 0.), (x: 20., y: 0.), (x: 20., y: 10.), (x: 15., y: 10.), (x: x, y: 10. - dip), (x: 5., y: 10.), (x: 0., y: 10.)],
                ),
                parcel(
                    north,
                    polygon![(x: 0., y: 10.), (x: 5., y: 10.), (x: x, y: 10. + bump), (x: 15., y: 10.), (x: 20., y: 10.), (x: 20., y: 20.), (x: 0., y: 20.)],
                ),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn restore_ring_snaps_back_and_reinserts_collinear_vertices() {
        let inputs =
            [Coord { x: 0., y: 0. }, Coord { x: 5., y: 0. }, Coord { x: 10., y: 0. }, Coord { x: 10., y: 10. }];
        // Union output: rounded corner, the collinear (5, 0) dropped.
        let ring = LineString::from(vec![(0.0, 0.0), (10.000_000_1, 0.0), (10.0, 10.0), (0.0, 0.0)]);
        let out = restore_ring(&ring, &inputs);
        assert_eq!(out, LineString::from(vec![(0.0, 0.0), (5.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 0.0)]));
        // A fold-back left by snapping a sliver is removed.
        let folded = vec![
            Coord { x: 0., y: 0. },
            Coord { x: 10., y: 0. },
            Coord { x: 12., y: 0. },
            Coord { x: 10., y: 0. },
            Coord { x: 10., y: 10. },
            Coord { x: 0., y: 0. },
        ];
        assert_eq!(
            drop_folds(folded),
            inputs.iter().copied().filter(|c| c.x != 5.).chain([inputs[0]]).collect::<Vec<_>>()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Any dip / bump: the two parcels fill the 20 × 20 square again, exactly one change,
        /// and no gap, near-miss, sliver or overlap is left.
        #[test]
        fn closing_restores_the_square(x in 6.0f64..14.0, dip in 0.05f64..4.0, bump in 0.0f64..4.0) {
            let sub = pair_at("A", "B", x, dip, bump);
            let (fixed, changes) = repair(&sub, &QcConfig::default());
            proptest::prop_assert_eq!(changes.len(), 1);
            let total: f64 = fixed.parcels.iter().map(|p| geom::area(&p.geometry)).sum();
            proptest::prop_assert!((total - 400.0).abs() < 1e-6, "{}", total);
            let left = geometric_findings(&fixed);
            proptest::prop_assert!(left.is_empty(), "{:?}", left);
        }
    }

    #[test]
    fn gap_goes_to_the_longest_neighbour_and_leaves_shared_vertices() {
        let sub = pair("S", "N", 2.0, 0.0);
        assert_eq!(geometric_findings(&sub), vec!["parcel.gap [\"N\", \"S\"]".to_string()]);
        let (fixed, changes) = repair(&sub, &QcConfig::default());
        assert_eq!(changes.len(), 1, "{changes:?}");
        let c = &changes[0];
        assert_eq!((c.object.as_str(), c.action), ("S", "close_gap"));
        let g = c.gap.unwrap_or_else(|| panic!("no gap details"));
        assert!((g.gap_area - 10.0).abs() < 1e-9, "{g:?}");
        assert!((g.area_before - 190.0).abs() < 1e-9 && (g.area_after - 200.0).abs() < 1e-9, "{g:?}");
        // The south parcel is whole again and uses the north parcel's vertices exactly.
        let ring = &fixed.parcels[0].geometry.0[0].exterior().0;
        for v in [Coord { x: 5., y: 10. }, Coord { x: 15., y: 10. }] {
            assert!(ring.contains(&v), "{ring:?}");
        }
        assert!(!ring.contains(&Coord { x: 10., y: 8. }), "{ring:?}");
        assert_eq!(fixed.parcels[1], sub.parcels[1]);
        assert!(geometric_findings(&fixed).is_empty(), "{:?}", geometric_findings(&fixed));
    }

    #[test]
    fn equal_shares_go_to_the_smaller_code() {
        // A diamond gap: both parcels share two equal edges with it.
        for (south, north) in [("Z2", "Z1"), ("Z1", "Z2")] {
            let sub = pair(south, north, 2.0, 2.0);
            let (fixed, changes) = repair(&sub, &QcConfig::default());
            let objects: Vec<&str> = changes.iter().map(|c| c.object.as_str()).collect();
            assert_eq!(objects, vec!["Z1"]);
            assert!(geometric_findings(&fixed).is_empty(), "{:?}", geometric_findings(&fixed));
            let total: f64 = fixed.parcels.iter().map(|p| geom::area(&p.geometry)).sum();
            assert!((total - 400.0).abs() < 1e-9, "{total}");
        }
    }

    #[test]
    fn gap_above_tolerance_is_left_alone() {
        let sub = pair("S", "N", 2.0, 0.0);
        let mut cfg = QcConfig::default();
        cfg.rules.parcel_gap.params.close_max_area = 9.99;
        let (fixed, changes) = repair(&sub, &cfg);
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(fixed.parcels, sub.parcels);
        assert_eq!(geometric_findings(&fixed).len(), 1);
        cfg.rules.parcel_gap.params.close_max_area = 10.0;
        assert_eq!(repair(&sub, &cfg).1.len(), 1);
    }
}
