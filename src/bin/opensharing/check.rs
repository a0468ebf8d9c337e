//! `opensharing check`: tries every store with its configured settings and says in plain words
//! what is wrong (the usual cause of a silent 403 from a sharing server).

use std::path::Path;

use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use opensharing::catalog::StoreConfig;

use crate::serve::{config_dir, load};
use crate::storage::local_root;

/// Checks every store; fails when any check fails.
pub fn run(config_path: &Path) -> Result<(), String> {
    let (catalog, stores) = load(config_path)?;
    println!(
        "configuration {}: valid ({} stores, {} shares)",
        config_path.display(),
        catalog.stores.len(),
        catalog.shares.len()
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let mut failures = 0;
    for (i, (name, config)) in catalog.stores.iter().enumerate() {
        print!("[{}/{}] store '{name}' ({}): ", i + 1, catalog.stores.len(), describe(config));
        let Some(store) = stores.get(name) else { continue };
        let outcome = runtime.block_on(async {
            let mut listing = store.list(Some(&StorePath::from("")));
            match listing.next().await {
                None | Some(Ok(_)) => Ok(()),
                Some(Err(e)) => Err(explain(config, &e.to_string())),
            }
        });
        if let StoreConfig::Local(local) = config {
            let root = local_root(&config_dir(config_path), &local.root);
            if !root.is_dir() {
                println!("FAILED: the directory {} does not exist", root.display());
                failures += 1;
                continue;
            }
        }
        let outcome = outcome.and_then(|()| match config {
            StoreConfig::Local(_) => Ok(()),
            _ => runtime.block_on(sign_and_fetch(&catalog, name, config, store)),
        });
        match outcome {
            Ok(()) => println!("ok"),
            Err(why) => {
                println!("FAILED: {why}");
                failures += 1;
            }
        }
    }
    if failures > 0 {
        return Err(format!("{failures} store(s) failed the check"));
    }
    Ok(())
}

/// Signs a URL for the first object of the store with the engine's signer and reads its first
/// byte through it, as a recipient would: the request that fails silently with a 403 when the
/// endpoint, region, addressing style or credentials are wrong.
async fn sign_and_fetch(
    catalog: &opensharing::Catalog,
    name: &str,
    config: &StoreConfig,
    store: &std::sync::Arc<dyn object_store::ObjectStore>,
) -> Result<(), String> {
    let Some(Ok(first)) = store.list(Some(&StorePath::from(""))).next().await else {
        print!("empty store, no URL to fetch; ");
        return Ok(());
    };
    let key = first.location.to_string();
    let local = std::sync::Arc::new(opensharing::signing::local::LocalSigner::new(&[0; 32]));
    let signer = opensharing::signing::store::StoreSigner::new(name, config, catalog.endpoint.as_deref(), &local)
        .map_err(|e| format!("URLs cannot be signed: {e}"))?;
    let batch = signer.batch(crate::serve::now_ms(), 60).map_err(|e| format!("URLs cannot be signed: {e}"))?;
    let mut url = String::new();
    batch.sign_into(&key, &mut url).map_err(|e| format!("URLs cannot be signed: {e}"))?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let response = client.get(&url).header("Range", "bytes=0-0").send().await.map_err(|e| {
        // The error would print the URL, whose query holds a signature: keep only the cause.
        let cause = std::error::Error::source(&e).map_or_else(|| "request failed".to_string(), |s| s.to_string());
        format!("a signed URL cannot reach the endpoint ({cause})")
    })?;
    let status = response.status();
    if status.is_success() {
        print!("signed URL for '{key}' read; ");
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let code = body.split("<Code>").nth(1).and_then(|r| r.split("</Code>").next()).unwrap_or("");
    Err(explain(config, &format!("a signed URL was refused: HTTP {status} {code}")))
}

fn describe(config: &StoreConfig) -> String {
    match config {
        StoreConfig::S3(s3) => format!(
            "s3 bucket {} region {} endpoint {} {}",
            s3.bucket,
            s3.region,
            s3.endpoint.as_deref().unwrap_or("AWS"),
            if s3.path_style { "path-style" } else { "virtual-hosted" }
        ),
        StoreConfig::Gcs(g) => format!("gcs bucket {}", g.bucket),
        StoreConfig::Azure(a) => format!("azure account {} container {}", a.account, a.container),
        StoreConfig::Local(l) => format!("local root {}", l.root),
    }
}

/// Turns a storage error into advice.
fn explain(config: &StoreConfig, error: &str) -> String {
    let e = error.to_ascii_lowercase();
    let advice = if e.contains("signaturedoesnotmatch") {
        "the secret access key is wrong (the signature does not match)"
    } else if e.contains("invalidaccesskeyid") || e.contains("access key") {
        "the access key id is not known to the server"
    } else if e.contains("nosuchbucket") || e.contains("404") {
        "the bucket or container does not exist at this endpoint"
    } else if e.contains("permanentredirect") || e.contains("authorizationheadermalformed") || e.contains("region") {
        "the region does not match the bucket's region"
    } else if e.contains("403") || e.contains("accessdenied") || e.contains("forbidden") {
        "access denied: the credentials may not allow listing or reading this bucket"
    } else if e.contains("connection refused") || e.contains("dns") || e.contains("connect") {
        "the endpoint cannot be reached: check the host and port"
    } else {
        "the store cannot be read"
    };
    let hint = match config {
        StoreConfig::S3(s3) if s3.endpoint.is_some() && !s3.path_style => {
            " (custom endpoints such as MinIO, Ceph and R2 usually need \"path_style\": true)"
        }
        _ => "",
    };
    format!("{advice}{hint}; detail: {error}")
}
