//! Edits: the smallest changes of a [`Document`], each with an exact inverse, and
//! commands (one user action = one undo step = a list of edits).

use geo_types::Coord;
use serde::{Deserialize, Serialize};

use super::document::{BuildingFeature, Document, FeatureId, ParcelFeature, PointId};

/// One change. Each variant carries the state before and after, so it can be
/// inverted exactly and checked against the document before it is applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum Edit {
    /// A new boundary point.
    AddPoint { id: PointId, at: Coord<f64> },
    /// A boundary point no ring uses any more.
    RemovePoint { id: PointId, at: Coord<f64> },
    /// Move a boundary point: every parcel using it changes.
    MovePoint { id: PointId, from: Coord<f64>, to: Coord<f64> },
    /// A new parcel.
    AddParcel { id: FeatureId, parcel: Box<ParcelFeature> },
    /// Delete a parcel.
    RemoveParcel { id: FeatureId, parcel: Box<ParcelFeature> },
    /// Change a parcel's outline and/or attributes.
    ReplaceParcel { id: FeatureId, from: Box<ParcelFeature>, to: Box<ParcelFeature> },
    /// A new building.
    AddBuilding { id: FeatureId, building: Box<BuildingFeature> },
    /// Delete a building.
    RemoveBuilding { id: FeatureId, building: Box<BuildingFeature> },
    /// Change a building.
    ReplaceBuilding { id: FeatureId, from: Box<BuildingFeature>, to: Box<BuildingFeature> },
    /// A building table, floor plan or apportionment change (楼盘表, 分层分户图, 分摊).
    Units(Box<super::units::UnitsEdit>),
}

/// Why an edit does not fit the document (a journal from another file, a stale command).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The point is absent, or present where it should not be, or not where expected.
    #[error("boundary point {0} is not in the expected state")]
    Point(PointId),
    /// The parcel is absent, present, or different from what the edit expects.
    #[error("parcel {0} is not in the expected state")]
    Parcel(FeatureId),
    /// Same for a building.
    #[error("building {0} is not in the expected state")]
    Building(FeatureId),
    /// An operation cannot be built (message for the user).
    #[error("{0}")]
    Invalid(String),
}

impl Edit {
    /// The edit that undoes this one.
    pub fn inverse(&self) -> Edit {
        match self.clone() {
            Edit::AddPoint { id, at } => Edit::RemovePoint { id, at },
            Edit::RemovePoint { id, at } => Edit::AddPoint { id, at },
            Edit::MovePoint { id, from, to } => Edit::MovePoint { id, from: to, to: from },
            Edit::AddParcel { id, parcel } => Edit::RemoveParcel { id, parcel },
            Edit::RemoveParcel { id, parcel } => Edit::AddParcel { id, parcel },
            Edit::ReplaceParcel { id, from, to } => Edit::ReplaceParcel { id, from: to, to: from },
            Edit::AddBuilding { id, building } => Edit::RemoveBuilding { id, building },
            Edit::RemoveBuilding { id, building } => Edit::AddBuilding { id, building },
            Edit::ReplaceBuilding { id, from, to } => Edit::ReplaceBuilding { id, from: to, to: from },
            Edit::Units(u) => Edit::Units(Box::new(u.inverse())),
        }
    }

    /// Apply to the document after checking that it is in the state the edit expects;
    /// on error the document is unchanged.
    pub fn apply(&self, doc: &mut Document) -> Result<(), EditError> {
        match self {
            Edit::AddPoint { id, at } => {
                if doc.points.contains_key(id) {
                    return Err(EditError::Point(*id));
                }
                doc.points.insert(*id, *at);
            }
            Edit::RemovePoint { id, at } => {
                if doc.points.get(id) != Some(at) {
                    return Err(EditError::Point(*id));
                }
                doc.points.remove(id);
            }
            Edit::MovePoint { id, from, to } => match doc.points.get_mut(id) {
                Some(c) if c == from => *c = *to,
                _ => return Err(EditError::Point(*id)),
            },
            Edit::AddParcel { id, parcel } => {
                if doc.parcels.contains_key(id) || !uses_known_points(doc, parcel) {
                    return Err(EditError::Parcel(*id));
                }
                doc.parcels.insert(*id, (**parcel).clone());
            }
            Edit::RemoveParcel { id, parcel } => {
                if doc.parcels.get(id) != Some(parcel) {
                    return Err(EditError::Parcel(*id));
                }
                doc.parcels.remove(id);
            }
            Edit::ReplaceParcel { id, from, to } => {
                if !uses_known_points(doc, to) {
                    return Err(EditError::Parcel(*id));
                }
                match doc.parcels.get_mut(id) {
                    Some(p) if p == &**from => *p = (**to).clone(),
                    _ => return Err(EditError::Parcel(*id)),
                }
            }
            Edit::AddBuilding { id, building } => {
                if doc.buildings.contains_key(id) {
                    return Err(EditError::Building(*id));
                }
                doc.buildings.insert(*id, (**building).clone());
            }
            Edit::RemoveBuilding { id, building } => {
                if doc.buildings.get(id) != Some(building) {
                    return Err(EditError::Building(*id));
                }
                doc.buildings.remove(id);
            }
            Edit::ReplaceBuilding { id, from, to } => match doc.buildings.get_mut(id) {
                Some(b) if b == &**from => *b = (**to).clone(),
                _ => return Err(EditError::Building(*id)),
            },
            Edit::Units(u) => u.apply(&mut doc.units)?,
        }
        Ok(())
    }
}

fn uses_known_points(doc: &Document, parcel: &ParcelFeature) -> bool {
    parcel.outline.point_ids().all(|id| doc.points.contains_key(&id))
}

/// One undoable user action: its edits in order, and a label for the history list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// What the user did, e.g. "移动界址点 / move boundary point".
    pub label: String,
    /// The edits, applied in order (undone in reverse).
    pub edits: Vec<Edit>,
}

impl Command {
    /// A command with one label for both languages, `zh / en`.
    pub fn new(label: impl Into<String>, edits: Vec<Edit>) -> Self {
        Self { label: label.into(), edits }
    }

    /// The command that undoes this one.
    pub fn inverse(&self) -> Command {
        Command { label: self.label.clone(), edits: self.edits.iter().rev().map(Edit::inverse).collect() }
    }

    /// Whether the command changes nothing.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_point_checks_the_start_position_and_inverts() {
        let mut doc = Document::default();
        let at = Coord { x: 1.0, y: 2.0 };
        Edit::AddPoint { id: 7, at }.apply(&mut doc).expect("add");
        let mv = Edit::MovePoint { id: 7, from: at, to: Coord { x: 3.0, y: 4.0 } };
        mv.apply(&mut doc).expect("move");
        // Applying it again does not match the document any more.
        assert_eq!(mv.apply(&mut doc), Err(EditError::Point(7)));
        mv.inverse().apply(&mut doc).expect("undo");
        assert_eq!(doc.points[&7], at);
    }
}
