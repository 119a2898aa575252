//! Merge adjacent parcels by dropping their shared boundary lines.

use std::collections::BTreeMap;

use geo::Contains;
use geo_types::{Coord, LineString, Point, Polygon};

use super::super::document::{Document, FeatureId, Outline, PointId};
use super::super::edit::{Command, Edit, EditError};
use super::super::index::Index;
use super::builder::Builder;
use super::{recorded_area, signed_area2};

/// Merge `b` into `a`: edges the two parcels share (same two boundary points, in
/// opposite directions since both interiors are on the right) disappear, the rest is
/// chained into rings; clockwise rings are exteriors, counter-clockwise ones holes.
/// `a` keeps its code and attributes; points only the shared lines used are removed.
pub fn merge_parcels(doc: &Document, index: &Index, a: FeatureId, b: FeatureId) -> Result<Command, EditError> {
    if a == b {
        return Err(EditError::Invalid("choose two different parcels / 请选择两个不同的宗地".into()));
    }
    let pa = doc.parcels.get(&a).ok_or(EditError::Parcel(a))?;
    let pb = doc.parcels.get(&b).ok_or(EditError::Parcel(b))?;
    let mut edges: Vec<(PointId, PointId)> = Vec::new();
    for p in [pa, pb] {
        for (_, _, ring) in p.outline.rings() {
            for k in 0..ring.len() {
                edges.push((ring[k], ring[(k + 1) % ring.len()]));
            }
        }
    }
    // Drop each edge together with one opposite copy.
    let mut count: BTreeMap<(PointId, PointId), i32> = BTreeMap::new();
    for &e in &edges {
        *count.entry(e).or_default() += 1;
    }
    let mut shared = 0;
    let mut kept: Vec<(PointId, PointId)> = Vec::new();
    for &(u, v) in &edges {
        let rev = count.get(&(v, u)).copied().unwrap_or(0);
        if rev > 0 && count.get(&(u, v)).copied().unwrap_or(0) > 0 {
            if let Some(c) = count.get_mut(&(v, u)) {
                *c -= 1;
            }
            if let Some(c) = count.get_mut(&(u, v)) {
                *c -= 1;
            }
            shared += 1;
            continue;
        }
        if count.get(&(u, v)).copied().unwrap_or(0) > 0 {
            kept.push((u, v));
        }
    }
    if shared == 0 {
        return Err(EditError::Invalid("the parcels share no boundary line / 两宗地没有公共界址线，不能合并".into()));
    }
    // Chain the remaining edges into rings.
    let mut out_of: BTreeMap<PointId, Vec<PointId>> = BTreeMap::new();
    for &(u, v) in &kept {
        out_of.entry(u).or_default().push(v);
    }
    let mut rings: Vec<Vec<PointId>> = Vec::new();
    while let Some((&start, _)) = out_of.iter().find(|(_, v)| !v.is_empty()) {
        let mut ring = vec![start];
        let mut cur = start;
        loop {
            let Some(next) = out_of.get_mut(&cur).and_then(|v| if v.is_empty() { None } else { Some(v.remove(0)) })
            else {
                return Err(EditError::Invalid("the merged boundary is not closed / 合并后边界不闭合".into()));
            };
            if next == start {
                break;
            }
            ring.push(next);
            cur = next;
        }
        if ring.len() >= 3 {
            rings.push(ring);
        }
    }
    let coords_of =
        |r: &[PointId]| -> Vec<Coord<f64>> { r.iter().filter_map(|id| doc.points.get(id).copied()).collect() };
    let (exteriors, holes): (Vec<Vec<PointId>>, Vec<Vec<PointId>>) =
        rings.into_iter().partition(|r| signed_area2(&coords_of(r)) < 0.0);
    let mut polys: Vec<Vec<Vec<PointId>>> = exteriors.into_iter().map(|e| vec![e]).collect();
    for hole in holes {
        let probe = coords_of(&hole)[0];
        let owner = polys.iter().position(|rings| {
            let mut cs = coords_of(&rings[0]);
            cs.push(cs[0]);
            // The probe is a vertex of the hole, on no exterior edge unless they touch.
            Polygon::new(LineString(cs), Vec::new()).contains(&Point(probe))
        });
        match owner {
            Some(i) => polys[i].push(hole),
            None => return Err(EditError::Invalid("a hole lies outside the merged parcel".into())),
        }
    }
    let mut builder = Builder::new(doc, index);
    let merged = Outline(polys);
    let area = recorded_area(&builder.geometry(&merged));
    builder.drop_parcel(b);
    let target = builder.parcel_mut(a).ok_or(EditError::Parcel(a))?;
    target.outline = merged;
    target.attributes.zdmj = Some(area);
    let candidates: Vec<PointId> = pa.outline.point_ids().chain(pb.outline.point_ids()).collect();
    builder.remove_unused(&candidates);
    Ok(builder.finish_with_front(
        vec![Edit::RemoveParcel { id: b, parcel: Box::new(pb.clone()) }],
        "合并宗地 / merge parcels",
    ))
}
