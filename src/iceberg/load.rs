//! LoadTable and LoadCredentials: operations that read storage (metadata discovery) and may
//! call a credential service (vending) before they answer.
//!
//! The metadata file is relayed byte for byte and streamed: the body is the
//! `{"metadata-location":…,"metadata":` prefix, the file's bytes in pieces, then
//! `,"config":{…},"storage-credentials":[…]}`. The file is held once, never copied whole.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::access;
use super::discover::{Discovery, Found};
use super::error::IcebergError;
use crate::api::credentials::vend_api_error;
use crate::catalog::StoreConfig;
use crate::exchange::{Body, BodyStream, IoNeed, IoResult, Operation, Response, Turn};
use crate::state::EngineState;
use crate::vend::{self, Obtain, PendingGrant, Progress, VendTarget};

/// Largest piece of the body produced at once.
const PIECE: usize = 64 * 1024;

/// How the recipient reaches the table's files.
pub(crate) enum Delegation {
    /// Temporary credentials for the table's prefix.
    Vend,
    /// Fixed properties (remote signing), or none.
    Properties(Map<String, Value>),
}

/// The table an operation serves, resolved from the catalog.
pub(crate) struct TableAccess {
    pub state: Arc<EngineState>,
    pub store_name: String,
    /// The table root in the store (no leading or trailing `/`).
    pub root: String,
    /// The table location URI (`s3://bucket/root`).
    pub location: String,
    pub recipient: String,
    pub now_ms: i64,
    pub delegation: Delegation,
}

impl TableAccess {
    fn store(&self) -> Option<&StoreConfig> {
        self.state.catalog.stores.get(&self.store_name)
    }
}

/// What the operation answers once it has what it needs.
enum Answer {
    /// LoadTable, with the discovery of its metadata.
    Load { discovery: Discovery, metadata: Option<(String, bytes::Bytes)> },
    /// LoadCredentials.
    Credentials,
}

/// The part of the operation an IO need serves: the two run side by side, so LoadTable with
/// vended credentials costs the longer of metadata discovery and the credential calls, not both.
#[derive(Clone, Copy)]
enum Part {
    Discovery,
    Vending,
}

/// The `config` properties once known, and whether they are vended credentials.
type Properties = (Map<String, Value>, bool);

/// LoadTable or LoadCredentials in progress.
pub(crate) struct TableOperation {
    table: TableAccess,
    answer: Answer,
    pending: Option<PendingGrant>,
    properties: Option<Properties>,
    /// The part each outstanding need serves, in the order asked (answers come in that order).
    waiting: VecDeque<Part>,
}

impl TableOperation {
    /// LoadTable for `table`, with its metadata found by `discovery`.
    pub fn load(table: TableAccess, discovery: Discovery) -> TableOperation {
        TableOperation::new(table, Answer::Load { discovery, metadata: None })
    }

    /// LoadCredentials for `table`.
    pub fn credentials(table: TableAccess) -> TableOperation {
        TableOperation::new(table, Answer::Credentials)
    }

    fn new(table: TableAccess, answer: Answer) -> TableOperation {
        TableOperation { table, answer, pending: None, properties: None, waiting: VecDeque::new() }
    }

    /// Starts both parts (`input` is `None`) or hands `input` to the part that asked for it;
    /// answers once both are done.
    fn step(&mut self, input: Option<IoResult>) -> Result<Turn, IcebergError> {
        let mut needs = Vec::new();
        match (input, self.waiting.pop_front()) {
            (None, _) => {
                needs.extend(self.discover(None)?);
                needs.extend(self.vend(None)?);
            }
            (Some(result), Some(Part::Discovery)) => needs.extend(self.discover(Some(result))?),
            (Some(result), Some(Part::Vending)) => needs.extend(self.vend(Some(result))?),
            (Some(_), None) => {
                return Err(IcebergError::storage("internal error", "an answer came that was not asked for"))
            }
        }
        let discovered = !matches!(self.answer, Answer::Load { metadata: None, .. });
        match self.properties.take() {
            Some((props, vended)) if discovered => Ok(Turn::Respond(self.respond(props, vended))),
            properties => {
                self.properties = properties;
                Ok(Turn::Needs(needs))
            }
        }
    }

    /// Advances metadata discovery (LoadTable only); its next need, if any.
    fn discover(&mut self, input: Option<IoResult>) -> Result<Option<IoNeed>, IcebergError> {
        let Answer::Load { discovery, metadata: metadata @ None } = &mut self.answer else { return Ok(None) };
        match discovery.advance(input)? {
            Found::Need(need) => {
                self.waiting.push_back(Part::Discovery);
                Ok(Some(need))
            }
            Found::Metadata { key, bytes } => {
                check_metadata(&bytes)?;
                *metadata = Some((key, bytes));
                Ok(None)
            }
        }
    }

    /// Advances the credentials (fixed properties need none); the next call, if any.
    fn vend(&mut self, input: Option<IoResult>) -> Result<Option<IoNeed>, IcebergError> {
        if let Delegation::Properties(props) = &self.table.delegation {
            self.properties = Some((props.clone(), false));
            return Ok(None);
        }
        let progress = self.grant(input).map_err(|e| {
            let (error, detail) = vend_api_error(e);
            IcebergError::from_api(error, detail)
        })?;
        match progress {
            Progress::Call(call) => {
                self.waiting.push_back(Part::Vending);
                Ok(Some(IoNeed::Http(call)))
            }
            Progress::Done(grant) => {
                let store = self.table.store().ok_or_else(|| IcebergError::storage("no store", "store gone"))?;
                self.properties = Some((access::vended(&grant, store), true));
                Ok(None)
            }
        }
    }

    /// The grant, from the cache or computed, or the next credential-service call.
    fn grant(&mut self, input: Option<IoResult>) -> Result<Progress, vend::VendError> {
        let cache = &self.table.state.credentials;
        if let Some(pending) = &mut self.pending {
            return pending.advance(cache, input);
        }
        let store = self.table.state.stores.get(&self.table.store_name);
        let store = store.ok_or_else(|| vend::VendError::Config("the store is gone".into()))?;
        let target = VendTarget {
            vendor: &store.vendor,
            prefix: &self.table.root,
            recipient: &self.table.recipient,
            ttl_seconds: self.table.state.catalog.credential_ttl_seconds,
            now_ms: self.table.now_ms,
        };
        match vend::obtain(cache, &target, &self.table.store_name)? {
            Obtain::Ready(grant) => Ok(Progress::Done(grant)),
            Obtain::Pending(pending) => self.pending.insert(pending).advance(cache, None),
        }
    }

    /// The answer with `props` in `config`, and in `storage-credentials` when they are
    /// `vended` credentials (remote-signing settings are not credentials).
    fn respond(&mut self, props: Map<String, Value>, vended: bool) -> Response {
        let credentials = match vended {
            true => access::storage_credentials(&self.table.location, &props),
            false => Value::Array(Vec::new()),
        };
        match &mut self.answer {
            Answer::Credentials => {
                let body = serde_json::json!({"storage-credentials": credentials});
                crate::api::json_response(&body).unwrap_or_else(|e| IcebergError::from_api(e, None).response())
            }
            Answer::Load { metadata, .. } => {
                let (key, bytes) = metadata.take().unwrap_or_default();
                let store = self.table.store();
                let uri = store.map(|s| crate::api::location_uri(&self.table.store_name, s, &key)).unwrap_or_default();
                LoadTableBody::new(&uri, bytes, &props, &credentials).response()
            }
        }
    }
}

impl Operation for TableOperation {
    fn resume(&mut self, input: Option<IoResult>) -> Turn {
        self.step(input).unwrap_or_else(|e| Turn::Respond(e.response()))
    }
}

/// The one field of table metadata the engine reads; the rest is only checked to be JSON.
#[derive(serde::Deserialize)]
struct MetadataHead {
    #[serde(rename = "format-version")]
    format_version: u8,
}

/// Checks that the metadata file is one JSON object with a `format-version`, so the response
/// stays valid JSON and holds table metadata.
fn check_metadata(bytes: &[u8]) -> Result<(), IcebergError> {
    let invalid = |why: String| IcebergError::storage("The table's metadata file is not valid table metadata", why);
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(invalid("metadata file: not a JSON object".into()));
    }
    let head: MetadataHead = serde_json::from_slice(bytes).map_err(|e| invalid(format!("metadata file: {e}")))?;
    if !(1..=3).contains(&head.format_version) {
        return Err(invalid(format!("metadata file: format-version {}", head.format_version)));
    }
    Ok(())
}

/// The LoadTable body: prefix, the metadata file in pieces, suffix.
pub(crate) struct LoadTableBody {
    prefix: Vec<u8>,
    metadata: bytes::Bytes,
    suffix: Vec<u8>,
    /// 0: prefix, 1: metadata from `offset`, 2: suffix, 3: done.
    stage: u8,
    offset: usize,
}

impl LoadTableBody {
    /// The body for `metadata`, the bytes of the file at `location`.
    pub fn new(
        location: &str,
        metadata: bytes::Bytes,
        config: &Map<String, Value>,
        credentials: &Value,
    ) -> LoadTableBody {
        let mut prefix = b"{\"metadata-location\":".to_vec();
        prefix.extend_from_slice(&serde_json::to_vec(location).unwrap_or_default());
        prefix.extend_from_slice(b",\"metadata\":");
        let mut suffix = b",\"config\":".to_vec();
        suffix.extend_from_slice(&serde_json::to_vec(config).unwrap_or_default());
        suffix.extend_from_slice(b",\"storage-credentials\":");
        suffix.extend_from_slice(&serde_json::to_vec(credentials).unwrap_or_default());
        suffix.push(b'}');
        LoadTableBody { prefix, metadata, suffix, stage: 0, offset: 0 }
    }

    /// The 200 response streaming this body.
    pub fn response(self) -> Response {
        let len = self.prefix.len() + self.metadata.len() + self.suffix.len();
        Response {
            head: crate::api::json_head(200, len),
            body: Body::Stream(Box::new(self)),
            error_code: None,
            detail: None,
        }
    }
}

impl BodyStream for LoadTableBody {
    fn next_chunk(&mut self, out: &mut Vec<u8>) -> bool {
        match self.stage {
            0 => {
                out.extend_from_slice(&self.prefix);
                self.stage = 1;
            }
            1 => {
                let end = (self.offset + PIECE).min(self.metadata.len());
                out.extend_from_slice(&self.metadata[self.offset..end]);
                self.offset = end;
                if end == self.metadata.len() {
                    self.stage = 2;
                }
            }
            2 => {
                out.extend_from_slice(&self.suffix);
                self.stage = 3;
            }
            _ => {}
        }
        self.stage < 3
    }
}
