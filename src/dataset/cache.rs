//! What an engine remembers about Parquet datasets: decoded footers, keyed by object and
//! checked against its size and modification time, and the last snapshot of each dataset with
//! the listing it was built from. Both are bounded; the oldest entry goes first.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::footer::FooterInfo;
use crate::delta::{LogEntry, Snapshot};

/// How many footers an engine keeps.
const FOOTER_ENTRIES: usize = 100_000;
/// How many dataset snapshots an engine keeps.
const SNAPSHOT_ENTRIES: usize = 16;

struct Footer {
    size: u64,
    modified_ms: i64,
    info: Arc<FooterInfo>,
}

#[derive(Default)]
struct Footers {
    map: HashMap<String, Footer>,
    order: VecDeque<String>,
}

/// A dataset snapshot and the data files it was built from.
pub struct CachedSnapshot {
    /// The data files listed, sorted by path.
    pub listing: Vec<LogEntry>,
    /// The snapshot.
    pub snapshot: Arc<Snapshot>,
}

/// The dataset caches of an engine.
pub struct DatasetCache {
    footers: Mutex<Footers>,
    snapshots: Mutex<VecDeque<(String, Arc<CachedSnapshot>)>>,
    next_content_id: AtomicU64,
}

impl Default for DatasetCache {
    fn default() -> DatasetCache {
        DatasetCache { footers: Mutex::default(), snapshots: Mutex::default(), next_content_id: AtomicU64::new(1) }
    }
}

impl std::fmt::Debug for DatasetCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatasetCache")
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl DatasetCache {
    /// The footer of object `key` if it was read at this size and modification time.
    pub fn footer(&self, key: &str, entry: &LogEntry) -> Option<Arc<FooterInfo>> {
        let footers = lock(&self.footers);
        let f = footers.map.get(key)?;
        (f.size == entry.size && f.modified_ms == entry.last_modified_ms).then(|| f.info.clone())
    }

    /// Remembers the footer of object `key` as listed in `entry`.
    pub fn put_footer(&self, key: String, entry: &LogEntry, info: Arc<FooterInfo>) {
        let mut footers = lock(&self.footers);
        let footer = Footer { size: entry.size, modified_ms: entry.last_modified_ms, info };
        if footers.map.insert(key.clone(), footer).is_some() {
            return;
        }
        footers.order.push_back(key);
        while footers.order.len() > FOOTER_ENTRIES {
            if let Some(old) = footers.order.pop_front() {
                footers.map.remove(&old);
            }
        }
    }

    /// The last snapshot of dataset `table`.
    pub fn snapshot(&self, table: &str) -> Option<Arc<CachedSnapshot>> {
        lock(&self.snapshots).iter().find(|(t, _)| t == table).map(|(_, s)| s.clone())
    }

    /// Remembers the snapshot of dataset `table`, replacing the previous one.
    pub fn put_snapshot(&self, table: &str, cached: CachedSnapshot) {
        let mut snapshots = lock(&self.snapshots);
        snapshots.retain(|(t, _)| t != table);
        if snapshots.len() >= SNAPSHOT_ENTRIES {
            snapshots.pop_front();
        }
        snapshots.push_back((table.to_string(), Arc::new(cached)));
    }

    /// A content id no other snapshot of this engine has.
    pub fn new_content_id(&self) -> u64 {
        self.next_content_id.fetch_add(1, Ordering::Relaxed)
    }
}
