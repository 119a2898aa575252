//! `geometry.invalid`: structural invalidity other than self-intersection, plus
//! features the loader could not turn into polygons (null, empty, wrong type, NaN).

use crate::model::{Layer, LoadIssueKind};
use crate::qc::config::NoParams;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, GEOMETRY_INVALID};
use crate::qc::registry::{Declare, Scope};
use crate::qc::rule::Rule;

use super::geometry::features;

/// See the module documentation.
///
/// ```
/// use cadastre_core::qc::{rules::GeometryInvalid, Rule};
/// assert_eq!(GeometryInvalid.id(), "geometry.invalid");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GeometryInvalid;

impl Declare for GeometryInvalid {
    type Settings = NoParams;
    const SCOPE: Scope = Scope::Local;
    const REJECTS_ON_IMPORT: bool = true;
}

impl Rule for GeometryInvalid {
    fn id(&self) -> &'static str {
        GEOMETRY_INVALID
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        for (code, facts, kind_zh) in features(ctx) {
            let Some(&(at, zh, en)) = facts.report.invalid.first() else { continue };
            let n = facts.report.invalid.len();
            emit(ctx.finding(
                GEOMETRY_INVALID,
                vec![code.to_string()],
                at,
                format!("{kind_zh} {code} 几何无效：{zh}（共 {n} 处）"),
                format!("{code}: invalid geometry: {en} ({n} problem(s))"),
            ));
        }
        for issue in &ctx.submission.load_issues {
            let (zh, en) = match &issue.kind {
                LoadIssueKind::NullGeometry => ("几何为空（Null）".to_string(), "null geometry".to_string()),
                LoadIssueKind::EmptyGeometry => ("几何无坐标".to_string(), "empty geometry".to_string()),
                LoadIssueKind::WrongGeometryType { found } => (
                    format!("几何类型错误（{found}），应为面"),
                    format!("wrong geometry type {found}, expected polygon"),
                ),
                LoadIssueKind::NonFiniteCoordinate => ("坐标非有限数".to_string(), "non-finite coordinate".to_string()),
                LoadIssueKind::ImplausibleCoordinates { reason } => {
                    (format!("坐标不可能属于所声明的坐标系：{reason}"), format!("implausible coordinates: {reason}"))
                }
                _ => continue,
            };
            if issue.source_index.is_none() && !matches!(issue.kind, LoadIssueKind::ImplausibleCoordinates { .. }) {
                continue;
            }
            let code = issue
                .code
                .clone()
                .unwrap_or_else(|| format!("{}#{}", issue.layer.standard_name(), issue.source_index.unwrap_or(0)));
            let layer_zh = match issue.layer {
                Layer::Parcels => "宗地",
                Layer::Buildings => "自然幢",
                Layer::Subdistricts => "地籍子区",
                Layer::Districts => "地籍区",
            };
            emit(ctx.finding(
                GEOMETRY_INVALID,
                vec![code.clone()],
                geo_types::Coord { x: 0.0, y: 0.0 },
                format!("{layer_zh} {code}（{}）：{zh}，未参与检查", issue.source),
                format!("{code} ({}): {en}; feature not checked", issue.source),
            ));
        }
    }
}
