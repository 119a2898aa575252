//! Collects the edits of one operation against working copies of the parcels.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use geo_types::{Coord, MultiPolygon};

use super::super::document::{Document, FeatureId, Outline, ParcelFeature, PointId};
use super::super::edit::{Command, Edit};
use super::super::index::Index;
use super::super::snap::closest_on_segment;

/// Working state of one operation: new points, changed and removed parcels.
pub struct Builder<'a> {
    doc: &'a Document,
    index: &'a Index,
    next_point: PointId,
    new_points: BTreeMap<PointId, Coord<f64>>,
    changed: BTreeMap<FeatureId, ParcelFeature>,
    removed_parcels: BTreeSet<FeatureId>,
    removed_points: BTreeSet<PointId>,
    /// Exact coordinate → point, for reusing points by position.
    by_coord: HashMap<(u64, u64), PointId>,
}

fn key(c: Coord<f64>) -> (u64, u64) {
    let norm = |v: f64| if v == 0.0 { 0.0f64.to_bits() } else { v.to_bits() };
    (norm(c.x), norm(c.y))
}

impl<'a> Builder<'a> {
    pub fn new(doc: &'a Document, index: &'a Index) -> Self {
        Self {
            doc,
            index,
            next_point: doc.next_point_id(),
            new_points: BTreeMap::new(),
            changed: BTreeMap::new(),
            removed_parcels: BTreeSet::new(),
            removed_points: BTreeSet::new(),
            by_coord: HashMap::new(),
        }
    }

    /// A new point.
    pub fn add_point(&mut self, at: Coord<f64>) -> PointId {
        let id = self.next_point;
        self.next_point += 1;
        self.new_points.insert(id, at);
        self.by_coord.insert(key(at), id);
        id
    }

    /// The existing point at exactly `at`, or a new one.
    pub fn point_at(&mut self, at: Coord<f64>) -> PointId {
        if let Some(&id) = self.by_coord.get(&key(at)) {
            return id;
        }
        let existing = self.index.points_near(at, 0.0).into_iter().map(|(id, _)| id).find(|id| {
            !self.removed_points.contains(id) && self.doc.points.get(id).is_some_and(|&c| key(c) == key(at))
        });
        match existing {
            Some(id) => {
                self.by_coord.insert(key(at), id);
                id
            }
            None => self.add_point(at),
        }
    }

    /// An outline for a geometry: rings opened, consecutive duplicates dropped,
    /// oriented interior-right; positions equal to an existing point reuse it.
    /// Rings of fewer than three points are left out.
    pub fn outline_of(&mut self, geometry: &MultiPolygon<f64>) -> Outline {
        let mut polys = Vec::new();
        for poly in &geometry.0 {
            let mut rings = Vec::new();
            for (k, ls) in std::iter::once(poly.exterior()).chain(poly.interiors()).enumerate() {
                let mut cs: Vec<Coord<f64>> = ls.0.clone();
                cs.dedup();
                if cs.len() > 1 && cs.first() == cs.last() {
                    cs.pop();
                }
                if cs.len() < 3 {
                    continue;
                }
                let ccw = super::signed_area2(&cs) > 0.0;
                if (k == 0 && ccw) || (k > 0 && !ccw) {
                    cs.reverse();
                }
                rings.push(cs.into_iter().map(|c| self.point_at(c)).collect());
            }
            if !rings.is_empty() {
                polys.push(rings);
            }
        }
        Outline(polys)
    }

    pub fn coord(&self, id: PointId) -> Option<Coord<f64>> {
        self.new_points.get(&id).or_else(|| self.doc.points.get(&id)).copied()
    }

    /// Geometry of an outline over existing and new points.
    pub fn geometry(&self, outline: &Outline) -> MultiPolygon<f64> {
        let points = outline.point_ids().filter_map(|id| self.coord(id).map(|c| (id, c))).collect();
        Document { points, ..Document::default() }.outline_geometry(outline)
    }

    pub fn parcel(&self, id: FeatureId) -> Option<&ParcelFeature> {
        if self.removed_parcels.contains(&id) {
            return None;
        }
        self.changed.get(&id).or_else(|| self.doc.parcels.get(&id))
    }

    pub fn parcel_mut(&mut self, id: FeatureId) -> Option<&mut ParcelFeature> {
        if self.removed_parcels.contains(&id) {
            return None;
        }
        if !self.changed.contains_key(&id) {
            let p = self.doc.parcels.get(&id)?.clone();
            self.changed.insert(id, p);
        }
        self.changed.get_mut(&id)
    }

    /// The parcel is removed by an edit the caller adds; do not replace it.
    pub fn drop_parcel(&mut self, id: FeatureId) {
        self.changed.remove(&id);
        self.removed_parcels.insert(id);
    }

    /// Insert point `id` at `at` into every ring having the edge `a`–`b` (either
    /// direction), possibly already split by new points of this operation: the
    /// sub-edge nearest `at` gets it. Returns how many rings changed.
    pub fn insert_on_edge(&mut self, a: PointId, b: PointId, id: PointId, at: Coord<f64>) -> usize {
        let mut parcels: BTreeSet<FeatureId> = self.index.users(a).iter().copied().collect();
        parcels.extend(self.index.users(b).iter().copied());
        parcels.extend(self.changed.keys().copied());
        let mut count = 0;
        for pid in parcels {
            let Some(p) = self.parcel(pid) else { continue };
            let mut plan: Vec<(usize, usize, usize)> = Vec::new();
            for (pi, ri, ring) in p.outline.rings() {
                if let Some(pos) = self.chain_position(ring, a, b, at) {
                    plan.push((pi, ri, pos));
                }
            }
            if plan.is_empty() {
                continue;
            }
            if let Some(p) = self.parcel_mut(pid) {
                for &(pi, ri, pos) in &plan {
                    p.outline.0[pi][ri].insert(pos, id);
                    count += 1;
                }
            }
        }
        count
    }

    /// Where to insert a point at `at` between `a` and `b` in `ring`: the chain from
    /// `a` to `b` (or `b` to `a`) may hold new points of this operation.
    fn chain_position(&self, ring: &[PointId], a: PointId, b: PointId, at: Coord<f64>) -> Option<usize> {
        let n = ring.len();
        for (from, to) in [(a, b), (b, a)] {
            for i in (0..n).filter(|&i| ring[i] == from) {
                let mut chain = vec![i];
                let mut j = (i + 1) % n;
                while j != i && self.new_points.contains_key(&ring[j]) && ring[j] != to {
                    chain.push(j);
                    j = (j + 1) % n;
                }
                if ring[j] != to || j == i {
                    continue;
                }
                chain.push(j);
                let mut best: Option<(f64, usize)> = None;
                for w in chain.windows(2) {
                    let (Some(ca), Some(cb)) = (self.coord(ring[w[0]]), self.coord(ring[w[1]])) else { continue };
                    let d = closest_on_segment(at, ca, cb).1;
                    if best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, w[0]));
                    }
                }
                return best.map(|(_, start)| start + 1);
            }
        }
        None
    }

    /// Remove those of `candidates` that no parcel uses any more after this operation.
    pub fn remove_unused(&mut self, candidates: &[PointId]) {
        for &id in candidates {
            if self.removed_points.contains(&id) {
                continue;
            }
            let used_elsewhere = self
                .index
                .users(id)
                .iter()
                .any(|pid| !self.removed_parcels.contains(pid) && !self.changed.contains_key(pid));
            let used_in_changed = self.changed.values().any(|p| p.outline.point_ids().any(|x| x == id));
            if used_elsewhere || used_in_changed {
                continue;
            }
            if self.new_points.remove(&id).is_none() {
                self.removed_points.insert(id);
            }
        }
    }

    /// The command: new points, then the caller's `front` edits (removals), parcel
    /// replacements, the caller's `back` edits (additions), then point removals.
    fn build(self, label: &str, front: Vec<Edit>, back: Vec<Edit>) -> Command {
        let mut edits: Vec<Edit> = self.new_points.iter().map(|(&id, &at)| Edit::AddPoint { id, at }).collect();
        edits.extend(front);
        for (id, to) in self.changed {
            let Some(from) = self.doc.parcels.get(&id) else { continue };
            if from != &to {
                edits.push(Edit::ReplaceParcel { id, from: Box::new(from.clone()), to: Box::new(to) });
            }
        }
        edits.extend(back);
        for id in self.removed_points {
            if let Some(&at) = self.doc.points.get(&id) {
                edits.push(Edit::RemovePoint { id, at });
            }
        }
        Command::new(label, edits)
    }

    pub fn finish(self, label: &str, back: Vec<Edit>) -> Command {
        self.build(label, Vec::new(), back)
    }

    pub fn finish_with_front(self, front: Vec<Edit>, label: &str) -> Command {
        self.build(label, front, Vec::new())
    }
}
