//! The buildings' workspace in the central area: tabs 地图 | 楼盘表 |
//! 分层分户图 | 分摊 next to the map. Each tab is a panel struct with
//! `ui(&mut self, ui, cx)`; panels read the document and push commands built by
//! [`crate::model::units::ops`], so every change is undoable and journaled.

mod apportion;
mod floor;
mod floor_canvas;
pub mod print;
mod table;
mod table_form;

pub use apportion::ApportionPanel;
pub use floor::FloorPanel;
pub use table::TablePanel;
pub use table_form::{parse_parts, parse_physical, BatchForm, GridForm};

use super::command::AppCommand;
use super::i18n::Lang;
use crate::model::units::BuildingUnits;
use crate::model::{Command, EditError, Editor};

/// Which view the central area shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tab {
    /// The map (part 1 of the app).
    #[default]
    Map,
    /// 楼盘表.
    Table,
    /// 分层分户图.
    Floor,
    /// 分摊.
    Apportion,
}

impl Tab {
    /// All tabs in order.
    pub const ALL: [Tab; 4] = [Tab::Map, Tab::Table, Tab::Floor, Tab::Apportion];

    /// Tab title.
    pub fn title(self, lang: Lang) -> &'static str {
        match self {
            Tab::Map => lang.t("地图", "Map"),
            Tab::Table => lang.t("楼盘表", "Building table"),
            Tab::Floor => lang.t("分层分户图", "Floor plans"),
            Tab::Apportion => lang.t("面积分摊", "Apportionment"),
        }
    }

    /// From a command-line name: `map`, `building-table`, `floor-plan`, `apportion`.
    pub fn parse(name: &str) -> Option<Tab> {
        match name {
            "map" => Some(Tab::Map),
            "building-table" | "table" => Some(Tab::Table),
            "floor-plan" | "floor" => Some(Tab::Floor),
            "apportion" | "apportionment" => Some(Tab::Apportion),
            _ => None,
        }
    }
}

/// What a buildings panel sees.
pub struct UnitsCx<'a> {
    /// Document and history.
    pub editor: &'a Editor,
    /// Interface language.
    pub lang: Lang,
    /// The surveyor's name for the change log (who).
    pub who: &'a str,
    /// Where requests go.
    pub out: &'a mut Vec<AppCommand>,
    /// File dialogs.
    pub dialogs: &'a mut super::dialogs::Dialogs,
}

impl UnitsCx<'_> {
    /// The building being worked on.
    pub fn units(&self, zrzh: &Option<String>) -> Option<&BuildingUnits> {
        zrzh.as_ref().and_then(|z| self.editor.doc().units.get(z))
    }

    /// Who and when, for the change log.
    pub fn by(&self) -> cadastre_core::building::Editor {
        cadastre_core::building::Editor::now(self.who)
    }

    /// Queue an edit, or show why it could not be made.
    pub fn push(&mut self, result: Result<Command, EditError>) -> bool {
        match result {
            Ok(c) => {
                self.out.push(AppCommand::Edit(c));
                true
            }
            Err(e) => {
                self.out.push(AppCommand::Message(e.to_string()));
                false
            }
        }
    }

    /// A status-bar message.
    pub fn message(&mut self, text: impl Into<String>) {
        self.out.push(AppCommand::Message(text.into()));
    }
}

/// The tabs and their panels; the selected building is shared by all three.
#[derive(Default)]
pub struct UnitsWorkspace {
    /// Active tab.
    pub tab: Tab,
    /// Selected natural building (ZRZH).
    pub zrzh: Option<String>,
    /// 楼盘表.
    pub table: TablePanel,
    /// 分层分户图.
    pub floor: FloorPanel,
    /// 分摊.
    pub apportion: ApportionPanel,
}

impl UnitsWorkspace {
    /// The tab bar; returns the active tab.
    pub fn tab_bar(&mut self, ui: &mut egui::Ui, lang: Lang) -> Tab {
        ui.horizontal(|ui| {
            for t in Tab::ALL {
                if ui.selectable_label(self.tab == t, t.title(lang)).clicked() {
                    self.tab = t;
                }
            }
        });
        self.tab
    }

    /// Draw the active buildings tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut UnitsCx<'_>) {
        let units = &cx.editor.doc().units;
        if self.zrzh.as_ref().is_none_or(|z| !units.contains_key(z)) {
            self.zrzh = units.keys().next().cloned();
        }
        self.building_picker(ui, cx);
        ui.separator();
        match self.tab {
            Tab::Map => {}
            Tab::Table => self.table.ui(ui, cx, &self.zrzh),
            Tab::Floor => self.floor.ui(ui, cx, &self.zrzh),
            Tab::Apportion => self.apportion.ui(ui, cx, &self.zrzh),
        }
    }

    fn building_picker(&mut self, ui: &mut egui::Ui, cx: &mut UnitsCx<'_>) {
        let lang = cx.lang;
        // Wrapped: on a narrow window the row must not widen the tab (the canvas below
        // would extend under the side panel).
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.t("自然幢", "Building"));
            let shown = self.zrzh.clone().unwrap_or_else(|| lang.t("（无楼盘表）", "(no table)").to_owned());
            egui::ComboBox::from_id_salt("zrzh").selected_text(shown).width(260.0).show_ui(ui, |ui| {
                for z in cx.editor.doc().units.keys() {
                    if ui.selectable_label(self.zrzh.as_deref() == Some(z), z).clicked() {
                        self.zrzh = Some(z.clone());
                    }
                }
            });
            ui.separator();
            self.table.new_table_ui(ui, cx, &mut self.zrzh);
        });
    }
}
