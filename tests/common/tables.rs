//! Real Delta tables written by `deltalake` (tests/e2e/make_tables.py), generated once per test
//! binary into the target directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use opensharing::delta::{LogEntry, LogRequest, LogResponse};

/// The Python with `deltalake` (`OPENSHARING_PYTHON`, set by scripts/setup.sh).
pub fn python() -> String {
    std::env::var("OPENSHARING_PYTHON").unwrap_or_else(|_| {
        let cached = format!("{}/.cache/opensharing-ci/venv/bin/python", std::env::var("HOME").unwrap_or_default());
        if Path::new(&cached).exists() {
            cached
        } else {
            "python3".into()
        }
    })
}

/// The directory holding the generated tables and `manifest.json`.
pub fn tables_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("delta-tables-{}", std::process::id()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/make_tables.py");
        let out = std::process::Command::new(python()).arg(&script).arg(&dir).output().unwrap_or_else(|e| {
            panic!("cannot run {} (install tests/e2e/requirements.txt; scripts/setup.sh does): {e}", python())
        });
        assert!(
            out.status.success(),
            "make_tables.py failed (is deltalake installed for {}?): {}",
            python(),
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

pub fn manifest() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(tables_dir().join("manifest.json")).unwrap()).unwrap()
}

/// Answers a log request from the table directory `root`, recording what was asked.
pub fn answer(root: &Path, request: &LogRequest, log: &mut Vec<LogRequest>) -> LogResponse {
    log.push(request.clone());
    match request {
        LogRequest::Get { path } => {
            std::fs::read(root.join(path)).map_or(LogResponse::NotFound, |b| LogResponse::Bytes(b.into()))
        }
        LogRequest::List { start_after } => {
            let Ok(dir) = std::fs::read_dir(root.join("_delta_log")) else { return LogResponse::NotFound };
            let mut entries: Vec<LogEntry> = dir
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .map(|e| {
                    let meta = e.metadata().unwrap();
                    let mtime = meta.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
                    LogEntry {
                        path: format!("_delta_log/{}", e.file_name().to_string_lossy()),
                        size: meta.len(),
                        last_modified_ms: mtime as i64,
                    }
                })
                .filter(|e| start_after.as_ref().is_none_or(|s| e.path.as_str() > s.as_str()))
                .collect();
            entries.sort_by(|a, b| a.path.cmp(&b.path));
            LogResponse::Listing(entries)
        }
    }
}
