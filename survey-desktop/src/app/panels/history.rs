//! Undo history: the commands done, undo and redo.

use super::{AppCommand, Panel, PanelCx};
use crate::app::i18n::Lang;

/// The history panel.
pub struct HistoryPanel;

impl Panel for HistoryPanel {
    fn id(&self) -> &'static str {
        "history"
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.t("历史", "History")
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>) {
        let lang = cx.state.lang;
        ui.horizontal(|ui| {
            if ui.add_enabled(cx.editor.can_undo(), egui::Button::new(lang.t("撤销 Ctrl+Z", "Undo Ctrl+Z"))).clicked()
            {
                cx.out.push(AppCommand::Undo);
            }
            if ui.add_enabled(cx.editor.can_redo(), egui::Button::new(lang.t("重做 Ctrl+Y", "Redo Ctrl+Y"))).clicked()
            {
                cx.out.push(AppCommand::Redo);
            }
        });
        egui::ScrollArea::vertical().show(ui, |ui| {
            for (i, c) in cx.editor.done().iter().enumerate().rev() {
                ui.label(format!("{}. {}", i + 1, lang.pick(&c.label)));
            }
            for c in cx.editor.undone().iter().rev() {
                ui.weak(format!("↷ {}", lang.pick(&c.label)));
            }
        });
    }
}
