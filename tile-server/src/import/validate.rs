//! Per-feature validation of one chunk: key checks, in-file duplicates, county,
//! the feature-local quality rules of `cadastre_core::qc`, and the store's value
//! ranges. What passes is encoded for `COPY`; the rest becomes [`Issue`]s.
//!
//! See the [module documentation](super) for which findings reject a feature.

use std::collections::{HashMap, HashSet};

use cadastre_core::crs::Transformer;
use cadastre_core::model::{Layer, LoadIssue, LoadIssueKind, Submission};
use cadastre_core::qc::{self, QcConfig};
use chrono::NaiveDate;
use geo::Validation as _;
use geo_types::MultiPolygon;
use unit_code::CountyCode;

use super::copy;
use super::rules::{self, Reason};

/// What happened to a feature, or a layer-level note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Not loaded.
    Rejected,
    /// Loaded, with something to look at.
    Warning,
    /// A note about the whole layer.
    Layer,
}

impl Action {
    /// The word used in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Rejected => "rejected",
            Action::Warning => "warning",
            Action::Layer => "layer",
        }
    }
}

/// One row of the reject report: a feature (all its reasons joined) or a layer note.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Layer.
    pub layer: Layer,
    /// Record index in the source (0-based); `None` for layer notes.
    pub index: Option<usize>,
    /// The feature's code as read (may be empty or malformed).
    pub code: String,
    /// Rejected, warning or layer note.
    pub action: Action,
    /// Rule ids, `;`-separated.
    pub rule: String,
    /// Reasons in Chinese.
    pub reason_zh: String,
    /// Reasons in English.
    pub reason_en: String,
}

impl Issue {
    fn from_reasons(layer: Layer, index: Option<usize>, code: &str, action: Action, reasons: &[Reason]) -> Self {
        let mut rule_ids: Vec<&str> = Vec::new();
        for r in reasons {
            if !rule_ids.contains(&r.rule.as_str()) {
                rule_ids.push(&r.rule);
            }
        }
        Self {
            layer,
            index,
            code: code.to_owned(),
            action,
            rule: rule_ids.join(";"),
            reason_zh: reasons.iter().map(|r| r.zh.as_str()).collect::<Vec<_>>().join("；"),
            reason_en: reasons.iter().map(|r| r.en.as_str()).collect::<Vec<_>>().join("; "),
        }
    }

    /// A layer-level note from a loader issue.
    pub fn layer_note(issue: &LoadIssue) -> Self {
        let (zh, en) = rules::load_issue_text(issue);
        Self {
            layer: issue.layer,
            index: None,
            code: String::new(),
            action: Action::Layer,
            rule: "input.load".into(),
            reason_zh: zh,
            reason_en: en,
        }
    }
}

/// Staged rows of one chunk, ready for `COPY`.
#[derive(Debug, Default)]
pub struct Staged {
    /// COPY text, one line per row, in record order.
    pub lines: Vec<u8>,
    /// Byte offset where each row's line ends (to cut the chunk into batches).
    pub ends: Vec<usize>,
    /// Record index of each row.
    pub indexes: Vec<usize>,
}

/// A validated chunk.
#[derive(Debug, Default)]
pub struct Checked {
    /// Records read (features plus records the loader could not turn into features).
    pub read: usize,
    /// Rows to load.
    pub staged: Staged,
    /// Rejected features and features loaded with warnings.
    pub issues: Vec<Issue>,
}

/// State kept across the chunks of one import.
pub struct Validator {
    config: QcConfig,
    /// The county being loaded; `fixed` when given with `--county`.
    county: Option<String>,
    fixed: bool,
    /// Codes seen per layer, for duplicates across chunks (first occurrence wins). Keys are
    /// well-formed codes (ASCII, at most 24 bytes) stored inline: a million parcels cost
    /// ~40 MB here instead of ~100 MB with a `String` each.
    seen: HashMap<Layer, HashMap<[u8; 24], usize>>,
    transformer: Option<Transformer>,
    srid: u32,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator").field("county", &self.county).field("srid", &self.srid).finish_non_exhaustive()
    }
}

/// Everything known about one feature while it is checked.
struct Feature {
    index: usize,
    code: String,
    /// The county of the code, once `check_key` has parsed it.
    county: Option<CountyCode>,
    rejects: Vec<Reason>,
    warnings: Vec<Reason>,
}

impl Validator {
    /// A validator loading into `srid`, optionally restricted to `county`.
    pub fn new(county: Option<String>, srid: u32) -> Self {
        let fixed = county.is_some();
        Self { config: rules::import_qc_config(), county, fixed, seen: HashMap::new(), transformer: None, srid }
    }

    /// Sets (or clears) the transform into the store CRS for the following chunks.
    pub fn set_transformer(&mut self, t: Option<Transformer>) {
        self.transformer = t;
    }

    /// The county being loaded (given or taken from the first well-formed code).
    pub fn county(&self) -> Option<&str> {
        self.county.as_deref()
    }

    /// Checks one chunk of `layer` and encodes what passes.
    pub fn check(&mut self, layer: Layer, mut chunk: Submission) -> Checked {
        let mut out = Checked::default();
        // Records the loader could not turn into a feature: rejected with the loader's reason.
        let present: HashSet<usize> = feature_indexes(&chunk, layer).collect();
        let mut skipped: HashMap<usize, (String, Vec<Reason>)> = HashMap::new();
        let mut load_reasons: HashMap<usize, (Vec<Reason>, Vec<Reason>)> = HashMap::new();
        for issue in chunk.load_issues.drain(..) {
            let Some(i) = issue.source_index else { continue };
            let reason = rules::load_issue_reason(&issue);
            if present.contains(&i) {
                let e = load_reasons.entry(i).or_default();
                if is_skip_kind(&issue.kind) {
                    e.0.push(reason);
                } else {
                    e.1.push(reason);
                }
            } else {
                let e = skipped.entry(i).or_insert_with(|| (issue.code.clone().unwrap_or_default(), Vec::new()));
                e.1.push(reason);
            }
        }
        let mut skipped: Vec<_> = skipped.into_iter().collect();
        skipped.sort_by_key(|(i, _)| *i);
        out.read = present.len() + skipped.len();
        for (i, (code, reasons)) in skipped {
            out.issues.push(Issue::from_reasons(layer, Some(i), &code, Action::Rejected, &reasons));
        }
        self.transform(&mut chunk, layer);
        let mut feats: Vec<Feature> = features_of(&chunk, layer)
            .into_iter()
            .map(|(index, code)| {
                let (rejects, warnings) = load_reasons.remove(&index).unwrap_or_default();
                Feature { index, code, county: None, rejects, warnings }
            })
            .collect();
        self.transform_failures(&mut chunk, layer, &mut feats);
        for f in &mut feats {
            self.check_key(layer, f);
        }
        local_checks(&chunk, layer, &mut feats);
        self.run_qc(&mut chunk, layer, &mut feats);
        // Encode what passes, in record order.
        for (pos, f) in feats.iter().enumerate() {
            if !f.rejects.is_empty() {
                out.issues.push(Issue::from_reasons(layer, Some(f.index), &f.code, Action::Rejected, &f.rejects));
                continue;
            }
            if !f.warnings.is_empty() {
                out.issues.push(Issue::from_reasons(layer, Some(f.index), &f.code, Action::Warning, &f.warnings));
            }
            // Not rejected, so `check_key` parsed the code.
            let county = f.county.as_ref().map_or("", CountyCode::as_str);
            let lines = &mut out.staged.lines;
            match layer {
                Layer::Parcels => copy::parcel(lines, county, &f.code, &chunk.parcels[pos], self.srid),
                Layer::Buildings => {
                    let b = &chunk.buildings[pos];
                    let date = b.attributes.jgrq.as_deref().and_then(parse_date);
                    copy::building(lines, county, &f.code, b, date, self.srid);
                }
                Layer::Subdistricts => copy::sub_district(lines, county, &f.code, &chunk.subdistricts[pos], self.srid),
                Layer::Districts => copy::district(lines, county, &f.code, &chunk.districts[pos], self.srid),
            }
            out.staged.ends.push(out.staged.lines.len());
            out.staged.indexes.push(f.index);
        }
        out.issues.sort_by_key(|i| i.index);
        out
    }

    fn transform(&self, chunk: &mut Submission, layer: Layer) {
        let Some(t) = &self.transformer else { return };
        // A failed transform leaves the geometry empty; `transform_failures` rejects it.
        let apply = |g: &mut MultiPolygon<f64>| *g = t.multipolygon(g).unwrap_or_else(|_| MultiPolygon(Vec::new()));
        match layer {
            Layer::Parcels => chunk.parcels.iter_mut().for_each(|p| apply(&mut p.geometry)),
            Layer::Buildings => chunk.buildings.iter_mut().for_each(|b| apply(&mut b.footprint)),
            Layer::Subdistricts => chunk.subdistricts.iter_mut().for_each(|s| apply(&mut s.geometry)),
            Layer::Districts => chunk.districts.iter_mut().for_each(|d| apply(&mut d.geometry)),
        }
    }

    fn transform_failures(&self, chunk: &mut Submission, layer: Layer, feats: &mut [Feature]) {
        if self.transformer.is_none() {
            return;
        }
        for (pos, f) in feats.iter_mut().enumerate() {
            if geometry_of(chunk, layer, pos).0.is_empty() {
                f.rejects.push(Reason::new(
                    rules::CRS_TRANSFORM,
                    "坐标无法转换到入库坐标系".into(),
                    "coordinates cannot be transformed into the store CRS".into(),
                ));
            }
        }
    }

    /// Key format (the store's CHECK, mirrored), county, duplicates within the file.
    fn check_key(&mut self, layer: Layer, f: &mut Feature) {
        let county = match rules::parse_key(layer, &f.code) {
            Ok(county) => county,
            Err(r) => {
                f.rejects.push(r);
                return;
            }
        };
        f.county = Some(county);
        let county = county.as_str();
        match &self.county {
            None => self.county = Some(county.to_owned()),
            Some(c) if c != county => {
                let how = if self.fixed { "--county" } else { "the first code of the import" };
                f.rejects.push(Reason::new(
                    rules::CODE_COUNTY,
                    format!("代码所属县级行政区 {county} 与本次入库的 {c} 不同"),
                    format!("code belongs to county {county}, this import loads {c} (from {how})"),
                ));
                return;
            }
            Some(_) => {}
        }
        let seen = self.seen.entry(layer).or_default();
        let mut key = [0u8; 24];
        key[..f.code.len().min(24)].copy_from_slice(&f.code.as_bytes()[..f.code.len().min(24)]);
        match seen.get(&key) {
            Some(&first) => f.rejects.push(Reason::new(
                qc::CODE_DUPLICATE,
                format!("代码 {} 与第 {first} 条记录重复，只入库第一条", f.code),
                format!("code {} already used by record {first}; only the first is loaded", f.code),
            )),
            None => {
                seen.insert(key, f.index);
            }
        }
    }

    /// Runs the neighbour-free QC rules on the features that are not already rejected
    /// ([`qc::check_batch`], which answers per feature: no neighbours are known here,
    /// the county-wide rules are off in [`rules::import_qc_config`]).
    fn run_qc(&self, chunk: &mut Submission, layer: Layer, feats: &mut [Feature]) {
        if !matches!(layer, Layer::Parcels | Layer::Buildings) {
            return;
        }
        // QC sees only the features not already rejected; they are moved out of the
        // chunk and back, not cloned.
        let pos_of: Vec<usize> = (0..feats.len()).filter(|&p| feats[p].rejects.is_empty()).collect();
        if pos_of.is_empty() {
            return;
        }
        let keep: Vec<bool> = feats.iter().map(|f| f.rejects.is_empty()).collect();
        let mut batch = Submission::default();
        let mut aside = Vec::new();
        let mut aside_b = Vec::new();
        match layer {
            Layer::Parcels => split(&mut chunk.parcels, &keep, &mut batch.parcels, &mut aside),
            _ => split(&mut chunk.buildings, &keep, &mut batch.buildings, &mut aside_b),
        }
        let found = qc::check_batch(&batch, &Submission::default(), &self.config);
        let per_feature = match layer {
            Layer::Parcels => {
                chunk.parcels = merge(std::mem::take(&mut batch.parcels), aside, &keep);
                found.parcels
            }
            _ => {
                chunk.buildings = merge(std::mem::take(&mut batch.buildings), aside_b, &keep);
                found.buildings
            }
        };
        // `batch[k]` is `feats[pos_of[k]]`.
        for (pos, findings) in pos_of.into_iter().zip(per_feature) {
            for finding in findings {
                let reason = Reason::new(&finding.rule, finding.message_zh, finding.message_en);
                if rules::rejects(&finding.rule) {
                    feats[pos].rejects.push(reason);
                } else {
                    feats[pos].warnings.push(reason);
                }
            }
        }
    }
}

/// Moves the items where `keep` is true into `kept` and the others into `aside`, in order.
fn split<T>(all: &mut Vec<T>, keep: &[bool], kept: &mut Vec<T>, aside: &mut Vec<T>) {
    for (item, &k) in std::mem::take(all).into_iter().zip(keep) {
        if k {
            kept.push(item);
        } else {
            aside.push(item);
        }
    }
}

/// Undoes [`split`]: the original order back.
fn merge<T>(kept: Vec<T>, aside: Vec<T>, keep: &[bool]) -> Vec<T> {
    let (mut k, mut a) = (kept.into_iter(), aside.into_iter());
    keep.iter().filter_map(|&x| if x { k.next() } else { a.next() }).collect()
}

/// Value ranges of the store's columns and the checks QC does not make for this layer.
fn local_checks(chunk: &Submission, layer: Layer, feats: &mut [Feature]) {
    for (pos, f) in feats.iter_mut().enumerate() {
        if let Some(r) = rules::encoding_problem(chunk, layer, pos) {
            f.rejects.push(r);
        }
        match layer {
            Layer::Parcels => {
                let a = &chunk.parcels[pos].attributes;
                f.rejects.extend(rules::area_range("ZDMJ", a.zdmj));
            }
            Layer::Buildings => {
                let b = &chunk.buildings[pos];
                let a = &b.attributes;
                f.rejects.extend(rules::area_range("YCJZMJ", a.ycjzmj));
                f.rejects.extend(rules::area_range("SCJZMJ", a.scjzmj));
                f.rejects.extend(rules::int_range("DSCS", a.dscs));
                f.rejects.extend(rules::int_range("DXCS", a.dxcs));
                let zddm = b.zddm.trim();
                // A malformed ZRZH is refused by its format (`parse_key`), not here.
                let zrzh = f.code.parse::<unit_code::BuildingCode>().ok();
                if !zddm.is_empty() && zrzh.is_some_and(|z| z.parcel().as_str() != zddm) {
                    f.rejects.push(Reason::new(
                        qc::CODE_CONSISTENCY,
                        format!("自然幢号 {} 的前 19 位与其宗地代码 {zddm} 不符", f.code),
                        format!("ZRZH {} does not start with its ZDDM {zddm}", f.code),
                    ));
                }
                if let Some(d) = a.jgrq.as_deref().filter(|d| !d.trim().is_empty() && parse_date(d).is_none()) {
                    f.warnings.push(Reason::new(
                        qc::ATTRIBUTE_DOMAIN,
                        format!("竣工日期 JGRQ {d:?} 不是日期，未入库"),
                        format!("JGRQ {d:?} is not a date; stored empty"),
                    ));
                }
            }
            Layer::Subdistricts | Layer::Districts => {
                // QC looks at parcels and buildings only; these few outlines are checked here.
                let g = geometry_of(chunk, layer, pos);
                if g.0.is_empty() || !g.is_valid() {
                    let why = g.validation_errors().first().map_or_else(|| "empty".to_owned(), ToString::to_string);
                    f.rejects.push(Reason::new(
                        qc::GEOMETRY_INVALID,
                        format!("{} {} 几何无效：{why}", layer.standard_name(), f.code),
                        format!("{} {}: invalid geometry: {why}", layer.standard_name(), f.code),
                    ));
                }
            }
        }
    }
}

/// JGRQ as written: `YYYYMMDD` (DBF date), `YYYY-MM-DD` or `YYYY/MM/DD`.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    ["%Y%m%d", "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"].iter().find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

fn feature_indexes(chunk: &Submission, layer: Layer) -> Box<dyn Iterator<Item = usize> + '_> {
    match layer {
        Layer::Parcels => Box::new(chunk.parcels.iter().map(|p| p.source_index)),
        Layer::Buildings => Box::new(chunk.buildings.iter().map(|b| b.source_index)),
        Layer::Subdistricts => Box::new(chunk.subdistricts.iter().map(|s| s.source_index)),
        Layer::Districts => Box::new(chunk.districts.iter().map(|d| d.source_index)),
    }
}

fn features_of(chunk: &Submission, layer: Layer) -> Vec<(usize, String)> {
    match layer {
        Layer::Parcels => chunk.parcels.iter().map(|p| (p.source_index, p.zddm.trim().to_owned())).collect(),
        Layer::Buildings => chunk.buildings.iter().map(|b| (b.source_index, b.zrzh.trim().to_owned())).collect(),
        Layer::Subdistricts => {
            chunk.subdistricts.iter().map(|s| (s.source_index, s.djzqdm.trim().to_owned())).collect()
        }
        Layer::Districts => chunk.districts.iter().map(|d| (d.source_index, d.djqdm.trim().to_owned())).collect(),
    }
}

fn geometry_of(chunk: &Submission, layer: Layer, pos: usize) -> &MultiPolygon<f64> {
    match layer {
        Layer::Parcels => &chunk.parcels[pos].geometry,
        Layer::Buildings => &chunk.buildings[pos].footprint,
        Layer::Subdistricts => &chunk.subdistricts[pos].geometry,
        Layer::Districts => &chunk.districts[pos].geometry,
    }
}

/// Whether a loader issue kind stops the feature (when the feature is present at all).
pub(crate) fn is_skip_kind(kind: &LoadIssueKind) -> bool {
    matches!(
        kind,
        LoadIssueKind::NullGeometry
            | LoadIssueKind::EmptyGeometry
            | LoadIssueKind::WrongGeometryType { .. }
            | LoadIssueKind::CorruptRecord { .. }
            | LoadIssueKind::NonFiniteCoordinate
            | LoadIssueKind::MissingKey { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn split_then_merge_restores_the_order(keep in proptest::collection::vec(proptest::bool::ANY, 0..200)) {
            let mut all: Vec<usize> = (0..keep.len()).collect();
            let (mut kept, mut aside) = (Vec::new(), Vec::new());
            split(&mut all, &keep, &mut kept, &mut aside);
            proptest::prop_assert!(kept.iter().all(|&i| keep[i]) && aside.iter().all(|&i| !keep[i]));
            proptest::prop_assert_eq!(merge(kept, aside, &keep), (0..keep.len()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn dates_in_the_usual_spellings() {
        assert_eq!(parse_date("20190315"), NaiveDate::from_ymd_opt(2019, 3, 15));
        assert_eq!(parse_date("2019-03-15"), NaiveDate::from_ymd_opt(2019, 3, 15));
        assert_eq!(parse_date("2019/3/15"), NaiveDate::from_ymd_opt(2019, 3, 15));
        assert_eq!(parse_date("2019-02-30"), None);
        assert_eq!(parse_date("三月"), None);
    }
}
