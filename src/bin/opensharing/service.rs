//! One request: health check, or the engine's exchange loop with IO answered from the stores
//! (signed local-store file URLs too: the engine answers their head, [`crate::files`] streams
//! their bytes).
//!
//! The body is read only when the engine asks for it (`IoNeed::RequestBody`), that is once the
//! request is authenticated and routed, into one buffer of at most 1 MiB (413 beyond). One time
//! budget covers the whole request, body included, up to its response head: 408 when the body
//! did not arrive in time, 504 when storage was too slow.

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::{Arc, OnceLock, RwLock};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{HeaderMap, StatusCode};
use opensharing::auth::AuditEvent;
use opensharing::http::CONTENT_TYPE_JSON;
use opensharing::protocol::{ApiError, ErrorCode};
use opensharing::{
    Engine, Exchange, Headers, IoNeed, IoResult, Method, Request, ResponseHead, Step, MAX_REQUEST_BODY_BYTES,
};
use tokio::time::Instant;

use crate::body::HostBody;
use crate::log::{self, RequestLog};
use crate::storage::Stores;

/// What every request shares: the engine, the stores of the current configuration and the
/// time budget of a request.
pub struct Host {
    /// The protocol engine.
    pub engine: Engine,
    stores: RwLock<Arc<Stores>>,
    /// How long a request may take, body included, to reach its response head.
    pub request_timeout: Duration,
    /// Most storage requests one request runs at once.
    io_fanout: usize,
}

impl Host {
    /// A host serving `engine` with IO from `stores`, running up to `io_fanout` storage
    /// requests of one request at once.
    pub fn new(engine: Engine, stores: Stores, request_timeout: Duration, io_fanout: usize) -> Host {
        Host { engine, stores: RwLock::new(Arc::new(stores)), request_timeout, io_fanout: io_fanout.max(1) }
    }

    /// The current stores.
    pub fn stores(&self) -> Arc<Stores> {
        self.stores.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Swaps in the stores of a new configuration.
    pub fn set_stores(&self, stores: Stores) {
        *self.stores.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(stores);
    }
}

/// The response type of every answer.
pub type Response = hyper::Response<HostBody>;

/// The audit event of an answer the host makes itself.
fn host_audit(
    route: &'static str,
    peer: &str,
    log: &RequestLog,
    status: u16,
    error_code: Option<&'static str>,
) -> AuditEvent {
    AuditEvent {
        route,
        status,
        error_code,
        started_at_ms: log.started_at_ms(),
        peer: Some(peer.to_owned()),
        ..AuditEvent::default()
    }
}

/// `e`'s body with `status` (which may differ from the code's own, e.g. 413 or 504).
fn json_error(status: u16, e: &ApiError, audit: AuditEvent, log: RequestLog) -> Response {
    let mut response = hyper::Response::new(HostBody::full(e.body(), audit, log));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_JSON));
    response
}

/// Answers one request from `peer` (the client's address, as text). Never fails: every problem
/// is an HTTP answer. What the answer needs is copied out of `req` before this returns, so that
/// hyper has its read buffer to itself again (and reads the next request into it, instead of
/// into a new one) while the answer is being made.
pub fn handle(
    host: &'static Host,
    req: hyper::Request<Incoming>,
    peer: Arc<str>,
) -> impl Future<Output = Result<Response, Infallible>> + Send + 'static {
    let log = RequestLog::start(req.method(), req.uri().path());
    let call = Call::new(req, &peer);
    async move {
        Ok(match call {
            Call::Health => {
                let audit = host_audit("healthz", &peer, &log, 200, None);
                hyper::Response::new(HostBody::full(Bytes::from_static(b"ok\n"), audit, log))
            }
            Call::TooLarge => too_large(&peer, log),
            Call::Engine { request, body } => engine_request(host, request, body, log).await,
        })
    }
}

/// What the answer to a request needs from it.
enum Call {
    /// `/healthz`.
    Health,
    /// The request declares a body larger than the engine takes.
    TooLarge,
    /// The engine's request and its body, still unread.
    Engine { request: Request, body: RequestBody },
}

impl Call {
    fn new(req: hyper::Request<Incoming>, peer: &str) -> Call {
        if req.uri().path() == "/healthz" {
            return Call::Health;
        }
        let (parts, body) = req.into_parts();
        let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_REQUEST_BODY_BYTES as u64) {
            return Call::TooLarge;
        }
        let target = parts.uri.path_and_query().map_or_else(|| parts.uri.path(), |pq| pq.as_str());
        let mut request = Request::new(Method::parse(parts.method.as_str()), target);
        // Headers that are not text (never one the engine reads) are left out.
        let text = || parts.headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let bytes = text().map(|(name, value)| name.len() + value.len()).sum();
        request.headers = Headers::with_capacity(parts.headers.len(), bytes);
        text().for_each(|(name, value)| request.headers.push(name, value));
        request.body_pending = !hyper::body::Body::is_end_stream(&body);
        request.peer = Some(peer.to_owned());
        Call::Engine { request, body: RequestBody { body, declared } }
    }
}

/// Hands the request to the engine, answers its IO needs (reading the body when it asks for it)
/// and streams its response.
async fn engine_request(host: &Host, request: Request, mut body: RequestBody, log: RequestLog) -> Response {
    // The time the request arrived: its audit event and access line agree on it.
    let mut exchange = host.engine.handle(request, log.started_at_ms());
    // Taken at the first storage need or file: most requests have none.
    let stores = OnceLock::new();
    let reached = {
        let mut driving = pin!(drive_to_head(&mut exchange, host, &stores, &mut body));
        // Most requests reach their head at once (no storage IO, no body): they need no timer.
        match poll_fn(|cx| Poll::Ready(driving.as_mut().poll(cx))).await {
            Poll::Ready(reached) => Ok(reached),
            Poll::Pending => {
                let deadline = Instant::from_std(log.started()) + host.request_timeout;
                tokio::time::timeout_at(deadline, driving).await
            }
        }
    };
    let Ok(reached) = reached else {
        let (status, e) = if exchange.outstanding().any(|(_, need)| matches!(need, IoNeed::RequestBody { .. })) {
            (408, ApiError::malformed("The request body did not arrive in time"))
        } else {
            (504, ApiError::new(ErrorCode::InternalError, "The request timed out reading storage"))
        };
        let mut audit = exchange.audit().clone();
        (audit.status, audit.error_code) = (status, Some(e.code.as_str()));
        return json_error(status, &e, audit, log);
    };
    // A Content-Length the engine sets goes to hyper as a header; a HEAD answer has it but no
    // body (the engine gives none).
    let (status, headers) = match exchange.head().filter(|_| reached) {
        Some(head) => (head.status, header_map(head)),
        None => (500, HeaderMap::new()),
    };
    let body = if let Step::ServeFile(file) = exchange.poll() {
        let stream = crate::files::stream(stores.get_or_init(|| host.stores()), file);
        // The body counts the bytes it sends.
        HostBody::stream(stream, AuditEvent { body_bytes: 0, ..exchange.audit().clone() }, log)
    } else {
        HostBody::exchange(exchange, log)
    };
    let mut response = hyper::Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *response.headers_mut() = headers;
    response
}

/// The headers of `head` that are valid HTTP (the engine writes no other).
fn header_map(head: &ResponseHead) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(head.headers.len());
    for (name, value) in &head.headers {
        // A constant value (the JSON content type, the most common) is not copied.
        let value = match value {
            Cow::Borrowed(constant) => HeaderValue::from_maybe_shared(Bytes::from_static(constant.as_bytes())),
            Cow::Owned(text) => HeaderValue::from_str(text),
        };
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), value) {
            headers.append(name, value);
        }
    }
    headers
}

/// 413 with a protocol error body.
fn too_large(peer: &str, log: RequestLog) -> Response {
    let e = ApiError::malformed("The request body is larger than 1 MiB");
    json_error(413, &e, host_audit("unknown", peer, &log, 413, Some(e.code.as_str())), log)
}

/// The request body, unread until the engine asks for it.
struct RequestBody {
    body: Incoming,
    /// The Content-Length the client declared, if any.
    declared: Option<u64>,
}

impl RequestBody {
    /// Reads the body into one buffer, stopping after `max_bytes + 1` bytes (the engine answers
    /// 413 to more than `max_bytes`). Chunks are copied and dropped as they arrive, so a body of
    /// tiny chunks costs no more than its bytes.
    async fn read(&mut self, max_bytes: usize) -> IoResult {
        let limit = max_bytes.saturating_add(1);
        let expected = self.declared.map_or(0, |n| usize::try_from(n).unwrap_or(limit).min(limit));
        let mut buf = Vec::with_capacity(expected);
        while buf.len() < limit {
            match self.body.frame().await {
                None => break,
                Some(Err(_)) => return IoResult::Failed("the client stopped sending the request body".into()),
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        let take = data.len().min(limit - buf.len());
                        buf.extend_from_slice(&data[..take]);
                    }
                }
            }
        }
        IoResult::Bytes(buf.into())
    }
}

/// Answers IO needs until the exchange reaches its response head, running up to the host's
/// fan-out of them at once, from the stores `stores` holds (taken from the host at the first
/// need). False if the exchange went wrong instead (a 500).
async fn drive_to_head(
    exchange: &mut Exchange,
    host: &Host,
    stores: &OnceLock<Arc<Stores>>,
    body: &mut RequestBody,
) -> bool {
    // Made at the first storage need: most requests have none.
    let mut running = None;
    loop {
        while running.as_ref().map_or(0, FuturesUnordered::len) < host.io_fanout {
            match exchange.poll() {
                Step::Need(id, IoNeed::RequestBody { max_bytes }) => {
                    let result = body.read(*max_bytes).await;
                    // `supply` only fails for a need that is not outstanding, which `Step::Need` rules out.
                    let _ = exchange.supply(id, result);
                }
                Step::Need(id, need) => {
                    let need = need.clone();
                    let stores = stores.get_or_init(|| host.stores());
                    running.get_or_insert_with(FuturesUnordered::new).push(async move {
                        let result = stores.answer(&need).await;
                        if let IoResult::Failed(detail) = &result {
                            log::event(
                                "storage_error",
                                serde_json::json!({"need": format!("{need:?}"), "error": detail}),
                            );
                        }
                        (id, result)
                    });
                }
                Step::Wait => break,
                // Needs still running when the head is there are dropped (cancelled).
                Step::Head(_) => return true,
                // The engine always yields its head before its body, file and end.
                Step::Body | Step::ServeFile(_) | Step::Done(_) => return false,
            }
        }
        // `Wait` means every outstanding need is running, so there is one to wait for.
        let Some(next) = running.as_mut().map(StreamExt::next) else { return false };
        let Some((id, result)) = next.await else { return false };
        let _ = exchange.supply(id, result);
    }
}
