//! Links between predicted (预测) and measured (实测) households: 1:1, 1:n
//! (a predicted flat built as several) or n:1 (several predicted merged).

use super::history::{Change, Editor, Target};
use super::model::BuildingTable;
use super::types::BuildingError;
pub use super::types::{AreaLink, LinkKind, SideBySide};
use crate::apportion::Area;

impl BuildingTable {
    /// Links predicted households to measured ones. A household can be in one
    /// link per side; n:m is refused. Recorded in the building's history.
    pub fn link(&mut self, predicted: &[&str], measured: &[&str], by: &Editor) -> Result<LinkKind, BuildingError> {
        if predicted.is_empty() || measured.is_empty() {
            return Err(BuildingError::Invalid("a link needs households on both sides".into()));
        }
        if predicted.len() > 1 && measured.len() > 1 {
            return Err(BuildingError::ManyToMany(predicted.len(), measured.len()));
        }
        for hh in predicted.iter().chain(measured) {
            if self.get(hh).is_none() {
                return Err(BuildingError::UnknownHousehold((*hh).to_string()));
            }
        }
        for hh in predicted {
            if self.links.iter().any(|l| l.predicted.iter().any(|p| p == hh)) {
                return Err(BuildingError::AlreadyLinked((*hh).to_string()));
            }
        }
        for hh in measured {
            if self.links.iter().any(|l| l.measured.iter().any(|m| m == hh)) {
                return Err(BuildingError::AlreadyLinked((*hh).to_string()));
            }
        }
        let link = AreaLink {
            predicted: predicted.iter().map(|s| s.to_string()).collect(),
            measured: measured.iter().map(|s| s.to_string()).collect(),
        };
        let kind = link.kind();
        self.log.record(Change {
            who: by.who.clone(),
            at: by.at,
            action: "link".into(),
            target: Target::Building,
            before: None,
            after: None,
            note: format!("predicted {} → measured {}", link.predicted.join(","), link.measured.join(",")),
        });
        self.links.push(link);
        Ok(kind)
    }

    /// The links.
    pub fn links(&self) -> &[AreaLink] {
        &self.links
    }

    /// Predicted and measured inner areas side by side, one row per link.
    pub fn side_by_side(&self) -> Vec<SideBySide> {
        let total = |ids: &[String], measured: bool| -> Option<Area> {
            ids.iter()
                .map(|hh| self.get(hh).and_then(|h| if measured { h.measured_inner } else { h.predicted_inner }))
                .sum()
        };
        self.links
            .iter()
            .map(|l| {
                let (p, m) = (total(&l.predicted, false), total(&l.measured, true));
                SideBySide {
                    link: l.clone(),
                    predicted_inner: p,
                    measured_inner: m,
                    difference: p.zip(m).map(|(p, m)| m - p),
                }
            })
            .collect()
    }
}
