//! The QC rule registry is the one list of rules: every registered rule is documented,
//! configurable, and known to the sample generator, and nothing else claims to be a rule.

use std::collections::BTreeSet;

use cadastre_core::qc::{QcConfig, Scope, ALL_RULE_IDS, DEFAULT_RULES_TOML, REGISTRY};

fn registered() -> BTreeSet<&'static str> {
    REGISTRY.iter().map(|s| s.id).collect()
}

#[test]
fn every_rule_is_documented_in_qc_rules_md_and_nothing_more() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/qc-rules.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(!doc.is_empty(), "{} unreadable", path.display());
    // The rules table: one row per rule, its id in back-quotes in the first column.
    let rows: BTreeSet<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once("` |").map(|(id, _)| id))
        .filter(|id| id.contains('.') && !id.contains(' '))
        .collect();
    assert_eq!(rows, registered(), "docs/qc-rules.md's rule rows and the registry differ");
}

#[test]
fn the_default_rules_file_has_one_table_per_rule() {
    let table: toml::Table = toml::from_str(DEFAULT_RULES_TOML).unwrap_or_default();
    let rules: BTreeSet<&str> = table
        .get("rules")
        .and_then(|r| r.as_table())
        .map(|t| t.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(rules, registered());
}

#[test]
fn every_rule_is_configurable_from_toml() {
    for id in ALL_RULE_IDS {
        let text = format!("[rules.\"{id}\"]\nenabled = false\nseverity = \"info\"\nweight = 0.25\ncap = 7\n");
        let cfg = QcConfig::from_toml(&text);
        assert!(cfg.is_ok(), "{id}: {cfg:?}");
        let cfg = cfg.unwrap_or_default();
        let c = cfg.common(id).copied();
        assert!(c.is_some_and(|c| !c.enabled && c.weight == 0.25 && c.cap == 7.0), "{id}: {c:?}");
        // ... and only that rule changed.
        let others = ALL_RULE_IDS.iter().filter(|o| **o != id).all(|o| cfg.common(o).is_some_and(|c| c.enabled));
        assert!(others, "{id}");
        let bad = QcConfig::from_toml(&format!("[rules.\"{id}\"]\nweight = -1\n"));
        assert!(bad.is_err_and(|e| e.to_string().contains(id)), "{id}");
    }
}

#[test]
fn the_generator_knows_every_rule_but_input_load() {
    let generator: BTreeSet<&str> = cadastre_samples::Rule::ALL.iter().map(|r| r.as_str()).collect();
    let mut expected = registered();
    // Layer-level load problems are not a defect a generated district carries.
    expected.remove("input.load");
    assert_eq!(generator, expected, "samples/src/rule.rs and the registry differ");
}

#[test]
fn rejecting_rules_are_local() {
    for s in &REGISTRY {
        assert!(!s.rejects_on_import || s.scope == Scope::Local, "{}", s.id);
    }
}
