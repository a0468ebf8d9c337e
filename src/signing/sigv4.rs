//! AWS Signature Version 4, query-string form (pre-signed URLs), for any service.
//!
//! [`presign`] is the general algorithm: it reproduces the AWS test suite and the SDKs' S3
//! cases. The S3 hot path in [`super::s3`] computes the same bytes with precomputed state.

use ring::{digest, hmac};
use time::OffsetDateTime;

use super::encode::{uri_encode, uri_encode_into};
use super::SigningError;
use crate::util::hex;

/// The algorithm name.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash S3 pre-signed URLs sign.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The longest lifetime SigV4 allows, in seconds (7 days).
pub const MAX_EXPIRES_SECONDS: u32 = 604_800;

/// AWS credentials. `Debug` never prints the secret or the token.
#[derive(Clone)]
pub struct Credentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `YYYYMMDDTHHMMSSZ` for `t` (in UTC), written digit by digit (no formatter).
pub fn amz_stamp(t: OffsetDateTime) -> [u8; 16] {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut out = *b"00000000T000000Z";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    // SigV4 dates have four-digit years; a year outside 0..=9999 keeps its last four digits.
    put(0, 4, t.year().rem_euclid(10_000) as u32);
    put(4, 2, u32::from(u8::from(t.month())));
    put(6, 2, u32::from(t.day()));
    put(9, 2, u32::from(t.hour()));
    put(11, 2, u32::from(t.minute()));
    put(13, 2, u32::from(t.second()));
    out
}

/// `YYYYMMDDTHHMMSSZ` and `YYYYMMDD` for `t` (in UTC).
pub fn amz_dates(t: OffsetDateTime) -> (String, String) {
    let stamp: String = amz_stamp(t).iter().map(|&b| char::from(b)).collect();
    let date = stamp[..8].to_string();
    (stamp, date)
}

/// The `host` header SigV4 signs for `url`: the lower-case host, with the port only when it is
/// not the scheme's default (`Url` already drops a default port).
pub fn host_header(url: &url::Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// The SigV4 signing key for a day, region and service.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let mut key = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, format!("AWS4{secret}").as_bytes()), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key.as_ref()), part.as_bytes());
    }
    hmac::Key::new(hmac::HMAC_SHA256, key.as_ref())
}

/// A request to pre-sign.
#[derive(Clone, Debug)]
pub struct PresignRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The host header value (lower-case, with `:port` only when not the scheme's default).
    pub host: &'a str,
    /// The canonical URI, already encoded (used as the URL path too).
    pub canonical_uri: &'a str,
    /// Extra query parameters (raw; they are encoded here).
    pub query: &'a [(&'a str, &'a str)],
    /// Extra signed headers (raw name and value; canonicalised here).
    pub headers: &'a [(&'a str, &'a str)],
    /// Service name (`s3`).
    pub service: &'a str,
    /// Region (`auto` for R2).
    pub region: &'a str,
    /// Payload hash (`UNSIGNED-PAYLOAD` for S3).
    pub payload_hash: &'a str,
    /// Lifetime in seconds.
    pub expires_seconds: u32,
    /// Add the session token after signing instead of signing it (only for services that ask
    /// for it; S3 signs the token).
    pub omit_session_token: bool,
}

/// The result of pre-signing, with the intermediate strings for checking against vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presigned {
    /// The canonical request.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The hex signature.
    pub signature: String,
    /// The query string of the URL, signature included.
    pub query: String,
}

fn canonical_headers(host: &str, extra: &[(&str, &str)]) -> (String, String) {
    let mut headers: Vec<(String, String)> = vec![("host".into(), host.into())];
    for (name, value) in extra {
        let name = name.to_ascii_lowercase();
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => headers.push((name, value)),
        }
    }
    headers.sort();
    let block = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let names = headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
    (block, names)
}

/// The string to sign for `canonical_request`, and its hex signature under `key`.
fn sign_canonical(canonical_request: &str, stamp: &str, scope: &str, key: &hmac::Key) -> (String, String) {
    let hash = hex(digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref());
    let string_to_sign = format!("{ALGORITHM}\n{stamp}\n{scope}\n{hash}");
    let signature = hex(hmac::sign(key, string_to_sign.as_bytes()).as_ref());
    (string_to_sign, signature)
}

/// Pre-signs `req` with `creds` at time `now`.
pub fn presign(req: &PresignRequest<'_>, creds: &Credentials, now: OffsetDateTime) -> Result<Presigned, SigningError> {
    if !(1..=MAX_EXPIRES_SECONDS).contains(&req.expires_seconds) {
        return Err(SigningError::InvalidExpiry(req.expires_seconds));
    }
    let (stamp, date) = amz_dates(now);
    let scope = format!("{date}/{}/{}/aws4_request", req.region, req.service);
    let (header_block, signed_headers) = canonical_headers(req.host, req.headers);
    let credential = format!("{}/{scope}", creds.access_key_id);
    let expires = req.expires_seconds.to_string();
    let mut params: Vec<(String, String)> = vec![
        ("X-Amz-Algorithm".into(), ALGORITHM.into()),
        ("X-Amz-Credential".into(), credential),
        ("X-Amz-Date".into(), stamp.clone()),
        ("X-Amz-Expires".into(), expires),
        ("X-Amz-SignedHeaders".into(), signed_headers.clone()),
    ];
    let token = creds.session_token.as_deref();
    if let (Some(t), false) = (token, req.omit_session_token) {
        params.push(("X-Amz-Security-Token".into(), t.into()));
    }
    params.extend(req.query.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut encoded: Vec<(String, String)> =
        params.iter().map(|(k, v)| (uri_encode(k, false), uri_encode(v, false))).collect();
    encoded.sort();
    let query = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let canonical_request = format!(
        "{}\n{}\n{query}\n{header_block}\n{signed_headers}\n{}",
        req.method, req.canonical_uri, req.payload_hash
    );
    let key = signing_key(&creds.secret_access_key, &date, req.region, req.service);
    let (string_to_sign, signature) = sign_canonical(&canonical_request, &stamp, &scope, &key);
    let mut url_query = query;
    url_query.push_str("&X-Amz-Signature=");
    url_query.push_str(&signature);
    if let (Some(t), true) = (token, req.omit_session_token) {
        url_query.push_str("&X-Amz-Security-Token=");
        uri_encode_into(&mut url_query, t, false);
    }
    Ok(Presigned { canonical_request, string_to_sign, signature, query: url_query })
}

/// A request to sign with an `Authorization` header (SigV4 header form), such as an STS call.
/// `Debug` leaves out the body, which may hold secrets (an external id).
#[derive(Clone)]
pub struct HeaderSignRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The host header value (with `:port` only when not the scheme's default).
    pub host: &'a str,
    /// The canonical URI, already encoded.
    pub canonical_uri: &'a str,
    /// Headers to sign besides `host` and `x-amz-date` (raw name and value).
    pub headers: &'a [(&'a str, &'a str)],
    /// The request body.
    pub body: &'a [u8],
    /// Service name (`sts`).
    pub service: &'a str,
    /// Region.
    pub region: &'a str,
}

impl std::fmt::Debug for HeaderSignRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderSignRequest")
            .field("method", &self.method)
            .field("host", &self.host)
            .field("canonical_uri", &self.canonical_uri)
            .field("service", &self.service)
            .field("region", &self.region)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Signs `req` at `now`: returns the headers to send with it, `X-Amz-Date`,
/// `X-Amz-Security-Token` (temporary credentials) and `Authorization`. The request carries no
/// query string.
pub fn sign_headers(req: &HeaderSignRequest<'_>, creds: &Credentials, now: OffsetDateTime) -> Vec<(String, String)> {
    let (stamp, date) = amz_dates(now);
    let payload_hash = hex(digest::digest(&digest::SHA256, req.body).as_ref());
    let key = signing_key(&creds.secret_access_key, &date, req.region, req.service);
    let parts = HeaderSigning {
        method: req.method,
        host: req.host,
        canonical_uri: req.canonical_uri,
        canonical_query: "",
        headers: req.headers,
        payload_hash: &payload_hash,
        service: req.service,
        region: req.region,
    };
    parts.sign(creds, &key, &stamp, &date)
}

/// A request to sign with an `Authorization` header, its URI and query already in canonical
/// form. The signing key is the caller's (derived once per day and reused).
#[derive(Clone, Debug)]
pub struct HeaderSigning<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The host header value (with `:port` only when not the scheme's default).
    pub host: &'a str,
    /// The canonical URI, already encoded.
    pub canonical_uri: &'a str,
    /// The canonical query string (sorted, encoded), possibly empty.
    pub canonical_query: &'a str,
    /// Headers to sign besides `host`, `x-amz-date` and `x-amz-security-token` (raw name and
    /// value).
    pub headers: &'a [(&'a str, &'a str)],
    /// The payload hash, also sent as `x-amz-content-sha256` by S3 callers.
    pub payload_hash: &'a str,
    /// Service name.
    pub service: &'a str,
    /// Region.
    pub region: &'a str,
}

impl HeaderSigning<'_> {
    /// Signs at `stamp` (`YYYYMMDDTHHMMSSZ`) under `key`, the signing key of `date`
    /// (`YYYYMMDD`), region and service. Returns the headers to add: `X-Amz-Date`,
    /// `X-Amz-Security-Token` (temporary credentials) and `Authorization`.
    pub fn sign(&self, creds: &Credentials, key: &hmac::Key, stamp: &str, date: &str) -> Vec<(String, String)> {
        let mut extra: Vec<(&str, &str)> = self.headers.to_vec();
        extra.push(("x-amz-date", stamp));
        if let Some(token) = creds.session_token.as_deref() {
            extra.push(("x-amz-security-token", token));
        }
        let (header_block, signed_headers) = canonical_headers(self.host, &extra);
        let canonical_request = format!(
            "{}\n{}\n{}\n{header_block}\n{signed_headers}\n{}",
            self.method, self.canonical_uri, self.canonical_query, self.payload_hash
        );
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let (_, signature) = sign_canonical(&canonical_request, stamp, &scope, key);
        let mut out = vec![("X-Amz-Date".to_string(), stamp.to_string())];
        if let Some(token) = creds.session_token.as_deref() {
            out.push(("X-Amz-Security-Token".to_string(), token.to_string()));
        }
        out.push((
            "Authorization".to_string(),
            format!(
                "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                creds.access_key_id
            ),
        ));
        out
    }
}
