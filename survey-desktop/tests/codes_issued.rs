//! Codes issued on acceptance, into the project: a new building's table moves from its
//! temporary ZRZH to the issued code with its households' BDCDYH (an HH the store
//! numbered otherwise follows the code), floor plan and apportionment following; a
//! known building's new household gets its code; one undo step, recorded with who
//! and when; the app says what it wrote.

use std::collections::BTreeMap;

use cadastre_core::apportion::Serves;
use cadastre_core::building::Target;
use egui_kittest::kittest::Queryable;
use survey_desktop::app::command::AppCommand;
use survey_desktop::app::App;
use survey_desktop::model::units::{ops, Staleness};
use survey_desktop::model::{Document, Editor};
use survey_desktop::submit::{apply_codes, ReviewState};

mod common;
use common::kit::harness;
use common::units::{add_building, area, draw, floor_one, grid, run, who};

const TEMP: &str = "T1F0001";
const ZRZH: &str = "330106001003GB00012F0001";

/// A building under a temporary id: 2 floors × 2 households, floor 1 drawn (with a
/// stairwell serving households 0001 and 0002 by list), the apportionment run.
fn project(zrzh: &str) -> Editor {
    let mut ed = Editor::new(Document::default());
    add_building(&mut ed, zrzh, &[grid("1", 1..=2, 1, 2)]);
    let mut floor = floor_one(10.0);
    floor.shared[0].serves = Serves { units: Some(vec!["0001".into(), "0002".into()]), ..Serves::default() };
    draw(&mut ed, zrzh, floor);
    let all: Vec<String> = ed.doc().units[zrzh].table.current().map(|h| h.hh.clone()).collect();
    let values = ops::BatchValues { predicted_inner: Some(area("80.00")), ..Default::default() };
    let c = ops::batch_edit(ed.doc(), zrzh, &all, &values, &who()).expect("batch").0;
    run(&mut ed, c);
    let c = ops::run_apportionment(ed.doc(), zrzh, &who()).expect("run").0;
    run(&mut ed, c);
    assert_eq!(ed.doc().units[zrzh].staleness(), Staleness::Current);
    ed
}

fn code(hh: &str) -> String {
    format!("{ZRZH}{hh}")
}

#[test]
fn a_new_buildings_table_moves_to_its_code_with_household_codes_in_one_undo_step() {
    let mut ed = project(TEMP);
    let before = ed.doc().clone();
    // The store numbered the second floor's households 0007 and 0008.
    let codes = BTreeMap::from([
        (TEMP.to_owned(), ZRZH.to_owned()),
        (format!("{TEMP}#0001"), code("0001")),
        (format!("{TEMP}#0002"), code("0002")),
        (format!("{TEMP}#0003"), code("0007")),
        (format!("{TEMP}#0004"), code("0008")),
    ]);
    let applied = apply_codes(ed.doc(), &codes, &who()).expect("codes fit").expect("something to write");
    assert_eq!((applied.tables, applied.households), (1, 4));
    run(&mut ed, applied.command);
    let doc = ed.doc();
    assert!(!doc.units.contains_key(TEMP));
    let u = &doc.units[ZRZH];
    assert_eq!((u.table.zrzh.as_str(), u.plan.zrzh.as_str()), (ZRZH, ZRZH));
    let coded: Vec<(String, Option<String>)> = u.table.current().map(|h| (h.hh.clone(), h.unit_code.clone())).collect();
    let expected: Vec<(String, Option<String>)> =
        ["0001", "0002", "0007", "0008"].iter().map(|hh| ((*hh).to_owned(), Some(code(hh)))).collect();
    assert_eq!(coded, expected);
    assert!(u.table.current().all(|h| h.zrzh == ZRZH));
    // The renamed household keeps its data; the plan and the apportionment follow.
    assert_eq!(u.table.get("0007").map(|h| (h.floor, h.room.as_str())), Some((2, "201")));
    assert_eq!(u.staleness(), Staleness::Current, "the same data under new names");
    assert_eq!(u.last_result().expect("run").expect("ok").building, ZRZH);
    // Who and when: one entry per household, one for the building.
    let by_code: Vec<_> = u.table.history().entries().iter().filter(|c| c.action == "code").collect();
    assert_eq!(by_code.len(), 5);
    assert!(by_code.iter().all(|c| c.who == "张三" && c.at == who().at));
    assert!(by_code.iter().any(|c| c.target == Target::Household("0007".into()) && c.note.contains("T1F0001#0003")));
    // Applied again: nothing left to write. Undone: the temporary table is back, exactly.
    assert!(apply_codes(ed.doc(), &codes, &who()).expect("fits").is_none());
    assert!(ed.undo().expect("undo"));
    assert_eq!(ed.doc(), &before);
}

#[test]
fn a_known_buildings_new_household_gets_its_code_and_a_clash_is_refused() {
    let mut ed = project(ZRZH);
    let codes = BTreeMap::from([(format!("{ZRZH}#0004"), code("0009"))]);
    let applied = apply_codes(ed.doc(), &codes, &who()).expect("fits").expect("something");
    assert_eq!((applied.tables, applied.households), (0, 1));
    run(&mut ed, applied.command);
    let u = &ed.doc().units[ZRZH];
    assert_eq!(u.table.get("0009").and_then(|h| h.unit_code.clone()), Some(code("0009")));
    assert!(u.table.get("0004").is_none());
    // A code whose household number another household has: refused, nothing changes.
    let clash = BTreeMap::from([(format!("{ZRZH}#0003"), code("0001"))]);
    let e = apply_codes(ed.doc(), &clash, &who()).expect_err("clash");
    assert!(e.to_string().contains("0001"), "{e}");
    // A code of another building is not taken for this one.
    let foreign = BTreeMap::from([(format!("{ZRZH}#0003"), "330106001003GB00099F00010010".to_owned())]);
    assert!(apply_codes(ed.doc(), &foreign, &who()).is_err());
}

#[test]
fn the_app_writes_the_codes_and_says_how_many() {
    let ed = project(TEMP);
    let mut h = harness(App::with_document(ed.doc().clone()));
    let accepted = ReviewState {
        status: "accepted".into(),
        codes: BTreeMap::from([
            (TEMP.to_owned(), ZRZH.to_owned()),
            (format!("{TEMP}#0001"), code("0001")),
            (format!("{TEMP}#0002"), code("0002")),
        ]),
        ..ReviewState::default()
    };
    h.state_mut().push(AppCommand::ReviewArrived(Box::new(accepted)));
    h.run_steps(3);
    h.get_by_label("审核通过，已写入入库代码：宗地 0，幢 0，户 2");
    let u = &h.state().editor.doc().units[ZRZH];
    assert_eq!(u.table.get("0002").and_then(|x| x.unit_code.clone()), Some(code("0002")));
    // The building tab shows the moved table.
    h.get_by_label("楼盘表").click();
    h.run_steps(3);
    assert_eq!(h.state().units.zrzh.as_deref(), Some(ZRZH), "the building picker moved to the issued ZRZH");
    assert!(h.query_by_label_contains("  0001\n").is_some(), "its households are shown");
}

#[test]
fn household_codes_alone_name_the_building_of_a_temporary_table() {
    let mut ed = project(TEMP);
    let codes: BTreeMap<String, String> =
        ["0001", "0002", "0003", "0004"].iter().map(|hh| (format!("{TEMP}#{hh}"), code(hh))).collect();
    let applied = apply_codes(ed.doc(), &codes, &who()).expect("fits").expect("something");
    assert_eq!((applied.tables, applied.households), (1, 4));
    run(&mut ed, applied.command);
    assert!(ed.doc().units.get(ZRZH).is_some_and(|u| u.table.current().all(|h| h.unit_code.is_some())));
}
