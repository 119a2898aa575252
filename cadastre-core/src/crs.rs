//! Coordinate reference systems: CGCS2000 3° Gauss-Krüger zones, .prj/EPSG reading,
//! zone choice from the central meridian, plausibility checks and PROJ transforms.

use serde::{Deserialize, Serialize};

/// A CGCS2000 3-degree Gauss-Krüger zone (EPSG:4513–4554).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GkZone {
    /// Zone number 25..=45 (central meridian = 3 × zone).
    pub zone: u8,
    /// Whether the easting carries the zone number as prefix (EPSG:4513–4533, e.g. 40 512 000 m).
    pub prefixed: bool,
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
