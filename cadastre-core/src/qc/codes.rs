//! Code checks behind one seam (DOMAIN.md §4): the workspace `unit_code` crate parses,
//! and its error names the segment that failed (county, district, sub-district, feature
//! code, sequence, fixture...) in Chinese and English. Only hard-format violations are
//! reported by `code.format`; the standard's soft rules (unusual feature letters,
//! combination rules) are warnings there and not findings.

use std::str::FromStr;

use unit_code::{BuildingCode, CodeError, ParcelCode, UnitCode};

/// Why `code` is not a well-formed `T`, in Chinese and English; `None` when it is.
fn problem<T: FromStr<Err = CodeError>>(code: &str) -> Option<(String, String)> {
    code.parse::<T>().err().map(|e| (e.message_zh(), e.message_en()))
}

/// Why a parcel code (宗地代码, 19 chars) is malformed, `None` when well-formed.
pub(crate) fn parcel_code_problem(code: &str) -> Option<(String, String)> {
    problem::<ParcelCode>(code)
}

/// Why a natural-building number (自然幢号, 24 chars) is malformed.
pub(crate) fn building_code_problem(code: &str) -> Option<(String, String)> {
    problem::<BuildingCode>(code)
}

/// Why a unit code (不动产单元号, 28 chars) is malformed.
pub(crate) fn unit_code_problem(code: &str) -> Option<(String, String)> {
    problem::<UnitCode>(code)
}

/// GB/T 21010 land-use codes: first-level (2 digits), 2017 second level (4 digits,
/// including 05H1 / 08H1 / 08H2) and 2007 second level (3 digits).
pub(crate) fn is_land_use_code(code: &str) -> bool {
    const SECOND_2017: &[(u8, u8)] =
        &[(1, 3), (2, 4), (3, 7), (4, 4), (5, 8), (6, 4), (7, 2), (8, 10), (9, 6), (10, 9), (11, 10), (12, 7)];
    const SECOND_2007: &[(u8, u8)] =
        &[(1, 3), (2, 3), (3, 3), (4, 3), (5, 4), (6, 4), (7, 2), (8, 8), (9, 5), (10, 7), (11, 9), (12, 7)];
    let code = code.trim();
    // 2017 codes merged for land surveys: 05H1 商业服务业设施, 08H1 机关团体新闻出版, 08H2 科教文卫.
    if matches!(code, "05H1" | "08H1" | "08H2") {
        return true;
    }
    if !code.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let num = |s: &str| s.parse::<u8>().ok();
    match code.len() {
        2 => num(code).is_some_and(|n| (1..=12).contains(&n)),
        3 => match (num(&code[..2]), num(&code[2..])) {
            (Some(a), Some(b)) => SECOND_2007.iter().any(|&(f, max)| f == a && (1..=max).contains(&b)),
            _ => false,
        },
        4 => match (num(&code[..2]), num(&code[2..])) {
            (Some(a), Some(b)) => SECOND_2017.iter().any(|&(f, max)| f == a && (1..=max).contains(&b)),
            _ => false,
        },
        _ => false,
    }
}

/// 权利类型 QLLX dictionary of the registration database standard: 1–36 and 99.
pub(crate) fn is_right_type(code: &str) -> bool {
    code.trim().parse::<u16>().is_ok_and(|n| (1..=36).contains(&n) || n == 99) && !code.trim().starts_with('0')
}

/// 权利性质 QLXZ: three-digit codes 1xx (state land: 100 国有土地, 101 划拨, 102 出让, …)
/// and 2xx (collective land: 200 集体土地, 201 家庭承包, …).
pub(crate) fn is_right_nature(code: &str) -> bool {
    let c = code.trim();
    c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()) && matches!(c.as_bytes()[0], b'1' | b'2')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_codes_are_well_formed() {
        assert_eq!(parcel_code_problem("340824104207JA00024"), None);
        assert_eq!(unit_code_problem("411702600021GB00001F00070027"), None);
        assert_eq!(building_code_problem("330106001001GB00001F0001"), None);
    }

    #[test]
    fn malformed_codes_are_explained() {
        assert!(parcel_code_problem("33010600100GB00001").is_some());
        assert!(parcel_code_problem("330106001001XB00001").is_some());
        assert!(parcel_code_problem("33010600100AGB00001").is_some());
        assert!(parcel_code_problem("330106001001GB0000A").is_some());
        assert!(parcel_code_problem("330106001001GB0000一").is_some());
        assert!(unit_code_problem("330106001001GB00001H00000000").is_some());
        assert!(building_code_problem("330106001001GB00001W0001").is_some());
    }

    /// The messages name the segment and position that failed (from `unit_code`).
    #[test]
    fn messages_name_the_segment() {
        let zh = |p: Option<(String, String)>| p.map(|(zh, _)| zh).unwrap_or_default();
        assert_eq!(zh(parcel_code_problem("33010600100GB00001")), "宗地代码应为 19 位，实际为 18 位");
        assert_eq!(
            zh(parcel_code_problem("330106001001XB00001")),
            "宗地代码第 13 位应为宗地特征码（所有权）G/J/Z，实际为 'X'"
        );
        assert!(zh(parcel_code_problem("33010600100AGB00001")).contains("第 12 位应为数字 0-9（地籍子区）"));
        assert!(zh(parcel_code_problem("330106001001GB0000A")).contains("（宗地顺序号）"));
        assert!(zh(unit_code_problem("330106001001GB00001H00000000")).contains("第 20 位应为定着物特征码 F/L/Q/W"));
        assert!(zh(building_code_problem("330106001001GB00001W0001")).contains("第 20 位应为定着物特征码 F"));
        let en = unit_code_problem("330106001001GB00001F0001000x").map(|(_, en)| en).unwrap_or_default();
        assert!(en.contains("position 28: expected digit 0-9 (household number)"), "{en}");
    }

    #[test]
    fn dictionaries() {
        assert!(
            is_land_use_code("0701") && is_land_use_code("05") && is_land_use_code("071") && is_land_use_code("08H2")
        );
        assert!(
            !is_land_use_code("0799") && !is_land_use_code("") && !is_land_use_code("13") && !is_land_use_code("07H2")
        );
        assert!(is_right_type("3") && is_right_type("99") && !is_right_type("0") && !is_right_type("x"));
        assert!(is_right_nature("102") && is_right_nature("200") && !is_right_nature("302"));
    }
}
