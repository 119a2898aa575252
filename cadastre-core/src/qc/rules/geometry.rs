//! Helpers shared by the four geometry rules: they look at parcels and buildings alike.

use geo_types::Coord;

use crate::qc::context::{Context, FeatureFacts};
use crate::qc::rule::{building_code, parcel_code};

/// A feature's code, formatted only when a finding needs it: the four geometry rules walk
/// every feature of a county, and almost none has a finding.
#[derive(Clone, Copy)]
pub(crate) struct LazyCode<'c, 'a> {
    ctx: &'c Context<'a>,
    building: bool,
    index: usize,
}

impl std::fmt::Display for LazyCode<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = if self.building { building_code(self.ctx, self.index) } else { parcel_code(self.ctx, self.index) };
        f.write_str(&code)
    }
}

/// Every feature with its code and facts: parcels first, then buildings.
pub(crate) fn features<'c, 'a>(
    ctx: &'c Context<'a>,
) -> impl Iterator<Item = (LazyCode<'c, 'a>, &'c FeatureFacts, &'static str)> + 'c {
    let code = move |building, index| LazyCode { ctx, building, index };
    ctx.parcels
        .iter()
        .enumerate()
        .map(move |(i, f)| (code(false, i), f, "宗地"))
        .chain(ctx.buildings.iter().enumerate().map(move |(i, f)| (code(true, i), f, "自然幢")))
}

/// Format a coordinate for messages.
pub(crate) fn xy(c: Coord) -> String {
    format!("({:.3}, {:.3})", c.x, c.y)
}
