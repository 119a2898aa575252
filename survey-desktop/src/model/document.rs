//! The project's data: boundary points, parcels as rings of point ids, buildings.

use std::collections::BTreeMap;

use cadastre_core::boundary::BoundaryPoints;
use cadastre_core::crs::GkZone;
use cadastre_core::model::{Building, BuildingAttributes, District, Parcel, ParcelAttributes, Subdistrict, Submission};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde::{Deserialize, Serialize};

/// Identity of a boundary point; stable for the life of the project file.
pub type PointId = u32;
/// Identity of a parcel or building (the GeoPackage `fid`).
pub type FeatureId = u64;

/// A parcel's rings as point ids: polygons → rings (0 = exterior, then holes) →
/// points without the closing repeat, oriented with the interior on the **right**
/// (exterior clockwise, holes counter-clockwise), as `cadastre-core::boundary` does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outline(pub Vec<Vec<Vec<PointId>>>);

impl Outline {
    /// Every ring with its (polygon, ring) position.
    pub fn rings(&self) -> impl Iterator<Item = (usize, usize, &Vec<PointId>)> {
        self.0.iter().enumerate().flat_map(|(p, rings)| rings.iter().enumerate().map(move |(r, ids)| (p, r, ids)))
    }

    /// All point ids, with repeats when a point is used twice.
    pub fn point_ids(&self) -> impl Iterator<Item = PointId> + '_ {
        self.0.iter().flatten().flatten().copied()
    }
}

/// 宗地: a parcel of the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParcelFeature {
    /// 宗地代码 ZDDM.
    #[serde(rename = "ZDDM")]
    pub zddm: String,
    /// Rings as boundary point ids.
    pub outline: Outline,
    /// Standard attributes.
    pub attributes: ParcelAttributes,
}

/// 自然幢: a building footprint with its own coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildingFeature {
    /// 自然幢号 ZRZH.
    #[serde(rename = "ZRZH")]
    pub zrzh: String,
    /// 宗地代码 ZDDM of the parcel it stands on.
    #[serde(rename = "ZDDM")]
    pub zddm: String,
    /// Footprint (基底).
    pub footprint: MultiPolygon<f64>,
    /// Standard attributes.
    pub attributes: BuildingAttributes,
}

/// Everything a project holds that edits can change, plus read-only context layers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// 界址点: boundary points by id (x = easting, y = northing).
    pub points: BTreeMap<PointId, Coord<f64>>,
    /// 宗地 by feature id.
    pub parcels: BTreeMap<FeatureId, ParcelFeature>,
    /// 自然幢 by feature id.
    pub buildings: BTreeMap<FeatureId, BuildingFeature>,
    /// 地籍子区 (context, not edited here).
    pub subdistricts: Vec<Subdistrict>,
    /// 地籍区 (context, not edited here).
    pub districts: Vec<District>,
    /// The project's CGCS2000 Gauss-Krüger zone; `None` until data or the user sets it.
    pub zone: Option<GkZone>,
    /// 楼盘表, floor plans and apportionment by ZRZH (see [`super::units`]).
    #[serde(default)]
    pub units: super::units::Units,
}

/// Ring coordinates closed (first point repeated), as geo-types wants them.
fn closed(ids: &[PointId], points: &BTreeMap<PointId, Coord<f64>>) -> LineString<f64> {
    let mut cs: Vec<Coord<f64>> = ids.iter().filter_map(|id| points.get(id).copied()).collect();
    if let Some(&first) = cs.first() {
        cs.push(first);
    }
    LineString(cs)
}

impl Document {
    /// The parcel's geometry from its outline and the shared points.
    pub fn parcel_geometry(&self, id: FeatureId) -> Option<MultiPolygon<f64>> {
        self.parcels.get(&id).map(|p| self.outline_geometry(&p.outline))
    }

    /// Geometry of any outline over this document's points.
    pub fn outline_geometry(&self, outline: &Outline) -> MultiPolygon<f64> {
        MultiPolygon(
            outline
                .0
                .iter()
                .filter(|rings| !rings.is_empty())
                .map(|rings| {
                    let ext = closed(&rings[0], &self.points);
                    let holes = rings[1..].iter().map(|r| closed(r, &self.points)).collect();
                    Polygon::new(ext, holes)
                })
                .collect(),
        )
    }

    /// The next unused parcel / building / point id.
    pub fn next_parcel_id(&self) -> FeatureId {
        self.parcels.keys().next_back().map_or(1, |k| k + 1)
    }

    /// The next unused building id.
    pub fn next_building_id(&self) -> FeatureId {
        self.buildings.keys().next_back().map_or(1, |k| k + 1)
    }

    /// The next unused point id.
    pub fn next_point_id(&self) -> PointId {
        self.points.keys().next_back().map_or(0, |k| k + 1)
    }

    /// Build a document from a loaded submission: boundary points are derived once
    /// (exact coordinate equality = one shared point, `cadastre-core::boundary`).
    /// Rings with fewer than three distinct points are dropped there; `dropped`
    /// counts the parcels that lost all their rings (kept out of the project).
    pub fn from_submission(sub: Submission) -> (Self, usize) {
        let geoms: Vec<&MultiPolygon<f64>> = sub.parcels.iter().map(|p| &p.geometry).collect();
        let derived = BoundaryPoints::derive(&geoms);
        let points: BTreeMap<PointId, Coord<f64>> =
            derived.coords.iter().enumerate().map(|(i, &c)| (i as PointId, c)).collect();
        let mut parcels = BTreeMap::new();
        let mut dropped = 0;
        for (i, (p, rings)) in sub.parcels.into_iter().zip(derived.parcels).enumerate() {
            let mut polys: Vec<Vec<Vec<PointId>>> = Vec::new();
            for r in rings {
                // A hole whose exterior was degenerate has no polygon to belong to.
                if r.ring == 0 {
                    polys.push(vec![r.points]);
                } else if let Some(last) = polys.last_mut() {
                    last.push(r.points);
                }
            }
            if polys.is_empty() {
                dropped += 1;
                continue;
            }
            let feature = ParcelFeature { zddm: p.zddm, outline: Outline(polys), attributes: p.attributes };
            parcels.insert(i as FeatureId + 1, feature);
        }
        let buildings = sub
            .buildings
            .into_iter()
            .enumerate()
            .map(|(i, b)| {
                let f =
                    BuildingFeature { zrzh: b.zrzh, zddm: b.zddm, footprint: b.footprint, attributes: b.attributes };
                (i as FeatureId + 1, f)
            })
            .collect();
        let zone = sub.crs.as_ref().and_then(|c| c.gk_zone);
        let doc = Self {
            points,
            parcels,
            buildings,
            subdistricts: sub.subdistricts,
            districts: sub.districts,
            zone,
            units: Default::default(),
        };
        (doc, dropped)
    }

    /// The document as a `cadastre-core` submission (for checks and export).
    pub fn to_submission(&self) -> Submission {
        let parcels = self
            .parcels
            .iter()
            .enumerate()
            .map(|(i, (_, p))| Parcel {
                zddm: p.zddm.clone(),
                geometry: self.outline_geometry(&p.outline),
                attributes: p.attributes.clone(),
                source_index: i,
            })
            .collect();
        let buildings = self
            .buildings
            .values()
            .enumerate()
            .map(|(i, b)| Building {
                zrzh: b.zrzh.clone(),
                zddm: b.zddm.clone(),
                footprint: b.footprint.clone(),
                attributes: b.attributes.clone(),
                source_index: i,
            })
            .collect();
        Submission {
            parcels,
            buildings,
            subdistricts: self.subdistricts.clone(),
            districts: self.districts.clone(),
            crs: self.zone.map(|z| cadastre_core::crs::Crs::from_epsg(z.epsg())),
            load_issues: Vec::new(),
        }
    }

    /// Feature id of the parcel with this code, if any.
    pub fn parcel_by_code(&self, zddm: &str) -> Option<FeatureId> {
        self.parcels.iter().find(|(_, p)| p.zddm == zddm).map(|(&id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn parcel(code: &str, p: Polygon<f64>) -> Parcel {
        Parcel { zddm: code.into(), geometry: MultiPolygon(vec![p]), attributes: Default::default(), source_index: 0 }
    }

    #[test]
    fn neighbours_share_points_after_import() {
        let sub = Submission {
            parcels: vec![
                parcel("A", polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]),
                parcel("B", polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)]),
            ],
            ..Submission::default()
        };
        let (doc, dropped) = Document::from_submission(sub);
        assert_eq!(dropped, 0);
        assert_eq!(doc.points.len(), 6);
        let a: Vec<PointId> = doc.parcels[&1].outline.point_ids().collect();
        let b: Vec<PointId> = doc.parcels[&2].outline.point_ids().collect();
        assert_eq!(a.iter().filter(|id| b.contains(id)).count(), 2);
        // Geometry comes back closed and with the same area.
        use geo::Area;
        let g = doc.parcel_geometry(1).expect("parcel");
        assert_eq!(g.0[0].exterior().0.len(), 5);
        assert!((g.unsigned_area() - 1.0).abs() < 1e-12);
    }
}
