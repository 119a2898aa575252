//! The forms of the 楼盘表 panel as plain data: the grid generator (which
//! logical building, which nominal floors, the physical floors each spans) and
//! the batch edit, each turned into the `cadastre-core` / model input with the
//! reason when the text does not parse. No egui here.

use std::collections::BTreeMap;

use cadastre_core::apportion::Area;
use cadastre_core::building::{FloorSpec, GridSpec, PhysicalFloors};

use crate::model::units::ops::BatchValues;

/// The grid generator's form.
#[derive(Debug, Clone)]
pub struct GridForm {
    /// 逻辑幢号 LJZH of the new households.
    pub ljzh: String,
    /// Lowest nominal floor (negative: basements).
    pub lowest: i32,
    /// Highest nominal floor.
    pub highest: i32,
    /// 单元 count.
    pub stair_units: u32,
    /// Rooms per stair unit per floor.
    pub rooms: u32,
    /// 房屋用途.
    pub usage: String,
    /// 功能区.
    pub zone: String,
    /// Nominal floors whose physical floors differ, "4=4-5, 5=6, 6=7"
    /// (名义层=实际层); the others are the same number.
    pub physical: String,
}

impl Default for GridForm {
    fn default() -> Self {
        Self {
            ljzh: "1".into(),
            lowest: 1,
            highest: 6,
            stair_units: 2,
            rooms: 2,
            usage: "住宅".into(),
            zone: "res".into(),
            physical: String::new(),
        }
    }
}

/// Parse "4=4-5, 5=6" (名义层=实际层) into nominal → physical floors.
///
/// ```
/// use survey_desktop::app::units::parse_physical;
/// let m = parse_physical("4=4-5，5=6").unwrap();
/// assert_eq!(m[&4].to_string(), "4-5");
/// assert!(parse_physical("4=0").is_err());
/// ```
pub fn parse_physical(text: &str) -> Result<BTreeMap<i32, PhysicalFloors>, String> {
    let mut out = BTreeMap::new();
    for part in text.split([',', '，', ';', ' ']).filter(|s| !s.trim().is_empty()) {
        let (n, p) = part
            .split_once(['=', '：', ':'])
            .ok_or_else(|| format!("{part}: 应写作 名义层=实际层，如 4=4-5 / write nominal=physical, e.g. 4=4-5"))?;
        let nominal: i32 = n.trim().parse().map_err(|_| format!("{part}: 名义层 {n:?} 不是整数 / not a floor"))?;
        if nominal == 0 {
            return Err(format!("{part}: 没有第0层 / there is no floor 0"));
        }
        let physical = PhysicalFloors::parse(p)
            .ok_or_else(|| format!("{part}: 实际层 {p:?} 应为 3 或 3-4 / physical floors like 3 or 3-4"))?;
        out.insert(nominal, physical);
    }
    Ok(out)
}

impl GridForm {
    /// The grid spec (floor 0 skipped), or why the form does not give one.
    pub fn spec(&self) -> Result<GridSpec, String> {
        let ljzh = self.ljzh.trim();
        if ljzh.is_empty() {
            return Err("逻辑幢号不能为空 / the logical building number is empty".into());
        }
        let physical = parse_physical(&self.physical)?;
        let floors: Vec<FloorSpec> = (self.lowest..=self.highest)
            .filter(|&f| f != 0)
            .map(|n| FloorSpec {
                nominal: n,
                physical: physical.get(&n).copied().unwrap_or(FloorSpec::simple(n).physical),
            })
            .collect();
        if let Some(n) = physical.keys().find(|n| !floors.iter().any(|f| f.nominal == **n)) {
            return Err(format!("第{n}层不在生成的楼层范围内 / floor {n} is not among the floors generated"));
        }
        Ok(GridSpec {
            ljzh: ljzh.to_owned(),
            floors,
            stair_units: self.stair_units,
            rooms_per_unit: self.rooms,
            usage: self.usage.clone(),
            zone: self.zone.clone(),
        })
    }
}

/// Parse "45.00, 44.50" into areas.
pub fn parse_parts(text: &str) -> Result<Vec<Area>, String> {
    text.split([',', '，', ' ', ';'])
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse::<Area>().map_err(|e| e.to_string()))
        .collect()
}

/// The batch edit's fields (text; empty = unchanged).
#[derive(Debug, Clone, Default)]
pub struct BatchForm {
    /// 房屋用途.
    pub usage: String,
    /// 功能区.
    pub zone: String,
    /// 预测套内.
    pub predicted: String,
    /// 逻辑幢号.
    pub ljzh: String,
    /// 实际层, "4" or "4-5".
    pub physical: String,
}

impl BatchForm {
    /// The values to set, or why a field does not parse.
    pub fn values(&self) -> Result<BatchValues, String> {
        let text = |s: &String| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let predicted = text(&self.predicted).map(|s| s.parse::<Area>().map_err(|e| e.to_string())).transpose()?;
        let physical = text(&self.physical)
            .map(|s| {
                PhysicalFloors::parse(&s)
                    .ok_or_else(|| format!("实际层 {s:?} 应为 3 或 3-4 / physical floors like 3 or 3-4"))
            })
            .transpose()?;
        Ok(BatchValues {
            usage: text(&self.usage),
            zone: text(&self.zone),
            predicted_inner: predicted,
            ljzh: text(&self.ljzh),
            physical,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_with_a_two_storey_nominal_floor_and_a_second_logical_building() {
        let form =
            GridForm { ljzh: "2".into(), lowest: -1, highest: 3, physical: "3=3-4".into(), ..GridForm::default() };
        let spec = form.spec().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spec.ljzh, "2");
        let floors: Vec<(i32, String)> = spec.floors.iter().map(|f| (f.nominal, f.physical.to_string())).collect();
        assert_eq!(floors, [(-1, "-1".into()), (1, "1".into()), (2, "2".into()), (3, "3-4".into())]);
        let outside = GridForm { physical: "9=9-10".into(), ..GridForm::default() };
        assert!(outside.spec().is_err_and(|e| e.contains("第9层")));
        assert!(GridForm { ljzh: " ".into(), ..GridForm::default() }.spec().is_err());
    }

    #[test]
    fn batch_fields_parse_or_say_why() {
        let b = BatchForm { physical: "4-5".into(), ljzh: "2".into(), ..BatchForm::default() };
        let v = b.values().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.physical.map(|p| p.to_string()).as_deref(), Some("4-5"));
        assert_eq!(v.ljzh.as_deref(), Some("2"));
        assert_eq!(v.usage, None);
        assert!(BatchForm { physical: "5-4".into(), ..BatchForm::default() }.values().is_err());
        assert!(BatchForm { predicted: "1.234".into(), ..BatchForm::default() }.values().is_err());
    }
}
