//! `opensharing serve`: a tokio + hyper server that drives one engine.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll as TaskPoll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use opensharing::auth::AuditEvent;
use opensharing::{Catalog, Engine, Exchange, Method, Poll, Request, ResponseHead};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::storage::Stores;

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 1 << 20;
/// How long a request may take to reach its response head.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often the config file's modification time is checked.
const RELOAD_POLL: Duration = Duration::from_secs(1);

/// The response body type of every answer.
pub type HostBody = UnsyncBoxBody<Bytes, io::Error>;

/// What every request handler shares.
pub struct Host {
    pub engine: Engine,
    stores: RwLock<Arc<Stores>>,
    config_path: PathBuf,
}

impl Host {
    /// The current stores.
    pub fn stores(&self) -> Arc<Stores> {
        self.stores.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Reads and validates a configuration file and opens its stores.
pub fn load(config_path: &Path) -> Result<(Catalog, Stores), String> {
    let json = std::fs::read(config_path).map_err(|e| format!("cannot read {}: {e}", config_path.display()))?;
    let catalog = Catalog::from_json(&json, &|k| std::env::var(k).ok()).map_err(|e| e.to_string())?;
    let stores = Stores::open(&catalog, &config_dir(config_path))?;
    Ok((catalog, stores))
}

/// The directory relative store roots are resolved against.
pub fn config_dir(config_path: &Path) -> PathBuf {
    config_path.parent().map(Path::to_path_buf).filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| ".".into())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// One structured log line on stderr.
pub fn log(event: serde_json::Value) {
    eprintln!("{event}");
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(config_path: &Path, listen: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(serve(config_path.to_path_buf(), listen.to_string()))
}

async fn serve(config_path: PathBuf, listen: String) -> Result<(), String> {
    let (catalog, stores) = load(&config_path)?;
    let engine = Engine::new(catalog).map_err(|e| e.to_string())?;
    let host = Arc::new(Host { engine, stores: RwLock::new(Arc::new(stores)), config_path });
    let listener = TcpListener::bind(&listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    log(serde_json::json!({"event": "listening", "addr": addr.to_string(), "prefix": host.engine.prefix()}));
    tokio::spawn(reload_loop(host.clone()));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let open = Arc::new(AtomicUsize::new(0));
    let mut stop = Box::pin(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(connection(host.clone(), stream, peer, shutdown_rx.clone(), open.clone()));
            }
            _ = &mut stop => break,
        }
    }
    log(serde_json::json!({"event": "shutting_down", "open_connections": open.load(Ordering::SeqCst)}));
    let _ = shutdown_tx.send(true);
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    log(serde_json::json!({"event": "stopped"}));
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
    }
}

async fn connection(
    host: Arc<Host>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
    open: Arc<AtomicUsize>,
) {
    let service = service_fn(move |req| handle(host.clone(), req, peer));
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    open.fetch_sub(1, Ordering::SeqCst);
}

async fn reload_loop(host: Arc<Host>) {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut seen = modified(&host.config_path);
    loop {
        let why = tokio::select! {
            _ = async { match hangup.as_mut() { Some(h) => { h.recv().await; } None => std::future::pending::<()>().await } } => "SIGHUP",
            _ = tokio::time::sleep(RELOAD_POLL) => {
                let now = modified(&host.config_path);
                if now == seen { continue }
                "config file changed"
            }
        };
        seen = modified(&host.config_path);
        reload(&host, why);
    }
}

/// Loads the config file again and swaps it in; on any error the old one keeps serving.
fn reload(host: &Host, why: &str) {
    match load(&host.config_path) {
        Ok((catalog, stores)) => {
            let previous = host.stores();
            let merged = Arc::new(stores.merged_with(&previous));
            *host.stores.write().unwrap_or_else(|e| e.into_inner()) = merged;
            match host.engine.reload(catalog) {
                Ok(()) => log(serde_json::json!({"event": "reloaded", "reason": why})),
                Err(e) => log(serde_json::json!({"event": "reload_failed", "reason": why, "error": e.to_string()})),
            }
        }
        Err(e) => log(serde_json::json!({"event": "reload_failed", "reason": why, "error": e})),
    }
}

fn json_error(status: u16, code: &str, message: &str) -> hyper::Response<HostBody> {
    let body = serde_json::json!({"errorCode": code, "message": message}).to_string();
    hyper::Response::builder()
        .status(status)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(full(Bytes::from(body)))
        .unwrap_or_default()
}

/// A complete body.
pub fn full(bytes: Bytes) -> HostBody {
    Full::new(bytes).map_err(|never: Infallible| match never {}).boxed_unsync()
}

/// What the access log records about a request besides the engine's audit event.
struct AccessLog {
    method: String,
    path: String,
    started: Instant,
}

impl AccessLog {
    fn write(&self, audit: &AuditEvent) {
        log(serde_json::json!({
            "event": "request",
            "method": self.method,
            "path": self.path,
            "duration_ms": self.started.elapsed().as_secs_f64() * 1000.0,
            "audit": audit,
        }));
    }
}

async fn handle(
    host: Arc<Host>,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> Result<hyper::Response<HostBody>, Infallible> {
    let started = Instant::now();
    let path = req.uri().path().to_string();
    if path == "/healthz" {
        return Ok(hyper::Response::new(full(Bytes::from_static(b"ok\n"))));
    }
    let target = req.uri().path_and_query().map_or(path.clone(), |pq| pq.as_str().to_string());
    if path.starts_with(&format!("{}/files/", host.engine.prefix())) {
        return Ok(crate::files::serve(&host, req, &target).await);
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(json_error(413, "MALFORMED_REQUEST", "The request body is larger than 1 MiB")),
    };
    let mut request = Request::new(Method::parse(parts.method.as_str()), target);
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            request.headers.push((name.as_str().to_string(), value.to_string()));
        }
    }
    request.body = body.to_vec();
    request.peer = Some(peer.to_string());
    let access = AccessLog { method: parts.method.to_string(), path, started };
    let mut exchange = host.engine.handle(request, now_ms());
    let stores = host.stores();
    let head = match tokio::time::timeout(REQUEST_TIMEOUT, drive_to_head(&mut exchange, &stores)).await {
        Ok(head) => head,
        Err(_) => {
            access.write(exchange.audit());
            return Ok(json_error(504, "INTERNAL_ERROR", "The request timed out reading the table's storage"));
        }
    };
    let mut response = hyper::Response::builder().status(head.status);
    for (name, value) in &head.headers {
        response = response.header(name, value);
    }
    let body = ExchangeBody { exchange, buf: vec![0; 64 * 1024].into_boxed_slice(), access: Some(access) };
    Ok(response.body(body.boxed_unsync()).unwrap_or_else(|_| json_error(500, "INTERNAL_ERROR", "")))
}

/// Answers IO needs until the exchange reaches its response head.
async fn drive_to_head(exchange: &mut Exchange, stores: &Stores) -> ResponseHead {
    loop {
        let need = match exchange.poll() {
            Poll::Need(need) => need.clone(),
            Poll::Head(head) => return head.clone(),
            Poll::Body | Poll::Done(_) => return ResponseHead { status: 500, headers: Vec::new() },
        };
        let result = stores.answer(&need).await;
        if let opensharing::IoResult::Failed(detail) = &result {
            log(serde_json::json!({"event": "storage_error", "need": format!("{need:?}"), "error": detail}));
        }
        let _ = exchange.supply(result);
    }
}

/// Streams an exchange's body in pieces, and logs the request when it is complete.
struct ExchangeBody {
    exchange: Exchange,
    buf: Box<[u8]>,
    access: Option<AccessLog>,
}

impl Body for ExchangeBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> TaskPoll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        let n = this.exchange.read(&mut this.buf);
        if n > 0 {
            return TaskPoll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(&this.buf[..n])))));
        }
        if let Some(access) = this.access.take() {
            if let Poll::Done(audit) = this.exchange.poll() {
                access.write(audit);
            }
        }
        TaskPoll::Ready(None)
    }
}
