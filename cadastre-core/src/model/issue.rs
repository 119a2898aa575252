//! Problems met while loading one feature or one layer that do not stop the load.

use serde::{Deserialize, Serialize};

/// Which layer of a submission a feature comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// 宗地 ZD.
    Parcels,
    /// 自然幢 ZRZ.
    Buildings,
    /// 地籍子区 DJZQ.
    Subdistricts,
    /// 地籍区 DJQ.
    Districts,
}

impl Layer {
    /// The standard layer name (ZD, ZRZ, DJZQ, DJQ).
    pub fn standard_name(self) -> &'static str {
        match self {
            Layer::Parcels => "ZD",
            Layer::Buildings => "ZRZ",
            Layer::Subdistricts => "DJZQ",
            Layer::Districts => "DJQ",
        }
    }
}

/// What went wrong with a feature or layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LoadIssueKind {
    /// The record has a Null shape / NULL geometry; the feature is skipped.
    NullGeometry,
    /// The geometry has no coordinates (or only degenerate rings); the feature is skipped.
    EmptyGeometry,
    /// Points or lines where polygons are expected; the feature is skipped.
    WrongGeometryType {
        /// What was found (e.g. "Point", "PolylineZ").
        found: String,
    },
    /// The geometry has several outer rings; kept as a multipolygon.
    MultiPart {
        /// Number of polygons.
        parts: usize,
    },
    /// Z and/or M values were present and dropped (the model is 2-D).
    ZmDropped,
    /// A key field (ZDDM, ZRZH, DJZQDM, DJQDM) is missing or empty.
    MissingKey {
        /// Standard field name.
        field: String,
    },
    /// An attribute value could not be read as its type (e.g. ZDMJ = "abc").
    BadAttribute {
        /// Standard field name.
        field: String,
        /// The value as read.
        value: String,
    },
    /// The record's bytes do not form a valid shape (bad part indices, counts beyond
    /// the record); the feature is skipped.
    CorruptRecord {
        /// What is wrong.
        detail: String,
    },
    /// A coordinate is NaN or infinite; the feature is skipped.
    NonFiniteCoordinate,
    /// Coordinates that cannot be in the declared CRS (e.g. degrees in a metre CRS).
    ImplausibleCoordinates {
        /// Why.
        reason: String,
    },
    /// Layer-level: a standard field is absent from the layer (no alias matched).
    MissingField {
        /// Standard field name.
        field: String,
    },
    /// Layer-level: geometry and attribute record counts differ; extra records are reported.
    RecordCountMismatch {
        /// Records in the geometry file.
        shapes: usize,
        /// Records in the attribute file.
        records: usize,
    },
    /// Layer-level: the .dbf is missing; geometry was read without attributes.
    MissingAttributeTable,
    /// Layer-level: no .prj (CRS unknown).
    MissingPrj,
    /// Layer-level: the .prj could not be understood.
    UnknownCrs {
        /// What the .prj/CRS said, shortened.
        detail: String,
    },
    /// Layer-level: the .prj holds no coordinate system at all (an HTML error page, an
    /// empty or cut-off file): the data's units, areas and zone cannot be known.
    UnreadableCrs {
        /// What is wrong, with the start of the text.
        detail: String,
    },
    /// Layer-level: no .shx; the .shp was read record by record without its index.
    MissingIndex,
    /// Layer-level: the .shx does not describe the records of the .shp (the .shp was read
    /// without it).
    IndexMismatch {
        /// What differs.
        detail: String,
    },
    /// Layer-level: the .shp header's file length is not the file's length; the whole records
    /// present were read.
    HeaderLengthMismatch {
        /// Bytes according to the header.
        declared: u64,
        /// Bytes in the file.
        actual: u64,
    },
    /// Layer-level: the text encoding was guessed or the .cpg was ignored.
    EncodingGuessed {
        /// The encoding used.
        used: String,
        /// Why.
        reason: String,
    },
    /// Layer-level: a standard layer (e.g. ZRZ) is missing from the submission.
    MissingLayer,
}

/// One load problem, tied to a layer and (when it concerns one feature) a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadIssue {
    /// Layer the problem is in.
    pub layer: Layer,
    /// Source file or layer name as found (for messages).
    pub source: String,
    /// Record index (0-based) for per-feature problems, `None` for layer-level ones.
    pub source_index: Option<usize>,
    /// The feature's key (ZDDM / ZRZH / ...) when it could be read.
    pub code: Option<String>,
    /// What went wrong.
    pub kind: LoadIssueKind,
    /// A human-readable message (English; Chinese messages are made by the QC report).
    pub message: String,
}
