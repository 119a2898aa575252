//! `attribute.missing`: required standard fields that are empty (configurable lists),
//! plus key fields the loader found missing. One finding per object.

use crate::model::{BuildingAttributes, Layer, LoadIssueKind, ParcelAttributes};
use crate::qc::context::Context;
use crate::qc::finding::{Finding, ATTRIBUTE_MISSING};
use crate::qc::registry::{Declare, Scope, Settings};
use crate::qc::rule::{building_code, parcel_code, Rule};
use serde::{Deserialize, Serialize};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttributeMissing;

impl Declare for AttributeMissing {
    type Settings = RequiredFields;
    const SCOPE: Scope = Scope::Local;
}

/// Required fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequiredFields {
    /// Standard parcel fields that must not be empty.
    pub parcel_fields: Vec<String>,
    /// Standard building fields that must not be empty.
    pub building_fields: Vec<String>,
}

impl Settings for RequiredFields {}

fn text(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.trim().is_empty())
}

/// Whether a parcel has a non-empty value for a standard (upper-case) field name.
pub(crate) fn parcel_has(zddm: &str, a: &ParcelAttributes, field: &str) -> bool {
    match field {
        "ZDDM" => !zddm.trim().is_empty(),
        "BSM" => text(&a.bsm),
        "BDCDYH" => text(&a.bdcdyh),
        "ZDTZM" => text(&a.zdtzm),
        "ZL" => text(&a.zl),
        "ZDMJ" => a.zdmj.is_some(),
        "YT" => text(&a.yt),
        "QLLX" => text(&a.qllx),
        "QLXZ" => text(&a.qlxz),
        "DJZQDM" => text(&a.djzqdm),
        "JZDJB" => a.point_class.is_some(),
        other => a.extra.get(other).is_some_and(|v| !v.trim().is_empty()),
    }
}

/// Whether a building has a non-empty value for a standard (upper-case) field name.
pub(crate) fn building_has(zrzh: &str, zddm: &str, a: &BuildingAttributes, field: &str) -> bool {
    match field {
        "ZRZH" => !zrzh.trim().is_empty(),
        "ZDDM" => !zddm.trim().is_empty(),
        "BSM" => text(&a.bsm),
        "BDCDYH" => text(&a.bdcdyh),
        "JZWMC" => text(&a.jzwmc),
        "JGRQ" => text(&a.jgrq),
        "ZZDMJ" => a.zzdmj.is_some(),
        "YCJZMJ" => a.ycjzmj.is_some(),
        "SCJZMJ" => a.scjzmj.is_some(),
        "ZCS" => a.zcs.is_some(),
        "DSCS" => a.dscs.is_some(),
        "DXCS" => a.dxcs.is_some(),
        "GHYT" => text(&a.ghyt),
        "FWJG" => text(&a.fwjg),
        other => a.extra.get(other).is_some_and(|v| !v.trim().is_empty()),
    }
}

impl Rule for AttributeMissing {
    fn id(&self) -> &'static str {
        ATTRIBUTE_MISSING
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        let req = &ctx.config.rules.attribute_missing.params;
        // A field the whole layer lacks is reported once, not once per feature.
        let layer_missing = |layer: Layer, f: &str| {
            ctx.submission.load_issues.iter().any(|i| {
                i.layer == layer
                    && matches!(&i.kind, LoadIssueKind::MissingField { field } if field.eq_ignore_ascii_case(f))
            })
        };
        for (layer, fields, name_zh) in
            [(Layer::Parcels, &req.parcel_fields, "宗地"), (Layer::Buildings, &req.building_fields, "自然幢")]
        {
            for f in fields.iter().filter(|f| layer_missing(layer, f)) {
                emit(ctx.finding(
                    ATTRIBUTE_MISSING,
                    vec![format!("{}.{f}", layer.standard_name())],
                    geo_types::Coord { x: 0.0, y: 0.0 },
                    format!("{name_zh}图层缺少必填字段 {f}"),
                    format!("layer {} has no field {f}", layer.standard_name()),
                ));
            }
        }
        // Fields checked per feature: upper-cased once, minus those the whole layer lacks.
        let per_feature = |layer: Layer, fields: &[String]| -> Vec<String> {
            fields.iter().filter(|f| !layer_missing(layer, f)).map(|f| f.to_ascii_uppercase()).collect()
        };
        let parcel_fields = per_feature(Layer::Parcels, &req.parcel_fields);
        let building_fields = per_feature(Layer::Buildings, &req.building_fields);
        for (i, p) in ctx.submission.parcels.iter().enumerate() {
            let missing: Vec<&str> =
                parcel_fields.iter().filter(|f| !parcel_has(&p.zddm, &p.attributes, f)).map(String::as_str).collect();
            if !missing.is_empty() {
                let code = parcel_code(ctx, i);
                let list = missing.join(", ");
                emit(ctx.finding(
                    ATTRIBUTE_MISSING,
                    vec![code.clone()],
                    ctx.parcels[i].location(),
                    format!("宗地 {code} 缺少必填属性：{list}"),
                    format!("parcel {code} lacks required attribute(s): {list}"),
                ));
            }
        }
        for (i, b) in ctx.submission.buildings.iter().enumerate() {
            let missing: Vec<&str> = building_fields
                .iter()
                .filter(|f| !building_has(&b.zrzh, &b.zddm, &b.attributes, f))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                let code = building_code(ctx, i);
                let list = missing.join(", ");
                emit(ctx.finding(
                    ATTRIBUTE_MISSING,
                    vec![code.clone()],
                    ctx.buildings[i].location(),
                    format!("自然幢 {code} 缺少必填属性：{list}"),
                    format!("building {code} lacks required attribute(s): {list}"),
                ));
            }
        }
        for issue in &ctx.submission.load_issues {
            if let (LoadIssueKind::MissingKey { field }, Some(n)) = (&issue.kind, issue.source_index) {
                let code = format!("{}#{n}", issue.layer.standard_name());
                emit(ctx.finding(
                    ATTRIBUTE_MISSING,
                    vec![code.clone()],
                    geo_types::Coord { x: 0.0, y: 0.0 },
                    format!("{code}（{}）缺少关键字段 {field}", issue.source),
                    format!("{code} ({}) has no key field {field}", issue.source),
                ));
            }
        }
    }
}
