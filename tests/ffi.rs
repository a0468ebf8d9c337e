//! The same endpoints, errors and auth matrix, driven through the C ABI.

mod common;

use std::ptr;

use common::*;
use opensharing::ffi::*;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    audit: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

fn s(v: opensharing_str) -> String {
    unsafe { String::from_utf8(std::slice::from_raw_parts(v.ptr, v.len).to_vec()).unwrap() }
}

fn new_engine(json: &str) -> *mut opensharing_engine {
    let mut engine = ptr::null_mut();
    assert_eq!(
        unsafe { opensharing_engine_new(json.as_ptr(), json.len(), &mut engine) },
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
    let req = request(method, target, &headers);
    let mut ex = ptr::null_mut();
    assert_eq!(unsafe { opensharing_engine_handle(engine, &req, NOW, &mut ex) }, opensharing_result::OPENSHARING_OK);
    let mut io = disk_io(root);
    let (mut status, mut hdrs, mut body) = (0, Vec::new(), Vec::new());
    unsafe {
        loop {
            let mut event = opensharing_event::OPENSHARING_EVENT_DONE;
            assert_eq!(opensharing_exchange_poll(ex, &mut event), opensharing_result::OPENSHARING_OK);
            match event {
                opensharing_event::OPENSHARING_EVENT_NEED => {
                    let mut need = std::mem::zeroed::<opensharing_need>();
                    assert_eq!(opensharing_exchange_need(ex, &mut need), opensharing_result::OPENSHARING_OK);
                    let start_after = need.has_start_after.then(|| s(need.start_after));
                    let rust_need = match need.kind {
                        opensharing_need_kind::OPENSHARING_NEED_LIST => {
                            let max_keys = need.has_max_keys.then_some(need.max_keys);
                            opensharing::IoNeed::List {
                                store: s(need.store),
                                prefix: s(need.key),
                                start_after,
                                max_keys,
                            }
                        }
                        _ => opensharing::IoNeed::Get { store: s(need.store), key: s(need.key), range: None },
                    };
                    match io(&rust_need) {
                        opensharing::IoResult::Listing(list) => {
                            let metas: Vec<opensharing_object_meta> = list
                                .entries
                                .iter()
                                .map(|m| opensharing_object_meta {
                                    key: m.key.as_ptr(),
                                    key_len: m.key.len(),
                                    size: m.size,
                                    last_modified_unix_ms: m.last_modified_ms,
                                })
                                .collect();
                            let after = list.continue_after.as_deref().unwrap_or("");
                            let r = opensharing_exchange_supply_listing_page(
                                ex,
                                metas.as_ptr(),
                                metas.len(),
                                after.as_ptr(),
                                after.len(),
                            );
                            assert_eq!(r, opensharing_result::OPENSHARING_OK);
                        }
                        opensharing::IoResult::Bytes(b) => {
                            assert_eq!(
                                opensharing_exchange_supply_bytes(ex, b.as_ptr(), b.len()),
                                opensharing_result::OPENSHARING_OK
                            )
                        }
                        _ => assert_eq!(opensharing_exchange_supply_not_found(ex), opensharing_result::OPENSHARING_OK),
                    }
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
        Reply { status, headers: hdrs, body: String::from_utf8(body).unwrap(), audit }
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

#[test]
fn io_needs_through_the_c_abi() {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("ffi-version");
    let log = root.join("orders/_delta_log");
    std::fs::create_dir_all(&log).unwrap();
    let setup = br#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
{"metaData":{"id":"t","format":{"provider":"parquet"},"schemaString":"{}","partitionColumns":[]}}"#;
    for v in 0..4 {
        std::fs::write(log.join(format!("{v:020}.json")), if v == 0 { &setup[..] } else { b"{}" }).unwrap();
    }
    let e = new_engine(&config_json("/x"));
    let r =
        call(e, "GET", "/delta-sharing/shares/sales/schemas/default/tables/orders/version", Some(TOKEN_ACME), &root);
    assert_eq!(r.status, 200);
    assert!(r.headers.contains(&("Delta-Table-Version".to_string(), "3".to_string())));
    assert!(r.audit.contains("\"io_requests\":6"), "last checkpoint, listing, four commits: {}", r.audit);
    unsafe { opensharing_engine_free(e) };
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
        assert_eq!(opensharing_exchange_need_http(ex, &mut call), opensharing_result::OPENSHARING_OK);
        assert_eq!((s(call.method).as_str(), s(call.url)), ("POST", s(need.key)));
        assert!(s(call.body).starts_with("Action=AssumeRole&Version=2011-06-15&"));
        let mut names = Vec::new();
        for i in 0..call.header_count {
            let (mut n, mut v) = (empty(), empty());
            assert_eq!(
                opensharing_exchange_need_http_header(ex, i, &mut n, &mut v),
                opensharing_result::OPENSHARING_OK
            );
            names.push(s(n));
        }
        assert_eq!(names, ["Content-Type", "X-Amz-Date", "Authorization"]);
        let (mut n, mut v) = (empty(), empty());
        assert_eq!(
            opensharing_exchange_need_http_header(ex, call.header_count, &mut n, &mut v),
            opensharing_result::OPENSHARING_NOT_FOUND
        );
        assert_eq!(opensharing_exchange_need_http(ex, ptr::null_mut()), opensharing_result::OPENSHARING_NULL_ARGUMENT);
        let reply = b"<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>S</SecretAccessKey>\
<SessionToken>T</SessionToken><Expiration>2026-01-01T01:00:00Z</Expiration></Credentials>";
        assert_eq!(
            opensharing_exchange_supply_http(ex, 200, ptr::null(), 5),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        let (cc, age) = ("Cache-Control", "max-age=60");
        assert_eq!(
            opensharing_exchange_supply_http_header(ex, cc.as_ptr(), cc.len(), age.as_ptr(), age.len()),
            opensharing_result::OPENSHARING_OK
        );
        assert_eq!(
            opensharing_exchange_supply_http(ex, 200, reply.as_ptr(), reply.len()),
            opensharing_result::OPENSHARING_OK
        );
        assert_eq!(
            opensharing_exchange_supply_http_header(ex, cc.as_ptr(), cc.len(), age.as_ptr(), age.len()),
            opensharing_result::OPENSHARING_INVALID_STATE
        );
        assert_eq!(
            opensharing_exchange_supply_http(ex, 200, reply.as_ptr(), reply.len()),
            opensharing_result::OPENSHARING_INVALID_STATE
        );
        assert_eq!(opensharing_exchange_need_http(ex, &mut call), opensharing_result::OPENSHARING_INVALID_STATE);
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
        assert_eq!(opensharing_engine_new(ptr::null(), 5, &mut engine), opensharing_result::OPENSHARING_NULL_ARGUMENT);
        let bad = [0xffu8, 0xfe];
        assert_eq!(
            opensharing_engine_new(bad.as_ptr(), bad.len(), &mut engine),
            opensharing_result::OPENSHARING_INVALID_UTF8
        );
        let invalid = "{\"shares\":[{\"name\":\"a b\"}]}";
        assert_eq!(
            opensharing_engine_new(invalid.as_ptr(), invalid.len(), &mut engine),
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
        assert_eq!(opensharing_exchange_supply_not_found(ex), opensharing_result::OPENSHARING_INVALID_STATE);
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
        add(opensharing_config_builder_add_local_store(b, b"disk".as_ptr(), 4, b"/srv".as_ptr(), 4));
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
    let e = new_engine(&config_json("/x"));
    let auth = format!("Bearer {TOKEN_ACME}");
    let headers = [authorization(&auth)];
    let req = opensharing_request { body_pending, ..request(method, target, &headers) };
    let mut ex = ptr::null_mut();
    assert_eq!(opensharing_engine_handle(e, &req, NOW, &mut ex), opensharing_result::OPENSHARING_OK);
    (e, ex)
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
            opensharing_engine_new(invalid.as_ptr(), invalid.len(), &mut engine),
            opensharing_result::OPENSHARING_INVALID_CONFIG
        );
        assert!(last_error().contains("shares[0].name"));
        // A later failure that sets no detail of its own does not report the stale one.
        assert_eq!(
            opensharing_exchange_poll(ptr::null_mut(), &mut opensharing_event::OPENSHARING_EVENT_DONE),
            opensharing_result::OPENSHARING_NULL_ARGUMENT
        );
        assert_eq!(last_error(), "a required pointer argument was NULL");
        // A success clears it.
        let (e, ex) = acme_exchange("GET", "/delta-sharing/shares", false);
        assert_eq!(last_error(), "");
        // Result codes from C are checked, not trusted.
        let text = |code| std::ffi::CStr::from_ptr(opensharing_result_message(code)).to_str().unwrap().to_string();
        assert_eq!(
            text(opensharing_result::OPENSHARING_DENIED as i32),
            "access refused: missing, bad or expired signature"
        );
        assert_eq!(text(99), "unknown result code");
        assert_eq!(text(-1), "unknown result code");
        // Reading before the head is a state error, not an empty body.
        let (mut buf, mut n) = ([0u8; 16], 0);
        assert_eq!(
            opensharing_exchange_read(ex, buf.as_mut_ptr(), buf.len(), &mut n),
            opensharing_result::OPENSHARING_INVALID_STATE
        );
        assert!(last_error().contains("before OPENSHARING_EVENT_HEAD"));
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
            opensharing_exchange_supply_bytes(ex, oversize.as_ptr(), oversize.len()),
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
