//! The stores of a configuration, opened with object_store, and the answers to the engine's IO
//! needs.
//!
//! Keys are used exactly as the engine gives them (`Path::parse`, not `Path::from`, which would
//! percent-encode `%`, `{`, `~` … and so name another object). Keys with `.`/`..` or empty
//! segments are refused by `Path::parse`, so no key leaves a local store's root.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use opensharing::catalog::config::{GcsStoreConfig, S3StoreConfig};
use opensharing::catalog::StoreConfig;
use opensharing::signing::s3::S3Location;
use opensharing::{Catalog, IoNeed, IoResult, Listing, ObjectMeta};

use crate::{http_call, local_list, log};

/// Most entries one listing returns (a guard against an unbounded answer).
const MAX_LISTING: usize = 1_000_000;
/// The GCS XML endpoint, which takes HMAC keys with SigV4 (S3 interoperability).
const GCS_XML_ENDPOINT: &str = "https://storage.googleapis.com";

/// How patient remote stores are.
#[derive(Clone, Copy, Debug)]
pub enum Tuning {
    /// Serving: a few retries, well inside the request timeout.
    Serve,
    /// `check`: no retries, quick answers.
    Check,
}

impl Tuning {
    fn retry(self) -> RetryConfig {
        let (max_retries, retry_timeout) = match self {
            Tuning::Serve => (3, Duration::from_secs(15)),
            Tuning::Check => (0, Duration::from_secs(10)),
        };
        RetryConfig { backoff: BackoffConfig::default(), max_retries, retry_timeout }
    }

    fn client(self) -> ClientOptions {
        let timeout = match self {
            Tuning::Serve => Duration::from_secs(20),
            Tuning::Check => Duration::from_secs(10),
        };
        ClientOptions::new().with_allow_http(true).with_timeout(timeout).with_connect_timeout(Duration::from_secs(5))
    }
}

/// The opened stores, by configured name.
pub struct Stores {
    by_name: HashMap<String, Arc<dyn ObjectStore>>,
    /// The directories of the local stores, which are listed by [`local_list`] (in key order).
    local_roots: HashMap<String, PathBuf>,
    /// The canonical roots of the `local` stores that keep keys inside their root (all but
    /// those with `follow_symlinks`).
    confined: HashMap<String, PathBuf>,
    /// Sends credential-service calls.
    http: reqwest::Client,
}

impl Stores {
    /// Opens every store of `catalog` (whose relative local roots are resolved already:
    /// [`Catalog::with_base_dir`]).
    pub fn open(catalog: &Catalog, tuning: Tuning) -> Result<Stores, String> {
        let mut by_name = HashMap::new();
        let mut local_roots = HashMap::new();
        let mut confined = HashMap::new();
        for (name, config) in &catalog.stores {
            let store = open_store(config, tuning).map_err(|e| format!("store '{name}': {e}"))?;
            by_name.insert(name.clone(), store);
            if let StoreConfig::Local(local) = config {
                let root = PathBuf::from(&local.root);
                local_roots.insert(name.clone(), root.clone());
                if !local.follow_symlinks {
                    let root = root.canonicalize().map_err(|e| format!("store '{name}': {}: {e}", root.display()))?;
                    confined.insert(name.clone(), root);
                }
            }
        }
        Ok(Stores { by_name, local_roots, confined, http: http_call::client()? })
    }

    /// These stores, plus those of `previous` whose names are gone: exchanges that started on
    /// the previous configuration still find their store while they finish.
    pub fn merged_with(mut self, previous: &Stores) -> Stores {
        for (name, store) in &previous.by_name {
            if !self.by_name.contains_key(name) {
                self.by_name.insert(name.clone(), store.clone());
                if let Some(root) = previous.confined.get(name) {
                    self.confined.insert(name.clone(), root.clone());
                }
            }
        }
        for (name, root) in &previous.local_roots {
            if !self.local_roots.contains_key(name) && !self.by_name.contains_key(name) {
                self.local_roots.insert(name.clone(), root.clone());
            }
        }
        self
    }

    /// Whether `key` of store `name` resolves, through symbolic links, to a path outside the
    /// store's root (only for confined `local` stores; a key that does not exist is left to the
    /// store to report). Such keys are answered as missing.
    fn escapes_root(&self, name: &str, key: &str) -> bool {
        let Some(root) = self.confined.get(name) else { return false };
        match root.join(key).canonicalize() {
            Ok(path) => !path.starts_with(root),
            Err(_) => false,
        }
    }

    /// [`escapes_root`](Stores::escapes_root) for a key asked for by name (read, looked up or
    /// sent), logged when refused.
    pub fn refuses(&self, name: &str, key: &str) -> bool {
        let refused = self.escapes_root(name, key);
        if refused {
            log::event("symlink_refused", serde_json::json!({"store": name, "key": key}));
        }
        refused
    }

    /// The store called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn ObjectStore>> {
        self.by_name.get(name)
    }

    /// Performs an IO need. Errors are reported to the engine, which answers the client with a
    /// protocol error; the detail goes only to the host's log.
    pub async fn answer(&self, need: &IoNeed) -> IoResult {
        let name = match need {
            IoNeed::List { store, .. } | IoNeed::Get { store, .. } | IoNeed::Head { store, .. } => store,
            IoNeed::Http(call) => return http_call::send(&self.http, call).await,
            IoNeed::RequestBody { .. } => return IoResult::Failed("the request body is not in a store".into()),
        };
        let Some(store) = self.by_name.get(name) else {
            return IoResult::Failed(format!("unknown store {name}"));
        };
        match need {
            IoNeed::List { prefix, start_after, max_keys, .. } => {
                let limit = max_keys.map_or(MAX_LISTING + 1, |m| m.max(1) + 1);
                let entries = match self.local_roots.get(name) {
                    Some(root) => list_local(root.clone(), prefix, start_after.as_deref(), limit).await,
                    None => list(store, prefix, start_after.as_deref(), limit).await,
                };
                match entries {
                    Ok(entries) if max_keys.is_none() && entries.len() > MAX_LISTING => {
                        IoResult::Failed(format!("listing of {prefix} has more than {MAX_LISTING} entries"))
                    }
                    Ok(entries) => {
                        // Cut first, so the page goes on after the last key listed.
                        let mut listing = Listing::page(entries, *max_keys);
                        if self.confined.contains_key(name) {
                            listing.entries.retain(|e| !self.escapes_root(name, &e.key));
                        }
                        IoResult::Listing(listing)
                    }
                    Err(failed) => failed,
                }
            }
            IoNeed::Get { key, .. } | IoNeed::Head { key, .. } if self.refuses(name, key) => IoResult::NotFound,
            IoNeed::Get { key, range, .. } => {
                let Ok(path) = StorePath::parse(key) else { return IoResult::NotFound };
                let result = match range {
                    Some(r) => store.get_range(&path, r.start..r.end).await,
                    None => match store.get(&path).await {
                        Ok(get) => get.bytes().await,
                        Err(e) => Err(e),
                    },
                };
                result.map_or_else(failure, IoResult::Bytes)
            }
            IoNeed::Head { key, .. } => {
                let Ok(path) = StorePath::parse(key) else { return IoResult::NotFound };
                store.head(&path).await.map_or_else(failure, |meta| IoResult::Meta(to_meta(&meta)))
            }
            IoNeed::Http(_) | IoNeed::RequestBody { .. } => IoResult::Failed("answered above".into()),
        }
    }
}

fn to_meta(m: &object_store::ObjectMeta) -> ObjectMeta {
    ObjectMeta { key: m.location.to_string(), size: m.size, last_modified_ms: m.last_modified.timestamp_millis() }
}

fn failure(e: object_store::Error) -> IoResult {
    match e {
        object_store::Error::NotFound { .. } => IoResult::NotFound,
        other => IoResult::Failed(error_chain(&other)),
    }
}

/// Lists up to `limit` keys that start with `prefix` (a key prefix, not only a directory) and
/// sort after `start_after`, recursively. object_store lists by directory, so the directory
/// part is listed and the rest filtered; S3, GCS and Azure list in key order, so the stream
/// stops after `limit` entries.
async fn list(
    store: &Arc<dyn ObjectStore>,
    prefix: &str,
    start_after: Option<&str>,
    limit: usize,
) -> Result<Vec<ObjectMeta>, IoResult> {
    let dir = prefix.rfind('/').map_or("", |i| &prefix[..i]);
    let Ok(dir) = StorePath::parse(dir) else { return Err(IoResult::NotFound) };
    let offset = start_after.map(StorePath::parse).transpose();
    let Ok(offset) = offset else { return Err(IoResult::NotFound) };
    let mut stream = match &offset {
        Some(offset) => store.list_with_offset(Some(&dir), offset),
        None => store.list(Some(&dir)),
    };
    let mut entries = Vec::new();
    // Filtered here, before counting: a store may ignore the offset (Azurite ignores
    // `startFrom` and answers from the start).
    let wanted = |key: &str| key.starts_with(prefix) && start_after.is_none_or(|s| key > s);
    while let Some(item) = stream.next().await {
        match item {
            Ok(meta) if wanted(meta.location.as_ref()) => entries.push(to_meta(&meta)),
            Ok(_) => {}
            Err(e) => return Err(failure(e)),
        }
        if entries.len() >= limit {
            break;
        }
    }
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(entries)
}

/// Lists a local store's directory in key order (see [`local_list`]) off the async threads.
async fn list_local(
    root: PathBuf,
    prefix: &str,
    start_after: Option<&str>,
    limit: usize,
) -> Result<Vec<ObjectMeta>, IoResult> {
    let (prefix, start_after) = (prefix.to_string(), start_after.map(str::to_string));
    let listed =
        tokio::task::spawn_blocking(move || local_list::list(&root, &prefix, start_after.as_deref(), limit)).await;
    match listed {
        Ok(Ok(entries)) => Ok(entries),
        Ok(Err(e)) => Err(IoResult::Failed(format!("listing failed: {e}"))),
        Err(e) => Err(IoResult::Failed(format!("listing task failed: {e}"))),
    }
}

/// The endpoint object_store needs for `s3`. With virtual-hosted addressing on a custom
/// endpoint it wants the bucket's own host (`http://bucket.host:port`), as the engine signs it;
/// an IP address cannot take a bucket name, and without this check object_store would quietly
/// talk to AWS instead.
fn s3_endpoint(s3: &S3StoreConfig) -> Result<Option<String>, String> {
    let Some(endpoint) = s3.endpoint.as_deref() else { return Ok(None) };
    if s3.path_style {
        return Ok(Some(endpoint.to_string()));
    }
    let url = url::Url::parse(endpoint).map_err(|e| format!("endpoint: {e}"))?;
    if !matches!(url.host(), Some(url::Host::Domain(_))) {
        return Err(format!(
            "endpoint {endpoint}: virtual-hosted addressing needs a host name to put the bucket in; set \"path_style\": true"
        ));
    }
    let location = S3Location::new(&s3.bucket, &s3.region, Some(endpoint), false).map_err(|e| e.to_string())?;
    Ok(Some(format!("{}://{}", location.scheme, location.host)))
}

/// `e` and its causes, as one line (object_store's own message leaves out the cause, e.g.
/// "connection refused").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// Opens one store; the error says why in one line.
pub fn open_store(config: &StoreConfig, tuning: Tuning) -> Result<Arc<dyn ObjectStore>, String> {
    build_store(config, tuning).map_err(|e| error_chain(&e))
}

fn build_store(config: &StoreConfig, tuning: Tuning) -> object_store::Result<Arc<dyn ObjectStore>> {
    Ok(match config {
        StoreConfig::S3(s3) => {
            let mut b = AmazonS3Builder::new()
                .with_bucket_name(&s3.bucket)
                .with_region(&s3.region)
                .with_access_key_id(s3.access_key_id.expose())
                .with_secret_access_key(s3.secret_access_key.expose())
                .with_virtual_hosted_style_request(!s3.path_style)
                .with_client_options(tuning.client())
                .with_retry(tuning.retry());
            match s3_endpoint(s3) {
                Ok(Some(endpoint)) => b = b.with_endpoint(endpoint),
                Ok(None) => {}
                Err(message) => return Err(object_store::Error::Generic { store: "S3", source: message.into() }),
            }
            if let Some(token) = &s3.session_token {
                b = b.with_token(token.expose());
            }
            Arc::new(b.build()?)
        }
        // HMAC keys are S3-interoperability credentials: they work on the XML API with SigV4.
        StoreConfig::Gcs(GcsStoreConfig {
            bucket,
            endpoint,
            hmac_access_id: Some(id),
            hmac_secret: Some(secret),
            ..
        }) => {
            let b = AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_region("auto")
                .with_endpoint(endpoint.as_deref().unwrap_or(GCS_XML_ENDPOINT))
                .with_access_key_id(id.expose())
                .with_secret_access_key(secret.expose())
                .with_client_options(tuning.client())
                .with_retry(tuning.retry());
            Arc::new(b.build()?)
        }
        StoreConfig::Gcs(gcs) => {
            let mut b = GoogleCloudStorageBuilder::new()
                .with_bucket_name(&gcs.bucket)
                .with_client_options(tuning.client())
                .with_retry(tuning.retry());
            if let Some(key) = &gcs.service_account_key {
                b = b.with_service_account_key(key.expose());
            }
            if let Some(endpoint) = &gcs.endpoint {
                b = b.with_base_url(endpoint);
            }
            Arc::new(b.build()?)
        }
        StoreConfig::Azure(az) => {
            let mut b = MicrosoftAzureBuilder::new()
                .with_account(&az.account)
                .with_container_name(&az.container)
                .with_client_options(tuning.client())
                .with_retry(tuning.retry());
            if let Some(key) = &az.account_key {
                b = b.with_access_key(key.expose());
            }
            if let Some(endpoint) = &az.endpoint {
                b = b.with_endpoint(endpoint.clone());
            }
            Arc::new(b.build()?)
        }
        StoreConfig::Local(local) => Arc::new(LocalFileSystem::new_with_prefix(&local.root)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(endpoint: Option<&str>, path_style: bool) -> S3StoreConfig {
        serde_json::from_value(serde_json::json!({
            "bucket": "b", "region": "r", "endpoint": endpoint, "path_style": path_style,
            "access_key_id": "k", "secret_access_key": "s"
        }))
        .unwrap()
    }

    #[test]
    fn virtual_hosted_custom_endpoints_name_the_bucket_host() {
        assert_eq!(s3_endpoint(&s3(None, false)), Ok(None));
        let endpoint = |e, path_style| s3_endpoint(&s3(Some(e), path_style));
        assert_eq!(endpoint("http://127.0.0.1:9000", true), Ok(Some("http://127.0.0.1:9000".into())));
        assert_eq!(endpoint("https://minio.local:9000", false), Ok(Some("https://b.minio.local:9000".into())));
        assert!(endpoint("http://127.0.0.1:9000", false).unwrap_err().contains("path_style"));
    }

    #[tokio::test]
    async fn lists_by_key_prefix_and_refuses_escaping_keys() {
        let root = std::env::temp_dir().join(format!("opensharing-storage-{}", std::process::id()));
        std::fs::create_dir_all(root.join("t/_delta_log")).unwrap();
        for name in ["00.json", "01.json", "01.crc", "02.json"] {
            std::fs::write(root.join("t/_delta_log").join(name), b"{}").unwrap();
        }
        std::fs::write(root.join("t/a%20b.txt"), b"x").unwrap();
        let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&root).unwrap());
        let outside = root.with_extension("outside");
        std::fs::write(&outside, b"secret").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("t/escape.txt")).unwrap();
        std::os::unix::fs::symlink(root.join("t/a%20b.txt"), root.join("t/inside.txt")).unwrap();
        let stores = Stores {
            by_name: HashMap::from([("disk".to_string(), store)]),
            local_roots: HashMap::from([("disk".to_string(), root.clone())]),
            confined: HashMap::from([("disk".to_string(), root.canonicalize().unwrap())]),
            http: http_call::client().unwrap(),
        };
        let keys = |r: IoResult| match r {
            IoResult::Listing(l) => l.entries.into_iter().map(|m| m.key).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        let need = |prefix: &str, start_after: Option<&str>| IoNeed::List {
            store: "disk".into(),
            prefix: prefix.into(),
            start_after: start_after.map(str::to_string),
            max_keys: None,
        };
        assert_eq!(keys(stores.answer(&need("t/_delta_log/", None)).await).len(), 4);
        assert!(keys(stores.answer(&need("t/", None)).await).iter().all(|k| k != "t/escape.txt"));
        assert_eq!(
            keys(stores.answer(&need("t/_delta_log/01", None)).await),
            ["t/_delta_log/01.crc", "t/_delta_log/01.json"]
        );
        assert_eq!(
            keys(stores.answer(&need("t/_delta_log/", Some("t/_delta_log/01.json"))).await),
            ["t/_delta_log/02.json"]
        );
        assert!(keys(stores.answer(&need("nothing/", None)).await).is_empty());
        let page = IoNeed::List { store: "disk".into(), prefix: "t/".into(), start_after: None, max_keys: Some(2) };
        let IoResult::Listing(first) = stores.answer(&page).await else { panic!("a listing") };
        assert_eq!(first.entries.len(), 2);
        assert_eq!(first.continue_after.as_deref(), Some("t/_delta_log/01.crc"));
        // A key is the file name as it is on disk: `%20` is not decoded.
        let get = |key: &str| IoNeed::Get { store: "disk".into(), key: key.into(), range: None };
        assert_eq!(stores.answer(&get("t/a%20b.txt")).await, IoResult::Bytes(b"x".to_vec().into()));
        assert_eq!(stores.answer(&get("t/../../etc/passwd")).await, IoResult::NotFound);
        // A symbolic link out of the root names no object; one that stays inside does.
        assert_eq!(stores.answer(&get("t/escape.txt")).await, IoResult::NotFound);
        let head = IoNeed::Head { store: "disk".into(), key: "t/escape.txt".into() };
        assert_eq!(stores.answer(&head).await, IoResult::NotFound);
        assert_eq!(stores.answer(&get("t/inside.txt")).await, IoResult::Bytes(b"x".to_vec().into()));
        let listed = keys(stores.answer(&need("t/", None)).await);
        assert_eq!(
            listed.iter().filter(|k| !k.starts_with("t/_delta_log/")).collect::<Vec<_>>(),
            ["t/a%20b.txt", "t/inside.txt"]
        );
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_file(&outside).unwrap();
    }
}
