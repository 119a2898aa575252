//! Area apportionment (面积分摊): shared building area among households
//! (GB/T 17986.1-2000 appendix B) and a parcel's land among households.
//!
//! Areas are exact hundredths of m² ([`Area`]); coefficients K are kept
//! unrounded; each shared space's rounded shares add up exactly to its area,
//! and the report says where the rounding residual went. The input format is
//! documented in `docs/apportionment.md`.

pub mod area;
pub mod error;
pub mod html;
pub mod input;
pub mod land;
pub mod report;
pub mod residual;
pub mod sheet;
pub mod tree;
pub mod xlsx;

pub use area::{Area, AreaParseError};
pub use error::ApportionError;
pub use html::RenderHtml;
pub use input::{ApportionInput, Method, Plan, Serves, SharedInput, UnitInput, ZoneInput};
pub use land::{LandError, LandHousehold, LandMethod, LandShare, LandShares};
pub use report::{Allocation, Apportionment, Level, LevelRow, Node, NodeK, SharedResult, Totals, UnitResult};
pub use tree::Apportion;
