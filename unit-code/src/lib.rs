//! 不动产单元代码 (real-estate unit code, GB/T 37346-2019): parse, validate,
//! format, allocate, and keep the lineage of 28-character unit codes.
//!
//! See `DOMAIN.md` §4 of the project for the rules implemented here.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod code;
pub mod explain;
#[cfg(feature = "cli")]
pub mod input;
pub mod validate;

pub use code::{
    BuildingCode, CodeError, CodeForm, CountyCode, DistrictCode, FixtureKind, HouseholdNo, NonStandardLetter,
    Ownership, ParcelCode, ParcelFeature, ParcelType, Segment, SubdistrictCode, UnitCode,
};

pub mod alloc;
pub mod lineage;
mod record;
pub mod renumber;
