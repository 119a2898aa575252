//! `geometry.duplicate_vertex`: consecutive vertices closer than a tolerance.

use crate::qc::config::ToleranceParam;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, GEOMETRY_DUPLICATE_VERTEX};
use crate::qc::registry::{Declare, Scope};
use crate::qc::rule::Rule;

use super::geometry::{features, xy};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct DuplicateVertex;

impl Declare for DuplicateVertex {
    type Settings = ToleranceParam;
    const SCOPE: Scope = Scope::Local;
}

impl Rule for DuplicateVertex {
    fn id(&self) -> &'static str {
        GEOMETRY_DUPLICATE_VERTEX
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        for (code, facts, kind_zh) in features(ctx) {
            let points = &facts.report.duplicates;
            let Some(first) = points.iter().min_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y))) else {
                continue;
            };
            let n = points.len();
            emit(ctx.finding(
                GEOMETRY_DUPLICATE_VERTEX,
                vec![code.to_string()],
                *first,
                format!("{kind_zh} {code} 有重复顶点，位于 {}（共 {n} 个）", xy(*first)),
                format!("{code}: duplicate consecutive vertex at {} ({n} in total)", xy(*first)),
            ));
        }
    }
}
