//! The Iceberg REST catalog surface through the public exchange API: config, namespaces, tables,
//! paging, metadata discovery (version hint, highest version, pinned, outside the location),
//! the relayed LoadTable body, access delegation, the remote signer's refusals and the error
//! shape.

mod common;

use std::collections::BTreeMap;

use common::*;
use opensharing::auth::token_sha256_hex;
use opensharing::{Engine, IoNeed, IoResult, Method, ObjectMeta, Request};
use serde_json::{json, Value};

const BASE: &str = "/delta-sharing/iceberg/v1";
const NS: &str = "/delta-sharing/iceberg/v1/shares/s/namespaces";

fn engine_with(store: Value) -> Engine {
    let config = json!({
        "endpoint": "https://sharing.example.com/delta-sharing",
        "token_signing_key": "0123456789abcdef0123456789abcdef",
        "stores": {"main": store},
        "shares": [
            {"name": "s", "schemas": [
                {"name": "d", "assets": [
                    {"type": "iceberg_table", "name": "t", "store": "main", "path": "wh/d/t"},
                    {"type": "iceberg_table", "name": "pinned", "store": "main", "path": "wh/d/t",
                     "metadata_path": "wh/d/t/metadata/00001-old.metadata.json"},
                    {"type": "iceberg_table", "name": "escapes", "store": "main", "path": "wh/d/t",
                     "metadata_path": "wh/d/other/metadata/00009-x.metadata.json"},
                    {"type": "iceberg_table", "name": "u", "store": "main", "path": "wh/d/u"},
                    {"type": "delta_table", "name": "delta", "store": "main", "path": "wh/d/delta"}
                ]},
                {"name": "e", "assets": []},
                {"name": "f", "assets": []}
            ]},
            {"name": "other", "schemas": [{"name": "d", "assets": []}]}
        ],
        "recipients": [{"name": "acme", "token_sha256": token_sha256_hex(TOKEN_ACME), "shares": ["s"]}]
    });
    Engine::from_json(config.to_string().as_bytes(), &|_| None).expect("valid config")
}

fn signing_store() -> Value {
    json!({"kind": "s3", "bucket": "lake", "region": "us-east-1", "endpoint": "http://127.0.0.1:9000",
           "path_style": true, "access_key_id": "AKIDSTORE", "secret_access_key": "store-secret"})
}

fn vending_store() -> Value {
    let mut store = signing_store();
    store["vend"] = json!({"static": {"access_key_id": "AKIDREAD", "secret_access_key": "read-secret"}});
    store
}

/// A table's metadata file: real Iceberg metadata shape, with odd spacing kept byte for byte.
fn metadata(n: u32) -> Vec<u8> {
    format!("{{\"format-version\": 2,  \"table-uuid\":\"9c12d441-03fe-4693-9a96-a0705ddf69c1\", \"location\":\"s3://lake/wh/d/t\",\"last-sequence-number\":{n},\"properties\":{{\"v\":\"é\\n\"}}}}")
        .into_bytes()
}

/// An in-memory store: keys to bytes.
#[derive(Default)]
struct Store(BTreeMap<String, Vec<u8>>);

impl Store {
    fn with(files: &[(&str, Vec<u8>)]) -> Store {
        Store(files.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    fn io(&self) -> impl FnMut(&IoNeed) -> IoResult + '_ {
        move |need| match need {
            IoNeed::Get { key, .. } => {
                self.0.get(key).cloned().map_or(IoResult::NotFound, |b| IoResult::Bytes(b.into()))
            }
            IoNeed::List { prefix, .. } => IoResult::Listing(opensharing::Listing::complete(
                self.0
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix.as_str()))
                    .map(|(k, v)| ObjectMeta { key: k.clone(), size: v.len() as u64, last_modified_ms: 1 })
                    .collect(),
            )),
            other => panic!("unexpected need {other:?}"),
        }
    }
}

fn acme(method: Method, target: &str) -> Request {
    Request::new(method, target).header("Authorization", format!("Bearer {TOKEN_ACME}"))
}

fn iceberg_error(reply: &Reply) -> (u64, String, String) {
    let e = &reply.json()["error"];
    (e["code"].as_u64().unwrap(), e["type"].as_str().unwrap().into(), e["message"].as_str().unwrap().into())
}

#[test]
fn config_names_the_share_prefix_and_every_endpoint_served() {
    let e = engine_with(signing_store());
    let r = get_acme(&e, &format!("{BASE}/config?warehouse=s"));
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["overrides"]["prefix"], "shares/s");
    assert_eq!(body["defaults"], json!({}));
    let endpoints: Vec<&str> = body["endpoints"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(endpoints.contains(&"GET /v1/{prefix}/namespaces/{namespace}/tables/{table}"));
    assert!(endpoints.contains(&"GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials"));
    assert!(endpoints.iter().all(|e| !e.starts_with("POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan")));
    let missing = get_acme(&e, &format!("{BASE}/config"));
    assert_eq!((missing.status, iceberg_error(&missing).1.as_str()), (400, "BadRequestException"));
    for warehouse in ["other", "nope"] {
        let r = get_acme(&e, &format!("{BASE}/config?warehouse={warehouse}"));
        assert_eq!(r.status, 404, "{warehouse}");
        assert_eq!(iceberg_error(&r).0, 404);
    }
}

#[test]
fn a_wrong_token_is_401_in_the_iceberg_shape() {
    let e = engine_with(signing_store());
    // A refused token is an invalid_token challenge; a missing one a bare challenge (RFC 6750).
    for (token, challenge) in [(Some("wrong"), "Bearer error=\"invalid_token\""), (None, "Bearer")] {
        let r = drive(&e, get(&format!("{BASE}/config?warehouse=s"), token), NOW, no_io);
        assert_eq!(r.status, 401);
        assert_eq!(r.header("WWW-Authenticate"), Some(challenge));
        assert_eq!(iceberg_error(&r).1, "NotAuthorizedException");
    }
}

#[test]
fn namespaces_and_tables_list_whole_without_a_page_token() {
    let e = engine_with(signing_store());
    let r = get_acme(&e, NS);
    assert_eq!(r.json(), json!({"namespaces": [["d"], ["e"], ["f"]]}));
    assert_eq!(get_acme(&e, &format!("{NS}?parent=d")).json(), json!({"namespaces": []}));
    let r = get_acme(&e, &format!("{NS}/d/tables"));
    let body = r.json();
    let names: Vec<&str> =
        body["identifiers"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["t", "pinned", "escapes", "u"], "Delta tables are not listed");
    assert_eq!(r.json()["identifiers"][0]["namespace"], json!(["d"]));
    assert!(r.json().get("next-page-token").is_none());
    assert_eq!(get_acme(&e, &format!("{NS}/d")).json(), json!({"namespace": ["d"], "properties": {}}));
    let head = drive(&e, acme(Method::Head, &format!("{NS}/D")), NOW, no_io);
    assert_eq!((head.status, head.body.len()), (204, 0));
}

#[test]
fn lists_page_with_signed_tokens_when_asked() {
    let e = engine_with(signing_store());
    let first = get_acme(&e, &format!("{NS}/d/tables?pageToken=&pageSize=3"));
    assert_eq!(first.json()["identifiers"].as_array().unwrap().len(), 3);
    let token = first.json()["next-page-token"].as_str().unwrap().to_string();
    let second = get_acme(&e, &format!("{NS}/d/tables?pageToken={token}&pageSize=3"));
    assert_eq!(second.json()["identifiers"][0]["name"], "u");
    assert!(second.json().get("next-page-token").is_none());
    // A token is bound to its list: replayed on the namespaces it is refused.
    let replayed = get_acme(&e, &format!("{NS}?pageToken={token}"));
    assert_eq!((replayed.status, iceberg_error(&replayed).1.as_str()), (400, "BadRequestException"));
    let tampered = get_acme(&e, &format!("{NS}/d/tables?pageToken=x{token}"));
    assert_eq!(tampered.status, 400);
    let bad_size = get_acme(&e, &format!("{NS}?pageToken=&pageSize=0"));
    assert_eq!(bad_size.status, 400);
    let ns = get_acme(&e, &format!("{NS}?pageToken=&pageSize=2"));
    assert_eq!(ns.json()["namespaces"], json!([["d"], ["e"]]));
}

#[test]
fn unknown_and_ungranted_names_are_404_with_the_right_type() {
    let e = engine_with(signing_store());
    let cases = [
        (format!("{NS}/nope"), "NoSuchNamespaceException"),
        (format!("{NS}/nope/tables"), "NoSuchNamespaceException"),
        (format!("{NS}/d%1Fe"), "NoSuchNamespaceException"),
        (format!("{NS}/d/tables/nope"), "NoSuchTableException"),
        (format!("{NS}/d/tables/delta"), "NoSuchTableException"),
        (format!("{BASE}/shares/other/namespaces"), "NoSuchNamespaceException"),
        (format!("{BASE}/shares/other/namespaces/d/tables/t"), "NoSuchTableException"),
        (format!("{BASE}/nothing"), "NotFoundException"),
    ];
    for (target, kind) in cases {
        let r = get_acme(&e, &target);
        assert_eq!((r.status, iceberg_error(&r).1), (404, kind.to_string()), "{target}");
    }
    let head = drive(&e, acme(Method::Head, &format!("{NS}/d/tables/nope")), NOW, no_io);
    assert_eq!(head.status, 404);
}

#[test]
fn writes_are_refused_with_a_message() {
    let e = engine_with(signing_store());
    for (method, target, status) in [
        (Method::Post, NS.to_string(), 405),
        (Method::Post, format!("{NS}/d/tables"), 405),
        (Method::Post, format!("{NS}/d/tables/t"), 405),
        (Method::Other, format!("{NS}/d/tables/t"), 405),
        (Method::Other, format!("{NS}/d"), 405),
        (Method::Post, format!("{BASE}/shares/s/transactions/commit"), 501),
        (Method::Post, format!("{BASE}/shares/s/tables/rename"), 501),
        (Method::Post, format!("{NS}/d/register"), 501),
        (Method::Post, format!("{NS}/d/properties"), 501),
    ] {
        let r = drive(&e, acme(method, &target).body("{}"), NOW, no_io);
        assert_eq!(r.status, status, "{target}");
        let (_, _, message) = iceberg_error(&r);
        assert!(!message.is_empty());
        if status == 405 {
            assert!(r.header("Allow").is_some());
        }
    }
    let metrics = drive(&e, acme(Method::Post, &format!("{NS}/d/tables/t/metrics")).body("{\"report\":1}"), NOW, no_io);
    assert_eq!((metrics.status, metrics.body.len()), (204, 0));
}

fn load(e: &Engine, table: &str, store: &Store) -> Reply {
    drive(e, acme(Method::Get, &format!("{NS}/d/tables/{table}")), NOW, store.io())
}

/// The raw `metadata` bytes of a LoadTable body.
fn relayed(body: &[u8]) -> &[u8] {
    let start = body.windows(11).position(|w| w == b"\"metadata\":").unwrap() + 11;
    let end = body.windows(10).rposition(|w| w == b",\"config\":").unwrap();
    &body[start..end]
}

#[test]
fn the_version_hint_names_the_current_file() {
    let e = engine_with(signing_store());
    let store = Store::with(&[
        ("wh/d/t/metadata/version-hint.text", b"2\n".to_vec()),
        ("wh/d/t/metadata/v1.metadata.json", metadata(1)),
        ("wh/d/t/metadata/v2.metadata.json", metadata(2)),
        ("wh/d/t/metadata/v3.metadata.json", metadata(3)),
    ]);
    let r = load(&e, "t", &store);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["metadata-location"], "s3://lake/wh/d/t/metadata/v2.metadata.json");
    assert_eq!(relayed(&r.body), metadata(2).as_slice(), "relayed byte for byte");
    assert_eq!(r.audit.io_requests, 2, "the hint and the file: no listing");
    assert_eq!(r.header("Content-Length"), Some(r.body.len().to_string().as_str()));
}

#[test]
fn without_a_hint_the_highest_version_in_one_listing() {
    let e = engine_with(signing_store());
    let store = Store::with(&[
        ("wh/d/t/metadata/00001-a.metadata.json", metadata(1)),
        ("wh/d/t/metadata/00010-b.metadata.json", metadata(10)),
        ("wh/d/t/metadata/00009-c.metadata.json", metadata(9)),
        ("wh/d/t/metadata/00011-d.gz.metadata.json", b"gz".to_vec()),
        ("wh/d/t/metadata/snap-123.avro", b"avro".to_vec()),
        ("wh/d/t/metadata/old/00099-e.metadata.json", metadata(99)),
        ("wh/d/t/data/00001.parquet", b"p".to_vec()),
    ]);
    let r = load(&e, "t", &store);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["metadata-location"], "s3://lake/wh/d/t/metadata/00010-b.metadata.json");
    assert_eq!(relayed(&r.body), metadata(10).as_slice());
    assert_eq!(r.audit.io_requests, 3, "hint (missing), listing, file");
    // vN names work too, and a stale hint falls back to the listing.
    let store = Store::with(&[
        ("wh/d/u/metadata/version-hint.text", b"7".to_vec()),
        ("wh/d/u/metadata/v2.metadata.json", metadata(2)),
        ("wh/d/u/metadata/v12.metadata.json", metadata(12)),
    ]);
    let r = load(&e, "u", &store);
    assert_eq!(r.json()["metadata-location"], "s3://lake/wh/d/u/metadata/v12.metadata.json");
    let empty = load(&e, "u", &Store::default());
    assert_eq!((empty.status, iceberg_error(&empty).1.as_str()), (502, "ServiceFailureException"));
}

#[test]
fn a_pinned_metadata_path_is_read_as_is_and_must_lie_in_the_table() {
    let e = engine_with(signing_store());
    let store = Store::with(&[
        ("wh/d/t/metadata/00001-old.metadata.json", metadata(1)),
        ("wh/d/t/metadata/00002-new.metadata.json", metadata(2)),
        ("wh/d/other/metadata/00009-x.metadata.json", metadata(9)),
    ]);
    let r = load(&e, "pinned", &store);
    assert_eq!(r.json()["metadata-location"], "s3://lake/wh/d/t/metadata/00001-old.metadata.json");
    assert_eq!(r.audit.io_requests, 1);
    let outside = drive(&e, acme(Method::Get, &format!("{NS}/d/tables/escapes")), NOW, no_io);
    assert_eq!((outside.status, iceberg_error(&outside).1.as_str()), (403, "ForbiddenException"));
}

#[test]
fn corrupt_metadata_and_storage_failures_are_502() {
    let e = engine_with(signing_store());
    let store = Store::with(&[("wh/d/t/metadata/00001-a.metadata.json", b"{\"format-version\": 2,".to_vec())]);
    let r = load(&e, "t", &store);
    assert_eq!(r.status, 502);
    let failing = drive(&e, acme(Method::Get, &format!("{NS}/d/tables/t")), NOW, |_| IoResult::Failed("boom".into()));
    assert_eq!(failing.status, 502);
    assert!(!String::from_utf8_lossy(&failing.body).contains("boom"), "host detail stays in the log");
    assert!(failing.audit.detail.as_deref().unwrap().contains("boom"));
}

fn one_file() -> Store {
    Store::with(&[("wh/d/t/metadata/00001-a.metadata.json", metadata(1))])
}

#[test]
fn stores_that_do_not_vend_get_remote_signing() {
    let e = engine_with(signing_store());
    let r = load(&e, "t", &one_file());
    let config = &r.json()["config"];
    assert_eq!(config["s3.remote-signing-enabled"], "true");
    assert_eq!(config["s3.signer"], "S3V4RestSigner");
    assert_eq!(config["s3.signer.uri"], "https://sharing.example.com/delta-sharing/iceberg");
    assert_eq!(config["s3.signer.endpoint"], "v1/shares/s/namespaces/d/tables/t/sign");
    assert_eq!(config["py-io-impl"], "pyiceberg.io.fsspec.FsspecFileIO");
    assert_eq!(config["s3.endpoint"], "http://127.0.0.1:9000");
    assert!(config.get("s3.secret-access-key").is_none());
    assert!(!String::from_utf8_lossy(&r.body).contains("store-secret"));
    assert_eq!(r.json()["storage-credentials"], json!([]));
}

#[test]
fn vending_stores_put_keys_in_config_and_storage_credentials() {
    let e = engine_with(vending_store());
    let r = load(&e, "t", &one_file());
    let body = r.json();
    assert_eq!(body["config"]["s3.access-key-id"], "AKIDREAD");
    assert_eq!(body["config"]["s3.secret-access-key"], "read-secret");
    assert_eq!(body["config"]["s3.region"], "us-east-1");
    assert_eq!(body["storage-credentials"][0]["prefix"], "s3://lake/wh/d/t");
    assert_eq!(body["storage-credentials"][0]["config"], body["config"]);
    let creds = get_acme(&e, &format!("{NS}/d/tables/t/credentials"));
    assert_eq!(creds.json()["storage-credentials"], body["storage-credentials"]);
    // Asking for remote signing only gets it.
    let signing = drive(
        &e,
        acme(Method::Get, &format!("{NS}/d/tables/t")).header("X-Iceberg-Access-Delegation", "remote-signing"),
        NOW,
        one_file().io(),
    );
    assert_eq!(signing.json()["config"]["s3.remote-signing-enabled"], "true");
}

/// With credentials vended through STS, LoadTable asks for the metadata and the STS call in
/// the same round: a host that performs its needs concurrently pays the longer of the two, and
/// the answers may come in any order.
#[test]
fn load_table_discovers_metadata_and_vends_credentials_side_by_side() {
    let mut store = signing_store();
    store["vend"] = json!({"sts": {"role_arn": "arn:aws:iam::123456789012:role/reader"}});
    let e = engine_with(store);
    let files = one_file();
    let sts = "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIATEMP</AccessKeyId>\
        <SecretAccessKey>temp-secret</SecretAccessKey><SessionToken>tok</SessionToken>\
        <Expiration>2026-01-01T00:30:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>";
    let mut ex = e.handle(acme(Method::Get, &format!("{NS}/d/tables/t")), NOW);
    let mut rounds: Vec<Vec<String>> = Vec::new();
    let mut round = Vec::new();
    loop {
        match ex.poll() {
            opensharing::Step::Need(id, need) => round.push((id, need.clone())),
            opensharing::Step::Wait => {
                rounds.push(round.iter().map(|(_, need)| describe(need)).collect());
                // The last asked is answered first.
                for (id, need) in round.drain(..).rev() {
                    let answer = match &need {
                        IoNeed::Http(_) => IoResult::Http(opensharing::HttpReply {
                            status: 200,
                            body: sts.as_bytes().to_vec(),
                            headers: Vec::new(),
                        }),
                        other => files.io()(other),
                    };
                    ex.supply(id, answer).expect("outstanding");
                }
            }
            opensharing::Step::Head(head) => {
                assert_eq!(head.status, 200);
                break;
            }
            other => panic!("unexpected step {other:?}"),
        }
    }
    assert_eq!(
        rounds,
        [
            vec![
                "get wh/d/t/metadata/version-hint.text".to_string(),
                "http POST https://sts.us-east-1.amazonaws.com/".into()
            ],
            vec!["list wh/d/t/metadata/".into()],
            vec!["get wh/d/t/metadata/00001-a.metadata.json".into()],
        ]
    );
    let mut body = Vec::new();
    let mut buf = [0u8; 4096];
    while let n @ 1.. = ex.read(&mut buf) {
        body.extend_from_slice(&buf[..n]);
    }
    let body: Value = serde_json::from_slice(&body).expect("JSON body");
    assert_eq!(body["config"]["s3.access-key-id"], "ASIATEMP");
    assert_eq!(body["storage-credentials"][0]["config"]["s3.session-token"], "tok");
}

fn describe(need: &IoNeed) -> String {
    match need {
        IoNeed::Get { key, .. } => format!("get {key}"),
        IoNeed::List { prefix, .. } => format!("list {prefix}"),
        IoNeed::Http(call) => format!("http {} {}", call.method, call.url),
        other => format!("{other:?}"),
    }
}

fn sign(e: &Engine, body: Value) -> Reply {
    drive(e, acme(Method::Post, &format!("{NS}/d/tables/t/sign")).body(body.to_string()), NOW, no_io)
}

fn sign_request(method: &str, uri: &str) -> Value {
    json!({"method": method, "region": "us-east-1", "uri": uri,
           "headers": {"User-Agent": ["botocore"], "x-amz-checksum-mode": ["ENABLED"], "Range": ["bytes=0-9"]}})
}

#[test]
fn the_signer_signs_reads_of_the_table_only() {
    let e = engine_with(signing_store());
    let good = sign(&e, sign_request("GET", "http://127.0.0.1:9000/lake/wh/d/t/metadata/snap-1.avro?x-id=GetObject"));
    assert_eq!(good.status, 200, "{}", String::from_utf8_lossy(&good.body));
    let body = good.json();
    assert_eq!(body["uri"], "http://127.0.0.1:9000/lake/wh/d/t/metadata/snap-1.avro?x-id=GetObject");
    let auth = body["headers"]["Authorization"][0].as_str().unwrap();
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDSTORE/20260101/us-east-1/s3/aws4_request, "));
    assert!(auth.contains("SignedHeaders=host;x-amz-checksum-mode;x-amz-content-sha256;x-amz-date,"), "{auth}");
    assert_eq!(body["headers"]["X-Amz-Date"][0], "20260101T000000Z");
    assert_eq!(body["headers"]["X-Amz-Content-SHA256"][0], "UNSIGNED-PAYLOAD");
    assert!(body["headers"].get("User-Agent").is_none(), "only the headers to add come back");
    let head = sign(&e, sign_request("HEAD", "http://127.0.0.1:9000/lake/wh/d/t/data/a%20b.parquet"));
    assert_eq!(head.json()["uri"], "http://127.0.0.1:9000/lake/wh/d/t/data/a%20b.parquet");
    for (method, uri) in [
        ("PUT", "http://127.0.0.1:9000/lake/wh/d/t/data/x.parquet"),
        ("DELETE", "http://127.0.0.1:9000/lake/wh/d/t/data/x.parquet"),
        ("GET", "http://127.0.0.1:9000/other/wh/d/t/data/x.parquet"),
        ("GET", "http://127.0.0.1:9000/lake/wh/d/u/data/x.parquet"),
        ("GET", "http://127.0.0.1:9000/lake/wh/d/tt/data/x.parquet"),
        ("GET", "http://127.0.0.1:9000/lake/wh/d/t/../u/x.parquet"),
        ("GET", "http://127.0.0.1:9000/lake/wh/d/t/%2E%2E/u/x.parquet"),
        ("GET", "http://127.0.0.1:9000/lake/wh/d/t"),
        ("GET", "http://127.0.0.1:9000/lake?list-type=2&prefix=wh/d/t/"),
        ("GET", "http://127.0.0.1:9000/lake/wh/d/t/x.parquet?acl"),
        ("GET", "http://127.0.0.1:9001/lake/wh/d/t/x.parquet"),
        ("GET", "https://127.0.0.1:9000/lake/wh/d/t/x.parquet"),
        ("GET", "http://evil.example.com/lake/wh/d/t/x.parquet"),
    ] {
        let r = sign(&e, sign_request(method, uri));
        assert_eq!((r.status, iceberg_error(&r).1.as_str()), (403, "ForbiddenException"), "{method} {uri}");
    }
    // The whole answer, byte for byte, against the general SigV4 header algorithm, for URIs
    // the signer splits by hand (one already canonical, one to decode and encode) and for one
    // it leaves to the url crate (same target).
    for ((uri, canonical_uri), amz) in [
        ("http://127.0.0.1:9000/lake/wh/d/t/data/a%20b=%C3%BC.parquet", "/lake/wh/d/t/data/a%20b%3D%C3%BC.parquet"),
        ("http://127.0.0.1:9000/lake/wh/d/t/./data/a%20b=%C3%BC.parquet", "/lake/wh/d/t/data/a%20b%3D%C3%BC.parquet"),
        (
            "http://127.0.0.1:9000/lake/wh/d/t/data/00000-0-6f7a_b~c.parquet",
            "/lake/wh/d/t/data/00000-0-6f7a_b~c.parquet",
        ),
    ]
    .into_iter()
    .flat_map(|pair| [(pair, true), (pair, false)])
    {
        // With x-amz-* headers of the client's to sign, and with none.
        let client = match amz {
            true => {
                json!({"X-Amz-Meta-B": ["  two   words "], "x-amz-meta-a": ["1", "2"], "X-Amz-Date": ["ignored"], "Range": ["x"]})
            }
            false => json!({"User-Agent": ["botocore"], "Range": ["x"]}),
        };
        let answer = sign(&e, json!({"method": "get", "uri": uri, "headers": client}));
        let all = [
            ("x-amz-meta-a", "1, 2"),
            ("x-amz-meta-b", "  two   words "),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ];
        let headers = if amz { &all[..] } else { &all[2..] };
        let general = opensharing::signing::sigv4::HeaderSigning {
            method: "GET",
            host: "127.0.0.1:9000",
            canonical_uri,
            canonical_query: "",
            headers,
            payload_hash: "UNSIGNED-PAYLOAD",
            service: "s3",
            region: "us-east-1",
        };
        let creds = opensharing::signing::sigv4::Credentials {
            access_key_id: "AKIDSTORE".into(),
            secret_access_key: "store-secret".into(),
            session_token: None,
        };
        let key = opensharing::signing::sigv4::signing_key("store-secret", "20260101", "us-east-1", "s3");
        let added = general.sign(&creds, &key, "20260101T000000Z", "20260101");
        // The fields in the order the answer has always had: `uri`, then the sorted headers.
        let expected = format!(
            r#"{{"uri":"http://127.0.0.1:9000{}","headers":{{"Authorization":["{}"],"X-Amz-Content-SHA256":["UNSIGNED-PAYLOAD"],"X-Amz-Date":["{}"]}}}}"#,
            canonical_uri, added[1].1, added[0].1
        );
        assert_eq!(String::from_utf8_lossy(&answer.body), expected, "{uri} {amz}");
    }
    let junk = drive(&e, acme(Method::Post, &format!("{NS}/d/tables/t/sign")).body("nope"), NOW, no_io);
    assert_eq!(junk.status, 400);
    // Every call checks the token and the grant.
    let r = drive(
        &e,
        Request::new(Method::Post, format!("{NS}/d/tables/t/sign"))
            .header("Authorization", "Bearer wrong")
            .body(sign_request("GET", "http://127.0.0.1:9000/lake/wh/d/t/x").to_string()),
        NOW,
        no_io,
    );
    assert_eq!(r.status, 401);
    let r = drive(
        &e,
        acme(Method::Post, &format!("{BASE}/shares/other/namespaces/d/tables/t/sign"))
            .body(sign_request("GET", "http://127.0.0.1:9000/lake/wh/d/t/x").to_string()),
        NOW,
        no_io,
    );
    assert_eq!(r.status, 404);
}

/// The audit event names the share, namespace and table a request names, whether the request
/// is served, refused at the token, or waits for its body.
#[test]
fn audit_events_name_the_table_however_the_exchange_ends() {
    let e = engine_with(signing_store());
    let body = sign_request("GET", "http://127.0.0.1:9000/lake/wh/d/t/x").to_string();
    let target = format!("{NS}/d/tables/t/sign");
    let names = |r: &Reply| {
        let a = &r.audit;
        (a.route, a.share.clone(), a.schema.clone(), a.asset.clone(), a.recipient.clone(), a.status)
    };
    let table = |recipient: Option<&str>, status| {
        let name = |s: &str| Some(s.to_string());
        ("iceberg_sign", name("s"), name("d"), name("t"), recipient.map(str::to_string), status)
    };
    let signed = drive(&e, acme(Method::Post, &target).body(body.clone()), NOW, no_io);
    assert_eq!(names(&signed), table(Some("acme"), 200));
    let wrong = Request::new(Method::Post, &target).header("Authorization", "Bearer wrong").body(body.clone());
    assert_eq!(names(&drive(&e, wrong, NOW, no_io)), table(None, 401));
    let mut pending = acme(Method::Post, &target);
    pending.body_pending = true;
    let read = drive(&e, pending, NOW, |need| match need {
        IoNeed::RequestBody { .. } => IoResult::Bytes(body.clone().into_bytes().into()),
        other => panic!("unexpected need {other:?}"),
    });
    assert_eq!(names(&read), table(Some("acme"), 200));
    let namespace = get_acme(&e, &format!("{NS}/d"));
    assert_eq!(
        (namespace.audit.route, namespace.audit.share.as_deref(), namespace.audit.schema.as_deref()),
        ("iceberg_get_namespace", Some("s"), Some("d"))
    );
}

#[test]
fn the_delta_surface_lists_iceberg_tables_and_points_to_the_catalog() {
    let e = engine_with(vending_store());
    let list = get_acme(&e, "/delta-sharing/shares/s/schemas/d/tables");
    let t = &list.json()["items"][0];
    assert_eq!((t["name"].as_str(), t["format"].as_str()), (Some("t"), Some("iceberg")));
    assert_eq!(t["accessModes"], json!(["dir"]));
    assert!(list.json()["items"][4].get("format").is_none(), "Delta listings are unchanged");
    for (method, op) in
        [(Method::Get, "version"), (Method::Get, "metadata"), (Method::Post, "query"), (Method::Get, "changes")]
    {
        let r =
            drive(&e, acme(method, &format!("/delta-sharing/shares/s/schemas/d/tables/t/{op}")).body("{}"), NOW, no_io);
        assert_eq!(r.status, 501, "{op}");
        assert!(r.message().contains("https://sharing.example.com/delta-sharing/iceberg"), "{}", r.message());
    }
    let creds = drive(
        &e,
        acme(Method::Post, "/delta-sharing/shares/s/schemas/d/tables/t/temporary-table-credentials").body("{}"),
        NOW,
        no_io,
    );
    assert_eq!(creds.status, 200, "{}", String::from_utf8_lossy(&creds.body));
    assert_eq!(creds.json()["credentials"]["location"], "s3://lake/wh/d/t");
}

#[test]
fn profiles_carry_the_iceberg_endpoint() {
    let e = engine_with(signing_store());
    let profile: Value = serde_json::from_str(&e.profile(None, "tok", None).unwrap()).unwrap();
    assert_eq!(profile["icebergEndpoint"], "https://sharing.example.com/delta-sharing/iceberg");
}

#[test]
fn ip_access_lists_and_rate_limits_hold_on_the_iceberg_surface_too() {
    let config = json!({
        "token_signing_key": "0123456789abcdef0123456789abcdef",
        "stores": {"main": signing_store()},
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": []}]}],
        "recipients": [
            {"name": "lan", "token_sha256": token_sha256_hex("lan-token"), "shares": ["s"],
             "ip_access_list": ["10.1.0.0/16"]},
            {"name": "slow", "token_sha256": token_sha256_hex("slow-token"), "shares": ["s"],
             "rate_limit": {"requests_per_second": 1, "burst": 1}}
        ]
    });
    let e = Engine::from_json(config.to_string().as_bytes(), &|_| None).unwrap();
    let call = |token: &str, peer: &str| {
        let mut r = Request::new(Method::Get, format!("{BASE}/config?warehouse=s"))
            .header("Authorization", format!("Bearer {token}"));
        r.peer = Some(peer.into());
        drive(&e, r, NOW, no_io)
    };
    assert_eq!(call("lan-token", "10.1.2.3:5000").status, 200);
    let refused = call("lan-token", "192.0.2.9:5000");
    assert_eq!((refused.status, iceberg_error(&refused).1.as_str()), (403, "ForbiddenException"));
    assert!(refused.audit.detail.as_deref().unwrap_or_default().contains("192.0.2.9"));
    assert_eq!(call("slow-token", "127.0.0.1:1").status, 200);
    let limited = call("slow-token", "127.0.0.1:1");
    assert_eq!((limited.status, iceberg_error(&limited).1.as_str()), (429, "RateLimitedException"));
    assert_eq!(limited.header("Retry-After"), Some("1"));
}
