//! The map canvas: input for pan and zoom, drawing layers, selection, findings,
//! the active tool's overlay, labels, a scale bar and the cursor position.

use egui::{pos2, vec2, Align2, Color32, FontId, Key, Rect, Sense, Shape, Stroke};
use geo_types::Coord;

use super::render::stroke_ring;
use super::tools::ToolCx;
use super::view::{nice_length, ViewTransform};
use super::App;

/// Survey zoom: boundary point numbers from this many points per metre.
const POINT_LABEL_SCALE: f64 = 4.0;

impl App {
    /// The last canvas rect (for zoom commands issued from panels).
    pub fn canvas_rect(&self) -> Rect {
        self.last_canvas
    }

    /// Screen position of a world coordinate in the last drawn canvas (tests).
    pub fn world_to_screen(&self, c: Coord<f64>) -> egui::Pos2 {
        ViewTransform::new(self.state.view, self.last_canvas).to_screen(c)
    }

    pub(super) fn canvas(&mut self, ui: &mut egui::Ui) {
        let size = ui.available_size();
        let (response, painter) = ui.allocate_painter(size, Sense::click_and_drag());
        let rect = response.rect;
        self.last_canvas = rect;
        if self.startup.fit_pending && rect.width() > 10.0 {
            self.startup.fit_pending = false;
            if let Some((lo, hi)) = self.editor.index().extent() {
                self.state.view.fit(lo, hi, rect);
            }
            if let Some(code) = self.startup.select.take() {
                match self.editor.doc().parcel_by_code(&code) {
                    Some(id) => {
                        self.state.selection = [id].into_iter().collect();
                        if let Some((lo, hi)) = self.editor.index().parcel_bbox(id) {
                            // The parcel with its neighbours around it.
                            let (w, h) = ((hi[0] - lo[0]) * 1.5, (hi[1] - lo[1]) * 1.5);
                            self.state.view.fit([lo[0] - w, lo[1] - h], [hi[0] + w, hi[1] + h], rect);
                        }
                    }
                    None => self.status = format!("{code}: {}", self.state.lang.t("未找到该宗地", "no such parcel")),
                }
            }
        }
        self.navigate(ui, &response, rect);
        let t = ViewTransform::new(self.state.view, rect);
        self.cursor = response.hover_pos().map(|p| t.to_world(p));
        painter.rect_filled(rect, 0.0, Color32::from_rgb(246, 246, 240));
        self.renderer.paint(&painter, &t, &self.editor, &self.state.layers);
        self.paint_context_layers(&painter, &t);
        self.paint_selection(&painter, &t);
        self.paint_findings(&painter, &t);
        self.paint_returned(&painter, &t);
        if self.state.layers.labels {
            self.renderer.paint_labels(&painter, &t, &self.editor, &self.state.selection);
            self.paint_point_numbers(&painter, &t);
        }
        {
            let mut out = Vec::new();
            let mut cx = ToolCx {
                response: &response,
                painter: &painter,
                t: &t,
                editor: &self.editor,
                selection: &self.state.selection,
                snap_px: self.state.snap_px,
                code_prefix: &self.state.code_prefix,
                lang: self.state.lang,
                out: &mut out,
            };
            self.tools.get(self.state.tool).on_canvas(ui, &mut cx);
            self.commands.extend(out);
        }
        paint_scale_bar(&painter, &t);
        if self.renderer.raster.wants_more(&t, &self.editor) && !self.renderer.stats.vector {
            ui.ctx().request_repaint();
        }
    }

    /// Wheel zoom at the pointer, drag pan (unless the tool uses the drag), arrow keys.
    fn navigate(&mut self, ui: &egui::Ui, response: &egui::Response, rect: Rect) {
        let (scroll, zoom, modifiers, middle) =
            ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta(), i.modifiers, i.pointer.middle_down()));
        if response.hovered() {
            let factor = if zoom != 1.0 { f64::from(zoom) } else { (f64::from(scroll) / 200.0).exp() };
            if factor != 1.0 {
                if let Some(p) = response.hover_pos() {
                    self.state.view.zoom_at(factor, p, rect);
                }
            }
        }
        let tool_drag = self.tools.get(self.state.tool).claims_drag(modifiers);
        if response.dragged() && (middle || !tool_drag) {
            let d = response.drag_delta();
            self.state.view.pan_pixels(d.x, d.y);
        }
        let typing = ui.ctx().memory(|m| m.focused().is_some());
        if !typing {
            let step = 60.0;
            ui.input(|i| {
                let (mut dx, mut dy) = (0.0, 0.0);
                if i.key_pressed(Key::ArrowLeft) {
                    dx += step;
                }
                if i.key_pressed(Key::ArrowRight) {
                    dx -= step;
                }
                if i.key_pressed(Key::ArrowUp) {
                    dy += step;
                }
                if i.key_pressed(Key::ArrowDown) {
                    dy -= step;
                }
                if dx != 0.0 || dy != 0.0 {
                    self.state.view.pan_pixels(dx, dy);
                }
                if i.key_pressed(Key::Plus) || i.key_pressed(Key::Equals) {
                    self.state.view.zoom_at(1.5, rect.center(), rect);
                }
                if i.key_pressed(Key::Minus) {
                    self.state.view.zoom_at(1.0 / 1.5, rect.center(), rect);
                }
            });
        }
    }

    fn paint_context_layers(&self, painter: &egui::Painter, t: &ViewTransform) {
        let doc = self.editor.doc();
        let layers = &self.state.layers;
        for (style, geoms) in [
            (&layers.subdistricts, doc.subdistricts.iter().map(|s| &s.geometry).collect::<Vec<_>>()),
            (&layers.districts, doc.districts.iter().map(|d| &d.geometry).collect::<Vec<_>>()),
        ] {
            if !style.visible {
                continue;
            }
            for g in geoms {
                for p in &g.0 {
                    stroke_ring(painter, t, &p.exterior().0, style, style.width);
                }
            }
        }
        if layers.points.visible && self.renderer.stats.vector && t.scale() >= POINT_LABEL_SCALE / 2.0 {
            let (lo, hi) = t.world_bounds();
            let near = self.editor.index().points_near(
                Coord { x: (lo[0] + hi[0]) / 2.0, y: (lo[1] + hi[1]) / 2.0 },
                ((hi[0] - lo[0]).hypot(hi[1] - lo[1])) / 2.0,
            );
            if near.len() <= 5000 {
                for (id, _) in near {
                    if let Some(&c) = doc.points.get(&id) {
                        let p = t.to_screen(c);
                        painter.circle(p, 2.5, layers.points.fill, Stroke::new(1.0, layers.points.stroke));
                    }
                }
            }
        }
    }

    fn paint_selection(&self, painter: &egui::Painter, t: &ViewTransform) {
        let doc = self.editor.doc();
        let highlight = Color32::from_rgb(0, 90, 255);
        for id in self.state.selection.iter().take(5000) {
            if let Some(g) = doc.parcel_geometry(*id) {
                for p in &g.0 {
                    for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                        let pts = ring.0.iter().map(|&c| t.to_screen(c)).collect();
                        painter.add(Shape::closed_line(pts, Stroke::new(2.5, highlight)));
                    }
                }
            }
        }
        if let Some(b) = self.state.building.and_then(|b| doc.buildings.get(&b)) {
            for p in &b.footprint.0 {
                let pts = p.exterior().0.iter().map(|&c| t.to_screen(c)).collect();
                painter.add(Shape::closed_line(pts, Stroke::new(2.5, Color32::from_rgb(220, 0, 160))));
            }
        }
    }

    fn paint_findings(&self, painter: &egui::Painter, t: &ViewTransform) {
        if let Some(report) = &self.checks.report {
            for (i, f) in report.findings.iter().enumerate().take(20_000) {
                let p = t.to_screen(Coord { x: f.location[0], y: f.location[1] });
                if !t.screen().contains(p) {
                    continue;
                }
                let focused = self.checks.focused == Some(i);
                let r = if focused { 9.0 } else { 5.0 };
                painter.circle_stroke(
                    p,
                    r,
                    Stroke::new(if focused { 3.0 } else { 1.5 }, Color32::from_rgb(230, 30, 30)),
                );
            }
        }
        if let Some(plan) = &self.checks.plan {
            // Repair preview: before (red) → after (green).
            for c in &plan.changes {
                let a = t.to_screen(Coord { x: c.before[0], y: c.before[1] });
                painter.circle_stroke(a, 6.0, Stroke::new(2.0, Color32::from_rgb(230, 30, 30)));
                if let Some(after) = c.after {
                    let b = t.to_screen(Coord { x: after[0], y: after[1] });
                    painter.arrow(a, b - a, Stroke::new(2.0, Color32::from_rgb(0, 160, 60)));
                }
            }
        }
    }

    /// J1… numbers of the selected parcel(s), or of all visible ones at survey zoom.
    fn paint_point_numbers(&self, painter: &egui::Painter, t: &ViewTransform) {
        if t.scale() < POINT_LABEL_SCALE || !self.renderer.stats.vector {
            return;
        }
        let ids: Vec<_> = if self.state.selection.is_empty() {
            self.renderer.vector_parcels().iter().copied().take(60).collect()
        } else {
            self.state.selection.iter().copied().take(60).collect()
        };
        let doc = self.editor.doc();
        let geoms: Vec<_> = ids.iter().filter_map(|&id| doc.parcel_geometry(id)).collect();
        let refs: Vec<_> = geoms.iter().collect();
        let points = cadastre_core::boundary::BoundaryPoints::derive(&refs);
        let font = FontId::proportional(11.0);
        let mut seen = std::collections::HashSet::new();
        for n in cadastre_core::boundary::number_per_parcel(&points) {
            // A shared point is labelled once (by the first parcel that numbers it).
            if !seen.insert(n.point) {
                continue;
            }
            let p = t.to_screen(points.coord(n.point));
            if t.screen().contains(p) {
                painter.text(
                    p + vec2(4.0, -4.0),
                    Align2::LEFT_BOTTOM,
                    &n.jzdh,
                    font.clone(),
                    Color32::from_rgb(160, 0, 0),
                );
            }
        }
    }
}

/// A scale bar in the lower left corner.
fn paint_scale_bar(painter: &egui::Painter, t: &ViewTransform) {
    let r = t.screen();
    let len_m = nice_length(t.metres(150.0));
    let len_px = (len_m * t.scale()) as f32;
    let a = pos2(r.left() + 16.0, r.bottom() - 18.0);
    let b = a + vec2(len_px, 0.0);
    let stroke = Stroke::new(2.0, Color32::BLACK);
    painter.rect_filled(
        Rect::from_min_max(a - vec2(6.0, 18.0), b + vec2(6.0, 6.0)),
        2.0,
        Color32::from_white_alpha(200),
    );
    painter.line_segment([a, b], stroke);
    painter.line_segment([a, a - vec2(0.0, 6.0)], stroke);
    painter.line_segment([b, b - vec2(0.0, 6.0)], stroke);
    let text = if len_m >= 1000.0 { format!("{} km", len_m / 1000.0) } else { format!("{len_m} m") };
    painter.text(a + vec2(len_px / 2.0, -4.0), Align2::CENTER_BOTTOM, text, FontId::proportional(12.0), Color32::BLACK);
}
