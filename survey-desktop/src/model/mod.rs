//! The edit model: a project's features with **shared boundary points**.
//!
//! A parcel does not own coordinates: its rings are lists of [`PointId`]s into one
//! table of boundary points (界址点), so neighbours that share a corner share one
//! point and moving it moves it in every parcel. Buildings keep their own
//! coordinates (their corners are not boundary points). Geometry is f64 with
//! x = easting, y = northing, as in `cadastre-core`.
//!
//! Every change is an [`Edit`] (self-inverting) grouped into an undoable
//! [`Command`]; [`Editor`] applies them, keeps the spatial indexes current and the
//! undo/redo history.

mod document;
mod edit;
mod editor;
mod index;
pub mod ops;
pub mod snap;
pub mod units;

pub use document::{BuildingFeature, Document, FeatureId, Outline, ParcelFeature, PointId};
pub use edit::{Command, Edit, EditError};
pub use editor::{Editor, HistoryStep};
pub use index::Index;
