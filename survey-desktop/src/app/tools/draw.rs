//! Drawing by clicking points with snapping: parcels, building footprints and split
//! lines. Enter or a click on the first point closes; Backspace drops the last
//! point; Esc cancels. Points can also be typed as X (northing) / Y (easting).

use egui::{Color32, Key, Pos2, Shape, Stroke};
use geo_types::Coord;

use super::{paint_snap, AppCommand, Tool, ToolCx, ToolKind};
use crate::app::i18n::Lang;
use crate::model::ops::{draw_building, draw_parcel, next_parcel_code, parcel_at, split_parcel};
use crate::model::snap::{snap, Snap, SnapTarget};

/// What the drawn points make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrawKind {
    /// A parcel (closed ring).
    Parcel,
    /// A building footprint (closed ring).
    Building,
    /// A split line (open).
    Split,
}

/// Drawing state.
pub struct DrawTool {
    kind: DrawKind,
    /// Points so far (snapped).
    pub vertices: Vec<Snap>,
    typed_x: String,
    typed_y: String,
    typed: Option<Coord<f64>>,
}

impl DrawTool {
    /// A tool drawing `kind`.
    pub fn new(kind: DrawKind) -> Self {
        Self { kind, vertices: Vec::new(), typed_x: String::new(), typed_y: String::new(), typed: None }
    }

    fn finish(&mut self, cx: &mut ToolCx<'_>) {
        let ed = cx.editor;
        let result = match self.kind {
            DrawKind::Parcel => {
                // The new code continues the neighbour's sub-district numbering.
                let like = self
                    .vertices
                    .iter()
                    .find_map(|v| match v.target {
                        SnapTarget::Edge { parcel, .. } => ed.doc().parcels.get(&parcel).map(|p| p.zddm.clone()),
                        SnapTarget::Point(id) => {
                            ed.index().users(id).first().and_then(|p| ed.doc().parcels.get(p)).map(|p| p.zddm.clone())
                        }
                        SnapTarget::Free => None,
                    })
                    .unwrap_or_else(|| cx.code_prefix.to_owned());
                let code = next_parcel_code(ed.doc(), &like);
                draw_parcel(ed.doc(), ed.index(), &self.vertices, code, Default::default())
            }
            DrawKind::Building => {
                let cs: Vec<Coord<f64>> = self.vertices.iter().map(|v| v.at).collect();
                draw_building(ed.doc(), ed.index(), &cs)
            }
            DrawKind::Split => {
                let line: Vec<Coord<f64>> = self.vertices.iter().map(|v| v.at).collect();
                let target = if cx.selection.len() == 1 {
                    cx.selection.iter().next().copied()
                } else {
                    line.windows(2).find_map(|w| {
                        let mid = Coord { x: (w[0].x + w[1].x) / 2.0, y: (w[0].y + w[1].y) / 2.0 };
                        parcel_at(ed.doc(), ed.index(), mid)
                    })
                };
                match target {
                    Some(p) => split_parcel(ed.doc(), ed.index(), p, &line, None),
                    None => {
                        Err(crate::model::EditError::Invalid("draw the line across a parcel / 分割线应穿过宗地".into()))
                    }
                }
            }
        };
        match result {
            Ok(cmd) => cx.out.push(AppCommand::Edit(cmd)),
            Err(e) => cx.out.push(AppCommand::Message(e.to_string())),
        }
        self.vertices.clear();
    }

    fn closes_on(&self, s: &Snap, t: &crate::app::view::ViewTransform, snap_px: f32) -> bool {
        self.kind != DrawKind::Split
            && self.vertices.len() >= 3
            && self.vertices.first().is_some_and(|f| (t.to_screen(f.at) - t.to_screen(s.at)).length() <= snap_px)
    }
}

impl Tool for DrawTool {
    fn kind(&self) -> ToolKind {
        match self.kind {
            DrawKind::Parcel => ToolKind::DrawParcel,
            DrawKind::Building => ToolKind::DrawBuilding,
            DrawKind::Split => ToolKind::Split,
        }
    }

    fn on_canvas(&mut self, ui: &mut egui::Ui, cx: &mut ToolCx<'_>) {
        let tol = cx.t.metres(cx.snap_px);
        let ed = cx.editor;
        let hover = cx.response.hover_pos().map(|p| snap(ed.doc(), ed.index(), cx.t.to_world(p), tol, &[]));
        if let Some(at) = self.typed.take() {
            let s = snap(ed.doc(), ed.index(), at, 0.0005, &[]);
            self.vertices.push(if matches!(s.target, SnapTarget::Free) {
                Snap { at, target: SnapTarget::Free }
            } else {
                s
            });
        }
        if cx.response.clicked() {
            if let Some(s) =
                cx.response.interact_pointer_pos().map(|p| snap(ed.doc(), ed.index(), cx.t.to_world(p), tol, &[]))
            {
                if self.closes_on(&s, cx.t, cx.snap_px) {
                    self.finish(cx);
                    return;
                }
                self.vertices.push(s);
            }
        }
        let (enter, backspace, escape) =
            ui.input(|i| (i.key_pressed(Key::Enter), i.key_pressed(Key::Backspace), i.key_pressed(Key::Escape)));
        let text_focus = ui.ctx().memory(|m| m.focused().is_some());
        if !text_focus {
            if enter && self.vertices.len() >= 2 {
                self.finish(cx);
                return;
            }
            if backspace {
                self.vertices.pop();
            }
            if escape {
                self.vertices.clear();
            }
        }
        // Rubber band.
        let mut pts: Vec<Pos2> = self.vertices.iter().map(|v| cx.t.to_screen(v.at)).collect();
        if let Some(h) = &hover {
            pts.push(cx.t.to_screen(h.at));
            paint_snap(cx.painter, cx.t, h);
        }
        let color =
            if self.kind == DrawKind::Split { Color32::from_rgb(220, 0, 0) } else { Color32::from_rgb(0, 120, 255) };
        if pts.len() >= 2 {
            cx.painter.add(Shape::line(pts.clone(), Stroke::new(2.0, color)));
        }
        for p in pts.iter().take(self.vertices.len()) {
            cx.painter.circle_filled(*p, 3.5, color);
        }
    }

    fn options_ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        // Labelled fields: screen readers (and the tests) find them by their label.
        let l = ui.label(lang.t("输入坐标 X(北):", "Type X (north):"));
        ui.add(egui::TextEdit::singleline(&mut self.typed_x).desired_width(110.0).id_salt("typed-x")).labelled_by(l.id);
        let l = ui.label(lang.t("Y(东):", "Y (east):"));
        ui.add(egui::TextEdit::singleline(&mut self.typed_y).desired_width(110.0).id_salt("typed-y")).labelled_by(l.id);
        let parsed = (self.typed_x.trim().parse::<f64>(), self.typed_y.trim().parse::<f64>());
        let ok = matches!(parsed, (Ok(x), Ok(y)) if x.is_finite() && y.is_finite());
        if ui.add_enabled(ok, egui::Button::new(lang.t("加点", "Add point"))).clicked() {
            if let (Ok(north), Ok(east)) = parsed {
                // X is the northing, Y the easting (Chinese survey order).
                self.typed = Some(Coord { x: east, y: north });
                self.typed_x.clear();
                self.typed_y.clear();
            }
        }
        if !self.vertices.is_empty() {
            ui.label(format!("{} {}", self.vertices.len(), lang.t("点", "points")));
        }
    }

    fn cancel(&mut self) {
        self.vertices.clear();
    }
}
