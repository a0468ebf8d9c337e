//! Federated recipients inside the engine, one thread: `GET /shares` with an opaque token, with a
//! JWT seen before (served by the verified-token cache), and with first-seen RS256 and ES256
//! JWTs (parse, claims, signature, cache insert).
//!
//! Run with `cargo bench --bench oidc`. Prints thread CPU ns per request (median of 7 runs).

use std::hint::black_box;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use opensharing::auth::token_sha256_hex;
use opensharing::catalog::Catalog;
use opensharing::{Engine, Method, Request, Step};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::json;

const OPAQUE: &str = "bench-token-0123456789abcdef";
const ISSUER: &str = "https://idp.example/tenant";
const NOW: i64 = 1_767_225_600_000;
/// Distinct tokens per first-seen run (the verified-token cache holds 4096).
const FRESH: usize = 2000;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn config(jwks: serde_json::Value) -> String {
    let shares: Vec<_> = (0..10).map(|i| json!({"name": format!("share_{i}"), "schemas": []})).collect();
    let granted: Vec<_> = (0..10).map(|i| format!("share_{i}")).collect();
    json!({
        "token_signing_key": "bench-key-bench-key-bench-key-bench-key",
        "shares": shares,
        "oidc_issuers": [{"issuer": ISSUER, "audiences": ["https://opensharing.example/api"], "jwks": jwks}],
        "recipients": [
            {"name": "opaque", "token_sha256": token_sha256_hex(OPAQUE), "shares": granted},
            {"name": "federated", "shares": granted, "oidc": {"issuer": ISSUER, "subject": "reader"}}
        ]
    })
    .to_string()
}

/// Claims shaped like an `oidc-provider` client-credentials access token.
fn token(jti: usize, alg: &str, kid: &str, sign: &dyn Fn(&[u8]) -> Vec<u8>) -> String {
    let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
    let claims = json!({"jti": format!("jti-{jti:08}-abcdefghijklmnopqrstuvwx"), "sub": "reader", "iat": NOW / 1000,
        "exp": NOW / 1000 + 3600, "scope": "share", "client_id": "reader", "iss": ISSUER,
        "aud": "https://opensharing.example/api"});
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn list_shares(engine: &Engine, auth: &str) -> u16 {
    let request = Request::new(Method::Get, "/delta-sharing/shares").header("Authorization", auth);
    let mut ex = engine.handle(request, NOW);
    let mut status = 0;
    let mut buf = [0u8; 4096];
    loop {
        match ex.poll() {
            Step::Wait => unreachable!("no IO is asked"),
            Step::Head(head) => status = head.status,
            Step::Body => while ex.read(&mut buf) > 0 {},
            Step::Need(_, need) => panic!("unexpected IO {need:?}"),
            Step::ServeFile(file) => unreachable!("no file URL is requested: {file:?}"),
            Step::Done(_) => return status,
        }
    }
}

/// CPU time of this thread, so other processes on the machine's two cores do not skew it.
fn thread_cpu_ns() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// Median of 7 runs of `iterations` calls; `before_run` is not timed.
fn measure(name: &str, iterations: usize, mut before_run: impl FnMut(), mut f: impl FnMut(usize)) -> f64 {
    let mut runs = Vec::new();
    for _ in 0..7 {
        before_run();
        let start = thread_cpu_ns();
        for i in 0..iterations {
            f(i);
        }
        runs.push((thread_cpu_ns() - start) / iterations as f64);
    }
    runs.sort_by(f64::total_cmp);
    println!("{name:<52} {:>9.0} ns/request  {:>10.0} requests/s", runs[3], 1e9 / runs[3]);
    runs[3]
}

fn main() {
    let rng = SystemRandom::new();
    let pem = include_str!("../tests/vectors/jwt/rsa2048.pkcs8.pem");
    let der = STANDARD.decode(pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>()).unwrap();
    let rsa = RsaKeyPair::from_pkcs8(&der).unwrap();
    let rsa_public = signature::RsaPublicKeyComponents::<Vec<u8>>::from(rsa.public());
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let ec = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = ec.public_key().as_ref();
    let jwks = json!({"keys": [
        {"kty": "RSA", "kid": "rsa", "n": b64(&rsa_public.n), "e": b64(&rsa_public.e)},
        {"kty": "EC", "crv": "P-256", "kid": "ec", "x": b64(&point[1..33]), "y": b64(&point[33..])}
    ]});
    let json = config(jwks);
    let engine = Engine::from_json(json.as_bytes(), &|_| None).unwrap();
    let reload = || engine.reload(Catalog::from_json(json.as_bytes(), &|_| None).unwrap()).unwrap();

    let sign_rsa = |input: &[u8]| {
        let mut sig = vec![0; rsa.public().modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut sig).unwrap();
        sig
    };
    let sign_ec = |input: &[u8]| ec.sign(&rng, input).unwrap().as_ref().to_vec();
    let rs256: Vec<String> = (0..FRESH).map(|i| format!("Bearer {}", token(i, "RS256", "rsa", &sign_rsa))).collect();
    let es256: Vec<String> = (0..FRESH).map(|i| format!("Bearer {}", token(i, "ES256", "ec", &sign_ec))).collect();
    println!("token length: {} bytes (RS256), {} bytes (ES256)", rs256[0].len() - 7, es256[0].len() - 7);

    let opaque = format!("Bearer {OPAQUE}");
    assert_eq!(list_shares(&engine, &opaque), 200);
    assert_eq!(list_shares(&engine, &rs256[0]), 200);
    let base = measure(
        "GET /shares, opaque token",
        200_000,
        || {},
        |_| {
            black_box(list_shares(&engine, &opaque));
        },
    );
    let repeated = measure(
        "GET /shares, repeated RS256 JWT (cached)",
        200_000,
        || {},
        |_| {
            black_box(list_shares(&engine, &rs256[0]));
        },
    );
    println!("repeated JWT / opaque: {:.2}x", repeated / base);
    let first_rs = measure("GET /shares, first-seen RS256 JWT", FRESH, reload, |i| {
        assert_eq!(list_shares(&engine, &rs256[i]), 200);
    });
    let first_es = measure("GET /shares, first-seen ES256 JWT", FRESH, reload, |i| {
        assert_eq!(list_shares(&engine, &es256[i]), 200);
    });
    println!(
        "verification beyond the cached path: RS256 {:.1} µs, ES256 {:.1} µs",
        (first_rs - repeated) / 1000.0,
        (first_es - repeated) / 1000.0
    );
}
