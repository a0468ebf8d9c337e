//! Commit history: commit timestamps from a log listing, and reading a range of commits (for
//! streaming queries and change data feed).

use super::actions::{parse_commit, Action};
use super::log_files::{classify, commit_path, LogFile, LOG_DIR};
use super::{DeltaError, LogEntry, LogRequest, LogResponse, Step};

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

/// Reads commits `start..=end` (end defaults to the latest) after a full listing.
pub struct CommitRangeReader {
    start: i64,
    end: Option<i64>,
    listing: Option<LogListing>,
    commits: Vec<Commit>,
}

impl CommitRangeReader {
    /// A reader of commits from `start` to `end` (inclusive; latest when `None`).
    pub fn new(start: i64, end: Option<i64>) -> CommitRangeReader {
        CommitRangeReader { start, end, listing: None, commits: Vec::new() }
    }

    /// Advances with the answer to the previous request. The result is the listing (for
    /// timestamps) and the commits.
    pub fn resume(&mut self, input: Option<LogResponse>) -> Result<Step<(LogListing, Vec<Commit>)>, DeltaError> {
        match (input, self.listing.is_some()) {
            (None, _) => return Ok(Step::Need(LogRequest::List { start_after: None })),
            (Some(LogResponse::Listing(entries)), false) => {
                let listing = LogListing::new(&entries);
                let latest = listing.latest().ok_or(DeltaError::NoLog)?;
                let earliest = listing.commits[0].0;
                if self.start > latest || self.start < earliest {
                    return Err(DeltaError::VersionNotFound { requested: self.start, earliest, latest });
                }
                self.end = Some(self.end.map_or(latest, |e| e.min(latest)));
                self.listing = Some(listing);
            }
            (Some(LogResponse::Bytes(bytes)), true) => {
                let version = self.start + self.commits.len() as i64;
                let path = commit_path(version);
                let actions = parse_commit(&path, &bytes)?;
                let listed = self.listing.as_ref().and_then(|l| l.timestamp_of(version)).unwrap_or_default();
                let ict = actions.iter().find_map(|a| match a {
                    Action::CommitInfo(ci) => ci.in_commit_timestamp,
                    _ => None,
                });
                self.commits.push(Commit { version, timestamp_ms: ict.unwrap_or(listed), actions });
            }
            (Some(LogResponse::NotFound), true) => {
                return Err(DeltaError::MissingCommit(self.start + self.commits.len() as i64))
            }
            (Some(LogResponse::NotFound), false) => return Err(DeltaError::NoLog),
            (Some(LogResponse::Failed(detail)), _) => return Err(DeltaError::Storage(detail)),
            _ => return Err(DeltaError::UnexpectedResponse),
        }
        let next = self.start + self.commits.len() as i64;
        if next <= self.end.unwrap_or(self.start) {
            let listing = self.listing.as_ref().ok_or(DeltaError::NoLog)?;
            if listing.timestamp_of(next).is_none() {
                return Err(DeltaError::MissingCommit(next));
            }
            return Ok(Step::Need(LogRequest::Get { path: commit_path(next) }));
        }
        let listing = self.listing.take().unwrap_or_default();
        Ok(Step::Ready((listing, std::mem::take(&mut self.commits))))
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
        assert!(matches!(r.resume(None).unwrap(), Step::Need(LogRequest::List { start_after: None })));
        let listing = LogResponse::Listing(vec![entry(0, 1), entry(1, 2), entry(3, 4)]);
        let Step::Need(LogRequest::Get { path }) = r.resume(Some(listing)).unwrap() else { panic!() };
        assert_eq!(path, commit_path(1));
        let err = r.resume(Some(LogResponse::Bytes(b"{\"commitInfo\":{}}\n".to_vec()))).unwrap_err();
        assert_eq!(err, DeltaError::MissingCommit(2));
    }
}
