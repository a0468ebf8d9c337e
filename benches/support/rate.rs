//! Throughput measurement shared by the signing benchmarks.

use std::time::Instant;

/// Runs `f` `iterations` times, five times over, prints the best rate and returns it.
pub fn rate(name: &str, iterations: u32, mut f: impl FnMut(u32)) -> f64 {
    let mut best = 0f64;
    for _ in 0..5 {
        let start = Instant::now();
        for i in 0..iterations {
            f(i);
        }
        best = best.max(f64::from(iterations) / start.elapsed().as_secs_f64());
    }
    println!("{name:<58} {best:>12.0} /s");
    best
}
