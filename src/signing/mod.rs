//! Pre-signed URL generation: S3 SigV4, GCS V4, Azure SAS and local HMAC URLs.
