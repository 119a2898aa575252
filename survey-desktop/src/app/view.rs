//! The map view: centre and scale in f64, and the world ↔ screen transform.
//!
//! egui works in f32, which cannot hold a Gauss-Krüger easting to the millimetre
//! (39 512 345.678 m becomes 39 512 344.0). Geometry stays f64; the transform
//! subtracts the view centre in f64 first and hands egui's `RectTransform` only the
//! small local offsets.

use egui::emath::RectTransform;
use egui::{pos2, Pos2, Rect};
use geo_types::Coord;
use serde::{Deserialize, Serialize};

/// Where the map looks: centre (x = easting, y = northing) and pixels per metre.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MapView {
    /// View centre in project coordinates.
    pub center: [f64; 2],
    /// Screen points per metre.
    pub scale: f64,
}

impl Default for MapView {
    fn default() -> Self {
        Self { center: [0.0, 0.0], scale: 1.0 }
    }
}

/// Smallest and largest zoom: a whole province to a few millimetres per point.
pub const MIN_SCALE: f64 = 1e-4;
/// Largest zoom.
pub const MAX_SCALE: f64 = 2_000.0;

impl MapView {
    /// Fit a world box into a screen rect (with a margin).
    pub fn fit(&mut self, min: [f64; 2], max: [f64; 2], screen: Rect) {
        let w = (max[0] - min[0]).max(1e-3);
        let h = (max[1] - min[1]).max(1e-3);
        self.center = [(min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0];
        let sx = f64::from(screen.width()) / w;
        let sy = f64::from(screen.height()) / h;
        self.scale = (sx.min(sy) * 0.9).clamp(MIN_SCALE, MAX_SCALE);
    }

    /// Zoom by `factor` keeping the world point under `anchor` fixed on screen.
    pub fn zoom_at(&mut self, factor: f64, anchor: Pos2, screen: Rect) {
        let t = ViewTransform::new(*self, screen);
        let w = t.to_world(anchor);
        let new_scale = (self.scale * factor).clamp(MIN_SCALE, MAX_SCALE);
        let k = self.scale / new_scale;
        self.center = [w.x + (self.center[0] - w.x) * k, w.y + (self.center[1] - w.y) * k];
        self.scale = new_scale;
    }

    /// Pan by a screen delta (drag): the map follows the pointer.
    pub fn pan_pixels(&mut self, dx: f32, dy: f32) {
        self.center[0] -= f64::from(dx) / self.scale;
        self.center[1] += f64::from(dy) / self.scale;
    }
}

/// World ↔ screen for one frame.
#[derive(Debug, Clone, Copy)]
pub struct ViewTransform {
    origin: [f64; 2],
    to_screen: RectTransform,
    scale: f64,
    screen: Rect,
}

impl ViewTransform {
    /// The transform for a view drawn into `screen`.
    pub fn new(view: MapView, screen: Rect) -> Self {
        let (hw, hh) = (f64::from(screen.width()) / 2.0 / view.scale, f64::from(screen.height()) / 2.0 / view.scale);
        // Local metres around the centre; north up, so the y range is flipped.
        let local = Rect::from_min_max(pos2(-hw as f32, hh as f32), pos2(hw as f32, -hh as f32));
        Self { origin: view.center, to_screen: RectTransform::from_to(local, screen), scale: view.scale, screen }
    }

    /// Screen position of a world coordinate.
    #[inline]
    pub fn to_screen(&self, c: Coord<f64>) -> Pos2 {
        // Direct form of the RectTransform (identical result, no per-point f32 offset loss).
        let s = self.screen.center();
        pos2(s.x + ((c.x - self.origin[0]) * self.scale) as f32, s.y - ((c.y - self.origin[1]) * self.scale) as f32)
    }

    /// World coordinate under a screen position.
    pub fn to_world(&self, p: Pos2) -> Coord<f64> {
        let local = self.to_screen.inverse().transform_pos(p);
        Coord { x: self.origin[0] + f64::from(local.x), y: self.origin[1] + f64::from(local.y) }
    }

    /// Screen points per metre.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The screen rect.
    pub fn screen(&self) -> Rect {
        self.screen
    }

    /// World bounds of the screen, `(min, max)`.
    pub fn world_bounds(&self) -> ([f64; 2], [f64; 2]) {
        let a = self.to_world(self.screen.left_bottom());
        let b = self.to_world(self.screen.right_top());
        ([a.x.min(b.x), a.y.min(b.y)], [a.x.max(b.x), a.y.max(b.y)])
    }

    /// Metres for a distance in screen points.
    pub fn metres(&self, points: f32) -> f64 {
        f64::from(points) / self.scale
    }
}

/// A "nice" scale-bar length (1, 2 or 5 × 10ⁿ metres) no longer than `max_metres`.
pub fn nice_length(max_metres: f64) -> f64 {
    if max_metres <= 0.0 || !max_metres.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(max_metres.log10().floor());
    [5.0, 2.0, 1.0].into_iter().map(|m| m * p).find(|&l| l <= max_metres).unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_millimetres_at_gauss_kruger_coordinates() {
        let view = MapView { center: [39_512_345.678, 3_350_123.456], scale: 50.0 };
        let t = ViewTransform::new(view, Rect::from_min_size(pos2(0.0, 0.0), egui::vec2(800.0, 600.0)));
        let c = Coord { x: 39_512_346.001, y: 3_350_124.002 };
        let back = t.to_world(t.to_screen(c));
        assert!((back.x - c.x).abs() < 1e-3 && (back.y - c.y).abs() < 1e-3, "{back:?}");
        // North is up.
        assert!(t.to_screen(Coord { x: c.x, y: c.y + 1.0 }).y < t.to_screen(c).y);
    }

    #[test]
    fn zoom_keeps_the_anchor_and_scale_bar_is_nice() {
        let screen = Rect::from_min_size(pos2(0.0, 0.0), egui::vec2(800.0, 600.0));
        let mut view = MapView { center: [500_000.0, 3_000_000.0], scale: 1.0 };
        let anchor = pos2(100.0, 100.0);
        let before = ViewTransform::new(view, screen).to_world(anchor);
        view.zoom_at(2.0, anchor, screen);
        let after = ViewTransform::new(view, screen).to_world(anchor);
        assert!((before.x - after.x).abs() < 1e-3 && (before.y - after.y).abs() < 1e-3);
        assert_eq!(nice_length(730.0), 500.0);
        assert_eq!(nice_length(1.9), 1.0);
    }
}
