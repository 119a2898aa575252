//! Formatting of the codes the generator writes (GB/T 37346 layout, see
//! DOMAIN.md §4). Kept local so the generator does not depend on the
//! allocation machinery of the `unit-code` crate.

/// 19-char parcel code 宗地代码: sub-district (12) + feature code (2) + sequence (5).
///
/// ```
/// assert_eq!(cadastre_samples::codes::parcel("330106001001", "GB", 12), "330106001001GB00012");
/// ```
#[must_use]
pub fn parcel(subdistrict: &str, feature: &str, seq: u32) -> String {
    format!("{subdistrict}{feature}{seq:05}")
}

/// The land-only unit of a parcel: ZDDM + `W00000000`.
#[must_use]
pub fn land_unit(zddm: &str) -> String {
    format!("{zddm}W00000000")
}

/// 24-char natural building number 自然幢号: ZDDM + `F` + 4-digit building number.
///
/// ```
/// assert_eq!(cadastre_samples::codes::building("330106001001GB00012", 3), "330106001001GB00012F0003");
/// ```
#[must_use]
pub fn building(zddm: &str, number: u32) -> String {
    format!("{zddm}F{number:04}")
}

/// 28-char unit code of household `hh` of a building (`0` = the whole building).
#[must_use]
pub fn household(zrzh: &str, hh: u32) -> String {
    format!("{zrzh}{hh:04}")
}

/// Whether `code` has the hard format of a 19-char parcel code
/// (`^\d{12}[GJZ][A-Z0]\d{5}$`).
#[must_use]
pub fn is_parcel_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 19
        && b[..12].iter().all(u8::is_ascii_digit)
        && matches!(b[12], b'G' | b'J' | b'Z')
        && (b[13].is_ascii_uppercase() || b[13] == b'0')
        && b[14..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_link_up() {
        let z = parcel("330106001002", "JC", 7);
        assert_eq!(z, "330106001002JC00007");
        assert!(is_parcel_code(&z));
        assert_eq!(land_unit(&z).len(), 28);
        let f = building(&z, 12);
        assert_eq!(f.len(), 24);
        assert_eq!(household(&f, 0), "330106001002JC00007F00120000");
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
