//! CPU time (not wall time) of apportionment, for a machine shared with other
//! jobs: reads the thread's on-CPU nanoseconds from /proc/self/schedstat.
//!
//! `cargo run --release -p cadastre-core --example apportion_cpu -- 200`
//! (200 tower calls per round, 2 district calls per round, 9 rounds each)

#[path = "../benches/fixture/mod.rs"]
mod fixture;

use cadastre_core::apportion::{Apportion, ApportionInput};

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Runs `rounds` rounds of `iterations` calls; prints the best and the median
/// round's CPU time per call (the best round is the least disturbed by other jobs).
fn measure(name: &str, iterations: u32, f: impl Fn() -> usize) {
    let _ = f(); // warm up
    let rounds = 9;
    let mut cpu_per_call = Vec::with_capacity(rounds);
    let mut wall_per_call = Vec::with_capacity(rounds);
    let mut sink = 0usize;
    for _ in 0..rounds {
        let (c0, w0) = (cpu_ns(), std::time::Instant::now());
        for _ in 0..iterations {
            sink = sink.wrapping_add(f());
        }
        cpu_per_call.push((cpu_ns() - c0) as f64 / 1e6 / f64::from(iterations));
        wall_per_call.push(w0.elapsed().as_secs_f64() * 1e3 / f64::from(iterations));
    }
    cpu_per_call.sort_by(f64::total_cmp);
    wall_per_call.sort_by(f64::total_cmp);
    println!(
        "{name}: CPU per call best {:.3} ms, median {:.3} ms; wall best {:.3} ms, median {:.3} ms ({rounds} rounds x {iterations}, checksum {sink})",
        cpu_per_call[0],
        cpu_per_call[rounds / 2],
        wall_per_call[0],
        wall_per_call[rounds / 2]
    );
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let tower = fixture::building(1, 100, 20);
    measure("one building 100 floors x 20 households", n, || tower.apportion().map_or(0, |r| r.units.len()));
    let district: Vec<ApportionInput> = (0..1_000).map(|i| fixture::building(i, 10, 10)).collect();
    measure("100,000 households in 1,000 buildings", (n / 100).max(1), || {
        district.iter().map(|b| b.apportion().map_or(0, |r| r.units.len())).sum()
    });
}
