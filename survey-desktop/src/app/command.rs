//! App commands: what panels and tools ask for, applied after the frame.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::i18n::Lang;
use super::tools::ToolKind;
use crate::model::{Command, FeatureId};

/// A request from the UI. Edits are `Edit(Command)`; the rest change the view,
/// selection or project. Applied in order by `App::run_commands` after drawing.
#[derive(Debug, Clone)]
pub enum AppCommand {
    /// An undoable edit.
    Edit(Command),
    /// Undo the last edit.
    Undo,
    /// Redo.
    Redo,
    /// Replace the parcel selection.
    Select(BTreeSet<FeatureId>),
    /// Select a building (identify).
    SelectBuilding(Option<FeatureId>),
    /// Zoom to a world box.
    ZoomTo([f64; 2], [f64; 2]),
    /// Zoom to everything.
    ZoomExtent,
    /// Zoom to the selection.
    ZoomSelection,
    /// Switch tool.
    SetTool(ToolKind),
    /// Merge the two selected parcels.
    MergeSelected,
    /// Delete the selected parcels.
    DeleteSelected,
    /// Start a new, empty, untitled project (the current one is autosaved first).
    New,
    /// Save (asks for a file when the project has none).
    Save,
    /// Save under a new name.
    SaveAs(Option<PathBuf>),
    /// Open a project or import a folder (asks when `None`).
    Open(Option<PathBuf>),
    /// Import data into the project (asks when `None`).
    Import(Option<PathBuf>),
    /// Run the checks (`true`: the selection only).
    RunChecks(bool),
    /// The project's QC rules (the TOML of what differs from the defaults; empty: the
    /// defaults), used from the next check run on.
    SetQcRules(String),
    /// Compute repairs for preview.
    PlanRepairs,
    /// Apply the previewed repairs.
    ApplyRepairs,
    /// Answer the recovery question.
    Recover(bool),
    /// Interface language.
    SetLanguage(Lang),
    /// Change layer visibility and styles.
    SetLayers(Box<super::layers::Layers>),
    /// Mark a finding as the one looked at.
    FocusFinding(usize),
    /// A message for the status bar.
    Message(String),
    /// The server's answer about the submission: returned findings onto the map, codes
    /// issued into the project.
    ReviewArrived(Box<crate::submit::ReviewState>),
    /// Print the selected parcel's 宗地图 (asks for the file when `None`).
    PrintParcelMap(Option<PathBuf>, crate::print::PrintChoice),
}
