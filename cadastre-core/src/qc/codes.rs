//! Code checks behind one seam (DOMAIN.md §4), parsed with the workspace `unit_code`
//! crate. Only hard-format violations are reported by `code.format`; the standard's soft
//! rules (unusual feature letters, combination rules) are warnings there and not findings.

fn parsed<T: std::str::FromStr<Err = unit_code::CodeError>>(code: &str, zh_form: &str) -> Option<(String, String)> {
    code.parse::<T>().err().map(|e| (format!("不符合{zh_form}格式（GB/T 37346）：{e}"), e.to_string()))
}

/// Why a parcel code (宗地代码, 19 chars) is malformed, `None` when well-formed.
pub(crate) fn parcel_code_problem(code: &str) -> Option<(String, String)> {
    own_parcel_code_problem(code).or_else(|| parsed::<unit_code::ParcelCode>(code, "宗地代码"))
}

/// Why a natural-building number (自然幢号, 24 chars) is malformed.
pub(crate) fn building_code_problem(code: &str) -> Option<(String, String)> {
    own_building_code_problem(code).or_else(|| parsed::<unit_code::BuildingCode>(code, "自然幢号"))
}

/// Why a unit code (不动产单元号, 28 chars) is malformed.
pub(crate) fn unit_code_problem(code: &str) -> Option<(String, String)> {
    own_unit_code_problem(code).or_else(|| parsed::<unit_code::UnitCode>(code, "不动产单元号"))
}

/// The structural checks with Chinese explanations; `unit_code` has the final word.
fn own_parcel_code_problem(code: &str) -> Option<(String, String)> {
    let b = code.as_bytes();
    // 19 bytes and ASCII is 19 characters: counting characters of every code cost more.
    if b.len() != 19 || !code.is_ascii() {
        return Some((
            format!("长度为 {} 位，应为 19 位", code.chars().count()),
            format!("has {} characters, expected 19", code.chars().count()),
        ));
    }
    if !b[..12].iter().all(u8::is_ascii_digit) {
        return Some((
            "前 12 位（行政区+地籍区+地籍子区）应为数字".into(),
            "the first 12 characters (county, district, sub-district) must be digits".into(),
        ));
    }
    if !matches!(b[12], b'G' | b'J' | b'Z') {
        return Some((
            "第 13 位（所有权特征码）应为 G、J 或 Z".into(),
            "character 13 (ownership) must be G, J or Z".into(),
        ));
    }
    if !(b[13].is_ascii_uppercase() || b[13] == b'0') {
        return Some((
            "第 14 位（宗地类型特征码）应为大写字母或 0".into(),
            "character 14 (parcel type) must be an upper-case letter or 0".into(),
        ));
    }
    if !b[14..].iter().all(u8::is_ascii_digit) {
        return Some((
            "第 15-19 位（宗地顺序号）应为数字".into(),
            "characters 15-19 (sequence number) must be digits".into(),
        ));
    }
    None
}

fn own_building_code_problem(code: &str) -> Option<(String, String)> {
    if code.len() != 24 || !code.is_ascii() {
        return Some((
            format!("长度为 {} 位，应为 24 位", code.chars().count()),
            format!("has {} characters, expected 24", code.chars().count()),
        ));
    }
    if let Some((zh, en)) = own_parcel_code_problem(&code[..19]) {
        return Some((format!("宗地代码部分{zh}"), format!("parcel part {en}")));
    }
    let b = code.as_bytes();
    if b[19] != b'F' || !b[20..].iter().all(u8::is_ascii_digit) {
        return Some((
            "第 20 位应为 F，其后 4 位为幢号".into(),
            "character 20 must be F followed by a 4-digit building number".into(),
        ));
    }
    None
}

fn own_unit_code_problem(code: &str) -> Option<(String, String)> {
    if code.len() != 28 || !code.is_ascii() {
        return Some((
            format!("长度为 {} 位，应为 28 位", code.chars().count()),
            format!("has {} characters, expected 28", code.chars().count()),
        ));
    }
    if let Some((zh, en)) = own_parcel_code_problem(&code[..19]) {
        return Some((format!("宗地代码部分{zh}"), format!("parcel part {en}")));
    }
    let b = code.as_bytes();
    if !matches!(b[19], b'F' | b'L' | b'Q' | b'W') || !b[20..].iter().all(u8::is_ascii_digit) {
        return Some((
            "第 20 位应为 F/L/Q/W，其后 8 位为数字".into(),
            "character 20 must be F, L, Q or W followed by 8 digits".into(),
        ));
    }
    None
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
