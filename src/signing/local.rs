//! URLs for `local` stores, whose files the host sends itself once the engine has answered the
//! request's head (`Step::ServeFile`):
//!
//! ```text
//! {endpoint}/files/{store}/{key}?X-Amz-Date=20261123T080000Z&X-Amz-Expires=3600&X-Amz-Signature=<hex>
//! ```
//!
//! The signature is HMAC-SHA256, under a key the engine derives from its token key, over the
//! store, the (decoded) key, the date and the lifetime. The engine checks it before the host
//! serves a byte. The parameters are named and shaped as in an S3 pre-signed URL because
//! delta-kernel fetches http(s) URLs only when they look pre-signed (it looks for
//! `X-Amz-Signature`), and tools that read S3 expiry (`X-Amz-Date` + `X-Amz-Expires` seconds)
//! read ours right.
//!
//! The key is signed in decoded form, so a client that re-encodes the path differently (`=` or
//! `%3D`) still presents a valid URL.

use ring::hmac;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::encode::uri_encode_into;
use super::sigv4::{amz_dates, MAX_EXPIRES_SECONDS};
use crate::protocol::{ApiError, ErrorCode};
use crate::util::{hex, hex_into};

/// The path segment under the protocol prefix where local files are served.
pub const FILES_SEGMENT: &str = "files";

/// Signs and checks local file URLs. `Debug` hides the key.
pub struct LocalSigner {
    key: hmac::Key,
}

impl std::fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalSigner(<redacted>)")
    }
}

/// Why a local file URL was refused. [`ApiError::from`] gives the answer to send: 404 for a
/// path that names no servable file, 403 (as S3 answers) for everything about the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LocalUrlError {
    /// Not a files path, not a `local` store, or a key that could leave the store's root
    /// (`..`, `.`, empty segments, a leading `/`, `\`, NUL).
    #[error("no such file")]
    NotFound,
    /// The signature parameters are missing or malformed.
    #[error("the URL is not a valid signed file URL")]
    Malformed,
    /// The signature does not match.
    #[error("the request signature does not match")]
    BadSignature,
    /// The URL has expired.
    #[error("the URL has expired")]
    Expired,
}

impl From<LocalUrlError> for ApiError {
    fn from(e: LocalUrlError) -> ApiError {
        let code = match e {
            LocalUrlError::NotFound => ErrorCode::ResourceDoesNotExist,
            LocalUrlError::Malformed | LocalUrlError::BadSignature | LocalUrlError::Expired => {
                ErrorCode::PermissionDenied
            }
        };
        ApiError::new(code, e.to_string())
    }
}

/// A checked file reference: which store, which key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRef {
    /// The store name.
    pub store: String,
    /// The object key in the store, decoded; safe to join to the store's root.
    pub key: String,
}

/// Whether `key` stays inside the store's root when joined to it.
fn is_safe_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('/')
        && !key.contains(['\0', '\\'])
        && key.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
}

/// Parses `YYYYMMDDTHHMMSSZ` into Unix seconds.
fn parse_amz_date(text: &str) -> Option<i64> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(text, &format).ok().map(|t| t.assume_utc().unix_timestamp())
}

/// When a batch of URLs is signed and for how long: `X-Amz-Date` and `X-Amz-Expires`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalStamp {
    date: String,
    expires_secs: u32,
}

impl LocalStamp {
    /// URLs signed at `now_ms` (truncated to the second), valid for `expires_secs` seconds
    /// (capped at 604800, as S3).
    pub fn new(now_ms: i64, expires_secs: u32) -> LocalStamp {
        let now = OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        LocalStamp { date: amz_dates(now).0, expires_secs: expires_secs.min(MAX_EXPIRES_SECONDS) }
    }
}

impl LocalSigner {
    /// A signer with a secret key (the engine derives it from its token key).
    pub fn new(secret: &[u8]) -> LocalSigner {
        LocalSigner { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    fn mac(&self, store: &str, key: &str, date: &str, expires_secs: u32) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in [store.as_bytes(), b"\0", key.as_bytes(), b"\0", date.as_bytes(), b"\0"] {
            ctx.update(part);
        }
        ctx.update(expires_secs.to_string().as_bytes());
        let mut mac = [0u8; 32];
        mac.copy_from_slice(ctx.sign().as_ref());
        mac
    }

    /// The URL of `key` in `store` under `base` (`{endpoint}`: the public protocol URL including
    /// the prefix, without a trailing `/`), signed at `now_ms` and valid for `expires_secs`
    /// seconds from `now_ms` truncated to the second (at most 604800, as S3).
    ///
    /// A key that could leave the store's root (see [`LocalUrlError::NotFound`]) still gets a
    /// URL, which verification refuses.
    pub fn sign(&self, base: &str, store: &str, key: &str, now_ms: i64, expires_secs: u32) -> String {
        let mut out = String::with_capacity(base.len() + key.len() + 160);
        self.sign_into(&mut out, base, store, key, &LocalStamp::new(now_ms, expires_secs));
        out
    }

    /// Appends the URL of `key` (see [`sign`](LocalSigner::sign)) with the time and lifetime of
    /// `stamp`, and returns its signature for [`LocalSigner::assemble`].
    pub fn sign_into(&self, out: &mut String, base: &str, store: &str, key: &str, stamp: &LocalStamp) -> [u8; 32] {
        let mac = self.mac(store, key, &stamp.date, stamp.expires_secs);
        self.assemble(out, base, store, key, stamp, &mac);
        mac
    }

    /// Appends a URL with a signature computed before by [`LocalSigner::sign_into`] with the
    /// same arguments.
    pub fn assemble(&self, out: &mut String, base: &str, store: &str, key: &str, stamp: &LocalStamp, mac: &[u8; 32]) {
        out.push_str(base);
        out.push('/');
        out.push_str(FILES_SEGMENT);
        out.push('/');
        uri_encode_into(out, store, false);
        out.push('/');
        uri_encode_into(out, key, true);
        out.push_str("?X-Amz-Date=");
        out.push_str(&stamp.date);
        out.push_str("&X-Amz-Expires=");
        out.push_str(&stamp.expires_secs.to_string());
        out.push_str("&X-Amz-Signature=");
        hex_into(out, mac);
    }

    /// Checks a request target with the protocol prefix stripped (`/files/{store}/{key}?…`) at
    /// `now_ms`.
    pub fn verify(&self, target: &str, now_ms: i64) -> Result<FileRef, LocalUrlError> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let rest = path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(FILES_SEGMENT))
            .and_then(|p| p.strip_prefix('/'))
            .ok_or(LocalUrlError::NotFound)?;
        let (store, key) = rest.split_once('/').ok_or(LocalUrlError::NotFound)?;
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
        let store = decode(store).map_err(|_| LocalUrlError::NotFound)?;
        let key = decode(key).map_err(|_| LocalUrlError::NotFound)?;
        if store.is_empty() || !is_safe_key(&key) {
            return Err(LocalUrlError::NotFound);
        }
        let (mut date, mut expires, mut signature) = (None, None, None);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "X-Amz-Date" if date.is_none() => date = Some(v.into_owned()),
                "X-Amz-Expires" if expires.is_none() => expires = Some(v.into_owned()),
                "X-Amz-Signature" if signature.is_none() => signature = Some(v.into_owned()),
                _ => {}
            }
        }
        let (Some(date), Some(expires), Some(signature)) = (date, expires, signature) else {
            return Err(LocalUrlError::Malformed);
        };
        let signed_at = parse_amz_date(&date).ok_or(LocalUrlError::Malformed)?;
        let expires_secs = expires
            .parse::<u32>()
            .ok()
            .filter(|s| (1..=MAX_EXPIRES_SECONDS).contains(s))
            .ok_or(LocalUrlError::Malformed)?;
        let expected = hex(&self.mac(&store, &key, &date, expires_secs));
        if !crate::util::constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
            return Err(LocalUrlError::BadSignature);
        }
        if now_ms.div_euclid(1000) >= signed_at + i64::from(expires_secs) {
            return Err(LocalUrlError::Expired);
        }
        Ok(FileRef { store, key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://h:1/delta-sharing";
    /// 2026-01-01T00:00:00Z.
    const NOW: i64 = 1_767_225_600_000;

    fn target(url: &str) -> &str {
        url.strip_prefix(BASE).unwrap()
    }

    #[test]
    fn signs_s3_shaped_urls_and_verifies_them() {
        let s = LocalSigner::new(b"k");
        let url = s.sign(BASE, "demo", "trips/city=nice/part 1.parquet", NOW + 999, 3600);
        let mut assembled = String::new();
        let stamp = LocalStamp::new(NOW, 3600);
        let mac = s.sign_into(&mut String::new(), BASE, "demo", "trips/city=nice/part 1.parquet", &stamp);
        s.assemble(&mut assembled, BASE, "demo", "trips/city=nice/part 1.parquet", &stamp, &mac);
        assert_eq!(assembled, url);
        assert!(
            url.starts_with(
                "http://h:1/delta-sharing/files/demo/trips/city%3Dnice/part%201.parquet\
                 ?X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-Signature="
            ),
            "{url}"
        );
        let want = FileRef { store: "demo".into(), key: "trips/city=nice/part 1.parquet".into() };
        assert_eq!(s.verify(target(&url), NOW), Ok(want.clone()));
        assert_eq!(s.verify(target(&url), NOW + 3_599_999), Ok(want.clone()));
        // A client that sends `=` unencoded (or re-encodes other bytes) presents the same URL.
        assert_eq!(s.verify(&target(&url).replace("%3D", "="), NOW), Ok(want));
        assert_eq!(s.verify(target(&url), NOW + 3_600_000), Err(LocalUrlError::Expired));
    }

    #[test]
    fn refuses_tampering_and_other_keys() {
        let s = LocalSigner::new(b"k");
        let url = s.sign(BASE, "demo", "a/b.parquet", NOW, 60);
        let t = target(&url);
        assert_eq!(LocalSigner::new(b"other").verify(t, NOW), Err(LocalUrlError::BadSignature));
        for tampered in [
            t.replace("b.parquet", "c.parquet"),
            t.replace("/demo/", "/demo2/"),
            t.replace("X-Amz-Expires=60", "X-Amz-Expires=61"),
            t.replace("T000000Z", "T000001Z"),
            t.replace("X-Amz-Signature=", "X-Amz-Signature=0"),
        ] {
            assert_eq!(s.verify(&tampered, NOW), Err(LocalUrlError::BadSignature), "{tampered}");
        }
        for malformed in [
            "/files/demo/a/b.parquet",
            "/files/demo/a/b.parquet?X-Amz-Date=20260101T000000Z&X-Amz-Signature=00",
            "/files/demo/a/b.parquet?X-Amz-Date=yesterday&X-Amz-Expires=60&X-Amz-Signature=00",
            "/files/demo/a/b.parquet?X-Amz-Date=20260101T000000Z&X-Amz-Expires=0&X-Amz-Signature=00",
            "/files/demo/a/b.parquet?X-Amz-Date=20260101T000000Z&X-Amz-Expires=604801&X-Amz-Signature=00",
        ] {
            assert_eq!(s.verify(malformed, NOW), Err(LocalUrlError::Malformed), "{malformed}");
        }
    }

    #[test]
    fn keys_never_leave_the_store_root() {
        let s = LocalSigner::new(b"k");
        for key in ["../etc/passwd", "a/../../b", "/etc/passwd", "a//b", "a/./b", "a\\..\\b", "a\0b", "a/", ""] {
            let url = s.sign(BASE, "demo", key, NOW, 60);
            assert_eq!(s.verify(target(&url), NOW), Err(LocalUrlError::NotFound), "{key:?}");
        }
        for not_files in
            ["/other/demo/k?X-Amz-Signature=00", "/files/demo", "/files", "/filesX/demo/k", "/files/demo/%ff"]
        {
            assert_eq!(s.verify(not_files, NOW), Err(LocalUrlError::NotFound), "{not_files}");
        }
    }

    #[test]
    fn errors_map_to_s3_like_statuses() {
        assert_eq!(ApiError::from(LocalUrlError::NotFound).code.status(), 404);
        for e in [LocalUrlError::Malformed, LocalUrlError::BadSignature, LocalUrlError::Expired] {
            assert_eq!(ApiError::from(e).code.status(), 403);
        }
    }
}
