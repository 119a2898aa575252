//! One polygon layer written as a shapefile, feature by feature: `.shp`, `.shx` and `.dbf`
//! streamed, `.cpg` (and `.prj` when given) written up front. Memory holds one record and
//! the output buffers, whatever the number of features.

use std::path::Path;

use geo_types::{MultiPolygon, Polygon};

use super::dbf_writer::{Cell, DbfDate, DbfWriter, Field};
use super::error::WriteError;
use super::shp_writer::{with_ext, ShpWriter, Winding};
use super::TextEncoding;

/// How a layer is written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShapefileOptions {
    /// DBF text encoding, also named in the `.cpg`. \[default: GBK\]
    pub encoding: TextEncoding,
    /// The DBF header's date. \[default: [`DbfDate::FIXED`]\]
    pub date: DbfDate,
    /// Ring direction on disk. \[default: [`Winding::Esri`]\]
    pub winding: Winding,
    /// The `.prj` text (see [`esri_wkt`](super::esri_wkt)); no `.prj` when `None`.
    pub prj: Option<String>,
}

/// A polygon layer being written as a shapefile.
///
/// Each feature is checked against the table (number and kind of values, text that fits its
/// column and the encoding) before any of it is written, so a refused feature leaves the
/// files consistent. [`finish`](Self::finish) patches the headers: a writer dropped without
/// it leaves an unreadable layer.
///
/// ```
/// use cadastre_core::io::{load_submission, Cell, Field, LoadOptions, ShapefileOptions, ShapefileWriter};
/// use geo_types::polygon;
///
/// let dir = std::env::temp_dir().join(format!("doc-shapefile-writer-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let fields = [Field::text("ZDDM", 19), Field::text("ZL", 60), Field::number("ZDMJ", 15, 2)];
/// let mut w = ShapefileWriter::create(&dir.join("ZD"), &fields, &ShapefileOptions::default())?;
/// for i in 0..3 {
///     let x = f64::from(i) * 10.0;
///     let p = polygon![(x: x, y: 0.), (x: x, y: 10.), (x: x + 10., y: 10.), (x: x + 10., y: 0.)];
///     let code = format!("330106001001GB{:05}", i + 1);
///     w.write_polygon(&p, &[Cell::Text(&code), Cell::Text("西湖区文三路88号"), Cell::Number(100.0)])?;
/// }
/// assert_eq!(w.records(), 3);
/// w.finish()?;
/// let back = load_submission(&dir, &LoadOptions::default())?;
/// assert_eq!(back.parcels.len(), 3);
/// assert_eq!(back.parcels[2].attributes.zl.as_deref(), Some("西湖区文三路88号"));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ShapefileWriter {
    shp: ShpWriter,
    dbf: DbfWriter,
}

impl ShapefileWriter {
    /// Creates `<stem>.shp`, `.shx`, `.dbf` (with `fields`), `.cpg` and, when the options
    /// have one, `.prj`. `stem` is the path without extension, e.g. `out/ZD`.
    pub fn create(stem: &Path, fields: &[Field], options: &ShapefileOptions) -> Result<Self, WriteError> {
        let write = |ext: &str, text: &str| {
            let path = with_ext(stem, ext);
            std::fs::write(&path, text).map_err(WriteError::io(&path))
        };
        write("cpg", options.encoding.cpg())?;
        if let Some(prj) = &options.prj {
            write("prj", prj)?;
        }
        let dbf = DbfWriter::create(&with_ext(stem, "dbf"), fields, options.encoding, options.date)?;
        let shp = ShpWriter::create(stem, options.winding)?;
        Ok(Self { shp, dbf })
    }

    /// Appends a feature: its polygons (a Null shape when there are none) and one value per
    /// field, in field order.
    pub fn write(&mut self, geometry: &MultiPolygon<f64>, cells: &[Cell<'_>]) -> Result<(), WriteError> {
        self.dbf.prepare(cells)?;
        self.shp.write(geometry.0.iter())?;
        self.dbf.commit()
    }

    /// Appends a feature with a single polygon.
    pub fn write_polygon(&mut self, geometry: &Polygon<f64>, cells: &[Cell<'_>]) -> Result<(), WriteError> {
        self.dbf.prepare(cells)?;
        self.shp.write(std::iter::once(geometry))?;
        self.dbf.commit()
    }

    /// Features written so far.
    pub fn records(&self) -> u64 {
        u64::from(self.shp.records())
    }

    /// Bytes the writer holds in memory (unwritten output and scratch space). It is bounded
    /// by the output buffers plus the largest record, however many features are written.
    pub fn bytes_buffered(&self) -> usize {
        self.shp.buffered() + self.dbf.buffered()
    }

    /// Writes the headers' final lengths, counts and bounding box, and flushes the files.
    pub fn finish(self) -> Result<(), WriteError> {
        self.shp.finish()?;
        self.dbf.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{load_submission, LoadOptions};
    use crate::model::Layer;
    use geo_types::polygon;

    const FIELDS: [Field; 4] =
        [Field::number("BSM", 10, 0), Field::text("ZDDM", 19), Field::text("ZL", 40), Field::number("ZDMJ", 15, 2)];

    fn square(i: u32) -> Polygon<f64> {
        let (x, y) = (512_000.0 + f64::from(i % 500) * 10.0, 3_350_000.0 + f64::from(i / 500) * 10.0);
        polygon![(x: x, y: y), (x: x, y: y + 10.), (x: x + 10., y: y + 10.), (x: x + 10., y: y)]
    }

    fn write(dir: &Path, n: u32, options: &ShapefileOptions, mut each: impl FnMut(&ShapefileWriter)) {
        let mut w = ShapefileWriter::create(&dir.join("ZD"), &FIELDS, options).expect("create");
        for i in 0..n {
            let code = format!("330106001001GB{:05}", i % 99_999 + 1);
            let zl = format!("西湖区文三路{i}号");
            let cells = [Cell::Number(f64::from(i + 1)), Cell::Text(&code), Cell::Text(&zl), Cell::Number(100.0)];
            w.write_polygon(&square(i), &cells).expect("write");
            each(&w);
        }
        w.finish().expect("finish");
    }

    #[test]
    fn streamed_features_read_back_identical() {
        let dir = tempfile::tempdir().expect("tempdir");
        for encoding in [TextEncoding::Gbk, TextEncoding::Utf8] {
            let options = ShapefileOptions { encoding, ..ShapefileOptions::default() };
            write(dir.path(), 1_200, &options, |_| {});
            let sub = load_submission(dir.path(), &LoadOptions::default()).expect("load");
            assert_eq!(sub.parcels.len(), 1_200);
            let issues: Vec<_> = sub.load_issues.iter().filter(|i| i.layer == Layer::Parcels).collect();
            assert!(issues.iter().all(|i| i.source_index.is_none()), "{issues:?}");
            for (i, p) in sub.parcels.iter().enumerate() {
                let i = u32::try_from(i).expect("small");
                assert_eq!(p.zddm, format!("330106001001GB{:05}", i + 1));
                assert_eq!(p.attributes.zl.as_deref(), Some(format!("西湖区文三路{i}号").as_str()));
                assert_eq!(p.attributes.zdmj, Some(100.0));
                // Clockwise already, as ESRI asks: read back as the same ring.
                assert_eq!(p.geometry.0[0].exterior(), square(i).exterior(), "{i}");
            }
        }
    }

    #[test]
    fn memory_does_not_grow_with_the_number_of_features() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut first, mut most) = (0, 0);
        write(dir.path(), 200_000, &ShapefileOptions::default(), |w| {
            if w.records() == 1_000 {
                first = w.bytes_buffered();
            }
            most = most.max(w.bytes_buffered());
        });
        // 200 000 features are ~36 MB of .shp and .dbf: the writer holds its buffers, not them.
        let written = std::fs::metadata(dir.path().join("ZD.shp")).map(|m| m.len()).unwrap_or(0)
            + std::fs::metadata(dir.path().join("ZD.dbf")).map(|m| m.len()).unwrap_or(0);
        assert!(written > 30_000_000, "{written}");
        assert!(most <= 2 * (1 << 20) + (1 << 16) + 4096, "{most} bytes buffered (after 1000 features: {first})");
    }

    #[test]
    fn a_refused_feature_leaves_the_layer_consistent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stem = dir.path().join("ZD");
        let mut w = ShapefileWriter::create(&stem, &FIELDS, &ShapefileOptions::default()).expect("create");
        let ok = [Cell::Number(1.0), Cell::Text("330106001001GB00001"), Cell::Null, Cell::Number(100.0)];
        w.write_polygon(&square(0), &ok).expect("write");
        let long = "西".repeat(21);
        let too_long = [Cell::Number(2.0), Cell::Text("330106001001GB00002"), Cell::Text(&long), Cell::Null];
        let e = w.write_polygon(&square(1), &too_long).expect_err("too long");
        assert!(matches!(e, WriteError::FieldTooLong { field: "ZL", bytes: 42, width: 40, .. }), "{e}");
        let e = w.write_polygon(&square(1), &ok[..3]).expect_err("short");
        assert!(matches!(e, WriteError::RecordLength { expected: 4, found: 3 }), "{e}");
        let wrong = [Cell::Text("1"), Cell::Null, Cell::Null, Cell::Null];
        assert!(matches!(w.write_polygon(&square(1), &wrong), Err(WriteError::WrongKind { field: "BSM", .. })));
        // Outside GBK (GB18030 has it in four bytes, GBK not).
        let emoji = [Cell::Null, Cell::Text("😀"), Cell::Null, Cell::Null];
        assert!(matches!(w.write_polygon(&square(1), &emoji), Err(WriteError::Unencodable { field: "ZDDM", .. })));
        w.write(&MultiPolygon::new(vec![]), &ok).expect("a Null shape");
        w.finish().expect("finish");
        let sub = load_submission(dir.path(), &LoadOptions::default()).expect("load");
        assert_eq!(sub.parcels.len(), 1, "the Null shape is a load issue, the refused ones are not there");
        let shx = std::fs::read(with_ext(&stem, "shx")).expect("shx");
        assert_eq!(shx.len(), 100 + 2 * 8);
    }

    #[test]
    fn rings_are_written_as_given_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Counter-clockwise: ESRI order would reverse it.
        let ccw = polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.), (x: 0., y: 0.)];
        let options = ShapefileOptions { winding: Winding::AsGiven, ..ShapefileOptions::default() };
        let stem = dir.path().join("ZD");
        let mut w = ShapefileWriter::create(&stem, &[Field::text("ZDDM", 19)], &options).expect("create");
        w.write_polygon(&ccw, &[Cell::Text("330106001001GB00001")]).expect("write");
        w.finish().expect("finish");
        let shp = std::fs::read(with_ext(&stem, "shp")).expect("shp");
        let x1 = f64::from_le_bytes(shp[100 + 8 + 48 + 16..100 + 8 + 48 + 24].try_into().expect("8 bytes"));
        assert_eq!(x1, 10.0, "second vertex as given");
    }
}
