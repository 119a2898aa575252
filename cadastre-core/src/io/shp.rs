//! A defensive reader for the ESRI `.shp` geometry file.
//!
//! Written for bad input: every length and count is checked against the bytes that
//! are really there before anything is allocated, so a corrupt or hostile file gives
//! an error or a per-record problem, never a panic, a huge allocation or a hang.
//! Records are located in one sequential pass (the `.shx` is not needed) and then
//! parsed in parallel by the caller.

use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use crate::ring::{position, signed_area2, Position};

/// Why a `.shp` file as a whole cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShpError(pub String);

/// One record's geometry as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawShape {
    /// Shape type 0.
    Null,
    /// A polygon record (5, 15, 25) turned into polygons with holes.
    Polygons {
        /// The polygons (outer rings with their holes), possibly empty.
        geometry: MultiPolygon<f64>,
        /// Z or M values were present and dropped.
        zm: bool,
    },
    /// Any other shape type (points, lines, multipatch).
    Other(String),
    /// The record's bytes are inconsistent.
    Corrupt(String),
    /// A coordinate is NaN or infinite.
    NonFinite,
}

/// The 100-byte main header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ShpHeader {
    /// Shape type declared for the file.
    pub shape_type: i32,
    /// File length in bytes according to the header.
    pub declared_len: usize,
}

const HEADER_LEN: usize = 100;

/// Human name of a shape type code.
pub(crate) fn shape_type_name(code: i32) -> &'static str {
    match code {
        0 => "Null",
        1 => "Point",
        3 => "Polyline",
        5 => "Polygon",
        8 => "MultiPoint",
        11 => "PointZ",
        13 => "PolylineZ",
        15 => "PolygonZ",
        18 => "MultiPointZ",
        21 => "PointM",
        23 => "PolylineM",
        25 => "PolygonM",
        28 => "MultiPointM",
        31 => "MultiPatch",
        _ => "unknown shape type",
    }
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    b.get(at..at + 4).map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn le_i32(b: &[u8], at: usize) -> Option<i32> {
    b.get(at..at + 4).map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le_f64(b: &[u8], at: usize) -> Option<f64> {
    b.get(at..at + 8).map(|s| f64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
}

/// Parse the main header.
pub(crate) fn read_header(data: &[u8]) -> Result<ShpHeader, ShpError> {
    if data.len() < HEADER_LEN {
        return Err(ShpError(format!("truncated: {} bytes, a .shp header alone is 100 bytes", data.len())));
    }
    let code = be_i32(data, 0).unwrap_or_default();
    if code != 9994 {
        return Err(ShpError(format!("not a shapefile (file code {code}, expected 9994)")));
    }
    let words = be_i32(data, 24).unwrap_or_default();
    let shape_type = le_i32(data, 32).unwrap_or_default();
    if shape_type_name(shape_type) == "unknown shape type" {
        return Err(ShpError(format!("unknown shape type {shape_type} in header")));
    }
    Ok(ShpHeader { shape_type, declared_len: usize::try_from(words).unwrap_or(0).saturating_mul(2) })
}

/// Locate every record: `(content start, content length)` in bytes.
///
/// Trailing bytes too short for a record header are ignored (some writers pad);
/// a record whose content runs past the end of the file means the file is truncated.
#[cfg(test)]
pub(crate) fn record_spans(data: &[u8]) -> Result<Vec<(usize, usize)>, ShpError> {
    let declared = read_header(data).map(|h| h.declared_len).unwrap_or(0);
    record_spans_with(data.len(), declared, |pos| {
        let mut h = [0u8; 8];
        h.copy_from_slice(&data[pos..pos + 8]);
        Ok(h)
    })
}

/// [`record_spans`] for a file of `file_len` bytes whose header declares `declared` bytes;
/// `header_at(pos)` reads the 8-byte record header at `pos` (called with increasing `pos`,
/// always with `pos + 8 <= file_len`), so a file can be scanned without holding it.
pub(crate) fn record_spans_with(
    file_len: usize,
    declared: usize,
    mut header_at: impl FnMut(usize) -> Result<[u8; 8], ShpError>,
) -> Result<Vec<(usize, usize)>, ShpError> {
    let mut spans = Vec::new();
    let mut pos = HEADER_LEN;
    // Trust the header's length when the file is at least that long (bytes after it are padding).
    let end_of_data = if (HEADER_LEN..=file_len).contains(&declared) { declared } else { file_len };
    while pos + 8 <= end_of_data {
        let head = header_at(pos)?;
        if head.iter().all(|&b| b == 0) {
            // Zero padding after the last record (seen in the wild); nothing follows.
            break;
        }
        let words = be_i32(&head, 4).unwrap_or(-1);
        let Ok(words) = usize::try_from(words) else {
            return Err(ShpError(format!("record {} at byte {pos}: negative content length {words}", spans.len() + 1)));
        };
        let start = pos + 8;
        let end = start.saturating_add(words.saturating_mul(2));
        if end > file_len {
            return Err(ShpError(format!(
                "truncated: record {} at byte {pos} needs {} bytes, the file ends at {}",
                spans.len() + 1,
                end,
                file_len
            )));
        }
        spans.push((start, words * 2));
        pos = end;
    }
    Ok(spans)
}

/// Parse one record's content (starting with its shape type).
pub(crate) fn parse_record(rec: &[u8]) -> RawShape {
    let Some(shape_type) = le_i32(rec, 0) else {
        return RawShape::Corrupt("record shorter than its shape type".into());
    };
    match shape_type {
        0 => RawShape::Null,
        5 | 15 | 25 => parse_polygon(rec, shape_type != 5),
        other => RawShape::Other(shape_type_name(other).to_owned()),
    }
}

fn parse_polygon(rec: &[u8], zm: bool) -> RawShape {
    // type(4) + bbox(32) + numParts(4) + numPoints(4)
    let (Some(num_parts), Some(num_points)) = (le_i32(rec, 36), le_i32(rec, 40)) else {
        return RawShape::Corrupt("polygon record shorter than its header (44 bytes)".into());
    };
    let (Ok(num_parts), Ok(num_points)) = (usize::try_from(num_parts), usize::try_from(num_points)) else {
        return RawShape::Corrupt(format!("negative part or point count ({num_parts}, {num_points})"));
    };
    let points_at = 44usize.saturating_add(num_parts.saturating_mul(4));
    let needed = points_at.saturating_add(num_points.saturating_mul(16));
    if needed > rec.len() {
        return RawShape::Corrupt(format!(
            "{num_parts} parts and {num_points} points need {needed} bytes, the record has {}",
            rec.len()
        ));
    }
    if num_points == 0 || num_parts == 0 {
        return RawShape::Polygons { geometry: MultiPolygon::new(Vec::new()), zm };
    }
    if num_parts == 1 && le_i32(rec, 44) == Some(0) {
        // The usual record, one ring: what `assemble_rings` makes of a single ring, without
        // its bookkeeping vectors (a county has millions of these).
        let mut ring = Vec::with_capacity(num_points);
        for k in 0..num_points {
            let at = points_at + 16 * k;
            let (x, y) = (le_f64(rec, at).unwrap_or(f64::NAN), le_f64(rec, at + 8).unwrap_or(f64::NAN));
            if !x.is_finite() || !y.is_finite() {
                return RawShape::NonFinite;
            }
            ring.push(Coord { x, y });
        }
        let polygons = if ring.len() < 3 || signed_area2(&ring) == 0.0 {
            Vec::new()
        } else {
            vec![Polygon::new(LineString::new(ring), Vec::new())]
        };
        return RawShape::Polygons { geometry: MultiPolygon::new(polygons), zm };
    }
    let mut starts = Vec::with_capacity(num_parts);
    for i in 0..num_parts {
        let s = le_i32(rec, 44 + 4 * i).unwrap_or(-1);
        match usize::try_from(s) {
            Ok(s) if s < num_points && starts.last().is_none_or(|&p| s >= p) => starts.push(s),
            _ => return RawShape::Corrupt(format!("part {i} starts at point {s}, out of order or range")),
        }
    }
    if starts.first() != Some(&0) {
        return RawShape::Corrupt("first part does not start at point 0".into());
    }
    let mut rings = Vec::with_capacity(num_parts);
    for (i, &s) in starts.iter().enumerate() {
        let e = starts.get(i + 1).copied().unwrap_or(num_points);
        let mut ring = Vec::with_capacity(e - s);
        for k in s..e {
            let at = points_at + 16 * k;
            let (x, y) = (le_f64(rec, at).unwrap_or(f64::NAN), le_f64(rec, at + 8).unwrap_or(f64::NAN));
            if !x.is_finite() || !y.is_finite() {
                return RawShape::NonFinite;
            }
            ring.push(Coord { x, y });
        }
        rings.push(ring);
    }
    RawShape::Polygons { geometry: assemble_rings(rings), zm }
}

/// Whether `hole` lies in `outer`: its first vertex decides; one on the outer's boundary
/// (a hole may touch its shell) says nothing, so the next few are tried, and a hole whose
/// tried vertices all lie on the boundary is taken to be in it.
fn hole_in(hole: &[Coord<f64>], outer: &[Coord<f64>]) -> bool {
    for &p in hole.iter().take(4) {
        match position(p, outer) {
            Position::Inside => return true,
            Position::Outside => return false,
            Position::Boundary => {}
        }
    }
    true
}

/// Turn ESRI rings into polygons: clockwise rings are outers, counter-clockwise rings
/// holes of the smallest outer that contains them. A hole inside no outer (bad
/// winding) becomes an outer itself, as GDAL does. Degenerate rings (fewer than three
/// distinct points or zero area) are dropped.
pub(crate) fn assemble_rings(rings: Vec<Vec<Coord<f64>>>) -> MultiPolygon<f64> {
    // (ring, area, holes)
    type Outer = (Vec<Coord<f64>>, f64, Vec<LineString<f64>>);
    let mut outers: Vec<Outer> = Vec::new();
    let mut holes: Vec<Vec<Coord<f64>>> = Vec::new();
    for ring in rings {
        let a2 = signed_area2(&ring);
        if ring.len() < 3 || a2 == 0.0 {
            continue;
        }
        if a2 < 0.0 {
            outers.push((ring, -a2, Vec::new()));
        } else {
            holes.push(ring);
        }
    }
    // Bounding boxes first: a hostile record with thousands of outers and holes must
    // not turn into a quadratic number of point-in-ring scans.
    let bbox = |r: &[Coord<f64>]| {
        r.iter().fold([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], |b, c| {
            [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)]
        })
    };
    let outer_boxes: Vec<[f64; 4]> = outers.iter().map(|(o, _, _)| bbox(o)).collect();
    let n_outers = outers.len();
    for hole in holes {
        let hb = bbox(&hole);
        let target = if n_outers == 1 {
            Some(0)
        } else {
            (0..n_outers)
                .filter(|&i| {
                    let ob = outer_boxes[i];
                    ob[0] <= hb[0] && ob[1] <= hb[1] && ob[2] >= hb[2] && ob[3] >= hb[3]
                })
                .filter(|&i| hole_in(&hole, &outers[i].0))
                .min_by(|&a, &b| outers[a].1.total_cmp(&outers[b].1))
        };
        match target {
            Some(i) => outers[i].2.push(LineString::new(hole)),
            None => {
                let a = signed_area2(&hole);
                outers.push((hole, a, Vec::new()));
            }
        }
    }
    MultiPolygon::new(outers.into_iter().map(|(ring, _, holes)| Polygon::new(LineString::new(ring), holes)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build a polygon record: type 5, bbox zeros, parts, points.
    pub(crate) fn polygon_record(rings: &[&[(f64, f64)]]) -> Vec<u8> {
        let mut rec = Vec::new();
        rec.extend(5i32.to_le_bytes());
        rec.extend([0u8; 32]);
        let n: usize = rings.iter().map(|r| r.len()).sum();
        rec.extend((rings.len() as i32).to_le_bytes());
        rec.extend((n as i32).to_le_bytes());
        let mut start = 0i32;
        for r in rings {
            rec.extend(start.to_le_bytes());
            start += r.len() as i32;
        }
        for r in rings {
            for &(x, y) in *r {
                rec.extend(x.to_le_bytes());
                rec.extend(y.to_le_bytes());
            }
        }
        rec
    }

    const OUTER_CW: &[(f64, f64)] = &[(0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0), (0.0, 0.0)];
    const HOLE_CCW: &[(f64, f64)] = &[(2.0, 2.0), (4.0, 2.0), (4.0, 4.0), (2.0, 4.0), (2.0, 2.0)];

    #[test]
    fn polygon_with_hole_is_assembled() {
        let RawShape::Polygons { geometry, zm } = parse_record(&polygon_record(&[OUTER_CW, HOLE_CCW])) else {
            panic!("expected polygons");
        };
        assert!(!zm);
        assert_eq!(geometry.0.len(), 1);
        assert_eq!(geometry.0[0].interiors().len(), 1);
    }

    #[test]
    fn two_outers_make_a_multipolygon_and_holes_go_to_the_right_one() {
        let far: Vec<(f64, f64)> = OUTER_CW.iter().map(|&(x, y)| (x + 100.0, y)).collect();
        let far_hole: Vec<(f64, f64)> = HOLE_CCW.iter().map(|&(x, y)| (x + 100.0, y)).collect();
        let rec = polygon_record(&[OUTER_CW, &far, &far_hole]);
        let RawShape::Polygons { geometry, .. } = parse_record(&rec) else { panic!("expected polygons") };
        assert_eq!(geometry.0.len(), 2);
        assert_eq!(geometry.0[0].interiors().len(), 0);
        assert_eq!(geometry.0[1].interiors().len(), 1);
    }

    #[test]
    fn many_outers_and_holes_are_paired_by_containment() {
        // 2000 separate squares, each with its own hole, holes listed in reverse order.
        let mut rings = Vec::new();
        for i in 0..2000 {
            let x = 20.0 * f64::from(i);
            rings.push(OUTER_CW.iter().map(|&(a, b)| Coord { x: a + x, y: b }).collect::<Vec<_>>());
        }
        for i in (0..2000).rev() {
            let x = 20.0 * f64::from(i);
            rings.push(HOLE_CCW.iter().map(|&(a, b)| Coord { x: a + x, y: b }).collect::<Vec<_>>());
        }
        let mp = assemble_rings(rings);
        assert_eq!(mp.0.len(), 2000);
        for (i, p) in mp.0.iter().enumerate() {
            assert_eq!(p.interiors().len(), 1, "polygon {i}");
            assert_eq!(p.interiors()[0].0[0].x, 2.0 + 20.0 * i as f64);
        }
    }

    #[test]
    fn counter_clockwise_only_ring_becomes_an_outer() {
        let RawShape::Polygons { geometry, .. } = parse_record(&polygon_record(&[HOLE_CCW])) else {
            panic!("expected polygons")
        };
        assert_eq!(geometry.0.len(), 1);
    }

    #[test]
    fn lying_counts_are_corrupt_not_a_panic_or_allocation() {
        let mut rec = polygon_record(&[OUTER_CW]);
        rec[40..44].copy_from_slice(&i32::MAX.to_le_bytes());
        assert!(matches!(parse_record(&rec), RawShape::Corrupt(_)));
        let mut rec = polygon_record(&[OUTER_CW]);
        rec[36..40].copy_from_slice(&(-3i32).to_le_bytes());
        assert!(matches!(parse_record(&rec), RawShape::Corrupt(_)));
        let mut rec = polygon_record(&[OUTER_CW, HOLE_CCW]);
        rec[48..52].copy_from_slice(&99i32.to_le_bytes());
        assert!(matches!(parse_record(&rec), RawShape::Corrupt(_)));
        assert!(matches!(parse_record(&[5, 0]), RawShape::Corrupt(_)));
    }

    proptest::proptest! {
        /// The one-ring fast path gives what the general assembly gives.
        #[test]
        fn one_ring_fast_path_matches_assembly(
            pts in proptest::collection::vec((-1e3f64..1e3, -1e3f64..1e3), 0..8),
            close in proptest::bool::ANY,
        ) {
            let mut ring: Vec<(f64, f64)> = pts.clone();
            if close && !ring.is_empty() {
                ring.push(ring[0]);
            }
            let rec = polygon_record(&[&ring]);
            let coords: Vec<Coord<f64>> = ring.iter().map(|&(x, y)| Coord { x, y }).collect();
            let expected = if ring.is_empty() { MultiPolygon::new(Vec::new()) } else { assemble_rings(vec![coords]) };
            proptest::prop_assert_eq!(parse_record(&rec), RawShape::Polygons { geometry: expected, zm: false });
        }
    }

    #[test]
    fn nan_coordinate_is_reported() {
        let ring = [(0.0, 0.0), (f64::NAN, 1.0), (1.0, 1.0), (0.0, 0.0)];
        assert_eq!(parse_record(&polygon_record(&[&ring])), RawShape::NonFinite);
    }

    #[test]
    fn truncated_file_is_an_error() {
        let rec = polygon_record(&[OUTER_CW]);
        let mut data = vec![0u8; 100];
        data[0..4].copy_from_slice(&9994i32.to_be_bytes());
        data[32..36].copy_from_slice(&5i32.to_le_bytes());
        data.extend(1i32.to_be_bytes());
        data.extend(((rec.len() / 2) as i32).to_be_bytes());
        data.extend(&rec);
        assert_eq!(record_spans(&data).map(|s| s.len()), Ok(1));
        // Zero padding after the last record is not a record.
        let mut padded = data.clone();
        padded.extend([0u8; 24]);
        assert_eq!(record_spans(&padded).map(|s| s.len()), Ok(1));
        data.truncate(data.len() - 5);
        let err = record_spans(&data).expect_err("truncated");
        assert!(err.0.contains("truncated"), "{}", err.0);
    }

    #[test]
    fn signed_area_is_exact_far_from_the_origin() {
        let shifted: Vec<Coord<f64>> = OUTER_CW.iter().map(|&(x, y)| Coord { x: x + 4.0e7, y: y + 3.35e6 }).collect();
        assert_eq!(signed_area2(&shifted), -200.0);
    }

    proptest::proptest! {
        /// Arbitrary bytes, and valid records with arbitrary bytes overwritten, never
        /// panic and never allocate beyond the input (counts are checked first).
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
                                       at in 0usize..200, patch in proptest::collection::vec(proptest::num::u8::ANY, 1..12)) {
            let _ = parse_record(&bytes);
            let _ = read_header(&bytes);
            let _ = record_spans(&bytes);
            let mut rec = polygon_record(&[OUTER_CW, HOLE_CCW]);
            let at = at % rec.len();
            for (i, b) in patch.iter().enumerate() {
                if let Some(x) = rec.get_mut(at + i) { *x = *b; }
            }
            let _ = parse_record(&rec);
        }
    }
}
