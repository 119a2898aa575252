//! Floor plans per logical building (逻辑幢) and nominal floor, driven through the
//! panels: two logical buildings each draw their own floor 1 and copy it onto their
//! own floors with the 复制 button; the 楼盘表's export buttons write files that read
//! back; plans of before the key (a project's, a folder's `floorplan.json`, a
//! journal's floor edits) are keyed from the building table when they are read.

use std::path::Path;

use cadastre_core::building::{read_csv, read_xlsx};
use cadastre_core::floorplan::{FloorPlan, LocalPoint};
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT as _, Queryable};
use egui_kittest::Harness;
use survey_desktop::app::{App, StartOptions};
use survey_desktop::model::units::{ops, FloorKey};
use survey_desktop::model::Editor;
use survey_desktop::project::Project;

mod common;
use common::kit::{click_at, click_label, harness, pdf_text, type_into};
use common::units::{area, building, draw, floor_one, grid, measured, saved_then_autosaved, units, who, ZRZH};

/// Draws household `hh` (listed as `listed`) as the rectangle (x0, 0)–(x1, 8) on
/// the floor shown, by its corners on the canvas.
fn draw_household(h: &mut Harness<'_, App>, listed: &str, x0: f64, x1: f64) {
    click_label(h, listed, 2);
    let corners: [LocalPoint; 5] = [[x0, 0.0], [x1, 0.0], [x1, 8.0], [x0, 8.0], [x0, 0.0]];
    for c in corners {
        let p = h.state().units.floor.canvas.to_screen(c).expect("canvas shown");
        click_at(h, p);
    }
    h.run_steps(3);
}

/// Shows another floor with the floor picker.
fn pick_floor(h: &mut Harness<'_, App>, to: &str) {
    h.get_by_role_and_label(Role::ComboBox, "楼层").click();
    h.run_steps(2);
    click_label(h, to, 3);
    assert_eq!(shown_floor(h), to);
}

/// The floor picker's text.
fn shown_floor(h: &Harness<'_, App>) -> String {
    h.get_by_role_and_label(Role::ComboBox, "楼层").accesskit_node().value().unwrap_or_default()
}

fn households_on(h: &Harness<'_, App>, ljzh: &str, floor: i32) -> Vec<String> {
    let u = units(h);
    u.plan.floor_in(ljzh, floor).map(|f| f.households.iter().map(|x| x.hh.clone()).collect()).unwrap_or_default()
}

#[test]
fn each_logical_building_draws_its_own_floor_one_and_copies_it_onto_its_own_floors() {
    // 逻辑幢1: floors 1-3 × 2 flats (0001-0006); 逻辑幢2: floors 1-2 × 1 shop (0007, 0008).
    let ed = building(&[grid("1", 1..=3, 1, 2), grid("2", 1..=2, 1, 1)]);
    let mut h = harness(App::with_document(ed.doc().clone()));
    click_label(&mut h, "分层分户图", 3);
    assert_eq!(h.state().units.floor.floor, Some(FloorKey::new("1", 1)));
    assert_eq!(shown_floor(&h), "逻辑幢1 第1层 · 实际层 1");
    draw_household(&mut h, "101 0001", 0.0, 10.0);
    draw_household(&mut h, "102 0002", 10.0, 20.0);
    assert_eq!(measured(&h, "0002"), Some(area("80.00")), "{}", h.state().status);
    // 逻辑幢2's floor 1: its shop alone, drawn where 逻辑幢1's flat is on its own plan.
    pick_floor(&mut h, "逻辑幢2 第1层 · 实际层 1");
    assert_eq!(h.state().units.floor.floor, Some(FloorKey::new("2", 1)));
    assert!(h.query_by_label("101 0001").is_none(), "逻辑幢1's flats are not on this plan");
    draw_household(&mut h, "101 0007", 0.0, 12.0);
    assert_eq!(measured(&h, "0007"), Some(area("96.00")), "{}", h.state().status);
    assert_eq!(households_on(&h, "1", 1), ["0001", "0002"]);
    assert_eq!(households_on(&h, "2", 1), ["0007"]);
    // Its 分户图: the shop on 逻辑幢2's floor 1, with its own area.
    let dir = tempfile::tempdir().expect("tmp");
    let pdf = dir.path().join("分户图.pdf");
    h.state_mut().dialogs.queue(Some(pdf.clone()));
    click_label(&mut h, "打印分户图 PDF…", 3);
    let text = pdf_text(&pdf);
    assert!(text.contains("96.00") && text.contains("101"), "{text}");

    // 复制: 逻辑幢1's floor 1 onto its floors 2-3; 逻辑幢2's floor 2 is not touched.
    pick_floor(&mut h, "逻辑幢1 第1层 · 实际层 1");
    type_into(&mut h, "复制到层", "2-3");
    click_label(&mut h, "复制", 3);
    assert_eq!(households_on(&h, "1", 2), ["0003", "0004"], "{}", h.state().status);
    assert_eq!(households_on(&h, "1", 3), ["0005", "0006"]);
    assert!(households_on(&h, "2", 2).is_empty());
    assert_eq!(measured(&h, "0006"), Some(area("80.00")), "the copies' 套内 are in the table");
    assert!(units(&h).table.history().entries().iter().any(|c| c.note.contains("复制楼层")));
    // The copied floor is shown and lists its drawn households with their areas.
    pick_floor(&mut h, "逻辑幢1 第3层 · 实际层 3");
    assert!(h.query_by_label("301 0005").is_some() && h.query_by_label("302 0006").is_some());
    assert!(h.query_by_label("未画").is_none(), "both copied flats are drawn");
    // The apportionment keeps the shared parts of the two floors 1 apart.
    let ids: Vec<String> = units(&h).plan.shared_inputs().into_iter().map(|s| s.id).collect();
    assert!(ids.contains(&"F1-outer-wall".into()) && ids.contains(&"L2-F1-outer-wall".into()), "{ids:?}");
}

#[test]
fn the_building_tables_export_buttons_write_csv_and_xlsx_that_read_back() {
    let ed = building(&[grid("1", 1..=2, 2, 2), grid("2", 1..=1, 1, 1)]);
    let mut h = harness(App::with_document(ed.doc().clone()));
    click_label(&mut h, "楼盘表", 3);
    let dir = tempfile::tempdir().expect("tmp");
    let want: Vec<(String, String, i32)> =
        units(&h).table.current().map(|x| (x.hh.clone(), x.ljzh.clone(), x.floor)).collect();
    for (button, name) in [("导出 CSV…", "楼盘表.csv"), ("导出 XLSX…", "楼盘表.xlsx")] {
        let path = dir.path().join(name);
        h.state_mut().dialogs.queue(Some(path.clone()));
        click_label(&mut h, button, 3);
        assert_eq!(h.state().dialogs.pending(), 0, "{button} asked for a file");
        assert!(h.state().status.contains(name), "{}", h.state().status);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{button} wrote nothing: {e}"));
        let (table, report) = if name.ends_with("csv") { read_csv(&bytes, &who()) } else { read_xlsx(&bytes, &who()) }
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(report.rejected.is_empty(), "{name}: {:?}", report.rejected);
        assert_eq!(table.zrzh, ZRZH);
        let got: Vec<(String, String, i32)> =
            table.current().map(|x| (x.hh.clone(), x.ljzh.clone(), x.floor)).collect();
        assert_eq!(got, want, "{name}");
    }
    // A cancelled dialog writes nothing and says nothing.
    h.state_mut().dialogs.queue(None);
    let before = h.state().status.clone();
    click_label(&mut h, "导出 CSV…", 3);
    assert_eq!(h.state().status, before);
}

/// A `floorplan.json` as an older app wrote it: its floors name no LJZH.
fn without_keys(json: &str) -> String {
    json.replace("\"LJZH\": \"1\",", "")
}

#[test]
fn a_folder_with_an_older_floorplan_json_opens_with_its_floors_keyed() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district");
    let walk_up = "330106001001GB00002F0001";
    let dir = tempfile::tempdir().expect("tmp");
    let folder = dir.path().join("district");
    std::fs::create_dir_all(folder.join("buildings")).expect("mkdir");
    for e in std::fs::read_dir(&sample).expect("sample").flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), folder.join(e.file_name())).expect("copy");
        }
    }
    for e in std::fs::read_dir(sample.join("buildings")).expect("buildings").flatten() {
        std::fs::copy(e.path(), folder.join("buildings").join(e.file_name())).expect("copy");
    }
    let plan_file = folder.join(format!("buildings/{walk_up}.floorplan.json"));
    let current = std::fs::read_to_string(&plan_file).expect("plan");
    let old = without_keys(&current);
    assert!(!old.contains("LJZH") && current.contains("\"LJZH\": \"1\""), "the sample names its floors' LJZH");
    std::fs::write(&plan_file, &old).expect("write");
    let mut app = App::new(StartOptions { data_dir: Some(dir.path().join("data")), ..StartOptions::default() });
    app.open_path(&folder);
    let plan = &app.editor.doc().units[walk_up].plan;
    assert_eq!(plan.floors.len(), 6);
    assert!(plan.floors.iter().all(|f| f.ljzh == "1"), "keyed from the table");
    assert_eq!(plan, &FloorPlan::from_json(&current).expect("sample plan"), "as the current file reads");
}

#[test]
fn a_project_saved_before_floors_were_keyed_opens_and_recovers_its_floor_edits() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("old.gpkg");
    let mut ed = building(&[grid("1", 1..=2, 1, 2), grid("2", 1..=1, 1, 1)]);
    draw(&mut ed, ZRZH, floor_one(10.0));
    // After the save, a redraw only in the journal (autosaved), then the app is gone.
    let c = ops::set_floor(ed.doc(), ZRZH, "1", 1, Some(floor_one(9.0)), "redraw", &who()).expect("redraw");
    saved_then_autosaved(&path, &mut ed, c);
    // As an older app wrote it: no logical building on the plan's floors or the floor edits.
    {
        let db = rusqlite::Connection::open(&path).expect("sqlite");
        // A floor's key (`"LJZH":"1","MYC"`), a floor edit's (`"ljzh":"1","floor"`); the
        // households' own LJZH stays.
        for (table, column, key, next) in [
            ("desk_documents", "json", r#""LJZH":"1","#, r#""MYC""#),
            ("desk_journal", "step", r#""LJZH":"1","#, r#""MYC""#),
            ("desk_journal", "step", r#""ljzh":"1","#, r#""floor""#),
        ] {
            let count = |db: &rusqlite::Connection| -> i64 {
                let sql = format!("SELECT count(*) FROM {table} WHERE instr({column}, ?1) > 0");
                db.query_row(&sql, [format!("{key}{next}")], |r| r.get(0)).expect("count")
            };
            assert!(count(&db) > 0, "{table} has {key}{next}");
            let sql = format!("UPDATE {table} SET {column} = replace({column}, ?1, ?2)");
            db.execute(&sql, [format!("{key}{next}"), next.to_owned()]).expect("strip");
            assert_eq!(count(&db), 0, "{table}");
        }
    }
    let (_, opened) = Project::open(&path).expect("open");
    assert!(opened.doc.units[ZRZH].plan.floors.iter().all(|f| f.ljzh == "1"), "keyed on open");
    let (recovered, _): (Editor, _) = opened.into_editor(true).expect("the journal's floor edit applies");
    assert_eq!(recovered.doc(), ed.doc());
    assert_eq!(
        recovered.doc().units[ZRZH].table.get("0001").and_then(|x| x.measured_inner),
        Some(area("72.00")),
        "the redraw"
    );
}

#[test]
fn opening_the_sample_district_brings_its_tables_without_a_warning() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district");
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = App::new(StartOptions { data_dir: Some(dir.path().into()), ..StartOptions::default() });
    app.open_path(&sample);
    let status = app.status.clone();
    // A problem with a file would follow in brackets.
    assert!(status.ends_with("; 4 张楼盘表"), "a warning on opening the sample: {status}");
    let tables = survey_desktop::import::tables::read_folder_tables(&sample, "测量员");
    assert!(tables.problems.is_empty(), "{:?}", tables.problems);
    // The walk-up's drawn stairwells are its shared spaces, not a second time from its apportion.json.
    let walk_up = &app.editor.doc().units["330106001001GB00002F0001"];
    let drawn: Vec<String> = walk_up.plan.shared_inputs().into_iter().map(|s| s.id).collect();
    assert!(drawn.iter().any(|id| id == "F1-stair1"), "{drawn:?}");
    assert!(walk_up.setup.shared.iter().all(|s| !drawn.contains(&s.id)), "{:?}", walk_up.setup.shared);
    let input = walk_up.apportion_input().expect("the walk-up apportions");
    assert!(input.shared.iter().any(|s| s.id == "F6-stair2"));
}
