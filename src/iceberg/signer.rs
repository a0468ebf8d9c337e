//! The S3 remote signer of one table: pyiceberg (and Iceberg Java) send each S3 request they
//! are about to make, `{method, region, uri, headers}`, and get back `{uri, headers}` signed
//! with SigV4 header authentication on the store's keys. The recipient never holds a key.
//!
//! Only reads are signed: `GET` and `HEAD` of an object under the table's location, in the
//! table's bucket, on the store's host (path-style or virtual-hosted), with no query other than
//! `versionId`, `partNumber` and `x-id`. Anything else is refused with 403.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::IcebergError;
use crate::signing::encode::uri_encode_into;
use crate::signing::s3::S3Presigner;
use crate::signing::sigv4::{host_header, UNSIGNED_PAYLOAD};

/// The signer request pyiceberg sends.
#[derive(Deserialize)]
struct SignRequest {
    method: String,
    uri: String,
    #[serde(default)]
    headers: BTreeMap<String, Vec<String>>,
}

/// The signer response.
#[derive(Serialize)]
struct SignResponse {
    uri: String,
    headers: BTreeMap<String, Vec<String>>,
}

/// Query parameters an object read may carry.
const READ_PARAMS: [&str; 3] = ["versionId", "partNumber", "x-id"];

fn refused(why: &str) -> IcebergError {
    IcebergError::forbidden(format!("Not signed: {why}"))
}

/// Signs the request in `body` for the table at `root` (a key prefix without leading or
/// trailing `/`), with `presigner`'s keys, at `now_ms`. Returns the JSON response body.
pub(crate) fn sign(presigner: &S3Presigner, root: &str, body: &[u8], now_ms: i64) -> Result<Vec<u8>, IcebergError> {
    let request: SignRequest = serde_json::from_slice(body)
        .map_err(|_| IcebergError::bad_request("The signing request is not {method, region, uri, headers} JSON"))?;
    let method = request.method.to_ascii_uppercase();
    if method != "GET" && method != "HEAD" {
        return Err(refused("only GET and HEAD requests are signed"));
    }
    let url = url::Url::parse(&request.uri).map_err(|_| IcebergError::bad_request("`uri` is not a URL"))?;
    let location = presigner.location();
    let host = host_header(&url).ok_or_else(|| refused("the URI has no host"))?;
    if url.scheme() != location.scheme {
        return Err(refused("the URI's scheme is not the store's"));
    }
    // The store's host in both addressing styles.
    let dotted_bucket = format!("{}.", location.bucket);
    let (path_host, virtual_host) = if location.path_style {
        (location.host.clone(), format!("{dotted_bucket}{}", location.host))
    } else {
        (location.host.strip_prefix(&dotted_bucket).unwrap_or(&location.host).to_string(), location.host.clone())
    };
    let path = url.path();
    let (path_style, encoded_key) = if host == path_host {
        let rest = path.strip_prefix('/').and_then(|p| p.strip_prefix(location.bucket.as_str()));
        match rest.and_then(|r| r.strip_prefix('/')) {
            Some(key) => (true, key),
            None => return Err(refused("only objects in the table's bucket are signed")),
        }
    } else if host == virtual_host {
        (false, path.strip_prefix('/').unwrap_or(path))
    } else {
        return Err(refused("only requests to the table's bucket on the store's host are signed"));
    };
    let key = percent_encoding::percent_decode_str(encoded_key)
        .decode_utf8()
        .map_err(|_| refused("the object key is not UTF-8"))?;
    let inside = !root.is_empty() && key.strip_prefix(root).is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'));
    if !inside || key.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return Err(refused("only objects under the table's location are signed"));
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
    let canonical_query = query.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&");
    let mut canonical_uri = String::with_capacity(key.len() + location.bucket.len() + 8);
    canonical_uri.push('/');
    if path_style {
        canonical_uri.push_str(&location.bucket);
        canonical_uri.push('/');
    }
    uri_encode_into(&mut canonical_uri, &key, true);
    // Every x-amz-* header the client sends is signed (AWS requires it); the three this signer
    // sets are its own.
    let mut lowered: Vec<(String, String)> = Vec::new();
    for (name, values) in &request.headers {
        let name = name.to_ascii_lowercase();
        let own = matches!(name.as_str(), "x-amz-date" | "x-amz-security-token" | "x-amz-content-sha256");
        if name.starts_with("x-amz-") && !own {
            lowered.push((name, values.join(", ")));
        }
    }
    let mut signed: Vec<(&str, &str)> = lowered.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    signed.push(("x-amz-content-sha256", UNSIGNED_PAYLOAD));
    let now = OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .map_err(|_| IcebergError::bad_request("time out of range"))?;
    let added = presigner.sign_headers(&method, &host, &canonical_uri, &canonical_query, &signed, now);
    let mut headers: BTreeMap<String, Vec<String>> =
        added.into_iter().map(|(name, value)| (name, vec![value])).collect();
    headers.insert("X-Amz-Content-SHA256".into(), vec![UNSIGNED_PAYLOAD.into()]);
    let mut uri = format!("{}://{host}{canonical_uri}", url.scheme());
    if !canonical_query.is_empty() {
        uri.push('?');
        uri.push_str(&canonical_query);
    }
    serde_json::to_vec(&SignResponse { uri, headers }).map_err(|_| IcebergError::bad_request("unserialisable"))
}
