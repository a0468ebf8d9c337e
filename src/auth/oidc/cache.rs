//! What the engine remembers between requests, for one configuration: each issuer's key set,
//! and the tokens already verified. Both are dropped on reload.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::auth::jwk::Jwks;

/// Shortest and longest time a fetched key set is used, whatever `Cache-Control` says.
const MIN_KEYS_TTL_MS: i64 = 5 * 60 * 1000;
const MAX_KEYS_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// Key set lifetime when the reply has no `max-age`.
const DEFAULT_KEYS_TTL_MS: i64 = 60 * 60 * 1000;
/// Fetches of one issuer's keys are at least this far apart (after the first).
pub(crate) const REFETCH_INTERVAL_MS: i64 = 60 * 1000;
/// Most verified tokens kept.
const MAX_TOKENS: usize = 4096;

/// What to do for a token whose issuer has no inline keys.
pub(crate) enum KeysDecision {
    /// Verify with these keys.
    Use(Arc<Jwks>),
    /// Fetch the keys (from this `jwks_uri`, when one was discovered before).
    Fetch(Option<String>),
    /// Refuse the token, for this reason.
    Refuse(&'static str),
}

#[derive(Default)]
struct IssuerKeys {
    keys: Option<Arc<Jwks>>,
    fresh_until_ms: i64,
    /// When the last fetch ended (with keys or without).
    last_fetch_ms: Option<i64>,
    jwks_uri: Option<String>,
}

/// Key sets by issuer index.
#[derive(Default)]
pub(crate) struct KeyCache {
    issuers: Mutex<HashMap<usize, IssuerKeys>>,
}

impl KeyCache {
    /// Whether the cached keys of `issuer` serve a token with `kid` at `now_ms`, or a fetch is
    /// due. An unknown `kid` fetches at most once a [`REFETCH_INTERVAL_MS`], and so does an
    /// issuer whose last fetch failed; until then stale keys are still used.
    pub fn decide(&self, issuer: usize, kid: Option<&str>, now_ms: i64) -> KeysDecision {
        let issuers = self.issuers.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = issuers.get(&issuer) else {
            return KeysDecision::Fetch(None);
        };
        let may_fetch = entry.last_fetch_ms.is_none_or(|t| now_ms - t >= REFETCH_INTERVAL_MS);
        let known = |keys: &Jwks| kid.is_none_or(|kid| keys.has_kid(kid));
        match &entry.keys {
            Some(keys) if now_ms < entry.fresh_until_ms && known(keys) => KeysDecision::Use(keys.clone()),
            _ if may_fetch => KeysDecision::Fetch(entry.jwks_uri.clone()),
            Some(keys) if known(keys) => KeysDecision::Use(keys.clone()),
            Some(_) => KeysDecision::Refuse("unknown kid (the JWKS was fetched less than a minute ago)"),
            None => KeysDecision::Refuse("JWKS unavailable (its last fetch, less than a minute ago, failed)"),
        }
    }

    /// Records a fetch that ended at `now_ms`: new keys for `max_age_seconds` (clamped to
    /// 5 minutes … 24 hours), or a failure that keeps the old keys.
    pub fn fetched(&self, issuer: usize, keys: Option<(Jwks, Option<u64>, String)>, now_ms: i64) {
        let mut issuers = self.issuers.lock().unwrap_or_else(|e| e.into_inner());
        let entry = issuers.entry(issuer).or_default();
        entry.last_fetch_ms = Some(now_ms);
        if let Some((jwks, max_age_seconds, jwks_uri)) = keys {
            let ttl_ms =
                max_age_seconds.map_or(DEFAULT_KEYS_TTL_MS, |s| s.saturating_mul(1000).min(i64::MAX as u64) as i64);
            entry.keys = Some(Arc::new(jwks));
            entry.fresh_until_ms = now_ms.saturating_add(ttl_ms.clamp(MIN_KEYS_TTL_MS, MAX_KEYS_TTL_MS));
            entry.jwks_uri = Some(jwks_uri);
        }
    }
}

/// A verified token: who it authenticates, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verified {
    /// Index of the recipient in the catalog.
    pub recipient: usize,
    /// The token's `iss`.
    pub iss: String,
    /// The token's `sub`.
    pub sub: String,
    /// `exp` plus the issuer's leeway, Unix milliseconds.
    pub valid_until_ms: i64,
}

/// Verified tokens by the SHA-256 of the token.
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<[u8; 32], Verified>>,
}

impl TokenCache {
    /// The identity of a token verified before, while it is still valid.
    pub fn get(&self, hash: &[u8; 32], now_ms: i64) -> Option<Verified> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.get(hash).filter(|v| now_ms < v.valid_until_ms).cloned()
    }

    /// Keeps a verified token. When full, expired tokens go first, then the one that expires
    /// soonest.
    pub fn put(&self, hash: [u8; 32], verified: Verified, now_ms: i64) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.len() >= MAX_TOKENS {
            tokens.retain(|_, v| now_ms < v.valid_until_ms);
        }
        if tokens.len() >= MAX_TOKENS {
            if let Some(soonest) = tokens.iter().min_by_key(|(_, v)| v.valid_until_ms).map(|(k, _)| *k) {
                tokens.remove(&soonest);
            }
        }
        tokens.insert(hash, verified);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwks() -> Jwks {
        Jwks::parse(
            br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
        )
        .unwrap()
    }

    fn decision(cache: &KeyCache, kid: &str, now_ms: i64) -> &'static str {
        match cache.decide(0, Some(kid), now_ms) {
            KeysDecision::Use(_) => "use",
            KeysDecision::Fetch(_) => "fetch",
            KeysDecision::Refuse(_) => "refuse",
        }
    }

    #[test]
    fn unknown_kids_refetch_once_a_minute() {
        let cache = KeyCache::default();
        assert_eq!(decision(&cache, "a", 0), "fetch");
        cache.fetched(0, Some((jwks(), Some(10), "https://k".into())), 0);
        assert_eq!(decision(&cache, "a", 1), "use");
        assert_eq!(decision(&cache, "b", 1), "refuse");
        assert_eq!(decision(&cache, "b", REFETCH_INTERVAL_MS), "fetch");
        // max-age 10 s is raised to 5 minutes.
        assert_eq!(decision(&cache, "a", MIN_KEYS_TTL_MS - 1), "use");
        assert_eq!(decision(&cache, "a", MIN_KEYS_TTL_MS), "fetch");
        // A failed refetch keeps the stale keys for a minute.
        cache.fetched(0, None, MIN_KEYS_TTL_MS);
        assert_eq!(decision(&cache, "a", MIN_KEYS_TTL_MS + 1), "use");
        assert_eq!(decision(&cache, "b", MIN_KEYS_TTL_MS + 1), "refuse");
        let failed = KeyCache::default();
        failed.fetched(0, None, 0);
        assert_eq!(decision(&failed, "a", 1), "refuse");
        assert_eq!(decision(&failed, "a", REFETCH_INTERVAL_MS), "fetch");
    }

    #[test]
    fn clamps_max_age() {
        let cache = KeyCache::default();
        cache.fetched(0, Some((jwks(), Some(u64::MAX), "https://k".into())), 0);
        assert_eq!(decision(&cache, "a", MAX_KEYS_TTL_MS - 1), "use");
        assert_eq!(decision(&cache, "a", MAX_KEYS_TTL_MS), "fetch");
    }

    #[test]
    fn token_cache_honours_expiry_and_bounds() {
        let cache = TokenCache::default();
        let v = |until| Verified { recipient: 0, iss: "i".into(), sub: "s".into(), valid_until_ms: until };
        cache.put([1; 32], v(100), 0);
        assert_eq!(cache.get(&[1; 32], 99), Some(v(100)));
        assert_eq!(cache.get(&[1; 32], 100), None);
        for i in 0..MAX_TOKENS + 10 {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.put(k, v(1000 + i as i64), 0);
        }
        assert!(cache.tokens.lock().unwrap().len() <= MAX_TOKENS);
    }
}
