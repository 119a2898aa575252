//! What the code registry records, as plain data: the codes it issues and
//! their counters ([`AnyCode`], [`Scope`]), their status ([`CodeRecord`]),
//! and the lifecycle events between them ([`EventInput`], [`LineageEdge`]).
//!
//! A leaf module (it depends only on [`crate::code`]): `alloc` numbers codes
//! and `lineage` records events, and both name these types, so they live here
//! and each arrow points one way (`lineage` → `alloc` → `record`). The public
//! paths stay `unit_code::alloc::*` and `unit_code::lineage::*`.

use chrono::{DateTime, Utc};

mod event;
mod scope;

pub(crate) use event::LineageLog;
pub use event::{Effects, Event, EventInput, EventKind, LineageEdge, LineageStep};
pub use scope::{AnyCode, Level, Scope, MAX_BUILDING_NUMBER, MAX_HOUSEHOLD_NUMBER, MAX_PARCEL_SEQUENCE};

/// Status of an issued code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeStatus {
    /// 现势: in use.
    Current,
    /// 历史: retired (extinguished, split away, merged away, renumbered). Never reissued.
    Historical,
}

impl CodeStatus {
    /// The value stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            CodeStatus::Current => "current",
            CodeStatus::Historical => "historical",
        }
    }

    /// Parse the stored value.
    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "current" => Some(CodeStatus::Current),
            "historical" => Some(CodeStatus::Historical),
            _ => None,
        }
    }
}

/// What the registry knows about one code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodeRecord {
    /// The code.
    pub code: AnyCode,
    /// Current or historical.
    pub status: CodeStatus,
    /// When it was issued or registered.
    pub created_at: DateTime<Utc>,
    /// When it was retired.
    pub retired_at: Option<DateTime<Utc>>,
}
