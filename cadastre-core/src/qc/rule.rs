//! The rule capability: one implementation per file in `rules/`.

use super::context::Context;
use super::finding::Finding;

/// A quality-check rule (质检规则).
///
/// A rule reads the shared [`Context`] and emits findings through a callback, like
/// geo's `Validation` visitor; it never stops at the first problem and never panics
/// on bad data (bad features are reported, and skipped by rules that need valid input).
pub trait Rule: Send + Sync {
    /// The rule id, e.g. `parcel.overlap`.
    fn id(&self) -> &'static str;
    /// Check the submission, calling `emit` for every finding.
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding));

    /// All findings of this rule, collected.
    fn findings(&self, ctx: &Context<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        self.check(ctx, &mut |f| out.push(f));
        out
    }
}

/// The code to show for a parcel: its ZDDM, or its record number when the code is empty.
pub(crate) fn parcel_code(ctx: &Context<'_>, i: usize) -> String {
    let p = &ctx.submission.parcels[i];
    if p.zddm.trim().is_empty() {
        format!("ZD#{}", p.source_index)
    } else {
        p.zddm.clone()
    }
}

/// The code to show for a building: its ZRZH, or its record number when empty.
pub(crate) fn building_code(ctx: &Context<'_>, i: usize) -> String {
    let b = &ctx.submission.buildings[i];
    if b.zrzh.trim().is_empty() {
        format!("ZRZ#{}", b.source_index)
    } else {
        b.zrzh.clone()
    }
}
