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
