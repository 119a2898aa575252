//! Select and identify: click a parcel (Shift/Ctrl: add or remove), Shift-drag a box.

use std::collections::BTreeSet;

use egui::{Color32, Pos2, Rect, Stroke, StrokeKind};
use geo::Contains;

use super::{AppCommand, Tool, ToolCx, ToolKind};
use crate::model::ops::parcel_at;
use crate::model::FeatureId;

/// The select tool.
#[derive(Default)]
pub struct SelectTool {
    box_start: Option<Pos2>,
}

impl Tool for SelectTool {
    fn kind(&self) -> ToolKind {
        ToolKind::Select
    }

    fn claims_drag(&self, modifiers: egui::Modifiers) -> bool {
        modifiers.shift || self.box_start.is_some()
    }

    fn on_canvas(&mut self, ui: &mut egui::Ui, cx: &mut ToolCx<'_>) {
        let modifiers = ui.input(|i| i.modifiers);
        let r = cx.response;
        if r.drag_started() && modifiers.shift {
            self.box_start = r.interact_pointer_pos();
        }
        if let (Some(start), Some(now)) = (self.box_start, r.interact_pointer_pos().or(r.hover_pos())) {
            let rect = Rect::from_two_pos(start, now);
            cx.painter.rect(
                rect,
                0.0,
                Color32::from_rgba_unmultiplied(60, 120, 255, 30),
                Stroke::new(1.0, Color32::from_rgb(60, 120, 255)),
                StrokeKind::Middle,
            );
            if r.drag_stopped() {
                self.box_start = None;
                let (a, b) = (cx.t.to_world(rect.left_bottom()), cx.t.to_world(rect.right_top()));
                let mut sel: BTreeSet<FeatureId> =
                    if modifiers.command { cx.selection.clone() } else { BTreeSet::new() };
                sel.extend(cx.editor.index().parcels_in([a.x, a.y], [b.x, b.y]));
                cx.out.push(AppCommand::Select(sel));
            }
            return;
        }
        if r.clicked() {
            let Some(pos) = r.interact_pointer_pos() else { return };
            let at = cx.t.to_world(pos);
            let ed = cx.editor;
            // Buildings lie on parcels: a click on one identifies the building.
            let building = ed
                .index()
                .buildings_in([at.x, at.y], [at.x, at.y])
                .find(|id| ed.doc().buildings.get(id).is_some_and(|b| b.footprint.contains(&geo_types::Point(at))));
            cx.out.push(AppCommand::SelectBuilding(building));
            let hit = parcel_at(ed.doc(), ed.index(), at);
            let mut sel = if modifiers.shift || modifiers.command { cx.selection.clone() } else { BTreeSet::new() };
            if let Some(id) = hit {
                if !sel.insert(id) {
                    sel.remove(&id);
                }
            }
            cx.out.push(AppCommand::Select(sel));
        }
    }

    fn cancel(&mut self) {
        self.box_start = None;
    }
}
