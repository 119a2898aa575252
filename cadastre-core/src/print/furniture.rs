//! Map furniture shared by the sheets: north arrow, scale bar, tables, frame.

use super::canvas::{Anchor, Canvas, Pen};

/// A north arrow with its tip at (x, y + size), turned by `angle` degrees
/// counter-clockwise (0: north is up the page).
pub fn north_arrow(c: &mut Canvas<'_, '_>, x: f64, y: f64, size: f64, angle: f64) {
    let (s, co) = angle.to_radians().sin_cos();
    // local (u along east, v along north) → page
    let at = |u: f64, v: f64| (x + co * u - s * v, y + s * u + co * v);
    let tip = at(0.0, size);
    let left = at(-size * 0.3, 0.0);
    let right = at(size * 0.3, 0.0);
    let notch = at(0.0, size * 0.3);
    c.fill(&[vec![tip, notch, right]], 0);
    c.ring(&[tip, left, notch, right], Pen::black(0.25));
    let label = at(0.0, size + size * 0.35);
    c.text_mid(label.0, label.1, size * 0.4, "北", angle);
}

/// A nice scale-bar length in metres: about `target_mm` long at 1:`scale`.
pub fn bar_length(scale: u32, target_mm: f64) -> f64 {
    let per_mm = f64::from(scale) / 1000.0;
    let want = target_mm * per_mm;
    let mut best = 1.0;
    for m in [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0] {
        if m <= want {
            best = m;
        }
    }
    best
}

fn metres(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// A scale bar from (x, y) to the right, four alternating segments, with the
/// numeric scale under it.
pub fn scale_bar(c: &mut Canvas<'_, '_>, x: f64, y: f64, scale: u32, target_mm: f64) {
    let m = bar_length(scale, target_mm);
    let len = m * 1000.0 / f64::from(scale);
    let h = 1.2;
    for k in 0..4 {
        let x0 = x + len * f64::from(k) / 4.0;
        let w = len / 4.0;
        if k % 2 == 0 {
            c.fill(&[vec![(x0, y), (x0 + w, y), (x0 + w, y + h), (x0, y + h)]], 0);
        }
    }
    c.rect(x, y, len, h, Pen::black(0.2));
    c.text(x, y + h + 1.0, 2.2, "0", Anchor::Centre, 0.0);
    c.text(x + len, y + h + 1.0, 2.2, &format!("{} m", metres(m)), Anchor::Centre, 0.0);
    c.text(x + len / 2.0, y - 3.2, 2.8, &format!("1:{scale}"), Anchor::Centre, 0.0);
}

/// How a table is set: row height and text size in mm, whether the first
/// row is a shaded header.
#[derive(Debug, Clone, Copy)]
pub struct TableStyle {
    /// Row height, mm.
    pub row_h: f64,
    /// Text size, mm.
    pub size: f64,
    /// Shade the first row.
    pub header: bool,
}

/// A table of text cells with ruled lines. `top` is the upper edge; returns
/// the lower edge. Column widths in mm.
pub fn table(c: &mut Canvas<'_, '_>, x: f64, top: f64, widths: &[f64], rows: &[Vec<String>], style: TableStyle) -> f64 {
    let TableStyle { row_h, size, header } = style;
    let total: f64 = widths.iter().sum();
    let bottom = top - row_h * rows.len() as f64;
    if header && !rows.is_empty() {
        c.fill(&[vec![(x, top), (x + total, top), (x + total, top - row_h), (x, top - row_h)]], 230);
    }
    for (i, row) in rows.iter().enumerate() {
        let y = top - row_h * (i as f64 + 1.0);
        let mut cx = x;
        for (w, cell) in widths.iter().zip(row) {
            let fitted = shrink_to(c, cell, size, w - 1.6);
            c.text_mid(cx + w / 2.0, y + row_h / 2.0, fitted, cell, 0.0);
            cx += w;
        }
        c.line(&[(x, y), (x + total, y)], Pen::black(0.15));
    }
    c.rect(x, bottom, total, top - bottom, Pen::black(0.3));
    let mut cx = x;
    for w in &widths[..widths.len().saturating_sub(1)] {
        cx += w;
        c.line(&[(cx, top), (cx, bottom)], Pen::black(0.15));
    }
    bottom
}

/// A label-value grid: pairs of (label, value) cells per row; a row with one
/// pair spans the full width.
pub fn form(c: &mut Canvas<'_, '_>, x: f64, top: f64, width: f64, rows: &[Vec<(&str, String)>], row_h: f64) -> f64 {
    let label_w = 22.0;
    let mut y = top;
    for row in rows {
        let cell = width / row.len().max(1) as f64;
        for (k, (label, value)) in row.iter().enumerate() {
            let x0 = x + cell * k as f64;
            c.fill(&[vec![(x0, y), (x0 + label_w, y), (x0 + label_w, y - row_h), (x0, y - row_h)]], 235);
            c.text_mid(x0 + label_w / 2.0, y - row_h / 2.0, 3.0, label, 0.0);
            let room = cell - label_w - 3.0;
            let size = shrink_to(c, value, 3.0, room);
            c.text(x0 + label_w + 1.5, y - row_h / 2.0 - 0.35 * size, size, value, Anchor::Left, 0.0);
            c.line(&[(x0 + label_w, y), (x0 + label_w, y - row_h)], Pen::black(0.15));
            if k > 0 {
                c.line(&[(x0, y), (x0, y - row_h)], Pen::black(0.15));
            }
        }
        y -= row_h;
        c.line(&[(x, y), (x + width, y)], Pen::black(0.15));
    }
    c.rect(x, y, width, top - y, Pen::black(0.3));
    y
}

/// The largest size ≤ `size` at which `text` fits `room` mm (down to 60 %).
pub fn shrink_to(c: &Canvas<'_, '_>, text: &str, size: f64, room: f64) -> f64 {
    let w = c.text_width(text, size);
    if w <= room || w <= 0.0 {
        size
    } else {
        (size * room / w).max(size * 0.6)
    }
}

/// A label inside a shape of page extent `w` × `h` mm centred at (x, y):
/// turned upright along the shape when it is tall and the text does not fit
/// across, and shrunk to fit along.
pub fn fitted_label(c: &mut Canvas<'_, '_>, x: f64, y: f64, w: f64, h: f64, text: &str, size: f64) {
    let across = c.text_width(text, size);
    let turn = h > w && across > w - 1.0;
    let room = if turn { h - 1.0 } else { w - 1.0 };
    let s = shrink_to(c, text, size, room);
    c.text_mid(x, y, s, text, if turn { 90.0 } else { 0.0 });
}
