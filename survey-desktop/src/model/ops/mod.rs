//! Edit operations: each builds a [`Command`] from the current document without
//! changing it; the [`super::Editor`] executes it. Shared boundary points stay
//! shared: a vertex snapped to a point reuses it, a vertex on an edge is inserted
//! into every parcel that has that edge, and moving a point moves it everywhere.

mod builder;
pub use builder::Builder;
mod merge;
mod split;

pub use merge::merge_parcels;
pub use split::split_parcel;

use cadastre_core::model::{BuildingAttributes, ParcelAttributes};
use cadastre_core::unit_code::{BuildingCode, ParcelCode};
use geo::{Area, Centroid, Contains};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use super::document::{BuildingFeature, Document, FeatureId, Outline, ParcelFeature, PointId};
use super::edit::{Command, Edit, EditError};
use super::index::Index;
use super::snap::{Snap, SnapTarget};

/// Twice the signed area of a ring (positive = counter-clockwise), relative to its first vertex.
pub fn signed_area2(cs: &[Coord<f64>]) -> f64 {
    let Some(&o) = cs.first() else { return 0.0 };
    let n = cs.len();
    (0..n)
        .map(|i| {
            let (a, b) = (cs[i], cs[(i + 1) % n]);
            (a.x - o.x) * (b.y - o.y) - (b.x - o.x) * (a.y - o.y)
        })
        .sum()
}

/// Planar area rounded to 0.01 m², as ZDMJ is recorded.
fn recorded_area(mp: &MultiPolygon<f64>) -> f64 {
    (mp.unsigned_area() * 100.0).round() / 100.0
}

/// The next parcel code with the first 14 characters of `like` (county, district,
/// sub-district, ownership and type), numbered after the highest one in use.
pub fn next_parcel_code(doc: &Document, like: &str) -> String {
    let prefix: String = like.chars().take(14).collect();
    let max = doc
        .parcels
        .values()
        .filter_map(|p| p.zddm.parse::<ParcelCode>().ok())
        .filter(|c| c.as_str().starts_with(&prefix))
        .map(|c| c.sequence())
        .max()
        .unwrap_or(0);
    format!("{prefix}{:05}", max + 1)
}

/// The next building number 自然幢号 on a parcel: ZDDM + "F" + 4 digits.
pub fn next_building_code(doc: &Document, zddm: &str) -> String {
    let max = doc
        .buildings
        .values()
        .filter_map(|b| b.zrzh.parse::<BuildingCode>().ok())
        .filter(|c| c.parcel().as_str() == zddm)
        .map(|c| u32::from(c.number()))
        .max()
        .unwrap_or(0);
    format!("{zddm}F{:04}", max + 1)
}

/// Draw a new parcel through snapped vertices (at least three). Vertices on a
/// neighbour's edge become new points shared with it; the ring is stored clockwise.
pub fn draw_parcel(
    doc: &Document,
    index: &Index,
    vertices: &[Snap],
    zddm: String,
    attributes: ParcelAttributes,
) -> Result<Command, EditError> {
    let mut b = Builder::new(doc, index);
    let mut ring: Vec<PointId> = Vec::new();
    for v in vertices {
        let id = match v.target {
            SnapTarget::Point(id) => id,
            SnapTarget::Edge { a, b: end, .. } => {
                let id = b.add_point(v.at);
                b.insert_on_edge(a, end, id, v.at);
                id
            }
            SnapTarget::Free => b.add_point(v.at),
        };
        if ring.last() != Some(&id) {
            ring.push(id);
        }
    }
    if ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    let mut seen = ring.clone();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() != ring.len() || ring.len() < 3 {
        return Err(EditError::Invalid(
            "a parcel needs at least three different points / 宗地至少需要三个不同的界址点".into(),
        ));
    }
    let coords: Vec<Coord<f64>> = ring.iter().filter_map(|&id| b.coord(id)).collect();
    let a2 = signed_area2(&coords);
    if a2.abs() < 1e-9 {
        return Err(EditError::Invalid("the parcel has no area / 宗地面积为零".into()));
    }
    if a2 > 0.0 {
        ring.reverse();
    }
    let outline = Outline(vec![vec![ring]]);
    let mut parcel = ParcelFeature { zddm, outline, attributes };
    parcel.attributes.zdmj = Some(recorded_area(&b.geometry(&parcel.outline)));
    let id = doc.next_parcel_id();
    Ok(b.finish("绘制宗地 / draw parcel", vec![Edit::AddParcel { id, parcel: Box::new(parcel) }]))
}

/// Move a boundary point: one edit, every parcel using the point follows.
pub fn move_point(doc: &Document, id: PointId, to: Coord<f64>) -> Result<Command, EditError> {
    let from = *doc.points.get(&id).ok_or(EditError::Point(id))?;
    if from == to {
        return Ok(Command::new("移动界址点 / move boundary point", Vec::new()));
    }
    Ok(Command::new("移动界址点 / move boundary point", vec![Edit::MovePoint { id, from, to }]))
}

/// Insert a new point on the edge `a`–`b` (in every parcel having that edge).
pub fn insert_vertex(
    doc: &Document,
    index: &Index,
    a: PointId,
    b_id: PointId,
    at: Coord<f64>,
) -> Result<Command, EditError> {
    let mut b = Builder::new(doc, index);
    let id = b.add_point(at);
    if b.insert_on_edge(a, b_id, id, at) == 0 {
        return Err(EditError::Invalid(format!("no ring has the edge {a}–{b_id}")));
    }
    Ok(b.finish("插入界址点 / insert boundary point", Vec::new()))
}

/// Delete a boundary point from every parcel using it (each ring keeps at least three points).
pub fn delete_vertex(doc: &Document, index: &Index, id: PointId) -> Result<Command, EditError> {
    let mut b = Builder::new(doc, index);
    for parcel in index.users(id).to_vec() {
        let p = b.parcel_mut(parcel).ok_or(EditError::Parcel(parcel))?;
        for rings in &mut p.outline.0 {
            for ring in rings.iter_mut() {
                ring.retain(|&x| x != id);
                if ring.len() < 3 {
                    return Err(EditError::Invalid(
                        "a ring would keep fewer than three points / 删除后界址线少于三点".into(),
                    ));
                }
            }
        }
    }
    b.remove_unused(&[id]);
    Ok(b.finish("删除界址点 / delete boundary point", Vec::new()))
}

/// Delete a parcel and the boundary points only it used.
pub fn delete_parcel(doc: &Document, index: &Index, id: FeatureId) -> Result<Command, EditError> {
    let p = doc.parcels.get(&id).ok_or(EditError::Parcel(id))?;
    let mut b = Builder::new(doc, index);
    b.drop_parcel(id);
    let pts: Vec<PointId> = p.outline.point_ids().collect();
    b.remove_unused(&pts);
    let edits = vec![Edit::RemoveParcel { id, parcel: Box::new(p.clone()) }];
    Ok(b.finish_with_front(edits, "删除宗地 / delete parcel"))
}

/// Change a parcel's code and attributes.
pub fn set_parcel_attributes(
    doc: &Document,
    id: FeatureId,
    zddm: String,
    attributes: ParcelAttributes,
) -> Result<Command, EditError> {
    let from = doc.parcels.get(&id).ok_or(EditError::Parcel(id))?;
    let to = ParcelFeature { zddm, outline: from.outline.clone(), attributes };
    if &to == from {
        return Ok(Command::new("宗地属性 / parcel attributes", Vec::new()));
    }
    Ok(Command::new(
        "宗地属性 / parcel attributes",
        vec![Edit::ReplaceParcel { id, from: Box::new(from.clone()), to: Box::new(to) }],
    ))
}

/// Change a building's number and attributes.
pub fn set_building_attributes(
    doc: &Document,
    id: FeatureId,
    zrzh: String,
    attributes: BuildingAttributes,
) -> Result<Command, EditError> {
    let from = doc.buildings.get(&id).ok_or(EditError::Building(id))?;
    let to = BuildingFeature { zrzh, attributes, ..from.clone() };
    if &to == from {
        return Ok(Command::new("幢属性 / building attributes", Vec::new()));
    }
    Ok(Command::new(
        "幢属性 / building attributes",
        vec![Edit::ReplaceBuilding { id, from: Box::new(from.clone()), to: Box::new(to) }],
    ))
}

/// The parcel containing a position (the lowest id when parcels overlap).
pub fn parcel_at(doc: &Document, index: &Index, at: Coord<f64>) -> Option<FeatureId> {
    let mut ids: Vec<FeatureId> = index.parcels_in([at.x, at.y], [at.x, at.y]).collect();
    ids.sort_unstable();
    ids.into_iter().find(|&id| doc.parcel_geometry(id).is_some_and(|g| g.contains(&geo_types::Point(at))))
}

/// Draw a building footprint (vertices already snapped); it belongs to the parcel
/// containing its centroid and is numbered after that parcel's other buildings.
pub fn draw_building(doc: &Document, index: &Index, vertices: &[Coord<f64>]) -> Result<Command, EditError> {
    let mut cs: Vec<Coord<f64>> = Vec::new();
    for &c in vertices {
        if cs.last() != Some(&c) {
            cs.push(c);
        }
    }
    if cs.len() > 1 && cs.first() == cs.last() {
        cs.pop();
    }
    if cs.len() < 3 || signed_area2(&cs).abs() < 1e-9 {
        return Err(EditError::Invalid("a building needs at least three points and an area / 幢基底至少三点".into()));
    }
    if signed_area2(&cs) > 0.0 {
        cs.reverse();
    }
    let mut closed = cs.clone();
    closed.push(cs[0]);
    let footprint = MultiPolygon(vec![Polygon::new(LineString(closed), Vec::new())]);
    let centre = footprint.centroid().map(|p| p.0).ok_or_else(|| EditError::Invalid("no centroid".into()))?;
    let parcel = parcel_at(doc, index, centre)
        .ok_or_else(|| EditError::Invalid("a building must stand inside a parcel / 幢应位于宗地内".into()))?;
    let zddm = doc.parcels.get(&parcel).map(|p| p.zddm.clone()).unwrap_or_default();
    let zrzh = next_building_code(doc, &zddm);
    let attributes = BuildingAttributes { zzdmj: Some(recorded_area(&footprint)), ..Default::default() };
    let building = BuildingFeature { zrzh, zddm, footprint, attributes };
    let id = doc.next_building_id();
    Ok(Command::new("绘制幢 / draw building", vec![Edit::AddBuilding { id, building: Box::new(building) }]))
}

/// Replace a parcel's geometry (a repair): coordinates equal to an existing point
/// reuse it, others become new points; points no longer used are removed.
pub fn replace_parcel_geometry(
    doc: &Document,
    index: &Index,
    id: FeatureId,
    geometry: &MultiPolygon<f64>,
    label: &str,
) -> Result<Command, EditError> {
    let mut b = Builder::new(doc, index);
    let old: Vec<PointId> = doc.parcels.get(&id).ok_or(EditError::Parcel(id))?.outline.point_ids().collect();
    let outline = b.outline_of(geometry);
    let p = b.parcel_mut(id).ok_or(EditError::Parcel(id))?;
    p.outline = outline;
    b.remove_unused(&old);
    Ok(b.finish(label, Vec::new()))
}

#[cfg(test)]
mod tests;

/// Fixtures shared by the crate's unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) use super::tests::two_squares;
}
