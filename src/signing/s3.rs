//! S3 pre-signed GET URLs (AWS, Cloudflare R2, MinIO, Ceph RGW) with a fast path for the many
//! URLs of one response.
//!
//! Per response, [`S3Presigner::batch`] fixes the time and lifetime, takes the day's signing
//! key from a cache (derived once per day), and hashes once the whole 64-byte blocks of what
//! the URLs share: `GET\n/` (+ `bucket/` in path style) before the key, and the
//! string-to-sign's fixed prefix. Each URL then costs SHA-256 over the rest of its canonical
//! request (key plus fixed suffix, laid out contiguously so it is one update) and one HMAC over
//! the prefix's last partial block plus 64 hex digits.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use ring::{digest, hmac};
use time::OffsetDateTime;

use super::encode::uri_encode_into;
use super::sigv4::{
    self, amz_dates, amz_stamp, host_header, signing_key, Credentials, PresignRequest, Presigned, ALGORITHM,
    UNSIGNED_PAYLOAD,
};
use super::SigningError;
use crate::util::hex_digest_256;

/// Where a bucket is and how it is addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    /// `http` or `https`.
    pub scheme: String,
    /// The host header value: lower-case host (IPv6 bracketed), `:port` only when not default.
    pub host: String,
    /// The bucket.
    pub bucket: String,
    /// The signing region.
    pub region: String,
    /// Path-style addressing (`host/bucket/key`) instead of virtual-hosted (`bucket.host/key`).
    pub path_style: bool,
}

impl S3Location {
    /// Resolves a bucket's location. Without `endpoint`, the AWS endpoint of `region`.
    pub fn new(
        bucket: &str,
        region: &str,
        endpoint: Option<&str>,
        path_style: bool,
    ) -> Result<S3Location, SigningError> {
        if bucket.is_empty() || region.is_empty() {
            return Err(SigningError::InvalidLocation("bucket and region are required".into()));
        }
        let (scheme, base) = match endpoint {
            Some(e) => {
                let url =
                    url::Url::parse(e).map_err(|err| SigningError::InvalidLocation(format!("endpoint: {err}")))?;
                let host =
                    host_header(&url).ok_or_else(|| SigningError::InvalidLocation("endpoint has no host".into()))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(SigningError::InvalidLocation("endpoint must be http or https".into()));
                }
                (url.scheme().to_string(), host)
            }
            None if region == "us-east-1" => ("https".into(), "s3.amazonaws.com".into()),
            None => ("https".into(), format!("s3.{region}.amazonaws.com")),
        };
        let host = if path_style { base } else { format!("{bucket}.{base}") };
        Ok(S3Location { scheme, host, bucket: bucket.into(), region: region.into(), path_style })
    }

    /// The canonical URI (and URL path) of `key`: encoded once, never normalised.
    pub fn canonical_uri(&self, key: &str) -> String {
        let mut out = String::with_capacity(key.len() + self.bucket.len() + 8);
        out.push('/');
        if self.path_style {
            out.push_str(&self.bucket);
            out.push('/');
        }
        uri_encode_into(&mut out, key, true);
        out
    }
}

/// Signs URLs for one bucket with one set of credentials. Share it: the day's signing key is
/// cached inside.
pub struct S3Presigner {
    location: S3Location,
    credentials: Credentials,
    day: Mutex<Option<Arc<DayKey>>>,
}

/// What one day's signatures share: the derived key (four HMACs to make) and the credential
/// scope, as text.
struct DayKey {
    /// `YYYYMMDD`.
    date: String,
    /// The SigV4 signing key of the date, region and `s3`.
    key: hmac::Key,
    /// `{date}/{region}/s3/aws4_request`.
    scope: String,
    /// `AWS4-HMAC-SHA256 Credential={access key id}/{scope}, SignedHeaders=`: the start of an
    /// `Authorization` header.
    authorization_head: String,
}

/// The headers a SigV4 header signature adds to a request (see [`S3Presigner::sign_headers`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderSignature<'a> {
    /// `X-Amz-Date`: `YYYYMMDDTHHMMSSZ`.
    pub amz_date: String,
    /// `X-Amz-Security-Token`, with temporary credentials.
    pub security_token: Option<&'a str>,
    /// `Authorization`.
    pub authorization: String,
}

impl std::fmt::Debug for S3Presigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Presigner").field("location", &self.location).field("credentials", &self.credentials).finish()
    }
}

impl S3Presigner {
    /// A presigner for `location`.
    pub fn new(location: S3Location, credentials: Credentials) -> S3Presigner {
        S3Presigner { location, credentials, day: Mutex::new(None) }
    }

    /// The bucket's location.
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// Pre-signs one request of any method with extra query parameters and signed headers.
    pub fn presign(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        now: OffsetDateTime,
        expires_seconds: u32,
    ) -> Result<(String, Presigned), SigningError> {
        let uri = self.location.canonical_uri(key);
        let req = PresignRequest {
            method,
            host: &self.location.host,
            canonical_uri: &uri,
            query,
            headers,
            service: "s3",
            region: &self.location.region,
            payload_hash: UNSIGNED_PAYLOAD,
            expires_seconds,
            omit_session_token: false,
        };
        let signed = sigv4::presign(&req, &self.credentials, now)?;
        let url = format!("{}://{}{uri}?{}", self.location.scheme, self.location.host, signed.query);
        Ok((url, signed))
    }

    /// Signs a request in the SigV4 header form at `now` with the day's cached key: for a
    /// client that sends the request itself (remote signing). `host` is where the request goes
    /// (this bucket's host, path-style or virtual-hosted); `canonical_uri` and
    /// `canonical_query` are already canonical; `headers` are signed besides `host`,
    /// `x-amz-date` and `x-amz-security-token`. The payload is `UNSIGNED-PAYLOAD`: send
    /// `x-amz-content-sha256` with that value (and sign it).
    ///
    /// The bytes are those of [`sigv4::HeaderSigning::sign`] (tested against it), built in one
    /// buffer with the day's key, scope and `Authorization` start taken from the cache.
    pub fn sign_headers(
        &self,
        method: &str,
        host: &str,
        canonical_uri: &str,
        canonical_query: &str,
        headers: &[(&str, &str)],
        now: OffsetDateTime,
    ) -> HeaderSignature<'_> {
        let stamp_bytes = amz_stamp(now);
        let stamp = std::str::from_utf8(&stamp_bytes).unwrap_or_default();
        let day = self.day(&stamp[..8]);
        let token = self.credentials.session_token.as_deref();
        // Canonical headers: lower-case names, values trimmed with inner whitespace runs
        // collapsed, a repeated name's values joined by commas, sorted by name.
        let mut entries: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::with_capacity(headers.len() + 3);
        entries.push((Cow::Borrowed("host"), Cow::Borrowed(host)));
        let own = [("x-amz-date", Some(stamp)), ("x-amz-security-token", token)];
        let extra = headers.iter().copied().chain(own.into_iter().filter_map(|(n, v)| Some((n, v?))));
        for (name, value) in extra {
            let name = lower_case(name);
            let value = collapse_whitespace(value);
            match entries.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => {
                    let v = v.to_mut();
                    v.push(',');
                    v.push_str(&value);
                }
                None => entries.push((name, value)),
            }
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut text = String::with_capacity(
            method.len()
                + canonical_uri.len()
                + canonical_query.len()
                + 2 * (host.len() + 160)
                + 3 * headers.len() * 32,
        );
        // Separators are pushed as characters: a string of one byte would be a `memcpy` call.
        text.push_str(method);
        text.push('\n');
        text.push_str(canonical_uri);
        text.push('\n');
        text.push_str(canonical_query);
        text.push('\n');
        for (name, value) in &entries {
            text.push_str(name);
            text.push(':');
            text.push_str(value);
            text.push('\n');
        }
        text.push('\n');
        let signed_start = text.len();
        for (i, (name, _)) in entries.iter().enumerate() {
            if i > 0 {
                text.push(';');
            }
            text.push_str(name);
        }
        let signed_end = text.len();
        text.push('\n');
        text.push_str(UNSIGNED_PAYLOAD);
        let hash = hex_digest_256(digest::digest(&digest::SHA256, text.as_bytes()).as_ref());
        let mut authorization = String::with_capacity(day.authorization_head.len() + signed_end - signed_start + 76);
        authorization.push_str(&day.authorization_head);
        authorization.push_str(&text[signed_start..signed_end]);
        authorization.push_str(", Signature=");
        // The string to sign, in the same buffer.
        text.clear();
        text.push_str(ALGORITHM);
        text.push('\n');
        text.push_str(stamp);
        text.push('\n');
        text.push_str(&day.scope);
        text.push('\n');
        text.push_str(std::str::from_utf8(&hash).unwrap_or_default());
        let signature = hex_digest_256(hmac::sign(&day.key, text.as_bytes()).as_ref());
        authorization.push_str(std::str::from_utf8(&signature).unwrap_or_default());
        HeaderSignature { amz_date: stamp.to_string(), security_token: token, authorization }
    }

    /// The cached key and scope of `date` (`YYYYMMDD`), derived on the day's first call.
    fn day(&self, date: &str) -> Arc<DayKey> {
        let mut cache = self.day.lock().unwrap_or_else(|e| e.into_inner());
        match cache.as_ref() {
            Some(day) if day.date == date => day.clone(),
            _ => {
                let region = &self.location.region;
                let scope = format!("{date}/{region}/s3/aws4_request");
                let day = Arc::new(DayKey {
                    date: date.to_string(),
                    key: signing_key(&self.credentials.secret_access_key, date, region, "s3"),
                    authorization_head: format!(
                        "{ALGORITHM} Credential={}/{scope}, SignedHeaders=",
                        self.credentials.access_key_id
                    ),
                    scope,
                });
                *cache = Some(day.clone());
                day
            }
        }
    }

    /// Prepares to sign many GET URLs at time `now`, valid for `expires_seconds`.
    pub fn batch(&self, now: OffsetDateTime, expires_seconds: u32) -> Result<S3Batch, SigningError> {
        if !(1..=sigv4::MAX_EXPIRES_SECONDS).contains(&expires_seconds) {
            return Err(SigningError::InvalidExpiry(expires_seconds));
        }
        let (stamp, date) = amz_dates(now);
        let loc = &self.location;
        let scope = format!("{date}/{}/s3/aws4_request", loc.region);
        let mut query = format!("X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential=");
        uri_encode_into(&mut query, &format!("{}/{scope}", self.credentials.access_key_id), false);
        query.push_str(&format!("&X-Amz-Date={stamp}&X-Amz-Expires={expires_seconds}"));
        if let Some(token) = &self.credentials.session_token {
            query.push_str("&X-Amz-Security-Token=");
            uri_encode_into(&mut query, token, false);
        }
        query.push_str("&X-Amz-SignedHeaders=host");
        let mut path_prefix = String::from("/");
        if loc.path_style {
            path_prefix.push_str(&loc.bucket);
            path_prefix.push('/');
        }
        // Both constant prefixes are hashed here as far as whole blocks go; the rest (under 64
        // bytes) is hashed per URL together with the URL's own bytes, in one update.
        let canonical_start = format!("GET\n{path_prefix}");
        let (whole, canonical_head) = split_blocks(&canonical_start);
        let mut canonical_prefix = digest::Context::new(&digest::SHA256);
        canonical_prefix.update(whole);
        let sts_start = format!("{ALGORITHM}\n{stamp}\n{scope}\n");
        let (whole, sts_head) = split_blocks(&sts_start);
        let mut sts_prefix = hmac::Context::with_key(&self.day(&date).key);
        sts_prefix.update(whole);
        Ok(S3Batch {
            url_prefix: format!("{}://{}{path_prefix}", loc.scheme, loc.host),
            url_query: format!("?{query}&X-Amz-Signature="),
            canonical_prefix,
            canonical_head: canonical_head.into(),
            canonical_suffix: format!("\n{query}\nhost:{}\n\nhost\n{UNSIGNED_PAYLOAD}", loc.host),
            sts_prefix,
            sts_head: sts_head.into(),
        })
    }
}

/// `name` in lower case, borrowed when it already is.
fn lower_case(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// `value` trimmed, with each inner run of whitespace made one space (SigV4's canonical header
/// value), borrowed when it already is.
fn collapse_whitespace(value: &str) -> Cow<'_, str> {
    // Byte tests (a string searcher's set-up costs more than these short values): ASCII
    // whitespace is `\t`..`\r` and ` `; other whitespace is not ASCII.
    let bytes = value.as_bytes();
    let plain = bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
        && !bytes.windows(2).any(|w| w == b"  ")
        && !bytes.iter().any(|b| (b'\t'..=b'\r').contains(b))
        && (bytes.is_ascii() || !value.chars().any(|c| c.is_whitespace() && c != ' '));
    if plain {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(value.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// SHA-256's block size.
const BLOCK: usize = 64;

/// Splits `s` into its whole SHA-256 blocks and the rest, backing off a block at a time until
/// the cut is on a character boundary (non-ASCII bucket or region names).
fn split_blocks(s: &str) -> (&[u8], &str) {
    let mut whole = s.len() - s.len() % BLOCK;
    while !s.is_char_boundary(whole) {
        whole -= BLOCK;
    }
    (&s.as_bytes()[..whole], &s[whole..])
}

/// Signs GET URLs that share a time and lifetime (see [`S3Presigner::batch`]).
///
/// Per URL the work is SHA-256 over the canonical request less its whole leading blocks that
/// hold no key byte, and the HMAC of the string-to-sign from the state after its constant
/// prefix's whole blocks: for the benchmark's 93-byte key (327-byte canonical request, 69-byte
/// prefix) 6 + 2 + 1 = 9 compression-function calls, the minimum for these bytes.
pub struct S3Batch {
    /// `scheme://host/` (+ `bucket/` in path style): the URL before the key.
    url_prefix: String,
    /// `?` + the query without the signature + `&X-Amz-Signature=`: the URL after the key.
    url_query: String,
    /// SHA-256 state after the whole blocks of `GET\n/` (+ `bucket/`).
    canonical_prefix: digest::Context,
    /// The rest of `GET\n/` (+ `bucket/`), hashed per URL.
    canonical_head: String,
    /// Everything after the key in the canonical request.
    canonical_suffix: String,
    /// HMAC state after the whole blocks of `AWS4-HMAC-SHA256\n{stamp}\n{scope}\n`.
    sts_prefix: hmac::Context,
    /// The rest of that prefix, hashed per URL before the canonical request's hash.
    sts_head: String,
}

impl S3Batch {
    /// Appends the pre-signed GET URL of `key` to `out`.
    pub fn presign_get(&self, key: &str, out: &mut String) {
        self.presign_get_keeping(key, out);
    }

    /// Appends the pre-signed GET URL of `key` to `out` and returns its signature, which
    /// [`S3Batch::assemble_get`] can put into the same URL again without hashing.
    pub fn presign_get_keeping(&self, key: &str, out: &mut String) -> [u8; 32] {
        // One reservation covers the URL and the canonical request, which is laid out behind
        // the URL's key while it is hashed (so it goes to SHA-256 in one update) and then cut.
        out.reserve(
            self.url_prefix.len()
                + 6 * key.len()
                + self.url_query.len()
                + 64
                + self.canonical_head.len()
                + self.canonical_suffix.len(),
        );
        out.push_str(&self.url_prefix);
        let key_start = out.len();
        uri_encode_into(out, key, true);
        let key_end = out.len();
        out.push_str(&self.canonical_head);
        out.extend_from_within(key_start..key_end);
        out.push_str(&self.canonical_suffix);
        let mut canonical = self.canonical_prefix.clone();
        canonical.update(&out.as_bytes()[key_end..]);
        out.truncate(key_end);
        // The string-to-sign's rest: the prefix's last partial block and the hex hash.
        let head = self.sts_head.len();
        let mut rest = [0u8; BLOCK + 64];
        rest[..head].copy_from_slice(self.sts_head.as_bytes());
        rest[head..head + 64].copy_from_slice(&hex_digest_256(canonical.finish().as_ref()));
        let mut sts = self.sts_prefix.clone();
        sts.update(&rest[..head + 64]);
        let mut signature = [0u8; 32];
        signature.copy_from_slice(sts.sign().as_ref());
        self.finish_url(out, &signature);
        signature
    }

    /// Appends the URL of `key` with a signature this batch computed before.
    pub fn assemble_get(&self, key: &str, signature: &[u8; 32], out: &mut String) {
        out.reserve(self.url_prefix.len() + 3 * key.len() + self.url_query.len() + 64);
        out.push_str(&self.url_prefix);
        uri_encode_into(out, key, true);
        self.finish_url(out, signature);
    }

    fn finish_url(&self, out: &mut String, signature: &[u8; 32]) {
        out.push_str(&self.url_query);
        let hex = hex_digest_256(signature);
        out.push_str(std::str::from_utf8(&hex).unwrap_or_default());
    }

    /// The pre-signed GET URL of `key`.
    pub fn url(&self, key: &str) -> String {
        let mut out = String::new();
        self.presign_get(key, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batch path gives the general path's URL wherever the constant prefixes and the
    /// key fall relative to SHA-256's 64-byte blocks.
    #[test]
    fn batch_matches_the_general_path_across_block_boundaries() {
        let now = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        let long_bucket = "b".repeat(63);
        let keys: Vec<String> = (0..140)
            .step_by(7)
            .flat_map(|n| ["k".repeat(n), format!("{}=x/ü {}", "d/".repeat(n / 2), "y".repeat(n % 5))])
            .collect();
        // Region lengths move the string-to-sign's prefix across a block edge ("auto": exactly
        // one block); a 63-byte bucket in path style makes `GET\n/bucket/` longer than a block.
        for region in ["auto", "us-east-1", "ap-southeast-2", "x"] {
            for (bucket, endpoint, path_style) in [
                ("lake", Some("http://127.0.0.1:9000"), true),
                (long_bucket.as_str(), Some("https://minio.example.com"), true),
                ("bkt", None, false),
            ] {
                for token in [None, Some("FwoGZXIvYXdzE+/token==")] {
                    let loc = S3Location::new(bucket, region, endpoint, path_style).unwrap();
                    let creds = Credentials {
                        access_key_id: "AKIDEXAMPLE".into(),
                        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
                        session_token: token.map(Into::into),
                    };
                    let p = S3Presigner::new(loc, creds);
                    let batch = p.batch(now, 900).unwrap();
                    let mut out = String::from("previous URL\n");
                    for key in &keys {
                        let (url, signed) = p.presign("GET", key, &[], &[], now, 900).unwrap();
                        let start = out.len();
                        let signature = batch.presign_get_keeping(key, &mut out);
                        assert_eq!(&out[start..], url, "{region} {bucket} {key}");
                        assert_eq!(crate::util::hex(&signature), signed.signature);
                        let mut again = String::new();
                        batch.assemble_get(key, &signature, &mut again);
                        assert_eq!(again, url);
                        out.push('\n');
                    }
                    assert!(out.starts_with("previous URL\n"));
                }
            }
        }
    }
}
