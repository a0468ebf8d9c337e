//! Validation of `oidc_issuers` and of the recipients' `oidc` identities.

use std::sync::Arc;

use super::config::{OidcIssuerConfig, RecipientConfig};
use super::ConfigError;
use crate::auth::jwk::Jwks;
use crate::auth::oidc::{allowed_url, Federation, Issuer};

/// Largest clock skew allowed on `exp` and `nbf`.
const MAX_LEEWAY_SECONDS: u32 = 600;

/// Builds the issuers, and indexes the recipients (by their position in `recipients`) that
/// sign in with them.
pub(super) fn build(issuers: &[OidcIssuerConfig], recipients: &[RecipientConfig]) -> Result<Federation, ConfigError> {
    let mut federation = Federation::default();
    for (i, config) in issuers.iter().enumerate() {
        let path = format!("oidc_issuers[{i}]");
        let issuer = build_issuer(&path, config)?;
        federation.add_issuer(issuer).ok_or_else(|| {
            ConfigError::new(format!("{path}.issuer"), format!("duplicate issuer '{}'", config.issuer))
        })?;
    }
    for (i, recipient) in recipients.iter().enumerate() {
        let Some(oidc) = &recipient.oidc else { continue };
        let path = format!("recipients[{i}].oidc");
        let issuer = federation.issuer_index(&oidc.issuer).ok_or_else(|| {
            ConfigError::new(format!("{path}.issuer"), format!("'{}' is not an issuer of oidc_issuers", oidc.issuer))
        })?;
        if oidc.subject.is_empty() {
            return Err(ConfigError::new(format!("{path}.subject"), "must not be empty"));
        }
        if let Some(name) =
            oidc.claims.keys().find(|k| matches!(k.as_str(), "" | "iss" | "sub" | "aud" | "exp" | "nbf"))
        {
            return Err(ConfigError::new(
                format!("{path}.claims"),
                format!("'{name}' cannot be listed: iss, sub, aud, exp and nbf are checked already"),
            ));
        }
        federation.add_subject(issuer, oidc.subject.clone(), oidc.claims.clone(), i);
    }
    Ok(federation)
}

fn build_issuer(path: &str, config: &OidcIssuerConfig) -> Result<Issuer, ConfigError> {
    allowed_url(&config.issuer).map_err(|e| ConfigError::new(format!("{path}.issuer"), e))?;
    if config.audiences.is_empty() || config.audiences.iter().any(String::is_empty) {
        return Err(ConfigError::new(format!("{path}.audiences"), "must list at least one non-empty audience"));
    }
    if config.leeway_seconds > MAX_LEEWAY_SECONDS {
        return Err(ConfigError::new(format!("{path}.leeway_seconds"), format!("must be 0 to {MAX_LEEWAY_SECONDS}")));
    }
    if let Some(uri) = &config.jwks_uri {
        allowed_url(uri).map_err(|e| ConfigError::new(format!("{path}.jwks_uri"), e))?;
    }
    let inline = match &config.jwks {
        None => None,
        Some(_) if config.jwks_uri.is_some() => {
            return Err(ConfigError::new(path, "give jwks_uri or jwks, not both"));
        }
        Some(doc) => {
            let jwks = Jwks::from_value(doc).map_err(|e| ConfigError::new(format!("{path}.jwks"), e))?;
            if jwks.is_empty() {
                return Err(ConfigError::new(format!("{path}.jwks"), "holds no usable signing key"));
            }
            Some(Arc::new(jwks))
        }
    };
    Ok(Issuer {
        issuer: config.issuer.clone(),
        audiences: config.audiences.clone(),
        jwks_uri: config.jwks_uri.clone(),
        inline,
        leeway_seconds: i64::from(config.leeway_seconds),
    })
}
