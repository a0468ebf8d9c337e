//! What protects `serve` from slow and hostile clients: a cap on open connections, one time
//! budget per request, and an idle timeout on every connection (no byte moved either way).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::cli::LimitArgs;

/// The limits `serve` runs with.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// How long one request may take, its body included, to reach its response head.
    pub request_timeout: Duration,
    /// How long a connection may move no byte in either direction: an idle keep-alive
    /// connection, a client that stops sending, or one that stops reading its response.
    pub idle_timeout: Duration,
    /// Most storage requests one request runs at once.
    pub io_fanout: usize,
}

/// Descriptors kept back from the connection cap for listeners, stores, logs and reloads.
const RESERVED_DESCRIPTORS: u64 = 64;
/// The default connection cap when the descriptor limit allows it.
const DEFAULT_MAX_CONNECTIONS: u64 = 4096;

impl From<LimitArgs> for Limits {
    /// The command line's limits; without `--max-connections`, a cap that leaves descriptors
    /// to spare under the process's open-file limit (at most 4096).
    fn from(args: LimitArgs) -> Limits {
        Limits {
            max_connections: args.max_connections.map_or_else(default_max_connections, |n| n as usize),
            request_timeout: Duration::from_secs(args.request_timeout),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            io_fanout: args.io_fanout as usize,
        }
    }
}

/// `RLIMIT_NOFILE` less the reserve, within `[16, 4096]`.
fn default_max_connections() -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    let open_files = if known { limit.rlim_cur } else { 1024 };
    let cap = open_files.saturating_sub(RESERVED_DESCRIPTORS).clamp(16, DEFAULT_MAX_CONNECTIONS);
    usize::try_from(cap).unwrap_or(16)
}

/// A connection that fails with `TimedOut` once no byte has moved in either direction for
/// `idle`. Every read or write that moves bytes pushes the deadline back: it records the time,
/// and the timer, when it fires, is set again to the time of the last move plus `idle` (one
/// clock read per move instead of a timer update).
pub struct IdleTimeout<S> {
    inner: S,
    idle: Duration,
    /// When a byte last moved (or the connection opened).
    last_moved: Instant,
    /// Fires at `last_moved + idle` or before it (then it is set again).
    deadline: Pin<Box<Sleep>>,
}

impl<S> IdleTimeout<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, idle: Duration) -> IdleTimeout<S> {
        let now = Instant::now();
        IdleTimeout { inner, idle, last_moved: now, deadline: Box::pin(tokio::time::sleep_until(now + idle)) }
    }

    fn moved(&mut self) {
        self.last_moved = Instant::now();
    }

    /// The outcome of a write to the inner stream.
    fn wrote(&mut self, written: Poll<io::Result<usize>>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.pending(cx),
        }
    }

    /// Called when the inner stream is not ready: `TimedOut` once the deadline has passed (the
    /// deadline's timer wakes the task then).
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        while self.deadline.as_mut().poll(cx).is_ready() {
            let due = self.last_moved + self.idle;
            if due <= Instant::now() {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle")));
            }
            self.deadline.as_mut().reset(due);
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.pending(cx),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, data);
        self.wrote(written, cx)
    }

    /// Vectored writes go through, so hyper writes a response's head and body with one call.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(written, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.pending(cx),
            ready => ready,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            Poll::Pending => self.pending(cx),
            ready => ready,
        }
    }
}

/// The answer to a connection over the cap, written without waiting, before it is closed.
pub fn over_capacity_reply() -> Vec<u8> {
    let body = r#"{"errorCode":"TEMPORARILY_UNAVAILABLE","message":"The server is at its connection cap"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nRetry-After: 1\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
