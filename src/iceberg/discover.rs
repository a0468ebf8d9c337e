//! Finding a table's current metadata file through IO needs, without reading every file:
//!
//! 1. a `metadata_path` pinned in the configuration is read as it is (it must lie under the
//!    table location: 403 otherwise);
//! 2. else `metadata/version-hint.text` (the Hadoop layout): `N` names `vN.metadata.json`, a
//!    file name names that file;
//! 3. else (no hint, or the hinted file is gone) one listing of `metadata/`, and the highest
//!    `NNNNN-uuid.metadata.json` or `vN.metadata.json` in it.

use super::error::IcebergError;
use crate::exchange::{IoNeed, IoResult, ObjectMeta};

/// The hint file of the Hadoop table layout.
const VERSION_HINT: &str = "version-hint.text";
/// The suffix of metadata files.
const METADATA_SUFFIX: &str = ".metadata.json";

/// Where discovery stands.
enum Stage {
    Start,
    Hint,
    Hinted(String),
    Listing,
    Reading { key: String, pinned: bool },
    Done,
}

/// One table's metadata discovery.
pub(crate) struct Discovery {
    store: String,
    /// `{root}/metadata/` (or `metadata/` at the store's root).
    metadata_dir: String,
    pinned: Option<String>,
    stage: Stage,
}

/// The next step of a discovery.
pub(crate) enum Found {
    /// Perform this IO and pass the result to [`Discovery::advance`].
    Need(IoNeed),
    /// The current metadata file: its key and its bytes.
    Metadata { key: String, bytes: bytes::Bytes },
}

impl Discovery {
    /// Discovery for the table at `root` (a key prefix without leading or trailing `/`) in
    /// `store`. A `pinned` metadata path (store-relative) outside the table location is
    /// refused with 403.
    pub fn new(store: &str, root: &str, pinned: Option<&str>) -> Result<Discovery, IcebergError> {
        let metadata_dir = if root.is_empty() { "metadata/".to_string() } else { format!("{root}/metadata/") };
        let pinned = match pinned {
            None => None,
            Some(path) => {
                let key = path.trim_start_matches('/');
                let inside = root.is_empty() || key.strip_prefix(root).is_some_and(|rest| rest.starts_with('/'));
                if !inside || key.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
                    return Err(IcebergError::forbidden(
                        "The table's metadata file lies outside the table location: it is not shared",
                    ));
                }
                Some(key.to_string())
            }
        };
        Ok(Discovery { store: store.to_string(), metadata_dir, pinned, stage: Stage::Start })
    }

    fn get(&self, key: &str) -> IoNeed {
        IoNeed::Get { store: self.store.clone(), key: key.to_string(), range: None }
    }

    fn list(&mut self) -> Found {
        self.stage = Stage::Listing;
        Found::Need(IoNeed::List {
            store: self.store.clone(),
            prefix: self.metadata_dir.clone(),
            start_after: None,
            max_keys: None,
        })
    }

    fn read(&mut self, key: String, pinned: bool) -> Found {
        let need = self.get(&key);
        self.stage = Stage::Reading { key, pinned };
        Found::Need(need)
    }

    /// Advances with the answer to the previous need (`None` on the first call).
    pub fn advance(&mut self, input: Option<IoResult>) -> Result<Found, IcebergError> {
        if let Some(IoResult::Failed(why)) = &input {
            self.stage = Stage::Done;
            return Err(IcebergError::storage("The table's storage could not be read", why.clone()));
        }
        match (std::mem::replace(&mut self.stage, Stage::Done), input) {
            (Stage::Start, _) => match self.pinned.clone() {
                Some(key) => Ok(self.read(key, true)),
                None => {
                    self.stage = Stage::Hint;
                    Ok(Found::Need(self.get(&format!("{}{VERSION_HINT}", self.metadata_dir))))
                }
            },
            (Stage::Hint, Some(IoResult::Bytes(bytes))) => match hinted_file(&bytes) {
                Some(name) => {
                    let key = format!("{}{name}", self.metadata_dir);
                    let need = self.get(&key);
                    self.stage = Stage::Hinted(key);
                    Ok(Found::Need(need))
                }
                None => Ok(self.list()),
            },
            (Stage::Hint, Some(IoResult::NotFound)) => Ok(self.list()),
            (Stage::Hinted(key), Some(IoResult::Bytes(bytes))) => Ok(Found::Metadata { key, bytes }),
            (Stage::Hinted(_), Some(IoResult::NotFound)) => Ok(self.list()),
            (Stage::Listing, Some(IoResult::Listing(listing))) => match newest(&self.metadata_dir, &listing.entries) {
                Some(key) => Ok(self.read(key, false)),
                None => Err(IcebergError::storage(
                    "The table has no metadata file",
                    format!("no *.metadata.json under {}", self.metadata_dir),
                )),
            },
            (Stage::Reading { key, .. }, Some(IoResult::Bytes(bytes))) => Ok(Found::Metadata { key, bytes }),
            (Stage::Reading { key, pinned }, Some(IoResult::NotFound)) => Err(IcebergError::storage(
                "The table's metadata file is missing",
                format!("{} {key} does not exist", if pinned { "the configured metadata_path" } else { "listed" }),
            )),
            _ => Err(IcebergError::storage(
                "The table's storage could not be read",
                "the host answered a metadata read with an unexpected result",
            )),
        }
    }
}

/// The file a `version-hint.text` names: `N` is `vN.metadata.json`; a plain file name is that
/// file (with `.metadata.json` added when missing). Anything else is ignored.
fn hinted_file(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.is_empty() || text.len() > 255 {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("v{}{METADATA_SUFFIX}", text.parse::<u64>().ok()?));
    }
    let plain = text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !plain || text.starts_with('.') {
        return None;
    }
    Some(if text.ends_with(METADATA_SUFFIX) { text.to_string() } else { format!("{text}{METADATA_SUFFIX}") })
}

/// The version of a metadata file name: `NNNNN-<uuid>.metadata.json` or `vN.metadata.json`.
/// Compressed files (`….gz.metadata.json`) are skipped: they cannot be relayed as JSON.
fn version_of(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(METADATA_SUFFIX)?;
    if stem.ends_with(".gz") {
        return None;
    }
    let digits = match stem.strip_prefix('v') {
        Some(n) => n,
        None => stem.split_once('-')?.0,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The key of the newest metadata file directly under `dir`: the highest version; on a tie, the
/// latest modified, then the greatest key.
fn newest(dir: &str, entries: &[ObjectMeta]) -> Option<String> {
    entries
        .iter()
        .filter_map(|e| {
            let name = e.key.strip_prefix(dir)?;
            (!name.contains('/')).then_some(())?;
            Some(((version_of(name)?, e.last_modified_ms, e.key.as_str()), e))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, e)| e.key.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_version_names() {
        assert_eq!(version_of("00012-3f1c.metadata.json"), Some(12));
        assert_eq!(version_of("v7.metadata.json"), Some(7));
        assert_eq!(version_of("v7.gz.metadata.json"), None);
        assert_eq!(version_of("00001-a.gz.metadata.json"), None);
        assert_eq!(version_of("snap-1-1-a.avro"), None);
        assert_eq!(version_of("x-1.metadata.json"), None);
        assert_eq!(version_of("vx.metadata.json"), None);
    }

    #[test]
    fn reads_hints() {
        assert_eq!(hinted_file(b"3\n").as_deref(), Some("v3.metadata.json"));
        assert_eq!(hinted_file(b"00004-ab").as_deref(), Some("00004-ab.metadata.json"));
        assert_eq!(hinted_file(b"v2.metadata.json").as_deref(), Some("v2.metadata.json"));
        assert_eq!(hinted_file(b"../x"), None);
        assert_eq!(hinted_file(b""), None);
        assert_eq!(hinted_file(&[0xff]), None);
    }
}
