//! Federated recipients: a JWT from an OpenID provider authenticates as the recipient whose
//! `oidc` issuer, subject and claims it matches.
//!
//! `identify` checks a token against the catalog and the caches. It needs IO only when the
//! issuer's key set is not cached (or the token names a key the cached set lacks); it then
//! hands back a `JwksFetch` that the caller drives with the host's `Http` need, records with
//! `OidcState::fetched`, and calls `identify` again.

mod cache;
mod fetch;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

pub(crate) use cache::{KeyCache, TokenCache, Verified};
pub(crate) use fetch::{FetchStep, Fetched, JwksFetch};

use self::cache::KeysDecision;
use super::jwk::Jwks;
use super::jwt::{looks_like_jwt, Jwt};

/// A configured OpenID provider.
#[derive(Debug)]
pub struct Issuer {
    /// The `iss` value, exactly.
    pub issuer: String,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
    /// Where the keys are, when not found by discovery.
    pub jwks_uri: Option<String>,
    /// Keys given in the configuration: never fetched.
    pub inline: Option<Arc<Jwks>>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_seconds: i64,
}

/// A recipient's federated identity.
#[derive(Debug)]
struct Subject {
    recipient: usize,
    claims: BTreeMap<String, String>,
}

/// The issuers and the recipients they authenticate.
#[derive(Debug, Default)]
pub struct Federation {
    issuers: Vec<Issuer>,
    by_issuer: HashMap<String, usize>,
    subjects: HashMap<(usize, String), Vec<Subject>>,
}

impl Federation {
    /// Adds an issuer; returns its index, or `None` when it is already there.
    pub fn add_issuer(&mut self, issuer: Issuer) -> Option<usize> {
        let index = self.issuers.len();
        if self.by_issuer.insert(issuer.issuer.clone(), index).is_some() {
            return None;
        }
        self.issuers.push(issuer);
        Some(index)
    }

    /// The index of the issuer whose `iss` is `issuer`.
    pub fn issuer_index(&self, issuer: &str) -> Option<usize> {
        self.by_issuer.get(issuer).copied()
    }

    /// Lets tokens from `issuer` with `subject` and `claims` authenticate as recipient
    /// `recipient` (an index into the catalog's recipients).
    pub fn add_subject(&mut self, issuer: usize, subject: String, claims: BTreeMap<String, String>, recipient: usize) {
        self.subjects.entry((issuer, subject)).or_default().push(Subject { recipient, claims });
    }

    /// Whether any issuer is configured (if none, JWTs are never looked at).
    pub fn is_enabled(&self) -> bool {
        !self.issuers.is_empty()
    }
}

/// Checks that `url` is an `https` URL, or `http` on a loopback host (a test IdP).
pub(crate) fn allowed_url(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err("has no host".into()),
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err("must be https (plain http only on a loopback host)".into()),
    }
}

/// The engine's OIDC caches for one configuration.
#[derive(Default)]
pub(crate) struct OidcState {
    keys: KeyCache,
    tokens: TokenCache,
}

impl std::fmt::Debug for OidcState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcState").finish_non_exhaustive()
    }
}

impl OidcState {
    /// Records the end of a fetch of `issuer`'s keys at `now_ms`.
    pub fn fetched(&self, issuer: usize, result: Result<Fetched, String>, now_ms: i64) -> Result<(), String> {
        match result {
            Ok(f) => {
                self.keys.fetched(issuer, Some((f.jwks, f.max_age_seconds, f.jwks_uri)), now_ms);
                Ok(())
            }
            Err(e) => {
                self.keys.fetched(issuer, None, now_ms);
                Err(e)
            }
        }
    }
}

/// Why a JWT was refused: for the audit event, never for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub reason: String,
    /// The token's `iss` and `sub` as claimed, when it parsed.
    pub claimed: Option<(String, String)>,
}

/// What [`identify`] found.
pub(crate) enum Verdict {
    /// The token authenticates this recipient.
    Verified(Verified),
    /// The token is refused.
    Refused(Refusal),
    /// The issuer's keys must be fetched first (issuer index, fetch).
    Fetch(usize, JwksFetch),
}

/// Identifies a bearer token that matched no opaque token, at `now_ms`. `hash` is its SHA-256,
/// the key of the verified-token cache, which is looked at first; a token not shaped like a JWT
/// goes no further.
///
/// The claims are checked before the signature (issuer, time, audience, a matching recipient),
/// so a token that could never pass costs no key fetch.
pub(crate) fn identify(
    federation: &Federation,
    state: &OidcState,
    token: &str,
    hash: &[u8; 32],
    now_ms: i64,
) -> Verdict {
    if let Some(verified) = state.tokens.get(hash, now_ms) {
        return Verdict::Verified(verified);
    }
    if !looks_like_jwt(token) {
        return Verdict::Refused(Refusal { reason: "token matches no recipient".into(), claimed: None });
    }
    let jwt = match Jwt::parse(token) {
        Ok(jwt) => jwt,
        Err(e) => return Verdict::Refused(Refusal { reason: e.reason(), claimed: None }),
    };
    let refuse =
        |reason: String| Verdict::Refused(Refusal { reason, claimed: Some((jwt.iss.clone(), jwt.sub.clone())) });
    let Some(index) = federation.issuer_index(&jwt.iss) else {
        return refuse("unknown issuer".into());
    };
    let issuer = &federation.issuers[index];
    let now_s = now_ms.div_euclid(1000);
    if now_s >= jwt.exp.saturating_add(issuer.leeway_seconds) {
        return refuse(format!("token expired (exp {})", jwt.exp));
    }
    if jwt.nbf.is_some_and(|nbf| now_s.saturating_add(issuer.leeway_seconds) < nbf) {
        return refuse("token not yet valid (nbf)".into());
    }
    if !jwt.has_audience(&issuer.audiences) {
        return refuse("audience not accepted".into());
    }
    let recipient = federation
        .subjects
        .get(&(index, jwt.sub.clone()))
        .and_then(|list| list.iter().find(|s| s.claims.iter().all(|(name, value)| jwt.has_claim(name, value))));
    let Some(recipient) = recipient.map(|s| s.recipient) else {
        return refuse("no recipient has this issuer, subject and claims".into());
    };
    let keys = match &issuer.inline {
        Some(keys) => keys.clone(),
        None => match state.keys.decide(index, jwt.kid.as_deref(), now_ms) {
            KeysDecision::Use(keys) => keys,
            KeysDecision::Refuse(reason) => return refuse(reason.into()),
            KeysDecision::Fetch(uri) => {
                let uri = uri.or_else(|| issuer.jwks_uri.clone());
                return Verdict::Fetch(index, JwksFetch::new(&issuer.issuer, uri.as_deref()));
            }
        },
    };
    let mut candidates = keys.candidates(jwt.kid.as_deref(), jwt.alg).peekable();
    if candidates.peek().is_none() {
        return refuse(match jwt.kid.as_deref() {
            Some(kid) if keys.has_kid(kid) => format!("key {kid:?} does not fit algorithm {}", jwt.alg.name()),
            Some(kid) => format!("unknown kid {kid:?}"),
            None => format!("no key fits algorithm {}", jwt.alg.name()),
        });
    }
    if !candidates.any(|key| jwt.verify(key).is_ok()) {
        return refuse("signature does not verify".into());
    }
    let verified = Verified {
        recipient,
        iss: jwt.iss.clone(),
        sub: jwt.sub.clone(),
        valid_until_ms: jwt.exp.saturating_add(issuer.leeway_seconds).saturating_mul(1000),
    };
    state.tokens.put(*hash, verified.clone(), now_ms);
    Verdict::Verified(verified)
}
