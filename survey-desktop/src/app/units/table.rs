//! 楼盘表 panel: per logical building (逻辑幢), nominal floors (top down, with
//! the physical floors each spans) × stair units and rooms, cells coloured by
//! status, predicted (预) and measured (实) 套内 side by side. A row header
//! selects the floor's households (to set their 实际层 or move them to another
//! logical building in one batch edit). Only the visible rows are laid out
//! (`ScrollArea::show_rows`), so a 100-floor × 20-household tower scrolls as
//! fast as a small building.

use std::collections::BTreeSet;

use cadastre_core::apportion::Area;
use cadastre_core::building::{floor_name, ImportReport, Status};
use egui::{Color32, RichText};

use super::table_form::{parse_parts, BatchForm, GridForm};
use super::UnitsCx;
use crate::app::i18n::Lang;
use crate::model::units::history::building_entries;
use crate::model::units::ops::{self, SheetKind};
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

/// A click in the grid, applied after drawing.
enum Click {
    /// A household cell (with Ctrl/Shift: add to the selection).
    Cell(String, bool),
    /// A row header: the floor's households.
    Row(Vec<String>, bool),
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

/// The 楼盘表 panel.
#[derive(Default)]
pub struct TablePanel {
    /// Selected households (HH).
    pub selected: BTreeSet<String>,
    /// Logical building shown (`None`: all).
    pub ljzh: Option<String>,
    /// Grid generator form.
    pub grid: GridForm,
    /// Split parts, "45.00, 44.50".
    pub parts: String,
    /// Batch edit values.
    pub batch: BatchForm,
    /// Last import summary.
    pub report: Option<ImportReport>,
    new_zrzh: String,
    cache: Option<(String, u64, Vec<RowView>)>,
}

/// The logical buildings of some rows, in order of first appearance.
pub fn logical_buildings(rows: &[RowView]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        if !out.contains(&r.ljzh) {
            out.push(r.ljzh.clone());
        }
    }
    out
}

/// A row's header: floor name and physical floors, with the logical building
/// when the table has several.
pub fn row_label(r: &RowView, several: bool, lang: Lang) -> String {
    let floor = floor_name(r.floor);
    let head = if several { format!("{}{} {floor}", lang.t("逻辑幢", "LB "), r.ljzh) } else { floor };
    format!("{head}\n{} {}", lang.t("实际层", "phys."), r.physical)
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
            && cx.push(ops::create(cx.editor.doc(), &self.new_zrzh, &cx.by()))
        {
            *zrzh = Some(self.new_zrzh.trim().to_owned());
            self.new_zrzh.clear();
        }
        if ui.button(lang.t("导入 CSV/XLSX…", "Import CSV/XLSX…")).clicked() {
            if let Some(p) = cx.dialogs.pick_file(rfd::FileDialog::new().add_filter("CSV / XLSX", &["csv", "xlsx"])) {
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
            ui.label(lang.t("逻辑幢", "Logical bldg"));
            ui.add(egui::TextEdit::singleline(&mut self.grid.ljzh).desired_width(28.0).id_salt("grid-ljzh"));
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
            ui.label(lang.t("实际层", "Physical"));
            ui.add(
                egui::TextEdit::singleline(&mut self.grid.physical)
                    .hint_text(lang.t("名义层=实际层 4=4-5", "nominal=physical 4=4-5"))
                    .desired_width(110.0)
                    .id_salt("grid-physical"),
            );
            if ui.button(lang.t("生成楼盘表", "Generate grid")).clicked() {
                self.generate(cx, zrzh);
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

    /// Generate the form's grid (households of one logical building).
    pub fn generate(&mut self, cx: &mut UnitsCx<'_>, zrzh: &str) {
        match self.grid.spec() {
            Ok(spec) => {
                if cx.push(ops::generate_grid(cx.editor.doc(), zrzh, &spec, &cx.by())) {
                    self.ljzh = None;
                }
            }
            Err(e) => cx.message(e),
        }
    }

    /// Export the current households (file dialog when `path` is `None`).
    pub fn export(&mut self, cx: &mut UnitsCx<'_>, zrzh: &str, xlsx: bool, path: Option<std::path::PathBuf>) {
        let ext = if xlsx { "xlsx" } else { "csv" };
        let path = path.or_else(|| {
            cx.dialogs.save_file(rfd::FileDialog::new().add_filter(ext, &[ext]).set_file_name(format!("{zrzh}.{ext}")))
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
        });
        ui.horizontal_wrapped(|ui| {
            let b = &mut self.batch;
            for (zh, en, field, width, id) in [
                ("批量: 用途", "Batch: use", &mut b.usage, 50.0, "batch-usage"),
                ("功能区", "zone", &mut b.zone, 40.0, "batch-zone"),
                ("预测套内", "predicted", &mut b.predicted, 60.0, "batch-pred"),
                ("逻辑幢", "logical bldg", &mut b.ljzh, 28.0, "batch-ljzh"),
                ("实际层", "physical", &mut b.physical, 40.0, "batch-physical"),
            ] {
                ui.label(lang.t(zh, en));
                ui.add(egui::TextEdit::singleline(field).desired_width(width).id_salt(id));
            }
            if ui.add_enabled(!self.selected.is_empty(), egui::Button::new(lang.t("批量修改", "Apply"))).clicked() {
                self.apply_batch(cx, zrzh);
            }
        });
        self.history_ui(ui, cx, zrzh);
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

    /// Apply the batch form to the selected households.
    pub fn apply_batch(&mut self, cx: &mut UnitsCx<'_>, zrzh: &str) {
        let values = match self.batch.values() {
            Ok(v) => v,
            Err(e) => return cx.message(e),
        };
        let hhs: Vec<String> = self.selected.iter().cloned().collect();
        cx.push(ops::batch_edit(cx.editor.doc(), zrzh, &hhs, &values, &cx.by()).map(|(c, _)| c));
    }

    /// The selected household's changes, and the building's own (who and when).
    fn history_ui(&self, ui: &mut egui::Ui, cx: &UnitsCx<'_>, zrzh: &str) {
        let Some(u) = cx.editor.doc().units.get(zrzh) else { return };
        let line = |c: &cadastre_core::building::Change| {
            format!("{} {} {} {}", c.at.format("%Y-%m-%d %H:%M"), c.who, c.action, c.note)
        };
        if let (1, Some(hh)) = (self.selected.len(), self.selected.iter().next()) {
            egui::CollapsingHeader::new(format!("{} {hh}", cx.lang.t("变更记录", "History of"))).show(ui, |ui| {
                for c in u.table.history().of_household(hh) {
                    ui.weak(line(c));
                }
            });
        }
        egui::CollapsingHeader::new(cx.lang.t("本幢变更记录", "History of the building")).show(ui, |ui| {
            for c in building_entries(&u.table).take(200) {
                ui.weak(line(c));
            }
        });
    }

    fn grid_ui(&mut self, ui: &mut egui::Ui, cx: &mut UnitsCx<'_>, zrzh: &str) {
        let lang = cx.lang;
        let all = self.rows(cx, zrzh).to_vec();
        let lbs = logical_buildings(&all);
        if self.ljzh.as_ref().is_some_and(|l| !lbs.contains(l)) {
            self.ljzh = None;
        }
        ui.horizontal(|ui| {
            ui.label(lang.t("逻辑幢:", "Logical buildings:"));
            if ui.selectable_label(self.ljzh.is_none(), lang.t("全部", "all")).clicked() {
                self.ljzh = None;
            }
            for l in &lbs {
                if ui
                    .selectable_label(self.ljzh.as_ref() == Some(l), format!("{}{l}", lang.t("逻辑幢", "LB ")))
                    .clicked()
                {
                    self.ljzh = Some(l.clone());
                }
            }
            ui.separator();
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
        let several = lbs.len() > 1 && self.ljzh.is_none();
        let rows: Vec<&RowView> = all.iter().filter(|r| self.ljzh.as_ref().is_none_or(|l| *l == r.ljzh)).collect();
        let clicked = std::cell::Cell::new(None::<Click>);
        egui::ScrollArea::both().auto_shrink([false, false]).show_rows(ui, ROW_HEIGHT, rows.len(), |ui, range| {
            for r in &rows[range] {
                ui.horizontal(|ui| {
                    ui.set_height(ROW_HEIGHT - 4.0);
                    if let Some(add) = self.row_header(ui, r, several, lang) {
                        clicked.set(Some(Click::Row(r.cells.iter().map(|c| c.hh.clone()).collect(), add)));
                    }
                    for c in &r.cells {
                        if let Some(add) = self.cell(ui, c) {
                            clicked.set(Some(Click::Cell(c.hh.clone(), add)));
                        }
                    }
                });
            }
        });
        match clicked.take() {
            Some(Click::Cell(hh, add)) => self.click(hh, add),
            Some(Click::Row(hhs, add)) => self.click_row(hhs, add),
            None => {}
        }
    }

    /// The row header (floor, physical floors): a click selects the floor's households.
    fn row_header(&self, ui: &mut egui::Ui, r: &RowView, several: bool, lang: Lang) -> Option<bool> {
        let all = r.cells.iter().all(|c| self.selected.contains(&c.hh));
        let b = egui::Button::new(RichText::new(row_label(r, several, lang)).size(12.0))
            .selected(all)
            .min_size(egui::vec2(96.0, ROW_HEIGHT - 6.0));
        let resp = ui.add(b);
        resp.clicked().then(|| ui.input(|i| i.modifiers.command || i.modifiers.shift))
    }

    /// A click on a row header: its households become (or join) the selection.
    pub fn click_row(&mut self, hhs: Vec<String>, add: bool) {
        if !add {
            self.selected.clear();
        }
        self.selected.extend(hhs);
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
