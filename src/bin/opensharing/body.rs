//! The response body of every answer, and the access log line written when it is over.
//!
//! A body is pulled by hyper piece by piece: an engine exchange as the pieces it makes (a JSON
//! answer whole, moved rather than copied; a streamed one a chunk at a time), a file as it is
//! read from disk. Memory per response stays bounded whatever its size. The log
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
use opensharing::{Exchange, Step};

use crate::log::RequestLog;

/// Where a body's bytes come from. An exchange keeps its own audit event; the host's own answers
/// (health, limits, files) carry theirs, boxed: hyper moves a body several times, and most
/// bodies are exchanges.
enum Source {
    /// Bytes already complete (or none).
    Full(Option<Bytes>, Box<AuditEvent>),
    /// An engine exchange past its head: `next` is the piece read ahead, `left` the bytes still
    /// to send (`next` included) once the exchange has made its last piece (`done`).
    Exchange { exchange: Box<Exchange>, next: Option<Bytes>, left: Option<u64>, done: bool },
    /// Bytes read from a store.
    Stream(BoxStream<'static, io::Result<Bytes>>, Box<AuditEvent>),
}

/// A response body that writes the request's access line when dropped.
pub struct HostBody {
    source: Source,
    log: RequestLog,
}

impl HostBody {
    /// A complete body (possibly empty), audited with `audit`.
    pub fn full(bytes: impl Into<Bytes>, audit: AuditEvent, log: RequestLog) -> HostBody {
        let bytes = bytes.into();
        let source = Source::Full((!bytes.is_empty()).then_some(bytes), Box::new(audit));
        HostBody { source, log }
    }

    /// The rest of an engine exchange, pulled with [`Exchange::read_chunk`]; its own audit
    /// event is logged. The first piece is read at once: a body complete in it (a JSON answer)
    /// has its exact size known to hyper, which sends it with its length rather than chunked.
    pub fn exchange(exchange: Exchange, log: RequestLog) -> HostBody {
        let mut exchange = Box::new(exchange);
        let next = exchange.read_chunk().map(Bytes::from);
        let done = finished(&mut exchange);
        let left = done.then(|| next.as_ref().map_or(0, |b| b.len() as u64));
        HostBody { source: Source::Exchange { exchange, next, left, done }, log }
    }

    /// A stream of store bytes. Like [`full`](HostBody::full), the bytes sent are added to
    /// `audit`.
    pub fn stream(stream: BoxStream<'static, io::Result<Bytes>>, audit: AuditEvent, log: RequestLog) -> HostBody {
        HostBody { source: Source::Stream(stream, Box::new(audit)), log }
    }
}

/// Whether `exchange` has given its last body byte.
fn finished(exchange: &mut Exchange) -> bool {
    matches!(exchange.poll(), Step::Done(_))
}

impl Body for HostBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        let next = match &mut self.get_mut().source {
            // An exchange counts its own bytes; the host's answers count theirs here.
            Source::Full(bytes, audit) => bytes.take().inspect(|b| audit.body_bytes += b.len() as u64).map(Ok),
            Source::Exchange { exchange, next, left, done } => {
                let piece = next.take().or_else(|| exchange.read_chunk().map(Bytes::from));
                *done = piece.is_none() || finished(exchange);
                if let (Some(piece), Some(left)) = (&piece, left) {
                    *left = left.saturating_sub(piece.len() as u64);
                }
                piece.map(Ok)
            }
            Source::Stream(stream, audit) => match stream.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(item) => {
                    if let Some(Ok(b)) = &item {
                        audit.body_bytes += b.len() as u64;
                    }
                    item
                }
            },
        };
        Poll::Ready(next.map(|r| r.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        match &self.source {
            Source::Full(bytes, _) => bytes.is_none(),
            Source::Exchange { next, done, .. } => next.is_none() && *done,
            Source::Stream(..) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.source {
            Source::Full(bytes, _) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Source::Exchange { left: Some(n), .. } => SizeHint::with_exact(*n),
            Source::Exchange { left: None, .. } | Source::Stream(..) => SizeHint::default(),
        }
    }
}

impl Drop for HostBody {
    fn drop(&mut self) {
        match &self.source {
            Source::Exchange { exchange, .. } => self.log.write(exchange.audit()),
            Source::Full(_, audit) | Source::Stream(_, audit) => self.log.write(audit),
        }
    }
}
