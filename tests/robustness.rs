//! Malformed requests of every kind (paths, headers, bodies, tokens) through the engine: each
//! ends in a protocol answer, never a panic or a hang. A small deterministic generator keeps the
//! run reproducible.

mod common;

use common::{drive, Rng, NOW, TOKEN_ACME};
use opensharing::{IoNeed, IoResult, Method, Request};

impl Rng {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn junk(&mut self, max: usize) -> String {
        let alphabet = [
            "a", "Z", "0", "%", "%2F", "%ff", "/", ".", "..", "?", "&", "=", "+", " ", "\"", "{", "}", "[", "ü",
            "\u{7f}", "\t", "#",
        ];
        let n = (self.next() % max as u64) as usize;
        (0..n).map(|_| self.pick(&alphabet)).collect()
    }
}

const SEGMENTS: [&str; 14] = [
    "shares",
    "sales",
    "SALES",
    "schemas",
    "default",
    "tables",
    "orders",
    "all-tables",
    "query",
    "metadata",
    "version",
    "changes",
    "volumes",
    "files",
];

/// IO answers that are wrong in every way a host could get them wrong.
fn hostile_io(rng: &mut Rng) -> impl FnMut(&IoNeed) -> IoResult + '_ {
    move |_| {
        match rng.next() % 6 {
        0 => IoResult::NotFound,
        1 => IoResult::Failed("boom".into()),
        2 => IoResult::Bytes(rng.junk(200).into_bytes().into()),
        3 => IoResult::Bytes(b"{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n{\"metaData\":{\"id\":\"x\",\"schemaString\":\"{}\"}}\n{\"add\":{\"path\":\"a\",\"size\":1}}".to_vec().into()),
        4 => IoResult::Listing(opensharing::Listing {
            entries: (0..rng.next() % 4)
                .map(|_| opensharing::ObjectMeta {
                    key: match rng.next() % 3 {
                        0 => format!("orders/_delta_log/{:020}.json", rng.next() % 5),
                        1 => format!("raw/{}", rng.junk(10)),
                        _ => rng.junk(20),
                    },
                    size: rng.next(),
                    last_modified_ms: rng.next() as i64,
                })
                .collect(),
            continue_after: rng.next().is_multiple_of(2).then(|| rng.junk(20)),
        }),
        _ => IoResult::Meta(opensharing::ObjectMeta { key: "x".into(), size: 0, last_modified_ms: 0 }),
    }
    }
}

#[test]
fn random_requests_always_get_a_protocol_answer() {
    let engine = common::engine();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut table_answers = 0;
    for round in 0..4000 {
        let depth = (rng.next() % 8) as usize;
        let mut target = String::from("/delta-sharing");
        if rng.next().is_multiple_of(2) {
            // A real table, so the table operations and their IO are reached.
            target.push_str("/shares/sales/schemas/default/tables/orders/");
            target.push_str(rng.pick(&["query", "metadata", "version", "changes", ""]));
        }
        for _ in 0..depth.saturating_sub(if target.ends_with("orders/") { 8 } else { 0 }) {
            target.push('/');
            if rng.next().is_multiple_of(3) {
                target.push_str(&rng.junk(12));
            } else {
                target.push_str(rng.pick(&SEGMENTS));
            }
        }
        if rng.next().is_multiple_of(2) {
            target.push('?');
            target.push_str(rng.pick(&[
                "maxResults=",
                "pageToken=",
                "version=",
                "timestamp=",
                "startingVersion=",
                "startingTimestamp=",
            ]));
            target.push_str(&rng.junk(20));
        }
        let method = match rng.next() % 4 {
            0 => Method::Get,
            1 => Method::Post,
            2 => Method::Head,
            _ => Method::Other,
        };
        let mut request = Request::new(method, target.clone());
        if !rng.next().is_multiple_of(5) {
            request = request.header("Authorization", format!("Bearer {TOKEN_ACME}"));
        } else {
            request = request.header("Authorization", rng.junk(30));
        }
        if rng.next().is_multiple_of(2) {
            request = request.header("delta-sharing-capabilities", rng.junk(40));
        }
        if rng.next().is_multiple_of(4) {
            request = request.header("fileidhash", rng.junk(8));
        }
        let body = match rng.next() % 5 {
            0 => String::new(),
            1 => "{}".into(),
            2 => format!("{{\"version\":\"{}\",\"maxFiles\":{}}}", rng.junk(4), rng.next() % 5),
            3 => format!("{{\"jsonPredicateHints\":\"{}\",\"limitHint\":-1}}", rng.junk(30).replace('"', "")),
            _ => rng.junk(60),
        };
        request = request.body(body);
        let mut io_rng = Rng(rng.next() | 1);
        let reply = drive(&engine, request, NOW, hostile_io(&mut io_rng));
        table_answers += usize::from(reply.audit.io_requests > 0);
        assert_protocol_answer(round, &target, method, &reply);
    }
    assert!(table_answers > 50, "the table operations were reached with hostile IO ({table_answers} times)");
}

/// Replies a credential service could send, wrong in every way.
fn hostile_reply(rng: &mut Rng) -> IoResult {
    let body = match rng.next() % 9 {
        8 => b"<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>".to_vec(),
        0 => rng.junk(100).into_bytes(),
        1 => b"<AssumeRoleResponse><Credentials><AccessKeyId>A&bogus;</AccessKeyId>".to_vec(),
        2 => b"<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken><Expiration>not a time</Expiration></Credentials>".to_vec(),
        3 => vec![b'<'; 70 * 1024],
        4 => br#"{"access_token": 7, "expires_in": "soon"}"#.to_vec(),
        5 => br#"{"access_token": "t", "expires_in": -5}"#.to_vec(),
        6 => vec![0xff, 0xfe, 0x00],
        _ => br#"{"access_token": "t", "expires_in": 3599}"#.to_vec(),
    };
    match rng.next() % 5 {
        0 => IoResult::Failed("connection reset".into()),
        1 => IoResult::NotFound,
        _ => IoResult::Http(opensharing::HttpReply {
            status: [200, 400, 403, 500, 0][(rng.next() % 5) as usize],
            body,
            headers: Vec::new(),
        }),
    }
}

#[test]
fn credential_calls_with_hostile_replies_get_a_protocol_answer() {
    let key_json = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/gcs/test_service_account.not-a-test.json"),
    )
    .expect("the GCS test service account in tests/vectors");
    let config = serde_json::json!({
        "stores": {
            "aws": {"kind": "s3", "bucket": "b", "region": "us-east-1", "access_key_id": "k", "secret_access_key": "s",
                    "vend": {"sts": {"role_arn": "arn:aws:iam::1:role/r"}}},
            "gcp": {"kind": "gcs", "bucket": "g", "service_account_key": key_json, "vend": {}}
        },
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            {"type": "delta_table", "name": "t", "store": "aws", "path": "t", "history_shared": true},
            {"type": "volume", "name": "v", "store": "gcp", "path": "v"}]}]}],
        "recipients": [{"name": "r", "token_sha256": opensharing::auth::token_sha256_hex(TOKEN_ACME), "shares": ["s"]}]
    });
    let engine = opensharing::Engine::from_json(config.to_string().as_bytes(), &|_| None).unwrap();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut granted = 0;
    for round in 0..2000 {
        let target = match rng.next() % 2 {
            0 => "/delta-sharing/shares/s/schemas/d/tables/t/temporary-table-credentials",
            _ => "/delta-sharing/shares/s/schemas/d/volumes/v/temporary-volume-credentials",
        };
        let body = match rng.next() % 4 {
            0 => String::new(),
            1 => format!("{{\"location\":\"{}\"}}", rng.junk(20).replace(['"', '\\'], "")),
            2 => "{\"location\":\"s3://b/t\"}".into(),
            _ => rng.junk(40),
        };
        let request =
            Request::new(Method::Post, target).header("Authorization", format!("Bearer {TOKEN_ACME}")).body(body);
        // Each exchange at its own time, so the grant cache does not answer for the service.
        let mut io_rng = Rng(rng.next() | 1);
        let reply = drive(&engine, request, NOW + round * 3_600_000, |_| hostile_reply(&mut io_rng));
        granted += usize::from(reply.status == 200);
        assert!([200, 400, 500, 502].contains(&reply.status), "round {round}: {target} got {}", reply.status);
        let body: serde_json::Value = serde_json::from_slice(&reply.body).expect("JSON body");
        assert!(reply.status == 200 || body["errorCode"].is_string(), "round {round}: {body}");
    }
    assert!(granted > 0, "some hostile replies are valid grants");
}

#[test]
fn random_files_requests_always_get_a_protocol_answer() {
    let engine = common::engine();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut reached_io = 0;
    let assets = [
        "volumes/raw",
        "skills/report-writer",
        "models/churn/versions/1",
        "models/churn/aliases/champion",
        "models/churn/versions/-1",
        "volumes/nope",
        "tables/orders",
    ];
    for round in 0..3000 {
        let mut target = format!("/delta-sharing/shares/sales/schemas/default/{}/files", rng.pick(&assets));
        if rng.next().is_multiple_of(2) {
            target.push('/');
            target.push_str(&rng.junk(16));
        }
        if rng.next().is_multiple_of(2) {
            target.push('?');
            for _ in 0..1 + rng.next() % 3 {
                target.push_str(rng.pick(&["prefix=", "maxResults=", "pageToken=", "&"]));
                target.push_str(&rng.junk(12));
                target.push('&');
            }
        }
        let method = [Method::Get, Method::Head, Method::Post][(rng.next() % 3) as usize];
        let request = Request::new(method, target.clone()).header("Authorization", format!("Bearer {TOKEN_ACME}"));
        let mut io_rng = Rng(rng.next() | 1);
        let reply = drive(&engine, request, NOW, hostile_io(&mut io_rng));
        reached_io += usize::from(reply.audit.io_requests > 0);
        assert_protocol_answer(round, &target, method, &reply);
        if reply.status == 200 {
            let body: serde_json::Value = serde_json::from_slice(&reply.body).expect("a listing is JSON");
            assert!(body["items"].as_array().unwrap().len() <= 1000, "round {round}");
        }
    }
    assert!(reached_io > 300, "the files operations were reached with hostile IO ({reached_io} times)");
}

/// A status in range, and for errors (but HEAD) a JSON body with an `errorCode`.
fn assert_protocol_answer(round: usize, target: &str, method: Method, reply: &common::Reply) {
    assert!((200..600).contains(&reply.status), "round {round}: {target} got {}", reply.status);
    if reply.status >= 400 && method != Method::Head {
        let body: serde_json::Value = serde_json::from_slice(&reply.body)
            .unwrap_or_else(|e| panic!("round {round}: {target}: error body is not JSON: {e}"));
        assert!(body["errorCode"].is_string(), "round {round}: {target}: {body}");
    }
}
