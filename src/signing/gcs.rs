//! Google Cloud Storage V4 signed URLs: `GOOG4-RSA-SHA256` (service-account key) and
//! `GOOG4-HMAC-SHA256` (HMAC key).
//!
//! [`GcsPresigner::presign`] is the general algorithm (any method, signed headers, extra query
//! parameters); it reproduces Google's conformance suite. [`GcsPresigner::batch`] signs many GET
//! URLs of one response with the shared work done once: the scope and fixed query, the SHA-256
//! state after `GET\n/` (+ `bucket/` in path style), and for HMAC keys the signing key and the
//! HMAC state after the string-to-sign's fixed prefix. An RSA signature per URL stays the
//! dominant cost for service-account keys.
//!
//! Host rule: the URL keeps the endpoint's port as given (even `:443`), but the signed `host`
//! header never has a port, as Google's client libraries and the conformance suite do. This is
//! the opposite of S3, where a non-default port is signed.
//!
//! Object names with a `.` or `..` path segment are rejected: HTTP clients normalise such
//! segments away, so the URL could not be fetched as signed.

use std::sync::Arc;

use base64::Engine as _;
use ring::{digest, hmac, rand, signature};
use time::OffsetDateTime;

use super::encode::{uri_encode, uri_encode_into};
use crate::util::hex_into;

/// The longest lifetime a V4 signed URL may have, in seconds (7 days).
pub const MAX_EXPIRES_SECONDS: u32 = 604_800;
/// The default endpoint host.
pub const DEFAULT_HOST: &str = "storage.googleapis.com";
/// The algorithm name for service-account (RSA) signatures.
pub const RSA_ALGORITHM: &str = "GOOG4-RSA-SHA256";
/// The algorithm name for HMAC-key signatures.
pub const HMAC_ALGORITHM: &str = "GOOG4-HMAC-SHA256";

const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const CONTENT_SHA256: &str = "x-goog-content-sha256";
const SCOPE_SUFFIX: &str = "/auto/storage/goog4_request";
/// Query parameters the signer sets itself (compared case-insensitively).
const RESERVED_QUERY: [&str; 6] = [
    "x-goog-algorithm",
    "x-goog-credential",
    "x-goog-date",
    "x-goog-expires",
    "x-goog-signedheaders",
    "x-goog-signature",
];

/// Why a GCS URL could not be signed. Messages never contain key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GcsError {
    /// The lifetime is outside `1..=604800` seconds.
    #[error("URL lifetime {0} s is outside 1..=604800")]
    InvalidExpiry(u32),
    /// The bucket or endpoint is unusable.
    #[error("invalid GCS location: {0}")]
    InvalidLocation(String),
    /// The key material is unusable, or signing with it failed.
    #[error("invalid signing key: {0}")]
    InvalidKey(String),
    /// The method, object name, headers or query parameters cannot be signed.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The signing time cannot be written as `YYYYMMDDTHHMMSSZ`.
    #[error("signing time is out of range")]
    TimeOutOfRange,
}

/// A service-account key for `GOOG4-RSA-SHA256`. `Debug` never prints the private key.
pub struct ServiceAccountKey {
    client_email: String,
    key_pair: signature::RsaKeyPair,
    rng: rand::SystemRandom,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct ServiceAccountJson {
    client_email: String,
    private_key: String,
}

impl ServiceAccountKey {
    /// Reads a service-account JSON key file (`client_email` and a PKCS#8 PEM `private_key`).
    pub fn from_json(json: &str) -> Result<ServiceAccountKey, GcsError> {
        // serde's message may quote input, so only its position is reported.
        let parsed: ServiceAccountJson = serde_json::from_str(json).map_err(|e| {
            GcsError::InvalidKey(format!(
                "service-account JSON needs string fields client_email and private_key (error at line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        ServiceAccountKey::from_pkcs8_pem(&parsed.client_email, &parsed.private_key)
    }

    /// Builds a key from the account's e-mail and a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(client_email: &str, pem: &str) -> Result<ServiceAccountKey, GcsError> {
        if client_email.is_empty() || client_email.contains(['\r', '\n']) {
            return Err(GcsError::InvalidKey("client_email is empty or contains a line break".into()));
        }
        let der = pem_body(pem, "PRIVATE KEY")?;
        let key_pair = signature::RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| GcsError::InvalidKey(format!("private_key is not a usable PKCS#8 RSA key ({e})")))?;
        Ok(ServiceAccountKey { client_email: client_email.to_string(), key_pair, rng: rand::SystemRandom::new() })
    }

    /// The service account's e-mail (the credential id).
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The RSASSA-PKCS1-v1_5-SHA256 signature of `message` (JWT `RS256`).
    pub fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, GcsError> {
        let mut sig = vec![0u8; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
            .map_err(|_| GcsError::InvalidKey("RSA signing failed".into()))?;
        Ok(sig)
    }

    /// The DER `RSAPublicKey` of the key, to check its signatures.
    pub fn public_key_der(&self) -> &[u8] {
        self.key_pair.public().as_ref()
    }

    /// Appends the hex RSASSA-PKCS1-v1_5-SHA256 signature of `message`.
    fn sign_hex_into(&self, message: &[u8], out: &mut String) -> Result<(), GcsError> {
        hex_into(out, &self.sign_rs256(message)?);
        Ok(())
    }
}

/// Decodes the base64 body of the PEM block labelled `label`.
fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, GcsError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = pem
        .split_once(begin.as_str())
        .and_then(|(_, rest)| rest.split_once(end.as_str()))
        .map(|(body, _)| body)
        .ok_or_else(|| GcsError::InvalidKey(format!("private_key is not a PEM block labelled {label}")))?;
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| GcsError::InvalidKey("private_key PEM body is not valid base64".into()))
}

/// An HMAC key for `GOOG4-HMAC-SHA256`. `Debug` never prints the secret.
#[derive(Clone)]
pub struct HmacKey {
    access_id: String,
    secret: String,
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacKey").field("access_id", &self.access_id).field("secret", &"<redacted>").finish()
    }
}

impl HmacKey {
    /// An HMAC key from its access id and secret (the secret's text is the key; it is not
    /// base64-decoded).
    pub fn new(access_id: &str, secret: &str) -> Result<HmacKey, GcsError> {
        if access_id.is_empty() || secret.is_empty() {
            return Err(GcsError::InvalidKey("HMAC access id and secret must not be empty".into()));
        }
        Ok(HmacKey { access_id: access_id.to_string(), secret: secret.to_string() })
    }

    /// The access id (the credential id).
    pub fn access_id(&self) -> &str {
        &self.access_id
    }

    /// The signing key of `date` (`YYYYMMDD`).
    fn signing_key(&self, date: &str) -> hmac::Key {
        let mut key =
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, format!("GOOG4{}", self.secret).as_bytes()), date.as_bytes());
        for part in ["auto", "storage", "goog4_request"] {
            key = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key.as_ref()), part.as_bytes());
        }
        hmac::Key::new(hmac::HMAC_SHA256, key.as_ref())
    }
}

/// The key that signs the URLs.
#[derive(Clone, Debug)]
pub enum GcsCredentials {
    /// A service-account key (`GOOG4-RSA-SHA256`).
    ServiceAccount(Arc<ServiceAccountKey>),
    /// An HMAC key (`GOOG4-HMAC-SHA256`).
    Hmac(HmacKey),
}

impl GcsCredentials {
    /// The `X-Goog-Algorithm` value.
    pub fn algorithm(&self) -> &'static str {
        match self {
            GcsCredentials::ServiceAccount(_) => RSA_ALGORITHM,
            GcsCredentials::Hmac(_) => HMAC_ALGORITHM,
        }
    }

    /// The id in `X-Goog-Credential`: the client e-mail or the HMAC access id.
    pub fn id(&self) -> &str {
        match self {
            GcsCredentials::ServiceAccount(k) => k.client_email(),
            GcsCredentials::Hmac(k) => k.access_id(),
        }
    }
}

/// How the bucket appears in the URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcsUrlStyle {
    /// `{endpoint}/{bucket}/{object}` (Google's default).
    PathStyle,
    /// `{bucket}.{endpoint host}/{object}`.
    VirtualHosted,
    /// The endpoint is the bucket's own host name (a CNAME): `{endpoint}/{object}`.
    BucketBoundHostname,
}

/// Where a bucket is and how its URLs are addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcsLocation {
    /// `http` or `https`.
    pub scheme: String,
    /// The URL's `host[:port]`, the port kept as configured.
    pub authority: String,
    /// The signed `host` header: the lower-case host name without a port.
    pub host: String,
    /// The bucket.
    pub bucket: String,
    /// The addressing style.
    pub style: GcsUrlStyle,
}

impl GcsLocation {
    /// Resolves a bucket's location.
    ///
    /// `endpoint` is `scheme://host[:port]`; without it, `https://storage.googleapis.com`. For
    /// another universe domain `D` pass `https://storage.D`. With
    /// [`GcsUrlStyle::BucketBoundHostname`] the endpoint is required and is the bucket's own
    /// host.
    pub fn new(bucket: &str, endpoint: Option<&str>, style: GcsUrlStyle) -> Result<GcsLocation, GcsError> {
        if bucket.is_empty()
            || !bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(GcsError::InvalidLocation(format!("bucket name {bucket:?} is not valid")));
        }
        let (scheme, authority, host) = match endpoint {
            Some(e) => parse_endpoint(e)?,
            None if style == GcsUrlStyle::BucketBoundHostname => {
                return Err(GcsError::InvalidLocation("a bucket-bound host name needs an endpoint".into()))
            }
            None => ("https".to_string(), DEFAULT_HOST.to_string(), DEFAULT_HOST.to_string()),
        };
        let (authority, host) = match style {
            GcsUrlStyle::VirtualHosted => (format!("{bucket}.{authority}"), format!("{bucket}.{host}")),
            GcsUrlStyle::PathStyle | GcsUrlStyle::BucketBoundHostname => (authority, host),
        };
        Ok(GcsLocation { scheme, authority, host, bucket: bucket.to_string(), style })
    }

    /// The URL path before the encoded object name: `/bucket/` in path style, else `/`.
    fn path_prefix(&self) -> String {
        match self.style {
            GcsUrlStyle::PathStyle => format!("/{}/", self.bucket),
            GcsUrlStyle::VirtualHosted | GcsUrlStyle::BucketBoundHostname => "/".to_string(),
        }
    }

    /// The canonical URI (also the URL path) of `object`, or of the bucket itself when `None`.
    pub fn canonical_uri(&self, object: Option<&str>) -> Result<String, GcsError> {
        Ok(match object {
            Some(object) => {
                check_object(object)?;
                let mut uri = self.path_prefix();
                uri_encode_into(&mut uri, object, true);
                uri
            }
            None if self.style == GcsUrlStyle::PathStyle => format!("/{}", self.bucket),
            None => "/".to_string(),
        })
    }
}

/// Splits `scheme://host[:port][/]` into scheme, lower-case authority and host without port.
fn parse_endpoint(endpoint: &str) -> Result<(String, String, String), GcsError> {
    let bad = |why: &str| GcsError::InvalidLocation(format!("endpoint {endpoint:?}: {why}"));
    let (scheme, rest) = endpoint.split_once("://").ok_or_else(|| bad("expected scheme://host[:port]"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad("scheme must be http or https"));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest).to_ascii_lowercase();
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']').ok_or_else(|| bad("unclosed IPv6 bracket"))?;
        let inner = &authority[1..close];
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            return Err(bad("invalid IPv6 address"));
        }
        let port = match &authority[close + 1..] {
            "" => None,
            after => Some(after.strip_prefix(':').ok_or_else(|| bad("unexpected text after the IPv6 address"))?),
        };
        (&authority[..=close], port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority.as_str(), None),
        };
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
            return Err(bad("host must be a DNS name or IP address, without a path"));
        }
        (host, port)
    };
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("invalid port"));
        }
    }
    let host = host.to_string();
    Ok((scheme, authority, host))
}

/// Rejects object names that cannot round-trip through a URL as signed.
fn check_object(object: &str) -> Result<(), GcsError> {
    if object.is_empty() {
        return Err(GcsError::InvalidRequest("object name is empty".into()));
    }
    if object.contains(['\r', '\n']) {
        return Err(GcsError::InvalidRequest("object name contains a line break".into()));
    }
    if object.split('/').any(|segment| segment == "." || segment == "..") {
        return Err(GcsError::InvalidRequest(format!(
            "object name {object:?} has a '.' or '..' segment, which URL clients remove"
        )));
    }
    Ok(())
}

/// `YYYYMMDDTHHMMSSZ` and `YYYYMMDD` of `t`, in UTC.
fn goog_dates(t: OffsetDateTime) -> Result<(String, String), GcsError> {
    let t = t.to_offset(time::UtcOffset::UTC);
    if !(0..=9999).contains(&t.year()) {
        return Err(GcsError::TimeOutOfRange);
    }
    let date = format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day());
    let stamp = format!("{date}T{:02}{:02}{:02}Z", t.hour(), t.minute(), t.second());
    Ok((stamp, date))
}

/// One request to sign.
#[derive(Clone, Debug)]
pub struct GcsRequest<'a> {
    /// HTTP method, upper case (`GET`, `PUT`, `POST` for resumable uploads, …).
    pub method: &'a str,
    /// The object name (raw), or `None` for the bucket itself (listing).
    pub object: Option<&'a str>,
    /// Extra query parameters (raw; encoded here), e.g. `response-content-disposition`,
    /// `generation`, `userProject`.
    pub query: &'a [(&'a str, &'a str)],
    /// Extra signed headers (raw name and value; canonicalised here). The client must send
    /// them with exactly these values. `host` is always signed and must not be given.
    pub headers: &'a [(&'a str, &'a str)],
    /// Lifetime in seconds, `1..=604800`.
    pub expires_seconds: u32,
}

impl<'a> GcsRequest<'a> {
    /// A plain GET of `object`, valid for `expires_seconds`.
    pub fn get(object: &'a str, expires_seconds: u32) -> GcsRequest<'a> {
        GcsRequest { method: "GET", object: Some(object), query: &[], headers: &[], expires_seconds }
    }
}

/// A signed URL with the intermediate strings, for checking against vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcsPresigned {
    /// The signed URL.
    pub url: String,
    /// The canonical request.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The hex signature (`X-Goog-Signature`).
    pub signature: String,
}

/// Canonical header block (each line ends in `\n`), signed header names, and the value of
/// `x-goog-content-sha256` if signed.
fn canonical_headers(host: &str, extra: &[(&str, &str)]) -> Result<(String, String, Option<String>), GcsError> {
    let mut headers: Vec<(String, String)> = vec![("host".into(), host.into())];
    for (name, value) in extra {
        let name = name.to_ascii_lowercase();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(GcsError::InvalidRequest(format!("header name {name:?} is not valid")));
        }
        if name == "host" {
            return Err(GcsError::InvalidRequest("the host header is signed from the location".into()));
        }
        if value.contains(['\r', '\n']) {
            return Err(GcsError::InvalidRequest(format!("header {name} has a line break in its value")));
        }
        let value = value.split([' ', '\t']).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
        match headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => headers.push((name, value)),
        }
    }
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut block = String::new();
    for (n, v) in &headers {
        block.push_str(n);
        block.push(':');
        block.push_str(v);
        block.push('\n');
    }
    let names = headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
    let content_sha = headers.into_iter().find(|(n, _)| n == CONTENT_SHA256).map(|(_, v)| v);
    Ok((block, names, content_sha))
}

/// Encodes, sorts (by encoded name, then value) and joins query parameters.
fn canonical_query(params: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> =
        params.iter().map(|(k, v)| (uri_encode(k, false), uri_encode(v, false))).collect();
    encoded.sort();
    encoded.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Signs GCS URLs for one bucket with one key.
#[derive(Clone, Debug)]
pub struct GcsPresigner {
    location: GcsLocation,
    credentials: GcsCredentials,
}

impl GcsPresigner {
    /// A presigner for `location` signing with `credentials`.
    pub fn new(location: GcsLocation, credentials: GcsCredentials) -> GcsPresigner {
        GcsPresigner { location, credentials }
    }

    /// The bucket's location.
    pub fn location(&self) -> &GcsLocation {
        &self.location
    }

    /// Signs one request of any method, with extra query parameters and signed headers.
    pub fn presign(&self, req: &GcsRequest<'_>, now: OffsetDateTime) -> Result<GcsPresigned, GcsError> {
        check_expiry(req.expires_seconds)?;
        if req.method.is_empty() || !req.method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(GcsError::InvalidRequest(format!("method {:?} is not an upper-case token", req.method)));
        }
        for (name, _) in req.query {
            if RESERVED_QUERY.iter().any(|r| name.eq_ignore_ascii_case(r)) {
                return Err(GcsError::InvalidRequest(format!("query parameter {name} is set by the signer")));
            }
        }
        let uri = self.location.canonical_uri(req.object)?;
        let (stamp, date) = goog_dates(now)?;
        let scope = format!("{date}{SCOPE_SUFFIX}");
        let (header_block, signed_headers, content_sha) = canonical_headers(&self.location.host, req.headers)?;
        let credential = format!("{}/{scope}", self.credentials.id());
        let expires = req.expires_seconds.to_string();
        let mut params: Vec<(&str, &str)> = vec![
            ("X-Goog-Algorithm", self.credentials.algorithm()),
            ("X-Goog-Credential", &credential),
            ("X-Goog-Date", &stamp),
            ("X-Goog-Expires", &expires),
            ("X-Goog-SignedHeaders", &signed_headers),
        ];
        params.extend_from_slice(req.query);
        let query = canonical_query(&params);
        let payload = content_sha.as_deref().unwrap_or(UNSIGNED_PAYLOAD);
        let canonical_request = format!("{}\n{uri}\n{query}\n{header_block}\n{signed_headers}\n{payload}", req.method);
        let mut string_to_sign = format!("{}\n{stamp}\n{scope}\n", self.credentials.algorithm());
        hex_into(&mut string_to_sign, digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref());
        let mut signature = String::with_capacity(512);
        match &self.credentials {
            GcsCredentials::ServiceAccount(key) => key.sign_hex_into(string_to_sign.as_bytes(), &mut signature)?,
            GcsCredentials::Hmac(key) => {
                hex_into(&mut signature, hmac::sign(&key.signing_key(&date), string_to_sign.as_bytes()).as_ref())
            }
        }
        let loc = &self.location;
        let url = format!("{}://{}{uri}?{query}&X-Goog-Signature={signature}", loc.scheme, loc.authority);
        Ok(GcsPresigned { url, canonical_request, string_to_sign, signature })
    }

    /// Prepares to sign many GET URLs at time `now`, valid for `expires_seconds`.
    pub fn batch(&self, now: OffsetDateTime, expires_seconds: u32) -> Result<GcsBatch, GcsError> {
        check_expiry(expires_seconds)?;
        let (stamp, date) = goog_dates(now)?;
        let scope = format!("{date}{SCOPE_SUFFIX}");
        let loc = &self.location;
        let algorithm = self.credentials.algorithm();
        let mut query = format!("X-Goog-Algorithm={algorithm}&X-Goog-Credential=");
        uri_encode_into(&mut query, &format!("{}/{scope}", self.credentials.id()), false);
        query.push_str(&format!("&X-Goog-Date={stamp}&X-Goog-Expires={expires_seconds}&X-Goog-SignedHeaders=host"));
        let path_prefix = loc.path_prefix();
        let mut canonical_prefix = digest::Context::new(&digest::SHA256);
        canonical_prefix.update(b"GET\n");
        canonical_prefix.update(path_prefix.as_bytes());
        let sts_prefix = format!("{algorithm}\n{stamp}\n{scope}\n");
        let signer = match &self.credentials {
            GcsCredentials::ServiceAccount(key) => BatchSigner::Rsa { key: key.clone(), sts_prefix },
            GcsCredentials::Hmac(key) => {
                let mut ctx = hmac::Context::with_key(&key.signing_key(&date));
                ctx.update(sts_prefix.as_bytes());
                BatchSigner::Hmac(Box::new(ctx))
            }
        };
        Ok(GcsBatch {
            url_prefix: format!("{}://{}{path_prefix}", loc.scheme, loc.authority),
            canonical_suffix: format!("\n{query}\nhost:{}\n\nhost\n{UNSIGNED_PAYLOAD}", loc.host),
            query,
            canonical_prefix,
            signer,
        })
    }
}

fn check_expiry(expires_seconds: u32) -> Result<(), GcsError> {
    if (1..=MAX_EXPIRES_SECONDS).contains(&expires_seconds) {
        Ok(())
    } else {
        Err(GcsError::InvalidExpiry(expires_seconds))
    }
}

enum BatchSigner {
    Rsa { key: Arc<ServiceAccountKey>, sts_prefix: String },
    Hmac(Box<hmac::Context>),
}

/// Signs GET URLs that share a time and lifetime (see [`GcsPresigner::batch`]).
pub struct GcsBatch {
    url_prefix: String,
    query: String,
    canonical_prefix: digest::Context,
    canonical_suffix: String,
    signer: BatchSigner,
}

impl GcsBatch {
    /// Appends the signed GET URL of `object` to `out`. On error `out` is left unchanged.
    pub fn presign_get(&self, object: &str, out: &mut String) -> Result<(), GcsError> {
        check_object(object)?;
        let start = out.len();
        out.push_str(&self.url_prefix);
        let object_start = out.len();
        uri_encode_into(out, object, true);
        let mut canonical = self.canonical_prefix.clone();
        canonical.update(&out.as_bytes()[object_start..]);
        canonical.update(self.canonical_suffix.as_bytes());
        out.push('?');
        out.push_str(&self.query);
        out.push_str("&X-Goog-Signature=");
        // The hash's hex goes where the signature will, is signed, then replaced.
        let sig_start = out.len();
        hex_into(out, canonical.finish().as_ref());
        match &self.signer {
            BatchSigner::Hmac(prefix) => {
                let mut ctx = hmac::Context::clone(prefix);
                ctx.update(&out.as_bytes()[sig_start..]);
                out.truncate(sig_start);
                hex_into(out, ctx.sign().as_ref());
            }
            BatchSigner::Rsa { key, sts_prefix } => {
                let mut sts = String::with_capacity(sts_prefix.len() + 64);
                sts.push_str(sts_prefix);
                sts.push_str(&out[sig_start..]);
                out.truncate(sig_start);
                if let Err(e) = key.sign_hex_into(sts.as_bytes(), out) {
                    out.truncate(start);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The signed GET URL of `object`.
    pub fn url(&self, object: &str) -> Result<String, GcsError> {
        let mut out = String::with_capacity(self.url_prefix.len() + object.len() * 3 + self.query.len() + 560);
        self.presign_get(object, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_parsing_keeps_url_port_and_signs_bare_host() {
        let loc = GcsLocation::new("b", Some("HTTP://LocalHost:8080/"), GcsUrlStyle::PathStyle).unwrap();
        assert_eq!(
            (loc.scheme.as_str(), loc.authority.as_str(), loc.host.as_str()),
            ("http", "localhost:8080", "localhost")
        );
        let loc = GcsLocation::new("b", Some("http://[::1]:4443"), GcsUrlStyle::VirtualHosted).unwrap();
        assert_eq!((loc.authority.as_str(), loc.host.as_str()), ("b.[::1]:4443", "b.[::1]"));
        for bad in
            ["localhost:8080", "ftp://x", "http://h/path", "http://h:", "http://h:12a", "http://u@h", "http://[::1"]
        {
            assert!(GcsLocation::new("b", Some(bad), GcsUrlStyle::PathStyle).is_err(), "{bad}");
        }
        assert!(GcsLocation::new("Bad", None, GcsUrlStyle::PathStyle).is_err());
        assert!(GcsLocation::new("b", None, GcsUrlStyle::BucketBoundHostname).is_err());
    }

    #[test]
    fn canonical_uri_per_style() {
        let path = GcsLocation::new("bkt", None, GcsUrlStyle::PathStyle).unwrap();
        assert_eq!(path.canonical_uri(Some("a b/c+d")).unwrap(), "/bkt/a%20b/c%2Bd");
        assert_eq!(path.canonical_uri(None).unwrap(), "/bkt");
        let vhost = GcsLocation::new("bkt", None, GcsUrlStyle::VirtualHosted).unwrap();
        assert_eq!(vhost.canonical_uri(Some("/x")).unwrap(), "//x");
        assert_eq!(vhost.canonical_uri(None).unwrap(), "/");
        for bad in ["", "a/../b", ".", "a/./b", "a\nb"] {
            assert!(path.canonical_uri(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let (block, names, sha) =
            canonical_headers("h", &[("X-A", " 1 \t 2 "), ("x-a", "3"), ("x-goog-content-sha256", "ab")]).unwrap();
        assert_eq!(block, "host:h\nx-a:1 2,3\nx-goog-content-sha256:ab\n");
        assert_eq!(names, "host;x-a;x-goog-content-sha256");
        assert_eq!(sha.as_deref(), Some("ab"));
        assert!(canonical_headers("h", &[("Host", "x")]).is_err());
        assert!(canonical_headers("h", &[("a:b", "x")]).is_err());
        assert!(canonical_headers("h", &[("a", "x\r\ny")]).is_err());
    }

    #[test]
    fn pem_errors_do_not_echo_key_material() {
        let err = ServiceAccountKey::from_pkcs8_pem(
            "a@b",
            "-----BEGIN PRIVATE KEY-----\nSECRETSTUFF!\n-----END PRIVATE KEY-----",
        )
        .unwrap_err();
        assert!(!err.to_string().contains("SECRETSTUFF"), "{err}");
        let err = ServiceAccountKey::from_json(r#"{"client_email": "a@b", "private_key": 7, "x": "SECRETSTUFF"}"#)
            .unwrap_err();
        assert!(!err.to_string().contains("SECRETSTUFF"), "{err}");
    }
}
