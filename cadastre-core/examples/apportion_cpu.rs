//! CPU time (not wall time) of apportionment, for a machine shared with other
//! jobs: reads the thread's on-CPU nanoseconds from /proc/self/schedstat.
//!
//! `cargo run --release -p cadastre-core --example apportion_cpu -- 200`

#[path = "../benches/fixture/mod.rs"]
mod fixture;

use cadastre_core::apportion::{Apportion, ApportionInput};

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/self/schedstat").ok().and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok())).unwrap_or(0)
}

fn measure(name: &str, iterations: u32, f: impl Fn() -> usize) {
    let _ = f(); // warm up
    let (c0, w0) = (cpu_ns(), std::time::Instant::now());
    let mut sink = 0usize;
    for _ in 0..iterations {
        sink = sink.wrapping_add(f());
    }
    let (cpu, wall) = (cpu_ns() - c0, w0.elapsed());
    println!(
        "{name}: {:.3} ms CPU, {:.3} ms wall per iteration ({iterations} iterations, checksum {sink})",
        cpu as f64 / 1e6 / f64::from(iterations),
        wall.as_secs_f64() * 1e3 / f64::from(iterations)
    );
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let tower = fixture::building(1, 100, 20);
    measure("one building 100 floors x 20 households", n, || tower.apportion().map_or(0, |r| r.units.len()));
    let district: Vec<ApportionInput> = (0..1_000).map(|i| fixture::building(i, 10, 10)).collect();
    measure("100,000 households in 1,000 buildings", (n / 50).max(3), || {
        district.iter().map(|b| b.apportion().map_or(0, |r| r.units.len())).sum()
    });
}
