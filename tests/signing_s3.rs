//! SigV4 pre-signing reproduces every S3 vector in `tests/vectors` byte for byte.

#[path = "common/vectors.rs"]
mod vectors;

use opensharing::signing::s3::{S3Location, S3Presigner};
use opensharing::signing::sigv4::{presign, signing_key, Credentials, HeaderSigning, PresignRequest, UNSIGNED_PAYLOAD};
use opensharing::signing::SigningError;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use vectors::{read_json, timestamp, vectors_dir};

fn creds(v: &Value) -> Credentials {
    Credentials {
        access_key_id: v["access_key_id"].as_str().unwrap().into(),
        secret_access_key: v["secret_access_key"].as_str().unwrap().into(),
        session_token: v.get("session_token").or_else(|| v.get("token")).and_then(Value::as_str).map(Into::into),
    }
}

/// SigV4's `UriEncode`: every byte but `A-Z a-z 0-9 - . _ ~` (and `/` when `keep_slash`) as
/// upper-case `%XX`. Written with the percent-encoding crate, so the suite's inputs do not come
/// from the code under test.
fn uri_encode(input: &str, keep_slash: bool) -> String {
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    const PATH: &AsciiSet = &UNRESERVED.remove(b'/');
    utf8_percent_encode(input, if keep_slash { PATH } else { UNRESERVED }).to_string()
}

/// Lower-case hex, as SigV4 writes hashes.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Removes dot segments the way the suite's `normalize` cases expect (other services only:
/// S3 never normalises).
fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/').skip(1) {
        match seg {
            "." | "" => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let trailing = path.ends_with('/') && !out.is_empty();
    format!("/{}{}", out.join("/"), if trailing { "/" } else { "" })
}

/// Parses a suite `request.txt`: method, path, query pairs, headers (with folded lines).
type Pairs = Vec<(String, String)>;

fn parse_request(text: &str) -> (String, String, Pairs, Pairs) {
    let mut lines = text.split('\n');
    let first = lines.next().unwrap();
    let mut parts = first.split(' ');
    let method = parts.next().unwrap().to_string();
    let target = first[method.len() + 1..first.rfind(' ').unwrap()].to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().unwrap().into_owned();
            (decode(k), decode(v))
        })
        .collect();
    let mut headers: Pairs = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with(' ') {
            let last = headers.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (n, v) = line.split_once(':').unwrap();
            headers.push((n.to_string(), v.to_string()));
        }
    }
    (method, path.to_string(), query, headers)
}

/// One case of the AWS suite: its folder, context, method, path, query, host and other headers.
struct SuiteCase {
    dir: std::path::PathBuf,
    ctx: Value,
    method: String,
    path: String,
    query: Pairs,
    host: String,
    headers: Pairs,
}

fn suite_cases() -> Vec<SuiteCase> {
    let root = vectors_dir().join("aws-sigv4-test-suite/v4");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        let ctx: Value = serde_json::from_str(&read("context.json")).unwrap();
        let (method, path, query, all) = parse_request(&read("request.txt"));
        let (hosts, headers): (Pairs, Pairs) = all.into_iter().partition(|(n, _)| n.eq_ignore_ascii_case("host"));
        let host = hosts[0].1.clone();
        cases.push(SuiteCase { dir, ctx, method, path, query, host, headers });
    }
    cases
}

#[test]
fn aws_sigv4_suite_query_cases() {
    let mut cases = 0;
    for SuiteCase { dir, ctx, method, path, query, host, headers } in suite_cases() {
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        let extra: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let decoded_path = percent_encoding::percent_decode_str(&path).decode_utf8().unwrap().into_owned();
        let path = if ctx["normalize"].as_bool().unwrap() { normalize(&decoded_path) } else { decoded_path };
        // Other services encode each path segment (the suite's "double encoding" of a decoded path).
        let uri = uri_encode(&path, true);
        let query_pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let body = read("request.txt").split_once("\n\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        let payload_hash = hex(ring::digest::digest(&ring::digest::SHA256, body.as_bytes()).as_ref());
        let req = PresignRequest {
            method: &method,
            host: &host,
            canonical_uri: &uri,
            query: &query_pairs,
            headers: &extra,
            service: ctx["service"].as_str().unwrap(),
            region: ctx["region"].as_str().unwrap(),
            payload_hash: &payload_hash,
            expires_seconds: ctx["expiration_in_seconds"].as_u64().unwrap() as u32,
            omit_session_token: ctx["omit_session_token"].as_bool().unwrap_or(false),
        };
        let signed = presign(&req, &creds(&ctx["credentials"]), timestamp(ctx["timestamp"].as_str().unwrap())).unwrap();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(signed.canonical_request, read("query-canonical-request.txt"), "{name}: canonical request");
        assert_eq!(signed.string_to_sign, read("query-string-to-sign.txt"), "{name}: string to sign");
        assert_eq!(signed.signature, read("query-signature.txt").trim(), "{name}: signature");
        let signed_request = read("query-signed-request.txt");
        assert!(signed_request.contains(&format!("X-Amz-Signature={}", signed.signature)), "{name}");
        cases += 1;
    }
    assert!(cases >= 30, "only {cases} suite cases found");
}

/// The remote signer's header signing ([`S3Presigner::sign_headers`], one buffer, cached day
/// key) gives the general SigV4 header algorithm's bytes for every request of the AWS suite
/// (duplicate, multi-line, padded and mixed-case headers, queries, UTF-8 paths), with and
/// without a session token.
#[test]
fn s3_header_signing_matches_the_general_algorithm_on_the_suite() {
    let mut cases = 0;
    for SuiteCase { dir, ctx, method, path, query, host, headers } in suite_cases() {
        let extra: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .chain([("x-amz-content-sha256", UNSIGNED_PAYLOAD)])
            .collect();
        let uri = uri_encode(&percent_encoding::percent_decode_str(&path).decode_utf8().unwrap(), true);
        let mut pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| {
                let enc = |s: &str| uri_encode(s, false);
                format!("{}={}", enc(k), enc(v))
            })
            .collect();
        pairs.sort();
        let canonical_query = pairs.join("&");
        let region = ctx["region"].as_str().unwrap();
        let now = timestamp(ctx["timestamp"].as_str().unwrap());
        let base = creds(&ctx["credentials"]);
        for token in [None, Some("FwoGZXIvYXdzE+/token== x")] {
            let creds =
                Credentials { session_token: token.map(Into::into).or(base.session_token.clone()), ..base.clone() };
            let location = S3Location {
                scheme: "https".into(),
                host: host.clone(),
                bucket: "b".into(),
                region: region.into(),
                path_style: true,
            };
            let presigner = S3Presigner::new(location, creds.clone());
            let fast = presigner.sign_headers(&method, &host, &uri, &canonical_query, &extra, now);
            let (stamp, date) = opensharing::signing::sigv4::amz_dates(now);
            let general = HeaderSigning {
                method: &method,
                host: &host,
                canonical_uri: &uri,
                canonical_query: &canonical_query,
                headers: &extra,
                payload_hash: UNSIGNED_PAYLOAD,
                service: "s3",
                region,
            }
            .sign(&creds, &signing_key(&creds.secret_access_key, &date, region, "s3"), &stamp, &date);
            let mut expected = vec![("X-Amz-Date".to_string(), fast.amz_date.clone())];
            if let Some(t) = fast.security_token {
                expected.push(("X-Amz-Security-Token".into(), t.into()));
            }
            expected.push(("Authorization".into(), fast.authorization.clone()));
            assert_eq!(general, expected, "{}", dir.display());
            cases += 1;
        }
    }
    assert!(cases >= 60, "only {cases} cases");
}

fn sorted_query(url: &str) -> (String, Vec<String>) {
    let (base, query) = url.split_once('?').unwrap();
    let mut parts: Vec<String> = query.split('&').map(str::to_string).collect();
    parts.sort();
    (base.to_string(), parts)
}

#[test]
fn published_s3_examples() {
    let doc = read_json("s3/s3_presign_published.json");
    let vectors = doc["vectors"].as_array().unwrap();
    for v in vectors {
        let i = &v["inputs"];
        let e = &v["expected"];
        let query: Vec<(&str, &str)> =
            i["extra_query"].as_object().unwrap().iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap())).collect();
        let headers: Vec<(&str, &str)> =
            i["signed_headers"].as_object().unwrap().iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap())).collect();
        let req = PresignRequest {
            method: i["method"].as_str().unwrap(),
            host: i["host"].as_str().unwrap(),
            canonical_uri: i["path"].as_str().unwrap(),
            query: &query,
            headers: &headers,
            service: "s3",
            region: i["region"].as_str().unwrap(),
            payload_hash: "UNSIGNED-PAYLOAD",
            expires_seconds: i["expires"].as_u64().unwrap() as u32,
            omit_session_token: false,
        };
        let signed = presign(&req, &creds(i), timestamp(i["timestamp"].as_str().unwrap())).unwrap();
        let what = v["description"].as_str().unwrap();
        assert_eq!(signed.signature, e["signature"].as_str().unwrap(), "{what}");
        if let Some(cr) = e["canonical_request"].as_str() {
            assert_eq!(signed.canonical_request, cr, "{what}");
        }
        if let Some(sts) = e["string_to_sign"].as_str() {
            assert_eq!(signed.string_to_sign, sts, "{what}");
        }
        if let Some(url) = e["url"].as_str() {
            let ours =
                format!("https://{}{}?{}", i["host"].as_str().unwrap(), i["path"].as_str().unwrap(), signed.query);
            assert_eq!(sorted_query(&ours), sorted_query(url), "{what}");
        }
    }
    assert!(vectors.len() >= 5);
}

#[test]
fn botocore_cases_through_the_s3_presigner() {
    let doc = read_json("s3/botocore_generated.json");
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 16);
    for v in vectors {
        let i = &v["inputs"];
        let e = &v["expected"];
        let what = v["description"].as_str().unwrap();
        let location = S3Location::new(
            i["bucket"].as_str().unwrap(),
            i["region"].as_str().unwrap(),
            i["endpoint"].as_str(),
            i["addressing_style"] == "path",
        )
        .unwrap();
        let presigner = S3Presigner::new(location, creds(i));
        let query: Vec<(&str, &str)> =
            i["extra_query"].as_object().unwrap().iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap())).collect();
        let now = timestamp(i["timestamp"].as_str().unwrap());
        let expires = i["expires"].as_u64().unwrap() as u32;
        let key = i["key"].as_str().unwrap();
        let (url, signed) = presigner.presign(i["method"].as_str().unwrap(), key, &query, &[], now, expires).unwrap();
        assert_eq!(signed.canonical_request, e["canonical_request"].as_str().unwrap(), "{what}");
        assert_eq!(signed.string_to_sign, e["string_to_sign"].as_str().unwrap(), "{what}");
        assert_eq!(signed.signature, e["signature"].as_str().unwrap(), "{what}");
        if let Some(expected_url) = e["url"].as_str() {
            // botocore keeps an explicit default port in the URL; the signed host drops it.
            let expected_url = expected_url.replace(":443/", "/");
            assert_eq!(sorted_query(&url), sorted_query(&expected_url), "{what}");
        }
        // The batch fast path gives the same GET URL as the general path.
        if i["method"] == "GET" && query.is_empty() {
            assert_eq!(presigner.batch(now, expires).unwrap().url(key), url, "{what}: batch path");
        }
    }
}

#[test]
fn batch_path_matches_the_general_path_for_awkward_keys() {
    let now = timestamp("2026-01-01T10:00:00Z");
    for (endpoint, path_style, token) in [
        (Some("http://127.0.0.1:9000"), true, None),
        (None, false, Some("FwoGZXIvYXdzE+/token==")),
        (Some("https://acct.r2.cloudflarestorage.com"), true, None),
    ] {
        let loc = S3Location::new("bkt", "auto", endpoint, path_style).unwrap();
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: token.map(Into::into),
        };
        let p = S3Presigner::new(loc, creds);
        let batch = p.batch(now, 3600).unwrap();
        for key in ["a.parquet", "dir/sub dir/x+y=z.parquet", "ünï/cödé", "a//b/./c/../d", "%41", "k?x#y&z"] {
            let (url, _) = p.presign("GET", key, &[], &[], now, 3600).unwrap();
            assert_eq!(batch.url(key), url, "{key}");
        }
    }
}

#[test]
fn refuses_bad_lifetimes_and_locations() {
    let loc = S3Location::new("b", "us-east-1", None, false).unwrap();
    let creds = Credentials { access_key_id: "a".into(), secret_access_key: "s".into(), session_token: None };
    let p = S3Presigner::new(loc, creds);
    let now = timestamp("2026-01-01T00:00:00Z");
    assert_eq!(p.batch(now, 0).err(), Some(SigningError::InvalidExpiry(0)));
    assert_eq!(p.batch(now, 604_801).err(), Some(SigningError::InvalidExpiry(604_801)));
    assert!(p.batch(now, 604_800).is_ok());
    assert!(S3Location::new("b", "us-east-1", Some("ftp://x"), true).is_err());
    assert!(S3Location::new("", "us-east-1", None, true).is_err());
    assert!(!format!("{p:?}").contains("\"s\""), "Debug output hides the secret");
}
