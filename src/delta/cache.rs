//! A small, bounded cache of snapshots, keyed by table and version, so a repeated query reads
//! only the log tail (or nothing, for a pinned version).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::Snapshot;

/// Snapshots of recently read tables. Bounded: the oldest entry goes first.
#[derive(Debug)]
pub struct SnapshotCache {
    capacity: usize,
    entries: Mutex<VecDeque<(String, Arc<Snapshot>)>>,
}

impl SnapshotCache {
    /// A cache of at most `capacity` snapshots.
    pub fn new(capacity: usize) -> SnapshotCache {
        SnapshotCache { capacity, entries: Mutex::new(VecDeque::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(String, Arc<Snapshot>)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The snapshot of `table` at `version`.
    pub fn get(&self, table: &str, version: i64) -> Option<Arc<Snapshot>> {
        self.lock().iter().find(|(t, s)| t == table && s.version == version).map(|(_, s)| s.clone())
    }

    /// The newest cached snapshot of `table`.
    pub fn newest(&self, table: &str) -> Option<Arc<Snapshot>> {
        self.lock().iter().filter(|(t, _)| t == table).max_by_key(|(_, s)| s.version).map(|(_, s)| s.clone())
    }

    /// Remembers a snapshot.
    pub fn put(&self, table: &str, snapshot: Arc<Snapshot>) {
        let mut entries = self.lock();
        if entries.iter().any(|(t, s)| t == table && s.version == snapshot.version) {
            return;
        }
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((table.to_string(), snapshot));
    }
}
