//! egui_kittest: a natural building with two logical buildings (逻辑幢) and a nominal
//! floor spanning two physical floors (实际层) in the 楼盘表 (and each logical
//! building's own floor plans), and the corners of a floor
//! plan's outlines edited on the canvas (insert on a party wall, drag with snapping,
//! delete, undo), the 套内 following into the table each time.

use cadastre_core::apportion::Serves;
use cadastre_core::building::{PhysicalFloors, Target};
use cadastre_core::floorplan::{FloorPlanFloor, LocalPoint, Outline, SharedKind, SharedSpace};
use egui::accesskit::Role;
use egui::{Key, Pos2};
use egui_kittest::kittest::{NodeT as _, Queryable};
use egui_kittest::Harness;
use survey_desktop::app::command::AppCommand;
use survey_desktop::app::App;
use survey_desktop::model::units::{ops, FloorKey};
use survey_desktop::model::Document;

mod common;
use common::kit::{click_at, double_click_at, drag, harness_60};
use common::units::{area, building, draw, flat, grid, measured, units, who, ZRZH};

fn harness(doc: Document) -> Harness<'static, App> {
    harness_60(App::with_document(doc))
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

    // A floor plan is one logical building's floor: 逻辑幢1's floor 1 lists its two
    // flats, not the shop of 逻辑幢2 on the same floor number.
    h.get_by_label("分层分户图").click();
    h.run_steps(3);
    assert_eq!(h.state().units.floor.floor, Some(FloorKey::new("1", 1)));
    let picker = h.get_by_role_and_label(Role::ComboBox, "楼层").accesskit_node().value().unwrap_or_default();
    assert_eq!(picker, "逻辑幢1 第1层 · 实际层 1", "the floor names its logical building");
    assert!(h.query_by_label("101 0001").is_some() && h.query_by_label("102 0002").is_some());
    assert!(h.query_by_label(&format!("101 {shop}")).is_none(), "逻辑幢2's shop is on its own floor 1");
}

/// Two flats sharing the party wall x = 10, a corridor along their north side.
fn drawn() -> Document {
    let mut ed = building(&[grid("1", 1..=1, 1, 2)]);
    let floor = FloorPlanFloor {
        ljzh: "1".into(),
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
    draw(&mut ed, ZRZH, floor);
    ed.doc().clone()
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
