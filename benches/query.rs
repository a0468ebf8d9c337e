//! `/query` on a synthetic 100,000-file table with a checkpoint: the full NDJSON response with
//! signed URLs, cold (a new engine: empty snapshot cache; median of 5, and the first in the
//! process) and warm (snapshot cached), on one thread, with the process's peak memory growth
//! over the first cold query. The table is written by
//! `benches/make_big_table.py` (pyarrow) on first use. Run with `cargo bench --bench query`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use opensharing::auth::token_sha256_hex;
use opensharing::{Engine, IoNeed, IoResult, Method, Request, Step};

#[path = "../tests/common/mod.rs"]
mod common;

const FILES: usize = 100_000;

/// CPU time of this thread: unaffected by other processes sharing the machine's two cores.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn table_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-lake");
    if !root.join(format!("big-{FILES}/_delta_log/_last_checkpoint")).exists() {
        let python = std::env::var("OPENSHARING_PYTHON").unwrap_or_else(|_| "python3".into());
        let status = std::process::Command::new(python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/make_big_table.py"))
            .arg(root.join(format!("big-{FILES}")))
            .arg(FILES.to_string())
            .status()
            .expect("run make_big_table.py (needs pyarrow: scripts/setup.sh installs it)");
        assert!(status.success());
    }
    root
}

fn io(root: &Path, need: &IoNeed) -> IoResult {
    common::disk_io(root)(need)
}

fn engine(root: &Path, store: serde_json::Value) -> Engine {
    let config = serde_json::json!({
        "endpoint": "http://127.0.0.1:8080/delta-sharing",
        "token_signing_key": "bench-key-bench-key-bench-key-bench",
        "stores": {"lake": store, "disk": {"kind": "local", "root": root.to_string_lossy()}},
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            {"type": "delta_table", "name": "big", "store": "lake", "path": format!("big-{FILES}")}]}]}],
        "recipients": [{"name": "r", "token_sha256": token_sha256_hex("tok"), "shares": ["s"]}]
    });
    Engine::from_json(config.to_string().as_bytes(), &|_| None).unwrap()
}

/// Runs one query; returns (lines, body bytes). Lines are counted only when `count_lines`, so
/// the timed runs measure the engine, not the counting.
fn query(engine: &Engine, root: &Path, format: &str, count_lines: bool) -> (usize, usize) {
    let req = Request::new(Method::Post, "/delta-sharing/shares/s/schemas/d/tables/big/query")
        .header("Authorization", "Bearer tok")
        .header("delta-sharing-capabilities", format!("responseformat={format}"))
        .body("{}");
    let mut ex = engine.handle(req, 1_767_225_600_000);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut lines, mut bytes) = (0, 0);
    loop {
        match ex.poll() {
            Step::Need(id, n) => {
                let n = n.clone();
                ex.supply(id, io(root, &n)).unwrap();
            }
            Step::Wait => unreachable!("every need is answered when handed out"),
            Step::Head(h) => assert_eq!(h.status, 200),
            Step::Body => loop {
                let n = ex.read(&mut buf);
                if n == 0 {
                    break;
                }
                bytes += n;
                if count_lines {
                    lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
                }
            },
            Step::ServeFile(file) => unreachable!("no file URL is requested: {file:?}"),
            Step::Done(_) => return (lines, bytes),
        }
    }
}

fn main() {
    let root = table_root();
    let s3 = serde_json::json!({"kind": "s3", "bucket": "lake", "region": "us-east-1", "endpoint": "http://127.0.0.1:9000",
        "path_style": true, "access_key_id": "AKIAOPENSHARING", "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"});
    // The S3 store's keys are read from the same directory: only the URLs differ.
    // OPENSHARING_BENCH_COLD_ONCE=1: one cold parquet query and nothing else, for profiling under
    // `valgrind --tool=callgrind` (instruction counts: steady where the CPU time is noisy).
    if std::env::var_os("OPENSHARING_BENCH_COLD_ONCE").is_some() {
        let (_, bytes) = query(&engine(&root, s3), &root, "parquet", false);
        println!("one cold parquet query: {bytes} body bytes");
        return;
    }
    println!("query on {FILES} files + checkpoint, full NDJSON with S3 pre-signed URLs, one thread");
    for format in ["parquet", "delta"] {
        // Cold: a new engine each time (empty snapshot cache); the first in the process also
        // pays for fresh heap pages. The figure is the median of 5, as deltalake's in the
        // anchor script; the first is reported beside it, and gives the peak memory growth.
        let rss_before = status_kib("VmRSS:");
        let (mut colds, mut peak, mut e) = (Vec::new(), 0, None);
        for _ in 0..5 {
            drop(e.take());
            let fresh = engine(&root, s3.clone());
            let (start, cpu) = (Instant::now(), thread_cpu());
            let (_, bytes) = query(&fresh, &root, format, false);
            colds.push((thread_cpu() - cpu, start.elapsed(), bytes));
            if peak == 0 {
                peak = status_kib("VmHWM:");
            }
            e = Some(fresh);
        }
        let e = e.expect("five cold runs");
        let first = colds[0];
        colds.sort();
        let (cold_cpu, cold, bytes) = colds[2];
        let mut warm = Vec::new();
        for _ in 0..5 {
            let (start, cpu) = (Instant::now(), thread_cpu());
            query(&e, &root, format, false);
            warm.push((thread_cpu() - cpu, start.elapsed()));
        }
        warm.sort();
        let (lines, _) = query(&e, &root, format, true);
        println!(
            "  {format:<8} cold {:>6.1} ms CPU ({:.1} wall, median of 5; first in process {:.1})   warm {:>6.1} ms CPU ({:.1} wall, median of 5)   {lines} lines, {:.1} MiB body, peak RSS growth {:.1} MiB",
            cold_cpu.as_secs_f64() * 1e3,
            cold.as_secs_f64() * 1e3,
            first.0.as_secs_f64() * 1e3,
            warm[2].0.as_secs_f64() * 1e3,
            warm[2].1.as_secs_f64() * 1e3,
            bytes as f64 / 1048576.0,
            peak.saturating_sub(rss_before) as f64 / 1024.0
        );
    }
}
