//! A streaming writer of polygon `.shp` + `.shx` files (ESRI Shapefile Technical
//! Description, 1998). Records go out as they come; the two headers (file length,
//! bounding box) are written as placeholders and patched at the end, so memory holds one
//! record, never the layer.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use geo_types::{Coord, LineString, Polygon};

use super::error::WriteError;
use crate::ring::signed_area2;

const HEADER_LEN: u64 = 100;
const NULL_SHAPE: i32 = 0;
const POLYGON: i32 = 5;
/// Bytes of `.shp` (the `.shx` takes less) buffered before they are written out.
const BUFFER: usize = 1 << 20;

/// Which way rings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Winding {
    /// As the format asks: outer rings clockwise, holes counter-clockwise; a ring the
    /// other way round is written reversed.
    #[default]
    Esri,
    /// Every ring in the order and direction it is held, for writers whose geometry is
    /// already in ESRI order or deliberately broken (test data with known defects).
    AsGiven,
}

/// An empty bounding box: any point widens it.
const NO_BOX: [f64; 4] = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];

/// A `.shp` and its `.shx` being written.
pub(crate) struct ShpWriter {
    shp: BufWriter<File>,
    shx: BufWriter<File>,
    shp_path: PathBuf,
    shx_path: PathBuf,
    winding: Winding,
    /// Current `.shp` length in bytes.
    len: u64,
    records: u32,
    bbox: [f64; 4],
    /// The record being built, reused.
    record: Vec<u8>,
    /// Per ring of the record: whether it is written reversed.
    reversed: Vec<bool>,
}

/// `<stem>.<ext>`, keeping any dot already in the stem.
pub(crate) fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

impl ShpWriter {
    /// Creates `<stem>.shp` and `<stem>.shx`.
    pub(crate) fn create(stem: &Path, winding: Winding) -> Result<Self, WriteError> {
        let (shp_path, shx_path) = (with_ext(stem, "shp"), with_ext(stem, "shx"));
        let shp = File::create(&shp_path).map_err(WriteError::io(&shp_path))?;
        let shx = File::create(&shx_path).map_err(WriteError::io(&shx_path))?;
        let mut w = Self {
            shp: BufWriter::with_capacity(BUFFER, shp),
            shx: BufWriter::with_capacity(BUFFER / 16, shx),
            shp_path,
            shx_path,
            winding,
            len: HEADER_LEN,
            records: 0,
            bbox: NO_BOX,
            record: Vec::new(),
            reversed: Vec::new(),
        };
        // Placeholders, rewritten by `finish`.
        let zero = [0u8; HEADER_LEN as usize];
        w.shp.write_all(&zero).map_err(WriteError::io(&w.shp_path))?;
        w.shx.write_all(&zero).map_err(WriteError::io(&w.shx_path))?;
        Ok(w)
    }

    /// Appends one record holding `polygons` (a Null shape when there are none).
    pub(crate) fn write<'g>(
        &mut self,
        polygons: impl Iterator<Item = &'g Polygon<f64>> + Clone,
    ) -> Result<(), WriteError> {
        let rings = || {
            polygons
                .clone()
                .flat_map(|p| std::iter::once((p.exterior(), true)).chain(p.interiors().iter().map(|h| (h, false))))
        };
        self.reversed.clear();
        let (mut n_points, mut bb) = (0usize, NO_BOX);
        for (ring, outer) in rings() {
            let reversed = self.reverse(ring, outer);
            self.reversed.push(reversed);
            n_points += ring.0.len();
            for c in &ring.0 {
                bb = [bb[0].min(c.x), bb[1].min(c.y), bb[2].max(c.x), bb[3].max(c.y)];
            }
        }
        let n_rings = self.reversed.len();
        let r = &mut self.record;
        r.clear();
        if n_rings == 0 {
            r.extend(NULL_SHAPE.to_le_bytes());
        } else {
            r.extend(POLYGON.to_le_bytes());
            for v in bb {
                r.extend(v.to_le_bytes());
            }
            r.extend(count(n_rings).to_le_bytes());
            r.extend(count(n_points).to_le_bytes());
            let mut start = 0usize;
            for (ring, _) in rings() {
                r.extend(count(start).to_le_bytes());
                start += ring.0.len();
            }
            for ((ring, _), &reversed) in rings().zip(&self.reversed) {
                let mut put = |c: &Coord<f64>| {
                    r.extend(c.x.to_le_bytes());
                    r.extend(c.y.to_le_bytes());
                };
                if reversed {
                    ring.0.iter().rev().for_each(&mut put);
                } else {
                    ring.0.iter().for_each(&mut put);
                }
            }
            self.bbox =
                [self.bbox[0].min(bb[0]), self.bbox[1].min(bb[1]), self.bbox[2].max(bb[2]), self.bbox[3].max(bb[3])];
        }
        let content = self.record.len() as u64;
        let offset = self.len;
        let end = offset + 8 + content;
        // Lengths and offsets are 32-bit counts of 16-bit words.
        if end / 2 > i32::MAX as u64 || self.records == i32::MAX as u32 {
            return Err(WriteError::TooLarge(self.shp_path.clone()));
        }
        self.records += 1;
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&count(self.records as usize).to_be_bytes());
        head[4..].copy_from_slice(&words(content).to_be_bytes());
        self.shp.write_all(&head).map_err(WriteError::io(&self.shp_path))?;
        self.shp.write_all(&self.record).map_err(WriteError::io(&self.shp_path))?;
        let mut index = [0u8; 8];
        index[..4].copy_from_slice(&words(offset).to_be_bytes());
        index[4..].copy_from_slice(&words(content).to_be_bytes());
        self.shx.write_all(&index).map_err(WriteError::io(&self.shx_path))?;
        self.len = end;
        Ok(())
    }

    fn reverse(&self, ring: &LineString<f64>, outer: bool) -> bool {
        match self.winding {
            Winding::AsGiven => false,
            // Outer rings clockwise (negative area), holes counter-clockwise.
            Winding::Esri => {
                let a = signed_area2(&ring.0);
                if outer {
                    a > 0.0
                } else {
                    a < 0.0
                }
            }
        }
    }

    /// Records written.
    pub(crate) fn records(&self) -> u32 {
        self.records
    }

    /// Bytes held in memory: the output buffers' contents and the record scratch space.
    pub(crate) fn buffered(&self) -> usize {
        self.shp.buffer().len() + self.shx.buffer().len() + self.record.capacity() + self.reversed.capacity()
    }

    /// Writes the final headers and flushes.
    pub(crate) fn finish(mut self) -> Result<(), WriteError> {
        let bbox = if self.bbox[0].is_finite() { self.bbox } else { [0.0; 4] };
        let shx_len = HEADER_LEN + 8 * u64::from(self.records);
        for (out, path, len) in [(&mut self.shp, &self.shp_path, self.len), (&mut self.shx, &self.shx_path, shx_len)] {
            out.seek(SeekFrom::Start(0)).map_err(WriteError::io(path))?;
            out.write_all(&header(len, bbox)).map_err(WriteError::io(path))?;
            out.flush().map_err(WriteError::io(path))?;
        }
        Ok(())
    }
}

/// A count the record size check keeps within `i32`.
fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A byte length or offset as 16-bit words.
fn words(bytes: u64) -> i32 {
    i32::try_from(bytes / 2).unwrap_or(i32::MAX)
}

/// The 100-byte main header of a `.shp` or `.shx` of `len` bytes.
fn header(len: u64, bbox: [f64; 4]) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..4].copy_from_slice(&9994i32.to_be_bytes());
    h[24..28].copy_from_slice(&words(len).to_be_bytes());
    h[28..32].copy_from_slice(&1000i32.to_le_bytes());
    h[32..36].copy_from_slice(&POLYGON.to_le_bytes());
    for (k, v) in bbox.iter().enumerate() {
        h[36 + 8 * k..44 + 8 * k].copy_from_slice(&v.to_le_bytes());
    }
    // Z and M ranges stay zero.
    h
}
