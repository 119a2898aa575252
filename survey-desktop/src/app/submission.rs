//! What the app does with the submission and printing: the reviewer's answer (returned
//! findings on the map, issued codes into the project) and the 宗地图 of the selected
//! parcel from the Project menu. The work itself is in [`crate::submit`] and
//! [`crate::print`].

use egui::{Color32, Shape, Stroke};
use geo_types::Coord;

use super::command::AppCommand;
use super::view::ViewTransform;
use super::App;
use crate::print::{print_parcel_map, PrintChoice, SCALES};
use crate::submit::{apply_codes, ReviewState};
use cadastre_core::print::Paper;

/// egui memory key of the print menu's choice.
const PRINT_CHOICE: &str = "print_choice";

impl App {
    /// The server's answer: findings to fix onto the map; accepted: the codes issued
    /// replace the temporary ids and go into the building tables (one undoable step).
    pub(super) fn on_review(&mut self, r: ReviewState) {
        self.checks.returned = r.findings.clone();
        if !r.findings.is_empty() {
            self.status = format!("审核退回，{} 个问题已标在地图上", r.findings.len());
        }
        if r.status != "accepted" {
            return;
        }
        let by = cadastre_core::building::Editor::now(&self.surveyor());
        match apply_codes(self.editor.doc(), &r.codes, &by) {
            Ok(Some(applied)) => {
                self.run(AppCommand::Edit(applied.command));
                self.status = format!(
                    "审核通过，已写入入库代码：宗地 {}，幢 {}，户 {}",
                    applied.parcels, applied.buildings, applied.households
                );
            }
            Ok(None) => self.status = "审核通过".into(),
            Err(e) => self.status = format!("审核通过，但入库代码无法写入项目：{e}"),
        }
    }

    /// Prints the selected parcel's 宗地图 to `path` (or where the user says).
    pub(super) fn print_selected(&mut self, path: Option<std::path::PathBuf>, choice: PrintChoice) {
        let doc = self.editor.doc();
        let Some(parcel) = self.state.selection.iter().next().and_then(|id| doc.parcels.get(id)) else {
            self.status = self.state.lang.t("请先选择一宗宗地", "Select a parcel first").into();
            return;
        };
        let zddm = parcel.zddm.clone();
        let path = path.or_else(|| {
            self.dialogs.save_file(
                rfd::FileDialog::new().add_filter("PDF", &["pdf"]).set_file_name(format!("宗地图_{zddm}.pdf")),
            )
        });
        let Some(path) = path else { return };
        self.status = match print_parcel_map(self.editor.doc(), &zddm, choice, "", &path) {
            Ok(()) => format!("宗地图已保存：{}", path.display()),
            Err(e) => e,
        };
    }

    /// The print entries of the Project menu: paper, scale, print.
    pub(super) fn print_menu(&self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let lang = self.state.lang;
        let id = egui::Id::unique(PRINT_CHOICE);
        let mut choice: PrintChoice = ui.data(|d| d.get_temp(id)).unwrap_or_default();
        ui.menu_button(lang.t("打印宗地图", "Print parcel map"), |ui| {
            ui.horizontal(|ui| {
                ui.label(lang.t("纸张", "Paper"));
                ui.radio_value(&mut choice.paper, Paper::A4, "A4");
                ui.radio_value(&mut choice.paper, Paper::A3, "A3");
            });
            ui.horizontal(|ui| {
                let l = ui.label(lang.t("比例尺", "Scale"));
                let name = |s: Option<u32>| s.map_or_else(|| lang.t("自动", "auto").to_owned(), |d| format!("1:{d}"));
                egui::ComboBox::from_id_salt("print_scale")
                    .selected_text(name(choice.scale))
                    .show_ui(ui, |ui| {
                        for s in SCALES {
                            ui.selectable_value(&mut choice.scale, s, name(s));
                        }
                    })
                    .response
                    .labelled_by(l.id);
            });
            let any = !self.state.selection.is_empty();
            if ui.add_enabled(any, egui::Button::new(lang.t("打印所选宗地…", "Print selected parcel…"))).clicked()
            {
                out.push(AppCommand::PrintParcelMap(None, choice));
                ui.close();
            }
        });
        ui.data_mut(|d| d.insert_temp(id, choice));
    }

    /// Returned findings: orange diamonds, numbered as in the submission panel.
    pub(super) fn paint_returned(&self, painter: &egui::Painter, t: &ViewTransform) {
        let orange = Color32::from_rgb(240, 120, 0);
        for (i, f) in self.checks.returned.iter().enumerate() {
            let Some([x, y]) = f.location else { continue };
            let p = t.to_screen(Coord { x, y });
            if !t.screen().contains(p) {
                continue;
            }
            let r = 8.0;
            let pts =
                vec![p + egui::vec2(0.0, -r), p + egui::vec2(r, 0.0), p + egui::vec2(0.0, r), p + egui::vec2(-r, 0.0)];
            painter.add(Shape::closed_line(pts, Stroke::new(2.5, orange)));
            painter.text(
                p + egui::vec2(r + 2.0, -r),
                egui::Align2::LEFT_BOTTOM,
                format!("{}", i + 1),
                egui::FontId::proportional(12.0),
                orange,
            );
        }
    }
}
