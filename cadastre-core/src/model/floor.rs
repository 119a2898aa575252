//! Floor names (层名称), shared by the building table, apportionment reports and prints.

/// 层名称 of a nominal floor: "第3层" above ground, "负1层" below.
///
/// ```
/// use cadastre_core::model::floor_name;
/// assert_eq!(floor_name(6), "第6层");
/// assert_eq!(floor_name(-2), "负2层");
/// ```
pub fn floor_name(nominal: i32) -> String {
    if nominal < 0 {
        format!("负{}层", -i64::from(nominal))
    } else {
        format!("第{nominal}层")
    }
}
