//! The table operation: drives the snapshot source (the Delta log machines, or the Parquet
//! dataset reader) through the host's IO, then builds the response.

use std::sync::Arc;

use super::body::{ChangeItem, Items, Record, TableBody};
use super::lines::{self, MetadataExtras};
use super::params::{Bound, ChangesParams, FileIdHash};
use super::{Kind, TableRef};
use crate::api::error_response;
use crate::dataset::{DatasetError, DatasetReader, DatasetRequest};
use crate::delta::{
    Action, Commit, CommitRangeReader, DeltaError, LogEntry, LogListing, LogRequest, LogResponse, ReadStep, Snapshot,
    SnapshotReader, Target,
};
use crate::exchange::{Body, IoNeed, IoResult, Operation, Response, Turn};
use crate::http::{HeaderText, ResponseHead, CONTENT_TYPE_NDJSON};
use crate::protocol::capabilities::{Capabilities, ResponseFormat, TableFeature};
use crate::protocol::predicate::Predicate;
use crate::protocol::query_request::QueryRequest;
use crate::protocol::table_tokens::{seal_page, seal_refresh, PageState, RefreshState};
use crate::protocol::{ApiError, ErrorCode};
use crate::state::EngineState;

/// Lifetime of refresh tokens.
const REFRESH_TOKEN_TTL_MS: i64 = 3_600_000;
/// Largest page of a paginated query.
const MAX_PAGE_FILES: usize = 10_000;

enum Machine {
    Idle,
    Snapshot(Box<SnapshotReader>),
    Dataset(Box<DatasetReader>),
    Listing,
    Range(CommitRangeReader),
}

/// Reads a Delta table for one request.
pub(crate) struct TableRead {
    state: Arc<EngineState>,
    table: TableRef,
    now_ms: i64,
    kind: Kind,
    caps: Capabilities,
    file_id_hash: Option<FileIdHash>,
    machine: Machine,
    snapshot: Option<Arc<Snapshot>>,
    listing: Option<LogListing>,
    commits: Option<Vec<Commit>>,
}

impl TableRead {
    pub(super) fn new(
        state: Arc<EngineState>,
        table: TableRef,
        now_ms: i64,
        kind: Kind,
        caps: Capabilities,
        file_id_hash: Option<FileIdHash>,
    ) -> TableRead {
        TableRead {
            state,
            table,
            now_ms,
            kind,
            caps,
            file_id_hash,
            machine: Machine::Idle,
            snapshot: None,
            listing: None,
            commits: None,
        }
    }

    fn io(&self, request: LogRequest) -> IoNeed {
        match request {
            LogRequest::List { start_after } => IoNeed::List {
                store: self.table.store.clone(),
                prefix: self.table.key("_delta_log/"),
                start_after: start_after.map(|s| self.table.key(&s)),
                max_keys: None,
            },
            LogRequest::Get { path } => {
                IoNeed::Get { store: self.table.store.clone(), key: self.table.key(&path), range: None }
            }
        }
    }

    fn dataset_io(&self, request: DatasetRequest) -> IoNeed {
        match request {
            DatasetRequest::List { start_after } => IoNeed::List {
                store: self.table.store.clone(),
                prefix: self.table.key(""),
                start_after: start_after.map(|s| self.table.key(&s)),
                max_keys: None,
            },
            DatasetRequest::Read { path, range } => {
                IoNeed::Get { store: self.table.store.clone(), key: self.table.key(&path), range: Some(range) }
            }
        }
    }

    fn log_response(&self, result: IoResult) -> LogResponse {
        let root = self.table.key("");
        match result {
            IoResult::Listing(listing) => LogResponse::Listing(
                listing
                    .entries
                    .into_iter()
                    .filter(|e| e.key.starts_with(root.as_str()))
                    .map(|mut e| {
                        // The key's own buffer becomes the relative path: no copy per entry.
                        e.key.drain(..root.len());
                        LogEntry { path: e.key, size: e.size, last_modified_ms: e.last_modified_ms }
                    })
                    .collect(),
            ),
            IoResult::Bytes(b) => LogResponse::Bytes(b),
            IoResult::NotFound => LogResponse::NotFound,
            IoResult::Failed(detail) => LogResponse::Failed(detail),
            IoResult::Meta(_) | IoResult::Http(_) => LogResponse::Failed("unexpected answer to a log read".into()),
        }
    }

    /// The snapshot this request needs first.
    fn snapshot_target(&self) -> Target {
        match &self.kind {
            Kind::Metadata { target } | Kind::Snapshot { target, .. } => *target,
            _ => Target::Latest,
        }
    }

    /// Starts the next machine, or `None` when everything needed has been read.
    fn next_machine(&mut self) -> Result<Option<Machine>, ApiError> {
        let needs_snapshot = !matches!(self.kind, Kind::Version { starting_timestamp: Some(_) });
        if needs_snapshot && self.snapshot.is_none() && self.table.dataset {
            return Ok(Some(Machine::Dataset(Box::new(DatasetReader::new(
                self.table.cache_key(),
                self.table.id.clone(),
            )))));
        }
        if needs_snapshot && self.snapshot.is_none() {
            let target = self.snapshot_target();
            let key = self.table.cache_key();
            let cached = match target {
                Target::Version(v) => self.state.snapshots.get(&key, v),
                _ => None,
            };
            if let Some(s) = cached {
                self.snapshot = Some(s);
            } else {
                let base = if target == Target::Latest { self.state.snapshots.newest(&key) } else { None };
                return Ok(Some(Machine::Snapshot(Box::new(SnapshotReader::new(target, base)))));
            }
        }
        let wants_listing = match &self.kind {
            Kind::Version { starting_timestamp: Some(_) } => true,
            Kind::Changes(p) => matches!(p.start, Bound::Timestamp(_)) || matches!(p.end, Some(Bound::Timestamp(_))),
            _ => false,
        };
        if wants_listing && self.listing.is_none() {
            return Ok(Some(Machine::Listing));
        }
        let range = match &self.kind {
            Kind::Streaming { start, end, .. } => Some((*start, *end)),
            Kind::Changes(p) => Some(self.changes_range(p)?),
            _ => None,
        };
        match (range, &self.commits) {
            (Some((start, end)), None) => Ok(Some(Machine::Range(CommitRangeReader::new(start, end)))),
            _ => Ok(None),
        }
    }

    fn changes_range(&self, p: &ChangesParams) -> Result<(i64, Option<i64>), ApiError> {
        let latest = self.snapshot.as_ref().map_or(0, |s| s.version);
        let start = match p.start {
            Bound::Version(v) => v,
            Bound::Timestamp(t) => {
                self.listing.as_ref().ok_or_else(ApiError::internal)?.version_at_or_after(t).map_err(delta_error)?
            }
        };
        let end = match p.end {
            None => None,
            Some(Bound::Version(v)) => Some(v),
            Some(Bound::Timestamp(t)) => Some(
                self.listing.as_ref().ok_or_else(ApiError::internal)?.version_at_or_before(t).map_err(delta_error)?,
            ),
        };
        if start > latest {
            return Err(ApiError::invalid(format!(
                "Provided Start version({start}) for reading change data is invalid. Start version cannot be greater than the latest version of the table({latest})."
            )));
        }
        if let Some(end) = end.filter(|&e| e < start) {
            return Err(ApiError::invalid(format!(
                "CDF range from start {start} to end {end} was invalid. End cannot be before start."
            )));
        }
        if start < self.table.start_version {
            return Err(ApiError::invalid(format!(
                "You can only query table changes since version {}.",
                self.table.start_version
            )));
        }
        Ok((start, end))
    }

    fn drive(&mut self, mut input: Option<IoResult>) -> Result<Turn, ApiError> {
        loop {
            let log_input = input.take().map(|r| self.log_response(r));
            match std::mem::replace(&mut self.machine, Machine::Idle) {
                Machine::Idle => match self.next_machine()? {
                    Some(m) => self.machine = m,
                    None => return self.respond().map(Turn::Respond),
                },
                Machine::Snapshot(mut reader) => match reader.resume(log_input).map_err(delta_error)? {
                    ReadStep::Need(reqs) => {
                        self.machine = Machine::Snapshot(reader);
                        return Ok(Turn::Needs(reqs.into_iter().map(|r| self.io(r)).collect()));
                    }
                    ReadStep::Ready(snapshot) => {
                        self.state.snapshots.put(&self.table.cache_key(), snapshot.clone());
                        self.snapshot = Some(snapshot);
                    }
                },
                Machine::Dataset(mut reader) => {
                    match reader.resume(log_input, &self.state.datasets).map_err(dataset_error)? {
                        ReadStep::Need(reqs) => {
                            self.machine = Machine::Dataset(reader);
                            return Ok(Turn::Needs(reqs.into_iter().map(|r| self.dataset_io(r)).collect()));
                        }
                        ReadStep::Ready(snapshot) => self.snapshot = Some(snapshot),
                    }
                }
                Machine::Listing => match log_input {
                    None => {
                        self.machine = Machine::Listing;
                        return Ok(Turn::Need(self.io(LogRequest::List { start_after: None })));
                    }
                    Some(LogResponse::Listing(entries)) => self.listing = Some(LogListing::new(&entries)),
                    Some(LogResponse::NotFound) => return Err(delta_error(DeltaError::NoLog)),
                    Some(LogResponse::Failed(detail)) => return Err(delta_error(DeltaError::Storage(detail))),
                    Some(LogResponse::Bytes(_)) => return Err(delta_error(DeltaError::UnexpectedResponse)),
                },
                Machine::Range(mut reader) => match reader.resume(log_input).map_err(delta_error)? {
                    ReadStep::Need(reqs) => {
                        self.machine = Machine::Range(reader);
                        return Ok(Turn::Needs(reqs.into_iter().map(|r| self.io(r)).collect()));
                    }
                    ReadStep::Ready((listing, commits)) => {
                        self.listing.get_or_insert(listing);
                        self.commits = Some(commits);
                    }
                },
            }
        }
    }

    fn ndjson_head(&self, version: i64, format: Option<ResponseFormat>) -> ResponseHead {
        let mut headers: Vec<(HeaderText, HeaderText)> =
            vec![("Delta-Table-Version".into(), version.to_string().into())];
        if let Some(format) = format {
            headers.push(("Content-Type".into(), CONTENT_TYPE_NDJSON.into()));
            headers.push(("delta-sharing-capabilities".into(), self.caps.response_header(format).into()));
        }
        if let Some(h) = self.file_id_hash {
            headers.push(("fileidhash".into(), h.as_str().into()));
        }
        ResponseHead { status: 200, headers }
    }

    fn respond(&mut self) -> Result<Response, ApiError> {
        if let Kind::Version { starting_timestamp: Some(ts) } = self.kind {
            let listing = self.listing.as_ref().ok_or_else(ApiError::internal)?;
            let first = listing.commits.first().ok_or_else(|| delta_error(DeltaError::NoLog))?;
            let version = if ts <= first.1 { first.0 } else { listing.version_at_or_after(ts).map_err(delta_error)? };
            return Ok(Response {
                head: self.ndjson_head(version, None),
                body: Body::Empty,
                error_code: None,
                detail: None,
            });
        }
        let snapshot = self.snapshot.clone().ok_or_else(ApiError::internal)?;
        check_reader_version(&snapshot)?;
        if let Kind::Version { .. } = self.kind {
            return Ok(Response {
                head: self.ndjson_head(snapshot.version, None),
                body: Body::Empty,
                error_code: None,
                detail: None,
            });
        }
        let features = table_features(&snapshot);
        let format = self.caps.negotiate(&features)?;
        let mut head_lines = Vec::with_capacity(4096);
        lines::protocol(&mut head_lines, format, &snapshot.protocol);
        let kind = self.kind.clone();
        match kind {
            Kind::Version { .. } => Err(ApiError::internal()),
            Kind::Metadata { .. } => {
                let extras = self.snapshot_extras(&snapshot, None);
                lines::metadata(&mut head_lines, format, &snapshot.metadata, &extras);
                let mut head = self.ndjson_head(snapshot.version, Some(format));
                head.headers.push(("Content-Length".into(), head_lines.len().to_string().into()));
                Ok(Response { head, body: Body::Bytes(head_lines), error_code: None, detail: None })
            }
            Kind::Snapshot { query, target, first_index } => {
                self.snapshot_response(snapshot, format, head_lines, &query, target, first_index)
            }
            Kind::Streaming { query, start, first_index, .. } => {
                self.changes_response(snapshot, format, head_lines, Some(&query), start, first_index, true)
            }
            Kind::Changes(p) => {
                let (start, _) = self.changes_range(&p)?;
                self.check_cdf_enabled(&snapshot, start)?;
                self.changes_response(snapshot, format, head_lines, None, start, 0, p.include_historical_metadata)
            }
        }
    }

    fn snapshot_extras(&self, s: &Snapshot, version: Option<i64>) -> MetadataExtras {
        MetadataExtras {
            version,
            size: Some(s.total_size),
            num_files: Some(s.files.len() as i64),
            cdf_shared: self.table.history_shared,
        }
    }

    fn snapshot_response(
        &mut self,
        snapshot: Arc<Snapshot>,
        format: ResponseFormat,
        mut head_lines: Vec<u8>,
        query: &QueryRequest,
        target: Target,
        first_index: usize,
    ) -> Result<Response, ApiError> {
        let time_travel = target != Target::Latest && query.refresh_token.is_none() && query.page_token.is_none()
            || query.version.is_some()
            || query.timestamp.is_some();
        let extras = self.snapshot_extras(&snapshot, time_travel.then_some(snapshot.version));
        lines::metadata(&mut head_lines, format, &snapshot.metadata, &extras);
        let selected = select_files(&snapshot, query);
        if snapshot.has_absolute_paths() {
            return Err(absolute_paths());
        }
        if format == ResponseFormat::Parquet && snapshot.files.iter().any(|f| f.deletion_vector.is_some()) {
            return Err(ApiError::new(
                ErrorCode::NotImplemented,
                "The table has files with deletion vectors: read it with responseformat=delta",
            ));
        }
        let page_size = query.max_files.map(|n| (n as usize).min(MAX_PAGE_FILES));
        let start = first_index.min(selected.len());
        let end = page_size.map_or(selected.len(), |n| (start + n).min(selected.len()));
        let next_page =
            (page_size.is_some() && end < selected.len()).then(|| self.page_token(query, snapshot.version, None, end));
        let refresh = (query.include_refresh_token || query.refresh_token.is_some()).then(|| {
            seal_refresh(
                &self.state.token_key,
                &RefreshState {
                    table: self.table.token_binding(),
                    version: snapshot.version,
                    expires_at_ms: self.now_ms + REFRESH_TOKEN_TTL_MS,
                },
            )
        });
        let stamp = lines::Stamp {
            version: time_travel.then_some(snapshot.version),
            timestamp: time_travel.then_some(snapshot.timestamp_ms),
        };
        let items = Items::Snapshot { snapshot: snapshot.clone(), indices: selected[start..end].to_vec(), stamp };
        self.body_response(snapshot.version, format, head_lines, items, query, refresh, next_page)
    }

    #[allow(clippy::too_many_arguments)]
    fn changes_response(
        &mut self,
        snapshot: Arc<Snapshot>,
        format: ResponseFormat,
        mut head_lines: Vec<u8>,
        query: Option<&QueryRequest>,
        start: i64,
        first_index: usize,
        historical_metadata: bool,
    ) -> Result<Response, ApiError> {
        let commits = Arc::new(self.commits.take().unwrap_or_default());
        let extras = MetadataExtras { version: Some(start), size: None, num_files: None, cdf_shared: true };
        lines::metadata(&mut head_lines, format, &snapshot.metadata, &extras);
        let streaming = query.is_some();
        let mut items = Vec::new();
        for (ci, commit) in commits.iter().enumerate() {
            if streaming
                && commit.actions.iter().any(|a| matches!(a, Action::Protocol(p) if p.min_reader_version > 1))
                && format == ResponseFormat::Parquet
            {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedOperation,
                    "Delta protocol version is too new for this version of Delta Sharing",
                ));
            }
            let has_cdc = !streaming && commit.actions.iter().any(|a| matches!(a, Action::Cdc(_)));
            for (ai, action) in commit.actions.iter().enumerate() {
                let keep = match action {
                    Action::Metadata(_) => historical_metadata && commit.version > start,
                    Action::Cdc(_) => has_cdc,
                    Action::Add(a) => !has_cdc && a.data_change,
                    Action::Remove(r) => !has_cdc && r.data_change,
                    _ => false,
                };
                if keep {
                    items.push(ChangeItem { commit: ci as u32, action: ai as u32 });
                }
            }
        }
        let paths = commits.iter().flat_map(|c| &c.actions).filter_map(|a| match a {
            Action::Add(f) => Some(f.path.as_str()),
            Action::Remove(f) => Some(f.path.as_str()),
            Action::Cdc(f) => Some(f.path.as_str()),
            _ => None,
        });
        check_paths(paths)?;
        let default_query = QueryRequest::default();
        let query = query.unwrap_or(&default_query);
        let page_size = query.max_files.map(|n| (n as usize).min(MAX_PAGE_FILES));
        let from = first_index.min(items.len());
        let to = page_size.map_or(items.len(), |n| (from + n).min(items.len()));
        let next_page = (page_size.is_some() && to < items.len())
            .then(|| self.page_token(query, start, commits.last().map(|c| c.version), to));
        let items =
            Items::Changes { commits, items: items[from..to].to_vec(), metadata_cdf: self.table.history_shared };
        self.body_response(start, format, head_lines, items, query, None, next_page)
    }

    /// The token of the page that starts at item `next_index`, pinned to `version` (and
    /// `end_version` for ranges) and to the query's parameters.
    fn page_token(&self, query: &QueryRequest, version: i64, end_version: Option<i64>, next_index: usize) -> String {
        seal_page(
            &self.state.token_key,
            &PageState {
                table: self.table.token_binding(),
                version,
                end_version,
                checksum: query_checksum(query, &self.caps),
                next_index: next_index as u64,
                expires_at_ms: self.now_ms + i64::from(self.state.catalog.page_token_ttl_seconds) * 1000,
            },
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn body_response(
        &self,
        version: i64,
        format: ResponseFormat,
        head_lines: Vec<u8>,
        items: Items,
        query: &QueryRequest,
        refresh_token: Option<String>,
        next_page: Option<String>,
    ) -> Result<Response, ApiError> {
        // Snapshot files may reuse signatures made within the last minute for the same version
        // (and content: a dataset is always version 0).
        let (reuse_key, full_snapshot) = match &items {
            Items::Snapshot { snapshot, indices, .. } => (
                Some(format!("{}\u{0}{}\u{0}{}", self.table.cache_key(), snapshot.version, snapshot.content_id)),
                (indices.len() == snapshot.files.len()).then_some(snapshot.files.len()),
            ),
            Items::Changes { .. } => (None, None),
        };
        let reuse = reuse_key.as_deref().and_then(|k| self.state.url_reuse.get(k, self.now_ms));
        let batch = match &reuse {
            Some(signed) => signed.batch.clone(),
            None => {
                let store = self.state.stores.get(&self.table.store).ok_or_else(ApiError::internal)?;
                let batch = store
                    .signer
                    .batch(self.now_ms, self.state.catalog.url_ttl_seconds)
                    .map_err(|e| ApiError::new(ErrorCode::NotImplemented, e.to_string()))?;
                Arc::new(batch)
            }
        };
        let record = match (reuse.is_none(), reuse_key, full_snapshot) {
            (true, Some(key), Some(files)) => Some(Record {
                key,
                signatures: vec![[0u8; 32]; files],
                state: self.state.clone(),
                signed_at_ms: self.now_ms,
            }),
            _ => None,
        };
        let end_stream = self.caps.include_end_stream_action
            || query.max_files.is_some()
            || query.include_refresh_token
            || refresh_token.is_some();
        let tail = end_stream.then(|| {
            let mut t = Vec::new();
            lines::end_stream(&mut t, refresh_token.as_deref(), next_page.as_deref(), Some(batch.expires_at_ms));
            t
        });
        let id_hash = self.file_id_hash.unwrap_or(match format {
            ResponseFormat::Parquet => FileIdHash::Parquet,
            ResponseFormat::Delta => FileIdHash::Delta,
        });
        let body = TableBody::new(head_lines, items, format, batch, reuse, record, self.table.clone(), id_hash, tail);
        Ok(Response {
            head: self.ndjson_head(version, Some(format)),
            body: Body::Stream(Box::new(body)),
            error_code: None,
            detail: None,
        })
    }

    fn check_cdf_enabled(&self, snapshot: &Snapshot, start: i64) -> Result<(), ApiError> {
        let commits = self.commits.as_deref().unwrap_or_default();
        let mut enabled = snapshot.metadata.property("delta.enableChangeDataFeed") == Some("true");
        for c in commits {
            for a in &c.actions {
                if let Action::Metadata(m) = a {
                    enabled = m.property("delta.enableChangeDataFeed") == Some("true");
                    if !enabled {
                        return Err(ApiError::invalid(format!(
                            "Error getting change data for range [{start}, {}] as change data was not recorded for version [{}]",
                            commits.last().map_or(start, |c| c.version),
                            c.version
                        )));
                    }
                }
            }
        }
        if !enabled {
            return Err(ApiError::invalid(format!("cdf is not enabled on table {}", self.table.full_name)));
        }
        Ok(())
    }
}

impl Operation for TableRead {
    fn resume(&mut self, input: Option<IoResult>) -> Turn {
        self.drive(input).unwrap_or_else(|e| Turn::Respond(error_response(&e)))
    }
}

/// The hash a page token binds: every query parameter except the page fields.
pub(super) fn query_checksum(q: &QueryRequest, caps: &Capabilities) -> String {
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{:?}",
        q.predicate_hints,
        q.json_predicate_hints,
        q.limit_hint,
        q.version,
        q.timestamp,
        q.starting_version,
        q.ending_version,
        q.include_historical_protocol,
        caps.formats
    );
    crate::util::hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}

fn check_reader_version(s: &Snapshot) -> Result<(), ApiError> {
    let p = &s.protocol;
    if p.min_reader_version > 3 {
        return Err(ApiError::new(
            ErrorCode::UnsupportedOperation,
            format!(
                "Delta protocol version ({},{}) is too new for this version of Delta Sharing",
                p.min_reader_version, p.min_writer_version
            ),
        ));
    }
    Ok(())
}

fn table_features(s: &Snapshot) -> Vec<TableFeature> {
    let m = &s.metadata;
    let mut features = Vec::new();
    if m.property("delta.enableDeletionVectors").is_some_and(|v| v != "false") {
        features.push(TableFeature::DeletionVectors);
    }
    if m.property("delta.columnMapping.mode").is_some_and(|v| v != "none") {
        features.push(TableFeature::ColumnMapping);
    }
    if s.protocol.reader_features.as_ref().is_some_and(|f| f.iter().any(|f| f == "timestampNtz")) {
        features.push(TableFeature::TimestampNtz);
    }
    features
}

fn absolute_paths() -> ApiError {
    ApiError::invalid("table containing absolute paths cannot be shared")
}

/// Refuses tables whose files live outside the table root (absolute paths).
fn check_paths<'a>(mut paths: impl Iterator<Item = &'a str>) -> Result<(), ApiError> {
    if paths.any(crate::delta::actions::is_absolute_path) {
        return Err(absolute_paths());
    }
    Ok(())
}

/// The indices of the files a snapshot query returns: pruned by `jsonPredicateHints`, cut by
/// `limitHint` (on statistics' record counts).
fn select_files(snapshot: &Snapshot, query: &QueryRequest) -> Vec<u32> {
    let predicate = query.json_predicate_hints.as_deref().and_then(Predicate::parse);
    let physical = physical_names(&snapshot.metadata.schema_string);
    let partition_columns = &snapshot.metadata.partition_columns;
    let mut selected = Vec::with_capacity(snapshot.files.len());
    let mut rows = 0i64;
    for (i, f) in snapshot.files.iter().enumerate() {
        if let Some(limit) = query.limit_hint.filter(|_| query.json_predicate_hints.is_none()) {
            if rows >= limit {
                break;
            }
        }
        let stats: Option<serde_json::Value> = if predicate.is_some() || query.limit_hint.is_some() {
            f.stats.as_ref().and_then(|s| s.parse())
        } else {
            None
        };
        if let Some(p) = &predicate {
            let facts = |column: &str| {
                let name =
                    physical.iter().find(|(l, _)| l.eq_ignore_ascii_case(column)).map_or(column, |(_, p)| p.as_str());
                let mut facts = crate::protocol::predicate::ColumnFacts::default();
                if partition_columns.iter().any(|c| c.eq_ignore_ascii_case(column)) {
                    facts.partition_value = f
                        .partition_values
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.as_deref());
                } else if let Some(s) = &stats {
                    facts.min = s.get("minValues").and_then(|m| m.get(name));
                    facts.max = s.get("maxValues").and_then(|m| m.get(name));
                    facts.null_count = s.get("nullCount").and_then(|m| m.get(name)).and_then(serde_json::Value::as_i64);
                    facts.num_records = s.get("numRecords").and_then(serde_json::Value::as_i64);
                }
                facts
            };
            if !p.may_match(&facts) {
                continue;
            }
        }
        let records = stats.as_ref().and_then(|s| s.get("numRecords")).and_then(serde_json::Value::as_i64);
        let deleted = f.deletion_vector.as_ref().map_or(0, |d| d.cardinality);
        // Without a record count the limit cannot be applied safely: keep every file.
        rows = match records {
            Some(n) => rows.saturating_add(n - deleted),
            None => i64::MIN / 2,
        };
        selected.push(i as u32);
    }
    selected
}

/// Logical → physical names of the top-level columns (column mapping).
fn physical_names(schema_string: &str) -> Vec<(String, String)> {
    let Ok(schema) = serde_json::from_str::<serde_json::Value>(schema_string) else { return Vec::new() };
    schema["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| {
                    let name = f["name"].as_str()?;
                    let physical = f["metadata"]["delta.columnMapping.physicalName"].as_str()?;
                    Some((name.to_string(), physical.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Maps a log error to the client's answer.
fn delta_error(e: DeltaError) -> ApiError {
    match e {
        DeltaError::NoLog => ApiError::not_found("The table has no Delta log"),
        DeltaError::VersionNotFound { .. }
        | DeltaError::TimestampTooEarly { .. }
        | DeltaError::TimestampTooLate { .. } => ApiError::invalid(e.to_string()),
        DeltaError::Storage(_) | DeltaError::UnexpectedResponse => {
            ApiError::new(ErrorCode::CatalogError, "The table's storage could not be read")
        }
        DeltaError::Corrupt { .. } | DeltaError::MissingCommit(_) | DeltaError::Incomplete(_) => {
            ApiError::new(ErrorCode::InternalError, format!("The table's Delta log cannot be read: {e}"))
        }
    }
}

/// Maps a dataset error to the client's answer: like the Delta log's (an unreadable or
/// inconsistent file is the provider's problem, 500 with the file named).
fn dataset_error(e: DatasetError) -> ApiError {
    match e {
        DatasetError::Empty => ApiError::not_found("The dataset has no Parquet files"),
        DatasetError::Storage(_) | DatasetError::UnexpectedResponse => {
            ApiError::new(ErrorCode::CatalogError, "The table's storage could not be read")
        }
        DatasetError::Corrupt { .. } | DatasetError::Incompatible { .. } => {
            ApiError::new(ErrorCode::InternalError, format!("The dataset cannot be read: {e}"))
        }
    }
}
