//! Edit boundary points: drag a handle to move a point (shared points move in every
//! parcel), double-click an edge to insert a point, Delete removes the active point.
//! Handles show for the selected parcels, or for all parcels at survey zooms.

use std::collections::BTreeSet;

use egui::{Color32, Key, Rect, Sense, Shape, Stroke, StrokeKind};
use geo_types::Coord;

use super::{paint_snap, AppCommand, Tool, ToolCx, ToolKind};
use crate::model::ops::{delete_vertex, insert_vertex, move_point};
use crate::model::snap::{snap, SnapTarget};
use crate::model::PointId;

/// Most handles drawn at once (beyond: select a parcel first).
const MAX_HANDLES: usize = 3000;

/// The vertex tool.
#[derive(Default)]
pub struct VertexTool {
    /// Point being dragged and where it is now (world).
    dragging: Option<(PointId, Coord<f64>)>,
    /// The point Delete acts on.
    pub active: Option<PointId>,
}

impl Tool for VertexTool {
    fn kind(&self) -> ToolKind {
        ToolKind::Vertices
    }

    fn claims_drag(&self, _modifiers: egui::Modifiers) -> bool {
        self.dragging.is_some()
    }

    fn on_canvas(&mut self, ui: &mut egui::Ui, cx: &mut ToolCx<'_>) {
        let ed = cx.editor;
        let doc = ed.doc();
        // Which points get handles.
        let mut ids: BTreeSet<PointId> = BTreeSet::new();
        for pid in cx.selection {
            if let Some(p) = doc.parcels.get(pid) {
                ids.extend(p.outline.point_ids());
            }
        }
        if ids.is_empty() {
            let (lo, hi) = cx.t.world_bounds();
            for pid in ed.index().parcels_in(lo, hi).take(MAX_HANDLES / 4) {
                if let Some(p) = doc.parcels.get(&pid) {
                    ids.extend(p.outline.point_ids());
                }
            }
        }
        let tol = cx.t.metres(cx.snap_px);
        let base_id = cx.response.id.with("vertex");
        for &id in ids.iter().take(MAX_HANDLES) {
            let Some(&c) = doc.points.get(&id) else { continue };
            let at = cx.t.to_screen(c);
            if !cx.t.screen().contains(at) {
                continue;
            }
            let rect = Rect::from_center_size(at, egui::vec2(10.0, 10.0));
            let r = ui.interact(rect, base_id.with(id), Sense::click_and_drag());
            if r.drag_started() || r.clicked() {
                self.active = Some(id);
            }
            if r.dragged() {
                if let Some(p) = r.interact_pointer_pos() {
                    self.dragging = Some((id, cx.t.to_world(p)));
                }
            }
            if r.drag_stopped() {
                if let Some((_, to)) = self.dragging.take() {
                    let s = snap(doc, ed.index(), to, tol, &[id]);
                    let target = if matches!(s.target, SnapTarget::Point(_)) { s.at } else { to };
                    match move_point(doc, id, target) {
                        Ok(cmd) => cx.out.push(AppCommand::Edit(cmd)),
                        Err(e) => cx.out.push(AppCommand::Message(e.to_string())),
                    }
                }
            }
            let shared = ed.index().users(id).len() > 1;
            let fill = if Some(id) == self.active {
                Color32::from_rgb(255, 200, 0)
            } else if shared {
                Color32::from_rgb(255, 120, 120)
            } else {
                Color32::WHITE
            };
            cx.painter.rect(
                rect.shrink(1.0),
                0.0,
                fill,
                Stroke::new(1.0, Color32::from_rgb(180, 0, 0)),
                StrokeKind::Middle,
            );
        }
        // Rubber band of the dragged point: its edges in every parcel using it.
        if let Some((id, to)) = self.dragging {
            let s = snap(doc, ed.index(), to, tol, &[id]);
            paint_snap(cx.painter, cx.t, &s);
            for pid in ed.index().users(id) {
                let Some(p) = doc.parcels.get(pid) else { continue };
                for (_, _, ring) in p.outline.rings() {
                    let pts = ring
                        .iter()
                        .filter_map(|q| if *q == id { Some(to) } else { doc.points.get(q).copied() })
                        .map(|c| cx.t.to_screen(c))
                        .collect();
                    cx.painter.add(Shape::closed_line(pts, Stroke::new(1.5, Color32::from_rgb(0, 120, 255))));
                }
            }
        }
        if cx.response.double_clicked() {
            if let Some(p) = cx.response.interact_pointer_pos() {
                let s = snap(doc, ed.index(), cx.t.to_world(p), tol, &[]);
                if let SnapTarget::Edge { a, b, .. } = s.target {
                    match insert_vertex(doc, ed.index(), a, b, s.at) {
                        Ok(cmd) => cx.out.push(AppCommand::Edit(cmd)),
                        Err(e) => cx.out.push(AppCommand::Message(e.to_string())),
                    }
                }
            }
        }
        let delete = ui.input(|i| i.key_pressed(Key::Delete)) && ui.ctx().memory(|m| m.focused().is_none());
        if delete {
            if let Some(id) = self.active.take() {
                match delete_vertex(doc, ed.index(), id) {
                    Ok(cmd) => cx.out.push(AppCommand::Edit(cmd)),
                    Err(e) => cx.out.push(AppCommand::Message(e.to_string())),
                }
            }
        }
    }

    fn cancel(&mut self) {
        self.dragging = None;
        self.active = None;
    }
}
