//! Block geometry: parcels tiling a street block with exactly shared vertices,
//! an optional parcel sitting in the hole of another, and building footprints.
//!
//! A block is split by a jittered middle line into a south and a north row;
//! split lines cut each row into parcels. Every point of the middle line is
//! computed once and copied into each parcel that touches it, so neighbours
//! share bit-identical vertices and no vertex lies on a neighbour's edge
//! without being one of its vertices (no T-junctions).

use geo_types::Coord;
use rand::Rng;

use crate::layout::Rect;

/// Building setback from every parcel edge, m.
pub const SETBACK: f64 = 3.0;
/// Middle-line points closer than this are merged, so no two distinct
/// vertices of a block are near-misses of each other.
const MERGE: f64 = 3.0;

/// Rounds a coordinate to the millimetre, as a surveyor would record it.
#[must_use]
pub fn mm(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

pub(crate) fn c(x: f64, y: f64) -> Coord<f64> {
    Coord { x: mm(x), y: mm(y) }
}

/// Which part of the block a parcel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// South row, facing the street south of the block.
    South,
    /// North row, facing the street north of the block.
    North,
    /// Inside the hole of another parcel.
    Inner,
    /// The whole block is one parcel.
    Whole,
    /// A small parcel cut from another one's street edge (defect `parcel.tiny`).
    Notch,
}

/// One parcel's geometry before codes and attributes are attached.
#[derive(Debug, Clone, PartialEq)]
pub struct ParcelShape {
    /// Open exterior ring, clockwise, starting at the north-west corner.
    pub exterior: Vec<Coord<f64>>,
    /// Open holes, counter-clockwise.
    pub holes: Vec<Vec<Coord<f64>>>,
    /// Position in the block.
    pub side: Side,
    /// Middle-line point range `(first, last)` on this parcel's boundary.
    pub mid: Option<(usize, usize)>,
    /// Area where buildings may stand (already set back).
    pub safe: Option<Rect>,
}

/// One building footprint (an axis-aligned rectangle inside `safe`).
#[derive(Debug, Clone, PartialEq)]
pub struct BuildingShape {
    /// Index of its parcel in [`BlockShape::parcels`].
    pub parcel: usize,
    /// Footprint.
    pub rect: Rect,
}

/// A block's parcels and buildings.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockShape {
    /// The block rectangle (street edges).
    pub rect: Rect,
    /// Middle-line points, west to east.
    pub mid: Vec<Coord<f64>>,
    /// Parcels: south row west to east (an inner parcel right after its host), then north row.
    pub parcels: Vec<ParcelShape>,
    /// Buildings, grouped by parcel in parcel order.
    pub buildings: Vec<BuildingShape>,
}

/// What kind of block to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockKind {
    /// Parcels forming the tiling (not counting an inner parcel).
    pub tiling: u32,
    /// Put one parcel into the hole of the widest south parcel.
    pub hole: bool,
    /// Village homesteads: small houses, one or two per plot.
    pub village: bool,
}

/// Draws a block.
pub fn draw_block<R: Rng>(rect: Rect, kind: BlockKind, rng: &mut R) -> BlockShape {
    let t = kind.tiling.max(1);
    if t == 1 {
        let p = ParcelShape {
            exterior: vec![c(rect.x0, rect.y1), c(rect.x1, rect.y1), c(rect.x1, rect.y0), c(rect.x0, rect.y0)],
            holes: Vec::new(),
            side: Side::Whole,
            mid: None,
            safe: Some(inset(rect, SETBACK)),
        };
        let mut shape = BlockShape { rect, mid: Vec::new(), parcels: vec![p], buildings: Vec::new() };
        place_buildings(&mut shape, 0, kind.village, rng);
        return shape;
    }
    // Hole blocks get a few wide south parcels so one of them can hold the inner parcel.
    let m = if kind.hole { (t / 3).max(1) } else { t.div_ceil(2) };
    let n = t - m;
    let w = rect.width();
    let ym = rect.y0 + rect.height() * rng.gen_range(0.45..0.55);
    // South split lines: (bottom x, top x).
    let south: Vec<(f64, f64)> = (1..m)
        .map(|i| {
            let top = rect.x0 + w * f64::from(i) / f64::from(m) + rng.gen_range(-0.1..0.1) * w / f64::from(m);
            (mm(top + rng.gen_range(-1.0..1.0)), mm(top))
        })
        .collect();
    let north: Vec<(f64, f64)> = (1..n.max(1))
        .map(|j| {
            let mut bottom =
                mm(rect.x0 + w * f64::from(j) / f64::from(n) + rng.gen_range(-0.1..0.1) * w / f64::from(n));
            if let Some(&(_, s)) = south.iter().find(|(_, s)| (s - bottom).abs() < MERGE) {
                bottom = s; // share the junction instead of a near-miss pair
            }
            (bottom, mm(bottom + rng.gen_range(-1.0..1.0)))
        })
        .collect();
    let mut xs: Vec<f64> = vec![rect.x0, rect.x1];
    xs.extend(south.iter().map(|s| s.1));
    xs.extend(north.iter().map(|s| s.0));
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    // Long straight stretches get an intermediate vertex shared by the two rows.
    let mut all = Vec::with_capacity(xs.len() * 2);
    for win in xs.windows(2) {
        all.push(win[0]);
        if win[1] - win[0] > 30.0 {
            all.push(mm((win[0] + win[1]) / 2.0 + rng.gen_range(-2.0..2.0)));
        }
    }
    all.push(rect.x1);
    let mid: Vec<Coord<f64>> = all.iter().map(|&x| c(x, ym + rng.gen_range(-1.0..1.0))).collect();
    let idx = |x: f64| all.iter().position(|&v| v == x).unwrap_or(0);
    let last = mid.len() - 1;

    let mut parcels = Vec::with_capacity(t as usize + 1);
    for i in 0..m as usize {
        let (bl, a) = if i == 0 { (rect.x0, 0) } else { (south[i - 1].0, idx(south[i - 1].1)) };
        let (br, b) = if i + 1 == m as usize { (rect.x1, last) } else { (south[i].0, idx(south[i].1)) };
        let mut ring: Vec<Coord<f64>> = mid[a..=b].to_vec();
        ring.push(c(br, rect.y0));
        ring.push(c(bl, rect.y0));
        let top = mid[a..=b].iter().map(|p| p.y).fold(f64::INFINITY, f64::min);
        let safe = Rect {
            x0: bl.max(mid[a].x) + SETBACK,
            x1: br.min(mid[b].x) - SETBACK,
            y0: rect.y0 + SETBACK,
            y1: top - SETBACK,
        };
        parcels.push(ParcelShape {
            exterior: ring,
            holes: Vec::new(),
            side: Side::South,
            mid: Some((a, b)),
            safe: Some(safe),
        });
    }
    for j in 0..n as usize {
        let (tl, cc) = if j == 0 { (rect.x0, 0) } else { (north[j - 1].1, idx(north[j - 1].0)) };
        let (tr, d) = if j + 1 == n as usize { (rect.x1, last) } else { (north[j].1, idx(north[j].0)) };
        let mut ring = vec![c(tl, rect.y1), c(tr, rect.y1)];
        ring.extend(mid[cc..=d].iter().rev().copied());
        let bottom = mid[cc..=d].iter().map(|p| p.y).fold(f64::NEG_INFINITY, f64::max);
        let safe = Rect {
            x0: tl.max(mid[cc].x) + SETBACK,
            x1: tr.min(mid[d].x) - SETBACK,
            y0: bottom + SETBACK,
            y1: rect.y1 - SETBACK,
        };
        parcels.push(ParcelShape {
            exterior: ring,
            holes: Vec::new(),
            side: Side::North,
            mid: Some((cc, d)),
            safe: Some(safe),
        });
    }
    let mut shape = BlockShape { rect, mid, parcels, buildings: Vec::new() };
    let mut inner_of = None;
    if kind.hole {
        inner_of = carve_hole(&mut shape);
    }
    for p in 0..shape.parcels.len() {
        if Some(p) == inner_of.map(|h| h + 1) {
            let safe = shape.parcels[p].safe;
            if let Some(s) = safe {
                shape.buildings.push(BuildingShape { parcel: p, rect: s });
            }
        } else {
            place_buildings(&mut shape, p, kind.village, rng);
        }
    }
    shape
}

fn inset(r: Rect, d: f64) -> Rect {
    Rect { x0: r.x0 + d, y0: r.y0 + d, x1: r.x1 - d, y1: r.y1 - d }
}

/// Puts an inner parcel into the widest south parcel. Returns the host index
/// (the inner parcel is inserted right after it), or `None` if none is wide enough.
fn carve_hole(shape: &mut BlockShape) -> Option<usize> {
    let (host, safe) = shape
        .parcels
        .iter()
        .enumerate()
        .filter(|(_, p)| p.side == Side::South)
        .filter_map(|(i, p)| p.safe.map(|s| (i, s)))
        .max_by(|a, b| a.1.width().total_cmp(&b.1.width()))?;
    if safe.width() < 34.0 || safe.height() < 16.0 {
        return None;
    }
    let iw = (safe.width() * 0.35).min(16.0);
    let ih = (safe.height() * 0.5).min(14.0);
    let x1 = mm(safe.x1);
    let x0 = mm(safe.x1 - iw);
    let y0 = mm(safe.y0 + (safe.height() - ih) / 2.0);
    let y1 = mm(y0 + ih);
    let inner = ParcelShape {
        exterior: vec![c(x0, y1), c(x1, y1), c(x1, y0), c(x0, y0)],
        holes: Vec::new(),
        side: Side::Inner,
        mid: None,
        safe: Some(Rect { x0: x0 + 2.0, y0: y0 + 2.0, x1: x1 - 2.0, y1: y1 - 2.0 }),
    };
    let h = &mut shape.parcels[host];
    h.holes.push(vec![c(x0, y1), c(x0, y0), c(x1, y0), c(x1, y1)]);
    h.safe = Some(Rect { x1: x0 - SETBACK, ..safe });
    shape.parcels.insert(host + 1, inner);
    Some(host)
}

/// Places 0-3 buildings in parcel `p`'s safe rectangle, fronts on the street.
pub(crate) fn place_buildings<R: Rng>(shape: &mut BlockShape, p: usize, village: bool, rng: &mut R) {
    let Some(s) = shape.parcels[p].safe else {
        return;
    };
    let (sw, sh) = (s.width(), s.height());
    if sw < 6.0 || sh < 6.0 {
        return;
    }
    let max_n = if village { 2.0 } else { 3.0 };
    let nb = ((sw + 4.0) / 18.0).floor().clamp(1.0, max_n) as usize;
    let slot = (sw - 4.0 * (nb as f64 - 1.0)) / nb as f64;
    let north_front = shape.parcels[p].side == Side::North;
    for k in 0..nb {
        let bw = slot * rng.gen_range(0.6..0.95);
        let depth = (sh * rng.gen_range(0.45..0.85)).min(if village { 12.0 } else { 30.0 }).max(5.0).min(sh);
        let sx = s.x0 + k as f64 * (slot + 4.0);
        let x0 = mm(sx + rng.gen_range(0.0..(slot - bw)));
        let x1 = mm(x0 + bw).min(mm(sx + slot));
        let (y0, y1) = if north_front { (mm(s.y1 - depth), mm(s.y1)) } else { (mm(s.y0), mm(s.y0 + depth)) };
        shape.buildings.push(BuildingShape { parcel: p, rect: Rect { x0, y0, x1, y1 } });
    }
}

/// A rectangle as an open clockwise ring from its north-west corner.
#[must_use]
pub fn rect_ring(r: Rect) -> Vec<Coord<f64>> {
    vec![c(r.x0, r.y1), c(r.x1, r.y1), c(r.x1, r.y0), c(r.x0, r.y0)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::rng;

    fn block(t: u32, hole: bool) -> BlockShape {
        let rect = Rect { x0: 1000.0, y0: 2000.0, x1: 1230.0, y1: 2120.0 };
        draw_block(rect, BlockKind { tiling: t, hole, village: false }, &mut rng(3, u64::from(t)))
    }

    #[test]
    fn parcel_count_matches_tiling_plus_inner() {
        for t in 1..=20 {
            assert_eq!(block(t, false).parcels.len(), t as usize);
        }
        let b = block(12, true);
        assert_eq!(b.parcels.len(), 13);
        assert_eq!(b.parcels.iter().filter(|p| p.side == Side::Inner).count(), 1);
    }

    #[test]
    fn exterior_rings_are_clockwise() {
        for t in [1, 2, 3, 8, 17] {
            for p in block(t, t == 17).parcels {
                let r = &p.exterior;
                let s: f64 = (0..r.len())
                    .map(|i| {
                        let (a, b) = (r[i], r[(i + 1) % r.len()]);
                        (b.x - a.x) * (b.y + a.y)
                    })
                    .sum();
                assert!(s > 0.0, "ring not clockwise for t={t}");
            }
        }
    }

    #[test]
    fn buildings_stay_in_their_safe_rectangle() {
        let b = block(16, true);
        assert!(!b.buildings.is_empty());
        for bd in &b.buildings {
            let s = b.parcels[bd.parcel].safe.expect("safe");
            assert!(bd.rect.x0 >= s.x0 - 1e-9 && bd.rect.x1 <= s.x1 + 1e-9, "{bd:?} {s:?}");
            assert!(bd.rect.y0 >= s.y0 - 1e-9 && bd.rect.y1 <= s.y1 + 1e-9);
            assert!(bd.rect.width() > 3.0 && bd.rect.height() >= 5.0);
        }
    }
}
