//! Map tools. A tool turns pointer and key input on the canvas into
//! [`AppCommand`]s and draws its own overlay (rubber band, snap marker, handles).
//! Drag state is transient; a finished gesture becomes one undoable command.

mod draw;
mod select;
mod vertex;

pub use draw::{DrawKind, DrawTool};
pub use select::SelectTool;
pub use vertex::VertexTool;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::command::AppCommand;
use super::i18n::Lang;
use super::view::ViewTransform;
use crate::model::{Editor, FeatureId};

/// Which tool is active.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToolKind {
    /// Click/box selection and identify (S).
    #[default]
    Select,
    /// Draw a parcel (P).
    DrawParcel,
    /// Move, insert, delete boundary points (V).
    Vertices,
    /// Split a parcel along a line (X).
    Split,
    /// Draw a building footprint (B).
    DrawBuilding,
}

impl ToolKind {
    /// All tools in toolbar order.
    pub const ALL: [ToolKind; 5] =
        [ToolKind::Select, ToolKind::DrawParcel, ToolKind::Vertices, ToolKind::Split, ToolKind::DrawBuilding];

    /// Toolbar label.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            ToolKind::Select => lang.t("选择 (S)", "Select (S)"),
            ToolKind::DrawParcel => lang.t("画宗地 (P)", "Draw parcel (P)"),
            ToolKind::Vertices => lang.t("编辑界址点 (V)", "Edit points (V)"),
            ToolKind::Split => lang.t("分割 (X)", "Split (X)"),
            ToolKind::DrawBuilding => lang.t("画幢 (B)", "Draw building (B)"),
        }
    }

    /// Keyboard shortcut.
    pub fn key(self) -> egui::Key {
        match self {
            ToolKind::Select => egui::Key::S,
            ToolKind::DrawParcel => egui::Key::P,
            ToolKind::Vertices => egui::Key::V,
            ToolKind::Split => egui::Key::X,
            ToolKind::DrawBuilding => egui::Key::B,
        }
    }
}

/// What a tool sees of the frame.
pub struct ToolCx<'a> {
    /// The canvas response (clicks, drags, hover).
    pub response: &'a egui::Response,
    /// Painter clipped to the canvas.
    pub painter: &'a egui::Painter,
    /// World ↔ screen.
    pub t: &'a ViewTransform,
    /// Document and indexes.
    pub editor: &'a Editor,
    /// Selected parcels.
    pub selection: &'a BTreeSet<FeatureId>,
    /// Snap tolerance in screen points.
    pub snap_px: f32,
    /// First 14 characters of new parcel codes.
    pub code_prefix: &'a str,
    /// Interface language.
    pub lang: Lang,
    /// Where requests go.
    pub out: &'a mut Vec<AppCommand>,
}

/// A map tool.
pub trait Tool {
    /// Which tool this is.
    fn kind(&self) -> ToolKind;
    /// Whether the tool uses a primary drag now (else the canvas pans).
    fn claims_drag(&self, _modifiers: egui::Modifiers) -> bool {
        false
    }
    /// Handle input on the canvas and draw the overlay.
    fn on_canvas(&mut self, ui: &mut egui::Ui, cx: &mut ToolCx<'_>);
    /// Options under the toolbar (typed coordinates...).
    fn options_ui(&mut self, _ui: &mut egui::Ui, _lang: Lang) {}
    /// Drop any gesture in progress (Esc, tool switch).
    fn cancel(&mut self) {}
}

/// All tools, one of each.
pub struct Tools {
    select: SelectTool,
    parcel: DrawTool,
    vertices: VertexTool,
    split: DrawTool,
    building: DrawTool,
}

impl Default for Tools {
    fn default() -> Self {
        Self {
            select: SelectTool::default(),
            parcel: DrawTool::new(DrawKind::Parcel),
            vertices: VertexTool::default(),
            split: DrawTool::new(DrawKind::Split),
            building: DrawTool::new(DrawKind::Building),
        }
    }
}

impl Tools {
    /// The tool of a kind.
    pub fn get(&mut self, kind: ToolKind) -> &mut dyn Tool {
        match kind {
            ToolKind::Select => &mut self.select,
            ToolKind::DrawParcel => &mut self.parcel,
            ToolKind::Vertices => &mut self.vertices,
            ToolKind::Split => &mut self.split,
            ToolKind::DrawBuilding => &mut self.building,
        }
    }

    /// Cancel every gesture.
    pub fn cancel_all(&mut self) {
        for k in ToolKind::ALL {
            self.get(k).cancel();
        }
    }
}

/// Snap marker: a square on a point, a diamond on an edge.
pub(crate) fn paint_snap(painter: &egui::Painter, t: &ViewTransform, snap: &crate::model::snap::Snap) {
    use crate::model::snap::SnapTarget;
    let p = t.to_screen(snap.at);
    let stroke = egui::Stroke::new(2.0, egui::Color32::from_rgb(255, 0, 200));
    match snap.target {
        SnapTarget::Point(_) => {
            painter.rect_stroke(
                egui::Rect::from_center_size(p, egui::vec2(10.0, 10.0)),
                0.0,
                stroke,
                egui::StrokeKind::Middle,
            );
        }
        SnapTarget::Edge { .. } => {
            let d = 6.0;
            let pts =
                vec![p + egui::vec2(0.0, -d), p + egui::vec2(d, 0.0), p + egui::vec2(0.0, d), p + egui::vec2(-d, 0.0)];
            painter.add(egui::Shape::closed_line(pts, stroke));
        }
        SnapTarget::Free => {}
    }
}
