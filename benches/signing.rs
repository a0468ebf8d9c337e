//! Signing throughput on one thread: the bare hashing cost a presign cannot avoid, next to our
//! S3 batch path and the general path. Run with `cargo bench --bench signing`.

use std::hint::black_box;

use opensharing::signing::s3::{S3Location, S3Presigner};
use opensharing::signing::sigv4::Credentials;
use ring::{digest, hmac};

#[path = "support/rate.rs"]
mod rate;
use rate::rate;

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
        #[cfg(feature = "server")]
        {
            let oracle = object_store_rate(token, &keys);
            println!("    batch / object_store = {:.1}", fast / oracle);
        }
    }
    #[cfg(not(feature = "server"))]
    println!("(d) object_store's signer: run with --features server to measure it in the same run");
}

/// (d): object_store's S3 signer for the same bucket, keys and credentials. With static
/// credentials `signed_url` does no IO; a current-thread runtime drives its future.
#[cfg(feature = "server")]
fn object_store_rate(token: Option<&str>, keys: &[String]) -> f64 {
    use object_store::signer::Signer;
    // object_store's reqwest client needs a process crypto provider even though signing does
    // no IO (the `opensharing` binary installs the same one in main).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = object_store::aws::AmazonS3Builder::new()
        .with_region("us-east-1")
        .with_bucket_name("lake")
        .with_endpoint("http://127.0.0.1:9000")
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_access_key_id("AKIAOPENSHARING")
        .with_secret_access_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    if let Some(t) = token {
        builder = builder.with_token(t);
    }
    let s3 = builder.build().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let label = if token.is_some() { "(d) object_store signer + session token" } else { "(d) object_store signer" };
    rate(label, 50_000, |i| {
        let path = object_store::path::Path::from(keys[(i & 1023) as usize].as_str());
        let url = runtime.block_on(s3.signed_url(
            object_store::signer::Method::GET,
            &path,
            std::time::Duration::from_secs(3600),
        ));
        black_box(url.unwrap());
    })
}
