//! Floor plans (分层分户图): per floor of a natural building, household
//! outlines, shared spaces (corridor, stairwell, lift shaft…) and balconies in
//! the building's local metres, drawn on wall centre lines.
//!
//! From a plan come each household's 套内建筑面积 (with its wall and balcony
//! parts, DOMAIN.md §5), the shared spaces and the outer half of the outer
//! walls as apportionment inputs ([`FloorPlan::shared_inputs`],
//! [`FloorPlan::apportion_input`]), and measured areas for the building table
//! ([`FloorPlan::apply_to_table`]). A floor can be copied to standard floors
//! ([`FloorPlan::copy_floor`]). The JSON form ([`FloorPlan::to_json`]) is what
//! the desktop app and the server store; its format is in `docs/floorplan.md`.

mod areas;
mod geometry;
mod link;
mod model;

pub use areas::{FloorAreas, HouseholdAreas, SharedAreas, WallKind, WallSegment};
pub use link::{renumber_room, round_area};
pub use model::{
    Balcony, FloorPlan, FloorPlanError, FloorPlanFloor, HouseholdPlan, LocalPoint, Outline, Placement, SharedKind,
    SharedSpace, Walls,
};
