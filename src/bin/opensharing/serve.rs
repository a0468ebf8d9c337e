//! `opensharing serve`: a tokio + hyper (HTTP/1.1) server that drives one engine.
//!
//! Each connection takes a slot under the connection cap (over it, the client gets a 503 and is
//! closed) and is closed once no byte has moved for the idle timeout, or once the client has
//! kept sending for the request timeout (at least 30 s) without an answer. Shutdown on SIGINT or
//! SIGTERM is graceful: the listener closes, idle connections are closed, and requests in flight
//! get up to 10 s to finish.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use opensharing::Engine;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Semaphore;

use crate::config_file::load;
use crate::limits::{over_capacity_reply, ConnectionTimeouts, Limits};
use crate::log;
use crate::service::{handle, Host};
use crate::storage::Tuning;

/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The least time a client may keep sending before it has an answer byte (a request's headers,
/// or headers and body): the request timeout when that is longer.
const MIN_SENDING_TIME: Duration = Duration::from_secs(30);

/// Runs the server until SIGINT or SIGTERM.
pub fn run(config_path: &Path, listen: &str, limits: Limits) -> Result<(), String> {
    // A worker that runs out of work writes the access lines gathered so far.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(log::flush)
        .build()
        .map_err(|e| e.to_string())?;
    let result = runtime.block_on(serve(config_path, listen, limits));
    // Requests cut short when the runtime stops still write their lines.
    drop(runtime);
    log::flush();
    result
}

async fn serve(config_path: &Path, listen: &str, limits: Limits) -> Result<(), String> {
    let (catalog, stores) = load(config_path, Tuning::Serve)?;
    let engine = Engine::new(catalog).map_err(|e| e.to_string())?;
    // The host lives as long as the process: requests borrow it instead of counting references
    // to it, which the runtime's workers would otherwise contend for on every request.
    let host: &'static Host = Box::leak(Box::new(Host::new(engine, stores, limits.request_timeout, limits.io_fanout)));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Signal handlers first: a SIGHUP that arrives once we say "listening" must not kill us.
    let signal_error = |e: std::io::Error| format!("cannot install signal handlers: {e}");
    let hangup = signal(SignalKind::hangup()).map_err(signal_error)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let listener = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(crate::reload::watch(host, config_path.to_path_buf(), hangup));
    log::event(
        "listening",
        serde_json::json!({
            "addr": addr.to_string(),
            "prefix": host.engine.prefix(),
            "max_connections": limits.max_connections,
            "request_timeout_s": limits.request_timeout.as_secs_f64(),
            "idle_timeout_s": limits.idle_timeout.as_secs_f64(),
            "io_fanout": limits.io_fanout,
        }),
    );
    // No hyper timer: the connection wrapper bounds slow senders (see `ConnectionTimeouts`).
    let http = hyper::server::conn::http1::Builder::new();
    let sending = limits.request_timeout.max(MIN_SENDING_TIME);
    let graceful = GracefulShutdown::new();
    let signal = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        // Over the cap: say so if the socket takes it at once, and close.
                        let _ = stream.try_write(&over_capacity_reply());
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let peer: Arc<str> = peer.to_string().into();
                    let service = service_fn(move |req| handle(host, req, peer.clone()));
                    let io = TokioIo::new(ConnectionTimeouts::new(stream, limits.idle_timeout, sending));
                    let connection = graceful.watch(http.serve_connection(io, service));
                    tokio::spawn(async move {
                        let _ = connection.await;
                        drop(slot);
                    });
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(e) => {
                    log::event("accept_error", serde_json::json!({"error": e.to_string()}));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = terminate.recv() => break "SIGTERM",
            _ = interrupt.recv() => break "SIGINT",
        }
    };
    drop(listener);
    log::event("shutting_down", serde_json::json!({"signal": signal}));
    let finished = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_ok();
    log::event("stopped", serde_json::json!({"graceful": finished}));
    Ok(())
}
