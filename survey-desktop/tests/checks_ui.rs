//! egui_kittest: the checks from the UI on a project with a known defect (a parcel of
//! 0.25 m², under the `parcel.tiny` minimum of 1 m²): the finding is listed, a click on
//! it selects the parcel and zooms the map to it; the QC rules edited in the app
//! (a rule switched off, a tolerance changed) are what the next run uses, and stay
//! with the project file.

use egui::accesskit::Role;
use egui::Key;
use egui_kittest::kittest::{NodeT as _, Queryable};
use egui_kittest::Harness;
use survey_desktop::app::{App, StartOptions};
use survey_desktop::model::{Document, Editor};
use survey_desktop::project::Project;

mod common;
use common::kit::{click_label, harness, press, rects, retype, screen, X0, Y0};
use geo_types::Coord;

const TINY: &str = "330106001001GB00003";

/// Two 10 m squares and, 100 m east, a parcel of 0.5 m × 0.5 m.
fn with_a_tiny_parcel() -> Document {
    rects(&[
        ("330106001001GB00001", [0.0, 0.0, 10.0, 10.0]),
        ("330106001001GB00002", [10.0, 0.0, 20.0, 10.0]),
        (TINY, [100.0, 0.0, 100.5, 0.5]),
    ])
}

fn tiny_findings(h: &Harness<'_, App>) -> usize {
    let report = h.state().checks_report().map(|r| r.findings.clone()).unwrap_or_default();
    report.iter().filter(|f| f.rule == "parcel.tiny").count()
}

#[test]
fn a_known_defect_is_listed_and_a_click_on_it_selects_and_zooms_to_the_parcel() {
    let mut h = harness(App::with_document(with_a_tiny_parcel()));
    press(&mut h, Key::Home);
    let before = screen(&h, 1.0, 0.0).x - screen(&h, 0.0, 0.0).x;
    // F5 runs the checks and shows the panel; its button runs them again.
    press(&mut h, Key::F5);
    click_label(&mut h, "检查项目 (F5)", 3);
    assert_eq!(tiny_findings(&h), 1, "{}", h.state().status);
    let finding = h.get_by_label_contains("parcel.tiny");
    let text = finding.accesskit_node().label().unwrap_or_default();
    assert!(text.starts_with("[警告]"), "{text}");
    finding.click();
    h.run_steps(4);
    let app = h.state();
    let tiny = app.editor.doc().parcel_by_code(TINY).expect("tiny parcel");
    assert_eq!(app.state.selection.iter().copied().collect::<Vec<_>>(), [tiny]);
    // Zoomed to it: the finding's place in the middle of the map, 30 m across the view.
    let at = screen(&h, 100.25, 0.25);
    let centre = h.state().canvas_rect().center();
    assert!((at - centre).length() < 20.0, "finding at {at:?}, map centre {centre:?}");
    let scale = screen(&h, 1.0, 0.0).x - screen(&h, 0.0, 0.0).x;
    let canvas = h.state().canvas_rect();
    let across = f64::from(canvas.width().min(canvas.height()) / scale);
    assert!(scale > 2.0 * before && (30.0..=36.0).contains(&across), "{before} → {scale} px/m, {across} m across");
    // The finding is marked as the one looked at.
    let marked = h.get_by_label_contains("parcel.tiny").accesskit_node().toggled();
    assert_eq!(marked, Some(egui::accesskit::Toggled::True));
}

/// Picks rule `id` by its name in the list: its settings show.
fn pick_rule(h: &mut Harness<'_, App>, id: &str) {
    h.get_by_role_and_label(Role::Button, id).click();
    h.run_steps(3);
    assert!(h.query_by_label(&format!("规则 {id}")).is_some(), "{id} picked");
}

/// Switches rule `id` on or off.
fn switch(h: &mut Harness<'_, App>, id: &str) {
    h.get_by_role_and_label(Role::CheckBox, id).click();
    h.run_steps(3);
}

fn open(path: &std::path::Path, data: &std::path::Path) -> Harness<'static, App> {
    let options = StartOptions { path: Some(path.into()), data_dir: Some(data.into()), ..StartOptions::default() };
    harness(App::new(options))
}

#[test]
fn rules_edited_in_the_app_are_used_by_the_next_check_and_kept_in_the_project() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("rules.gpkg");
    let mut ed = Editor::new(with_a_tiny_parcel());
    Project::create(&path).and_then(|mut p| p.save(&mut ed, &Default::default())).expect("project");
    let mut h = open(&path, dir.path());
    press(&mut h, Key::F5);
    assert_eq!(tiny_findings(&h), 1);

    // Switched off: the next run has no such finding.
    click_label(&mut h, "质检规则", 6);
    switch(&mut h, "parcel.tiny");
    let rules = h.state().settings.get("qc_rules").cloned();
    assert!(rules.as_ref().is_some_and(|t| t.contains("enabled = false")), "{rules:?} {}", h.state().status);
    press(&mut h, Key::F5);
    assert_eq!(tiny_findings(&h), 0, "a rule switched off does not run");

    // On again with a minimum of 0.1 m²: the 0.25 m² parcel passes; with 0.5 m² it does not.
    click_label(&mut h, "质检规则", 2);
    switch(&mut h, "parcel.tiny");
    pick_rule(&mut h, "parcel.tiny");
    for (min, found) in [("0.1", 0), ("0.5", 1)] {
        retype(&mut h, "min_area", min);
        click_label(&mut h, "应用数值", 3);
        press(&mut h, Key::F5);
        assert_eq!(tiny_findings(&h), found, "min_area {min}: {}", h.state().status);
        click_label(&mut h, "质检规则", 2);
    }
    // A value the rules refuse is said so and changes nothing.
    let kept = h.state().settings.get("qc_rules").cloned();
    retype(&mut h, "min_area", "-3");
    click_label(&mut h, "应用数值", 3);
    assert!(h.query_by_label_contains("质检规则无效").is_some());
    assert_eq!(h.state().settings.get("qc_rules"), kept.as_ref());
    drop(h);

    // Kept in the project file without a save: reopened, the rules are the edited ones.
    let mut h = open(&path, dir.path());
    let rules = h.state().settings.get("qc_rules").cloned().unwrap_or_default();
    assert!(rules.contains("min_area = 0.5"), "{rules}");
    press(&mut h, Key::F5);
    assert_eq!(tiny_findings(&h), 1);
    click_label(&mut h, "质检规则", 2);
    pick_rule(&mut h, "parcel.tiny");
    let shown = h.get_by_role_and_label(Role::TextInput, "min_area").accesskit_node().value().unwrap_or_default();
    assert_eq!(shown, "0.5");
    // Back to the defaults.
    click_label(&mut h, "恢复默认规则", 3);
    assert!(!h.state().settings.contains_key("qc_rules"));
}

fn findings_of(h: &Harness<'_, App>, rule: &str) -> Vec<Vec<String>> {
    let report = h.state().checks_report().map(|r| r.findings.clone()).unwrap_or_default();
    report.iter().filter(|f| f.rule == rule).map(|f| f.objects.clone()).collect()
}

#[test]
fn check_selection_checks_only_the_selected_parcel() {
    const OTHER: &str = "330106001001GB00004";
    let mut doc = with_a_tiny_parcel();
    let more = rects(&[(OTHER, [200.0, 0.0, 200.5, 0.5])]);
    doc = {
        let mut sub = doc.to_submission();
        sub.parcels.extend(more.to_submission().parcels);
        Document::from_submission(sub).0
    };
    let mut h = harness(App::with_document(doc));
    // The whole project: both tiny parcels.
    press(&mut h, Key::F5);
    let mut all = findings_of(&h, "parcel.tiny");
    all.sort();
    let both = [vec![TINY.to_owned()], vec![OTHER.to_owned()]];
    assert_eq!(all, both);
    // Nothing selected: the button is there but does nothing (an empty selection would
    // give a report without findings).
    click_label(&mut h, "检查所选", 3);
    assert_eq!(findings_of(&h, "parcel.tiny").len(), 2, "{}", h.state().status);
    // A click on one finding selects its parcel; checking the selection finds only it.
    let Some(finding) = h.get_all_by_label_contains("parcel.tiny").next() else { panic!("no finding listed") };
    finding.click();
    h.run_steps(4);
    let selected: Vec<String> = h
        .state()
        .state
        .selection
        .iter()
        .filter_map(|id| h.state().editor.doc().parcels.get(id).map(|p| p.zddm.clone()))
        .collect();
    assert_eq!(selected.len(), 1);
    click_label(&mut h, "检查所选", 3);
    assert_eq!(findings_of(&h, "parcel.tiny"), [selected], "{}", h.state().status);
}

#[test]
fn repairs_are_previewed_then_applied_in_one_undo_step() {
    // GB00002's west corners are 2 cm east of GB00001's east corners: near misses. The
    // parcels north and south of GB00001 share its corners, so those positions are what
    // most neighbours use and GB00002's vertices are the ones to snap.
    let doc = rects(&[
        ("330106001001GB00001", [0.0, 0.0, 10.0, 10.0]),
        ("330106001001GB00002", [10.02, 0.0, 20.0, 10.0]),
        ("330106001001GB00003", [0.0, -10.0, 10.0, 0.0]),
        ("330106001001GB00004", [0.0, 10.0, 10.0, 20.0]),
    ]);
    let mut h = harness(App::with_document(doc.clone()));
    press(&mut h, Key::F5);
    assert!(!findings_of(&h, "vertex.near_miss").is_empty(), "{}", h.state().status);
    let steps = h.state().editor.done().len();

    // The preview lists the changes and changes nothing yet.
    click_label(&mut h, "自动修复…", 3);
    let node = h.get_by_label_contains("待修复").accesskit_node();
    let listed = node.label().or_else(|| node.value()).unwrap_or_default();
    let n: usize = listed.rsplit(' ').next().and_then(|t| t.parse().ok()).unwrap_or(0);
    assert!(n >= 2, "{listed}");
    assert!(h.query_all_by_label_contains("snap_vertex").count() >= 2, "each snap is listed");
    assert_eq!(h.state().editor.doc(), &doc, "a preview edits nothing");

    // Applied: one undo step; the checks run again and the near miss is gone; the two
    // parcels share their corners.
    click_label(&mut h, "应用修复", 4);
    assert_eq!(h.state().editor.done().len(), steps + 1);
    assert!(findings_of(&h, "vertex.near_miss").is_empty(), "{}", h.state().status);
    for y in [0.0, 10.0] {
        let corner = Coord { x: X0 + 10.0, y: Y0 + y };
        let near = h.state().editor.index().points_near(corner, 0.05);
        assert_eq!(near.len(), 1, "one shared corner at y {y}: {near:?}");
        assert!(near[0].1 < 1e-9, "GB00002 moved onto GB00001's corner: {near:?}");
    }
    assert!(h.query_by_label_contains("待修复").is_none(), "the plan is used up");

    // Undone: the document is as before the repair.
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert_eq!(h.state().editor.doc(), &doc);
}
