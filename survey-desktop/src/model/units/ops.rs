//! Commands on the buildings' households. Each runs the `cadastre-core`
//! operation on a copy, then records only the difference (a [`UnitsEdit`]),
//! so a split in a 2 000-household tower journals a few households, not the
//! whole table. Drawing a floor re-computes the drawn households' 套内 into
//! the table (实测 SCTNJZMJ) in the same undo step.

use cadastre_core::apportion::{Apportion, Apportionment, Area};
use cadastre_core::building::{
    floor_name, read_csv, read_xlsx, BuildingError, BuildingTable, Editor as Who, GridSpec, ImportReport,
    PhysicalFloors,
};
use cadastre_core::floorplan::{FloorPlan, FloorPlanFloor};

use super::history::{building_change, delta_with_notes, notes_only};
use super::keys::{sort_floors, FloorKey};
use super::{ApportionSetup, BuildingUnits, UnitsEdit};
use crate::model::{Command, Document, Edit, EditError};

fn invalid(e: impl std::fmt::Display) -> EditError {
    EditError::Invalid(e.to_string())
}

fn units<'a>(doc: &'a Document, zrzh: &str) -> Result<&'a BuildingUnits, EditError> {
    doc.units.get(zrzh).ok_or_else(|| invalid(format!("no building table for {zrzh} / 无此幢楼盘表")))
}

fn cmd(label: &str, edits: Vec<UnitsEdit>) -> Command {
    Command::new(label, edits.into_iter().map(|e| Edit::Units(Box::new(e))).collect())
}

/// A new, empty building table for natural building `zrzh` (its history starts
/// with who created it).
pub fn create(doc: &Document, zrzh: &str, by: &Who) -> Result<Command, EditError> {
    let zrzh = zrzh.trim();
    if zrzh.is_empty() {
        return Err(invalid("自然幢号不能为空 / the building number is empty"));
    }
    if doc.units.contains_key(zrzh) {
        return Err(invalid(format!("{zrzh}: 楼盘表已存在 / the building table exists")));
    }
    let mut units = Box::new(BuildingUnits::new(zrzh));
    let created = notes_only(&units.table, vec![building_change(by, "create", "新建楼盘表 / new building table")]);
    units.table.apply_delta(&created).map_err(invalid)?;
    Ok(cmd("新建楼盘表 / new building table", vec![UnitsEdit::Add { zrzh: zrzh.to_owned(), units }]))
}

/// Run `f` on a copy of the table; the command holds the difference.
pub fn on_table<T>(
    doc: &Document,
    zrzh: &str,
    label: &str,
    f: impl FnOnce(&mut BuildingTable) -> Result<T, BuildingError>,
) -> Result<(Command, T), EditError> {
    let before = &units(doc, zrzh)?.table;
    let mut after = before.clone();
    let out = f(&mut after).map_err(invalid)?;
    let delta = before.diff(&after);
    let edits = if delta.is_empty() {
        Vec::new()
    } else {
        vec![UnitsEdit::Table { zrzh: zrzh.to_owned(), delta: Box::new(delta) }]
    };
    Ok((cmd(label, edits), out))
}

/// 生成楼盘表: a regular grid of new households.
pub fn generate_grid(doc: &Document, zrzh: &str, spec: &GridSpec, by: &Who) -> Result<Command, EditError> {
    on_table(doc, zrzh, "生成楼盘表 / generate grid", |t| t.generate_grid(spec, by)).map(|(c, _)| c)
}

/// 拆分: one household into parts with the given 套内 areas.
pub fn split(
    doc: &Document,
    zrzh: &str,
    hh: &str,
    parts: &[Area],
    by: &Who,
) -> Result<(Command, Vec<String>), EditError> {
    on_table(doc, zrzh, "拆分户 / split household", |t| t.split(hh, parts, by))
}

/// 合并: households of one floor into one.
pub fn merge(doc: &Document, zrzh: &str, hhs: &[&str], by: &Who) -> Result<(Command, String), EditError> {
    on_table(doc, zrzh, "合并户 / merge households", |t| t.merge(hhs, by))
}

/// 重新编号: room numbers floor by floor.
pub fn renumber(doc: &Document, zrzh: &str, by: &Who) -> Result<(Command, usize), EditError> {
    on_table(doc, zrzh, "重新编室号 / renumber rooms", |t| Ok(t.renumber_rooms(by)))
}

/// Attribute values a batch edit sets (`None`: unchanged).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchValues {
    /// 房屋用途 FWYT.
    pub usage: Option<String>,
    /// 功能区 GNQ.
    pub zone: Option<String>,
    /// 户型 HX.
    pub layout: Option<String>,
    /// 房屋结构 FWJG.
    pub structure: Option<String>,
    /// 坐落 ZL.
    pub address: Option<String>,
    /// 预测套内建筑面积 YCTNJZMJ.
    pub predicted_inner: Option<Area>,
    /// 逻辑幢号 LJZH (moves the households to another logical building).
    pub ljzh: Option<String>,
    /// 实际层 SJC (the physical floors their nominal floor spans).
    pub physical: Option<PhysicalFloors>,
}

/// 批量修改: set values on the listed households.
pub fn batch_edit(
    doc: &Document,
    zrzh: &str,
    hhs: &[String],
    values: &BatchValues,
    by: &Who,
) -> Result<(Command, usize), EditError> {
    on_table(doc, zrzh, "批量修改 / batch edit", |t| {
        Ok(t.batch_edit(
            |h| hhs.contains(&h.hh),
            |h| {
                let set = |field: &mut String, v: &Option<String>| {
                    if let Some(v) = v {
                        field.clone_from(v);
                    }
                };
                set(&mut h.usage, &values.usage);
                set(&mut h.zone, &values.zone);
                set(&mut h.layout, &values.layout);
                set(&mut h.structure, &values.structure);
                set(&mut h.address, &values.address);
                set(&mut h.ljzh, &values.ljzh);
                if values.predicted_inner.is_some() {
                    h.predicted_inner = values.predicted_inner;
                }
                if let Some(p) = values.physical {
                    h.physical = p;
                }
            },
            by,
        ))
    })
}

/// A spreadsheet to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetKind {
    /// CSV (UTF-8 or GBK).
    Csv,
    /// XLSX (first worksheet).
    Xlsx,
}

/// 导入: rows of a CSV/XLSX into the table of their building (created when
/// absent); the report accounts for every row.
pub fn import(doc: &Document, bytes: &[u8], kind: SheetKind, by: &Who) -> Result<(Command, ImportReport), EditError> {
    let (read, mut report) = match kind {
        SheetKind::Csv => read_csv(bytes, by),
        SheetKind::Xlsx => read_xlsx(bytes, by),
    }
    .map_err(invalid)?;
    let zrzh = read.zrzh.clone();
    let Some(existing) = doc.units.get(&zrzh) else {
        let mut units = BuildingUnits::new(&zrzh);
        units.table = read;
        let edit = UnitsEdit::Add { zrzh, units: Box::new(units) };
        return Ok((cmd("导入楼盘表 / import building table", vec![edit]), report));
    };
    // Into an existing table: rows whose HH it has are duplicates (the table wins).
    let mut after = existing.table.clone();
    for h in read.households() {
        if after.get(&h.hh).is_some() {
            report.imported -= 1;
            let reason = "户号已存在 / HH already in the table".into();
            report.duplicates.push(cadastre_core::building::RowIssue { line: 0, hh: Some(h.hh.clone()), reason });
        } else {
            after.insert(h.clone(), by).map_err(invalid)?;
        }
    }
    let delta = existing.table.diff(&after);
    let edits = if delta.is_empty() { Vec::new() } else { vec![UnitsEdit::Table { zrzh, delta: Box::new(delta) }] };
    Ok((cmd("导入楼盘表 / import building table", edits), report))
}

/// The plan with floor `key` replaced (or removed), validated.
fn plan_with(plan: &FloorPlan, key: &FloorKey, to: Option<&FloorPlanFloor>) -> Result<FloorPlan, EditError> {
    let mut p = plan.clone();
    p.floors.retain(|f| FloorKey::of(f) != *key);
    if let Some(t) = to {
        p.floors.push(t.clone());
        sort_floors(&mut p);
    }
    p.validate().map_err(invalid)?;
    Ok(p)
}

/// The table edit that writes the plan's 套内 areas as measured values, with
/// a building entry saying what was done to the plan (who and when, even when
/// no area changed: a stairwell drawn, an outline deleted).
fn area_sync(
    zrzh: &str,
    table: &BuildingTable,
    plan: &FloorPlan,
    note: String,
    by: &Who,
) -> Result<Vec<UnitsEdit>, EditError> {
    let mut after = table.clone();
    plan.apply_to_table(&mut after, by).map_err(invalid)?;
    let delta = delta_with_notes(table, &after, vec![building_change(by, "floor plan", note)]);
    Ok(vec![UnitsEdit::Table { zrzh: zrzh.to_owned(), delta: Box::new(delta) }])
}

/// "逻辑幢2 第3层", or "第3层" for the first logical building.
fn key_name(key: &FloorKey) -> String {
    if key.ljzh.is_empty() || key.ljzh == "1" {
        floor_name(key.floor)
    } else {
        format!("逻辑幢{} {}", key.ljzh, floor_name(key.floor))
    }
}

/// Draw or redraw floor `floor` of logical building `ljzh` (`None` removes it;
/// the floor drawn is keyed by `ljzh` and `floor` whatever it says); the drawn
/// households' 套内 go to the table in the same step.
pub fn set_floor(
    doc: &Document,
    zrzh: &str,
    ljzh: &str,
    floor: i32,
    to: Option<FloorPlanFloor>,
    label: &str,
    by: &Who,
) -> Result<Command, EditError> {
    let u = units(doc, zrzh)?;
    let key = FloorKey::new(ljzh, floor);
    let to = to.map(|mut f| {
        (f.ljzh, f.floor) = (key.ljzh.clone(), floor);
        f
    });
    let plan = plan_with(&u.plan, &key, to.as_ref())?;
    let from = u.plan.floor_in(ljzh, floor).cloned().map(Box::new);
    let mut edits =
        vec![UnitsEdit::Floor { zrzh: zrzh.to_owned(), ljzh: key.ljzh.clone(), floor, from, to: to.map(Box::new) }];
    edits.extend(area_sync(zrzh, &u.table, &plan, format!("{} {label}", key_name(&key)), by)?);
    Ok(cmd(label, edits))
}

/// 复制楼层: floor `from` of logical building `ljzh` to its standard floors
/// `to`, households matched in the table by logical building, stair unit and
/// room number.
pub fn copy_floor(
    doc: &Document,
    zrzh: &str,
    ljzh: &str,
    from: i32,
    to: &[i32],
    by: &Who,
) -> Result<Command, EditError> {
    let u = units(doc, zrzh)?;
    let mut plan = u.plan.clone();
    plan.copy_floor_in(ljzh, from, to, &u.table).map_err(invalid)?;
    let mut edits: Vec<UnitsEdit> = to
        .iter()
        .filter_map(|&t| plan.floor_in(ljzh, t).cloned())
        .map(|f| UnitsEdit::Floor {
            zrzh: zrzh.to_owned(),
            ljzh: ljzh.to_owned(),
            floor: f.floor,
            from: None,
            to: Some(Box::new(f)),
        })
        .collect();
    let to_names: Vec<String> = to.iter().map(|&t| floor_name(t)).collect();
    let note = format!("复制楼层 copy floor {} → {}", key_name(&FloorKey::new(ljzh, from)), to_names.join(", "));
    edits.extend(area_sync(zrzh, &u.table, &plan, note, by)?);
    Ok(cmd("复制楼层 / copy floor", edits))
}

/// Change the apportionment set-up (recorded in the building's history).
pub fn set_setup(doc: &Document, zrzh: &str, to: ApportionSetup, label: &str, by: &Who) -> Result<Command, EditError> {
    let u = units(doc, zrzh)?;
    let from = Box::new(u.setup.clone());
    if *from == to {
        return Ok(cmd(label, Vec::new()));
    }
    let note = notes_only(&u.table, vec![building_change(by, "apportionment", label)]);
    Ok(cmd(
        label,
        vec![
            UnitsEdit::Setup { zrzh: zrzh.to_owned(), from, to: Box::new(to) },
            UnitsEdit::Table { zrzh: zrzh.to_owned(), delta: Box::new(note) },
        ],
    ))
}

/// 运行分摊: apportion the current data and keep its input as the last run.
pub fn run_apportionment(doc: &Document, zrzh: &str, by: &Who) -> Result<(Command, Apportionment), EditError> {
    let u = units(doc, zrzh)?;
    let input = u.apportion_input().map_err(invalid)?;
    let result = input.apportion().map_err(invalid)?;
    let mut setup = u.setup.clone();
    setup.last_run = Some(input);
    Ok((set_setup(doc, zrzh, setup, "运行分摊 / run apportionment", by)?, result))
}
