//! The same endpoints, errors and auth matrix as the integration tests, driven through the C
//! ABI. They live inside the crate because the `ffi` module is private: C reaches it through
//! the exported symbols, Rust code through the engine's own API. The integration tests' fixture
//! is shared with them.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::ptr;

use super::builder::*;
use super::engine::*;
use super::exchange::*;
use super::*;
use common::*;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    audit: String,
    /// The most needs that were outstanding at once.
    most_outstanding: usize,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A directory of this test process under the system's temporary directory.
fn scratch_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("opensharing-ffi-tests-{}", std::process::id())).join(name)
}

fn s(v: opensharing_str) -> String {
    unsafe { String::from_utf8(std::slice::from_raw_parts(v.ptr, v.len).to_vec()).unwrap() }
}

fn new_engine(json: &str) -> *mut opensharing_engine {
    let mut engine = ptr::null_mut();
    assert_eq!(
        unsafe { opensharing_engine_new(json.as_ptr(), json.len(), ptr::null(), 0, &mut engine) },
        opensharing_result::OPENSHARING_OK
    );
    engine
}

fn last_error() -> String {
    let mut buf = [0u8; 512];
    let mut n = 0;
    assert_eq!(
        unsafe { opensharing_last_error(buf.as_mut_ptr(), buf.len(), &mut n) },
        opensharing_result::OPENSHARING_OK
    );
    String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned()
}

/// An `Authorization` header for `auth` (`Bearer …`), borrowing it.
fn authorization(auth: &str) -> opensharing_header {
    opensharing_header { name: b"Authorization".as_ptr(), name_len: 13, value: auth.as_ptr(), value_len: auth.len() }
}

/// A body-less request borrowing `method`, `target` and `headers`.
fn request(method: &str, target: &str, headers: &[opensharing_header]) -> opensharing_request {
    opensharing_request {
        method: method.as_ptr(),
        method_len: method.len(),
        target: target.as_ptr(),
        target_len: target.len(),
        headers: headers.as_ptr(),
        header_count: headers.len(),
        body: ptr::null(),
        body_len: 0,
        body_pending: false,
        peer: ptr::null(),
        peer_len: 0,
    }
}

/// Runs one request through the C ABI. IO needs are answered from `root` on disk.
fn call(
    engine: *const opensharing_engine,
    method: &str,
    target: &str,
    token: Option<&str>,
    root: &std::path::Path,
) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<opensharing_header> = auth.iter().map(|a| authorization(a)).collect();
    call_with(engine, request(method, target, &headers), root)
}

/// Runs `req` through the C ABI as a host does: IO needs answered from `root` on disk, and a
/// local file's bytes (`OPENSHARING_EVENT_SERVE_FILE`) read from there.
fn call_with(engine: *const opensharing_engine, req: opensharing_request, root: &std::path::Path) -> Reply {
    let mut ex = ptr::null_mut();
    assert_eq!(unsafe { opensharing_engine_handle(engine, &req, NOW, &mut ex) }, opensharing_result::OPENSHARING_OK);
    let mut io = disk_io(root);
    let (mut status, mut hdrs, mut body) = (0, Vec::new(), Vec::new());
    let (mut handed_out, mut most_outstanding) = (Vec::new(), 0);
    unsafe {
        loop {
            let mut event = opensharing_event::OPENSHARING_EVENT_DONE;
            assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
            match event {
                // Needs are collected until the exchange waits, then answered newest first, as a
                // host that performs them concurrently may.
                opensharing_event::OPENSHARING_EVENT_NEED => handed_out.push(describe(ex)),
                opensharing_event::OPENSHARING_EVENT_WAIT => {
                    most_outstanding = most_outstanding.max(handed_out.len());
                    while let Some((id, need)) = handed_out.pop() {
                        answer(ex, id, io(&need));
                    }
                }
                opensharing_event::OPENSHARING_EVENT_SERVE_FILE => {
                    let mut file = std::mem::zeroed::<opensharing_file>();
                    assert_eq!(opensharing_exchange_file(ex, &mut file), opensharing_result::OPENSHARING_OK);
                    assert_eq!(s(file.content_type), "application/octet-stream");
                    let (start, end) = (file.range_start as usize, file.range_end as usize);
                    let bytes = std::fs::read(root.join(s(file.key))).unwrap();
                    body.extend_from_slice(&bytes[start..end]);
                    // The engine holds none of the bytes: there is nothing to read.
                    let (mut buf, mut n) = ([0u8; 4], 0);
                    assert_eq!(
                        opensharing_exchange_read(ex, buf.as_mut_ptr(), buf.len(), &mut n),
                        opensharing_result::OPENSHARING_INVALID_STATE
                    );
                }
                opensharing_event::OPENSHARING_EVENT_HEAD => {
                    assert_eq!(opensharing_exchange_status(ex, &mut status), opensharing_result::OPENSHARING_OK);
                    let mut count = 0;
                    assert_eq!(opensharing_exchange_header_count(ex, &mut count), opensharing_result::OPENSHARING_OK);
                    for i in 0..count {
                        let (mut n, mut v) = (
                            opensharing_str { ptr: ptr::null(), len: 0 },
                            opensharing_str { ptr: ptr::null(), len: 0 },
                        );
                        assert_eq!(
                            opensharing_exchange_header(ex, i, &mut n, &mut v),
                            opensharing_result::OPENSHARING_OK
                        );
                        hdrs.push((s(n), s(v)));
                    }
                    let mut n = opensharing_str { ptr: ptr::null(), len: 0 };
                    assert_eq!(
                        opensharing_exchange_header(ex, count, &mut n, &mut n.clone()),
                        opensharing_result::OPENSHARING_NOT_FOUND
                    );
                }
                opensharing_event::OPENSHARING_EVENT_BODY => {
                    let mut buf = [0u8; 5];
                    loop {
                        let mut n = 0;
                        assert_eq!(
                            opensharing_exchange_read(ex, buf.as_mut_ptr(), buf.len(), &mut n),
                            opensharing_result::OPENSHARING_OK
                        );
                        if n == 0 {
                            break;
                        }
                        body.extend_from_slice(&buf[..n]);
                    }
                }
                opensharing_event::OPENSHARING_EVENT_DONE => break,
            }
        }
        let mut audit = opensharing_str { ptr: ptr::null(), len: 0 };
        assert_eq!(opensharing_exchange_audit_json(ex, &mut audit), opensharing_result::OPENSHARING_OK);
        let audit = s(audit);
        opensharing_exchange_free(ex);
        Reply { status, headers: hdrs, body: String::from_utf8(body).unwrap(), audit, most_outstanding }
    }
}

/// The need the last poll handed out, with its id, as a Rust need.
unsafe fn describe(ex: *const opensharing_exchange) -> (opensharing_need_id, opensharing::IoNeed) {
    unsafe {
        let mut need = std::mem::zeroed::<opensharing_need>();
        assert_eq!(opensharing_exchange_need(ex, &mut need), opensharing_result::OPENSHARING_OK);
        let (store, key) = (s(need.store), s(need.key));
        let rust_need = match need.kind {
            opensharing_need_kind::OPENSHARING_NEED_LIST => opensharing::IoNeed::List {
                store,
                prefix: key,
                start_after: need.has_start_after.then(|| s(need.start_after)),
                max_keys: need.has_max_keys.then_some(need.max_keys),
            },
            opensharing_need_kind::OPENSHARING_NEED_HEAD => opensharing::IoNeed::Head { store, key },
            _ => opensharing::IoNeed::Get { store, key, range: None },
        };
        (need.id, rust_need)
    }
}

/// Answers need `id` of `ex` with `result` through the C ABI.
unsafe fn answer(ex: *mut opensharing_exchange, id: opensharing_need_id, result: opensharing::IoResult) {
    unsafe {
        let meta = |m: &opensharing::ObjectMeta| opensharing_object_meta {
            key: m.key.as_ptr(),
            key_len: m.key.len(),
            size: m.size,
            last_modified_unix_ms: m.last_modified_ms,
        };
        let r = match result {
            opensharing::IoResult::Listing(list) => {
                let metas: Vec<opensharing_object_meta> = list.entries.iter().map(meta).collect();
                let after = list.continue_after.as_deref().unwrap_or("");
                opensharing_exchange_supply_listing_page(
                    ex,
                    id,
                    metas.as_ptr(),
                    metas.len(),
                    after.as_ptr(),
                    after.len(),
                )
            }
            opensharing::IoResult::Bytes(b) => opensharing_exchange_supply_bytes(ex, id, b.as_ptr(), b.len()),
            opensharing::IoResult::Meta(m) => opensharing_exchange_supply_meta(ex, id, &meta(&m)),
            _ => opensharing_exchange_supply_not_found(ex, id),
        };
        assert_eq!(r, opensharing_result::OPENSHARING_OK);
    }
}

fn nowhere() -> std::path::PathBuf {
    std::path::PathBuf::from("/nonexistent")
}

#[test]
fn discovery_and_paging_through_the_c_abi() {
    let e = new_engine(&config_json("/x"));
    let r = call(e, "GET", "/delta-sharing/shares", Some(TOKEN_ACME), &nowhere());
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"][0]["name"], "sales");
    assert!(r.headers.iter().any(|(n, v)| n == "Content-Type" && v.starts_with("application/json")));
    assert!(r.audit.contains("\"recipient\":\"acme\"") && !r.audit.contains(TOKEN_ACME));
    let first = call(e, "GET", "/delta-sharing/shares/sales/all-tables?maxResults=2", Some(TOKEN_ACME), &nowhere());
    let token = first.json()["nextPageToken"].as_str().unwrap().to_string();
    let second = call(
        e,
        "GET",
        &format!("/delta-sharing/shares/sales/all-tables?maxResults=2&pageToken={token}"),
        Some(TOKEN_ACME),
        &nowhere(),
    );
    assert_eq!(second.json()["items"][0]["name"], "orders_2020");
    let replayed = call(e, "GET", &format!("/delta-sharing/shares?pageToken={token}"), Some(TOKEN_ACME), &nowhere());
    assert_eq!((replayed.status, replayed.json()["message"].as_str()), (400, Some("invalid 'nextPageToken'")));
    for (target, status) in [
        ("/delta-sharing/shares/secret", 404),
        ("/delta-sharing/shares/sales/schemas/default/volumes/raw", 200),
        ("/delta-sharing/shares/sales/schemas/default/models", 200),
        ("/delta-sharing/shares?maxResults=x", 400),
        ("/delta-sharing/nothing", 404),
    ] {
        assert_eq!(call(e, "GET", target, Some(TOKEN_ACME), &nowhere()).status, status, "{target}");
    }
    assert_eq!(call(e, "POST", "/delta-sharing/shares", Some(TOKEN_ACME), &nowhere()).status, 405);
    unsafe { opensharing_engine_free(e) };
}

#[test]
fn auth_matrix_and_reload_through_the_c_abi() {
    let e = new_engine(&config_json("/x"));
    for token in [None, Some("wrong"), Some(TOKEN_OLD)] {
        let r = call(e, "GET", "/delta-sharing/shares", token, &nowhere());
        assert_eq!((r.status, r.json()["errorCode"].as_str()), (401, Some("UNAUTHENTICATED")));
    }
    let r = call(e, "GET", "/delta-sharing/shares/sales", Some(TOKEN_BETA), &nowhere());
    assert_eq!(r.status, 404, "a token for another share sees nothing");
    let revoked = config_json("/x").replace(&opensharing::auth::token_sha256_hex(TOKEN_ACME), &"1".repeat(64));
    assert_eq!(
        unsafe { opensharing_engine_reload(e, revoked.as_ptr(), revoked.len()) },
        opensharing_result::OPENSHARING_OK
    );
    assert_eq!(call(e, "GET", "/delta-sharing/shares", Some(TOKEN_ACME), &nowhere()).status, 401);
    let broken = "{\"shares\": 3}";
    assert_eq!(
        unsafe { opensharing_engine_reload(e, broken.as_ptr(), broken.len()) },
        opensharing_result::OPENSHARING_INVALID_CONFIG
    );
    assert!(last_error().contains("invalid JSON"));
    assert_eq!(
        call(e, "GET", "/delta-sharing/shares", Some(TOKEN_BETA), &nowhere()).status,
        200,
        "a refused reload keeps the old config"
    );
    unsafe { opensharing_engine_free(e) };
}

/// A table `orders` of four commits under `CARGO_TARGET_TMPDIR/name`, returned.
fn four_commits(name: &str) -> std::path::PathBuf {
    let root = scratch_dir(name);
    let log = root.join("orders/_delta_log");
    std::fs::create_dir_all(&log).unwrap();
    let setup = br#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
{"metaData":{"id":"t","format":{"provider":"parquet"},"schemaString":"{}","partitionColumns":[]}}"#;
    for v in 0..4 {
        std::fs::write(log.join(format!("{v:020}.json")), if v == 0 { &setup[..] } else { b"{}" }).unwrap();
    }
    root
}

const VERSION: &str = "/delta-sharing/shares/sales/schemas/default/tables/orders/version";

#[test]
fn io_needs_through_the_c_abi() {
    let root = four_commits("ffi-version");
    let e = new_engine(&config_json("/x"));
    let r = call(e, "GET", VERSION, Some(TOKEN_ACME), &root);
    assert_eq!(r.status, 200);
    assert!(r.headers.contains(&("Delta-Table-Version".to_string(), "3".to_string())));
    assert!(r.audit.contains("\"io_requests\":6"), "last checkpoint, listing, four commits: {}", r.audit);
    assert_eq!(r.most_outstanding, 4, "the four commits are read at once, answered newest first");
    unsafe { opensharing_engine_free(e) };
}

#[test]
fn outstanding_needs_are_answered_by_id_in_any_order() {
    let root = four_commits("ffi-need-ids");
    let mut io = disk_io(&root);
    let invalid = opensharing_result::OPENSHARING_INVALID_STATE;
    unsafe {
        let (e, ex) = acme_exchange("GET", VERSION, false);
        let mut handed_out = Vec::new();
        // Hand out needs until the four commits are out at once.
        while handed_out.len() < 4 {
            match poll(ex) {
                opensharing_event::OPENSHARING_EVENT_NEED => handed_out.push(describe(ex)),
                event => {
                    assert_eq!(event, opensharing_event::OPENSHARING_EVENT_WAIT);
                    handed_out.drain(..).for_each(|(id, need)| answer(ex, id, io(&need)));
                }
            }
        }
        assert_eq!(poll(ex), opensharing_event::OPENSHARING_EVENT_WAIT);
        // After WAIT no need is handed out: there is none to describe.
        let mut need = std::mem::zeroed::<opensharing_need>();
        assert_eq!(opensharing_exchange_need(ex, &mut need), invalid);
        // An id never handed out is refused, and nothing is answered.
        let unknown = handed_out.last().unwrap().0 + 100;
        assert_eq!(opensharing_exchange_supply_not_found(ex, unknown), invalid);
        assert!(last_error().contains(&format!("IO need {unknown} is not outstanding")), "{}", last_error());
        // The newest first: the others stay outstanding, and the answered one cannot be answered again.
        let (newest, need) = handed_out.pop().unwrap();
        answer(ex, newest, io(&need));
        assert_eq!(opensharing_exchange_supply_bytes(ex, newest, b"{}".as_ptr(), 2), invalid);
        assert_eq!(poll(ex), opensharing_event::OPENSHARING_EVENT_WAIT);
        let (second, need) = handed_out.remove(1);
        answer(ex, second, io(&need));
        while let Some((id, need)) = handed_out.pop() {
            answer(ex, id, io(&need));
        }
        assert_eq!(poll(ex), opensharing_event::OPENSHARING_EVENT_HEAD);
        let mut status = 0;
        assert_eq!(opensharing_exchange_status(ex, &mut status), opensharing_result::OPENSHARING_OK);
        assert_eq!(status, 200);
        // Once the exchange has answered, no id is outstanding.
        assert_eq!(opensharing_exchange_supply_not_found(ex, newest), invalid);
        opensharing_exchange_free(ex);
        opensharing_engine_free(e);
    }
}

#[test]
fn signed_local_files_through_the_c_abi() {
    let root = scratch_dir("ffi-files");
    std::fs::create_dir_all(root.join("raw")).unwrap();
    std::fs::write(root.join("raw/a.txt"), b"0123456789").unwrap();
    let e = new_engine(&config_json(root.to_str().unwrap()));
    let redirect =
        call(e, "GET", "/delta-sharing/shares/sales/schemas/default/volumes/raw/files/a.txt", Some(TOKEN_ACME), &root);
    let location = redirect.headers.iter().find(|(n, _)| n == "Location").map(|(_, v)| v.clone()).unwrap();
    let target = location.strip_prefix("http://127.0.0.1:8080").unwrap();
    let r = call(e, "GET", target, None, &root);
    assert_eq!((r.status, r.body.as_str()), (200, "0123456789"));
    assert!(r.audit.contains("\"route\":\"file\"") && r.audit.contains("\"body_bytes\":10"), "{}", r.audit);
    let range =
        [opensharing_header { name: b"Range".as_ptr(), name_len: 5, value: b"bytes=-3".as_ptr(), value_len: 8 }];
    let r = call_with(e, request("GET", target, &range), &root);
    assert_eq!((r.status, r.body.as_str()), (206, "789"));
    assert!(r.headers.contains(&("Content-Range".to_string(), "bytes 7-9/10".to_string())));
    let r = call(e, "HEAD", target, None, &root);
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    assert!(r.headers.contains(&("Content-Length".to_string(), "10".to_string())));
    let forged = target.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    let r = call(e, "GET", &forged, None, &root);
    assert_eq!((r.status, r.json()["errorCode"].as_str()), (403, Some("PERMISSION_DENIED")));
    unsafe { opensharing_engine_free(e) };
}

#[test]
fn relative_store_roots_resolve_against_the_base_dir_through_the_c_abi() {
    let root = |e: *const opensharing_engine| unsafe {
        let mut out = opensharing_bytes { ptr: ptr::null_mut(), len: 0 };
        assert_eq!(
            opensharing_engine_local_store_root(e, b"disk".as_ptr(), 4, &mut out),
            opensharing_result::OPENSHARING_OK
        );
        let root = String::from_utf8(std::slice::from_raw_parts(out.ptr, out.len).to_vec()).unwrap();
        opensharing_bytes_free(out);
        root
    };
    let json = config_json("data");
    let mut e = ptr::null_mut();
    unsafe {
        assert_eq!(
            opensharing_engine_new(json.as_ptr(), json.len(), b"/srv/conf".as_ptr(), 9, &mut e),
            opensharing_result::OPENSHARING_OK
        );
        assert_eq!(root(e), "/srv/conf/data");
        // A reload resolves against the same directory; an absolute root stays as it is.
        let moved = config_json("lake");
        assert_eq!(opensharing_engine_reload(e, moved.as_ptr(), moved.len()), opensharing_result::OPENSHARING_OK);
        assert_eq!(root(e), "/srv/conf/lake");
        let absolute = config_json("/abs/lake");
        assert_eq!(opensharing_engine_reload(e, absolute.as_ptr(), absolute.len()), opensharing_result::OPENSHARING_OK);
        assert_eq!(root(e), "/abs/lake");
        opensharing_engine_free(e);
    }
    let e = new_engine(&json);
    assert_eq!(root(e), "data", "without a base directory the root is as written");
    unsafe { opensharing_engine_free(e) };
    // The builder takes one too.
    unsafe {
        let mut b = ptr::null_mut();
        assert_eq!(opensharing_config_builder_new(&mut b), opensharing_result::OPENSHARING_OK);
        assert_eq!(
            opensharing_config_builder_add_local_store(b, b"disk".as_ptr(), 4, b"data".as_ptr(), 4, false),
            opensharing_result::OPENSHARING_OK
        );
        assert_eq!(
            opensharing_config_builder_set_base_dir(b, b"/etc/os".as_ptr(), 7),
            opensharing_result::OPENSHARING_OK
        );
        let mut e = ptr::null_mut();
        assert_eq!(opensharing_config_builder_build(b, &mut e), opensharing_result::OPENSHARING_OK);
        assert_eq!(root(e), "/etc/os/data");
        opensharing_engine_free(e);
        opensharing_config_builder_free(b);
    }
}

#[test]
fn credential_calls_through_the_c_abi() {
    let config = serde_json::json!({
        "stores": {"aws": {"kind": "s3", "bucket": "b", "region": "eu-west-1", "access_key_id": "AKID",
                           "secret_access_key": "secret", "vend": {"sts": {"role_arn": "arn:aws:iam::1:role/r"}}}},
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            {"type": "volume", "name": "v", "store": "aws", "path": "vols/v"}]}]}],
        "recipients": [{"name": "r", "token_sha256": opensharing::auth::token_sha256_hex(TOKEN_ACME), "shares": ["s"]}]
    });
    let e = new_engine(&config.to_string());
    let auth = format!("Bearer {TOKEN_ACME}");
    let headers = [authorization(&auth)];
    let req = request("POST", "/delta-sharing/shares/s/schemas/d/volumes/v/temporary-volume-credentials", &headers);
    let empty = || opensharing_str { ptr: ptr::null(), len: 0 };
    unsafe {
        let mut ex = ptr::null_mut();
        assert_eq!(opensharing_engine_handle(e, &req, NOW, &mut ex), opensharing_result::OPENSHARING_OK);
        let mut event = opensharing_event::OPENSHARING_EVENT_DONE;
        assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
        assert_eq!(event, opensharing_event::OPENSHARING_EVENT_NEED);
        let mut need = std::mem::zeroed::<opensharing_need>();
        assert_eq!(opensharing_exchange_need(ex, &mut need), opensharing_result::OPENSHARING_OK);
        assert_eq!(need.kind, opensharing_need_kind::OPENSHARING_NEED_HTTP);
        assert_eq!(s(need.key), "https://sts.eu-west-1.amazonaws.com/");
        let mut call = opensharing_http_call { method: empty(), url: empty(), header_count: 0, body: empty() };
        assert_eq!(opensharing_exchange_need_http(ex, need.id, &mut call), opensharing_result::OPENSHARING_OK);
        assert_eq!((s(call.method).as_str(), s(call.url)), ("POST", s(need.key)));
        assert!(s(call.body).starts_with("Action=AssumeRole&Version=2011-06-15&"));
        let mut names = Vec::new();
        for i in 0..call.header_count {
            let (mut n, mut v) = (empty(), empty());
            assert_eq!(
                opensharing_exchange_need_http_header(ex, need.id, i, &mut n, &mut v),
                opensharing_result::OPENSHARING_OK
            );
            names.push(s(n));
        }
        assert_eq!(names, ["Content-Type", "X-Amz-Date", "Authorization"]);
        let (mut n, mut v) = (empty(), empty());
        assert_eq!(
            opensharing_exchange_need_http_header(ex, need.id, call.header_count, &mut n, &mut v),
            opensharing_result::OPENSHARING_NOT_FOUND
        );
        assert_eq!(
            opensharing_exchange_need_http(ex, need.id, ptr::null_mut()),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        let reply = b"<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>S</SecretAccessKey>\
<SessionToken>T</SessionToken><Expiration>2026-01-01T01:00:00Z</Expiration></Credentials>";
        assert_eq!(
            opensharing_exchange_supply_http(ex, need.id, 200, ptr::null(), 5),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        let (cc, age) = ("Cache-Control", "max-age=60");
        assert_eq!(
            opensharing_exchange_supply_http_header(ex, need.id, cc.as_ptr(), cc.len(), age.as_ptr(), age.len()),
            opensharing_result::OPENSHARING_OK
        );
        assert_eq!(
            opensharing_exchange_supply_http(ex, need.id, 200, reply.as_ptr(), reply.len()),
            opensharing_result::OPENSHARING_OK
        );
        assert_eq!(
            opensharing_exchange_supply_http_header(ex, need.id, cc.as_ptr(), cc.len(), age.as_ptr(), age.len()),
            opensharing_result::OPENSHARING_INVALID_STATE
        );
        assert_eq!(
            opensharing_exchange_supply_http(ex, need.id, 200, reply.as_ptr(), reply.len()),
            opensharing_result::OPENSHARING_INVALID_STATE
        );
        assert_eq!(
            opensharing_exchange_need_http(ex, need.id, &mut call),
            opensharing_result::OPENSHARING_INVALID_STATE
        );
        assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
        assert_eq!(event, opensharing_event::OPENSHARING_EVENT_HEAD);
        let mut status = 0;
        assert_eq!(opensharing_exchange_status(ex, &mut status), opensharing_result::OPENSHARING_OK);
        assert_eq!(status, 200);
        let mut buf = [0u8; 512];
        let mut n = 0;
        assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
        assert_eq!(
            opensharing_exchange_read(ex, buf.as_mut_ptr(), buf.len(), &mut n),
            opensharing_result::OPENSHARING_OK
        );
        let body: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(body["awsTempCredentials"]["accessKeyId"], "ASIA1");
        assert_eq!(body["expirationTime"], NOW + 3_600_000);
        opensharing_exchange_free(ex);
        opensharing_engine_free(e);
    }
}

#[test]
fn bad_arguments_are_errors_never_crashes() {
    unsafe {
        let mut engine = ptr::null_mut();
        assert_eq!(
            opensharing_engine_new(ptr::null(), 5, ptr::null(), 0, &mut engine),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        let bad = [0xffu8, 0xfe];
        assert_eq!(
            opensharing_engine_new(bad.as_ptr(), bad.len(), ptr::null(), 0, &mut engine),
            opensharing_result::OPENSHARING_INVALID_UTF8
        );
        let invalid = "{\"shares\":[{\"name\":\"a b\"}]}";
        assert_eq!(
            opensharing_engine_new(invalid.as_ptr(), invalid.len(), ptr::null(), 0, &mut engine),
            opensharing_result::OPENSHARING_INVALID_CONFIG
        );
        assert!(engine.is_null(), "out-parameters are written only on success");
        assert!(last_error().contains("shares[0].name"));
        let e = new_engine(&config_json("/x"));
        let mut ex = ptr::null_mut();
        assert_eq!(
            opensharing_engine_handle(e, ptr::null(), NOW, &mut ex),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        let req = opensharing_request {
            method: b"GET".as_ptr(),
            method_len: 3,
            target: bad.as_ptr(),
            target_len: 2,
            headers: ptr::null(),
            header_count: 0,
            body: ptr::null(),
            body_len: 0,
            body_pending: false,
            peer: ptr::null(),
            peer_len: 0,
        };
        assert_eq!(opensharing_engine_handle(e, &req, NOW, &mut ex), opensharing_result::OPENSHARING_INVALID_UTF8);
        let req = opensharing_request {
            target: b"/delta-sharing/shares".as_ptr(),
            target_len: 21,
            headers: ptr::null(),
            header_count: 1,
            ..req
        };
        assert_eq!(opensharing_engine_handle(e, &req, NOW, &mut ex), opensharing_result::OPENSHARING_NULL_ARGUMENT);
        let req = opensharing_request { header_count: 0, ..req };
        assert_eq!(opensharing_engine_handle(e, &req, NOW, &mut ex), opensharing_result::OPENSHARING_OK);
        // Out-of-state calls are refused.
        assert_eq!(opensharing_exchange_supply_not_found(ex, 0), opensharing_result::OPENSHARING_INVALID_STATE);
        let mut need = std::mem::zeroed::<opensharing_need>();
        assert_eq!(opensharing_exchange_need(ex, &mut need), opensharing_result::OPENSHARING_INVALID_STATE);
        let mut status = 0;
        assert_eq!(opensharing_exchange_status(ex, &mut status), opensharing_result::OPENSHARING_INVALID_STATE);
        let mut audit = opensharing_str { ptr: ptr::null(), len: 0 };
        assert_eq!(opensharing_exchange_audit_json(ex, &mut audit), opensharing_result::OPENSHARING_INVALID_STATE);
        assert_eq!(opensharing_exchange_poll(ex, ptr::null_mut()), opensharing_result::OPENSHARING_NULL_ARGUMENT);
        opensharing_exchange_free(ex);
        opensharing_exchange_free(ptr::null_mut());
        opensharing_engine_free(ptr::null_mut());
        opensharing_config_builder_free(ptr::null_mut());
        assert_eq!(
            opensharing_exchange_poll(ptr::null_mut(), &mut opensharing_event::OPENSHARING_EVENT_DONE),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        opensharing_bytes_free(opensharing_bytes { ptr: ptr::null_mut(), len: 0 });
        let mut profile = opensharing_bytes { ptr: ptr::null_mut(), len: 0 };
        assert_eq!(
            opensharing_engine_profile(e, ptr::null(), 0, b"tok".as_ptr(), 3, -1, &mut profile),
            opensharing_result::OPENSHARING_OK
        );
        let text = String::from_utf8(std::slice::from_raw_parts(profile.ptr, profile.len).to_vec()).unwrap();
        assert!(text.contains("\"bearerToken\": \"tok\""));
        opensharing_bytes_free(profile);
        opensharing_engine_free(e);
    }
}

#[test]
fn config_builder_applies_the_same_validation() {
    unsafe {
        let mut b = ptr::null_mut();
        assert_eq!(opensharing_config_builder_new(&mut b), opensharing_result::OPENSHARING_OK);
        let add = |r: opensharing_result| assert_eq!(r, opensharing_result::OPENSHARING_OK, "{}", last_error());
        add(opensharing_config_builder_add_local_store(b, b"disk".as_ptr(), 4, b"/srv".as_ptr(), 4, false));
        add(opensharing_config_builder_add_share(b, b"s1".as_ptr(), 2));
        add(opensharing_config_builder_add_schema(b, b"s1".as_ptr(), 2, b"default".as_ptr(), 7));
        assert_eq!(
            opensharing_config_builder_add_schema(b, b"nope".as_ptr(), 4, b"x".as_ptr(), 1),
            opensharing_result::OPENSHARING_NOT_FOUND
        );
        let asset = opensharing_asset {
            share: b"s1".as_ptr(),
            share_len: 2,
            schema: b"default".as_ptr(),
            schema_len: 7,
            kind: b"delta_table".as_ptr(),
            kind_len: 11,
            name: b"t".as_ptr(),
            name_len: 1,
            store: b"disk".as_ptr(),
            store_len: 4,
            path: b"t".as_ptr(),
            path_len: 1,
            description: ptr::null(),
            description_len: 0,
            history_shared: true,
        };
        add(opensharing_config_builder_add_asset(b, &asset));
        assert_eq!(
            opensharing_config_builder_add_asset(
                b,
                &opensharing_asset { kind: b"table".as_ptr(), kind_len: 5, ..asset }
            ),
            opensharing_result::OPENSHARING_INVALID_ARGUMENT
        );
        let hash = opensharing::auth::token_sha256_hex(TOKEN_ACME);
        add(opensharing_config_builder_add_recipient(b, b"acme".as_ptr(), 4, hash.as_ptr(), hash.len(), -1));
        add(opensharing_config_builder_grant(b, b"acme".as_ptr(), 4, b"s1".as_ptr(), 2));
        let mut e = ptr::null_mut();
        add(opensharing_config_builder_build(b, &mut e));
        let r = call(e, "GET", "/delta-sharing/shares/S1/all-tables", Some(TOKEN_ACME), &nowhere());
        assert_eq!(r.json()["items"][0]["name"], "t");
        opensharing_engine_free(e);
        // A second asset with the same name breaks a rule: the build names the field.
        add(opensharing_config_builder_add_asset(b, &opensharing_asset { name: b"T".as_ptr(), ..asset }));
        let mut bad = ptr::null_mut();
        assert_eq!(opensharing_config_builder_build(b, &mut bad), opensharing_result::OPENSHARING_INVALID_CONFIG);
        assert!(bad.is_null());
        assert!(last_error().contains("shares[0].schemas[0].assets[1].name"), "{}", last_error());
        opensharing_config_builder_free(b);
    }
}

/// An exchange for `method target` by acme on a fresh engine (free both).
unsafe fn acme_exchange(
    method: &str,
    target: &str,
    body_pending: bool,
) -> (*mut opensharing_engine, *mut opensharing_exchange) {
    unsafe {
        let e = new_engine(&config_json("/x"));
        let auth = format!("Bearer {TOKEN_ACME}");
        let headers = [authorization(&auth)];
        let req = opensharing_request { body_pending, ..request(method, target, &headers) };
        let mut ex = ptr::null_mut();
        assert_eq!(opensharing_engine_handle(e, &req, NOW, &mut ex), opensharing_result::OPENSHARING_OK);
        (e, ex)
    }
}

#[test]
fn the_audit_string_outlives_a_second_done_poll() {
    unsafe {
        let (e, ex) = acme_exchange("GET", "/delta-sharing/shares", false);
        let mut event = opensharing_event::OPENSHARING_EVENT_NEED;
        while event != opensharing_event::OPENSHARING_EVENT_DONE {
            assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
            if event == opensharing_event::OPENSHARING_EVENT_BODY {
                let (mut buf, mut n) = ([0u8; 256], 1);
                while n > 0 {
                    assert_eq!(
                        opensharing_exchange_read(ex, buf.as_mut_ptr(), buf.len(), &mut n),
                        opensharing_result::OPENSHARING_OK
                    );
                }
            }
        }
        let mut first = opensharing_str { ptr: ptr::null(), len: 0 };
        assert_eq!(opensharing_exchange_audit_json(ex, &mut first), opensharing_result::OPENSHARING_OK);
        let before = s(first);
        assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
        assert_eq!(event, opensharing_event::OPENSHARING_EVENT_DONE);
        // The first string is still the live one (it used to be freed by the second poll).
        assert_eq!(s(first), before);
        let mut second = opensharing_str { ptr: ptr::null(), len: 0 };
        assert_eq!(opensharing_exchange_audit_json(ex, &mut second), opensharing_result::OPENSHARING_OK);
        assert_eq!((first.ptr, first.len), (second.ptr, second.len));
        opensharing_exchange_free(ex);
        opensharing_engine_free(e);
    }
}

#[test]
fn errors_are_fresh_codes_are_checked_and_reads_need_a_head() {
    unsafe {
        let invalid = "{\"shares\":[{\"name\":\"a b\"}]}";
        let mut engine = ptr::null_mut();
        assert_eq!(
            opensharing_engine_new(invalid.as_ptr(), invalid.len(), ptr::null(), 0, &mut engine),
            opensharing_result::OPENSHARING_INVALID_CONFIG
        );
        assert!(last_error().contains("shares[0].name"));
        // A later failure that sets no detail of its own does not report the stale one.
        assert_eq!(
            opensharing_exchange_poll(ptr::null_mut(), &mut opensharing_event::OPENSHARING_EVENT_DONE),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        assert_eq!(last_error(), "argument `ex` is NULL");
        // A success clears it.
        let (e, ex) = acme_exchange("GET", "/delta-sharing/shares", false);
        assert_eq!(last_error(), "");
        // Result codes from C are checked, not trusted.
        assert_eq!(
            result_text(opensharing_result::OPENSHARING_DENIED as u32),
            "access refused: missing, bad or expired signature"
        );
        assert_eq!(result_text(99), "unknown result code");
        // Reading before the head is a state error, not an empty body.
        let (mut buf, mut n) = ([0u8; 16], 0);
        assert_eq!(
            opensharing_exchange_read(ex, buf.as_mut_ptr(), buf.len(), &mut n),
            opensharing_result::OPENSHARING_INVALID_STATE
        );
        assert!(last_error().contains("no body to read"), "{}", last_error());
        opensharing_exchange_free(ex);
        opensharing_engine_free(e);
    }
}

#[test]
fn a_pending_body_is_asked_for_through_the_c_abi() {
    unsafe {
        let target = "/delta-sharing/shares/sales/schemas/default/tables/orders/query";
        let (e, ex) = acme_exchange("POST", target, true);
        let mut event = opensharing_event::OPENSHARING_EVENT_DONE;
        assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
        assert_eq!(event, opensharing_event::OPENSHARING_EVENT_NEED);
        let mut need = std::mem::zeroed::<opensharing_need>();
        assert_eq!(opensharing_exchange_need(ex, &mut need), opensharing_result::OPENSHARING_OK);
        assert_eq!(need.kind, opensharing_need_kind::OPENSHARING_NEED_BODY);
        assert_eq!(need.body_limit, opensharing::MAX_REQUEST_BODY_BYTES);
        let oversize = vec![b' '; need.body_limit + 1];
        assert_eq!(
            opensharing_exchange_supply_bytes(ex, need.id, oversize.as_ptr(), oversize.len()),
            opensharing_result::OPENSHARING_OK
        );
        assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
        assert_eq!(event, opensharing_event::OPENSHARING_EVENT_HEAD);
        let mut status = 0;
        assert_eq!(opensharing_exchange_status(ex, &mut status), opensharing_result::OPENSHARING_OK);
        assert_eq!(status, 413);
        opensharing_exchange_free(ex);
        opensharing_engine_free(e);
    }
}

#[test]
fn the_peer_address_reaches_ip_access_lists_through_the_c_abi() {
    let config = serde_json::json!({
        "shares": [{"name": "s", "schemas": []}],
        "recipients": [{"name": "r", "token_sha256": opensharing::auth::token_sha256_hex(TOKEN_ACME),
                        "shares": ["s"], "ip_access_list": ["127.0.0.2/32"]}]
    });
    let engine = new_engine(&config.to_string());
    let auth = format!("Bearer {TOKEN_ACME}");
    let headers = [authorization(&auth)];
    let status_from = |peer: Option<&str>| unsafe {
        let mut req = request("GET", "/delta-sharing/shares", &headers);
        if let Some(p) = peer {
            (req.peer, req.peer_len) = (p.as_ptr(), p.len());
        }
        let mut ex = ptr::null_mut();
        assert_eq!(opensharing_engine_handle(engine, &req, NOW, &mut ex), opensharing_result::OPENSHARING_OK);
        let mut event = opensharing_event::OPENSHARING_EVENT_DONE;
        assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
        assert_eq!(event, opensharing_event::OPENSHARING_EVENT_HEAD);
        let mut status = 0;
        assert_eq!(opensharing_exchange_status(ex, &mut status), opensharing_result::OPENSHARING_OK);
        opensharing_exchange_free(ex);
        status
    };
    assert_eq!(status_from(Some("127.0.0.2:40000")), 200);
    assert_eq!(status_from(Some("127.0.0.1:40000")), 403);
    assert_eq!(status_from(None), 403, "an unknown address is refused for a recipient with a list");
    let bad = [0xffu8, 0xfe];
    let mut req = request("GET", "/delta-sharing/shares", &headers);
    (req.peer, req.peer_len) = (bad.as_ptr(), bad.len());
    let mut ex = ptr::null_mut();
    assert_eq!(
        unsafe { opensharing_engine_handle(engine, &req, NOW, &mut ex) },
        opensharing_result::OPENSHARING_INVALID_UTF8
    );
    unsafe { opensharing_engine_free(engine) };
}

/// The static message of result code `code`.
fn result_text(code: u32) -> String {
    unsafe { std::ffi::CStr::from_ptr(opensharing_result_message(code)) }.to_str().unwrap().to_string()
}

#[test]
fn every_result_code_has_a_message_and_unknown_codes_are_safe() {
    let known = [
        opensharing_result::OPENSHARING_OK,
        opensharing_result::OPENSHARING_NULL_ARGUMENT,
        opensharing_result::OPENSHARING_INVALID_UTF8,
        opensharing_result::OPENSHARING_INVALID_CONFIG,
        opensharing_result::OPENSHARING_INVALID_ARGUMENT,
        opensharing_result::OPENSHARING_INVALID_STATE,
        opensharing_result::OPENSHARING_NOT_FOUND,
        opensharing_result::OPENSHARING_PANIC,
        opensharing_result::OPENSHARING_DENIED,
    ];
    for (i, code) in known.into_iter().enumerate() {
        assert_eq!(code as u32, i as u32, "codes are numbered densely from 0");
        assert_ne!(result_text(code as u32), "unknown result code");
    }
    for unknown in [known.len() as u32, 1000, u32::MAX] {
        assert_eq!(result_text(unknown), "unknown result code");
    }
}

#[test]
fn each_call_clears_the_last_error_and_frees_leave_it() {
    unsafe {
        let mut engine = ptr::null_mut();
        assert_eq!(
            opensharing_engine_new(b"{".as_ptr(), 1, ptr::null(), 0, &mut engine),
            opensharing_result::OPENSHARING_INVALID_CONFIG
        );
        assert!(!last_error().is_empty());
        // Freeing a handle keeps the detail, so a host may clean up before it reports.
        opensharing_engine_free(ptr::null_mut());
        opensharing_bytes_free(opensharing_bytes { ptr: ptr::null_mut(), len: 0 });
        assert!(last_error().contains("JSON"), "{}", last_error());
        // A successful call clears it.
        let e = new_engine(&config_json("/x"));
        assert_eq!(last_error(), "");
        // As does a call that fails: the detail is its own.
        let mut out = opensharing_bytes { ptr: ptr::null_mut(), len: 0 };
        assert_eq!(
            opensharing_engine_local_store_root(e, b"nope".as_ptr(), 4, &mut out),
            opensharing_result::OPENSHARING_NOT_FOUND
        );
        assert_eq!(last_error(), "no local store 'nope'");
        let (mut buf, mut n) = ([0u8; 4], 0usize);
        assert_eq!(opensharing_last_error(buf.as_mut_ptr(), 0, &mut n), opensharing_result::OPENSHARING_OK);
        assert_eq!(n, "no local store 'nope'".len(), "cap 0 asks for the length");
        assert_eq!(opensharing_last_error(ptr::null_mut(), 4, &mut n), opensharing_result::OPENSHARING_NULL_ARGUMENT);
        opensharing_engine_free(e);
    }
}

#[test]
fn null_and_non_utf8_arguments_are_named() {
    unsafe {
        let mut engine = ptr::null_mut();
        let json = config_json("/x");
        assert_eq!(
            opensharing_engine_new(ptr::null(), 5, ptr::null(), 0, &mut engine),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        assert_eq!(last_error(), "argument `json` is NULL");
        assert_eq!(
            opensharing_engine_new(json.as_ptr(), json.len(), ptr::null(), 0, ptr::null_mut()),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        assert_eq!(last_error(), "argument `out` is NULL");
        let bad = [0xffu8];
        assert_eq!(
            opensharing_engine_new(json.as_ptr(), json.len(), bad.as_ptr(), 1, &mut engine),
            opensharing_result::OPENSHARING_INVALID_UTF8
        );
        assert_eq!(last_error(), "argument `base_dir` is not valid UTF-8");
        let e = new_engine(&json);
        let headers = [opensharing_header { name: bad.as_ptr(), name_len: 1, value: b"v".as_ptr(), value_len: 1 }];
        let mut ex = ptr::null_mut();
        let req = request("GET", "/delta-sharing/shares", &headers);
        assert_eq!(opensharing_engine_handle(e, &req, NOW, &mut ex), opensharing_result::OPENSHARING_INVALID_UTF8);
        assert_eq!(last_error(), "argument `request.headers[].name` is not valid UTF-8");
        assert_eq!(
            opensharing_engine_handle(e, ptr::null(), NOW, &mut ex),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        assert_eq!(last_error(), "argument `request` is NULL");
        let mut out = opensharing_bytes { ptr: ptr::null_mut(), len: 0 };
        assert_eq!(
            opensharing_engine_profile(e, ptr::null(), 0, ptr::null(), 0, -1, &mut out),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        assert_eq!(last_error(), "argument `token` is NULL");
        let (acme, ex) = acme_exchange("GET", "/delta-sharing/shares", false);
        let mut event = opensharing_event::OPENSHARING_EVENT_DONE;
        assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
        let mut n = 0;
        assert_eq!(
            opensharing_exchange_read(ex, ptr::null_mut(), 8, &mut n),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        assert_eq!(last_error(), "argument `buf` is NULL");
        let mut name = opensharing_str { ptr: ptr::null(), len: 0 };
        assert_eq!(
            opensharing_exchange_header(ex, 0, &mut name, ptr::null_mut()),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        assert_eq!(last_error(), "argument `value` is NULL");
        assert!(name.ptr.is_null(), "out-parameters are written only on success");
        opensharing_exchange_free(ex);
        opensharing_engine_free(acme);
        opensharing_engine_free(e);
    }
}

/// Polls `ex` once and returns the event.
unsafe fn poll(ex: *mut opensharing_exchange) -> opensharing_event {
    unsafe {
        let mut event = opensharing_event::OPENSHARING_EVENT_DONE;
        assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
        event
    }
}

#[test]
fn out_of_state_calls_are_invalid_state() {
    unsafe {
        let target = "/delta-sharing/shares/sales/schemas/default/tables/orders/version";
        let (e, ex) = acme_exchange("GET", target, false);
        assert_eq!(poll(ex), opensharing_event::OPENSHARING_EVENT_NEED);
        let mut need = std::mem::zeroed::<opensharing_need>();
        assert_eq!(opensharing_exchange_need(ex, &mut need), opensharing_result::OPENSHARING_OK);
        assert_eq!(need.kind, opensharing_need_kind::OPENSHARING_NEED_GET);
        let invalid = opensharing_result::OPENSHARING_INVALID_STATE;
        // Answers of another kind are refused, and the need stays pending.
        assert_eq!(opensharing_exchange_supply_listing(ex, need.id, ptr::null(), 0), invalid);
        assert!(last_error().contains("OPENSHARING_NEED_GET"), "{}", last_error());
        assert_eq!(opensharing_exchange_supply_http(ex, need.id, 200, ptr::null(), 0), invalid);
        let meta = opensharing_object_meta { key: b"k".as_ptr(), key_len: 1, size: 1, last_modified_unix_ms: 0 };
        assert_eq!(opensharing_exchange_supply_meta(ex, need.id, &meta), invalid);
        assert_eq!(opensharing_exchange_supply_http_header(ex, need.id, b"a".as_ptr(), 1, b"b".as_ptr(), 1), invalid);
        let mut call = std::mem::zeroed::<opensharing_http_call>();
        assert_eq!(opensharing_exchange_need_http(ex, need.id, &mut call), invalid);
        // No head, no body, no file, no audit yet.
        let mut file = std::mem::zeroed::<opensharing_file>();
        assert_eq!(opensharing_exchange_file(ex, &mut file), invalid);
        let (mut buf, mut n, mut status) = ([0u8; 64], 0, 0);
        assert_eq!(opensharing_exchange_read(ex, buf.as_mut_ptr(), buf.len(), &mut n), invalid);
        assert_eq!(opensharing_exchange_status(ex, &mut status), invalid);
        assert_eq!(opensharing_exchange_supply_not_found(ex, need.id), opensharing_result::OPENSHARING_OK);
        // The need is answered: every answer to it is out of state, and it is described no more.
        assert_eq!(opensharing_exchange_supply_not_found(ex, need.id), invalid);
        assert!(last_error().contains("not outstanding"), "{}", last_error());
        assert_eq!(opensharing_exchange_need(ex, &mut need), invalid);
        assert_eq!(opensharing_exchange_supply_listing(ex, need.id, ptr::null(), 0), invalid);
        while poll(ex) == opensharing_event::OPENSHARING_EVENT_NEED {
            assert_eq!(opensharing_exchange_need(ex, &mut need), opensharing_result::OPENSHARING_OK);
            assert_eq!(opensharing_exchange_supply_not_found(ex, need.id), opensharing_result::OPENSHARING_OK);
        }
        assert_eq!(opensharing_exchange_status(ex, &mut status), opensharing_result::OPENSHARING_OK);
        assert_eq!(opensharing_exchange_need(ex, &mut need), invalid);
        let mut audit = opensharing_str { ptr: ptr::null(), len: 0 };
        assert_eq!(opensharing_exchange_audit_json(ex, &mut audit), invalid);
        loop {
            assert_eq!(
                opensharing_exchange_read(ex, buf.as_mut_ptr(), buf.len(), &mut n),
                opensharing_result::OPENSHARING_OK
            );
            if n == 0 {
                break;
            }
        }
        // Once the body is complete, reading is out of state.
        assert_eq!(opensharing_exchange_read(ex, buf.as_mut_ptr(), buf.len(), &mut n), invalid);
        assert_eq!(poll(ex), opensharing_event::OPENSHARING_EVENT_DONE);
        assert_eq!(opensharing_exchange_audit_json(ex, &mut audit), opensharing_result::OPENSHARING_OK);
        assert_eq!(opensharing_exchange_supply_error(ex, need.id, b"late".as_ptr(), 4), invalid);
        opensharing_exchange_free(ex);
        opensharing_engine_free(e);
    }
}

#[test]
fn the_version_matches_cargo_toml_and_the_header() {
    let version = unsafe { std::ffi::CStr::from_ptr(opensharing_version()) }.to_str().unwrap().to_string();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/opensharing.h")).unwrap();
    for (part, value) in [
        ("MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        let line = format!("#define OPENSHARING_VERSION_{part} {value}\n");
        assert!(header.contains(&line), "the header lacks `{}`: update after_includes in cbindgen.toml", line.trim());
    }
}

#[test]
fn every_function_in_the_header_documents_ownership() {
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/opensharing.h")).unwrap();
    let mut comment = String::new();
    let mut functions = 0;
    for line in header.lines() {
        if let Some(text) = line.strip_prefix("//") {
            comment.push_str(text);
            continue;
        }
        if let Some(name) = line.split('(').next().and_then(|head| head.split_whitespace().last()) {
            let name = name.trim_start_matches('*');
            if line.contains('(') && name.starts_with("opensharing_") && !line.starts_with('#') {
                functions += 1;
                assert!(comment.contains("Ownership:"), "{name} has no `Ownership:` line");
            }
        }
        comment.clear();
    }
    assert!(functions > 40, "found only {functions} functions");
}

#[test]
fn the_config_builder_covers_every_store_kind_and_vending() {
    unsafe {
        let mut b = ptr::null_mut();
        assert_eq!(opensharing_config_builder_new(&mut b), opensharing_result::OPENSHARING_OK);
        let ok = |r: opensharing_result| assert_eq!(r, opensharing_result::OPENSHARING_OK, "{}", last_error());
        ok(opensharing_config_builder_add_local_store(b, b"disk".as_ptr(), 4, b"/srv".as_ptr(), 4, true));
        let s3 = opensharing_s3_store {
            bucket: b"bkt".as_ptr(),
            bucket_len: 3,
            region: b"us-east-1".as_ptr(),
            region_len: 9,
            endpoint: ptr::null(),
            endpoint_len: 0,
            path_style: false,
            access_key_id: b"AKIDEXAMPLE".as_ptr(),
            access_key_id_len: 11,
            secret_access_key: b"secret".as_ptr(),
            secret_access_key_len: 6,
            session_token: ptr::null(),
            session_token_len: 0,
        };
        ok(opensharing_config_builder_add_s3_store(b, b"aws".as_ptr(), 3, &s3));
        ok(opensharing_config_builder_add_s3_store(b, b"onprem".as_ptr(), 6, &s3));
        let role = "arn:aws:iam::123456789012:role/reader";
        let sts = opensharing_s3_sts {
            role_arn: role.as_ptr(),
            role_arn_len: role.len(),
            endpoint: ptr::null(),
            endpoint_len: 0,
            region: ptr::null(),
            region_len: 0,
            external_id: b"ext".as_ptr(),
            external_id_len: 3,
        };
        ok(opensharing_config_builder_set_s3_vend_sts(b, b"aws".as_ptr(), 3, &sts));
        ok(opensharing_config_builder_set_s3_vend_static(
            b,
            b"onprem".as_ptr(),
            6,
            b"RO".as_ptr(),
            2,
            b"ro-secret".as_ptr(),
            9,
            ptr::null(),
            0,
        ));
        let gcs = opensharing_gcs_store {
            bucket: b"g".as_ptr(),
            bucket_len: 1,
            endpoint: ptr::null(),
            endpoint_len: 0,
            service_account_key: ptr::null(),
            service_account_key_len: 0,
            hmac_access_id: b"GOOG1".as_ptr(),
            hmac_access_id_len: 5,
            hmac_secret: b"hmac".as_ptr(),
            hmac_secret_len: 4,
        };
        ok(opensharing_config_builder_add_gcs_store(b, b"gcs".as_ptr(), 3, &gcs));
        let azure = opensharing_azure_store {
            account: b"acct".as_ptr(),
            account_len: 4,
            container: b"c".as_ptr(),
            container_len: 1,
            endpoint: ptr::null(),
            endpoint_len: 0,
            account_key: b"a2V5".as_ptr(),
            account_key_len: 4,
        };
        ok(opensharing_config_builder_add_azure_store(b, b"az".as_ptr(), 2, &azure));
        let container = opensharing_azure_scope::OPENSHARING_AZURE_SCOPE_CONTAINER as u32;
        ok(opensharing_config_builder_set_azure_vend(b, b"az".as_ptr(), 2, container));
        // Settings for a store of another kind, an unknown store or an unknown scope are refused.
        assert_eq!(
            opensharing_config_builder_set_s3_vend_sts(b, b"az".as_ptr(), 2, &sts),
            opensharing_result::OPENSHARING_INVALID_ARGUMENT
        );
        assert_eq!(last_error(), "the store is not a S3 store");
        assert_eq!(
            opensharing_config_builder_set_azure_vend(b, b"nope".as_ptr(), 4, container),
            opensharing_result::OPENSHARING_NOT_FOUND
        );
        assert_eq!(
            opensharing_config_builder_set_azure_vend(b, b"az".as_ptr(), 2, 7),
            opensharing_result::OPENSHARING_INVALID_ARGUMENT
        );
        let mut engine = ptr::null_mut();
        ok(opensharing_config_builder_build(b, &mut engine));
        opensharing_engine_free(engine);
        // The vending settings reach validation: GCS vending needs a service-account key.
        ok(opensharing_config_builder_set_gcs_vend(b, b"gcs".as_ptr(), 3, ptr::null(), 0, ptr::null(), 0));
        assert_eq!(opensharing_config_builder_build(b, &mut engine), opensharing_result::OPENSHARING_INVALID_CONFIG);
        assert!(last_error().contains("service_account_key"), "{}", last_error());
        opensharing_config_builder_free(b);
    }
}
