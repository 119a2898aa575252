//! Snapping: to an existing boundary point first, then to the nearest edge, within
//! a tolerance (the caller converts the tolerance from screen pixels to metres).

use geo_types::Coord;

use super::document::{Document, FeatureId, PointId};
use super::index::Index;

/// What a position snapped to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SnapTarget {
    /// An existing boundary point (reuse it: the point is then shared).
    Point(PointId),
    /// A parcel edge between two consecutive ring points; a new point goes on it.
    Edge {
        /// The parcel.
        parcel: FeatureId,
        /// Ring start point of the edge.
        a: PointId,
        /// Ring end point of the edge.
        b: PointId,
    },
    /// Nothing within tolerance: a free position.
    Free,
}

/// A snapped position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// Where the vertex goes (the point's position, or the foot on the edge).
    pub at: Coord<f64>,
    /// What it snapped to.
    pub target: SnapTarget,
}

/// The closest point to `p` on segment `a`–`b`, and its distance.
pub fn closest_on_segment(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> (Coord<f64>, f64) {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let foot = Coord { x: a.x + t * dx, y: a.y + t * dy };
    (foot, ((p.x - foot.x).powi(2) + (p.y - foot.y).powi(2)).sqrt())
}

/// Snap `at` within `tolerance` metres: boundary points first (nearest; `skip` ones
/// excluded, e.g. the point being dragged), then parcel edges.
pub fn snap(doc: &Document, index: &Index, at: Coord<f64>, tolerance: f64, skip: &[PointId]) -> Snap {
    if let Some(&(id, _)) = index.points_near(at, tolerance).iter().find(|(id, _)| !skip.contains(id)) {
        if let Some(&c) = doc.points.get(&id) {
            return Snap { at: c, target: SnapTarget::Point(id) };
        }
    }
    let mut best: Option<(f64, Coord<f64>, FeatureId, PointId, PointId)> = None;
    let (min, max) = ([at.x - tolerance, at.y - tolerance], [at.x + tolerance, at.y + tolerance]);
    let mut candidates: Vec<FeatureId> = index.parcels_in(min, max).collect();
    candidates.sort_unstable();
    for pid in candidates {
        let Some(p) = doc.parcels.get(&pid) else { continue };
        for (_, _, ring) in p.outline.rings() {
            for k in 0..ring.len() {
                let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
                if skip.contains(&a) || skip.contains(&b) {
                    continue;
                }
                let (Some(&ca), Some(&cb)) = (doc.points.get(&a), doc.points.get(&b)) else { continue };
                let (foot, d) = closest_on_segment(at, ca, cb);
                if d <= tolerance && best.is_none_or(|(bd, ..)| d < bd) {
                    best = Some((d, foot, pid, a, b));
                }
            }
        }
    }
    match best {
        Some((_, foot, parcel, a, b)) => Snap { at: foot, target: SnapTarget::Edge { parcel, a, b } },
        None => Snap { at, target: SnapTarget::Free },
    }
}
