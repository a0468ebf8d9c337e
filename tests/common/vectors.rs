//! Locates the shared signing vectors (`../shared/vectors`, or `$OPENSHARING_SHARED_DIR/vectors`).
#![allow(dead_code)]

use std::path::PathBuf;

pub fn vectors_dir() -> PathBuf {
    let shared = std::env::var_os("OPENSHARING_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = shared.join("vectors");
    assert!(dir.is_dir(), "signing vectors not found at {} (set OPENSHARING_SHARED_DIR)", dir.display());
    dir
}

pub fn read_json(relative: &str) -> serde_json::Value {
    let path = vectors_dir().join(relative);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

pub fn timestamp(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}
