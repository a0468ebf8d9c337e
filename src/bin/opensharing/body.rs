//! The response body of every answer, and the access log line written when it is over.
//!
//! A body is pulled by hyper piece by piece: an engine exchange in chunks of at most 64 KiB, a
//! file as it is read from disk. Memory per response stays bounded whatever its size. The log
//! line is written when the body is dropped: after the last byte, or when the client goes away
//! mid-response, so every request gets exactly one line.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use hyper::body::{Body, Frame, SizeHint};
use opensharing::auth::AuditEvent;
use opensharing::Exchange;

use crate::log::RequestLog;

/// Largest piece handed to hyper at once.
pub const CHUNK: usize = 64 * 1024;

enum Source {
    /// Bytes already complete (or none).
    Full(Option<Bytes>),
    /// An engine exchange past its head: `first` is the piece read ahead, `hint` the bytes still
    /// to read after it, when known.
    Exchange { exchange: Box<Exchange>, first: Option<Bytes>, hint: Option<u64> },
    /// Bytes read from a store.
    Stream(BoxStream<'static, io::Result<Bytes>>),
}

/// A response body that writes the request's access line when dropped.
pub struct HostBody {
    source: Source,
    /// The audit event of answers the host makes itself (files, health, limits).
    audit: AuditEvent,
    log: RequestLog,
}

impl HostBody {
    /// A complete body (possibly empty), audited with `audit`.
    pub fn full(bytes: impl Into<Bytes>, audit: AuditEvent, log: RequestLog) -> HostBody {
        let bytes = bytes.into();
        let source = Source::Full((!bytes.is_empty()).then_some(bytes));
        HostBody { source, audit, log }
    }

    /// The rest of an engine exchange, pulled with [`Exchange::read`]; its own audit event is
    /// logged. The first piece is read at once: a body without a Content-Length that fits in it
    /// (it came short of a whole piece, so the exchange ran out) is sent with its length rather
    /// than chunked.
    pub fn exchange(exchange: Exchange, content_length: Option<u64>, log: RequestLog) -> HostBody {
        let mut exchange = Box::new(exchange);
        let mut hint = content_length;
        let first = read_exchange(&mut exchange, &mut hint);
        if hint.is_none() && first.as_ref().is_none_or(|b| b.len() < CHUNK) {
            hint = Some(0);
        }
        HostBody { source: Source::Exchange { exchange, first, hint }, audit: AuditEvent::default(), log }
    }

    /// A stream of store bytes. Like [`full`](HostBody::full), the bytes sent are added to
    /// `audit`.
    pub fn stream(stream: BoxStream<'static, io::Result<Bytes>>, audit: AuditEvent, log: RequestLog) -> HostBody {
        HostBody { source: Source::Stream(stream), audit, log }
    }
}

/// Fills one chunk from the exchange. `None` once the body is complete.
fn read_exchange(exchange: &mut Exchange, hint: &mut Option<u64>) -> Option<Bytes> {
    let size = hint.map_or(CHUNK, |left| usize::try_from(left).unwrap_or(CHUNK).clamp(1, CHUNK));
    let mut buf = vec![0u8; size];
    let mut filled = 0;
    while filled < size {
        let n = exchange.read(&mut buf[filled..]);
        if n == 0 {
            break;
        }
        filled += n;
    }
    if let Some(left) = hint.as_mut() {
        *left = left.saturating_sub(filled as u64);
    }
    buf.truncate(filled);
    (filled > 0).then(|| Bytes::from(buf))
}

impl Body for HostBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        let next = match &mut this.source {
            Source::Full(bytes) => bytes.take().map(Ok),
            Source::Exchange { exchange, first, hint } => {
                first.take().or_else(|| read_exchange(exchange, hint)).map(Ok)
            }
            Source::Stream(stream) => match stream.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(item) => item,
            },
        };
        // An exchange counts its own bytes.
        if let (Some(Ok(bytes)), Source::Full(_) | Source::Stream(_)) = (&next, &this.source) {
            this.audit.body_bytes += bytes.len() as u64;
        }
        Poll::Ready(next.map(|r| r.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        match &self.source {
            Source::Full(bytes) => bytes.is_none(),
            Source::Exchange { first, hint, .. } => first.is_none() && *hint == Some(0),
            Source::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.source {
            Source::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Source::Exchange { first, hint: Some(n), .. } => {
                SizeHint::with_exact(n + first.as_ref().map_or(0, |b| b.len() as u64))
            }
            Source::Exchange { hint: None, .. } | Source::Stream(_) => SizeHint::default(),
        }
    }
}

impl Drop for HostBody {
    fn drop(&mut self) {
        match &self.source {
            Source::Exchange { exchange, .. } => self.log.write(exchange.audit()),
            Source::Full(_) | Source::Stream(_) => self.log.write(&self.audit),
        }
    }
}
