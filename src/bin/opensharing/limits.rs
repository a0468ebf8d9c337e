//! What protects `serve` from slow and hostile clients: a cap on open connections, one time
//! budget per request, and on every connection an idle timeout (no byte moved either way) and
//! a bound on how long a client may keep sending without an answer.

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

/// A connection under two time limits, both failing it with `TimedOut`:
/// - **idle**: no byte has moved in either direction for `idle`. Every read or write that moves
///   bytes pushes the deadline back: it records the time, and the timer, when it fires, is set
///   again to the time of the last move plus `idle` (one clock read per move instead of a
///   timer update);
/// - **slow sender**: the client is still sending, `sending` after the first byte the server
///   has not answered yet (a request's headers trickled in a byte at a time, slowloris). It is
///   checked when a byte arrives, against the clock read the idle rule makes anyway, so a
///   request costs no timer of its own (hyper's header-read timer took 7 % of the instructions
///   of a `GET /shares`). A client that stops sending instead falls to the idle rule.
pub struct ConnectionTimeouts<S> {
    inner: S,
    idle: Duration,
    /// Longest a client may keep sending without a byte of answer.
    sending: Duration,
    /// When a byte last moved (or the connection opened).
    last_moved: Instant,
    /// When the client sent its first byte since the server last wrote, if it has.
    sending_since: Option<Instant>,
    /// Fires at `last_moved + idle` or before it (then it is set again).
    deadline: Pin<Box<Sleep>>,
}

impl<S> ConnectionTimeouts<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, idle: Duration, sending: Duration) -> ConnectionTimeouts<S> {
        let now = Instant::now();
        let deadline = Box::pin(tokio::time::sleep_until(now + idle));
        ConnectionTimeouts { inner, idle, sending, last_moved: now, sending_since: None, deadline }
    }

    /// Bytes arrived: an error once the client has been sending for longer than `sending`
    /// without an answer.
    fn received(&mut self) -> io::Result<()> {
        let now = Instant::now();
        self.last_moved = now;
        let since = *self.sending_since.get_or_insert(now);
        if now.duration_since(since) > self.sending {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "the client kept sending without an answer"));
        }
        Ok(())
    }

    /// Bytes went out: the client has an answer to what it sent.
    fn sent(&mut self) {
        self.last_moved = Instant::now();
        self.sending_since = None;
    }

    /// The outcome of a write to the inner stream.
    fn wrote(&mut self, written: Poll<io::Result<usize>>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.sent();
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

impl<S: AsyncRead + Unpin> AsyncRead for ConnectionTimeouts<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() > before => Poll::Ready(self.received()),
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.pending(cx),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ConnectionTimeouts<S> {
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

#[cfg(test)]
mod tests {
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};

    use super::*;

    const SENDING: Duration = Duration::from_millis(300);

    /// The server end under a long idle timeout and a short bound on sending, and the client end.
    fn connection() -> (ConnectionTimeouts<DuplexStream>, DuplexStream) {
        let (server, client) = duplex(64);
        (ConnectionTimeouts::new(server, Duration::from_secs(30), SENDING), client)
    }

    /// The client sends a byte every 60 ms for `bytes` bytes; the server reads each and, when
    /// `answer`, writes one back. The server's first read error, if any.
    async fn trickle(bytes: usize, answer: bool) -> Option<io::Error> {
        let (mut server, mut client) = connection();
        let sender = tokio::spawn(async move {
            for _ in 0..bytes {
                if client.write_all(b"x").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
            client
        });
        let mut byte = [0u8; 1];
        for _ in 0..bytes {
            match server.read(&mut byte).await {
                Ok(_) if answer => server.write_all(b"y").await.unwrap(),
                Ok(_) => {}
                Err(e) => return Some(e),
            }
        }
        drop(sender);
        None
    }

    #[tokio::test]
    async fn a_client_that_keeps_sending_without_an_answer_is_cut_off() {
        let error = trickle(12, false).await.expect("cut off after 300 ms of sending");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn a_client_that_gets_answers_may_keep_sending() {
        assert!(trickle(12, true).await.is_none());
    }
}
