//! The real binary under Xvfb: `--panel building-table` and `--panel
//! floor-plan` screenshots of a project with a building table (two logical
//! buildings, a duplex top floor) and a drawn floor (Chinese labels), checked
//! for content; copies are kept in `$DESK_SHOTS` when set, to look at.

use std::path::Path;

use cadastre_core::building::{FloorSpec, GridSpec, PhysicalFloors};
use cadastre_core::floorplan::{HouseholdPlan, Outline};
use survey_desktop::project::Project;

mod common;
use common::units::{building, draw, flat, floor_one, grid, ZRZH};
use common::{colours, menu_interior_stroke, read_png, Xvfb};

fn project(path: &Path) {
    // The top nominal floor is a duplex (实际层 6-7).
    let mut flats = grid("1", 1..=6, 2, 2);
    flats.floors[5] = FloorSpec { nominal: 6, physical: PhysicalFloors { from: 6, to: 7 } };
    // A second logical building: two floors of shops.
    let shops = GridSpec { usage: "商业".into(), zone: "shop".into(), ..grid("2", 1..=2, 1, 2) };
    let mut ed = building(&[flats, shops]);
    // 9 m deep flats either side of the stairwell.
    let deep = |hh: &str, room: &str, x0: f64, x1: f64| HouseholdPlan {
        outline: Outline::rect(x0, 0.0, x1, 9.0),
        ..flat(hh, room, x0, x1)
    };
    let mut floor = floor_one(9.5);
    floor.households = vec![deep("0001", "101", 0.0, 9.5), deep("0002", "102", 12.5, 22.0)];
    floor.shared[0].outline = Outline::rect(9.5, 0.0, 12.5, 9.0);
    draw(&mut ed, ZRZH, floor);
    Project::create(path).and_then(|mut p| p.save(&mut ed, &Default::default())).expect("project");
}

fn shot(x: &Xvfb, project: &Path, panel: &str, png: &Path, data: &Path) {
    let out = x
        .command()
        .arg(project)
        .args(["--panel", panel, "--size", "1200x760", "--screenshot"])
        .arg(png)
        .env("SURVEY_DESKTOP_DATA", data)
        .output()
        .expect("run survey-desktop");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(stderr.contains("Chinese font Noto Sans CJK SC"), "{stderr}");
    let shot = read_png(png, stderr);
    assert_eq!((shot.width, shot.height), (1200, 760));
    assert!(colours(&shot) > 200, "{panel}: {} colours", colours(&shot));
    // Chinese glyphs, not boxes, in the menu labels above the tab.
    let stroke = menu_interior_stroke(&shot);
    assert!(stroke >= 5, "{panel}: menu labels have no inner strokes ({stroke} px): boxes instead of Chinese?");
    if let Some(dir) = std::env::var_os("DESK_SHOTS") {
        let _ = std::fs::copy(png, Path::new(&dir).join(format!("{panel}.png")));
    }
}

#[test]
fn screenshots_of_the_building_table_and_a_floor_plan() {
    let x = Xvfb::start();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("p.gpkg");
    project(&path);
    shot(&x, &path, "building-table", &dir.path().join("table.png"), dir.path());
    shot(&x, &path, "floor-plan", &dir.path().join("floor.png"), dir.path());
}
