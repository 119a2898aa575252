//! Report output: JSON (the interface) and a self-contained HTML page for reviewers.

mod html;

pub use html::to_html;

use super::Report;

/// The report as pretty JSON:
/// `{"findings":[{"rule","severity","objects","location","message_zh","message_en"}],"score","verdict","counts"}`.
pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
