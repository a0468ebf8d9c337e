//! `opensharing_config_builder`: builds the same configuration model as the JSON file, for hosts that
//! keep their catalog elsewhere. `opensharing_config_builder_build` applies the same validation.

use super::engine::opensharing_engine;
use super::error::{guard, guard_free, opensharing_result, FfiError};
use super::ptr::{arg_mut, arg_ref, opt_str_arg, out_arg, str_arg};
use crate::catalog::config::{
    AssetConfig, AssetKind, AzureSasScope, AzureStoreConfig, AzureVending, Config, GcsStoreConfig, GcsVending,
    LocalStoreConfig, RecipientConfig, S3StoreConfig, S3Vending, SchemaConfig, ShareConfig, StaticS3Credentials,
    StsConfig,
};
use crate::catalog::{Secret, StoreConfig};
use crate::protocol::timestamp::format_rfc3339_ms;
use crate::Catalog;

/// A configuration under construction. Not thread-safe.
pub struct opensharing_config_builder {
    config: Config,
    /// What relative `local` store roots are relative to.
    base_dir: Option<std::path::PathBuf>,
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

/// Runs `edit` on the configuration of builder `b` (checked with [`arg_mut`]), inside [`guard`].
fn with_builder(
    b: Result<&mut opensharing_config_builder, FfiError>,
    edit: impl FnOnce(&mut Config) -> Result<(), FfiError>,
) -> opensharing_result {
    guard(|| edit(&mut b?.config))
}

/// An inline secret from a string argument.
///
/// # Safety
/// As for [`str_arg`].
unsafe fn secret_arg(ptr: *const u8, len: usize, name: &str) -> Result<Secret, FfiError> {
    Ok(Secret::Inline(unsafe { str_arg(ptr, len, name) }?.to_string()))
}

/// An optional inline secret: NULL means absent.
///
/// # Safety
/// As for [`str_arg`].
unsafe fn opt_secret_arg(ptr: *const u8, len: usize, name: &str) -> Result<Option<Secret>, FfiError> {
    Ok(unsafe { opt_str_arg(ptr, len, name) }?.map(|s| Secret::Inline(s.to_string())))
}

/// An optional string argument, owned: NULL means absent.
///
/// # Safety
/// As for [`str_arg`].
unsafe fn opt_string_arg(ptr: *const u8, len: usize, name: &str) -> Result<Option<String>, FfiError> {
    Ok(unsafe { opt_str_arg(ptr, len, name) }?.map(str::to_string))
}

/// Creates an empty builder (prefix `/delta-sharing`, URL TTL 3600 s).
///
/// Ownership: on success `*out` owns the builder: free it with `opensharing_config_builder_free`.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_new(
    out: *mut *mut opensharing_config_builder,
) -> opensharing_result {
    guard(|| {
        let out = unsafe { out_arg(out, "out") }?;
        let config: Config = serde_json::from_str("{}").map_err(|e| FfiError::config(e.to_string()))?;
        out.write(Box::into_raw(Box::new(opensharing_config_builder { config, base_dir: None })));
        Ok(())
    })
}

/// Frees a builder. NULL does nothing.
///
/// Ownership: takes `b` back; it must not be used afterwards.
///
/// # Safety
/// `b` must come from `opensharing_config_builder_new` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_free(b: *mut opensharing_config_builder) {
    guard_free(|| {
        if !b.is_null() {
            // SAFETY: the caller promised `b` came from `opensharing_config_builder_new` and is
            // not used afterwards.
            drop(unsafe { Box::from_raw(b) });
        }
    });
}

/// Sets the directory relative `local` store roots are resolved against, in the engine built
/// and in its reloads (as `opensharing_engine_new`'s `base_dir`). Without it they stay
/// relative to the process's working directory.
///
/// Ownership: `dir` is copied.
///
/// # Safety
/// `b` live; `dir` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_set_base_dir(
    b: *mut opensharing_config_builder,
    dir: *const u8,
    len: usize,
) -> opensharing_result {
    guard(|| {
        let dir = unsafe { str_arg(dir, len, "dir") }?.into();
        unsafe { arg_mut(b, "b") }?.base_dir = Some(dir);
        Ok(())
    })
}

/// Sets the public endpoint URL (used for profiles and, when no prefix is set, the prefix).
///
/// Ownership: `endpoint` is copied.
///
/// # Safety
/// `b` live; `endpoint` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_set_endpoint(
    b: *mut opensharing_config_builder,
    endpoint: *const u8,
    len: usize,
) -> opensharing_result {
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        cfg.endpoint = Some(unsafe { str_arg(endpoint, len, "endpoint") }?.to_string());
        Ok(())
    })
}

/// Sets the key that signs page and refresh tokens (at least 32 bytes).
///
/// Ownership: `key` is copied.
///
/// # Safety
/// `b` live; `key` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_set_token_signing_key(
    b: *mut opensharing_config_builder,
    key: *const u8,
    len: usize,
) -> opensharing_result {
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        cfg.token_signing_key = Some(unsafe { secret_arg(key, len, "key") }?);
        Ok(())
    })
}

/// Adds store `name`, replacing one of the same name.
///
/// # Safety
/// `name` valid for `name_len` bytes.
unsafe fn add_store(cfg: &mut Config, name: *const u8, name_len: usize, store: StoreConfig) -> Result<(), FfiError> {
    cfg.stores.insert(unsafe { str_arg(name, name_len, "name") }?.to_string(), store);
    Ok(())
}

/// Adds a local store rooted at `root`. With `follow_symlinks`, files reached through
/// symbolic links that lead out of `root` are served too.
///
/// Ownership: the strings are copied.
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
    follow_symlinks: bool,
) -> opensharing_result {
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        let root = unsafe { str_arg(root, root_len, "root") }?.to_string();
        unsafe { add_store(cfg, name, name_len, StoreConfig::Local(LocalStoreConfig { root, follow_symlinks })) }
    })
}

/// Adds an S3-compatible store (that vends no credentials until
/// `opensharing_config_builder_set_s3_vend_sts` or `opensharing_config_builder_set_s3_vend_static`).
///
/// Ownership: `name` and the strings of `*store` are copied.
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
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        let s = unsafe { arg_ref(store, "store") }?;
        let config = S3StoreConfig {
            bucket: unsafe { str_arg(s.bucket, s.bucket_len, "store.bucket") }?.to_string(),
            region: unsafe { str_arg(s.region, s.region_len, "store.region") }?.to_string(),
            endpoint: unsafe { opt_string_arg(s.endpoint, s.endpoint_len, "store.endpoint") }?,
            path_style: s.path_style,
            access_key_id: unsafe { secret_arg(s.access_key_id, s.access_key_id_len, "store.access_key_id") }?,
            secret_access_key: unsafe {
                secret_arg(s.secret_access_key, s.secret_access_key_len, "store.secret_access_key")
            }?,
            session_token: unsafe { opt_secret_arg(s.session_token, s.session_token_len, "store.session_token") }?,
            vend: None,
        };
        unsafe { add_store(cfg, name, name_len, StoreConfig::S3(config)) }
    })
}

/// The store `name` added before, or `OPENSHARING_NOT_FOUND`.
///
/// # Safety
/// `name` valid for `name_len` bytes.
unsafe fn store_mut(cfg: &mut Config, name: *const u8, name_len: usize) -> Result<&mut StoreConfig, FfiError> {
    let name = unsafe { str_arg(name, name_len, "store") }?;
    cfg.stores.get_mut(name).ok_or_else(|| FfiError::not_found(format!("no store '{name}' was added")))
}

/// The error for a vending setting given to a store of another kind.
fn wrong_store_kind(wanted: &str) -> FfiError {
    FfiError::argument(format!("the store is not a {wanted} store"))
}

/// AWS STS `AssumeRole` settings for `opensharing_config_builder_set_s3_vend_sts`; every string
/// is borrowed for the call only. `endpoint`, `region` and `external_id` may be NULL.
#[repr(C)]
pub struct opensharing_s3_sts {
    /// The role to assume (`arn:aws:iam::123456789012:role/sharing-reader`).
    pub role_arn: *const u8,
    /// Role ARN length.
    pub role_arn_len: usize,
    /// `scheme://host[:port]` of the STS endpoint, or NULL for `https://sts.{region}.amazonaws.com`.
    pub endpoint: *const u8,
    /// Endpoint length.
    pub endpoint_len: usize,
    /// The STS signing region, or NULL for the store's region.
    pub region: *const u8,
    /// Region length.
    pub region_len: usize,
    /// The role's external id, or NULL.
    pub external_id: *const u8,
    /// External id length.
    pub external_id_len: usize,
}

/// Makes S3 store `store` (added before) vend credentials through AWS STS `AssumeRole`, scoped
/// to each asset's prefix. `OPENSHARING_NOT_FOUND` when no such store was added,
/// `OPENSHARING_INVALID_ARGUMENT` when it is not an S3 store.
///
/// Ownership: the strings are copied.
///
/// # Safety
/// `b` live; `store` valid for `store_len` bytes; `sts` valid with every string valid for its length.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_set_s3_vend_sts(
    b: *mut opensharing_config_builder,
    store: *const u8,
    store_len: usize,
    sts: *const opensharing_s3_sts,
) -> opensharing_result {
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        let s = unsafe { arg_ref(sts, "sts") }?;
        let vend = S3Vending::Sts(StsConfig {
            role_arn: unsafe { str_arg(s.role_arn, s.role_arn_len, "sts.role_arn") }?.to_string(),
            endpoint: unsafe { opt_string_arg(s.endpoint, s.endpoint_len, "sts.endpoint") }?,
            region: unsafe { opt_string_arg(s.region, s.region_len, "sts.region") }?,
            external_id: unsafe { opt_secret_arg(s.external_id, s.external_id_len, "sts.external_id") }?,
        });
        match unsafe { store_mut(cfg, store, store_len) }? {
            StoreConfig::S3(s3) => s3.vend = Some(vend),
            _ => return Err(wrong_store_kind("S3")),
        }
        Ok(())
    })
}

/// Makes S3 store `store` (added before) hand out fixed credentials, for on-premises stores
/// without STS: give them read-only rights on the bucket; they are not scoped per asset.
/// `session_token` may be NULL. `OPENSHARING_NOT_FOUND` when no such store was added,
/// `OPENSHARING_INVALID_ARGUMENT` when it is not an S3 store.
///
/// Ownership: the strings are copied.
///
/// # Safety
/// `b` live; strings valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_set_s3_vend_static(
    b: *mut opensharing_config_builder,
    store: *const u8,
    store_len: usize,
    access_key_id: *const u8,
    access_key_id_len: usize,
    secret_access_key: *const u8,
    secret_access_key_len: usize,
    session_token: *const u8,
    session_token_len: usize,
) -> opensharing_result {
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        let vend = S3Vending::Static(StaticS3Credentials {
            access_key_id: unsafe { secret_arg(access_key_id, access_key_id_len, "access_key_id") }?,
            secret_access_key: unsafe { secret_arg(secret_access_key, secret_access_key_len, "secret_access_key") }?,
            session_token: unsafe { opt_secret_arg(session_token, session_token_len, "session_token") }?,
        });
        match unsafe { store_mut(cfg, store, store_len) }? {
            StoreConfig::S3(s3) => s3.vend = Some(vend),
            _ => return Err(wrong_store_kind("S3")),
        }
        Ok(())
    })
}

/// The settings of a Google Cloud Storage store; every string is borrowed for the call only.
/// Every field but `bucket` may be NULL. Give `service_account_key` (for `GOOG4-RSA-SHA256`) or
/// the HMAC pair (for `GOOG4-HMAC-SHA256`).
#[repr(C)]
pub struct opensharing_gcs_store {
    /// Bucket name.
    pub bucket: *const u8,
    /// Bucket name length.
    pub bucket_len: usize,
    /// `scheme://host[:port]` of a non-default endpoint, or NULL.
    pub endpoint: *const u8,
    /// Endpoint length.
    pub endpoint_len: usize,
    /// Service-account key JSON, or NULL.
    pub service_account_key: *const u8,
    /// Service-account key length.
    pub service_account_key_len: usize,
    /// HMAC access id, or NULL.
    pub hmac_access_id: *const u8,
    /// HMAC access id length.
    pub hmac_access_id_len: usize,
    /// HMAC secret, or NULL.
    pub hmac_secret: *const u8,
    /// HMAC secret length.
    pub hmac_secret_len: usize,
}

/// Adds a Google Cloud Storage store (that vends no tokens until
/// `opensharing_config_builder_set_gcs_vend`).
///
/// Ownership: `name` and the strings of `*store` are copied.
///
/// # Safety
/// `b` live; `store` valid with every string valid for its length.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_add_gcs_store(
    b: *mut opensharing_config_builder,
    name: *const u8,
    name_len: usize,
    store: *const opensharing_gcs_store,
) -> opensharing_result {
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        let s = unsafe { arg_ref(store, "store") }?;
        let config = GcsStoreConfig {
            bucket: unsafe { str_arg(s.bucket, s.bucket_len, "store.bucket") }?.to_string(),
            endpoint: unsafe { opt_string_arg(s.endpoint, s.endpoint_len, "store.endpoint") }?,
            service_account_key: unsafe {
                opt_secret_arg(s.service_account_key, s.service_account_key_len, "store.service_account_key")
            }?,
            hmac_access_id: unsafe { opt_secret_arg(s.hmac_access_id, s.hmac_access_id_len, "store.hmac_access_id") }?,
            hmac_secret: unsafe { opt_secret_arg(s.hmac_secret, s.hmac_secret_len, "store.hmac_secret") }?,
            vend: None,
        };
        unsafe { add_store(cfg, name, name_len, StoreConfig::Gcs(config)) }
    })
}

/// Makes GCS store `store` (added before, with a service-account key) vend downscoped OAuth
/// tokens. `token_endpoint` and `sts_endpoint` may be NULL for the defaults (the key's
/// `token_uri`, `https://sts.googleapis.com/v1/token`). `OPENSHARING_NOT_FOUND` when no such
/// store was added, `OPENSHARING_INVALID_ARGUMENT` when it is not a GCS store.
///
/// Ownership: the strings are copied.
///
/// # Safety
/// `b` live; strings valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_set_gcs_vend(
    b: *mut opensharing_config_builder,
    store: *const u8,
    store_len: usize,
    token_endpoint: *const u8,
    token_endpoint_len: usize,
    sts_endpoint: *const u8,
    sts_endpoint_len: usize,
) -> opensharing_result {
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        let vend = GcsVending {
            token_endpoint: unsafe { opt_string_arg(token_endpoint, token_endpoint_len, "token_endpoint") }?,
            sts_endpoint: unsafe { opt_string_arg(sts_endpoint, sts_endpoint_len, "sts_endpoint") }?,
        };
        match unsafe { store_mut(cfg, store, store_len) }? {
            StoreConfig::Gcs(gcs) => gcs.vend = Some(vend),
            _ => return Err(wrong_store_kind("GCS")),
        }
        Ok(())
    })
}

/// The settings of an Azure Blob Storage store; every string is borrowed for the call only.
/// `endpoint` and `account_key` may be NULL.
#[repr(C)]
pub struct opensharing_azure_store {
    /// Storage account name.
    pub account: *const u8,
    /// Account name length.
    pub account_len: usize,
    /// Container name.
    pub container: *const u8,
    /// Container name length.
    pub container_len: usize,
    /// Blob endpoint (e.g. `http://127.0.0.1:10000/devstoreaccount1` for Azurite), or NULL.
    pub endpoint: *const u8,
    /// Endpoint length.
    pub endpoint_len: usize,
    /// Base64 account key for service SAS, or NULL.
    pub account_key: *const u8,
    /// Account key length.
    pub account_key_len: usize,
}

/// What one SAS vended by an Azure store covers (`scope` of
/// `opensharing_config_builder_set_azure_vend`). 32 bits wide.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum opensharing_azure_scope {
    /// The asset's directory only (`sr=d`); the account needs a hierarchical namespace.
    OPENSHARING_AZURE_SCOPE_DIRECTORY = 0,
    /// The whole container (`sr=c`). Grants more than the asset: use a container per share.
    OPENSHARING_AZURE_SCOPE_CONTAINER = 1,
}

/// Adds an Azure Blob Storage store (that vends no SAS until
/// `opensharing_config_builder_set_azure_vend`).
///
/// Ownership: `name` and the strings of `*store` are copied.
///
/// # Safety
/// `b` live; `store` valid with every string valid for its length.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_add_azure_store(
    b: *mut opensharing_config_builder,
    name: *const u8,
    name_len: usize,
    store: *const opensharing_azure_store,
) -> opensharing_result {
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        let s = unsafe { arg_ref(store, "store") }?;
        let config = AzureStoreConfig {
            account: unsafe { str_arg(s.account, s.account_len, "store.account") }?.to_string(),
            container: unsafe { str_arg(s.container, s.container_len, "store.container") }?.to_string(),
            endpoint: unsafe { opt_string_arg(s.endpoint, s.endpoint_len, "store.endpoint") }?,
            account_key: unsafe { opt_secret_arg(s.account_key, s.account_key_len, "store.account_key") }?,
            vend: None,
        };
        unsafe { add_store(cfg, name, name_len, StoreConfig::Azure(config)) }
    })
}

/// Makes Azure store `store` (added before, with an account key) vend read-only SAS tokens of
/// `scope` (an `opensharing_azure_scope`). `OPENSHARING_NOT_FOUND` when no such store was added,
/// `OPENSHARING_INVALID_ARGUMENT` when it is not an Azure store or `scope` is unknown.
///
/// Ownership: `store` is copied.
///
/// # Safety
/// `b` live; `store` valid for `store_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_set_azure_vend(
    b: *mut opensharing_config_builder,
    store: *const u8,
    store_len: usize,
    scope: u32,
) -> opensharing_result {
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        // A `u32` and not the enum: a C caller may pass any number.
        let scope = match scope {
            s if s == opensharing_azure_scope::OPENSHARING_AZURE_SCOPE_DIRECTORY as u32 => AzureSasScope::Directory,
            s if s == opensharing_azure_scope::OPENSHARING_AZURE_SCOPE_CONTAINER as u32 => AzureSasScope::Container,
            other => return Err(FfiError::argument(format!("unknown Azure SAS scope {other}"))),
        };
        match unsafe { store_mut(cfg, store, store_len) }? {
            StoreConfig::Azure(azure) => azure.vend = Some(AzureVending { scope }),
            _ => return Err(wrong_store_kind("Azure")),
        }
        Ok(())
    })
}

/// Adds a share.
///
/// Ownership: `name` is copied.
///
/// # Safety
/// `b` live; `name` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_add_share(
    b: *mut opensharing_config_builder,
    name: *const u8,
    len: usize,
) -> opensharing_result {
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        cfg.shares.push(ShareConfig {
            name: unsafe { str_arg(name, len, "name") }?.to_string(),
            id: None,
            display_name: None,
            comment: None,
            properties: Default::default(),
            schemas: Vec::new(),
        });
        Ok(())
    })
}

fn share_mut<'a>(cfg: &'a mut Config, name: &str) -> Result<&'a mut ShareConfig, FfiError> {
    cfg.shares
        .iter_mut()
        .find(|s| s.name == name)
        .ok_or_else(|| FfiError::not_found(format!("no share '{name}' was added")))
}

/// Adds a schema to a share added before (`OPENSHARING_NOT_FOUND` otherwise).
///
/// Ownership: the strings are copied.
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
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        let name = unsafe { str_arg(schema, schema_len, "schema") }?.to_string();
        share_mut(cfg, unsafe { str_arg(share, share_len, "share") }?)?
            .schemas
            .push(SchemaConfig { name, assets: Vec::new() });
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
/// Ownership: the strings of `*asset` are copied.
///
/// # Safety
/// `b` live; `asset` valid with every string valid for its length.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_add_asset(
    b: *mut opensharing_config_builder,
    asset: *const opensharing_asset,
) -> opensharing_result {
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        let a = unsafe { arg_ref(asset, "asset") }?;
        let kind_name = unsafe { str_arg(a.kind, a.kind_len, "asset.kind") }?;
        let kind: AssetKind = serde_json::from_value(serde_json::Value::String(kind_name.to_string()))
            .map_err(|_| FfiError::argument(format!("unknown asset kind '{kind_name}'")))?;
        let mut config: AssetConfig = serde_json::from_value(serde_json::json!({
            "type": kind_name, "name": unsafe { str_arg(a.name, a.name_len, "asset.name") }?,
        }))
        .map_err(|e| FfiError::argument(e.to_string()))?;
        config.kind = kind;
        config.store = Some(unsafe { str_arg(a.store, a.store_len, "asset.store") }?.to_string());
        config.path = Some(unsafe { str_arg(a.path, a.path_len, "asset.path") }?.to_string());
        config.description = unsafe { opt_string_arg(a.description, a.description_len, "asset.description") }?;
        config.history_shared = a.history_shared;
        let schema_name = unsafe { str_arg(a.schema, a.schema_len, "asset.schema") }?;
        let share = share_mut(cfg, unsafe { str_arg(a.share, a.share_len, "asset.share") }?)?;
        let schema = share
            .schemas
            .iter_mut()
            .find(|s| s.name == schema_name)
            .ok_or_else(|| FfiError::not_found(format!("no schema '{schema_name}' was added to the share")))?;
        schema.assets.push(config);
        Ok(())
    })
}

/// Adds a recipient identified by the lower-case hex SHA-256 of its token.
/// `expires_unix_ms` < 0 means the token does not expire.
///
/// Ownership: the strings are copied.
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
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        cfg.recipients.push(RecipientConfig {
            name: unsafe { str_arg(name, name_len, "name") }?.to_string(),
            token_sha256: Some(
                unsafe { str_arg(token_sha256_hex, token_sha256_hex_len, "token_sha256_hex") }?.to_string(),
            ),
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
/// Ownership: the strings are copied.
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
    with_builder(unsafe { arg_mut(b, "b") }, |cfg| {
        let name = unsafe { str_arg(recipient, recipient_len, "recipient") }?;
        let share = unsafe { str_arg(share, share_len, "share") }?.to_string();
        let r = cfg
            .recipients
            .iter_mut()
            .find(|r| r.name == name)
            .ok_or_else(|| FfiError::not_found(format!("no recipient '{name}' was added")))?;
        r.shares.push(share);
        Ok(())
    })
}

/// Validates the configuration and creates an engine from it; the builder stays usable.
/// `OPENSHARING_INVALID_CONFIG` with the detail in `opensharing_last_error` when a rule is broken.
///
/// Ownership: borrows `b`; on success `*out` owns a new engine: free it with
/// `opensharing_engine_free`.
///
/// # Safety
/// `b` live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_config_builder_build(
    b: *const opensharing_config_builder,
    out: *mut *mut opensharing_engine,
) -> opensharing_result {
    guard(|| {
        let builder = unsafe { arg_ref(b, "b") }?;
        let out = unsafe { out_arg(out, "out") }?;
        let catalog =
            Catalog::from_config(builder.config.clone(), &|_| None).map_err(|e| FfiError::config(e.to_string()))?;
        let engine = opensharing_engine::new(catalog, builder.base_dir.clone())?;
        out.write(Box::into_raw(Box::new(engine)));
        Ok(())
    })
}
