//! From raw features (geometry + attribute values, any format) to the model, with
//! field mapping by standard name and per-feature load issues.

use geo_types::MultiPolygon;
use rayon::prelude::*;

use super::dbf::Value;
use super::shp::RawShape;
use super::FieldAliases;
use crate::model::{
    Building, BuildingAttributes, District, ExtraAttributes, Layer, LoadIssue, LoadIssueKind, Parcel, ParcelAttributes,
    Subdistrict,
};

/// One feature as read from any format.
#[derive(Debug, Clone)]
pub(crate) struct RawFeature {
    /// Record index in the source.
    pub index: usize,
    /// Geometry.
    pub shape: RawShape,
    /// Values in the order of [`RawLayer::field_names`]; empty when the record has no attributes.
    pub values: Vec<Value>,
}

/// A layer as read from any format.
#[derive(Debug, Clone)]
pub(crate) struct RawLayer {
    /// File or layer name, for messages.
    pub source: String,
    /// Field names as decoded.
    pub field_names: Vec<String>,
    /// Features.
    pub features: Vec<RawFeature>,
}

/// Standard fields whose absence from a layer is reported.
fn expected_fields(layer: Layer) -> &'static [&'static str] {
    match layer {
        Layer::Parcels => &["ZDDM", "ZL", "ZDMJ", "YT", "QLLX", "QLXZ"],
        Layer::Buildings => &["ZRZH", "ZDDM"],
        Layer::Subdistricts => &["DJZQDM"],
        Layer::Districts => &["DJQDM"],
    }
}

/// Every standard field the mapping reads.
const STANDARD_FIELDS: &[&str] = &[
    "BSM", "BDCDYH", "ZDTZM", "ZL", "ZDMJ", "YT", "QLLX", "QLXZ", "DJZQDM", "JZDJB", "ZDDM", "ZRZH", "JZWMC", "JGRQ",
    "ZZDMJ", "YCJZMJ", "SCJZMJ", "ZCS", "DSCS", "DXCS", "GHYT", "FWJG", "DJZQMC", "DJZQMJ", "DJQDM", "DJQMC", "DJQMJ",
];

/// Column lookup for one layer, resolved once (not per feature).
struct Columns<'a> {
    names: &'a [String],
    resolved: Vec<(&'static str, Option<usize>)>,
}

impl<'a> Columns<'a> {
    fn new(names: &'a [String], aliases: &FieldAliases) -> Self {
        let resolved =
            STANDARD_FIELDS.iter().map(|&f| (f, aliases.find(f, names.iter().map(String::as_str)))).collect();
        Self { names, resolved }
    }

    fn index(&self, standard: &str) -> Option<usize> {
        self.resolved.iter().find(|(f, _)| *f == standard).and_then(|(_, i)| *i)
    }
}

/// Per-feature context: collects issues while reading attributes.
struct Row<'a> {
    layer: Layer,
    source: &'a str,
    feature: &'a RawFeature,
    columns: &'a Columns<'a>,
    used: Vec<bool>,
    issues: Vec<LoadIssue>,
    /// The geometry, moved out of the feature when first asked for.
    shape: Option<RawShape>,
}

impl<'a> Row<'a> {
    fn new(layer: Layer, source: &'a str, feature: &'a RawFeature, columns: &'a Columns<'a>, shape: RawShape) -> Self {
        let used = vec![false; columns.names.len()];
        Self { layer, source, feature, columns, used, issues: Vec::new(), shape: Some(shape) }
    }

    fn raw(&mut self, standard: &str) -> Option<&'a Value> {
        let i = self.columns.index(standard)?;
        if let Some(u) = self.used.get_mut(i) {
            *u = true;
        }
        self.feature.values.get(i)
    }

    fn text(&mut self, standard: &str) -> Option<String> {
        match self.raw(standard)? {
            Value::Text(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(format_number(*n)),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn number(&mut self, standard: &str) -> Option<f64> {
        match self.raw(standard)? {
            Value::Number(n) => Some(*n),
            Value::Text(s) if s.trim().is_empty() => None,
            Value::Text(s) => match s.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    self.issue(
                        LoadIssueKind::BadAttribute { field: standard.to_owned(), value: s.clone() },
                        format!("{standard} = {s:?} is not a number"),
                    );
                    None
                }
            },
            _ => None,
        }
    }

    fn integer(&mut self, standard: &str) -> Option<i64> {
        let v = self.number(standard)?;
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            // Exact: checked integral and within f64's exact integer range.
            #[allow(clippy::cast_possible_truncation)]
            Some(v as i64)
        } else {
            self.issue(
                LoadIssueKind::BadAttribute { field: standard.to_owned(), value: v.to_string() },
                format!("{standard} = {v} is not a whole number"),
            );
            None
        }
    }

    fn key(&mut self, standard: &str) -> String {
        self.text(standard).unwrap_or_else(|| {
            self.issue(LoadIssueKind::MissingKey { field: standard.to_owned() }, format!("{standard} is empty"));
            String::new()
        })
    }

    fn issue(&mut self, kind: LoadIssueKind, message: String) {
        self.issues.push(LoadIssue {
            layer: self.layer,
            source: self.source.to_owned(),
            source_index: Some(self.feature.index),
            code: None,
            kind,
            message,
        });
    }

    /// Fields not mapped to a standard attribute, as text.
    fn extra(&self) -> ExtraAttributes {
        let mut extra = ExtraAttributes::new();
        for (i, name) in self.columns.names.iter().enumerate() {
            if self.used.get(i).copied().unwrap_or(true) {
                continue;
            }
            let text = match self.feature.values.get(i) {
                Some(Value::Text(s)) => s.trim().to_owned(),
                Some(Value::Number(n)) => format_number(*n),
                Some(Value::Bool(b)) => b.to_string(),
                _ => continue,
            };
            extra.insert(name.trim().to_uppercase(), text);
        }
        extra.shrink_to_fit();
        extra
    }

    /// The polygon geometry, or `None` with an issue when unusable.
    fn geometry(&mut self) -> Option<MultiPolygon<f64>> {
        let shape = self.shape.take()?;
        let (kind, message) = match &shape {
            RawShape::Polygons { geometry, .. } if !geometry.0.is_empty() => {
                if geometry.0.len() > 1 {
                    self.issue(
                        LoadIssueKind::MultiPart { parts: geometry.0.len() },
                        format!("multipart geometry with {} polygons", geometry.0.len()),
                    );
                }
                let RawShape::Polygons { geometry, .. } = shape else { return None };
                return Some(geometry);
            }
            RawShape::Polygons { .. } => (LoadIssueKind::EmptyGeometry, "empty or degenerate polygon".to_owned()),
            RawShape::Null => (LoadIssueKind::NullGeometry, "null geometry".to_owned()),
            RawShape::Other(t) => {
                (LoadIssueKind::WrongGeometryType { found: t.clone() }, format!("{t} where a polygon is expected"))
            }
            RawShape::Corrupt(d) => {
                (LoadIssueKind::CorruptRecord { detail: d.clone() }, format!("corrupt record: {d}"))
            }
            RawShape::NonFinite => (LoadIssueKind::NonFiniteCoordinate, "NaN or infinite coordinate".to_owned()),
        };
        self.issue(kind, message);
        None
    }

    fn finish(mut self, code: &str) -> Vec<LoadIssue> {
        if !code.is_empty() {
            for i in &mut self.issues {
                i.code = Some(code.to_owned());
            }
        }
        self.issues
    }
}

/// Shortest text for a DBF number: integers without ".0".
fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

fn layer_issues(layer: Layer, raw: &RawLayer, features: &[RawFeature], columns: &Columns<'_>) -> Vec<LoadIssue> {
    let mut issues = Vec::new();
    if features.iter().any(|f| matches!(f.shape, RawShape::Polygons { zm: true, .. })) {
        issues.push(LoadIssue {
            layer,
            source: raw.source.clone(),
            source_index: None,
            code: None,
            kind: LoadIssueKind::ZmDropped,
            message: "Z/M values dropped; the model is 2-D".to_owned(),
        });
    }
    for field in expected_fields(layer) {
        if columns.index(field).is_none() {
            issues.push(LoadIssue {
                layer,
                source: raw.source.clone(),
                source_index: None,
                code: None,
                kind: LoadIssueKind::MissingField { field: (*field).to_owned() },
                message: format!("field {field} not found (no alias matched)"),
            });
        }
    }
    issues
}

/// Map features of one layer in parallel; `build` returns the object (if any) for a row.
fn map_layer<T: Send>(
    layer: Layer,
    mut raw: RawLayer,
    aliases: &FieldAliases,
    build: impl Fn(&mut Row<'_>) -> Option<(T, String)> + Sync,
) -> (Vec<T>, Vec<LoadIssue>) {
    let features = std::mem::take(&mut raw.features);
    let columns = Columns::new(&raw.field_names, aliases);
    let mut issues = layer_issues(layer, &raw, &features, &columns);
    let rows: Vec<(Option<T>, Vec<LoadIssue>)> = features
        .into_par_iter()
        .map(|mut f| {
            let shape = std::mem::replace(&mut f.shape, RawShape::Null);
            let mut row = Row::new(layer, &raw.source, &f, &columns, shape);
            match build(&mut row) {
                Some((obj, code)) => (Some(obj), row.finish(&code)),
                None => {
                    let code = row.text(key_field(layer)).unwrap_or_default();
                    (None, row.finish(&code))
                }
            }
        })
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for (obj, mut iss) in rows {
        out.extend(obj);
        issues.append(&mut iss);
    }
    (out, issues)
}

fn key_field(layer: Layer) -> &'static str {
    match layer {
        Layer::Parcels => "ZDDM",
        Layer::Buildings => "ZRZH",
        Layer::Subdistricts => "DJZQDM",
        Layer::Districts => "DJQDM",
    }
}

/// Parcels from a ZD layer.
pub(crate) fn parcels(raw: RawLayer, aliases: &FieldAliases) -> (Vec<Parcel>, Vec<LoadIssue>) {
    map_layer(Layer::Parcels, raw, aliases, |row| {
        let geometry = row.geometry()?;
        let zddm = row.key("ZDDM");
        let point_class = row.integer("JZDJB").and_then(|c| u8::try_from(c).ok()).filter(|c| (1..=3).contains(c));
        let attributes = ParcelAttributes {
            bsm: row.text("BSM"),
            bdcdyh: row.text("BDCDYH"),
            zdtzm: row.text("ZDTZM"),
            zl: row.text("ZL"),
            zdmj: row.number("ZDMJ"),
            yt: row.text("YT"),
            qllx: row.text("QLLX"),
            qlxz: row.text("QLXZ"),
            djzqdm: row.text("DJZQDM"),
            point_class,
            extra: row.extra(),
        };
        let parcel = Parcel { zddm: zddm.clone(), geometry, attributes, source_index: row.feature.index };
        Some((parcel, zddm))
    })
}

/// Buildings from a ZRZ layer.
pub(crate) fn buildings(raw: RawLayer, aliases: &FieldAliases) -> (Vec<Building>, Vec<LoadIssue>) {
    map_layer(Layer::Buildings, raw, aliases, |row| {
        let footprint = row.geometry()?;
        let zrzh = row.key("ZRZH");
        // ZDDM may be absent in the layer: it is the first 19 characters of ZRZH.
        let zddm = row.text("ZDDM").unwrap_or_else(|| zrzh.chars().take(19).collect());
        let attributes = BuildingAttributes {
            bsm: row.text("BSM"),
            bdcdyh: row.text("BDCDYH"),
            jzwmc: row.text("JZWMC"),
            jgrq: row.text("JGRQ"),
            zzdmj: row.number("ZZDMJ"),
            ycjzmj: row.number("YCJZMJ"),
            scjzmj: row.number("SCJZMJ"),
            zcs: row.integer("ZCS"),
            dscs: row.integer("DSCS"),
            dxcs: row.integer("DXCS"),
            ghyt: row.text("GHYT"),
            fwjg: row.text("FWJG"),
            extra: row.extra(),
        };
        let b = Building { zrzh: zrzh.clone(), zddm, footprint, attributes, source_index: row.feature.index };
        Some((b, zrzh))
    })
}

/// Sub-districts from a DJZQ layer.
pub(crate) fn subdistricts(raw: RawLayer, aliases: &FieldAliases) -> (Vec<Subdistrict>, Vec<LoadIssue>) {
    map_layer(Layer::Subdistricts, raw, aliases, |row| {
        let geometry = row.geometry()?;
        let djzqdm = row.key("DJZQDM");
        let s = Subdistrict {
            djzqdm: djzqdm.clone(),
            name: row.text("DJZQMC"),
            recorded_area: row.number("DJZQMJ"),
            geometry,
            extra: row.extra(),
            source_index: row.feature.index,
        };
        Some((s, djzqdm))
    })
}

/// Districts from a DJQ layer.
pub(crate) fn districts(raw: RawLayer, aliases: &FieldAliases) -> (Vec<District>, Vec<LoadIssue>) {
    map_layer(Layer::Districts, raw, aliases, |row| {
        let geometry = row.geometry()?;
        let djqdm = row.key("DJQDM");
        let d = District {
            djqdm: djqdm.clone(),
            name: row.text("DJQMC"),
            recorded_area: row.number("DJQMJ"),
            geometry,
            extra: row.extra(),
            source_index: row.feature.index,
        };
        Some((d, djqdm))
    })
}
