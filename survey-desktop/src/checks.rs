//! Quality checks on the project (or a selection) with `cadastre-core::qc`, the same
//! rules and TOML configuration as `cadastre check`, and its repairs turned into one
//! undoable command after a preview.

use std::collections::BTreeSet;

use cadastre_core::qc::repair::{repair, Change};
use cadastre_core::qc::{check, QcConfig, Report};

use crate::model::ops::replace_parcel_geometry;
use crate::model::{Command, Document, FeatureId, Index};

/// The configuration from a project's TOML (empty or absent: the defaults).
pub fn config(toml: Option<&str>) -> Result<QcConfig, cadastre_core::qc::ConfigError> {
    match toml.filter(|t| !t.trim().is_empty()) {
        Some(t) => QcConfig::from_toml(t),
        None => Ok(QcConfig::default()),
    }
}

/// Check the whole project, or only `selection` (parcels by id, with the buildings on them).
pub fn run(doc: &Document, selection: Option<&BTreeSet<FeatureId>>, config: &QcConfig) -> Report {
    let mut sub = doc.to_submission();
    if let Some(sel) = selection {
        let codes: BTreeSet<&str> = sel.iter().filter_map(|id| doc.parcels.get(id)).map(|p| p.zddm.as_str()).collect();
        sub.parcels.retain(|p| codes.contains(p.zddm.as_str()));
        sub.buildings.retain(|b| codes.contains(b.zddm.as_str()));
    }
    check(&sub, config)
}

/// A repair proposal: what would change, and the command that does it.
#[derive(Debug, Clone)]
pub struct RepairPlan {
    /// Changes as `cadastre-core` lists them (for the preview).
    pub changes: Vec<Change>,
    /// Applies every change to the parcels (one undo step).
    pub command: Command,
}

/// Plan the repairs (drop duplicate vertices, snap near misses, close gaps).
pub fn plan_repairs(doc: &Document, index: &Index, config: &QcConfig) -> RepairPlan {
    let sub = doc.to_submission();
    let (fixed, changes) = repair(&sub, config);
    let ids: Vec<FeatureId> = doc.parcels.keys().copied().collect();
    let mut edits = Vec::new();
    // Each changed parcel gets its repaired geometry; positions equal to an existing
    // point reuse it, so snapped vertices become shared points.
    let mut work = crate::model::Editor::new(doc.clone());
    let _ = index;
    for (k, (before, after)) in sub.parcels.iter().zip(&fixed.parcels).enumerate() {
        if before.geometry == after.geometry {
            continue;
        }
        let Some(&id) = ids.get(k) else { continue };
        if let Ok(cmd) = replace_parcel_geometry(work.doc(), work.index(), id, &after.geometry, "修复 / repair") {
            if work.execute(cmd.clone()).is_ok() {
                edits.extend(cmd.edits);
            }
        }
    }
    RepairPlan { changes, command: Command::new("自动修复 / repair", edits) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ops;
    use geo_types::Coord;

    #[test]
    fn a_near_miss_is_found_and_repaired_into_a_shared_point() {
        let mut ed = crate::model::ops::tests_support::two_squares();
        // Pull B's copy of a corner 2 cm away from A's: no longer one point.
        let (x0, y0) = (40_512_000.0, 3_350_000.0);
        let cmd = ops::delete_parcel(ed.doc(), ed.index(), 2).expect("delete");
        ed.execute(cmd).expect("execute");
        // C south of A shares A's corner (10, 0): that position has two users.
        let south = [(0.0, -10.0), (10.0, -10.0), (10.0, 0.0), (0.0, 0.0)]
            .map(|(x, y)| crate::model::snap::snap(ed.doc(), ed.index(), Coord { x: x0 + x, y: y0 + y }, 0.001, &[]));
        let cmd = ops::draw_parcel(ed.doc(), ed.index(), &south, "330106001001GB00003".into(), Default::default())
            .expect("draw");
        ed.execute(cmd).expect("execute");
        let snaps = [(10.02, 0.0), (20.0, 0.0), (20.0, 10.0), (10.0, 10.0)]
            .map(|(x, y)| crate::model::snap::snap(ed.doc(), ed.index(), Coord { x: x0 + x, y: y0 + y }, 0.001, &[]));
        let cmd = ops::draw_parcel(ed.doc(), ed.index(), &snaps, "330106001001GB00002".into(), Default::default())
            .expect("draw");
        ed.execute(cmd).expect("execute");
        ed.set_zone(cadastre_core::crs::GkZone::from_epsg(4528));
        let cfg = config(None).expect("defaults");
        let report = run(ed.doc(), None, &cfg);
        assert!(
            report.findings.iter().any(|f| f.rule.contains("near_miss") || f.rule.contains("snap")),
            "{:?}",
            report.counts
        );
        let plan = plan_repairs(ed.doc(), ed.index(), &cfg);
        assert!(!plan.changes.is_empty());
        ed.execute(plan.command).expect("repair applies");
        let corner = ed.index().points_near(Coord { x: x0 + 10.0, y: y0 }, 0.05);
        assert_eq!(corner.len(), 1, "one shared point after the repair: {corner:?}");
        let after = run(ed.doc(), None, &cfg);
        assert!(after.findings.len() < report.findings.len());
    }
}
