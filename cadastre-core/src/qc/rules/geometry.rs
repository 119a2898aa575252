//! Helpers shared by the four geometry rules: they look at parcels and buildings alike.

use geo_types::Coord;

use crate::qc::context::{Context, FeatureFacts};
use crate::qc::rule::{building_code, parcel_code};

/// Every feature with its code and facts: parcels first, then buildings.
pub(crate) fn features<'c>(
    ctx: &'c Context<'_>,
) -> impl Iterator<Item = (String, &'c FeatureFacts, &'static str)> + 'c {
    ctx.parcels
        .iter()
        .enumerate()
        .map(move |(i, f)| (parcel_code(ctx, i), f, "宗地"))
        .chain(ctx.buildings.iter().enumerate().map(move |(i, f)| (building_code(ctx, i), f, "自然幢")))
}

/// Format a coordinate for messages.
pub(crate) fn xy(c: Coord) -> String {
    format!("({:.3}, {:.3})", c.x, c.y)
}
