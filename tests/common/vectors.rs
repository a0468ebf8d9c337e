//! Locates the signing vectors kept in the repository (`tests/vectors`, see its `SOURCES.md`).
#![allow(dead_code)]

use std::path::PathBuf;

pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

pub fn read_json(relative: &str) -> serde_json::Value {
    let path = vectors_dir().join(relative);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

pub fn timestamp(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}
