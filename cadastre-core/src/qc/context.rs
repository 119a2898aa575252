//! Everything the rules share, built once per run: per-feature geometry analysis,
//! R*-trees built by bulk loading, the code index, prepared sub-districts, and (lazily,
//! for whichever rule asks first) the parcel and building pair relations.

use std::collections::HashMap;
use std::sync::OnceLock;

use geo_types::{Coord, MultiPolygon, Rect};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use super::config::QcConfig;
use super::finding::{round_mm, Finding};
use super::geom;
use super::overlay::{self, OuterShape, Relation};
use super::validity::{self, GeometryReport, ValidityParams};
use crate::model::Submission;
use crate::ring::{EdgeStep, Position};

/// A bounding box in an R*-tree with the feature's index.
pub(crate) type BoxEntry = GeomWithData<Rectangle<[f64; 2]>, usize>;
/// An edge of a prepared outline, with its part and ring (0 the exterior, then the holes).
type EdgeEntry = GeomWithData<Rectangle<[f64; 2]>, (Coord, Coord, u32, u32)>;

/// Node size of the feature-box R*-trees. Bulk loading copies every entry once per tree level,
/// and at a county's size that was a tenth of the whole check: 16 children per node instead of
/// rstar's default 6 make the tree half as deep for about the same query cost. The trees are
/// only bulk loaded, never inserted into.
#[derive(Debug, Clone, Copy)]
pub struct BoxParams;

impl rstar::RTreeParams for BoxParams {
    const MIN_SIZE: usize = 6;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 4;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}

/// An R*-tree of feature bounding boxes.
pub type BoxTree = RTree<BoxEntry, BoxParams>;

/// Geometry facts about one feature.
#[derive(Debug, Clone)]
pub struct FeatureFacts {
    /// Bounding box (`None` for empty geometry).
    pub bbox: Option<Rect>,
    /// Planar area.
    pub area: f64,
    /// Boundary length.
    pub perimeter: f64,
    /// A point inside.
    pub interior: Option<Coord>,
    pub(crate) report: Problems,
}

/// A feature's [`GeometryReport`], stored only when something is wrong: at a county's size
/// the four empty vectors of every clean feature were a few hundred MB to allocate and touch.
#[derive(Debug, Clone)]
pub(crate) struct Problems(Option<Box<GeometryReport>>);

static NO_PROBLEMS: GeometryReport = GeometryReport {
    duplicates: Vec::new(),
    spikes: Vec::new(),
    degenerate_spike: false,
    self_intersections: Vec::new(),
    invalid: Vec::new(),
};

impl From<GeometryReport> for Problems {
    fn from(report: GeometryReport) -> Self {
        Problems((report != NO_PROBLEMS).then(|| Box::new(report)))
    }
}

impl std::ops::Deref for Problems {
    type Target = GeometryReport;
    fn deref(&self) -> &GeometryReport {
        self.0.as_deref().unwrap_or(&NO_PROBLEMS)
    }
}

impl FeatureFacts {
    fn of(mp: &MultiPolygon, params: &ValidityParams) -> Self {
        let report = validity::analyse(mp, params);
        let finite = report.invalid.is_empty();
        FeatureFacts {
            bbox: if finite { geom::bbox(mp) } else { None },
            area: if finite { geom::area(mp) } else { 0.0 },
            perimeter: if finite { geom::perimeter(mp) } else { 0.0 },
            interior: if finite { geom::interior_point(mp) } else { None },
            report: report.into(),
        }
    }

    /// A valid polygon that overlay-based rules can use.
    pub fn overlay_ok(&self) -> bool {
        self.bbox.is_some() && self.report.overlay_ok()
    }

    /// A location for findings about the whole feature.
    pub fn location(&self) -> Coord {
        self.interior.or(self.bbox.map(|b| b.center())).unwrap_or(Coord { x: 0.0, y: 0.0 })
    }
}

/// A sub-district prepared for fast point-in-polygon and edge queries.
pub struct PreparedArea<'a> {
    /// 地籍子区代码 DJZQDM.
    pub code: &'a str,
    /// Outline.
    pub geometry: &'a MultiPolygon,
    /// Bounding box.
    pub bbox: Option<Rect>,
    edges: RTree<EdgeEntry>,
    /// Rings per part (the exterior and the holes).
    rings: Vec<usize>,
}

impl<'a> PreparedArea<'a> {
    fn new(code: &'a str, geometry: &'a MultiPolygon) -> Self {
        let mut edges = Vec::new();
        for (part, polygon) in geometry.0.iter().enumerate() {
            for (ring, line) in std::iter::once(polygon.exterior()).chain(polygon.interiors()).enumerate() {
                let (part, ring) = (u32::try_from(part).unwrap_or(u32::MAX), u32::try_from(ring).unwrap_or(u32::MAX));
                let c = &line.0;
                // A ring as stored repeats its first vertex; the closing edge is then the last pair.
                let n = if c.len() > 1 && c.first() == c.last() { c.len() - 1 } else { c.len() };
                for i in 0..n {
                    let (a, b) = (c[i], c[if i + 1 == n { 0 } else { i + 1 }]);
                    if a.x.is_finite() && a.y.is_finite() && b.x.is_finite() && b.y.is_finite() {
                        let rect = Rectangle::from_corners([a.x, a.y], [b.x, b.y]);
                        edges.push(GeomWithData::new(rect, (a, b, part, ring)));
                    }
                }
            }
        }
        let rings = geometry.0.iter().map(|p| 1 + p.interiors().len()).collect();
        PreparedArea { code, geometry, bbox: geom::bbox(geometry), edges: RTree::bulk_load(edges), rings }
    }
}

impl OuterShape for PreparedArea<'_> {
    fn edges_near(&self, rect: &Rect) -> Vec<(Coord, Coord)> {
        let env = AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
        self.edges.locate_in_envelope_intersecting(&env).map(|e| (e.data.0, e.data.1)).collect()
    }

    /// The crate's containment seam (`ring::edge_step`, `ring::combine_rings`) over the
    /// edges a ray to the right meets: the same answer as `ring::multipolygon_position`
    /// on the whole outline, found through the index.
    fn position(&self, c: Coord) -> Position {
        let Some(bbox) = self.bbox else { return Position::Outside };
        if c.x < bbox.min().x || c.x > bbox.max().x || c.y < bbox.min().y || c.y > bbox.max().y {
            return Position::Outside;
        }
        let ray = AABB::from_corners([c.x, c.y], [bbox.max().x, c.y]);
        // Only the rings the ray meets have a state; most calls meet a handful of edges, and
        // this runs once per feature, so nothing is allocated per outline ring.
        let mut met: Vec<((u32, u32), Position)> = Vec::new();
        for e in self.edges.locate_in_envelope_intersecting(&ray) {
            let (s, t, part, ring) = e.data;
            let step = crate::ring::edge_step(c, s, t);
            if step == EdgeStep::Misses {
                continue;
            }
            let i = match met.iter().position(|(k, _)| *k == (part, ring)) {
                Some(i) => i,
                None => {
                    met.push(((part, ring), Position::Outside));
                    met.len() - 1
                }
            };
            let state = &mut met[i].1;
            *state = match (step, *state) {
                (_, Position::Boundary) | (EdgeStep::OnEdge, _) => Position::Boundary,
                (_, Position::Inside) => Position::Outside,
                _ => Position::Inside,
            };
        }
        let rings: Vec<Vec<Position>> = self
            .rings
            .iter()
            .enumerate()
            .filter(|(part, _)| met.iter().any(|((p, r), _)| *p as usize == *part && *r == 0))
            .map(|(part, &n)| {
                (0..n)
                    .map(|r| {
                        let key = (u32::try_from(part).unwrap_or(u32::MAX), u32::try_from(r).unwrap_or(u32::MAX));
                        met.iter().find(|(k, _)| *k == key).map_or(Position::Outside, |(_, p)| *p)
                    })
                    .collect()
            })
            .collect();
        crate::ring::combine_rings(&rings)
    }

    fn geometry(&self) -> &MultiPolygon {
        self.geometry
    }
}

/// One pair of features whose interiors overlap, in canonical order (`a` before `b`).
#[derive(Debug, Clone, Copy)]
pub struct Overlap {
    /// Index of the first feature.
    pub a: usize,
    /// Index of the second feature.
    pub b: usize,
    /// Overlap area.
    pub area: f64,
    /// A point in the overlap.
    pub location: Coord,
}

/// Pair relations of one layer.
#[derive(Debug, Default)]
pub struct PairTable {
    /// Overlapping pairs.
    pub overlaps: Vec<Overlap>,
    /// Pairs that share boundary (touch or overlap), canonical order.
    /// (Indices as `u32`: a county's parcels share millions of boundaries, and `usize` pairs
    /// were twice the memory.)
    pub adjacent: Vec<(u32, u32)>,
}

/// The shared state handed to every rule.
pub struct Context<'a> {
    /// The submission under check.
    pub submission: &'a Submission,
    /// The configuration.
    pub config: &'a QcConfig,
    /// Facts per parcel (same order as `submission.parcels`).
    pub parcels: Vec<FeatureFacts>,
    /// Facts per building.
    pub buildings: Vec<FeatureFacts>,
    /// Parcel bounding boxes.
    pub parcel_tree: BoxTree,
    /// Building bounding boxes.
    pub building_tree: BoxTree,
    /// Parcel indices by ZDDM.
    pub parcels_by_code: HashMap<&'a str, Vec<usize>>,
    /// Prepared sub-districts.
    pub subdistricts: Vec<PreparedArea<'a>>,
    parcel_pairs: OnceLock<PairTable>,
    building_pairs: OnceLock<PairTable>,
    parcel_subdistrict: OnceLock<Vec<Option<usize>>>,
    building_parcels: OnceLock<Vec<BuildingParcel>>,
}

/// What a building's codes say about its parcel, looked up once for the rules that ask (each
/// lookup in a county's code index is a cache miss or two).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BuildingParcel {
    /// The parcel whose unique ZDDM is the building's ZDDM, else the first 19 characters of
    /// its ZRZH (`u32`: 12 bytes a building instead of 24).
    own: Option<u32>,
    /// The building's (trimmed) ZDDM is some parcel's code.
    pub zddm_known: bool,
}

impl BuildingParcel {
    /// The parcel whose unique ZDDM is the building's ZDDM, else the first 19 characters of
    /// its ZRZH.
    pub(crate) fn own(self) -> Option<usize> {
        self.own.map(|i| i as usize)
    }
}

fn tree_of(facts: &[FeatureFacts]) -> BoxTree {
    // Sized once: a filtered iterator would grow the vector by doubling, copying it each time.
    let mut entries = Vec::with_capacity(facts.len());
    entries.extend(facts.iter().enumerate().filter_map(|(i, f)| {
        f.bbox.map(|b| GeomWithData::new(Rectangle::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]), i))
    }));
    RTree::bulk_load_with_params(entries)
}

impl<'a> Context<'a> {
    /// Prepare everything (in parallel).
    pub fn new(submission: &'a Submission, config: &'a QcConfig) -> Self {
        let params = ValidityParams {
            duplicate_tolerance: config.rules.geometry_duplicate_vertex.params.tolerance,
            spike_angle: config.rules.geometry_spike.params.max_angle_deg.to_radians(),
        };
        // The code index and the sub-districts do not need the geometry facts: built alongside.
        let ((parcels, buildings, parcel_tree, building_tree), (parcels_by_code, subdistricts)) = rayon::join(
            || {
                let (parcels, buildings) = rayon::join(
                    || {
                        submission
                            .parcels
                            .par_iter()
                            .map(|p| FeatureFacts::of(&p.geometry, &params))
                            .collect::<Vec<_>>()
                    },
                    || {
                        submission
                            .buildings
                            .par_iter()
                            .map(|b| FeatureFacts::of(&b.footprint, &params))
                            .collect::<Vec<_>>()
                    },
                );
                let (parcel_tree, building_tree) = rayon::join(|| tree_of(&parcels), || tree_of(&buildings));
                (parcels, buildings, parcel_tree, building_tree)
            },
            || {
                let mut parcels_by_code: HashMap<&str, Vec<usize>> = HashMap::with_capacity(submission.parcels.len());
                for (i, p) in submission.parcels.iter().enumerate() {
                    parcels_by_code.entry(p.zddm.as_str()).or_default().push(i);
                }
                let subdistricts: Vec<PreparedArea<'_>> =
                    submission.subdistricts.iter().map(|s| PreparedArea::new(s.djzqdm.as_str(), &s.geometry)).collect();
                (parcels_by_code, subdistricts)
            },
        );
        Context {
            submission,
            config,
            parcels,
            buildings,
            parcel_tree,
            building_tree,
            parcels_by_code,
            subdistricts,
            parcel_pairs: OnceLock::new(),
            building_pairs: OnceLock::new(),
            parcel_subdistrict: OnceLock::new(),
            building_parcels: OnceLock::new(),
        }
    }

    /// Build a finding with the configured severity, sorted objects and a rounded location.
    pub fn finding(
        &self,
        rule: &str,
        mut objects: Vec<String>,
        at: Coord,
        message_zh: String,
        message_en: String,
    ) -> Finding {
        objects.sort();
        let severity = self.config.common(rule).map(|c| c.severity).unwrap_or(super::Severity::Warning);
        Finding {
            rule: rule.to_string(),
            severity,
            objects,
            location: [round_mm(at.x), round_mm(at.y)],
            message_zh,
            message_en,
        }
    }

    /// Canonical order of two parcels, independent of input order.
    pub(crate) fn parcel_before(&self, i: usize, j: usize) -> bool {
        canon_less(
            &self.submission.parcels[i].zddm,
            &self.parcels[i],
            i,
            &self.submission.parcels[j].zddm,
            &self.parcels[j],
            j,
        )
    }

    /// Canonical order of two buildings.
    pub(crate) fn building_before(&self, i: usize, j: usize) -> bool {
        canon_less(
            &self.submission.buildings[i].zrzh,
            &self.buildings[i],
            i,
            &self.submission.buildings[j].zrzh,
            &self.buildings[j],
            j,
        )
    }

    /// Overlapping and adjacent parcel pairs among overlay-valid parcels.
    pub fn parcel_pairs(&self) -> &PairTable {
        self.parcel_pairs.get_or_init(|| {
            let geoms: Vec<&MultiPolygon> = self.submission.parcels.iter().map(|p| &p.geometry).collect();
            pairs(&geoms, &self.parcels, &self.parcel_tree, |i, j| self.parcel_before(i, j))
        })
    }

    /// Overlapping and adjacent building pairs among overlay-valid footprints.
    pub fn building_pairs(&self) -> &PairTable {
        self.building_pairs.get_or_init(|| {
            let geoms: Vec<&MultiPolygon> = self.submission.buildings.iter().map(|b| &b.footprint).collect();
            pairs(&geoms, &self.buildings, &self.building_tree, |i, j| self.building_before(i, j))
        })
    }

    /// For each parcel, the sub-district (index) containing its interior point.
    pub fn parcel_subdistrict(&self) -> &[Option<usize>] {
        self.parcel_subdistrict
            .get_or_init(|| self.parcels.par_iter().map(|f| f.interior.and_then(|p| self.subdistrict_at(p))).collect())
    }

    /// For each building, its parcel by code (see [`BuildingParcel`]).
    pub(crate) fn building_parcels(&self) -> &[BuildingParcel] {
        self.building_parcels.get_or_init(|| {
            let unique = |code: &str| self.parcels_by_code.get(code).filter(|v| v.len() == 1).map(|v| v[0]);
            self.submission
                .buildings
                .par_iter()
                .map(|b| {
                    let zddm = b.zddm.trim();
                    let by_zddm = self.parcels_by_code.get(zddm);
                    let own =
                        by_zddm.filter(|v| v.len() == 1).map(|v| v[0]).or_else(|| b.zrzh.get(..19).and_then(unique));
                    BuildingParcel { own: own.and_then(|i| u32::try_from(i).ok()), zddm_known: by_zddm.is_some() }
                })
                .collect()
        })
    }

    /// The sub-district containing a point (first in code order when they overlap).
    pub fn subdistrict_at(&self, p: Coord) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (k, sd) in self.subdistricts.iter().enumerate() {
            if sd.position(p) == Position::Inside && best.is_none_or(|b| sd.code < self.subdistricts[b].code) {
                best = Some(k);
            }
        }
        best
    }

    /// Parcels whose bounding box meets `rect`.
    pub fn parcels_near(&self, rect: &Rect) -> impl Iterator<Item = usize> + '_ {
        let env = AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
        self.parcel_tree.locate_in_envelope_intersecting(&env).map(|e| e.data)
    }
}

fn canon_less(ca: &str, fa: &FeatureFacts, ia: usize, cb: &str, fb: &FeatureFacts, ib: usize) -> bool {
    let key = |f: &FeatureFacts| f.bbox.map(|b| [b.min().x, b.min().y, b.max().x, b.max().y]).unwrap_or([0.0; 4]);
    let (ka, kb) = (key(fa), key(fb));
    match ca.cmp(cb) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => {
            for (x, y) in ka.iter().zip(kb.iter()) {
                match x.total_cmp(y) {
                    std::cmp::Ordering::Less => return true,
                    std::cmp::Ordering::Greater => return false,
                    std::cmp::Ordering::Equal => {}
                }
            }
            match fa.area.total_cmp(&fb.area) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Equal => ia < ib,
            }
        }
    }
}

fn pairs(
    geoms: &[&MultiPolygon],
    facts: &[FeatureFacts],
    tree: &BoxTree,
    before: impl Fn(usize, usize) -> bool + Sync,
) -> PairTable {
    // Each worker appends to its own vectors, joined in index order: the same lists as a
    // sequential pass, without a pair of vectors per feature.
    let (overlaps, adjacent) = (0..geoms.len())
        .into_par_iter()
        .fold(
            || (Vec::new(), Vec::new()),
            |(mut ov, mut adj): (Vec<Overlap>, Vec<(u32, u32)>), i| {
                let fi = &facts[i];
                let (Some(bi), true) = (fi.bbox, fi.overlay_ok()) else { return (ov, adj) };
                let env = AABB::from_corners([bi.min().x, bi.min().y], [bi.max().x, bi.max().y]);
                for e in tree.locate_in_envelope_intersecting(&env) {
                    let j = e.data;
                    // Each unordered pair once, computed in canonical order so the result does
                    // not depend on input order.
                    if j == i || !before(i, j) {
                        continue;
                    }
                    let fj = &facts[j];
                    let (Some(bj), true) = (fj.bbox, fj.overlay_ok()) else { continue };
                    // Feature counts come from files whose record counts are 32-bit.
                    let pair = (u32::try_from(i).unwrap_or(u32::MAX), u32::try_from(j).unwrap_or(u32::MAX));
                    match overlay::relate(geoms[i], &bi, fi.interior, geoms[j], &bj, fj.interior) {
                        Relation::Disjoint => {}
                        Relation::Touch => adj.push(pair),
                        Relation::Overlap { area, location } => {
                            adj.push(pair);
                            ov.push(Overlap { a: i, b: j, area, location });
                        }
                    }
                }
                (ov, adj)
            },
        )
        .reduce(
            || (Vec::new(), Vec::new()),
            |(mut ov, mut adj), (mut ov2, mut adj2)| {
                ov.append(&mut ov2);
                adj.append(&mut adj2);
                (ov, adj)
            },
        );
    PairTable { overlaps, adjacent }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::multipolygon_position;
    use geo_types::{coord, LineString, Polygon};
    use proptest::prelude::*;

    /// A star-shaped ring around (cx, cy) from radii at even angles, either orientation.
    fn star(cx: f64, cy: f64, radii: &[f64], clockwise: bool) -> LineString {
        let n = radii.len() as f64;
        let mut c: Vec<Coord> = radii
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let a = std::f64::consts::TAU * i as f64 / n;
                coord! { x: (cx + r * a.cos()).round(), y: (cy + r * a.sin()).round() }
            })
            .collect();
        if clockwise {
            c.reverse();
        }
        LineString::from(c)
    }

    proptest! {
        /// The indexed position of a prepared outline is the seam's, whatever the rings'
        /// orientation, at random points, at vertices and on edges.
        #[test]
        fn the_prepared_position_is_the_seam_s(
            parts in prop::collection::vec(
                (0.0..300.0f64, 0.0..300.0f64, prop::collection::vec(40.0..100.0f64, 3..9), any::<bool>(),
                 prop::option::of((prop::collection::vec(5.0..30.0f64, 3..7), any::<bool>()))),
                1..4),
            points in prop::collection::vec((-120.0..420.0f64, -120.0..420.0f64), 40),
        ) {
            let polygons: Vec<Polygon> = parts
                .iter()
                .map(|(cx, cy, radii, cw, hole)| {
                    let holes = hole.iter().map(|(r, hcw)| star(*cx, *cy, r, *hcw)).collect();
                    Polygon::new(star(*cx, *cy, radii, *cw), holes)
                })
                .collect();
            let mp = MultiPolygon(polygons);
            let prepared = PreparedArea::new("330106001001", &mp);
            let mut probes: Vec<Coord> = points.iter().map(|(x, y)| coord! { x: x.round(), y: y.round() }).collect();
            for p in &mp.0 {
                let ext = &p.exterior().0;
                probes.extend(ext.iter().copied());
                probes.extend(ext.windows(2).map(|w| coord! { x: (w[0].x + w[1].x) / 2.0, y: (w[0].y + w[1].y) / 2.0 }));
            }
            for c in probes {
                prop_assert_eq!(prepared.position(c), multipolygon_position(c, &mp), "at {:?}", c);
            }
        }
    }

    #[test]
    fn a_hole_wound_like_its_shell_is_still_a_hole() {
        let shell = star(0.0, 0.0, &[100.0; 8], false);
        let hole = star(0.0, 0.0, &[20.0; 8], false);
        let mp = MultiPolygon(vec![Polygon::new(shell, vec![hole])]);
        let prepared = PreparedArea::new("330106001001", &mp);
        assert_eq!(prepared.position(coord! { x: 0.0, y: 0.0 }), Position::Outside);
        assert_eq!(prepared.position(coord! { x: 50.0, y: 0.0 }), Position::Inside);
        assert_eq!(prepared.position(coord! { x: 20.0, y: 0.0 }), Position::Boundary);
    }
}
