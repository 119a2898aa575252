//! `--repair` gap closing on generated districts: every `parcel.gap` at most the tolerance
//! is merged into a neighbour, after which the checks find nothing; the total area grows
//! by exactly the gap areas; gaps above the tolerance stay; the CLI writes both outputs.

use std::path::{Path, PathBuf};

use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::model::Submission;
use cadastre_core::qc::repair::{repair, Change};
use cadastre_core::qc::{check, QcConfig, PARCEL_GAP};
use cadastre_samples::{write_generated, Config, DefectPlan, Rule, Truth};
use geo::Area;

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cadastre-qc-repair-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn load(dir: &Path) -> Submission {
    load_submission(dir, &LoadOptions::default()).unwrap_or_else(|e| panic!("cannot load {}: {e}", dir.display()))
}

/// A generated district with `gaps` injected gaps (and nothing else), loaded back.
fn district(tag: &str, seed: u64, gaps: u32) -> (PathBuf, Truth, Submission) {
    let dir = scratch(tag);
    let cfg = Config::new(1500).with_seed(seed).with_defects(DefectPlan::Exact(vec![(Rule::Gap, gaps)]));
    let truth = write_generated(&cfg, &dir, &mut |_| {}).unwrap_or_else(|e| panic!("generator: {e}"));
    let sub = load(&dir);
    (dir, truth, sub)
}

fn total_area(sub: &Submission) -> f64 {
    sub.parcels.iter().map(|p| p.geometry.unsigned_area()).sum()
}

fn gap_changes(changes: &[Change]) -> Vec<&Change> {
    changes.iter().filter(|c| c.action == "close_gap").collect()
}

fn near(a: [f64; 2], b: [f64; 2]) -> bool {
    (a[0] - b[0]).hypot(a[1] - b[1]) < 5.0
}

#[test]
fn gaps_below_tolerance_are_closed_and_checks_come_back_clean() {
    for seed in [3, 11] {
        let (dir, truth, sub) = district(&format!("close-{seed}"), seed, 6);
        let cfg = QcConfig::default();
        let before = check(&sub, &cfg);
        // Only the injected gaps are reported, so "no findings after" means no new ones.
        assert!(before.findings.iter().all(|f| f.rule == PARCEL_GAP), "{:?}", before.findings);
        assert_eq!(before.findings.len(), truth.defects.len());

        let (fixed, changes) = repair(&sub, &cfg);
        let closed = gap_changes(&changes);
        assert_eq!(closed.len(), truth.defects.len(), "{changes:?}");
        assert_eq!(changes.len(), closed.len(), "only gap closing expected: {changes:?}");
        for d in &truth.defects {
            let c = closed.iter().find(|c| c.gap.is_some_and(|g| near(g.location, d.location)));
            let c = c.unwrap_or_else(|| panic!("gap {:?} at {:?} not in the diff {closed:?}", d.objects, d.location));
            assert!(d.objects.contains(&c.object), "{c:?} vs {:?}", d.objects);
            let g = c.gap.unwrap_or_else(|| panic!("no details"));
            assert!(g.gap_area > 0.01 && g.gap_area <= cfg.rules.parcel_gap.params.close_max_area, "{g:?}");
            assert!((g.area_after - g.area_before - g.gap_area).abs() < 0.01, "{g:?}");
        }
        let gap_sum: f64 = closed.iter().filter_map(|c| c.gap).map(|g| g.gap_area).sum();
        let grown = total_area(&fixed) - total_area(&sub);
        assert!((grown - gap_sum).abs() < 0.01, "area grew {grown}, gaps {gap_sum}");

        let after = check(&fixed, &cfg);
        assert!(after.findings.is_empty(), "{:?}", after.findings);
        // Repairing a repaired district changes nothing.
        assert!(repair(&fixed, &cfg).1.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn gaps_above_tolerance_stay_findings() {
    let (dir, _, sub) = district("tolerance", 5, 4);
    let cfg = QcConfig::default();
    let (_, all) = repair(&sub, &cfg);
    let mut areas: Vec<f64> = gap_changes(&all).iter().filter_map(|c| c.gap).map(|g| g.gap_area).collect();
    areas.sort_by(f64::total_cmp);
    assert_eq!(areas.len(), 4);
    // Close only the gaps up to the second smallest.
    let mut small = cfg.clone();
    small.rules.parcel_gap.params.close_max_area = (areas[1] + areas[2]) / 2.0;
    assert!(areas[2] - areas[1] > 1e-6, "need distinct areas: {areas:?}");
    let (fixed, changes) = repair(&sub, &small);
    let closed = gap_changes(&changes);
    assert_eq!(closed.len(), 2, "{changes:?}");
    let touched: Vec<&str> = closed.iter().map(|c| c.object.as_str()).collect();
    let left: Vec<_> = check(&fixed, &small).findings.into_iter().filter(|f| f.rule == PARCEL_GAP).collect();
    assert_eq!(left.len(), 2, "{left:?}");
    for f in &left {
        let big = all.iter().find(|c| c.gap.is_some_and(|g| near(g.location, f.location)));
        let big = big.and_then(|c| c.gap).unwrap_or_else(|| panic!("{f:?} not among the gaps"));
        assert!(big.gap_area > areas[1], "{big:?}");
        // The parcels around a gap left alone are unchanged.
        for code in &f.objects {
            assert!(!touched.contains(&code.as_str()), "{code} was changed");
            let i = sub.parcels.iter().position(|p| &p.zddm == code).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(fixed.parcels[i], sub.parcels[i]);
        }
    }
    // Off: nothing closed.
    let mut off = cfg.clone();
    off.rules.parcel_gap.params.close_max_area = 0.0;
    assert!(gap_changes(&repair(&sub, &off).1).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[cfg(feature = "cli")]
fn cli_writes_repaired_shapefiles_and_the_gap_diff() {
    let (dir, truth, _) = district("cli", 7, 3);
    let out = scratch("cli-out");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_cadastre"))
        .arg("check")
        .arg(&dir)
        .arg("--repair")
        .arg(&out)
        .output();
    let st = st.unwrap_or_else(|e| panic!("cannot run cadastre: {e}"));
    assert_eq!(st.status.code(), Some(1), "{}", String::from_utf8_lossy(&st.stderr));
    let text = std::fs::read_to_string(out.join("repair-diff.json")).unwrap_or_default();
    let diff: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let closed: Vec<&serde_json::Value> =
        diff.as_array().map(|a| a.iter().filter(|c| c["action"] == "close_gap").collect()).unwrap_or_default();
    assert_eq!(closed.len(), truth.defects.len(), "{text}");
    for c in &closed {
        assert!(c["gap_area"].as_f64().is_some_and(|a| a > 0.01), "{c}");
        assert!(c["area_before"].is_number() && c["area_after"].is_number() && c["location"].is_array(), "{c}");
    }
    let repaired = load(&out);
    let report = check(&repaired, &QcConfig::default());
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&out);
}
