//! Identify and edit attributes of the selected parcel or building, with the code
//! tables as drop-downs and validation as you type; the parcel's boundary points,
//! lines and 四至 derived after every edit.

use cadastre_core::model::{BuildingAttributes, ParcelAttributes};

use super::{AppCommand, Panel, PanelCx};
use crate::app::i18n::Lang;
use crate::boundary_info::{boundary_info, BoundaryInfo};
use crate::dict::{self, Entry};
use crate::model::ops::{set_building_attributes, set_parcel_attributes};
use crate::model::FeatureId;

/// Text buffers of the parcel form.
#[derive(Debug, Clone, Default, PartialEq)]
struct ParcelForm {
    zddm: String,
    zl: String,
    yt: String,
    qllx: String,
    qlxz: String,
    djzqdm: String,
    zdmj: String,
}

/// Text buffers of the building form.
#[derive(Debug, Clone, Default, PartialEq)]
struct BuildingForm {
    zrzh: String,
    jzwmc: String,
    fwjg: String,
    zcs: String,
    ghyt: String,
    jgrq: String,
}

/// The attribute panel.
#[derive(Default)]
pub struct AttributesPanel {
    /// (parcel, edit generation) the form and boundary were loaded at.
    loaded: Option<(FeatureId, u64)>,
    form: ParcelForm,
    boundary: Option<BoundaryInfo>,
    building_loaded: Option<(FeatureId, u64)>,
    bform: BuildingForm,
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn some(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn combo(ui: &mut egui::Ui, id: &str, value: &mut String, table: &[Entry]) {
    let shown = match dict::name_of(table, value) {
        Some(n) => format!("{value} {n}"),
        None => value.clone(),
    };
    egui::ComboBox::from_id_salt(id).selected_text(shown).width(220.0).show_ui(ui, |ui| {
        ui.selectable_value(value, String::new(), "—");
        for (code, name) in table {
            ui.selectable_value(value, (*code).to_owned(), format!("{code} {name}"));
        }
    });
}

/// A labelled row; returns the error shown under it.
fn row(ui: &mut egui::Ui, label: &str, add: impl FnOnce(&mut egui::Ui)) {
    ui.label(label);
    add(ui);
    ui.end_row();
}

fn error_line(ui: &mut egui::Ui, problem: Option<String>) -> bool {
    match problem {
        Some(p) => {
            ui.colored_label(egui::Color32::from_rgb(200, 30, 30), p);
            false
        }
        None => true,
    }
}

impl AttributesPanel {
    fn load_parcel(&mut self, cx: &PanelCx<'_>, id: FeatureId) {
        let generation = cx.editor.index().generation;
        if self.loaded == Some((id, generation)) {
            return;
        }
        let Some(p) = cx.editor.doc().parcels.get(&id) else { return };
        let a = &p.attributes;
        self.form = ParcelForm {
            zddm: p.zddm.clone(),
            zl: opt(&a.zl),
            yt: opt(&a.yt),
            qllx: opt(&a.qllx),
            qlxz: opt(&a.qlxz),
            djzqdm: opt(&a.djzqdm),
            zdmj: a.zdmj.map(|v| format!("{v:.2}")).unwrap_or_default(),
        };
        self.boundary = boundary_info(cx.editor, id);
        self.loaded = Some((id, generation));
    }

    fn parcel_ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>, id: FeatureId) {
        let lang = cx.state.lang;
        self.load_parcel(cx, id);
        ui.heading(lang.t("宗地属性", "Parcel"));
        let mut valid = true;
        egui::Grid::new("parcel-form").num_columns(2).show(ui, |ui| {
            row(ui, lang.t("宗地代码 ZDDM", "Parcel code ZDDM"), |ui| {
                ui.text_edit_singleline(&mut self.form.zddm);
            });
            ui.label("");
            valid &= error_line(ui, dict::parcel_code_problem(&self.form.zddm));
            ui.end_row();
            row(ui, lang.t("坐落 ZL", "Address ZL"), |ui| {
                ui.text_edit_singleline(&mut self.form.zl);
            });
            row(ui, lang.t("用途 YT", "Land use YT"), |ui| combo(ui, "yt", &mut self.form.yt, dict::LAND_USE));
            row(ui, lang.t("权利类型 QLLX", "Right type QLLX"), |ui| {
                combo(ui, "qllx", &mut self.form.qllx, dict::RIGHT_TYPE)
            });
            row(ui, lang.t("权利性质 QLXZ", "Right nature QLXZ"), |ui| {
                combo(ui, "qlxz", &mut self.form.qlxz, dict::RIGHT_NATURE)
            });
            row(ui, lang.t("地籍子区 DJZQDM", "Sub-district DJZQDM"), |ui| {
                ui.text_edit_singleline(&mut self.form.djzqdm);
            });
            // Empty is allowed (the code's own sub-district applies); otherwise unit-code says
            // which position is wrong, like the ZDDM line above.
            let dj = self.form.djzqdm.trim();
            let dj_problem = dj.parse::<cadastre_core::unit_code::SubdistrictCode>().err().filter(|_| !dj.is_empty());
            ui.label("");
            valid &= error_line(ui, dj_problem.map(|e| e.to_string()));
            ui.end_row();
            row(ui, lang.t("宗地面积 ZDMJ (m²)", "Area ZDMJ (m²)"), |ui| {
                ui.text_edit_singleline(&mut self.form.zdmj);
            });
            let mj = self.form.zdmj.trim();
            let mj_ok = mj.is_empty() || mj.parse::<f64>().is_ok_and(|v| v.is_finite() && v >= 0.0);
            ui.label("");
            valid &= error_line(ui, (!mj_ok).then(|| lang.t("应为非负数", "must be a non-negative number").to_owned()));
            ui.end_row();
        });
        if let Some(g) = cx.editor.doc().parcel_geometry(id) {
            use geo::Area;
            ui.label(format!("{}: {:.2} m²", lang.t("图形面积", "Drawn area"), g.unsigned_area()));
        }
        if ui.add_enabled(valid, egui::Button::new(lang.t("应用属性", "Apply"))).clicked() {
            self.apply_parcel(cx, id);
        }
        if let Some(b) = &self.boundary {
            ui.separator();
            ui.label(format!(
                "{}: {}   {}: {}",
                lang.t("界址点", "Points"),
                b.points.len(),
                lang.t("界址线", "Lines"),
                b.lines
            ));
            let dirs = [lang.t("北", "N"), lang.t("东", "E"), lang.t("南", "S"), lang.t("西", "W")];
            for (d, v) in dirs.iter().zip(&b.four) {
                ui.label(format!("{d}: {v}"));
            }
            egui::ScrollArea::vertical().max_height(220.0).id_salt("jzd").show(ui, |ui| {
                egui::Grid::new("jzd-table").striped(true).show(ui, |ui| {
                    ui.strong(lang.t("点号", "No."));
                    ui.strong("X (N)");
                    ui.strong("Y (E)");
                    ui.strong(lang.t("共用", "Shared"));
                    ui.end_row();
                    for (j, c, users) in &b.points {
                        ui.label(j);
                        ui.monospace(format!("{:.3}", c.y));
                        ui.monospace(format!("{:.3}", c.x));
                        ui.label(users.to_string());
                        ui.end_row();
                    }
                });
            });
        }
    }

    fn apply_parcel(&mut self, cx: &mut PanelCx<'_>, id: FeatureId) {
        let Some(p) = cx.editor.doc().parcels.get(&id) else { return };
        let f = &self.form;
        let attributes = ParcelAttributes {
            zl: some(&f.zl),
            yt: some(&f.yt),
            qllx: some(&f.qllx),
            qlxz: some(&f.qlxz),
            djzqdm: some(&f.djzqdm),
            zdmj: f.zdmj.trim().parse().ok(),
            ..p.attributes.clone()
        };
        match set_parcel_attributes(cx.editor.doc(), id, f.zddm.trim().to_owned(), attributes) {
            Ok(cmd) => cx.out.push(AppCommand::Edit(cmd)),
            Err(e) => cx.out.push(AppCommand::Message(e.to_string())),
        }
    }

    fn building_ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>, id: FeatureId) {
        let lang = cx.state.lang;
        let generation = cx.editor.index().generation;
        let Some(b) = cx.editor.doc().buildings.get(&id) else { return };
        if self.building_loaded != Some((id, generation)) {
            let a = &b.attributes;
            self.bform = BuildingForm {
                zrzh: b.zrzh.clone(),
                jzwmc: opt(&a.jzwmc),
                fwjg: opt(&a.fwjg),
                zcs: a.zcs.map(|v| v.to_string()).unwrap_or_default(),
                ghyt: opt(&a.ghyt),
                jgrq: opt(&a.jgrq),
            };
            self.building_loaded = Some((id, generation));
        }
        ui.heading(lang.t("自然幢属性", "Building"));
        let mut valid = true;
        egui::Grid::new("building-form").num_columns(2).show(ui, |ui| {
            row(ui, lang.t("自然幢号 ZRZH", "Building no. ZRZH"), |ui| {
                ui.text_edit_singleline(&mut self.bform.zrzh);
            });
            ui.label("");
            valid &= error_line(ui, dict::building_code_problem(&self.bform.zrzh));
            ui.end_row();
            row(ui, lang.t("建筑物名称 JZWMC", "Name JZWMC"), |ui| {
                ui.text_edit_singleline(&mut self.bform.jzwmc);
            });
            row(ui, lang.t("房屋结构 FWJG", "Structure FWJG"), |ui| {
                combo(ui, "fwjg", &mut self.bform.fwjg, dict::STRUCTURE)
            });
            row(ui, lang.t("总层数 ZCS", "Floors ZCS"), |ui| {
                ui.text_edit_singleline(&mut self.bform.zcs);
            });
            let zcs_ok = self.bform.zcs.trim().is_empty() || self.bform.zcs.trim().parse::<u16>().is_ok_and(|v| v > 0);
            ui.label("");
            valid &=
                error_line(ui, (!zcs_ok).then(|| lang.t("应为正整数", "must be a positive whole number").to_owned()));
            ui.end_row();
            row(ui, lang.t("规划用途 GHYT", "Planned use GHYT"), |ui| {
                ui.text_edit_singleline(&mut self.bform.ghyt);
            });
            row(ui, lang.t("竣工日期 JGRQ", "Completed JGRQ"), |ui| {
                ui.text_edit_singleline(&mut self.bform.jgrq);
            });
        });
        if ui.add_enabled(valid, egui::Button::new(lang.t("应用属性", "Apply"))).clicked() {
            let f = &self.bform;
            let attributes = BuildingAttributes {
                jzwmc: some(&f.jzwmc),
                fwjg: some(&f.fwjg),
                zcs: f.zcs.trim().parse().ok(),
                ghyt: some(&f.ghyt),
                jgrq: some(&f.jgrq),
                ..b.attributes.clone()
            };
            match set_building_attributes(cx.editor.doc(), id, f.zrzh.trim().to_owned(), attributes) {
                Ok(cmd) => cx.out.push(AppCommand::Edit(cmd)),
                Err(e) => cx.out.push(AppCommand::Message(e.to_string())),
            }
        }
    }
}

impl Panel for AttributesPanel {
    fn id(&self) -> &'static str {
        "attributes"
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.t("属性", "Attributes")
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>) {
        let lang = cx.state.lang;
        egui::ScrollArea::vertical().id_salt("attr-scroll").show(ui, |ui| {
            if let Some(b) = cx.state.building {
                self.building_ui(ui, cx, b);
                ui.separator();
            }
            match cx.state.selection.len() {
                0 => {
                    ui.label(lang.t("点击地图上的宗地或幢查看属性", "Click a parcel or building on the map"));
                }
                1 => {
                    if let Some(&id) = cx.state.selection.iter().next() {
                        self.parcel_ui(ui, cx, id);
                    }
                }
                n => {
                    ui.label(format!("{} {n} {}", lang.t("已选", "Selected"), lang.t("宗", "parcels")));
                    if n == 2 && ui.button(lang.t("合并宗地 (M)", "Merge parcels (M)")).clicked() {
                        cx.out.push(AppCommand::MergeSelected);
                    }
                }
            }
        });
    }
}
