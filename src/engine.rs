//! The engine: an immutable catalog snapshot behind an atomic swap, and the entry point that turns
//! a request into an [`Exchange`].

use std::sync::{Arc, RwLock};

use crate::api;
use crate::catalog::{Catalog, ConfigError};
use crate::exchange::Exchange;
use crate::http::Request;
use crate::protocol::signed_token::TokenKey;

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

/// What one exchange works against: the catalog and the key that signs tokens.
#[derive(Debug)]
pub(crate) struct EngineState {
    pub catalog: Catalog,
    pub token_key: Arc<TokenKey>,
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
            Some(bytes) => Arc::new(TokenKey::new(bytes)),
            None => Arc::new(TokenKey::random().map_err(|_| EngineError::Random)?),
        };
        Ok(Engine { current: RwLock::new(Arc::new(EngineState { catalog, token_key })) })
    }

    /// An engine from configuration JSON; `env` resolves `{"env": …}` secrets.
    pub fn from_json(json: &[u8], env: &dyn Fn(&str) -> Option<String>) -> Result<Engine, EngineError> {
        Engine::new(Catalog::from_json(json, env)?)
    }

    /// Replaces the catalog. In-flight exchanges finish on the old one. Without a configured
    /// token key the previous key is kept, so page tokens stay valid across reloads.
    pub fn reload(&self, catalog: Catalog) {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let token_key = match &catalog.token_signing_key {
            Some(bytes) => Arc::new(TokenKey::new(bytes)),
            None => guard.token_key.clone(),
        };
        *guard = Arc::new(EngineState { catalog, token_key });
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
        let mut profile = serde_json::json!({
            "shareCredentialsVersion": 1,
            "endpoint": endpoint,
            "bearerToken": token,
        });
        if let Some(ms) = expires_at_ms {
            profile["expirationTime"] = crate::protocol::timestamp::format_rfc3339_ms(ms).into();
        }
        serde_json::to_string_pretty(&profile).ok()
    }
}
