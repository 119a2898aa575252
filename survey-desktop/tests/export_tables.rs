//! The result package the app exports carries the building tables (楼盘表), their floor
//! plans and, when the apportionment was run, its input, where the server's intake reads
//! them (`buildings/<ZRZH>.csv`, `.floorplan.json`, `.apportion.json`); a stale
//! apportionment stops the export with a reason and leaves no file behind. An unpacked
//! package opened as a folder gives the tables, plans and apportionment back.

use std::path::Path;

use cadastre_core::apportion::{Apportion, ApportionInput, Area};
use cadastre_core::building::read_csv;
use cadastre_core::floorplan::FloorPlan;
use cadastre_core::io::LoadOptions;
use cadastre_core::package::{Limits, Package};
use cadastre_core::qc::QcConfig;
use survey_desktop::app::units::print::apportionment_table;
use survey_desktop::app::{App, StartOptions};
use survey_desktop::model::units::ops;
use survey_desktop::model::{Document, Editor};
use survey_desktop::submit::{export_package, ExportOptions};

mod common;
use common::units::{add_building, area, draw, floor_one, grid, run, who, ZRZH};

/// The sample district with one building's table (one floor, two households), its
/// floor plan drawn and its apportionment run.
fn district_with_a_table() -> Editor {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district");
    let sub = survey_desktop::import::read(&dir, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut ed = Editor::new(Document::from_submission(sub).0);
    add_building(&mut ed, ZRZH, &[grid("1", 1..=1, 1, 2)]);
    draw(&mut ed, ZRZH, floor_one(10.0));
    let (c, _) = ops::run_apportionment(ed.doc(), ZRZH, &who()).unwrap_or_else(|e| panic!("{e}"));
    run(&mut ed, c);
    ed
}

fn export(doc: &Document, out: &Path) -> Result<(), String> {
    export_package(doc, &ExportOptions::default(), &QcConfig::default(), out).map(|_| ()).map_err(|e| e.to_string())
}

/// The package of `ed`, exported into a temporary folder (kept while it is used) and read back.
fn exported(ed: &Editor) -> (tempfile::TempDir, Package<std::io::Cursor<Vec<u8>>>) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("成果包.zip");
    export(ed.doc(), &out).unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(&out).unwrap_or_else(|e| panic!("{e}"));
    let pkg = Package::open(std::io::Cursor::new(bytes), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    (dir, pkg)
}

#[test]
fn the_package_carries_every_building_table_and_the_apportionment_that_was_run() {
    let ed = district_with_a_table();
    let (_dir, mut pkg) = exported(&ed);
    pkg.verify().unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = pkg.manifest().files.iter().map(|f| f.path.clone()).collect();
    // Every table of the project with households is in the package, read back the same.
    let with_households: Vec<&String> =
        ed.doc().units.iter().filter(|(_, u)| u.table.current().next().is_some()).map(|(z, _)| z).collect();
    assert!(!with_households.is_empty());
    for zrzh in &with_households {
        let name = format!("buildings/{zrzh}.csv");
        assert!(names.contains(&name), "{name} not in {names:?}");
        let csv = pkg.read_file(&name).unwrap_or_else(|e| panic!("{e}"));
        let (table, _) = read_csv(csv.as_slice(), &who()).unwrap_or_else(|e| panic!("{e}"));
        let want: Vec<String> = ed.doc().units[*zrzh].table.current().map(|h| h.hh.clone()).collect();
        let got: Vec<String> = table.current().map(|h| h.hh.clone()).collect();
        assert_eq!(got, want, "{zrzh}");
    }
    // The apportionment input is the one that was run, and it apportions to the same result.
    let json = pkg.read_file(&format!("buildings/{ZRZH}.apportion.json")).unwrap_or_else(|e| panic!("{e}"));
    let input =
        ApportionInput::from_json(std::str::from_utf8(&json).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    let u = &ed.doc().units[ZRZH];
    assert_eq!(Some(&input), u.setup.last_run.as_ref());
    let shipped = input.apportion().unwrap_or_else(|e| panic!("{e}"));
    let shown = u.last_result().unwrap_or_else(|| panic!("no result")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shipped.totals.apportioned, shown.totals.apportioned);
    assert!(shipped.totals.apportioned > Area::default());
}

#[test]
fn floor_plans_go_out_in_the_package_and_come_back_from_its_folder() {
    let ed = district_with_a_table();
    let (dir, mut pkg) = exported(&ed);
    let json = pkg.read_file(&format!("buildings/{ZRZH}.floorplan.json")).unwrap_or_else(|e| panic!("{e}"));
    let sent = &ed.doc().units[ZRZH];
    let plan = FloorPlan::from_json(std::str::from_utf8(&json).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan, sent.plan);
    // One plan: the one building drawn.
    let names: Vec<String> = pkg.manifest().files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(names.iter().filter(|n| n.ends_with(".floorplan.json")).count(), 1, "{names:?}");

    // Unpacked and opened as a folder, as a surveyor does with a returned package.
    let folder = dir.path().join("unpacked");
    pkg.extract_to(&folder).unwrap_or_else(|e| panic!("{e}"));
    let mut app = App::new(StartOptions { data_dir: Some(dir.path().join("data")), ..StartOptions::default() });
    app.open_path(&folder);
    let back = &app.editor.doc().units[ZRZH];
    assert_eq!(back.plan, sent.plan);
    let rows = |u: &survey_desktop::model::units::BuildingUnits| -> Vec<(String, Option<Area>)> {
        u.table.current().map(|h| (h.hh.clone(), h.measured_inner)).collect()
    };
    assert_eq!(rows(back), rows(sent));
    // The stairwell the plan draws is not taken a second time from the apportionment input:
    // the input rebuilt from what was read is the one that was run.
    assert!(back.setup.shared.is_empty(), "{:?}", back.setup.shared);
    assert_eq!(back.apportion_input().ok().as_ref(), sent.setup.last_run.as_ref());
    // Redrawing a floor of the imported plan works like any other.
    let c = ops::set_floor(app.editor.doc(), ZRZH, "1", 1, Some(floor_one(9.0)), "redraw", &who())
        .unwrap_or_else(|e| panic!("{e}"));
    app.editor.execute(c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(app.editor.doc().units[ZRZH].table.get("0001").and_then(|h| h.measured_inner), Some(area("72.00")));
}

#[test]
fn a_stale_apportionment_stops_the_export_with_a_reason_and_writes_nothing() {
    let mut ed = district_with_a_table();
    let cmd = ops::set_floor(ed.doc(), ZRZH, "1", 1, Some(floor_one(9.0)), "redraw", &who())
        .unwrap_or_else(|e| panic!("{e}"));
    ed.execute(cmd).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("成果包.zip");
    let err = export(ed.doc(), &out).err().unwrap_or_default();
    assert!(err.contains("分摊已过期") && err.contains(ZRZH), "{err}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).map(|d| d.count()).unwrap_or(99), 0, "a temporary file was left");
    // Run again: the export goes through.
    let (c, _) = ops::run_apportionment(ed.doc(), ZRZH, &who()).unwrap_or_else(|e| panic!("{e}"));
    ed.execute(c).unwrap_or_else(|e| panic!("{e}"));
    export(ed.doc(), &out).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.exists());
}

#[test]
fn the_apportionment_table_is_written_as_pdf_xlsx_or_html_by_extension() {
    let ed = district_with_a_table();
    let r = ed.doc().units[ZRZH].last_result().unwrap_or_else(|| panic!("not run")).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (name, magic) in
        [("分摊.pdf", &b"%PDF"[..]), ("分摊.xlsx", &b"PK\x03\x04"[..]), ("分摊.html", &b"<!DOCTYPE"[..])]
    {
        let path = dir.path().join(name);
        apportionment_table(&r, &path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(bytes.starts_with(magic), "{name} starts with {:?}", &bytes[..bytes.len().min(12)]);
    }
    // A folder that does not exist is said so, with the path.
    let bad = dir.path().join("无此目录/分摊.pdf");
    let err = apportionment_table(&r, &bad).err().unwrap_or_default();
    assert!(err.contains("无此目录"), "{err}");
}
