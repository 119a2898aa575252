//! Reading geometries back from the store as WKB (`ST_AsBinary`).
//!
//! The review's store reads and the boundary-point pass fetch thousands of polygons at a
//! time. As GeoJSON text, PostgreSQL prints every coordinate in decimal and we parse it
//! back into a JSON tree. As WKB it sends the doubles as they are, and this module copies
//! them out: less CPU on both sides, and the coordinates arrive exactly as stored.

use geo_types::{Coord, LineString, MultiPolygon, Polygon};

const POLYGON: u32 = 3;
const MULTIPOLYGON: u32 = 6;
/// EWKB flags in the type word (`ST_AsEWKB`); plain WKB has none.
const SRID_FLAG: u32 = 0x2000_0000;
const Z_FLAG: u32 = 0x8000_0000;
const M_FLAG: u32 = 0x4000_0000;

/// A cursor over WKB bytes; every read checks the length, so a short or garbled value
/// gives `None`, never a panic.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let end = self.at.checked_add(N)?;
        let out = self.bytes.get(self.at..end)?.try_into().ok()?;
        self.at = end;
        Some(out)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    fn u32(&mut self, little: bool) -> Option<u32> {
        let b = self.take::<4>()?;
        Some(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    }

    fn f64(&mut self, little: bool) -> Option<f64> {
        let b = self.take::<8>()?;
        Some(if little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) })
    }

    /// A count, refused when the bytes left cannot hold that many items of `min_size`
    /// bytes (a garbled count must not reserve gigabytes).
    fn count(&mut self, little: bool, min_size: usize) -> Option<usize> {
        let n = usize::try_from(self.u32(little)?).ok()?;
        (n.checked_mul(min_size)? <= self.bytes.len() - self.at).then_some(n)
    }

    /// Byte order and geometry type of the next geometry, skipping an EWKB SRID.
    fn header(&mut self) -> Option<(bool, u32)> {
        let little = match self.u8()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let word = self.u32(little)?;
        let kind = word & !(SRID_FLAG | Z_FLAG | M_FLAG);
        // 3D or measured (EWKB flags, or ISO codes 1000 and up): the store holds 2D only.
        if word & (Z_FLAG | M_FLAG) != 0 || kind >= 1000 {
            return None;
        }
        if word & SRID_FLAG != 0 {
            self.u32(little)?;
        }
        Some((little, kind))
    }

    fn ring(&mut self, little: bool) -> Option<LineString<f64>> {
        let n = self.count(little, 16)?;
        let mut coords = Vec::with_capacity(n);
        for _ in 0..n {
            coords.push(Coord { x: self.f64(little)?, y: self.f64(little)? });
        }
        Some(LineString(coords))
    }

    fn polygon_body(&mut self, little: bool) -> Option<Polygon<f64>> {
        let rings = self.count(little, 4)?;
        if rings == 0 {
            return None;
        }
        let exterior = self.ring(little)?;
        let interiors = (1..rings).map(|_| self.ring(little)).collect::<Option<Vec<_>>>()?;
        Some(Polygon::new(exterior, interiors))
    }
}

/// A Polygon or MultiPolygon from (E)WKB, as a multipolygon; `None` for any other type,
/// 3D or measured coordinates, or bytes that do not hold a whole geometry.
///
/// ```
/// use tile_server::db::wkb::multipolygon_from_wkb;
/// // POLYGON((0 0,1 0,0 1,0 0)), little-endian.
/// let mut wkb = vec![1, 3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0];
/// for (x, y) in [(0.0f64, 0.0f64), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)] {
///     wkb.extend(x.to_le_bytes());
///     wkb.extend(y.to_le_bytes());
/// }
/// let mp = multipolygon_from_wkb(&wkb).expect("a polygon");
/// assert_eq!(mp.0[0].exterior().0.len(), 4);
/// assert_eq!(multipolygon_from_wkb(&wkb[..20]), None);
/// ```
pub fn multipolygon_from_wkb(bytes: &[u8]) -> Option<MultiPolygon<f64>> {
    let mut r = Reader { bytes, at: 0 };
    let (little, kind) = r.header()?;
    let out = match kind {
        POLYGON => MultiPolygon(vec![r.polygon_body(little)?]),
        MULTIPOLYGON => {
            let n = r.count(little, 9)?;
            let mut polygons = Vec::with_capacity(n);
            for _ in 0..n {
                let (little, kind) = r.header()?;
                if kind != POLYGON {
                    return None;
                }
                polygons.push(r.polygon_body(little)?);
            }
            MultiPolygon(polygons)
        }
        _ => return None,
    };
    // Trailing bytes mean it was not one geometry.
    (r.at == bytes.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::ewkb::{hex_bytes, push_multipolygon};
    use proptest::prelude::*;

    fn ring() -> impl Strategy<Value = Vec<(f64, f64)>> {
        prop::collection::vec((-1e7f64..1e7, -1e7f64..1e7), 4..12)
    }

    proptest! {
        /// What the importer writes (EWKB with an SRID) reads back exactly.
        #[test]
        fn the_importers_ewkb_reads_back_exactly(
            shapes in prop::collection::vec((ring(), prop::collection::vec(ring(), 0..3)), 1..4)
        ) {
            let polygon = |r: &Vec<(f64, f64)>| LineString::from(r.clone());
            let mp = MultiPolygon(
                shapes.iter().map(|(e, holes)| Polygon::new(polygon(e), holes.iter().map(polygon).collect())).collect(),
            );
            let mut hex = Vec::new();
            push_multipolygon(&mut hex, &mp, 4549);
            let bytes = hex_bytes(&hex);
            prop_assert_eq!(multipolygon_from_wkb(&bytes), Some(mp));
            // Any shorter prefix is refused, not misread.
            for cut in [1, 5, 9, 13, bytes.len() / 2, bytes.len() - 1] {
                prop_assert_eq!(multipolygon_from_wkb(&bytes[..cut]), None);
            }
        }
    }

    #[test]
    fn big_endian_polygon_and_other_types() {
        // POLYGON((0 0,2 0,0 2,0 0)) big-endian.
        let mut wkb = vec![0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 4];
        for (x, y) in [(0.0f64, 0.0f64), (2.0, 0.0), (0.0, 2.0), (0.0, 0.0)] {
            wkb.extend(x.to_be_bytes());
            wkb.extend(y.to_be_bytes());
        }
        let mp = multipolygon_from_wkb(&wkb).unwrap_or_else(|| panic!("a big-endian polygon"));
        assert_eq!(mp.0[0].exterior().0[1], Coord { x: 2.0, y: 0.0 });
        // A point, a 3D polygon, a bad byte order and trailing bytes are refused.
        assert_eq!(multipolygon_from_wkb(&[1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(multipolygon_from_wkb(&[1, 0xEB, 3, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(multipolygon_from_wkb(&[1, 3, 0, 0, 0x80]), None);
        assert_eq!(multipolygon_from_wkb(&[7, 3, 0, 0, 0]), None);
        let mut long = wkb.clone();
        long.push(0);
        assert_eq!(multipolygon_from_wkb(&long), None);
        // A count far beyond the bytes is refused without allocating for it.
        assert_eq!(multipolygon_from_wkb(&[1, 6, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]), None);
    }
}
