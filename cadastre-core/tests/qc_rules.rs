//! Quality checks on a hand-built district (20 street blocks of 6 parcels sharing exact
//! vertices, two sub-districts, one building per parcel) with one injected defect per
//! block: every defect is reported under its rule with its codes, nothing else fires
//! outside the defects' `also` lists, a clean district gives zero findings, and the
//! report does not depend on input order.

use std::collections::BTreeSet;

use cadastre_core::model::{Building, BuildingAttributes, Parcel, ParcelAttributes, Subdistrict, Submission};
use cadastre_core::qc::{self, check, report, Finding, QcConfig, Verdict};
use geo::Area;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use proptest::prelude::*;

const OX: f64 = 512_000.0;
const OY: f64 = 3_350_000.0;
const PW: f64 = 20.0; // parcel width
const PH: f64 = 25.0; // parcel depth
const STREET: f64 = 8.0;
const BX: usize = 5;
const BY: usize = 4;

fn ring(pts: &[(f64, f64)]) -> LineString {
    pts.iter().map(|&(x, y)| Coord { x, y }).collect::<Vec<_>>().into()
}

fn poly(pts: &[(f64, f64)]) -> MultiPolygon {
    MultiPolygon(vec![Polygon::new(ring(pts), vec![])])
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<(f64, f64)> {
    vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
}

fn block_origin(b: usize) -> (f64, f64) {
    let (bx, by) = (b % BX, b / BX);
    (OX + bx as f64 * (3.0 * PW + STREET), OY + by as f64 * (2.0 * PH + STREET))
}

/// Sub-district 001 holds block columns 0..3, 002 columns 3..5; the border runs along the
/// middle of the street between columns 2 and 3.
fn sd_of_block(b: usize) -> &'static str {
    if b % BX < 3 {
        "330106001001"
    } else {
        "330106001002"
    }
}

/// A building of a fixture: (parcel index, rect, ZRZH, ZDDM).
type FixtureBuilding = (usize, Vec<(f64, f64)>, String, String);

struct Fixture {
    /// Ring of each parcel, editable before the submission is built.
    rings: Vec<Vec<(f64, f64)>>,
    holes: Vec<Vec<Vec<(f64, f64)>>>,
    codes: Vec<String>,
    block: Vec<usize>,
    attrs: Vec<ParcelAttributes>,
    buildings: Vec<FixtureBuilding>,
    keep_zdmj: BTreeSet<usize>,
}

#[derive(Debug, Clone)]
struct Defect {
    rule: &'static str,
    objects: Vec<String>,
    also: Vec<&'static str>,
    block: usize,
}

impl Fixture {
    fn clean() -> Self {
        let mut f = Fixture {
            rings: vec![],
            holes: vec![],
            codes: vec![],
            block: vec![],
            attrs: vec![],
            buildings: vec![],
            keep_zdmj: BTreeSet::new(),
        };
        let mut seq = [0usize; 2];
        for b in 0..BX * BY {
            let (x0, y0) = block_origin(b);
            let sd = sd_of_block(b);
            for r in 0..2 {
                for c in 0..3 {
                    let k = usize::from(sd.ends_with('2'));
                    seq[k] += 1;
                    let code = format!("{sd}GB{:05}", seq[k]);
                    let (xa, ya) = (x0 + c as f64 * PW, y0 + r as f64 * PH);
                    f.push_parcel(rect(xa, ya, xa + PW, ya + PH), code.clone(), b, sd);
                    let i = f.rings.len() - 1;
                    f.buildings.push((i, rect(xa + 5.0, ya + 6.0, xa + 15.0, ya + 19.0), format!("{code}F0001"), code));
                }
            }
        }
        f
    }

    fn push_parcel(&mut self, ring: Vec<(f64, f64)>, code: String, block: usize, sd: &str) {
        self.attrs.push(ParcelAttributes {
            bdcdyh: Some(format!("{code}W00000000")),
            zdtzm: Some(code[12..14].to_string()),
            zl: Some("西湖区文三路88号".into()),
            yt: Some("0701".into()),
            qllx: Some("3".into()),
            qlxz: Some("102".into()),
            djzqdm: Some(sd.to_string()),
            ..Default::default()
        });
        self.rings.push(ring);
        self.holes.push(vec![]);
        self.codes.push(code);
        self.block.push(block);
    }

    /// Parcel index of (block, column, row).
    fn at(b: usize, c: usize, r: usize) -> usize {
        b * 6 + r * 3 + c
    }

    fn set_code(&mut self, i: usize, code: &str) {
        self.codes[i] = code.to_string();
        self.attrs[i].bdcdyh = Some(format!("{code}W00000000"));
        for b in self.buildings.iter_mut().filter(|b| b.0 == i) {
            b.2 = format!("{code}{}", &b.2[19..]);
            b.3 = code.to_string();
        }
    }

    fn strip_buildings(&mut self, i: usize) {
        self.buildings.retain(|b| b.0 != i);
    }

    fn submission(&self) -> Submission {
        let parcels = (0..self.rings.len())
            .map(|i| {
                let geometry = MultiPolygon(vec![Polygon::new(
                    ring(&self.rings[i]),
                    self.holes[i].iter().map(|h| ring(h)).collect(),
                )]);
                let mut attributes = self.attrs[i].clone();
                if !self.keep_zdmj.contains(&i) {
                    attributes.zdmj = Some((geometry.unsigned_area() * 100.0).round() / 100.0);
                }
                Parcel { zddm: self.codes[i].clone(), geometry, attributes, source_index: i }
            })
            .collect();
        let buildings = self
            .buildings
            .iter()
            .enumerate()
            .map(|(k, (_, r, zrzh, zddm))| Building {
                zrzh: zrzh.clone(),
                zddm: zddm.clone(),
                footprint: poly(r),
                attributes: BuildingAttributes { bdcdyh: Some(format!("{zrzh}0000")), ..Default::default() },
                source_index: k,
            })
            .collect();
        let width = BX as f64 * (3.0 * PW + STREET);
        let height = BY as f64 * (2.0 * PH + STREET);
        let border = OX + 3.0 * (3.0 * PW + STREET) - STREET / 2.0;
        let sd = |code: &str, x0: f64, x1: f64, n: usize| Subdistrict {
            djzqdm: code.into(),
            name: Some("文三路".into()),
            recorded_area: None,
            geometry: poly(&rect(x0, OY - STREET / 2.0, x1, OY + height - STREET / 2.0)),
            extra: Default::default(),
            source_index: n,
        };
        Submission {
            parcels,
            buildings,
            subdistricts: vec![
                sd("330106001001", OX - STREET / 2.0, border, 0),
                sd("330106001002", border, OX + width - STREET / 2.0, 1),
            ],
            ..Default::default()
        }
    }

    fn block_codes(&self, b: usize) -> BTreeSet<String> {
        let mut s: BTreeSet<String> =
            (0..self.rings.len()).filter(|&i| self.block[i] == b).map(|i| self.codes[i].clone()).collect();
        s.extend(self.buildings.iter().filter(|x| self.block[x.0] == b).map(|x| x.2.clone()));
        s
    }
}

/// Inject one defect of every kind, each into its own block.
fn defective() -> (Fixture, Vec<Defect>) {
    let mut f = Fixture::clean();
    let mut d = Vec::new();
    let mut def = |rule, objects: Vec<String>, also: &[&'static str], block| {
        d.push(Defect { rule, objects, also: also.to_vec(), block })
    };

    // 0: overlap — a vertex on the shared edge of (0,0) pushed 2 m into (1,0).
    let (a, b) = (Fixture::at(0, 0, 0), Fixture::at(0, 1, 0));
    let (x, y) = (f.rings[a][1].0 + 2.0, f.rings[a][1].1 + PH / 2.0);
    f.rings[a].insert(2, (x, y));
    def(qc::PARCEL_OVERLAP, vec![f.codes[a].clone(), f.codes[b].clone()], &[], 0);

    // 1: gap — the middle-row edge of (1,0) pulled 2 m back from (1,1).
    let (s, n) = (Fixture::at(1, 1, 0), Fixture::at(1, 1, 1));
    let (p2, p3) = (f.rings[s][2], f.rings[s][3]);
    f.rings[s].insert(3, ((p2.0 + p3.0) / 2.0, p2.1 - 2.0));
    def(qc::PARCEL_GAP, vec![f.codes[s].clone(), f.codes[n].clone()], &[], 1);

    // 2: bow-tie.
    let p = Fixture::at(2, 1, 0);
    f.rings[p].swap(2, 3);
    f.strip_buildings(p);
    def(
        qc::GEOMETRY_SELF_INTERSECTION,
        vec![f.codes[p].clone()],
        &[qc::GEOMETRY_INVALID, qc::PARCEL_GAP, qc::AREA_TOLERANCE],
        2,
    );

    // 3: duplicate vertex.
    let p = Fixture::at(3, 2, 1);
    let v = f.rings[p][2];
    f.rings[p].insert(2, v);
    def(qc::GEOMETRY_DUPLICATE_VERTEX, vec![f.codes[p].clone()], &[qc::GEOMETRY_INVALID], 3);

    // 4: 3 m spike, 2 cm wide, on the street edge of (1,0).
    let p = Fixture::at(4, 1, 0);
    let (x0, y0) = f.rings[p][0];
    let mx = x0 + PW / 2.0;
    for (k, q) in [(mx - 0.01, y0), (mx, y0 - 3.0), (mx + 0.01, y0)].into_iter().enumerate() {
        f.rings[p].insert(1 + k, q);
    }
    def(qc::GEOMETRY_SPIKE, vec![f.codes[p].clone()], &[qc::VERTEX_NEAR_MISS], 4);

    // 5: near miss — the vertex shared by four parcels moved 2 cm in (0,0) only.
    let p = Fixture::at(5, 0, 0);
    f.rings[p][2].0 += 0.02;
    let others = [Fixture::at(5, 1, 0), Fixture::at(5, 0, 1), Fixture::at(5, 1, 1)];
    let mut objs = vec![f.codes[p].clone()];
    objs.extend(others.iter().map(|&o| f.codes[o].clone()));
    def(qc::VERTEX_NEAR_MISS, objs, &[qc::PARCEL_OVERLAP, qc::PARCEL_GAP, qc::PARCEL_SLIVER], 5);

    // 6: tiny 0.8 m × 0.8 m parcel in the street south of the block.
    let (x0, y0) = block_origin(6);
    let code = format!("{}GB09001", sd_of_block(6));
    f.push_parcel(rect(x0 + 5.0, y0 - 3.0, x0 + 5.8, y0 - 2.2), code.clone(), 6, sd_of_block(6));
    def(qc::PARCEL_TINY, vec![code], &[], 6);

    // 7: parcel of column 2 extended 6 m east, 2 m past the sub-district border.
    let p = Fixture::at(7, 2, 1);
    f.rings[p][1].0 += 6.0;
    f.rings[p][2].0 += 6.0;
    // Its south neighbour's corner now lies on its extended edge (a T-junction).
    def(qc::PARCEL_OUTSIDE_SUBDISTRICT, vec![f.codes[p].clone()], &[qc::CODE_CONSISTENCY, qc::VERTEX_NEAR_MISS], 7);

    // 8: malformed ZDDM (18 characters); no buildings.
    let p = Fixture::at(8, 0, 1);
    f.strip_buildings(p);
    let bad = f.codes[p][..18].to_string();
    f.set_code(p, &bad);
    def(qc::CODE_FORMAT, vec![bad], &[qc::CODE_CONSISTENCY], 8);

    // 9: two neighbours carry one ZDDM; no buildings.
    let (a, b) = (Fixture::at(9, 0, 0), Fixture::at(9, 1, 0));
    f.strip_buildings(a);
    f.strip_buildings(b);
    let code = f.codes[a].clone();
    f.set_code(b, &code);
    def(qc::CODE_DUPLICATE, vec![code], &[], 9);

    // 10: ZDDM names the other sub-district (DJZQDM and location disagree).
    let p = Fixture::at(10, 1, 1);
    let foreign = "330106001002GB09101".to_string();
    f.set_code(p, &foreign);
    def(qc::CODE_CONSISTENCY, vec![foreign], &[qc::PARCEL_OUTSIDE_SUBDISTRICT], 10);

    // 11: recorded ZDMJ 30 m² too large.
    let p = Fixture::at(11, 2, 0);
    f.keep_zdmj.insert(p);
    f.attrs[p].zdmj = Some(PW * PH + 30.0);
    def(qc::AREA_TOLERANCE, vec![f.codes[p].clone()], &[], 11);

    // 12: building moved 2 m across its parcel's street edge.
    let p = Fixture::at(12, 1, 0);
    let k = f.buildings.iter().position(|b| b.0 == p).unwrap_or(0);
    let dy = f.buildings[k].1[0].1 - (f.rings[p][0].1 - 2.0);
    for q in &mut f.buildings[k].1 {
        q.1 -= dy;
    }
    def(qc::BUILDING_OUTSIDE_PARCEL, vec![f.buildings[k].2.clone(), f.codes[p].clone()], &[], 12);

    // 13: a second building overlapping the first by 3 m × 13 m.
    let p = Fixture::at(13, 2, 1);
    let (xa, ya) = f.rings[p][0];
    let zrzh2 = format!("{}F0002", f.codes[p]);
    let first = f.buildings.iter().find(|b| b.0 == p).map(|b| b.2.clone()).unwrap_or_default();
    f.buildings.push((p, rect(xa + 12.0, ya + 6.0, xa + 18.0, ya + 19.0), zrzh2.clone(), f.codes[p].clone()));
    def(qc::BUILDING_OVERLAP, vec![first, zrzh2], &[], 13);

    // 14: empty ZL.
    let p = Fixture::at(14, 0, 0);
    f.attrs[p].zl = None;
    def(qc::ATTRIBUTE_MISSING, vec![f.codes[p].clone()], &[qc::ATTRIBUTE_DOMAIN], 14);

    // 15: YT not a GB/T 21010 code.
    let p = Fixture::at(15, 1, 1);
    f.attrs[p].yt = Some("9999".into());
    def(qc::ATTRIBUTE_DOMAIN, vec![f.codes[p].clone()], &[], 15);

    // 16: 0.2 m × 30 m sliver parcel in the street.
    let (x0, y0) = block_origin(16);
    let code = format!("{}GB09002", sd_of_block(16));
    f.push_parcel(rect(x0 + 10.0, y0 - 3.0, x0 + 40.0, y0 - 2.8), code.clone(), 16, sd_of_block(16));
    def(qc::PARCEL_SLIVER, vec![code], &[], 16);

    // 17: hole outside the shell.
    let p = Fixture::at(17, 0, 1);
    let (xa, ya) = f.rings[p][0];
    f.holes[p].push(rect(xa - 3.0, ya + 5.0, xa - 2.0, ya + 6.0));
    def(qc::GEOMETRY_INVALID, vec![f.codes[p].clone()], &[], 17);

    (f, d)
}

fn config() -> QcConfig {
    QcConfig::default()
}

#[test]
fn clean_district_has_no_findings() {
    let sub = Fixture::clean().submission();
    assert_eq!(sub.parcels.len(), 120);
    let report = check(&sub, &config());
    assert!(report.findings.is_empty(), "{:#?}", &report.findings[..report.findings.len().min(5)]);
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(report.score, 100.0);
}

fn explained(f: &Finding, defects: &[Defect], fx: &Fixture) -> bool {
    defects.iter().any(|d| {
        (f.rule == d.rule || d.also.contains(&f.rule.as_str()))
            && f.objects.iter().any(|o| d.objects.contains(o) || fx.block_codes(d.block).contains(o))
    })
}

#[test]
fn every_injected_defect_is_found_and_nothing_else() {
    let (fx, defects) = defective();
    let report = check(&fx.submission(), &config());
    for d in &defects {
        let hit = report.findings.iter().any(|f| f.rule == d.rule && d.objects.iter().all(|o| f.objects.contains(o)));
        assert!(
            hit,
            "defect not reported: {d:?}\nfindings of that rule: {:#?}",
            report.findings.iter().filter(|f| f.rule == d.rule).collect::<Vec<_>>()
        );
    }
    for f in &report.findings {
        assert!(explained(f, &defects, &fx), "unexplained finding: {f:#?}");
    }
    // Untouched blocks (18, 19) stay silent.
    let quiet: BTreeSet<String> = fx.block_codes(18).union(&fx.block_codes(19)).cloned().collect();
    assert!(report.findings.iter().all(|f| f.objects.iter().all(|o| !quiet.contains(o))));
    assert_eq!(report.verdict, Verdict::Fail);
}

#[test]
fn overlap_and_gap_areas_are_measured() {
    let (fx, _) = defective();
    let report = check(&fx.submission(), &config());
    let overlap = report.findings.iter().find(|f| f.rule == qc::PARCEL_OVERLAP && f.message_en.contains("25.00 m²"));
    assert!(
        overlap.is_some(),
        "{:#?}",
        report.findings.iter().filter(|f| f.rule == qc::PARCEL_OVERLAP).collect::<Vec<_>>()
    );
    let gap = report.findings.iter().find(|f| f.rule == qc::PARCEL_GAP && f.message_en.contains("20.00 m²"));
    assert!(gap.is_some(), "{:#?}", report.findings.iter().filter(|f| f.rule == qc::PARCEL_GAP).collect::<Vec<_>>());
}

#[test]
fn disabled_rule_and_changed_tolerance_take_effect() {
    let (fx, _) = defective();
    let sub = fx.submission();
    let cfg =
        QcConfig::from_toml("[rules.\"parcel.overlap\"]\nenabled = false\n[rules.\"parcel.gap\"]\nmax_area = 10.0\n")
            .unwrap_or_default();
    let report = check(&sub, &cfg);
    assert!(!report.counts.contains_key(qc::PARCEL_OVERLAP));
    assert!(report.findings.iter().all(|f| f.rule != qc::PARCEL_OVERLAP));
    assert!(!report.findings.iter().any(|f| f.rule == qc::PARCEL_GAP && f.message_en.contains("20.00")));
}

fn shuffled(sub: &Submission, seed: u64) -> Submission {
    // A small deterministic permutation (xorshift) so the test needs no RNG crate.
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut out = sub.clone();
    for i in (1..out.parcels.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        out.parcels.swap(i, j);
    }
    for i in (1..out.buildings.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        out.buildings.swap(i, j);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    #[test]
    fn report_is_independent_of_input_order(seed in any::<u64>()) {
        let (fx, _) = defective();
        let sub = fx.submission();
        let base = report::to_json(&check(&sub, &config()));
        let other = report::to_json(&check(&shuffled(&sub, seed), &config()));
        prop_assert_eq!(base, other);
    }
}

#[test]
fn json_has_the_agreed_shape() {
    let (fx, _) = defective();
    let json = report::to_json(&check(&fx.submission(), &config()));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    for key in ["findings", "score", "verdict", "counts"] {
        assert!(v.get(key).is_some(), "{key} missing");
    }
    let f = &v["findings"][0];
    for key in ["rule", "severity", "objects", "location", "message_zh", "message_en"] {
        assert!(f.get(key).is_some(), "finding.{key} missing");
    }
    assert_eq!(v["verdict"], "fail");
    assert!(f["location"].as_array().is_some_and(|a| a.len() == 2));
}

#[test]
fn a_sub_millimetre_near_miss_is_reported_in_millimetres() {
    // The corner shared by four parcels moved 0.4 mm east and 0.3 mm north in one of them.
    let mut f = Fixture::clean();
    let p = Fixture::at(5, 0, 0);
    f.rings[p][2].0 += 0.0004;
    f.rings[p][2].1 += 0.0003;
    let report = check(&f.submission(), &config());
    let hits: Vec<&Finding> = report.findings.iter().filter(|x| x.rule == qc::VERTEX_NEAR_MISS).collect();
    assert!(!hits.is_empty(), "{:#?}", report.findings);
    for h in hits {
        assert!(h.objects.contains(&f.codes[p]), "{h:#?}");
        assert!(h.message_zh.contains(" 毫米") && !h.message_zh.contains("0.000 米"), "{}", h.message_zh);
        // Two significant digits of a distance between 0.1 and 0.5 mm: "0.xx mm".
        let mm = h.message_en.split(" mm apart").next().and_then(|s| s.rsplit(' ').next()).unwrap_or_default();
        let v: f64 = mm.parse().unwrap_or(-1.0);
        assert!(v > 0.0 && v <= 0.5 && mm.len() == 4, "{}", h.message_en);
    }
}
