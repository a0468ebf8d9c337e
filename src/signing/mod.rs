//! Pre-signed URL generation: S3 SigV4, GCS V4, Azure SAS and local HMAC URLs.
//!
//! Every signer here is pure: it takes key material and the current time, and returns URL
//! strings. Obtaining key material (STS, signBlob, user-delegation keys) is an IO need that the
//! host satisfies.

pub mod azure;
pub(crate) mod encode;
pub mod gcs;
pub mod local;
pub mod s3;
pub mod sigv4;
pub(crate) mod store;

/// Why a URL could not be signed. Messages never contain key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The lifetime is outside what the scheme allows.
    #[error("URL lifetime {0} s is outside 1..=604800")]
    InvalidExpiry(u32),
    /// The store's location settings are unusable.
    #[error("invalid storage location: {0}")]
    InvalidLocation(String),
    /// The key material is unusable.
    #[error("invalid signing key: {0}")]
    InvalidKey(String),
}
