//! Menu bar, toolbar, status bar, keyboard shortcuts and dialogs.

use std::path::Path;

use egui::{Key, KeyboardShortcut, Modifiers};

use super::command::AppCommand;
use super::i18n::Lang;
use super::tools::ToolKind;
use super::App;

const UNDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
const REDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
const SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
const OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
const IMPORT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::I);

impl App {
    /// Keyboard shortcuts for every tool and action (not while typing in a field).
    pub(super) fn shortcuts(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let mut out = Vec::new();
        ctx.input_mut(|i| {
            if i.consume_shortcut(&UNDO) {
                out.push(AppCommand::Undo);
            }
            if i.consume_shortcut(&REDO) {
                out.push(AppCommand::Redo);
            }
            if i.consume_shortcut(&SAVE) {
                out.push(AppCommand::Save);
            }
            if i.consume_shortcut(&OPEN) {
                out.push(AppCommand::Open(None));
            }
            if i.consume_shortcut(&IMPORT) {
                out.push(AppCommand::Import(None));
            }
        });
        let typing = ctx.memory(|m| m.focused().is_some()) || ctx.egui_wants_keyboard_input();
        if !typing {
            ctx.input(|i| {
                if i.modifiers.command || i.modifiers.alt {
                    return;
                }
                for t in ToolKind::ALL {
                    if i.key_pressed(t.key()) {
                        out.push(AppCommand::SetTool(t));
                    }
                }
                if i.key_pressed(Key::M) {
                    out.push(AppCommand::MergeSelected);
                }
                if i.key_pressed(Key::Home) || i.key_pressed(Key::E) {
                    out.push(AppCommand::ZoomExtent);
                }
                if i.key_pressed(Key::Z) {
                    out.push(AppCommand::ZoomSelection);
                }
                if i.key_pressed(Key::F5) {
                    out.push(AppCommand::RunChecks(false));
                }
                if i.key_pressed(Key::Delete) && self.state.tool == ToolKind::Select && !self.state.selection.is_empty()
                {
                    out.push(AppCommand::DeleteSelected);
                }
            });
        }
        self.commands.extend(out);
    }

    pub(super) fn menu_bar(&mut self, ui: &mut egui::Ui) {
        let lang = self.state.lang;
        let mut out = Vec::new();
        egui::Panel::top("menu").show(ui, |ui| {
            egui::MenuBar::new().ui(ui, |ui| {
                ui.menu_button(lang.t("项目", "Project"), |ui| {
                    if ui.button(lang.t("新建", "New")).clicked() {
                        out.push(AppCommand::New);
                    }
                    if ui.button(lang.t("打开… Ctrl+O", "Open… Ctrl+O")).clicked() {
                        out.push(AppCommand::Open(None));
                    }
                    if ui.button(lang.t("导入… Ctrl+I", "Import… Ctrl+I")).clicked() {
                        out.push(AppCommand::Import(None));
                    }
                    if ui.button(lang.t("保存 Ctrl+S", "Save Ctrl+S")).clicked() {
                        out.push(AppCommand::Save);
                    }
                    if ui.button(lang.t("另存为…", "Save as…")).clicked() {
                        out.push(AppCommand::SaveAs(None));
                    }
                    ui.separator();
                    self.print_menu(ui, &mut out);
                });
                ui.menu_button(lang.t("编辑", "Edit"), |ui| {
                    if ui
                        .add_enabled(self.editor.can_undo(), egui::Button::new(lang.t("撤销 Ctrl+Z", "Undo Ctrl+Z")))
                        .clicked()
                    {
                        out.push(AppCommand::Undo);
                    }
                    if ui
                        .add_enabled(self.editor.can_redo(), egui::Button::new(lang.t("重做 Ctrl+Y", "Redo Ctrl+Y")))
                        .clicked()
                    {
                        out.push(AppCommand::Redo);
                    }
                    if ui.button(lang.t("合并所选宗地 M", "Merge selected M")).clicked() {
                        out.push(AppCommand::MergeSelected);
                    }
                    if ui.button(lang.t("删除所选宗地 Del", "Delete selected Del")).clicked() {
                        out.push(AppCommand::DeleteSelected);
                    }
                });
                ui.menu_button(lang.t("视图", "View"), |ui| {
                    if ui.button(lang.t("全图 Home", "Zoom to extent Home")).clicked() {
                        out.push(AppCommand::ZoomExtent);
                    }
                    if ui.button(lang.t("缩放至所选 Z", "Zoom to selection Z")).clicked() {
                        out.push(AppCommand::ZoomSelection);
                    }
                });
                ui.menu_button(lang.t("质检", "Checks"), |ui| {
                    if ui.button(lang.t("检查项目 F5", "Check project F5")).clicked() {
                        out.push(AppCommand::RunChecks(false));
                    }
                    if ui.button(lang.t("自动修复…", "Repairs…")).clicked() {
                        out.push(AppCommand::PlanRepairs);
                    }
                });
                ui.menu_button(lang.t("语言", "Language"), |ui| {
                    if ui.button("中文").clicked() {
                        out.push(AppCommand::SetLanguage(Lang::Zh));
                    }
                    if ui.button("English").clicked() {
                        out.push(AppCommand::SetLanguage(Lang::En));
                    }
                });
                ui.separator();
                let name = self.project_path().and_then(|p| p.file_name()).map_or_else(
                    || lang.t("未命名项目", "Untitled project").to_owned(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let dirty = if self.editor.is_dirty() { " *" } else { "" };
                ui.label(format!("{name}{dirty}"));
            });
        });
        self.commands.extend(out);
    }

    pub(super) fn toolbar(&mut self, ui: &mut egui::Ui) {
        let lang = self.state.lang;
        ui.horizontal_wrapped(|ui| {
            for t in ToolKind::ALL {
                if ui.selectable_label(self.state.tool == t, t.label(lang)).clicked() {
                    self.commands.push(AppCommand::SetTool(t));
                }
            }
            ui.separator();
            if ui.button(lang.t("全图", "Extent")).clicked() {
                self.commands.push(AppCommand::ZoomExtent);
            }
            ui.label(lang.t("捕捉", "Snap"));
            ui.add(egui::DragValue::new(&mut self.state.snap_px).range(2.0..=40.0).suffix(" px"));
        });
        let tool = self.state.tool;
        if matches!(tool, ToolKind::DrawParcel | ToolKind::DrawBuilding | ToolKind::Split) {
            ui.horizontal(|ui| self.tools.get(tool).options_ui(ui, lang));
        }
    }

    pub(super) fn status_bar(&mut self, ui: &mut egui::Ui) {
        let lang = self.state.lang;
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                match self.cursor {
                    // Chinese survey order: X = northing, Y = easting.
                    Some(c) => ui.monospace(format!("X {:.3}  Y {:.3}", c.y, c.x)),
                    None => ui.monospace("X —  Y —"),
                };
                ui.separator();
                ui.label(format!("1:{:.0}", 1.0 / (self.state.view.scale * 0.000_264_6).max(1e-12)));
                ui.separator();
                let s = self.renderer.stats;
                ui.label(if s.vector {
                    format!("{} {}", s.parcels, lang.t("宗地(矢量)", "parcels (vector)"))
                } else {
                    lang.t("概览", "overview").to_owned()
                });
                ui.separator();
                ui.label(&self.status);
            });
        });
    }

    pub(super) fn recovery_dialog(&mut self, ui: &mut egui::Ui) {
        let Some(opened) = &self.recovery else { return };
        let lang = self.state.lang;
        let n = opened.unsaved.len();
        let mut answer = None;
        egui::Modal::new(egui::Id::unique("recovery")).show(ui.ctx(), |ui| {
            ui.heading(lang.t("恢复未保存的编辑", "Recover unsaved edits"));
            ui.label(format!(
                "{} {n} {}",
                lang.t("上次退出时有", "The project has"),
                lang.t(
                    "步编辑未保存（自动保存于日志）。是否恢复？",
                    "edits made after the last save (autosaved in its journal). Recover them?"
                )
            ));
            ui.horizontal(|ui| {
                if ui.button(lang.t("恢复", "Recover")).clicked() {
                    answer = Some(true);
                }
                if ui.button(lang.t("放弃", "Discard")).clicked() {
                    answer = Some(false);
                }
            });
        });
        if let Some(a) = answer {
            self.commands.push(AppCommand::Recover(a));
        }
    }
}

/// Save a screenshot as PNG.
pub(super) fn write_png(path: &Path, image: &egui::ColorImage) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let [w, h] = image.size;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Best);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    let rgb: Vec<u8> = image.pixels.iter().flat_map(|p| [p.r(), p.g(), p.b()]).collect();
    writer.write_image_data(&rgb).map_err(|e| e.to_string())
}
