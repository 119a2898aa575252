//! The floor canvas: a floor's outlines in local metres with the map's view
//! transform ([`MapView`], [`ViewTransform`]), drawing by clicked points that
//! snap to the floor's vertices and walls (as parcels snap to boundary points
//! and edges, [`closest_on_segment`]); free points are kept to the centimetre.
//! The selected outline shows vertex handles, as the parcel vertex tool does
//! (`app/tools/vertex.rs`): drag one to move the corner (snapped), double-click
//! a wall to insert one, Delete removes the active one. The canvas only
//! reports what the user did ([`CanvasEvent`]); the panel makes the edit.

use cadastre_core::floorplan::{FloorAreas, FloorPlanFloor, LocalPoint};
use egui::epaint::{Mesh, Vertex, WHITE_UV};
use egui::{Color32, Key, Pos2, Rect, Sense, Shape, Stroke, StrokeKind};
use geo_types::Coord;
use lyon_tessellation::math::point;
use lyon_tessellation::path::Path;
use lyon_tessellation::{BuffersBuilder, FillOptions, FillTessellator, FillVertex, VertexBuffers};

use crate::app::view::{MapView, ViewTransform};
use crate::model::snap::closest_on_segment;
use crate::model::units::FloorKey;

/// What the canvas did this frame.
#[derive(Debug, Clone, PartialEq)]
pub enum CanvasEvent {
    /// Nothing.
    None,
    /// A drawn ring was closed (≥ 3 points).
    Closed(Vec<LocalPoint>),
    /// A click outside drawing (pick the outline under it).
    Picked(LocalPoint),
    /// A corner of the selected outline was dragged from `.0` to `.1` (snapped).
    VertexMoved(LocalPoint, LocalPoint),
    /// A double-click on a wall of the selected outline: a corner there.
    VertexInserted(LocalPoint),
    /// Delete pressed with this corner active.
    VertexDeleted(LocalPoint),
}

/// What the canvas shows this frame.
pub struct CanvasInput<'a> {
    /// (building, floor): the view is fitted once per key.
    pub key: (String, FloorKey),
    /// The floor's plan, if drawn.
    pub floor: Option<&'a FloorPlanFloor>,
    /// Its areas, for the labels.
    pub areas: Option<&'a FloorAreas>,
    /// Whether clicks add points to a ring (else they pick and edit).
    pub drawing: bool,
    /// HH or shared id drawn highlighted.
    pub highlight: Option<&'a str>,
    /// Rings of the selected outline, which get vertex handles.
    pub editable: Vec<Vec<LocalPoint>>,
}

fn near(a: LocalPoint, b: LocalPoint, tol: f64) -> bool {
    (a[0] - b[0]).hypot(a[1] - b[1]) <= tol
}

/// Snap `at` to the floor's vertices, then its outline edges, within `tol`
/// metres; else round to the centimetre. Vertices at `skip` and the edges
/// touching it are left out (the corner being dragged must not snap to itself).
pub fn snap_local(
    floor: Option<&FloorPlanFloor>,
    drawn: &[LocalPoint],
    at: LocalPoint,
    tol: f64,
    skip: Option<LocalPoint>,
) -> LocalPoint {
    let skipped = |p: LocalPoint| skip.is_some_and(|s| near(p, s, 1e-9));
    let rings = paint_rings(floor);
    let d = |p: LocalPoint| (p[0] - at[0]).hypot(p[1] - at[1]);
    let vertex = rings
        .iter()
        .flat_map(|r| r.iter())
        .chain(drawn)
        .copied()
        .filter(|&p| !skipped(p) && d(p) <= tol)
        .min_by(|a, b| d(*a).total_cmp(&d(*b)));
    if let Some(v) = vertex {
        return v;
    }
    let c = |p: LocalPoint| Coord { x: p[0], y: p[1] };
    let mut best: Option<(f64, LocalPoint)> = None;
    for r in &rings {
        for k in 0..r.len() {
            let (a, b) = (r[k], r[(k + 1) % r.len()]);
            if skipped(a) || skipped(b) {
                continue;
            }
            let (foot, dist) = closest_on_segment(c(at), c(a), c(b));
            if dist <= tol && best.is_none_or(|(bd, _)| dist < bd) {
                best = Some((dist, [foot.x, foot.y]));
            }
        }
    }
    best.map_or([(at[0] * 100.0).round() / 100.0, (at[1] * 100.0).round() / 100.0], |(_, p)| p)
}

/// The closest point on the rings' edges within `tol`, if any.
pub fn on_edge(rings: &[Vec<LocalPoint>], at: LocalPoint, tol: f64) -> Option<LocalPoint> {
    let c = |p: LocalPoint| Coord { x: p[0], y: p[1] };
    let mut best: Option<(f64, LocalPoint)> = None;
    for r in rings {
        for k in 0..r.len() {
            let (foot, dist) = closest_on_segment(c(at), c(r[k]), c(r[(k + 1) % r.len()]));
            if dist <= tol && best.is_none_or(|(bd, _)| dist < bd) {
                best = Some((dist, [foot.x, foot.y]));
            }
        }
    }
    best.map(|(_, p)| p)
}

/// A filled polygon (any shape) as a mesh.
fn fill(points: &[Pos2], color: Color32) -> Mesh {
    let mut mesh = Mesh::default();
    let Some(first) = points.first() else { return mesh };
    let mut b = Path::builder();
    b.begin(point(first.x, first.y));
    for p in &points[1..] {
        b.line_to(point(p.x, p.y));
    }
    b.end(true);
    let mut buffers: VertexBuffers<[f32; 2], u32> = VertexBuffers::new();
    let ok = FillTessellator::new()
        .tessellate_path(
            &b.build(),
            &FillOptions::default(),
            &mut BuffersBuilder::new(&mut buffers, |v: FillVertex| v.position().to_array()),
        )
        .is_ok();
    if ok {
        mesh.vertices =
            buffers.vertices.iter().map(|v| Vertex { pos: Pos2::new(v[0], v[1]), uv: WHITE_UV, color }).collect();
        mesh.indices = buffers.indices;
    }
    mesh
}

/// The canvas state.
#[derive(Default)]
pub struct FloorCanvas {
    /// Where it looks (local metres).
    pub view: MapView,
    /// Points of the ring being drawn.
    pub drawn: Vec<LocalPoint>,
    /// The corner Delete acts on.
    pub active: Option<LocalPoint>,
    /// The corner being dragged: where it was, where the pointer is (local).
    dragging: Option<(LocalPoint, LocalPoint)>,
    fitted_for: Option<(String, FloorKey)>,
    last: Option<ViewTransform>,
}

impl FloorCanvas {
    /// Screen position of a local point in the last frame (tests click with it).
    pub fn to_screen(&self, p: LocalPoint) -> Option<Pos2> {
        self.last.map(|t| t.to_screen(Coord { x: p[0], y: p[1] }))
    }

    /// Forget the gesture in progress (another floor, another outline).
    pub fn reset_gesture(&mut self) {
        self.drawn.clear();
        self.active = None;
        self.dragging = None;
    }

    /// Fit the floor into the canvas once per (building, floor).
    fn fit(&mut self, key: (String, FloorKey), floor: Option<&FloorPlanFloor>, screen: Rect) {
        if self.fitted_for.as_ref() == Some(&key) {
            return;
        }
        self.fitted_for = Some(key);
        let pts: Vec<LocalPoint> = floor
            .map(|f| {
                f.households
                    .iter()
                    .flat_map(|h| h.outline.points().to_vec())
                    .chain(f.shared.iter().flat_map(|s| s.outline.points().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        let (mut lo, mut hi) = ([0.0f64, 0.0f64], [24.0f64, 16.0f64]);
        if let Some(p) = pts.first() {
            (lo, hi) = (*p, *p);
            for p in &pts {
                lo = [lo[0].min(p[0]), lo[1].min(p[1])];
                hi = [hi[0].max(p[0]), hi[1].max(p[1])];
            }
        }
        self.view.fit([lo[0] - 2.0, lo[1] - 2.0], [hi[0] + 2.0, hi[1] + 2.0], screen);
    }

    /// Draw the floor; handle pan, zoom, drawing, picking and vertex editing.
    pub fn ui(&mut self, ui: &mut egui::Ui, input: CanvasInput<'_>) -> CanvasEvent {
        // What is visible: a wide row above can make the available size larger than the clip.
        let visible = ui.clip_rect().max - ui.cursor().min;
        let size = ui.available_size().min(visible).max(egui::vec2(50.0, 50.0));
        let (response, painter) = ui.allocate_painter(size, Sense::click_and_drag());
        let screen = response.rect;
        painter.rect_filled(screen, 0.0, Color32::WHITE);
        self.fit(input.key.clone(), input.floor, screen);
        if response.dragged_by(egui::PointerButton::Secondary) || response.dragged_by(egui::PointerButton::Middle) {
            let d = response.drag_delta();
            self.view.pan_pixels(d.x, d.y);
        }
        if let Some(h) = response.hover_pos() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            if scroll != 0.0 {
                self.view.zoom_at((f64::from(scroll) / 200.0).exp(), h, screen);
            }
        }
        let t = ViewTransform::new(self.view, screen);
        self.last = Some(t);
        let px = |p: LocalPoint| t.to_screen(Coord { x: p[0], y: p[1] });
        self.paint_grid(&painter, &t);
        if let Some(f) = input.floor {
            paint_floor(&painter, f, input.areas, input.highlight, &px);
        }
        let tol = t.metres(10.0);
        if input.drawing {
            return self.drawing(ui, &response, &painter, &input, tol);
        }
        let mut event = self.handles(ui, &response, &painter, &input, tol);
        let world = |p: Pos2| {
            let w = t.to_world(p);
            [w.x, w.y]
        };
        if event == CanvasEvent::None && response.double_clicked() {
            let wall = response.interact_pointer_pos().and_then(|p| on_edge(&input.editable, world(p), tol));
            if let Some(at) = wall {
                event = CanvasEvent::VertexInserted(at);
            }
        }
        if event == CanvasEvent::None && response.clicked() {
            // A click on the selected outline's wall keeps it selected (the first half
            // of a double-click that inserts a corner).
            let at = response.interact_pointer_pos().map(world);
            if let Some(at) = at.filter(|a| on_edge(&input.editable, *a, tol).is_none()) {
                self.active = None;
                event = CanvasEvent::Picked(at);
            }
        }
        let delete = ui.input(|i| i.key_pressed(Key::Delete)) && ui.ctx().memory(|m| m.focused().is_none());
        if event == CanvasEvent::None && delete {
            if let Some(at) = self.active.take() {
                event = CanvasEvent::VertexDeleted(at);
            }
        }
        event
    }

    /// Clicks add snapped points; the first point or Enter closes the ring.
    fn drawing(
        &mut self,
        ui: &egui::Ui,
        response: &egui::Response,
        painter: &egui::Painter,
        input: &CanvasInput<'_>,
        tol: f64,
    ) -> CanvasEvent {
        let Some(t) = self.last else { return CanvasEvent::None };
        let px = |p: LocalPoint| t.to_screen(Coord { x: p[0], y: p[1] });
        let hover = response.hover_pos().map(|p| {
            let w = t.to_world(p);
            snap_local(input.floor, &self.drawn, [w.x, w.y], tol, None)
        });
        let mut event = CanvasEvent::None;
        if response.clicked() {
            let at = hover.or_else(|| {
                response.interact_pointer_pos().map(|p| {
                    let w = t.to_world(p);
                    [w.x, w.y]
                })
            });
            if let Some(at) = at {
                if self.drawn.len() >= 3 && self.drawn.first().is_some_and(|f| (px(*f) - px(at)).length() <= 10.0) {
                    event = CanvasEvent::Closed(std::mem::take(&mut self.drawn));
                } else {
                    self.drawn.push(at);
                }
            }
        }
        if !ui.ctx().memory(|m| m.focused().is_some()) {
            let (enter, back, esc) =
                ui.input(|i| (i.key_pressed(Key::Enter), i.key_pressed(Key::Backspace), i.key_pressed(Key::Escape)));
            if enter && self.drawn.len() >= 3 {
                event = CanvasEvent::Closed(std::mem::take(&mut self.drawn));
            }
            if back {
                self.drawn.pop();
            }
            if esc {
                self.drawn.clear();
            }
        }
        let blue = Color32::from_rgb(0, 120, 255);
        let mut pts: Vec<Pos2> = self.drawn.iter().map(|&p| px(p)).collect();
        if let Some(h) = hover {
            pts.push(px(h));
            paint_snap_marker(painter, px(h));
        }
        if pts.len() >= 2 {
            painter.add(Shape::line(pts.clone(), Stroke::new(2.0, blue)));
        }
        for p in pts.iter().take(self.drawn.len()) {
            painter.circle_filled(*p, 3.5, blue);
        }
        event
    }

    /// Handles on the selected outline's corners: drag moves (snapped, shown as a
    /// rubber band until released), a click makes a corner active for Delete.
    fn handles(
        &mut self,
        ui: &mut egui::Ui,
        response: &egui::Response,
        painter: &egui::Painter,
        input: &CanvasInput<'_>,
        tol: f64,
    ) -> CanvasEvent {
        let Some(t) = self.last else { return CanvasEvent::None };
        let px = |p: LocalPoint| t.to_screen(Coord { x: p[0], y: p[1] });
        let mut corners: Vec<LocalPoint> = Vec::new();
        for p in input.editable.iter().flatten() {
            if !corners.iter().any(|q| near(*q, *p, 1e-9)) {
                corners.push(*p);
            }
        }
        let mut event = CanvasEvent::None;
        let base = response.id.with("floor-vertex");
        for (i, &c) in corners.iter().enumerate() {
            let rect = Rect::from_center_size(px(c), egui::vec2(10.0, 10.0));
            let r = ui.interact(rect, base.with(i), Sense::click_and_drag());
            if r.clicked() || r.drag_started() {
                self.active = Some(c);
            }
            if r.dragged() {
                if let Some(p) = r.interact_pointer_pos() {
                    let w = t.to_world(p);
                    self.dragging = Some((c, [w.x, w.y]));
                }
            }
            if r.drag_stopped() {
                if let Some((from, to)) = self.dragging.take() {
                    let to = snap_local(input.floor, &[], to, tol, Some(from));
                    self.active = Some(to);
                    event = CanvasEvent::VertexMoved(from, to);
                }
            }
            let fill = if self.active.is_some_and(|a| near(a, c, 1e-9)) {
                Color32::from_rgb(255, 200, 0)
            } else {
                Color32::WHITE
            };
            painter.rect(
                rect.shrink(1.0),
                0.0,
                fill,
                Stroke::new(1.0, Color32::from_rgb(180, 0, 0)),
                StrokeKind::Middle,
            );
        }
        if let Some((from, to)) = self.dragging {
            let to = snap_local(input.floor, &[], to, tol, Some(from));
            paint_snap_marker(painter, px(to));
            for ring in paint_rings(input.floor) {
                if ring.iter().any(|p| near(*p, from, 1e-9)) {
                    let pts = ring.iter().map(|&p| px(if near(p, from, 1e-9) { to } else { p })).collect();
                    painter.add(Shape::closed_line(pts, Stroke::new(1.5, Color32::from_rgb(0, 120, 255))));
                }
            }
        }
        event
    }

    fn paint_grid(&self, painter: &egui::Painter, t: &ViewTransform) {
        let (lo, hi) = t.world_bounds();
        let step = crate::app::view::nice_length(t.metres(40.0)).max(0.5);
        let colour = Stroke::new(1.0, Color32::from_gray(232));
        let mut x = (lo[0] / step).floor() * step;
        while x <= hi[0] {
            painter.line_segment([t.to_screen(Coord { x, y: lo[1] }), t.to_screen(Coord { x, y: hi[1] })], colour);
            x += step;
        }
        let mut y = (lo[1] / step).floor() * step;
        while y <= hi[1] {
            painter.line_segment([t.to_screen(Coord { x: lo[0], y }), t.to_screen(Coord { x: hi[0], y })], colour);
            y += step;
        }
    }
}

fn paint_floor(
    painter: &egui::Painter,
    f: &FloorPlanFloor,
    areas: Option<&FloorAreas>,
    highlight: Option<&str>,
    px: &impl Fn(LocalPoint) -> Pos2,
) {
    let font = egui::FontId::proportional(13.0);
    let dark = Stroke::new(2.0, Color32::from_gray(40));
    for s in &f.shared {
        let pts: Vec<Pos2> = s.outline.points().iter().map(|&p| px(p)).collect();
        painter.add(fill(&pts, Color32::from_rgb(225, 225, 225)));
        painter.add(Shape::closed_line(pts.clone(), dark));
        let area = areas.and_then(|a| a.shared.iter().find(|x| x.id == s.id)).map_or(0.0, |a| a.area);
        let name = if s.name.is_empty() { s.kind.label() } else { s.name.as_str() };
        painter.text(
            centre(&pts),
            egui::Align2::CENTER_CENTER,
            format!("{name}\n{area:.2}"),
            font.clone(),
            Color32::from_gray(60),
        );
    }
    for h in &f.households {
        let pts: Vec<Pos2> = h.outline.points().iter().map(|&p| px(p)).collect();
        let colour = if highlight == Some(h.hh.as_str()) {
            Color32::from_rgb(200, 225, 255)
        } else {
            Color32::from_rgb(255, 248, 215)
        };
        painter.add(fill(&pts, colour));
        for b in &h.balconies {
            let bp: Vec<Pos2> = b.outline.points().iter().map(|&p| px(p)).collect();
            painter.add(fill(&bp, Color32::from_rgb(235, 245, 230)));
            painter.add(Shape::closed_line(bp, Stroke::new(1.0, Color32::from_gray(90))));
        }
        painter.add(Shape::closed_line(pts.clone(), dark));
        let inner = areas.and_then(|a| a.households.iter().find(|x| x.hh == h.hh)).map_or(0.0, |a| a.inner_area);
        painter.text(
            centre(&pts),
            egui::Align2::CENTER_CENTER,
            format!("{}\n套内 {inner:.2} m²", h.room),
            font.clone(),
            Color32::BLACK,
        );
    }
}

/// Every ring of a floor (households, balconies, shared spaces).
fn paint_rings(floor: Option<&FloorPlanFloor>) -> Vec<&[LocalPoint]> {
    let Some(f) = floor else { return Vec::new() };
    f.households
        .iter()
        .flat_map(|h| std::iter::once(h.outline.points()).chain(h.balconies.iter().map(|b| b.outline.points())))
        .chain(f.shared.iter().map(|s| s.outline.points()))
        .collect()
}

/// The snap marker (as on the map).
fn paint_snap_marker(painter: &egui::Painter, at: Pos2) {
    painter.rect_stroke(
        Rect::from_center_size(at, egui::vec2(10.0, 10.0)),
        0.0,
        Stroke::new(2.0, Color32::from_rgb(255, 0, 200)),
        egui::StrokeKind::Middle,
    );
}

fn centre(pts: &[Pos2]) -> Pos2 {
    let n = pts.len().max(1) as f32;
    let s = pts.iter().fold(egui::Vec2::ZERO, |acc, p| acc + p.to_vec2());
    (s / n).to_pos2()
}
