//! The set of active files during replay: a vector plus a hash index over (path, deletion
//! vector), so a 100,000-file checkpoint costs one copy of its paths, not two.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use super::actions::{AddFile, DeletionVector, SharedPartitionValues};

const NONE: u32 = u32::MAX;

/// Active files keyed by their identity (path and deletion vector).
#[derive(Default)]
pub struct ActiveFiles {
    files: Vec<AddFile>,
    /// Whether `files[i]` has been removed (kept in place so indices stay valid).
    removed: Vec<bool>,
    /// Next index with the same hash (a chain per hash bucket).
    chain: Vec<u32>,
    heads: HashMap<u64, u32>,
    hasher: RandomState,
    /// One shared copy of each distinct set of partition values.
    partitions: HashSet<SharedPartitionValues>,
}

fn same_dv(a: Option<&DeletionVector>, b: Option<&DeletionVector>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.storage_type == b.storage_type && a.path_or_inline_dv == b.path_or_inline_dv && a.offset == b.offset
        }
        _ => false,
    }
}

impl ActiveFiles {
    /// Starts from a snapshot's files.
    pub fn from_files(files: &[AddFile]) -> ActiveFiles {
        let mut active = ActiveFiles::default();
        for f in files {
            active.add(f.clone());
        }
        active
    }

    fn hash(&self, path: &str, dv: Option<&DeletionVector>) -> u64 {
        self.hasher.hash_one((path, dv.map(|d| (&d.storage_type, &d.path_or_inline_dv, d.offset))))
    }

    fn find(&self, hash: u64, path: &str, dv: Option<&DeletionVector>) -> Option<usize> {
        let mut i = *self.heads.get(&hash)?;
        while i != NONE {
            let f = &self.files[i as usize];
            if !self.removed[i as usize] && f.path == path && same_dv(f.deletion_vector.as_deref(), dv) {
                return Some(i as usize);
            }
            i = self.chain[i as usize];
        }
        None
    }

    /// Adds a file, replacing one with the same identity.
    pub fn add(&mut self, mut add: AddFile) {
        match self.partitions.get(&*add.partition_values) {
            Some(shared) => add.partition_values = shared.clone(),
            None => {
                self.partitions.insert(add.partition_values.clone());
            }
        }
        let hash = self.hash(&add.path, add.deletion_vector.as_deref());
        if let Some(i) = self.find(hash, &add.path, add.deletion_vector.as_deref()) {
            self.files[i] = add;
            return;
        }
        let index = self.files.len() as u32;
        self.files.push(add);
        self.removed.push(false);
        self.chain.push(self.heads.insert(hash, index).unwrap_or(NONE));
    }

    /// Removes the file with this identity, if present.
    pub fn remove(&mut self, path: &str, dv: Option<&DeletionVector>) {
        let hash = self.hash(path, dv);
        if let Some(i) = self.find(hash, path, dv) {
            self.removed[i] = true;
        }
    }

    /// The active files, sorted by path (in place: no second copy of a large snapshot).
    pub fn into_sorted(self) -> Vec<AddFile> {
        let ActiveFiles { mut files, removed, .. } = self;
        let mut index = 0;
        files.retain(|_| {
            index += 1;
            !removed[index - 1]
        });
        files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(path: &str, size: i64) -> AddFile {
        serde_json::from_value(serde_json::json!({"path": path, "size": size})).unwrap()
    }

    #[test]
    fn adds_replaces_and_removes() {
        let mut a = ActiveFiles::default();
        a.add(add("b", 1));
        a.add(add("a", 1));
        a.add(add("b", 2));
        a.remove("a", None);
        a.remove("missing", None);
        a.add(add("c", 3));
        let files = a.into_sorted();
        assert_eq!(files.iter().map(|f| (f.path.as_str(), f.size)).collect::<Vec<_>>(), [("b", 2), ("c", 3)]);
    }
}
