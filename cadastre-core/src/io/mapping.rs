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

/// One feature as read from any format (its values are in [`RawLayer::values`]).
#[derive(Debug, Clone)]
pub(crate) struct RawFeature {
    /// Record index in the source.
    pub index: usize,
    /// Geometry.
    pub shape: RawShape,
}

/// A layer (or a chunk of one) as read from any format.
#[derive(Debug, Clone)]
pub(crate) struct RawLayer {
    /// File or layer name, for messages.
    pub source: String,
    /// Field names as decoded.
    pub field_names: Vec<String>,
    /// Features.
    pub features: Vec<RawFeature>,
    /// The features' values, one row of `field_names.len()` per feature in feature order
    /// (`Null` where a record has no attributes). One buffer, reused from chunk to chunk: a
    /// vector per feature was millions of allocations, and fresh memory every chunk.
    pub values: Vec<Value>,
    /// Records in the whole layer (this may be one chunk of it), to size the output once.
    pub total: usize,
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

/// A standard field, as its position in [`STANDARD_FIELDS`]: a feature's attributes are looked up
/// by position, not by comparing names (a dozen string searches per feature, millions of features).
#[derive(Debug, Clone, Copy)]
struct Field(usize);

impl Field {
    /// The field called `name`; a name not in [`STANDARD_FIELDS`] does not compile when used
    /// through [`field!`].
    const fn named(name: &str) -> Self {
        let mut i = 0;
        while i < STANDARD_FIELDS.len() {
            let (a, b) = (STANDARD_FIELDS[i].as_bytes(), name.as_bytes());
            if a.len() == b.len() {
                let mut k = 0;
                while k < a.len() && a[k] == b[k] {
                    k += 1;
                }
                if k == a.len() {
                    return Field(i);
                }
            }
            i += 1;
        }
        panic!("not a standard field")
    }

    fn name(self) -> &'static str {
        STANDARD_FIELDS[self.0]
    }
}

/// A standard field by name, resolved at compile time.
macro_rules! field {
    ($name:literal) => {
        const { Field::named($name) }
    };
}

/// Standard fields read whatever [`super::LoadOptions::only_attributes`] says: the keys and
/// the numbers, whose values can give load issues (missing key, not a number).
const ALWAYS_READ: &[&str] = &[
    "ZDDM", "ZRZH", "DJZQDM", "DJQDM", "ZDMJ", "JZDJB", "ZZDMJ", "YCJZMJ", "SCJZMJ", "ZCS", "DSCS", "DXCS", "DJZQMJ",
    "DJQMJ",
];

/// Which columns of a layer with these field names to read under `options` (see
/// [`super::LoadOptions::only_attributes`]); a column not read gives no value.
pub(crate) fn columns_to_read(names: &[String], options: &super::LoadOptions) -> Vec<bool> {
    let Some(only) = &options.only_attributes else { return vec![true; names.len()] };
    let only: Vec<String> = only.iter().map(|o| o.trim().to_uppercase()).collect();
    // A field kept under its own name (an extra attribute)...
    let mut keep: Vec<bool> = names.iter().map(|n| only.contains(&n.trim().to_uppercase())).collect();
    // ...or as the column a kept standard field resolves to (through aliases too).
    for field in ALWAYS_READ.iter().copied().chain(only.iter().map(String::as_str)) {
        if let Some(i) = options.aliases.find(field, names.iter().map(String::as_str)) {
            if let Some(k) = keep.get_mut(i) {
                *k = true;
            }
        }
    }
    keep
}

/// Column lookup for one layer, resolved once (not per feature).
struct Columns<'a> {
    names: &'a [String],
    /// Names as keys of [`ExtraAttributes`] (trimmed, upper-cased), computed once per layer.
    upper: Vec<String>,
    /// The column of each standard field, by [`Field`] position.
    resolved: Vec<Option<usize>>,
}

impl<'a> Columns<'a> {
    fn new(names: &'a [String], aliases: &FieldAliases) -> Self {
        let resolved = STANDARD_FIELDS.iter().map(|&f| aliases.find(f, names.iter().map(String::as_str))).collect();
        let upper = names.iter().map(|n| n.trim().to_uppercase()).collect();
        Self { names, upper, resolved }
    }

    fn index(&self, field: Field) -> Option<usize> {
        self.resolved.get(field.0).copied().flatten()
    }

    fn index_by_name(&self, standard: &str) -> Option<usize> {
        STANDARD_FIELDS.iter().position(|&f| f == standard).and_then(|i| self.index(Field(i)))
    }
}

/// Per-feature context: collects issues while reading attributes.
struct Row<'a> {
    layer: Layer,
    source: &'a str,
    /// Record index in the source.
    index: usize,
    /// The record's values; text is moved out (not copied) into the model when read.
    values: &'a mut [Value],
    columns: &'a Columns<'a>,
    /// Which columns a standard attribute has read (the rest go to `extra`); a bit set, as
    /// layers with more than 64 columns are rare and then fall back to a vector.
    used: Used,
    issues: Vec<LoadIssue>,
    /// The geometry, moved out of the feature when first asked for.
    shape: Option<RawShape>,
}

/// A small set of column numbers.
enum Used {
    Bits(u64),
    Many(Vec<bool>),
}

impl Used {
    fn new(n: usize) -> Self {
        if n <= 64 {
            Used::Bits(0)
        } else {
            Used::Many(vec![false; n])
        }
    }
    fn insert(&mut self, i: usize) {
        match self {
            Used::Bits(b) => *b |= 1u64.checked_shl(i as u32).unwrap_or(0),
            Used::Many(v) => {
                if let Some(u) = v.get_mut(i) {
                    *u = true;
                }
            }
        }
    }
    fn contains(&self, i: usize) -> bool {
        match self {
            Used::Bits(b) => i < 64 && b & (1u64 << i) != 0,
            Used::Many(v) => v.get(i).copied().unwrap_or(true),
        }
    }
}

impl<'a> Row<'a> {
    fn new(
        layer: Layer,
        source: &'a str,
        feature: RawFeature,
        values: &'a mut [Value],
        columns: &'a Columns<'a>,
    ) -> Self {
        let RawFeature { index, shape } = feature;
        let used = Used::new(columns.names.len());
        Self { layer, source, index, values, columns, used, issues: Vec::new(), shape: Some(shape) }
    }

    /// The value of a standard field, marking its column used.
    fn raw_mut(&mut self, field: Field) -> Option<&mut Value> {
        let i = self.columns.index(field)?;
        self.used.insert(i);
        self.values.get_mut(i)
    }

    fn raw(&mut self, field: Field) -> Option<&Value> {
        self.raw_mut(field).map(|v| &*v)
    }

    fn text(&mut self, field: Field) -> Option<String> {
        match self.raw_mut(field)? {
            Value::Text(s) => {
                let t = s.trim();
                if t.is_empty() {
                    None
                } else if t.len() == s.len() {
                    // Already trimmed (the DBF reader strips blanks): move, do not copy. Each
                    // standard field is read once per feature (the key is read again only when
                    // the geometry failed, before anything else was read).
                    Some(std::mem::take(s))
                } else {
                    Some(t.to_owned())
                }
            }
            Value::Number(n) => Some(format_number(*n)),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn number(&mut self, field: Field) -> Option<f64> {
        let standard = field.name();
        let bad = match self.raw(field)? {
            Value::Number(n) => return Some(*n),
            Value::Text(s) if s.trim().is_empty() => return None,
            Value::Text(s) => match s.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => return Some(v),
                _ => s.clone(),
            },
            _ => return None,
        };
        self.issue(
            LoadIssueKind::BadAttribute { field: standard.to_owned(), value: bad.clone() },
            format!("{standard} = {bad:?} is not a number"),
        );
        None
    }

    fn integer(&mut self, field: Field) -> Option<i64> {
        let standard = field.name();
        let v = self.number(field)?;
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

    fn key(&mut self, field: Field) -> String {
        let standard = field.name();
        self.text(field).unwrap_or_else(|| {
            self.issue(LoadIssueKind::MissingKey { field: standard.to_owned() }, format!("{standard} is empty"));
            String::new()
        })
    }

    fn issue(&mut self, kind: LoadIssueKind, message: String) {
        self.issues.push(LoadIssue {
            layer: self.layer,
            source: self.source.to_owned(),
            source_index: Some(self.index),
            code: None,
            kind,
            message,
        });
    }

    /// Fields not mapped to a standard attribute, as text.
    fn extra(&mut self) -> ExtraAttributes {
        let present = |v: Option<&Value>| matches!(v, Some(Value::Text(_) | Value::Number(_) | Value::Bool(_)));
        let n =
            (0..self.columns.upper.len()).filter(|&i| !self.used.contains(i) && present(self.values.get(i))).count();
        if n == 0 {
            return ExtraAttributes::new();
        }
        let mut pairs = Vec::with_capacity(n);
        for (i, name) in self.columns.upper.iter().enumerate() {
            if self.used.contains(i) {
                continue;
            }
            let text = match self.values.get_mut(i) {
                Some(Value::Text(s)) if s.trim().len() == s.len() => std::mem::take(s),
                Some(Value::Text(s)) => s.trim().to_owned(),
                Some(Value::Number(n)) => format_number(*n),
                Some(Value::Bool(b)) => b.to_string(),
                _ => continue,
            };
            pairs.push((name.clone(), text));
        }
        ExtraAttributes::from_pairs(pairs)
    }

    /// The polygon geometry of a feature known to have one (see `map_layer`), with the
    /// multipart issue when it has several parts.
    fn usable_geometry(&mut self) -> MultiPolygon<f64> {
        self.geometry().unwrap_or_else(|| MultiPolygon::new(Vec::new()))
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

    fn finish(self, code: &str) -> Vec<LoadIssue> {
        let mut issues = self.issues;
        if !code.is_empty() {
            for i in &mut issues {
                i.code = Some(code.to_owned());
            }
        }
        issues
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

fn layer_issues(layer: Layer, source: &str, features: &[RawFeature], columns: &Columns<'_>) -> Vec<LoadIssue> {
    let mut issues = Vec::new();
    if features.iter().any(|f| matches!(f.shape, RawShape::Polygons { zm: true, .. })) {
        issues.push(LoadIssue {
            layer,
            source: source.to_owned(),
            source_index: None,
            code: None,
            kind: LoadIssueKind::ZmDropped,
            message: "Z/M values dropped; the model is 2-D".to_owned(),
        });
    }
    for field in expected_fields(layer) {
        if columns.index_by_name(field).is_none() {
            issues.push(LoadIssue {
                layer,
                source: source.to_owned(),
                source_index: None,
                code: None,
                kind: LoadIssueKind::MissingField { field: (*field).to_owned() },
                message: format!("field {field} not found (no alias matched)"),
            });
        }
    }
    issues
}

/// Map features of one layer in parallel, appending to `out`; `build` makes the object of a
/// row with a usable geometry, `code` gives an object's key for its issues. Returns the issues,
/// in record order.
fn map_layer<T: Send>(
    layer: Layer,
    raw: &mut RawLayer,
    aliases: &FieldAliases,
    out: &mut Vec<T>,
    build: impl Fn(&mut Row<'_>, MultiPolygon<f64>) -> T + Sync,
    code: impl Fn(&T) -> &str + Sync,
) -> Vec<LoadIssue> {
    let RawLayer { source, field_names, features, values, .. } = raw;
    let source = source.as_str();
    let n = field_names.len();
    // One row per feature, whatever the reader did.
    values.resize(features.len() * n, Value::Null);
    let columns = Columns::new(field_names, aliases);
    let mut issues = layer_issues(layer, source, features, &columns);
    let rows: Vec<&mut [Value]> = if n == 0 {
        features.iter().map(|_| <&mut [Value]>::default()).collect()
    } else {
        values.chunks_mut(n).collect()
    };
    // Only a feature without a usable geometry gives no object: those are set apart, so the
    // others map one to one, in parallel, straight into `out` (no intermediate vector of a
    // county's objects).
    let usable = |f: &RawFeature| matches!(&f.shape, RawShape::Polygons { geometry, .. } if !geometry.0.is_empty());
    let found = std::sync::Mutex::new(Vec::<(usize, Vec<LoadIssue>)>::new());
    let map_one = |(f, vals): (RawFeature, &mut [Value])| {
        let mut row = Row::new(layer, source, f, vals, &columns);
        let geometry = row.usable_geometry();
        let obj = build(&mut row, geometry);
        if !row.issues.is_empty() {
            let index = row.index;
            let iss = row.finish(code(&obj));
            found.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((index, iss));
        }
        obj
    };
    let bad: Vec<(RawFeature, &mut [Value])> = if features.iter().all(usable) {
        out.reserve(features.len());
        out.par_extend(features.par_drain(..).zip(rows.into_par_iter()).map(map_one));
        Vec::new()
    } else {
        let (good, bad): (Vec<_>, Vec<_>) = features.drain(..).zip(rows).partition(|(f, _)| usable(f));
        out.reserve(good.len());
        out.par_extend(good.into_par_iter().map(map_one));
        bad
    };
    let mut found = found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    for (f, vals) in bad {
        let mut row = Row::new(layer, source, f, vals, &columns);
        let _ = row.geometry();
        let key = row.text(key_field(layer)).unwrap_or_default();
        found.push((row.index, row.finish(&key)));
    }
    // Emptied for the next chunk; the buffers keep their capacity.
    values.clear();
    found.sort_by_key(|(index, _)| *index);
    for (_, mut iss) in found {
        issues.append(&mut iss);
    }
    issues
}

fn key_field(layer: Layer) -> Field {
    match layer {
        Layer::Parcels => field!("ZDDM"),
        Layer::Buildings => field!("ZRZH"),
        Layer::Subdistricts => field!("DJZQDM"),
        Layer::Districts => field!("DJQDM"),
    }
}

/// Parcels from a ZD layer, appended to `out`; returns the issues.
pub(crate) fn parcels(raw: &mut RawLayer, aliases: &FieldAliases, out: &mut Vec<Parcel>) -> Vec<LoadIssue> {
    map_layer(
        Layer::Parcels,
        raw,
        aliases,
        out,
        |row, geometry| {
            let zddm = row.key(field!("ZDDM"));
            let point_class =
                row.integer(field!("JZDJB")).and_then(|c| u8::try_from(c).ok()).filter(|c| (1..=3).contains(c));
            let attributes = ParcelAttributes {
                bsm: row.text(field!("BSM")),
                bdcdyh: row.text(field!("BDCDYH")),
                zdtzm: row.text(field!("ZDTZM")),
                zl: row.text(field!("ZL")),
                zdmj: row.number(field!("ZDMJ")),
                yt: row.text(field!("YT")),
                qllx: row.text(field!("QLLX")),
                qlxz: row.text(field!("QLXZ")),
                djzqdm: row.text(field!("DJZQDM")),
                point_class,
                extra: row.extra(),
            };
            Parcel { zddm, geometry, attributes, source_index: row.index }
        },
        |p| &p.zddm,
    )
}

/// Buildings from a ZRZ layer, appended to `out`; returns the issues.
pub(crate) fn buildings(raw: &mut RawLayer, aliases: &FieldAliases, out: &mut Vec<Building>) -> Vec<LoadIssue> {
    map_layer(
        Layer::Buildings,
        raw,
        aliases,
        out,
        |row, footprint| {
            let zrzh = row.key(field!("ZRZH"));
            // ZDDM may be absent in the layer: it is the first 19 characters of ZRZH.
            let zddm = row.text(field!("ZDDM")).unwrap_or_else(|| zrzh.chars().take(19).collect());
            let attributes = BuildingAttributes {
                bsm: row.text(field!("BSM")),
                bdcdyh: row.text(field!("BDCDYH")),
                jzwmc: row.text(field!("JZWMC")),
                jgrq: row.text(field!("JGRQ")),
                zzdmj: row.number(field!("ZZDMJ")),
                ycjzmj: row.number(field!("YCJZMJ")),
                scjzmj: row.number(field!("SCJZMJ")),
                zcs: row.integer(field!("ZCS")),
                dscs: row.integer(field!("DSCS")),
                dxcs: row.integer(field!("DXCS")),
                ghyt: row.text(field!("GHYT")),
                fwjg: row.text(field!("FWJG")),
                extra: row.extra(),
            };
            Building { zrzh, zddm, footprint, attributes, source_index: row.index }
        },
        |b| &b.zrzh,
    )
}

/// Sub-districts from a DJZQ layer, appended to `out`; returns the issues.
pub(crate) fn subdistricts(raw: &mut RawLayer, aliases: &FieldAliases, out: &mut Vec<Subdistrict>) -> Vec<LoadIssue> {
    map_layer(
        Layer::Subdistricts,
        raw,
        aliases,
        out,
        |row, geometry| {
            let djzqdm = row.key(field!("DJZQDM"));
            Subdistrict {
                djzqdm,
                name: row.text(field!("DJZQMC")),
                recorded_area: row.number(field!("DJZQMJ")),
                geometry,
                extra: row.extra(),
                source_index: row.index,
            }
        },
        |s| &s.djzqdm,
    )
}

/// Districts from a DJQ layer, appended to `out`; returns the issues.
pub(crate) fn districts(raw: &mut RawLayer, aliases: &FieldAliases, out: &mut Vec<District>) -> Vec<LoadIssue> {
    map_layer(
        Layer::Districts,
        raw,
        aliases,
        out,
        |row, geometry| {
            let djqdm = row.key(field!("DJQDM"));
            District {
                djqdm,
                name: row.text(field!("DJQMC")),
                recorded_area: row.number(field!("DJQMJ")),
                geometry,
                extra: row.extra(),
                source_index: row.index,
            }
        },
        |d| &d.djqdm,
    )
}
