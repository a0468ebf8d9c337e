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

use serde_json::{json, Map, Value};

use crate::catalog::config::{AssetConfig, AssetKind, S3Vending, StoreConfig};
use crate::exchange::{HttpCall, HttpReply};
use crate::signing::encode::uri_encode_into;

pub(crate) use cache::CredentialCache;
pub(crate) use obtain::{obtain, Obtain, PendingGrant, Progress};

/// What the credentials must cover.
pub(crate) struct VendTarget<'a> {
    /// The store's configuration.
    pub store: &'a StoreConfig,
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
    if target.prefix.is_empty() && vends(target.store) {
        return Err(VendError::Config(
            "the asset is at the store's root: its credentials would cover the whole bucket or container".into(),
        ));
    }
    let expires_at_ms = (target.now_ms.div_euclid(1000) + i64::from(target.ttl_seconds)) * 1000;
    match target.store {
        StoreConfig::S3(s3) => match s3.vend.as_ref().ok_or_else(not_vended)? {
            S3Vending::Static(keys) => Ok(Start::Ready(Grant {
                credential: Credential::Aws {
                    access_key_id: keys.access_key_id.expose().into(),
                    secret_access_key: keys.secret_access_key.expose().into(),
                    session_token: keys.session_token.as_ref().map(|t| t.expose().into()),
                    r2: is_r2(s3.endpoint.as_deref()),
                },
                expires_at_ms,
            })),
            S3Vending::Sts(sts) => Ok(Start::Flow(Box::new(sts::AssumeRole::new(s3, sts, target)?))),
        },
        StoreConfig::Azure(az) => {
            let vend = az.vend.as_ref().ok_or_else(not_vended)?;
            let sas = azure::container_or_directory_sas(az, vend.scope, target.prefix, expires_at_ms)?;
            Ok(Start::Ready(Grant { credential: Credential::AzureSas(sas), expires_at_ms }))
        }
        StoreConfig::Gcs(gcs) => {
            let vend = gcs.vend.as_ref().ok_or_else(not_vended)?;
            Ok(Start::Flow(Box::new(gcp::Downscope::new(gcs, vend, target)?)))
        }
        StoreConfig::Local(_) => Err(not_vended()),
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
