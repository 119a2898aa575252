//! `input.load`: layer-level load problems (missing layer, no .prj, unknown CRS, guessed
//! encoding, record-count mismatch) and multipart parcels, so nothing the loader noticed
//! is silently dropped from the report.

use crate::model::{Layer, LoadIssueKind};
use crate::qc::context::Context;
use crate::qc::finding::{Finding, Severity, INPUT_LOAD};
use crate::qc::rule::Rule;

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct InputLoad;

impl Rule for InputLoad {
    fn id(&self) -> &'static str {
        INPUT_LOAD
    }
    fn default_severity(&self) -> Severity {
        Severity::Warning
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        for issue in &ctx.submission.load_issues {
            let (zh, en) = match &issue.kind {
                // DJQ is optional in a submission (ZD/ZRZ/DJZQ are what the checks use).
                LoadIssueKind::MissingLayer if issue.layer == Layer::Districts => continue,
                LoadIssueKind::MissingLayer => ("缺少图层".to_string(), "layer missing".to_string()),
                LoadIssueKind::MissingPrj => ("缺少 .prj，坐标系未知".to_string(), "no .prj; CRS unknown".to_string()),
                LoadIssueKind::UnknownCrs { detail } => {
                    (format!("无法识别坐标系：{detail}"), format!("unknown CRS: {detail}"))
                }
                LoadIssueKind::EncodingGuessed { used, reason } => {
                    (format!("字符编码为推断（{used}）：{reason}"), format!("encoding guessed ({used}): {reason}"))
                }
                LoadIssueKind::RecordCountMismatch { shapes, records } => (
                    format!("几何记录数 {shapes} 与属性记录数 {records} 不一致"),
                    format!("{shapes} shapes but {records} attribute records"),
                ),
                LoadIssueKind::MultiPart { parts } => {
                    (format!("多部件要素（{parts} 个部件）"), format!("multipart feature ({parts} parts)"))
                }
                _ => continue,
            };
            let object = match (&issue.code, issue.source_index) {
                (Some(c), _) => c.clone(),
                (None, Some(n)) => format!("{}#{n}", issue.layer.standard_name()),
                (None, None) => issue.layer.standard_name().to_string(),
            };
            emit(ctx.finding(
                INPUT_LOAD,
                vec![object],
                geo_types::Coord { x: 0.0, y: 0.0 },
                format!("{}（{}）：{zh}", issue.layer.standard_name(), issue.source),
                format!("{} ({}): {en}", issue.layer.standard_name(), issue.source),
            ));
        }
    }
}
