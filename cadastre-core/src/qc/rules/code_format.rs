//! `code.format`: malformed ZDDM (parcels), ZRZH (buildings) or BDCDYH (both).

use crate::qc::codes::{building_code_problem, parcel_code_problem, unit_code_problem};
use crate::qc::config::NoParams;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, CODE_FORMAT};
use crate::qc::registry::{Declare, Scope};
use crate::qc::rule::{building_code, parcel_code, Rule};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeFormat;

impl Declare for CodeFormat {
    type Settings = NoParams;
    const SCOPE: Scope = Scope::Local;
    const ATTRIBUTES_READ: &'static [&'static str] = &["BDCDYH"];
}

impl Rule for CodeFormat {
    fn id(&self) -> &'static str {
        CODE_FORMAT
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        for (i, p) in ctx.submission.parcels.iter().enumerate() {
            let at = ctx.parcels[i].location();
            // An empty code is attribute.missing, not a format error.
            if !p.zddm.trim().is_empty() {
                if let Some((zh, en)) = parcel_code_problem(&p.zddm) {
                    emit(ctx.finding(
                        CODE_FORMAT,
                        vec![p.zddm.clone()],
                        at,
                        format!("宗地代码 {} 格式错误：{zh}", p.zddm),
                        format!("parcel code {} is malformed: {en}", p.zddm),
                    ));
                    continue; // its BDCDYH repeats the same code
                }
            }
            if let Some(u) = p.attributes.bdcdyh.as_deref().filter(|u| !u.trim().is_empty()) {
                if let Some((zh, en)) = unit_code_problem(u) {
                    let code = parcel_code(ctx, i);
                    emit(ctx.finding(
                        CODE_FORMAT,
                        vec![code, u.to_string()],
                        at,
                        format!("不动产单元号 {u} 格式错误：{zh}"),
                        format!("unit code {u} is malformed: {en}"),
                    ));
                }
            }
        }
        for (i, b) in ctx.submission.buildings.iter().enumerate() {
            let at = ctx.buildings[i].location();
            if !b.zrzh.trim().is_empty() {
                if let Some((zh, en)) = building_code_problem(&b.zrzh) {
                    emit(ctx.finding(
                        CODE_FORMAT,
                        vec![b.zrzh.clone()],
                        at,
                        format!("自然幢号 {} 格式错误：{zh}", b.zrzh),
                        format!("building number {} is malformed: {en}", b.zrzh),
                    ));
                    continue;
                }
            }
            if let Some(u) = b.attributes.bdcdyh.as_deref().filter(|u| !u.trim().is_empty()) {
                if let Some((zh, en)) = unit_code_problem(u) {
                    let code = building_code(ctx, i);
                    emit(ctx.finding(
                        CODE_FORMAT,
                        vec![code, u.to_string()],
                        at,
                        format!("不动产单元号 {u} 格式错误：{zh}"),
                        format!("unit code {u} is malformed: {en}"),
                    ));
                }
            }
        }
    }
}
