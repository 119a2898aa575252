//! The import's rejection policy: which checks stop a feature and which only warn,
//! plus the checks that mirror the store's column types and CHECK constraints
//! (a feature that passes here can never make a batch fail on a constraint).

use cadastre_core::model::{Layer, LoadIssue, LoadIssueKind, Submission};
use cadastre_core::qc::{self, QcConfig, Scope};
use unit_code::{BuildingCode, CountyCode, DistrictCode, ParcelCode, SubdistrictCode};

/// Rule id: the coordinates could not be transformed into the store CRS.
pub const CRS_TRANSFORM: &str = "crs.transform";
/// Rule id: the code belongs to another county than the one being loaded.
pub const CODE_COUNTY: &str = "code.county";
/// Rule id: text that does not decode in the layer's encoding (U+FFFD after decoding).
pub const ATTRIBUTE_ENCODING: &str = "attribute.encoding";

/// Largest value a NUMERIC(14, 2) column holds, rounded to 2 decimals.
const MAX_AREA: f64 = 999_999_999_999.99;

/// QC rules run per feature: the registry's [`Scope::Local`] rules, which need no
/// neighbours. Overlaps, gaps, containment, near-misses and code consistency against other
/// layers need the whole county and are left to `cadastre check` on the assembled store.
pub fn local_rules() -> impl Iterator<Item = &'static str> {
    qc::REGISTRY.iter().filter(|s| s.scope == Scope::Local).map(|s| s.id)
}

/// Whether a QC finding of `rule` rejects its feature: the rules the registry marks
/// `rejects_on_import` (a geometry the store cannot use as a parcel: invalid,
/// self-intersecting, under 1 m², a digitising artefact, not land). `code.format` on the
/// key, duplicates, county and the store's ranges are checked by the importer itself and
/// always reject. Every other local finding is a warning.
pub fn rejects(rule: &str) -> bool {
    qc::rules::spec(rule).is_some_and(|s| s.rejects_on_import)
}

/// The QC configuration of an import: the default tolerances, only [`local_rules`] enabled.
pub fn import_qc_config() -> QcConfig {
    let mut cfg = QcConfig::default();
    for spec in &qc::REGISTRY {
        if let Some(c) = cfg.rules.common_mut(spec.id) {
            c.enabled = spec.scope == Scope::Local;
        }
    }
    cfg
}

/// One reason a feature is rejected or warned about.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// Rule id.
    pub rule: String,
    /// Chinese text.
    pub zh: String,
    /// English text.
    pub en: String,
}

impl Reason {
    /// A reason.
    pub fn new(rule: &str, zh: String, en: String) -> Self {
        Self { rule: rule.to_owned(), zh, en }
    }
}

/// The county of a key that can be stored, or why it cannot. The store's CHECKs
/// (migration 0004) are the hard formats of GB/T 37346, which `unit_code` parses: one
/// check, whose message names the segment that failed.
pub fn parse_key(layer: Layer, code: &str) -> Result<CountyCode, Reason> {
    let (name_zh, name_en) = match layer {
        Layer::Parcels => ("宗地代码 ZDDM", "parcel code ZDDM"),
        Layer::Buildings => ("自然幢号 ZRZH", "building number ZRZH"),
        Layer::Subdistricts => ("地籍子区代码 DJZQDM", "sub-district code DJZQDM"),
        Layer::Districts => ("地籍区代码 DJQDM", "district code DJQDM"),
    };
    if code.is_empty() {
        return Err(Reason::new(qc::ATTRIBUTE_MISSING, format!("缺少{name_zh}"), format!("{name_en} is empty")));
    }
    let parsed = match layer {
        Layer::Parcels => code.parse::<ParcelCode>().map(|c| c.county()),
        Layer::Buildings => code.parse::<BuildingCode>().map(|c| c.county()),
        Layer::Subdistricts => code.parse::<SubdistrictCode>().map(|c| c.county()),
        Layer::Districts => code.parse::<DistrictCode>().map(|c| c.county()),
    };
    parsed.map_err(|e| {
        Reason::new(
            qc::CODE_FORMAT,
            format!("{name_zh} {code} 格式错误：{}", e.message_zh()),
            format!("{name_en} {code} is malformed: {}", e.message_en()),
        )
    })
}

/// A text attribute that did not decode (U+FFFD): the wrong `--encoding` or a broken .cpg.
pub fn encoding_problem(chunk: &Submission, layer: Layer, pos: usize) -> Option<Reason> {
    let bad = |s: &Option<String>| s.as_deref().is_some_and(|s| s.contains('\u{FFFD}'));
    let found = match layer {
        Layer::Parcels => {
            let p = &chunk.parcels[pos];
            let a = &p.attributes;
            p.zddm.contains('\u{FFFD}')
                || [&a.zl, &a.yt, &a.qllx, &a.qlxz].into_iter().any(bad)
                || a.extra.iter().any(|(_, v)| v.contains('\u{FFFD}'))
        }
        Layer::Buildings => {
            let b = &chunk.buildings[pos];
            let a = &b.attributes;
            b.zrzh.contains('\u{FFFD}')
                || [&a.jzwmc, &a.fwjg, &a.ghyt, &a.jgrq].into_iter().any(bad)
                || a.extra.iter().any(|(_, v)| v.contains('\u{FFFD}'))
        }
        Layer::Subdistricts => bad(&chunk.subdistricts[pos].name),
        Layer::Districts => bad(&chunk.districts[pos].name),
    };
    found.then(|| {
        Reason::new(
            ATTRIBUTE_ENCODING,
            "属性文字无法按所选编码解码（乱码），请用 --encoding 指定正确编码（如 GBK）".into(),
            "attribute text does not decode in the chosen encoding; pass the right --encoding (e.g. GBK)".into(),
        )
    })
}

/// An area that does not fit NUMERIC(14, 2).
pub fn area_range(field: &str, v: Option<f64>) -> Option<Reason> {
    let v = v?;
    (!v.is_finite() || v.abs() > MAX_AREA).then(|| {
        Reason::new(
            qc::ATTRIBUTE_DOMAIN,
            format!("{field} = {v} 超出可存储范围"),
            format!("{field} = {v} is out of the storable range (|v| < 10^12)"),
        )
    })
}

/// A count that does not fit INTEGER.
pub fn int_range(field: &str, v: Option<i64>) -> Option<Reason> {
    let v = v?;
    i32::try_from(v).is_err().then(|| {
        Reason::new(
            qc::ATTRIBUTE_DOMAIN,
            format!("{field} = {v} 超出可存储范围"),
            format!("{field} = {v} is out of the storable range"),
        )
    })
}

/// The rule a loader issue counts under, with its message.
pub fn load_issue_reason(issue: &LoadIssue) -> Reason {
    let rule = match issue.kind {
        LoadIssueKind::NullGeometry
        | LoadIssueKind::EmptyGeometry
        | LoadIssueKind::WrongGeometryType { .. }
        | LoadIssueKind::NonFiniteCoordinate => qc::GEOMETRY_INVALID,
        LoadIssueKind::MissingKey { .. } => qc::ATTRIBUTE_MISSING,
        LoadIssueKind::BadAttribute { .. } => qc::ATTRIBUTE_DOMAIN,
        _ => qc::INPUT_LOAD,
    };
    let (zh, en) = load_issue_text(issue);
    Reason::new(rule, zh, en)
}

/// Chinese and English text of a loader issue (the loader's own message is English).
pub fn load_issue_text(issue: &LoadIssue) -> (String, String) {
    let zh = match &issue.kind {
        LoadIssueKind::NullGeometry => "几何为空（Null）".to_owned(),
        LoadIssueKind::EmptyGeometry => "几何无坐标".to_owned(),
        LoadIssueKind::WrongGeometryType { found } => format!("几何类型错误（{found}），应为面"),
        LoadIssueKind::MultiPart { parts } => format!("多部件要素（{parts} 个部件）"),
        LoadIssueKind::ZmDropped => "Z/M 值已舍弃".to_owned(),
        LoadIssueKind::MissingKey { field } => format!("缺少关键字段 {field}"),
        LoadIssueKind::BadAttribute { field, value } => format!("属性 {field} 的值 {value:?} 无法识别，未入库"),
        LoadIssueKind::CorruptRecord { detail } => format!("记录损坏：{detail}"),
        LoadIssueKind::NonFiniteCoordinate => "坐标非有限数".to_owned(),
        LoadIssueKind::ImplausibleCoordinates { reason } => format!("坐标与坐标系不符：{reason}"),
        LoadIssueKind::MissingField { field } => format!("图层缺少字段 {field}"),
        LoadIssueKind::RecordCountMismatch { shapes, records } => {
            format!("几何记录数 {shapes} 与属性记录数 {records} 不一致")
        }
        LoadIssueKind::MissingAttributeTable => "缺少 .dbf 属性表".to_owned(),
        LoadIssueKind::MissingPrj => "缺少 .prj，坐标系未知".to_owned(),
        LoadIssueKind::UnknownCrs { detail } => format!("无法识别坐标系：{detail}"),
        LoadIssueKind::EncodingGuessed { used, reason } => format!("字符编码为推断（{used}）：{reason}"),
        LoadIssueKind::MissingLayer => "缺少图层".to_owned(),
        _ => "读取问题".to_owned(),
    };
    (zh, issue.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_mirror_the_store_checks() {
        assert_eq!(parse_key(Layer::Parcels, "340824104207JA00024").map(|c| c.to_string()), Ok("340824".into()));
        assert_eq!(parse_key(Layer::Buildings, "330106001001GB00001F0001").map(|c| c.to_string()), Ok("330106".into()));
        assert_eq!(parse_key(Layer::Subdistricts, "330106001001").map(|c| c.to_string()), Ok("330106".into()));
        assert_eq!(parse_key(Layer::Districts, "330106001").map(|c| c.to_string()), Ok("330106".into()));
        for bad in ["34082410420７JA00024", "340824104207ja00024", "340824104207JA0002", "340824104207JA000245"] {
            assert_eq!(parse_key(Layer::Parcels, bad).err().map(|r| r.rule), Some(qc::CODE_FORMAT.to_owned()), "{bad}");
        }
        assert_eq!(parse_key(Layer::Parcels, "").err().map(|r| r.rule), Some(qc::ATTRIBUTE_MISSING.to_owned()));
        assert!(parse_key(Layer::Buildings, "330106001001GB00001G0001").is_err());
        assert!(parse_key(Layer::Districts, "33010600").is_err());
        assert!(parse_key(Layer::Subdistricts, "33010600100x").is_err());
    }

    #[test]
    fn key_reasons_name_the_segment() {
        let r = parse_key(Layer::Parcels, "340824104207ja00024").err().map(|r| r.zh).unwrap_or_default();
        assert_eq!(
            r,
            "宗地代码 ZDDM 340824104207ja00024 格式错误：宗地代码第 13 位应为宗地特征码（所有权）G/J/Z，实际为 'j'"
        );
        let r = parse_key(Layer::Buildings, "330106001001GB00001G0001").err().map(|r| r.zh).unwrap_or_default();
        assert!(r.ends_with("自然幢号第 20 位应为定着物特征码 F，实际为 'G'"), "{r}");
        let r = parse_key(Layer::Districts, "33010600").err().map(|r| r.en).unwrap_or_default();
        assert!(r.ends_with("cadastral district code: expected 9 characters, found 8"), "{r}");
    }

    #[test]
    fn numeric_ranges_match_the_columns() {
        assert!(area_range("ZDMJ", Some(123.45)).is_none());
        assert!(area_range("ZDMJ", Some(1e12)).is_some());
        assert!(area_range("ZDMJ", Some(f64::NAN)).is_some());
        assert!(int_range("DSCS", Some(i64::from(i32::MAX) + 1)).is_some());
        assert!(int_range("DSCS", Some(-3)).is_none());
    }

    #[test]
    fn every_county_wide_rule_is_off_in_a_chunk_and_three_reject() {
        let cfg = import_qc_config();
        for spec in &qc::REGISTRY {
            let on = cfg.common(spec.id).map(|c| c.enabled);
            assert_eq!(on, Some(spec.scope == Scope::Local), "{}", spec.id);
        }
        assert!(cfg.rules.parcel_tiny.common.enabled);
        assert!(!cfg.rules.parcel_overlap.common.enabled);
        assert!(!cfg.rules.code_duplicate.common.enabled);
        assert!(!cfg.rules.input_load.common.enabled);
        let rejecting: Vec<&str> = qc::ALL_RULE_IDS.into_iter().filter(|id| rejects(id)).collect();
        assert_eq!(rejecting, [qc::GEOMETRY_INVALID, qc::GEOMETRY_SELF_INTERSECTION, qc::PARCEL_TINY]);
        assert_eq!(local_rules().count(), 10);
        assert!(!rejects("no.such_rule"));
    }
}
