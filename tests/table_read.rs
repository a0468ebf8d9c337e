//! Delta table endpoints through the exchange, on tables written by `deltalake`, with the
//! host's IO answered from disk.

mod common;
#[path = "common/tables.rs"]
mod tables;

use common::{drive, Reply, NOW};
use opensharing::auth::token_sha256_hex;
use opensharing::{Engine, IoNeed, IoResult, Method, Request};
use serde_json::{json, Value};
use tables::{manifest, tables_dir};

const TOKEN: &str = "table-reader-token";
const P: &str = "/delta-sharing/shares/s/schemas/d/tables";

fn engine() -> Engine {
    let asset = |name: &str, history: bool| json!({"type": "delta_table", "name": name, "store": "lake", "path": name, "history_shared": history});
    let config = json!({
        "endpoint": "http://127.0.0.1:9/delta-sharing",
        "token_signing_key": "k".repeat(32),
        "stores": {"lake": {"kind": "local", "root": tables_dir().to_string_lossy()}},
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            asset("basic", true), asset("cdf", true), asset("colmap", true), asset("unpartitioned", false)]}]}],
        "recipients": [{"name": "r", "token_sha256": token_sha256_hex(TOKEN), "shares": ["s"]}]
    });
    Engine::from_json(config.to_string().as_bytes(), &|_| None).unwrap()
}

/// Answers IO from the tables directory.
fn disk(need: &IoNeed) -> IoResult {
    common::disk_io(tables_dir())(need)
}

fn request(method: Method, target: &str) -> Request {
    Request::new(method, target).header("Authorization", format!("Bearer {TOKEN}"))
}

fn query(e: &Engine, table: &str, body: Value, caps: Option<&str>) -> Reply {
    let mut r = request(Method::Post, &format!("{P}/{table}/query")).body(body.to_string());
    if let Some(c) = caps {
        r = r.header("delta-sharing-capabilities", c);
    }
    drive(e, r, NOW, disk)
}

fn lines(r: &Reply) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    String::from_utf8(r.body.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn error(r: &Reply) -> (u16, String) {
    (r.status, r.json()["message"].as_str().unwrap_or_default().to_string())
}

#[test]
fn version_endpoint_and_legacy_head() {
    let e = engine();
    let latest = manifest()["basic"]["version"].as_i64().unwrap().to_string();
    let r = drive(&e, request(Method::Get, &format!("{P}/basic/version")), NOW, disk);
    assert_eq!((r.status, r.header("Delta-Table-Version")), (200, Some(latest.as_str())));
    assert!(r.body.is_empty());
    let r = drive(&e, request(Method::Head, &format!("{P}/basic")), NOW, disk);
    assert_eq!(r.header("delta-table-version"), Some(latest.as_str()));
    let r = drive(
        &e,
        request(Method::Get, &format!("{P}/basic/version?startingTimestamp=2000-01-01T00:00:00Z")),
        NOW,
        disk,
    );
    assert_eq!(r.header("delta-table-version"), Some("0"), "a time before v0 gives 0");
    let r = drive(
        &e,
        request(Method::Get, &format!("{P}/basic/version?startingTimestamp=2999-01-01T00:00:00Z")),
        NOW,
        disk,
    );
    assert!(error(&r).1.contains("after the latest version"), "{:?}", error(&r));
    let r = drive(
        &e,
        request(Method::Get, &format!("{P}/unpartitioned/version?startingTimestamp=2000-01-01T00:00:00Z")),
        NOW,
        disk,
    );
    assert!(error(&r).1.contains("history sharing is not enabled on table: s.d.unpartitioned"));
    let r = drive(&e, request(Method::Get, &format!("{P}/basic/version?startingTimestamp=noon")), NOW, disk);
    assert_eq!(error(&r), (400, "Invalid startingTimestamp: noon".into()));
}

#[test]
fn metadata_in_both_formats() {
    let e = engine();
    let r = drive(&e, request(Method::Get, &format!("{P}/basic/metadata")), NOW, disk);
    let l = lines(&r);
    assert_eq!(l.len(), 2);
    assert_eq!(l[0], json!({"protocol": {"minReaderVersion": 1}}));
    assert_eq!(l[1]["metaData"]["format"]["provider"], "parquet");
    assert_eq!(l[1]["metaData"]["partitionColumns"], json!(["region"]));
    assert_eq!(r.header("delta-sharing-capabilities"), Some("responseformat=parquet"));
    assert_eq!(r.header("content-type"), Some("application/x-ndjson; charset=utf-8"));
    let req = request(Method::Get, &format!("{P}/basic/metadata?version=2"))
        .header("delta-sharing-capabilities", "responseformat=delta;readerfeatures=deletionvectors,columnmapping");
    let r = drive(&e, req, NOW, disk);
    let l = lines(&r);
    assert_eq!(r.header("delta-table-version"), Some("2"));
    assert_eq!(l[0]["protocol"]["deltaProtocol"]["minWriterVersion"], 2);
    assert!(l[1]["metaData"]["deltaMetadata"]["schemaString"].is_string());
    let bad = drive(&e, request(Method::Get, &format!("{P}/basic/metadata?version=1&timestamp=x")), NOW, disk);
    assert_eq!(error(&bad).1, "Please only provide one of: version,timestamp");
    let bad = drive(&e, request(Method::Get, &format!("{P}/basic/metadata?version=-1")), NOW, disk);
    assert_eq!(error(&bad).1, "version cannot be negative.");
    let bad = drive(&e, request(Method::Get, &format!("{P}/basic/metadata?version=99")), NOW, disk);
    assert!(error(&bad).1.starts_with("Cannot load table version 99"));
}

#[test]
fn column_mapping_needs_delta_format() {
    let e = engine();
    let r = drive(&e, request(Method::Get, &format!("{P}/colmap/metadata")), NOW, disk);
    assert!(error(&r).1.starts_with("Unsupported Delta Table Properties"), "{:?}", error(&r));
    let auto = "responseformat=delta,parquet;readerfeatures=deletionvectors,columnmapping,timestampntz";
    let r = drive(
        &e,
        request(Method::Get, &format!("{P}/colmap/metadata")).header("delta-sharing-capabilities", auto),
        NOW,
        disk,
    );
    assert_eq!(r.header("delta-sharing-capabilities"), Some("responseformat=delta"));
    let r = drive(
        &e,
        request(Method::Get, &format!("{P}/basic/metadata")).header("delta-sharing-capabilities", auto),
        NOW,
        disk,
    );
    assert_eq!(r.header("delta-sharing-capabilities"), Some("responseformat=parquet"), "a plain table answers parquet");
}

#[test]
fn query_returns_every_active_file_with_signed_urls() {
    let e = engine();
    let m = manifest();
    let r = query(&e, "basic", json!({}), None);
    let l = lines(&r);
    let files: Vec<&Value> = l[2..].iter().map(|x| &x["file"]).collect();
    let expected = m["basic"]["files"].as_array().unwrap();
    assert_eq!(files.len(), expected.len());
    for (f, x) in files.iter().zip(expected) {
        assert_eq!(f["size"], x["size"]);
        assert_eq!(f["partitionValues"], x["partition_values"]);
        assert!(f["url"].as_str().unwrap().contains("X-Amz-Signature="));
        assert_eq!(f["id"].as_str().unwrap().len(), 32);
        assert!(f["stats"].as_str().unwrap().contains("numRecords"));
        assert!(f["expirationTimestamp"].as_i64().unwrap() > NOW);
        assert!(f.get("version").is_none(), "no version on a latest-snapshot query");
    }
    assert_eq!(r.audit.urls_signed, expected.len() as u64);
    // The same query gives the same ids.
    let again = lines(&query(&e, "basic", json!({}), None));
    assert_eq!(again[2]["file"]["id"], l[2]["file"]["id"]);
    // Every URL is served by the engine's file route, with the object's bytes.
    let url = files[0]["url"].as_str().unwrap();
    let target = url.strip_prefix("http://127.0.0.1:9").unwrap();
    let served = drive(&e, Request::new(Method::Get, target), NOW, disk);
    assert_eq!((served.status, served.body.len() as u64), (200, files[0]["size"].as_u64().unwrap()));
    let forged = target.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert_eq!(drive(&e, Request::new(Method::Get, forged), NOW, disk).status, 403);
}

#[test]
fn hosts_sign_urls_as_the_engine_does() {
    let e = engine();
    let url = e.sign_url("lake", "basic/_delta_log/00000000000000000000.json", NOW, 60).unwrap();
    let target = url.strip_prefix("http://127.0.0.1:9").unwrap();
    let on_disk = std::fs::read(tables_dir().join("basic/_delta_log/00000000000000000000.json")).unwrap();
    assert_eq!(drive(&e, Request::new(Method::Get, target), NOW, disk).body, on_disk);
    let late = drive(&e, Request::new(Method::Get, target), NOW + 61_000, disk);
    assert_eq!(late.status, 403, "the URL lives 60 s");
    let unknown = e.sign_url("nostore", "k", NOW, 60).unwrap_err();
    assert!(unknown.to_string().contains("no store named 'nostore'"), "{unknown}");
}

#[test]
fn query_in_delta_format() {
    let e = engine();
    let r = query(
        &e,
        "basic",
        json!({}),
        Some("responseformat=delta;readerfeatures=deletionvectors,columnmapping,timestampntz"),
    );
    let l = lines(&r);
    let add = &l[2]["file"]["deltaSingleAction"]["add"];
    assert!(add["path"].as_str().unwrap().starts_with("http://127.0.0.1:9/delta-sharing/files/lake/basic/"));
    assert_eq!(l[2]["file"]["id"].as_str().unwrap().len(), 64);
    assert!(add["modificationTime"].is_i64() && add["dataChange"].is_boolean());
    assert!(l[1]["metaData"]["deltaMetadata"]["partitionColumns"].is_array());
}

#[test]
fn time_travel_limit_and_predicates() {
    let e = engine();
    let m = manifest();
    let v2 = &m["basic"]["versions"][2];
    let l = lines(&query(&e, "basic", json!({"version": "2"}), None));
    assert_eq!(l.len() - 2, v2["num_files"].as_u64().unwrap() as usize);
    assert_eq!(l[2]["file"]["version"], 2, "time-travel files carry their version");
    let limited = lines(&query(&e, "basic", json!({"limitHint": 1}), None));
    assert_eq!(limited.len() - 2, 1);
    let hint = json!({"op": "equal", "children": [
        {"op": "column", "name": "region", "valueType": "string"},
        {"op": "literal", "value": "apac", "valueType": "string"}]});
    let pruned = lines(&query(&e, "basic", json!({"jsonPredicateHints": hint.to_string()}), None));
    let apac =
        m["basic"]["files"].as_array().unwrap().iter().filter(|f| f["partition_values"]["region"] == "apac").count();
    assert_eq!(pruned.len() - 2, apac);
    assert!(pruned[2..].iter().all(|f| f["file"]["partitionValues"]["region"] == "apac"));
    let stats_hint = json!({"op": "greaterThan", "children": [
        {"op": "column", "name": "id", "valueType": "long"},
        {"op": "literal", "value": "105", "valueType": "long"}]});
    let by_stats = lines(&query(&e, "basic", json!({"jsonPredicateHints": stats_hint.to_string()}), None));
    assert!(by_stats.len() - 2 < m["basic"]["files"].as_array().unwrap().len(), "min/max statistics prune files");
    let invalid = lines(&query(&e, "basic", json!({"jsonPredicateHints": "{not json"}), None));
    assert_eq!(invalid.len() - 2, m["basic"]["files"].as_array().unwrap().len(), "invalid hints return every file");
}

#[test]
fn pagination_repeats_header_lines_and_covers_every_file() {
    let e = engine();
    let all = lines(&query(&e, "basic", json!({}), None));
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({"maxFiles": 3});
        if let Some(t) = &token {
            body["pageToken"] = json!(t);
        }
        let l = lines(&query(&e, "basic", body, None));
        assert_eq!(l[0], all[0]);
        assert_eq!(l[1], all[1]);
        let end = &l.last().unwrap()["endStreamAction"];
        seen.extend(l[2..l.len() - 1].iter().map(|f| f["file"]["id"].clone()));
        pages += 1;
        match end["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let ids: Vec<Value> = all[2..].iter().map(|f| f["file"]["id"].clone()).collect();
    assert_eq!(seen, ids);
    assert_eq!(pages, ids.len().div_ceil(3));
    let first = lines(&query(&e, "basic", json!({"maxFiles": 3}), None));
    let t = first.last().unwrap()["endStreamAction"]["nextPageToken"].as_str().unwrap().to_string();
    let changed = query(&e, "basic", json!({"maxFiles": 3, "pageToken": t, "limitHint": 5}), None);
    assert!(error(&changed).1.starts_with("Query parameter mismatch"));
    let other = query(&e, "cdf", json!({"maxFiles": 3, "pageToken": t}), None);
    assert!(error(&other).1.contains("does not match the table"));
    let late = drive(
        &e,
        request(Method::Post, &format!("{P}/basic/query")).body(json!({"maxFiles": 3, "pageToken": t}).to_string()),
        NOW + 4 * 86_400_000,
        disk,
    );
    assert!(error(&late).1.contains("expired"));
}

#[test]
fn refresh_tokens_pin_the_version() {
    let e = engine();
    let first = lines(&query(&e, "basic", json!({"includeRefreshToken": true}), None));
    let end = &first.last().unwrap()["endStreamAction"];
    let token = end["refreshToken"].as_str().unwrap();
    assert!(end["minUrlExpirationTimestamp"].as_i64().unwrap() > NOW);
    let refreshed = lines(&query(&e, "basic", json!({"includeRefreshToken": true, "refreshToken": token}), None));
    let ids = |l: &[Value]| l[2..l.len() - 1].iter().map(|f| f["file"]["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&refreshed));
    let tampered = query(&e, "basic", json!({"refreshToken": format!("{token}x")}), None);
    assert_eq!(error(&tampered), (400, "Error decoding refresh token".into()));
    let other = query(&e, "cdf", json!({"refreshToken": token}), None);
    assert!(error(&other).1.contains("does not match"));
}

#[test]
fn streaming_and_changes() {
    let e = engine();
    let r = query(&e, "basic", json!({"startingVersion": 1, "endingVersion": 3}), None);
    let l = lines(&r);
    assert_eq!(r.header("delta-table-version"), Some("1"));
    assert_eq!(l[1]["metaData"]["version"], 1);
    assert!(l[2..].iter().all(|x| x.get("add").is_some() || x.get("remove").is_some()));
    assert!(l[2..].iter().all(|x| x["add"]["version"].as_i64().is_some_and(|v| (1..=3).contains(&v))));
    let r = drive(&e, request(Method::Get, &format!("{P}/cdf/changes?startingVersion=0&endingVersion=3")), NOW, disk);
    let l = lines(&r);
    assert_eq!(r.header("delta-table-version"), Some("0"));
    let kinds: Vec<&str> = l[2..].iter().map(|x| x.as_object().unwrap().keys().next().unwrap().as_str()).collect();
    assert!(kinds.contains(&"cdf") && kinds.contains(&"add"), "{kinds:?}");
    assert!(l[2..].iter().all(|x| x.as_object().unwrap().values().next().unwrap()["timestamp"].is_i64()));
    let r = drive(&e, request(Method::Get, &format!("{P}/basic/changes?startingVersion=0")), NOW, disk);
    assert!(error(&r).1.contains("change data was not recorded for version [0]"), "{:?}", error(&r));
    let r = drive(&e, request(Method::Get, &format!("{P}/cdf/changes?startingVersion=9")), NOW, disk);
    assert!(error(&r).1.contains("Start version cannot be greater than the latest version"), "{:?}", error(&r));
    let r = drive(&e, request(Method::Get, &format!("{P}/cdf/changes?startingVersion=2&endingVersion=1")), NOW, disk);
    assert!(error(&r).1.contains("End cannot be before start"), "{:?}", error(&r));
    let r = drive(&e, request(Method::Get, &format!("{P}/unpartitioned/changes?startingVersion=0")), NOW, disk);
    assert!(error(&r).1.contains("cdf is not enabled on table s.d.unpartitioned"));
}

#[test]
fn bad_query_bodies() {
    let e = engine();
    for (body, status, needle) in [
        ("", 400, "No content to map"),
        ("{\"version\":\"x3\"}", 400, "Not a numeric value: x3"),
        ("{\"predicateHints\":{}}", 400, "Expected an array"),
        ("{\"version\":1,\"startingVersion\":1}", 400, "Please only provide one of"),
        ("{\"maxFiles\":0}", 400, "maxFiles must be positive."),
        ("[", 400, "Invalid JSON"),
    ] {
        let r = drive(&e, request(Method::Post, &format!("{P}/basic/query")).body(body), NOW, disk);
        assert_eq!(r.status, status, "{body}");
        assert!(error(&r).1.contains(needle), "{body}: {:?}", error(&r));
    }
    let r = query(&e, "unpartitioned", json!({"version": 0}), None);
    assert!(error(&r).1.contains("history sharing is not enabled"));
    let r =
        drive(&e, request(Method::Post, &format!("{P}/basic/query")).body("{}").header("fileidhash", "md5"), NOW, disk);
    assert_eq!(error(&r), (400, "Unsupported fileidhash: 'md5'".into()));
}

#[test]
fn storage_failures_and_corrupt_logs_are_protocol_errors() {
    let e = engine();
    let target = format!("{P}/basic/query");
    let r = drive(&e, request(Method::Post, &target).body("{}"), NOW, |_| {
        IoResult::Failed("connection refused to 10.0.0.1".into())
    });
    assert_eq!((r.status, r.error_code()), (502, "CATALOG_ERROR".to_string()));
    assert!(!r.message().contains("10.0.0.1"));
    let r = drive(&e, request(Method::Post, &target).body("{}"), NOW, |n| match n {
        IoNeed::Get { key, .. } if key.ends_with(".json") => IoResult::Bytes(b"{\"add\": garbage".to_vec().into()),
        other => disk(other),
    });
    assert_eq!(r.status, 500);
    assert!(r.message().contains("corrupt Delta log file"), "{}", r.message());
    let r = drive(&e, request(Method::Post, &target).body("{}"), NOW, |n| match n {
        IoNeed::Get { key, .. } if key.ends_with(".parquet") => IoResult::Bytes(b"PAR1 not really".to_vec().into()),
        other => disk(other),
    });
    assert_eq!(r.status, 500);
    let r = drive(&e, request(Method::Post, &target).body("{}"), NOW, |n| match n {
        IoNeed::List { .. } => IoResult::Listing(opensharing::Listing::default()),
        _ => IoResult::NotFound,
    });
    assert_eq!(r.status, 404);
}

#[test]
fn signed_urls_are_reused_for_at_most_a_minute() {
    let e = engine();
    let at = |now: i64| {
        let r = drive(&e, request(Method::Post, &format!("{P}/basic/query")).body("{}"), now, disk);
        lines(&r)[2..].iter().map(|l| l["file"]["url"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let first = at(NOW);
    assert_eq!(at(NOW + 30_000), first, "within the window the same signed URLs are served");
    let later = at(NOW + 61_000);
    assert_ne!(later, first, "after the window URLs are signed again");
    assert_eq!(later.len(), first.len());
    // A pruned response signs its own URLs and does not disturb the window.
    let hint = json!({"op": "equal", "children": [
        {"op": "column", "name": "region", "valueType": "string"},
        {"op": "literal", "value": "eu", "valueType": "string"}]});
    let pruned = lines(&query(&e, "basic", json!({"jsonPredicateHints": hint.to_string()}), None));
    assert!(pruned.len() > 2);
}

/// A request whose body the host has not read: the exchange asks for it only after the token
/// and the route were checked.
fn deferred_query(token: &str, table: &str) -> Request {
    let mut r =
        Request::new(Method::Post, format!("{P}/{table}/query")).header("Authorization", format!("Bearer {token}"));
    r.body_pending = true;
    r
}

#[test]
fn a_pending_body_is_read_only_after_authentication_and_routing() {
    let e = engine();
    // A wrong token or an unknown route is answered without asking for the body.
    for request in [deferred_query("wrong-token", "basic"), deferred_query(TOKEN, "basic/nope")] {
        let mut ex = e.handle(request, common::NOW);
        assert!(matches!(ex.poll(), opensharing::Step::Head(h) if h.status == 401 || h.status == 404));
    }
    // An authenticated query asks for its body first, then reads the table with it.
    let mut ex = e.handle(deferred_query(TOKEN, "basic"), common::NOW);
    assert_eq!(ex.outstanding().count(), 0);
    assert!(
        matches!(ex.poll(), opensharing::Step::Need(_, IoNeed::RequestBody { max_bytes }) if *max_bytes == opensharing::MAX_REQUEST_BODY_BYTES)
    );
    let mut asked = 0;
    let r = drive(&e, deferred_query(TOKEN, "basic"), NOW, |need| match need {
        IoNeed::RequestBody { .. } => {
            asked += 1;
            IoResult::Bytes(json!({"limitHint": 1}).to_string().into_bytes().into())
        }
        other => disk(other),
    });
    assert_eq!(asked, 1);
    let eager = query(&e, "basic", json!({"limitHint": 1}), None);
    assert_eq!(lines(&r), lines(&eager), "a deferred body reads like one sent with the request");
}

#[test]
fn a_pending_body_that_is_too_large_or_unreadable_is_refused() {
    let e = engine();
    let answer = |result: IoResult| {
        drive(&e, deferred_query(TOKEN, "basic"), NOW, move |need| match need {
            IoNeed::RequestBody { .. } => result.clone(),
            other => disk(other),
        })
    };
    let over = answer(IoResult::Bytes(vec![b' '; opensharing::MAX_REQUEST_BODY_BYTES + 1].into()));
    assert_eq!(over.status, 413);
    assert_eq!(over.error_code(), "MALFORMED_REQUEST");
    let mut padded = json!({"limitHint": 1}).to_string().into_bytes();
    padded.resize(opensharing::MAX_REQUEST_BODY_BYTES, b' ');
    assert_eq!(answer(IoResult::Bytes(padded.into())).status, 200, "a body of exactly the limit is accepted");
    let failed = answer(IoResult::Failed("client went away".into()));
    assert_eq!(error(&failed), (400, "The request body could not be read".to_string()));
    assert!(!String::from_utf8_lossy(&failed.body).contains("client went away"), "host details stay in the log");
}

/// The engine's config with table `basic` replaced by `asset` (other tables unchanged).
fn reload_with(e: &Engine, asset: Value, page_token_ttl_seconds: u32) {
    let assets =
        json!([asset, {"type": "delta_table", "name": "cdf", "store": "lake", "path": "cdf", "history_shared": true}]);
    let config = json!({
        "endpoint": "http://127.0.0.1:9/delta-sharing",
        "token_signing_key": "k".repeat(32),
        "page_token_ttl_seconds": page_token_ttl_seconds,
        "stores": {"lake": {"kind": "local", "root": tables_dir().to_string_lossy()}},
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": assets}]}],
        "recipients": [{"name": "r", "token_sha256": token_sha256_hex(TOKEN), "shares": ["s"]}]
    });
    e.reload(opensharing::Catalog::from_json(config.to_string().as_bytes(), &|_| None).unwrap()).unwrap();
}

#[test]
fn page_and_refresh_tokens_follow_the_history_rules_in_force() {
    let e = engine();
    let basic = |extra: Value| {
        let mut a = json!({"type": "delta_table", "name": "basic", "store": "lake", "path": "basic", "id": "basic-id"});
        a.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        a
    };
    reload_with(&e, basic(json!({"history_shared": true})), 86_400);
    let next = |body: Value| {
        let l = lines(&query(&e, "basic", body, None));
        l.last().unwrap()["endStreamAction"]["nextPageToken"].as_str().unwrap().to_string()
    };
    let travel = next(json!({"maxFiles": 1, "version": 1}));
    let latest = next(json!({"maxFiles": 1}));
    let refresh = lines(&query(&e, "basic", json!({"includeRefreshToken": true}), None)).last().unwrap()
        ["endStreamAction"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();

    // History no longer shared: the time-travel page is refused; the latest-snapshot page goes on.
    reload_with(&e, basic(json!({"history_shared": false})), 86_400);
    let r = query(&e, "basic", json!({"maxFiles": 1, "version": 1, "pageToken": travel}), None);
    assert!(error(&r).1.contains("history sharing is not enabled"), "{:?}", error(&r));
    assert_eq!(query(&e, "basic", json!({"maxFiles": 1, "pageToken": latest}), None).status, 200);

    // A start version above the pinned versions refuses page and refresh tokens alike.
    let above = manifest()["basic"]["version"].as_i64().unwrap() + 1;
    reload_with(&e, basic(json!({"history_shared": true, "start_version": above})), 86_400);
    for body in
        [json!({"maxFiles": 1, "pageToken": latest}), json!({"includeRefreshToken": true, "refreshToken": refresh})]
    {
        let r = query(&e, "basic", body, None);
        assert!(error(&r).1.contains("since version"), "{:?}", error(&r));
    }

    // The same id under another name is another table to its tokens.
    let mut renamed = basic(json!({"history_shared": true}));
    renamed["name"] = json!("basic2");
    reload_with(&e, renamed, 86_400);
    let r = query(&e, "basic2", json!({"maxFiles": 1, "pageToken": latest}), None);
    assert!(error(&r).1.contains("does not match the table"), "{:?}", error(&r));

    // Page tokens live as long as page_token_ttl_seconds says.
    reload_with(&e, basic(json!({"history_shared": true})), 60);
    let short = next(json!({"maxFiles": 1}));
    let at = |ms: i64| {
        let body = json!({"maxFiles": 1, "pageToken": short}).to_string();
        drive(&e, request(Method::Post, &format!("{P}/basic/query")).body(body), ms, disk)
    };
    assert_eq!(at(NOW + 59_000).status, 200);
    assert!(error(&at(NOW + 60_000)).1.contains("expired"));
}
