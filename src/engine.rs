//! The engine: an immutable catalog snapshot behind an atomic swap, and the entry point that turns
//! a request into an [`Exchange`].

use std::sync::{Arc, RwLock};

use crate::api;
use crate::catalog::{Catalog, ConfigError};
use crate::exchange::Exchange;
use crate::http::Request;
use crate::protocol::signed_token::TokenKey;
use crate::signing::SigningError;
use crate::state::EngineState;

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// No token key was configured and the system random generator failed.
    #[error("could not generate a token signing key")]
    Random,
}

/// The protocol engine. Share it between threads (it is `Send + Sync`); every request gets its
/// own [`Exchange`].
///
/// A reload swaps the whole catalog atomically: exchanges already started keep the snapshot they
/// began with.
#[derive(Debug)]
pub struct Engine {
    current: RwLock<Arc<EngineState>>,
}

impl Engine {
    /// An engine serving `catalog`.
    pub fn new(catalog: Catalog) -> Result<Engine, EngineError> {
        let token_key = match &catalog.token_signing_key {
            Some(secret) => Arc::new(TokenKey::new(secret.expose().as_bytes())),
            None => Arc::new(TokenKey::random().map_err(|_| EngineError::Random)?),
        };
        Ok(Engine { current: RwLock::new(Arc::new(EngineState::new(catalog, token_key)?)) })
    }

    /// An engine from configuration JSON; `env` resolves `{"env": …}` secrets.
    pub fn from_json(json: &[u8], env: &dyn Fn(&str) -> Option<String>) -> Result<Engine, EngineError> {
        Engine::new(Catalog::from_json(json, env)?)
    }

    /// Replaces the catalog. In-flight exchanges finish on the old one. Without a configured
    /// token key the previous key is kept, so page tokens stay valid across reloads. On error
    /// the engine keeps serving its current catalog.
    pub fn reload(&self, catalog: Catalog) -> Result<(), EngineError> {
        let token_key = match &catalog.token_signing_key {
            Some(secret) => Arc::new(TokenKey::new(secret.expose().as_bytes())),
            None => self.snapshot().token_key.clone(),
        };
        let state = Arc::new(EngineState::new(catalog, token_key)?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = state;
        Ok(())
    }

    /// A pre-signed GET URL for object `key` of store `name`, valid for `ttl_seconds` from
    /// `now_ms`, signed exactly as the engine signs recipients' file URLs (local stores: with
    /// this engine's key). For a host's own use, such as checking that a store's signatures are
    /// accepted. Fails for an unknown store, a store that cannot sign, or a lifetime outside
    /// what its scheme allows.
    pub fn sign_url(&self, name: &str, key: &str, now_ms: i64, ttl_seconds: u32) -> Result<String, SigningError> {
        let state = self.snapshot();
        let store =
            state.stores.get(name).ok_or_else(|| SigningError::InvalidLocation(format!("no store named '{name}'")))?;
        let mut url = String::new();
        store.signer.batch(now_ms, ttl_seconds)?.sign_into(key, &mut url)?;
        Ok(url)
    }

    /// The root directory of local store `name`: a relative root is resolved against the base
    /// directory the catalog was given ([`Catalog::with_base_dir`]).
    pub fn local_store_root(&self, name: &str) -> Option<String> {
        match self.snapshot().catalog.stores.get(name) {
            Some(crate::catalog::StoreConfig::Local(local)) => Some(local.root.clone()),
            _ => None,
        }
    }

    fn snapshot(&self) -> Arc<EngineState> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Starts handling `request` at time `now_ms` (Unix milliseconds). Drive the returned
    /// exchange with [`Exchange::poll`].
    pub fn handle(&self, request: Request, now_ms: i64) -> Exchange {
        api::handle(self.snapshot(), request, now_ms)
    }

    /// The path prefix the engine serves, e.g. `/delta-sharing`.
    pub fn prefix(&self) -> String {
        self.snapshot().catalog.prefix.clone()
    }

    /// A Delta Sharing profile file (`shareCredentialsVersion` 1) for `token`. Needs the
    /// `endpoint` setting, or an `endpoint` argument.
    pub fn profile(&self, endpoint: Option<&str>, token: &str, expires_at_ms: Option<i64>) -> Option<String> {
        let state = self.snapshot();
        let endpoint = endpoint.map(str::to_string).or_else(|| state.catalog.endpoint.clone())?;
        let iceberg = format!("{}/{}", endpoint.trim_end_matches('/'), crate::iceberg::SEGMENT);
        let mut profile = serde_json::json!({
            "shareCredentialsVersion": 1,
            "endpoint": endpoint,
            "icebergEndpoint": iceberg,
            "bearerToken": token,
        });
        if let Some(ms) = expires_at_ms {
            profile["expirationTime"] = crate::protocol::timestamp::format_rfc3339_ms(ms).into();
        }
        serde_json::to_string_pretty(&profile).ok()
    }
}
