//! `opensharing_config_builder`: builds the same configuration model as the JSON file, for hosts that
//! keep their catalog elsewhere. `opensharing_config_builder_build` applies the same validation.

use super::engine::opensharing_engine;
use super::{guard, opensharing_result, opt_str_arg, set_error, str_arg};
use crate::catalog::config::{
    AssetConfig, AssetKind, Config, LocalStoreConfig, RecipientConfig, S3StoreConfig, SchemaConfig, ShareConfig,
};
use crate::catalog::{Secret, StoreConfig};
use crate::protocol::timestamp::format_rfc3339_ms;
use crate::{Catalog, Engine};

/// A configuration under construction. Not thread-safe.
pub struct opensharing_config_builder {
    config: Config,
}

/// The settings of an S3-compatible store; every string is borrowed for the call only.
/// `endpoint` and `session_token` may be NULL.
#[repr(C)]
pub struct opensharing_s3_store {
    /// Bucket name.
    pub bucket: *const u8,
    /// Bucket name length.
    pub bucket_len: usize,
    /// Signing region (`auto` for R2).
    pub region: *const u8,
    /// Region length.
    pub region_len: usize,
    /// `scheme://host[:port]`, or NULL for AWS.
    pub endpoint: *const u8,
    /// Endpoint length.
    pub endpoint_len: usize,
    /// Path-style addressing.
    pub path_style: bool,
    /// Access key id.
    pub access_key_id: *const u8,
    /// Access key id length.
    pub access_key_id_len: usize,
    /// Secret access key.
    pub secret_access_key: *const u8,
    /// Secret length.
    pub secret_access_key_len: usize,
    /// Session token, or NULL.
    pub session_token: *const u8,
    /// Session token length.
    pub session_token_len: usize,
}

macro_rules! with_builder {
    ($b:expr, |$cfg:ident| $body:expr) => {
        guard(|| {
            let Some(builder) = $b.as_mut() else {
                return opensharing_result::OPENSHARING_NULL_ARGUMENT;
            };
            let $cfg = &mut builder.config;
            let result: Result<(), opensharing_result> = (|| $body)();
            result.err().unwrap_or(opensharing_result::OPENSHARING_OK)
        })
    };
}

/// Creates an empty builder (prefix `/delta-sharing`, URL TTL 3600 s). `*out` owns it: free it
/// with `opensharing_config_builder_free`.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_new(
    out: *mut *mut opensharing_config_builder,
) -> opensharing_result {
    guard(|| {
        if out.is_null() {
            return opensharing_result::OPENSHARING_NULL_ARGUMENT;
        }
        let config: Config = match serde_json::from_str("{}") {
            Ok(c) => c,
            Err(_) => return opensharing_result::OPENSHARING_PANIC,
        };
        *out = Box::into_raw(Box::new(opensharing_config_builder { config }));
        opensharing_result::OPENSHARING_OK
    })
}

/// Frees a builder. NULL does nothing.
///
/// # Safety
/// `b` must come from `opensharing_config_builder_new` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_free(b: *mut opensharing_config_builder) {
    let _ = guard(|| {
        if !b.is_null() {
            drop(Box::from_raw(b));
        }
        opensharing_result::OPENSHARING_OK
    });
}

/// Sets the public endpoint URL (used for profiles and, when no prefix is set, the prefix).
///
/// # Safety
/// `b` live; `endpoint` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_set_endpoint(
    b: *mut opensharing_config_builder,
    endpoint: *const u8,
    len: usize,
) -> opensharing_result {
    with_builder!(b, |cfg| {
        cfg.endpoint = Some(str_arg(endpoint, len)?.to_string());
        Ok(())
    })
}

/// Sets the key that signs page and refresh tokens (at least 32 bytes).
///
/// # Safety
/// `b` live; `key` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_set_token_signing_key(
    b: *mut opensharing_config_builder,
    key: *const u8,
    len: usize,
) -> opensharing_result {
    with_builder!(b, |cfg| {
        cfg.token_signing_key = Some(Secret::Inline(str_arg(key, len)?.to_string()));
        Ok(())
    })
}

/// Adds a local store rooted at `root` (a path the host resolves).
///
/// # Safety
/// `b` live; strings valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_add_local_store(
    b: *mut opensharing_config_builder,
    name: *const u8,
    name_len: usize,
    root: *const u8,
    root_len: usize,
) -> opensharing_result {
    with_builder!(b, |cfg| {
        let store =
            StoreConfig::Local(LocalStoreConfig { root: str_arg(root, root_len)?.to_string(), follow_symlinks: false });
        cfg.stores.insert(str_arg(name, name_len)?.to_string(), store);
        Ok(())
    })
}

/// Adds an S3-compatible store.
///
/// # Safety
/// `b` live; `store` valid with every string valid for its length.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_add_s3_store(
    b: *mut opensharing_config_builder,
    name: *const u8,
    name_len: usize,
    store: *const opensharing_s3_store,
) -> opensharing_result {
    with_builder!(b, |cfg| {
        let s = store.as_ref().ok_or(opensharing_result::OPENSHARING_NULL_ARGUMENT)?;
        let secret = |p, l| -> Result<Secret, opensharing_result> { Ok(Secret::Inline(str_arg(p, l)?.to_string())) };
        let config = S3StoreConfig {
            bucket: str_arg(s.bucket, s.bucket_len)?.to_string(),
            region: str_arg(s.region, s.region_len)?.to_string(),
            endpoint: opt_str_arg(s.endpoint, s.endpoint_len)?.map(str::to_string),
            path_style: s.path_style,
            access_key_id: secret(s.access_key_id, s.access_key_id_len)?,
            secret_access_key: secret(s.secret_access_key, s.secret_access_key_len)?,
            session_token: opt_str_arg(s.session_token, s.session_token_len)?.map(|t| Secret::Inline(t.to_string())),
            vend: None,
        };
        cfg.stores.insert(str_arg(name, name_len)?.to_string(), StoreConfig::S3(config));
        Ok(())
    })
}

/// Adds a share.
///
/// # Safety
/// `b` live; `name` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_add_share(
    b: *mut opensharing_config_builder,
    name: *const u8,
    len: usize,
) -> opensharing_result {
    with_builder!(b, |cfg| {
        cfg.shares.push(ShareConfig {
            name: str_arg(name, len)?.to_string(),
            id: None,
            display_name: None,
            comment: None,
            properties: Default::default(),
            schemas: Vec::new(),
        });
        Ok(())
    })
}

fn share_mut<'a>(cfg: &'a mut Config, name: &str) -> Result<&'a mut ShareConfig, opensharing_result> {
    cfg.shares.iter_mut().find(|s| s.name == name).ok_or_else(|| {
        set_error(format!("no share '{name}' was added"));
        opensharing_result::OPENSHARING_NOT_FOUND
    })
}

/// Adds a schema to a share added before (`OPENSHARING_NOT_FOUND` otherwise).
///
/// # Safety
/// `b` live; strings valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_add_schema(
    b: *mut opensharing_config_builder,
    share: *const u8,
    share_len: usize,
    schema: *const u8,
    schema_len: usize,
) -> opensharing_result {
    with_builder!(b, |cfg| {
        let share = share_mut(cfg, str_arg(share, share_len)?)?;
        share.schemas.push(SchemaConfig { name: str_arg(schema, schema_len)?.to_string(), assets: Vec::new() });
        Ok(())
    })
}

/// The names of an asset being added; every string is borrowed for the call only.
#[repr(C)]
pub struct opensharing_asset {
    /// Share name (added before).
    pub share: *const u8,
    /// Share name length.
    pub share_len: usize,
    /// Schema name (added before).
    pub schema: *const u8,
    /// Schema name length.
    pub schema_len: usize,
    /// Kind: `delta_table`, `iceberg_table`, `parquet_dataset`, `volume`, `model` or `skill`.
    pub kind: *const u8,
    /// Kind length.
    pub kind_len: usize,
    /// Asset name.
    pub name: *const u8,
    /// Asset name length.
    pub name_len: usize,
    /// Store name.
    pub store: *const u8,
    /// Store name length.
    pub store_len: usize,
    /// Root of the asset in the store.
    pub path: *const u8,
    /// Path length.
    pub path_len: usize,
    /// Description (skills need one), or NULL.
    pub description: *const u8,
    /// Description length.
    pub description_len: usize,
    /// Whether history (time travel, CDF) is shared.
    pub history_shared: bool,
}

/// Adds an asset to a schema added before.
///
/// # Safety
/// `b` live; `asset` valid with every string valid for its length.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_add_asset(
    b: *mut opensharing_config_builder,
    asset: *const opensharing_asset,
) -> opensharing_result {
    with_builder!(b, |cfg| {
        let a = asset.as_ref().ok_or(opensharing_result::OPENSHARING_NULL_ARGUMENT)?;
        let kind_name = str_arg(a.kind, a.kind_len)?;
        let kind: AssetKind =
            serde_json::from_value(serde_json::Value::String(kind_name.to_string())).map_err(|_| {
                set_error(format!("unknown asset kind '{kind_name}'"));
                opensharing_result::OPENSHARING_INVALID_ARGUMENT
            })?;
        let mut config: AssetConfig = serde_json::from_value(serde_json::json!({
            "type": kind_name, "name": str_arg(a.name, a.name_len)?,
        }))
        .map_err(|_| opensharing_result::OPENSHARING_INVALID_ARGUMENT)?;
        config.kind = kind;
        config.store = Some(str_arg(a.store, a.store_len)?.to_string());
        config.path = Some(str_arg(a.path, a.path_len)?.to_string());
        config.description = opt_str_arg(a.description, a.description_len)?.map(str::to_string);
        config.history_shared = a.history_shared;
        let schema_name = str_arg(a.schema, a.schema_len)?;
        let share = share_mut(cfg, str_arg(a.share, a.share_len)?)?;
        let schema = share.schemas.iter_mut().find(|s| s.name == schema_name).ok_or_else(|| {
            set_error(format!("no schema '{schema_name}' was added to the share"));
            opensharing_result::OPENSHARING_NOT_FOUND
        })?;
        schema.assets.push(config);
        Ok(())
    })
}

/// Adds a recipient identified by the lower-case hex SHA-256 of its token.
/// `expires_unix_ms` < 0 means the token does not expire.
///
/// # Safety
/// `b` live; strings valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_add_recipient(
    b: *mut opensharing_config_builder,
    name: *const u8,
    name_len: usize,
    token_sha256_hex: *const u8,
    token_sha256_hex_len: usize,
    expires_unix_ms: i64,
) -> opensharing_result {
    with_builder!(b, |cfg| {
        cfg.recipients.push(RecipientConfig {
            name: str_arg(name, name_len)?.to_string(),
            token_sha256: Some(str_arg(token_sha256_hex, token_sha256_hex_len)?.to_string()),
            expires_at: (expires_unix_ms >= 0).then(|| format_rfc3339_ms(expires_unix_ms)),
            shares: Vec::new(),
            deny_risk_labels: Vec::new(),
            tokens: None,
            ip_access_list: Vec::new(),
            rate_limit: None,
            oidc: None,
        });
        Ok(())
    })
}

/// Grants a recipient added before read access to a share.
///
/// # Safety
/// `b` live; strings valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_grant(
    b: *mut opensharing_config_builder,
    recipient: *const u8,
    recipient_len: usize,
    share: *const u8,
    share_len: usize,
) -> opensharing_result {
    with_builder!(b, |cfg| {
        let name = str_arg(recipient, recipient_len)?;
        let r = cfg.recipients.iter_mut().find(|r| r.name == name).ok_or_else(|| {
            set_error(format!("no recipient '{name}' was added"));
            opensharing_result::OPENSHARING_NOT_FOUND
        })?;
        r.shares.push(str_arg(share, share_len)?.to_string());
        Ok(())
    })
}

/// Validates the configuration and creates an engine from it; the builder stays usable.
/// `OPENSHARING_INVALID_CONFIG` with the detail in `opensharing_last_error` when a rule is broken. On success
/// `*out` owns a new engine: free it with `opensharing_engine_free`.
///
/// # Safety
/// `b` live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_build(
    b: *const opensharing_config_builder,
    out: *mut *mut opensharing_engine,
) -> opensharing_result {
    guard(|| {
        let Some(builder) = b.as_ref() else {
            return opensharing_result::OPENSHARING_NULL_ARGUMENT;
        };
        if out.is_null() {
            return opensharing_result::OPENSHARING_NULL_ARGUMENT;
        }
        let built = Catalog::from_config(builder.config.clone(), &|_| None)
            .map_err(|e| e.to_string())
            .and_then(|c| Engine::new(c).map_err(|e| e.to_string()));
        match built {
            Ok(engine) => {
                *out = Box::into_raw(Box::new(opensharing_engine { inner: engine }));
                opensharing_result::OPENSHARING_OK
            }
            Err(message) => {
                set_error(message);
                opensharing_result::OPENSHARING_INVALID_CONFIG
            }
        }
    })
}
