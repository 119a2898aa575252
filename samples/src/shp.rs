//! A small streaming writer for polygon shapefiles (`.shp` + `.shx`), ESRI
//! Shapefile Technical Description (1998). Records are written as they come;
//! the headers (file length, bounding box) are patched at the end, so memory
//! does not grow with the number of records.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use geo_types::Polygon;

use crate::config::Error;

const POLYGON: i32 = 5;
const HEADER_BYTES: u64 = 100;

/// Streaming writer of one polygon layer.
pub struct ShapeWriter {
    shp: BufWriter<File>,
    shx: BufWriter<File>,
    path: PathBuf,
    /// Current `.shp` length in bytes.
    len: u64,
    records: i32,
    bbox: [f64; 4],
    buf: Vec<u8>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

impl ShapeWriter {
    /// Creates `<stem>.shp` and `<stem>.shx`.
    ///
    /// # Errors
    /// [`Error::Io`] if a file cannot be created.
    pub fn create(stem: &Path) -> Result<Self, Error> {
        let shp_path = stem.with_extension("shp");
        let shx_path = stem.with_extension("shx");
        let shp = File::create(&shp_path).map_err(io(&shp_path))?;
        let shx = File::create(&shx_path).map_err(io(&shx_path))?;
        let mut w = Self {
            shp: BufWriter::with_capacity(1 << 20, shp),
            shx: BufWriter::with_capacity(1 << 16, shx),
            path: shp_path,
            len: HEADER_BYTES,
            records: 0,
            bbox: [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY],
            buf: Vec::with_capacity(4096),
        };
        // Placeholder headers, rewritten by `finish`.
        let zero = [0_u8; HEADER_BYTES as usize];
        w.shp.write_all(&zero).map_err(io(&w.path))?;
        w.shx.write_all(&zero).map_err(io(&w.path))?;
        Ok(w)
    }

    /// Appends one polygon record; rings are written as held (the caller
    /// keeps exteriors clockwise and holes counter-clockwise).
    ///
    /// # Errors
    /// [`Error::Io`] on a write failure, [`Error::TooLarge`] past 2 GiB.
    pub fn write(&mut self, poly: &Polygon<f64>) -> Result<(), Error> {
        let rings: Vec<_> = std::iter::once(poly.exterior()).chain(poly.interiors()).collect();
        let n_points: usize = rings.iter().map(|r| r.0.len()).sum();
        let mut bb = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for r in &rings {
            for p in &r.0 {
                bb[0] = bb[0].min(p.x);
                bb[1] = bb[1].min(p.y);
                bb[2] = bb[2].max(p.x);
                bb[3] = bb[3].max(p.y);
            }
        }
        let content = 44 + 4 * rings.len() + 16 * n_points;
        self.buf.clear();
        self.records += 1;
        self.buf.extend_from_slice(&self.records.to_be_bytes());
        self.buf.extend_from_slice(&((content / 2) as i32).to_be_bytes());
        self.buf.extend_from_slice(&POLYGON.to_le_bytes());
        for v in bb {
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.buf.extend_from_slice(&(rings.len() as i32).to_le_bytes());
        self.buf.extend_from_slice(&(n_points as i32).to_le_bytes());
        let mut start = 0_i32;
        for r in &rings {
            self.buf.extend_from_slice(&start.to_le_bytes());
            start += r.0.len() as i32;
        }
        for r in &rings {
            for p in &r.0 {
                self.buf.extend_from_slice(&p.x.to_le_bytes());
                self.buf.extend_from_slice(&p.y.to_le_bytes());
            }
        }
        let offset = self.len;
        self.len += self.buf.len() as u64;
        if self.len / 2 > i32::MAX as u64 {
            return Err(Error::TooLarge(self.path.clone()));
        }
        self.shp.write_all(&self.buf).map_err(io(&self.path))?;
        let mut idx = [0_u8; 8];
        idx[..4].copy_from_slice(&((offset / 2) as i32).to_be_bytes());
        idx[4..].copy_from_slice(&((content / 2) as i32).to_be_bytes());
        self.shx.write_all(&idx).map_err(io(&self.path))?;
        for k in 0..2 {
            self.bbox[k] = self.bbox[k].min(bb[k]);
            self.bbox[k + 2] = self.bbox[k + 2].max(bb[k + 2]);
        }
        Ok(())
    }

    /// Number of records written.
    #[must_use]
    pub fn records(&self) -> i32 {
        self.records
    }

    /// Writes the final headers and flushes.
    ///
    /// # Errors
    /// [`Error::Io`] on a write failure.
    pub fn finish(mut self) -> Result<(), Error> {
        let bbox = if self.records == 0 { [0.0; 4] } else { self.bbox };
        let shx_len = HEADER_BYTES + 8 * self.records as u64;
        let path = self.path.clone();
        for (w, len) in [(&mut self.shp, self.len), (&mut self.shx, shx_len)] {
            let h = header(len, bbox);
            w.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            w.write_all(&h).map_err(io(&path))?;
            w.flush().map_err(io(&path))?;
        }
        Ok(())
    }
}

fn header(len_bytes: u64, bbox: [f64; 4]) -> [u8; HEADER_BYTES as usize] {
    let mut h = [0_u8; HEADER_BYTES as usize];
    h[..4].copy_from_slice(&9994_i32.to_be_bytes());
    h[24..28].copy_from_slice(&((len_bytes / 2) as i32).to_be_bytes());
    h[28..32].copy_from_slice(&1000_i32.to_le_bytes());
    h[32..36].copy_from_slice(&POLYGON.to_le_bytes());
    for (k, v) in bbox.iter().enumerate() {
        h[36 + 8 * k..44 + 8 * k].copy_from_slice(&v.to_le_bytes());
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn written_polygon_reads_back_with_the_shapefile_crate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stem = dir.path().join("T");
        let mut w = ShapeWriter::create(&stem).expect("create");
        let p = polygon!(
            exterior: [(x: 0.0, y: 10.0), (x: 10.0, y: 10.0), (x: 10.0, y: 0.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 2.0, y: 8.0), (x: 2.0, y: 2.0), (x: 8.0, y: 2.0), (x: 8.0, y: 8.0)]],
        );
        w.write(&p).expect("write");
        w.write(&p).expect("write");
        w.finish().expect("finish");
        let shapes = shapefile::read_shapes_as::<_, shapefile::Polygon>(stem.with_extension("shp")).expect("read");
        assert_eq!(shapes.len(), 2);
        assert_eq!(shapes[0].rings().len(), 2);
        assert_eq!(shapes[0].rings()[0].points().len(), 5);
        let bb = shapes[1].bbox();
        assert_eq!((bb.min.x, bb.max.y), (0.0, 10.0));
        let shx = std::fs::read(stem.with_extension("shx")).expect("shx");
        assert_eq!(shx.len(), 100 + 16);
    }
}
