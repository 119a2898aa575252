//! The codes the generator writes (GB/T 37346 layout, DOMAIN.md §4), made and checked by
//! the `unit-code` crate. The model keeps them as strings: a `code.format` defect needs a
//! parcel code that no typed code can hold.

use unit_code::{BuildingCode, CodeError, ParcelCode, ParcelFeature, Segment, SubdistrictCode, UnitCode};

/// 19-char parcel code 宗地代码: sub-district (12) + feature code (2) + sequence (5).
///
/// ```
/// assert_eq!(cadastre_samples::codes::parcel("330106001001", "GB", 12)?, "330106001001GB00012");
/// assert!(cadastre_samples::codes::parcel("330106001001", "GB", 100_000).is_err());
/// # Ok::<(), unit_code::CodeError>(())
/// ```
///
/// # Errors
/// A malformed sub-district or feature code, or a sequence outside 1..=99999.
pub fn parcel(subdistrict: &str, feature: &str, seq: u32) -> Result<String, CodeError> {
    let subdistrict: SubdistrictCode = subdistrict.parse()?;
    let feature: ParcelFeature = feature.parse()?;
    Ok(ParcelCode::new(subdistrict, feature, seq)?.to_string())
}

/// The land-only unit of a parcel: ZDDM + `W00000000`. A malformed parcel code (an injected
/// `code.format` defect) gets the same suffix, so its unit code is malformed alike.
#[must_use]
pub fn land_unit(zddm: &str) -> String {
    match zddm.parse::<ParcelCode>() {
        Ok(p) => UnitCode::land_only(p).to_string(),
        Err(_) => format!("{zddm}W00000000"),
    }
}

/// 24-char natural building number 自然幢号: ZDDM + `F` + 4-digit building number.
///
/// ```
/// assert_eq!(cadastre_samples::codes::building("330106001001GB00012", 3)?, "330106001001GB00012F0003");
/// # Ok::<(), unit_code::CodeError>(())
/// ```
///
/// # Errors
/// A malformed parcel code or a number outside 1..=9999.
pub fn building(zddm: &str, number: u32) -> Result<String, CodeError> {
    let number = number_u16(Segment::BuildingNumber, number, BuildingCode::MAX_NUMBER)?;
    Ok(BuildingCode::new(zddm.parse()?, number)?.to_string())
}

/// 28-char unit code of household `hh` of a building (`0` = the whole building).
///
/// # Errors
/// A malformed building code or a household number above 9999.
pub fn household(zrzh: &str, hh: u32) -> Result<String, CodeError> {
    let building: BuildingCode = zrzh.parse()?;
    if hh == 0 {
        return Ok(UnitCode::whole_building(building).to_string());
    }
    Ok(UnitCode::household(building, number_u16(Segment::HouseholdNumber, hh, UnitCode::MAX_HOUSEHOLD)?)?.to_string())
}

fn number_u16(segment: Segment, n: u32, max: u16) -> Result<u16, CodeError> {
    u16::try_from(n).map_err(|_| CodeError::OutOfRange { segment, min: 1, max: u32::from(max), found: n })
}

/// Whether `code` has the hard format of a 19-char parcel code
/// (`^\d{12}[GJZ][A-Z0]\d{5}$`).
#[must_use]
pub fn is_parcel_code(code: &str) -> bool {
    code.parse::<ParcelCode>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_link_up() -> Result<(), CodeError> {
        let z = parcel("330106001002", "JC", 7)?;
        assert_eq!(z, "330106001002JC00007");
        assert!(is_parcel_code(&z));
        assert_eq!(land_unit(&z), "330106001002JC00007W00000000");
        let f = building(&z, 12)?;
        assert_eq!(f.len(), 24);
        assert_eq!(household(&f, 0)?, "330106001002JC00007F00120000");
        assert_eq!(household(&f, 31)?, "330106001002JC00007F00120031");
        assert!(household(&f, 10_000).is_err());
        assert!(building(&z, 70_000).is_err());
        Ok(())
    }

    #[test]
    fn malformed_parcel_codes_keep_their_shape() {
        assert_eq!(land_unit("330106001001gb00001"), "330106001001gb00001W00000000");
        assert!(building("330106001001GB0001", 1).is_err());
    }

    #[test]
    fn parcel_code_format_check() {
        assert!(is_parcel_code("340824104207JA00024"));
        assert!(!is_parcel_code("330106001001gb00001"));
        assert!(!is_parcel_code("330106001001GB0001"));
        assert!(!is_parcel_code("330106001001GB0O001"));
        assert!(!is_parcel_code("330106001001XB00001"));
    }
}
