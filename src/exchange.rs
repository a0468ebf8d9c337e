//! The sans-IO exchange: one request's life, driven by the host.
//!
//! ```text
//! loop ex.poll():
//!   Need(id, io) -> host performs io (now, or concurrently); ex.supply(id, result)
//!   Wait         -> every need is handed out: supply one of their answers, then poll again
//!   Head(head)   -> host sends status and headers
//!   Body         -> host pulls bytes with ex.read(buf) until it returns 0
//!   ServeFile(f) -> host sends bytes f.range of object f.key of store f.store itself
//!   Done(audit)  -> the exchange is over
//! ```
//!
//! An exchange may have several IO needs outstanding at once (the log files of a snapshot, the
//! footers of a dataset): `poll` hands out each one once, with its [`NeedId`], and the host
//! answers them in any order. A host that answers each need before polling again never sees
//! `Wait` and stays correct; it only pays one round trip per need.

use std::collections::VecDeque;

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

impl ByteRange {
    /// How many bytes the range holds.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A local-store file the host sends itself, once the engine has checked its signed URL and
/// looked it up (see [`Step::ServeFile`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileGrant {
    /// The store name from the configuration (a `local` store).
    pub store: String,
    /// The object key, decoded, safe to join to the store's root (no `.`, `..` or empty
    /// segments). The host still refuses a key that a symbolic link leads out of the root, as
    /// it does for every need.
    pub key: String,
    /// The bytes to send: the whole object, or the one range the client asked for. The
    /// response head already says so (`Content-Length`, and `Content-Range` for a 206).
    pub range: ByteRange,
    /// The `Content-Type` the head carries.
    pub content_type: String,
}

/// IO the engine needs the host to perform before it can go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoNeed {
    /// List the objects of `store` whose keys start with `prefix` and sort after
    /// `start_after`, and answer [`IoResult::Listing`] with them sorted by key.
    ///
    /// The listing is recursive: `prefix` is a key prefix, not a directory, and every object
    /// below it is listed, however deep (directories themselves are not objects). Every host
    /// (Rust, C, C++, Go) agrees on this.
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
    /// Answer to `Get` and `RequestBody`. `Bytes` so that a host hands over the buffer its
    /// storage or HTTP client returned without a copy (`Vec<u8>` converts with `.into()`).
    Bytes(bytes::Bytes),
    /// Answer to `Head`.
    Meta(ObjectMeta),
    /// Answer to `Http`: the reply, whatever its status.
    Http(HttpReply),
    /// The object does not exist.
    NotFound,
    /// The IO failed. The message goes to the host's log, never to the client.
    Failed(String),
}

/// Names one IO need of an exchange. Ids grow in the order the needs were asked and are never
/// reused within an exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NeedId(pub(crate) u64);

impl std::fmt::Display for NeedId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What the host should do next.
#[derive(Debug)]
pub enum Step<'a> {
    /// Perform this IO, then call [`Exchange::supply`] with its id. Each need is handed out
    /// once: poll again for the next one.
    Need(NeedId, &'a IoNeed),
    /// Every outstanding need has been handed out and none is answered yet: supply an answer,
    /// then poll again.
    Wait,
    /// Send this status and these headers.
    Head(&'a ResponseHead),
    /// Pull body bytes with [`Exchange::read`] until it returns 0.
    Body,
    /// Send the bytes of this local-store file as the body, from the store, then poll again.
    /// Comes after [`Head`](Step::Head), instead of `Body`, for a `GET` of a signed local file
    /// URL (`{prefix}/files/…`) with a non-empty range; the bytes never pass through the
    /// engine, so a host may use `sendfile`. The audit event counts the range as sent.
    ServeFile(&'a FileGrant),
    /// The exchange is over; log this event.
    Done(&'a AuditEvent),
}

/// A host called a method in the wrong state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// `supply` was called while the exchange was not waiting for IO (it may have answered
    /// already, with needs still outstanding: drop their answers).
    #[error("the exchange is not waiting for IO")]
    NotWaitingForIo,
    /// `supply` named a need that is not outstanding: never asked, or already answered.
    #[error("IO need {0} is not outstanding")]
    UnknownNeed(NeedId),
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
    /// A local-store file the host sends itself (boxed: most responses are not files).
    File(Box<FileGrant>),
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
pub(crate) enum Turn {
    /// One more need.
    Need(IoNeed),
    /// Several more needs at once, or none: wait for the answers to those asked before.
    Needs(Vec<IoNeed>),
    Respond(Response),
}

/// An operation that needs IO before it can respond.
pub(crate) trait Operation: Send {
    /// Advances the operation: `None` on the first call, then once with the answer to each need
    /// it asked, in the order it asked them (the exchange holds answers that come early).
    fn resume(&mut self, input: Option<IoResult>) -> Turn;

    /// Adds what the operation learnt to the audit event (called after each `resume`).
    fn note(&self, _audit: &mut AuditEvent) {}
}

/// A need asked by the operation, and its answer once the host has supplied it.
struct Asked {
    need: IoNeed,
    answer: Option<IoResult>,
}

/// The needs an operation asked and has not been given back yet, in the order asked.
#[derive(Default)]
struct Needs {
    /// `asked[i]` is need `first + i`.
    asked: VecDeque<Asked>,
    first: u64,
    /// Needs below this id have been handed out by `poll`.
    handed_out: u64,
    /// Whether the operation has been started (resumed with no input).
    started: bool,
}

impl Needs {
    /// The next input for the operation: nothing to start it, then the oldest need's answer
    /// once it is there.
    fn next_input(&mut self) -> Option<Option<IoResult>> {
        if !self.started {
            self.started = true;
            return Some(None);
        }
        self.asked.front()?.answer.as_ref()?;
        self.first += 1;
        self.asked.pop_front().map(|a| a.answer)
    }

    fn ask(&mut self, need: IoNeed) {
        self.asked.push_back(Asked { need, answer: None });
    }

    fn index(&self, id: NeedId) -> Option<usize> {
        usize::try_from(id.0.checked_sub(self.first)?).ok()
    }

    /// The outstanding need `id`.
    fn get(&self, id: NeedId) -> Option<&Asked> {
        self.asked.get(self.index(id)?).filter(|a| a.answer.is_none())
    }

    /// The outstanding need `id`, to answer it.
    fn get_mut(&mut self, id: NeedId) -> Option<&mut Asked> {
        let index = self.index(id)?;
        self.asked.get_mut(index).filter(|a| a.answer.is_none())
    }

    /// Hands out the oldest need not handed out yet that has no answer.
    fn hand_out(&mut self) -> Option<(NeedId, &IoNeed)> {
        let from = self.handed_out.max(self.first);
        let skip = usize::try_from(from - self.first).unwrap_or(usize::MAX);
        let (index, asked) = self.asked.iter().enumerate().skip(skip).find(|(_, a)| a.answer.is_none())?;
        let id = self.first + index as u64;
        self.handed_out = id + 1;
        Some((NeedId(id), &asked.need))
    }

    fn outstanding(&self) -> impl Iterator<Item = (NeedId, &IoNeed)> {
        let first = self.first;
        self.asked
            .iter()
            .enumerate()
            .filter(|(_, a)| a.answer.is_none())
            .map(move |(i, a)| (NeedId(first + i as u64), &a.need))
    }
}

enum State {
    Operating { op: Box<dyn Operation>, needs: Needs },
    HeadReady(ResponseHead, Body),
    Streaming(Body),
    Finished,
}

/// One request in progress. Not shared between threads while in use; send it to another thread
/// freely.
pub struct Exchange {
    state: State,
    head: Option<ResponseHead>,
    file: Option<FileGrant>,
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
        let mut ex = Exchange::in_state(State::Finished, head_only, audit);
        ex.respond(response);
        ex
    }

    pub(crate) fn operating(op: Box<dyn Operation>, head_only: bool, audit: AuditEvent) -> Exchange {
        Exchange::in_state(State::Operating { op, needs: Needs::default() }, head_only, audit)
    }

    fn in_state(state: State, head_only: bool, audit: AuditEvent) -> Exchange {
        Exchange { state, head: None, file: None, head_only, audit, chunk: Vec::new(), chunk_pos: 0 }
    }

    fn respond(&mut self, response: Response) {
        self.audit.status = response.head.status;
        self.audit.error_code = response.error_code;
        self.audit.detail = response.detail;
        let body = if self.head_only { Body::Empty } else { response.body };
        self.state = State::HeadReady(response.head, body);
    }

    /// Says what the host should do next. Each need is handed out once; `Head` and `ServeFile`
    /// too. Calling it again otherwise returns the same instruction.
    pub fn poll(&mut self) -> Step<'_> {
        if let State::Operating { op, needs } = &mut self.state {
            let mut response = None;
            while let Some(input) = needs.next_input() {
                let step = op.resume(input);
                op.note(&mut self.audit);
                match step {
                    Turn::Need(need) => needs.ask(need),
                    Turn::Needs(more) => more.into_iter().for_each(|need| needs.ask(need)),
                    Turn::Respond(r) => {
                        response = Some(r);
                        break;
                    }
                }
            }
            if response.is_none() && needs.asked.is_empty() {
                // An operation that waits for nothing would never finish.
                response = Some(Response {
                    head: ResponseHead { status: 500, headers: Vec::new() },
                    body: Body::Empty,
                    error_code: Some(crate::protocol::ErrorCode::InternalError.as_str()),
                    detail: Some("the operation waits without having asked for IO".into()),
                });
            }
            if let Some(response) = response {
                self.respond(response);
            }
        }
        if matches!(self.state, State::HeadReady(..)) {
            if let State::HeadReady(head, body) = std::mem::replace(&mut self.state, State::Finished) {
                self.state = State::Streaming(body);
                return Step::Head(self.head.insert(head));
            }
        }
        if matches!(self.state, State::Streaming(Body::File(_))) {
            if let State::Streaming(Body::File(file)) = std::mem::replace(&mut self.state, State::Finished) {
                self.audit.body_bytes += file.range.len();
                return Step::ServeFile(self.file.insert(*file));
            }
        }
        match &mut self.state {
            State::Operating { needs, .. } => match needs.hand_out() {
                Some((id, need)) => Step::Need(id, need),
                None => Step::Wait,
            },
            State::Streaming(_) | State::HeadReady(..) => Step::Body,
            State::Finished => Step::Done(&self.audit),
        }
    }

    /// Answers IO need `id`, in any order. A need is answered once.
    pub fn supply(&mut self, id: NeedId, result: IoResult) -> Result<(), ExchangeError> {
        let State::Operating { needs, .. } = &mut self.state else {
            return Err(ExchangeError::NotWaitingForIo);
        };
        let asked = needs.get_mut(id).ok_or(ExchangeError::UnknownNeed(id))?;
        asked.answer = Some(result);
        self.audit.io_requests += 1;
        Ok(())
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
        if buf.is_empty() || !self.fill() {
            return 0;
        }
        let n = buf.len().min(self.chunk.len() - self.chunk_pos);
        let piece = &self.chunk[self.chunk_pos..self.chunk_pos + n];
        // SAFETY: `buf` has room for `n` bytes and cannot overlap the exchange's own chunk.
        unsafe { std::ptr::copy_nonoverlapping(piece.as_ptr(), buf.as_mut_ptr().cast::<u8>(), n) };
        self.chunk_pos += n;
        self.audit.body_bytes += n as u64;
        n
    }

    /// The next body bytes as a buffer of their own, moved out of the exchange instead of
    /// copied: a complete body (a JSON answer) in one piece, a streamed one a chunk at a time.
    /// `None` when the body is complete (or in another state). A host that sends owned buffers
    /// saves a copy and an allocation per response this way; it may mix this with
    /// [`read`](Exchange::read). Once the last piece is out, [`poll`](Exchange::poll) returns
    /// [`Step::Done`].
    pub fn read_chunk(&mut self) -> Option<Vec<u8>> {
        if !self.fill() {
            return None;
        }
        let piece = match self.chunk_pos {
            0 => std::mem::take(&mut self.chunk),
            from => self.chunk[from..].to_vec(),
        };
        self.chunk.clear();
        self.chunk_pos = 0;
        self.audit.body_bytes += piece.len() as u64;
        if matches!(self.state, State::Streaming(Body::Empty)) {
            self.state = State::Finished;
        }
        Some(piece)
    }

    /// Makes sure the current chunk has bytes left, taking the body's next piece when it has
    /// none. False when the body is complete.
    fn fill(&mut self) -> bool {
        while self.chunk_pos >= self.chunk.len() {
            self.chunk.clear();
            self.chunk_pos = 0;
            // A file is sent by the host (`Step::ServeFile`), never read here.
            let State::Streaming(body) = &mut self.state else {
                return false;
            };
            let more = match body {
                Body::File(_) => return false,
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
                    return false;
                }
            }
        }
        true
    }

    /// The needs asked and not answered yet, oldest first (handed out by `poll` or not).
    pub fn outstanding(&self) -> impl Iterator<Item = (NeedId, &IoNeed)> {
        let needs = match &self.state {
            State::Operating { needs, .. } => Some(needs.outstanding()),
            _ => None,
        };
        needs.into_iter().flatten()
    }

    /// Outstanding need `id`, if it is one.
    pub fn need(&self, id: NeedId) -> Option<&IoNeed> {
        match &self.state {
            State::Operating { needs, .. } => needs.get(id).map(|a| &a.need),
            _ => None,
        }
    }

    /// The response head, once the exchange has reached it.
    pub fn head(&self) -> Option<&ResponseHead> {
        self.head.as_ref()
    }

    /// Whether the body is being read: the head was polled and the body is not complete yet.
    pub(crate) fn in_body(&self) -> bool {
        matches!(self.state, State::Streaming(ref body) if !matches!(body, Body::File(_)))
    }

    /// The file the host was asked to send, once `poll` returned [`Step::ServeFile`].
    pub fn file(&self) -> Option<&FileGrant> {
        self.file.as_ref()
    }

    /// The audit event as it stands (complete once `poll` returned `Done`).
    pub fn audit(&self) -> &AuditEvent {
        &self.audit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asks for `count` objects at once, then answers with their bytes in the order asked.
    struct Fanout {
        count: usize,
        got: Vec<u8>,
        answers: usize,
    }

    impl Operation for Fanout {
        fn resume(&mut self, input: Option<IoResult>) -> Turn {
            let Some(result) = input else {
                let get = |i: usize| IoNeed::Get { store: "s".into(), key: i.to_string(), range: None };
                return Turn::Needs((0..self.count).map(get).collect());
            };
            if let IoResult::Bytes(b) = result {
                self.got.extend(b);
            }
            self.answers += 1;
            if self.answers < self.count {
                return Turn::Needs(Vec::new());
            }
            let head = ResponseHead { status: 200, headers: Vec::new() };
            Turn::Respond(Response { head, body: Body::Bytes(self.got.clone()), error_code: None, detail: None })
        }
    }

    fn fanout(count: usize) -> Exchange {
        Exchange::operating(Box::new(Fanout { count, got: Vec::new(), answers: 0 }), false, AuditEvent::default())
    }

    fn key(need: &IoNeed) -> Vec<u8> {
        match need {
            IoNeed::Get { key, .. } => key.clone().into_bytes(),
            _ => panic!("{need:?}"),
        }
    }

    fn body(ex: &mut Exchange) -> Vec<u8> {
        assert!(matches!(ex.poll(), Step::Head(h) if h.status == 200));
        let mut buf = [0u8; 64];
        let n = ex.read(&mut buf);
        buf[..n].to_vec()
    }

    #[test]
    fn answers_in_any_order_reach_the_operation_in_the_order_asked() {
        let mut ex = fanout(3);
        let mut handed = Vec::new();
        while let Step::Need(id, need) = ex.poll() {
            handed.push((id, key(need)));
        }
        assert_eq!(handed.len(), 3);
        assert!(matches!(ex.poll(), Step::Wait), "every need is handed out");
        assert_eq!(ex.outstanding().count(), 3);
        let (last, first) = (handed[2].clone(), handed[0].clone());
        ex.supply(last.0, IoResult::Bytes(last.1.into())).unwrap();
        ex.supply(first.0, IoResult::Bytes(first.1.into())).unwrap();
        assert!(matches!(ex.poll(), Step::Wait), "the middle need is still out");
        assert_eq!(ex.outstanding().map(|(id, _)| id).collect::<Vec<_>>(), [handed[1].0]);
        assert_eq!(ex.need(handed[1].0).map(key), Some(b"1".to_vec()));
        assert_eq!(ex.need(handed[0].0), None, "answered");
        ex.supply(handed[1].0, IoResult::Bytes(handed[1].1.clone().into())).unwrap();
        assert_eq!(body(&mut ex), b"012");
        assert_eq!(ex.audit().io_requests, 3);
    }

    #[test]
    fn unknown_and_repeated_ids_are_refused() {
        let mut ex = fanout(2);
        let Step::Need(id, _) = ex.poll() else { panic!() };
        assert_eq!(ex.supply(NeedId(99), IoResult::NotFound), Err(ExchangeError::UnknownNeed(NeedId(99))));
        ex.supply(id, IoResult::Bytes(b"a".to_vec().into())).unwrap();
        assert_eq!(ex.supply(id, IoResult::NotFound), Err(ExchangeError::UnknownNeed(id)), "answered once");
        let Step::Need(second, _) = ex.poll() else { panic!() };
        assert_ne!(second, id);
        ex.supply(second, IoResult::Bytes(b"b".to_vec().into())).unwrap();
        assert_eq!(body(&mut ex), b"ab");
        assert_eq!(ex.supply(second, IoResult::NotFound), Err(ExchangeError::NotWaitingForIo));
    }

    #[test]
    fn a_host_answering_one_need_at_a_time_never_waits() {
        let mut ex = fanout(4);
        let mut polls = 0;
        let head = loop {
            polls += 1;
            match ex.poll() {
                Step::Need(id, need) => {
                    let answer = IoResult::Bytes(key(need).into());
                    ex.supply(id, answer).unwrap();
                }
                Step::Head(h) => break h.status,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!((head, polls), (200, 5));
        let mut buf = [0u8; 8];
        let n = ex.read(&mut buf);
        assert_eq!(&buf[..n], b"0123");
    }

    #[test]
    fn an_operation_waiting_for_nothing_is_an_internal_error() {
        let mut ex = fanout(0);
        assert!(matches!(ex.poll(), Step::Head(h) if h.status == 500));
    }

    /// Pieces `pieces`, one per call, some of them empty.
    struct Pieces(std::vec::IntoIter<&'static [u8]>);

    impl BodyStream for Pieces {
        fn next_chunk(&mut self, out: &mut Vec<u8>) -> bool {
            match self.0.next() {
                Some(piece) => {
                    out.extend_from_slice(piece);
                    true
                }
                None => false,
            }
        }
    }

    fn answering(body: Body) -> Exchange {
        let head = ResponseHead { status: 200, headers: Vec::new() };
        let mut ex =
            Exchange::responding(Response { head, body, error_code: None, detail: None }, false, AuditEvent::default());
        assert!(matches!(ex.poll(), Step::Head(_)));
        ex
    }

    #[test]
    fn a_complete_body_is_moved_out_whole() {
        let mut ex = answering(Body::Bytes(b"{\"items\":[]}".to_vec()));
        assert_eq!(ex.read_chunk().as_deref(), Some(&b"{\"items\":[]}"[..]));
        assert!(matches!(ex.poll(), Step::Done(audit) if audit.body_bytes == 12), "done once the last piece is out");
        assert_eq!(ex.read_chunk(), None);
    }

    #[test]
    fn pieces_and_reads_mix_and_give_the_same_bytes() {
        let stream = || Body::Stream(Box::new(Pieces(vec![&b"ab"[..], b"", b"cde", b"f"].into_iter())));
        let mut pieces = answering(stream());
        let mut got = Vec::new();
        while let Some(piece) = pieces.read_chunk() {
            assert!(!piece.is_empty(), "no empty piece");
            got.extend(piece);
        }
        assert_eq!(got, b"abcdef");
        assert!(matches!(pieces.poll(), Step::Done(audit) if audit.body_bytes == 6));

        // A read that leaves part of a piece: the rest comes as the next piece.
        let mut mixed = answering(stream());
        let mut one = [0u8; 1];
        assert_eq!(mixed.read(&mut one), 1);
        assert_eq!(mixed.read_chunk().as_deref(), Some(&b"b"[..]));
        assert_eq!(mixed.read_chunk().as_deref(), Some(&b"cde"[..]));
        assert_eq!(mixed.read(&mut one), 1);
        assert_eq!(one, *b"f");
        assert_eq!(mixed.read(&mut one), 0);
        assert!(matches!(mixed.poll(), Step::Done(audit) if audit.body_bytes == 6));
    }
}
