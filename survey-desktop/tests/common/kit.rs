//! The whole app in an egui_kittest harness (no window) and the gestures the tests
//! make on it: clicks, drags, keys and typing, at screen positions or on map
//! coordinates near a Gauss-Krüger origin.

use cadastre_core::model::{Parcel, Submission};
use egui::{Event, Key, Modifiers, PointerButton, Pos2};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use geo::polygon;
use geo_types::{Coord, MultiPolygon};
use survey_desktop::app::App;
use survey_desktop::model::Document;

/// Easting of the test parcels' origin (zone 40 of CGCS2000 3°).
pub const X0: f64 = 40_512_000.0;
/// Northing of the test parcels' origin.
pub const Y0: f64 = 3_350_000.0;

/// Rectangular parcels by code, each `[x0, y0, x1, y1]` from (`X0`, `Y0`).
pub fn rects(parcels: &[(&str, [f64; 4])]) -> Document {
    let rect = |code: &str, [x0, y0, x1, y1]: [f64; 4]| Parcel {
        zddm: code.into(),
        geometry: MultiPolygon(vec![polygon![
            (x: X0 + x0, y: Y0 + y0), (x: X0 + x1, y: Y0 + y0), (x: X0 + x1, y: Y0 + y1), (x: X0 + x0, y: Y0 + y1)
        ]]),
        attributes: Default::default(),
        source_index: 0,
    };
    let sub = Submission { parcels: parcels.iter().map(|&(c, r)| rect(c, r)).collect(), ..Default::default() };
    Document::from_submission(sub).0
}

/// 10 m squares in a row at `X0 + x`, by code.
pub fn squares(parcels: &[(&str, f64)]) -> Document {
    let r: Vec<(&str, [f64; 4])> = parcels.iter().map(|&(c, x)| (c, [x, 0.0, x + 10.0, 10.0])).collect();
    rects(&r)
}

/// Two 10 m squares side by side (GB00001 west, GB00002 east).
pub fn two_squares() -> Document {
    squares(&[("330106001001GB00001", 0.0), ("330106001001GB00002", 10.0)])
}

/// The app at 1400 × 900 after its first frames (fonts, layout, the map fitted).
pub fn harness(app: App) -> Harness<'static, App> {
    build(app, None)
}

/// [`harness`] with frames 1/60 s apart, as on screen: a double-click is two clicks
/// within 0.3 s.
pub fn harness_60(app: App) -> Harness<'static, App> {
    build(app, Some(1.0 / 60.0))
}

fn build(app: App, step_dt: Option<f32>) -> Harness<'static, App> {
    let mut b = Harness::builder().with_size(egui::vec2(1400.0, 900.0));
    if let Some(dt) = step_dt {
        b = b.with_step_dt(dt);
    }
    let mut h = b.build_ui_state(|ui, app: &mut App| app.ui_root(ui), app);
    h.run_steps(4);
    h
}

/// Screen position of the map point `(X0 + x, Y0 + y)`.
pub fn screen(h: &Harness<'_, App>, x: f64, y: f64) -> Pos2 {
    h.state().world_to_screen(Coord { x: X0 + x, y: Y0 + y })
}

/// Pointer over `pos`.
pub fn hover<S>(h: &mut Harness<'_, S>, pos: Pos2) {
    h.event(Event::PointerMoved(pos));
    h.run_steps(2);
}

/// The primary button pressed or released at `pos` (with `modifiers` held), one frame.
pub fn button<S>(h: &mut Harness<'_, S>, pos: Pos2, pressed: bool, modifiers: Modifiers) {
    let event = Event::PointerButton { pos, button: PointerButton::Primary, pressed, modifiers };
    if modifiers.is_none() {
        // Leaves alone modifiers a test holds with `Event::ModifiersChanged`.
        h.event(event);
    } else {
        // Held for this event only.
        h.event_modifiers(event, modifiers);
    }
    h.step();
}

/// A click at `pos`.
pub fn click_at<S>(h: &mut Harness<'_, S>, pos: Pos2) {
    click_with(h, pos, Modifiers::NONE);
}

/// A click at `pos` with `modifiers` held (Shift adds to a selection).
pub fn click_with<S>(h: &mut Harness<'_, S>, pos: Pos2, modifiers: Modifiers) {
    h.event(Event::PointerMoved(pos));
    h.step();
    button(h, pos, true, modifiers);
    button(h, pos, false, modifiers);
    h.run_steps(2);
}

/// A double-click at `pos` (use [`harness_60`]).
pub fn double_click_at<S>(h: &mut Harness<'_, S>, pos: Pos2) {
    // A pause first: a click less than 0.3 s after the last one would make a triple click.
    h.run_steps(30);
    h.event(Event::PointerMoved(pos));
    h.step();
    for _ in 0..2 {
        button(h, pos, true, Modifiers::NONE);
        button(h, pos, false, Modifiers::NONE);
    }
    h.run_steps(2);
}

/// A drag from `from` to `to` in 8 moves.
pub fn drag<S>(h: &mut Harness<'_, S>, from: Pos2, to: Pos2) {
    h.event(Event::PointerMoved(from));
    h.step();
    button(h, from, true, Modifiers::NONE);
    for k in 1..=8 {
        h.event(Event::PointerMoved(from + (to - from) * (k as f32 / 8.0)));
        h.step();
    }
    button(h, to, false, Modifiers::NONE);
    h.run_steps(2);
}

/// A key press, then two frames.
pub fn press<S>(h: &mut Harness<'_, S>, key: Key) {
    h.key_press(key);
    h.run_steps(2);
}

/// Types `text` into the text field labelled `label`.
pub fn type_into<S>(h: &mut Harness<'_, S>, label: &str, text: &str) {
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, label).click();
    h.run_steps(2);
    h.event(Event::Text(text.into()));
    h.run_steps(2);
}

/// Replaces the text of the field labelled `label` with `text` (select all, type).
pub fn retype<S>(h: &mut Harness<'_, S>, label: &str, text: &str) {
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, label).click();
    h.run_steps(2);
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.run_steps(1);
    h.event(Event::Text(text.into()));
    h.run_steps(2);
}

/// Clicks the widget labelled `label` (exactly), then runs `frames` frames.
pub fn click_label<S>(h: &mut Harness<'_, S>, label: &str, frames: usize) {
    h.get_by_label(label).click();
    h.run_steps(frames);
}

/// The texts painted in the last frame (labels on the map are painted, not widgets).
pub fn painted_texts<S>(h: &Harness<'_, S>) -> Vec<String> {
    h.output()
        .shapes
        .iter()
        .filter_map(|c| match &c.shape {
            egui::Shape::Text(t) => Some(t.galley.text().to_owned()),
            _ => None,
        })
        .collect()
}

/// The text of a PDF the app wrote (`pdftotext`, poppler-utils).
pub fn pdf_text(path: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| panic!("pdftotext (poppler-utils): {e}"));
    assert!(out.status.success(), "pdftotext {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
