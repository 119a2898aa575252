//! `attribute.domain`: values outside their code tables (字典): YT not a GB/T 21010 code,
//! QLLX / QLXZ outside their dictionaries; plus values the loader could not read as
//! their type. Empty values are `attribute.missing`, not this rule.

use crate::model::LoadIssueKind;
use crate::qc::codes::{is_land_use_code, is_right_nature, is_right_type};
use crate::qc::config::NoParams;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, ATTRIBUTE_DOMAIN};
use crate::qc::registry::{Declare, Scope};
use crate::qc::rule::{parcel_code, Rule};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttributeDomain;

impl Declare for AttributeDomain {
    type Settings = NoParams;
    const SCOPE: Scope = Scope::Local;
    const ATTRIBUTES_READ: &'static [&'static str] = &["YT", "QLLX", "QLXZ"];
}

impl Rule for AttributeDomain {
    fn id(&self) -> &'static str {
        ATTRIBUTE_DOMAIN
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        for (i, p) in ctx.submission.parcels.iter().enumerate() {
            let a = &p.attributes;
            let mut bad: Vec<(String, String)> = Vec::new();
            let present =
                |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
            if let Some(yt) = present(&a.yt).filter(|v| !is_land_use_code(v)) {
                bad.push((
                    format!("用途 YT「{yt}」不是 GB/T 21010 地类代码"),
                    format!("YT \"{yt}\" is not a GB/T 21010 land-use code"),
                ));
            }
            if let Some(v) = present(&a.qllx).filter(|v| !is_right_type(v)) {
                bad.push((
                    format!("权利类型 QLLX「{v}」不在字典中"),
                    format!("QLLX \"{v}\" is not in the right-type dictionary"),
                ));
            }
            if let Some(v) = present(&a.qlxz).filter(|v| !is_right_nature(v)) {
                bad.push((
                    format!("权利性质 QLXZ「{v}」不在字典中"),
                    format!("QLXZ \"{v}\" is not in the right-nature dictionary"),
                ));
            }
            if let Some(v) = a.zdmj.filter(|v| !v.is_finite() || *v < 0.0) {
                bad.push((format!("宗地面积 ZDMJ {v} 无效"), format!("ZDMJ {v} is not a valid area")));
            }
            if !bad.is_empty() {
                let code = parcel_code(ctx, i);
                let zh = bad.iter().map(|b| b.0.as_str()).collect::<Vec<_>>().join("；");
                let en = bad.iter().map(|b| b.1.as_str()).collect::<Vec<_>>().join("; ");
                emit(ctx.finding(
                    ATTRIBUTE_DOMAIN,
                    vec![code.clone()],
                    ctx.parcels[i].location(),
                    format!("宗地 {code}：{zh}"),
                    format!("parcel {code}: {en}"),
                ));
            }
        }
        for issue in &ctx.submission.load_issues {
            if let LoadIssueKind::BadAttribute { field, value } = &issue.kind {
                let code = issue
                    .code
                    .clone()
                    .unwrap_or_else(|| format!("{}#{}", issue.layer.standard_name(), issue.source_index.unwrap_or(0)));
                emit(ctx.finding(
                    ATTRIBUTE_DOMAIN,
                    vec![code.clone()],
                    geo_types::Coord { x: 0.0, y: 0.0 },
                    format!("{code}：字段 {field} 的值「{value}」无法读取"),
                    format!("{code}: field {field} value \"{value}\" cannot be read as its type"),
                ));
            }
        }
    }
}
