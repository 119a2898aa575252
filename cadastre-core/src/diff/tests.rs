//! The diff on small hand-made stores and packages: a building whose attributes and
//! footprint change, parcel fields besides ZDMJ, a building left out of a parcel the
//! package carries, and a split whose old parcel takes its building along.

use geo_types::{polygon, MultiPolygon};

use super::{diff, StoreSide};
use crate::model::{Building, BuildingAttributes, Parcel, ParcelAttributes, Submission};
use crate::package::{ReplaceKind, Replacement};

const P1: &str = "330106001001GB00001";
const P2: &str = "330106001001GB00002";

fn square(x: f64, y: f64, side: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![(x: x, y: y), (x: x + side, y: y), (x: x + side, y: y + side), (x: x, y: y + side)]])
}

fn parcel(code: &str, x: f64, zl: &str) -> Parcel {
    Parcel {
        zddm: code.into(),
        geometry: square(x, 0.0, 20.0),
        attributes: ParcelAttributes { zl: Some(zl.into()), yt: Some("0701".into()), ..Default::default() },
        source_index: 0,
    }
}

fn building(parcel: &str, n: u32, x: f64, floors: i64) -> Building {
    Building {
        zrzh: format!("{parcel}F{n:04}"),
        zddm: parcel.into(),
        footprint: square(x + 2.0, 2.0, 10.0),
        attributes: BuildingAttributes { jzwmc: Some("1号楼".into()), dscs: Some(floors), ..Default::default() },
        source_index: 0,
    }
}

fn store() -> StoreSide {
    StoreSide {
        parcels: vec![parcel(P1, 0.0, "文三路1号"), parcel(P2, 20.0, "文三路2号")],
        buildings: vec![building(P1, 1, 0.0, 6), building(P1, 2, 0.0, 2), building(P2, 1, 20.0, 3)],
    }
}

#[test]
fn a_building_s_fields_and_footprint_and_a_parcel_s_address_and_use_are_reported() {
    let mut p1 = parcel(P1, 0.0, "文三路1号之一");
    p1.attributes.yt = Some("0501".into());
    let mut b = building(P1, 1, 0.0, 7);
    b.footprint = square(3.0, 2.0, 10.0);
    let package = Submission { parcels: vec![p1], buildings: vec![b], ..Default::default() };
    let d = diff(&store(), &package, &[], &[]);

    assert_eq!(d.parcels.changed.len(), 1);
    let fields: Vec<(&str, Option<&str>, Option<&str>)> = d.parcels.changed[0]
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.before.as_deref(), f.after.as_deref()))
        .collect();
    assert_eq!(fields, [("ZL", Some("文三路1号"), Some("文三路1号之一")), ("YT", Some("0701"), Some("0501"))]);
    assert!(!d.parcels.changed[0].geometry_changed);

    assert_eq!(d.buildings.changed.len(), 1, "{:?}", d.buildings);
    let c = &d.buildings.changed[0];
    assert_eq!(c.id, format!("{P1}F0001"));
    assert!(c.geometry_changed);
    assert_eq!(c.fields.len(), 1);
    assert_eq!(
        (c.fields[0].field.as_str(), c.fields[0].before.as_deref(), c.fields[0].after.as_deref()),
        ("DSCS", Some("6"), Some("7"))
    );
    // P1's second building is not in the package that carries P1: it goes.
    let removed: Vec<&str> = d.buildings.removed.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(removed, [format!("{P1}F0002")]);
    // P2 is neither carried nor replaced: it and its building are untouched.
    assert!(d.parcels.removed.is_empty());
}

#[test]
fn a_split_takes_the_old_parcel_s_building_along_and_names_the_areas() {
    // P2 (20 m × 20 m at x = 20) split into two 10 m × 20 m halves.
    let half = |id: &str, x: f64| Parcel {
        geometry: MultiPolygon(vec![
            polygon![(x: x, y: 0.0), (x: x + 10.0, y: 0.0), (x: x + 10.0, y: 20.0), (x: x, y: 20.0)],
        ]),
        ..parcel(id, x, "文三路2号")
    };
    let (t1, t2) = (half("T1", 20.0), half("T2", 30.0));
    let package = Submission { parcels: vec![t1, t2], ..Default::default() };
    let split = Replacement { kind: ReplaceKind::Split, old: vec![P2.into()], new: vec!["T1".into(), "T2".into()] };
    let d = diff(&store(), &package, &[split], &[]);
    let added: Vec<&str> = d.parcels.added.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(added, ["T1", "T2"]);
    assert_eq!(d.parcels.removed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), [P2]);
    assert_eq!(d.buildings.removed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), [format!("{P2}F0001")]);
    assert_eq!(d.replacements.len(), 1);
    assert!(
        (d.replacements[0].area_before - 400.0).abs() < 1e-6 && (d.replacements[0].area_after - 400.0).abs() < 1e-6
    );
    assert!(d.problems.is_empty(), "{:?}", d.problems);
}

#[test]
fn a_table_diff_lists_every_household_of_the_package_with_its_place() {
    use super::{HouseholdRecord, TableSide};
    let zrzh = format!("{P1}F0001");
    let code = |n: u32| format!("{zrzh}{n:04}");
    let rec = |c: Option<&str>, hh: &str, floor: &str, unit: &str, room: &str, area: &str| {
        HouseholdRecord::new(
            c,
            hh,
            &[
                ("MYC", Some(floor.into())),
                ("DYH", Some(unit.into())),
                ("SHBW", Some(room.into())),
                ("SCTNJZMJ", Some(area.into())),
            ],
        )
    };
    let store = vec![
        rec(Some(&code(1)), "0001", "1", "1", "101", "90.00"),
        rec(Some(&code(2)), "0002", "1", "1", "102", "80.00"),
    ];
    let package =
        vec![rec(Some(&code(1)), "0001", "1", "1", "101", "91.00"), rec(None, "0003", "2", "1", "201", "70.00")];
    let side = TableSide { zrzh: zrzh.clone(), store, package };
    let d = diff(&StoreSide::default(), &Submission::default(), &[], &[side]);
    let t = &d.tables[0];
    assert_eq!((t.added.len(), t.changed.len(), t.removed.len()), (1, 1, 1));
    let place = |i: usize| {
        let h = &t.package[i];
        let f = |k: &str| h.fields.get(k).cloned().unwrap_or_default();
        (h.bdcdyh.clone(), h.hh.clone(), f("MYC"), f("SHBW"))
    };
    assert_eq!(t.package.len(), 2);
    assert_eq!(place(0), (Some(code(1)), "0001".to_owned(), "1".to_owned(), "101".to_owned()));
    assert_eq!(place(1), (None, "0003".to_owned(), "2".to_owned(), "201".to_owned()));
    assert_eq!(t.package[1].fields.get("SCTNJZMJ").map(String::as_str), Some("70.00"));
    assert!(!t.package[0].fields.contains_key("ZL"), "empty fields are left out");
    // Stored before the list existed: still reads.
    let old: super::TableDiff = serde_json::from_value(
        serde_json::json!({"zrzh": zrzh, "added": [], "changed": [], "removed": [], "unchanged": 2}),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(old.package.is_empty());
}
