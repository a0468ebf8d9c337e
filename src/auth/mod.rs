//! Recipients: bearer tokens stored as SHA-256 hashes, expiry and per-share grants; their IP
//! access lists and rate limits; JWTs of federated recipients in [`oidc`].

mod audit;
pub mod jwk;
pub mod jwt;
mod network;
pub mod oidc;
mod rate_limit;
mod token;

pub use audit::AuditEvent;
pub use network::{client_ip, IpNet};
pub use rate_limit::{RateLimit, RateLimiter};
pub use token::{token_sha256, token_sha256_hex};

use std::net::IpAddr;

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use crate::util::Prehashed;

use crate::util::constant_time_eq;

/// One recipient with its grants.
#[derive(Debug)]
pub struct Recipient {
    /// The recipient name, as configured. Audit events carry this, never the token.
    pub name: String,
    /// The bearer tokens it may use (several while a rotation's grace period runs).
    tokens: Vec<TokenHash>,
    /// Expiry in Unix milliseconds.
    pub expires_at_ms: Option<i64>,
    /// Indices (into the catalog's share list) of the granted shares, sorted.
    granted: Vec<usize>,
    /// Risk labels whose assets this recipient must not see.
    deny_risk_labels: Vec<String>,
    /// The networks it may call from; empty: any.
    ip_access_list: Vec<IpNet>,
    /// Its request rate limit, if any.
    rate_limiter: Option<RateLimiter>,
}

/// A bearer token a recipient may use: its SHA-256 and its own optional expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenHash {
    /// SHA-256 of the token.
    pub sha256: [u8; 32],
    /// When this token stops working, in Unix milliseconds (besides the recipient's expiry).
    pub expires_at_ms: Option<i64>,
}

impl Recipient {
    /// Builds a recipient from its token hash and granted share indices.
    pub fn new(name: String, token_hash: [u8; 32], expires_at_ms: Option<i64>, granted: HashSet<usize>) -> Recipient {
        Recipient::with_tokens(
            name,
            vec![TokenHash { sha256: token_hash, expires_at_ms: None }],
            expires_at_ms,
            granted,
        )
    }

    /// Builds a recipient holding `tokens` (none: it cannot authenticate with a bearer token).
    pub fn with_tokens(
        name: String,
        tokens: Vec<TokenHash>,
        expires_at_ms: Option<i64>,
        granted: HashSet<usize>,
    ) -> Recipient {
        let mut granted: Vec<usize> = granted.into_iter().collect();
        granted.sort_unstable();
        Recipient {
            name,
            tokens,
            expires_at_ms,
            granted,
            deny_risk_labels: Vec::new(),
            ip_access_list: Vec::new(),
            rate_limiter: None,
        }
    }

    /// Restricts the recipient to clients in `networks` (builder style; empty: any).
    pub fn ip_access_list(mut self, networks: Vec<IpNet>) -> Recipient {
        self.ip_access_list = networks;
        self
    }

    /// Limits the recipient's request rate (builder style).
    pub fn rate_limit(mut self, limit: Option<RateLimit>) -> Recipient {
        self.rate_limiter = limit.map(RateLimiter::new);
        self
    }

    /// Whether the recipient is restricted to some networks.
    pub fn has_ip_access_list(&self) -> bool {
        !self.ip_access_list.is_empty()
    }

    /// Whether a client at `ip` (`None`: unknown) may act as this recipient.
    pub fn allows_ip(&self, ip: Option<IpAddr>) -> bool {
        self.ip_access_list.is_empty() || ip.is_some_and(|ip| network::any_contains(&self.ip_access_list, ip))
    }

    /// Takes one request from the recipient's rate limit at `now_ms`; `Err` carries the
    /// seconds until the next one is allowed.
    pub fn acquire(&self, now_ms: i64) -> Result<(), u64> {
        self.rate_limiter.as_ref().map_or(Ok(()), |limiter| limiter.acquire(now_ms))
    }

    /// A recipient without a bearer token: it authenticates with OIDC JWTs only.
    pub fn federated(name: String, expires_at_ms: Option<i64>, granted: HashSet<usize>) -> Recipient {
        Recipient::with_tokens(name, Vec::new(), expires_at_ms, granted)
    }

    /// Whether the recipient has expired at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_some_and(|exp| now_ms >= exp)
    }

    /// This recipient, not seeing assets labelled with any of `labels`.
    pub fn denying_risk_labels(mut self, labels: Vec<String>) -> Recipient {
        self.deny_risk_labels = labels;
        self
    }

    /// Whether an asset carrying `labels` is visible to the recipient (labels compare
    /// case-insensitively).
    pub fn may_see(&self, labels: &[String]) -> bool {
        self.deny_risk_labels.is_empty()
            || !labels.iter().any(|l| self.deny_risk_labels.iter().any(|d| d.eq_ignore_ascii_case(l)))
    }

    /// Whether some assets may be hidden from the recipient by their risk labels.
    pub fn denies_risk_labels(&self) -> bool {
        !self.deny_risk_labels.is_empty()
    }

    /// Whether the recipient may read the share at `share_index`.
    pub fn can_read(&self, share_index: usize) -> bool {
        self.granted.binary_search(&share_index).is_ok()
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
    /// Token hash → (recipient index, token index).
    by_hash: HashMap<[u8; 32], (usize, usize), BuildHasherDefault<Prehashed>>,
}

impl Recipients {
    /// Indexes `list`. Returns the name of a recipient whose token hash repeats an earlier one.
    pub fn new(list: Vec<Recipient>) -> Result<Recipients, String> {
        let mut by_hash = HashMap::with_capacity_and_hasher(list.len(), BuildHasherDefault::default());
        for (i, r) in list.iter().enumerate() {
            for (j, token) in r.tokens.iter().enumerate() {
                if by_hash.insert(token.sha256, (i, j)).is_some() {
                    return Err(r.name.clone());
                }
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
        let &(i, j) = self.by_hash.get(hash).ok_or(AuthError::Unknown)?;
        let recipient = &self.list[i];
        let stored = &recipient.tokens[j];
        if !constant_time_eq(&stored.sha256, hash) {
            return Err(AuthError::Unknown);
        }
        if stored.expires_at_ms.is_some_and(|exp| now_ms >= exp) || recipient.expired(now_ms) {
            return Err(AuthError::Expired);
        }
        Ok(recipient)
    }
}

/// Extracts the token of `Bearer <token>` (scheme case-insensitive, RFC 6750).
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    // A byte search: a string searcher's set-up costs more than this short scheme.
    let space = value.bytes().position(|b| b == b' ')?;
    let (scheme, token) = (&value[..space], &value[space + 1..]);
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
    fn rotated_tokens_work_until_their_own_expiry() {
        let token = |t: &str, exp| TokenHash { sha256: token_sha256(t), expires_at_ms: exp };
        let r = Recipients::new(vec![Recipient::with_tokens(
            "a".into(),
            vec![token("new", None), token("old", Some(500))],
            Some(2000),
            HashSet::new(),
        )])
        .unwrap();
        assert_eq!(r.authenticate(Some("Bearer old"), 499).unwrap().name, "a");
        assert_eq!(r.authenticate(Some("Bearer old"), 500).unwrap_err(), AuthError::Expired);
        assert_eq!(r.authenticate(Some("Bearer new"), 1999).unwrap().name, "a");
        assert_eq!(r.authenticate(Some("Bearer new"), 2000).unwrap_err(), AuthError::Expired);
        let revoked = Recipients::new(vec![Recipient::with_tokens("a".into(), vec![], None, HashSet::new())]).unwrap();
        assert_eq!(revoked.authenticate(Some("Bearer new"), 0).unwrap_err(), AuthError::Unknown);
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
