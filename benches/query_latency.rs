//! Cold `/query` over a slow object store: every IO round trip costs a simulated 20 ms.
//!
//! Three log layouts (written by `benches/make_latency_tables.py` with pyarrow on first use):
//! a checkpoint and 10 commits, a 4-part classic checkpoint, and a v2 checkpoint with 4
//! sidecars. Each is queried by two hosts over the same files:
//! - `serial`: answers each need before polling again, one 20 ms round trip per need (what every
//!   host paid when the exchange held one need at a time);
//! - `batched`: polls until the exchange waits, then answers every outstanding need after one
//!   20 ms sleep (a concurrent host: one round trip for all of them).
//!
//! It prints the time to the first body byte and to the last, and the sequential round trips.
//! Run with `cargo bench --bench query_latency`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use opensharing::auth::token_sha256_hex;
use opensharing::{Engine, Method, Request, Step};

#[path = "../tests/common/mod.rs"]
mod common;

/// Active files per table.
const FILES: usize = 10_000;
/// The simulated latency of one storage request.
const ROUND_TRIP: Duration = Duration::from_millis(20);
const LAYOUTS: [(&str, &str); 3] =
    [("commits", "checkpoint + 10 commits"), ("multipart", "4-part checkpoint"), ("v2", "v2 checkpoint + 4 sidecars")];

fn tables_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("latency-tables-{FILES}"));
    if !root.join("v2/_delta_log/_last_checkpoint").exists() {
        let python = std::env::var("OPENSHARING_PYTHON").unwrap_or_else(|_| "python3".into());
        let status = std::process::Command::new(python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/make_latency_tables.py"))
            .arg(&root)
            .arg(FILES.to_string())
            .status()
            .expect("run make_latency_tables.py (needs pyarrow: scripts/setup.sh installs it)");
        assert!(status.success());
    }
    root
}

fn engine(root: &Path) -> Engine {
    let tables: Vec<serde_json::Value> = LAYOUTS
        .iter()
        .map(|(name, _)| serde_json::json!({"type": "delta_table", "name": name, "store": "disk", "path": name}))
        .collect();
    let config = serde_json::json!({
        "endpoint": "http://127.0.0.1:8080/delta-sharing",
        "token_signing_key": "bench-key-bench-key-bench-key-bench",
        "stores": {"disk": {"kind": "local", "root": root.to_string_lossy()}},
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": tables}]}],
        "recipients": [{"name": "r", "token_sha256": token_sha256_hex("tok"), "shares": ["s"]}]
    });
    Engine::from_json(config.to_string().as_bytes(), &|_| None).unwrap()
}

/// What one cold query took.
struct Run {
    first_byte: Duration,
    last_byte: Duration,
    round_trips: usize,
    needs: usize,
}

/// One cold query (a new engine) of `table`; `batched` as in the module doc.
fn query(root: &Path, table: &str, batched: bool) -> Run {
    let engine = engine(root);
    let mut io = common::disk_io(root);
    let req = Request::new(Method::Post, format!("/delta-sharing/shares/s/schemas/d/tables/{table}/query"))
        .header("Authorization", "Bearer tok")
        .body("{}");
    let start = Instant::now();
    let mut ex = engine.handle(req, 1_767_225_600_000);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut first_byte, mut round_trips, mut needs) = (None, 0, 0);
    let mut handed_out = Vec::new();
    loop {
        match ex.poll() {
            Step::Need(id, need) if batched => handed_out.push((id, need.clone())),
            Step::Need(id, need) => {
                let need = need.clone();
                std::thread::sleep(ROUND_TRIP);
                (round_trips, needs) = (round_trips + 1, needs + 1);
                ex.supply(id, io(&need)).unwrap();
            }
            Step::Wait => {
                std::thread::sleep(ROUND_TRIP);
                (round_trips, needs) = (round_trips + 1, needs + handed_out.len());
                for (id, need) in handed_out.drain(..) {
                    ex.supply(id, io(&need)).unwrap();
                }
            }
            Step::Head(h) => assert_eq!(h.status, 200, "{table}"),
            Step::Body => loop {
                let n = ex.read(&mut buf);
                if n == 0 {
                    break;
                }
                first_byte.get_or_insert_with(|| start.elapsed());
            },
            Step::ServeFile(file) => unreachable!("no file URL is requested: {file:?}"),
            Step::Done(_) => {
                let last_byte = start.elapsed();
                return Run { first_byte: first_byte.unwrap_or(last_byte), last_byte, round_trips, needs };
            }
        }
    }
}

fn main() {
    let root = tables_root();
    println!("cold /query, {FILES} files, {} ms per storage round trip (median of 3)", ROUND_TRIP.as_millis());
    println!(
        "  {:<28} {:<8} {:>12} {:>12} {:>12} {:>6}",
        "layout", "host", "first byte", "last byte", "round trips", "needs"
    );
    for (table, label) in LAYOUTS {
        for (host, batched) in [("serial", false), ("batched", true)] {
            let mut runs: Vec<Run> = (0..3).map(|_| query(&root, table, batched)).collect();
            runs.sort_by_key(|r| r.last_byte);
            let r = &runs[1];
            println!(
                "  {label:<28} {host:<8} {:>9.1} ms {:>9.1} ms {:>12} {:>6}",
                r.first_byte.as_secs_f64() * 1e3,
                r.last_byte.as_secs_f64() * 1e3,
                r.round_trips,
                r.needs
            );
        }
    }
}
