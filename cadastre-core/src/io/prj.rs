//! The `.prj` beside a shapefile. Reading: a WKT coordinate system (ESRI, OGC WKT1 or WKT2)
//! or, as some tools write it, a bare `EPSG:n`; anything else (an HTML error page saved under
//! the name, an empty or cut-off file) is unreadable, which is not the same as a CRS we do
//! not recognise. Writing: [`esri_wkt`], the ESRI WKT Chinese GIS software expects.

use crate::crs::Crs;

/// WKT keywords a coordinate-system definition starts with (WKT1 and WKT2).
const CRS_KEYWORDS: &[&str] = &[
    "PROJCS",
    "GEOGCS",
    "GEOCCS",
    "VERT_CS",
    "COMPD_CS",
    "LOCAL_CS",
    "FITTED_CS",
    "PROJCRS",
    "PROJECTEDCRS",
    "GEOGCRS",
    "GEOGRAPHICCRS",
    "GEODCRS",
    "GEODETICCRS",
    "BASEGEODCRS",
    "BOUNDCRS",
    "COMPOUNDCRS",
    "VERTCRS",
    "VERTICALCRS",
    "ENGCRS",
    "ENGINEERINGCRS",
    "DERIVEDPROJCRS",
];

/// The CRS a `.prj` declares, or why its text declares none.
///
/// ```ignore
/// assert!(read("<html><body>404</body></html>").is_err());
/// assert_eq!(read("EPSG:4549").map(|c| c.epsg), Ok(Some(4549)));
/// ```
pub(crate) fn read(text: &str) -> Result<Crs, String> {
    let text = text.trim_start_matches('\u{feff}').trim();
    let shown: String = text.chars().take(60).collect();
    if text.is_empty() {
        return Err("the .prj is empty".to_owned());
    }
    if let Some(code) = text.strip_prefix("EPSG:").or_else(|| text.strip_prefix("epsg:")) {
        return code.trim().parse().map(Crs::from_epsg).map_err(|_| format!("not an EPSG code: {shown:?}"));
    }
    let keyword_end = text.find(['[', '(']).unwrap_or(text.len());
    let keyword = text[..keyword_end].trim_end();
    if keyword_end == text.len() || !CRS_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(keyword)) {
        return Err(format!("not a coordinate system definition (WKT): {shown:?}"));
    }
    // Brackets outside quoted names must balance: a cut-off download ends inside them.
    let (mut depth, mut quoted) = (0i64, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '[' | '(' if !quoted => depth += 1,
            ']' | ')' if !quoted => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced brackets in the WKT: {shown:?}"));
                }
            }
            _ => {}
        }
    }
    if depth != 0 || quoted {
        return Err(format!("the WKT ends before its brackets close (cut off?): {shown:?}"));
    }
    Ok(Crs::from_wkt(text))
}

/// The geographic CRS of CGCS2000 (EPSG:4490) in ESRI WKT.
const CGCS2000_GEOGCS: &str = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;

/// ESRI WKT for a CRS: the declared WKT when there is one; else written here for the
/// CGCS2000 3° zones (as `gdalsrsinfo -o wkt_esri` prints them) and CGCS2000 geographic;
/// else, with the `gdal` feature, GDAL's WKT for the EPSG code.
///
/// ```
/// use cadastre_core::crs::Crs;
/// let prj = cadastre_core::io::esri_wkt(&Crs::from_epsg(4549)).unwrap_or_default();
/// assert!(prj.starts_with(r#"PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["#));
/// assert!(prj.contains(r#"PARAMETER["Central_Meridian",120.0]"#));
/// ```
pub fn esri_wkt(crs: &Crs) -> Option<String> {
    if let Some(w) = &crs.wkt {
        return Some(w.clone());
    }
    if let Some(z) = crs.gk_zone {
        let name = if z.prefixed {
            format!("CGCS2000_3_Degree_GK_Zone_{}", z.zone)
        } else {
            format!("CGCS2000_3_Degree_GK_CM_{}E", u32::from(z.zone) * 3)
        };
        return Some(format!(
            r#"PROJCS["{name}",{CGCS2000_GEOGCS},PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",{:.1}],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",{:.1}],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#,
            z.false_easting(),
            z.central_meridian()
        ));
    }
    match crs.epsg {
        Some(4490) => Some(CGCS2000_GEOGCS.to_owned()),
        #[cfg(feature = "gdal")]
        Some(e) => gdal::spatial_ref::SpatialRef::from_epsg(e).ok().and_then(|s| s.to_wkt().ok()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESRI_4549: &str = r#"PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

    #[test]
    fn wkt_and_epsg_are_read() {
        assert_eq!(read(ESRI_4549).map(|c| c.epsg), Ok(Some(4549)));
        assert_eq!(read(&format!("\u{feff}{ESRI_4549}\r\n")).map(|c| c.epsg), Ok(Some(4549)));
        assert_eq!(read("EPSG:4549").map(|c| c.gk_zone.map(|z| z.zone)), Ok(Some(40)));
        // A well-formed WKT of a CRS we do not recognise is readable (reported as unknown elsewhere).
        let utm = r#"PROJCS["WGS 84 / UTM zone 50N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],UNIT["metre",1]]"#;
        assert!(read(utm).is_ok_and(|c| !c.is_understood()));
    }

    #[test]
    fn written_wkt_reads_back_as_the_same_zone() {
        // As printed by `gdalsrsinfo -o wkt_esri --single-line EPSG:4549` (GDAL 3.6.2).
        assert_eq!(esri_wkt(&Crs::from_epsg(4549)).as_deref(), Some(ESRI_4549));
        for epsg in [4490, 4513, 4528, 4534, 4554] {
            let wkt = esri_wkt(&Crs::from_epsg(epsg)).unwrap_or_default();
            let back = read(&wkt).map(|c| (c.epsg, c.gk_zone));
            assert_eq!(back, Ok((Some(epsg), crate::crs::GkZone::from_epsg(epsg))), "{epsg}: {wkt}");
        }
        assert_eq!(esri_wkt(&Crs::from_wkt("LOCAL_CS[\"x\"]")).as_deref(), Some("LOCAL_CS[\"x\"]"));
    }

    #[test]
    fn garbage_is_unreadable() {
        for bad in [
            "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>nginx</body></html>",
            "",
            "   \n",
            "CGCS2000",
            "POINT (1 2)",
            "EPSG:abc",
            &ESRI_4549[..120],
            "PROJCS[\"x\"]]",
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
        let err = read("<html>").expect_err("html");
        assert!(err.contains("<html>"), "{err}");
    }
}
