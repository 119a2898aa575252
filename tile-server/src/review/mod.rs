//! The reviewers' workflow (受理 → 质检 → 审核 → 入库): a surveyor hands in a result package
//! (`cadastre_core::package`); it is stored as a version of a submission and checked in the
//! background ([`worker`], [`check`]: `cadastre check` with the county's QC rules and the
//! diff against the store); a reviewer of the county accepts it ([`accept`]: codes, lineage,
//! history, building tables, change feed, in one transaction) or returns it with a note.
//!
//! States of a version, enforced by the database (migration 0013):
//! `checking → ready → accepted | returned`, `checking → failed` (unreadable package),
//! `ready → checking` (the store changed under the diff). Every move is audited.

pub mod accept;
pub mod backend_priority;
pub mod background;
pub mod check;
pub mod codes;
pub mod members;
pub mod phases;
pub mod rehouse;
pub mod tables;
pub mod unpack;
pub mod worker;

use cadastre_core::package::Limits;

use crate::config::Settings;

/// The package limits of the server's settings.
pub fn limits(s: &Settings) -> Limits {
    Limits { max_unpacked_bytes: s.submission_max_unpacked_bytes, ..Limits::default() }
}
