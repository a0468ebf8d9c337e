//! Parquet datasets through the table endpoints: schema and partition columns from footers and
//! directories, statistics that prune, the footer cache, and bad input (corrupt footers,
//! incompatible files, time travel). Files are written with the `parquet` crate and served from
//! memory, with ranged reads honoured as a store would.

mod common;
#[path = "common/datasets.rs"]
mod datasets;

use common::{drive, Reply, Rng, NOW};
use datasets::{parquet_file, Store};
use opensharing::auth::token_sha256_hex;
use opensharing::{Engine, IoNeed, IoResult, Method, ObjectMeta, Request};
use parquet::basic::Type as Physical;

const TOKEN: &str = "dataset-token-0123456789";

fn engine() -> Engine {
    let config = serde_json::json!({
        "endpoint": "http://127.0.0.1:8080/delta-sharing",
        "token_signing_key": "0123456789abcdef0123456789abcdef",
        "stores": {"mem": {"kind": "local", "root": "/nonexistent"}},
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            {"type": "parquet_dataset", "name": "events", "store": "mem", "path": "lake/events"}]}]}],
        "recipients": [{"name": "r", "token_sha256": token_sha256_hex(TOKEN), "shares": ["s"]}]
    });
    Engine::from_json(config.to_string().as_bytes(), &|_| None).unwrap()
}

/// Two partitions, three files, plus files that are not data.
fn dataset() -> Store {
    let mut store = Store::default();
    store.put("lake/events/region=eu/part-0.parquet", parquet_file(&[1, 2, 3], Physical::INT64, 0));
    store.put("lake/events/region=eu/part-1.parquet", parquet_file(&[10, 11], Physical::INT64, 0));
    store.put("lake/events/region=us/part-0.parquet", parquet_file(&[20, 21, 22, 23], Physical::INT64, 0));
    store.put("lake/events/_SUCCESS", Vec::new());
    store.put("lake/events/region=eu/.part-0.parquet.crc", b"crc".to_vec());
    store.put("lake/events/_delta_log/00000000000000000000.json", b"{}".to_vec());
    store.put("lake/eventsx/part-0.parquet", b"not this dataset".to_vec());
    store
}

const TABLE: &str = "/delta-sharing/shares/s/schemas/d/tables/events";

fn request(method: Method, op: &str, format: Option<&str>, body: &str) -> Request {
    let r = Request::new(method, format!("{TABLE}/{op}")).header("Authorization", format!("Bearer {TOKEN}"));
    let r = match format {
        Some(f) => r.header("delta-sharing-capabilities", format!("responseformat={f}")),
        None => r,
    };
    r.body(body.to_string())
}

fn run(engine: &Engine, store: &Store, req: Request) -> (Reply, Vec<IoNeed>) {
    let mut needs = Vec::new();
    let reply = drive(engine, req, NOW, |need| {
        needs.push(need.clone());
        store.answer(need)
    });
    (reply, needs)
}

fn lines(reply: &Reply) -> Vec<serde_json::Value> {
    String::from_utf8(reply.body.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn query(engine: &Engine, store: &Store, format: &str, body: &str) -> (Vec<serde_json::Value>, Vec<IoNeed>) {
    let (reply, needs) = run(engine, store, request(Method::Post, "query", Some(format), body));
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("Delta-Table-Version"), Some("0"));
    (lines(&reply), needs)
}

#[test]
fn metadata_maps_the_footer_and_partition_directories() {
    let (engine, store) = (engine(), dataset());
    for format in ["parquet", "delta"] {
        let (reply, _) = run(&engine, &store, request(Method::Get, "metadata", Some(format), ""));
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        let l = lines(&reply);
        let (protocol, meta) = match format {
            "parquet" => (l[0]["protocol"].clone(), l[1]["metaData"].clone()),
            _ => (l[0]["protocol"]["deltaProtocol"].clone(), l[1]["metaData"]["deltaMetadata"].clone()),
        };
        assert_eq!(protocol["minReaderVersion"], 1);
        assert_eq!(meta["format"]["provider"], "parquet");
        assert_eq!(meta["partitionColumns"], serde_json::json!(["region"]));
        let schema: serde_json::Value = serde_json::from_str(meta["schemaString"].as_str().unwrap()).unwrap();
        let fields: Vec<(String, String, bool)> = schema["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["name"].as_str().unwrap().into(), f["type"].as_str().unwrap().into(), f["nullable"] == true))
            .collect();
        assert_eq!(
            fields,
            [
                ("id".into(), "long".into(), false),
                ("name".into(), "string".into(), true),
                ("score".into(), "double".into(), true),
                ("region".into(), "string".into(), true)
            ]
        );
        if format == "delta" {
            assert_eq!(l[1]["metaData"]["numFiles"], 3);
        }
    }
    let (reply, _) = run(&engine, &store, request(Method::Get, "version", None, ""));
    assert_eq!((reply.status, reply.header("Delta-Table-Version")), (200, Some("0")));
}

#[test]
fn query_lists_data_files_with_statistics_and_prunes() {
    let (engine, store) = (engine(), dataset());
    let (l, needs) = query(&engine, &store, "parquet", "{}");
    let files: Vec<&serde_json::Value> = l[2..].iter().map(|f| &f["file"]).collect();
    assert_eq!(files.len(), 3, "_SUCCESS, .crc, _delta_log and the sibling prefix are skipped: {l:?}");
    assert_eq!(files[0]["partitionValues"], serde_json::json!({"region": "eu"}));
    assert_eq!(files[2]["partitionValues"], serde_json::json!({"region": "us"}));
    let url = files[0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:8080/delta-sharing/files/mem/lake/events/region%3Deu/part-0.parquet?"),
        "{url}"
    );
    let stats: serde_json::Value = serde_json::from_str(files[2]["stats"].as_str().unwrap()).unwrap();
    let expected = serde_json::json!({"numRecords": 4, "minValues": {"id": 20, "name": "n20", "score": 10.0},
        "maxValues": {"id": 23, "name": "n23", "score": 11.0}, "nullCount": {"id": 0, "name": 0, "score": 2}});
    assert_eq!(stats, expected);
    // One listing and one tail read per data file, each a range ending at the file's end.
    assert_eq!(needs.len(), 4, "{needs:?}");
    assert!(matches!(&needs[0], IoNeed::List { prefix, .. } if prefix == "lake/events/"));
    for need in &needs[1..] {
        let IoNeed::Get { key, range: Some(r), .. } = need else { panic!("{need:?}") };
        assert_eq!(r.end, store.objects[key].0.len() as u64);
    }

    let hint = |json: serde_json::Value| serde_json::json!({"jsonPredicateHints": json.to_string()}).to_string();
    let on_partition = hint(serde_json::json!({"op":"equal","children":[
        {"op":"column","name":"region","valueType":"string"},{"op":"literal","value":"us","valueType":"string"}]}));
    let (l, needs) = query(&engine, &store, "parquet", &on_partition);
    assert_eq!(l.len() - 2, 1);
    assert_eq!(needs.len(), 1, "footers and snapshot cached: only the listing");
    let on_stats = hint(serde_json::json!({"op":"greaterThan","children":[
        {"op":"column","name":"id","valueType":"long"},{"op":"literal","value":"10","valueType":"long"}]}));
    let (l, _) = query(&engine, &store, "delta", &on_stats);
    let paths: Vec<i64> = l[2..]
        .iter()
        .map(|f| {
            let add = &f["file"]["deltaSingleAction"]["add"];
            assert_eq!(add["dataChange"], true);
            assert_eq!(add["modificationTime"], 1_000);
            let stats: serde_json::Value = serde_json::from_str(add["stats"].as_str().unwrap()).unwrap();
            stats["minValues"]["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(paths, [10, 20], "the file with ids 1..3 is pruned");
}

#[test]
fn a_changed_file_is_read_again_and_large_footers_take_a_second_read() {
    let (engine, mut store) = (engine(), dataset());
    query(&engine, &store, "parquet", "{}");
    store.put("lake/events/region=us/part-0.parquet", parquet_file(&[30, 31], Physical::INT64, 100_000));
    let (l, needs) = query(&engine, &store, "parquet", "{}");
    let gets: Vec<&IoNeed> = needs.iter().filter(|n| matches!(n, IoNeed::Get { .. })).collect();
    assert_eq!(gets.len(), 2, "only the changed file, whose footer is longer than the first read: {needs:?}");
    let stats: serde_json::Value = serde_json::from_str(l[4]["file"]["stats"].as_str().unwrap()).unwrap();
    assert_eq!(stats["numRecords"], 2);
    assert_eq!(stats["minValues"]["id"], 30);
}

fn error_of(engine: &Engine, store: &Store, req: Request) -> (u16, String, String) {
    let (reply, _) = run(engine, store, req);
    (reply.status, reply.error_code(), reply.message())
}

#[test]
fn corrupt_and_incompatible_files_are_named() {
    let engine = engine();
    for (bad, detail) in [
        (b"PAR1 data without any footer".to_vec(), "magic"),
        (b"abc".to_vec(), "too small"),
        ([b"PAR1".as_slice(), &[0xff; 40], &40u32.to_le_bytes(), b"PAR1"].concat(), "cannot be decoded"),
        ([b"PAR1".as_slice(), &u32::MAX.to_le_bytes(), b"PAR1"].concat(), "claims"),
    ] {
        let mut store = dataset();
        store.put("lake/events/region=us/zz.parquet", bad);
        let (status, code, message) = error_of(&engine, &store, request(Method::Post, "query", None, "{}"));
        assert_eq!((status, code.as_str()), (500, "INTERNAL_ERROR"), "{message}");
        assert!(message.contains("region=us/zz.parquet") && message.contains(detail), "{message}");
    }
    let mut store = dataset();
    store.put("lake/events/region=us/zz.parquet", parquet_file(&[1], Physical::BYTE_ARRAY, 0));
    let (status, _, message) = error_of(&engine, &store, request(Method::Get, "metadata", None, ""));
    assert_eq!(status, 500);
    assert!(message.contains("region=us/zz.parquet") && message.contains("column id"), "{message}");
    let mut store = dataset();
    store.put("lake/events/zz.parquet", parquet_file(&[1], Physical::INT64, 0));
    let (status, _, message) = error_of(&engine, &store, request(Method::Get, "metadata", None, ""));
    assert_eq!(status, 500);
    assert!(message.contains("zz.parquet") && message.contains("partition directories"), "{message}");
    let (status, code, _) = error_of(&engine, &Store::default(), request(Method::Get, "metadata", None, ""));
    assert_eq!((status, code.as_str()), (404, "RESOURCE_DOES_NOT_EXIST"));
}

#[test]
fn time_travel_and_changes_are_refused() {
    let (engine, store) = (engine(), dataset());
    for req in [
        request(Method::Get, "metadata?version=1", None, ""),
        request(Method::Get, "metadata?timestamp=2026-01-01T00:00:00Z", None, ""),
        request(Method::Get, "version?startingTimestamp=2026-01-01T00:00:00Z", None, ""),
        request(Method::Post, "query", None, r#"{"version":3}"#),
        request(Method::Post, "query", None, r#"{"timestamp":"2026-01-01T00:00:00Z"}"#),
        request(Method::Post, "query", None, r#"{"startingVersion":0}"#),
        request(Method::Get, "changes?startingVersion=0", None, ""),
    ] {
        let target = req.target.clone();
        let (status, code, message) = error_of(&engine, &store, req);
        assert_eq!((status, code.as_str()), (400, "INVALID_PARAMETER_VALUE"), "{target}: {message}");
        assert!(message.contains("Parquet dataset") && message.contains("single version (0)"), "{message}");
    }
    let (l, _) = query(&engine, &store, "parquet", r#"{"version":0}"#);
    assert_eq!(l.len(), 5);
    let (reply, _) = run(&engine, &store, request(Method::Get, "metadata?version=0", None, ""));
    assert_eq!(reply.status, 200);
}

#[test]
fn pages_and_refresh_tokens_work_on_version_0() {
    let (engine, store) = (engine(), dataset());
    let (l, _) = query(&engine, &store, "parquet", r#"{"maxFiles":2,"version":0}"#);
    assert_eq!(l.len(), 5, "protocol, metadata, 2 files, endStreamAction: {l:?}");
    let token = l[4]["endStreamAction"]["nextPageToken"].as_str().unwrap();
    let body = serde_json::json!({"maxFiles": 2, "version": 0, "pageToken": token}).to_string();
    let (l, _) = query(&engine, &store, "parquet", &body);
    assert_eq!(l[2]["file"]["partitionValues"], serde_json::json!({"region": "us"}));
    assert_eq!(l.len(), 4, "the last file and the closing line: {l:?}");
    let (l, _) = query(&engine, &store, "parquet", r#"{"includeRefreshToken":true}"#);
    let refresh = l.last().unwrap()["endStreamAction"]["refreshToken"].as_str().unwrap();
    let (l, _) = query(&engine, &store, "parquet", &serde_json::json!({"refreshToken": refresh}).to_string());
    assert_eq!(l.len(), 6);
}

/// Hosts that answer wrongly: listed sizes that lie, short or overlong reads, truncated and
/// bit-flipped footers, failures. Every request ends in a protocol answer, never a panic.
#[test]
fn hostile_storage_answers_are_protocol_errors() {
    let engine = engine();
    let good = parquet_file(&[1, 2, 3], Physical::INT64, 0);
    let mut rng = Rng(0x5eed_da7a);
    for round in 0..400 {
        let listed = 1 + rng.next() % 3;
        let op = ["query", "metadata", "version"][(rng.next() % 3) as usize];
        let method = if op == "query" { Method::Post } else { Method::Get };
        let mut io = |need: &IoNeed| match need {
            IoNeed::List { prefix, .. } => match rng.next() % 8 {
                0 => IoResult::Failed("boom".into()),
                1 => IoResult::NotFound,
                _ => IoResult::Listing(opensharing::Listing::complete(
                    (0..listed)
                        .map(|i| ObjectMeta {
                            key: format!("{prefix}p={i}/f.parquet"),
                            size: [0, 7, 12, good.len() as u64, u64::MAX / 2, rng.next() % 5_000]
                                [(rng.next() % 6) as usize],
                            last_modified_ms: round,
                        })
                        .collect(),
                )),
            },
            IoNeed::Get { .. } => {
                let mut bytes = good.clone();
                match rng.next() % 6 {
                    0 => return IoResult::Failed("boom".into()),
                    1 => return IoResult::NotFound,
                    2 => bytes.truncate((rng.next() % bytes.len() as u64) as usize),
                    3 => {
                        let at = (rng.next() % bytes.len() as u64) as usize;
                        bytes[at] ^= 1 << (rng.next() % 8);
                    }
                    4 => bytes = bytes[(rng.next() % bytes.len() as u64) as usize..].to_vec(),
                    _ => {}
                }
                IoResult::Bytes(bytes.into())
            }
            _ => IoResult::Meta(ObjectMeta { key: "x".into(), size: 0, last_modified_ms: 0 }),
        };
        let reply = drive(&engine, request(method, op, Some("delta"), "{}"), NOW, &mut io);
        assert!(matches!(reply.status, 200 | 404 | 500 | 502), "{op}: {} {:?}", reply.status, reply.body);
    }
}
