//! Apportionment benchmarks: 100,000 households in 1,000 buildings, and one
//! 100-floor × 20-household building. Run with
//! `cargo bench -p cadastre-core --bench apportion`.

use cadastre_core::apportion::{Apportion, ApportionInput, Area, Method, Serves, SharedInput, UnitInput, ZoneInput};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

/// A mixed-use building: floors 1-2 commercial, the rest residential; a
/// building-wide lift, a hall per zone and a corridor on every floor.
fn building(id: usize, floors: i32, per_floor: usize) -> ApportionInput {
    let zone = |f: i32| if f <= 2 { "com" } else { "res" };
    let mut units = Vec::new();
    let mut shared = vec![
        SharedInput { id: "lift".into(), name: None, area: Area::from_hundredths(23_000 * i64::from(floors)), serves: Serves { building: Some(true), ..Default::default() }, shares: None },
        SharedInput { id: "res-hall".into(), name: None, area: Area::from_hundredths(45_017), serves: Serves { zone: Some("res".into()), ..Default::default() }, shares: None },
        SharedInput { id: "com-hall".into(), name: None, area: Area::from_hundredths(15_003), serves: Serves { zone: Some("com".into()), ..Default::default() }, shares: None },
    ];
    for f in 1..=floors {
        for r in 0..per_floor {
            // varied areas so the residual placement has work to do
            let inner = 6_000 + ((id * 7919 + f as usize * 104_729 + r * 131) % 9_000) as i64;
            units.push(UnitInput { id: format!("{f:03}{r:02}"), zone: zone(f).into(), floor: f, inner_area: Area::from_hundredths(inner), room: None });
        }
        shared.push(SharedInput {
            id: format!("corridor-{f:03}"),
            name: None,
            area: Area::from_hundredths(3_001 + i64::from(f)),
            serves: Serves { zone: Some(zone(f).into()), floor: Some(f), ..Default::default() },
            shares: None,
        });
    }
    ApportionInput {
        building: format!("330106001001GB00001F{id:04}"),
        method: Method::Standard,
        zones: vec![ZoneInput { id: "res".into(), name: "住宅".into() }, ZoneInput { id: "com".into(), name: "商业".into() }],
        units,
        shared,
    }
}

fn benches(c: &mut Criterion) {
    // 1,000 buildings × 100 households (10 floors × 10)
    let district: Vec<ApportionInput> = (0..1_000).map(|i| building(i, 10, 10)).collect();
    assert_eq!(district.iter().map(|b| b.units.len()).sum::<usize>(), 100_000);
    let mut g = c.benchmark_group("apportion");
    g.sample_size(10);
    g.bench_function("100k_households_1000_buildings", |b| {
        b.iter(|| {
            for input in &district {
                black_box(input.apportion().map(|r| r.totals.apportioned).ok());
            }
        })
    });
    g.finish();

    let tower = building(1, 100, 20);
    assert_eq!(tower.units.len(), 2_000);
    c.bench_function("one_building_100_floors_x_20", |b| b.iter(|| black_box(tower.apportion().map(|r| r.totals.apportioned).ok())));
    let plan = tower.validate().ok();
    c.bench_function("one_building_100_floors_x_20_validated", |b| {
        b.iter(|| black_box(plan.as_ref().and_then(|p| p.apportion().ok()).map(|r| r.totals.apportioned)))
    });
}

criterion_group!(apportion, benches);
criterion_main!(apportion);
