//! `input.load`: layer-level load problems (missing layer, no .prj, unknown CRS, guessed
//! encoding, record-count mismatch, missing or wrong .shx, a .shp header whose length is not
//! the file's) and multipart parcels, so nothing the loader noticed is silently dropped from
//! the report.
//!
//! A `.prj` that holds no readable coordinate system (an HTML error page, an empty or cut-off
//! file) is always an **error**, whatever the rule's configured severity: the data's units,
//! areas and zone are unknowable, so the submission must not pass.

use crate::model::{Layer, LoadIssueKind};
use crate::qc::config::NoParams;
use crate::qc::context::Context;
use crate::qc::finding::{Finding, Severity, INPUT_LOAD};
use crate::qc::registry::{Declare, Scope};
use crate::qc::rule::Rule;

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct InputLoad;

impl Declare for InputLoad {
    type Settings = NoParams;
    const SCOPE: Scope = Scope::CountyWide;
}

impl Rule for InputLoad {
    fn id(&self) -> &'static str {
        INPUT_LOAD
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        for issue in &ctx.submission.load_issues {
            let mut severity = None;
            let (zh, en) = match &issue.kind {
                // DJQ is optional in a submission (ZD/ZRZ/DJZQ are what the checks use).
                LoadIssueKind::MissingLayer if issue.layer == Layer::Districts => continue,
                LoadIssueKind::MissingLayer => ("缺少图层".to_string(), "layer missing".to_string()),
                LoadIssueKind::MissingPrj => ("缺少 .prj，坐标系未知".to_string(), "no .prj; CRS unknown".to_string()),
                LoadIssueKind::UnknownCrs { detail } => {
                    (format!("无法识别坐标系：{detail}"), format!("unknown CRS: {detail}"))
                }
                LoadIssueKind::UnreadableCrs { detail } => {
                    severity = Some(Severity::Error);
                    (
                        format!("坐标系文件 .prj 无法读取，单位、面积与投影带均无法确定：{detail}"),
                        format!("the .prj cannot be read, so units, areas and zone are unknown: {detail}"),
                    )
                }
                LoadIssueKind::MissingIndex => (
                    "缺少 .shx 索引文件，已逐条读取 .shp".to_string(),
                    "no .shx index; the .shp was read record by record".to_string(),
                ),
                LoadIssueKind::IndexMismatch { detail } => (
                    format!(".shx 索引与 .shp 不符，已不依赖索引读取：{detail}"),
                    format!(".shx index does not match the .shp, read without it: {detail}"),
                ),
                LoadIssueKind::HeaderLengthMismatch { declared, actual } => (
                    format!(".shp 文件头记载长度 {declared} 字节，实际 {actual} 字节；已读取完整记录"),
                    format!(".shp header says {declared} bytes, the file has {actual}; the whole records were read"),
                ),
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
            let mut finding = ctx.finding(
                INPUT_LOAD,
                vec![object],
                geo_types::Coord { x: 0.0, y: 0.0 },
                format!("{}（{}）：{zh}", issue.layer.standard_name(), issue.source),
                format!("{} ({}): {en}", issue.layer.standard_name(), issue.source),
            );
            if let Some(severity) = severity {
                finding.severity = severity;
            }
            emit(finding);
        }
    }
}
