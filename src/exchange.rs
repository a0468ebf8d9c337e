//! The sans-IO exchange: one request's life, driven by the host.
//!
//! ```text
//! loop ex.poll():
//!   Need(io)   -> host performs io; ex.supply(result)
//!   Head(head) -> host sends status and headers
//!   Body       -> host pulls bytes with ex.read(buf) until it returns 0
//!   Done(audit)-> the exchange is over
//! ```

use crate::auth::AuditEvent;
use crate::http::ResponseHead;

/// A byte range `[start, end)` of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// IO the engine needs the host to perform before it can go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoNeed {
    /// List the objects of `store` whose keys start with `prefix` and sort after
    /// `start_after`, and answer [`IoResult::Listing`] with them sorted by key.
    ///
    /// The listing is recursive: `prefix` is a key prefix, not a directory, and every object
    /// below it is listed, however deep (directories themselves are not objects). Every host
    /// (Rust, C, Go) agrees on this.
    List {
        /// The store name from the configuration.
        store: String,
        /// The key prefix.
        prefix: String,
        /// Only keys greater than this one.
        start_after: Option<String>,
        /// At most this many entries; `None` asks for all of them (the Delta log tail).
        /// When more remain, the answer says after which key to continue
        /// ([`Listing::continue_after`]).
        max_keys: Option<usize>,
    },
    /// Read an object (or a range of it) and answer [`IoResult::Bytes`].
    Get {
        /// The store name from the configuration.
        store: String,
        /// The object key.
        key: String,
        /// The range to read; the whole object when `None`.
        range: Option<ByteRange>,
    },
    /// Look an object up and answer [`IoResult::Meta`].
    Head {
        /// The store name from the configuration.
        store: String,
        /// The object key.
        key: String,
    },
    /// Send this HTTPS request (to a credential service: AWS STS, Google OAuth and STS; or a
    /// GET of an OpenID provider's discovery document or JWKS) and answer [`IoResult::Http`]
    /// with the reply, whatever its status.
    Http(HttpCall),
    /// Read the request body and answer [`IoResult::Bytes`]. Asked only of a request whose
    /// [`body_pending`](crate::Request::body_pending) is set, and only once the request is
    /// authenticated and routed, so an anonymous client never makes the host buffer a body.
    /// Stop reading after `max_bytes + 1` bytes and supply what was read: the engine answers
    /// 413 to a body longer than `max_bytes`. A body that could not be read (the client went
    /// away, the host's time budget ran out) is answered with [`IoResult::Failed`].
    RequestBody {
        /// The largest body the engine accepts.
        max_bytes: usize,
    },
}

/// An outgoing HTTP request the engine built and signed.
///
/// Its headers and body carry credentials (a SigV4 `Authorization`, an OAuth assertion or
/// token): hosts must not log them. `Debug` prints the method and URL only.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The absolute URL.
    pub url: String,
    /// Headers to send as given (`Host` and `Content-Length` are the host's to add).
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpCall").field("method", &self.method).field("url", &self.url).finish_non_exhaustive()
    }
}

/// The reply to an [`HttpCall`].
#[derive(Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The HTTP status.
    pub status: u16,
    /// The body (hosts may cap it; credential replies are a few KiB).
    pub body: Vec<u8>,
    /// Reply headers the engine may read (`Cache-Control` of a JWKS); hosts may pass none.
    pub headers: Vec<(String, String)>,
}

impl HttpReply {
    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for HttpReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpReply").field("status", &self.status).field("body_len", &self.body.len()).finish()
    }
}

/// One listed object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The full key in the store.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, Unix milliseconds.
    pub last_modified_ms: i64,
}

/// The answer to a [`IoNeed::List`]: one page of a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// The objects, sorted by key.
    pub entries: Vec<ObjectMeta>,
    /// `None` when the listing is complete; otherwise the key to list after next time (the
    /// next need's `start_after`): more objects remain.
    pub continue_after: Option<String>,
}

impl Listing {
    /// A complete listing: nothing remains after `entries`.
    pub fn complete(entries: Vec<ObjectMeta>) -> Listing {
        Listing { entries, continue_after: None }
    }

    /// A page of at most `max_keys` entries out of `entries` (sorted): when there are more,
    /// they are dropped and the page continues after the last one kept. Hosts that list one
    /// entry more than asked use this to say whether more remain.
    pub fn page(mut entries: Vec<ObjectMeta>, max_keys: Option<usize>) -> Listing {
        match max_keys.map(|m| m.max(1)) {
            Some(max) if entries.len() > max => {
                entries.truncate(max);
                let continue_after = entries.last().map(|e| e.key.clone());
                Listing { entries, continue_after }
            }
            _ => Listing::complete(entries),
        }
    }
}

/// The host's answer to an [`IoNeed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoResult {
    /// Answer to `List`.
    Listing(Listing),
    /// Answer to `Get` and `RequestBody`.
    Bytes(Vec<u8>),
    /// Answer to `Head`.
    Meta(ObjectMeta),
    /// Answer to `Http`: the reply, whatever its status.
    Http(HttpReply),
    /// The object does not exist.
    NotFound,
    /// The IO failed. The message goes to the host's log, never to the client.
    Failed(String),
}

/// What the host should do next.
#[derive(Debug)]
pub enum Poll<'a> {
    /// Perform this IO, then call [`Exchange::supply`].
    Need(&'a IoNeed),
    /// Send this status and these headers.
    Head(&'a ResponseHead),
    /// Pull body bytes with [`Exchange::read`] until it returns 0.
    Body,
    /// The exchange is over; log this event.
    Done(&'a AuditEvent),
}

/// A host called a method in the wrong state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// `supply` was called while the exchange was not waiting for IO.
    #[error("the exchange is not waiting for IO")]
    NotWaitingForIo,
}

/// A response body that is produced piece by piece, so a large response is never built whole.
pub(crate) trait BodyStream: Send {
    /// Appends the next piece to `out`. Returns `false` once the body is complete.
    fn next_chunk(&mut self, out: &mut Vec<u8>) -> bool;
    /// How many URLs have been signed so far.
    fn urls_signed(&self) -> u64 {
        0
    }
}

/// A response body.
pub(crate) enum Body {
    /// No body.
    Empty,
    /// A body that is already complete.
    Bytes(Vec<u8>),
    /// A body produced on demand.
    Stream(Box<dyn BodyStream>),
}

/// A complete response: head and body.
pub(crate) struct Response {
    pub head: ResponseHead,
    pub body: Body,
    pub error_code: Option<&'static str>,
    /// What went wrong, for the provider's log (never key material).
    pub detail: Option<String>,
}

/// One step of an operation that may need IO.
pub(crate) enum Step {
    Need(IoNeed),
    Respond(Response),
}

/// An operation that needs IO before it can respond.
pub(crate) trait Operation: Send {
    /// Advances the operation. `input` answers the previous `Step::Need` (`None` on the first
    /// call).
    fn resume(&mut self, input: Option<IoResult>) -> Step;

    /// Adds what the operation learnt to the audit event (called after each `resume`).
    fn note(&self, _audit: &mut AuditEvent) {}
}

enum State {
    Operating { op: Box<dyn Operation>, waiting: Option<IoNeed>, input: Option<IoResult> },
    HeadReady(ResponseHead, Body),
    Streaming(Body),
    Finished,
}

/// One request in progress. Not shared between threads while in use; send it to another thread
/// freely.
pub struct Exchange {
    state: State,
    head: Option<ResponseHead>,
    head_only: bool,
    audit: AuditEvent,
    chunk: Vec<u8>,
    chunk_pos: usize,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange").field("audit", &self.audit).finish_non_exhaustive()
    }
}

impl Exchange {
    pub(crate) fn responding(response: Response, head_only: bool, audit: AuditEvent) -> Exchange {
        let mut ex = Exchange { state: State::Finished, head: None, head_only, audit, chunk: Vec::new(), chunk_pos: 0 };
        ex.respond(response);
        ex
    }

    pub(crate) fn operating(op: Box<dyn Operation>, head_only: bool, audit: AuditEvent) -> Exchange {
        Exchange {
            state: State::Operating { op, waiting: None, input: None },
            head: None,
            head_only,
            audit,
            chunk: Vec::new(),
            chunk_pos: 0,
        }
    }

    fn respond(&mut self, response: Response) {
        self.audit.status = response.head.status;
        self.audit.error_code = response.error_code;
        self.audit.detail = response.detail;
        let body = if self.head_only { Body::Empty } else { response.body };
        self.state = State::HeadReady(response.head, body);
    }

    /// Says what the host should do next. Calling it again without acting returns the same
    /// instruction.
    pub fn poll(&mut self) -> Poll<'_> {
        if let State::Operating { op, waiting, input } = &mut self.state {
            if waiting.is_none() {
                let step = op.resume(input.take());
                op.note(&mut self.audit);
                match step {
                    Step::Need(need) => *waiting = Some(need),
                    Step::Respond(response) => self.respond(response),
                }
            }
        }
        if matches!(self.state, State::HeadReady(..)) {
            if let State::HeadReady(head, body) = std::mem::replace(&mut self.state, State::Finished) {
                self.state = State::Streaming(body);
                return Poll::Head(self.head.insert(head));
            }
        }
        match &self.state {
            State::Operating { waiting: Some(need), .. } => Poll::Need(need),
            State::Streaming(_) | State::HeadReady(..) => Poll::Body,
            // `Operating` without a need is not reached: `resume` above either waits or responds.
            State::Operating { waiting: None, .. } | State::Finished => Poll::Done(&self.audit),
        }
    }

    /// Answers the IO need the last [`poll`](Exchange::poll) returned.
    pub fn supply(&mut self, result: IoResult) -> Result<(), ExchangeError> {
        match &mut self.state {
            State::Operating { waiting, input, .. } if waiting.is_some() => {
                *waiting = None;
                *input = Some(result);
                self.audit.io_requests += 1;
                Ok(())
            }
            _ => Err(ExchangeError::NotWaitingForIo),
        }
    }

    /// Copies the next body bytes into `buf`. Returns 0 when the body is complete (or when
    /// called in another state).
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        // SAFETY: `MaybeUninit<u8>` has `u8`'s layout, and `read_uninit` writes only initialised
        // bytes, so `buf` stays initialised.
        let buf = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
        self.read_uninit(buf)
    }

    /// [`read`](Exchange::read) into a buffer that may be uninitialised (a C caller's): the
    /// bytes counted by the return value are initialised.
    pub(crate) fn read_uninit(&mut self, buf: &mut [std::mem::MaybeUninit<u8>]) -> usize {
        if buf.is_empty() {
            return 0;
        }
        loop {
            if self.chunk_pos < self.chunk.len() {
                let n = buf.len().min(self.chunk.len() - self.chunk_pos);
                let piece = &self.chunk[self.chunk_pos..self.chunk_pos + n];
                // SAFETY: `buf` has room for `n` bytes and cannot overlap the exchange's own chunk.
                unsafe { std::ptr::copy_nonoverlapping(piece.as_ptr(), buf.as_mut_ptr().cast::<u8>(), n) };
                self.chunk_pos += n;
                self.audit.body_bytes += n as u64;
                return n;
            }
            self.chunk.clear();
            self.chunk_pos = 0;
            let State::Streaming(body) = &mut self.state else {
                return 0;
            };
            let more = match body {
                Body::Empty => false,
                Body::Bytes(bytes) => {
                    self.chunk = std::mem::take(bytes);
                    false
                }
                Body::Stream(stream) => {
                    let more = stream.next_chunk(&mut self.chunk);
                    self.audit.urls_signed = stream.urls_signed();
                    more
                }
            };
            if !more {
                self.state = if self.chunk.is_empty() { State::Finished } else { State::Streaming(Body::Empty) };
                if self.chunk.is_empty() {
                    return 0;
                }
            }
        }
    }

    /// The IO need the exchange is waiting on, if any.
    pub fn pending_need(&self) -> Option<&IoNeed> {
        match &self.state {
            State::Operating { waiting, .. } => waiting.as_ref(),
            _ => None,
        }
    }

    /// The response head, once the exchange has reached it.
    pub fn head(&self) -> Option<&ResponseHead> {
        self.head.as_ref()
    }

    /// Whether the body is being read: the head was polled and the body is not complete yet.
    pub(crate) fn in_body(&self) -> bool {
        matches!(self.state, State::Streaming(_))
    }

    /// The audit event as it stands (complete once `poll` returned `Done`).
    pub fn audit(&self) -> &AuditEvent {
        &self.audit
    }
}
