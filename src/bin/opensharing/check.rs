//! `opensharing check`: tries every store with its configured settings and says in plain words
//! what is wrong (the usual cause of a silent 403 from a sharing server). For each store:
//! open it, list it, list each asset's location, then sign a URL the way the engine will and,
//! for remote stores, fetch its first byte.

use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use object_store::ObjectStore;
use opensharing::catalog::StoreConfig;
use opensharing::{Catalog, Engine};

use crate::config_file::{now_ms, read};
use crate::storage::{error_chain, open_store, Tuning};

/// Checks every store; fails when any check fails.
pub fn run(config_path: &Path) -> Result<(), String> {
    let catalog = read(config_path)?;
    let recipients = catalog.recipients.iter().count();
    println!(
        "configuration {}: valid ({} stores, {} shares, {recipients} recipients)",
        config_path.display(),
        catalog.stores.len(),
        catalog.shares.len(),
    );
    // The engine signs the probe URLs exactly as `serve` would; it refuses a store whose keys
    // cannot sign, as `serve` does.
    let engine = Engine::new(read(config_path)?).map_err(|e| format!("{}: {e}", config_path.display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let total = catalog.stores.len();
    let mut failures = 0;
    for (i, (name, config)) in catalog.stores.iter().enumerate() {
        println!("[{}/{total}] store '{name}': {}", i + 1, describe(config));
        match runtime.block_on(check_store(&catalog, &engine, name, config)) {
            Ok(()) => println!("      ok"),
            Err(why) => {
                println!("      FAILED: {why}");
                failures += 1;
            }
        }
    }
    if failures > 0 {
        return Err(format!("{failures} of {total} store(s) failed the check"));
    }
    println!("all {total} store(s) ok");
    Ok(())
}

fn describe(config: &StoreConfig) -> String {
    match config {
        StoreConfig::S3(s3) => format!(
            "s3 bucket '{}', region '{}', endpoint {}, {} addressing",
            s3.bucket,
            s3.region,
            s3.endpoint.as_deref().unwrap_or("AWS"),
            if s3.path_style { "path-style" } else { "virtual-hosted" }
        ),
        StoreConfig::Gcs(g) => format!(
            "gcs bucket '{}', {} credentials",
            g.bucket,
            if g.hmac_access_id.is_some() { "HMAC" } else { "service-account" }
        ),
        StoreConfig::Azure(a) => format!(
            "azure account '{}', container '{}', endpoint {}",
            a.account,
            a.container,
            a.endpoint.as_deref().unwrap_or("Azure")
        ),
        StoreConfig::Local(l) => format!("local root '{}'", l.root),
    }
}

/// Prints one progress step.
fn step(what: &str) {
    println!("      {what}");
}

async fn check_store(catalog: &Catalog, engine: &Engine, name: &str, config: &StoreConfig) -> Result<(), String> {
    if let StoreConfig::Local(local) = config {
        let root = Path::new(&local.root);
        match std::fs::read_dir(root) {
            Ok(_) => step(&format!("directory {} is readable", root.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "the directory {} does not exist (relative roots are relative to the config file)",
                    root.display()
                ))
            }
            Err(e) => return Err(format!("the directory {} cannot be read: {e}", root.display())),
        }
    }
    let store = open_store(config, Tuning::Check).map_err(|e| explain(config, &e))?;
    let mut sample = first_object(&store, "").await.map_err(|e| explain(config, &e))?;
    step(&format!("listing works ({})", if sample.is_some() { "not empty" } else { "empty" }));
    for (location, path) in asset_locations(catalog, name) {
        match first_object(&store, &format!("{}/", path.trim_matches('/'))).await {
            Ok(Some(key)) => {
                step(&format!("{location}: found {path}/"));
                sample.get_or_insert(key);
            }
            Ok(None) => return Err(format!("{location}: nothing at '{path}/' in this store")),
            Err(e) => return Err(format!("{location}: {}", explain(config, &e))),
        }
    }
    let probe = sample.as_deref().unwrap_or("opensharing-check");
    let url = engine.sign_url(name, probe, now_ms(), 60).map_err(|e| format!("URLs cannot be signed: {e}"))?;
    step("file URLs can be signed");
    if let (Some(key), false) = (sample, matches!(config, StoreConfig::Local(_))) {
        fetch_first_byte(&url).await.map_err(|why| format!("a signed URL for '{key}' was refused: {why}"))?;
        step(&format!("a signed URL for '{key}' can be read"));
    }
    Ok(())
}

/// `(share.schema.asset, path)` of every asset stored in `store`.
fn asset_locations(catalog: &Catalog, store: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for share in &catalog.shares {
        for schema in &share.schemas {
            for asset in &schema.assets {
                let config = &asset.config;
                let paths = config.path.iter().chain(config.versions.iter().map(|v| &v.path));
                for path in paths.filter(|_| config.store.as_deref() == Some(store)) {
                    out.push((format!("{}.{}.{}", share.name, schema.name, asset.name()), path.clone()));
                }
            }
        }
    }
    out
}

/// The first key under `prefix` (a directory), if any.
async fn first_object(store: &Arc<dyn ObjectStore>, prefix: &str) -> Result<Option<String>, String> {
    let dir = StorePath::parse(prefix.trim_end_matches('/')).map_err(|e| e.to_string())?;
    match store.list(Some(&dir)).next().await {
        None => Ok(None),
        Some(Ok(meta)) => Ok(Some(meta.location.to_string())),
        Some(Err(e)) => Err(error_chain(&e)),
    }
}

/// Reads the first byte through a signed URL, as a recipient would.
async fn fetch_first_byte(url: &str) -> Result<(), String> {
    let client =
        reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
    let response = client.get(url).header("Range", "bytes=0-0").send().await.map_err(|e| {
        // The error would print the URL, whose query holds a signature: keep only the cause.
        let cause = std::error::Error::source(&e).map_or_else(|| "request failed".to_string(), |s| s.to_string());
        format!("the storage endpoint cannot be reached ({cause})")
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let code = body.split("<Code>").nth(1).and_then(|r| r.split("</Code>").next()).unwrap_or("");
    Err(format!("HTTP {status} {code}"))
}

/// Turns a storage error into advice.
fn explain(config: &StoreConfig, error: &str) -> String {
    let e = error.to_ascii_lowercase();
    let advice = if e.contains("signaturedoesnotmatch") {
        "the secret access key is wrong (the signature does not match)"
    } else if e.contains("invalidaccesskeyid") || e.contains("notsignedup") || e.contains("access key id") {
        "the access key id is not known to the server"
    } else if e.contains("authorizationheadermalformed")
        || e.contains("permanentredirect")
        || e.contains("wrong region")
        || e.contains("incorrectendpoint")
    {
        "the region does not match the bucket's region"
    } else if e.contains("nosuchbucket") || e.contains("containernotfound") || e.contains("404") {
        "the bucket or container does not exist at this endpoint"
    } else if e.contains("403") || e.contains("accessdenied") || e.contains("forbidden") || e.contains("authorization")
    {
        "access denied: the credentials do not allow listing or reading this bucket"
    } else if e.contains("dns error") || e.contains("failed to lookup") {
        "the endpoint's host name does not resolve"
    } else if e.contains("connection refused") || e.contains("connect") || e.contains("timed out") {
        "the endpoint cannot be reached: check the scheme, host and port"
    } else if e.contains("certificate") || e.contains("tls") {
        "the endpoint's TLS certificate is not trusted"
    } else {
        "the store cannot be read"
    };
    let hint = match config {
        StoreConfig::S3(s3) if s3.endpoint.is_some() && !s3.path_style => {
            " (custom endpoints such as MinIO, Ceph and s3s usually need \"path_style\": true)"
        }
        _ => "",
    };
    format!("{advice}{hint}; detail: {error}")
}
