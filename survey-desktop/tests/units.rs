//! Buildings' households in the app: the model's commands (each undone and
//! redone exactly, kept through save, autosave and recovery, stale
//! apportionment) and the three panels driven through egui_kittest.

use std::collections::BTreeSet;

use cadastre_core::apportion::Area;
use cadastre_core::building::Status;
use cadastre_core::floorplan::Outline;
use egui_kittest::kittest::Queryable;
use survey_desktop::app::command::AppCommand;
use survey_desktop::app::App;
use survey_desktop::model::units::{ops, Staleness};
use survey_desktop::model::{Command, Document, Editor};
use survey_desktop::project::Project;

mod common;
use common::kit::{click_at, harness};
use common::units::{area, building, floor_one, grid, run, saved_then_autosaved, units as doc_units, who, ZRZH};

/// Every command of the buildings' model, in order; each leaves a snapshot.
fn script(ed: &mut Editor) -> Vec<Document> {
    let mut docs = vec![ed.doc().clone()];
    type Step = Box<dyn Fn(&Document) -> Command>;
    let steps: Vec<Step> = vec![
        Box::new(|d| ops::create(d, ZRZH, &who()).expect("create")),
        Box::new(move |d| ops::generate_grid(d, ZRZH, &grid("1", 1..=6, 2, 2), &who()).expect("grid")),
        Box::new(|d| ops::split(d, ZRZH, "0024", &[area("40.00"), area("41.00")], &who()).expect("split").0),
        Box::new(|d| ops::merge(d, ZRZH, &["0022", "0023"], &who()).expect("merge").0),
        Box::new(|d| ops::renumber(d, ZRZH, &who()).expect("renumber").0),
        Box::new(|d| {
            let all: Vec<String> = d.units[ZRZH].table.current().map(|h| h.hh.clone()).collect();
            let values = ops::BatchValues { predicted_inner: Some(area("80.00")), ..Default::default() };
            ops::batch_edit(d, ZRZH, &all, &values, &who()).expect("batch").0
        }),
        Box::new(|d| ops::set_floor(d, ZRZH, "1", 1, Some(floor_one(10.0)), "draw", &who()).expect("floor")),
        Box::new(|d| ops::copy_floor(d, ZRZH, "1", 1, &[2, 3], &who()).expect("copy")),
        Box::new(|d| ops::run_apportionment(d, ZRZH, &who()).expect("run").0),
    ];
    for step in steps {
        let c = step(ed.doc());
        assert!(!c.is_empty(), "{} changed nothing", c.label);
        run(ed, c);
        docs.push(ed.doc().clone());
    }
    docs
}

#[test]
fn every_buildings_command_undoes_and_redoes_exactly() {
    let mut ed = Editor::new(Document::default());
    let docs = script(&mut ed);
    let u = &ed.doc().units[ZRZH];
    // Split and merge left history rows with who and when.
    assert_eq!(u.table.get("0024").map(|h| h.status), Some(Status::Historical));
    assert!(u.table.history().entries().iter().any(|c| c.action == "split" && c.who == "张三"));
    // Drawing wrote the plan's 套内 into the table, copies too.
    let measured = |d: &Document, hh: &str| d.units[ZRZH].table.get(hh).and_then(|h| h.measured_inner);
    assert_eq!(measured(ed.doc(), "0001"), Some(area("80.00")));
    assert_eq!(measured(ed.doc(), "0005"), Some(area("80.00")), "floor 2's room 201 got floor 1's outline");
    for expected in docs.iter().rev().skip(1) {
        assert!(ed.undo().expect("undo"));
        assert_eq!(ed.doc(), expected);
    }
    assert!(!ed.can_undo());
    for expected in docs.iter().skip(1) {
        assert!(ed.redo().expect("redo"));
        assert_eq!(ed.doc(), expected);
    }
}

#[test]
fn buildings_survive_save_autosave_and_recovery() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("p.gpkg");
    let mut ed = building(&[grid("1", 1..=6, 2, 2)]);
    // After the save: a drawn floor, only in the journal (autosave), then a "crash".
    let c = ops::set_floor(ed.doc(), ZRZH, "1", 1, Some(floor_one(10.0)), "draw", &who()).expect("floor");
    saved_then_autosaved(&path, &mut ed, c);
    let (_, opened) = Project::open(&path).expect("open");
    assert_eq!(opened.doc.units[ZRZH].table.current().count(), 24, "the saved table");
    assert!(opened.doc.units[ZRZH].plan.floors.is_empty());
    let (recovered, _) = opened.into_editor(true).expect("recover");
    assert_eq!(recovered.doc(), ed.doc());
    assert_eq!(recovered.done().len(), 3, "create, grid and the drawn floor can be undone");
}

#[test]
fn editing_a_floor_marks_the_apportionment_stale_until_it_is_run_again() {
    let mut ed = building(&[grid("1", 1..=1, 2, 1)]);
    assert!(matches!(ed.doc().units[ZRZH].staleness(), Staleness::NeverRun));
    let c = ops::set_floor(ed.doc(), ZRZH, "1", 1, Some(floor_one(10.0)), "draw", &who()).expect("floor");
    run(&mut ed, c);
    let (c, r) = ops::run_apportionment(ed.doc(), ZRZH, &who()).expect("run");
    run(&mut ed, c);
    assert_eq!(ed.doc().units[ZRZH].staleness(), Staleness::Current);
    assert_eq!(r.totals.apportioned, r.totals.shared_area);
    let mut bigger = floor_one(10.0);
    bigger.households[0].outline = Outline::rect(-1.0, 0.0, 10.0, 8.0);
    let c = ops::set_floor(ed.doc(), ZRZH, "1", 1, Some(bigger), "redraw", &who()).expect("redraw");
    run(&mut ed, c);
    assert_eq!(ed.doc().units[ZRZH].table.get("0001").and_then(|h| h.measured_inner), Some(area("88.00")));
    assert_eq!(ed.doc().units[ZRZH].staleness(), Staleness::Stale);
    ed.undo().expect("undo");
    assert_eq!(ed.doc().units[ZRZH].staleness(), Staleness::Current, "undo brings the run's data back");
}

#[test]
fn overlapping_outlines_and_bad_imports_are_refused_with_a_reason() {
    let ed = building(&[grid("1", 1..=2, 2, 2)]);
    let mut f = floor_one(10.0);
    f.households[1].outline = Outline::rect(5.0, 0.0, 15.0, 8.0);
    let e = ops::set_floor(ed.doc(), ZRZH, "1", 1, Some(f), "draw", &who()).expect_err("overlap");
    assert!(e.to_string().contains("overlap"), "{e}");
    let e = ops::import(ed.doc(), b"not,a,table\n1,2,3\n", ops::SheetKind::Csv, &who()).expect_err("bad csv");
    assert!(e.to_string().contains("ZRZH"), "{e}");
    // Rows of the existing table come back as duplicates, the table unchanged.
    let csv = cadastre_core::building::write_csv(&ed.doc().units[ZRZH].table).expect("csv");
    let (c, report) = ops::import(ed.doc(), &csv, ops::SheetKind::Csv, &who()).expect("import");
    assert!(c.is_empty());
    assert_eq!((report.rows, report.imported, report.duplicates.len()), (8, 0, 8));
}

// ---- the panels, through egui_kittest ----

#[test]
fn table_floor_plan_and_apportionment_through_the_panels() {
    let mut h = harness(App::with_document(Document::default()));
    let c = ops::create(h.state().editor.doc(), ZRZH, &who()).expect("create");
    h.state_mut().push(AppCommand::Edit(c));
    h.run_steps(2);
    // 楼盘表: generate 6 floors × 2 stair units × 2 rooms.
    h.get_by_label("楼盘表").click();
    h.run_steps(2);
    h.state_mut().units.table.grid.highest = 6;
    h.get_by_label("生成楼盘表").click();
    h.run_steps(3);
    assert_eq!(doc_units(&h).table.current().count(), 24);
    assert!(h.query_by_label("第6层\n实际层 6").is_some(), "the top floor row is shown");
    // Split household 0001 by clicking its cell and typing the parts.
    h.get_by_label_contains("  0001\n").click();
    h.run_steps(2);
    assert_eq!(h.state().units.table.selected, BTreeSet::from(["0001".to_owned()]));
    h.state_mut().units.table.parts = "45.00, 44.50".into();
    h.get_by_label("拆分").click();
    h.run_steps(3);
    let u = doc_units(&h);
    assert_eq!(u.table.get("0001").map(|x| x.status), Some(Status::Historical));
    assert_eq!(u.table.get("0025").and_then(|x| x.measured_inner), Some(area("45.00")));
    // Merge the two parts back: click one, Ctrl-click the other.
    h.get_by_label_contains("  0025\n").click();
    h.run_steps(2);
    h.state_mut().units.table.click("0026".into(), true);
    h.get_by_label("合并").click();
    h.run_steps(3);
    let merged = doc_units(&h).table.get("0027").cloned().expect("merged household");
    assert_eq!(merged.measured_inner, Some(area("89.50")));
    assert!(h.query_by_label_contains("  0027\n").is_some(), "the merged household has a cell");
    // Every household needs a 套内 for the apportionment: batch-edit the predicted area.
    let all: Vec<String> = doc_units(&h).table.current().map(|x| x.hh.clone()).collect();
    h.state_mut().units.table.selected = all.into_iter().collect();
    h.state_mut().units.table.batch.predicted = "80.00".into();
    h.get_by_label("批量修改").click();
    h.run_steps(3);
    assert!(doc_units(&h).table.current().all(|x| x.predicted_inner == Some(area("80.00"))));

    // 分层分户图: floor 1, draw household 0002 (room 102) as a 6 m × 8 m outline.
    h.get_by_label("分层分户图").click();
    h.run_steps(3);
    h.get_by_label("102 0002").click();
    h.run_steps(2);
    let corners = [[0.0, 0.0], [6.0, 0.0], [6.0, 8.0], [0.0, 8.0], [0.0, 0.0]];
    for c in corners {
        let p = h.state().units.floor.canvas.to_screen(c).expect("canvas shown");
        click_at(&mut h, p);
    }
    h.run_steps(3);
    let u = doc_units(&h);
    assert_eq!(u.plan.floor(1).map(|f| f.households.len()), Some(1));
    assert_eq!(u.table.get("0002").and_then(|x| x.measured_inner), Some(area("48.00")));
    assert!(h.query_all_by_label("48.00").next().is_some(), "the household's 套内 is listed");

    // 分摊: a 120.00 m² stairwell serving the building; run; the shares add up exactly.
    h.get_by_label("面积分摊").click();
    h.run_steps(2);
    {
        let p = &mut h.state_mut().units.apportion;
        p.name = "楼梯间".into();
        p.area = "120.00".into();
        p.serves = "building".into();
    }
    h.get_by_label("添加").click();
    h.run_steps(2);
    h.get_by_label("运行分摊").click();
    h.run_steps(3);
    assert!(h.query_by_label("√ 分摊之和等于共有面积").is_some());
    assert!(h.query_by_label("结果为最新").is_some());
    let r = doc_units(&h).last_result().expect("run").expect("result");
    let sum: Area = r.units.iter().map(|u| u.apportioned).sum();
    // 120.00 m² + the outer half of floor 1's outer walls, to the cent.
    assert_eq!(sum, r.totals.shared_area);
    assert_eq!(r.totals.apportioned, r.totals.shared_area);
    assert!(r.shared.iter().any(|s| s.area == area("120.00")));

    // Redrawing the floor makes the result stale until it is run again.
    let mut f = doc_units(&h).plan.floor(1).cloned().expect("floor 1");
    f.households[0].outline = Outline::rect(0.0, 0.0, 7.0, 8.0);
    let c = ops::set_floor(h.state().editor.doc(), ZRZH, "1", 1, Some(f), "redraw", &who()).expect("redraw");
    h.state_mut().push(AppCommand::Edit(c));
    h.run_steps(3);
    assert!(h.query_by_label_contains("已过期").is_some());
    // Ctrl+Z undoes the redraw: the result is current again.
    h.state_mut().push(AppCommand::Undo);
    h.run_steps(3);
    assert!(h.query_by_label("结果为最新").is_some());
}
