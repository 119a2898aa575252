//! What a result package changes (成果变更比对): parcels and buildings added, changed field
//! by field, removed; boundary points moved and by how much; areas before and after;
//! households added, changed and removed per building table; and store parcels that the
//! new geometry overlaps without replacing them (a conflict the reviewer must see).
//!
//! Pure: the caller supplies the store's side (the current rows around the package) and
//! the package's; the server computes it with the check, the desktop can preview it.
//!
//! ```
//! use cadastre_core::diff::{diff, StoreSide};
//! use cadastre_core::model::{Parcel, ParcelAttributes, Submission};
//! use geo_types::{polygon, MultiPolygon};
//! let parcel = |code: &str, x: f64| Parcel {
//!     zddm: code.into(),
//!     geometry: MultiPolygon(vec![polygon![(x: x, y: 0.), (x: x + 10., y: 0.), (x: x + 10., y: 10.), (x: x, y: 10.)]]),
//!     attributes: ParcelAttributes::default(),
//!     source_index: 0,
//! };
//! let store = StoreSide { parcels: vec![parcel("330106001001GB00001", 0.0)], ..Default::default() };
//! let mut package = Submission::default();
//! package.parcels = vec![parcel("330106001001GB00001", 0.3), parcel("T1", 100.0)];
//! let d = diff(&store, &package, &[], &[]);
//! assert_eq!(d.parcels.added.len(), 1);
//! assert_eq!(d.parcels.changed[0].moved_points.len(), 4);
//! assert!((d.moved_points[0].distance_m - 0.3).abs() < 1e-9);
//! ```

mod features;
mod households;
mod points;

pub use households::{area_text, HouseholdChange, HouseholdRecord, PackageHousehold, TableDiff, TableSide};
pub use points::MovedPoint;

use std::collections::{BTreeMap, BTreeSet};

use geo::{BooleanOps, BoundingRect};
use geo_types::MultiPolygon;
use rstar::{RTree, AABB};
use serde::{Deserialize, Serialize};

use crate::area::{round2, PlanarArea};
use crate::model::{Building, Parcel, Submission};
use crate::package::{is_temporary_id, Replacement};

/// The store's side: the current rows the package may touch.
#[derive(Debug, Clone, Default)]
pub struct StoreSide {
    /// Current parcels around the package (its extent, its codes, the replaced codes).
    pub parcels: Vec<Parcel>,
    /// Current buildings of those parcels.
    pub buildings: Vec<Building>,
}

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Standard field name (ZL, ZDMJ, ...).
    pub field: String,
    /// Value in the store (`null` when empty).
    pub before: Option<String>,
    /// Value in the package.
    pub after: Option<String>,
}

/// A feature (parcel or building) in the diff, with its outline for the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureEntry {
    /// ZDDM / ZRZH, or the temporary id of a new feature.
    pub id: String,
    /// The parcel a building stands on (ZDDM or temporary id); empty for parcels.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parcel: String,
    /// Planar area before, m² (removed and changed).
    pub area_before: Option<f64>,
    /// Planar area after, m² (added and changed).
    pub area_after: Option<f64>,
    /// Fields that differ (changed only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Whether the outline moved (changed only).
    #[serde(default)]
    pub geometry_changed: bool,
    /// Boundary points of this parcel that moved (changed parcels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved_points: Vec<MovedPoint>,
    /// Outline after (added, changed) or before (removed), in the data's CRS.
    pub geometry: MultiPolygon<f64>,
    /// Extent `[min_x, min_y, max_x, max_y]` of before and after together, for zooming.
    pub bbox: [f64; 4],
}

/// Added, changed, removed features of one layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerDiff {
    /// New features (temporary ids, or codes the store does not hold).
    pub added: Vec<FeatureEntry>,
    /// Features whose attributes or outline differ from the store's current version.
    pub changed: Vec<FeatureEntry>,
    /// Store features that the package replaces or leaves out of a parcel it carries.
    pub removed: Vec<FeatureEntry>,
    /// Features identical to the store's.
    pub unchanged: usize,
}

/// A replacement of store parcels (split, merge, extinguish) with its areas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplacementDiff {
    /// What the manifest says.
    #[serde(flatten)]
    pub replacement: Replacement,
    /// Σ planar area of the old parcels in the store, m².
    pub area_before: f64,
    /// Σ planar area of the new parcels in the package, m².
    pub area_after: f64,
}

/// A package parcel overlapping a store parcel that the package neither carries nor replaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    /// The package parcel (code or temporary id).
    pub package_parcel: String,
    /// The store parcel.
    pub store_parcel: String,
    /// Overlapping area, m².
    pub area: f64,
    /// Extent of the overlap.
    pub bbox: [f64; 4],
}

/// Everything a package would change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    /// 宗地.
    pub parcels: LayerDiff,
    /// 自然幢.
    pub buildings: LayerDiff,
    /// Boundary points moved, each once even when neighbouring parcels share it.
    pub moved_points: Vec<MovedPoint>,
    /// Splits, merges, extinctions with their areas.
    pub replacements: Vec<ReplacementDiff>,
    /// Households per building table of the package.
    pub tables: Vec<TableDiff>,
    /// Conflicts with store parcels the package does not replace.
    pub overlaps: Vec<Overlap>,
    /// Problems that make the package impossible to accept as it is (a replaced code that
    /// the store does not hold, a replaced code that the package still carries...).
    pub problems: Vec<String>,
    /// What the reviewer should know without it blocking an accept (filled by the caller:
    /// the server names package members it did not use, boundary-point tables that disagree
    /// with the parcels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

impl Diff {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        let layer_empty = |l: &LayerDiff| l.added.is_empty() && l.changed.is_empty() && l.removed.is_empty();
        layer_empty(&self.parcels)
            && layer_empty(&self.buildings)
            && self.replacements.is_empty()
            && self.tables.iter().all(TableDiff::is_empty)
    }
}

/// Overlaps smaller than this (m²) are rounding, not conflicts.
pub const OVERLAP_MIN_M2: f64 = 0.01;

pub(crate) fn bbox_of(geoms: &[&MultiPolygon<f64>]) -> [f64; 4] {
    let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    for g in geoms {
        if let Some(r) = g.bounding_rect() {
            b = [b[0].min(r.min().x), b[1].min(r.min().y), b[2].max(r.max().x), b[3].max(r.max().y)];
        }
    }
    if b[0].is_finite() {
        b
    } else {
        [0.0; 4]
    }
}

/// Compares a package with the store's side. `replaces` is the manifest's list; `tables`
/// pairs each building table of the package with the store's households of that building.
pub fn diff(store: &StoreSide, package: &Submission, replaces: &[Replacement], tables: &[TableSide]) -> Diff {
    let mut out = Diff::default();
    let replaced: BTreeSet<&str> = replaces.iter().flat_map(|r| r.old.iter().map(|c| c.trim())).collect();
    let store_parcels: BTreeMap<&str, &Parcel> = store.parcels.iter().map(|p| (p.zddm.trim(), p)).collect();
    let package_codes: BTreeSet<&str> = package.parcels.iter().map(|p| p.zddm.trim()).collect();

    out.parcels = features::parcels(&store_parcels, package, &replaced);
    out.buildings = features::buildings(store, package, &replaced, &package_codes);
    out.moved_points = points::dedupe(out.parcels.changed.iter().flat_map(|c| c.moved_points.iter()));

    for code in &replaced {
        if !store_parcels.contains_key(code) {
            out.problems
                .push(format!("被替换的宗地 {code} 不在库中 replaced parcel {code} is not current in the store"));
        }
        if package_codes.contains(code) {
            out.problems
                .push(format!("被替换的宗地 {code} 仍在成果包中 replaced parcel {code} is still in the package"));
        }
    }
    let package_by_id: BTreeMap<&str, &Parcel> = package.parcels.iter().map(|p| (p.zddm.trim(), p)).collect();
    for r in replaces {
        let area = |codes: &[String], from: &BTreeMap<&str, &Parcel>| {
            round2(codes.iter().filter_map(|c| from.get(c.trim())).map(|p| p.geometry.planar_area()).sum())
        };
        for new in &r.new {
            if !package_by_id.contains_key(new.trim()) {
                out.problems.push(format!("替换后的宗地 {new} 不在成果包中 new parcel {new} is not in the package"));
            }
        }
        out.replacements.push(ReplacementDiff {
            replacement: r.clone(),
            area_before: area(&r.old, &store_parcels),
            area_after: area(&r.new, &package_by_id),
        });
    }
    out.overlaps = overlaps(store, package, &replaced, &package_codes);
    out.tables = tables.iter().map(households::diff_table).collect();
    let package_buildings: BTreeSet<&str> = package.buildings.iter().map(|b| b.zrzh.trim()).collect();
    let removed_buildings: BTreeSet<&str> = out.buildings.removed.iter().map(|e| e.id.as_str()).collect();
    for t in tables {
        let zrzh = t.zrzh.trim();
        if is_temporary_id(zrzh) && !package_buildings.contains(zrzh) {
            out.problems.push(format!(
                "楼盘表 {zrzh} 无对应的新建自然幢 building table {zrzh} names no new building of the package"
            ));
        }
        if removed_buildings.contains(zrzh) {
            out.problems.push(format!(
                "楼盘表 {zrzh} 的自然幢被本成果包注销 building table {zrzh} is of a building the package retires: \
                 give it the temporary id of the building that replaces it"
            ));
        }
    }
    out
}

/// Package parcels (added or carried) against store parcels that stay as they are.
fn overlaps(
    store: &StoreSide,
    package: &Submission,
    replaced: &BTreeSet<&str>,
    package_codes: &BTreeSet<&str>,
) -> Vec<Overlap> {
    struct Item<'a>(&'a Parcel, AABB<[f64; 2]>);
    impl rstar::RTreeObject for Item<'_> {
        type Envelope = AABB<[f64; 2]>;
        fn envelope(&self) -> Self::Envelope {
            self.1
        }
    }
    let aabb = |g: &MultiPolygon<f64>| {
        let b = bbox_of(&[g]);
        AABB::from_corners([b[0], b[1]], [b[2], b[3]])
    };
    let staying: Vec<Item> = store
        .parcels
        .iter()
        .filter(|p| !replaced.contains(p.zddm.trim()) && !package_codes.contains(p.zddm.trim()))
        .map(|p| Item(p, aabb(&p.geometry)))
        .collect();
    let tree = RTree::bulk_load(staying);
    let mut out = Vec::new();
    for p in &package.parcels {
        let env = aabb(&p.geometry);
        for hit in tree.locate_in_envelope_intersecting(&env) {
            // The overlap of the extents bounds the overlap of the parcels: neighbours that
            // only share a boundary (most hits) skip the costly polygon intersection.
            let (lo, hi) = (env.lower(), env.upper());
            let (hlo, hhi) = (hit.1.lower(), hit.1.upper());
            let w = hi[0].min(hhi[0]) - lo[0].max(hlo[0]);
            let h = hi[1].min(hhi[1]) - lo[1].max(hlo[1]);
            if w <= 0.0 || h <= 0.0 || w * h < OVERLAP_MIN_M2 {
                continue;
            }
            let inter = p.geometry.intersection(&hit.0.geometry);
            let area = inter.planar_area();
            if area >= OVERLAP_MIN_M2 {
                out.push(Overlap {
                    package_parcel: p.zddm.trim().to_owned(),
                    store_parcel: hit.0.zddm.trim().to_owned(),
                    area: round2(area),
                    bbox: bbox_of(&[&inter]),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.package_parcel, &a.store_parcel).cmp(&(&b.package_parcel, &b.store_parcel)));
    out
}

/// Whether a package feature id is new (a temporary id).
pub fn is_new(id: &str) -> bool {
    is_temporary_id(id)
}

#[cfg(test)]
mod tests;
