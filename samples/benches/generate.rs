//! Generator throughput: in memory, and streamed to shapefiles.
//! Run: `cargo bench -p cadastre-samples --bench generate`

use cadastre_samples::{generate, write_generated, Config, DefectPlan};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("district");
    g.sample_size(10);
    for n in [10_000_u64, 50_000] {
        g.throughput(Throughput::Elements(n));
        let config = Config::new(n).with_seed(7).with_defects(DefectPlan::Spread(15));
        g.bench_with_input(BenchmarkId::new("generate_in_memory", n), &config, |b, cfg| {
            b.iter(|| generate(cfg).map(|d| d.parcels.len()));
        });
        let dir = tempfile::tempdir().ok();
        if let Some(dir) = dir {
            g.bench_with_input(BenchmarkId::new("write_shapefiles", n), &config, |b, cfg| {
                b.iter(|| write_generated(cfg, dir.path(), &mut |_| {}).map(|t| t.counts.parcels));
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
