//! The sample-district generator's files (copied to tests/data from samples/district/buildings):
//! the importer reads them, the exporter writes them back byte for byte, and the
//! building table yields the same apportionment input as the generator's JSON.

use cadastre_core::apportion::{Apportion, ApportionInput};
use cadastre_core::building::{read_csv, read_xlsx, write_csv, write_xlsx, Editor};

const CSV: &[u8] = include_bytes!("data/330106001001GB00004F0001.csv");
const JSON: &str = include_str!("data/330106001001GB00004F0001.apportion.json");

#[test]
fn generator_csv_imports_completely_and_exports_byte_identical() {
    let (table, report) = read_csv(CSV, &Editor::now("import")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.rows, report.imported), (20, 20), "{report:?}");
    assert!(report.duplicates.is_empty() && report.rejected.is_empty());
    assert_eq!(table.zrzh, "330106001001GB00004F0001");
    let out = write_csv(&table).unwrap_or_else(|e| panic!("{e}"));
    assert!(out == CSV, "export differs from the generator's file");
    // and through XLSX
    let xlsx = write_xlsx(&table).unwrap_or_else(|e| panic!("{e}"));
    let (back, _) = read_xlsx(&xlsx, &Editor::now("import")).unwrap_or_else(|e| panic!("{e}"));
    assert!(write_csv(&back).unwrap_or_default() == CSV);
}

#[test]
fn table_gives_the_generators_apportionment_input() {
    let (table, _) = read_csv(CSV, &Editor::now("import")).unwrap_or_else(|e| panic!("{e}"));
    let theirs = ApportionInput::from_json(JSON).unwrap_or_else(|e| panic!("{e}"));
    let ours = table.to_apportion_input(true, theirs.shared.clone()).unwrap_or_else(|e| panic!("{e}"));
    let key = |i: &ApportionInput| {
        let mut v: Vec<(String, String, i32, i64)> =
            i.units.iter().map(|u| (u.id.clone(), u.zone.clone(), u.floor, u.inner_area.hundredths())).collect();
        v.sort();
        v
    };
    assert_eq!(key(&ours), key(&theirs));
    let a = ours.apportion().unwrap_or_else(|e| panic!("{e}"));
    let b = theirs.apportion().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.totals, b.totals);
    assert_eq!(a.totals.apportioned, a.totals.shared_area);
    let ab: Vec<_> = a.units.iter().map(|u| (u.id.clone(), u.apportioned)).collect();
    let bb: Vec<_> = b.units.iter().map(|u| (u.id.clone(), u.apportioned)).collect();
    assert_eq!(ab, bb);
}
