//! Helpers shared by the integration tests: a catalog fixture and an exchange driver.
#![allow(dead_code)]

use opensharing::auth::{token_sha256_hex, AuditEvent};
use opensharing::{Engine, IoNeed, IoResult, Listing, Method, ObjectMeta, Request, Step};

/// Time used by tests: 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600_000;

pub const TOKEN_ACME: &str = "acme-token-0123456789";
pub const TOKEN_BETA: &str = "beta-token-9876543210";
pub const TOKEN_OLD: &str = "old-token-expired";

/// A catalog with two shares, several schemas and every asset kind.
pub fn config_json(log_root: &str) -> String {
    serde_json::json!({
        "endpoint": "http://127.0.0.1:8080/delta-sharing",
        "stores": {"disk": {"kind": "local", "root": log_root}},
        "token_signing_key": "0123456789abcdef0123456789abcdef",
        "shares": [
            {"name": "sales", "comment": "Sales data", "properties": {"owner": "finance"}, "schemas": [
                {"name": "default", "assets": [
                    {"type": "delta_table", "name": "orders", "store": "disk", "path": "orders",
                     "governance": {"license": "CC-BY-4.0", "provenance": "ERP export"}},
                    {"type": "delta_table", "name": "customers", "store": "disk", "path": "customers"},
                    {"type": "volume", "name": "raw", "store": "disk", "path": "raw"},
                    {"type": "model", "name": "churn", "store": "disk", "aliases": {"champion": 1}, "versions": [
                        {"version": 1, "path": "models/churn/1"}]},
                    {"type": "skill", "name": "report-writer", "store": "disk", "path": "skills/report-writer",
                     "description": "Writes sales reports", "governance": {"license": "Apache-2.0"}}
                ]},
                {"name": "archive", "assets": [
                    {"type": "delta_table", "name": "orders_2020", "store": "disk", "path": "orders_2020"}
                ]}
            ]},
            {"name": "ops", "schemas": [{"name": "default", "assets": [
                {"type": "delta_table", "name": "events", "store": "disk", "path": "events"}]}]},
            {"name": "secret", "schemas": []}
        ],
        "recipients": [
            {"name": "acme", "token_sha256": token_sha256_hex(TOKEN_ACME), "shares": ["sales", "ops"]},
            {"name": "beta", "token_sha256": token_sha256_hex(TOKEN_BETA), "shares": ["ops"]},
            {"name": "old", "token_sha256": token_sha256_hex(TOKEN_OLD), "shares": ["sales"],
             "expires_at": "2025-01-01T00:00:00Z"}
        ]
    })
    .to_string()
}

pub fn engine() -> Engine {
    Engine::from_json(config_json("/nonexistent").as_bytes(), &|_| None).expect("fixture config is valid")
}

/// xorshift64*: a deterministic generator for hostile inputs, with no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A finished exchange.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub audit: AuditEvent,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn error_code(&self) -> String {
        self.json()["errorCode"].as_str().unwrap_or_default().to_string()
    }

    pub fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or_default().to_string()
    }
}

/// Drives an exchange to the end, answering IO needs with `io` and reading the body in small
/// pieces to exercise chunking. Needs are collected until the exchange waits, then answered
/// newest first, as a concurrent host may.
pub fn drive(engine: &Engine, request: Request, now: i64, mut io: impl FnMut(&IoNeed) -> IoResult) -> Reply {
    let mut ex = engine.handle(request, now);
    let mut head = None;
    let mut body = Vec::new();
    let mut handed_out = Vec::new();
    loop {
        match ex.poll() {
            Step::Need(id, need) => handed_out.push((id, need.clone())),
            Step::Wait => {
                while let Some((id, need)) = handed_out.pop() {
                    ex.supply(id, io(&need)).expect("the need is outstanding");
                }
            }
            Step::Head(h) => head = Some(h.clone()),
            Step::Body => {
                let mut buf = [0u8; 7];
                loop {
                    let n = ex.read(&mut buf);
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&buf[..n]);
                }
            }
            // A local-store file: the host sends the range, read as a `Get` need would be.
            Step::ServeFile(file) => {
                let read = IoNeed::Get { store: file.store.clone(), key: file.key.clone(), range: Some(file.range) };
                match io(&read) {
                    IoResult::Bytes(bytes) => body.extend_from_slice(&bytes),
                    other => panic!("the granted file could not be read: {other:?}"),
                }
            }
            Step::Done(audit) => {
                let head = head.expect("head before done");
                let headers = head.headers.into_iter().map(|(n, v)| (n.into_owned(), v.into_owned())).collect();
                return Reply { status: head.status, headers, body, audit: audit.clone() };
            }
        }
    }
}

/// Answers IO from a directory on disk (the `local` store's root). Listings are recursive,
/// sorted by key and cut at `max_keys`, as every host does.
pub fn disk_io(root: &std::path::Path) -> impl FnMut(&IoNeed) -> IoResult + '_ {
    move |need| match need {
        IoNeed::List { prefix, start_after, max_keys, .. } => {
            let base = prefix.rfind('/').map_or("", |i| &prefix[..=i]);
            if !root.join(base).is_dir() {
                return IoResult::NotFound;
            }
            let mut list = Vec::new();
            walk(&root.join(base), base, &mut list);
            list.retain(|m| {
                m.key.starts_with(prefix.as_str()) && start_after.as_ref().is_none_or(|s| m.key.as_str() > s.as_str())
            });
            list.sort_by(|a, b| a.key.cmp(&b.key));
            IoResult::Listing(Listing::page(list, *max_keys))
        }
        IoNeed::Get { key, range, .. } => match std::fs::read(root.join(key)) {
            Ok(b) => match range {
                Some(r) => IoResult::Bytes(b.get(r.start as usize..r.end as usize).unwrap_or_default().to_vec().into()),
                None => IoResult::Bytes(b.into()),
            },
            Err(_) => IoResult::NotFound,
        },
        IoNeed::Head { key, .. } => match std::fs::metadata(root.join(key)) {
            Ok(m) => IoResult::Meta(ObjectMeta { key: key.clone(), size: m.len(), last_modified_ms: 0 }),
            Err(_) => IoResult::NotFound,
        },
        IoNeed::Http(call) => IoResult::Failed(format!("disk_io sends no HTTP ({})", call.url)),
        IoNeed::RequestBody { .. } => IoResult::Failed("disk_io requests carry their body".into()),
    }
}

/// Every file below `dir` (whose key is `key_base`), recursively.
fn walk(dir: &std::path::Path, key_base: &str, out: &mut Vec<ObjectMeta>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = e.metadata().unwrap();
        if meta.is_dir() {
            walk(&e.path(), &format!("{key_base}{name}/"), out);
        } else if meta.is_file() {
            let mtime = meta.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
            out.push(ObjectMeta { key: format!("{key_base}{name}"), size: meta.len(), last_modified_ms: mtime });
        }
    }
}

/// Answers every IO need with a failure (for endpoints that must not do IO).
pub fn no_io(need: &IoNeed) -> IoResult {
    panic!("unexpected IO need {need:?}")
}

pub fn get(target: &str, token: Option<&str>) -> Request {
    let r = Request::new(Method::Get, target);
    match token {
        Some(t) => r.header("Authorization", format!("Bearer {t}")),
        None => r,
    }
}

/// `GET` with the ACME token, answered without IO.
pub fn get_acme(engine: &Engine, target: &str) -> Reply {
    drive(engine, get(target, Some(TOKEN_ACME)), NOW, no_io)
}
