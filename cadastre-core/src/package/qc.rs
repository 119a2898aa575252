//! The QC report inside a package (质检报告): the checks the surveyor's tool ran before
//! packing, so the reviewers see what the surveyor saw. Optional: packages without one
//! (older writers, `cadastre package build`) stay valid.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::is_temporary_id;
use crate::model::Submission;
use crate::qc::{self, report, QcConfig, Report, Verdict};

/// Where the report JSON goes in a package.
pub const QC_REPORT_JSON: &str = "qc/report.json";
/// Where the report HTML goes in a package.
pub const QC_REPORT_HTML: &str = "qc/report.html";

/// [`super::Manifest::qc_report`]: the report's files (listed and digested like every other
/// file) and its headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QcReportRef {
    /// Path of the report JSON (`{"findings":[…],"score","verdict","counts"}`).
    pub json: String,
    /// Path of the self-contained HTML report, if packed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// `pass` or `fail`.
    pub verdict: String,
    /// 0–100.
    pub score: f64,
    /// Number of findings.
    pub findings: usize,
}

/// A report as packed: the report and its JSON and HTML with temporary ids as in the data.
#[derive(Debug, Clone)]
pub struct PackedReport {
    /// The report (placeholder codes in its findings' objects, see [`check_for_package`]).
    pub report: Report,
    /// Report JSON, temporary ids restored.
    pub json: String,
    /// Report HTML, temporary ids restored.
    pub html: String,
}

impl PackedReport {
    /// The manifest's reference to this report at the standard paths.
    pub fn reference(&self) -> QcReportRef {
        QcReportRef {
            json: QC_REPORT_JSON.to_owned(),
            html: Some(QC_REPORT_HTML.to_owned()),
            verdict: match self.report.verdict {
                Verdict::Pass => "pass",
                Verdict::Fail => "fail",
            }
            .to_owned(),
            score: self.report.score,
            findings: self.report.findings.len(),
        }
    }
}

/// Temporary ids replaced by well-formed placeholder codes, so the code rules check the
/// rest of each code (sub-district, feature) instead of flagging every new feature.
/// Placeholders count down from 99999 / 9999, far from codes in use; the report maps them
/// back to the temporary ids (the second value: placeholder → temporary id, longest first).
pub fn with_placeholders(sub: &Submission) -> (Submission, Vec<(String, String)>) {
    let mut out = sub.clone();
    let mut names: Vec<(String, String)> = Vec::new();
    let mut parcels: BTreeMap<String, String> = BTreeMap::new();
    for (i, p) in out.parcels.iter_mut().filter(|p| is_temporary_id(&p.zddm)).enumerate() {
        let sub12 = p.attributes.djzqdm.clone().unwrap_or_default();
        let feature = p.attributes.zdtzm.clone().unwrap_or_default();
        let placeholder = format!("{}{}{:05}", sub12.trim(), feature.trim(), 99_999 - i);
        parcels.insert(p.zddm.trim().to_owned(), placeholder.clone());
        names.push((placeholder.clone(), p.zddm.trim().to_owned()));
        p.zddm = placeholder;
    }
    for (j, b) in out.buildings.iter_mut().enumerate() {
        if let Some(code) = parcels.get(b.zddm.trim()) {
            b.zddm = code.clone();
        }
        if is_temporary_id(&b.zrzh) {
            let placeholder = format!("{}F{:04}", b.zddm.trim(), 9_999 - j % 9_000);
            names.push((placeholder.clone(), b.zrzh.trim().to_owned()));
            b.zrzh = placeholder;
        }
    }
    // Longest first, so a building's placeholder is not half-replaced by its parcel's.
    names.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    (out, names)
}

/// `text` with every placeholder of [`with_placeholders`] back to its temporary id.
pub fn restore_temporary_ids(mut text: String, names: &[(String, String)]) -> String {
    for (placeholder, temp) in names {
        text = text.replace(placeholder.as_str(), temp);
    }
    text
}

/// Runs every rule on the data of a package the way the server's intake does (temporary
/// ids through placeholders), giving the report to pack.
///
/// ```
/// use cadastre_core::model::Submission;
/// use cadastre_core::package::check_for_package;
/// use cadastre_core::qc::QcConfig;
/// let packed = check_for_package(&Submission::default(), &QcConfig::default());
/// assert!(packed.json.contains("\"verdict\""));
/// ```
pub fn check_for_package(sub: &Submission, config: &QcConfig) -> PackedReport {
    let (placed, names) = with_placeholders(sub);
    let report = qc::check(&placed, config);
    let json = restore_temporary_ids(report::to_json(&report), &names);
    let html = restore_temporary_ids(report::to_html(&report, &placed), &names);
    PackedReport { report, json, html }
}
