//! Recipients: bearer tokens stored as SHA-256 hashes, expiry and per-share grants; JWTs of
//! federated recipients in [`oidc`].

mod audit;
pub mod jwk;
pub mod jwt;
pub mod oidc;
mod token;

pub use audit::AuditEvent;
pub use token::{constant_time_eq, token_sha256, token_sha256_hex};

use std::collections::{HashMap, HashSet};

/// One recipient with its grants.
#[derive(Debug)]
pub struct Recipient {
    /// The recipient name, as configured. Audit events carry this, never the token.
    pub name: String,
    /// SHA-256 of the bearer token (none for a recipient that only signs in with OIDC).
    token_hash: Option<[u8; 32]>,
    /// Expiry in Unix milliseconds.
    pub expires_at_ms: Option<i64>,
    /// Indices (into the catalog's share list) of the granted shares.
    granted: HashSet<usize>,
}

impl Recipient {
    /// Builds a recipient from its token hash and granted share indices.
    pub fn new(name: String, token_hash: [u8; 32], expires_at_ms: Option<i64>, granted: HashSet<usize>) -> Recipient {
        Recipient { name, token_hash: Some(token_hash), expires_at_ms, granted }
    }

    /// A recipient without a bearer token: it authenticates with OIDC JWTs only.
    pub fn federated(name: String, expires_at_ms: Option<i64>, granted: HashSet<usize>) -> Recipient {
        Recipient { name, token_hash: None, expires_at_ms, granted }
    }

    /// Whether the recipient has expired at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_some_and(|exp| now_ms >= exp)
    }

    /// Whether the recipient may read the share at `share_index`.
    pub fn can_read(&self, share_index: usize) -> bool {
        self.granted.contains(&share_index)
    }
}

/// Why a request was not authenticated. Every variant is answered with the same 401 status; the
/// variant only words the message and the audit event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header, or not a bearer token.
    Missing,
    /// The token matches no recipient.
    Unknown,
    /// The token has expired.
    Expired,
}

impl AuthError {
    /// The message sent to the client.
    pub fn message(self) -> &'static str {
        match self {
            AuthError::Missing => "Missing bearer token in the Authorization header",
            AuthError::Unknown => "The bearer token is not valid",
            AuthError::Expired => "The bearer token has expired",
        }
    }
}

/// All recipients, indexed by token hash.
#[derive(Debug, Default)]
pub struct Recipients {
    list: Vec<Recipient>,
    by_hash: HashMap<[u8; 32], usize>,
}

impl Recipients {
    /// Indexes `list`. Returns the name of a recipient whose token hash repeats an earlier one.
    pub fn new(list: Vec<Recipient>) -> Result<Recipients, String> {
        let mut by_hash = HashMap::with_capacity(list.len());
        for (i, r) in list.iter().enumerate() {
            let Some(hash) = r.token_hash else { continue };
            if by_hash.insert(hash, i).is_some() {
                return Err(r.name.clone());
            }
        }
        Ok(Recipients { list, by_hash })
    }

    /// All recipients in configured order.
    pub fn iter(&self) -> impl Iterator<Item = &Recipient> {
        self.list.iter()
    }

    /// The recipient at `index` in configured order.
    pub fn get(&self, index: usize) -> Option<&Recipient> {
        self.list.get(index)
    }

    /// Authenticates an `Authorization` header value at time `now_ms`.
    ///
    /// The token is hashed, looked up by hash, and the stored hash is then compared in constant
    /// time, so neither the lookup nor the comparison times the token itself.
    pub fn authenticate(&self, authorization: Option<&str>, now_ms: i64) -> Result<&Recipient, AuthError> {
        let token = authorization.and_then(bearer_token).ok_or(AuthError::Missing)?;
        self.authenticate_hash(&token_sha256(token), now_ms)
    }

    /// Authenticates a token by its SHA-256 (see [`authenticate`](Recipients::authenticate)),
    /// for a caller that needs the hash again (the verified-JWT cache is keyed by it).
    pub(crate) fn authenticate_hash(&self, hash: &[u8; 32], now_ms: i64) -> Result<&Recipient, AuthError> {
        let recipient = self.by_hash.get(hash).map(|&i| &self.list[i]).ok_or(AuthError::Unknown)?;
        if !recipient.token_hash.is_some_and(|stored| constant_time_eq(&stored, hash)) {
            return Err(AuthError::Unknown);
        }
        match recipient.expires_at_ms {
            Some(exp) if now_ms >= exp => Err(AuthError::Expired),
            _ => Ok(recipient),
        }
    }
}

/// Extracts the token of `Bearer <token>` (scheme case-insensitive, RFC 6750).
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipients() -> Recipients {
        Recipients::new(vec![
            Recipient::new("a".into(), token_sha256("tok-a"), None, HashSet::from([0])),
            Recipient::new("b".into(), token_sha256("tok-b"), Some(1000), HashSet::new()),
        ])
        .unwrap()
    }

    #[test]
    fn authenticates_by_hash() {
        let r = recipients();
        assert_eq!(r.authenticate(Some("Bearer tok-a"), 0).unwrap().name, "a");
        assert_eq!(r.authenticate(Some("bearer  tok-a "), 0).unwrap().name, "a");
        assert_eq!(r.authenticate(None, 0).unwrap_err(), AuthError::Missing);
        assert_eq!(r.authenticate(Some("Basic dG9rLWE="), 0).unwrap_err(), AuthError::Missing);
        assert_eq!(r.authenticate(Some("Bearer "), 0).unwrap_err(), AuthError::Missing);
        assert_eq!(r.authenticate(Some("Bearer tok-c"), 0).unwrap_err(), AuthError::Unknown);
        assert_eq!(r.authenticate(Some("Bearer tok-b"), 999).unwrap().name, "b");
        assert_eq!(r.authenticate(Some("Bearer tok-b"), 1000).unwrap_err(), AuthError::Expired);
    }

    #[test]
    fn refuses_duplicate_hashes() {
        let dup = Recipients::new(vec![
            Recipient::new("a".into(), token_sha256("t"), None, HashSet::new()),
            Recipient::new("b".into(), token_sha256("t"), None, HashSet::new()),
        ]);
        assert_eq!(dup.unwrap_err(), "b");
    }
}
