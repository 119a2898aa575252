//! The 房屋面积分摊计算表 as plain tables (title, header, typed cells): the one layout the
//! XLSX ([`super::xlsx`]) and PDF (`crate::print::apportionment_pdf`) exports draw, so
//! both carry the same rows and numbers as the HTML page.

use super::report::{Apportionment, Level};
use super::Method;
use crate::model::floor_name;

/// A cell of the sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number shown with this many decimals.
    Num(f64, u8),
    /// Nothing.
    Empty,
}

impl Cell {
    /// The cell as printed.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Num(v, d) => format!("{v:.*}", usize::from(*d)),
            Cell::Empty => String::new(),
        }
    }

    fn area(a: super::Area) -> Self {
        Cell::Num(a.m2(), 2)
    }
}

/// One table of the sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetTable {
    /// Heading above the table.
    pub title: &'static str,
    /// Column headings.
    pub header: Vec<&'static str>,
    /// Rows (same width as the header).
    pub rows: Vec<Vec<Cell>>,
    /// Whether the last row is a total (printed bold/shaded).
    pub total_row: bool,
}

/// Title of the sheet.
pub const SHEET_TITLE: &str = "房屋面积分摊计算表";

/// The method line under the title.
pub fn method_text(method: Method) -> &'static str {
    match method {
        Method::Gbt17986 => "GB/T 17986.1（功能区按建筑面积，层与户按套内建筑面积）",
    }
}

/// The note on rounding residuals (尾差), then one line per shared space with adjustments.
pub fn residual_notes(a: &Apportionment) -> Vec<String> {
    let mut out = vec!["各户分摊面积先按四舍五入取至 0.01 m²，其与共有面积之差（尾差）按最大余数法逐 0.01 m² 调整，余数相同时按户号顺序，保证每个共有部位的分摊面积之和等于其面积。分摊系数 K 不取整。".to_owned()];
    let mut any = false;
    for s in a.shared.iter().filter(|s| !s.adjustments.is_empty()) {
        any = true;
        let adj: Vec<String> = s.adjustments.iter().map(|x| format!("{} {:+.2}", x.unit, x.area.m2())).collect();
        out.push(format!("{}：{}", s.id, adj.join("，")));
    }
    if !any {
        out.push("无尾差调整。".to_owned());
    }
    out
}

/// The three tables of the sheet: levels with K, shared spaces, households with the total row.
///
/// ```
/// use cadastre_core::apportion::{sheet, Apportion, ApportionInput};
/// let input = ApportionInput::from_json(r#"{"building": "B1",
///   "zones": [{"id": "res", "name": "住宅"}],
///   "units": [{"id": "0101", "zone": "res", "floor": 1, "inner_area": 80},
///             {"id": "0102", "zone": "res", "floor": 1, "inner_area": 70}],
///   "shared": [{"id": "s", "area": 12, "serves": {"building": true}}]}"#).unwrap();
/// let tables = sheet::tables(&input.apportion().unwrap());
/// let households = &tables[2];
/// assert_eq!(households.rows.len(), 3); // two households and the total
/// assert_eq!(households.rows[2][6].display(), "162.00");
/// ```
pub fn tables(a: &Apportionment) -> Vec<SheetTable> {
    let levels = a
        .levels
        .iter()
        .map(|l| {
            let level = match l.level {
                Level::Building => "幢",
                Level::Zone => "功能区",
                Level::Floor => "层",
            };
            let zone = match (&l.zone_name, &l.zone) {
                (Some(n), Some(z)) if !n.is_empty() => format!("{n}（{z}）"),
                (_, Some(z)) => z.to_string(),
                _ => "—".into(),
            };
            vec![
                Cell::Text(level.into()),
                Cell::Text(zone),
                Cell::Text(l.floor.map_or("—".to_string(), floor_name)),
                Cell::area(l.inner_area),
                Cell::area(l.participating_area),
                Cell::Num(l.incoming, 2),
                Cell::area(l.own_shared),
                Cell::Num(l.k, 6),
            ]
        })
        .collect();
    let shared = a
        .shared
        .iter()
        .map(|s| {
            vec![
                Cell::Text(s.id.clone()),
                Cell::Text(s.name.clone().unwrap_or_default()),
                Cell::area(s.area),
                Cell::Text(s.serves.clone()),
                Cell::Text(if s.by_agreement { "协议约定" } else { "按比例分摊" }.into()),
                s.k.first().map_or(Cell::Text("—".into()), |k| Cell::Num(k.k, 6)),
            ]
        })
        .collect();
    let mut units: Vec<Vec<Cell>> = a
        .units
        .iter()
        .map(|u| {
            vec![
                Cell::Text(u.id.to_string()),
                Cell::Text(u.room.as_deref().unwrap_or("").to_owned()),
                Cell::Text(u.zone.to_string()),
                Cell::Text(floor_name(u.floor)),
                Cell::area(u.inner_area),
                Cell::area(u.apportioned),
                Cell::area(u.building_area),
                Cell::Num(u.coefficient, 6),
            ]
        })
        .collect();
    let t = &a.totals;
    units.push(vec![
        Cell::Text("合计".into()),
        Cell::Empty,
        Cell::Empty,
        Cell::Empty,
        Cell::area(t.inner_area),
        Cell::area(t.apportioned),
        Cell::area(t.building_area),
        Cell::Empty,
    ]);
    vec![
        SheetTable {
            title: "一、分摊层次与分摊系数 (幢 → 功能区 → 层)",
            header: vec![
                "层次",
                "功能区",
                "层",
                "套内建筑面积 m²",
                "参加分摊面积 m²",
                "上级分摊来 m²",
                "本级共有面积 m²",
                "分摊系数 K",
            ],
            rows: levels,
            total_row: false,
        },
        SheetTable {
            title: "二、共有部位",
            header: vec!["编号", "名称", "面积 m²", "服务范围", "分摊方式", "顶层系数 K"],
            rows: shared,
            total_row: false,
        },
        SheetTable {
            title: "三、分户面积",
            header: vec![
                "户号",
                "室号",
                "功能区",
                "层",
                "套内建筑面积 m²",
                "分摊共有面积 m²",
                "建筑面积 m²",
                "分摊系数",
            ],
            rows: units,
            total_row: true,
        },
    ]
}
