//! Validation of the access settings of recipients: their bearer tokens (one legacy
//! `token_sha256` and rotated `tokens`), IP access lists, rate limits, and the trusted proxies.

use super::config::{RateLimitConfig, RecipientConfig};
use super::ConfigError;
use crate::auth::{IpNet, RateLimit, TokenHash};
use crate::protocol::timestamp::parse_rfc3339_ms;

/// The most requests per second or burst a rate limit may name.
const MAX_RATE: f64 = 1_000_000.0;

/// Every bearer token of recipient `r` (at `path`): `token_sha256` first, then `tokens`.
/// `None` when it has neither field.
pub(super) fn tokens(path: &str, r: &RecipientConfig) -> Result<Option<Vec<TokenHash>>, ConfigError> {
    let mut out = Vec::new();
    if let Some(hex) = &r.token_sha256 {
        out.push(TokenHash { sha256: sha256(&format!("{path}.token_sha256"), hex)?, expires_at_ms: None });
    }
    for (i, token) in r.tokens.iter().flatten().enumerate() {
        let path = format!("{path}.tokens[{i}]");
        let expires_at_ms = match &token.expires_at {
            Some(ts) => Some(parse_rfc3339_ms(ts).ok_or_else(|| {
                ConfigError::new(format!("{path}.expires_at"), format!("'{ts}' is not an RFC 3339 timestamp"))
            })?),
            None => None,
        };
        out.push(TokenHash { sha256: sha256(&format!("{path}.sha256"), &token.sha256)?, expires_at_ms });
    }
    Ok((r.token_sha256.is_some() || r.tokens.is_some()).then_some(out))
}

fn sha256(path: &str, hex: &str) -> Result<[u8; 32], ConfigError> {
    crate::util::parse_hex_32(hex)
        .ok_or_else(|| ConfigError::new(path, "must be 64 hex digits (the SHA-256 of the token)"))
}

/// Parses a list of CIDR networks at `path`.
pub(super) fn networks(path: &str, list: &[String]) -> Result<Vec<IpNet>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, text)| {
            IpNet::parse(text).ok_or_else(|| {
                ConfigError::new(format!("{path}[{i}]"), format!("'{text}' is not an IP network (e.g. 203.0.113.0/24)"))
            })
        })
        .collect()
}

/// Checks a rate limit at `path`.
pub(super) fn rate_limit(path: &str, config: Option<&RateLimitConfig>) -> Result<Option<RateLimit>, ConfigError> {
    let Some(config) = config else { return Ok(None) };
    let rps = config.requests_per_second;
    if !(rps > 0.0 && rps <= MAX_RATE) {
        return Err(ConfigError::new(format!("{path}.requests_per_second"), "must be above 0 and at most 1000000"));
    }
    let burst = match config.burst {
        Some(b) if b == 0 || f64::from(b) > MAX_RATE => {
            return Err(ConfigError::new(format!("{path}.burst"), "must be 1 to 1000000"))
        }
        Some(b) => b,
        None => rps.ceil() as u32,
    };
    Ok(Some(RateLimit { requests_per_second: rps, burst }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_rate_limits() {
        let limit = |rps, burst| rate_limit("r", Some(&RateLimitConfig { requests_per_second: rps, burst }));
        assert_eq!(limit(2.5, None).unwrap(), Some(RateLimit { requests_per_second: 2.5, burst: 3 }));
        assert_eq!(limit(0.1, None).unwrap(), Some(RateLimit { requests_per_second: 0.1, burst: 1 }));
        assert_eq!(limit(5.0, Some(20)).unwrap(), Some(RateLimit { requests_per_second: 5.0, burst: 20 }));
        for (rps, burst) in [(0.0, None), (-1.0, None), (f64::NAN, None), (2e6, None), (1.0, Some(0))] {
            assert!(limit(rps, burst).is_err(), "{rps} {burst:?}");
        }
    }

    #[test]
    fn parses_token_hashes() {
        assert!(sha256("p", &"ab".repeat(32)).is_ok());
        for bad in ["", "ab", &"zz".repeat(32), &"+1".repeat(32), &"é".repeat(32)] {
            assert!(sha256("p", bad).is_err(), "{bad}");
        }
    }
}
