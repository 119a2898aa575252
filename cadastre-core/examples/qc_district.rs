//! Write a large grid district for the quality-check benchmark and the PostGIS
//! cross-check, until the samples generator (`district-gen`) is merged:
//! street blocks of 3 × 2 parcels (20 m × 25 m) sharing exact vertices, 8 m streets,
//! vertical sub-district strips, one building per parcel, EPSG:4549, GBK DBF.
//! Every `--overlap-every`-th block gets one overlap (a vertex pushed 2 m into the
//! neighbour) so the overlap self-join has real work to report.
//!
//! `cargo run --release -p cadastre-core --example qc_district -- N OUT_DIR [OVERLAP_EVERY]`

use std::path::PathBuf;
use std::process::ExitCode;

use cadastre_core::crs::Crs;
use cadastre_core::io::{write_shapefiles, TextEncoding};
use cadastre_core::model::{Building, BuildingAttributes, Parcel, ParcelAttributes, Subdistrict, Submission};
use geo::Area;
use geo_types::{Coord, MultiPolygon, Polygon};

const PW: f64 = 20.0;
const PH: f64 = 25.0;
const STREET: f64 = 8.0;
const BLOCKS_PER_SD_COLUMN: usize = 20;

fn poly(pts: &[(f64, f64)]) -> MultiPolygon {
    let ring: Vec<Coord> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
    MultiPolygon(vec![Polygon::new(ring.into(), vec![])])
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<(f64, f64)> {
    vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(n), Some(out)) = (args.get(1).and_then(|s| s.parse::<usize>().ok()), args.get(2)) else {
        eprintln!("usage: qc_district N_PARCELS OUT_DIR [OVERLAP_EVERY=50]");
        return ExitCode::from(2);
    };
    let every: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(50).max(1);
    let blocks = n.div_ceil(6);
    let side = (blocks as f64).sqrt().ceil() as usize;
    let (ox, oy) = (500_000.0, 3_300_000.0);
    let bw = 3.0 * PW + STREET;
    let bh = 2.0 * PH + STREET;
    let sd_cols = side.div_ceil(BLOCKS_PER_SD_COLUMN);
    let sd_code = |bx: usize| format!("330106001{:03}", bx / BLOCKS_PER_SD_COLUMN + 1);
    let mut sub = Submission { crs: Some(Crs::from_epsg(4549)), ..Default::default() };
    let mut seq = vec![0usize; sd_cols];
    for b in 0..blocks {
        let (bx, by) = (b % side, b / side);
        let (x0, y0) = (ox + bx as f64 * bw, oy + by as f64 * bh);
        let sd = sd_code(bx);
        for r in 0..2 {
            for c in 0..3 {
                if sub.parcels.len() >= n {
                    break;
                }
                seq[bx / BLOCKS_PER_SD_COLUMN] += 1;
                let code = format!("{sd}GB{:05}", seq[bx / BLOCKS_PER_SD_COLUMN] % 100_000);
                let (xa, ya) = (x0 + c as f64 * PW, y0 + r as f64 * PH);
                let mut ring = rect(xa, ya, xa + PW, ya + PH);
                if b % every == 0 && r == 0 && c == 0 {
                    ring.insert(2, (xa + PW + 2.0, ya + PH / 2.0));
                }
                let geometry = poly(&ring);
                let zdmj = (geometry.unsigned_area() * 100.0).round() / 100.0;
                let i = sub.parcels.len();
                sub.parcels.push(Parcel {
                    zddm: code.clone(),
                    geometry,
                    attributes: ParcelAttributes {
                        bdcdyh: Some(format!("{code}W00000000")),
                        zdtzm: Some("GB".into()),
                        zl: Some(format!("西湖区文三路{}号", i + 1)),
                        zdmj: Some(zdmj),
                        yt: Some("0701".into()),
                        qllx: Some("3".into()),
                        qlxz: Some("102".into()),
                        djzqdm: Some(sd.clone()),
                        ..Default::default()
                    },
                    source_index: i,
                });
                let zrzh = format!("{code}F0001");
                sub.buildings.push(Building {
                    zrzh: zrzh.clone(),
                    zddm: code,
                    footprint: poly(&rect(xa + 5.0, ya + 6.0, xa + 15.0, ya + 19.0)),
                    attributes: BuildingAttributes { bdcdyh: Some(format!("{zrzh}0000")), ..Default::default() },
                    source_index: i,
                });
            }
        }
    }
    let rows = blocks.div_ceil(side);
    for k in 0..sd_cols {
        let x0 = ox - STREET / 2.0 + (k * BLOCKS_PER_SD_COLUMN) as f64 * bw;
        let x1 = (ox - STREET / 2.0 + ((k + 1) * BLOCKS_PER_SD_COLUMN).min(side) as f64 * bw).max(x0 + 1.0);
        sub.subdistricts.push(Subdistrict {
            djzqdm: format!("330106001{:03}", k + 1),
            name: Some(format!("子区{}", k + 1)),
            recorded_area: None,
            geometry: poly(&rect(x0, oy - STREET / 2.0, x1, oy - STREET / 2.0 + rows as f64 * bh)),
            extra: Default::default(),
            source_index: k,
        });
    }
    let dir = PathBuf::from(out);
    match write_shapefiles(&sub, &dir, TextEncoding::Gbk) {
        Ok(()) => {
            eprintln!(
                "wrote {} parcels, {} buildings, {} sub-districts to {}",
                sub.parcels.len(),
                sub.buildings.len(),
                sub.subdistricts.len(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
