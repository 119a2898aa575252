//! QC of a batch of new features against neighbours already known (a chunk of an
//! import against what the store holds), answered per feature of the batch.
//!
//! Rules name the objects of a finding by code; this entry point turns that into
//! the position of each feature in the batch, so a caller never maps findings back
//! by code itself. A finding about known neighbours alone is not the batch's
//! business and is left out; one naming a batch feature and a neighbour is the
//! batch feature's. Features of the batch that share a code all receive the
//! findings naming it (callers that need one answer per code remove duplicates first).

use std::collections::HashMap;

use super::{check, Finding, QcConfig};
use crate::model::Submission;

/// The findings of each feature of a batch, in the batch's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchFindings {
    /// One entry per `batch.parcels[i]`.
    pub parcels: Vec<Vec<Finding>>,
    /// One entry per `batch.buildings[i]`.
    pub buildings: Vec<Vec<Finding>>,
}

impl BatchFindings {
    /// Whether no feature of the batch has a finding.
    pub fn is_clean(&self) -> bool {
        self.parcels.iter().chain(&self.buildings).all(Vec::is_empty)
    }
}

/// Runs every enabled rule of `config` over `batch` together with `known` and answers
/// per feature of `batch` (parcels and buildings; findings on sub-districts and districts
/// are not a feature's). Findings keep the run's deterministic order.
///
/// ```
/// use cadastre_core::model::{Parcel, ParcelAttributes, Submission};
/// use cadastre_core::qc::{check_batch, QcConfig, PARCEL_OVERLAP};
/// use geo_types::{polygon, MultiPolygon};
///
/// let square = |x0: f64, code: &str| Parcel {
///     zddm: code.into(),
///     geometry: MultiPolygon(vec![polygon![(x: x0, y: 0.), (x: x0 + 10., y: 0.), (x: x0 + 10., y: 10.), (x: x0, y: 10.)]]),
///     attributes: ParcelAttributes::default(),
///     source_index: 0,
/// };
/// let known = Submission { parcels: vec![square(0.0, "330106001001GB00001")], ..Submission::default() };
/// let batch = Submission {
///     parcels: vec![square(100.0, "330106001001GB00002"), square(9.0, "330106001001GB00003")],
///     ..Submission::default()
/// };
/// let mut cfg = QcConfig::default();
/// cfg.rules.attribute_missing.common.enabled = false;
/// let found = check_batch(&batch, &known, &cfg);
/// assert!(found.parcels[0].is_empty());
/// assert_eq!(found.parcels[1][0].rule, PARCEL_OVERLAP); // with the known parcel
/// ```
pub fn check_batch(batch: &Submission, known: &Submission, config: &QcConfig) -> BatchFindings {
    let has_neighbours = !(known.parcels.is_empty()
        && known.buildings.is_empty()
        && known.subdistricts.is_empty()
        && known.districts.is_empty());
    let report = if has_neighbours {
        let mut all = known.clone();
        all.parcels.extend(batch.parcels.iter().cloned());
        all.buildings.extend(batch.buildings.iter().cloned());
        all.subdistricts.extend(batch.subdistricts.iter().cloned());
        all.districts.extend(batch.districts.iter().cloned());
        check(&all, config)
    } else {
        check(batch, config)
    };
    let mut out = BatchFindings {
        parcels: vec![Vec::new(); batch.parcels.len()],
        buildings: vec![Vec::new(); batch.buildings.len()],
    };
    let parcels = positions(batch.parcels.iter().map(|p| p.zddm.as_str()));
    let buildings = positions(batch.buildings.iter().map(|b| b.zrzh.as_str()));
    for finding in report.findings {
        let mut to_parcels: Vec<usize> =
            finding.objects.iter().filter_map(|o| parcels.get(o.as_str())).flatten().copied().collect();
        let mut to_buildings: Vec<usize> =
            finding.objects.iter().filter_map(|o| buildings.get(o.as_str())).flatten().copied().collect();
        to_parcels.sort_unstable();
        to_parcels.dedup();
        to_buildings.sort_unstable();
        to_buildings.dedup();
        for i in to_parcels {
            out.parcels[i].push(finding.clone());
        }
        for i in to_buildings {
            out.buildings[i].push(finding.clone());
        }
    }
    out
}

/// The positions of each code.
fn positions<'a>(codes: impl Iterator<Item = &'a str>) -> HashMap<&'a str, Vec<usize>> {
    let mut by_code: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, code) in codes.enumerate() {
        by_code.entry(code).or_default().push(i);
    }
    by_code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Parcel, ParcelAttributes};
    use crate::qc::{PARCEL_OVERLAP, PARCEL_TINY};
    use geo_types::{polygon, MultiPolygon};

    fn square(x0: f64, size: f64, code: &str) -> Parcel {
        Parcel {
            zddm: code.into(),
            geometry: MultiPolygon(vec![
                polygon![(x: x0, y: 0.), (x: x0 + size, y: 0.), (x: x0 + size, y: size), (x: x0, y: size)],
            ]),
            attributes: ParcelAttributes::default(),
            source_index: 0,
        }
    }

    fn config() -> QcConfig {
        let mut cfg = QcConfig::default();
        cfg.rules.attribute_missing.common.enabled = false;
        cfg
    }

    #[test]
    fn findings_go_to_their_feature_by_position() {
        let batch = Submission {
            parcels: vec![square(0.0, 10.0, "330106001001GB00001"), square(50.0, 0.5, "330106001001GB00002")],
            ..Submission::default()
        };
        let found = check_batch(&batch, &Submission::default(), &config());
        assert!(found.parcels[0].is_empty(), "{:?}", found.parcels[0]);
        assert!(found.parcels[1].iter().any(|f| f.rule == PARCEL_TINY), "{:?}", found.parcels[1]);
        assert!(found.buildings.is_empty());
    }

    #[test]
    fn findings_among_known_neighbours_alone_are_left_out() {
        let known = Submission {
            parcels: vec![square(0.0, 10.0, "330106001001GB00001"), square(5.0, 10.0, "330106001001GB00002")],
            ..Submission::default()
        };
        let batch = Submission { parcels: vec![square(100.0, 10.0, "330106001001GB00003")], ..Submission::default() };
        let found = check_batch(&batch, &known, &config());
        assert!(found.is_clean(), "{found:?}");
        let touching = Submission { parcels: vec![square(12.0, 10.0, "330106001001GB00004")], ..Submission::default() };
        let found = check_batch(&touching, &known, &config());
        assert_eq!(found.parcels[0].iter().filter(|f| f.rule == PARCEL_OVERLAP).count(), 1, "{found:?}");
    }
}
