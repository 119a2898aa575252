//! 楼盘表 panel: nominal floors (top down) × stair units and rooms, cells
//! coloured by status, predicted (预) and measured (实) 套内 side by side.
//! Only the visible rows are laid out (`ScrollArea::show_rows`), so a
//! 100-floor × 20-household tower scrolls as fast as a small building.

use std::collections::BTreeSet;

use cadastre_core::apportion::Area;
use cadastre_core::building::{floor_name, FloorSpec, GridSpec, ImportReport, Status};
use egui::{Color32, RichText};

use super::UnitsCx;
use crate::app::i18n::Lang;
use crate::model::units::ops::{self, BatchValues, SheetKind};
use crate::model::units::BuildingUnits;

/// Height of one table row (a floor), points.
pub const ROW_HEIGHT: f32 = 40.0;
/// Width of one household cell, points.
const CELL_WIDTH: f32 = 118.0;

/// One household cell as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct CellView {
    /// HH.
    pub hh: String,
    /// Room 室号.
    pub room: String,
    /// Stair unit 单元.
    pub stair_unit: String,
    /// Status.
    pub status: Status,
    /// 预测套内.
    pub predicted: Option<Area>,
    /// 实测套内.
    pub measured: Option<Area>,
}

/// One floor row as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct RowView {
    /// 逻辑幢号.
    pub ljzh: String,
    /// 名义层.
    pub floor: i32,
    /// 实际层.
    pub physical: String,
    /// Households by stair unit and room.
    pub cells: Vec<CellView>,
}

/// The rows of a table, from `cadastre-core`'s grid order.
pub fn row_views(u: &BuildingUnits) -> Vec<RowView> {
    u.table
        .rows()
        .into_iter()
        .map(|r| RowView {
            ljzh: r.ljzh.to_owned(),
            floor: r.floor,
            physical: r.physical.to_string(),
            cells: r
                .households
                .iter()
                .map(|h| CellView {
                    hh: h.hh.clone(),
                    room: h.room.clone(),
                    stair_unit: h.stair_unit.clone(),
                    status: h.status,
                    predicted: h.predicted_inner,
                    measured: h.measured_inner,
                })
                .collect(),
        })
        .collect()
}

/// Cell colour: temporary orange, measured green, predicted only blue, no area grey.
pub fn cell_colour(c: &CellView) -> Color32 {
    match (c.status, c.measured, c.predicted) {
        (Status::Temporary, ..) => Color32::from_rgb(255, 214, 153),
        (Status::Historical, ..) => Color32::from_gray(200),
        (_, Some(_), _) => Color32::from_rgb(190, 235, 190),
        (_, None, Some(_)) => Color32::from_rgb(190, 215, 250),
        _ => Color32::from_gray(235),
    }
}

fn area_text(a: Option<Area>) -> String {
    a.map_or_else(|| "—".to_owned(), |a| a.to_string())
}

/// The grid generator's form.
#[derive(Debug, Clone)]
pub struct GridForm {
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
}

impl Default for GridForm {
    fn default() -> Self {
        Self { lowest: 1, highest: 6, stair_units: 2, rooms: 2, usage: "住宅".into(), zone: "res".into() }
    }
}

impl GridForm {
    /// The grid spec (floor 0 skipped).
    pub fn spec(&self) -> GridSpec {
        GridSpec {
            ljzh: "1".into(),
            floors: (self.lowest..=self.highest).filter(|&f| f != 0).map(FloorSpec::simple).collect(),
            stair_units: self.stair_units,
            rooms_per_unit: self.rooms,
            usage: self.usage.clone(),
            zone: self.zone.clone(),
        }
    }
}

/// Parse "45.00, 44.50" into areas.
pub fn parse_parts(text: &str) -> Result<Vec<Area>, String> {
    text.split([',', '，', ' ', ';'])
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse::<Area>().map_err(|e| e.to_string()))
        .collect()
}

/// The 楼盘表 panel.
#[derive(Default)]
pub struct TablePanel {
    /// Selected households (HH).
    pub selected: BTreeSet<String>,
    /// Grid generator form.
    pub grid: GridForm,
    /// Split parts, "45.00, 44.50".
    pub parts: String,
    /// Batch edit values (text; empty = unchanged).
    pub batch_usage: String,
    /// Batch zone.
    pub batch_zone: String,
    /// Batch predicted area.
    pub batch_predicted: String,
    /// Last import summary.
    pub report: Option<ImportReport>,
    new_zrzh: String,
    cache: Option<(String, u64, Vec<RowView>)>,
}

impl TablePanel {
    /// The rows of the building, cached until the next edit.
    pub fn rows(&mut self, cx: &UnitsCx<'_>, zrzh: &str) -> &[RowView] {
        let generation = cx.editor.index().generation;
        let fresh = self.cache.as_ref().is_some_and(|(z, g, _)| z == zrzh && *g == generation);
        if !fresh {
            let rows = cx.editor.doc().units.get(zrzh).map(row_views).unwrap_or_default();
            self.cache = Some((zrzh.to_owned(), generation, rows));
        }
        self.cache.as_ref().map_or(&[], |(_, _, r)| r.as_slice())
    }

    /// "New table" field and button (in the building picker row).
    pub fn new_table_ui(&mut self, ui: &mut egui::Ui, cx: &mut UnitsCx<'_>, zrzh: &mut Option<String>) {
        let lang = cx.lang;
        ui.add(
            egui::TextEdit::singleline(&mut self.new_zrzh)
                .hint_text(lang.t("新自然幢号 (24位)", "new ZRZH (24 chars)"))
                .desired_width(220.0)
                .id_salt("new-zrzh"),
        );
        if ui.button(lang.t("新建楼盘表", "New table")).clicked()
            && cx.push(ops::create(cx.editor.doc(), &self.new_zrzh))
        {
            *zrzh = Some(self.new_zrzh.trim().to_owned());
            self.new_zrzh.clear();
        }
        if ui.button(lang.t("导入 CSV/XLSX…", "Import CSV/XLSX…")).clicked() {
            if let Some(p) = rfd::FileDialog::new().add_filter("CSV / XLSX", &["csv", "xlsx"]).pick_file() {
                self.import_file(cx, &p);
            }
        }
    }

    /// Import a CSV or XLSX file (the menu's file dialog, or a test's path).
    pub fn import_file(&mut self, cx: &mut UnitsCx<'_>, path: &std::path::Path) {
        let kind = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) {
            SheetKind::Xlsx
        } else {
            SheetKind::Csv
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return cx.message(format!("{}: {e}", path.display())),
        };
        match ops::import(cx.editor.doc(), &bytes, kind, &cx.by()) {
            Ok((c, report)) => {
                cx.push(Ok(c));
                self.report = Some(report);
            }
            Err(e) => cx.message(e.to_string()),
        }
    }

    /// Draw the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut UnitsCx<'_>, zrzh: &Option<String>) {
        let lang = cx.lang;
        let Some(zrzh) = zrzh.clone() else {
            ui.label(lang.t("新建或导入一个楼盘表。", "Create or import a building table."));
            return;
        };
        self.toolbar(ui, cx, &zrzh);
        self.report_ui(ui, lang);
        self.selection_ui(ui, cx, &zrzh);
        ui.separator();
        self.grid_ui(ui, cx, &zrzh);
    }

    fn toolbar(&mut self, ui: &mut egui::Ui, cx: &mut UnitsCx<'_>, zrzh: &str) {
        let lang = cx.lang;
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.t("层", "Floors"));
            ui.add(egui::DragValue::new(&mut self.grid.lowest).range(-9..=200));
            ui.label("–");
            ui.add(egui::DragValue::new(&mut self.grid.highest).range(-9..=200));
            ui.label(lang.t("单元", "Stair units"));
            ui.add(egui::DragValue::new(&mut self.grid.stair_units).range(1..=20));
            ui.label(lang.t("每单元户数", "Rooms/unit"));
            ui.add(egui::DragValue::new(&mut self.grid.rooms).range(1..=40));
            ui.label(lang.t("用途", "Use"));
            ui.add(egui::TextEdit::singleline(&mut self.grid.usage).desired_width(50.0).id_salt("grid-usage"));
            if ui.button(lang.t("生成楼盘表", "Generate grid")).clicked() {
                cx.push(ops::generate_grid(cx.editor.doc(), zrzh, &self.grid.spec(), &cx.by()));
            }
            ui.separator();
            if ui.button(lang.t("重新编室号", "Renumber rooms")).clicked() {
                cx.push(ops::renumber(cx.editor.doc(), zrzh, &cx.by()).map(|(c, _)| c));
            }
            if ui.button(lang.t("导出 CSV…", "Export CSV…")).clicked() {
                self.export(cx, zrzh, false, None);
            }
            if ui.button(lang.t("导出 XLSX…", "Export XLSX…")).clicked() {
                self.export(cx, zrzh, true, None);
            }
        });
    }

    /// Export the current households (file dialog when `path` is `None`).
    pub fn export(&mut self, cx: &mut UnitsCx<'_>, zrzh: &str, xlsx: bool, path: Option<std::path::PathBuf>) {
        let ext = if xlsx { "xlsx" } else { "csv" };
        let path = path.or_else(|| {
            rfd::FileDialog::new().add_filter(ext, &[ext]).set_file_name(format!("{zrzh}.{ext}")).save_file()
        });
        let (Some(path), Some(u)) = (path, cx.editor.doc().units.get(zrzh)) else { return };
        let bytes = if xlsx {
            cadastre_core::building::write_xlsx(&u.table)
        } else {
            cadastre_core::building::write_csv(&u.table)
        };
        let result = bytes.map_err(|e| e.to_string()).and_then(|b| std::fs::write(&path, b).map_err(|e| e.to_string()));
        match result {
            Ok(()) => cx.message(format!("{} {}", cx.lang.t("已导出", "Exported"), path.display())),
            Err(e) => cx.message(format!("{}: {e}", path.display())),
        }
    }

    fn report_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        let Some(r) = &self.report else { return };
        let mut close = false;
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "{} {}: {} {}, {} {}, {} {}",
                lang.t("导入", "Import"),
                r.rows,
                lang.t("导入", "imported"),
                r.imported,
                lang.t("重复", "duplicate"),
                r.duplicates.len(),
                lang.t("拒绝", "rejected"),
                r.rejected.len()
            ));
            close = ui.small_button("×").clicked();
        });
        for issue in r.duplicates.iter().chain(&r.rejected).take(20) {
            ui.weak(format!("  {} {} {}", issue.line, issue.hh.as_deref().unwrap_or("-"), issue.reason));
        }
        if close {
            self.report = None;
        }
    }

    fn selection_ui(&mut self, ui: &mut egui::Ui, cx: &mut UnitsCx<'_>, zrzh: &str) {
        let lang = cx.lang;
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("{} {}", lang.t("已选", "Selected"), self.selected.len()));
            ui.add(
                egui::TextEdit::singleline(&mut self.parts)
                    .hint_text(lang.t("拆分面积 45.00,44.50", "parts 45.00,44.50"))
                    .desired_width(130.0)
                    .id_salt("split-parts"),
            );
            if ui.add_enabled(self.selected.len() == 1, egui::Button::new(lang.t("拆分", "Split"))).clicked() {
                self.split(cx, zrzh);
            }
            if ui.add_enabled(self.selected.len() >= 2, egui::Button::new(lang.t("合并", "Merge"))).clicked() {
                self.merge(cx, zrzh);
            }
            ui.separator();
            ui.label(lang.t("批量: 用途", "Batch: use"));
            ui.add(egui::TextEdit::singleline(&mut self.batch_usage).desired_width(50.0).id_salt("batch-usage"));
            ui.label(lang.t("功能区", "zone"));
            ui.add(egui::TextEdit::singleline(&mut self.batch_zone).desired_width(40.0).id_salt("batch-zone"));
            ui.label(lang.t("预测套内", "predicted"));
            ui.add(egui::TextEdit::singleline(&mut self.batch_predicted).desired_width(60.0).id_salt("batch-pred"));
            if ui.add_enabled(!self.selected.is_empty(), egui::Button::new(lang.t("批量修改", "Apply"))).clicked() {
                self.batch(cx, zrzh);
            }
        });
        if self.selected.len() == 1 {
            self.history_ui(ui, cx, zrzh);
        }
    }

    /// Split the one selected household into the typed parts.
    pub fn split(&mut self, cx: &mut UnitsCx<'_>, zrzh: &str) {
        let Some(hh) = self.selected.iter().next().cloned() else { return };
        match parse_parts(&self.parts) {
            Ok(parts) => {
                let r = ops::split(cx.editor.doc(), zrzh, &hh, &parts, &cx.by());
                if cx.push(r.map(|(c, _)| c)) {
                    self.selected.clear();
                }
            }
            Err(e) => cx.message(e),
        }
    }

    /// Merge the selected households.
    pub fn merge(&mut self, cx: &mut UnitsCx<'_>, zrzh: &str) {
        let hhs: Vec<&str> = self.selected.iter().map(String::as_str).collect();
        if cx.push(ops::merge(cx.editor.doc(), zrzh, &hhs, &cx.by()).map(|(c, _)| c)) {
            self.selected.clear();
        }
    }

    fn batch(&mut self, cx: &mut UnitsCx<'_>, zrzh: &str) {
        let text = |s: &String| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let predicted = match text(&self.batch_predicted).map(|s| s.parse::<Area>()) {
            Some(Err(e)) => return cx.message(e.to_string()),
            Some(Ok(a)) => Some(a),
            None => None,
        };
        let values = BatchValues {
            usage: text(&self.batch_usage),
            zone: text(&self.batch_zone),
            predicted_inner: predicted,
            ..Default::default()
        };
        let hhs: Vec<String> = self.selected.iter().cloned().collect();
        cx.push(ops::batch_edit(cx.editor.doc(), zrzh, &hhs, &values, &cx.by()).map(|(c, _)| c));
    }

    fn history_ui(&self, ui: &mut egui::Ui, cx: &UnitsCx<'_>, zrzh: &str) {
        let (Some(hh), Some(u)) = (self.selected.iter().next(), cx.editor.doc().units.get(zrzh)) else { return };
        egui::CollapsingHeader::new(format!("{} {hh}", cx.lang.t("变更记录", "History of"))).show(ui, |ui| {
            for c in u.table.history().of_household(hh) {
                ui.weak(format!("{} {} {} {}", c.at.format("%Y-%m-%d %H:%M"), c.who, c.action, c.note));
            }
        });
    }

    fn grid_ui(&mut self, ui: &mut egui::Ui, cx: &mut UnitsCx<'_>, zrzh: &str) {
        let lang = cx.lang;
        let rows = self.rows(cx, zrzh).to_vec();
        ui.horizontal(|ui| {
            ui.label(lang.t("图例:", "Legend:"));
            for (c, zh, en) in [
                (Color32::from_rgb(190, 235, 190), "实测", "measured"),
                (Color32::from_rgb(190, 215, 250), "预测", "predicted"),
                (Color32::from_rgb(255, 214, 153), "临时", "temporary"),
                (Color32::from_gray(235), "无面积", "no area"),
            ] {
                ui.label(RichText::new(format!(" {} ", lang.t(zh, en))).background_color(c).color(Color32::BLACK));
            }
        });
        let clicked = std::cell::Cell::new(None::<(String, bool)>);
        egui::ScrollArea::both().auto_shrink([false, false]).show_rows(ui, ROW_HEIGHT, rows.len(), |ui, range| {
            for r in &rows[range] {
                ui.horizontal(|ui| {
                    ui.set_height(ROW_HEIGHT - 4.0);
                    let label = format!("{}\n{} {}", floor_name(r.floor), lang.t("实际层", "phys."), r.physical);
                    ui.add_sized([90.0, ROW_HEIGHT - 6.0], egui::Label::new(label));
                    for c in &r.cells {
                        if let Some(add) = self.cell(ui, c) {
                            clicked.set(Some((c.hh.clone(), add)));
                        }
                    }
                });
            }
        });
        if let Some((hh, add)) = clicked.take() {
            self.click(hh, add);
        }
    }

    /// A click on a cell: Ctrl/Shift adds to the selection, else selects one.
    pub fn click(&mut self, hh: String, add: bool) {
        if add {
            if !self.selected.remove(&hh) {
                self.selected.insert(hh);
            }
        } else {
            self.selected = [hh].into_iter().collect();
        }
    }

    fn cell(&self, ui: &mut egui::Ui, c: &CellView) -> Option<bool> {
        let text =
            format!("{}-{}  {}\n预{} 实{}", c.stair_unit, c.room, c.hh, area_text(c.predicted), area_text(c.measured));
        let selected = self.selected.contains(&c.hh);
        let stroke = if selected { egui::Stroke::new(2.5, Color32::from_rgb(0, 90, 255)) } else { egui::Stroke::NONE };
        let b = egui::Button::new(RichText::new(text).size(11.0).color(Color32::BLACK))
            .fill(cell_colour(c))
            .stroke(stroke)
            .min_size(egui::vec2(CELL_WIDTH, ROW_HEIGHT - 6.0));
        let r = ui.add(b);
        r.clicked().then(|| ui.input(|i| i.modifiers.command || i.modifiers.shift))
    }
}
