//! Buildings for the tests: who makes the changes, building tables (楼盘表) generated
//! through the model's commands, and floor plans of flats along a stairwell.

use cadastre_core::apportion::{Area, Serves};
use cadastre_core::building::{Editor as Who, FloorSpec, GridSpec};
use cadastre_core::floorplan::{FloorPlanFloor, HouseholdPlan, Outline, SharedKind, SharedSpace};
use chrono::DateTime;
use egui_kittest::Harness;
use survey_desktop::app::App;
use survey_desktop::model::units::{ops, BuildingUnits};
use survey_desktop::model::{Command, Document, Editor};
use survey_desktop::project::Project;

/// The natural building most tests use.
pub const ZRZH: &str = "330106001001GB00001F0001";

/// Who makes the changes, at a fixed time.
pub fn who() -> Who {
    Who { who: "张三".into(), at: DateTime::from_timestamp(1_780_000_000, 0).expect("time") }
}

/// An area from its text ("80.00").
pub fn area(s: &str) -> Area {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Runs a command.
pub fn run(ed: &mut Editor, c: Command) {
    ed.execute(c).unwrap_or_else(|e| panic!("{e}"));
}

/// A grid of logical building `ljzh`: nominal floors `floors` (each its own physical
/// floor) × `stair_units` × `rooms` flats (住宅, zone `res`).
pub fn grid(ljzh: &str, floors: std::ops::RangeInclusive<i32>, stair_units: u32, rooms: u32) -> GridSpec {
    GridSpec {
        ljzh: ljzh.into(),
        floors: floors.filter(|&f| f != 0).map(FloorSpec::simple).collect(),
        stair_units,
        rooms_per_unit: rooms,
        usage: "住宅".into(),
        zone: "res".into(),
    }
}

/// A new building `zrzh` in `ed` with the households of each grid.
pub fn add_building(ed: &mut Editor, zrzh: &str, grids: &[GridSpec]) {
    let c = ops::create(ed.doc(), zrzh, &who()).unwrap_or_else(|e| panic!("{e}"));
    run(ed, c);
    for g in grids {
        let c = ops::generate_grid(ed.doc(), zrzh, g, &who()).unwrap_or_else(|e| panic!("{e}"));
        run(ed, c);
    }
}

/// An empty project with building [`ZRZH`] of these grids.
pub fn building(grids: &[GridSpec]) -> Editor {
    let mut ed = Editor::new(Document::default());
    add_building(&mut ed, ZRZH, grids);
    ed
}

/// Flat `hh` (room `room`, stair unit 1): x from `x0` to `x1`, 8 m deep.
pub fn flat(hh: &str, room: &str, x0: f64, x1: f64) -> HouseholdPlan {
    HouseholdPlan {
        hh: hh.into(),
        room: room.into(),
        stair_unit: "1".into(),
        outline: Outline::rect(x0, 0.0, x1, 8.0),
        balconies: vec![],
    }
}

/// Floor 1 of logical building 1: flat 0001 (room 101) from 0 to `width`, the
/// stairwell `stair1` from 10 to 13 serving the building, flat 0002 (102) from 13 to 23.
pub fn floor_one(width: f64) -> FloorPlanFloor {
    FloorPlanFloor {
        ljzh: "1".into(),
        floor: 1,
        households: vec![flat("0001", "101", 0.0, width), flat("0002", "102", 13.0, 23.0)],
        shared: vec![SharedSpace {
            id: "stair1".into(),
            kind: SharedKind::Stairwell,
            name: "1单元楼梯间".into(),
            outline: Outline::rect(10.0, 0.0, 13.0, 8.0),
            serves: Serves { building: Some(true), ..Serves::default() },
        }],
    }
}

/// Draws `floor` (its logical building and nominal floor) into building `zrzh`.
pub fn draw(ed: &mut Editor, zrzh: &str, floor: FloorPlanFloor) {
    let (ljzh, n) = (floor.ljzh.clone(), floor.floor);
    let c = ops::set_floor(ed.doc(), zrzh, &ljzh, n, Some(floor), "draw", &who()).unwrap_or_else(|e| panic!("{e}"));
    run(ed, c);
}

/// `ed` saved as a new project at `path`, then `after` made and only autosaved (in the
/// journal), then the project closed as by a crash.
pub fn saved_then_autosaved(path: &std::path::Path, ed: &mut Editor, after: Command) {
    let mut project = Project::create(path).unwrap_or_else(|e| panic!("{e}"));
    project.save(ed, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    run(ed, after);
    project.autosave(ed).unwrap_or_else(|e| panic!("{e}"));
}

/// Building [`ZRZH`] of the app in the harness.
pub fn units(h: &Harness<'_, App>) -> BuildingUnits {
    h.state().editor.doc().units[ZRZH].clone()
}

/// The measured 套内 of household `hh` of building [`ZRZH`].
pub fn measured(h: &Harness<'_, App>, hh: &str) -> Option<Area> {
    units(h).table.get(hh).and_then(|x| x.measured_inner)
}
