//! Side panels. Each is a struct with `ui(&mut self, ui, cx)` that reads the state and
//! emits [`AppCommand`]s; the [`PanelRegistry`] is the seam where later parts of the
//! app (building table, floor plans, printing) add their panels.

mod attributes;
mod checks;
mod history;
mod layers;
mod qc_rules;
mod submit;

pub use attributes::AttributesPanel;
pub use checks::{ChecksPanel, ChecksState};
pub use history::HistoryPanel;
pub use layers::LayersPanel;
pub use qc_rules::QcRulesPanel;
pub use submit::SubmitPanel;

use std::collections::BTreeMap;
use std::path::Path;

use super::command::AppCommand;
use super::i18n::Lang;
use super::AppState;
use crate::model::Editor;

/// What a panel sees.
pub struct PanelCx<'a> {
    /// Document, indexes, history.
    pub editor: &'a Editor,
    /// View, layers, selection, language.
    pub state: &'a AppState,
    /// Last check report and repair plan.
    pub checks: &'a ChecksState,
    /// The project file, if saved.
    pub project: Option<&'a Path>,
    /// Project settings (QC rules under `qc_rules`).
    pub settings: &'a BTreeMap<String, String>,
    /// Where requests go.
    pub out: &'a mut Vec<AppCommand>,
}

/// Where a panel is docked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dock {
    /// Left column.
    Left,
    /// Right column (tabs).
    Right,
}

/// A side panel.
pub trait Panel {
    /// Stable id (tab and egui ids).
    fn id(&self) -> &'static str;
    /// Tab title.
    fn title(&self, lang: Lang) -> &'static str;
    /// Where it goes.
    fn dock(&self) -> Dock {
        Dock::Right
    }
    /// Draw it.
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCx<'_>);
}

/// The panels of the app, in tab order.
pub struct PanelRegistry {
    panels: Vec<Box<dyn Panel>>,
    /// Active right-hand tab (panel id).
    pub active: &'static str,
}

impl Default for PanelRegistry {
    fn default() -> Self {
        let mut r = Self { panels: Vec::new(), active: "attributes" };
        r.register(Box::new(LayersPanel));
        r.register(Box::new(AttributesPanel::default()));
        r.register(Box::new(ChecksPanel));
        r.register(Box::new(QcRulesPanel::default()));
        r.register(Box::new(HistoryPanel));
        r.register(Box::new(SubmitPanel::default()));
        r
    }
}

impl PanelRegistry {
    /// Add a panel (later parts of the app call this).
    pub fn register(&mut self, panel: Box<dyn Panel>) {
        self.panels.retain(|p| p.id() != panel.id());
        self.panels.push(panel);
    }

    /// Ids of the registered panels.
    pub fn ids(&self) -> Vec<&'static str> {
        self.panels.iter().map(|p| p.id()).collect()
    }

    /// Show the docked panels of one side (right: as tabs).
    pub fn show(&mut self, ui: &mut egui::Ui, dock: Dock, cx: &mut PanelCx<'_>) {
        let lang = cx.state.lang;
        if dock == Dock::Right {
            ui.horizontal_wrapped(|ui| {
                for p in self.panels.iter().filter(|p| p.dock() == Dock::Right) {
                    if ui.selectable_label(self.active == p.id(), p.title(lang)).clicked() {
                        self.active = p.id();
                    }
                }
            });
            ui.separator();
        }
        let active = self.active;
        for p in self.panels.iter_mut().filter(|p| p.dock() == dock) {
            if dock == Dock::Left || p.id() == active {
                ui.push_id(p.id(), |ui| p.ui(ui, cx));
            }
        }
    }
}
