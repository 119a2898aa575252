//! The egui app. [`AppState`] is what a project remembers about the session (view,
//! layers, language, tool); [`App`] adds the resources: the editor, the project file,
//! caches, panels and tools. Panels and tools push [`AppCommand`]s that
//! [`App::run_commands`] applies after the frame; edits go through the editor's
//! undo history and are autosaved to the project journal.

mod canvas;
mod chrome;
pub mod command;
pub mod dialogs;
pub mod fonts;
pub mod i18n;
pub mod layers;
pub mod panels;
mod raster;
pub mod render;
mod run;
mod submission;
pub mod tools;
pub mod units;
pub mod view;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::model::{Document, Editor, FeatureId};
use crate::project::{Opened, Project};
use command::AppCommand;
use i18n::Lang;
use layers::Layers;
use panels::{ChecksState, PanelRegistry};
use render::MapRenderer;
use tools::{ToolKind, Tools};
use view::MapView;

/// Settings key of the serialized [`AppState`].
const STATE_KEY: &str = "app_state";

/// Session state worth keeping with the project.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AppState {
    /// Where the map looks.
    pub view: MapView,
    /// Layer visibility and styles.
    pub layers: Layers,
    /// Interface language.
    pub lang: Lang,
    /// Active tool.
    pub tool: ToolKind,
    /// Snap tolerance in screen points.
    pub snap_px: f32,
    /// First 14 characters of codes for parcels drawn away from any neighbour.
    pub code_prefix: String,
    /// Selected parcels.
    #[serde(skip)]
    pub selection: BTreeSet<FeatureId>,
    /// Selected (identified) building.
    #[serde(skip)]
    pub building: Option<FeatureId>,
}

impl Default for AppState {
    fn default() -> Self {
        Self {
            view: MapView::default(),
            layers: Layers::default(),
            lang: Lang::Zh,
            tool: ToolKind::Select,
            snap_px: 10.0,
            code_prefix: "000000000000GB".into(),
            selection: BTreeSet::new(),
            building: None,
        }
    }
}

/// How the app was started.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Project file or folder to open/import.
    pub path: Option<PathBuf>,
    /// Save the first frames as PNG here, then exit.
    pub screenshot: Option<PathBuf>,
    /// Select and zoom to this parcel code at start.
    pub select: Option<String>,
    /// Interface language override.
    pub lang: Option<Lang>,
    /// Seconds between autosaves.
    pub autosave_secs: Option<f64>,
    /// Test hook: make this many small edits, one per frame, reporting autosaves on stdout.
    pub script_edits: usize,
    /// Where untitled projects keep their recovery file.
    pub data_dir: Option<PathBuf>,
    /// Central tab to show at start (map, building table, floor plan, apportionment).
    pub panel: Option<units::Tab>,
}

/// Start-up work done over the first frames.
#[derive(Default)]
struct Startup {
    fit_pending: bool,
    select: Option<String>,
    screenshot: Option<PathBuf>,
    screenshot_requested: bool,
    frame: u64,
    script_edits: usize,
    script_done: usize,
}

/// The application.
pub struct App {
    /// Session state.
    pub state: AppState,
    /// Document, indexes and history.
    pub editor: Editor,
    /// Project settings (key → value).
    pub settings: BTreeMap<String, String>,
    project: Option<Project>,
    /// Unsaved steps found at open, waiting for the user's answer.
    recovery: Option<Opened>,
    renderer: MapRenderer,
    /// The side panels.
    pub panels: PanelRegistry,
    /// Building table, floor plans and apportionment (central tabs).
    pub units: units::UnitsWorkspace,
    /// File dialogs (tests queue their answers here).
    pub dialogs: dialogs::Dialogs,
    tools: Tools,
    commands: Vec<AppCommand>,
    checks: ChecksState,
    /// Status-bar message.
    pub status: String,
    fonts_done: bool,
    autosave_every: Duration,
    last_autosave: Instant,
    startup: Startup,
    cursor: Option<geo_types::Coord<f64>>,
    last_canvas: egui::Rect,
    data_dir: PathBuf,
    /// Steps written by autosaves so far (the test hook reports it).
    pub autosaved_steps: usize,
}

impl App {
    /// Start the app: open or import `options.path` if given.
    pub fn new(options: StartOptions) -> Self {
        let data_dir = options.data_dir.clone().unwrap_or_else(default_data_dir);
        let mut app = Self {
            state: AppState::default(),
            editor: Editor::default(),
            settings: BTreeMap::new(),
            project: None,
            recovery: None,
            renderer: MapRenderer::default(),
            panels: PanelRegistry::default(),
            units: units::UnitsWorkspace { tab: options.panel.unwrap_or_default(), ..Default::default() },
            dialogs: dialogs::Dialogs::default(),
            tools: Tools::default(),
            commands: Vec::new(),
            checks: ChecksState::default(),
            status: String::new(),
            fonts_done: false,
            autosave_every: Duration::from_secs_f64(options.autosave_secs.unwrap_or(5.0).max(0.05)),
            last_autosave: Instant::now(),
            startup: Startup {
                fit_pending: true,
                select: options.select.clone(),
                screenshot: options.screenshot.clone(),
                script_edits: options.script_edits,
                ..Startup::default()
            },
            cursor: None,
            last_canvas: egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(800.0, 600.0)),
            data_dir,
            autosaved_steps: 0,
        };
        if let Some(path) = &options.path {
            app.open_path(path);
        }
        if let Some(lang) = options.lang {
            app.state.lang = lang;
        }
        app
    }

    /// An app over a document (tests, benchmarks).
    pub fn with_document(doc: Document) -> Self {
        let mut app = Self::new(StartOptions::default());
        app.set_document(doc, BTreeMap::new());
        app
    }

    /// The surveyor's name for the building tables' change log: the `surveyor`
    /// setting, else the OS user.
    pub fn surveyor(&self) -> String {
        self.settings
            .get("surveyor")
            .cloned()
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("USERNAME").ok())
            .unwrap_or_else(|| "surveyor".into())
    }

    /// The project file, if any.
    pub fn project_path(&self) -> Option<&Path> {
        self.project.as_ref().map(Project::path)
    }

    /// Whether a recovery question is open.
    pub fn recovery_pending(&self) -> bool {
        self.recovery.is_some()
    }

    /// Queue a command (as a panel would).
    pub fn push(&mut self, cmd: AppCommand) {
        self.commands.push(cmd);
    }

    /// The last check report, if the checks ran.
    pub fn checks_report(&self) -> Option<&cadastre_core::qc::Report> {
        self.checks.report.as_ref()
    }

    /// Statistics of the last drawn frame.
    pub fn frame_stats(&self) -> render::FrameStats {
        self.renderer.stats
    }

    /// Replace the document (open/import): history, caches and selection start over.
    fn set_document(&mut self, doc: Document, settings: BTreeMap<String, String>) {
        self.editor.reset(doc);
        self.after_new_editor(settings);
    }

    fn after_new_editor(&mut self, settings: BTreeMap<String, String>) {
        let saved: Option<AppState> = settings.get(STATE_KEY).and_then(|s| serde_json::from_str(s).ok());
        let keep_lang = self.state.lang;
        self.state = saved.unwrap_or_default();
        if !settings.contains_key(STATE_KEY) {
            self.state.lang = keep_lang;
            self.startup.fit_pending = true;
        }
        if let Some(first) = self.editor.doc().parcels.values().next() {
            if self.state.code_prefix.starts_with("000000") {
                self.state.code_prefix = first.zddm.chars().take(14).collect();
            }
        }
        self.settings = settings;
        self.renderer.reset(&self.editor);
        self.checks = ChecksState::default();
        self.tools.cancel_all();
    }

    /// Settings with the session state, as saved into the project.
    fn settings_to_save(&self) -> BTreeMap<String, String> {
        let mut s = self.settings.clone();
        if let Ok(json) = serde_json::to_string(&self.state) {
            s.insert(STATE_KEY.into(), json);
        }
        s
    }

    /// Draw the whole app into `ui` (the eframe root and the kittest harness call this).
    pub fn ui_root(&mut self, ui: &mut egui::Ui) {
        if !self.fonts_done {
            self.fonts_done = true;
            match fonts::install(ui.ctx()) {
                Ok(found) => eprintln!("survey-desktop: Chinese font {found}"),
                Err(msg) => {
                    eprintln!("survey-desktop: {msg}");
                    self.status = msg;
                }
            }
        }
        self.startup.frame += 1;
        self.shortcuts(ui);
        self.menu_bar(ui);
        self.status_bar(ui);
        let mut out = std::mem::take(&mut self.commands);
        {
            let mut cx = panels::PanelCx {
                editor: &self.editor,
                state: &self.state,
                checks: &self.checks,
                project: self.project.as_ref().map(Project::path),
                settings: &self.settings,
                out: &mut out,
            };
            egui::Panel::left("left")
                .default_size(210.0)
                .show(ui, |ui| self.panels.show(ui, panels::Dock::Left, &mut cx));
            egui::Panel::right("right")
                .default_size(330.0)
                .show(ui, |ui| self.panels.show(ui, panels::Dock::Right, &mut cx));
        }
        self.commands = out;
        egui::CentralPanel::default().show(ui, |ui| {
            if self.units.tab_bar(ui, self.state.lang) == units::Tab::Map {
                self.toolbar(ui);
                self.canvas(ui);
            } else {
                let who = self.surveyor();
                let mut cx = units::UnitsCx {
                    editor: &self.editor,
                    lang: self.state.lang,
                    who: &who,
                    out: &mut self.commands,
                    dialogs: &mut self.dialogs,
                };
                self.units.ui(ui, &mut cx);
            }
        });
        self.recovery_dialog(ui);
        self.run_commands();
        self.autosave_tick();
        if self.editor.has_unjournaled() {
            // Come back for the autosave even if the user does nothing.
            ui.ctx().request_repaint_after(self.autosave_every);
        }
        self.script_tick(ui.ctx());
        self.screenshot_tick(ui.ctx());
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.ui_root(ui);
        if ui.ctx().input(|i| i.viewport().close_requested()) {
            self.on_exit();
        }
    }
}

/// Where untitled projects keep their recovery file.
fn default_data_dir() -> PathBuf {
    if let Ok(d) = std::env::var("SURVEY_DESKTOP_DATA") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .or_else(|| std::env::var_os("APPDATA").map(PathBuf::from))
        .unwrap_or_else(std::env::temp_dir);
    base.join("survey-desktop")
}
