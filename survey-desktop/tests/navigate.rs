//! egui_kittest: finding one's way on the map. Arrow keys and +/- pan and zoom, the
//! wheel zooms about the cursor (the point under it stays put), zoom to extent (Home)
//! and to the selection (Z), shift-drag box selection, and the status bar's cursor
//! coordinates in the Chinese survey order (X = northing first, Y = easting).

use egui::{Event, Key, Modifiers, MouseWheelUnit, PointerButton};
use egui_kittest::kittest::{NodeT as _, Queryable};
use egui_kittest::Harness;
use geo_types::Coord;
use survey_desktop::app::App;
use survey_desktop::model::Document;

mod common;
use common::kit::{click_at, hover, press, screen, squares, type_into, X0, Y0};

/// Three 10 m squares in a row, the third 1 km east of the others.
fn three_squares() -> Document {
    squares(&[("330106001001GB00001", 0.0), ("330106001001GB00002", 10.0), ("330106001001GB00003", 1000.0)])
}

fn harness() -> Harness<'static, App> {
    common::kit::harness(App::with_document(three_squares()))
}

/// Screen pixels per metre, from two points 10 m apart.
fn px_per_m(h: &Harness<'_, App>) -> f32 {
    (screen(h, 10.0, 0.0).x - screen(h, 0.0, 0.0).x) / 10.0
}

#[test]
fn arrow_keys_pan_and_plus_minus_zoom_about_the_centre() {
    let mut h = harness();
    let before = screen(&h, 0.0, 0.0);
    press(&mut h, Key::ArrowLeft);
    let after = screen(&h, 0.0, 0.0);
    assert!((after.x - before.x - 60.0).abs() < 0.5 && (after.y - before.y).abs() < 0.5, "{before:?} → {after:?}");
    press(&mut h, Key::ArrowUp);
    let up = screen(&h, 0.0, 0.0);
    assert!((up.y - after.y - 60.0).abs() < 0.5, "{after:?} → {up:?}");
    let scale = px_per_m(&h);
    press(&mut h, Key::Plus);
    assert!((px_per_m(&h) / scale - 1.5).abs() < 1e-3, "{scale} → {}", px_per_m(&h));
    press(&mut h, Key::Minus);
    assert!((px_per_m(&h) / scale - 1.0).abs() < 1e-3);
}

#[test]
fn the_wheel_zooms_about_the_cursor() {
    let mut h = harness();
    press(&mut h, Key::Home);
    let anchor = screen(&h, 5.0, 5.0);
    hover(&mut h, anchor);
    let scale = px_per_m(&h);
    h.event(Event::MouseWheel {
        unit: MouseWheelUnit::Point,
        delta: egui::vec2(0.0, 120.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: Modifiers::NONE,
    });
    h.run_steps(30); // smooth scrolling spreads the delta over frames
    assert!(px_per_m(&h) > scale * 1.2, "zoomed in: {scale} → {}", px_per_m(&h));
    let still = screen(&h, 5.0, 5.0);
    assert!((still - anchor).length() < 1.0, "the point under the cursor moved: {anchor:?} → {still:?}");
}

#[test]
fn home_shows_every_parcel_and_z_zooms_to_the_selection() {
    let mut h = harness();
    for _ in 0..6 {
        press(&mut h, Key::ArrowRight);
        press(&mut h, Key::Plus);
    }
    let canvas = h.state().canvas_rect();
    press(&mut h, Key::Home);
    for (x, y) in [(0.0, 0.0), (1010.0, 10.0)] {
        let p = screen(&h, x, y);
        assert!(canvas.expand(1.0).contains(p), "({x}, {y}) at {p:?} outside {canvas:?}");
    }
    // Select the far parcel by clicking it, then Z: it fills the canvas.
    let far = screen(&h, 1005.0, 5.0);
    click_at(&mut h, far);
    assert_eq!(h.state().state.selection.len(), 1);
    press(&mut h, Key::Z);
    let (a, b) = (screen(&h, 1000.0, 0.0), screen(&h, 1010.0, 10.0));
    let side = (b.x - a.x).min(a.y - b.y);
    assert!(side > 0.6 * canvas.height().min(canvas.width()), "10 m parcel is {side} px in {canvas:?}");
    assert!(canvas.contains(a) && canvas.contains(b));
}

#[test]
fn shift_drag_selects_the_parcels_in_the_box() {
    let mut h = harness();
    press(&mut h, Key::Home);
    // A box around the two western squares, not the far one.
    let (from, to) = (screen(&h, -2.0, 12.0), screen(&h, 22.0, -2.0));
    hover(&mut h, from);
    // Shift held through the whole drag (kittest's event_modifiers releases it after each event).
    let shift = Modifiers::SHIFT;
    let button = |pos, pressed| Event::PointerButton { pos, button: PointerButton::Primary, pressed, modifiers: shift };
    h.event(Event::ModifiersChanged(shift));
    h.event(button(from, true));
    h.step();
    for k in 1..=8 {
        h.event(Event::PointerMoved(from + (to - from) * (k as f32 / 8.0)));
        h.step();
    }
    h.event(button(to, false));
    h.step();
    h.event(Event::ModifiersChanged(Modifiers::NONE));
    h.run_steps(3);
    let app = h.state();
    let codes: Vec<&str> =
        app.state.selection.iter().filter_map(|id| app.editor.doc().parcels.get(id)).map(|p| p.zddm.as_str()).collect();
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert!(!codes.contains(&"330106001001GB00003"), "{codes:?}");
}

#[test]
fn the_status_bar_gives_x_northing_before_y_easting() {
    let mut h = harness();
    press(&mut h, Key::Home);
    let p = screen(&h, 5.0, 7.0);
    hover(&mut h, p);
    let node = h.get_by_label_contains("X 3350");
    let label = node.accesskit_node().label().or_else(|| node.accesskit_node().value()).unwrap_or_default();
    let nums: Vec<f64> = label.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert_eq!(nums.len(), 2, "{label}");
    assert!((nums[0] - (Y0 + 7.0)).abs() < 0.5, "X is the northing: {label}");
    assert!((nums[1] - (X0 + 5.0)).abs() < 0.5, "Y is the easting: {label}");
    assert!(label.find('X') < label.find('Y'), "{label}");
}

#[test]
fn a_typed_point_is_x_north_y_east_and_a_click_on_the_first_point_closes_the_ring() {
    let mut h = harness();
    press(&mut h, Key::Home);
    // Zoom onto the first square (select it, Z, then out a little).
    let first = screen(&h, 5.0, 5.0);
    click_at(&mut h, first);
    press(&mut h, Key::Z);
    for _ in 0..3 {
        press(&mut h, Key::Minus); // room above the square for the new parcel
    }
    press(&mut h, Key::P);
    let click = click_at::<App>;
    // North of square 1: its north-west corner (snapped), a free point, a typed point.
    let nw = screen(&h, 0.0, 10.0);
    click(&mut h, nw);
    assert!(h.query_by_label("1 点").is_some(), "the first click is a vertex");
    let p = screen(&h, 0.0, 14.0);
    click(&mut h, p);
    assert!(h.query_by_label("2 点").is_some(), "a free point");
    type_into(&mut h, "输入坐标 X(北):", &format!("{}", Y0 + 14.0));
    type_into(&mut h, "Y(东):", &format!("{}", X0 + 10.0));
    h.get_by_label("加点").click();
    h.run_steps(3);
    assert!(h.query_by_label("3 点").is_some(), "three vertices");
    assert_eq!(h.state().editor.doc().parcels.len(), 3, "not closed yet");
    // Back on the first point: the ring closes (no Enter).
    click(&mut h, nw);
    h.run_steps(2);
    let app = h.state();
    let doc = app.editor.doc();
    assert_eq!(doc.parcels.len(), 4, "status: {}", app.status);
    // The typed point is a vertex at easting X0 + 10, northing Y0 + 14 (not swapped).
    let typed = Coord { x: X0 + 10.0, y: Y0 + 14.0 };
    assert_eq!(app.editor.index().points_near(typed, 1e-6).len(), 1, "no vertex at the typed X/Y");
    let swapped = Coord { x: Y0 + 14.0, y: X0 + 10.0 };
    assert!(app.editor.index().points_near(swapped, 1.0).is_empty());
}
