//! One signer per configured store, built when a catalog is loaded, so per-store state (the S3
//! day key cache) lives as long as the configuration.

use std::sync::Arc;

use time::OffsetDateTime;

use super::local::LocalSigner;
use super::s3::{S3Batch, S3Location, S3Presigner};
use super::sigv4::Credentials;
use super::SigningError;
use crate::catalog::StoreConfig;

/// Signs GET URLs for the objects of one store.
#[derive(Debug)]
pub enum StoreSigner {
    /// S3-compatible.
    S3(Box<S3Presigner>),
    /// A local store served by the host under `{endpoint}/files/{store}/…`.
    Local {
        /// The store name.
        store: String,
        /// The public protocol URL (`endpoint`), without a trailing `/`; URLs cannot be built
        /// without it.
        base: Option<String>,
        /// The engine's local URL signer.
        signer: Arc<LocalSigner>,
    },
    /// A store kind this build cannot sign URLs for yet.
    Unsupported(&'static str),
}

impl StoreSigner {
    /// Builds the signer of store `name`.
    pub fn new(
        name: &str,
        config: &StoreConfig,
        endpoint: Option<&str>,
        local: &Arc<LocalSigner>,
    ) -> Result<StoreSigner, SigningError> {
        Ok(match config {
            StoreConfig::S3(s3) => {
                let location = S3Location::new(&s3.bucket, &s3.region, s3.endpoint.as_deref(), s3.path_style)?;
                let credentials = Credentials {
                    access_key_id: s3.access_key_id.expose().to_string(),
                    secret_access_key: s3.secret_access_key.expose().to_string(),
                    session_token: s3.session_token.as_ref().map(|t| t.expose().to_string()),
                };
                StoreSigner::S3(Box::new(S3Presigner::new(location, credentials)))
            }
            StoreConfig::Local(_) => StoreSigner::Local {
                store: name.to_string(),
                base: endpoint.map(|e| e.trim_end_matches('/').to_string()),
                signer: local.clone(),
            },
            StoreConfig::Gcs(_) => StoreSigner::Unsupported("gcs"),
            StoreConfig::Azure(_) => StoreSigner::Unsupported("azure"),
        })
    }

    /// Prepares to sign URLs at `now_ms` that stay valid for `ttl_seconds`. Signatures carry
    /// whole seconds, so the expiry counts from `now_ms` truncated to the second.
    pub fn batch(&self, now_ms: i64, ttl_seconds: u32) -> Result<UrlBatch, SigningError> {
        let expires_at_ms = (now_ms.div_euclid(1000) + i64::from(ttl_seconds)) * 1000;
        Ok(match self {
            StoreSigner::S3(p) => {
                let now = OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
                    .map_err(|_| SigningError::InvalidLocation("time out of range".into()))?;
                UrlBatch { expires_at_ms, kind: BatchKind::S3(Box::new(p.batch(now, ttl_seconds)?)) }
            }
            StoreSigner::Local { store, base, signer } => {
                let base = base.clone().ok_or_else(|| {
                    SigningError::InvalidLocation(format!(
                        "store '{store}' is local: set `endpoint` in the configuration so its file URLs can be built"
                    ))
                })?;
                UrlBatch {
                    expires_at_ms,
                    kind: BatchKind::Local { store: store.clone(), base, signer: signer.clone(), now_ms, ttl_seconds },
                }
            }
            StoreSigner::Unsupported(kind) => {
                return Err(SigningError::InvalidLocation(format!("signing URLs for {kind} stores is not available")))
            }
        })
    }
}

enum BatchKind {
    S3(Box<S3Batch>),
    Local { store: String, base: String, signer: Arc<LocalSigner>, now_ms: i64, ttl_seconds: u32 },
}

/// URLs of one response: same signing time and expiry.
pub struct UrlBatch {
    /// When the URLs expire, Unix ms.
    pub expires_at_ms: i64,
    kind: BatchKind,
}

impl UrlBatch {
    /// Appends the signed GET URL of object `key`.
    pub fn sign_into(&self, key: &str, out: &mut String) {
        match &self.kind {
            BatchKind::S3(batch) => batch.presign_get(key, out),
            BatchKind::Local { store, base, signer, now_ms, ttl_seconds } => {
                signer.sign_into(out, base, store, key, *now_ms, *ttl_seconds)
            }
        }
    }
}
