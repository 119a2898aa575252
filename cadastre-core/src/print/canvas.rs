//! A drawing surface in millimetres with the origin at the page's lower-left
//! corner and y upwards (as on a map), over a krilla page (points, y down).

use super::font::PrintFont;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, FillRule, LineCap, LineJoin, Stroke, StrokeDash};
use krilla::surface::Surface;
use krilla::text::TextDirection;

/// Points per millimetre (72 pt per inch).
pub const PT_PER_MM: f64 = 72.0 / 25.4;

/// Horizontal anchor of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The text starts at the point.
    Left,
    /// The text is centred on the point.
    Centre,
    /// The text ends at the point.
    Right,
}

/// A line style.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pen {
    /// Width, mm.
    pub width: f64,
    /// Grey level 0 (black) … 255 (white).
    pub grey: u8,
    /// Dash and gap, mm.
    pub dash: Option<(f64, f64)>,
}

impl Pen {
    /// A solid black pen.
    pub const fn black(width: f64) -> Self {
        Pen { width, grey: 0, dash: None }
    }

    /// A solid grey pen.
    pub const fn grey(width: f64, grey: u8) -> Self {
        Pen { width, grey, dash: None }
    }
}

/// One page being drawn.
pub struct Canvas<'a, 'p> {
    surface: Surface<'p>,
    font: &'a PrintFont,
    height_mm: f64,
}

fn pt(v: f64) -> f32 {
    (v * PT_PER_MM) as f32
}

impl<'a, 'p> Canvas<'a, 'p> {
    /// Wraps a page's surface; `height_mm` is the page height.
    pub fn new(surface: Surface<'p>, font: &'a PrintFont, height_mm: f64) -> Self {
        Canvas { surface, font, height_mm }
    }

    /// Ends drawing.
    pub fn finish(self) {
        self.surface.finish();
    }

    fn point(&self, x: f64, y: f64) -> (f32, f32) {
        (pt(x), pt(self.height_mm - y))
    }

    fn path(&self, pts: &[(f64, f64)], close: bool) -> Option<krilla::geom::Path> {
        let mut pb = PathBuilder::new();
        let (first, rest) = pts.split_first()?;
        let (x, y) = self.point(first.0, first.1);
        pb.move_to(x, y);
        for p in rest {
            let (x, y) = self.point(p.0, p.1);
            pb.line_to(x, y);
        }
        if close {
            pb.close();
        }
        pb.finish()
    }

    fn stroke_with(&mut self, pen: Pen) {
        self.surface.set_fill(None);
        self.surface.set_stroke(Some(Stroke {
            paint: rgb::Color::new(pen.grey, pen.grey, pen.grey).into(),
            width: pt(pen.width),
            line_cap: LineCap::Butt,
            line_join: LineJoin::Miter,
            dash: pen.dash.map(|(on, off)| StrokeDash { array: vec![pt(on), pt(off)], offset: 0.0 }),
            ..Stroke::default()
        }));
    }

    fn fill_with(&mut self, grey: u8) {
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(Fill {
            paint: rgb::Color::new(grey, grey, grey).into(),
            opacity: NormalizedF32::ONE,
            rule: FillRule::EvenOdd,
        }));
    }

    /// An open polyline.
    pub fn line(&mut self, pts: &[(f64, f64)], pen: Pen) {
        if let Some(p) = self.path(pts, false) {
            self.stroke_with(pen);
            self.surface.draw_path(&p);
        }
    }

    /// A closed outline.
    pub fn ring(&mut self, pts: &[(f64, f64)], pen: Pen) {
        if let Some(p) = self.path(pts, true) {
            self.stroke_with(pen);
            self.surface.draw_path(&p);
        }
    }

    /// Filled rings (even-odd: later rings cut holes).
    pub fn fill(&mut self, rings: &[Vec<(f64, f64)>], grey: u8) {
        let mut pb = PathBuilder::new();
        for r in rings {
            let Some((first, rest)) = r.split_first() else { continue };
            let (x, y) = self.point(first.0, first.1);
            pb.move_to(x, y);
            for p in rest {
                let (x, y) = self.point(p.0, p.1);
                pb.line_to(x, y);
            }
            pb.close();
        }
        if let Some(p) = pb.finish() {
            self.fill_with(grey);
            self.surface.draw_path(&p);
        }
    }

    /// A rectangle outline from its lower-left corner.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, pen: Pen) {
        self.ring(&[(x, y), (x + w, y), (x + w, y + h), (x, y + h)], pen);
    }

    /// A small filled circle (boundary-point mark), radius in mm.
    pub fn dot(&mut self, x: f64, y: f64, r: f64, grey: u8) {
        // 8-gon: a point mark, not geometry.
        let pts: Vec<(f64, f64)> = (0..8)
            .map(|k| {
                let a = f64::from(k) * std::f64::consts::FRAC_PI_4;
                (x + r * a.cos(), y + r * a.sin())
            })
            .collect();
        self.fill(&[pts], grey);
    }

    /// Clips what follows to a rectangle until [`Canvas::pop`].
    pub fn push_clip(&mut self, x: f64, y: f64, w: f64, h: f64) {
        let (l, t) = self.point(x, y + h);
        if let Some(r) = Rect::from_xywh(l, t, pt(w), pt(h)) {
            let mut pb = PathBuilder::new();
            pb.push_rect(r);
            if let Some(p) = pb.finish() {
                self.surface.push_clip_path(&p, &FillRule::NonZero);
                return;
            }
        }
        // keep push/pop balanced even for a degenerate clip
        self.surface.push_opacity(NormalizedF32::ONE);
    }

    /// Ends the last clip.
    pub fn pop(&mut self) {
        self.surface.pop();
    }

    /// Width of a text at `size` mm.
    pub fn text_width(&self, text: &str, size: f64) -> f64 {
        f64::from(self.font.width(text, size as f32))
    }

    /// Text with its baseline at `y`, `size` mm high (the em), turned by `angle`
    /// degrees counter-clockwise about the anchor point.
    pub fn text(&mut self, x: f64, y: f64, size: f64, text: &str, anchor: Anchor, angle: f64) {
        if text.is_empty() {
            return;
        }
        let w = self.text_width(text, size);
        let dx = match anchor {
            Anchor::Left => 0.0,
            Anchor::Centre => -w / 2.0,
            Anchor::Right => -w,
        };
        let (px, py) = self.point(x, y);
        let turned = angle.abs() > 1e-9;
        if turned {
            // y is down on the page, so counter-clockwise is a negative angle there.
            self.surface.push_transform(&Transform::from_rotate_at(-angle as f32, px, py));
        }
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(Fill::default()));
        self.surface.draw_text(
            Point::from_xy(px + pt(dx), py),
            self.font.font.clone(),
            pt(size),
            text,
            false,
            TextDirection::Auto,
        );
        if turned {
            self.surface.pop();
        }
    }

    /// Text centred on (x, y) vertically too (baseline 0.35 em below the centre).
    pub fn text_mid(&mut self, x: f64, y: f64, size: f64, text: &str, angle: f64) {
        let (s, c) = angle.to_radians().sin_cos();
        let d = 0.35 * size;
        self.text(x + s * d, y - c * d, size, text, Anchor::Centre, angle);
    }
}
