//! Apportionment benchmarks: 100,000 households in 1,000 buildings, and one
//! 100-floor × 20-household building. Run with
//! `cargo bench -p cadastre-core --bench apportion`.

mod fixture;

use cadastre_core::apportion::{Apportion, ApportionInput};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use fixture::building;

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
    c.bench_function("one_building_100_floors_x_20", |b| {
        b.iter(|| black_box(tower.apportion().map(|r| r.totals.apportioned).ok()))
    });
    let plan = tower.validate().ok();
    c.bench_function("one_building_100_floors_x_20_validated", |b| {
        b.iter(|| black_box(plan.as_ref().and_then(|p| p.apportion().ok()).map(|r| r.totals.apportioned)))
    });
}

criterion_group!(apportion, benches);
criterion_main!(apportion);
