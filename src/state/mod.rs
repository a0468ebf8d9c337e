//! What an engine serves from, built once per configuration: the catalog, the keys, each
//! store's state and the caches. The engine swaps it whole on a reload; every exchange holds the
//! one it began with.

mod store;
pub(crate) mod url_reuse;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::auth::oidc::OidcState;
use crate::catalog::{Catalog, ConfigError};
use crate::dataset::cache::DatasetCache;
use crate::delta::cache::SnapshotCache;
use crate::protocol::signed_token::TokenKey;
use crate::signing::local::LocalSigner;
use crate::vend::CredentialCache;

pub(crate) use store::Store;
use url_reuse::UrlReuse;

/// What one exchange works against: the catalog, the key that signs tokens, the state of each
/// store (its URL signer and credential vendor) and the caches (snapshots, dataset footers,
/// signed URLs, credentials, OIDC keys and verified JWTs).
#[derive(Debug)]
pub(crate) struct EngineState {
    pub catalog: Catalog,
    pub token_key: Arc<TokenKey>,
    pub local_signer: Arc<LocalSigner>,
    /// Each configured store, by name.
    pub stores: BTreeMap<String, Store>,
    pub snapshots: SnapshotCache,
    pub datasets: DatasetCache,
    pub url_reuse: UrlReuse,
    pub credentials: CredentialCache,
    /// OIDC issuers' key sets and verified JWTs.
    pub oidc: OidcState,
}

/// How many table snapshots an engine keeps.
const SNAPSHOT_CACHE_ENTRIES: usize = 64;

impl EngineState {
    /// The state serving `catalog`, with tokens signed by `token_key`. Fails when a store's keys
    /// or location are unusable.
    pub fn new(catalog: Catalog, token_key: Arc<TokenKey>) -> Result<EngineState, ConfigError> {
        let local_signer = Arc::new(LocalSigner::new(&token_key.derive("local-file-url")));
        let mut stores = BTreeMap::new();
        for (name, config) in &catalog.stores {
            let store = Store::new(name, config, catalog.endpoint.as_deref(), &local_signer)
                .map_err(|e| ConfigError { path: format!("stores.{name}"), message: e.to_string() })?;
            stores.insert(name.clone(), store);
        }
        Ok(EngineState {
            catalog,
            token_key,
            local_signer,
            stores,
            snapshots: SnapshotCache::new(SNAPSHOT_CACHE_ENTRIES),
            datasets: DatasetCache::default(),
            url_reuse: UrlReuse::default(),
            credentials: CredentialCache::default(),
            oidc: OidcState::default(),
        })
    }
}
