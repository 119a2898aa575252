//! Spatial indexes and reverse maps over a [`Document`], kept current edit by edit.

use std::collections::HashMap;

use geo::BoundingRect;
use geo_types::{Coord, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use super::document::{Document, FeatureId, ParcelFeature, PointId};
use super::edit::Edit;

type PointEntry = GeomWithData<[f64; 2], PointId>;
type BoxEntry = GeomWithData<Rectangle<[f64; 2]>, FeatureId>;

/// R*-trees of points, parcel and building boxes; which parcels use each point;
/// a revision per feature so drawing caches know what to rebuild.
#[derive(Debug, Default)]
pub struct Index {
    points: RTree<PointEntry>,
    parcels: RTree<BoxEntry>,
    buildings: RTree<BoxEntry>,
    parcel_box: HashMap<FeatureId, Rectangle<[f64; 2]>>,
    building_box: HashMap<FeatureId, Rectangle<[f64; 2]>>,
    users: HashMap<PointId, Vec<FeatureId>>,
    revision: HashMap<FeatureId, u64>,
    building_revision: HashMap<FeatureId, u64>,
    /// Incremented by every edit.
    pub generation: u64,
}

fn rect_of(mp: &MultiPolygon<f64>) -> Option<Rectangle<[f64; 2]>> {
    mp.bounding_rect().map(|r| Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]))
}

fn outline_rect(doc: &Document, p: &ParcelFeature) -> Option<Rectangle<[f64; 2]>> {
    let mut it = p.outline.point_ids().filter_map(|id| doc.points.get(&id));
    let first = it.next()?;
    let (mut lo, mut hi) = ([first.x, first.y], [first.x, first.y]);
    for c in it {
        lo = [lo[0].min(c.x), lo[1].min(c.y)];
        hi = [hi[0].max(c.x), hi[1].max(c.y)];
    }
    Some(Rectangle::from_corners(lo, hi))
}

impl Index {
    /// Build all indexes (bulk-loaded R*-trees). The buildings' tree is built on a
    /// second thread while this one does the points and parcels.
    pub fn build(doc: &Document) -> Self {
        let ((building_box, buildings), (points, parcel_box, parcels, users)) = std::thread::scope(|s| {
            let b = s.spawn(|| {
                let building_box: HashMap<FeatureId, Rectangle<[f64; 2]>> =
                    doc.buildings.iter().filter_map(|(&id, b)| rect_of(&b.footprint).map(|r| (id, r))).collect();
                let tree = RTree::bulk_load(building_box.iter().map(|(&id, r)| BoxEntry::new(*r, id)).collect());
                (building_box, tree)
            });
            let p = Self::build_parcels(doc);
            // A panic there is a bug, not bad input: pass it on.
            let b = b.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            (b, p)
        });
        Self {
            points,
            parcels,
            buildings,
            parcel_box,
            building_box,
            users,
            revision: HashMap::new(),
            building_revision: HashMap::new(),
            generation: 0,
        }
    }

    #[allow(clippy::type_complexity)]
    fn build_parcels(
        doc: &Document,
    ) -> (RTree<PointEntry>, HashMap<FeatureId, Rectangle<[f64; 2]>>, RTree<BoxEntry>, HashMap<PointId, Vec<FeatureId>>)
    {
        let points = RTree::bulk_load(doc.points.iter().map(|(&id, c)| PointEntry::new([c.x, c.y], id)).collect());
        let mut parcel_box = HashMap::with_capacity(doc.parcels.len());
        let mut users: HashMap<PointId, Vec<FeatureId>> = HashMap::with_capacity(doc.points.len());
        for (&id, p) in &doc.parcels {
            if let Some(r) = outline_rect(doc, p) {
                parcel_box.insert(id, r);
            }
            for pid in p.outline.point_ids() {
                let u = users.entry(pid).or_default();
                if !u.contains(&id) {
                    u.push(id);
                }
            }
        }
        let parcels = RTree::bulk_load(parcel_box.iter().map(|(&id, r)| BoxEntry::new(*r, id)).collect());
        (points, parcel_box, parcels, users)
    }

    /// Parcels using a point.
    pub fn users(&self, point: PointId) -> &[FeatureId] {
        self.users.get(&point).map_or(&[], Vec::as_slice)
    }

    /// Revision of a parcel (0 until it is first edited).
    pub fn revision(&self, parcel: FeatureId) -> u64 {
        self.revision.get(&parcel).copied().unwrap_or(0)
    }

    /// Revision of a building.
    pub fn building_revision(&self, building: FeatureId) -> u64 {
        self.building_revision.get(&building).copied().unwrap_or(0)
    }

    /// Parcels whose bounding box meets the envelope `[min, max]`.
    pub fn parcels_in(&self, min: [f64; 2], max: [f64; 2]) -> impl Iterator<Item = FeatureId> + '_ {
        self.parcels.locate_in_envelope_intersecting(&AABB::from_corners(min, max)).map(|e| e.data)
    }

    /// Buildings whose bounding box meets the envelope.
    pub fn buildings_in(&self, min: [f64; 2], max: [f64; 2]) -> impl Iterator<Item = FeatureId> + '_ {
        self.buildings.locate_in_envelope_intersecting(&AABB::from_corners(min, max)).map(|e| e.data)
    }

    /// Points within `radius` of `at`, nearest first.
    pub fn points_near(&self, at: Coord<f64>, radius: f64) -> Vec<(PointId, f64)> {
        let mut v: Vec<(PointId, f64)> = self
            .points
            .locate_within_distance([at.x, at.y], radius * radius)
            .map(|e| {
                let p = e.geom();
                (e.data, ((p[0] - at.x).powi(2) + (p[1] - at.y).powi(2)).sqrt())
            })
            .collect();
        v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Bounding box of a parcel.
    pub fn parcel_bbox(&self, id: FeatureId) -> Option<([f64; 2], [f64; 2])> {
        self.parcel_box.get(&id).map(|r| (r.lower(), r.upper()))
    }

    /// Bounding box of all parcels and buildings.
    pub fn extent(&self) -> Option<([f64; 2], [f64; 2])> {
        let a = self.parcels.root().envelope();
        let b = self.buildings.root().envelope();
        let mut out: Option<([f64; 2], [f64; 2])> = None;
        for env in [a, b] {
            if env.lower()[0] > env.upper()[0] {
                continue; // empty tree
            }
            out = Some(match out {
                None => (env.lower(), env.upper()),
                Some((lo, hi)) => (
                    [lo[0].min(env.lower()[0]), lo[1].min(env.lower()[1])],
                    [hi[0].max(env.upper()[0]), hi[1].max(env.upper()[1])],
                ),
            });
        }
        out
    }

    /// Number of indexed parcels.
    pub fn parcel_count(&self) -> usize {
        self.parcel_box.len()
    }

    fn bump(&mut self, parcel: FeatureId) {
        *self.revision.entry(parcel).or_default() += 1;
    }

    fn unindex_parcel(&mut self, id: FeatureId, p: &ParcelFeature) {
        if let Some(r) = self.parcel_box.remove(&id) {
            self.parcels.remove(&BoxEntry::new(r, id));
        }
        for pid in p.outline.point_ids() {
            if let Some(u) = self.users.get_mut(&pid) {
                u.retain(|&x| x != id);
                if u.is_empty() {
                    self.users.remove(&pid);
                }
            }
        }
        self.bump(id);
    }

    fn index_parcel(&mut self, doc: &Document, id: FeatureId, p: &ParcelFeature) {
        if let Some(r) = outline_rect(doc, p) {
            self.parcels.insert(BoxEntry::new(r, id));
            self.parcel_box.insert(id, r);
        }
        for pid in p.outline.point_ids() {
            let u = self.users.entry(pid).or_default();
            if !u.contains(&id) {
                u.push(id);
            }
        }
        self.bump(id);
    }

    fn reindex_building(&mut self, id: FeatureId, footprint: Option<&MultiPolygon<f64>>) {
        if let Some(r) = self.building_box.remove(&id) {
            self.buildings.remove(&BoxEntry::new(r, id));
        }
        if let Some(r) = footprint.and_then(rect_of) {
            self.buildings.insert(BoxEntry::new(r, id));
            self.building_box.insert(id, r);
        }
        *self.building_revision.entry(id).or_default() += 1;
    }

    /// Update after `edit` was applied to `doc` (so `doc` is the state after it).
    pub fn after_edit(&mut self, doc: &Document, edit: &Edit) {
        self.generation += 1;
        match edit {
            Edit::AddPoint { id, at } => self.points.insert(PointEntry::new([at.x, at.y], *id)),
            Edit::RemovePoint { id, at } => {
                self.points.remove(&PointEntry::new([at.x, at.y], *id));
            }
            Edit::MovePoint { id, from, to } => {
                self.points.remove(&PointEntry::new([from.x, from.y], *id));
                self.points.insert(PointEntry::new([to.x, to.y], *id));
                for parcel in self.users(*id).to_vec() {
                    if let Some(p) = doc.parcels.get(&parcel) {
                        let p = p.clone();
                        self.unindex_parcel(parcel, &p);
                        self.index_parcel(doc, parcel, &p);
                    }
                }
            }
            Edit::AddParcel { id, parcel } => self.index_parcel(doc, *id, parcel),
            Edit::RemoveParcel { id, parcel } => self.unindex_parcel(*id, parcel),
            Edit::ReplaceParcel { id, from, to } => {
                self.unindex_parcel(*id, from);
                self.index_parcel(doc, *id, to);
            }
            Edit::AddBuilding { id, building } => self.reindex_building(*id, Some(&building.footprint)),
            Edit::RemoveBuilding { id, .. } => self.reindex_building(*id, None),
            Edit::ReplaceBuilding { id, to, .. } => self.reindex_building(*id, Some(&to.footprint)),
            Edit::Units(_) => {}
        }
    }
}
