//! URLs for `local` stores, which the host serves itself: `{endpoint}/files/{store}/{key}` with
//! an expiry and an HMAC-SHA256 signature, checked by the engine before the host serves a byte.
//!
//! The query carries `X-Amz-Signature` because delta-kernel fetches http(s) URLs only when they
//! look pre-signed.

use ring::hmac;

use super::encode::{hex, uri_encode_into};

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

/// Why a local file URL was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LocalUrlError {
    /// Not a files URL, or its parameters are malformed.
    #[error("malformed file URL")]
    Malformed,
    /// The signature does not match.
    #[error("the signature does not match")]
    BadSignature,
    /// The URL has expired.
    #[error("the URL has expired")]
    Expired,
}

/// A checked file reference: which store, which key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileGrant {
    /// The store name.
    pub store: String,
    /// The object key in the store.
    pub key: String,
}

impl LocalSigner {
    /// A signer with a secret key (the engine derives it from its token key).
    pub fn new(secret: &[u8]) -> LocalSigner {
        LocalSigner { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    fn mac(&self, store: &str, key: &str, expires_at_ms: i64) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in [store.as_bytes(), b"\0", key.as_bytes(), b"\0", expires_at_ms.to_string().as_bytes()] {
            ctx.update(part);
        }
        let mut mac = [0u8; 32];
        mac.copy_from_slice(ctx.sign().as_ref());
        mac
    }

    /// Appends the URL of `key` in `store` under `base` (`{endpoint}`, the protocol URL without a
    /// trailing `/`), valid until `expires_at_ms`, and returns its signature for
    /// [`LocalSigner::assemble`].
    pub fn sign_into(&self, out: &mut String, base: &str, store: &str, key: &str, expires_at_ms: i64) -> [u8; 32] {
        let mac = self.mac(store, key, expires_at_ms);
        self.assemble(out, base, store, key, expires_at_ms, &mac);
        mac
    }

    /// Appends a URL with a signature computed before by [`LocalSigner::sign_into`].
    pub fn assemble(&self, out: &mut String, base: &str, store: &str, key: &str, expires_at_ms: i64, mac: &[u8; 32]) {
        out.push_str(base);
        out.push('/');
        out.push_str(FILES_SEGMENT);
        out.push('/');
        uri_encode_into(out, store, false);
        out.push('/');
        uri_encode_into(out, key, true);
        out.push_str("?X-Amz-Expires=");
        out.push_str(&expires_at_ms.to_string());
        out.push_str("&X-Amz-Signature=");
        out.push_str(&hex(mac));
    }

    /// Checks a request target under the prefix (`/files/{store}/{key}?…`, prefix stripped) at
    /// `now_ms`.
    pub fn verify(&self, target: &str, now_ms: i64) -> Result<FileGrant, LocalUrlError> {
        let (path, query) = target.split_once('?').ok_or(LocalUrlError::Malformed)?;
        let rest = path.strip_prefix('/').and_then(|p| p.strip_prefix(FILES_SEGMENT)).and_then(|p| p.strip_prefix('/'));
        let (store, key) = rest.and_then(|r| r.split_once('/')).ok_or(LocalUrlError::Malformed)?;
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
        let store = decode(store).map_err(|_| LocalUrlError::Malformed)?;
        let key = decode(key).map_err(|_| LocalUrlError::Malformed)?;
        let unsafe_key = key.is_empty()
            || key.starts_with('/')
            || key.contains('\0')
            || key.contains('\\')
            || key.split('/').any(|s| s == ".." || s == ".");
        if unsafe_key || store.is_empty() {
            return Err(LocalUrlError::Malformed);
        }
        let mut expires = None;
        let mut signature = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "X-Amz-Expires" => expires = v.parse::<i64>().ok(),
                "X-Amz-Signature" => signature = Some(v.into_owned()),
                _ => {}
            }
        }
        let (Some(expires), Some(signature)) = (expires, signature) else { return Err(LocalUrlError::Malformed) };
        let expected = hex(&self.mac(&store, &key, expires));
        if !crate::auth::constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
            return Err(LocalUrlError::BadSignature);
        }
        if now_ms >= expires {
            return Err(LocalUrlError::Expired);
        }
        Ok(FileGrant { store, key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies() {
        let s = LocalSigner::new(b"k");
        let mut url = String::new();
        s.sign_into(&mut url, "http://h:1/delta-sharing", "demo", "trips/city=nice/part 1.parquet", 1000);
        let target = url.strip_prefix("http://h:1/delta-sharing").unwrap();
        assert!(
            target.starts_with("/files/demo/trips/city%3Dnice/part%201.parquet?X-Amz-Expires=1000&X-Amz-Signature=")
        );
        assert_eq!(
            s.verify(target, 999).unwrap(),
            FileGrant { store: "demo".into(), key: "trips/city=nice/part 1.parquet".into() }
        );
        assert_eq!(s.verify(target, 1000), Err(LocalUrlError::Expired));
        assert_eq!(LocalSigner::new(b"other").verify(target, 0), Err(LocalUrlError::BadSignature));
        let tampered = target.replace("part%201", "part%202");
        assert_eq!(s.verify(&tampered, 0), Err(LocalUrlError::BadSignature));
        let longer = target.replace("X-Amz-Expires=1000", "X-Amz-Expires=9999");
        assert_eq!(s.verify(&longer, 0), Err(LocalUrlError::BadSignature));
        for bad in [
            "/files/demo",
            "/other/demo/k?X-Amz-Expires=1&X-Amz-Signature=00",
            "/files/demo/../etc/passwd?X-Amz-Expires=1&X-Amz-Signature=0",
        ] {
            assert_eq!(s.verify(bad, 0), Err(LocalUrlError::Malformed), "{bad}");
        }
    }
}
