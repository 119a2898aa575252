//! Time loading, the whole check (parallel), then context preparation and each rule
//! separately (sequentially).
//! `cargo run --release -p cadastre-core --example qc_profile -- DIR`
use std::time::Instant;

use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::qc::{rules, Context, QcConfig};

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: qc_profile DIR");
        return;
    };
    let t = Instant::now();
    let sub = match load_submission(std::path::Path::new(&dir), &LoadOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return;
        }
    };
    println!("load            {:>8.3} s", t.elapsed().as_secs_f64());
    let cfg = QcConfig::default();
    let t = Instant::now();
    let report = cadastre_core::qc::check(&sub, &cfg);
    println!("check (all rules, parallel) {:>8.3} s ({} findings)", t.elapsed().as_secs_f64(), report.findings.len());
    let t = Instant::now();
    let ctx = Context::new(&sub, &cfg);
    println!("context         {:>8.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let n = ctx.parcel_pairs().overlaps.len();
    println!("parcel pairs    {:>8.3} s ({n} overlaps)", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let _ = ctx.building_pairs();
    println!("building pairs  {:>8.3} s", t.elapsed().as_secs_f64());
    for r in rules::all() {
        let t = Instant::now();
        let f = r.findings(&ctx);
        println!("{:<28} {:>8.3} s ({} findings)", r.id(), t.elapsed().as_secs_f64(), f.len());
    }
}
