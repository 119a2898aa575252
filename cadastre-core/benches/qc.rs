//! Criterion benchmark of the whole quality check on an in-memory grid district
//! (street blocks of 3 × 2 parcels sharing exact vertices, one building per parcel,
//! an overlap in every 50th block). The 1M-parcel comparison with PostGIS is
//! `scripts/bench-qc.sh`.
//!
//! `cargo bench -p cadastre-core --bench qc`

use cadastre_core::model::{Building, BuildingAttributes, Parcel, ParcelAttributes, Subdistrict, Submission};
use cadastre_core::qc::{check, QcConfig};
use criterion::{criterion_group, criterion_main, Criterion};
use geo::Area;
use geo_types::{Coord, MultiPolygon, Polygon};

fn poly(pts: &[(f64, f64)]) -> MultiPolygon {
    let ring: Vec<Coord> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
    MultiPolygon(vec![Polygon::new(ring.into(), vec![])])
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<(f64, f64)> {
    vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
}

fn district(n: usize) -> Submission {
    let blocks = n.div_ceil(6);
    let side = (blocks as f64).sqrt().ceil() as usize;
    let (ox, oy, bw, bh) = (500_000.0, 3_300_000.0, 68.0, 58.0);
    let mut sub = Submission::default();
    for b in 0..blocks {
        let (x0, y0) = (ox + (b % side) as f64 * bw, oy + (b / side) as f64 * bh);
        for k in 0..6 {
            let (c, r) = (k % 3, k / 3);
            let (xa, ya) = (x0 + c as f64 * 20.0, y0 + r as f64 * 25.0);
            let mut ring = rect(xa, ya, xa + 20.0, ya + 25.0);
            if b % 50 == 0 && k == 0 {
                ring.insert(2, (xa + 22.0, ya + 12.5));
            }
            let code = format!("330106001001GB{:05}", sub.parcels.len() % 100_000);
            let geometry = poly(&ring);
            let zdmj = (geometry.unsigned_area() * 100.0).round() / 100.0;
            sub.buildings.push(Building {
                zrzh: format!("{code}F0001"),
                zddm: code.clone(),
                footprint: poly(&rect(xa + 5.0, ya + 6.0, xa + 15.0, ya + 19.0)),
                attributes: BuildingAttributes::default(),
                source_index: sub.parcels.len(),
            });
            sub.parcels.push(Parcel {
                zddm: code,
                geometry,
                attributes: ParcelAttributes {
                    zl: Some("文三路".into()),
                    zdmj: Some(zdmj),
                    yt: Some("0701".into()),
                    qllx: Some("3".into()),
                    qlxz: Some("102".into()),
                    djzqdm: Some("330106001001".into()),
                    ..Default::default()
                },
                source_index: sub.parcels.len(),
            });
        }
    }
    let (w, h) = (side as f64 * bw, blocks.div_ceil(side) as f64 * bh);
    sub.subdistricts.push(Subdistrict {
        djzqdm: "330106001001".into(),
        name: None,
        recorded_area: None,
        geometry: poly(&rect(ox - 4.0, oy - 4.0, ox - 4.0 + w, oy - 4.0 + h)),
        extra: Default::default(),
        source_index: 0,
    });
    sub
}

fn bench(c: &mut Criterion) {
    let cfg = QcConfig::default();
    let mut group = c.benchmark_group("qc");
    group.sample_size(10);
    for n in [10_000usize, 50_000] {
        let sub = district(n);
        group.bench_function(format!("check_{n}_parcels"), |b| b.iter(|| check(&sub, &cfg)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
