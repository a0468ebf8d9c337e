//! Parquet datasets as a second snapshot source: a directory of Parquet files (with optional
//! hive-style `key=value/` partition directories) read into the same [`Snapshot`] a Delta log
//! replay gives, so the table endpoints serve both alike.
//!
//! The reader lists the dataset's root, keeps the data files ([`layout`]), takes each file's
//! footer from the engine's [`cache::DatasetCache`] or reads the file's tail ([`footer`]), then
//! builds version 0: the columns of the files (which must agree, [`schema::unify`]) plus the
//! partition columns as strings, and one `add` per file with statistics from its footer.

pub mod cache;
pub mod footer;
pub mod layout;
pub mod schema;
pub mod stats;

use std::collections::VecDeque;
use std::sync::Arc;

use crate::delta::actions::{Format, SharedPartitionValues};
use crate::delta::{AddFile, LogEntry, LogResponse, Metadata, Protocol, ReadStep, Snapshot};
use crate::exchange::ByteRange;
use cache::{CachedSnapshot, DatasetCache};
use footer::{FooterInfo, Tail};

/// A request for dataset data, relative to the dataset root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatasetRequest {
    /// List everything under the root (recursively, sorted), only names after `start_after`.
    List {
        /// Only names greater than this one.
        start_after: Option<String>,
    },
    /// Read a range of a file.
    Read {
        /// The path relative to the root.
        path: String,
        /// The bytes to read.
        range: ByteRange,
    },
}

/// Why a dataset could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    /// No data file under the root.
    #[error("the dataset has no Parquet files")]
    Empty,
    /// A file's footer cannot be read or mapped.
    #[error("Parquet file {file} cannot be served: {detail}")]
    Corrupt {
        /// The file, relative to the root.
        file: String,
        /// What is wrong.
        detail: String,
    },
    /// A file does not agree with the others (columns or partition directories).
    #[error("Parquet file {file} does not match the dataset's other files: {detail}")]
    Incompatible {
        /// The file, relative to the root.
        file: String,
        /// The first difference.
        detail: String,
    },
    /// The host's IO failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// The host answered with the wrong kind of response.
    #[error("unexpected storage response")]
    UnexpectedResponse,
}

/// Most footer reads asked for at once (each at most [`footer::TAIL_BYTES`], or the footer).
pub const MAX_FOOTERS_IN_FLIGHT: usize = 64;

enum Phase {
    Start,
    Listing,
    Footers,
}

/// The dataset state machine. Drive it with [`DatasetReader::resume`].
pub struct DatasetReader {
    /// The cache key of the dataset (store and root).
    table_key: String,
    /// The table id written into the metadata.
    table_id: String,
    phase: Phase,
    files: Vec<LogEntry>,
    footers: Vec<Option<Arc<FooterInfo>>>,
    /// The next file whose footer may need asking for.
    next: usize,
    /// The footer reads asked and not answered, in the order asked: the file, and whether it
    /// is the second read (the footer was longer than the first).
    in_flight: VecDeque<(usize, bool)>,
}

impl DatasetReader {
    /// A reader of the dataset cached under `table_key`, whose metadata id is `table_id`.
    pub fn new(table_key: String, table_id: String) -> DatasetReader {
        DatasetReader {
            table_key,
            table_id,
            phase: Phase::Start,
            files: Vec::new(),
            footers: Vec::new(),
            next: 0,
            in_flight: VecDeque::new(),
        }
    }

    /// Advances with the answer to the oldest request not answered yet (`None` the first time);
    /// requests are answered in the order asked. Up to [`MAX_FOOTERS_IN_FLIGHT`] footers are
    /// asked for at once.
    pub fn resume(
        &mut self,
        input: Option<LogResponse>,
        cache: &DatasetCache,
    ) -> Result<ReadStep<Arc<Snapshot>, DatasetRequest>, DatasetError> {
        if let Some(LogResponse::Failed(detail)) = input {
            return Err(DatasetError::Storage(detail));
        }
        match self.phase {
            Phase::Start => {
                self.phase = Phase::Listing;
                Ok(ReadStep::need(DatasetRequest::List { start_after: None }))
            }
            Phase::Listing => match input {
                Some(LogResponse::Listing(entries)) => self.plan(entries, cache),
                Some(LogResponse::NotFound) => Err(DatasetError::Empty),
                _ => Err(DatasetError::UnexpectedResponse),
            },
            Phase::Footers => {
                let (index, second) = self.in_flight.pop_front().ok_or(DatasetError::UnexpectedResponse)?;
                let entry = &self.files[index];
                match input {
                    Some(LogResponse::Bytes(bytes)) => match footer::decode(&bytes, entry.size) {
                        Ok(Tail::Footer(info)) => {
                            let info = Arc::new(info);
                            cache.put_footer(self.footer_key(entry), entry, info.clone());
                            self.footers[index] = Some(info);
                        }
                        Ok(Tail::NeedFrom(start)) if !second => {
                            self.in_flight.push_back((index, true));
                            let range = ByteRange { start, end: entry.size };
                            let read = DatasetRequest::Read { path: entry.path.clone(), range };
                            let mut more = self.ask();
                            more.insert(0, read);
                            return Ok(ReadStep::Need(more));
                        }
                        Ok(Tail::NeedFrom(_)) => {
                            return Err(self.corrupt(index, "the footer was not in the bytes read"))
                        }
                        Err(detail) => return Err(self.corrupt(index, &detail)),
                    },
                    Some(LogResponse::NotFound) => {
                        return Err(self.corrupt(index, "the file was removed while the dataset was read"))
                    }
                    _ => return Err(DatasetError::UnexpectedResponse),
                }
                self.next_requests(cache)
            }
        }
    }

    fn corrupt(&self, index: usize, detail: &str) -> DatasetError {
        let file = self.files.get(index).map(|f| f.path.clone()).unwrap_or_default();
        DatasetError::Corrupt { file, detail: detail.to_string() }
    }

    fn footer_key(&self, entry: &LogEntry) -> String {
        format!("{}\u{0}{}", self.table_key, entry.path)
    }

    fn plan(
        &mut self,
        mut entries: Vec<LogEntry>,
        cache: &DatasetCache,
    ) -> Result<ReadStep<Arc<Snapshot>, DatasetRequest>, DatasetError> {
        entries.retain(|e| layout::is_data_file(&e.path));
        if !entries.is_sorted_by(|a, b| a.path <= b.path) {
            entries.sort_by(|a, b| a.path.cmp(&b.path));
        }
        if entries.is_empty() {
            return Err(DatasetError::Empty);
        }
        if let Some(cached) = cache.snapshot(&self.table_key).filter(|c| c.listing == entries) {
            return Ok(ReadStep::Ready(cached.snapshot.clone()));
        }
        self.footers = entries.iter().map(|e| cache.footer(&self.footer_key(e), e)).collect();
        self.files = entries;
        self.phase = Phase::Footers;
        self.next_requests(cache)
    }

    /// Asks for the tails of the next files without a footer, up to the cap.
    fn ask(&mut self) -> Vec<DatasetRequest> {
        let mut requests = Vec::new();
        while self.in_flight.len() < MAX_FOOTERS_IN_FLIGHT && self.next < self.files.len() {
            let index = self.next;
            self.next += 1;
            if self.footers[index].is_some() {
                continue;
            }
            let entry = &self.files[index];
            let range = ByteRange { start: entry.size.saturating_sub(footer::TAIL_BYTES), end: entry.size };
            requests.push(DatasetRequest::Read { path: entry.path.clone(), range });
            self.in_flight.push_back((index, false));
        }
        requests
    }

    /// Asks for more footers, or builds the snapshot once every footer is there.
    fn next_requests(&mut self, cache: &DatasetCache) -> Result<ReadStep<Arc<Snapshot>, DatasetRequest>, DatasetError> {
        let requests = self.ask();
        if !self.in_flight.is_empty() {
            return Ok(ReadStep::Need(requests));
        }
        let files = std::mem::take(&mut self.files);
        let footers: Vec<Arc<FooterInfo>> = std::mem::take(&mut self.footers).into_iter().flatten().collect();
        let snapshot = Arc::new(build(&self.table_id, &files, &footers, cache.new_content_id())?);
        cache.put_snapshot(&self.table_key, CachedSnapshot { listing: files, snapshot: snapshot.clone() });
        Ok(ReadStep::Ready(snapshot))
    }
}

/// Version 0 of a dataset from its data files (sorted) and their footers.
fn build(
    table_id: &str,
    files: &[LogEntry],
    footers: &[Arc<FooterInfo>],
    content_id: u64,
) -> Result<Snapshot, DatasetError> {
    let (Some(first), Some(first_footer)) = (files.first(), footers.first()) else { return Err(DatasetError::Empty) };
    let incompatible = |file: &LogEntry, detail: String| DatasetError::Incompatible { file: file.path.clone(), detail };
    let columns_of = |file: &LogEntry| {
        layout::partition_values(&file.path).map_err(|detail| DatasetError::Corrupt { file: file.path.clone(), detail })
    };
    let partition_columns: Vec<String> = columns_of(first)?.into_iter().map(|(k, _)| k).collect();
    let mut fields = (*first_footer.schema).clone();
    if let Some(c) = partition_columns.iter().find(|c| fields.iter().any(|f| f.name.eq_ignore_ascii_case(c))) {
        return Err(incompatible(first, format!("partition column {c} is also a column of the file")));
    }
    let mut adds = Vec::with_capacity(files.len());
    let mut shared: Option<(&str, SharedPartitionValues)> = None;
    for (file, info) in files.iter().zip(footers) {
        if !Arc::ptr_eq(&info.schema, &first_footer.schema) && *info.schema != fields {
            schema::unify(&mut fields, &info.schema).map_err(|d| incompatible(file, d))?;
        }
        let dir = file.path.rsplit_once('/').map_or("", |(d, _)| d);
        let partition_values = match &shared {
            Some((d, values)) if *d == dir => values.clone(),
            _ => {
                let values = columns_of(file)?;
                if !values.iter().map(|(k, _)| k).eq(partition_columns.iter()) {
                    let names: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
                    return Err(incompatible(
                        file,
                        format!(
                            "its partition directories are [{}], not [{}]",
                            names.join(", "),
                            partition_columns.join(", ")
                        ),
                    ));
                }
                let values: SharedPartitionValues = values.into();
                shared = Some((dir, values.clone()));
                values
            }
        };
        adds.push(AddFile {
            path: layout::encode_path(&file.path),
            partition_values,
            size: i64::try_from(file.size).unwrap_or(i64::MAX),
            modification_time: file.last_modified_ms,
            data_change: true,
            stats: Some(info.stats.clone()),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
        });
    }
    let protocol = if schema::has_timestamp_ntz(&fields) {
        let features = Some(vec!["timestampNtz".to_string()]);
        Protocol {
            min_reader_version: 3,
            min_writer_version: 7,
            reader_features: features.clone(),
            writer_features: features,
        }
    } else {
        Protocol { min_reader_version: 1, min_writer_version: 2, reader_features: None, writer_features: None }
    };
    let metadata = Metadata {
        id: table_id.to_string(),
        name: None,
        description: None,
        format: Format { provider: "parquet".into(), options: Default::default() },
        schema_string: schema::schema_string(&fields, &partition_columns),
        partition_columns,
        configuration: Default::default(),
        created_time: None,
    };
    let timestamp_ms = files.iter().map(|f| f.last_modified_ms).max().unwrap_or(0);
    Ok(Snapshot::new(0, timestamp_ms, protocol, metadata, adds, content_id))
}
