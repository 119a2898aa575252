//! Every injected defect really changes what the truth file says it does,
//! and the blocks without a defect stay clean.

mod common;

use std::collections::{BTreeMap, HashMap};

use cadastre_samples::{codes, generate, write_generated, Config, DefectPlan, District, Parcel, Rule, Truth};
use common::{block_problems, by_block, vertices};
use geo::{Area, BooleanOps, Contains, Validation};
use geo_types::{Coord, Polygon};

fn district(seed: u64, rounds: u32) -> District {
    let n = Rule::INJECTABLE.len() as u32 * rounds;
    generate(&Config::new(6_000).with_seed(seed).with_defects(DefectPlan::Spread(n))).expect("generate")
}

fn parcels_with<'a>(d: &'a District, code: &str) -> Vec<&'a Parcel> {
    d.parcels.iter().filter(|p| p.zddm == code).collect()
}

fn min_angle_deg(p: &Polygon<f64>) -> f64 {
    let r = &p.exterior().0;
    let n = r.len() - 1;
    (0..n)
        .map(|i| {
            let (a, b, c) = (r[(i + n - 1) % n], r[i], r[(i + 1) % n]);
            let (u, v) = (a - b, c - b);
            let (lu, lv) = ((u.x * u.x + u.y * u.y).sqrt(), (v.x * v.x + v.y * v.y).sqrt());
            if lu == 0.0 || lv == 0.0 {
                return 180.0;
            }
            ((u.x * v.x + u.y * v.y) / (lu * lv)).clamp(-1.0, 1.0).acos().to_degrees()
        })
        .fold(180.0, f64::min)
}

fn dist(a: Coord<f64>, b: Coord<f64>) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// Checks one defect against the data; returns what is wrong.
#[allow(clippy::too_many_lines)]
fn verify(d: &District, def: &cadastre_samples::Defect) -> Result<(), String> {
    let subs: HashMap<&str, &Polygon<f64>> = d.subdistricts.iter().map(|s| (s.code.as_str(), &s.geometry)).collect();
    let one = |code: &str| -> Result<&Parcel, String> {
        let v = parcels_with(d, code);
        if v.len() == 1 {
            Ok(v[0])
        } else {
            Err(format!("{code} found {} times", v.len()))
        }
    };
    let building = |zrzh: &str| d.buildings.iter().find(|b| b.zrzh == zrzh).ok_or(format!("no building {zrzh}"));
    match def.rule {
        Rule::Overlap => {
            let (a, b) = (one(&def.objects[0])?, one(&def.objects[1])?);
            let area = a.geometry.intersection(&b.geometry).unsigned_area();
            if area < 1.0 {
                return Err(format!("overlap area {area}"));
            }
        }
        Rule::Gap => {
            let block: Vec<&Parcel> = d.parcels.iter().filter(|p| p.block == def.block).collect();
            let u = geo::unary_union(block.iter().map(|p| &p.geometry));
            let holes: f64 =
                u.0.iter().flat_map(|p| p.interiors()).map(|r| Polygon::new(r.clone(), vec![]).unsigned_area()).sum();
            if holes < 1.0 {
                return Err(format!("gap area {holes}"));
            }
            // Enclosed: the block's union is still one polygon (the gap does not reach a street).
            if u.0.len() != 1 {
                return Err("gap splits the block".into());
            }
            let (a, b) = (one(&def.objects[0])?, one(&def.objects[1])?);
            let p = geo_types::Point::new(def.location[0], def.location[1]);
            if a.geometry.contains(&p) || b.geometry.contains(&p) {
                return Err("location is covered".into());
            }
        }
        Rule::SelfIntersection => {
            let p = one(&def.objects[0])?;
            let errs = p.geometry.validation_errors();
            if !errs.iter().any(|e| matches!(e, geo::algorithm::validation::InvalidPolygon::SelfIntersection(_))) {
                return Err(format!("not self-intersecting: {errs:?}"));
            }
        }
        Rule::DuplicateVertex => {
            let p = one(&def.objects[0])?;
            if !p.geometry.exterior().0.windows(2).any(|w| w[0] == w[1]) {
                return Err("no repeated vertex".into());
            }
        }
        Rule::Spike => {
            let a = min_angle_deg(&one(&def.objects[0])?.geometry);
            if a > 1.0 {
                return Err(format!("smallest angle {a}°"));
            }
        }
        Rule::NearMiss => {
            let p = one(&def.objects[0])?;
            let others: Vec<Coord<f64>> =
                def.objects[1..].iter().filter_map(|c| one(c).ok()).flat_map(|q| vertices(&q.geometry)).collect();
            if def.objects.len() < 2 {
                return Err("no neighbour listed".into());
            }
            let hit = vertices(&p.geometry).iter().any(|v| {
                others.iter().any(|w| {
                    let x = dist(*v, *w);
                    x > 0.0 && x <= 0.045
                })
            });
            if !hit {
                return Err("no vertex 1-4 cm from a neighbour's".into());
            }
        }
        Rule::Tiny => {
            let a = one(&def.objects[0])?.geometry.unsigned_area();
            if a >= 1.0 || a <= 0.0 {
                return Err(format!("area {a}"));
            }
        }
        Rule::OutsideSubdistrict => {
            let p = one(&def.objects[0])?;
            let s = subs.get(p.subdistrict.as_str()).ok_or("no sub-district")?;
            if s.contains(&p.geometry) {
                return Err("still inside".into());
            }
        }
        Rule::CodeFormat => {
            let p = one(&def.objects[0])?;
            if codes::is_parcel_code(&p.zddm) {
                return Err(format!("{} is well formed", p.zddm));
            }
        }
        Rule::CodeDuplicate => {
            let n = parcels_with(d, &def.objects[0]).len();
            if n != 2 {
                return Err(format!("code appears {n} times"));
            }
        }
        Rule::CodeConsistency => {
            let p = one(&def.objects[0])?;
            if p.zddm[..12] == p.subdistrict {
                return Err("code matches its sub-district".into());
            }
            let s = subs.get(p.subdistrict.as_str()).ok_or("no sub-district")?;
            if !s.contains(&p.geometry) {
                return Err("parcel is not where DJZQDM says".into());
            }
            if !codes::is_parcel_code(&p.zddm) {
                return Err("code malformed".into());
            }
        }
        Rule::AreaTolerance => {
            let p = one(&def.objects[0])?;
            let s = p.geometry.unsigned_area();
            let off = (p.recorded_area - s).abs();
            if off < 4.0 * 2.0 * 0.05 * s.sqrt() {
                return Err(format!("off by only {off}"));
            }
        }
        Rule::BuildingOutsideParcel => {
            let b = building(&def.objects[0])?;
            let p = one(&b.zddm)?;
            if p.geometry.contains(&b.geometry) {
                return Err("building inside".into());
            }
            if b.geometry.intersection(&p.geometry).unsigned_area() <= 0.0 {
                return Err("building not even touching".into());
            }
        }
        Rule::BuildingOverlap => {
            let (a, b) = (building(&def.objects[0])?, building(&def.objects[1])?);
            let area = a.geometry.intersection(&b.geometry).unsigned_area();
            if area < 1.0 {
                return Err(format!("overlap {area}"));
            }
        }
        Rule::AttributeMissing => {
            let p = one(&def.objects[0])?;
            if !p.address.is_empty() && !p.land_use.is_empty() {
                return Err("nothing missing".into());
            }
        }
        r => return Err(format!("{r} is not injectable")),
    }
    Ok(())
}

#[test]
fn every_injected_defect_is_real() {
    for seed in [3_u64, 17] {
        let d = district(seed, 2);
        assert_eq!(d.truth.defects.len(), Rule::INJECTABLE.len() * 2);
        let mut failures = Vec::new();
        for def in &d.truth.defects {
            if let Err(e) = verify(&d, def) {
                failures.push(format!("seed {seed} #{} {} {:?}: {e}", def.id, def.rule, def.objects));
            }
            // Location lies in or near the block it names.
            let bb = d.parcels.iter().filter(|p| p.block == def.block).flat_map(|p| vertices(&p.geometry));
            let near = bb.map(|v| dist(v, Coord { x: def.location[0], y: def.location[1] })).fold(f64::MAX, f64::min);
            assert!(near < 200.0, "location of #{} far from block {}", def.id, def.block);
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

#[test]
fn counts_per_rule_match_the_request_and_one_defect_per_block() {
    let plan = vec![(Rule::Overlap, 3), (Rule::CodeDuplicate, 2), (Rule::OutsideSubdistrict, 2), (Rule::Tiny, 1)];
    let d = generate(&Config::new(4_000).with_seed(8).with_defects(DefectPlan::Exact(plan.clone()))).expect("generate");
    let mut got: BTreeMap<Rule, u32> = BTreeMap::new();
    for def in &d.truth.defects {
        *got.entry(def.rule).or_default() += 1;
    }
    assert_eq!(got, plan.into_iter().collect::<BTreeMap<_, _>>());
    let mut blocks: Vec<u32> = d.truth.defects.iter().map(|x| x.block).collect();
    blocks.sort_unstable();
    blocks.dedup();
    assert_eq!(blocks.len(), d.truth.defects.len());
    // The tiny parcel replaces a regular one: the parcel count stays as asked.
    assert_eq!(d.parcels.len(), 4_000);
    assert_eq!(d.truth.counts.parcels, 4_000);
    // Two code.duplicate defects: exactly two codes occur twice.
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for p in &d.parcels {
        *seen.entry(&p.zddm).or_default() += 1;
    }
    assert_eq!(seen.values().filter(|&&n| n == 2).count(), 2);
    assert!(seen.values().all(|&n| n <= 2));
}

#[test]
fn blocks_without_a_defect_stay_clean() {
    let d = district(5, 1);
    let touched: Vec<u32> = d.truth.defects.iter().map(|x| x.block).collect();
    let mut checked = 0;
    for (b, ps) in by_block(&d.parcels) {
        if touched.contains(&b) {
            continue;
        }
        let problems = block_problems(&ps);
        assert!(problems.is_empty(), "block {b}: {problems:?}");
        for p in &ps {
            assert!((p.recorded_area - p.geometry.unsigned_area()).abs() < 0.006);
            assert!(codes::is_parcel_code(&p.zddm));
        }
        checked += 1;
    }
    assert!(checked > 100);
}

#[test]
fn defect_blocks_do_fail_the_clean_checks() {
    // The geometric defects are visible to the same checker the clean tests use.
    let d = district(9, 1);
    for def in &d.truth.defects {
        let geometric = matches!(def.rule, Rule::Overlap | Rule::Gap | Rule::SelfIntersection | Rule::NearMiss);
        if geometric {
            let ps: Vec<&Parcel> = d.parcels.iter().filter(|p| p.block == def.block).collect();
            assert!(!block_problems(&ps).is_empty(), "{} in block {} not seen", def.rule, def.block);
        }
    }
}

#[test]
fn truth_json_is_written_and_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = Config::new(3_000).with_seed(12).with_defects(DefectPlan::Spread(15));
    let truth = write_generated(&c, dir.path(), &mut |_| {}).expect("write");
    let text = std::fs::read_to_string(dir.path().join("truth.json")).expect("truth.json");
    let read: Truth = serde_json::from_str(&text).expect("parse");
    assert_eq!(read, truth);
    assert_eq!(read.generator, format!("district-gen {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(read.crs, "EPSG:4549");
    assert_eq!(read.defects.len(), 15);
    let value: serde_json::Value = serde_json::from_str(&text).expect("value");
    assert_eq!(value["defects"][0]["rule"].as_str(), Some(read.defects[0].rule.as_str()));
    assert!(value["defects"][0]["location"].as_array().is_some_and(|a| a.len() == 2));
    // Same as the in-memory generator.
    assert_eq!(generate(&c).expect("generate").truth, truth);
}

#[test]
fn geometry_is_invalid_only_where_the_truth_allows_it() {
    // `also` must be honest: a parcel that `geo` finds invalid must belong to
    // a defect whose rule or `also` admits an invalid geometry.
    for seed in [3_u64, 17, 23] {
        let d = district(seed, 2);
        let allowed: Vec<&str> = d
            .truth
            .defects
            .iter()
            .filter(|x| x.rule == Rule::SelfIntersection || x.also.contains(&Rule::GeometryInvalid))
            .flat_map(|x| x.objects.iter().map(String::as_str))
            .collect();
        for p in &d.parcels {
            if !p.geometry.is_valid() {
                assert!(
                    allowed.contains(&p.zddm.as_str()),
                    "seed {seed}: {} invalid: {:?}",
                    p.zddm,
                    p.geometry.validation_errors()
                );
            }
        }
        // And every parcel outside its sub-district is accounted for.
        let subs: HashMap<&str, &Polygon<f64>> =
            d.subdistricts.iter().map(|s| (s.code.as_str(), &s.geometry)).collect();
        let outside_ok: Vec<&str> = d
            .truth
            .defects
            .iter()
            .filter(|x| x.rule == Rule::OutsideSubdistrict || x.also.contains(&Rule::OutsideSubdistrict))
            .flat_map(|x| x.objects.iter().map(String::as_str))
            .collect();
        let moved: Vec<&str> = d
            .truth
            .defects
            .iter()
            .filter(|x| x.rule == Rule::BuildingOutsideParcel)
            .flat_map(|x| x.objects.iter().map(String::as_str))
            .collect();
        let mut index: HashMap<&str, Vec<&Parcel>> = HashMap::new();
        for p in &d.parcels {
            index.entry(p.zddm.as_str()).or_default().push(p);
        }
        for b in &d.buildings {
            let home = index.get(b.zddm.as_str()).cloned().unwrap_or_default();
            assert_eq!(home.len(), 1, "seed {seed}: building {} has {} parcels", b.zrzh, home.len());
            if !home[0].geometry.contains(&b.geometry) {
                assert!(moved.contains(&b.zrzh.as_str()), "seed {seed}: building {} outside its parcel", b.zrzh);
            }
        }
        for p in &d.parcels {
            if !subs.get(p.subdistrict.as_str()).is_some_and(|s| s.contains(&p.geometry)) {
                assert!(outside_ok.contains(&p.zddm.as_str()), "seed {seed}: {} outside its sub-district", p.zddm);
            }
        }
    }
}
