//! Building table: grid operations, history, links, CSV/XLSX exchange.

use cadastre_core::apportion::{Apportion, Area, Serves, SharedInput};
use cadastre_core::building::{
    read_csv, read_xlsx, write_csv, write_xlsx, BuildingError, BuildingTable, Editor, FloorSpec, GridSpec, LinkKind,
    PhysicalFloors, Status, Target,
};
use chrono::{TimeZone, Utc};

const ZRZH: &str = "330106001001GB00001F0001";

fn editor(who: &str, minute: u32) -> Editor {
    Editor { who: who.into(), at: Utc.with_ymd_and_hms(2026, 11, 22, 9, minute, 0).single().unwrap_or_default() }
}

fn grid() -> BuildingTable {
    let mut t = BuildingTable::new(ZRZH);
    let mut floors: Vec<FloorSpec> = (1..=3).map(FloorSpec::simple).collect();
    floors.push(FloorSpec::simple(-1));
    // nominal floor 4 spans physical 4-5 (a duplex floor)
    floors.push(FloorSpec { nominal: 4, physical: PhysicalFloors { from: 4, to: 5 } });
    let spec = GridSpec {
        ljzh: "1".into(),
        floors,
        stair_units: 2,
        rooms_per_unit: 2,
        usage: "住宅".into(),
        zone: "res".into(),
    };
    let created = t.generate_grid(&spec, &editor("zhang", 0)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.len(), 5 * 4);
    t
}

#[test]
fn grid_numbers_basements_first_and_names_rooms() {
    let t = grid();
    let first = t.get("0001").unwrap_or_else(|| panic!("no 0001"));
    assert_eq!((first.floor, first.room.as_str(), first.stair_unit.as_str()), (-1, "B1-01", "1"));
    let h = t.get("0008").unwrap_or_else(|| panic!("no 0008"));
    assert_eq!((h.floor, h.room.as_str(), h.stair_unit.as_str()), (1, "104", "2"));
    assert_eq!(t.get("0020").map(|h| (h.room.clone(), h.physical.to_string())), Some(("404".into(), "4-5".into())));
    let spec = GridSpec {
        ljzh: "1".into(),
        floors: vec![FloorSpec::simple(0)],
        stair_units: 1,
        rooms_per_unit: 1,
        usage: String::new(),
        zone: String::new(),
    };
    assert!(matches!(
        BuildingTable::new(ZRZH).generate_grid(&spec, &editor("zhang", 0)),
        Err(BuildingError::Invalid(_))
    ));
}

#[test]
fn rows_run_top_down_with_basements_last() {
    let t = grid();
    let rows = t.rows();
    let floors: Vec<i32> = rows.iter().map(|r| r.floor).collect();
    assert_eq!(floors, vec![4, 3, 2, 1, -1]);
    assert_eq!(rows[0].physical.to_string(), "4-5");
    let rooms: Vec<&str> = rows[3].households.iter().map(|h| h.room.as_str()).collect();
    assert_eq!(rooms, vec!["101", "102", "103", "104"]);
}

#[test]
fn split_merge_keep_history_with_who_when_before_after() {
    let mut t = grid();
    t.edit("0005", &editor("li", 1), |h| h.measured_inner = Some(Area::from_hundredths(12_000)))
        .unwrap_or_else(|e| panic!("{e}"));
    let parts = t
        .split("0005", &[Area::from_hundredths(7_000), Area::from_hundredths(5_000)], &editor("li", 2))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parts, vec!["0021".to_string(), "0022".to_string()]);
    assert_eq!(t.get("0005").map(|h| h.status), Some(Status::Historical));
    assert_eq!(t.get("0022").and_then(|h| h.measured_inner), Some(Area::from_hundredths(5_000)));
    // wrong total is refused, editing a historical household is refused
    assert!(t.split("0006", &[Area::from_hundredths(1), Area::from_hundredths(1)], &editor("li", 3)).is_ok());
    assert!(matches!(t.edit("0005", &editor("li", 3), |h| h.layout = "x".into()), Err(BuildingError::Historical(_))));
    t.edit("0007", &editor("li", 3), |h| h.measured_inner = Some(Area::from_hundredths(100)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        t.split("0007", &[Area::from_hundredths(60), Area::from_hundredths(50)], &editor("li", 3)),
        Err(BuildingError::Invalid(_))
    ));

    let merged = t.merge(&["0021", "0022"], &editor("wang", 4)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.get(&merged).and_then(|h| h.measured_inner), Some(Area::from_hundredths(12_000)));
    assert!(
        matches!(t.merge(&["0001", "0020"], &editor("wang", 5)), Err(BuildingError::Invalid(_))),
        "different floors"
    );

    let h5: Vec<_> = t.history().of_household("0005").collect();
    assert_eq!(h5.len(), 3, "create, edit, split");
    assert_eq!((h5[1].who.as_str(), h5[1].action.as_str()), ("li", "edit"));
    assert_eq!(h5[1].before.as_ref().and_then(|h| h.measured_inner), None);
    assert_eq!(h5[1].after.as_ref().and_then(|h| h.measured_inner), Some(Area::from_hundredths(12_000)));
    assert_eq!(h5[2].at, editor("li", 2).at);
    assert!(h5[2].note.contains("0021") && h5[2].note.contains("0022"));
    let h21: Vec<_> = t.history().of_household("0021").collect();
    assert_eq!(h21.last().map(|c| (c.action.as_str(), c.who.as_str())), Some(("merge", "wang")));
}

#[test]
fn renumber_and_batch_edit_are_recorded() {
    let mut t = grid();
    t.edit("0009", &editor("li", 1), |h| h.room = "999".into()).unwrap_or_else(|e| panic!("{e}"));
    let changed = t.renumber_rooms(&editor("li", 2));
    assert_eq!(changed, 1);
    assert_eq!(t.get("0009").map(|h| h.room.as_str()), Some("201"));
    let n = t.batch_edit(|h| h.floor < 0, |h| h.usage = "储藏".into(), &editor("li", 3));
    assert_eq!(n, 4);
    assert!(t.current().filter(|h| h.floor < 0).all(|h| h.usage == "储藏"));
    // editing to the same value records nothing
    assert_eq!(t.batch_edit(|h| h.floor < 0, |h| h.usage = "储藏".into(), &editor("li", 4)), 0);
}

#[test]
fn predicted_measured_links_1_1_1_n_n_1_and_no_n_m() {
    let mut t = grid();
    let by = editor("li", 1);
    for (hh, p, m) in [
        ("0005", Some(10_000), None),
        ("0006", None, Some(6_000)),
        ("0007", None, Some(4_100)),
        ("0008", Some(5_000), Some(5_050)),
    ] {
        t.edit(hh, &by, |h| {
            h.predicted_inner = p.map(Area::from_hundredths);
            h.measured_inner = m.map(Area::from_hundredths);
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(t.link(&["0005"], &["0006", "0007"], &by), Ok(LinkKind::OneToMany));
    assert_eq!(t.link(&["0008"], &["0008"], &by), Ok(LinkKind::OneToOne));
    assert_eq!(t.link(&["0001", "0002"], &["0003"], &by), Ok(LinkKind::ManyToOne));
    assert_eq!(t.link(&["0009", "0010"], &["0011", "0012"], &by), Err(BuildingError::ManyToMany(2, 2)));
    assert_eq!(t.link(&["0005"], &["0013"], &by), Err(BuildingError::AlreadyLinked("0005".into())));
    let rows = t.side_by_side();
    assert_eq!(rows[0].difference, Some(Area::from_hundredths(100)));
    assert_eq!(rows[1].difference, Some(Area::from_hundredths(50)));
    assert_eq!(rows[2].difference, None, "no areas yet");
    assert!(t.history().entries().iter().any(|c| c.target == Target::Building && c.action == "link"));
}

const HEADER: &str = "ZRZH,LJZH,DYH,MYC,SJC,HH,SHBW,BDCDYH,HX,FWYT,GNQ,FWJG,YCTNJZMJ,SCTNJZMJ,ZL";

#[test]
fn csv_import_reports_duplicate_and_rejected_rows_and_drops_nothing() {
    let rows = [
        format!("{ZRZH},1,1,1,1,0001,101,{ZRZH}0001,三室两厅,住宅,res,钢筋混凝土,89.50,89.62,某路1号"),
        format!("{ZRZH},1,1,1,1,0001,101,,,住宅,res,,89.50,,"), // duplicate HH
        format!("{ZRZH},1,1,0,,0002,102,,,住宅,res,,80,,"),     // floor 0
        format!("{ZRZH},1,1,2,2-3,0003,201,,,住宅,res,,80.123,,"), // 3 decimals
        format!("{ZRZH},1,1,2,2,003,202,,,住宅,res,,80,,"),     // HH not 4 digits
        "330106001001GB00001F0002,1,1,2,2,0004,203,,,住宅,res,,80,,".to_string(), // other building
        format!("{ZRZH},1,,-1,-1,0005,B1-01,,,车库,park,,30,,"),
        String::new(),
        format!("{ZRZH},1,1,2,2,0006,204,{ZRZH}0007,,住宅,res,,80,,"), // code does not end in HH
    ];
    let text = format!("\u{feff}{HEADER}\n{}\n", rows.join("\n"));
    let (t, report) = read_csv(text.as_bytes(), &editor("import", 0)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.rows, 8);
    assert_eq!(report.imported, 2);
    assert_eq!(report.duplicates.len(), 1);
    assert_eq!(report.duplicates[0].line, 3);
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![4, 5, 6, 7, 10]);
    assert_eq!(report.imported + report.duplicates.len() + report.rejected.len(), report.rows);
    assert!(report.rejected[0].reason.contains("MYC"));
    assert!(report.rejected[2].reason.contains("户号应为 4 位数字，实际为 \"003\""), "{:?}", report.rejected[2]);
    assert!(report.rejected[3].reason.contains("330106001001GB00001F0002"));
    assert!(report.rejected[4].reason.contains("is not ZRZH"), "{:?}", report.rejected[4]);
    assert_eq!(t.get("0005").map(|h| h.floor), Some(-1));
}

/// Codes in a row are parsed by `unit_code`: the reason names the segment that failed.
#[test]
fn csv_rows_with_malformed_codes_name_the_segment() {
    let rows = [
        format!("{ZRZH},1,1,1,1,0001,101,,,住宅,res,,89.50,,"),
        format!("{ZRZH},1,1,1,1,0002,102,{}0002,,住宅,res,,80,,", ZRZH.replace("GB", "XB")), // ownership X
        format!("{ZRZH},1,1,1,1,0003,103,{ZRZH}000,,住宅,res,,80,,"),                        // 27 characters
        format!("{ZRZH},1,1,1,1,00a4,104,,,住宅,res,,80,,"),                                 // HH not digits
    ];
    let text = format!("{HEADER}\n{}\n", rows.join("\n"));
    let (_, report) = read_csv(text.as_bytes(), &editor("import", 0)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.imported, 1);
    let reasons: Vec<&str> = report.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("第 13 位应为宗地特征码（所有权）G/J/Z"), "{reasons:?}");
    assert!(reasons[1].contains("不动产单元代码应为 28 位，实际为 27 位"), "{reasons:?}");
    assert!(reasons[2].contains("户号应为 4 位数字"), "{reasons:?}");
    // A malformed ZRZH (fixture W where a building has F) is no building of the table.
    let bad = ZRZH.replace('F', "W");
    let text = format!("{HEADER}\n{bad},1,1,1,1,0001,101,,,住宅,res,,89.50,,\n");
    assert!(read_csv(text.as_bytes(), &editor("import", 0)).is_err(), "no building to import into");
}

#[test]
fn csv_reads_gbk_and_round_trips() {
    let text =
        format!("{HEADER}\n{ZRZH},1,1,12,12-13,0001,1201,,三室两厅,住宅,res,钢筋混凝土,89.50,89.62,杭州市某路1号\n");
    let (gbk, _, bad) = encoding_rs::GBK.encode(&text);
    assert!(!bad);
    let (t, report) = read_csv(&gbk, &editor("import", 0)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.imported, 1);
    assert_eq!(t.get("0001").map(|h| h.address.as_str()), Some("杭州市某路1号"));
    let out = write_csv(&t).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.starts_with(b"\xEF\xBB\xBF"));
    let (back, _) = read_csv(&out, &editor("import", 1)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.current().collect::<Vec<_>>(), t.current().collect::<Vec<_>>());
}

#[test]
fn xlsx_round_trip_keeps_every_field() {
    let mut t = grid();
    let by = editor("li", 1);
    t.batch_edit(
        |_| true,
        |h| {
            h.measured_inner = Some(Area::from_hundredths(8_950 + i64::from(h.floor)));
            h.predicted_inner = Some(Area::from_hundredths(9_000));
            h.layout = "两室一厅".into();
            h.address = "杭州市西湖区某路1号".into();
            h.structure = "钢筋混凝土".into();
        },
        &by,
    );
    t.edit("0003", &by, |h| h.unit_code = Some(format!("{ZRZH}0003"))).unwrap_or_else(|e| panic!("{e}"));
    let bytes = write_xlsx(&t).unwrap_or_else(|e| panic!("{e}"));
    let (back, report) = read_xlsx(&bytes, &editor("import", 2)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.rows, report.imported), (20, 20), "{report:?}");
    assert_eq!(back.current().collect::<Vec<_>>(), t.current().collect::<Vec<_>>());
}

#[test]
fn table_feeds_apportionment() {
    let mut t = grid();
    let by = editor("li", 1);
    t.batch_edit(|_| true, |h| h.measured_inner = Some(Area::from_hundredths(10_000)), &by);
    let lift = SharedInput {
        id: "lift".into(),
        name: None,
        area: Area::from_hundredths(40_000),
        serves: Serves { building: Some(true), ..Serves::default() },
        shares: None,
    };
    let input = t.to_apportion_input(true, vec![lift]).unwrap_or_else(|e| panic!("{e}"));
    let r = input.apportion().unwrap_or_else(|e| panic!("{e}"));
    assert!(r.units.iter().all(|u| u.apportioned == Area::from_hundredths(2_000)));
    assert!(matches!(t.to_apportion_input(false, vec![]), Err(BuildingError::MissingArea { .. })));
}

#[test]
fn a_new_building_of_a_result_package_reads_under_its_temporary_id_without_unit_codes() {
    let csv = "ZRZH,LJZH,DYH,MYC,SJC,HH,SHBW,BDCDYH,HX,FWYT,GNQ,FWJG,YCTNJZMJ,SCTNJZMJ,ZL\n\
               TB1,1,1,1,1,0001,101,,三室两厅,住宅,res,混合,89.50,89.62,某路1号\n\
               TB1,1,1,1,1,0002,102,TB100000000000000000000000002,,住宅,res,,89.50,,\n";
    let (table, report) = read_csv(csv.as_bytes(), &editor("surveyor", 0)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(table.zrzh, "TB1");
    assert_eq!(report.imported, 1);
    assert_eq!(report.rejected.len(), 1);
    assert!(report.rejected[0].reason.contains("get their codes on acceptance"), "{:?}", report.rejected);
    // Neither a code nor a temporary id: no building.
    let bad = csv.replace("TB1", "X1");
    assert!(read_csv(bad.as_bytes(), &editor("surveyor", 0)).is_err());
}
