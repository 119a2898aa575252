//! Printed sheets: a parcel map (宗地图) and a household plan (分户图) of the
//! sample district as PDF (issue #16 goal: a parcel map under 200 ms).
//!
//! `cargo bench -p cadastre-core --bench print`

use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::print::{HouseholdSheet, ParcelMap, PrintFont, SheetOptions};
use criterion::{criterion_group, criterion_main, Criterion};
use std::path::Path;

fn bench(c: &mut Criterion) {
    let district = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district");
    let sub = load_submission(&district, &LoadOptions::default()).expect("sample district");
    let options = SheetOptions { date: "2026-12-05".into(), ..SheetOptions::default() };
    let mut g = c.benchmark_group("print");
    g.sample_size(20);
    g.bench_function("font load (NotoSansCJK-Regular.ttc face 2)", |b| {
        b.iter(|| PrintFont::system_default().expect("font"))
    });
    let font = PrintFont::system_default().expect("Noto Sans CJK");
    g.bench_function("parcel map: prepare + PDF (330106001001GB00001)", |b| {
        b.iter(|| {
            let map = ParcelMap::from_submission(&sub, "330106001001GB00001").expect("map");
            map.to_pdf(&font, &options).expect("pdf")
        })
    });
    g.bench_function("household plan: prepare + PDF (…F00010005)", |b| {
        b.iter(|| {
            let s = HouseholdSheet::from_folder(&district, "330106001001GB00002F00010005").expect("sheet");
            s.to_pdf(&font, &options).expect("pdf")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
