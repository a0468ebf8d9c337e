//! Reading the configuration file: the catalog it describes and the stores it opens.

use std::path::{Path, PathBuf};

use opensharing::Catalog;

use crate::storage::{Stores, Tuning};

/// Reads and validates a configuration file and opens its stores. Errors name the file and the
/// offending field, never a secret value.
pub fn load(config_path: &Path, tuning: Tuning) -> Result<(Catalog, Stores), String> {
    let catalog = read(config_path)?;
    let stores = Stores::open(&catalog, tuning)?;
    Ok((catalog, stores))
}

/// Reads and validates a configuration file; relative `local` store roots are relative to the
/// file's directory.
pub fn read(config_path: &Path) -> Result<Catalog, String> {
    let json = std::fs::read(config_path).map_err(|e| format!("cannot read {}: {e}", config_path.display()))?;
    let catalog =
        Catalog::from_json(&json, &|k| std::env::var(k).ok()).map_err(|e| format!("{}: {e}", config_path.display()))?;
    Ok(catalog.with_base_dir(&config_dir(config_path)))
}

/// The directory relative `local` store roots are resolved against: the config file's own.
fn config_dir(config_path: &Path) -> PathBuf {
    config_path.parent().map(Path::to_path_buf).filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| ".".into())
}

/// The time the engine is given: Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
