//! The set of active files during replay: a vector plus a hash index over (path, deletion
//! vector), so a 100,000-file checkpoint costs one copy of its paths, not two. Each file's path
//! is hashed with SHA-256 (its file id) as it arrives, while the freshly decoded path is still in
//! the cache: after the sort by path, the paths lie scattered in memory.
//!
//! The index is bucketed by the first eight bytes of that digest, so a file's path is hashed
//! once, not again by a `HashMap`'s hasher. Files of one path with different deletion vectors
//! share a bucket; its chain compares path and deletion vector exactly. The paths come from the
//! table's own log, which the provider writes, never from a request.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use super::actions::{AddFile, DeletionVector, SharedPartitionValues};
use crate::util::Prehashed;

const NONE: u32 = u32::MAX;

/// Active files keyed by their identity (path and deletion vector).
pub struct ActiveFiles {
    files: Vec<AddFile>,
    /// SHA-256 of `files[i].path`.
    digests: Vec<[u8; 32]>,
    /// Whether `files[i]` has been removed (kept in place so indices stay valid).
    removed: Vec<bool>,
    /// Next index with the same bucket (a chain per bucket).
    chain: Vec<u32>,
    /// Keyed by the bucket of the path's digest (see [`bucket`]), kept as it is.
    heads: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    /// One shared copy of each distinct set of partition values.
    partitions: HashSet<SharedPartitionValues>,
    /// Addresses of copies in `partitions`, by a few bits of the address: a checkpoint's
    /// decoder hands the files of a partition one copy, found here without hashing the values.
    /// `partitions` keeps those copies alive, so an address here is never another's.
    known: [usize; KNOWN_SLOTS],
}

/// Slots of [`ActiveFiles::known`].
const KNOWN_SLOTS: usize = 64;

impl Default for ActiveFiles {
    fn default() -> ActiveFiles {
        ActiveFiles {
            files: Vec::new(),
            digests: Vec::new(),
            removed: Vec::new(),
            chain: Vec::new(),
            heads: HashMap::default(),
            partitions: HashSet::new(),
            known: [0; KNOWN_SLOTS],
        }
    }
}

/// The address of a set of partition values, and its slot in [`ActiveFiles::known`].
fn address(values: &SharedPartitionValues) -> (usize, usize) {
    let address = std::sync::Arc::as_ptr(values).cast::<u8>() as usize;
    (address, (address >> 4) % KNOWN_SLOTS)
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
    /// Starts from a snapshot's files and their path digests.
    pub fn from_files(files: &[AddFile], digests: &[[u8; 32]]) -> ActiveFiles {
        let mut active = ActiveFiles::default();
        for (f, digest) in files.iter().zip(digests) {
            active.insert(f.clone(), *digest);
        }
        active
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
    pub fn add(&mut self, add: AddFile) {
        let digest = path_digest(&add.path);
        self.insert(add, digest);
    }

    /// Adds a file whose path's SHA-256 is `digest`, replacing one with the same identity.
    fn insert(&mut self, mut add: AddFile, digest: [u8; 32]) {
        let (at, slot) = address(&add.partition_values);
        if self.known[slot] != at {
            match self.partitions.get(&*add.partition_values) {
                Some(shared) => add.partition_values = shared.clone(),
                None => {
                    self.partitions.insert(add.partition_values.clone());
                }
            }
            let (at, slot) = address(&add.partition_values);
            self.known[slot] = at;
        }
        let hash = bucket(&digest);
        if let Some(i) = self.find(hash, &add.path, add.deletion_vector.as_deref()) {
            self.files[i] = add;
            self.digests[i] = digest;
            return;
        }
        let index = self.files.len() as u32;
        self.files.push(add);
        self.digests.push(digest);
        self.removed.push(false);
        self.chain.push(self.heads.insert(hash, index).unwrap_or(NONE));
    }

    /// Removes the file with this identity, if present.
    pub fn remove(&mut self, path: &str, dv: Option<&DeletionVector>) {
        if let Some(i) = self.find(bucket(&path_digest(path)), path, dv) {
            self.removed[i] = true;
        }
    }

    /// The active files, sorted by path (in place: no second copy of a large snapshot), and
    /// the SHA-256 of each one's path.
    pub fn into_sorted(self) -> (Vec<AddFile>, Vec<[u8; 32]>) {
        let ActiveFiles { mut files, mut digests, removed, .. } = self;
        drop_removed(&mut files, &removed);
        drop_removed(&mut digests, &removed);
        sort_by_path(&mut files, &mut digests);
        (files, digests)
    }
}

/// Keeps the items whose `removed` flag (same index) is false, in order.
fn drop_removed<T>(items: &mut Vec<T>, removed: &[bool]) {
    let mut flags = removed.iter();
    items.retain(|_| !flags.next().copied().unwrap_or(false));
}

/// The SHA-256 of a log path (file ids are made from it).
pub fn path_digest(path: &str) -> [u8; 32] {
    crate::util::sha256(path.as_bytes())
}

/// The bucket of a path in the index: the first eight bytes of its SHA-256 (uniform already).
fn bucket(digest: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// The first 32 bytes of a path as two big-endian integers (zero-padded): they order as the
/// bytes do, and tell most paths apart without reaching the strings.
fn path_key(path: &str) -> (u128, u128) {
    let mut bytes = [0u8; 32];
    let head = &path.as_bytes()[..path.len().min(32)];
    bytes[..head.len()].copy_from_slice(head);
    let (hi, lo) = bytes.split_at(16);
    (u128::from_be_bytes(hi.try_into().unwrap_or_default()), u128::from_be_bytes(lo.try_into().unwrap_or_default()))
}

/// Sorts files by path, and their digests alike: an order of small keys is sorted, then applied
/// by following its cycles, so each file (a large struct) moves about once rather than at every
/// step of the sort.
fn sort_by_path(files: &mut [AddFile], digests: &mut [[u8; 32]]) {
    if files.is_sorted_by(|a, b| a.path <= b.path) {
        return;
    }
    let mut order: Vec<(u128, u128, u32)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (hi, lo) = path_key(&f.path);
            (hi, lo, i as u32)
        })
        .collect();
    order.sort_unstable_by(|a, b| {
        (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| files[a.2 as usize].path.cmp(&files[b.2 as usize].path))
    });
    let mut order: Vec<u32> = order.into_iter().map(|(_, _, i)| i).collect();
    // files[k] must become the file now at order[k]; a cycle start..=k is rotated by swaps.
    for start in 0..order.len() {
        let mut k = start;
        while order[k] as usize != start {
            let next = order[k] as usize;
            order[k] = k as u32;
            files.swap(k, next);
            digests.swap(k, next);
            k = next;
        }
        order[k] = k as u32;
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
        let (files, digests) = a.into_sorted();
        assert_eq!(files.iter().map(|f| (f.path.as_str(), f.size)).collect::<Vec<_>>(), [("b", 2), ("c", 3)]);
        assert_eq!(digests, [path_digest("b"), path_digest("c")]);
    }

    #[test]
    fn equal_partition_values_share_one_copy() {
        let mut a = ActiveFiles::default();
        let shared: SharedPartitionValues = vec![("day".to_string(), Some("x".to_string()))].into();
        for i in 0..300 {
            let mut f = add(&format!("p{i}"), 1);
            // A fresh copy for most files (as commits give), one copy for every fifth (as a
            // checkpoint's decoder gives).
            f.partition_values = match i % 5 {
                0 => shared.clone(),
                _ => vec![("day".to_string(), Some(format!("{}", i % 3)))].into(),
            };
            a.add(f);
        }
        let (files, _) = a.into_sorted();
        let copies: HashSet<usize> = files.iter().map(|f| address(&f.partition_values).0).collect();
        assert_eq!(copies.len(), 4);
        assert!(files.iter().all(|f| f.partition_values.len() == 1));
    }

    #[test]
    fn sorts_as_the_paths_compare() {
        // Paths that share 32 bytes and more, differ early, are prefixes of one another, or
        // hold bytes above 0x7f: the keys and the cycles must give the plain sort's order.
        let mut paths: Vec<String> = (0..500u32)
            .map(|i| match i % 4 {
                0 => format!("day=2024-01-{:02}/part-{:05}-same-long-prefix-here.parquet", i % 28, i * 7919 % 500),
                1 => format!("p{}", i * 31 % 97),
                2 => "é".repeat((i % 9) as usize),
                _ => format!("day=2024-01-{:02}/part-{:05}", i % 28, i % 13),
            })
            .collect();
        let mut files: Vec<AddFile> = paths.iter().map(|p| add(p, 1)).collect();
        let mut digests: Vec<[u8; 32]> = paths.iter().map(|p| path_digest(p)).collect();
        sort_by_path(&mut files, &mut digests);
        paths.sort();
        assert_eq!(files.iter().map(|f| f.path.clone()).collect::<Vec<_>>(), paths);
        assert_eq!(digests, paths.iter().map(|p| path_digest(p)).collect::<Vec<_>>());
    }
}
