//! Azure: a read-and-list service SAS for the asset's directory or its container, signed with
//! the account key.

use time::OffsetDateTime;

use super::VendError;
use crate::catalog::config::{AzureSasScope, AzureStoreConfig};
use crate::signing::azure::{SasParams, SasProtocol, SasResource, SasSigner};

/// The SAS query string (no leading `?`) for `prefix` in the store's container, valid until
/// `expires_at_ms`. HTTPS only, unless the store's endpoint is plain `http` (an emulator).
pub(super) fn container_or_directory_sas(
    az: &AzureStoreConfig,
    scope: AzureSasScope,
    prefix: &str,
    expires_at_ms: i64,
) -> Result<String, VendError> {
    let key = az.account_key.as_ref().ok_or_else(|| VendError::Config("the store has no account key".into()))?;
    let config = |e: crate::signing::azure::AzureError| VendError::Config(e.to_string());
    let signer = SasSigner::with_account_key(&az.account, key.expose()).map_err(config)?;
    let resource = match scope {
        AzureSasScope::Container => SasResource::Container { container: &az.container },
        AzureSasScope::Directory => SasResource::Directory { container: &az.container, path: prefix },
    };
    let expiry = OffsetDateTime::from_unix_timestamp(expires_at_ms.div_euclid(1000))
        .map_err(|_| VendError::Config("time out of range".into()))?;
    let mut params = SasParams::read(resource, expiry);
    params.permissions = "rl";
    let plain_http = az.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
    params.protocol = Some(if plain_http { SasProtocol::HttpsAndHttp } else { SasProtocol::Https });
    Ok(signer.sign(&params).map_err(config)?.query)
}
