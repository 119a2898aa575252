//! Independent geometry checks for generated districts (computed with `geo`,
//! not with the generator's own code).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use cadastre_samples::{District, Parcel};
use geo::{Area, BooleanOps, Contains, Validation};
use geo_types::{Coord, Polygon};

/// All ring vertices of a polygon (closing points included once per ring).
pub fn vertices(p: &Polygon<f64>) -> Vec<Coord<f64>> {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .flat_map(|r| r.0[..r.0.len().saturating_sub(1)].iter().copied())
        .collect()
}

/// Ring edges of a polygon.
pub fn edges(p: &Polygon<f64>) -> Vec<(Coord<f64>, Coord<f64>)> {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .flat_map(|r| r.0.windows(2).map(|w| (w[0], w[1])).collect::<Vec<_>>())
        .collect()
}

/// Whether `v` lies strictly inside segment `a-b` (not at its ends), to 1 mm.
pub fn on_segment_interior(v: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> bool {
    if v == a || v == b {
        return false;
    }
    let (d, w) = (b - a, v - a);
    let len2 = d.x * d.x + d.y * d.y;
    if len2 == 0.0 {
        return false;
    }
    let t = (w.x * d.x + w.y * d.y) / len2;
    if t <= 0.0 || t >= 1.0 {
        return false;
    }
    let cross = (d.x * w.y - d.y * w.x).abs() / len2.sqrt();
    cross < 1e-3
}

pub fn by_block(parcels: &[Parcel]) -> BTreeMap<u32, Vec<&Parcel>> {
    let mut m: BTreeMap<u32, Vec<&Parcel>> = BTreeMap::new();
    for p in parcels {
        m.entry(p.block).or_default().push(p);
    }
    m
}

/// Problems found in one block of parcels (empty = clean).
pub fn block_problems(parcels: &[&Parcel]) -> Vec<String> {
    let mut out = Vec::new();
    for p in parcels {
        if !p.geometry.is_valid() {
            out.push(format!("{} invalid: {:?}", p.zddm, p.geometry.validation_errors()));
        }
    }
    // No overlaps: the union's area equals the sum of the areas.
    let sum: f64 = parcels.iter().map(|p| p.geometry.unsigned_area()).sum();
    let union = geo::unary_union(parcels.iter().map(|p| &p.geometry));
    let ua = union.unsigned_area();
    if (sum - ua).abs() > 1e-3 * sum.max(1.0) * 1e-3 + 0.01 {
        out.push(format!("block {} union {ua:.3} != sum {sum:.3}", parcels[0].block));
    }
    // No gaps: the union is one polygon without holes.
    if union.0.len() != 1 || !union.0[0].interiors().is_empty() {
        out.push(format!("block {} union has {} parts / holes", parcels[0].block, union.0.len()));
    }
    // Shared vertices bit-identical, no near-misses, no T-junctions.
    for (i, a) in parcels.iter().enumerate() {
        let va = vertices(&a.geometry);
        for (j, b) in parcels.iter().enumerate() {
            if i == j {
                continue;
            }
            for v in &va {
                for w in vertices(&b.geometry) {
                    let d = ((v.x - w.x).powi(2) + (v.y - w.y).powi(2)).sqrt();
                    if d > 0.0 && d < 0.5 {
                        out.push(format!("near-miss {} {:?} vs {} {:?}", a.zddm, v, b.zddm, w));
                    }
                }
                for (s, e) in edges(&b.geometry) {
                    if on_segment_interior(*v, s, e) {
                        out.push(format!("T-junction: vertex {v:?} of {} on an edge of {}", a.zddm, b.zddm));
                    }
                }
            }
        }
    }
    out
}

/// Problems of a whole clean district.
pub fn district_problems(d: &District) -> Vec<String> {
    let mut out = Vec::new();
    for (_, ps) in by_block(&d.parcels) {
        out.extend(block_problems(&ps));
    }
    let subs: HashMap<&str, &Polygon<f64>> = d.subdistricts.iter().map(|s| (s.code.as_str(), &s.geometry)).collect();
    let parcels: HashMap<&str, &Parcel> = d.parcels.iter().map(|p| (p.zddm.as_str(), p)).collect();
    if parcels.len() != d.parcels.len() {
        out.push("duplicate ZDDM".into());
    }
    for p in &d.parcels {
        match subs.get(p.subdistrict.as_str()) {
            Some(s) if s.contains(&p.geometry) => {}
            _ => out.push(format!("{} not inside sub-district {}", p.zddm, p.subdistrict)),
        }
        if p.zddm[..12] != p.subdistrict {
            out.push(format!("{} code names another sub-district than {}", p.zddm, p.subdistrict));
        }
        if (p.recorded_area - p.geometry.unsigned_area()).abs() > 0.005 + 1e-9 {
            out.push(format!("{} ZDMJ {} vs area {}", p.zddm, p.recorded_area, p.geometry.unsigned_area()));
        }
        if p.bdcdyh != format!("{}W00000000", p.zddm) || p.address.is_empty() || p.land_use.is_empty() {
            out.push(format!("{} attributes", p.zddm));
        }
    }
    // Dense sequences per (sub-district, feature).
    let mut seqs: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for p in &d.parcels {
        seqs.entry(&p.zddm[..14]).or_default().push(p.zddm[14..].parse().unwrap_or(0));
    }
    for (k, mut v) in seqs {
        v.sort_unstable();
        if v != (1..=v.len() as u32).collect::<Vec<_>>() {
            out.push(format!("sequence of {k} not dense"));
        }
    }
    // Buildings: inside their parcel, numbered densely per parcel, not overlapping.
    let mut per: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for b in &d.buildings {
        match parcels.get(b.zddm.as_str()) {
            Some(p) if p.geometry.contains(&b.geometry) => {}
            _ => out.push(format!("building {} not inside parcel {}", b.zrzh, b.zddm)),
        }
        if !b.zrzh.starts_with(&b.zddm) || b.bdcdyh != format!("{}0000", b.zrzh) {
            out.push(format!("building {} codes", b.zrzh));
        }
        if (b.footprint_area - b.geometry.unsigned_area()).abs() > 0.005 + 1e-9 {
            out.push(format!("building {} ZZDMJ", b.zrzh));
        }
        per.entry(&b.zddm).or_default().push(b.zrzh[20..].parse().unwrap_or(0));
    }
    for (k, v) in per {
        if v != (1..=v.len() as u32).collect::<Vec<_>>() {
            out.push(format!("building numbers of {k} not dense: {v:?}"));
        }
    }
    let mut by_parcel: BTreeMap<&str, Vec<&Polygon<f64>>> = BTreeMap::new();
    for b in &d.buildings {
        by_parcel.entry(&b.zddm).or_default().push(&b.geometry);
    }
    for (k, bs) in by_parcel {
        for i in 0..bs.len() {
            for j in i + 1..bs.len() {
                if bs[i].intersection(bs[j]).unsigned_area() > 0.0 {
                    out.push(format!("buildings of {k} overlap"));
                }
            }
        }
    }
    out
}
