//! `code.duplicate`: one ZDDM on several parcels, or one ZRZH on several buildings.

use rayon::prelude::*;

use crate::qc::config::NoParams;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, CODE_DUPLICATE};
use crate::qc::registry::{Declare, Scope};
use crate::qc::rule::Rule;

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeDuplicate;

impl Declare for CodeDuplicate {
    type Settings = NoParams;
    const SCOPE: Scope = Scope::CountyWide;
}

impl Rule for CodeDuplicate {
    fn id(&self) -> &'static str {
        CODE_DUPLICATE
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        for (code, idx) in &ctx.parcels_by_code {
            if idx.len() < 2 || code.trim().is_empty() {
                continue;
            }
            // Location: the canonically first of the parcels, so input order does not matter.
            let first =
                idx.iter().copied().reduce(|a, b| if ctx.parcel_before(a, b) { a } else { b }).unwrap_or(idx[0]);
            let n = idx.len();
            emit(ctx.finding(
                CODE_DUPLICATE,
                vec![code.to_string()],
                ctx.parcels[first].location(),
                format!("宗地代码 {code} 重复，共 {n} 宗地使用"),
                format!("parcel code {code} is used by {n} parcels"),
            ));
        }
        // Sorted (code, index) pairs instead of a map of vectors: a county has a million
        // buildings and almost no duplicates. The sort is stable, so each run lists its
        // indices in increasing order, as the map did.
        let mut by_zrzh: Vec<(&str, usize)> = ctx
            .submission
            .buildings
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.zrzh.trim().is_empty())
            .map(|(i, b)| (b.zrzh.as_str(), i))
            .collect();
        by_zrzh.par_sort_by(|a, b| a.0.cmp(b.0));
        for run in by_zrzh.chunk_by(|a, b| a.0 == b.0) {
            if run.len() < 2 {
                continue;
            }
            let code = run[0].0;
            let idx: Vec<usize> = run.iter().map(|&(_, i)| i).collect();
            let first =
                idx.iter().copied().reduce(|a, b| if ctx.building_before(a, b) { a } else { b }).unwrap_or(idx[0]);
            let n = idx.len();
            emit(ctx.finding(
                CODE_DUPLICATE,
                vec![code.to_string()],
                ctx.buildings[first].location(),
                format!("自然幢号 {code} 重复，共 {n} 幢使用"),
                format!("building number {code} is used by {n} buildings"),
            ));
        }
    }
}
