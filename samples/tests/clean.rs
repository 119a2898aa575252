//! A clean generated district has the geometric and code properties it
//! promises, checked independently with `geo`.

mod common;

use cadastre_samples::{generate, Config};
use common::{block_problems, by_block, district_problems};
use geo::{Area, Contains};
use proptest::prelude::*;

#[test]
fn sample_district_is_clean() {
    let d = generate(&Config::sample()).expect("generate");
    let problems = district_problems(&d);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(d.parcels.len(), 200);
    assert_eq!(d.subdistricts.len(), 3);
    assert!(d.truth.defects.is_empty());
}

#[test]
fn sample_has_holes_homesteads_and_multi_building_parcels() {
    let d = generate(&Config::sample()).expect("generate");
    let with_holes = d.parcels.iter().filter(|p| !p.geometry.interiors().is_empty()).count();
    assert!(with_holes >= 1, "no parcel with a hole");
    // The inner parcel fills the hole exactly: one parcel's exterior equals the hole ring as a set.
    for host in d.parcels.iter().filter(|p| !p.geometry.interiors().is_empty()) {
        let hole: std::collections::BTreeSet<(u64, u64)> =
            host.geometry.interiors()[0].0.iter().map(|c| (c.x.to_bits(), c.y.to_bits())).collect();
        let inner = d.parcels.iter().find(|p| {
            p.zddm != host.zddm
                && p.geometry
                    .exterior()
                    .0
                    .iter()
                    .map(|c| (c.x.to_bits(), c.y.to_bits()))
                    .collect::<std::collections::BTreeSet<_>>()
                    == hole
        });
        assert!(inner.is_some(), "hole of {} is not filled by a parcel", host.zddm);
    }
    assert!(d.parcels.iter().any(|p| &p.zddm[12..14] == "JC"), "no homestead parcels");
    assert!(d.parcels.iter().filter(|p| &p.zddm[12..14] == "GB").count() > 150);
    let mut per = std::collections::HashMap::new();
    for b in &d.buildings {
        *per.entry(&b.zddm).or_insert(0) += 1;
    }
    assert!(per.values().any(|&n| n >= 2), "no parcel with several buildings");
    assert!(d.buildings.len() > d.parcels.len());
}

#[test]
fn sample_coordinates_are_hangzhou_in_epsg_4549() {
    let d = generate(&Config::sample()).expect("generate");
    for p in &d.parcels {
        for c in p.geometry.exterior().0.iter() {
            assert!((505_000.0..520_000.0).contains(&c.x), "easting {}", c.x);
            assert!((3_345_000.0..3_355_000.0).contains(&c.y), "northing {}", c.y);
        }
    }
}

#[test]
fn streets_separate_blocks() {
    // Parcels of different blocks never touch: streets are open, at least 16 m wide.
    let d = generate(&Config::new(1_500).with_seed(11)).expect("generate");
    let blocks = by_block(&d.parcels);
    let bbox = |ps: &Vec<&cadastre_samples::Parcel>| {
        let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for p in ps {
            for c in p.geometry.exterior().0.iter() {
                b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
            }
        }
        b
    };
    let boxes: Vec<[f64; 4]> = blocks.values().map(bbox).collect();
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            let dx = (b[0] - a[2]).max(a[0] - b[2]);
            let dy = (b[1] - a[3]).max(a[1] - b[3]);
            assert!(dx >= 16.0 || dy >= 16.0, "blocks {a:?} and {b:?} closer than a street");
        }
    }
    // Parcels lie inside the district.
    for p in &d.parcels {
        assert!(d.district.geometry.contains(&p.geometry));
    }
    let sub_sum: f64 = d.subdistricts.iter().map(|s| s.geometry.unsigned_area()).sum();
    assert!((sub_sum - d.district.geometry.unsigned_area()).abs() < 1.0);
}

#[test]
fn larger_district_is_clean_and_counts_match() {
    let d = generate(&Config::new(2_500).with_seed(42)).expect("generate");
    let problems = district_problems(&d);
    assert!(problems.is_empty(), "{:#?}", &problems[..problems.len().min(20)]);
    assert_eq!(d.truth.counts.parcels, 2_500);
    assert_eq!(d.truth.counts.buildings, d.buildings.len() as u64);
    assert_eq!(d.truth.counts.blocks, by_block(&d.parcels).len() as u64);
}

#[test]
fn same_seed_same_district_other_seed_other_district() {
    let a = generate(&Config::new(300).with_seed(5)).expect("a");
    let b = generate(&Config::new(300).with_seed(5)).expect("b");
    let c = generate(&Config::new(300).with_seed(6)).expect("c");
    assert_eq!(a, b);
    assert_ne!(a.parcels[0].geometry, c.parcels[0].geometry);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn any_seed_and_size_gives_a_clean_tiling(seed in any::<u64>(), n in 1_u64..600) {
        let d = generate(&Config::new(n).with_seed(seed)).expect("generate");
        prop_assert_eq!(d.parcels.len() as u64, n);
        let problems = district_problems(&d);
        prop_assert!(problems.is_empty(), "{:?}", problems);
    }
}

#[test]
fn block_checker_catches_a_moved_vertex() {
    // The independent checker itself must be able to fail.
    let d = generate(&Config::new(40).with_seed(1)).expect("generate");
    let mut ps: Vec<cadastre_samples::Parcel> = d.parcels.iter().filter(|p| p.block == 0).cloned().collect();
    let mut ring = ps[0].geometry.exterior().0.clone();
    ring[0].x += 0.02;
    let last = ring.len() - 1;
    ring[last] = ring[0];
    ps[0].geometry = geo_types::Polygon::new(ring.into(), vec![]);
    let refs: Vec<&cadastre_samples::Parcel> = ps.iter().collect();
    assert!(!block_problems(&refs).is_empty());
}

#[test]
fn t_junction_detector_sees_a_vertex_on_a_neighbours_edge() {
    use common::on_segment_interior;
    let c = |x: f64, y: f64| geo_types::Coord { x, y };
    assert!(on_segment_interior(c(5.0, 0.0), c(0.0, 0.0), c(10.0, 0.0)));
    assert!(!on_segment_interior(c(10.0, 0.0), c(0.0, 0.0), c(10.0, 0.0)));
    assert!(!on_segment_interior(c(5.0, 0.01), c(0.0, 0.0), c(10.0, 0.0)));
}
