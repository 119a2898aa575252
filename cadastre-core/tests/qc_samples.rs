//! Quality checks on districts from the samples generator (`cadastre-samples`), read back
//! from shapefiles through `io::load_submission`: the committed sample district and a
//! generated clean district give zero findings; a district with every injectable defect
//! kind has each defect reported under its rule with (at least) its codes, and every
//! finding is explained by a defect (its rule or `also`, on the defect's objects; a ZRZH
//! counts as an object of the parcel whose ZDDM it starts with).

use std::path::{Path, PathBuf};

use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::qc::{check, Finding, QcConfig, Report, Verdict};
use cadastre_samples::{write_generated, Config, DefectPlan, Rule, Truth};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cadastre-qc-samples-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn check_dir(dir: &Path) -> Report {
    let sub = match load_submission(dir, &LoadOptions::default()) {
        Ok(s) => s,
        Err(e) => panic!("cannot load {}: {e}", dir.display()),
    };
    check(&sub, &QcConfig::default())
}

fn generated(tag: &str, config: &Config) -> (Truth, Report) {
    let dir = scratch(tag);
    let truth = match write_generated(config, &dir, &mut |_| {}) {
        Ok(t) => t,
        Err(e) => panic!("generator failed: {e}"),
    };
    let report = check_dir(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    (truth, report)
}

fn show(findings: &[&Finding]) -> String {
    findings.iter().map(|f| format!("  {} {:?} {}\n", f.rule, f.objects, f.message_en)).collect()
}

#[test]
fn committed_sample_district_is_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district");
    let report = check_dir(&dir);
    let all: Vec<&Finding> = report.findings.iter().collect();
    assert!(report.findings.is_empty(), "findings on the clean sample:\n{}", show(&all));
    assert_eq!(report.verdict, Verdict::Pass);
}

#[test]
fn generated_clean_district_is_clean() {
    let (_, report) = generated("clean", &Config::new(3000).with_seed(11));
    let all: Vec<&Finding> = report.findings.iter().collect();
    assert!(report.findings.is_empty(), "findings on a clean district:\n{}", show(&all));
}

#[test]
fn every_injected_defect_is_reported_and_nothing_else() {
    let kinds = Rule::INJECTABLE.len() as u32;
    let (truth, report) =
        generated("defects", &Config::new(6000).with_seed(7).with_defects(DefectPlan::Spread(2 * kinds)));
    assert_eq!(truth.defects.len() as u32, 2 * kinds);
    let mut missed = Vec::new();
    for d in &truth.defects {
        let hit = report
            .findings
            .iter()
            .any(|f| f.rule == d.rule.as_str() && d.objects.iter().all(|o| f.objects.contains(o)));
        if !hit {
            let same: Vec<&Finding> = report.findings.iter().filter(|f| f.rule == d.rule.as_str()).collect();
            missed.push(format!("{} {:?} ({})\n{}", d.rule.as_str(), d.objects, d.detail, show(&same)));
        }
    }
    assert!(missed.is_empty(), "defects not reported:\n{}", missed.join("\n"));
    let unexplained: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| {
            !truth.defects.iter().any(|d| {
                (f.rule == d.rule.as_str() || d.also.iter().any(|a| a.as_str() == f.rule))
                    && f.objects.iter().any(|o| d.objects.iter().any(|x| x == o || o.starts_with(x.as_str())))
            })
        })
        .collect();
    assert!(unexplained.is_empty(), "findings not explained by any defect:\n{}", show(&unexplained));
    assert_eq!(report.verdict, Verdict::Fail);
}

/// A district with every injectable defect, generated once for the tests that load it repeatedly.
fn defect_district() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("only-attributes");
        let kinds = Rule::INJECTABLE.len() as u32;
        let config = Config::new(1500).with_seed(5).with_defects(DefectPlan::Spread(2 * kinds));
        if let Err(e) = write_generated(&config, &dir, &mut |_| {}) {
            panic!("generator failed: {e}");
        }
        dir
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8))]

    /// Loading only `QcConfig::attributes_read` (what `cadastre check` does) gives the same
    /// report as loading everything, whichever fields `attribute.missing` requires.
    #[test]
    fn loading_only_the_attributes_read_gives_the_same_report(
        parcel_fields in proptest::sample::subsequence(vec!["ZL", "ZDMJ", "YT", "BSM", "YSDM", "MJDW", "JZDJB"], 0..=7),
        building_fields in proptest::sample::subsequence(vec!["ZDDM", "BSM", "JZWMC", "JGRQ", "GHYT", "FWJG", "YSDM"], 0..=7),
    ) {
        let dir = defect_district();
        let mut config = QcConfig::default();
        config.rules.attribute_missing.params.parcel_fields = parcel_fields.iter().map(|f| f.to_string()).collect();
        config.rules.attribute_missing.params.building_fields = building_fields.iter().map(|f| f.to_string()).collect();
        let full = match load_submission(dir, &LoadOptions::default()) {
            Ok(s) => s,
            Err(e) => panic!("cannot load {}: {e}", dir.display()),
        };
        let options = LoadOptions { only_attributes: Some(config.attributes_read()), ..LoadOptions::default() };
        let only = match load_submission(dir, &options) {
            Ok(s) => s,
            Err(e) => panic!("cannot load {}: {e}", dir.display()),
        };
        // The filter did drop something (BSM is never read unless required, of either layer:
        // the list names fields, not fields of a layer)...
        if !parcel_fields.contains(&"BSM") && !building_fields.contains(&"BSM") {
            proptest::prop_assert!(only.parcels.iter().all(|p| p.attributes.bsm.is_none()));
            proptest::prop_assert!(full.parcels.iter().any(|p| p.attributes.bsm.is_some()));
        }
        // ...and the findings are the same.
        let (a, b) = (check(&full, &config), check(&only, &config));
        proptest::prop_assert!(!a.findings.is_empty());
        proptest::prop_assert_eq!(&a.findings, &b.findings);
        proptest::prop_assert_eq!(a.score, b.score);
    }
}
