//! Boundary-point tables (界址点成果表) as CSV, to parcels and back.
//!
//! Columns: `ZDDM` (宗地代码), `DKH` (地块号, polygon number from 1), `QH` (圈号:
//! 1 = outer ring, 2… = holes), `JZDH` (界址点号 J1…), `XZBZ` (X 坐标 = **northing**),
//! `YZBZ` (Y 坐标 = **easting**). Chinese surveying writes X north and Y east; our
//! geometry has x = easting, so the swap happens here and only here. Points are
//! listed per ring in J order (clockwise from the north-west corner), the closing
//! point not repeated. Coordinates are written in Rust's shortest round-trip form,
//! so writing and reading back gives bit-identical coordinates.

use std::io::{Read, Write};

use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use super::{number_per_parcel, BoundaryPoints};

/// Why a table could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// CSV syntax or I/O.
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A required column is absent.
    #[error("missing column {0} (expected ZDDM, DKH, QH, JZDH, XZBZ, YZBZ)")]
    MissingColumn(&'static str),
    /// A value is not what the column needs.
    #[error("line {line}: {column} = {value:?} is not {expected}")]
    BadValue {
        /// 1-based line number in the file (header = line 1).
        line: u64,
        /// Column.
        column: &'static str,
        /// As read.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A ring has fewer than three distinct points.
    #[error("parcel {zddm} polygon {dkh} ring {qh}: {points} points, a ring needs at least 3")]
    ShortRing {
        /// Parcel.
        zddm: String,
        /// Polygon number.
        dkh: u32,
        /// Ring number.
        qh: u32,
        /// Points found.
        points: usize,
    },
}

/// Write the boundary-point table of `parcels` (code, geometry).
///
/// ```
/// use cadastre_core::boundary::table::{read_points_csv, write_points_csv};
/// use geo_types::{polygon, MultiPolygon};
/// let p = MultiPolygon::new(vec![polygon![(x: 512_000.5, y: 3_350_000.25), (x: 512_010.5, y: 3_350_000.25),
///                                        (x: 512_010.5, y: 3_350_010.25)]]);
/// let mut csv = Vec::new();
/// write_points_csv(&mut csv, &[("330106001001GB00001", &p)])?;
/// let text = String::from_utf8(csv.clone()).expect("utf-8");
/// // XZBZ is the northing, YZBZ the easting.
/// assert!(text.contains("J1,3350010.25,512010.5"));
/// let back = read_points_csv(&csv[..])?;
/// assert_eq!(back[0].0, "330106001001GB00001");
/// # Ok::<(), cadastre_core::boundary::table::TableError>(())
/// ```
pub fn write_points_csv<W: Write>(out: W, parcels: &[(&str, &MultiPolygon<f64>)]) -> Result<(), TableError> {
    let geoms: Vec<&MultiPolygon<f64>> = parcels.iter().map(|(_, g)| *g).collect();
    let points = BoundaryPoints::derive(&geoms);
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["ZDDM", "DKH", "QH", "JZDH", "XZBZ", "YZBZ"])?;
    for n in number_per_parcel(&points) {
        let c = points.coord(n.point);
        w.write_record([
            parcels[n.parcel].0.to_owned(),
            (n.polygon + 1).to_string(),
            (n.ring + 1).to_string(),
            n.jzdh.clone(),
            c.y.to_string(), // XZBZ = northing
            c.x.to_string(), // YZBZ = easting
        ])?;
    }
    w.flush().map_err(csv::Error::from)?;
    Ok(())
}

fn column(headers: &csv::StringRecord, names: &[&str], std_name: &'static str) -> Result<usize, TableError> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(n)))
        .ok_or(TableError::MissingColumn(std_name))
}

/// (ZDDM, DKH, QH) of one ring.
type RingKey = (String, u32, u32);
/// (DKH, QH, coordinates) of one ring.
type NumberedRing = (u32, u32, Vec<Coord<f64>>);

/// Read a boundary-point table back into parcels (code, geometry), in the order
/// codes first appear. Rows of one ring must be consecutive in boundary order.
/// Headers may be the standard names or 宗地代码 / 地块号 / 圈号 / 界址点号 /
/// X坐标 / Y坐标 (X = northing).
pub fn read_points_csv<R: Read>(input: R) -> Result<Vec<(String, MultiPolygon<f64>)>, TableError> {
    let mut r = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let headers = r.headers()?.clone();
    let c_code = column(&headers, &["ZDDM", "宗地代码"], "ZDDM")?;
    let c_dkh = column(&headers, &["DKH", "地块号"], "DKH").ok();
    let c_qh = column(&headers, &["QH", "圈号"], "QH").ok();
    let c_x = column(&headers, &["XZBZ", "X坐标", "X"], "XZBZ")?;
    let c_y = column(&headers, &["YZBZ", "Y坐标", "Y"], "YZBZ")?;
    // (code, dkh, qh) → ring coordinates, in first-appearance order.
    let mut rings: Vec<(RingKey, Vec<Coord<f64>>)> = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec?;
        let line = rec.position().map_or(i as u64 + 2, |p| p.line());
        let get = |c: usize| rec.get(c).unwrap_or("").to_owned();
        let number = |c: usize, column: &'static str| -> Result<f64, TableError> {
            let v = get(c);
            v.parse::<f64>().ok().filter(|f| f.is_finite()).ok_or(TableError::BadValue {
                line,
                column,
                value: v,
                expected: "a number",
            })
        };
        let index = |c: Option<usize>, column: &'static str| -> Result<u32, TableError> {
            let Some(c) = c else { return Ok(1) };
            let v = get(c);
            v.parse::<u32>().ok().filter(|&n| n >= 1).ok_or(TableError::BadValue {
                line,
                column,
                value: v,
                expected: "a whole number ≥ 1",
            })
        };
        let code = get(c_code);
        if code.is_empty() {
            return Err(TableError::BadValue { line, column: "ZDDM", value: code, expected: "a parcel code" });
        }
        let key = (code, index(c_dkh, "DKH")?, index(c_qh, "QH")?);
        let northing = number(c_x, "XZBZ")?;
        let easting = number(c_y, "YZBZ")?;
        let c = Coord { x: easting, y: northing };
        match rings.last_mut() {
            Some((k, pts)) if *k == key => pts.push(c),
            _ => rings.push((key, vec![c])),
        }
    }
    let mut parcels: Vec<(String, Vec<NumberedRing>)> = Vec::new();
    for ((code, dkh, qh), pts) in rings {
        if pts.len() < 3 {
            return Err(TableError::ShortRing { zddm: code, dkh, qh, points: pts.len() });
        }
        match parcels.iter_mut().find(|(c, _)| *c == code) {
            Some((_, v)) => v.push((dkh, qh, pts)),
            None => parcels.push((code, vec![(dkh, qh, pts)])),
        }
    }
    Ok(parcels
        .into_iter()
        .map(|(code, mut rings)| {
            rings.sort_by_key(|(d, q, _)| (*d, *q));
            let mut polys: Vec<Polygon<f64>> = Vec::new();
            let mut current: Option<(u32, LineString<f64>, Vec<LineString<f64>>)> = None;
            for (dkh, qh, pts) in rings {
                let ls = LineString::new(pts);
                match &mut current {
                    Some((d, _, holes)) if *d == dkh && qh > 1 => holes.push(ls),
                    _ => {
                        if let Some((_, ext, holes)) = current.take() {
                            polys.push(Polygon::new(ext, holes));
                        }
                        current = Some((dkh, ls, Vec::new()));
                    }
                }
            }
            if let Some((_, ext, holes)) = current {
                polys.push(Polygon::new(ext, holes));
            }
            (code, MultiPolygon::new(polys))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::area::PlanarArea;
    use geo_types::polygon;

    #[test]
    fn axis_order_xzbz_is_northing_yzbz_is_easting() {
        // Easting 512 345.67 (Y), northing 3 350 123.45 (X): unmistakable magnitudes.
        let p = MultiPolygon::new(vec![polygon![
            (x: 512_345.67, y: 3_350_123.45), (x: 512_355.67, y: 3_350_123.45),
            (x: 512_355.67, y: 3_350_133.45), (x: 512_345.67, y: 3_350_133.45)]]);
        let mut buf = Vec::new();
        write_points_csv(&mut buf, &[("330106001001GB00001", &p)]).expect("write");
        let text = String::from_utf8(buf).expect("utf-8");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("ZDDM,DKH,QH,JZDH,XZBZ,YZBZ"));
        // J1 is the north-west corner: easting 512 345.67, northing 3 350 133.45.
        assert_eq!(lines.next(), Some("330106001001GB00001,1,1,J1,3350133.45,512345.67"));
        // Reading a hand-written table: X = 3 350 000 (north), Y = 512 000 (east).
        let csv = "ZDDM,JZDH,XZBZ,YZBZ\nA,J1,3350010,512000\nA,J2,3350010,512010\nA,J3,3350000,512010\n";
        let back = read_points_csv(csv.as_bytes()).expect("read");
        let first = back[0].1 .0[0].exterior().0[0];
        assert_eq!((first.x, first.y), (512_000.0, 3_350_010.0));
    }

    #[test]
    fn round_trip_is_exact_with_holes_and_parts() {
        let a = MultiPolygon::new(vec![
            polygon![
                exterior: [(x: 512_000.123_456_789, y: 3_350_000.1), (x: 512_030.0, y: 3_350_000.1), (x: 512_030.0, y: 3_350_030.0), (x: 512_000.123_456_789, y: 3_350_030.0)],
                interiors: [[(x: 512_010.0, y: 3_350_010.0), (x: 512_020.0, y: 3_350_010.0), (x: 512_020.0, y: 3_350_020.0), (x: 512_010.0, y: 3_350_020.0)]],
            ],
            polygon![(x: 512_100.0, y: 3_350_000.0), (x: 512_110.0, y: 3_350_000.0), (x: 512_110.0, y: 3_350_010.0)],
        ]);
        let b = MultiPolygon::new(vec![
            polygon![(x: 512_010.0, y: 3_350_010.0), (x: 512_020.0, y: 3_350_010.0), (x: 512_020.0, y: 3_350_020.0), (x: 512_010.0, y: 3_350_020.0)],
        ]);
        let mut buf = Vec::new();
        write_points_csv(&mut buf, &[("A", &a), ("B", &b)]).expect("write");
        let back = read_points_csv(&buf[..]).expect("read");
        assert_eq!(back.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(back[0].1 .0.len(), 2);
        assert_eq!(back[0].1 .0[0].interiors().len(), 1);
        assert_eq!(back[0].1.planar_area(), a.planar_area());
        assert_eq!(back[1].1.planar_area(), b.planar_area());
        // Same vertex set, bit for bit.
        let bits = |m: &MultiPolygon<f64>| {
            let mut v: Vec<(u64, u64)> =
                m.0.iter()
                    .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                    .flat_map(|r| r.0.iter().map(|c| (c.x.to_bits(), c.y.to_bits())))
                    .collect();
            v.sort();
            v.dedup();
            v
        };
        assert_eq!(bits(&back[0].1), bits(&a));
    }

    #[test]
    fn bad_tables_are_clear_errors() {
        let e = read_points_csv("ZDDM,XZBZ\nA,1\n".as_bytes()).expect_err("no YZBZ");
        assert!(e.to_string().contains("YZBZ"), "{e}");
        let e = read_points_csv("ZDDM,XZBZ,YZBZ\nA,1,2\nA,north,3\n".as_bytes()).expect_err("bad number");
        assert!(e.to_string().contains("line 3") && e.to_string().contains("XZBZ"), "{e}");
        let e = read_points_csv("ZDDM,XZBZ,YZBZ\nA,1,2\nA,2,3\n".as_bytes()).expect_err("short ring");
        assert!(matches!(e, TableError::ShortRing { points: 2, .. }), "{e}");
        let e = read_points_csv("ZDDM,QH,XZBZ,YZBZ\nA,0,1,2\n".as_bytes()).expect_err("QH 0");
        assert!(e.to_string().contains("QH"), "{e}");
    }

    #[test]
    fn chinese_headers_are_accepted() {
        let csv = "宗地代码,界址点号,X坐标,Y坐标\nA,J1,10,0\nA,J2,10,10\nA,J3,0,10\n";
        let back = read_points_csv(csv.as_bytes()).expect("read");
        assert_eq!(back[0].1.planar_area(), 50.0);
    }
}
