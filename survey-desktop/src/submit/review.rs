//! The server's answer about a submission, as the app shows it: the latest version's
//! status, the reviewer's note, the returned findings (drawn on the map) and, once
//! accepted, the codes issued for the temporary ids (written into the project).

use std::collections::BTreeMap;

use serde_json::Value;

use cadastre_core::building::Editor as Who;
use cadastre_core::unit_code::BuildingCode;

use crate::model::units::codes::issue_codes;
use crate::model::{Command, Document, Edit, EditError};

/// A finding the reviewer returned for fixing.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnedFinding {
    /// Rule id, when it came from the report.
    pub rule: String,
    /// What to fix (the Chinese message when there is one).
    pub message: String,
    /// Features concerned (codes or temporary ids).
    pub objects: Vec<String>,
    /// Where, in the project's coordinates (x = easting, y = northing), if given.
    pub location: Option<[f64; 2]>,
}

/// Where a submission stands, from `GET /api/submissions/{id}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewState {
    /// Submission id.
    pub submission_id: i64,
    /// Latest version.
    pub version: i32,
    /// `checking`, `ready`, `accepted`, `returned` or `failed`.
    pub status: String,
    /// Check verdict and score, when checked.
    pub verdict: Option<String>,
    /// Score 0–100.
    pub score: Option<f64>,
    /// The reviewer's note.
    pub note: Option<String>,
    /// Why a version failed (unreadable package).
    pub failure: Option<String>,
    /// Findings to fix (returned versions).
    pub findings: Vec<ReturnedFinding>,
    /// Temporary id → code issued (accepted versions).
    pub codes: BTreeMap<String, String>,
}

impl ReviewState {
    /// Reads the server's submission detail; fields it lacks stay empty.
    pub fn from_json(v: &Value) -> Self {
        let versions = v["versions"].as_array().cloned().unwrap_or_default();
        let latest = versions.iter().max_by_key(|x| x["version"].as_i64().unwrap_or(0)).cloned().unwrap_or(Value::Null);
        let text = |x: &Value| x.as_str().filter(|s| !s.trim().is_empty()).map(str::to_owned);
        let codes = latest["codes_issued"]
            .as_object()
            .map(|m| m.iter().filter_map(|(k, c)| c.as_str().map(|c| (k.clone(), c.to_owned()))).collect())
            .unwrap_or_default();
        Self {
            submission_id: v["submission"]["submission_id"].as_i64().unwrap_or(0),
            version: latest["version"].as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(0),
            status: text(&latest["status"]).or_else(|| text(&v["submission"]["status"])).unwrap_or_default(),
            verdict: text(&latest["verdict"]),
            score: latest["score"].as_f64(),
            note: text(&latest["decision_note"]),
            failure: text(&latest["failure"]),
            findings: findings(&latest["returned_findings"]),
            codes,
        }
    }

    /// Whether the server is still working on it (poll again).
    pub fn pending(&self) -> bool {
        matches!(self.status.as_str(), "checking" | "ready" | "")
    }

    /// The status in Chinese.
    pub fn status_zh(&self) -> &'static str {
        match self.status.as_str() {
            "checking" => "质检中",
            "ready" => "待审核",
            "accepted" => "已通过，已入库",
            "returned" => "已退回，请修改后重新上报",
            "failed" => "成果包无法读取",
            _ => "未知状态",
        }
    }
}

/// Returned findings: a list of report findings, or `{"findings": [...]}`, or free text.
fn findings(v: &Value) -> Vec<ReturnedFinding> {
    let list = match v {
        Value::Array(a) => a.clone(),
        Value::Object(o) => o.get("findings").and_then(Value::as_array).cloned().unwrap_or_default(),
        Value::String(s) if !s.trim().is_empty() => vec![Value::String(s.clone())],
        _ => Vec::new(),
    };
    list.iter()
        .map(|f| {
            if let Some(s) = f.as_str() {
                return ReturnedFinding {
                    rule: String::new(),
                    message: s.to_owned(),
                    objects: Vec::new(),
                    location: None,
                };
            }
            let loc = f["location"].as_array().and_then(|a| Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?]));
            let message = ["message_zh", "message", "message_en"]
                .iter()
                .find_map(|k| f[*k].as_str().filter(|s| !s.is_empty()))
                .unwrap_or("")
                .to_owned();
            ReturnedFinding {
                rule: f["rule"].as_str().unwrap_or("").to_owned(),
                message,
                objects: f["objects"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|o| o.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default(),
                location: loc.filter(|p| p.iter().all(|c| c.is_finite())),
            }
        })
        .collect()
}

/// The codes issued on acceptance, by what they name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuedCodes {
    /// New parcels: temporary id → 宗地代码 ZDDM (19 characters).
    pub parcels: Vec<(String, String)>,
    /// New buildings: temporary id → 自然幢号 ZRZH (24 characters).
    pub buildings: Vec<(String, String)>,
    /// New households: `ZRZH#HH` as handed in → 不动产单元代码 BDCDYH (28 characters).
    pub households: Vec<(String, String)>,
}

impl ReviewState {
    /// The issued codes grouped by parcels, buildings and households.
    pub fn issued(&self) -> IssuedCodes {
        let mut out = IssuedCodes::default();
        for (k, c) in &self.codes {
            let pair = (k.clone(), c.clone());
            if k.contains('#') {
                out.households.push(pair);
            } else if c.parse::<BuildingCode>().is_ok() {
                out.buildings.push(pair);
            } else {
                out.parcels.push(pair);
            }
        }
        out
    }
}

/// What writing the issued codes into the project does.
#[derive(Debug, Clone, PartialEq)]
pub struct CodesApplied {
    /// The edit, one undo step.
    pub command: Command,
    /// Parcels whose ZDDM was a temporary id.
    pub parcels: usize,
    /// Building footprints whose ZRZH or parcel changed.
    pub buildings: usize,
    /// Building tables moved from a temporary ZRZH.
    pub tables: usize,
    /// Households that got their BDCDYH.
    pub households: usize,
}

/// The edit that writes issued codes over the temporary ids of parcels (ZDDM), buildings
/// (ZRZH, and ZDDM of buildings on new parcels) and into the building tables (the table
/// moves to its building's code, new households get their BDCDYH, recorded with `by`);
/// `None` when nothing matches (already applied). An error leaves the project as it is.
pub fn apply_codes(
    doc: &Document,
    codes: &BTreeMap<String, String>,
    by: &Who,
) -> Result<Option<CodesApplied>, EditError> {
    let mut edits = Vec::new();
    for (&id, p) in &doc.parcels {
        if let Some(code) = codes.get(p.zddm.trim()) {
            let mut to = p.clone();
            to.zddm = code.clone();
            edits.push(Edit::ReplaceParcel { id, from: Box::new(p.clone()), to: Box::new(to) });
        }
    }
    let parcels = edits.len();
    for (&id, b) in &doc.buildings {
        let zrzh = codes.get(b.zrzh.trim());
        let zddm = codes.get(b.zddm.trim());
        if zrzh.is_some() || zddm.is_some() {
            let mut to = b.clone();
            if let Some(c) = zrzh {
                to.zrzh = c.clone();
            }
            if let Some(c) = zddm {
                to.zddm = c.clone();
            }
            edits.push(Edit::ReplaceBuilding { id, from: Box::new(b.clone()), to: Box::new(to) });
        }
    }
    let buildings = edits.len() - parcels;
    let units = issue_codes(&doc.units, codes, by)?;
    edits.extend(units.edits.into_iter().map(|e| Edit::Units(Box::new(e))));
    if edits.is_empty() {
        return Ok(None);
    }
    Ok(Some(CodesApplied {
        command: Command::new("写入入库代码 / codes issued on acceptance", edits),
        parcels,
        buildings,
        tables: units.tables,
        households: units.households,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_returned_version_gives_its_note_and_findings_and_an_accepted_one_its_codes() {
        let v = json!({
            "submission": {"submission_id": 7, "status": "returned"},
            "versions": [
                {"version": 1, "status": "failed", "failure": "坏包"},
                {"version": 2, "status": "returned", "decision_note": "请修改界址", "returned_findings":
                    [{"rule": "topology.overlap", "objects": ["T1"], "location": [500010.5, 3300020.0], "message_zh": "宗地重叠"},
                     "面积填写有误"]}
            ]
        });
        let r = ReviewState::from_json(&v);
        assert_eq!((r.submission_id, r.version, r.status.as_str()), (7, 2, "returned"));
        assert_eq!(r.note.as_deref(), Some("请修改界址"));
        assert_eq!(r.findings.len(), 2);
        assert_eq!(r.findings[0].location, Some([500010.5, 3300020.0]));
        assert_eq!(r.findings[1].message, "面积填写有误");
        assert!(!r.pending());
        let a = ReviewState::from_json(&json!({"versions": [{"version": 1, "status": "accepted",
            "codes_issued": {"T1": "330106001001GB00099"}}]}));
        assert_eq!(a.codes.get("T1").map(String::as_str), Some("330106001001GB00099"));
        assert_eq!(a.status_zh(), "已通过，已入库");
        // Garbage is an empty state, not a panic.
        assert_eq!(ReviewState::from_json(&json!([1, 2])).status, "");
    }
}
