//! Temporary credentials for `dir` access: a recipient gets read-only credentials scoped to one
//! asset's prefix and reads the storage directly.
//!
//! Static keys and Azure SAS tokens are computed at once. AWS STS and Google's token exchange are
//! HTTPS calls that the engine builds and signs and the host sends ([`IoNeed::Http`]), so the
//! core stays sans-IO.
//!
//! [`IoNeed::Http`]: crate::exchange::IoNeed::Http

mod azure;
mod cache;
pub(crate) mod gcp;
mod obtain;
mod policy;
mod reply;
pub(crate) mod sts;

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::catalog::config::{
    AssetConfig, AssetKind, AzureStoreConfig, GcsStoreConfig, S3StoreConfig, S3Vending, StoreConfig,
};
use crate::exchange::{HttpCall, HttpReply};
use crate::signing::azure::SasSigner;
use crate::signing::encode::uri_encode_into;
use crate::signing::gcs::ServiceAccountKey;
use crate::signing::sigv4::Credentials;

pub(crate) use cache::CredentialCache;
pub(crate) use obtain::{obtain, Obtain, PendingGrant, Progress};

/// What the credentials must cover.
pub(crate) struct VendTarget<'a> {
    /// How the store vends.
    pub vendor: &'a Vendor,
    /// The asset's key prefix in the store, without leading or trailing `/`.
    pub prefix: &'a str,
    /// The recipient, named in the provider's audit trail (STS session name).
    pub recipient: &'a str,
    /// Lifetime asked for, in seconds.
    pub ttl_seconds: u32,
    /// Now, Unix milliseconds.
    pub now_ms: i64,
}

/// Credentials in one of the protocol's shapes.
#[derive(Clone)]
pub(crate) enum Credential {
    /// `awsTempCredentials`, or `r2Credentials` for Cloudflare R2.
    Aws { access_key_id: String, secret_access_key: String, session_token: Option<String>, r2: bool },
    /// `azureUserDelegationSas`: a SAS query string.
    AzureSas(String),
    /// `gcpOauthToken`.
    GcpToken(String),
}

/// Credentials and when they stop working.
#[derive(Clone)]
pub(crate) struct Grant {
    pub credential: Credential,
    /// Unix milliseconds.
    pub expires_at_ms: i64,
}

impl Grant {
    /// The protocol's `TemporaryCredentials` fields: the credential object and `expirationTime`.
    pub fn fields(&self) -> Map<String, Value> {
        let (name, value) = match &self.credential {
            Credential::Aws { access_key_id, secret_access_key, session_token, r2 } => {
                let mut keys = json!({"accessKeyId": access_key_id, "secretAccessKey": secret_access_key});
                if let Some(token) = session_token {
                    keys["sessionToken"] = json!(token);
                }
                (if *r2 { "r2Credentials" } else { "awsTempCredentials" }, keys)
            }
            Credential::AzureSas(sas) => ("azureUserDelegationSas", json!({"sasToken": sas})),
            Credential::GcpToken(token) => ("gcpOauthToken", json!({"oauthToken": token})),
        };
        let mut fields = Map::new();
        fields.insert(name.into(), value);
        fields.insert("expirationTime".into(), json!(self.expires_at_ms));
        fields
    }
}

/// Why no credentials could be vended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VendError {
    /// The store does not vend credentials.
    #[error("{0}")]
    NotVended(String),
    /// The provider refused or could not be reached; the detail is for the provider's log.
    #[error("the storage provider did not issue credentials ({summary})")]
    Provider {
        /// Safe to show to the recipient (an error code).
        summary: String,
        /// For the provider's log; never holds key material.
        detail: String,
    },
    /// The configuration cannot produce credentials (bad key, policy too long).
    #[error("{0}")]
    Config(String),
}

impl VendError {
    fn provider(summary: impl Into<String>, detail: impl Into<String>) -> VendError {
        VendError::Provider { summary: summary.into(), detail: detail.into() }
    }
}

/// A vend in progress: it asks for HTTPS calls until it has a grant.
pub(crate) trait Flow: Send {
    /// The next call, or the grant. `reply` answers the previous call (`None` at first).
    fn advance(&mut self, reply: Option<HttpReply>) -> Result<FlowStep, VendError>;
}

/// The next step of a [`Flow`].
pub(crate) enum FlowStep {
    Call(HttpCall),
    Done(Grant),
}

/// How a vend starts.
pub(crate) enum Start {
    /// Credentials computed without IO.
    Ready(Grant),
    /// Credentials that need HTTPS calls.
    Flow(Box<dyn Flow>),
}

/// How one store vends credentials, built once per configuration with the keys its URL signer
/// parsed, so a vend parses no key.
pub(crate) enum Vendor {
    /// The store vends none: its assets are `url`-only.
    None,
    /// Fixed S3 keys, handed out as configured.
    Static(Credential),
    /// AWS STS `AssumeRole`, signed with the store's keys.
    Sts(Box<sts::StsVendor>),
    /// A service SAS signed with the account key.
    Azure(Box<azure::SasVendor>),
    /// Google's downscoped tokens, from the service account's key.
    Gcs(Box<gcp::GcsVendor>),
    /// Vending is configured but its settings cannot produce credentials: every vend fails with
    /// this configuration error.
    Unusable(String),
}

impl std::fmt::Debug for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The variants hold keys: only the kind is shown.
        f.write_str(match self {
            Vendor::None => "Vendor::None",
            Vendor::Static(_) => "Vendor::Static",
            Vendor::Sts(_) => "Vendor::Sts",
            Vendor::Azure(_) => "Vendor::Azure",
            Vendor::Gcs(_) => "Vendor::Gcs",
            Vendor::Unusable(_) => "Vendor::Unusable",
        })
    }
}

impl Vendor {
    /// How S3 store `s3`, whose keys are `credentials`, vends.
    pub fn s3(s3: &S3StoreConfig, credentials: &Credentials) -> Vendor {
        match &s3.vend {
            None => Vendor::None,
            Some(S3Vending::Static(keys)) => Vendor::Static(Credential::Aws {
                access_key_id: keys.access_key_id.expose().into(),
                secret_access_key: keys.secret_access_key.expose().into(),
                session_token: keys.session_token.as_ref().map(|t| t.expose().into()),
                r2: is_r2(s3.endpoint.as_deref()),
            }),
            Some(S3Vending::Sts(config)) => {
                Vendor::usable(sts::StsVendor::new(s3, config, credentials).map(|v| Vendor::Sts(Box::new(v))))
            }
        }
    }

    /// How GCS store `gcs` vends, with its service account key `key` (parsed once).
    pub fn gcs(gcs: &GcsStoreConfig, key: Option<&Arc<ServiceAccountKey>>) -> Vendor {
        match &gcs.vend {
            None => Vendor::None,
            Some(vend) => Vendor::usable(gcp::GcsVendor::new(gcs, vend, key).map(|v| Vendor::Gcs(Box::new(v)))),
        }
    }

    /// How Azure store `az` vends, signing with `signer` (its account key, if it has one).
    pub fn azure(az: &AzureStoreConfig, signer: Option<&SasSigner>) -> Vendor {
        match &az.vend {
            None => Vendor::None,
            Some(vend) => {
                Vendor::usable(azure::SasVendor::new(az, vend.scope, signer).map(|v| Vendor::Azure(Box::new(v))))
            }
        }
    }

    fn usable(vendor: Result<Vendor, VendError>) -> Vendor {
        vendor.unwrap_or_else(|e| Vendor::Unusable(e.to_string()))
    }
}

/// Whether the store vends credentials at all (`dir` access).
pub(crate) fn vends(store: &StoreConfig) -> bool {
    match store {
        StoreConfig::S3(s3) => s3.vend.is_some(),
        StoreConfig::Gcs(gcs) => gcs.vend.is_some(),
        StoreConfig::Azure(az) => az.vend.is_some(),
        StoreConfig::Local(_) => false,
    }
}

/// Whether `asset` offers `dir` access: its store vends, and, for a table, reading its whole
/// directory shows no more than `url` access would. A Delta table without `history_shared`, or
/// with a `start_version`, keeps its history and removed files to itself, so it is `url`-only.
/// An Iceberg table's metadata lists every snapshot anyway: its directory is what it shares.
pub(crate) fn offers_dir(asset: &AssetConfig, store: &StoreConfig) -> bool {
    let whole_history = asset.kind == AssetKind::IcebergTable || (asset.history_shared && asset.start_version == 0);
    vends(store) && (!asset.kind.is_table() || whole_history)
}

/// Starts vending credentials for `target`.
pub(crate) fn start(target: &VendTarget<'_>) -> Result<Start, VendError> {
    let not_vended =
        || VendError::NotVended("this asset is shared for url access only: its store does not vend credentials".into());
    if target.prefix.is_empty() && !matches!(target.vendor, Vendor::None) {
        return Err(VendError::Config(
            "the asset is at the store's root: its credentials would cover the whole bucket or container".into(),
        ));
    }
    let expires_at_ms = (target.now_ms.div_euclid(1000) + i64::from(target.ttl_seconds)) * 1000;
    match target.vendor {
        Vendor::None => Err(not_vended()),
        Vendor::Static(credential) => Ok(Start::Ready(Grant { credential: credential.clone(), expires_at_ms })),
        Vendor::Sts(sts) => Ok(Start::Flow(Box::new(sts::AssumeRole::new(sts, target)?))),
        Vendor::Azure(sas) => {
            let sas = sas.container_or_directory_sas(target.prefix, expires_at_ms)?;
            Ok(Start::Ready(Grant { credential: Credential::AzureSas(sas), expires_at_ms }))
        }
        Vendor::Gcs(gcs) => Ok(Start::Flow(Box::new(gcp::Downscope::new(gcs, target)?))),
        Vendor::Unusable(why) => Err(VendError::Config(why.clone())),
    }
}

/// A form body with every byte but `A-Z a-z 0-9 - _ . ~` percent-encoded: the bytes the AWS SDKs
/// and Google's Python client send. STS verifies the SigV4 signature over the body as received,
/// and STS emulators that re-encode the parsed form (moto) get the same bytes back only with this
/// encoding (the WHATWG form encoding leaves `*` bare, which they would encode).
fn form_body(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in fields {
        if !body.is_empty() {
            body.push('&');
        }
        uri_encode_into(&mut body, name, false);
        body.push('=');
        uri_encode_into(&mut body, value, false);
    }
    body.into_bytes()
}

/// Cloudflare R2 endpoints (`https://{account}.r2.cloudflarestorage.com`) get the `r2Credentials`
/// shape.
fn is_r2(endpoint: Option<&str>) -> bool {
    endpoint
        .and_then(|e| url::Url::parse(e).ok())
        .and_then(|u| u.host_str().map(|h| h.ends_with(".r2.cloudflarestorage.com")))
        .unwrap_or(false)
}
