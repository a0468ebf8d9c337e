//! `/query` on a Parquet dataset of 10,000 files against a Delta table with the same 10,000
//! files (one commit with an `add` and statistics per file), inside the engine, on one thread,
//! with the IO answered from memory: full NDJSON with S3 pre-signed URLs.
//!
//! Cases: cold (new engine: every footer read, or the whole log replayed); changed (the dataset:
//! one file's modification time changed, so its snapshot is rebuilt from 9,999 cached footers
//! and one read; the Delta table: one empty commit added, applied to the cached snapshot; both
//! sign every URL again); and warm (unchanged: the dataset is listed and compared with the
//! cached listing, the Delta log tail is listed; both reuse the last response's signatures).
//! Run with `cargo bench --bench dataset_query`.

use std::time::Duration;

use opensharing::auth::token_sha256_hex;
use opensharing::{Engine, IoNeed, IoResult, Method, Request, Step};
use parquet::basic::Type as Physical;

#[path = "../tests/common/datasets.rs"]
mod datasets;

use datasets::{parquet_file, Store};

const FILES: usize = 10_000;
const PARTITIONS: usize = 10;

/// CPU time of this thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn relative(i: usize) -> String {
    format!("region={}/part-{i:05}.parquet", i % PARTITIONS)
}

/// The same files twice: as a dataset under `data/`, and as a Delta table under `delta/`.
fn store() -> Store {
    let mut store = Store::default();
    let mut log = String::from(
        "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n{\"metaData\":{\"id\":\"t\",\"format\":{\"provider\":\"parquet\"},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"id\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":false,\\\"metadata\\\":{}},{\\\"name\\\":\\\"name\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},{\\\"name\\\":\\\"score\\\",\\\"type\\\":\\\"double\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},{\\\"name\\\":\\\"region\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\",\"partitionColumns\":[\"region\"],\"configuration\":{}}}\n",
    );
    for i in 0..FILES {
        let ids: Vec<i64> = (0..4).map(|k| (i * 4 + k) as i64).collect();
        let bytes = parquet_file(&ids, Physical::INT64, 0);
        let stats = format!(
            "{{\\\"numRecords\\\":4,\\\"minValues\\\":{{\\\"id\\\":{},\\\"name\\\":\\\"n{}\\\",\\\"score\\\":{}.0}},\\\"maxValues\\\":{{\\\"id\\\":{},\\\"name\\\":\\\"n{}\\\",\\\"score\\\":{}.0}},\\\"nullCount\\\":{{\\\"id\\\":0,\\\"name\\\":0,\\\"score\\\":2}}}}",
            ids[0], ids[0], ids[0] / 2, ids[3], ids[3], ids[2] / 2
        );
        log.push_str(&format!(
            "{{\"add\":{{\"path\":\"{}\",\"partitionValues\":{{\"region\":\"{}\"}},\"size\":{},\"modificationTime\":1000,\"dataChange\":true,\"stats\":\"{stats}\"}}}}\n",
            relative(i),
            i % PARTITIONS,
            bytes.len()
        ));
        store.put(&format!("delta/{}", relative(i)), bytes.clone());
        store.put(&format!("data/{}", relative(i)), bytes);
    }
    store.put("delta/_delta_log/00000000000000000000.json", log.into_bytes());
    store
}

fn engine() -> Engine {
    let config = serde_json::json!({
        "endpoint": "http://127.0.0.1:8080/delta-sharing",
        "token_signing_key": "bench-key-bench-key-bench-key-bench",
        "stores": {"lake": {"kind": "s3", "bucket": "lake", "region": "us-east-1", "endpoint": "http://127.0.0.1:9000",
            "path_style": true, "access_key_id": "AKIAOPENSHARING", "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}},
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            {"type": "parquet_dataset", "name": "dataset", "store": "lake", "path": "data"},
            {"type": "delta_table", "name": "delta", "store": "lake", "path": "delta"}]}]}],
        "recipients": [{"name": "r", "token_sha256": token_sha256_hex("tok"), "shares": ["s"]}]
    });
    Engine::from_json(config.to_string().as_bytes(), &|_| None).unwrap()
}

/// One query: (thread CPU of the whole exchange, of it the part spent answering IO, lines).
fn query(engine: &Engine, store: &Store, table: &str, format: &str) -> (Duration, Duration, usize) {
    let req = Request::new(Method::Post, format!("/delta-sharing/shares/s/schemas/d/tables/{table}/query"))
        .header("Authorization", "Bearer tok")
        .header("delta-sharing-capabilities", format!("responseformat={format}"))
        .body("{}");
    let start = thread_cpu();
    let mut io = Duration::ZERO;
    let mut ex = engine.handle(req, 1_767_225_600_000);
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = 0;
    loop {
        match ex.poll() {
            Step::Need(id, n) => {
                let t = thread_cpu();
                let need: IoNeed = n.clone();
                let answer: IoResult = store.answer(&need);
                io += thread_cpu() - t;
                ex.supply(id, answer).unwrap();
            }
            Step::Wait => unreachable!("every need is answered when handed out"),
            Step::Head(h) if h.status != 200 => {
                let status = h.status;
                let n = ex.read(&mut buf);
                panic!("{table}: {status} {}", String::from_utf8_lossy(&buf[..n]));
            }
            Step::Head(_) => {}
            Step::Body => loop {
                let n = ex.read(&mut buf);
                if n == 0 {
                    break;
                }
                lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
            },
            Step::ServeFile(file) => unreachable!("no file URL is requested: {file:?}"),
            Step::Done(_) => return (thread_cpu() - start, io, lines),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median of eleven runs of `f` (which may change the store between runs).
fn median(mut f: impl FnMut() -> (Duration, Duration, usize)) -> (Duration, Duration) {
    let mut runs: Vec<(Duration, Duration)> = (0..11).map(|_| f()).map(|(t, io, _)| (t, io)).collect();
    runs.sort();
    runs[5]
}

fn main() {
    let mut store = store();
    let (mut tick, mut commits) = (2_000i64, 0);
    println!("query on {FILES} files, full NDJSON with S3 pre-signed URLs, one thread, IO answered in memory");
    println!("(CPU ms: whole exchange / of which the in-memory store answering IO)");
    for format in ["parquet", "delta"] {
        for table in ["delta", "dataset"] {
            let e = engine();
            let (cold, cold_io, lines) = query(&e, &store, table, format);
            assert_eq!(lines, FILES + 2, "{table}");
            let (changed, changed_io) = median(|| {
                tick += 1;
                match table {
                    "dataset" => store.touch(&format!("data/{}", relative(17)), tick),
                    _ => {
                        commits += 1;
                        let commit = format!("{{\"commitInfo\":{{\"timestamp\":{tick}}}}}\n");
                        store.put(&format!("delta/_delta_log/{commits:020}.json"), commit.into_bytes());
                    }
                }
                query(&e, &store, table, format)
            });
            let (warm, warm_io) = median(|| query(&e, &store, table, format));
            println!(
                "  {format:<8} {table:<8} cold {:>6.1} / {:>5.1}   changed {:>6.1} / {:>5.1}   warm {:>6.1} / {:>5.1}",
                ms(cold),
                ms(cold_io),
                ms(changed),
                ms(changed_io),
                ms(warm),
                ms(warm_io)
            );
        }
    }
}
