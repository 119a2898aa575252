//! Layers: visibility and styles.

use super::{AppCommand, Dock, Panel, PanelCx};
use crate::app::i18n::Lang;
use crate::app::layers::{LayerStyle, Layers};

/// The layers panel (left column).
#[derive(Default)]
pub struct LayersPanel;

fn style_row(ui: &mut egui::Ui, name: &str, s: &mut LayerStyle, fill: bool) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        changed |= ui.checkbox(&mut s.visible, name).changed();
        if fill {
            changed |= ui.color_edit_button_srgba(&mut s.fill).changed();
        }
        changed |= ui.color_edit_button_srgba(&mut s.stroke).changed();
    });
    changed
}

impl Panel for LayersPanel {
    fn id(&self) -> &'static str {
        "layers"
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.t("图层", "Layers")
    }

    fn dock(&self) -> Dock {
        Dock::Left
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>) {
        let lang = cx.state.lang;
        ui.heading(lang.t("图层", "Layers"));
        let mut layers: Layers = cx.state.layers.clone();
        let mut changed = false;
        changed |= style_row(ui, lang.t("宗地 ZD", "Parcels ZD"), &mut layers.parcels, true);
        changed |= style_row(ui, lang.t("自然幢 ZRZ", "Buildings ZRZ"), &mut layers.buildings, true);
        changed |= style_row(ui, lang.t("界址点 JZD", "Boundary points JZD"), &mut layers.points, false);
        changed |= style_row(ui, lang.t("地籍子区 DJZQ", "Sub-districts DJZQ"), &mut layers.subdistricts, false);
        changed |= style_row(ui, lang.t("地籍区 DJQ", "Districts DJQ"), &mut layers.districts, false);
        changed |= ui.checkbox(&mut layers.labels, lang.t("注记", "Labels")).changed();
        if changed {
            cx.out.push(AppCommand::SetLayers(Box::new(layers)));
        }
        ui.separator();
        let doc = cx.editor.doc();
        ui.label(format!("{}: {}", lang.t("宗地", "Parcels"), doc.parcels.len()));
        ui.label(format!("{}: {}", lang.t("自然幢", "Buildings"), doc.buildings.len()));
        ui.label(format!("{}: {}", lang.t("界址点", "Boundary points"), doc.points.len()));
        let crs = doc.zone.map_or_else(|| lang.t("未设置", "not set").to_owned(), |z| format!("EPSG:{}", z.epsg()));
        ui.label(format!("{}: {crs}", lang.t("坐标系", "CRS")));
    }
}
