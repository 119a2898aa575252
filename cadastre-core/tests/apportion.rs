//! Apportionment against worked examples computed by hand.

use cadastre_core::apportion::{Apportion, ApportionError, ApportionInput, Apportionment, Level, Method};
use serde_json::json;

fn run(v: serde_json::Value) -> Result<Apportionment, ApportionError> {
    let input: ApportionInput = serde_json::from_value(v).map_err(|e| ApportionError::Format(e.to_string()))?;
    input.apportion()
}

fn ok(v: serde_json::Value) -> Apportionment {
    run(v).unwrap_or_else(|e| panic!("apportionment failed: {e}"))
}

fn unit<'a>(r: &'a Apportionment, id: &str) -> &'a cadastre_core::apportion::UnitResult {
    r.units.iter().find(|u| &*u.id == id).unwrap_or_else(|| panic!("no unit {id}"))
}

fn zone_row<'a>(r: &'a Apportionment, zone: &str) -> &'a cadastre_core::apportion::LevelRow {
    r.levels
        .iter()
        .find(|l| l.level == Level::Zone && l.zone.as_deref() == Some(zone))
        .unwrap_or_else(|| panic!("no zone {zone}"))
}

fn floor_row<'a>(r: &'a Apportionment, zone: &str, floor: i32) -> &'a cadastre_core::apportion::LevelRow {
    r.levels
        .iter()
        .find(|l| l.level == Level::Floor && l.zone.as_deref() == Some(zone) && l.floor == Some(floor))
        .unwrap_or_else(|| panic!("no floor {zone}/{floor}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn residential_worked_example_k_015() {
    // DOMAIN.md §5: Σ套内 4000.00, shared 600.00 → K = 0.15; 89.50 → 13.425 → 13.43 → 102.93.
    // The other two units are chosen so no residual adjustment is needed:
    // 100.08 × 0.15 = 15.012 → 15.01; 3810.42 × 0.15 = 571.563 → 571.56; 13.43 + 15.01 + 571.56 = 600.00.
    let r = ok(json!({"building": "330106001001GB00001F0001",
        "zones": [{"id": "res", "name": "住宅"}],
        "units": [{"id": "0101", "zone": "res", "floor": 1, "inner_area": 89.50},
                  {"id": "0102", "zone": "res", "floor": 1, "inner_area": 100.08},
                  {"id": "0201", "zone": "res", "floor": 2, "inner_area": 3810.42}],
        "shared": [{"id": "core", "area": 600.00, "serves": {"building": true}}]}));
    assert!(close(r.levels[0].k, 0.15), "K = {}", r.levels[0].k);
    let u = unit(&r, "0101");
    assert_eq!(u.apportioned.to_string(), "13.43");
    assert_eq!(u.building_area.to_string(), "102.93");
    assert_eq!(unit(&r, "0102").apportioned.to_string(), "15.01");
    assert_eq!(unit(&r, "0201").apportioned.to_string(), "571.56");
    assert!(r.shared[0].adjustments.is_empty());
    assert_eq!(r.totals.apportioned.to_string(), "600.00");
    assert_eq!(r.totals.building_area.to_string(), "4600.00");
}

/// The 商住楼 example of `notes/standards-and-anchors.md` §B (corrected): lift 230 serving the
/// building; 住宅 3000 套内 (30 flats of 100) + a hall of 450; 商业 1000 套内 (F1 600 = 250 + 350,
/// F2 400) + a stair of 60 serving only 商业 and corridors of 60 (F1) and 30 (F2).
fn commercial_residential() -> serde_json::Value {
    let mut units = vec![];
    for floor in 3..=12 {
        for room in 1..=3 {
            units.push(
                json!({"id": format!("{floor:02}{room:02}"), "zone": "res", "floor": floor, "inner_area": 100.00}),
            );
        }
    }
    units.push(json!({"id": "0101", "zone": "com", "floor": 1, "inner_area": 250.00, "room": "商铺101"}));
    units.push(json!({"id": "0102", "zone": "com", "floor": 1, "inner_area": 350.00}));
    units.push(json!({"id": "0201", "zone": "com", "floor": 2, "inner_area": 400.00}));
    json!({"building": "330106001001GB00001F0002",
        "zones": [{"id": "res", "name": "住宅"}, {"id": "com", "name": "商业"}],
        "units": units,
        "shared": [{"id": "lift", "area": 230.00, "serves": {"building": true}},
                   {"id": "res-hall", "area": 450.00, "serves": {"zone": "res"}},
                   {"id": "com-stair", "area": 60.00, "serves": {"zone": "com"}},
                   {"id": "f1-corridor", "area": 60.00, "serves": {"zone": "com", "floor": 1}},
                   {"id": "f2-corridor", "area": 30.00, "serves": {"zone": "com", "floor": 2}}]})
}

#[test]
fn commercial_residential_worked_example() {
    let r = ok(commercial_residential());
    assert_eq!(r.method, Method::Gbt17986);
    // Each zone weighs 套内 + every shared space serving only inside it, floor corridors
    // included: 住宅 3000 + 450 = 3450, 商业 1000 + 60 + 60 + 30 = 1150; 230 → 172.50 / 57.50.
    let res = zone_row(&r, "res");
    let com = zone_row(&r, "com");
    assert_eq!(res.participating_area.to_string(), "3450.00");
    assert_eq!(com.participating_area.to_string(), "1150.00");
    assert!(close(r.levels[0].k, 230.0 / 4600.0), "{}", r.levels[0].k);
    assert!(close(res.incoming, 172.50) && close(com.incoming, 57.50), "{} {}", res.incoming, com.incoming);
    // 住宅 K = (450 + 172.50) / 3000 = 0.2075; every 100.00 flat: 5.75 (lift) + 15.00 (hall) = 20.75.
    assert!(close(res.k, 0.2075), "{}", res.k);
    for u in r.units.iter().filter(|u| &*u.zone == "res") {
        assert_eq!(u.apportioned.to_string(), "20.75", "unit {}", u.id);
        assert!(close(u.coefficient, 0.2075));
    }
    // 商业: 57.50 + 60 = 117.50 to floors by 套内 600 : 400 → 70.50 / 47.00 (K 0.1175);
    // + the floors' own corridors 60 / 30 → K_F1 = 130.50 / 600 = 0.2175, K_F2 = 77.00 / 400 = 0.1925.
    assert!(close(com.k, 0.1175), "{}", com.k);
    let f1 = floor_row(&r, "com", 1);
    let f2 = floor_row(&r, "com", 2);
    assert_eq!(
        (f1.participating_area.to_string(), f2.participating_area.to_string()),
        ("600.00".into(), "400.00".into())
    );
    assert!(close(f1.incoming, 70.50) && close(f2.incoming, 47.00), "{} {}", f1.incoming, f2.incoming);
    assert!(close(f1.k, 0.2175) && close(f2.k, 0.1925), "{} {}", f1.k, f2.k);
    // 0201 alone on F2: 23.00 (lift) + 24.00 (stair) + 30.00 (corridor) = 77.00 = 0.1925 × 400.
    assert_eq!(unit(&r, "0201").apportioned.to_string(), "77.00");
    assert_eq!(unit(&r, "0201").building_area.to_string(), "477.00");
    // F1 gets 130.50 = 0.2175 × 600 in all. Per space: lift 34.50 → 0101 14.375 → 14.38,
    // 0102 20.125 → 20.13; the lift then sums to 230.01, so −0.01 goes to the tie (both
    // rounded up by 0.005) with the smaller id, 0101 → 14.37. Stair 36.00 → 15.00 / 21.00;
    // corridor 60 → 25.00 / 35.00. 0101: 14.37 + 15.00 + 25.00 = 54.37; 0102: 20.13 + 21.00 + 35.00 = 76.13.
    assert_eq!(unit(&r, "0101").apportioned.to_string(), "54.37");
    assert_eq!(unit(&r, "0102").apportioned.to_string(), "76.13");
    assert_eq!(unit(&r, "0101").building_area.to_string(), "304.37");
    let lift = r.shared.iter().find(|s| s.id == "lift").unwrap_or_else(|| panic!("no lift"));
    assert_eq!(
        lift.adjustments.iter().map(|a| (&*a.unit, a.area.hundredths())).collect::<Vec<_>>(),
        vec![("0101", -1)]
    );
    assert_eq!(r.totals.apportioned.to_string(), "830.00");
    assert_eq!(r.totals.building_area.to_string(), "4830.00");
    assert_eq!(unit(&r, "0101").room.as_deref(), Some("商铺101"));
}

#[test]
fn removed_methods_are_refused_with_the_reason() {
    for old in ["standard", "participating"] {
        let mut v = commercial_residential();
        v["method"] = json!(old);
        let e = run(v).expect_err(old);
        let text = e.to_string();
        assert!(matches!(e, ApportionError::Format(_)), "{old}: {e:?}");
        assert!(text.contains(&format!("\"{old}\" was removed")) && text.contains("gbt17986"), "{text}");
    }
    let mut v = commercial_residential();
    v["method"] = json!("gbt17986");
    assert_eq!(ok(v), ok(commercial_residential()), "naming the default changes nothing");
    let mut v = commercial_residential();
    v["method"] = json!("by-area");
    assert!(run(v).expect_err("unknown").to_string().contains("unknown apportionment method"));
}

#[test]
fn a_unit_list_inside_one_zone_weighs_in_that_zone() {
    // A terrace serving two 商业 units counts in 商业's building area; one spanning both
    // zones counts in neither. 住宅 100, 商业 100 + terrace 20 → lift 44 splits 100 : 120;
    // across, 100 : 100, and 0201 also gets 20 × 100/150 = 13.33 of the terrace.
    let base = |terrace_units: serde_json::Value| {
        json!({"building": "B",
            "zones": [{"id": "res"}, {"id": "com"}],
            "units": [{"id": "0101", "zone": "com", "floor": 1, "inner_area": 50.00},
                      {"id": "0102", "zone": "com", "floor": 1, "inner_area": 50.00},
                      {"id": "0201", "zone": "res", "floor": 2, "inner_area": 100.00}],
            "shared": [{"id": "lift", "area": 44.00, "serves": {"building": true}},
                       {"id": "terrace", "area": 20.00, "serves": {"units": terrace_units}}]})
    };
    let inside = ok(base(json!(["0101", "0102"])));
    assert_eq!(zone_row(&inside, "com").participating_area.to_string(), "120.00");
    assert_eq!(unit(&inside, "0201").apportioned.to_string(), "20.00");
    let across = ok(base(json!(["0101", "0201"])));
    assert_eq!(zone_row(&across, "com").participating_area.to_string(), "100.00");
    assert_eq!(unit(&across, "0201").apportioned.to_string(), "35.33");
}

#[test]
fn mixed_use_with_basement_and_floor_corridor_by_hand() {
    // 住宅 res: 0201 100, 0202 80 (F2), 0301 100, 0302 80 (F3) → 360.00
    // 商业 com: 0101 150, 0102 90 (F1), B101 200 (F-1, basement shop) → 440.00
    // lift 81.00 (building), res-stair 36.00 (zone res), com-hall 44.00 (zone com),
    // b1-corridor 20.00 (zone com, floor -1).
    //
    // Zone weights: res 360 + 36 = 396, com 440 + 44 + 20 = 504, Σ 900; K幢 = 81/900 = 0.09.
    // lift → res 81 × 396/900 = 35.64, com 81 × 504/900 = 45.36.
    // lift per unit (exact): 0201 35.64×100/360 = 9.90, 0202 7.92, 0301 9.90, 0302 7.92,
    //   0101 45.36×150/440 = 15.4636…, 0102 9.2781…, B101 20.6181…
    // half-up: 9.90 7.92 9.90 7.92 15.46 9.28 20.62 = 81.00, no residual.
    // res-stair 36 by 套内/360: 10.00 8.00 10.00 8.00.
    // com-hall 44 → floors by 套内: F1 24.00, F-1 20.00 → 0101 15.00, 0102 9.00, B101 20.00.
    // b1-corridor 20 → B101.
    // Totals: 0201 19.90, 0202 15.92, 0301 19.90, 0302 15.92, 0101 30.46, 0102 18.28, B101 60.62.
    // K: res (35.64+36)/360 = 0.199; com floor -1: (89.36×200/440 + 20)/200 = 0.303090…
    let r = ok(json!({"building": "330106001001GB00001F0003",
        "zones": [{"id": "com", "name": "商业"}, {"id": "res", "name": "住宅"}],
        "units": [{"id": "0201", "zone": "res", "floor": 2, "inner_area": 100.00},
                  {"id": "0202", "zone": "res", "floor": 2, "inner_area": 80.00},
                  {"id": "0301", "zone": "res", "floor": 3, "inner_area": 100.00},
                  {"id": "0302", "zone": "res", "floor": 3, "inner_area": 80.00},
                  {"id": "0101", "zone": "com", "floor": 1, "inner_area": 150.00},
                  {"id": "0102", "zone": "com", "floor": 1, "inner_area": 90.00},
                  {"id": "B101", "zone": "com", "floor": -1, "inner_area": 200.00}],
        "shared": [{"id": "lift", "area": 81.00, "serves": {"building": true}},
                   {"id": "res-stair", "area": 36.00, "serves": {"zone": "res"}},
                   {"id": "com-hall", "area": 44.00, "serves": {"zone": "com"}},
                   {"id": "b1-corridor", "area": 20.00, "serves": {"zone": "com", "floor": -1}}]}));
    let got: Vec<(String, String)> = r.units.iter().map(|u| (u.id.to_string(), u.apportioned.to_string())).collect();
    let want: Vec<(String, String)> = [
        ("0101", "30.46"),
        ("0102", "18.28"),
        ("0201", "19.90"),
        ("0202", "15.92"),
        ("0301", "19.90"),
        ("0302", "15.92"),
        ("B101", "60.62"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    assert!(close(r.levels[0].k, 0.09));
    assert!(close(zone_row(&r, "res").k, 0.199));
    assert!(
        close(floor_row(&r, "com", -1).k, (89.36 * 200.0 / 440.0 + 20.0) / 200.0),
        "{}",
        floor_row(&r, "com", -1).k
    );
    let lift = r.shared.iter().find(|s| s.id == "lift").unwrap_or_else(|| panic!("no lift"));
    assert!(lift.adjustments.is_empty());
    assert_eq!(unit(&r, "B101").building_area.to_string(), "260.62");
    assert_eq!(r.totals.apportioned.to_string(), "181.00");
}

#[test]
fn agreed_shares_override_the_formula_and_unit_scopes_go_by_inner_area() {
    let r = ok(json!({"building": "B",
        "zones": [{"id": "res"}],
        "units": [{"id": "0101", "zone": "res", "floor": 1, "inner_area": 50.00},
                  {"id": "0102", "zone": "res", "floor": 1, "inner_area": 150.00},
                  {"id": "0103", "zone": "res", "floor": 1, "inner_area": 100.00}],
        "shared": [{"id": "agreed", "area": 10.00, "serves": {"units": ["0101", "0102"]}, "shares": {"0101": 6.00, "0102": 4.00}},
                   {"id": "terrace", "area": 8.00, "serves": {"units": ["0102", "0101"]}}]}));
    // agreed: 6.00 / 4.00 regardless of area; terrace by 套内 50:150 → 2.00 / 6.00
    assert_eq!(unit(&r, "0101").apportioned.to_string(), "8.00");
    assert_eq!(unit(&r, "0102").apportioned.to_string(), "10.00");
    assert_eq!(unit(&r, "0103").apportioned.to_string(), "0.00");
    assert!(r.shared.iter().any(|s| s.id == "agreed" && s.by_agreement));
}

#[test]
fn invalid_inputs_are_errors_naming_the_ids() {
    let base = || {
        json!({"building": "B", "zones": [{"id": "res"}, {"id": "empty"}],
            "units": [{"id": "0101", "zone": "res", "floor": 1, "inner_area": 50.00}],
            "shared": []})
    };
    let with = |path: &str, value: serde_json::Value| {
        let mut v = base();
        v[path] = value;
        run(v)
    };
    let unit = |id: &str, zone: &str, floor: i32, area: f64| json!({"id": id, "zone": zone, "floor": floor, "inner_area": area});
    let shared = |id: &str, area: f64, serves: serde_json::Value| json!([{"id": id, "area": area, "serves": serves}]);

    assert!(
        matches!(with("units", json!([unit("0101", "xx", 1, 5.0)])), Err(ApportionError::UnknownZoneOfUnit { unit, zone }) if unit == "0101" && zone == "xx")
    );
    assert!(
        matches!(with("units", json!([unit("0101", "res", 1, 5.0), unit("0101", "res", 2, 6.0)])), Err(ApportionError::DuplicateUnit(id)) if id == "0101")
    );
    assert!(
        matches!(with("zones", json!([{"id": "res"}, {"id": "res"}])), Err(ApportionError::DuplicateZone(id)) if id == "res")
    );
    assert!(
        matches!(with("units", json!([unit("0101", "res", 1, 0.0)])), Err(ApportionError::NonPositiveArea { id, .. }) if id == "0101")
    );
    assert!(
        matches!(with("units", json!([unit("0101", "res", 1, -5.0)])), Err(ApportionError::NonPositiveArea { id, .. }) if id == "0101")
    );
    assert!(
        matches!(with("units", json!([unit("0101", "res", 0, 5.0)])), Err(ApportionError::FloorZero { id, .. }) if id == "0101")
    );
    assert!(matches!(with("units", json!([])), Err(ApportionError::NoUnits { .. })));
    assert!(
        matches!(with("shared", shared("s", 5.0, json!({"zone": "empty"}))), Err(ApportionError::ServesNothing { shared, .. }) if shared == "s")
    );
    assert!(
        matches!(with("shared", shared("s", 5.0, json!({"zone": "res", "floor": 7}))), Err(ApportionError::ServesNothing { shared, .. }) if shared == "s")
    );
    assert!(matches!(
        with("shared", shared("s", 5.0, json!({"units": []}))),
        Err(ApportionError::ServesNothing { .. })
    ));
    assert!(
        matches!(with("shared", shared("s", 5.0, json!({"zone": "nope"}))), Err(ApportionError::UnknownZoneOfShared { zone, .. }) if zone == "nope")
    );
    assert!(
        matches!(with("shared", shared("s", 5.0, json!({"units": ["0101", "0999"]}))), Err(ApportionError::UnknownUnit { unit, .. }) if unit == "0999")
    );
    assert!(matches!(
        with("shared", shared("s", 5.0, json!({"units": ["0101", "0101"]}))),
        Err(ApportionError::RepeatedUnitInScope { .. })
    ));
    assert!(
        matches!(with("shared", shared("s", 0.0, json!({"building": true}))), Err(ApportionError::NonPositiveArea { id, .. }) if id == "s")
    );
    assert!(matches!(with("shared", shared("s", 5.0, json!({}))), Err(ApportionError::InvalidScope { .. })));
    assert!(matches!(
        with("shared", shared("s", 5.0, json!({"building": true, "zone": "res"}))),
        Err(ApportionError::InvalidScope { .. })
    ));
    assert!(matches!(with("shared", shared("s", 5.0, json!({"floor": 1}))), Err(ApportionError::InvalidScope { .. })));
    let dup = json!([{"id": "s", "area": 1.0, "serves": {"building": true}}, {"id": "s", "area": 2.0, "serves": {"building": true}}]);
    assert!(matches!(with("shared", dup), Err(ApportionError::DuplicateShared(id)) if id == "s"));
    let bad_sum = json!([{"id": "s", "area": 5.0, "serves": {"units": ["0101"]}, "shares": {"0101": 4.99}}]);
    assert!(
        matches!(with("shared", bad_sum), Err(ApportionError::AgreedSharesMismatch { shared, .. }) if shared == "s")
    );
    let outside = json!([{"id": "s", "area": 5.0, "serves": {"zone": "empty"}, "shares": {"0101": 5.0}}]);
    assert!(matches!(with("shared", outside), Err(ApportionError::ServesNothing { .. })));
    assert!(
        matches!(with("units", json!([unit("0101", "res", 1, 2.0e9)])), Err(ApportionError::AreaTooLarge { id, .. }) if id == "0101")
    );
    // unknown fields and more than 2 decimals are format errors, not silently ignored
    assert!(matches!(
        with("units", json!([{"id": "0101", "zone": "res", "floor": 1, "inner_area": 5.0, "innr": 1}])),
        Err(ApportionError::Format(_))
    ));
    assert!(matches!(with("units", json!([unit("0101", "res", 1, 5.001)])), Err(ApportionError::Format(_))));
}
