//! Opaque tokens that carry their own state, signed with HMAC-SHA256 so that any engine
//! instance holding the same key can check them (page tokens, refresh tokens).
//!
//! Form: `base64url(payload) "." base64url(mac)`, where the MAC covers a purpose label and the
//! payload, so a token minted for one purpose is refused for another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;

/// Longest token accepted, so a huge query string costs nothing to refuse.
const MAX_TOKEN_LEN: usize = 4096;

/// The key tokens are signed with.
pub struct TokenKey {
    key: hmac::Key,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

impl TokenKey {
    /// A key from configured bytes.
    pub fn new(bytes: &[u8]) -> TokenKey {
        TokenKey { key: hmac::Key::new(hmac::HMAC_SHA256, bytes) }
    }

    /// A fresh random key from the operating system's generator.
    pub fn random() -> Result<TokenKey, ring::error::Unspecified> {
        let rng = ring::rand::SystemRandom::new();
        Ok(TokenKey { key: hmac::Key::generate(hmac::HMAC_SHA256, &rng)? })
    }

    /// A 32-byte subkey for another use of the same secret (e.g. local file URLs).
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.mac(label, b"subkey").as_ref());
        out
    }

    fn mac(&self, purpose: &str, payload: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(purpose.as_bytes());
        ctx.update(&[0]);
        ctx.update(payload);
        ctx.sign()
    }

    /// Signs `payload` for `purpose`.
    pub fn seal(&self, purpose: &str, payload: &[u8]) -> String {
        let tag = self.mac(purpose, payload);
        let mut out = URL_SAFE_NO_PAD.encode(payload);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut out);
        out
    }

    /// Returns the payload of a token sealed for `purpose` with this key, or `None` when the
    /// token is malformed, tampered with, or sealed with another key or purpose.
    pub fn open(&self, purpose: &str, token: &str) -> Option<Vec<u8>> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let (payload, tag) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut ctx = Vec::with_capacity(purpose.len() + 1 + payload.len());
        ctx.extend_from_slice(purpose.as_bytes());
        ctx.push(0);
        ctx.extend_from_slice(&payload);
        hmac::verify(&self.key, &ctx, &tag).ok()?;
        Some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_refuses_tampering() {
        let key = TokenKey::new(b"0123456789abcdef0123456789abcdef");
        let token = key.seal("page", b"{\"o\":3}");
        assert_eq!(key.open("page", &token).as_deref(), Some(&b"{\"o\":3}"[..]));
        assert_eq!(key.open("refresh", &token), None);
        assert_eq!(TokenKey::new(b"another key of thirty-two bytes!").open("page", &token), None);
        let mut bytes = token.into_bytes();
        bytes[2] ^= 1;
        assert_eq!(key.open("page", &String::from_utf8(bytes).unwrap()), None);
        assert_eq!(key.open("page", ":"), None);
        assert_eq!(key.open("page", "a1b"), None);
    }
}
