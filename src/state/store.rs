//! The state of one configured store: its keys, parsed once when the configuration is loaded,
//! and what uses them, the URL signer and the credential vendor.

use std::sync::Arc;

use crate::catalog::config::S3StoreConfig;
use crate::catalog::StoreConfig;
use crate::signing::azure::{AzureBlobPresigner, BlobEndpoint, SasSigner};
use crate::signing::gcs::{
    GcsCredentials, GcsError, GcsLocation, GcsPresigner, GcsUrlStyle, HmacKey, ServiceAccountKey,
};
use crate::signing::local::LocalSigner;
use crate::signing::s3::{S3Location, S3Presigner};
use crate::signing::sigv4::Credentials;
use crate::signing::store::StoreSigner;
use crate::signing::SigningError;
use crate::vend::Vendor;

/// One store's URL signer and credential vendor, sharing its parsed keys.
#[derive(Debug)]
pub(crate) struct Store {
    /// Signs the URLs of its objects (`url` access).
    pub signer: StoreSigner,
    /// Vends credentials for its prefixes (`dir` access).
    pub vendor: Vendor,
}

impl Store {
    /// The state of store `name`. `endpoint` is the public protocol URL that local stores' file
    /// URLs start with; `local` signs those URLs. Fails when the store's keys or location are
    /// unusable.
    pub fn new(
        name: &str,
        config: &StoreConfig,
        endpoint: Option<&str>,
        local: &Arc<LocalSigner>,
    ) -> Result<Store, SigningError> {
        Ok(match config {
            StoreConfig::S3(s3) => {
                let location = S3Location::new(&s3.bucket, &s3.region, s3.endpoint.as_deref(), s3.path_style)?;
                let credentials = s3_credentials(s3);
                let vendor = Vendor::s3(s3, &credentials);
                Store { signer: StoreSigner::S3(Box::new(S3Presigner::new(location, credentials))), vendor }
            }
            StoreConfig::Local(_) => Store {
                signer: StoreSigner::Local {
                    store: name.to_string(),
                    // The parsed form: percent-encoded, so URLs built on it need no JSON escaping.
                    base: endpoint
                        .and_then(|e| url::Url::parse(e).ok())
                        .map(|u| u.as_str().trim_end_matches('/').to_string()),
                    signer: local.clone(),
                },
                vendor: Vendor::None,
            },
            StoreConfig::Gcs(gcs) => {
                let invalid = |e: GcsError| SigningError::InvalidKey(e.to_string());
                let key = match &gcs.service_account_key {
                    Some(json) => Some(Arc::new(ServiceAccountKey::from_json(json.expose()).map_err(invalid)?)),
                    None => None,
                };
                let credentials = match (&key, &gcs.hmac_access_id, &gcs.hmac_secret) {
                    (Some(key), _, _) => Some(GcsCredentials::ServiceAccount(key.clone())),
                    (None, Some(id), Some(secret)) => {
                        Some(GcsCredentials::Hmac(HmacKey::new(id.expose(), secret.expose()).map_err(invalid)?))
                    }
                    _ => None,
                };
                let vendor = Vendor::gcs(gcs, key.as_ref());
                let signer = match credentials {
                    Some(credentials) => {
                        let location = GcsLocation::new(&gcs.bucket, gcs.endpoint.as_deref(), GcsUrlStyle::PathStyle)
                            .map_err(|e| SigningError::InvalidLocation(e.to_string()))?;
                        StoreSigner::Gcs(Box::new(GcsPresigner::new(location, credentials)))
                    }
                    None => StoreSigner::Unsupported(format!("store '{name}' has no GCS signing key")),
                };
                Store { signer, vendor }
            }
            StoreConfig::Azure(az) => {
                let Some(key) = &az.account_key else {
                    return Ok(Store {
                        signer: StoreSigner::Unsupported(format!(
                            "store '{name}' has no account key to sign SAS URLs with"
                        )),
                        vendor: Vendor::azure(az, None),
                    });
                };
                let sas = SasSigner::with_account_key(&az.account, key.expose())
                    .map_err(|e| SigningError::InvalidKey(e.to_string()))?;
                let vendor = Vendor::azure(az, Some(&sas));
                let endpoint = match &az.endpoint {
                    Some(e) => BlobEndpoint::parse(e).map_err(|e| SigningError::InvalidLocation(e.to_string()))?,
                    None => BlobEndpoint::for_account(&az.account),
                };
                let presigner = AzureBlobPresigner::new(endpoint, sas, &az.container)
                    .map_err(|e| SigningError::InvalidLocation(e.to_string()))?;
                Store { signer: StoreSigner::Azure(Box::new(presigner)), vendor }
            }
        })
    }
}

/// The keys an S3 store is configured with.
fn s3_credentials(s3: &S3StoreConfig) -> Credentials {
    Credentials {
        access_key_id: s3.access_key_id.expose().to_string(),
        secret_access_key: s3.secret_access_key.expose().to_string(),
        session_token: s3.session_token.as_ref().map(|t| t.expose().to_string()),
    }
}
