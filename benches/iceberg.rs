//! The Iceberg catalog through the engine, on one thread: LoadTable of a table whose current
//! metadata file is 1 MiB (hint read, file read, body streamed in 64 KiB pieces), with the peak
//! memory the exchange adds over the file the host read; and the S3 remote signer (a whole
//! `POST …/sign` exchange: token, grant, JSON request parsed, SigV4 header signature, JSON reply).
//!
//! Run with `cargo bench --bench iceberg`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::Instant;

use opensharing::auth::token_sha256_hex;
use opensharing::{Engine, IoNeed, IoResult, Method, Request, Step};

/// Counts live heap bytes and their peak while [`COUNTING`] is on (the LoadTable section);
/// otherwise it is the system allocator, so the signing figures carry no counting cost.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            let size = layout.size() as isize;
            let now = LIVE.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TOKEN: &str = "bench-token-0123456789abcdef";
const NOW: i64 = 1_767_225_600_000;
const TABLE: &str = "/delta-sharing/iceberg/v1/shares/s/namespaces/d/tables/t";

fn engine() -> Engine {
    let config = serde_json::json!({
        "endpoint": "https://sharing.example.com/delta-sharing",
        "stores": {"lake": {"kind": "s3", "bucket": "lake", "region": "us-east-1",
                            "endpoint": "http://127.0.0.1:9000", "path_style": true,
                            "access_key_id": "AKIDEXAMPLE", "secret_access_key": "secret"}},
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            {"type": "iceberg_table", "name": "t", "store": "lake", "path": "wh/d/t"}]}]}],
        "recipients": [{"name": "bench", "token_sha256": token_sha256_hex(TOKEN), "shares": ["s"]}]
    });
    Engine::from_json(config.to_string().as_bytes(), &|_| None).unwrap()
}

/// Table metadata of about `size` bytes: many snapshots, as a long-lived table has.
fn metadata(size: usize) -> Vec<u8> {
    let mut snapshots = Vec::new();
    let mut len = 0;
    let mut i = 0u64;
    while len < size {
        let s = format!(
            "{{\"snapshot-id\":{},\"parent-snapshot-id\":{},\"sequence-number\":{i},\"timestamp-ms\":{},\
             \"manifest-list\":\"s3://lake/wh/d/t/metadata/snap-{}-1-6f7a0b5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b.avro\",\
             \"summary\":{{\"operation\":\"append\",\"added-data-files\":\"1\",\"added-records\":\"1000\"}},\"schema-id\":0}}",
            1_000_000 + i,
            999_999 + i,
            1_700_000_000_000u64 + i,
            1_000_000 + i
        );
        len += s.len() + 1;
        snapshots.push(s);
        i += 1;
    }
    format!(
        "{{\"format-version\":2,\"table-uuid\":\"9c12d441-03fe-4693-9a96-a0705ddf69c1\",\"location\":\"s3://lake/wh/d/t\",\
         \"last-sequence-number\":{i},\"snapshots\":[{}]}}",
        snapshots.join(",")
    )
    .into_bytes()
}

/// One exchange; `io` answers its needs, `buf` receives the body (the host's buffer, reused
/// across exchanges as a server reuses its write buffer). Returns the body length.
fn run(engine: &Engine, request: Request, buf: &mut [u8], mut io: impl FnMut(&IoNeed) -> IoResult) -> usize {
    let mut ex = engine.handle(request, NOW);
    let mut len = 0;
    loop {
        match ex.poll() {
            Step::Need(id, need) => {
                let answer = io(need);
                ex.supply(id, answer).unwrap();
            }
            Step::Wait => unreachable!("every need is answered when handed out"),
            Step::Head(head) => assert_eq!(head.status, 200),
            Step::Body => loop {
                let n = ex.read(buf);
                if n == 0 {
                    break;
                }
                len += n;
            },
            Step::ServeFile(file) => unreachable!("no file URL is requested: {file:?}"),
            Step::Done(_) => return len,
        }
    }
}

fn load(engine: &Engine, file: &mut Option<Vec<u8>>) -> usize {
    let request = Request::new(Method::Get, TABLE).header("Authorization", format!("Bearer {TOKEN}"));
    let mut buf = vec![0u8; 64 * 1024];
    run(engine, request, &mut buf, |need| match need {
        IoNeed::Get { key, .. } if key.ends_with("version-hint.text") => IoResult::Bytes(b"7".to_vec().into()),
        IoNeed::Get { .. } => IoResult::Bytes(file.take().expect("one metadata read").into()),
        other => panic!("unexpected {other:?}"),
    })
}

/// Thread CPU time in seconds.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Whether the section `name` runs: all of them without arguments, else those named.
fn selected(name: &str) -> bool {
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    wanted.is_empty() || wanted.iter().any(|w| name.contains(w.as_str()))
}

fn main() {
    let engine = engine();
    if selected("load") {
        load_table(&engine);
    }
    if selected("sign") {
        sign(&engine);
    }
}

fn load_table(engine: &Engine) {
    let file = metadata(1 << 20);
    let size = file.len();
    // LoadTable: the host's copy of the file is made before the clock and the memory count.
    let iterations = 2000;
    let mut copies: Vec<Option<Vec<u8>>> = Vec::new();
    let mut best = f64::MAX;
    for _ in 0..5 {
        copies.clear();
        copies.extend((0..iterations / 5).map(|_| None));
        let mut elapsed = 0f64;
        for slot in copies.iter_mut() {
            *slot = Some(file.clone());
            let start = Instant::now();
            black_box(load(engine, slot));
            elapsed += start.elapsed().as_secs_f64();
        }
        best = best.min(elapsed / f64::from(iterations / 5));
    }
    let mut host_copy = Some(file.clone());
    COUNTING.store(true, Ordering::Relaxed);
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let body = load(engine, &mut host_copy);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    COUNTING.store(false, Ordering::Relaxed);
    println!("LoadTable, {size} B metadata file: {:.1} µs per call, body {body} B", best * 1e6);
    println!(
        "  peak heap added by the exchange: {peak} B ({:.2}x the file; the file itself came from the host)",
        peak as f64 / size as f64
    );
}

/// The remote signer: rounds of whole `POST …/sign` exchanges (the host's request built and
/// its body copied each time, as a server does), with the median thread CPU time and wall
/// time per exchange. `ICEBERG_SIGN_ROUNDS` and `ICEBERG_SIGN_ITERATIONS` shorten it (for
/// callgrind).
fn sign(engine: &Engine) {
    let env = |name: &str, default: u32| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (rounds, iterations) = (env("ICEBERG_SIGN_ROUNDS", 9), env("ICEBERG_SIGN_ITERATIONS", 100_000));
    let sign_body = serde_json::json!({
        "method": "GET", "region": "us-east-1",
        "uri": "http://127.0.0.1:9000/lake/wh/d/t/data/00000-0-6f7a0b5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b.parquet",
        "headers": {"User-Agent": ["Botocore/1.41.5 ua/2.1 os/linux"], "Range": ["bytes=0-65535"],
                    "amz-sdk-invocation-id": ["5b1c3d6e-0f2a-4b8c-9d7e-1a2b3c4d5e6f"]}
    })
    .to_string();
    let path = format!("{TABLE}/sign");
    let authorization = format!("Bearer {TOKEN}");
    let mut buf = vec![0u8; 64 * 1024];
    let (mut cpu, mut wall) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (start, start_cpu) = (Instant::now(), thread_cpu());
        for _ in 0..iterations {
            let request = Request::new(Method::Post, path.clone())
                .header("Authorization", authorization.clone())
                .body(sign_body.clone());
            black_box(run(engine, request, &mut buf, |_| panic!("the signer needs no IO")));
        }
        cpu.push((thread_cpu() - start_cpu) / f64::from(iterations));
        wall.push(start.elapsed().as_secs_f64() / f64::from(iterations));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (cpu, wall) = (median(&mut cpu), median(&mut wall));
    println!(
        "remote signing, POST …/sign through the engine: {:.2} µs CPU ({:.0} k/s per core), {:.2} µs wall ({:.0} k/s); median of {rounds} × {iterations}",
        cpu * 1e6,
        1e-3 / cpu,
        wall * 1e6,
        1e-3 / wall
    );
}
