//! Turns a parsed [`Config`] into a [`Catalog`]: resolves secrets, checks every rule and builds
//! the lookup indexes. Each error names the offending field.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

use super::config::{AssetConfig, AssetKind, Config, S3Vending, Secret, StoreConfig};
use super::governance::{check_license, check_risk_label};
use super::names::{check_name, fold, NameKind};
use super::{derived_id, Asset, AssetFamily, Catalog, Schema, Share};
use crate::auth::{Recipient, Recipients};

/// A configuration problem: which field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// Where in the file, e.g. `shares[0].schemas[1].assets[2].store`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    pub(super) fn new(path: impl fmt::Display, message: impl Into<String>) -> ConfigError {
        ConfigError { path: path.to_string(), message: message.into() }
    }

    pub(super) fn parse(e: serde_json::Error) -> ConfigError {
        ConfigError::new("config", format!("invalid JSON: {e}"))
    }
}

const MAX_URL_TTL_SECONDS: u32 = 604_800;
const MIN_TOKEN_KEY_BYTES: usize = 32;
/// STS `DurationSeconds` bounds; the same range applies to every provider's vended credentials.
const MIN_CREDENTIAL_TTL_SECONDS: u32 = 900;
const MAX_CREDENTIAL_TTL_SECONDS: u32 = 43_200;

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(super) fn build(mut config: Config, env: Env<'_>) -> Result<Catalog, ConfigError> {
    let prefix = prefix_of(&config)?;
    if !(1..=MAX_URL_TTL_SECONDS).contains(&config.url_ttl_seconds) {
        return Err(ConfigError::new("url_ttl_seconds", format!("must be 1 to {MAX_URL_TTL_SECONDS}")));
    }
    if !(MIN_CREDENTIAL_TTL_SECONDS..=MAX_CREDENTIAL_TTL_SECONDS).contains(&config.credential_ttl_seconds) {
        return Err(ConfigError::new(
            "credential_ttl_seconds",
            format!("must be {MIN_CREDENTIAL_TTL_SECONDS} to {MAX_CREDENTIAL_TTL_SECONDS} (the range STS accepts)"),
        ));
    }
    if config.page_token_ttl_seconds == 0 {
        return Err(ConfigError::new("page_token_ttl_seconds", "must be at least 1"));
    }
    let token_signing_key = match config.token_signing_key.as_mut() {
        Some(secret) => {
            resolve(secret, "token_signing_key", env)?;
            if secret.expose().len() < MIN_TOKEN_KEY_BYTES {
                return Err(ConfigError::new(
                    "token_signing_key",
                    format!("must be at least {MIN_TOKEN_KEY_BYTES} bytes"),
                ));
            }
            Some(secret.clone())
        }
        None => None,
    };
    for (name, store) in config.stores.iter_mut() {
        check_store(name, store, env)?;
    }
    let mut shares = Vec::with_capacity(config.shares.len());
    let mut share_index = HashMap::new();
    for (i, share) in std::mem::take(&mut config.shares).into_iter().enumerate() {
        let path = format!("shares[{i}]");
        let built = build_share(&path, share, &config.stores)?;
        if share_index.insert(fold(&built.name), i).is_some() {
            return Err(ConfigError::new(
                format!("{path}.name"),
                format!("duplicate share name '{}' (names are case-insensitive)", built.name),
            ));
        }
        shares.push(built);
    }
    check_unique_asset_ids(&shares)?;
    let default_rate_limit = super::access::rate_limit("rate_limit", config.rate_limit.as_ref())?;
    let trusted_proxies = super::access::networks("trusted_proxies", &config.trusted_proxies)?;
    let federation = super::federation::build(&config.oidc_issuers, &config.recipients)?;
    let recipients = build_recipients(std::mem::take(&mut config.recipients), &share_index, default_rate_limit)?;
    Ok(Catalog {
        prefix,
        endpoint: config.endpoint,
        shares,
        share_index,
        stores: config.stores,
        recipients,
        trusted_proxies,
        federation,
        url_ttl_seconds: config.url_ttl_seconds,
        credential_ttl_seconds: config.credential_ttl_seconds,
        page_token_ttl_seconds: config.page_token_ttl_seconds,
        token_signing_key,
    })
}

/// Page and refresh tokens name assets by id (and full name): two assets with one id would
/// blur that, so ids are unique across the catalog.
fn check_unique_asset_ids(shares: &[Share]) -> Result<(), ConfigError> {
    let mut seen = HashMap::new();
    for (i, share) in shares.iter().enumerate() {
        for (j, schema) in share.schemas.iter().enumerate() {
            for (k, asset) in schema.assets.iter().enumerate() {
                let here = format!("shares[{i}].schemas[{j}].assets[{k}]");
                if let Some(first) = seen.insert(asset.id.as_str(), here.clone()) {
                    return Err(ConfigError::new(
                        format!("{here}.id"),
                        format!("duplicate asset id '{}' (also used by {first})", asset.id),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn prefix_of(config: &Config) -> Result<String, ConfigError> {
    let endpoint_path = match &config.endpoint {
        Some(endpoint) => {
            let url = url::Url::parse(endpoint).map_err(|e| ConfigError::new("endpoint", format!("not a URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(ConfigError::new("endpoint", "must be an http(s) URL with a host"));
            }
            Some(url.path().to_string())
        }
        None => None,
    };
    let prefix = config.prefix.clone().or(endpoint_path).unwrap_or_else(|| "/delta-sharing".into());
    if !prefix.is_empty() && !prefix.starts_with('/') {
        return Err(ConfigError::new("prefix", "must start with '/'"));
    }
    if prefix.contains(['?', '#']) {
        return Err(ConfigError::new("prefix", "must be a plain path"));
    }
    Ok(prefix.trim_end_matches('/').to_string())
}

fn resolve(secret: &mut Secret, path: &str, env: Env<'_>) -> Result<(), ConfigError> {
    if let Secret::Env { env: var } = secret {
        let value = env(var).ok_or_else(|| ConfigError::new(path, format!("environment variable {var} is not set")))?;
        *secret = Secret::Inline(value);
    }
    if secret.expose().is_empty() {
        return Err(ConfigError::new(path, "must not be empty"));
    }
    Ok(())
}

fn check_endpoint(path: &str, endpoint: &Option<String>) -> Result<(), ConfigError> {
    if let Some(e) = endpoint {
        let url = url::Url::parse(e).map_err(|err| ConfigError::new(path, format!("not a URL: {err}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::new(path, "must be http(s)://host[:port]"));
        }
    }
    Ok(())
}

fn non_empty(path: String, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::new(path, "must not be empty"));
    }
    Ok(())
}

fn check_store(name: &str, store: &mut StoreConfig, env: Env<'_>) -> Result<(), ConfigError> {
    let path = format!("stores.{name}");
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(ConfigError::new(&path, "store names use only letters, digits, '_' and '-'"));
    }
    match store {
        StoreConfig::S3(s3) => {
            non_empty(format!("{path}.bucket"), &s3.bucket)?;
            non_empty(format!("{path}.region"), &s3.region)?;
            check_endpoint(&format!("{path}.endpoint"), &s3.endpoint)?;
            resolve(&mut s3.access_key_id, &format!("{path}.access_key_id"), env)?;
            resolve(&mut s3.secret_access_key, &format!("{path}.secret_access_key"), env)?;
            if let Some(token) = s3.session_token.as_mut() {
                resolve(token, &format!("{path}.session_token"), env)?;
            }
            match s3.vend.as_mut() {
                Some(S3Vending::Sts(sts)) => {
                    let vpath = format!("{path}.vend.sts");
                    if !sts.role_arn.starts_with("arn:") || sts.role_arn.split(':').count() < 6 {
                        return Err(ConfigError::new(
                            format!("{vpath}.role_arn"),
                            "must be a role ARN (arn:…:iam::…:role/…)",
                        ));
                    }
                    check_endpoint(&format!("{vpath}.endpoint"), &sts.endpoint)?;
                    if sts
                        .endpoint
                        .as_deref()
                        .is_some_and(|e| url::Url::parse(e).is_ok_and(|u| u.path() != "/" || u.query().is_some()))
                    {
                        return Err(ConfigError::new(
                            format!("{vpath}.endpoint"),
                            "must be scheme://host[:port] without a path",
                        ));
                    }
                    if let Some(id) = sts.external_id.as_mut() {
                        resolve(id, &format!("{vpath}.external_id"), env)?;
                    }
                    if sts.region.is_none() && s3.region == "auto" {
                        return Err(ConfigError::new(
                            &vpath,
                            "region `auto` (R2) has no STS: set `region` or use `static`",
                        ));
                    }
                }
                Some(S3Vending::Static(keys)) => {
                    let vpath = format!("{path}.vend.static");
                    resolve(&mut keys.access_key_id, &format!("{vpath}.access_key_id"), env)?;
                    resolve(&mut keys.secret_access_key, &format!("{vpath}.secret_access_key"), env)?;
                    if let Some(token) = keys.session_token.as_mut() {
                        resolve(token, &format!("{vpath}.session_token"), env)?;
                    }
                }
                None => {}
            }
        }
        StoreConfig::Gcs(gcs) => {
            non_empty(format!("{path}.bucket"), &gcs.bucket)?;
            check_endpoint(&format!("{path}.endpoint"), &gcs.endpoint)?;
            let hmac = gcs.hmac_access_id.is_some() || gcs.hmac_secret.is_some();
            match (gcs.service_account_key.as_mut(), hmac) {
                (Some(key), false) => resolve(key, &format!("{path}.service_account_key"), env)?,
                (None, true) => {
                    let (Some(id), Some(secret)) = (gcs.hmac_access_id.as_mut(), gcs.hmac_secret.as_mut()) else {
                        return Err(ConfigError::new(&path, "hmac_access_id and hmac_secret go together"));
                    };
                    resolve(id, &format!("{path}.hmac_access_id"), env)?;
                    resolve(secret, &format!("{path}.hmac_secret"), env)?;
                }
                _ => {
                    return Err(ConfigError::new(
                        &path,
                        "needs exactly one of service_account_key or hmac_access_id + hmac_secret",
                    ))
                }
            }
            if let Some(vend) = &gcs.vend {
                if gcs.service_account_key.is_none() {
                    return Err(ConfigError::new(
                        format!("{path}.vend"),
                        "needs service_account_key (HMAC keys cannot mint tokens)",
                    ));
                }
                check_endpoint(&format!("{path}.vend.token_endpoint"), &vend.token_endpoint)?;
                check_endpoint(&format!("{path}.vend.sts_endpoint"), &vend.sts_endpoint)?;
            }
        }
        StoreConfig::Azure(az) => {
            non_empty(format!("{path}.account"), &az.account)?;
            non_empty(format!("{path}.container"), &az.container)?;
            check_endpoint(&format!("{path}.endpoint"), &az.endpoint)?;
            if let Some(key) = az.account_key.as_mut() {
                resolve(key, &format!("{path}.account_key"), env)?;
            }
            if az.vend.is_some() && az.account_key.is_none() {
                return Err(ConfigError::new(format!("{path}.vend"), "needs account_key to sign SAS tokens"));
            }
        }
        StoreConfig::Local(local) => non_empty(format!("{path}.root"), &local.root)?,
    }
    Ok(())
}

fn name_error(path: &str, name: &str, why: String) -> ConfigError {
    ConfigError::new(format!("{path}.name"), format!("'{name}' {why}"))
}

fn build_share(
    path: &str,
    share: super::config::ShareConfig,
    stores: &BTreeMap<String, StoreConfig>,
) -> Result<Share, ConfigError> {
    check_name(&share.name, NameKind::Share).map_err(|why| name_error(path, &share.name, why))?;
    if share.display_name.as_ref().is_some_and(|d| d.chars().count() > 255) {
        return Err(ConfigError::new(format!("{path}.display_name"), "is longer than 255 characters"));
    }
    if share.comment.as_ref().is_some_and(|c| c.chars().count() > 65_536) {
        return Err(ConfigError::new(format!("{path}.comment"), "is longer than 65536 characters"));
    }
    if share.properties.len() > 50 {
        return Err(ConfigError::new(format!("{path}.properties"), "has more than 50 entries"));
    }
    if let Some((k, _)) = share.properties.iter().find(|(k, v)| k.chars().count() > 255 || v.chars().count() > 1000) {
        return Err(ConfigError::new(
            format!("{path}.properties.{k}"),
            "keys are at most 255 and values at most 1000 characters",
        ));
    }
    let mut schemas = Vec::with_capacity(share.schemas.len());
    let mut index = HashMap::new();
    for (i, schema) in share.schemas.into_iter().enumerate() {
        let schema_path = format!("{path}.schemas[{i}]");
        check_name(&schema.name, NameKind::Dotless).map_err(|why| name_error(&schema_path, &schema.name, why))?;
        if index.insert(fold(&schema.name), i).is_some() {
            return Err(ConfigError::new(
                format!("{schema_path}.name"),
                format!("duplicate schema name '{}'", schema.name),
            ));
        }
        let full = format!("{}.{}", share.name, schema.name);
        schemas.push(build_schema(&schema_path, &full, schema.name, schema.assets, stores)?);
    }
    let id = share.id.unwrap_or_else(|| derived_id("share", &share.name));
    Ok(Share {
        name: share.name,
        id,
        display_name: share.display_name,
        comment: share.comment,
        properties: share.properties,
        schemas,
        index,
        listed: OnceLock::new(),
    })
}

fn build_schema(
    path: &str,
    full_name: &str,
    name: String,
    assets: Vec<AssetConfig>,
    stores: &BTreeMap<String, StoreConfig>,
) -> Result<Schema, ConfigError> {
    let mut built = Vec::with_capacity(assets.len());
    let mut index = HashMap::new();
    let mut by_family = HashMap::new();
    for (i, asset) in assets.into_iter().enumerate() {
        let asset_path = format!("{path}.assets[{i}]");
        check_asset(&asset_path, &asset, stores)?;
        if index.insert(fold(&asset.name), i).is_some() {
            return Err(ConfigError::new(
                format!("{asset_path}.name"),
                format!("duplicate asset name '{}' in schema", asset.name),
            ));
        }
        by_family.entry(AssetFamily::of(asset.kind)).or_insert_with(Vec::new).push(i);
        let id = asset.id.clone().unwrap_or_else(|| derived_id("asset", &format!("{full_name}.{}", asset.name)));
        built.push(Asset { config: asset, id });
    }
    Ok(Schema { name, assets: built, index, by_family })
}

fn check_asset(path: &str, asset: &AssetConfig, stores: &BTreeMap<String, StoreConfig>) -> Result<(), ConfigError> {
    check_name(&asset.name, NameKind::Dotless).map_err(|why| name_error(path, &asset.name, why))?;
    let needs_location = asset.kind != AssetKind::Model;
    match (&asset.store, needs_location || !asset.versions.is_empty()) {
        (None, true) => return Err(ConfigError::new(format!("{path}.store"), "is required")),
        (Some(store), _) if !stores.contains_key(store) => {
            return Err(ConfigError::new(format!("{path}.store"), format!("unknown store '{store}'")))
        }
        _ => {}
    }
    if needs_location && asset.path.is_none() {
        return Err(ConfigError::new(format!("{path}.path"), "is required"));
    }
    if asset.path.as_deref().is_some_and(|p| p.split('/').any(|seg| seg == "..")) {
        return Err(ConfigError::new(format!("{path}.path"), "must not contain '..' segments"));
    }
    if let Some(g) = &asset.governance {
        if let Some(license) = &g.license {
            check_license(license).map_err(|why| ConfigError::new(format!("{path}.governance.license"), why))?;
        }
        for (i, label) in g.risk_labels.iter().enumerate() {
            check_risk_label(label)
                .map_err(|why| ConfigError::new(format!("{path}.governance.risk_labels[{i}]"), why))?;
        }
    }
    for (i, aux) in asset.auxiliary_paths.iter().enumerate() {
        let field = format!("{path}.auxiliary_paths[{i}]");
        if !asset.kind.is_table() {
            return Err(ConfigError::new(field, "only tables have auxiliary paths"));
        }
        if aux.trim_matches('/').is_empty() || aux.split('/').any(|seg| seg == "..") {
            return Err(ConfigError::new(field, "must be a non-empty path without '..' segments"));
        }
    }
    if let Some(pinned) = &asset.metadata_path {
        let field = format!("{path}.metadata_path");
        if asset.kind != AssetKind::IcebergTable {
            return Err(ConfigError::new(field, "only Iceberg tables have a metadata path"));
        }
        if pinned.trim_matches('/').is_empty() || pinned.split('/').any(|seg| seg == "..") {
            return Err(ConfigError::new(field, "must be a non-empty path without '..' segments"));
        }
    }
    if asset.start_version < 0 {
        return Err(ConfigError::new(format!("{path}.start_version"), "must not be negative"));
    }
    if asset.kind == AssetKind::Skill {
        check_skill(path, asset)?;
    }
    if asset.kind == AssetKind::Model {
        check_model(path, asset)?;
    }
    Ok(())
}

fn check_skill(path: &str, asset: &AssetConfig) -> Result<(), ConfigError> {
    let n = &asset.name;
    let valid = n.len() <= 64
        && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !n.starts_with('-')
        && !n.ends_with('-')
        && !n.contains("--");
    if !valid {
        return Err(ConfigError::new(
            format!("{path}.name"),
            format!(
                "skill name '{n}' must be [a-z0-9-], at most 64 characters, without leading, trailing or doubled '-'"
            ),
        ));
    }
    match asset.description.as_deref() {
        None | Some("") => Err(ConfigError::new(format!("{path}.description"), "is required for skills")),
        Some(d) if d.chars().count() > 1024 => {
            Err(ConfigError::new(format!("{path}.description"), "is longer than 1024 characters"))
        }
        _ => Ok(()),
    }
}

fn check_model(path: &str, asset: &AssetConfig) -> Result<(), ConfigError> {
    let mut versions = HashSet::new();
    for (i, v) in asset.versions.iter().enumerate() {
        if !versions.insert(v.version) {
            return Err(ConfigError::new(
                format!("{path}.versions[{i}].version"),
                format!("duplicate version {}", v.version),
            ));
        }
        if v.path.trim_matches('/').is_empty() || v.path.split('/').any(|seg| seg == "..") {
            return Err(ConfigError::new(
                format!("{path}.versions[{i}].path"),
                "must be a non-empty path without '..' segments",
            ));
        }
        if !matches!(v.status.as_str(), "READY" | "PENDING_REGISTRATION" | "FAILED_REGISTRATION") {
            return Err(ConfigError::new(
                format!("{path}.versions[{i}].status"),
                "must be one of READY, PENDING_REGISTRATION, FAILED_REGISTRATION",
            ));
        }
    }
    if let Some((alias, v)) = asset.aliases.iter().find(|(_, v)| !versions.contains(v)) {
        return Err(ConfigError::new(format!("{path}.aliases.{alias}"), format!("names unknown version {v}")));
    }
    Ok(())
}

fn build_recipients(
    list: Vec<super::config::RecipientConfig>,
    share_index: &HashMap<String, usize>,
    default_rate_limit: Option<crate::auth::RateLimit>,
) -> Result<Recipients, ConfigError> {
    let mut built = Vec::with_capacity(list.len());
    let mut names = HashSet::new();
    for (i, r) in list.into_iter().enumerate() {
        let path = format!("recipients[{i}]");
        check_name(&r.name, NameKind::Dotless).map_err(|why| name_error(&path, &r.name, why))?;
        if !names.insert(fold(&r.name)) {
            return Err(ConfigError::new(format!("{path}.name"), format!("duplicate recipient name '{}'", r.name)));
        }
        let tokens = match super::access::tokens(&path, &r)? {
            Some(tokens) => tokens,
            None if r.oidc.is_some() => Vec::new(),
            None => return Err(ConfigError::new(path, "needs token_sha256, tokens, oidc, or several")),
        };
        let expires_at_ms = match &r.expires_at {
            Some(ts) => Some(crate::protocol::timestamp::parse_rfc3339_ms(ts).ok_or_else(|| {
                ConfigError::new(format!("{path}.expires_at"), format!("'{ts}' is not an RFC 3339 timestamp"))
            })?),
            None => None,
        };
        let mut granted = HashSet::new();
        for (j, share) in r.shares.iter().enumerate() {
            let idx = share_index
                .get(&fold(share))
                .ok_or_else(|| ConfigError::new(format!("{path}.shares[{j}]"), format!("unknown share '{share}'")))?;
            granted.insert(*idx);
        }
        for (j, label) in r.deny_risk_labels.iter().enumerate() {
            check_risk_label(label).map_err(|why| ConfigError::new(format!("{path}.deny_risk_labels[{j}]"), why))?;
        }
        let ip_access_list = super::access::networks(&format!("{path}.ip_access_list"), &r.ip_access_list)?;
        let rate_limit = match &r.rate_limit {
            Some(own) => super::access::rate_limit(&format!("{path}.rate_limit"), Some(own))?,
            None => default_rate_limit,
        };
        built.push(
            Recipient::with_tokens(r.name, tokens, expires_at_ms, granted)
                .ip_access_list(ip_access_list)
                .rate_limit(rate_limit)
                .denying_risk_labels(r.deny_risk_labels),
        );
    }
    Recipients::new(built).map_err(|name| {
        ConfigError::new("recipients", format!("recipient '{name}' has the same token hash as another recipient"))
    })
}
