//! GeoPackage geometry blobs (GeoPackage 1.3 §2.1.3): the `GP` header with an xy
//! envelope, then little-endian ISO WKB. Only what a project holds: points, line
//! strings, polygons and multipolygons in two dimensions.

use geo::BoundingRect;
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon};

/// A blob that is not a geometry this project writes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bad GeoPackage geometry: {0}")]
pub struct BlobError(pub String);

/// Encode a geometry with its SRS id.
pub fn encode(g: &Geometry<f64>, srs_id: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"GP");
    out.push(0); // version 1
    let rect = g.bounding_rect();
    // Bit 0: little endian; bits 1-3 = 1: envelope [minx, maxx, miny, maxy]; bit 4: empty.
    out.push(if rect.is_some() { 0b0000_0011 } else { 0b0001_0001 });
    out.extend_from_slice(&srs_id.to_le_bytes());
    if let Some(r) = rect {
        for v in [r.min().x, r.max().x, r.min().y, r.max().y] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    wkb(g, &mut out);
    out
}

fn put_u32(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&u32::try_from(v).unwrap_or(u32::MAX).to_le_bytes());
}

fn ring(ls: &LineString<f64>, out: &mut Vec<u8>) {
    put_u32(out, ls.0.len());
    for c in &ls.0 {
        out.extend_from_slice(&c.x.to_le_bytes());
        out.extend_from_slice(&c.y.to_le_bytes());
    }
}

fn polygon(p: &Polygon<f64>, out: &mut Vec<u8>) {
    out.push(1);
    put_u32(out, 3);
    put_u32(out, 1 + p.interiors().len());
    ring(p.exterior(), out);
    for h in p.interiors() {
        ring(h, out);
    }
}

fn wkb(g: &Geometry<f64>, out: &mut Vec<u8>) {
    match g {
        Geometry::Point(p) => {
            out.push(1);
            put_u32(out, 1);
            out.extend_from_slice(&p.x().to_le_bytes());
            out.extend_from_slice(&p.y().to_le_bytes());
        }
        Geometry::LineString(ls) => {
            out.push(1);
            put_u32(out, 2);
            ring(ls, out);
        }
        Geometry::Polygon(p) => polygon(p, out),
        Geometry::MultiPolygon(mp) => {
            out.push(1);
            put_u32(out, 6);
            put_u32(out, mp.0.len());
            for p in &mp.0 {
                polygon(p, out);
            }
        }
        // Nothing else is written by a project.
        _ => {
            out.push(1);
            put_u32(out, 7);
            put_u32(out, 0);
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    le: bool,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], BlobError> {
        let s = self.b.get(self.pos..self.pos + N).ok_or_else(|| BlobError("truncated".into()))?;
        self.pos += N;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, BlobError> {
        let a = self.take::<4>()?;
        Ok(if self.le { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) })
    }
    fn f64(&mut self) -> Result<f64, BlobError> {
        let a = self.take::<8>()?;
        Ok(if self.le { f64::from_le_bytes(a) } else { f64::from_be_bytes(a) })
    }
    fn count(&mut self) -> Result<usize, BlobError> {
        let n = self.u32()? as usize;
        // Each element needs at least 4 bytes: refuse counts the blob cannot hold.
        if n > (self.b.len() - self.pos) / 4 + 1 {
            return Err(BlobError(format!("count {n} larger than the blob")));
        }
        Ok(n)
    }
    fn header(&mut self) -> Result<u32, BlobError> {
        self.le = self.take::<1>()?[0] == 1;
        self.u32()
    }
    fn line(&mut self) -> Result<LineString<f64>, BlobError> {
        let n = self.count()?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(Coord { x: self.f64()?, y: self.f64()? });
        }
        Ok(LineString(v))
    }
    fn polygon_body(&mut self) -> Result<Polygon<f64>, BlobError> {
        let n = self.count()?;
        let mut rings = Vec::with_capacity(n);
        for _ in 0..n {
            rings.push(self.line()?);
        }
        let mut it = rings.into_iter();
        let ext = it.next().unwrap_or_else(|| LineString(Vec::new()));
        Ok(Polygon::new(ext, it.collect()))
    }
    fn geometry(&mut self) -> Result<Geometry<f64>, BlobError> {
        match self.header()? {
            1 => Ok(Geometry::Point(Point::new(self.f64()?, self.f64()?))),
            2 => Ok(Geometry::LineString(self.line()?)),
            3 => Ok(Geometry::Polygon(self.polygon_body()?)),
            6 => {
                let n = self.count()?;
                let mut polys = Vec::with_capacity(n);
                for _ in 0..n {
                    match self.header()? {
                        3 => polys.push(self.polygon_body()?),
                        t => return Err(BlobError(format!("multipolygon member of type {t}"))),
                    }
                }
                Ok(Geometry::MultiPolygon(MultiPolygon(polys)))
            }
            t => Err(BlobError(format!("unsupported WKB type {t}"))),
        }
    }
}

/// Decode a blob written by [`encode`] (any byte order, any envelope).
pub fn decode(b: &[u8]) -> Result<Geometry<f64>, BlobError> {
    if b.len() < 8 || &b[..2] != b"GP" {
        return Err(BlobError("no GP header".into()));
    }
    let flags = b[3];
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        e => return Err(BlobError(format!("envelope indicator {e}"))),
    };
    let mut r = Reader { b, pos: 8 + envelope, le: true };
    r.geometry()
}

/// Decode a (multi)polygon blob as a multipolygon.
pub fn decode_multipolygon(b: &[u8]) -> Result<MultiPolygon<f64>, BlobError> {
    match decode(b)? {
        Geometry::MultiPolygon(mp) => Ok(mp),
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        _ => Err(BlobError("not a polygon".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn multipolygon_round_trips_bit_for_bit() {
        let p = polygon![(x: 40_512_345.678, y: 3_350_000.125), (x: 40_512_355.1, y: 3_350_000.2), (x: 40_512_350.0, y: 3_350_010.3)];
        let g = Geometry::MultiPolygon(MultiPolygon(vec![p]));
        let blob = encode(&g, 4528);
        assert_eq!(&blob[..4], &[b'G', b'P', 0, 3]);
        assert_eq!(decode(&blob), Ok(g));
    }

    #[test]
    fn truncated_and_foreign_blobs_are_errors() {
        let g = Geometry::Point(Point::new(1.0, 2.0));
        let blob = encode(&g, 0);
        assert!(decode(&blob[..blob.len() - 3]).is_err());
        assert!(decode(b"not a geometry").is_err());
        let mut huge = encode(&Geometry::LineString(LineString(vec![Coord { x: 0.0, y: 0.0 }])), 0);
        let n = huge.len();
        huge[n - 20..n - 16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
    }
}
