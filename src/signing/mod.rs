//! Pre-signed URL generation: S3 SigV4, GCS V4, Azure SAS and local HMAC URLs.
//!
//! Every signer here is pure: it takes key material and the current time, and returns URL
//! strings. Obtaining key material (STS, signBlob, user-delegation keys) is an IO need that the
//! host satisfies.

pub mod azure;
pub mod encode;
pub mod gcs;
