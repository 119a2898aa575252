//! `geometry.self_intersection`: a ring crosses or touches itself or another ring.

use crate::qc::config::NoParams;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, GEOMETRY_SELF_INTERSECTION};
use crate::qc::registry::{Declare, Scope};
use crate::qc::rule::Rule;

use super::geometry::{features, xy};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelfIntersection;

impl Declare for SelfIntersection {
    type Settings = NoParams;
    const SCOPE: Scope = Scope::Local;
    const REJECTS_ON_IMPORT: bool = true;
}

impl Rule for SelfIntersection {
    fn id(&self) -> &'static str {
        GEOMETRY_SELF_INTERSECTION
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        for (code, facts, kind_zh) in features(ctx) {
            let points = &facts.report.self_intersections;
            let Some(first) = points.iter().min_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y))) else {
                continue;
            };
            let n = points.len();
            emit(ctx.finding(
                GEOMETRY_SELF_INTERSECTION,
                vec![code.to_string()],
                *first,
                format!("{kind_zh} {code} 边界自相交，位于 {}（共 {n} 处），不参与叠加类检查", xy(*first)),
                format!(
                    "{code}: boundary intersects itself at {} ({n} place(s)); skipped by overlay checks",
                    xy(*first)
                ),
            ));
        }
    }
}
