//! The files listing inside the engine: a volume of 100,000 files listed in pages of 1,000 with
//! signed URLs, the listing needs answered from memory (a sorted key list, cut at `max_keys`),
//! on one thread. Target: at least 1 M entries per second per core. Then one signed local file
//! URL answered through `Engine::handle` (signature, lookup, `Range`, head, the file step), as
//! every host now serves them.
//!
//! Run with `cargo bench --bench files`.

use std::hint::black_box;
use std::time::Instant;

use base64::Engine as _;
use opensharing::auth::token_sha256_hex;
use opensharing::{Engine, IoNeed, IoResult, Listing, Method, ObjectMeta, Request, Step};

/// How many file requests one round of the file bench makes.
const FILE_REQUESTS: usize = 200_000;

const TOKEN: &str = "bench-token-0123456789abcdef";
const NOW: i64 = 1_767_225_600_000;
const FILES: usize = 100_000;
const PAGE: usize = 1_000;

fn engine() -> Engine {
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
    let config = serde_json::json!({
        "endpoint": "https://share.example.com/delta-sharing",
        "token_signing_key": "0123456789abcdef0123456789abcdef",
        "stores": {
            "aws": {"kind": "s3", "bucket": "b", "region": "us-east-1", "access_key_id": "AKIDEXAMPLE",
                    "secret_access_key": "secret"},
            "az": {"kind": "azure", "account": "acct", "container": "data", "account_key": key},
            "disk": {"kind": "local", "root": "/data"}
        },
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            {"type": "volume", "name": "s3", "store": "aws", "path": "vol"},
            {"type": "volume", "name": "azure", "store": "az", "path": "vol"},
            {"type": "volume", "name": "local", "store": "disk", "path": "vol"}]}]}],
        "recipients": [{"name": "bench", "token_sha256": token_sha256_hex(TOKEN), "shares": ["s"]}]
    });
    Engine::from_json(config.to_string().as_bytes(), &|_| None).unwrap()
}

/// The volume's objects, sorted by key.
fn objects() -> Vec<ObjectMeta> {
    (0..FILES)
        .map(|i| ObjectMeta {
            key: format!("vol/day={:03}/part-{i:06}-c000.snappy.parquet", i / 1000),
            size: 1_048_576 + i as u64,
            last_modified_ms: NOW - i as i64,
        })
        .collect()
}

/// Answers a listing need from `objects` as a host with a sorted index does.
fn answer(objects: &[ObjectMeta], need: &IoNeed) -> IoResult {
    let IoNeed::List { prefix, start_after, max_keys, .. } = need else { panic!("only listings") };
    let from = match start_after {
        Some(after) => objects.partition_point(|o| o.key.as_str() <= after.as_str()),
        None => objects.partition_point(|o| o.key.as_str() < prefix.as_str()),
    };
    let take = max_keys.map_or(objects.len(), |m| m + 1);
    let end = (from + take).min(objects.len());
    IoResult::Listing(Listing::page(objects[from..end].to_vec(), *max_keys))
}

/// Lists the whole volume page by page; returns how many entries came back.
fn list_all(engine: &Engine, volume: &str, objects: &[ObjectMeta], buf: &mut Vec<u8>) -> usize {
    let (mut entries, mut token) = (0, None::<String>);
    loop {
        let mut target = format!("/delta-sharing/shares/s/schemas/d/volumes/{volume}/files?maxResults={PAGE}");
        if let Some(t) = &token {
            target.push_str("&pageToken=");
            target.push_str(t);
        }
        let request = Request::new(Method::Get, target).header("Authorization", format!("Bearer {TOKEN}"));
        let mut ex = engine.handle(request, NOW);
        buf.clear();
        let mut chunk = [0u8; 65536];
        loop {
            match ex.poll() {
                Step::Need(id, need) => {
                    let result = answer(objects, need);
                    ex.supply(id, result).unwrap();
                }
                Step::Wait => unreachable!("every need is answered when handed out"),
                Step::Head(head) => assert_eq!(head.status, 200),
                Step::Body => loop {
                    let n = ex.read(&mut chunk);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                },
                Step::ServeFile(file) => unreachable!("no file URL is requested: {file:?}"),
                Step::Done(audit) => {
                    entries += audit.urls_signed as usize;
                    break;
                }
            }
        }
        let body = std::str::from_utf8(buf).unwrap();
        token = body.split_once("\"nextPageToken\":\"").map(|(_, rest)| rest[..rest.find('"').unwrap()].to_string());
        if token.is_none() {
            return entries;
        }
    }
}

/// One signed local file URL through the exchange, a `Range` asked; returns the range length.
fn serve_file(engine: &Engine, target: &str) -> u64 {
    let request = Request::new(Method::Get, target).header("Range", "bytes=100-");
    let mut ex = engine.handle(request, NOW);
    let mut sent = 0;
    loop {
        match ex.poll() {
            Step::Need(id, IoNeed::Head { key, .. }) => {
                let meta = ObjectMeta { key: key.clone(), size: 1_048_576, last_modified_ms: NOW };
                ex.supply(id, IoResult::Meta(meta)).unwrap();
            }
            Step::Head(head) => assert_eq!(head.status, 206),
            Step::ServeFile(file) => sent = file.range.len(),
            Step::Done(_) => return sent,
            other => panic!("a file exchange gave {other:?}"),
        }
    }
}

fn main() {
    let engine = engine();
    let url = engine.sign_url("disk", "vol/day=001/part-000001-c000.snappy.parquet", NOW, 3600).unwrap();
    let target = url.strip_prefix("https://share.example.com").unwrap();
    let mut best = 0f64;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..FILE_REQUESTS {
            assert_eq!(black_box(serve_file(&engine, black_box(target))), 1_048_476);
        }
        best = best.max(FILE_REQUESTS as f64 / start.elapsed().as_secs_f64());
    }
    println!("{:<58} {best:>12.0} /s", "signed local file URL through Engine::handle (requests)");
    let objects = objects();
    let mut buf = Vec::new();
    for (volume, scheme) in [("s3", "S3 SigV4"), ("local", "local HMAC"), ("azure", "Azure SAS")] {
        let mut best = 0f64;
        for _ in 0..5 {
            let start = Instant::now();
            let listed = black_box(list_all(&engine, volume, &objects, &mut buf));
            assert_eq!(listed, FILES);
            best = best.max(FILES as f64 / start.elapsed().as_secs_f64());
        }
        println!("{:<58} {best:>12.0} /s", format!("files listing, pages of {PAGE}, {scheme} URLs (entries)"));
    }
}
