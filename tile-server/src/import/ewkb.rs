//! Hex EWKB, the text form PostGIS reads for a `geometry` column in `COPY`.

use geo_types::{LineString, MultiPolygon};

const HEX: &[u8; 16] = b"0123456789ABCDEF";
/// EWKB type flag: an SRID follows the type word.
const SRID_FLAG: u32 = 0x2000_0000;
const WKB_POLYGON: u32 = 3;
const WKB_MULTIPOLYGON: u32 = 6;

fn push_u32(out: &mut Vec<u8>, v: u32) {
    push_bytes(out, &v.to_le_bytes());
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0x0f)]);
    }
}

fn push_ring(out: &mut Vec<u8>, ring: &LineString<f64>) {
    push_u32(out, u32::try_from(ring.0.len()).unwrap_or(u32::MAX));
    for c in &ring.0 {
        push_bytes(out, &c.x.to_le_bytes());
        push_bytes(out, &c.y.to_le_bytes());
    }
}

/// Appends a multipolygon with its SRID as little-endian hex EWKB.
///
/// ```
/// use geo_types::{polygon, MultiPolygon};
/// let mp = MultiPolygon(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 0., y: 1.)]]);
/// let mut hex = Vec::new();
/// tile_server::import::ewkb::push_multipolygon(&mut hex, &mp, 4549);
/// // byte order 01, type 0x20000006 (MultiPolygon with SRID), SRID 4549 = 0x11C5.
/// assert!(hex.starts_with(b"0106000020C5110000"));
/// ```
pub fn push_multipolygon(out: &mut Vec<u8>, mp: &MultiPolygon<f64>, srid: u32) {
    out.extend_from_slice(b"01");
    push_u32(out, WKB_MULTIPOLYGON | SRID_FLAG);
    push_u32(out, srid);
    push_u32(out, u32::try_from(mp.0.len()).unwrap_or(u32::MAX));
    for p in &mp.0 {
        out.extend_from_slice(b"01");
        push_u32(out, WKB_POLYGON);
        push_u32(out, u32::try_from(1 + p.interiors().len()).unwrap_or(u32::MAX));
        push_ring(out, p.exterior());
        for h in p.interiors() {
            push_ring(out, h);
        }
    }
}

/// The bytes of our own upper-case hex, to check what we write independently of PostGIS
/// (the database tests check PostGIS reads it; `db::wkb`'s tests read it back).
#[cfg(test)]
pub(crate) fn hex_bytes(hex: &[u8]) -> Vec<u8> {
    hex.chunks(2)
        .map(|p| {
            let v = |c: u8| if c.is_ascii_digit() { c - b'0' } else { c - b'A' + 10 };
            v(p[0]) * 16 + v(p[1])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn layout_of_a_square_with_a_hole() {
        let p = polygon!(
            exterior: [(x: 0., y: 0.), (x: 4., y: 0.), (x: 4., y: 4.), (x: 0., y: 4.)],
            interiors: [[(x: 1., y: 1.), (x: 2., y: 1.), (x: 2., y: 2.)]],
        );
        let mut hex = Vec::new();
        push_multipolygon(&mut hex, &MultiPolygon(vec![p]), 4549);
        let b = hex_bytes(&hex);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        assert_eq!(b[0], 1);
        assert_eq!(u32_at(1), 0x2000_0006);
        assert_eq!(u32_at(5), 4549);
        assert_eq!(u32_at(9), 1);
        assert_eq!(b[13], 1);
        assert_eq!(u32_at(14), 3);
        assert_eq!(u32_at(18), 2); // rings
        assert_eq!(u32_at(22), 5); // closed exterior
        let x1 = f64::from_le_bytes(b[26 + 16..26 + 24].try_into().unwrap_or_default());
        assert_eq!(x1, 4.0);
        // header 13 + polygon header 9 + 2 ring counts + 9 points × 16 bytes
        assert_eq!(b.len(), 13 + 9 + 8 + 9 * 16);
    }
}
