//! The streamed body of `query` and `changes` responses: the header lines, then one line per
//! file, signed as it is written, in pieces of about 64 KiB. The response is never built whole.

use std::borrow::Cow;
use std::sync::Arc;

use super::lines::{self, FileKind, MetadataExtras, PartitionsJson, Signed, Stamp};
use super::params::FileIdHash;
use super::TableRef;
use crate::delta::dv::relative_dv_path;
use crate::delta::{Action, AddFile, Commit, DeletionVector, Snapshot};
use crate::exchange::BodyStream;
use crate::protocol::capabilities::ResponseFormat;
use crate::signing::store::UrlBatch;
use crate::state::url_reuse::SignedFiles;
use crate::state::EngineState;

/// Target size of one body piece.
const CHUNK_BYTES: usize = 64 * 1024;

/// One action of a commit range: indices into the commits.
#[derive(Clone, Copy, Debug)]
pub(super) struct ChangeItem {
    pub commit: u32,
    pub action: u32,
}

/// What the body lists.
pub(super) enum Items {
    /// Files of a snapshot (indices into `snapshot.files`).
    Snapshot { snapshot: Arc<Snapshot>, indices: Vec<u32>, stamp: Stamp },
    /// Actions of a commit range.
    Changes { commits: Arc<Vec<Commit>>, items: Vec<ChangeItem>, metadata_cdf: bool },
}

impl Items {
    fn len(&self) -> usize {
        match self {
            Items::Snapshot { indices, .. } => indices.len(),
            Items::Changes { items, .. } => items.len(),
        }
    }
}

/// Signatures being collected for the reuse window (see [`crate::state::url_reuse`]).
pub(super) struct Record {
    pub key: String,
    pub signatures: Vec<[u8; 32]>,
    pub state: Arc<EngineState>,
    pub signed_at_ms: i64,
}

pub(super) struct TableBody {
    head: Vec<u8>,
    items: Items,
    next: usize,
    format: ResponseFormat,
    batch: Arc<UrlBatch>,
    reuse: Option<Arc<SignedFiles>>,
    record: Option<Record>,
    table: TableRef,
    id_hash: FileIdHash,
    tail: Option<Vec<u8>>,
    urls_signed: u64,
    url: String,
    dv_url: String,
    /// Scratch buffer for store keys.
    key: String,
    /// The JSON of the partition values written last.
    partitions: PartitionsJson,
    /// Why the body stopped early, reported as `endStreamAction.errorMessage`.
    failure: Option<String>,
}

impl TableBody {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        head: Vec<u8>,
        items: Items,
        format: ResponseFormat,
        batch: Arc<UrlBatch>,
        reuse: Option<Arc<SignedFiles>>,
        record: Option<Record>,
        table: TableRef,
        id_hash: FileIdHash,
        tail: Option<Vec<u8>>,
    ) -> TableBody {
        TableBody {
            head,
            items,
            next: 0,
            format,
            batch,
            reuse,
            record,
            table,
            id_hash,
            tail,
            urls_signed: 0,
            url: String::with_capacity(512),
            dv_url: String::new(),
            key: String::with_capacity(256),
            partitions: PartitionsJson::default(),
            failure: None,
        }
    }

    /// Signs the object at log path `path` (relative, URI-encoded) into `self.url`. A key the
    /// scheme refuses leaves the URL empty and is reported in the closing `endStreamAction`.
    ///
    /// `snapshot_index` is the file's index in the snapshot: its signature is then taken from the
    /// reuse window when there is one, or recorded for it.
    fn sign(&mut self, path: &str, snapshot_index: Option<usize>) {
        let mut key = std::mem::take(&mut self.key);
        if path.as_bytes().contains(&b'%') {
            let relative: Cow<'_, str> = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
            self.table.key_into(&relative, &mut key);
        } else {
            self.table.key_into(path, &mut key);
        }
        self.url.clear();
        self.urls_signed += 1;
        if let (Some(i), Some(reuse)) = (snapshot_index, &self.reuse) {
            if reuse.batch.assemble(&key, &reuse.signatures[i], &mut self.url) {
                self.key = key;
                return;
            }
        }
        match self.batch.sign_keeping(&key, &mut self.url) {
            Ok(Some(signature)) => {
                if let (Some(i), Some(record)) = (snapshot_index, &mut self.record) {
                    record.signatures[i] = signature;
                }
            }
            Ok(None) => self.record = None,
            Err(e) => {
                self.urls_signed -= 1;
                self.failure = Some(format!("a file of the table cannot be shared: {e}"));
            }
        }
        self.key = key;
    }

    /// Signs `path` (not a snapshot file) and returns its file id.
    fn sign_with_id(&mut self, path: &str) -> String {
        self.sign(path, None);
        self.id_hash.id(path)
    }

    /// The signed file just written to `self.url`, without a deletion vector.
    fn signed<'a>(&'a self, id: &'a str) -> Signed<'a> {
        Signed { url: &self.url, id, expiration: self.batch.expires_at_ms, deletion_vector: None }
    }

    /// The signed form of a `u` deletion vector (storage type `p`, path = signed URL) and its
    /// file id; other kinds pass through unchanged.
    fn sign_dv(&mut self, dv: &DeletionVector) -> Option<(DeletionVector, String)> {
        if dv.storage_type != "u" {
            return None;
        }
        let relative = relative_dv_path(&dv.path_or_inline_dv)?;
        self.dv_url.clear();
        if let Err(e) = self.batch.sign_into(&self.table.key(&relative), &mut self.dv_url) {
            self.failure = Some(format!("a deletion vector of the table cannot be shared: {e}"));
            return None;
        }
        self.urls_signed += 1;
        let signed = DeletionVector { storage_type: "p".into(), path_or_inline_dv: self.dv_url.clone(), ..dv.clone() };
        Some((signed, self.id_hash.id(&relative)))
    }

    fn write_add(
        &mut self,
        out: &mut Vec<u8>,
        kind: FileKind,
        f: &AddFile,
        stamp: Stamp,
        id: &str,
        index: Option<usize>,
    ) {
        self.sign(&f.path, index);
        let dv = f.deletion_vector.as_deref().and_then(|dv| self.sign_dv(dv));
        let passthrough = f.deletion_vector.as_deref().filter(|_| dv.is_none());
        let mut partitions = std::mem::take(&mut self.partitions);
        let signed = Signed { deletion_vector: dv.as_ref().map(|(d, id)| (d, id.as_str())), ..self.signed(id) };
        match passthrough {
            Some(inline) => {
                let signed = Signed { deletion_vector: Some((inline, "")), ..signed };
                lines::add(out, self.format, kind, f, &signed, stamp, &mut partitions)
            }
            None => lines::add(out, self.format, kind, f, &signed, stamp, &mut partitions),
        }
        self.partitions = partitions;
    }

    fn write_item(&mut self, out: &mut Vec<u8>, index: usize) {
        match &self.items {
            Items::Snapshot { snapshot, indices, stamp } => {
                let (snapshot, stamp, i) = (snapshot.clone(), *stamp, indices[index] as usize);
                if let Some(&ahead) = indices.get(index + PREFETCH_AHEAD) {
                    let f = &snapshot.files[ahead as usize];
                    prefetch(f.path.as_bytes());
                    prefetch(f.stats.as_ref().map_or(&[][..], |s| s.literal().get().as_bytes()));
                }
                let mut digits = [0u8; 64];
                let id = self.id_hash.id_of_digest_in(snapshot.path_digest(i), &mut digits);
                self.write_add(out, FileKind::File, &snapshot.files[i], stamp, id, Some(i));
            }
            Items::Changes { commits, items, metadata_cdf } => {
                let (commits, item, metadata_cdf) = (commits.clone(), items[index], *metadata_cdf);
                let commit = &commits[item.commit as usize];
                let stamp = Stamp { version: Some(commit.version), timestamp: Some(commit.timestamp_ms) };
                match &commit.actions[item.action as usize] {
                    Action::Add(f) => {
                        let id = self.id_hash.id(&f.path);
                        self.write_add(out, FileKind::Add, f, stamp, &id, None);
                    }
                    Action::Remove(f) => {
                        let id = self.sign_with_id(&f.path);
                        lines::remove(out, self.format, f, &self.signed(&id), stamp);
                    }
                    Action::Cdc(f) => {
                        let id = self.sign_with_id(&f.path);
                        lines::cdc(out, self.format, f, &self.signed(&id), stamp);
                    }
                    Action::Metadata(m) => {
                        let extras = MetadataExtras {
                            version: Some(commit.version),
                            size: None,
                            num_files: None,
                            cdf_shared: metadata_cdf,
                        };
                        lines::metadata(out, self.format, m, &extras);
                    }
                    _ => {}
                }
            }
        }
    }
}

/// How many lines ahead the heap data of a snapshot file is asked for: its path and `stats` lie
/// scattered in memory after the sort by path, and a line takes long enough (a signature) for
/// the loads to arrive before it is written.
const PREFETCH_AHEAD: usize = 4;

/// Asks the CPU to start loading the cache line at the start of `bytes` (nothing if empty).
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if !bytes.is_empty() {
        // SAFETY: SSE is part of every x86_64 CPU, and a prefetch is a hint that never faults.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(bytes.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

impl BodyStream for TableBody {
    fn next_chunk(&mut self, out: &mut Vec<u8>) -> bool {
        out.append(&mut self.head);
        while out.len() < CHUNK_BYTES && self.next < self.items.len() && self.failure.is_none() {
            let line_start = out.len();
            self.write_item(out, self.next);
            self.next += 1;
            if let Some(message) = &self.failure {
                // The client learns of the error from the last line: no file line without a URL.
                out.truncate(line_start);
                lines::end_stream_error(out, message);
                return false;
            }
        }
        if self.next < self.items.len() {
            return true;
        }
        if let Some(tail) = self.tail.take() {
            out.extend_from_slice(&tail);
        }
        if let Some(r) = self.record.take() {
            let files = SignedFiles { batch: self.batch.clone(), signatures: r.signatures };
            r.state.url_reuse.put(r.key, r.signed_at_ms, files);
        }
        false
    }

    fn urls_signed(&self) -> u64 {
        self.urls_signed
    }
}
