//! Time `load_submission` on a generated grid of N parcels (default 1 000 000).
//!
//! `cargo run --release -p cadastre-core --example load_timing -- 1000000 /tmp/grid`
//! writes ZD (GBK) into the folder once (reused when it already holds ZD.shp), then
//! loads it and prints the load time and the process's peak resident memory. With
//! `BOUNDARY=1` it also derives boundary points, lines and 四至 and times them.

use std::path::PathBuf;
use std::time::Instant;

use cadastre_core::crs::Crs;
use cadastre_core::io::{load_submission, write_shapefiles, LoadOptions, TextEncoding};
use cadastre_core::model::{Parcel, ParcelAttributes, Submission};
use geo_types::{polygon, MultiPolygon};

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1_000_000);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| format!("/tmp/cadastre-grid-{n}")));
    if !dir.join("ZD.shp").exists() {
        let side = (n as f64).sqrt().ceil() as usize;
        let mut sub = Submission { crs: Some(Crs::from_epsg(4549)), ..Submission::default() };
        for i in 0..n {
            let (x, y) = (500_000.0 + 10.0 * (i % side) as f64, 3_300_000.0 + 10.0 * (i / side) as f64);
            sub.parcels.push(Parcel {
                zddm: format!("330106001{:03}GB{:05}", i / 99_999 % 1000, i % 99_999 + 1),
                // Five vertices: a square with a midpoint on its south edge.
                geometry: MultiPolygon::new(vec![polygon![(x: x, y: y), (x: x + 5.0, y: y), (x: x + 10.0, y: y), (x: x + 10.0, y: y + 10.0), (x: x, y: y + 10.0)]]),
                attributes: ParcelAttributes {
                    zl: Some(format!("西湖区文三路{}号", i % 1000)),
                    zdmj: Some(100.0),
                    yt: Some("0701".into()),
                    qllx: Some("3".into()),
                    qlxz: Some("102".into()),
                    djzqdm: Some("330106001001".into()),
                    ..ParcelAttributes::default()
                },
                source_index: i,
            });
        }
        let t = Instant::now();
        write_shapefiles(&sub, &dir, TextEncoding::Gbk)?;
        println!("wrote {n} parcels to {} in {:.2} s", dir.display(), t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let sub = load_submission(&dir, &LoadOptions::default())?;
    println!(
        "loaded {} parcels ({} load issues) in {:.2} s; peak RSS {:.0} MB",
        sub.parcels.len(),
        sub.load_issues.len(),
        t.elapsed().as_secs_f64(),
        peak_rss_mb().unwrap_or(f64::NAN)
    );
    if std::env::var_os("BOUNDARY").is_some() {
        use cadastre_core::boundary::{four_neighbours, BoundaryLines, BoundaryPoints};
        let geoms: Vec<&MultiPolygon<f64>> = sub.parcels.iter().map(|p| &p.geometry).collect();
        let t = Instant::now();
        let pts = BoundaryPoints::derive(&geoms);
        let t_pts = t.elapsed().as_secs_f64();
        let lines = BoundaryLines::build(&pts);
        let t_lines = t.elapsed().as_secs_f64() - t_pts;
        let sz = four_neighbours(&pts, &lines, &geoms);
        let t_sz = t.elapsed().as_secs_f64() - t_pts - t_lines;
        println!(
            "boundary: {} points in {t_pts:.2} s, {} lines in {t_lines:.2} s, 四至 for {} parcels in {t_sz:.2} s; peak RSS {:.0} MB",
            pts.len(),
            lines.lines.len(),
            sz.len(),
            peak_rss_mb().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
