//! The 房屋面积分摊计算表 as a vector PDF on A4: the tables of
//! [`crate::apportion::sheet`], broken over pages with the header row repeated,
//! then the residual notes and the signature line.

use super::canvas::{Anchor, Canvas};
use super::furniture::{table, TableStyle};
use super::{document, finish, page_settings, Paper, PrintError, PrintFont, SheetOptions};
use crate::apportion::sheet::{method_text, residual_notes, tables, SHEET_TITLE};
use crate::apportion::Apportionment;

const MARGIN: f64 = 15.0;
const ROW_H: f64 = 6.0;
const TEXT: f64 = 2.6;
const NOTE: f64 = 2.8;

/// One thing placed on a page (a layout pass first, so pages are known before drawing).
enum Item {
    Text { y: f64, size: f64, text: String, centre: bool },
    Table { top: f64, widths: Vec<f64>, rows: Vec<Vec<String>> },
}

/// Column widths: each column's widest text plus padding, scaled to the width of the page.
fn widths(font: &PrintFont, header: &[&str], rows: &[Vec<String>], room: f64) -> Vec<f64> {
    let mut w: Vec<f64> = header.iter().map(|h| f64::from(font.width(h, TEXT as f32)) + 3.0).collect();
    for r in rows {
        for (k, cell) in r.iter().enumerate() {
            if let Some(slot) = w.get_mut(k) {
                *slot = slot.max(f64::from(font.width(cell, TEXT as f32)) + 3.0);
            }
        }
    }
    let total: f64 = w.iter().sum();
    w.iter().map(|x| x * room / total.max(1e-9)).collect()
}

/// Lines of at most `room` mm at `size`, broken between characters (Chinese has no spaces).
fn wrap(font: &PrintFont, text: &str, size: f64, room: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for ch in text.chars() {
        let mut next = line.clone();
        next.push(ch);
        if !line.is_empty() && f64::from(font.width(&next, size as f32)) > room {
            lines.push(std::mem::take(&mut line));
            line.push(ch);
        } else {
            line = next;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Places every item on pages of height `h`.
fn layout(a: &Apportionment, font: &PrintFont, w: f64, h: f64) -> Vec<Vec<Item>> {
    let room = w - 2.0 * MARGIN;
    let mut pages: Vec<Vec<Item>> = vec![Vec::new()];
    let mut y = h - MARGIN - 8.0;
    let text = |pages: &mut Vec<Vec<Item>>, y: f64, size: f64, text: String, centre: bool| {
        if let Some(p) = pages.last_mut() {
            p.push(Item::Text { y, size, text, centre });
        }
    };
    text(&mut pages, y, 7.0, SHEET_TITLE.to_owned(), true);
    y -= 8.0;
    text(&mut pages, y, 3.0, format!("幢号 Building：{}　分摊方法：{}", a.building, method_text(a.method)), true);
    y -= 8.0;
    for t in tables(a) {
        let rows: Vec<Vec<String>> = t.rows.iter().map(|r| r.iter().map(|c| c.display()).collect()).collect();
        let header: Vec<String> = t.header.iter().map(|s| (*s).to_owned()).collect();
        let widths = widths(font, &t.header, &rows, room);
        // The heading stays with at least the header row and one row.
        if y - 6.0 - 2.0 * ROW_H < MARGIN {
            pages.push(Vec::new());
            y = h - MARGIN;
        }
        text(&mut pages, y - 4.0, 3.5, t.title.to_owned(), false);
        y -= 6.0;
        let mut rest: &[Vec<String>] = &rows;
        loop {
            let fit = (((y - MARGIN) / ROW_H).floor() as usize).saturating_sub(1).max(1);
            let (now, later) = rest.split_at(fit.min(rest.len()));
            let mut chunk = vec![header.clone()];
            chunk.extend(now.iter().cloned());
            let top = y;
            y -= ROW_H * chunk.len() as f64;
            if let Some(p) = pages.last_mut() {
                p.push(Item::Table { top, widths: widths.clone(), rows: chunk });
            }
            rest = later;
            if rest.is_empty() {
                break;
            }
            pages.push(Vec::new());
            y = h - MARGIN;
        }
        y -= 4.0;
    }
    let mut notes = vec!["四、尾差处理说明".to_owned()];
    for n in residual_notes(a) {
        notes.extend(wrap(font, &n, NOTE, room));
    }
    notes.push(String::new());
    notes.push("测量员：＿＿＿＿　检查员：＿＿＿＿　日期：＿＿＿＿".to_owned());
    for (i, n) in notes.into_iter().enumerate() {
        if y - 5.0 < MARGIN {
            pages.push(Vec::new());
            y = h - MARGIN;
        }
        let size = if i == 0 { 3.5 } else { NOTE };
        text(&mut pages, y - 4.0, size, n, false);
        y -= 5.0;
    }
    pages
}

/// The calculation table of an apportionment as a PDF (A4 portrait by default; the
/// scale of `options` does not apply). Numbers as in the HTML and XLSX exports.
pub fn apportionment_pdf(a: &Apportionment, font: &PrintFont, options: &SheetOptions) -> Result<Vec<u8>, PrintError> {
    let paper = if options.paper == Paper::A3 { Paper::A3 } else { Paper::A4 };
    let (w, h) = paper.size_mm();
    let settings = page_settings(paper)?;
    let pages = layout(a, font, w, h);
    let count = pages.len();
    let mut doc = document(options);
    for (n, items) in pages.into_iter().enumerate() {
        let mut page = doc.start_page_with(settings.clone());
        let mut c = Canvas::new(page.surface(), font, h);
        for item in items {
            match item {
                Item::Text { y, size, text, centre: true } => c.text(w / 2.0, y, size, &text, Anchor::Centre, 0.0),
                Item::Text { y, size, text, centre: false } => c.text(MARGIN, y, size, &text, Anchor::Left, 0.0),
                Item::Table { top, widths, rows } => {
                    table(&mut c, MARGIN, top, &widths, &rows, TableStyle { row_h: ROW_H, size: TEXT, header: true });
                }
            }
        }
        c.text(w / 2.0, MARGIN / 2.0, 2.5, &format!("第 {} 页 共 {count} 页", n + 1), Anchor::Centre, 0.0);
        c.finish();
        page.finish();
    }
    finish(doc)
}
