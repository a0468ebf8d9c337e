//! The S3 remote signer of one table: pyiceberg (and Iceberg Java) send each S3 request they
//! are about to make, `{method, region, uri, headers}`, and get back `{uri, headers}` signed
//! with SigV4 header authentication on the store's keys. The recipient never holds a key.
//!
//! Only reads are signed: `GET` and `HEAD` of an object under the table's location, in the
//! table's bucket, on the store's host (path-style or virtual-hosted), with no query other than
//! `versionId`, `partNumber` and `x-id`. Anything else is refused with 403.
//!
//! Every data-file read of a scan passes through here, so the common request is handled
//! without copies: the body is parsed in place (strings borrowed), a plain
//! `scheme://store-host/path` URI is split by hand ([`split_plain`]; anything else goes
//! through the `url` crate, which gives the same answer for plain URIs), and the response is
//! written straight into its buffer.

use std::borrow::Cow;

use time::OffsetDateTime;

use super::error::IcebergError;
use super::sign_request::{self, escaped};
use crate::signing::encode::uri_encode_into;
use crate::signing::s3::{S3Location, S3Presigner};
use crate::signing::sigv4::{host_header, UNSIGNED_PAYLOAD};

/// Query parameters an object read may carry.
const READ_PARAMS: [&str; 3] = ["versionId", "partNumber", "x-id"];

fn refused(why: &str) -> IcebergError {
    IcebergError::forbidden(format!("Not signed: {why}"))
}

/// Signs the request in `body` for the table at `root` (a key prefix without leading or
/// trailing `/`), with `presigner`'s keys, at `now_ms`. Returns the JSON response body.
pub(crate) fn sign(presigner: &S3Presigner, root: &str, body: &[u8], now_ms: i64) -> Result<Vec<u8>, IcebergError> {
    let request = sign_request::parse(body)
        .map_err(|_| IcebergError::bad_request("The signing request is not {method, region, uri, headers} JSON"))?;
    let method = match request.method.as_ref() {
        m if m.eq_ignore_ascii_case("GET") => "GET",
        m if m.eq_ignore_ascii_case("HEAD") => "HEAD",
        _ => return Err(refused("only GET and HEAD requests are signed")),
    };
    let location = presigner.location();
    let (target, unreserved) = match split_plain(&request.uri, location) {
        Some(split) => split,
        None => (split_with_url(&request.uri, location)?, false),
    };
    let (host, path) = (target.host.as_ref(), target.path.as_ref());
    let path_style = addressing(location, host)
        .ok_or_else(|| refused("only requests to the table's bucket on the store's host are signed"))?;
    let encoded_key = if path_style {
        let rest = path.strip_prefix('/').and_then(|p| p.strip_prefix(location.bucket.as_str()));
        rest.and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| refused("only objects in the table's bucket are signed"))?
    } else {
        path.strip_prefix('/').unwrap_or(path)
    };
    // A path of unreserved characters and `/` (it starts with one) is its own key and its own
    // canonical URI (the bucket in it is the store's, matched exactly): nothing to decode or
    // encode.
    let key = match unreserved {
        true => Cow::Borrowed(encoded_key),
        false => percent_encoding::percent_decode_str(encoded_key)
            .decode_utf8()
            .map_err(|_| refused("the object key is not UTF-8"))?,
    };
    let inside = !root.is_empty() && key.strip_prefix(root).is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'));
    if !inside || key.as_bytes().split(|&b| b == b'/').any(|seg| matches!(seg, b"" | b"." | b"..")) {
        return Err(refused("only objects under the table's location are signed"));
    }
    let canonical_uri = match unreserved {
        true => Cow::Borrowed(path),
        false => {
            let mut uri = String::with_capacity(key.len() + location.bucket.len() + 8);
            uri.push('/');
            if path_style {
                uri.push_str(&location.bucket);
                uri.push('/');
            }
            uri_encode_into(&mut uri, &key, true);
            Cow::Owned(uri)
        }
    };
    // Every x-amz-* header the client sends is signed (AWS requires it); the three this signer
    // sets are its own.
    const CONTENT: (&str, &str) = ("x-amz-content-sha256", UNSIGNED_PAYLOAD);
    let with_client_headers: Vec<(&str, &str)>;
    let signed: &[(&str, &str)] = match request.headers.0.is_empty() {
        true => &[CONTENT],
        false => {
            let client = request.headers.0.iter().map(|(_, n, v)| (n.as_str(), v.as_str()));
            with_client_headers = client.chain([CONTENT]).collect();
            &with_client_headers
        }
    };
    let now = OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .map_err(|_| IcebergError::bad_request("time out of range"))?;
    let signature = presigner.sign_headers(method, host, &canonical_uri, &target.query, signed, now);
    // `{"uri", "headers"}`, the headers sorted by name, each with one value.
    let mut out = Vec::with_capacity(160 + 2 * canonical_uri.len() + signature.authorization.len());
    out.extend_from_slice(b"{\"uri\":");
    let query = if target.query.is_empty() { ["", ""] } else { ["?", &target.query] };
    json_string(&mut out, &[location.scheme.as_str(), "://", host, &canonical_uri, query[0], query[1]]);
    out.extend_from_slice(b",\"headers\":{\"Authorization\":[");
    json_string(&mut out, &[&signature.authorization]);
    out.extend_from_slice(b"],\"X-Amz-Content-SHA256\":[\"");
    out.extend_from_slice(UNSIGNED_PAYLOAD.as_bytes());
    out.extend_from_slice(b"\"],\"X-Amz-Date\":[\"");
    out.extend_from_slice(signature.amz_date.as_bytes());
    out.extend_from_slice(b"\"]");
    if let Some(token) = signature.security_token {
        out.extend_from_slice(b",\"X-Amz-Security-Token\":[");
        json_string(&mut out, &[token]);
        out.push(b']');
    }
    out.extend_from_slice(b"}}");
    Ok(out)
}

/// Appends the concatenation of `parts` as a JSON string (copied as it is when nothing in it
/// needs an escape).
fn json_string(out: &mut Vec<u8>, parts: &[&str]) {
    // A fold without early exit, which compiles to a vector loop.
    if !parts.iter().any(|s| s.bytes().fold(false, |any, b| any | escaped(b))) {
        out.push(b'"');
        for part in parts {
            out.extend_from_slice(part.as_bytes());
        }
        out.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &parts.concat());
    }
}

/// Whether `host` is the store's host for this bucket in path style (`Some(true)`) or
/// virtual-hosted style (`Some(false)`); `None` for any other host.
fn addressing(location: &S3Location, host: &str) -> Option<bool> {
    let bucket = location.bucket.as_str();
    if location.path_style {
        if host == location.host {
            Some(true)
        } else {
            (bucket_stripped(host, bucket) == Some(location.host.as_str())).then_some(false)
        }
    } else {
        let bare = bucket_stripped(&location.host, bucket).unwrap_or(&location.host);
        if host == bare {
            Some(true)
        } else {
            (host == location.host).then_some(false)
        }
    }
}

/// Where a request goes: its host header value, its path (as sent, percent-encoded) and its
/// canonical query string (sorted, encoded; empty without a query).
#[derive(Debug, PartialEq, Eq)]
struct Target<'a> {
    host: Cow<'a, str>,
    path: Cow<'a, str>,
    query: String,
}

/// The target of a plain URI, `{store scheme}://{store host}/{path}`, whose path has only
/// characters the `url` crate keeps as they are, well-formed `%XX` escapes, and no `.` or
/// `%2e` segment start (which it would resolve); `None` for anything else, so that the `url`
/// crate decides. The host must be exactly the store's, in either style: that is already the
/// `url` crate's serialisation of it, as the store's host came from there. With the target,
/// whether its path has only `/` and characters SigV4 leaves unencoded (then it is its own
/// canonical URI).
fn split_plain<'a>(uri: &'a str, location: &S3Location) -> Option<(Target<'a>, bool)> {
    let rest = uri.strip_prefix(location.scheme.as_str())?.strip_prefix("://")?;
    let slash = rest.find('/')?;
    let (host, path) = rest.split_at(slash);
    if !addressing(location, host)? && !plain_virtual_host(location) {
        return None;
    }
    let bytes = path.as_bytes();
    let mut unreserved = true;
    for (i, &b) in bytes.iter().enumerate() {
        let ok = match PATH_BYTES[usize::from(b)] {
            UNRESERVED => true,
            KEPT => {
                unreserved = false;
                true
            }
            PERCENT => {
                unreserved = false;
                let hex = bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
                hex && !(bytes[i + 1] == b'2' && bytes[i + 2].eq_ignore_ascii_case(&b'e') && bytes[i - 1] == b'/')
            }
            DOT => bytes[i - 1] != b'/',
            _ => false,
        };
        if !ok {
            return None;
        }
    }
    Some((Target { host: Cow::Borrowed(host), path: Cow::Borrowed(path), query: String::new() }, unreserved))
}

/// Classes of path bytes for [`split_plain`]: `/` and the characters SigV4 leaves unencoded
/// other than `.`; `.`; `%`; the other characters the `url` crate keeps as they are.
const UNRESERVED: u8 = 1;
const DOT: u8 = 2;
const PERCENT: u8 = 3;
const KEPT: u8 = 4;
static PATH_BYTES: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        classes[b] = match c {
            b'/' | b'-' | b'_' | b'~' => UNRESERVED,
            _ if c.is_ascii_alphanumeric() => UNRESERVED,
            b'.' => DOT,
            b'%' => PERCENT,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@' => KEPT,
            _ => 0,
        };
        b += 1;
    }
    classes
};

/// Whether the `url` crate keeps the store's virtual-hosted host, `{bucket}.{endpoint host}`,
/// as it is: a lower-case DNS bucket name (no empty or punycode label) before a host name
/// (not an IP address, which it would refuse after a bucket). The endpoint's own host always
/// is: it came from the `url` crate.
fn plain_virtual_host(location: &S3Location) -> bool {
    let bucket = location.bucket.as_str();
    let base = match location.path_style {
        true => location.host.as_str(),
        false => bucket_stripped(&location.host, bucket).unwrap_or(&location.host),
    };
    let name = base.rsplit_once(':').map_or(base, |(name, _)| name);
    let last = name.trim_end_matches('.').rsplit('.').next().unwrap_or_default();
    !bucket.is_empty()
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with('.')
        && !bucket.ends_with('.')
        && !bucket.contains("..")
        && !bucket.contains("xn--")
        && last.starts_with(|c: char| c.is_ascii_alphabetic())
}

/// `host` without the leading `{bucket}.`.
fn bucket_stripped<'h>(host: &'h str, bucket: &str) -> Option<&'h str> {
    host.strip_prefix(bucket).and_then(|r| r.strip_prefix('.'))
}

/// The target of any URI, parsed by the `url` crate (normalised as an HTTP client would send
/// it), with its query checked to be only an object read's.
fn split_with_url<'a>(uri: &str, location: &S3Location) -> Result<Target<'a>, IcebergError> {
    let url = url::Url::parse(uri).map_err(|_| IcebergError::bad_request("`uri` is not a URL"))?;
    let host = host_header(&url).ok_or_else(|| refused("the URI has no host"))?;
    if url.scheme() != location.scheme {
        return Err(refused("the URI's scheme is not the store's"));
    }
    let mut query: Vec<(String, String)> = Vec::new();
    for (name, value) in url.query_pairs() {
        if !READ_PARAMS.contains(&name.as_ref()) {
            return Err(refused("only object reads are signed (query parameters other than versionId, partNumber)"));
        }
        let (mut n, mut v) = (String::new(), String::new());
        uri_encode_into(&mut n, &name, false);
        uri_encode_into(&mut v, &value, false);
        query.push((n, v));
    }
    query.sort();
    let query = query.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&");
    Ok(Target { host: Cow::Owned(host), path: Cow::Owned(url.path().to_string()), query })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::encode::uri_encode;

    /// Wherever the hand split answers, it answers what the `url` crate does; it leaves to the
    /// `url` crate every URI it would normalise.
    #[test]
    fn plain_split_agrees_with_the_url_crate() {
        let path_style = S3Location::new("lake", "us-east-1", Some("http://127.0.0.1:9000"), true).unwrap();
        let virtual_hosted = S3Location::new("lake", "eu-west-1", None, false).unwrap();
        let minio = S3Location::new("lake", "us-east-1", Some("http://minio:9000"), true).unwrap();
        let upper = S3Location::new("Lake", "us-east-1", Some("https://s3.example.com"), false).unwrap();
        let paths = [
            "/lake/wh/d/t/data/00000-0-6f7a.parquet",
            "/lake/wh/d/t/data/a%20b.parquet",
            "/lake/wh/d/t/data/%C3%BC=1/x~y_z-(1)!$&'*+,;=:@.parquet",
            "/lake/wh/d/t/./x",
            "/lake/wh/d/t/../t/x",
            "/lake/wh/d/t/%2e%2E/x",
            "/lake/wh/d/t/.hidden",
            "/lake/wh/d/t/x%2e",
            "/lake/wh/d/t/a b",
            "/lake/wh/d/t/a\tb",
            "/lake/wh/d/t/a\\b",
            "/lake/wh/d/t/ü",
            "/lake/wh/d/t/x%zz",
            "/lake/wh/d/t/x%4",
            "/lake/wh/d/t/x\"{}`^|<>",
            "/lake/wh/d/t/x?versionId=3",
            "/lake/wh/d/t/x#frag",
            "/",
            "",
        ];
        let hosts = [
            "127.0.0.1:9000",
            "lake.127.0.0.1:9000",
            "127.0.0.1:09000",
            "127.0.0.1",
            "LAKE.s3.eu-west-1.amazonaws.com",
            "lake.s3.eu-west-1.amazonaws.com",
            "s3.eu-west-1.amazonaws.com",
            "s3.eu-west-1.amazonaws.com:443",
            "user@s3.eu-west-1.amazonaws.com",
            "minio:9000",
            "lake.minio:9000",
            "Lake.s3.example.com",
            "s3.example.com",
        ];
        let mut plain = 0;
        for location in [&path_style, &virtual_hosted, &minio, &upper] {
            for scheme in ["http", "https", "HTTP"] {
                for host in hosts {
                    for path in paths {
                        let uri = format!("{scheme}://{host}{path}");
                        if let Some((fast, unreserved)) = split_plain(&uri, location) {
                            plain += 1;
                            let slow = split_with_url(&uri, location).unwrap();
                            assert_eq!(fast, slow, "{uri}");
                            let canonical = fast.path.split('/').all(|seg| uri_encode(seg, false) == seg);
                            assert_eq!(unreserved, canonical, "{uri}");
                        }
                    }
                }
            }
        }
        assert!(plain >= 15, "{plain}");
    }

    #[test]
    fn json_strings_are_serde_json_strings() {
        for s in ["", "plain/ü?x=1", "quote\" back\\slash", "tab\tnl\n\u{1}", "AWS4 Credential=A/B, Signature=0f"] {
            let mut out = b"x".to_vec();
            json_string(&mut out, &[s]);
            assert_eq!(out[1..], serde_json::to_vec(s).unwrap()[..], "{s:?}");
            let mut split = b"x".to_vec();
            json_string(&mut split, &["a", s, "", "b"]);
            assert_eq!(split[1..], serde_json::to_vec(&format!("a{s}b")).unwrap()[..], "{s:?}");
        }
    }
}
