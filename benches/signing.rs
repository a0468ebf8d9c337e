//! Signing throughput on one thread: the bare hashing cost a presign cannot avoid, next to our
//! S3 batch path and the general path. Run with `cargo bench --bench signing`.

use std::hint::black_box;
use std::time::Instant;

use opensharing::signing::s3::{S3Location, S3Presigner};
use opensharing::signing::sigv4::Credentials;
use ring::{digest, hmac};

fn rate(name: &str, iterations: u32, mut f: impl FnMut(u32)) -> f64 {
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

fn main() {
    let now = time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"0123456789abcdef0123456789abcdef");
    let data = [7u8; 200];
    let bare = rate("(a) ring: HMAC-SHA256(200 B) + SHA-256(200 B)", 500_000, |_| {
        black_box(hmac::sign(&key, black_box(&data)));
        black_box(digest::digest(&digest::SHA256, black_box(&data)));
    });
    let keys: Vec<String> = (0..1024)
        .map(|i| {
            format!("tables/trips/city=paris/part-{i:05}-3f8a9aad-d6c1-4c36-8158-1c58fdc75566.c000.snappy.parquet")
        })
        .collect();
    for (label, token) in [("", None), (" + session token", Some("FwoGZXIvYXdzEJr//////////wEaDOSESSIONTOKENEXAMPLE"))]
    {
        let loc = S3Location::new("lake", "us-east-1", Some("http://127.0.0.1:9000"), true).unwrap();
        let creds = Credentials {
            access_key_id: "AKIAOPENSHARING".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: token.map(Into::into),
        };
        let presigner = S3Presigner::new(loc, creds);
        let batch = presigner.batch(now, 3600).unwrap();
        let mut out = String::with_capacity(512);
        let fast = rate(&format!("(b) S3 batch presign, path style + port{label}"), 500_000, |i| {
            out.clear();
            batch.presign_get(&keys[(i & 1023) as usize], &mut out);
            black_box(&out);
        });
        rate(&format!("(c) S3 general presign{label}"), 100_000, |i| {
            black_box(presigner.presign("GET", &keys[(i & 1023) as usize], &[], &[], now, 3600).unwrap());
        });
        println!("    batch / bare hashing = {:.2}", fast / bare);
    }
}
