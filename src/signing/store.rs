//! The URL signer of one store, whatever its scheme, and the batches that sign the URLs of one
//! response. A signer is built once per configuration, so its state (the S3 day key cache)
//! lives as long as the configuration.

use std::sync::Arc;

use time::OffsetDateTime;

use super::azure::{AzureBatch, AzureBlobPresigner};
use super::gcs::{GcsBatch, GcsPresigner};
use super::local::{LocalSigner, LocalStamp};
use super::s3::{S3Batch, S3Presigner};
use super::SigningError;

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
    /// Google Cloud Storage (V4 signed URLs).
    Gcs(Box<GcsPresigner>),
    /// Azure Blob Storage (service SAS).
    Azure(Box<AzureBlobPresigner>),
    /// A store whose configuration cannot sign URLs (e.g. Azure without an account key).
    Unsupported(String),
}

impl StoreSigner {
    /// Whether the store's configuration can sign URLs (`url` access).
    pub fn signs_urls(&self) -> bool {
        !matches!(self, StoreSigner::Unsupported(_))
    }

    /// Prepares to sign URLs at `now_ms` that stay valid for `ttl_seconds`. Signatures carry
    /// whole seconds, so the expiry counts from `now_ms` truncated to the second.
    pub fn batch(&self, now_ms: i64, ttl_seconds: u32) -> Result<UrlBatch, SigningError> {
        let expires_at_ms = (now_ms.div_euclid(1000) + i64::from(ttl_seconds)) * 1000;
        let now = OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
            .map_err(|_| SigningError::InvalidLocation("time out of range".into()))?;
        Ok(match self {
            StoreSigner::S3(p) => UrlBatch { expires_at_ms, kind: BatchKind::S3(Box::new(p.batch(now, ttl_seconds)?)) },
            StoreSigner::Gcs(p) => UrlBatch {
                expires_at_ms,
                kind: BatchKind::Gcs(Box::new(
                    p.batch(now, ttl_seconds).map_err(|e| SigningError::InvalidLocation(e.to_string()))?,
                )),
            },
            StoreSigner::Azure(p) => UrlBatch {
                expires_at_ms,
                kind: BatchKind::Azure(Box::new(
                    p.batch(now, ttl_seconds).map_err(|e| SigningError::InvalidLocation(e.to_string()))?,
                )),
            },
            StoreSigner::Local { store, base, signer } => {
                let base = base.clone().ok_or_else(|| {
                    SigningError::InvalidLocation(format!(
                        "store '{store}' is local: set `endpoint` in the configuration so its file URLs can be built"
                    ))
                })?;
                UrlBatch {
                    expires_at_ms,
                    kind: BatchKind::Local {
                        store: store.clone(),
                        base,
                        signer: signer.clone(),
                        stamp: LocalStamp::new(now_ms, ttl_seconds),
                    },
                }
            }
            StoreSigner::Unsupported(why) => return Err(SigningError::InvalidLocation(why.clone())),
        })
    }
}

enum BatchKind {
    S3(Box<S3Batch>),
    Gcs(Box<GcsBatch>),
    Azure(Box<AzureBatch>),
    Local { store: String, base: String, signer: Arc<LocalSigner>, stamp: LocalStamp },
}

/// URLs of one response: same signing time and expiry.
pub struct UrlBatch {
    /// When the URLs expire, Unix ms.
    pub expires_at_ms: i64,
    kind: BatchKind,
}

impl UrlBatch {
    /// Appends the signed GET URL of `key` and returns its signature when the scheme can put it
    /// into the same URL again ([`UrlBatch::assemble`]): S3 and local URLs.
    pub fn sign_keeping(&self, key: &str, out: &mut String) -> Result<Option<[u8; 32]>, SigningError> {
        Ok(match &self.kind {
            BatchKind::S3(batch) => Some(batch.presign_get_keeping(key, out)),
            BatchKind::Local { store, base, signer, stamp } => Some(signer.sign_into(out, base, store, key, stamp)),
            _ => {
                self.sign_into(key, out)?;
                None
            }
        })
    }

    /// Appends the URL of `key` with a signature [`UrlBatch::sign_keeping`] returned before.
    /// Returns `false` for schemes that cannot.
    pub fn assemble(&self, key: &str, signature: &[u8; 32], out: &mut String) -> bool {
        match &self.kind {
            BatchKind::S3(batch) => batch.assemble_get(key, signature, out),
            BatchKind::Local { store, base, signer, stamp } => signer.assemble(out, base, store, key, stamp, signature),
            _ => return false,
        }
        true
    }

    /// Appends the signed GET URL of object `key`. Fails only for keys a scheme refuses to
    /// sign (GCS and Azure refuse `.` and `..` segments, which URL clients would rewrite).
    pub fn sign_into(&self, key: &str, out: &mut String) -> Result<(), SigningError> {
        let refused = |e: &dyn std::fmt::Display| SigningError::InvalidLocation(e.to_string());
        match &self.kind {
            BatchKind::S3(batch) => batch.presign_get(key, out),
            BatchKind::Gcs(batch) => batch.presign_get(key, out).map_err(|e| refused(&e))?,
            BatchKind::Azure(batch) => batch.presign_get(key, out).map_err(|e| refused(&e))?,
            BatchKind::Local { store, base, signer, stamp } => {
                signer.sign_into(out, base, store, key, stamp);
            }
        }
        Ok(())
    }
}
