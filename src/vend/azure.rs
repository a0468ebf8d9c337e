//! Azure: a read-and-list service SAS for the asset's directory or its container, signed with
//! the account key.

use time::OffsetDateTime;

use super::VendError;
use crate::catalog::config::{AzureSasScope, AzureStoreConfig};
use crate::signing::azure::{SasParams, SasProtocol, SasResource, SasSigner};

/// A store's SAS settings, with the account key parsed once per configuration.
pub(crate) struct SasVendor {
    signer: SasSigner,
    container: String,
    scope: AzureSasScope,
    /// The store's endpoint is plain `http` (an emulator).
    plain_http: bool,
}

impl SasVendor {
    /// The SAS settings of store `az` with `scope`, signing with `signer` (the store's account
    /// key, if it has one).
    pub fn new(
        az: &AzureStoreConfig,
        scope: AzureSasScope,
        signer: Option<&SasSigner>,
    ) -> Result<SasVendor, VendError> {
        let signer = signer.ok_or_else(|| VendError::Config("the store has no account key".into()))?;
        Ok(SasVendor {
            signer: signer.clone(),
            container: az.container.clone(),
            scope,
            plain_http: az.endpoint.as_deref().is_some_and(|e| e.starts_with("http://")),
        })
    }

    /// The SAS query string (no leading `?`) for `prefix` in the store's container, valid until
    /// `expires_at_ms`. HTTPS only, unless the store's endpoint is plain `http`.
    pub fn container_or_directory_sas(&self, prefix: &str, expires_at_ms: i64) -> Result<String, VendError> {
        let config = |e: crate::signing::azure::AzureError| VendError::Config(e.to_string());
        let resource = match self.scope {
            AzureSasScope::Container => SasResource::Container { container: &self.container },
            AzureSasScope::Directory => SasResource::Directory { container: &self.container, path: prefix },
        };
        let expiry = OffsetDateTime::from_unix_timestamp(expires_at_ms.div_euclid(1000))
            .map_err(|_| VendError::Config("time out of range".into()))?;
        let mut params = SasParams::read(resource, expiry);
        params.permissions = "rl";
        params.protocol = Some(if self.plain_http { SasProtocol::HttpsAndHttp } else { SasProtocol::Https });
        Ok(self.signer.sign(&params).map_err(config)?.query)
    }
}
