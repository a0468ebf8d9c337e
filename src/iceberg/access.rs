//! Access delegation: the FileIO properties a LoadTable or LoadCredentials answer carries, so
//! that an Iceberg client reads the table's files straight from the provider's storage.
//!
//! - Stores that vend get temporary credentials (the same grants and cache as
//!   `temporary-table-credentials`), under pyiceberg's and Iceberg Java's property names.
//! - S3 stores that do not vend get remote signing: the client sends each request to the
//!   table's signer endpoint and never holds a key.

use serde_json::{Map, Value};

use crate::catalog::config::S3StoreConfig;
use crate::catalog::StoreConfig;
use crate::vend::{Credential, Grant};

/// The FileIO that pyiceberg needs for remote signing: its PyArrow FileIO, which it prefers for
/// `s3://`, has no signer.
const FSSPEC_FILE_IO: &str = "pyiceberg.io.fsspec.FsspecFileIO";

/// Properties that say where an S3 bucket is: region, and for S3-compatible stores the endpoint
/// and path-style addressing.
fn s3_location(s3: &S3StoreConfig, props: &mut Map<String, Value>) {
    props.insert("s3.region".into(), s3.region.clone().into());
    if let Some(endpoint) = &s3.endpoint {
        props.insert("s3.endpoint".into(), endpoint.trim_end_matches('/').to_string().into());
        props.insert("s3.path-style-access".into(), s3.path_style.to_string().into());
    }
}

/// The properties of a vended grant for `store`.
pub(crate) fn vended(grant: &Grant, store: &StoreConfig) -> Map<String, Value> {
    let mut props = Map::new();
    let expires = grant.expires_at_ms.to_string();
    match (&grant.credential, store) {
        (Credential::Aws { access_key_id, secret_access_key, session_token, .. }, _) => {
            props.insert("s3.access-key-id".into(), access_key_id.clone().into());
            props.insert("s3.secret-access-key".into(), secret_access_key.clone().into());
            if let Some(token) = session_token {
                props.insert("s3.session-token".into(), token.clone().into());
            }
            props.insert("s3.session-token-expires-at-ms".into(), expires.into());
            if let StoreConfig::S3(s3) = store {
                s3_location(s3, &mut props);
            }
        }
        (Credential::AzureSas(sas), StoreConfig::Azure(az)) => {
            let host = format!("{}.dfs.core.windows.net", az.account);
            props.insert(format!("adls.sas-token.{host}"), sas.clone().into());
            props.insert(format!("adls.sas-token-expires-at-ms.{host}"), expires.into());
        }
        (Credential::AzureSas(sas), _) => {
            props.insert("adls.sas-token".into(), sas.clone().into());
        }
        (Credential::GcpToken(token), store) => {
            props.insert("gcs.oauth2.token".into(), token.clone().into());
            props.insert("gcs.oauth2.token-expires-at".into(), expires.into());
            if let StoreConfig::Gcs(gcs) = store {
                if let Some(endpoint) = &gcs.endpoint {
                    props.insert("gcs.service.host".into(), endpoint.clone().into());
                }
            }
        }
    }
    props
}

/// The properties that turn on remote signing against `signer_endpoint` (relative to
/// `signer_uri`, the catalog's base URL; when unknown the client uses its own catalog URI).
pub(crate) fn remote_signing(
    s3: &S3StoreConfig,
    signer_uri: Option<&str>,
    signer_endpoint: &str,
) -> Map<String, Value> {
    let mut props = Map::new();
    props.insert("s3.remote-signing-enabled".into(), "true".into());
    props.insert("s3.signer".into(), "S3V4RestSigner".into());
    if let Some(uri) = signer_uri {
        props.insert("s3.signer.uri".into(), uri.into());
    }
    props.insert("s3.signer.endpoint".into(), signer_endpoint.into());
    props.insert("py-io-impl".into(), FSSPEC_FILE_IO.into());
    s3_location(s3, &mut props);
    props
}

/// `storage-credentials`: one entry whose prefix is the table location.
pub(crate) fn storage_credentials(location: &str, props: &Map<String, Value>) -> Value {
    if props.is_empty() {
        return Value::Array(Vec::new());
    }
    serde_json::json!([{"prefix": location, "config": props}])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::config::{AzureStoreConfig, Secret};

    fn s3(endpoint: Option<&str>) -> S3StoreConfig {
        serde_json::from_value(serde_json::json!({
            "bucket": "b", "region": "eu-west-1", "endpoint": endpoint, "path_style": true,
            "access_key_id": "k", "secret_access_key": "s"
        }))
        .unwrap()
    }

    #[test]
    fn vended_s3_keys_name_the_endpoint() {
        let grant = Grant {
            credential: Credential::Aws {
                access_key_id: "AK".into(),
                secret_access_key: "SK".into(),
                session_token: Some("T".into()),
                r2: false,
            },
            expires_at_ms: 5000,
        };
        let props = vended(&grant, &StoreConfig::S3(s3(Some("http://127.0.0.1:9000/"))));
        assert_eq!(props["s3.access-key-id"], "AK");
        assert_eq!(props["s3.secret-access-key"], "SK");
        assert_eq!(props["s3.session-token"], "T");
        assert_eq!(props["s3.session-token-expires-at-ms"], "5000");
        assert_eq!(props["s3.region"], "eu-west-1");
        assert_eq!(props["s3.endpoint"], "http://127.0.0.1:9000");
        assert_eq!(props["s3.path-style-access"], "true");
        let aws = vended(&grant, &StoreConfig::S3(s3(None)));
        assert!(!aws.contains_key("s3.endpoint"));
    }

    #[test]
    fn azure_and_gcs_keys() {
        let az = AzureStoreConfig {
            account: "acct".into(),
            container: "c".into(),
            endpoint: None,
            account_key: Some(Secret::Inline("a2V5".into())),
            vend: None,
        };
        let grant = Grant { credential: Credential::AzureSas("sv=1&sig=x".into()), expires_at_ms: 7 };
        let props = vended(&grant, &StoreConfig::Azure(az));
        assert_eq!(props["adls.sas-token.acct.dfs.core.windows.net"], "sv=1&sig=x");
        let grant = Grant { credential: Credential::GcpToken("ya29".into()), expires_at_ms: 9 };
        let gcs = serde_json::from_value(serde_json::json!({"kind": "gcs", "bucket": "g"})).unwrap();
        let props = vended(&grant, &gcs);
        assert_eq!(props["gcs.oauth2.token"], "ya29");
        assert_eq!(props["gcs.oauth2.token-expires-at"], "9");
    }

    #[test]
    fn remote_signing_picks_the_fsspec_file_io() {
        let props = remote_signing(&s3(None), Some("http://h/iceberg"), "v1/shares/s/namespaces/d/tables/t/sign");
        assert_eq!(props["s3.remote-signing-enabled"], "true");
        assert_eq!(props["s3.signer"], "S3V4RestSigner");
        assert_eq!(props["s3.signer.uri"], "http://h/iceberg");
        assert_eq!(props["py-io-impl"], FSSPEC_FILE_IO);
        assert_eq!(storage_credentials("s3://b/t", &Map::new()), serde_json::json!([]));
    }
}
