//! The stores of a configuration, opened with object_store, and the answers to the engine's IO
//! needs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use opensharing::catalog::StoreConfig;
use opensharing::{Catalog, IoNeed, IoResult, ObjectMeta};

/// Most entries one listing returns (a guard against an unbounded answer).
const MAX_LISTING: usize = 1_000_000;

/// The opened stores, by configured name.
pub struct Stores {
    by_name: HashMap<String, Arc<dyn ObjectStore>>,
}

/// The directory a `local` store's root means: relative roots are relative to the config file.
pub fn local_root(config_dir: &Path, root: &str) -> std::path::PathBuf {
    let root = Path::new(root);
    if root.is_absolute() {
        root.to_path_buf()
    } else {
        config_dir.join(root)
    }
}

impl Stores {
    /// Opens every store of `catalog`.
    pub fn open(catalog: &Catalog, config_dir: &Path) -> Result<Stores, String> {
        let mut by_name = HashMap::new();
        for (name, config) in &catalog.stores {
            let store = open_store(config, config_dir).map_err(|e| format!("store '{name}': {e}"))?;
            by_name.insert(name.clone(), store);
        }
        Ok(Stores { by_name })
    }

    /// These stores, plus those of `previous` whose names are gone: exchanges that started on
    /// the previous configuration still find their store while they finish.
    pub fn merged_with(mut self, previous: &Stores) -> Stores {
        for (name, store) in &previous.by_name {
            self.by_name.entry(name.clone()).or_insert_with(|| store.clone());
        }
        self
    }

    /// The store called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn ObjectStore>> {
        self.by_name.get(name)
    }

    /// Performs an IO need. Errors are reported to the engine, which answers the client with a
    /// protocol error; the detail goes only to the host's log.
    pub async fn answer(&self, need: &IoNeed) -> IoResult {
        let store_name = match need {
            IoNeed::List { store, .. } | IoNeed::Get { store, .. } | IoNeed::Head { store, .. } => store,
        };
        let Some(store) = self.by_name.get(store_name) else {
            return IoResult::Failed(format!("unknown store {store_name}"));
        };
        match need {
            IoNeed::List { prefix, start_after, .. } => list(store, prefix, start_after.as_deref()).await,
            IoNeed::Get { key, range, .. } => {
                let path = StorePath::from(key.as_str());
                let result = match range {
                    Some(r) => store.get_range(&path, r.start..r.end).await,
                    None => match store.get(&path).await {
                        Ok(get) => get.bytes().await,
                        Err(e) => Err(e),
                    },
                };
                match result {
                    Ok(bytes) => IoResult::Bytes(bytes.to_vec()),
                    Err(e) => failure(e),
                }
            }
            IoNeed::Head { key, .. } => match store.head(&StorePath::from(key.as_str())).await {
                Ok(meta) => IoResult::Meta(to_meta(&meta)),
                Err(e) => failure(e),
            },
        }
    }
}

fn to_meta(m: &object_store::ObjectMeta) -> ObjectMeta {
    ObjectMeta { key: m.location.to_string(), size: m.size, last_modified_ms: m.last_modified.timestamp_millis() }
}

fn failure(e: object_store::Error) -> IoResult {
    match e {
        object_store::Error::NotFound { .. } => IoResult::NotFound,
        other => IoResult::Failed(other.to_string()),
    }
}

async fn list(store: &Arc<dyn ObjectStore>, prefix: &str, start_after: Option<&str>) -> IoResult {
    let prefix_path = StorePath::from(prefix);
    let mut stream = match start_after {
        Some(offset) => store.list_with_offset(Some(&prefix_path), &StorePath::from(offset)),
        None => store.list(Some(&prefix_path)),
    };
    let mut entries = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(meta) => entries.push(to_meta(&meta)),
            Err(e) => return failure(e),
        }
        if entries.len() > MAX_LISTING {
            return IoResult::Failed(format!("listing of {prefix} has more than {MAX_LISTING} entries"));
        }
    }
    entries.retain(|e| e.key.starts_with(prefix) && start_after.is_none_or(|s| e.key.as_str() > s));
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    IoResult::Listing(entries)
}

fn open_store(config: &StoreConfig, config_dir: &Path) -> object_store::Result<Arc<dyn ObjectStore>> {
    Ok(match config {
        StoreConfig::S3(s3) => {
            let mut b = AmazonS3Builder::new()
                .with_bucket_name(&s3.bucket)
                .with_region(&s3.region)
                .with_access_key_id(s3.access_key_id.expose())
                .with_secret_access_key(s3.secret_access_key.expose())
                .with_virtual_hosted_style_request(!s3.path_style)
                .with_allow_http(true);
            if let Some(endpoint) = &s3.endpoint {
                b = b.with_endpoint(endpoint);
            }
            if let Some(token) = &s3.session_token {
                b = b.with_token(token.expose());
            }
            Arc::new(b.build()?)
        }
        StoreConfig::Gcs(gcs) => {
            let mut b = GoogleCloudStorageBuilder::new().with_bucket_name(&gcs.bucket);
            if let Some(key) = &gcs.service_account_key {
                b = b.with_service_account_key(key.expose());
            }
            Arc::new(b.build()?)
        }
        StoreConfig::Azure(az) => {
            let mut b = MicrosoftAzureBuilder::new()
                .with_account(&az.account)
                .with_container_name(&az.container)
                .with_allow_http(true);
            if let Some(key) = &az.account_key {
                b = b.with_access_key(key.expose());
            }
            if let Some(endpoint) = &az.endpoint {
                b = b.with_endpoint(endpoint.clone());
            }
            Arc::new(b.build()?)
        }
        StoreConfig::Local(local) => {
            let root = local_root(config_dir, &local.root);
            Arc::new(LocalFileSystem::new_with_prefix(&root)?)
        }
    })
}
