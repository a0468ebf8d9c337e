//! Discovery requests through `Engine::handle`, in-process: `GET /shares` and a paged `all-tables`;
//! and the cost of a recipient's rate limit, alone and on `GET /shares`.
//!
//! Run with `cargo bench --bench discovery`. Prints thread CPU ns per request (median of 7 runs).

use std::hint::black_box;

use opensharing::auth::{token_sha256_hex, RateLimit, RateLimiter};
use opensharing::{Engine, Method, Request, Step};

const TOKEN: &str = "bench-token-0123456789abcdef";
const NOW: i64 = 1_767_225_600_000;

fn config(rate_limit: Option<serde_json::Value>) -> String {
    let tables: Vec<_> = (0..1000)
        .map(|i| serde_json::json!({"type": "delta_table", "name": format!("table_{i:04}"), "store": "disk", "path": format!("t/{i}")}))
        .collect();
    let shares: Vec<_> = (0..10)
        .map(|i| serde_json::json!({"name": format!("share_{i}"), "schemas": [{"name": "default", "assets": tables}]}))
        .collect();
    let mut config = serde_json::json!({
        "stores": {"disk": {"kind": "local", "root": "/srv"}},
        "token_signing_key": "bench-key-bench-key-bench-key-bench-key",
        "shares": shares,
        "recipients": [{"name": "bench", "token_sha256": token_sha256_hex(TOKEN),
                        "shares": (0..10).map(|i| format!("share_{i}")).collect::<Vec<_>>()}]
    });
    if let Some(limit) = rate_limit {
        config["rate_limit"] = limit;
    }
    config.to_string()
}

/// One request through the engine, its body read in 16 KiB pieces as a host does; returns the
/// body length.
fn request(engine: &Engine, target: &str, auth: &str, body: &mut Vec<u8>) -> usize {
    body.clear();
    let mut exchange = engine.handle(Request::new(Method::Get, target).header("Authorization", auth), NOW);
    let mut buf = [0u8; 16 * 1024];
    loop {
        match exchange.poll() {
            Step::Head(_) => {}
            Step::Body => loop {
                let n = exchange.read(&mut buf);
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&buf[..n]);
            },
            _ => break,
        }
    }
    body.len()
}

/// CPU time of this thread, so other processes on the machine's two cores do not skew it.
fn thread_cpu_ns() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

fn measure(name: &str, iterations: u32, mut f: impl FnMut()) {
    let mut runs = Vec::new();
    for _ in 0..7 {
        let start = thread_cpu_ns();
        for _ in 0..iterations {
            f();
        }
        runs.push((thread_cpu_ns() - start) / f64::from(iterations));
    }
    runs.sort_by(f64::total_cmp);
    println!("{name:<44} {:>9.0} ns/request  {:>10.0} requests/s", runs[3], 1e9 / runs[3]);
}

fn main() {
    let json = config(None);
    let engine = Engine::from_json(json.as_bytes(), &|_| None).expect("the bench config loads");
    let auth = format!("Bearer {TOKEN}");
    let mut body = Vec::new();

    measure("GET /shares (10 shares)", 200_000, || {
        black_box(request(&engine, "/delta-sharing/shares", &auth, &mut body));
    });

    // Every page of `all-tables` in a 1000-table share, 100 per page: the tokens are collected
    // first, then the ten pages are requested in turn.
    let first = "/delta-sharing/shares/share_3/all-tables?maxResults=100".to_string();
    let mut targets = vec![first.clone()];
    loop {
        request(&engine, targets.last().unwrap(), &auth, &mut body);
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        match page["nextPageToken"].as_str() {
            Some(t) => targets.push(format!("{first}&pageToken={t}")),
            None => break,
        }
    }
    assert_eq!(targets.len(), 10);
    let mut next = 0;
    measure("GET all-tables page (100 of 1000 tables)", 20_000, || {
        black_box(request(&engine, &targets[next % targets.len()], &auth, &mut body));
        next += 1;
    });
    measure("GET all-tables maxResults=1 (first page)", 200_000, || {
        black_box(request(&engine, "/delta-sharing/shares/share_3/all-tables?maxResults=1", &auth, &mut body));
    });

    // The rate limiter alone: one compare-and-swap on one atomic. The clock moves 1 ms per
    // call and the rate is high enough never to refuse, so every call takes the full path.
    let limiter = RateLimiter::new(RateLimit { requests_per_second: 1_000_000.0, burst: 1_000 });
    let mut now = NOW;
    measure("rate limiter acquire (admitted)", 10_000_000, || {
        now += 1;
        black_box(limiter.acquire(black_box(now))).ok();
    });
    // `GET /shares` with and without a (never refusing) rate limit, interleaved so that the
    // machine's load hits both alike. The time stands still here (NOW), so the burst covers
    // every request.
    let limited_json = config(Some(serde_json::json!({"requests_per_second": 1_000_000, "burst": 1_000_000})));
    let limited = Engine::from_json(limited_json.as_bytes(), &|_| None).expect("the limited config loads");
    let plain = Engine::from_json(json.as_bytes(), &|_| None).expect("the bench config loads");
    for _ in 0..2 {
        measure("GET /shares, no rate limit", 50_000, || {
            black_box(request(&plain, "/delta-sharing/shares", &auth, &mut body));
        });
        measure("GET /shares, with a rate limit", 50_000, || {
            black_box(request(&limited, "/delta-sharing/shares", &auth, &mut body));
        });
    }
    assert!(body.starts_with(b"{\"items\""), "the limited engine answered {}", String::from_utf8_lossy(&body));
}
