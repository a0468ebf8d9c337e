//! The JSON configuration file: stores, shares → schemas → assets, recipients and TTLs.
//!
//! Field names are the contract documented in the README. Unknown fields are refused so that a
//! typo is an error rather than a silently ignored setting.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// A secret value: inline in the file, or taken from an environment variable (`{"env": "VAR"}`).
///
/// `Debug` never prints the value.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Secret {
    /// The value itself.
    Inline(String),
    /// The name of an environment variable that holds the value.
    Env {
        /// The variable name.
        env: String,
    },
}

impl Secret {
    /// The value, once resolved. `Env` secrets are replaced by `Inline` during loading.
    pub fn expose(&self) -> &str {
        match self {
            Secret::Inline(v) => v,
            Secret::Env { .. } => "",
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Inline(_) => f.write_str("Secret(<redacted>)"),
            Secret::Env { env } => write!(f, "Secret(env {env})"),
        }
    }
}

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Public base URL of the sharing endpoint, written into recipient profiles.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// URL path prefix of every protocol route. Defaults to the path of `endpoint`, or
    /// `/delta-sharing`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Named storage locations.
    #[serde(default)]
    pub stores: BTreeMap<String, StoreConfig>,
    /// The shares, in the order they are listed.
    #[serde(default)]
    pub shares: Vec<ShareConfig>,
    /// OpenID providers whose JWTs authenticate recipients with an `oidc` identity.
    #[serde(default)]
    pub oidc_issuers: Vec<OidcIssuerConfig>,
    /// The recipients and their grants.
    #[serde(default)]
    pub recipients: Vec<RecipientConfig>,
    /// Lifetime of pre-signed URLs, in seconds (1..=604800, default 3600).
    #[serde(default = "default_url_ttl")]
    pub url_ttl_seconds: u32,
    /// Lifetime of vended temporary credentials, in seconds (900..=43200, default 3600).
    #[serde(default = "default_credential_ttl")]
    pub credential_ttl_seconds: u32,
    /// Lifetime of list page tokens, in seconds (default 86400).
    #[serde(default = "default_page_token_ttl")]
    pub page_token_ttl_seconds: u32,
    /// Key that signs page and refresh tokens (at least 32 bytes). Every instance behind a load
    /// balancer needs the same key. Without one, a random key is made when the engine starts,
    /// and tokens do not survive a restart.
    #[serde(default)]
    pub token_signing_key: Option<Secret>,
    /// Proxies (CIDR networks) whose `X-Forwarded-For` header is believed when finding a
    /// client's address for IP access lists.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// The rate limit of every recipient that sets none of its own.
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
}

/// A request rate limit: a token bucket per recipient, per engine instance.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Sustained requests per second (> 0; fractions allowed).
    pub requests_per_second: f64,
    /// Requests allowed at once after a quiet period (default: `requests_per_second` rounded
    /// up).
    #[serde(default)]
    pub burst: Option<u32>,
}

fn default_url_ttl() -> u32 {
    3600
}

fn default_credential_ttl() -> u32 {
    3600
}

fn default_page_token_ttl() -> u32 {
    86_400
}

/// One storage location. `kind` selects the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoreConfig {
    /// S3 or an S3-compatible store (R2, MinIO, Ceph).
    S3(S3StoreConfig),
    /// Google Cloud Storage.
    Gcs(GcsStoreConfig),
    /// Azure Blob Storage / ADLS Gen2.
    Azure(AzureStoreConfig),
    /// A directory the host serves itself through HMAC-signed URLs.
    Local(LocalStoreConfig),
}

/// An S3-compatible bucket.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3StoreConfig {
    /// The bucket name.
    pub bucket: String,
    /// The signing region (`auto` for R2).
    pub region: String,
    /// `scheme://host[:port]` of a non-AWS endpoint.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`) instead of virtual-hosted.
    #[serde(default)]
    pub path_style: bool,
    /// Access key id.
    pub access_key_id: Secret,
    /// Secret access key.
    pub secret_access_key: Secret,
    /// Session token of temporary credentials.
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// How recipients get temporary credentials for this store (`dir` access). Absent: no
    /// credentials are vended and assets here are `url`-only.
    #[serde(default)]
    pub vend: Option<S3Vending>,
}

/// How an S3-compatible store vends read-only credentials.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum S3Vending {
    /// AWS STS `AssumeRole`, signed with the store's keys, with a session policy that allows
    /// reading the asset's prefix only.
    Sts(StsConfig),
    /// Fixed credentials handed out as configured: for on-premises stores without STS. Give
    /// them read-only rights on the bucket; they are not scoped per asset.
    Static(StaticS3Credentials),
}

/// AWS STS `AssumeRole` settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StsConfig {
    /// The role to assume (`arn:aws:iam::123456789012:role/sharing-reader`).
    pub role_arn: String,
    /// `scheme://host[:port]` of the STS endpoint. Default `https://sts.{region}.amazonaws.com`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The STS signing region. Default: the store's region.
    #[serde(default)]
    pub region: Option<String>,
    /// The role's external id, when its trust policy requires one.
    #[serde(default)]
    pub external_id: Option<Secret>,
}

/// Credentials handed out as they are.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticS3Credentials {
    /// Access key id.
    pub access_key_id: Secret,
    /// Secret access key.
    pub secret_access_key: Secret,
    /// Session token, when the keys are temporary.
    #[serde(default)]
    pub session_token: Option<Secret>,
}

/// A Google Cloud Storage bucket.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcsStoreConfig {
    /// The bucket name.
    pub bucket: String,
    /// `scheme://host[:port]` of a non-default endpoint.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Service-account key JSON (for `GOOG4-RSA-SHA256`).
    #[serde(default)]
    pub service_account_key: Option<Secret>,
    /// HMAC access id (for `GOOG4-HMAC-SHA256`).
    #[serde(default)]
    pub hmac_access_id: Option<Secret>,
    /// HMAC secret.
    #[serde(default)]
    pub hmac_secret: Option<Secret>,
    /// Vend downscoped OAuth tokens (`dir` access); needs `service_account_key`.
    #[serde(default)]
    pub vend: Option<GcsVending>,
}

/// How a GCS store vends tokens: the service account's OAuth token, exchanged at Google STS for
/// one whose credential access boundary allows reading the asset's prefix only.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcsVending {
    /// OAuth token endpoint. Default: the key's `token_uri`, else
    /// `https://oauth2.googleapis.com/token`.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// Token exchange endpoint. Default `https://sts.googleapis.com/v1/token`.
    #[serde(default)]
    pub sts_endpoint: Option<String>,
}

/// An Azure Blob Storage container.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureStoreConfig {
    /// The storage account name.
    pub account: String,
    /// The container name.
    pub container: String,
    /// Blob endpoint, e.g. `http://127.0.0.1:10000/devstoreaccount1` for Azurite.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Base64 account key for service SAS.
    #[serde(default)]
    pub account_key: Option<Secret>,
    /// Vend read-only SAS tokens (`dir` access); needs `account_key`.
    #[serde(default)]
    pub vend: Option<AzureVending>,
}

/// How an Azure store vends SAS tokens.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureVending {
    /// What one token covers.
    pub scope: AzureSasScope,
}

/// What a vended Azure SAS covers.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AzureSasScope {
    /// The asset's directory only (`sr=d`); the account needs a hierarchical namespace.
    Directory,
    /// The whole container (`sr=c`). Grants more than the asset: use a container per share.
    Container,
}

/// A local directory.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalStoreConfig {
    /// The directory. A relative one is relative to the catalog's base directory
    /// ([`Catalog::with_base_dir`](crate::Catalog::with_base_dir): the configuration file's
    /// directory for `opensharing serve`).
    pub root: String,
    /// Serve files reached through symbolic links that lead out of `root`. Off by default:
    /// hosts refuse any key whose canonical path leaves the root.
    #[serde(default)]
    pub follow_symlinks: bool,
}

/// A share.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareConfig {
    /// The share name.
    pub name: String,
    /// A stable id (UUID recommended). Derived from the name when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// A display name (≤ 255 characters).
    #[serde(default)]
    pub display_name: Option<String>,
    /// A comment (≤ 65536 characters).
    #[serde(default)]
    pub comment: Option<String>,
    /// Free-form properties (≤ 50 pairs).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// The schemas of the share.
    #[serde(default)]
    pub schemas: Vec<SchemaConfig>,
}

/// A schema inside a share.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaConfig {
    /// The schema name.
    pub name: String,
    /// The assets of the schema.
    #[serde(default)]
    pub assets: Vec<AssetConfig>,
}

/// The kind of a shared asset.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// A Delta table.
    DeltaTable,
    /// An Iceberg table.
    IcebergTable,
    /// A directory of Parquet files.
    ParquetDataset,
    /// A volume of arbitrary files.
    Volume,
    /// A registered ML model.
    Model,
    /// An agent skill.
    Skill,
}

impl AssetKind {
    /// Whether the asset is listed under `…/tables`.
    pub fn is_table(self) -> bool {
        matches!(self, AssetKind::DeltaTable | AssetKind::IcebergTable | AssetKind::ParquetDataset)
    }
}

/// Governance metadata that travels with an asset.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    /// Licence, e.g. an SPDX id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Where the data comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<String>,
    /// Short risk labels (`pii`, `synthetic`, `eu-ai-act:high`); recipients with a matching
    /// `deny_risk_labels` entry do not see the asset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risk_labels: Vec<String>,
}

/// One version of a shared model.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelVersionConfig {
    /// The version number.
    pub version: i64,
    /// Where its files live, relative to the store.
    pub path: String,
    /// `READY`, `PENDING_REGISTRATION` or `FAILED_REGISTRATION` (default `READY`).
    #[serde(default = "default_model_status")]
    pub status: String,
    /// Source artifact URI (provenance).
    #[serde(default)]
    pub source: Option<String>,
    /// The run that produced it (provenance).
    #[serde(default)]
    pub run_id: Option<String>,
    /// A comment.
    #[serde(default)]
    pub comment: Option<String>,
}

fn default_model_status() -> String {
    "READY".into()
}

/// A shared asset of any kind.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetConfig {
    /// The kind of asset.
    #[serde(rename = "type")]
    pub kind: AssetKind,
    /// The asset name.
    pub name: String,
    /// A stable id (UUID recommended). Derived from the full name when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// The store that holds it.
    #[serde(default)]
    pub store: Option<String>,
    /// Its root, relative to the store.
    #[serde(default)]
    pub path: Option<String>,
    /// Extra roots of a table in the same store: absolute paths in its log may point there, and
    /// recipients may ask for credentials on them.
    #[serde(default)]
    pub auxiliary_paths: Vec<String>,
    /// The current metadata file of an Iceberg table, relative to the store, pinned instead of
    /// discovered (it must lie under `path`).
    #[serde(default)]
    pub metadata_path: Option<String>,
    /// Whether time travel, streaming and change data are allowed (Delta tables).
    #[serde(default)]
    pub history_shared: bool,
    /// The first version recipients may read (Delta tables).
    #[serde(default)]
    pub start_version: i64,
    /// A comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// A description (skills require one).
    #[serde(default)]
    pub description: Option<String>,
    /// Licence and provenance.
    #[serde(default)]
    pub governance: Option<Governance>,
    /// Skill compatibility note.
    #[serde(default)]
    pub compatibility: Option<String>,
    /// Skill allowed tools, space separated.
    #[serde(default)]
    pub allowed_tools: Option<String>,
    /// Free-form metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Model versions.
    #[serde(default)]
    pub versions: Vec<ModelVersionConfig>,
    /// Model aliases, alias → version.
    #[serde(default)]
    pub aliases: BTreeMap<String, i64>,
}

/// A recipient and its grants.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientConfig {
    /// The recipient name (appears in audit events).
    pub name: String,
    /// Lower-case hex SHA-256 of the bearer token. The token itself is never stored. A
    /// recipient needs this, `tokens`, `oidc`, or several.
    #[serde(default)]
    pub token_sha256: Option<String>,
    /// RFC 3339 expiry of the token.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Names of the shares the recipient may read.
    #[serde(default)]
    pub shares: Vec<String>,
    /// Risk labels the recipient must not see: assets carrying any of them are invisible to
    /// it, exactly like missing ones.
    #[serde(default)]
    pub deny_risk_labels: Vec<String>,
    /// Further bearer tokens, each with its own expiry (written by `recipient rotate`). Present
    /// but empty: every token revoked.
    #[serde(default)]
    pub tokens: Option<Vec<TokenConfig>>,
    /// CIDR networks the recipient may call from (absent or empty: any).
    #[serde(default)]
    pub ip_access_list: Vec<String>,
    /// The recipient's own rate limit (instead of the top-level default).
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    /// The federated identity whose JWTs authenticate as this recipient.
    #[serde(default)]
    pub oidc: Option<RecipientOidcConfig>,
}

/// One bearer token of a recipient.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Lower-case hex SHA-256 of the token.
    pub sha256: String,
    /// RFC 3339 time the token stops working.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A recipient's federated identity: the JWT's `iss`, `sub` and further claims.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientOidcConfig {
    /// An `issuer` of `oidc_issuers`.
    pub issuer: String,
    /// The `sub` claim.
    pub subject: String,
    /// Further claims the token must carry: a string claim equal to the value, or an array
    /// claim holding it.
    #[serde(default)]
    pub claims: BTreeMap<String, String>,
}

/// An OpenID provider whose JWTs may authenticate recipients.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcIssuerConfig {
    /// The `iss` value (an https URL; plain http only on a loopback host).
    pub issuer: String,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
    /// Where the JWKS is; found by OpenID discovery when absent.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// The JWKS itself, for setups that cannot reach the provider (never fetched then).
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds (default 60).
    #[serde(default = "default_leeway_seconds")]
    pub leeway_seconds: u32,
}

fn default_leeway_seconds() -> u32 {
    60
}
