//! Transforms into a CGCS2000 3° Gauss-Krüger zone with PROJ (system PROJ 9.1).
//!
//! Axis order is normalised for visualisation: input is (longitude, latitude) or
//! (easting, northing), output (easting, northing) — never the EPSG
//! northing-first order.

use geo_types::{Coord, LineString, MultiPolygon, Polygon, Rect};
use proj::Proj;
use rayon::prelude::*;

use super::{Crs, GkZone};
use crate::model::Submission;

/// Why a transform could not be set up or applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CrsError {
    /// The source CRS is unknown (no .prj or not understood).
    #[error("the source CRS is unknown: {0}")]
    Unknown(String),
    /// PROJ refused the definition.
    #[error("PROJ cannot build a transform from {from} to {to}: {detail}")]
    Create {
        /// Source definition (shortened).
        from: String,
        /// Target definition.
        to: String,
        /// PROJ's message.
        detail: String,
    },
    /// A coordinate could not be transformed.
    #[error("coordinate ({x}, {y}) cannot be transformed: {detail}")]
    Point {
        /// Input x.
        x: f64,
        /// Input y.
        y: f64,
        /// PROJ's message.
        detail: String,
    },
    /// No 3° zone for the data (outside 75°E–135°E).
    #[error("no CGCS2000 3° zone for longitude {0:.3} (zones cover 73.5°E–136.5°E)")]
    NoZone(f64),
}

/// A PROJ transform from a declared CRS into a CGCS2000 3° zone.
///
/// Not `Sync` (a PROJ context is per thread): make one per thread, e.g. per rayon chunk.
///
/// ```
/// use cadastre_core::crs::{Crs, GkZone, Transformer};
/// let to = GkZone::from_epsg(4549).expect("zone");
/// let t = Transformer::new(&Crs::from_epsg(4490), to)?;
/// let (e, n) = t.point(120.15, 30.25)?;
/// assert!((e - 514_436.536).abs() < 0.01 && (n - 3_347_836.556).abs() < 0.01);
/// # Ok::<(), cadastre_core::crs::CrsError>(())
/// ```
pub struct Transformer {
    proj: Proj,
    target: GkZone,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transformer").field("target", &self.target).finish_non_exhaustive()
    }
}

impl Transformer {
    /// A transform from `from` to the zone `to`.
    pub fn new(from: &Crs, to: GkZone) -> Result<Self, CrsError> {
        let from_def = from.proj_definition().ok_or_else(|| CrsError::Unknown("no definition".into()))?;
        let to_def = to.definition();
        let proj = Proj::new_known_crs(&from_def, &to_def, None).map_err(|e| CrsError::Create {
            from: from_def.chars().take(60).collect(),
            to: to_def.clone(),
            detail: e.to_string(),
        })?;
        Ok(Self { proj, target: to })
    }

    /// The target zone.
    pub fn target(&self) -> GkZone {
        self.target
    }

    /// Transform one point (x = easting/longitude, y = northing/latitude).
    pub fn point(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        let out = self.proj.convert((x, y)).map_err(|e| CrsError::Point { x, y, detail: e.to_string() })?;
        if out.0.is_finite() && out.1.is_finite() {
            Ok(out)
        } else {
            Err(CrsError::Point { x, y, detail: "result is not finite".into() })
        }
    }

    fn ring(&self, ls: &LineString<f64>) -> Result<LineString<f64>, CrsError> {
        ls.0.iter()
            .map(|c| self.point(c.x, c.y).map(|(x, y)| Coord { x, y }))
            .collect::<Result<Vec<_>, _>>()
            .map(LineString::new)
    }

    /// Transform a multipolygon.
    pub fn multipolygon(&self, mp: &MultiPolygon<f64>) -> Result<MultiPolygon<f64>, CrsError> {
        mp.0.iter()
            .map(|p| {
                let ext = self.ring(p.exterior())?;
                let holes = p.interiors().iter().map(|h| self.ring(h)).collect::<Result<Vec<_>, _>>()?;
                Ok(Polygon::new(ext, holes))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(MultiPolygon::new)
    }
}

/// The 3° zone the data belongs in: the declared zone when the CRS is one; else the
/// zone of the central meridian of the declared projection when it is a multiple of
/// 3°; else the zone of the bounding box's centre longitude.
pub fn choose_zone(crs: &Crs, bbox: &Rect<f64>, prefixed: bool) -> Result<GkZone, CrsError> {
    if let Some(z) = crs.gk_zone {
        return Ok(GkZone { prefixed, ..z });
    }
    if let Some(cm) = crs.wkt.as_deref().and_then(central_meridian) {
        if let Some(z) = GkZone::from_central_meridian(cm, prefixed) {
            return Ok(z);
        }
    }
    let c = bbox.center();
    let lon = if crs.geographic {
        c.x
    } else {
        let from = crs.proj_definition().ok_or_else(|| CrsError::Unknown("no definition".into()))?;
        let p = Proj::new_known_crs(&from, "EPSG:4490", None).map_err(|e| CrsError::Create {
            from: from.chars().take(60).collect(),
            to: "EPSG:4490".into(),
            detail: e.to_string(),
        })?;
        p.convert((c.x, c.y)).map_err(|e| CrsError::Point { x: c.x, y: c.y, detail: e.to_string() })?.0
    };
    GkZone::for_longitude(lon, prefixed).ok_or(CrsError::NoZone(lon))
}

fn central_meridian(wkt: &str) -> Option<f64> {
    let lower = wkt.to_ascii_lowercase();
    let at = lower.find("\"central_meridian\"")? + "\"central_meridian\"".len();
    let rest = wkt.get(at..)?.trim_start().strip_prefix(',')?.trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+')))?;
    rest[..end].parse().ok()
}

/// Transform every geometry of a submission into `zone`, in parallel (one PROJ
/// context per chunk). Does nothing when the submission is already in that zone.
/// On success `submission.crs` becomes the zone.
pub fn transform_submission(sub: &mut Submission, zone: GkZone) -> Result<(), CrsError> {
    let from = sub.crs.clone().ok_or_else(|| CrsError::Unknown("no .prj".into()))?;
    if from.gk_zone == Some(zone) {
        return Ok(());
    }
    // Check once up front so errors are about the CRS, not the first chunk.
    Transformer::new(&from, zone)?;
    let run = |geoms: Vec<&mut MultiPolygon<f64>>| -> Result<(), CrsError> {
        let mut geoms = geoms;
        geoms.par_chunks_mut(4096).try_for_each(|chunk| {
            let t = Transformer::new(&from, zone)?;
            for g in chunk.iter_mut() {
                **g = t.multipolygon(g)?;
            }
            Ok(())
        })
    };
    run(sub.parcels.iter_mut().map(|p| &mut p.geometry).collect())?;
    run(sub.buildings.iter_mut().map(|b| &mut b.footprint).collect())?;
    run(sub.subdistricts.iter_mut().map(|s| &mut s.geometry).collect())?;
    run(sub.districts.iter_mut().map(|d| &mut d.geometry).collect())?;
    sub.crs = Some(Crs::from_epsg(zone.epsg()));
    Ok(())
}

/// Bring a submission into its CGCS2000 3° zone, as area and QC need: nothing to do
/// when it already is in one (with or without prefix); otherwise the zone is chosen
/// from the data (see [`choose_zone`], unprefixed eastings) and every geometry is
/// transformed. Returns the zone the data is in afterwards.
///
/// ```
/// use cadastre_core::crs::{to_gk_zone, Crs};
/// use cadastre_core::model::Submission;
/// let mut sub = Submission { crs: Some(Crs::from_epsg(4549)), ..Submission::default() };
/// assert_eq!(to_gk_zone(&mut sub).map(|z| z.epsg()), Ok(4549));
/// ```
pub fn to_gk_zone(sub: &mut Submission) -> Result<GkZone, CrsError> {
    let crs = sub.crs.clone().ok_or_else(|| CrsError::Unknown("no .prj".into()))?;
    if let Some(z) = crs.gk_zone {
        return Ok(z);
    }
    if !crs.is_understood() {
        return Err(CrsError::Unknown(crs.name.clone().unwrap_or_else(|| "CRS not understood".into())));
    }
    let bbox = sub.parcels_bbox().ok_or_else(|| CrsError::Unknown("no parcel geometry".into()))?;
    let zone = choose_zone(&crs, &bbox, false)?;
    transform_submission(sub, zone)?;
    Ok(zone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{coord, polygon};

    // Expected values from PROJ 9.1.1's command line tool (EPSG axis order: lat lon in, N E out):
    //   echo "30.25 120.15" | cs2cs -f "%.4f" EPSG:4490 EPSG:4549  ->  3347836.5560  514436.5362
    //   echo "30.25 120.15" | cs2cs -f "%.4f" EPSG:4490 EPSG:4528  ->  3347836.5560  40514436.5362
    //   echo "3350000 512000" | cs2cs -f "%.9f" EPSG:4549 EPSG:4490 ->  30.269542153  120.124708359
    //   echo "3350000 512000" | cs2cs -f "%.4f" EPSG:4549 EPSG:4550 ->  3353495.3372  223269.0539
    fn zone(epsg: u32) -> GkZone {
        GkZone::from_epsg(epsg).expect("3° zone")
    }

    #[test]
    fn geographic_to_unprefixed_and_prefixed_zone() {
        let t = Transformer::new(&Crs::from_epsg(4490), zone(4549)).expect("transform");
        let (e, n) = t.point(120.15, 30.25).expect("point");
        assert!((e - 514_436.536_2).abs() < 1e-3 && (n - 3_347_836.556_0).abs() < 1e-3, "{e} {n}");
        let t = Transformer::new(&Crs::from_epsg(4490), zone(4528)).expect("transform");
        let (e, n) = t.point(120.15, 30.25).expect("point");
        assert!((e - 40_514_436.536_2).abs() < 1e-3 && (n - 3_347_836.556_0).abs() < 1e-3, "{e} {n}");
    }

    #[test]
    fn between_zones_and_back_to_degrees() {
        let t = Transformer::new(&Crs::from_epsg(4549), zone(4550)).expect("transform");
        let (e, n) = t.point(512_000.0, 3_350_000.0).expect("point");
        assert!((e - 223_269.053_9).abs() < 1e-3 && (n - 3_353_495.337_2).abs() < 1e-3, "{e} {n}");
        let p = Proj::new_known_crs("EPSG:4549", "EPSG:4490", None).expect("proj");
        let (lon, lat): (f64, f64) = p.convert((512_000.0_f64, 3_350_000.0_f64)).expect("point");
        assert!((lon - 120.124_708_359).abs() < 1e-8 && (lat - 30.269_542_153).abs() < 1e-8, "{lon} {lat}");
    }

    #[test]
    fn from_esri_prj_wkt() {
        let crs = Crs::from_wkt(super::super::wkt::ESRI_4549);
        let t = Transformer::new(&crs, zone(4528)).expect("transform");
        let (e, n) = t.point(512_000.0, 3_350_000.0).expect("point");
        assert!((e - 40_512_000.0).abs() < 1e-6 && (n - 3_350_000.0).abs() < 1e-6, "{e} {n}");
    }

    #[test]
    fn zone_is_chosen_from_the_data() {
        let hangzhou = Rect::new(coord! { x: 120.1, y: 30.2 }, coord! { x: 120.2, y: 30.3 });
        assert_eq!(choose_zone(&Crs::from_epsg(4490), &hangzhou, false), Ok(zone(4549)));
        let shanghai = Rect::new(coord! { x: 121.6, y: 31.1 }, coord! { x: 121.7, y: 31.2 });
        assert_eq!(choose_zone(&Crs::from_epsg(4490), &shanghai, true), Ok(zone(4529)));
        // A declared zone keeps its meridian; only the prefix choice changes.
        assert_eq!(choose_zone(&Crs::from_epsg(4549), &hangzhou, true), Ok(zone(4528)));
        let europe = Rect::new(coord! { x: 10.0, y: 50.0 }, coord! { x: 10.1, y: 50.1 });
        assert!(matches!(choose_zone(&Crs::from_epsg(4490), &europe, false), Err(CrsError::NoZone(_))));
    }

    #[test]
    fn submission_is_transformed_and_relabelled() {
        let mut sub = Submission { crs: Some(Crs::from_epsg(4490)), ..Submission::default() };
        sub.parcels.push(crate::model::Parcel {
            zddm: "330106001001GB00001".into(),
            geometry: MultiPolygon::new(vec![
                polygon![(x: 120.15, y: 30.25), (x: 120.151, y: 30.25), (x: 120.151, y: 30.251)],
            ]),
            attributes: crate::model::ParcelAttributes::default(),
            source_index: 0,
        });
        transform_submission(&mut sub, zone(4549)).expect("transform");
        let c = sub.parcels[0].geometry.0[0].exterior().0[0];
        assert!((c.x - 514_436.536_2).abs() < 1e-3 && (c.y - 3_347_836.556_0).abs() < 1e-3, "{c:?}");
        assert_eq!(sub.crs.and_then(|c| c.epsg), Some(4549));
    }

    #[test]
    fn to_gk_zone_transforms_geographic_data_once() {
        let mut sub = Submission { crs: Some(Crs::from_epsg(4490)), ..Submission::default() };
        sub.parcels.push(crate::model::Parcel {
            zddm: "330106001001GB00001".into(),
            geometry: MultiPolygon::new(vec![
                polygon![(x: 120.15, y: 30.25), (x: 120.151, y: 30.25), (x: 120.151, y: 30.251)],
            ]),
            attributes: crate::model::ParcelAttributes::default(),
            source_index: 0,
        });
        assert_eq!(to_gk_zone(&mut sub), Ok(zone(4549)));
        let c = sub.parcels[0].geometry.0[0].exterior().0[0];
        assert!((c.x - 514_436.536_2).abs() < 1e-3, "{c:?}");
        // Second call: already in the zone, nothing moves.
        assert_eq!(to_gk_zone(&mut sub), Ok(zone(4549)));
        assert_eq!(sub.parcels[0].geometry.0[0].exterior().0[0], c);
        let mut none = Submission::default();
        assert!(to_gk_zone(&mut none).is_err());
    }

    #[test]
    fn unknown_crs_is_an_error_not_a_panic() {
        let crs = Crs::from_wkt("<html>nope</html>");
        assert!(Transformer::new(&crs, zone(4549)).is_err());
        let mut sub = Submission::default();
        assert!(matches!(transform_submission(&mut sub, zone(4549)), Err(CrsError::Unknown(_))));
    }
}
