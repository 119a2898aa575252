//! Coordinate reference systems: CGCS2000 3° Gauss-Krüger zones, .prj/EPSG reading,
//! zone choice from the central meridian, plausibility checks and PROJ transforms (feature
//! `proj`).
//!
//! CGCS2000 3° zones: EPSG:4513–4533 are zones 25–45 **with** the zone number as
//! easting prefix (false easting = zone·10⁶ + 500 000 m); EPSG:4534–4554 are the
//! same zones (central meridians 75°E…135°E) **without** prefix (false easting
//! 500 000 m).

use geo_types::Rect;
use serde::{Deserialize, Serialize};

#[cfg(feature = "proj")]
mod transform;
mod wkt;

#[cfg(feature = "proj")]
pub use transform::{choose_zone, to_gk_zone, transform_submission, CrsError, Transformer};

/// A CGCS2000 3-degree Gauss-Krüger zone (EPSG:4513–4554).
///
/// ```
/// use cadastre_core::crs::GkZone;
/// let z = GkZone::from_epsg(4549).expect("a CGCS2000 3° zone");
/// assert_eq!((z.zone, z.prefixed, z.central_meridian()), (40, false, 120.0));
/// assert_eq!(GkZone::for_longitude(120.2, true).map(|z| z.epsg()), Some(4528));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GkZone {
    /// Zone number 25..=45 (central meridian = 3 × zone).
    pub zone: u8,
    /// Whether the easting carries the zone number as prefix (EPSG:4513–4533, e.g. 40 512 000 m).
    pub prefixed: bool,
}

/// First and last CGCS2000 3° zone numbers (central meridians 75°E and 135°E).
pub const ZONES: std::ops::RangeInclusive<u8> = 25..=45;

impl GkZone {
    /// The zone for an EPSG code in 4513–4554.
    pub fn from_epsg(epsg: u32) -> Option<Self> {
        match epsg {
            4513..=4533 => u8::try_from(epsg - 4513 + 25).ok().map(|zone| Self { zone, prefixed: true }),
            4534..=4554 => u8::try_from(epsg - 4534 + 25).ok().map(|zone| Self { zone, prefixed: false }),
            _ => None,
        }
    }

    /// The EPSG code of this zone.
    pub fn epsg(self) -> u32 {
        u32::from(self.zone) - 25 + if self.prefixed { 4513 } else { 4534 }
    }

    /// Central meridian in degrees east.
    pub fn central_meridian(self) -> f64 {
        f64::from(self.zone) * 3.0
    }

    /// False easting in metres (with the zone prefix when `prefixed`).
    pub fn false_easting(self) -> f64 {
        if self.prefixed {
            f64::from(self.zone) * 1.0e6 + 500_000.0
        } else {
            500_000.0
        }
    }

    /// The zone whose central meridian is `cm` degrees (must be a multiple of 3 in 75..=135).
    pub fn from_central_meridian(cm: f64, prefixed: bool) -> Option<Self> {
        let zone = cm / 3.0;
        if (zone - zone.round()).abs() > 1e-9 {
            return None;
        }
        Self::checked(zone.round(), prefixed)
    }

    /// The zone containing longitude `lon` (the nearest central meridian).
    pub fn for_longitude(lon: f64, prefixed: bool) -> Option<Self> {
        Self::checked((lon / 3.0).round(), prefixed)
    }

    fn checked(zone: f64, prefixed: bool) -> Option<Self> {
        if !zone.is_finite() || !(25.0..=45.0).contains(&zone) {
            return None;
        }
        // In 25..=45, so the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(Self { zone: zone as u8, prefixed })
    }

    /// The PROJ definition of the zone (`EPSG:45xx`).
    pub fn definition(self) -> String {
        format!("EPSG:{}", self.epsg())
    }
}

/// The CRS of a submission, as declared (.prj / EPSG) and understood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Crs {
    /// EPSG code when known.
    pub epsg: Option<u32>,
    /// The WKT as read from the .prj, if any.
    pub wkt: Option<String>,
    /// The Gauss-Krüger zone when the CRS is a CGCS2000 3° zone.
    pub gk_zone: Option<GkZone>,
    /// Whether coordinates are geographic (degrees) rather than projected (metres).
    pub geographic: bool,
    /// The CRS name as declared.
    pub name: Option<String>,
}

impl Crs {
    /// A CRS from an EPSG code (4490 = CGCS2000 geographic, 4513–4554 = 3° zones, others kept as is).
    ///
    /// ```
    /// use cadastre_core::crs::Crs;
    /// assert_eq!(Crs::from_epsg(4549).gk_zone.map(|z| z.zone), Some(40));
    /// assert!(Crs::from_epsg(4490).geographic);
    /// ```
    pub fn from_epsg(epsg: u32) -> Self {
        let gk_zone = GkZone::from_epsg(epsg);
        Self { epsg: Some(epsg), wkt: None, gk_zone, geographic: matches!(epsg, 4490 | 4326 | 4214 | 4610), name: None }
    }

    /// A CRS from WKT (ESRI .prj, OGC WKT1 or WKT2). Never fails: what cannot be
    /// understood stays `None` (see [`Crs::is_understood`]).
    ///
    /// ```
    /// use cadastre_core::crs::Crs;
    /// let prj = r#"PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",
    ///   DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],
    ///   UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],
    ///   PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],
    ///   PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
    /// let crs = Crs::from_wkt(prj);
    /// assert_eq!(crs.gk_zone.map(|z| z.epsg()), Some(4549));
    /// ```
    pub fn from_wkt(text: &str) -> Self {
        wkt::parse(text)
    }

    /// Whether the CRS is known well enough to transform from it.
    pub fn is_understood(&self) -> bool {
        self.epsg.is_some() || self.gk_zone.is_some() || self.geographic
    }

    /// A definition PROJ accepts: `EPSG:n` when known, else the WKT.
    pub fn proj_definition(&self) -> Option<String> {
        if let Some(z) = self.gk_zone {
            return Some(z.definition());
        }
        if let Some(e) = self.epsg {
            return Some(format!("EPSG:{e}"));
        }
        if self.geographic && self.wkt.is_none() {
            return Some("EPSG:4490".to_owned());
        }
        self.wkt.clone()
    }

    /// Reasons why coordinates with this bounding box (x = easting/longitude,
    /// y = northing/latitude) cannot be in this CRS; empty when they are plausible
    /// (for China: 73°E–136°E, 3°N–54°N).
    ///
    /// ```
    /// use cadastre_core::crs::Crs;
    /// use geo_types::{coord, Rect};
    /// let zone40 = Crs::from_epsg(4549); // CM 120°E, no prefix
    /// let ok = Rect::new(coord! { x: 512_000.0, y: 3_350_000.0 }, coord! { x: 513_000.0, y: 3_351_000.0 });
    /// assert!(zone40.implausibility(&ok).is_empty());
    /// let degrees = Rect::new(coord! { x: 120.1, y: 30.2 }, coord! { x: 120.2, y: 30.3 });
    /// assert!(zone40.implausibility(&degrees)[0].contains("degrees"));
    /// ```
    pub fn implausibility(&self, bbox: &Rect<f64>) -> Vec<String> {
        plausibility(self, bbox)
    }
}

fn looks_like_degrees(b: &Rect<f64>) -> bool {
    b.min().x >= -180.0 && b.max().x <= 180.0 && b.min().y >= -90.0 && b.max().y <= 90.0
}

fn plausibility(crs: &Crs, b: &Rect<f64>) -> Vec<String> {
    let mut out = Vec::new();
    let (x0, x1, y0, y1) = (b.min().x, b.max().x, b.min().y, b.max().y);
    if crs.geographic {
        if !looks_like_degrees(b) {
            out.push(format!(
                "coordinates up to ({x1:.0}, {y1:.0}) are metres, not degrees, but the CRS is geographic"
            ));
        } else if x0 < 73.0 || x1 > 136.0 || y0 < 3.0 || y1 > 54.0 {
            out.push(format!("longitudes {x0:.3}..{x1:.3} / latitudes {y0:.3}..{y1:.3} are outside China"));
        }
        return out;
    }
    let Some(zone) = crs.gk_zone else { return out };
    if looks_like_degrees(b) {
        out.push(format!("coordinates ({x0:.4}, {y0:.4}) look like degrees, but {} is in metres", zone_label(zone)));
        return out;
    }
    // A 3° zone is ±1.5° wide: at most ~170 km from the central meridian in China;
    // allow a margin for parcels straddling a zone edge.
    let (lo, hi) = (zone.false_easting() - 330_000.0, zone.false_easting() + 330_000.0);
    if x0 < lo || x1 > hi {
        let hint = if zone.prefixed && x1 < 1.0e6 {
            " (the eastings have no zone prefix, but the CRS expects one)".to_owned()
        } else if !zone.prefixed && x0 >= 1.0e7 {
            format!(" (the eastings carry a zone prefix {:.0}, but the CRS has none)", (x0 / 1.0e6).floor())
        } else if zone.prefixed && x0 >= 1.0e7 {
            format!(" (zone prefix {:.0}, the CRS is zone {})", (x0 / 1.0e6).floor(), zone.zone)
        } else {
            String::new()
        };
        out.push(format!(
            "eastings {x0:.0}..{x1:.0} cannot be in {} (expected {lo:.0}..{hi:.0}){hint}",
            zone_label(zone)
        ));
    }
    if y0 < 300_000.0 || y1 > 6_100_000.0 {
        out.push(format!("northings {y0:.0}..{y1:.0} are outside China (expected 300 000..6 100 000 m)"));
    }
    out
}

fn zone_label(z: GkZone) -> String {
    format!(
        "EPSG:{} (CGCS2000 3° GK CM {}°E{})",
        z.epsg(),
        z.central_meridian(),
        if z.prefixed { ", zone prefix" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::coord;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Rect<f64> {
        Rect::new(coord! { x: x0, y: y0 }, coord! { x: x1, y: y1 })
    }

    #[test]
    fn epsg_codes_round_trip_for_every_zone() {
        for zone in ZONES {
            for prefixed in [true, false] {
                let z = GkZone { zone, prefixed };
                assert_eq!(GkZone::from_epsg(z.epsg()), Some(z));
                assert_eq!(GkZone::from_central_meridian(z.central_meridian(), prefixed), Some(z));
            }
        }
        assert_eq!(GkZone::from_epsg(4513), Some(GkZone { zone: 25, prefixed: true }));
        assert_eq!(GkZone::from_epsg(4533), Some(GkZone { zone: 45, prefixed: true }));
        assert_eq!(GkZone::from_epsg(4534), Some(GkZone { zone: 25, prefixed: false }));
        assert_eq!(GkZone::from_epsg(4554), Some(GkZone { zone: 45, prefixed: false }));
        assert_eq!(GkZone::from_epsg(4512), None);
        assert_eq!(GkZone::from_epsg(4555), None);
    }

    #[test]
    fn zone_from_longitude_and_meridian() {
        assert_eq!(GkZone::for_longitude(120.16, false).map(|z| z.zone), Some(40));
        assert_eq!(GkZone::for_longitude(121.49, false).map(|z| z.zone), Some(40));
        assert_eq!(GkZone::for_longitude(121.51, false).map(|z| z.zone), Some(41));
        assert_eq!(GkZone::for_longitude(116.39, true).map(|z| z.epsg()), Some(4527));
        assert_eq!(GkZone::for_longitude(10.0, true), None);
        assert_eq!(GkZone::from_central_meridian(121.0, false), None);
        assert_eq!(GkZone::from_central_meridian(f64::NAN, false), None);
    }

    #[test]
    fn plausible_coordinates_pass() {
        assert!(Crs::from_epsg(4549).implausibility(&rect(511_000.0, 3_349_000.0, 514_000.0, 3_352_000.0)).is_empty());
        assert!(Crs::from_epsg(4528)
            .implausibility(&rect(40_511_000.0, 3_349_000.0, 40_514_000.0, 3_352_000.0))
            .is_empty());
        assert!(Crs::from_epsg(4490).implausibility(&rect(120.0, 30.0, 120.5, 30.5)).is_empty());
    }

    #[test]
    fn degrees_in_a_metre_crs_are_refused() {
        let r = Crs::from_epsg(4549).implausibility(&rect(120.1, 30.2, 120.2, 30.3));
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].contains("degrees"));
    }

    #[test]
    fn metres_in_a_degree_crs_are_refused() {
        let r = Crs::from_epsg(4490).implausibility(&rect(511_000.0, 3_349_000.0, 514_000.0, 3_352_000.0));
        assert!(r[0].contains("not degrees"), "{r:?}");
    }

    #[test]
    fn prefix_mismatches_are_named() {
        let r = Crs::from_epsg(4528).implausibility(&rect(511_000.0, 3_349_000.0, 514_000.0, 3_352_000.0));
        assert!(r[0].contains("no zone prefix"), "{r:?}");
        let r = Crs::from_epsg(4549).implausibility(&rect(40_511_000.0, 3_349_000.0, 40_514_000.0, 3_352_000.0));
        assert!(r[0].contains("carry a zone prefix 40"), "{r:?}");
        let r = Crs::from_epsg(4529).implausibility(&rect(40_511_000.0, 3_349_000.0, 40_514_000.0, 3_352_000.0));
        assert!(r[0].contains("zone prefix 40, the CRS is zone 41"), "{r:?}");
    }

    #[test]
    fn swapped_axes_are_refused() {
        // Northing and easting exchanged (the XZBZ/YZBZ trap).
        let r = Crs::from_epsg(4549).implausibility(&rect(3_349_000.0, 511_000.0, 3_352_000.0, 514_000.0));
        assert!(!r.is_empty());
    }
}
