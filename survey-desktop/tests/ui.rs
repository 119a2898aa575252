//! egui_kittest interaction tests: the whole app in a harness (no window), driven by
//! pointer and key events, with assertions on the project afterwards.

use egui::{Event, Key, Modifiers};
use egui_kittest::kittest::Queryable;
use geo_types::Coord;
use survey_desktop::app::App;

mod common;
use common::kit::{click_at as click, click_with, drag, harness, screen, two_squares, X0, Y0};

#[test]
fn draw_a_parcel_snapping_to_the_neighbours_points_then_undo() {
    let mut h = harness(App::with_document(two_squares()));
    h.get_by_label("画宗地 (P)").click();
    h.run_steps(2);
    // North of A, starting 3 px off A's north-west corner and ending 3 px off the
    // shared north-east corner: both snap onto the existing boundary points.
    let nw = screen(&h, 0.0, 10.0) + egui::vec2(3.0, -2.0);
    let ne = screen(&h, 10.0, 10.0) + egui::vec2(-2.0, 3.0);
    click(&mut h, nw);
    click(&mut h, ne);
    let p = screen(&h, 10.0, 14.0);
    click(&mut h, p);
    let p = screen(&h, 0.0, 14.0);
    click(&mut h, p);
    h.key_press(Key::Enter);
    h.run_steps(3);
    let app = h.state();
    let doc = app.editor.doc();
    assert_eq!(doc.parcels.len(), 3, "status: {}", app.status);
    let new = doc.parcels.values().last().expect("new parcel");
    assert_eq!(new.zddm, "330106001001GB00003");
    // The corner shared by A, B and the new parcel is one point with three users.
    let corner = app.editor.index().points_near(Coord { x: X0 + 10.0, y: Y0 + 10.0 }, 1e-9);
    assert_eq!(corner.len(), 1);
    assert_eq!(app.editor.index().users(corner[0].0).len(), 3);
    assert_eq!(doc.points.len(), 8, "two new points, two reused");
    // Ctrl+Z takes it back.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert_eq!(h.state().editor.doc(), &two_squares());
}

#[test]
fn drag_a_shared_point_moves_both_parcels_and_undo_restores() {
    let mut h = harness(App::with_document(two_squares()));
    h.key_press(Key::V);
    h.run_steps(2);
    let from = screen(&h, 10.0, 10.0);
    let to = screen(&h, 11.0, 12.0);
    drag(&mut h, from, to);
    h.run_steps(2);
    let app = h.state();
    let doc = app.editor.doc();
    let moved: Vec<Coord<f64>> = doc.points.values().copied().filter(|c| c.y > Y0 + 11.0).collect();
    assert_eq!(moved.len(), 1, "status: {}", app.status);
    // Both parcels use the moved point.
    let id = app.editor.index().points_near(moved[0], 1e-9)[0].0;
    assert_eq!(app.editor.index().users(id).len(), 2);
    assert_eq!(app.editor.done().len(), 1);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert_eq!(h.state().editor.doc(), &two_squares());
    h.key_press_modifiers(Modifiers::COMMAND, Key::Y);
    h.run_steps(2);
    assert_ne!(h.state().editor.doc(), &two_squares());
}

#[test]
fn clicking_a_parcel_opens_its_attributes_and_edits_are_undoable() {
    let mut h = harness(App::with_document(two_squares()));
    let p = screen(&h, 15.0, 5.0);
    click(&mut h, p);
    h.run_steps(3);
    assert_eq!(h.state().state.selection.iter().copied().collect::<Vec<_>>(), vec![2]);
    h.get_by_label("宗地属性");
    // The derived boundary: 4 points, west neighbour GB00001.
    h.get_by_label("西: 330106001001GB00001");
    // Type an address and apply.
    h.get_all_by_role(egui::accesskit::Role::TextInput).nth(1).expect("ZL field").click();
    h.run_steps(2);
    h.event(Event::Text("文三路 1 号".into()));
    h.run_steps(2);
    h.get_by_label("应用属性").click();
    h.run_steps(3);
    let zl = h.state().editor.doc().parcels[&2].attributes.zl.clone();
    assert_eq!(zl.as_deref(), Some("文三路 1 号"));
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert_eq!(h.state().editor.doc().parcels[&2].attributes.zl, None);
}

#[test]
fn an_invalid_code_disables_apply_with_a_message() {
    let mut h = harness(App::with_document(two_squares()));
    let p = screen(&h, 5.0, 5.0);
    click(&mut h, p);
    h.run_steps(3);
    h.get_all_by_role(egui::accesskit::Role::TextInput).next().expect("ZDDM field").click();
    h.run_steps(2);
    h.key_press(Key::Backspace);
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("19").is_some()
            || h.query_by_label_contains("length").is_some()
            || h.query_by_label_contains("长度").is_some()
    );
    h.get_by_label("应用属性").click();
    h.run_steps(2);
    assert!(!h.state().editor.can_undo(), "no edit from an invalid form");
}

#[test]
fn shift_click_two_parcels_merge_with_m_and_undo() {
    let mut h = harness(App::with_document(two_squares()));
    let a = screen(&h, 5.0, 5.0);
    click(&mut h, a);
    let b = screen(&h, 15.0, 5.0);
    click_with(&mut h, b, Modifiers::SHIFT);
    assert_eq!(h.state().state.selection.len(), 2);
    h.key_press(Key::M);
    h.run_steps(3);
    let doc = h.state().editor.doc();
    assert_eq!(doc.parcels.len(), 1, "status: {}", h.state().status);
    // The shared line's points are gone: 4 corners of the 20 × 10 rectangle plus the
    // two collinear ones where the line met the outline.
    assert_eq!(doc.points.len(), 6);
    assert_eq!(doc.parcels[&1].attributes.zdmj, Some(200.0));
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert_eq!(h.state().editor.doc(), &two_squares());
}

#[test]
fn layers_panel_hides_a_layer_and_english_is_switchable() {
    let mut h = harness(App::with_document(two_squares()));
    h.get_by_label("宗地 ZD").click();
    h.run_steps(2);
    assert!(!h.state().state.layers.parcels.visible);
    h.get_by_label("语言").click();
    h.run_steps(2);
    h.get_by_label("English").click();
    h.run_steps(3);
    h.get_by_label("Layers");
    h.get_by_label("Draw parcel (P)");
}

#[test]
fn opening_a_project_with_unsaved_edits_offers_recovery() {
    use survey_desktop::app::StartOptions;
    use survey_desktop::model::{ops, Editor};
    use survey_desktop::project::Project;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("p.gpkg");
    let mut ed = Editor::new(two_squares());
    let mut project = Project::create(&path).expect("create");
    project.save(&mut ed, &Default::default()).expect("save");
    let cmd = ops::delete_parcel(ed.doc(), ed.index(), 2).expect("delete");
    ed.execute(cmd).expect("execute");
    project.autosave(&mut ed).expect("autosave");
    drop(project);
    let options =
        StartOptions { path: Some(path.clone()), data_dir: Some(dir.path().into()), ..StartOptions::default() };
    let mut h = harness(App::new(options));
    assert!(h.state().recovery_pending());
    h.get_by_label("恢复未保存的编辑");
    h.get_by_label("恢复").click();
    h.run_steps(3);
    assert!(!h.state().recovery_pending());
    assert_eq!(h.state().editor.doc().parcels.len(), 1);
    // The recovered edit is undoable like any other.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert_eq!(h.state().editor.doc(), &two_squares());
}
