//! Delta log replay as resumable, sans-IO state machines.
//!
//! The machines ask for log files by path relative to the table root ([`LogRequest`]) and are
//! answered with [`LogResponse`]; the caller maps those onto the host's IO.

pub mod actions;
pub mod active;
pub mod cache;
pub mod checkpoint;
pub mod dv;
pub mod history;
pub mod log_files;
pub mod reads;
pub mod snapshot;

pub use actions::{Action, AddFile, DeletionVector, Metadata, Protocol};
pub use history::{CheckpointFile, Commit, CommitRangeReader, LogListing};
pub use snapshot::{Snapshot, SnapshotReader, Target};

/// A request for log data, relative to the table root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogRequest {
    /// List `_delta_log/` (all of it, sorted), only names after `start_after`.
    List {
        /// Only names greater than this one.
        start_after: Option<String>,
    },
    /// Read a whole file.
    Get {
        /// The path relative to the table root.
        path: String,
    },
}

/// One listed log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Path relative to the table root, e.g. `_delta_log/00000000000000000003.json`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ms.
    pub last_modified_ms: i64,
}

/// The answer to a [`LogRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogResponse {
    /// Answer to `List`.
    Listing(Vec<LogEntry>),
    /// Answer to `Get`.
    Bytes(bytes::Bytes),
    /// The file or directory does not exist.
    NotFound,
    /// The IO failed (detail for logs only).
    Failed(String),
}

/// One step of a log state machine (or of another snapshot source, with its own request type).
#[derive(Debug)]
pub enum ReadStep<T, R = LogRequest> {
    /// Answer these requests (concurrently if you like), then resume once with each answer, in
    /// the order the requests were asked. None: resume with the answers to earlier requests.
    Need(Vec<R>),
    /// Finished.
    Ready(T),
}

impl<T, R> ReadStep<T, R> {
    /// A step asking for one request.
    pub fn need(request: R) -> ReadStep<T, R> {
        ReadStep::Need(vec![request])
    }
}

/// Why a log could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    /// No `_delta_log` (or an empty one).
    #[error("the table has no Delta log")]
    NoLog,
    /// A log file does not parse.
    #[error("corrupt Delta log file {file}: {detail}")]
    Corrupt {
        /// The file.
        file: String,
        /// What is wrong.
        detail: String,
    },
    /// A commit between a checkpoint and the target is missing.
    #[error("the Delta log is missing commit {0}")]
    MissingCommit(i64),
    /// The log has no protocol or no metadata.
    #[error("the Delta log has no {0} action")]
    Incomplete(&'static str),
    /// The requested version does not exist.
    #[error("Cannot load table version {requested} as it does not exist. Available versions: {earliest} to {latest}")]
    VersionNotFound {
        /// Asked for.
        requested: i64,
        /// Earliest available.
        earliest: i64,
        /// Latest.
        latest: i64,
    },
    /// A timestamp before the first commit.
    #[error("The provided timestamp ({timestamp} ms) is before the earliest version available to this table ({earliest_ms} ms). Please use a timestamp greater than or equal to {earliest_ms} ms.")]
    TimestampTooEarly {
        /// Asked for.
        timestamp: i64,
        /// The first commit's time.
        earliest_ms: i64,
    },
    /// A timestamp after the last commit.
    #[error("The provided timestamp ({timestamp} ms) is after the latest version available to this table ({latest_ms} ms). Please use a timestamp less than or equal to {latest_ms} ms.")]
    TimestampTooLate {
        /// Asked for.
        timestamp: i64,
        /// The last commit's time.
        latest_ms: i64,
    },
    /// The host's IO failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// The host answered with the wrong kind of response.
    #[error("unexpected storage response")]
    UnexpectedResponse,
}
