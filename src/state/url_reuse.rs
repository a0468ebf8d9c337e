//! Signed URLs reused for a short window.
//!
//! A full snapshot response signs every file. For a minute afterwards, another full response
//! for the same table version reuses those signatures (one 32-byte signature per file, with the
//! batch that fixed their signing time), so a repeated query does no hashing. The window is
//! bounded: entries older than [`REUSE_WINDOW_MS`] are never used (a reused URL keeps at least
//! `url_ttl_seconds - 60` of its lifetime, and its `expirationTimestamp` is the original one),
//! and at most [`MAX_ENTRIES`] tables are kept (32 bytes per file: 3.2 MB for 100,000 files).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::signing::store::UrlBatch;

/// How long signatures are reused, ms.
pub const REUSE_WINDOW_MS: i64 = 60_000;
/// How many signed snapshots are kept.
pub const MAX_ENTRIES: usize = 8;

/// The signatures of every file of one snapshot, by file index, and the batch that made them.
pub(crate) struct SignedFiles {
    pub batch: Arc<UrlBatch>,
    pub signatures: Vec<[u8; 32]>,
}

struct Entry {
    key: String,
    signed_at_ms: i64,
    files: Arc<SignedFiles>,
}

/// The reuse cache of an engine state.
#[derive(Default)]
pub(crate) struct UrlReuse {
    entries: Mutex<VecDeque<Entry>>,
}

impl std::fmt::Debug for UrlReuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlReuse")
    }
}

impl UrlReuse {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Signatures for `key` made within the window before `now_ms`.
    pub fn get(&self, key: &str, now_ms: i64) -> Option<Arc<SignedFiles>> {
        self.lock()
            .iter()
            .rev()
            .find(|e| e.key == key && e.signed_at_ms <= now_ms && now_ms - e.signed_at_ms < REUSE_WINDOW_MS)
            .map(|e| e.files.clone())
    }

    /// Remembers the signatures of a complete response.
    pub fn put(&self, key: String, signed_at_ms: i64, files: SignedFiles) {
        let mut entries = self.lock();
        entries.retain(|e| e.key != key);
        if entries.len() >= MAX_ENTRIES {
            entries.pop_front();
        }
        entries.push_back(Entry { key, signed_at_ms, files: Arc::new(files) });
    }
}
