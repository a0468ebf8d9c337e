//! Snapshot replay: the table's protocol, metadata and active files at a version.
//!
//! The reader reads `_last_checkpoint`, lists `_delta_log/` from that checkpoint on (so only the
//! log tail is listed), loads the newest complete checkpoint at or below the target (classic,
//! multi-part, or v2 with sidecars) and applies the JSON commits after it. Given a cached
//! snapshot of the same table, it lists only the commits after it and applies those.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use super::actions::{is_absolute_path, parse_commit, Action, AddFile, Metadata, Protocol};
use super::active::{path_digest, ActiveFiles};
use super::checkpoint::parse_checkpoint;
use super::history::LogListing;
use super::log_files::{commit_path, LAST_CHECKPOINT, LOG_DIR};
use super::reads::{LogFileRead, Reads};
use super::{DeltaError, LogEntry, LogRequest, LogResponse, ReadStep};

/// Which snapshot to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The latest version.
    Latest,
    /// A version.
    Version(i64),
    /// The latest version committed at or before this time (ms).
    Timestamp(i64),
}

/// A table at one version.
#[derive(Debug)]
pub struct Snapshot {
    /// The version.
    pub version: i64,
    /// Commit time of the version, ms.
    pub timestamp_ms: i64,
    /// The protocol.
    pub protocol: Protocol,
    /// The metadata.
    pub metadata: Metadata,
    /// Active files, sorted by path.
    pub files: Vec<AddFile>,
    /// Sum of the files' sizes (saturating: a hostile log cannot make it overflow).
    pub total_size: i64,
    /// Tells apart snapshots of one table at the same version (a Parquet dataset is always
    /// version 0); 0 for Delta snapshots, whose version says it all.
    pub content_id: u64,
    /// SHA-256 of each file's path, computed on first use (file ids).
    path_digests: OnceLock<Vec<[u8; 32]>>,
    /// Whether a file path is absolute (outside the table root), checked once.
    absolute_paths: OnceLock<bool>,
}

impl Snapshot {
    /// A snapshot of `files` (sorted by path); `content_id` as in the field.
    pub fn new(
        version: i64,
        timestamp_ms: i64,
        protocol: Protocol,
        metadata: Metadata,
        files: Vec<AddFile>,
        content_id: u64,
    ) -> Snapshot {
        let total_size = files.iter().fold(0i64, |sum, f| sum.saturating_add(f.size));
        Snapshot {
            version,
            timestamp_ms,
            protocol,
            metadata,
            files,
            total_size,
            content_id,
            path_digests: OnceLock::new(),
            absolute_paths: OnceLock::new(),
        }
    }

    /// Whether some file is referenced by an absolute path (a URI or `/…`), i.e. may live
    /// outside the table root.
    pub fn has_absolute_paths(&self) -> bool {
        *self.absolute_paths.get_or_init(|| self.files.iter().any(|f| is_absolute_path(&f.path)))
    }

    /// The snapshot with the SHA-256 of each file's path, computed by its reader (`digests`
    /// holds one per file, in the files' order; otherwise they are computed on first use).
    fn with_path_digests(self, digests: Vec<[u8; 32]>) -> Snapshot {
        if digests.len() == self.files.len() {
            // A new snapshot's cell is empty: the set cannot fail.
            let _ = self.path_digests.set(digests);
        }
        self
    }

    /// The SHA-256 of each file's path, in the files' order (computed once per snapshot).
    fn path_digests(&self) -> &[[u8; 32]] {
        self.path_digests.get_or_init(|| self.files.iter().map(|f| path_digest(&f.path)).collect())
    }

    /// The SHA-256 of the path of file `index` (for file ids).
    pub fn path_digest(&self, index: usize) -> &[u8; 32] {
        &self.path_digests()[index]
    }
}

enum Phase {
    Start,
    LastCheckpoint,
    Listing { partial: bool },
    Incremental,
    Reading,
}

/// The snapshot state machine. Drive it with [`SnapshotReader::resume`].
pub struct SnapshotReader {
    target: Target,
    base: Option<Arc<Snapshot>>,
    phase: Phase,
    /// The checkpoint files and commits still to apply.
    reads: Reads,
    version: i64,
    timestamp_ms: i64,
    files: ActiveFiles,
    protocol: Option<Protocol>,
    metadata: Option<Metadata>,
}

impl SnapshotReader {
    /// A reader for `target`. `cached` is a snapshot of the same table read earlier; for the
    /// latest version only the commits after it are read.
    pub fn new(target: Target, cached: Option<Arc<Snapshot>>) -> SnapshotReader {
        SnapshotReader {
            target,
            base: cached.filter(|_| target == Target::Latest),
            phase: Phase::Start,
            reads: Reads::default(),
            version: -1,
            timestamp_ms: 0,
            files: ActiveFiles::default(),
            protocol: None,
            metadata: None,
        }
    }

    /// Advances with the answer to the oldest request not answered yet (`None` the first time).
    /// Requests are answered in the order they were asked.
    pub fn resume(&mut self, input: Option<LogResponse>) -> Result<ReadStep<Arc<Snapshot>>, DeltaError> {
        if let Some(LogResponse::Failed(detail)) = input {
            return Err(DeltaError::Storage(detail));
        }
        match std::mem::replace(&mut self.phase, Phase::Reading) {
            Phase::Start => match &self.base {
                Some(base) => {
                    self.phase = Phase::Incremental;
                    Ok(ReadStep::need(LogRequest::List { start_after: Some(commit_path(base.version)) }))
                }
                None => {
                    self.phase = Phase::LastCheckpoint;
                    Ok(ReadStep::need(LogRequest::Get { path: LAST_CHECKPOINT.into() }))
                }
            },
            Phase::LastCheckpoint => {
                let hint = match input {
                    Some(LogResponse::Bytes(bytes)) => last_checkpoint_version(&bytes),
                    Some(LogResponse::NotFound) => None,
                    _ => return Err(DeltaError::UnexpectedResponse),
                };
                let hint = hint.filter(|&c| match self.target {
                    Target::Latest => true,
                    Target::Version(v) => c <= v,
                    Target::Timestamp(_) => false,
                });
                self.phase = Phase::Listing { partial: hint.is_some() };
                Ok(ReadStep::need(LogRequest::List { start_after: hint.map(|c| format!("{LOG_DIR}{c:020}")) }))
            }
            Phase::Listing { partial } => match input {
                Some(LogResponse::Listing(entries)) => self.plan(&entries, partial),
                Some(LogResponse::NotFound) => Err(DeltaError::NoLog),
                _ => Err(DeltaError::UnexpectedResponse),
            },
            Phase::Incremental => match input {
                Some(LogResponse::Listing(entries)) => self.plan_incremental(&entries),
                Some(LogResponse::NotFound) => Err(DeltaError::NoLog),
                _ => Err(DeltaError::UnexpectedResponse),
            },
            Phase::Reading => match input {
                Some(LogResponse::Bytes(bytes)) => {
                    self.reads.answered(bytes)?;
                    self.apply_ready()
                }
                Some(LogResponse::NotFound) => match self.reads.answering() {
                    Some(LogFileRead { commit: Some(v), .. }) => Err(DeltaError::MissingCommit(*v)),
                    Some(LogFileRead { path, .. }) => {
                        Err(DeltaError::Corrupt { file: path.clone(), detail: "checkpoint file is missing".into() })
                    }
                    None => Err(DeltaError::UnexpectedResponse),
                },
                _ => Err(DeltaError::UnexpectedResponse),
            },
        }
    }

    fn plan(&mut self, entries: &[LogEntry], partial: bool) -> Result<ReadStep<Arc<Snapshot>>, DeltaError> {
        let listing = LogListing::new(entries);
        let newest_checkpoint = listing.checkpoints.iter().map(|c| c.version).max();
        let latest = listing.latest().into_iter().chain(newest_checkpoint).max();
        let Some(latest) = latest else {
            return if partial { self.relist() } else { Err(DeltaError::NoLog) };
        };
        let target = match self.target {
            Target::Latest => latest,
            Target::Version(v) if v > latest || v < 0 => {
                let earliest = listing.commits.first().map_or(latest, |c| c.0);
                return Err(DeltaError::VersionNotFound { requested: v, earliest, latest });
            }
            Target::Version(v) => v,
            Target::Timestamp(ts) => listing.version_at_or_before(ts)?,
        };
        let checkpoint = complete_checkpoint_at_or_below(&listing, target);
        let first_commit = checkpoint.as_ref().map_or(0, |(v, _)| v + 1);
        for v in first_commit..=target {
            if listing.timestamp_of(v).is_none() {
                return if partial {
                    self.relist()
                } else if checkpoint.is_none() && listing.commits.first().is_some_and(|c| c.0 > v) {
                    let earliest = listing.commits[0].0;
                    Err(DeltaError::VersionNotFound { requested: target, earliest, latest })
                } else {
                    Err(DeltaError::MissingCommit(v))
                };
            }
        }
        self.version = target;
        self.timestamp_ms = listing.timestamp_of(target).unwrap_or_else(|| {
            entries
                .iter()
                .filter(|e| e.path.contains(&format!("{target:020}")))
                .map(|e| e.last_modified_ms)
                .max()
                .unwrap_or(0)
        });
        let parts = checkpoint.map(|(_, parts)| parts).unwrap_or_default().into_iter().map(|p| (p, None));
        let commits = (first_commit..=target).map(|v| (commit_path(v), Some(v)));
        self.reads = reads_of(entries, parts.chain(commits));
        self.apply_ready()
    }

    fn relist(&mut self) -> Result<ReadStep<Arc<Snapshot>>, DeltaError> {
        self.phase = Phase::Listing { partial: false };
        Ok(ReadStep::need(LogRequest::List { start_after: None }))
    }

    fn plan_incremental(&mut self, entries: &[LogEntry]) -> Result<ReadStep<Arc<Snapshot>>, DeltaError> {
        let Some(base) = self.base.clone() else { return Err(DeltaError::UnexpectedResponse) };
        let listing = LogListing::new(entries);
        let newer: Vec<(i64, i64)> = listing.commits.iter().copied().filter(|c| c.0 > base.version).collect();
        if newer.is_empty() {
            return Ok(ReadStep::Ready(base));
        }
        let contiguous = newer.iter().enumerate().all(|(i, c)| c.0 == base.version + 1 + i as i64);
        if !contiguous {
            // The log was rewritten under us: read it from scratch.
            self.base = None;
            self.phase = Phase::LastCheckpoint;
            return Ok(ReadStep::need(LogRequest::Get { path: LAST_CHECKPOINT.into() }));
        }
        self.files = ActiveFiles::from_files(&base.files, base.path_digests());
        self.protocol = Some(base.protocol.clone());
        self.metadata = Some(base.metadata.clone());
        let (last_version, last_ts) = newer[newer.len() - 1];
        self.version = last_version;
        self.timestamp_ms = last_ts.max(base.timestamp_ms + 1);
        self.reads = reads_of(entries, newer.iter().map(|&(v, _)| (commit_path(v), Some(v))));
        self.apply_ready()
    }

    /// Applies the files whose turn has come, then asks for more or finishes.
    fn apply_ready(&mut self) -> Result<ReadStep<Arc<Snapshot>>, DeltaError> {
        self.phase = Phase::Reading;
        while let Some((file, bytes)) = self.reads.next_ready() {
            self.apply_file(&file, bytes)?;
        }
        if !self.reads.is_done() {
            return Ok(ReadStep::Need(self.reads.ask()));
        }
        let protocol = self.protocol.take().ok_or(DeltaError::Incomplete("protocol"))?;
        let metadata = self.metadata.take().ok_or(DeltaError::Incomplete("metaData"))?;
        let (files, digests) = std::mem::take(&mut self.files).into_sorted();
        let snapshot = Snapshot::new(self.version, self.timestamp_ms, protocol, metadata, files, 0);
        Ok(ReadStep::Ready(Arc::new(snapshot.with_path_digests(digests))))
    }

    fn apply_file(&mut self, file: &LogFileRead, bytes: bytes::Bytes) -> Result<(), DeltaError> {
        let mut sidecars = Vec::new();
        let commit = file.commit;
        let mut apply = |action: Action| match action {
            Action::Add(add) => self.files.add(add),
            Action::Remove(remove) => self.files.remove(&remove.path, remove.deletion_vector.as_ref()),
            Action::Metadata(m) => self.metadata = Some(m),
            Action::Protocol(p) => self.protocol = Some(p),
            Action::Sidecar(s) if commit.is_none() => sidecars.push(LogFileRead {
                path: format!("{LOG_DIR}_sidecars/{}", s.path),
                size: s.size_in_bytes.unwrap_or(0),
                commit: None,
            }),
            Action::CommitInfo(ci) if commit == Some(self.version) => {
                if let Some(ict) = ci.in_commit_timestamp {
                    self.timestamp_ms = ict;
                }
            }
            _ => {}
        };
        match commit {
            Some(_) => parse_commit(&file.path, &bytes)?.into_iter().for_each(&mut apply),
            None => parse_checkpoint(&file.path, bytes, &mut apply)?,
        }
        self.reads.read_first(sidecars);
        Ok(())
    }
}

/// Reads of `files` (paths, with the version of each commit), sized from the listing.
fn reads_of(entries: &[LogEntry], files: impl Iterator<Item = (String, Option<i64>)>) -> Reads {
    let sizes: HashMap<&str, u64> = entries.iter().map(|e| (e.path.as_str(), e.size)).collect();
    Reads::new(files.map(|(path, commit)| LogFileRead {
        size: sizes.get(path.as_str()).copied().unwrap_or(0),
        path,
        commit,
    }))
}

fn last_checkpoint_version(bytes: &[u8]) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("version")?.as_i64().filter(|&v| v >= 0)
}

/// The newest checkpoint at or below `target` whose parts are all listed: its version and paths.
fn complete_checkpoint_at_or_below(listing: &LogListing, target: i64) -> Option<(i64, Vec<String>)> {
    let mut versions: Vec<i64> = listing.checkpoints.iter().map(|c| c.version).filter(|&v| v <= target).collect();
    versions.dedup();
    versions.into_iter().rev().find_map(|v| {
        let files: Vec<_> = listing.checkpoints.iter().filter(|c| c.version == v).collect();
        if let Some(single) = files.iter().find(|c| c.part.is_none()) {
            return Some((v, vec![single.path.clone()]));
        }
        let total = files.first()?.part?.1;
        let mut parts: Vec<(u32, String)> =
            files.iter().filter_map(|c| c.part.filter(|p| p.1 == total).map(|p| (p.0, c.path.clone()))).collect();
        parts.sort();
        parts.dedup_by_key(|p| p.0);
        (parts.len() as u32 == total).then(|| (v, parts.into_iter().map(|p| p.1).collect()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(lines: &[&str]) -> LogResponse {
        LogResponse::Bytes(lines.join("\n").into_bytes().into())
    }

    const P: &str = r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#;
    const M: &str =
        r#"{"metaData":{"id":"t","format":{"provider":"parquet"},"schemaString":"{}","partitionColumns":[]}}"#;

    fn entry(v: i64) -> LogEntry {
        LogEntry { path: commit_path(v), size: 1, last_modified_ms: 1000 + v }
    }

    #[test]
    fn replays_commits_without_a_checkpoint() {
        let mut r = SnapshotReader::new(Target::Latest, None);
        assert!(matches!(r.resume(None).unwrap(), ReadStep::Need(v) if matches!(v[..], [LogRequest::Get { .. }])));
        let ReadStep::Need(list) = r.resume(Some(LogResponse::NotFound)).unwrap() else { panic!() };
        assert_eq!(list, [LogRequest::List { start_after: None }]);
        let listing = LogResponse::Listing(vec![entry(0), entry(1)]);
        assert!(matches!(r.resume(Some(listing)).unwrap(), ReadStep::Need(v) if v.len() == 2), "both commits at once");
        let add = |p: &str| {
            format!(
                r#"{{"add":{{"path":"{p}","partitionValues":{{}},"size":5,"modificationTime":1,"dataChange":true}}}}"#
            )
        };
        let remove = r#"{"remove":{"path":"a","dataChange":true}}"#;
        assert!(matches!(r.resume(Some(commit(&[P, M, &add("a")]))).unwrap(), ReadStep::Need(_)));
        let ReadStep::Ready(s) = r.resume(Some(commit(&[remove, &add("b"), &add("c")]))).unwrap() else { panic!() };
        assert_eq!(s.version, 1);
        assert_eq!(s.timestamp_ms, 1001);
        assert_eq!(s.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(s.total_size, 10);
    }

    #[test]
    fn reports_gaps_and_missing_actions() {
        let mut r = SnapshotReader::new(Target::Latest, None);
        r.resume(None).unwrap();
        r.resume(Some(LogResponse::NotFound)).unwrap();
        let err = r.resume(Some(LogResponse::Listing(vec![entry(0), entry(2)]))).unwrap_err();
        assert_eq!(err, DeltaError::MissingCommit(1));
        let mut r = SnapshotReader::new(Target::Version(7), None);
        r.resume(None).unwrap();
        r.resume(Some(LogResponse::NotFound)).unwrap();
        let err = r.resume(Some(LogResponse::Listing(vec![entry(0)]))).unwrap_err();
        assert!(err.to_string().starts_with("Cannot load table version 7"), "{err}");
        let mut r = SnapshotReader::new(Target::Latest, None);
        r.resume(None).unwrap();
        r.resume(Some(LogResponse::NotFound)).unwrap();
        r.resume(Some(LogResponse::Listing(vec![entry(0)]))).unwrap();
        assert_eq!(r.resume(Some(commit(&[P]))).unwrap_err(), DeltaError::Incomplete("metaData"));
    }

    #[test]
    fn prefers_complete_multi_part_checkpoints() {
        let cp = |v: i64, part: Option<(u32, u32)>| LogEntry {
            path: match part {
                Some((p, t)) => format!("{LOG_DIR}{v:020}.checkpoint.{p:010}.{t:010}.parquet"),
                None => format!("{LOG_DIR}{v:020}.checkpoint.parquet"),
            },
            size: 1,
            last_modified_ms: 0,
        };
        let listing = LogListing::new(&[cp(5, None), cp(8, Some((1, 2))), cp(9, Some((1, 2))), cp(9, Some((2, 2)))]);
        let (v, parts) = complete_checkpoint_at_or_below(&listing, 10).unwrap();
        assert_eq!((v, parts.len()), (9, 2));
        assert_eq!(complete_checkpoint_at_or_below(&listing, 8).unwrap().0, 5, "8 lacks a part");
        assert_eq!(complete_checkpoint_at_or_below(&listing, 4), None);
    }

    fn add(p: &str, size: i64) -> String {
        format!(
            r#"{{"add":{{"path":"{p}","partitionValues":{{}},"size":{size},"modificationTime":1,"dataChange":true}}}}"#
        )
    }

    #[test]
    fn asks_for_the_checkpoint_and_commits_at_once_and_the_sidecars_next() {
        let mut r = SnapshotReader::new(Target::Latest, None);
        r.resume(None).unwrap();
        r.resume(Some(LogResponse::NotFound)).unwrap();
        let manifest = format!("{LOG_DIR}{:020}.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json", 2);
        let listing =
            vec![LogEntry { path: manifest.clone(), size: 1, last_modified_ms: 0 }, entry(2), entry(3), entry(4)];
        let ReadStep::Need(first) = r.resume(Some(LogResponse::Listing(listing))).unwrap() else { panic!() };
        let get = |path: &str| LogRequest::Get { path: path.into() };
        assert_eq!(first, [get(&manifest), get(&commit_path(3)), get(&commit_path(4))]);
        let sidecar = |name: &str| format!(r#"{{"sidecar":{{"path":"{name}","sizeInBytes":10}}}}"#);
        let ReadStep::Need(sidecars) = r.resume(Some(commit(&[P, M, &sidecar("a.json"), &sidecar("b.json")]))).unwrap()
        else {
            panic!()
        };
        assert_eq!(sidecars, [get("_delta_log/_sidecars/a.json"), get("_delta_log/_sidecars/b.json")]);
        let remove = r#"{"remove":{"path":"x","dataChange":true}}"#;
        for early in [commit(&[remove]), commit(&[&add("z", 3)]), commit(&[&add("x", 1)])] {
            assert!(matches!(r.resume(Some(early)).unwrap(), ReadStep::Need(none) if none.is_empty()));
        }
        let ReadStep::Ready(s) = r.resume(Some(commit(&[&add("y", 2)]))).unwrap() else { panic!() };
        let files: Vec<_> = s.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(files, ["y", "z"], "the commits apply after the sidecars, though they arrived first");
    }

    #[test]
    fn the_total_size_saturates() {
        let adds = format!("{}\n{}", add("a", i64::MAX), add("b", i64::MAX));
        let files: Vec<AddFile> = parse_commit("c", adds.as_bytes())
            .unwrap()
            .into_iter()
            .filter_map(|a| match a {
                Action::Add(a) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!(files.len(), 2);
        let protocol =
            Protocol { min_reader_version: 1, min_writer_version: 2, reader_features: None, writer_features: None };
        let Some(Action::Metadata(metadata)) = parse_commit("m", M.as_bytes()).unwrap().pop() else { panic!() };
        let s = Snapshot::new(0, 0, protocol, metadata, files, 0);
        assert_eq!(s.total_size, i64::MAX);
    }
}
