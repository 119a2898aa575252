//! Split a parcel along a drawn line.

use geo::Contains;
use geo_types::{Coord, Point};

use super::super::document::{Document, FeatureId, Outline, ParcelFeature, PointId};
use super::super::edit::{Command, Edit, EditError};
use super::super::index::Index;
use super::builder::Builder;
use super::{next_parcel_code, recorded_area, signed_area2};

/// Where the line crosses the ring: position along the line (segment + t), the
/// ring edge, the parameter on it, the point.
#[derive(Debug, Clone, Copy)]
struct Crossing {
    along: f64,
    edge: usize,
    u: f64,
    at: Coord<f64>,
}

fn cross(a: Coord<f64>, b: Coord<f64>) -> f64 {
    a.x * b.y - a.y * b.x
}

fn sub(a: Coord<f64>, b: Coord<f64>) -> Coord<f64> {
    Coord { x: a.x - b.x, y: a.y - b.y }
}

fn crossings(line: &[Coord<f64>], ring: &[Coord<f64>]) -> Vec<Crossing> {
    const EPS: f64 = 1e-12;
    let n = ring.len();
    let mut out: Vec<Crossing> = Vec::new();
    for k in 0..line.len().saturating_sub(1) {
        let (p, r) = (line[k], sub(line[k + 1], line[k]));
        for i in 0..n {
            let (q, s) = (ring[i], sub(ring[(i + 1) % n], ring[i]));
            let denom = cross(r, s);
            if denom.abs() < EPS {
                continue;
            }
            let qp = sub(q, p);
            let (t, u) = (cross(qp, s) / denom, cross(qp, r) / denom);
            if (-1e-9..=1.0 + 1e-9).contains(&t) && (-1e-9..=1.0 + 1e-9).contains(&u) {
                let (t, u) = (t.clamp(0.0, 1.0), u.clamp(0.0, 1.0));
                let at = Coord { x: q.x + u * s.x, y: q.y + u * s.y };
                out.push(Crossing { along: k as f64 + t, edge: i, u, at });
            }
        }
    }
    out.sort_by(|a, b| a.along.total_cmp(&b.along));
    // A crossing through a vertex is found on both of its edges: keep one.
    out.dedup_by(|b, a| (a.at.x - b.at.x).hypot(a.at.y - b.at.y) < 1e-6);
    out
}

/// Split `parcel` (one polygon, no holes) along `line`: the line's first two
/// crossings of the boundary cut it; crossing points become boundary points shared
/// with neighbours on those edges. The part after the entry point in ring order
/// keeps the code, the other part gets `new_code` (default: the next free code).
pub fn split_parcel(
    doc: &Document,
    index: &Index,
    parcel: FeatureId,
    line: &[Coord<f64>],
    new_code: Option<String>,
) -> Result<Command, EditError> {
    let p = doc.parcels.get(&parcel).ok_or(EditError::Parcel(parcel))?;
    let [rings] = p.outline.0.as_slice() else {
        return Err(EditError::Invalid("only single-polygon parcels can be split / 仅能分割单一多边形宗地".into()));
    };
    let [ring] = rings.as_slice() else {
        return Err(EditError::Invalid("parcels with holes cannot be split / 带洞宗地不能分割".into()));
    };
    let coords: Vec<Coord<f64>> = ring.iter().filter_map(|id| doc.points.get(id).copied()).collect();
    let found = crossings(line, &coords);
    let (Some(&c0), Some(&c1)) = (found.first(), found.get(1)) else {
        return Err(EditError::Invalid(
            "the line must cross the parcel boundary twice / 分割线应两次穿过宗地边界".into(),
        ));
    };
    // The interior part of the line: its vertices strictly between the two crossings.
    let inner: Vec<Coord<f64>> =
        (0..line.len()).filter(|&j| (j as f64) > c0.along && (j as f64) < c1.along).map(|j| line[j]).collect();
    let next = inner.first().copied().unwrap_or(c1.at);
    let mid = Point::new((c0.at.x + next.x) / 2.0, (c0.at.y + next.y) / 2.0);
    let geom = doc.outline_geometry(&p.outline);
    if !geom.contains(&mid) {
        return Err(EditError::Invalid("the line must run inside the parcel / 分割线应在宗地内部".into()));
    }
    let mut b = Builder::new(doc, index);
    let n = ring.len();
    let place = |b: &mut Builder, c: Crossing| -> PointId {
        let (a, e) = (ring[c.edge], ring[(c.edge + 1) % n]);
        let len = {
            let (ca, ce) = (coords[c.edge], coords[(c.edge + 1) % n]);
            (ce.x - ca.x).hypot(ce.y - ca.y)
        };
        if c.u * len < 1e-6 {
            a
        } else if (1.0 - c.u) * len < 1e-6 {
            e
        } else {
            let id = b.add_point(c.at);
            b.insert_on_edge(a, e, id, c.at);
            id
        }
    };
    let e0 = place(&mut b, c0);
    let e1 = place(&mut b, c1);
    if e0 == e1 {
        return Err(EditError::Invalid(
            "the line must cross the parcel boundary twice / 分割线应两次穿过宗地边界".into(),
        ));
    }
    let path: Vec<PointId> = inner.iter().map(|&c| b.add_point(c)).collect();
    let updated = b.parcel(parcel).map(|p| p.outline.0[0][0].clone()).ok_or(EditError::Parcel(parcel))?;
    let m = updated.len();
    let (Some(i0), Some(i1)) = (updated.iter().position(|&x| x == e0), updated.iter().position(|&x| x == e1)) else {
        return Err(EditError::Invalid("split points not on the ring".into()));
    };
    let walk = |from: usize, to: usize| -> Vec<PointId> {
        let mut v = vec![updated[from]];
        let mut k = from;
        while k != to {
            k = (k + 1) % m;
            v.push(updated[k]);
        }
        v
    };
    let mut part_a = walk(i0, i1);
    part_a.extend(path.iter().rev());
    let mut part_b = walk(i1, i0);
    part_b.extend(path.iter());
    for part in [&part_a, &part_b] {
        let cs: Vec<Coord<f64>> = part.iter().filter_map(|&id| b.coord(id)).collect();
        if part.len() < 3 || signed_area2(&cs).abs() < 1e-9 {
            return Err(EditError::Invalid("a part would have no area / 分割后某部分面积为零".into()));
        }
    }
    let code = new_code.unwrap_or_else(|| next_parcel_code(doc, &p.zddm));
    let outline_a = Outline(vec![vec![part_a]]);
    let outline_b = Outline(vec![vec![part_b]]);
    let area_a = recorded_area(&b.geometry(&outline_a));
    let area_b = recorded_area(&b.geometry(&outline_b));
    let kept = b.parcel_mut(parcel).ok_or(EditError::Parcel(parcel))?;
    kept.outline = outline_a;
    kept.attributes.zdmj = Some(area_a);
    let mut attributes = p.attributes.clone();
    attributes.zdmj = Some(area_b);
    attributes.bdcdyh = None;
    attributes.bsm = None;
    let new = ParcelFeature { zddm: code, outline: outline_b, attributes };
    let id = doc.next_parcel_id();
    Ok(b.finish("分割宗地 / split parcel", vec![Edit::AddParcel { id, parcel: Box::new(new) }]))
}
