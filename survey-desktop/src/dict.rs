//! Code tables (字典) for the attribute drop-downs: land use (GB/T 21010-2017,
//! with the codes merged for cadastral survey), right type and nature (不动产登记数据库
//! 标准), building structure. Values are validated by `cadastre-core` QC as well.

/// (code, 中文名称).
pub type Entry = (&'static str, &'static str);

/// 土地用途 YT, GB/T 21010-2017 second-level classes used in urban cadastral survey.
pub const LAND_USE: &[Entry] = &[
    ("0101", "水田"),
    ("0102", "水浇地"),
    ("0103", "旱地"),
    ("0201", "果园"),
    ("0202", "茶园"),
    ("0204", "其他园地"),
    ("0301", "乔木林地"),
    ("0307", "其他林地"),
    ("0401", "天然牧草地"),
    ("0404", "其他草地"),
    ("05H1", "商业服务业设施用地"),
    ("0508", "物流仓储用地"),
    ("0601", "工业用地"),
    ("0602", "采矿用地"),
    ("0701", "城镇住宅用地"),
    ("0702", "农村宅基地"),
    ("08H1", "机关团体新闻出版用地"),
    ("08H2", "科教文卫用地"),
    ("0809", "公用设施用地"),
    ("0810", "公园与绿地"),
    ("0901", "军事设施用地"),
    ("0906", "宗教用地"),
    ("1001", "铁路用地"),
    ("1003", "公路用地"),
    ("1004", "城镇村道路用地"),
    ("1005", "交通服务场站用地"),
    ("1101", "河流水面"),
    ("1104", "坑塘水面"),
    ("1107", "沟渠"),
    ("1109", "水工建筑用地"),
    ("1201", "空闲地"),
    ("1202", "设施农用地"),
    ("1206", "裸土地"),
];

/// 权利类型 QLLX.
pub const RIGHT_TYPE: &[Entry] = &[
    ("1", "集体土地所有权"),
    ("2", "国家土地所有权"),
    ("3", "国有建设用地使用权"),
    ("4", "国有建设用地使用权/房屋（构筑物）所有权"),
    ("5", "宅基地使用权"),
    ("6", "宅基地使用权/房屋（构筑物）所有权"),
    ("7", "集体建设用地使用权"),
    ("8", "集体建设用地使用权/房屋（构筑物）所有权"),
    ("9", "土地承包经营权"),
    ("99", "其他"),
];

/// 权利性质 QLXZ.
pub const RIGHT_NATURE: &[Entry] = &[
    ("100", "国有土地"),
    ("101", "划拨"),
    ("102", "出让"),
    ("103", "作价出资（入股）"),
    ("104", "国有土地租赁"),
    ("105", "授权经营"),
    ("200", "集体土地"),
    ("201", "家庭承包"),
    ("202", "其他方式承包"),
    ("203", "批准拨用"),
    ("204", "入股"),
    ("205", "联营"),
];

/// 房屋结构 FWJG.
pub const STRUCTURE: &[Entry] = &[
    ("1", "钢结构"),
    ("2", "钢和钢筋混凝土结构"),
    ("3", "钢筋混凝土结构"),
    ("4", "混合结构"),
    ("5", "砖木结构"),
    ("6", "其他结构"),
];

/// The Chinese name of a code in a table.
pub fn name_of(table: &[Entry], code: &str) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code.trim()).map(|(_, n)| *n)
}

/// Why a parcel code (宗地代码) is not valid, `None` when it is (GB/T 37346, via `unit-code`).
pub fn parcel_code_problem(code: &str) -> Option<String> {
    code.trim().parse::<cadastre_core::unit_code::ParcelCode>().err().map(|e| e.to_string())
}

/// Why a building number (自然幢号) is not valid.
pub fn building_code_problem(code: &str) -> Option<String> {
    code.trim().parse::<cadastre_core::unit_code::BuildingCode>().err().map(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_validation_explains() {
        for table in [LAND_USE, RIGHT_TYPE, RIGHT_NATURE, STRUCTURE] {
            let mut codes: Vec<&str> = table.iter().map(|(c, _)| *c).collect();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), table.len());
        }
        assert_eq!(name_of(LAND_USE, "0701"), Some("城镇住宅用地"));
        assert!(parcel_code_problem("330106001001GB00001").is_none());
        assert!(parcel_code_problem("33010600100GB00001").is_some());
    }
}
