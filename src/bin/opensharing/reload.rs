//! Hot reload: on SIGHUP, and when the config file's modification time changes (checked every
//! second), the file is read and validated again. A valid one is swapped in atomically while
//! requests keep flowing; an invalid one is logged and the running configuration stays.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::signal::unix::Signal;

use crate::config_file::load;
use crate::log;
use crate::service::Host;
use crate::storage::Tuning;

/// How often the config file's modification time is checked.
const POLL: Duration = Duration::from_secs(1);

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Reloads on `hangup` and on file changes, forever.
pub async fn watch(host: &'static Host, config_path: PathBuf, mut hangup: Signal) {
    let mut seen = modified(&config_path);
    loop {
        let reason = tokio::select! {
            _ = hangup.recv() => "SIGHUP",
            _ = tokio::time::sleep(POLL) => {
                if modified(&config_path) == seen {
                    continue;
                }
                "config file changed"
            }
        };
        seen = modified(&config_path);
        reload(host, &config_path, reason);
    }
}

/// Loads the config file again and swaps it in; on any error the old one keeps serving.
fn reload(host: &Host, config_path: &Path, reason: &str) {
    let outcome = load(config_path, Tuning::Serve).and_then(|(catalog, stores)| {
        // Stores first (kept merged with the old ones), so a request that starts on the new
        // catalog finds its stores, and one still on the old catalog finds the old stores.
        host.set_stores(stores.merged_with(&host.stores()));
        host.engine.reload(catalog).map_err(|e| e.to_string())
    });
    match outcome {
        Ok(()) => log::event("reloaded", serde_json::json!({"reason": reason})),
        Err(error) => log::event("reload_failed", serde_json::json!({"reason": reason, "error": error})),
    }
}
