//! Fuzz entry points: one function per parser, each taking the fuzzer's raw bytes. The
//! `cargo fuzz` targets under `fuzz/` call them, and the unit tests below replay every seed of
//! `fuzz/corpus/` through them on stable, so the corpora are a regression check in `cargo test`.
//!
//! Only built with the `fuzzing` feature (and in tests); not part of the public API. It reaches
//! the private credential-reply parsers without making them public.
//!
//! Each function panics only when the code under test breaks a contract (a panic, a hang
//! guard, a malformed response), which is what the fuzzer reports.

use std::sync::OnceLock;

use crate::catalog::Catalog;
use crate::protocol::capabilities::{Capabilities, TableFeature};
use crate::protocol::predicate::{ColumnFacts, Predicate};
use crate::protocol::query_request::QueryRequest;
use crate::protocol::signed_token::TokenKey;
use crate::protocol::table_tokens;
use crate::{Engine, HttpReply, IoNeed, IoResult, Method, ObjectMeta, Request, Step};

/// The time every target runs at: 2026-01-01T00:00:00Z.
pub const NOW_MS: i64 = 1_767_225_600_000;

/// The bearer token the exchange target's configuration accepts.
pub const TOKEN: &str = "opensharing-demo-token";

/// An engine for the exchange target: the demo catalog plus an S3 store that vends through STS
/// and one that does not (so Iceberg tables on them reach vended credentials and remote
/// signing), and an OIDC issuer whose JWKS comes through an `Http` need. A new engine per input,
/// so no snapshot or key set cached by one input changes what the next does.
fn engine() -> Engine {
    static CONFIG: OnceLock<String> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut config: serde_json::Value =
            serde_json::from_str(include_str!("../demo/opensharing.json")).expect("demo config is JSON");
        config["token_signing_key"] = "fuzz-fuzz-fuzz-fuzz-fuzz-fuzz-fuzz".into();
        config["stores"]["lake"] = serde_json::json!({"kind": "s3", "bucket": "bkt", "region": "eu-west-1",
            "access_key_id": "AKIDSTORE", "secret_access_key": "store-secret",
            "vend": {"sts": {"role_arn": "arn:aws:iam::123456789012:role/reader"}}});
        let assets = &mut config["shares"][0]["schemas"][0]["assets"];
        if let Some(list) = assets.as_array_mut() {
            list.push(serde_json::json!({"type": "delta_table", "name": "lake", "store": "lake", "path": "t",
                "history_shared": true}));
            list.push(serde_json::json!({"type": "volume", "name": "raw", "store": "lake", "path": "raw"}));
            list.push(serde_json::json!({"type": "iceberg_table", "name": "ice", "store": "lake", "path": "ice"}));
            list.push(
                serde_json::json!({"type": "iceberg_table", "name": "signed", "store": "keys", "path": "wh/signed"}),
            );
        }
        config["oidc_issuers"] = serde_json::json!([{"issuer": "https://idp.example", "audiences": ["opensharing"],
            "jwks_uri": "https://idp.example/jwks"}]);
        if let Some(recipients) = config["recipients"].as_array_mut() {
            recipients.push(serde_json::json!({"name": "federated", "shares": ["demo"],
                "oidc": {"issuer": "https://idp.example", "subject": "vector"}}));
        }
        config["stores"]["keys"] = serde_json::json!({"kind": "s3", "bucket": "wh", "region": "us-east-1",
            "access_key_id": "AKIDKEYS", "secret_access_key": "keys-secret"});
        config.to_string()
    });
    Engine::from_json(config.as_bytes(), &|_| None).expect("fuzz config is valid")
}

/// The key page and refresh tokens are opened with.
fn token_key() -> &'static TokenKey {
    static KEY: OnceLock<TokenKey> = OnceLock::new();
    KEY.get_or_init(|| TokenKey::new(b"fuzz-fuzz-fuzz-fuzz-fuzz-fuzz-fuzz"))
}

/// Most polls one exchange may take: an exchange that never finishes is a hang.
const MAX_POLLS: usize = 100_000;

/// Most response bytes read from one exchange before it counts as unbounded.
const MAX_BODY: usize = 64 << 20;

/// Splits the input into sections separated by NUL bytes. A section that starts with `b` holds
/// binary bytes (a Parquet file): a 4-byte little-endian length, then that many bytes.
fn sections(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let data = rest?;
        let len = match data {
            [b'b', a, b, c, d, ..] => (5 + u32::from_le_bytes([*a, *b, *c, *d]) as usize).min(data.len()),
            _ => data.iter().position(|&b| b == 0).unwrap_or(data.len()),
        };
        let (section, tail) = data.split_at(len);
        rest = tail.split_first().map(|(_, after)| after);
        Some(section)
    })
}

/// One IO answer from an input section; its first byte says what it answers with:
/// `B` bytes (the rest), `b` binary bytes (after a 4-byte length), `L` a listing (lines `name size mtime`, names relative to the asked
/// prefix), `M` object metadata (`size mtime`), `H` an HTTP reply (`status` line, then body),
/// `N` not found, `F` failed. Anything else is bytes.
fn answer(section: &[u8], need: &IoNeed) -> IoResult {
    let (kind, rest) = section.split_first().map_or((b'N', &[][..]), |(k, r)| (*k, r));
    let text = String::from_utf8_lossy(rest);
    let meta = |key: String, line: &str| {
        let mut fields = line.split_whitespace();
        let size = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let last_modified_ms = fields.next().and_then(|s| s.parse().ok()).unwrap_or(NOW_MS);
        ObjectMeta { key, size, last_modified_ms }
    };
    match kind {
        b'L' => {
            let (prefix, after) = match need {
                IoNeed::List { prefix, start_after, .. } => (prefix.as_str(), start_after.as_deref()),
                _ => ("", None),
            };
            let mut objects: Vec<ObjectMeta> = text
                .lines()
                .filter_map(|line| line.split_once(' '))
                .map(|(name, rest)| meta(format!("{prefix}{name}"), rest))
                .filter(|object| after.is_none_or(|after| object.key.as_str() > after))
                .collect();
            objects.sort_by(|a, b| a.key.cmp(&b.key));
            IoResult::Listing(crate::exchange::Listing::complete(objects))
        }
        b'M' => {
            let key = match need {
                IoNeed::Head { key, .. } | IoNeed::Get { key, .. } => key.clone(),
                _ => String::new(),
            };
            IoResult::Meta(meta(key, &text))
        }
        b'H' => {
            let (status, body) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (String::from_utf8_lossy(&rest[..i]).trim().parse().unwrap_or(200), rest[i + 1..].to_vec()),
                None => (200, rest.to_vec()),
            };
            IoResult::Http(HttpReply { status, body, headers: Vec::new() })
        }
        b'N' => IoResult::NotFound,
        b'F' => IoResult::Failed(text.into_owned()),
        b'B' => IoResult::Bytes(rest.to_vec().into()),
        b'b' => IoResult::Bytes(rest.get(4..).unwrap_or_default().to_vec().into()),
        _ => IoResult::Bytes(section.to_vec().into()),
    }
}

/// Parses the request section: `METHOD TARGET` line, header lines `Name: value`, an empty line,
/// then the body. The `Authorization` header value `valid` stands for the demo token.
fn request(section: &[u8]) -> Option<Request> {
    let (head, body) = match section.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&section[..i], &section[i + 2..]),
        None => (section, &[][..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut req = Request::new(Method::parse(method), target);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        let value = if value == "valid" { format!("Bearer {TOKEN}") } else { value.to_string() };
        req = req.header(name.trim(), value);
    }
    // Half the inputs hand the body over up front, half make the engine ask for it.
    req.body_pending = body.first() == Some(&b'~');
    if req.body_pending {
        req.body = Vec::new();
    } else {
        req.body = body.to_vec();
    }
    Some(req)
}

/// Routing plus a whole exchange: the request comes from the first section of the input, and
/// every IO need is answered from the next section (not found once they run out). Checks that
/// the exchange finishes with a response, and that routing agrees with the exchange on 404s.
pub fn exchange(data: &[u8]) {
    run_exchange(data);
}

/// [`exchange`], returning the response status (`None` when the input holds no request).
fn run_exchange(data: &[u8]) -> Option<u16> {
    let mut sections = sections(data);
    let req = sections.next().and_then(request)?;
    let pending_body = req.body_pending;
    let engine = &engine();
    let route = crate::router::route(req.method, &engine.prefix(), req.path());
    let iceberg = crate::iceberg::catalog_path(&engine.prefix(), req.path()).is_some();
    let mut ex = engine.handle(req, NOW_MS);
    let mut status = None;
    let mut body = 0usize;
    let mut buf = [0u8; 8192];
    for _ in 0..MAX_POLLS {
        match ex.poll() {
            Step::Need(id, need) => {
                let need = need.clone();
                let result = match (sections.next(), &need) {
                    (Some(section), _) => answer(section, &need),
                    (None, IoNeed::RequestBody { .. }) if pending_body => IoResult::Bytes(b"{}".to_vec().into()),
                    (None, _) => IoResult::NotFound,
                };
                ex.supply(id, result).expect("the exchange waits for the need it asked");
            }
            Step::Wait => panic!("a host that answers each need at once never waits"),
            Step::Head(head) => {
                assert!((100..600).contains(&head.status), "status {}", head.status);
                status = Some(head.status);
            }
            Step::Body => loop {
                let n = ex.read(&mut buf);
                body += n;
                assert!(body <= MAX_BODY, "response body grows without bound");
                if n == 0 {
                    break;
                }
            },
            // A signed local file (checked by `file_url`): the host would send it here.
            Step::ServeFile(_) => {}
            Step::Done(_) => {
                let status = status.expect("a response head before Done");
                if route.is_err() && !iceberg {
                    assert!(status >= 400, "an unroutable request answered {status}");
                }
                return Some(status);
            }
        }
    }
    panic!("the exchange did not finish in {MAX_POLLS} polls");
}

/// A `/query` body: parse, then validate what parsed.
pub fn query_body(data: &[u8]) {
    if let Ok(query) = QueryRequest::parse(data) {
        let _ = query.validate();
    }
}

/// `jsonPredicateHints`: parse, then evaluate against facts drawn from the input's bytes.
pub fn predicate(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some(predicate) = Predicate::parse(text) else { return };
    let values: Vec<serde_json::Value> = serde_json::from_str(text)
        .ok()
        .and_then(|v: serde_json::Value| v.as_object().map(|o| o.values().cloned().collect()))
        .unwrap_or_default();
    let seed = data.len();
    let facts = |column: &str| {
        let pick = (column.len() + seed) % 4;
        ColumnFacts {
            partition_value: (pick == 0).then_some(values.first().and_then(serde_json::Value::as_str)),
            min: values.first(),
            max: values.last(),
            null_count: (pick == 1).then_some(0),
            num_records: (pick == 2).then_some(seed as i64),
        }
    };
    let _ = predicate.may_match(&facts);
}

/// The capabilities header: parse, negotiate against every table feature, format the answer.
pub fn capabilities(data: &[u8]) {
    let Ok(header) = std::str::from_utf8(data) else { return };
    let Ok(caps) = Capabilities::parse(Some(header)) else { return };
    for features in
        [&[][..], &[TableFeature::DeletionVectors], &[TableFeature::DeletionVectors, TableFeature::ColumnMapping]]
    {
        if let Ok(format) = caps.negotiate(features) {
            let _ = caps.response_header(format);
        }
    }
}

/// Page and refresh tokens opened with a fixed key; a token that opens must round-trip.
pub fn tokens(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let key = token_key();
    if let Ok(state) = table_tokens::open_page(key, token, "t", "c", NOW_MS) {
        assert_eq!(table_tokens::open_page(key, &table_tokens::seal_page(key, &state), "t", "c", NOW_MS), Ok(state));
    }
    if let Ok(state) = table_tokens::open_refresh(key, token, "t", NOW_MS) {
        let again = table_tokens::open_refresh(key, &table_tokens::seal_refresh(key, &state), "t", NOW_MS);
        assert_eq!(again, Ok(state));
    }
    let _ = key.open("table-page", token);
}

/// Delta commit lines.
pub fn delta_commit(data: &[u8]) {
    let _ = crate::delta::actions::parse_commit("00000000000000000000.json", data);
}

/// A checkpoint file: Parquet, or a v2 JSON manifest when the first byte is `{`.
pub fn checkpoint(data: &[u8]) {
    let name = if data.first() == Some(&b'{') {
        "00000000000000000001.checkpoint.json"
    } else {
        "00000000000000000001.checkpoint.parquet"
    };
    let mut actions = 0usize;
    let _ = crate::delta::checkpoint::parse_checkpoint(name, data.to_vec().into(), &mut |_| actions += 1);
}

/// The end of a Parquet dataset file: its footer, read as the dataset reader reads it (the
/// input is the whole file, as a host that ignores the range would return it).
pub fn dataset_footer(data: &[u8]) {
    if let Ok(crate::dataset::footer::Tail::Footer(info)) = crate::dataset::footer::decode(data, data.len() as u64) {
        assert!(info.stats.parse().is_some(), "footer statistics are not JSON");
    }
}

/// The configuration JSON; a catalog that loads must also build an engine or say why not.
pub fn config(data: &[u8]) {
    if let Ok(catalog) = Catalog::from_json(data, &|name| (name == "SECRET").then(|| "s3cr3t".to_string())) {
        let _ = Engine::new(catalog);
    }
}

/// An STS `AssumeRole` reply: the first input line is the HTTP status, the rest the body.
pub fn sts_reply(data: &[u8]) {
    let reply = http_reply(data);
    let _ = crate::vend::sts::parse_reply(&reply, data.len().is_multiple_of(2));
}

/// A Google OAuth / STS token reply: the first input line is the HTTP status, the rest the body.
pub fn google_token(data: &[u8]) {
    let reply = http_reply(data);
    if let Ok((token, expires_in)) = crate::vend::gcp::token_reply(&reply, "Google STS") {
        assert!(!token.is_empty() && (1..=86_400).contains(&expires_in));
    }
}

fn http_reply(data: &[u8]) -> HttpReply {
    let IoResult::Http(reply) = answer(&[b"H", data].concat(), &IoNeed::RequestBody { max_bytes: 0 }) else {
        unreachable!("an H section is an HTTP reply")
    };
    reply
}

/// A local file request through [`Engine::handle`]: the input is the request target (also
/// tried as a path under the files prefix), then optionally a line with a `Range` header; the
/// lookup finds an object of [`FILE_SIZE`] bytes. Every target under the files prefix, and no
/// other, is a file request; a file handed to the host must be a key that stays in its
/// store's root and a non-empty range inside the object, as the head says.
pub fn file_url(data: &[u8]) {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (target, range) = text.split_once('\n').map_or((text, None), |(t, r)| (t, Some(r)));
    let engine = ENGINE.get_or_init(engine);
    let serve = |target: &str| {
        let mut request = Request::new(Method::Get, target);
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        let mut ex = engine.handle(request, NOW_MS);
        let mut head = None;
        for _ in 0..MAX_POLLS {
            match ex.poll() {
                Step::Need(id, IoNeed::Head { key, .. }) => {
                    let meta = ObjectMeta { key: key.clone(), size: FILE_SIZE, last_modified_ms: NOW_MS };
                    ex.supply(id, IoResult::Meta(meta)).expect("the need is outstanding");
                }
                Step::Need(id, _) => ex.supply(id, IoResult::NotFound).expect("the need is outstanding"),
                Step::Wait => panic!("a host that answers each need at once never waits"),
                Step::Head(h) => head = Some(h.clone()),
                Step::Body => while ex.read(&mut [0u8; 4096]) > 0 {},
                Step::ServeFile(file) => {
                    let head = head.as_ref().expect("a head before the file");
                    assert!(!file.key.split('/').any(|s| s.is_empty() || s == ".." || s == "."), "{:?}", file.key);
                    let r = file.range;
                    assert!(r.start < r.end && r.end <= FILE_SIZE, "range {r:?}");
                    assert_eq!(head.header_value("content-length"), Some(r.len().to_string().as_str()));
                    assert!(matches!(head.status, 200 | 206), "status {}", head.status);
                }
                Step::Done(audit) => {
                    let file_target = target.starts_with(&format!("{}/files/", engine.prefix()));
                    assert_eq!(audit.route == "file", file_target, "{target:?} went to {}", audit.route);
                    return;
                }
            }
        }
        panic!("the file exchange did not finish in {MAX_POLLS} polls");
    };
    serve(target);
    serve(&format!("/delta-sharing/files/demo/{target}"));
}

/// The size of the object every lookup of [`file_url`] finds.
const FILE_SIZE: u64 = 1000;

/// The `Range` header parser, against an object size from the input's first 8 bytes.
pub fn range(data: &[u8]) {
    let (size, header) = match data.split_first_chunk::<8>() {
        Some((size, rest)) => (u64::from_le_bytes(*size) % (1 << 40), rest),
        None => (1000, data),
    };
    let Ok(header) = std::str::from_utf8(header) else { return };
    if let crate::http::RangeAsk::Part(start, end) = crate::http::parse_range(Some(header), size) {
        assert!(start < end && end <= size, "{header:?} on {size} bytes gave {start}..{end}");
    }
}

/// A JWKS document, a NUL byte, then a compact JWT: parse both, verify the token with every
/// candidate key.
pub fn jwt(data: &[u8]) {
    let (doc, token) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let keys = crate::auth::jwk::Jwks::parse(doc).unwrap_or_default();
    let Ok(token) = std::str::from_utf8(token) else { return };
    let Ok(jwt) = crate::auth::jwt::Jwt::parse(token) else { return };
    for key in keys.candidates(jwt.kid.as_deref(), jwt.alg) {
        let _ = jwt.verify(key);
    }
    let _ = jwt.has_audience(&["opensharing".to_string()]);
}

/// Iceberg metadata discovery: the first section is the table root, a space and an optional
/// pinned metadata path; every IO need is then answered from the next section (as in
/// [`exchange`]). Discovery must end in a metadata file under the table's `metadata/` folder
/// (or the pinned file), or in an error, within a few steps.
pub fn iceberg_discovery(data: &[u8]) {
    run_iceberg_discovery(data);
}

/// [`iceberg_discovery`], returning the key of the metadata file found.
fn run_iceberg_discovery(data: &[u8]) -> Option<String> {
    let mut sections = sections(data);
    let Some(Ok(head)) = sections.next().map(std::str::from_utf8) else { return None };
    let (root, pinned) = match head.split_once(' ') {
        Some((root, pinned)) => (root, Some(pinned)),
        None => (head, None),
    };
    if root.split('/').any(|segment| segment == "." || segment == "..") {
        return None; // the configuration refuses such table locations
    }
    let mut discovery = crate::iceberg::Discovery::new("store", root, pinned).ok()?;
    let mut input = None;
    for _ in 0..8 {
        match discovery.advance(input.take()) {
            Ok(crate::iceberg::discover::Found::Need(need)) => {
                match &need {
                    IoNeed::Get { key, .. } | IoNeed::List { prefix: key, .. } => {
                        assert!(!key.split('/').any(|s| s == ".."), "discovery asked for {key:?}")
                    }
                    other => panic!("discovery asked for {other:?}"),
                }
                input = Some(sections.next().map_or(IoResult::NotFound, |section| answer(section, &need)));
            }
            Ok(crate::iceberg::discover::Found::Metadata { key, .. }) => {
                assert!(root.is_empty() || key.starts_with(&format!("{root}/")), "metadata {key:?} outside {root:?}");
                return Some(key);
            }
            Err(_) => return None,
        }
    }
    panic!("discovery did not finish in 8 steps");
}

/// libFuzzer's panic hook aborts on every panic, even one the code catches, and the checkpoint
/// reader catches the `parquet` crate's panics on corrupt pages on purpose. Targets that read
/// Parquet install this hook first: it stays silent for panics raised inside `parquet` and
/// hands every other panic to the previous hook, so those still count as crashes (and so does
/// a `parquet` panic that escapes the catch, through libfuzzer-sys's own one).
pub fn tolerate_caught_parquet_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.location().is_some_and(|l| l.file().contains("/parquet-")) {
            previous(info)
        }
    }));
}

/// A fuzz target: the fuzzer's bytes in, a panic out when a contract breaks.
pub type Target = fn(&[u8]);

/// Every target by the name of its `fuzz/fuzz_targets/` file and corpus directory.
pub const TARGETS: [(&str, Target); 15] = [
    ("exchange", exchange),
    ("query_body", query_body),
    ("predicate", predicate),
    ("capabilities", capabilities),
    ("tokens", tokens),
    ("delta_commit", delta_commit),
    ("checkpoint", checkpoint),
    ("dataset_footer", dataset_footer),
    ("config", config),
    ("sts_reply", sts_reply),
    ("google_token", google_token),
    ("file_url", file_url),
    ("range", range),
    ("jwt", jwt),
    ("iceberg_discovery", iceberg_discovery),
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Replays every seed and every saved crash of every target.
    #[test]
    fn corpora_replay_cleanly() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        for (name, target) in TARGETS {
            let dir = root.join(name);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|entry| entry.expect("corpus entry").path())
                .collect();
            files.sort();
            assert!(!files.is_empty(), "no seeds for {name}");
            for file in files {
                let data = std::fs::read(&file).expect("corpus file");
                let run = std::panic::catch_unwind(|| target(&data));
                assert!(run.is_ok(), "{name}: {} fails", file.display());
            }
        }
    }

    /// The footer seeds reach the decoder: pyarrow's file decodes, the hostile one is refused.
    #[test]
    fn dataset_footer_seeds_decode() {
        use crate::dataset::footer::{decode, Tail};
        let good = include_bytes!("../fuzz/corpus/dataset_footer/pyarrow-types.parquet");
        assert!(matches!(decode(good, good.len() as u64), Ok(Tail::Footer(_))));
        let hostile = include_bytes!("../fuzz/corpus/dataset_footer/slow-nested-booleans-1");
        assert!(decode(hostile, hostile.len() as u64).unwrap_err().contains("declared type"));
    }

    /// The input format reaches the engine: `valid` stands for the token, IO answers follow.
    #[test]
    fn exchange_inputs_reach_the_engine() {
        assert_eq!(run_exchange(b"GET /delta-sharing/shares\nAuthorization: valid\n\n"), Some(200));
        assert_eq!(run_exchange(b"GET /delta-sharing/shares\n\n"), Some(401));
        assert_eq!(run_exchange(b"GET /delta-sharing/nothing\nAuthorization: valid\n"), Some(404));
        let commit = include_bytes!("../demo/data/trips/_delta_log/00000000000000000000.json");
        let head = b"GET /delta-sharing/shares/demo/schemas/default/tables/trips/metadata\nAuthorization: valid\n";
        let metadata = [&head[..], b"\0N\0L00000000000000000000.json 10 0\n\0B", commit].concat();
        assert_eq!(run_exchange(&metadata), Some(200));
        assert_eq!(run_exchange(b"norequest"), None);
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/exchange");
        for seed in [
            "query",
            "query-pending",
            "checkpoint",
            "sts-volume",
            "volume-files",
            "iceberg-config",
            "iceberg-load",
            "iceberg-sign",
            "iceberg-credentials",
        ] {
            let data = std::fs::read(seeds.join(seed)).expect("seed");
            assert_eq!(run_exchange(&data), Some(200), "{seed}");
        }
    }

    /// Discovery inputs reach a metadata file: the hinted one, the highest listed version, the
    /// pinned one; a pinned file outside the table and a failed read end in errors.
    #[test]
    fn iceberg_discovery_inputs_reach_the_metadata() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/iceberg_discovery");
        let found = |seed: &str| run_iceberg_discovery(&std::fs::read(seeds.join(seed)).expect("seed"));
        assert_eq!(found("hint-numeric").as_deref(), Some("wh/t/metadata/v3.metadata.json"));
        assert_eq!(found("listing").as_deref(), Some("wh/t/metadata/00002-bb.metadata.json"));
        assert_eq!(found("pinned").as_deref(), Some("wh/t/metadata/v3.metadata.json"));
        assert_eq!(found("pinned-outside"), None);
        assert_eq!(found("hint-gone-empty-listing"), None);
        assert_eq!(found("failed"), None);
    }
}
