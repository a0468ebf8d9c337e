//! Temporary credentials through the engine, on one thread: a grant served from the cache, a
//! fresh Azure SAS, and an STS `AssumeRole` (building and signing the call, then parsing the
//! reply; the network round trip is the host's and is not counted).
//!
//! Run with `cargo bench --bench credentials`.

use std::hint::black_box;

use base64::Engine as _;
use opensharing::auth::token_sha256_hex;
use opensharing::{Engine, HttpReply, IoResult, Method, Request, Step};

#[path = "support/rate.rs"]
mod support;

const TOKEN: &str = "bench-token-0123456789abcdef";
const NOW: i64 = 1_767_225_600_000;

/// An STS reply whose credentials expire an hour after `now_ms`.
fn sts_reply(now_ms: i64) -> Vec<u8> {
    let expiry = time::OffsetDateTime::from_unix_timestamp(now_ms / 1000 + 3600).unwrap();
    let expiry = expiry.format(&time::format_description::well_known::Rfc3339).unwrap();
    format!(
        "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>\
         <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>\
         <SessionToken>FwoGZXIvYXdzEXAMPLE</SessionToken><Expiration>{expiry}</Expiration></Credentials>\
         </AssumeRoleResult></AssumeRoleResponse>"
    )
    .into_bytes()
}

fn engine() -> Engine {
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
    let config = serde_json::json!({
        "stores": {
            "aws": {"kind": "s3", "bucket": "b", "region": "us-east-1", "access_key_id": "AKIDEXAMPLE",
                    "secret_access_key": "secret", "vend": {"sts": {"role_arn": "arn:aws:iam::123456789012:role/reader"}}},
            "az": {"kind": "azure", "account": "acct", "container": "data", "account_key": key,
                   "vend": {"scope": "directory"}}
        },
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            {"type": "volume", "name": "sts", "store": "aws", "path": "volumes/sts"},
            {"type": "volume", "name": "sas", "store": "az", "path": "volumes/sas"}]}]}],
        "recipients": [{"name": "bench", "token_sha256": token_sha256_hex(TOKEN), "shares": ["s"]}]
    });
    Engine::from_json(config.to_string().as_bytes(), &|_| None).unwrap()
}

/// One credentials request at `now`; returns the body length.
fn vend(engine: &Engine, volume: &str, now: i64) -> usize {
    let request = Request::new(
        Method::Post,
        format!("/delta-sharing/shares/s/schemas/d/volumes/{volume}/temporary-volume-credentials"),
    )
    .header("Authorization", format!("Bearer {TOKEN}"));
    let mut ex = engine.handle(request, now);
    let mut buf = [0u8; 4096];
    let mut len = 0;
    let mut status = 0;
    loop {
        match ex.poll() {
            Step::Need(id, _) => ex
                .supply(id, IoResult::Http(HttpReply { status: 200, body: sts_reply(now), headers: Vec::new() }))
                .unwrap(),
            Step::Wait => unreachable!("every need is answered when handed out"),
            Step::Head(head) => status = head.status,
            Step::Body => loop {
                let n = ex.read(&mut buf);
                if n == 0 {
                    break;
                }
                len += n;
            },
            Step::ServeFile(file) => unreachable!("no file URL is requested: {file:?}"),
            Step::Done(_) => {
                assert_eq!(status, 200, "the bench measures grants");
                return len;
            }
        }
    }
}

fn main() {
    let engine = engine();
    support::rate("grant from the cache (STS volume)", 200_000, |_| {
        black_box(vend(&engine, "sts", NOW));
    });
    // Each request an hour after the last, so the cache never answers.
    let mut now = NOW;
    let mut later = || {
        now += 3_600_000;
        now
    };
    support::rate("fresh Azure directory SAS", 100_000, |_| {
        black_box(vend(&engine, "sas", later()));
    });
    support::rate("fresh STS AssumeRole: sign the call, parse the reply", 100_000, |_| {
        black_box(vend(&engine, "sts", later()));
    });
}
