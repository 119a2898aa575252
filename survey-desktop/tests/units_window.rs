//! The real binary under Xvfb: `--panel building-table` and `--panel
//! floor-plan` screenshots of a project with a building table (two logical
//! buildings, a duplex top floor) and a drawn floor (Chinese labels), checked
//! for content; copies are kept in `$DESK_SHOTS` when set, to look at.

use std::path::Path;

use cadastre_core::building::{Editor as Who, FloorSpec, GridSpec, PhysicalFloors};
use cadastre_core::floorplan::{FloorPlanFloor, HouseholdPlan, Outline, SharedKind, SharedSpace};
use survey_desktop::model::units::ops;
use survey_desktop::model::{Document, Editor};
use survey_desktop::project::Project;

mod common;
use common::{colours, menu_interior_stroke, read_png, Xvfb};

const ZRZH: &str = "330106001001GB00001F0001";

fn project(path: &Path) {
    let by = Who::now("张三");
    let mut ed = Editor::new(Document::default());
    ed.execute(ops::create(ed.doc(), ZRZH, &by).expect("create")).expect("run");
    let spec = GridSpec {
        ljzh: "1".into(),
        // The top nominal floor is a duplex (实际层 6-7).
        floors: (1..=6)
            .map(|n| {
                if n == 6 {
                    FloorSpec { nominal: 6, physical: PhysicalFloors { from: 6, to: 7 } }
                } else {
                    FloorSpec::simple(n)
                }
            })
            .collect(),
        stair_units: 2,
        rooms_per_unit: 2,
        usage: "住宅".into(),
        zone: "res".into(),
    };
    ed.execute(ops::generate_grid(ed.doc(), ZRZH, &spec, &by).expect("grid")).expect("run");
    // A second logical building: two floors of shops.
    let shops = GridSpec {
        ljzh: "2".into(),
        floors: (1..=2).map(FloorSpec::simple).collect(),
        stair_units: 1,
        rooms_per_unit: 2,
        usage: "商业".into(),
        zone: "shop".into(),
    };
    ed.execute(ops::generate_grid(ed.doc(), ZRZH, &shops, &by).expect("shops")).expect("run");
    let h = |hh: &str, room: &str, x0: f64, x1: f64| HouseholdPlan {
        hh: hh.into(),
        room: room.into(),
        stair_unit: "1".into(),
        outline: Outline::rect(x0, 0.0, x1, 9.0),
        balconies: vec![],
    };
    let floor = FloorPlanFloor {
        floor: 1,
        households: vec![h("0001", "101", 0.0, 9.5), h("0002", "102", 12.5, 22.0)],
        shared: vec![SharedSpace {
            id: "stair1".into(),
            kind: SharedKind::Stairwell,
            name: "1单元楼梯间".into(),
            outline: Outline::rect(9.5, 0.0, 12.5, 9.0),
            serves: cadastre_core::apportion::Serves { building: Some(true), ..Default::default() },
        }],
    };
    ed.execute(ops::set_floor(ed.doc(), ZRZH, 1, Some(floor), "draw", &by).expect("floor")).expect("run");
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
