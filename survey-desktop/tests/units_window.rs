//! The real binary under Xvfb: `--panel building-table` and `--panel
//! floor-plan` screenshots of a project with a building table and a drawn
//! floor (Chinese labels), checked for content; copies are kept in
//! `$DESK_SHOTS` when set, to look at.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use cadastre_core::building::{Editor as Who, FloorSpec, GridSpec};
use cadastre_core::floorplan::{FloorPlanFloor, HouseholdPlan, Outline, SharedKind, SharedSpace};
use survey_desktop::model::units::ops;
use survey_desktop::model::{Document, Editor};
use survey_desktop::project::Project;

const BIN: &str = env!("CARGO_BIN_EXE_survey-desktop");
const ZRZH: &str = "330106001001GB00001F0001";

fn project(path: &Path) {
    let by = Who::now("张三");
    let mut ed = Editor::new(Document::default());
    ed.execute(ops::create(ed.doc(), ZRZH).expect("create")).expect("run");
    let spec = GridSpec {
        ljzh: "1".into(),
        floors: (1..=6).map(FloorSpec::simple).collect(),
        stair_units: 2,
        rooms_per_unit: 2,
        usage: "住宅".into(),
        zone: "res".into(),
    };
    ed.execute(ops::generate_grid(ed.doc(), ZRZH, &spec, &by).expect("grid")).expect("run");
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

fn shot(display: &str, project: &Path, panel: &str, png: &Path, data: &Path) {
    let out = Command::new(BIN)
        .arg(project)
        .args(["--panel", panel, "--size", "1200x760", "--screenshot"])
        .arg(png)
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .env("SURVEY_DESKTOP_DATA", data)
        .output()
        .expect("run survey-desktop");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(stderr.contains("Chinese font Noto Sans CJK SC"), "{stderr}");
    let mut reader =
        png::Decoder::new(BufReader::new(std::fs::File::open(png).expect("png"))).read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("pixels");
    assert_eq!((info.width, info.height), (1200, 760));
    let mut colours: Vec<[u8; 3]> = buf[..info.buffer_size()].chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 200, "{panel}: {} colours", colours.len());
    if let Some(dir) = std::env::var_os("DESK_SHOTS") {
        let _ = std::fs::copy(png, Path::new(&dir).join(format!("{panel}.png")));
    }
}

#[test]
fn screenshots_of_the_building_table_and_a_floor_plan() {
    let mut xvfb = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0", "1400x900x24", "-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb must be installed (scripts/lib.sh installs it)");
    let mut line = String::new();
    BufReader::new(xvfb.stdout.take().expect("stdout")).read_line(&mut line).expect("display");
    let display = format!(":{}", line.trim());
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("p.gpkg");
    project(&path);
    shot(&display, &path, "building-table", &dir.path().join("table.png"), dir.path());
    shot(&display, &path, "floor-plan", &dir.path().join("floor.png"), dir.path());
    let _ = xvfb.kill();
    let _ = xvfb.wait();
}
