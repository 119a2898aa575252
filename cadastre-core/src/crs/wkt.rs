//! Just enough WKT reading (ESRI .prj, OGC WKT1, WKT2) to recognise CGCS2000
//! Gauss-Krüger zones and geographic CRSs without calling PROJ.

use super::{Crs, GkZone};

/// The first quoted string after `keyword[` (case-insensitive), e.g. the CRS name.
fn name_after(text: &str, keywords: &[&str]) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    keywords.iter().find_map(|k| {
        let start = upper.find(&format!("{k}["))? + k.len() + 1;
        let rest = text.get(start..)?.trim_start().strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_owned())
    })
}

/// The numeric value of `PARAMETER["<one of names>", value`.
fn parameter(text: &str, names: &[&str]) -> Option<f64> {
    let lower = text.to_ascii_lowercase();
    names.iter().find_map(|n| {
        let key = format!("\"{}\"", n.to_ascii_lowercase());
        let at = lower.find(&key)? + key.len();
        let rest = text.get(at..)?.trim_start().strip_prefix(',')?.trim_start();
        let end = rest.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))?;
        rest[..end].parse().ok()
    })
}

/// The top-level EPSG id: the last `AUTHORITY["EPSG","n"]` / `ID["EPSG",n]` in the text.
fn epsg(text: &str) -> Option<u32> {
    let upper = text.to_ascii_uppercase();
    let pos = upper.rfind("\"EPSG\"")?;
    let before = upper[..pos].trim_end();
    if !(before.ends_with("AUTHORITY[") || before.ends_with("ID[")) {
        return None;
    }
    let rest = text.get(pos + 6..)?.trim_start().strip_prefix(',')?.trim_start().trim_start_matches('"');
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    // Only trust it when it closes the whole definition (a nested id belongs to a part).
    let tail = rest[end..].trim_start_matches('"').trim_start();
    if tail.trim_end_matches([']', ' ', '\n', '\r', '\t']).is_empty() {
        rest[..end].parse().ok()
    } else {
        None
    }
}

pub(super) fn parse(text: &str) -> Crs {
    let text = text.trim().trim_start_matches('\u{feff}').trim();
    let upper = text.to_ascii_uppercase();
    let projected = upper.starts_with("PROJCS[") || upper.starts_with("PROJCRS[") || upper.starts_with("PROJECTEDCRS[");
    let geographic = !projected
        && (upper.starts_with("GEOGCS[")
            || upper.starts_with("GEOGCRS[")
            || upper.starts_with("GEODCRS[")
            || upper.starts_with("GEOGRAPHICCRS["));
    let name = name_after(text, &["PROJCS", "PROJCRS", "PROJECTEDCRS", "GEOGCS", "GEOGCRS", "GEODCRS"]);
    let mut crs = Crs { epsg: epsg(text), wkt: Some(text.to_owned()), gk_zone: None, geographic, name };
    if let Some(z) = crs.epsg.and_then(GkZone::from_epsg) {
        crs.gk_zone = Some(z);
        return crs;
    }
    let cgcs2000 = upper.contains("CGCS")
        || upper.contains("CHINA_2000")
        || upper.contains("CHINA 2000")
        || upper.contains("CHINA GEODETIC COORDINATE SYSTEM 2000");
    if !projected || !cgcs2000 {
        if geographic && cgcs2000 && crs.epsg.is_none() {
            crs.epsg = Some(4490);
        }
        return crs;
    }
    let transverse =
        upper.contains("GAUSS") || upper.contains("TRANSVERSE_MERCATOR") || upper.contains("TRANSVERSE MERCATOR");
    let cm = parameter(text, &["Central_Meridian", "Longitude of natural origin", "longitude_of_center"]);
    let fe = parameter(text, &["False_Easting", "False easting"]).unwrap_or(0.0);
    let k = parameter(text, &["Scale_Factor", "Scale factor at natural origin"]).unwrap_or(1.0);
    let lat0 = parameter(text, &["Latitude_Of_Origin", "Latitude of natural origin"]).unwrap_or(0.0);
    if !transverse || (k - 1.0).abs() > 1e-12 || lat0 != 0.0 {
        return crs;
    }
    let zone = cm.and_then(|cm| {
        let unprefixed = GkZone::from_central_meridian(cm, false)?;
        if (fe - 500_000.0).abs() < 1e-6 {
            Some(unprefixed)
        } else {
            let prefixed = GkZone { prefixed: true, ..unprefixed };
            ((fe - prefixed.false_easting()).abs() < 1e-6).then_some(prefixed)
        }
    });
    crs.gk_zone = zone;
    if crs.epsg.is_none() {
        crs.epsg = zone.map(GkZone::epsg);
    }
    crs
}

/// ESRI WKT for EPSG:4549 as ArcGIS writes it.
#[cfg(test)]
pub(crate) const ESRI_4549: &str = r#"PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

#[cfg(test)]
mod tests {
    use super::*;

    use super::ESRI_4549;
    const ESRI_4528: &str = r#"PROJCS["CGCS2000_3_Degree_GK_Zone_40",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",40500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
    const OGC_4549: &str = r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 120E",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4490"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",120],PARAMETER["scale_factor",1],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AUTHORITY["EPSG","4549"]]"#;
    const ESRI_WGS84: &str = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
    const ESRI_CGCS2000_GEO: &str = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;

    #[test]
    fn esri_unprefixed_zone() {
        let c = parse(ESRI_4549);
        assert_eq!(c.gk_zone, Some(GkZone { zone: 40, prefixed: false }));
        assert_eq!(c.epsg, Some(4549));
        assert_eq!(c.name.as_deref(), Some("CGCS2000_3_Degree_GK_CM_120E"));
        assert!(!c.geographic);
    }

    #[test]
    fn esri_prefixed_zone() {
        let c = parse(ESRI_4528);
        assert_eq!(c.gk_zone, Some(GkZone { zone: 40, prefixed: true }));
        assert_eq!(c.epsg, Some(4528));
    }

    #[test]
    fn ogc_wkt_with_authority_uses_the_top_level_code() {
        let c = parse(OGC_4549);
        assert_eq!(c.epsg, Some(4549));
        assert_eq!(c.gk_zone.map(GkZone::epsg), Some(4549));
    }

    #[test]
    fn geographic_crs() {
        let c = parse(ESRI_WGS84);
        assert!(c.geographic);
        assert_eq!(c.gk_zone, None);
        let c = parse(ESRI_CGCS2000_GEO);
        assert!(c.geographic);
        assert_eq!(c.epsg, Some(4490));
    }

    #[test]
    fn garbage_is_not_understood_and_does_not_panic() {
        for text in ["<html><body>404</body></html>", "", "PROJCS[", "PROJCS[\"x\",PARAMETER[\"Central_Meridian\","] {
            let c = parse(text);
            assert!(!c.is_understood(), "{text}: {c:?}");
        }
    }

    #[test]
    fn a_non_cgcs_transverse_mercator_is_not_a_gk_zone() {
        let utm = ESRI_4549
            .replace("China_2000", "WGS_1984")
            .replace("China_Geodetic_Coordinate_System_2000", "WGS_1984")
            .replace("CGCS2000", "WGS_1984");
        assert_eq!(parse(&utm).gk_zone, None);
    }
}
