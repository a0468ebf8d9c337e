//! Commit history: commit timestamps from a log listing, and reading a range of commits (for
//! streaming queries and change data feed).

use super::actions::{parse_commit, Action};
use super::log_files::{classify, commit_path, LogFile, LOG_DIR};
use super::reads::{LogFileRead, Reads};
use super::{DeltaError, LogEntry, LogRequest, LogResponse, ReadStep};

/// A classified `_delta_log/` listing.
#[derive(Clone, Debug, Default)]
pub struct LogListing {
    /// Commits as `(version, timestamp ms)`, ascending. Timestamps are file modification times
    /// made strictly increasing (a later version gets at least the previous time + 1 ms).
    pub commits: Vec<(i64, i64)>,
    /// Checkpoint files, sorted.
    pub checkpoints: Vec<CheckpointFile>,
}

/// One listed checkpoint file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CheckpointFile {
    /// The version it summarises.
    pub version: i64,
    /// Its path relative to the table root.
    pub path: String,
    /// `(part, of)` for multi-part checkpoints.
    pub part: Option<(u32, u32)>,
}

impl LogListing {
    /// Classifies listed entries (paths relative to the table root).
    pub fn new(entries: &[LogEntry]) -> LogListing {
        let mut listing = LogListing::default();
        for e in entries {
            let Some(name) = e.path.strip_prefix(LOG_DIR) else { continue };
            match classify(name) {
                LogFile::Commit(v) => listing.commits.push((v, e.last_modified_ms)),
                LogFile::Checkpoint { version, part, .. } => {
                    listing.checkpoints.push(CheckpointFile { version, path: e.path.clone(), part })
                }
                LogFile::Other => {}
            }
        }
        listing.commits.sort_unstable();
        let mut previous = i64::MIN;
        for (_, ts) in listing.commits.iter_mut() {
            if *ts <= previous {
                *ts = previous + 1;
            }
            previous = *ts;
        }
        listing.checkpoints.sort();
        listing
    }

    /// The latest commit version.
    pub fn latest(&self) -> Option<i64> {
        self.commits.last().map(|c| c.0)
    }

    /// The timestamp of commit `version`.
    pub fn timestamp_of(&self, version: i64) -> Option<i64> {
        self.commits.binary_search_by_key(&version, |c| c.0).ok().map(|i| self.commits[i].1)
    }

    /// The latest version committed at or before `ts` (snapshot time travel, ending timestamps).
    pub fn version_at_or_before(&self, ts: i64) -> Result<i64, DeltaError> {
        let first = self.commits.first().ok_or(DeltaError::NoLog)?;
        if ts < first.1 {
            return Err(DeltaError::TimestampTooEarly { timestamp: ts, earliest_ms: first.1 });
        }
        Ok(self.commits.iter().take_while(|c| c.1 <= ts).last().map_or(first.0, |c| c.0))
    }

    /// The earliest version committed at or after `ts` (starting timestamps).
    pub fn version_at_or_after(&self, ts: i64) -> Result<i64, DeltaError> {
        let last = self.commits.last().ok_or(DeltaError::NoLog)?;
        if ts > last.1 {
            return Err(DeltaError::TimestampTooLate { timestamp: ts, latest_ms: last.1 });
        }
        Ok(self.commits.iter().find(|c| c.1 >= ts).map_or(last.0, |c| c.0))
    }
}

/// One commit with its actions.
#[derive(Clone, Debug)]
pub struct Commit {
    /// The version.
    pub version: i64,
    /// Commit time, ms (in-commit timestamp when present, else the listing's).
    pub timestamp_ms: i64,
    /// The actions in log order.
    pub actions: Vec<Action>,
}

/// Reads commits `start..=end` (end defaults to the latest) after a full listing, asking for
/// many commits at once.
pub struct CommitRangeReader {
    start: i64,
    end: Option<i64>,
    listing: Option<LogListing>,
    reads: Reads,
    commits: Vec<Commit>,
}

impl CommitRangeReader {
    /// A reader of commits from `start` to `end` (inclusive; latest when `None`).
    pub fn new(start: i64, end: Option<i64>) -> CommitRangeReader {
        CommitRangeReader { start, end, listing: None, reads: Reads::default(), commits: Vec::new() }
    }

    /// Advances with the answer to the oldest request not answered yet (requests are answered in
    /// the order asked). The result is the listing (for timestamps) and the commits.
    pub fn resume(&mut self, input: Option<LogResponse>) -> Result<ReadStep<(LogListing, Vec<Commit>)>, DeltaError> {
        match (input, self.listing.is_some()) {
            (None, _) => return Ok(ReadStep::need(LogRequest::List { start_after: None })),
            (Some(LogResponse::Listing(entries)), false) => self.plan(&entries)?,
            (Some(LogResponse::Bytes(bytes)), true) => self.reads.answered(bytes)?,
            (Some(LogResponse::NotFound), true) => {
                let version = self.reads.answering().and_then(|f| f.commit);
                return Err(version.map_or(DeltaError::UnexpectedResponse, DeltaError::MissingCommit));
            }
            (Some(LogResponse::NotFound), false) => return Err(DeltaError::NoLog),
            (Some(LogResponse::Failed(detail)), _) => return Err(DeltaError::Storage(detail)),
            _ => return Err(DeltaError::UnexpectedResponse),
        }
        while let Some((file, bytes)) = self.reads.next_ready() {
            let version = file.commit.ok_or(DeltaError::UnexpectedResponse)?;
            let actions = parse_commit(&file.path, &bytes)?;
            let listed = self.listing.as_ref().and_then(|l| l.timestamp_of(version)).unwrap_or_default();
            let ict = actions.iter().find_map(|a| match a {
                Action::CommitInfo(ci) => ci.in_commit_timestamp,
                _ => None,
            });
            self.commits.push(Commit { version, timestamp_ms: ict.unwrap_or(listed), actions });
        }
        if !self.reads.is_done() {
            return Ok(ReadStep::Need(self.reads.ask()));
        }
        let listing = self.listing.take().unwrap_or_default();
        Ok(ReadStep::Ready((listing, std::mem::take(&mut self.commits))))
    }

    /// Checks the range against the listing and queues its commits.
    fn plan(&mut self, entries: &[LogEntry]) -> Result<(), DeltaError> {
        let listing = LogListing::new(entries);
        let latest = listing.latest().ok_or(DeltaError::NoLog)?;
        let earliest = listing.commits[0].0;
        if self.start > latest || self.start < earliest {
            return Err(DeltaError::VersionNotFound { requested: self.start, earliest, latest });
        }
        let end = self.end.map_or(latest, |e| e.min(latest));
        if let Some(missing) = (self.start..=end).find(|&v| listing.timestamp_of(v).is_none()) {
            return Err(DeltaError::MissingCommit(missing));
        }
        let sizes: std::collections::HashMap<&str, u64> = entries.iter().map(|e| (e.path.as_str(), e.size)).collect();
        self.reads = Reads::new((self.start..=end).map(|v| {
            let path = commit_path(v);
            LogFileRead { size: sizes.get(path.as_str()).copied().unwrap_or(0), path, commit: Some(v) }
        }));
        self.listing = Some(listing);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(v: i64, ts: i64) -> LogEntry {
        LogEntry { path: commit_path(v), size: 1, last_modified_ms: ts }
    }

    #[test]
    fn monotonises_timestamps_and_maps_times_to_versions() {
        let l = LogListing::new(&[entry(0, 100), entry(1, 100), entry(2, 90), entry(3, 500)]);
        assert_eq!(l.commits, vec![(0, 100), (1, 101), (2, 102), (3, 500)]);
        assert_eq!(l.version_at_or_before(101).unwrap(), 1);
        assert_eq!(l.version_at_or_before(499).unwrap(), 2);
        assert!(matches!(l.version_at_or_before(99), Err(DeltaError::TimestampTooEarly { .. })));
        assert_eq!(l.version_at_or_after(0).unwrap(), 0);
        assert_eq!(l.version_at_or_after(103).unwrap(), 3);
        assert!(matches!(l.version_at_or_after(501), Err(DeltaError::TimestampTooLate { .. })));
    }

    #[test]
    fn reads_a_range_and_reports_gaps() {
        let mut r = CommitRangeReader::new(1, Some(9));
        let ReadStep::Need(list) = r.resume(None).unwrap() else { panic!() };
        assert_eq!(list, [LogRequest::List { start_after: None }]);
        let listing = LogResponse::Listing(vec![entry(0, 1), entry(1, 2), entry(3, 4)]);
        assert_eq!(r.resume(Some(listing)).unwrap_err(), DeltaError::MissingCommit(2));
    }

    #[test]
    fn asks_for_every_commit_at_once_and_keeps_their_order() {
        let mut r = CommitRangeReader::new(1, None);
        r.resume(None).unwrap();
        let listing = LogResponse::Listing((0..4).map(|v| entry(v, v)).collect());
        let ReadStep::Need(gets) = r.resume(Some(listing)).unwrap() else { panic!() };
        assert_eq!(gets, (1..4).map(|v| LogRequest::Get { path: commit_path(v) }).collect::<Vec<_>>());
        let commit = |ict: i64| {
            let line = format!("{{\"commitInfo\":{{\"inCommitTimestamp\":{ict}}}}}\n");
            Some(LogResponse::Bytes(line.into_bytes().into()))
        };
        assert!(matches!(r.resume(commit(10)).unwrap(), ReadStep::Need(more) if more.is_empty()));
        r.resume(commit(20)).unwrap();
        let ReadStep::Ready((_, commits)) = r.resume(commit(30)).unwrap() else { panic!() };
        let seen: Vec<_> = commits.iter().map(|c| (c.version, c.timestamp_ms)).collect();
        assert_eq!(seen, [(1, 10), (2, 20), (3, 30)]);
    }
}
