//! egui_kittest: a natural building with two logical buildings (逻辑幢) and a nominal
//! floor spanning two physical floors (实际层) in the 楼盘表, and the corners of a floor
//! plan's outlines edited on the canvas (insert on a party wall, drag with snapping,
//! delete, undo), the 套内 following into the table each time.

use cadastre_core::apportion::{Area, Serves};
use cadastre_core::building::{Editor as Who, FloorSpec, GridSpec, PhysicalFloors, Target};
use cadastre_core::floorplan::{FloorPlanFloor, HouseholdPlan, LocalPoint, Outline, SharedKind, SharedSpace};
use chrono::DateTime;
use egui::accesskit::Role;
use egui::{Event, Key, Modifiers, PointerButton, Pos2};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use survey_desktop::app::command::AppCommand;
use survey_desktop::app::App;
use survey_desktop::model::units::{ops, BuildingUnits};
use survey_desktop::model::Document;

const ZRZH: &str = "330106001001GB00001F0001";

fn who() -> Who {
    Who { who: "张三".into(), at: DateTime::from_timestamp(1_780_000_000, 0).expect("time") }
}

fn area(s: &str) -> Area {
    s.parse().expect("area")
}

fn harness(doc: Document) -> Harness<'static, App> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        // Frames 1/60 s apart, as on screen: a double-click is two clicks within 0.3 s.
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut App| app.ui_root(ui), App::with_document(doc));
    h.run_steps(4);
    h
}

fn units(h: &Harness<'_, App>) -> BuildingUnits {
    h.state().editor.doc().units[ZRZH].clone()
}

fn press_at(h: &mut Harness<'_, App>, pos: Pos2, pressed: bool) {
    h.event(Event::PointerButton { pos, button: PointerButton::Primary, pressed, modifiers: Modifiers::NONE });
    h.step();
}

fn click_at(h: &mut Harness<'_, App>, pos: Pos2) {
    h.event(Event::PointerMoved(pos));
    h.step();
    press_at(h, pos, true);
    press_at(h, pos, false);
    h.run_steps(2);
}

fn double_click_at(h: &mut Harness<'_, App>, pos: Pos2) {
    // A pause first: a click less than 0.3 s after the last one would make a triple click.
    h.run_steps(30);
    h.event(Event::PointerMoved(pos));
    h.step();
    for _ in 0..2 {
        press_at(h, pos, true);
        press_at(h, pos, false);
    }
    h.run_steps(2);
}

fn drag(h: &mut Harness<'_, App>, from: Pos2, to: Pos2) {
    h.event(Event::PointerMoved(from));
    h.step();
    press_at(h, from, true);
    for k in 1..=8 {
        h.event(Event::PointerMoved(from + (to - from) * (k as f32 / 8.0)));
        h.step();
    }
    press_at(h, to, false);
    h.run_steps(2);
}

fn screen(h: &Harness<'_, App>, p: LocalPoint) -> Pos2 {
    h.state().units.floor.canvas.to_screen(p).expect("canvas shown")
}

#[test]
fn two_logical_buildings_and_a_two_storey_nominal_floor_in_the_table() {
    let mut h = harness(Document::default());
    // Who the change log names (the `surveyor` setting).
    h.state_mut().settings.insert("surveyor".into(), "张三".into());
    let c = ops::create(h.state().editor.doc(), ZRZH, &who()).expect("create");
    h.state_mut().push(AppCommand::Edit(c));
    h.get_by_label("楼盘表").click();
    h.run_steps(2);
    // 逻辑幢 1: floors 1-4 × 1 stair unit × 2 rooms, the 4th nominal floor a duplex (实际层 4-5).
    {
        let g = &mut h.state_mut().units.table.grid;
        (g.ljzh, g.lowest, g.highest, g.stair_units, g.rooms, g.physical) = ("1".into(), 1, 4, 1, 2, "4=4-5".into());
    }
    h.get_by_role_and_label(Role::Button, "生成楼盘表").click();
    h.run_steps(3);
    // 逻辑幢 2: the shops, floors 1-2, one each.
    {
        let g = &mut h.state_mut().units.table.grid;
        (g.ljzh, g.lowest, g.highest, g.rooms, g.physical, g.usage) =
            ("2".into(), 1, 2, 1, String::new(), "商业".into());
    }
    h.get_by_role_and_label(Role::Button, "生成楼盘表").click();
    h.run_steps(3);
    let u = units(&h);
    assert_eq!(u.table.current().count(), 10);
    let duplex = u.table.current().find(|x| x.ljzh == "1" && x.floor == 4).expect("floor 4");
    assert_eq!(duplex.physical, PhysicalFloors { from: 4, to: 5 });
    assert_eq!(u.table.current().filter(|x| x.ljzh == "2").count(), 2);
    // Both logical buildings are shown, each row naming its own.
    assert!(h.query_by_label("逻辑幢1 第4层\n实际层 4-5").is_some());
    assert!(h.query_by_label("逻辑幢2 第1层\n实际层 1").is_some());
    // Only 逻辑幢 2.
    h.get_by_label("逻辑幢2").click();
    h.run_steps(2);
    assert!(h.query_by_label("逻辑幢1 第4层\n实际层 4-5").is_none());
    assert!(h.query_by_label("第4层\n实际层 4-5").is_none());
    // Its ground floor is a double-height shop: select the row, set 实际层 1-2.
    h.get_by_label("第1层\n实际层 1").click();
    h.run_steps(2);
    let shop = u.table.current().find(|x| x.ljzh == "2" && x.floor == 1).map(|x| x.hh.clone()).expect("shop");
    assert_eq!(h.state().units.table.selected.iter().collect::<Vec<_>>(), [&shop]);
    h.state_mut().units.table.batch.physical = "1-2".into();
    h.get_by_role_and_label(Role::Button, "批量修改").click();
    h.run_steps(3);
    let after = units(&h);
    assert_eq!(after.table.get(&shop).map(|x| x.physical), Some(PhysicalFloors { from: 1, to: 2 }));
    assert!(h.query_by_label("第1层\n实际层 1-2").is_some());
    // Who and when, for the household and for the building.
    let edit = after.table.history().of_household(&shop).last().cloned().expect("history");
    assert_eq!((edit.action.as_str(), edit.who.as_str()), ("edit", "张三"));
    let building: Vec<_> = after
        .table
        .history()
        .entries()
        .iter()
        .filter(|c| c.target == Target::Building)
        .map(|c| c.action.clone())
        .collect();
    assert_eq!(building, ["create"]);
    h.get_by_label("本幢变更记录").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("张三 create").is_some());
    // A bad physical-floor text is said so, nothing changes.
    h.state_mut().units.table.batch.physical = "3-1".into();
    h.get_by_role_and_label(Role::Button, "批量修改").click();
    h.run_steps(3);
    assert!(h.state().status.contains("实际层"), "{}", h.state().status);
    assert_eq!(units(&h), after);

    // The floor plan lists every logical building's households on a floor.
    h.get_by_label("分层分户图").click();
    h.run_steps(3);
    assert!(h.query_by_label("逻辑幢1 101 0001").is_some());
    assert!(h.query_by_label_contains("逻辑幢2 101").is_some());
}

fn flat(hh: &str, room: &str, x0: f64, x1: f64) -> HouseholdPlan {
    HouseholdPlan {
        hh: hh.into(),
        room: room.into(),
        stair_unit: "1".into(),
        outline: Outline::rect(x0, 0.0, x1, 8.0),
        balconies: vec![],
    }
}

/// Two flats sharing the party wall x = 10, a corridor along their north side.
fn drawn() -> Document {
    let mut ed = survey_desktop::model::Editor::new(Document::default());
    let c = ops::create(ed.doc(), ZRZH, &who()).expect("create");
    ed.execute(c).expect("run");
    let spec = GridSpec {
        ljzh: "1".into(),
        floors: vec![FloorSpec::simple(1)],
        stair_units: 1,
        rooms_per_unit: 2,
        usage: "住宅".into(),
        zone: "res".into(),
    };
    let c = ops::generate_grid(ed.doc(), ZRZH, &spec, &who()).expect("grid");
    ed.execute(c).expect("run");
    let floor = FloorPlanFloor {
        floor: 1,
        households: vec![flat("0001", "101", 0.0, 10.0), flat("0002", "102", 10.0, 20.0)],
        shared: vec![SharedSpace {
            id: "corridor1".into(),
            kind: SharedKind::Corridor,
            name: String::new(),
            outline: Outline::rect(0.0, 8.0, 20.0, 10.0),
            serves: Serves { building: Some(true), ..Serves::default() },
        }],
    };
    let c = ops::set_floor(ed.doc(), ZRZH, 1, Some(floor), "draw", &who()).expect("floor");
    ed.execute(c).expect("run");
    ed.doc().clone()
}

fn measured(h: &Harness<'_, App>, hh: &str) -> Option<Area> {
    units(h).table.get(hh).and_then(|x| x.measured_inner)
}

fn corners(h: &Harness<'_, App>, hh: &str) -> Vec<LocalPoint> {
    let u = units(h);
    u.plan.household(hh).map(|(_, p)| p.outline.points().to_vec()).unwrap_or_default()
}

#[test]
fn corners_of_a_floor_plan_are_inserted_dragged_with_snapping_and_deleted() {
    let mut h = harness(drawn());
    h.get_by_label("分层分户图").click();
    h.run_steps(3);
    assert_eq!(measured(&h, "0001"), Some(area("80.00")));
    // Pick flat 0001 on the canvas: its corners get handles.
    let inside = screen(&h, [5.0, 4.0]);
    click_at(&mut h, inside);
    assert_eq!(h.state().units.floor.selected.as_deref(), Some("0001"));
    // Double-click the party wall: a corner in both flats, the areas unchanged.
    let wall = screen(&h, [10.0, 4.0]);
    double_click_at(&mut h, wall);
    assert_eq!(corners(&h, "0001").len(), 5, "{:?} {}", corners(&h, "0001"), h.state().status);
    assert_eq!(corners(&h, "0002").len(), 5);
    assert!(corners(&h, "0002").contains(&[10.0, 4.0]));
    assert_eq!(h.state().units.floor.selected.as_deref(), Some("0001"), "still selected");
    // Drag it 1 m east: both flats bend, free positions kept to the centimetre.
    let (from, to) = (screen(&h, [10.0, 4.0]), screen(&h, [11.0, 4.0]));
    drag(&mut h, from, to);
    assert!(corners(&h, "0001").contains(&[11.0, 4.0]), "{:?}", corners(&h, "0001"));
    assert!(corners(&h, "0002").contains(&[11.0, 4.0]));
    assert_eq!((measured(&h, "0001"), measured(&h, "0002")), (Some(area("84.00")), Some(area("76.00"))));
    // Click it and press Delete: gone from both, 80.00 each again.
    let handle = screen(&h, [11.0, 4.0]);
    click_at(&mut h, handle);
    h.key_press(Key::Delete);
    h.run_steps(3);
    assert_eq!(corners(&h, "0001").len(), 4);
    assert_eq!((measured(&h, "0001"), measured(&h, "0002")), (Some(area("80.00")), Some(area("80.00"))));
    // Undo brings the bent wall back.
    h.state_mut().push(AppCommand::Undo);
    h.run_steps(3);
    assert_eq!(measured(&h, "0001"), Some(area("84.00")));
    // The north-east corner dragged to just above the corridor's wall snaps onto it.
    let (from, near_wall) = (screen(&h, [10.0, 8.0]), screen(&h, [10.5, 8.0]) + egui::vec2(0.0, -3.0));
    drag(&mut h, from, near_wall);
    let ne = corners(&h, "0001").into_iter().find(|p| p[1] > 7.0 && p[0] > 9.0).expect("north-east corner");
    assert_eq!(ne[1], 8.0, "on the corridor's wall, not 3 px above it: {ne:?}");
    assert!((ne[0] - 10.5).abs() < 0.1, "{ne:?}");
    assert!(corners(&h, "0002").contains(&ne), "the neighbour's corner moved with it");
    // Every one of these edits is in the building's history with who.
    let notes: Vec<String> = units(&h)
        .table
        .history()
        .entries()
        .iter()
        .filter(|c| c.target == Target::Building && c.action == "floor plan")
        .map(|c| c.note.clone())
        .collect();
    assert!(notes.iter().any(|n| n.contains("插入顶点")), "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("移动顶点")), "{notes:?}");
}

#[test]
fn an_open_balcony_counts_half_and_an_enclosed_one_in_full() {
    let mut h = harness(drawn());
    h.get_by_label("分层分户图").click();
    h.run_steps(3);
    // A drawn household picked in the list is selected, not redrawn.
    h.get_by_label("101 0001").click();
    h.run_steps(2);
    assert_eq!(h.state().units.floor.target, None);
    // An open balcony 4 m × 1.5 m south of it, its corners snapped onto the outer wall: half of 6 m².
    h.get_by_label("画未封闭阳台(一半)").click();
    h.run_steps(2);
    for c in [[0.0, 0.0], [4.0, 0.0], [4.0, -1.5], [0.0, -1.5], [0.0, 0.0]] {
        let p = screen(&h, c);
        click_at(&mut h, p);
    }
    assert_eq!(measured(&h, "0001"), Some(area("83.00")), "{}", h.state().status);
    // The same size enclosed, on 0002: in full.
    let inside = screen(&h, [15.0, 4.0]);
    click_at(&mut h, inside);
    h.get_by_label("画封闭阳台").click();
    h.run_steps(2);
    for c in [[12.0, 0.0], [16.0, 0.0], [16.0, -1.5], [12.0, -1.5], [12.0, 0.0]] {
        let p = screen(&h, c);
        click_at(&mut h, p);
    }
    assert_eq!(measured(&h, "0002"), Some(area("86.00")), "{}", h.state().status);
    let u = units(&h);
    let enclosed: Vec<bool> = u
        .plan
        .floor(1)
        .map(|f| f.households.iter().flat_map(|x| x.balconies.iter().map(|b| b.enclosed)).collect())
        .unwrap_or_default();
    assert_eq!(enclosed, [false, true]);
}
